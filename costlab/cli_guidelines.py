"""CLI command: ``costlab guidelines``."""

from __future__ import annotations
