"""CLI commands that time models on real devices: ``latency``, ``machine``, ``roofline``."""

from __future__ import annotations
