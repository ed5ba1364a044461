"""CLI commands of the CI gate: ``check`` and ``diff``."""

from __future__ import annotations
