"""``costlab diff``: what changed between two profiles, totals first, then layer by layer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import OutputOpt

DIFF_FORMATS = ("table", "json", "csv", "md")
DiffFormat = common.formats("DiffFormat", *DIFF_FORMATS)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier profile (costlab profile MODEL -o OLD.json).")],
    new: Annotated[Path, typer.Argument(help="The later profile.")],
    fail_over: Annotated[
        Optional[str],
        typer.Option("--fail-over", help="Exit 1 when a total (params, MACs, FLOPs, bytes accessed) grows by more, e.g. 5%."),
    ] = None,
    format: Annotated[
        Optional[DiffFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", "-s", help="Order changed layers by this change: macs, bytes_accessed, params, flops.")
    ] = "macs",
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=1, help="Show only the N largest layer changes.")] = None,
    output: OutputOpt = None,
) -> None:
    """What changed between two profiles: the totals, then each layer, largest change first.

    Layers are matched by name; a layer in only one profile is added or removed.
    Exit 1 when --fail-over is given and a total grew by more than it (decreases never fail).
    """
    with common.user_errors():
        from costlab.ci.diff import DIFF_METRICS, diff_profiles, load_profile
        from costlab.render import ci as render
        from costlab.units import QuantityError, parse_quantity

        metric = common.choose(sort, DIFF_METRICS, "--sort")
        target = common.prepare_output(output, [old, new])
        chosen = common.choose_format(format, target, DIFF_FORMATS)
        threshold = None
        if fail_over is not None:
            try:
                threshold = parse_quantity(fail_over, "percent")
            except QuantityError as err:
                raise common.UsageError(f"--fail-over: {err}") from None
        result = diff_profiles(load_profile(old), load_profile(new), metric)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.diff_table(result, width, top, threshold),
                "json": lambda width: render.diff_json(result, threshold),
                "csv": lambda width: render.diff_csv(result),
                "md": lambda width: render.diff_markdown(result, top),
            },
            [old, new],
        )
        if chosen != "table":
            common.note(result.notes)
            err = common.stderr_console()
            for change in result.over(threshold) if threshold is not None else ():
                err.print(f"over --fail-over: {render.over_line(change, threshold)}", soft_wrap=True, markup=False)
        if threshold is not None and result.over(threshold):
            raise typer.Exit(1)
