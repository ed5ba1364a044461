"""The ``costlab`` command line: :mod:`~costlab.cli.app` (the Typer app), :mod:`~costlab.cli.common`
(the options, consoles, errors and output every command shares), and one module per command.

Each command parses, calls the library, and renders; no arithmetic here. Importing this package
imports no torch, so ``costlab --help`` is instant.
"""

from costlab.cli import (  # noqa: F401 - importing a command module registers it on `app`
    check,
    diff,
    guidelines,
    latency,
    lint,
    machine,
    memory,
    profile,
    report,
    roofline,
    zoo,
)
from costlab.cli.app import app, main

__all__ = ["app", "main"]
