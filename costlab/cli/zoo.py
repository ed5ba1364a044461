"""``costlab zoo``: the built-in models, what they cost at their default input."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import OutputOpt

ZOO_FORMATS = ("table", "json", "csv", "md")
ZooFormat = common.formats("ZooFormat", *ZOO_FORMATS)


@app.command()
def zoo(
    pattern: Annotated[str, typer.Argument(help="Shell-style filter, e.g. 'shufflenet*'.")] = "*",
    format: Annotated[
        Optional[ZooFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
    names: Annotated[bool, typer.Option("--names", help="Only the names, one per line (no counting).")] = False,
) -> None:
    """The built-in models: family, default input, params, MACs, FLOPs and bytes accessed."""
    with common.user_errors():
        from costlab.errors import CostlabError
        from costlab.zoo import list_models

        target = common.prepare_output(output)
        chosen = common.choose_format(format, target, ZOO_FORMATS)
        selected = list_models(pattern)
        if not selected:
            raise CostlabError(f"no zoo model matches {pattern!r} (`costlab zoo` lists them all)")
        if names:
            text = "\n".join(selected) + "\n"
            if target is None:
                sys.stdout.write(text)
            else:
                common.emit("names", target, {"names": lambda width: text})
            return
        from costlab.publish.zoo import summarize
        from costlab.render import zoo as render

        rows = summarize(selected)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.zoo_table(rows, width),
                "json": lambda width: render.zoo_json(rows),
                "csv": lambda width: render.zoo_csv(rows),
                "md": lambda width: render.zoo_markdown(rows),
            },
        )
