"""Errors that reach the user as one clear line (and the exit code the CLI gives them)."""

from __future__ import annotations


def first_line(err: BaseException | None) -> str:
    """The first non-blank line of an exception's message (torch's run to many lines), else its type."""
    if err is None:
        return "unknown error"
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def exited(err: SystemExit) -> str:
    """What user code did when it raised SystemExit: ``called sys.exit(0)`` (costlab never exits for it:
    a CI gate must not pass because a model file called ``sys.exit(0)``)."""
    return f"called sys.exit({err.code!r})"


class CostlabError(Exception):
    """A problem with what the user asked for; the CLI prints the message alone and exits with ``exit_code``."""

    exit_code = 2


class ModelSpecError(CostlabError):
    """A model spec that does not resolve: unknown zoo name, missing file, no model in the file, ..."""


class InputSpecError(CostlabError):
    """A malformed ``--input`` shape."""


class ForwardError(CostlabError):
    """The model's forward failed for the given input; the message names the layer and the shapes."""
