"""The ``costlab`` Typer app: its group (one-line usage errors), ``--version``, ``--debug`` and completion.

Commands live one per module in this package and register on :data:`app` when imported. Nothing
here imports torch: ``costlab --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from costlab import __version__

__all__ = ["STATE", "app", "main"]

STATE = {"debug": False}


class CostlabGroup(TyperGroup):
    """Usage errors (a bad option, a missing argument) are one line on stderr and exit 2, like
    every other costlab error; ``costlab`` alone prints the help."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except TyperException as err:
            code = _show(err)
        except typer.Abort:
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _show(err: TyperException) -> int:
    ctx = getattr(err, "ctx", None)
    exit_code = int(getattr(err, "exit_code", 2))
    if type(err).__name__ == "NoArgsIsHelpError":  # `costlab` (or a group) alone: its help
        getattr(err, "show")()
        return exit_code
    format_message = getattr(err, "format_message", None)
    message = format_message() if callable(format_message) else str(err)
    hint = f" (`{ctx.command_path} -h` lists the options)" if ctx is not None else ""
    print(f"error: {message.rstrip('.')}{hint}", file=sys.stderr)
    return exit_code


app = typer.Typer(
    name="costlab",
    cls=CostlabGroup,
    help=(
        "What a PyTorch network really costs on hardware, and why: params, MACs, FLOPs, bytes accessed "
        "and element-wise work per layer; ShuffleNet V2's guidelines as lint rules; measured and predicted time.\n\n"
        "MODEL is a zoo name (costlab zoo), a file (mymodel.py, mymodel.py:Net, mymodel.py:build_model), "
        "or torchvision:NAME / timm:NAME when that library is installed."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: half the start-up of rich panels, and `--help | less` friendly
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"costlab {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    STATE["debug"] = debug or bool(os.environ.get("COSTLAB_DEBUG"))


def main() -> None:
    """Console-script entry point."""
    app()
