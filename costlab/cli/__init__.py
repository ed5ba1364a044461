"""The ``costlab`` command line: :mod:`~costlab.cli.app` (the Typer app), :mod:`~costlab.cli.common`
(the options, consoles, errors and output every command shares), and one module per command.

Each command parses, calls the library, and renders; no arithmetic here. Importing this package
imports no torch, so ``costlab --help`` is instant.
"""

import importlib

from costlab.cli.app import app, main

COMMANDS = (
    "profile", "lint", "rule", "memory", "zoo", "compare", "latency", "calibrate", "predict", "machine", "roofline",
    "check", "diff", "guidelines", "report",
)
"""Command modules in the order ``costlab --help`` lists them; importing one registers it on ``app``."""

for _command in COMMANDS:
    importlib.import_module(f"costlab.cli.{_command}")

__all__ = ["COMMANDS", "app", "main"]
