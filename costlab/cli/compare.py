"""``costlab compare``: why fvcore, torch, thop, ptflops and torchinfo disagree with costlab, difference by difference."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DepthOpt, InputOpt, ModelArg, OutputOpt

COMPARE_FORMATS = ("table", "json", "md")
CompareFormat = common.formats("CompareFormat", *COMPARE_FORMATS)


@app.command()
def compare(
    model: ModelArg,
    input: InputOpt = None,
    counters: Annotated[
        Optional[str],
        typer.Option("--with", "-w", metavar="NAMES",
                     help="Counters to run, comma-separated: fvcore, torch, thop, ptflops, torchinfo (default: all)."),
    ] = None,
    format: Annotated[
        Optional[CompareFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
    depth: DepthOpt = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when a counter fails or its number does not reconcile.")
    ] = False,
) -> None:
    """Each counter's number beside costlab's, and the reconciliation: costlab's MACs (or FLOPs) plus every
    difference of convention adds up exactly to the counter's number; what does not is shown as unexplained.

    Counters run real forwards on CPU, each on its own copy of the model with the same seeded input;
    one that is not installed is listed as such, one that fails on the model as failed (the others still run).
    """
    with common.user_errors():
        from costlab.compare.run import chosen, reconcile_counters
        from costlab.render import compare as render

        chosen(counters)  # an unknown name is a usage error before any model is built
        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        fmt = common.choose_format(format, target, COMPARE_FORMATS)
        with common.progress_bar(f"comparing counters on {model}") as progress:
            result = reconcile_counters(model, input, counters=counters, depth=1 if depth is None else depth,
                                        progress=progress)
        common.note(result.notes)
        if result.unsupported_ops:  # what costlab counts as zero, a counter may count: unexplained there
            common.warn(common.unsupported_warning(result.unsupported_ops, strict=True))
        common.emit(
            fmt,
            target,
            {
                "table": lambda width: render.compare_table(result, width),
                "json": lambda width: render.compare_json(result),
                "md": lambda width: render.compare_markdown(result),
            },
            protected,
        )
        if strict and any(r.status == "failed" or r.unexplained for r in result.counters):
            raise typer.Exit(1)
