"""CLI command: ``costlab report``."""

from __future__ import annotations
