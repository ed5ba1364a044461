"""``costlab profile``: per-layer params, MACs, FLOPs, bytes accessed, intensity and element-wise work."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import (
    DepthOpt,
    DtypeOpt,
    InputOpt,
    MinTimeOpt,
    ModelArg,
    OutputOpt,
    ThreadsOpt,
    TimeOnOpt,
)

PROFILE_FORMATS = ("table", "json", "csv", "md")
ProfileFormat = common.formats("ProfileFormat", *PROFILE_FORMATS)


@app.command()
def profile(
    model: ModelArg,
    input: InputOpt = None,
    format: Annotated[
        Optional[ProfileFormat],
        typer.Option("--format", "-f", help="Output format (default: table, or the one -o's suffix names)."),
    ] = None,
    output: OutputOpt = None,
    depth: DepthOpt = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort", "-s",
            help="Sort rows by order, params, macs, flops, bytes_accessed, intensity, elementwise_ops or ops "
            "(largest first).",
        ),
    ] = "order",
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=1, help="Show only the first N rows.")] = None,
    dtype: DtypeOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when an op has no cost formula.")] = False,
    real: Annotated[bool, typer.Option("--real", help="Run with real tensors on CPU instead of the meta device.")] = False,
    train: Annotated[
        bool,
        typer.Option("--train", help="Count a training step: the forward with autograd and the backward of the summed outputs."),
    ] = False,
    device: TimeOnOpt = None,
    threads: ThreadsOpt = None,
    min_time: MinTimeOpt = 1.0,
) -> None:
    """Per-layer params, MACs, FLOPs, bytes accessed, arithmetic intensity and element-wise ops.

    Counts one forward pass on the meta device (shapes only: no compute, no memory), falling
    back to real tensors on CPU when the model needs real values. With --device, the model also
    runs for real there and every layer gets its measured time beside its counts, and — when the
    device is calibrated (`costlab calibrate`, cached) — its predicted time and error. With --train,
    a training step: each layer's row holds its forward and its backward.
    """
    with common.user_errors():
        from costlab.cost.profile import profile as run_profile
        from costlab.render import profile as render

        sort_field = common.choose(sort, render.SORT_FIELDS, "--sort")
        if device is None and threads is not None:
            raise common.UsageError("--threads applies to timing: add --device cpu (or cuda) to time the layers")
        if train and device is not None:
            raise common.UsageError("--device times the forward pass; --train counts a training step: drop one of them")
        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, PROFILE_FORMATS)
        report = run_profile(model, input, dtype=dtype, real=real, train=train)
        common.note(report.notes)
        common.warn(common.unsupported_warning(report.unsupported_ops, strict))
        timing = predicted = None
        if device is not None:
            from costlab.timing.layers import measure_layers

            with common.progress_bar(f"timing {report.model} per layer on {device}") as progress:
                timing = measure_layers(
                    model, input, report=report, depth=depth, device=device, dtype=dtype,
                    threads=threads, min_time_s=min_time, progress=progress,
                )
            common.warn(timing.latency.warnings)
            predicted = common.predicted_beside(report, depth, timing)
        every_row = report.layers(depth)
        rows = render.select_rows(every_row, sort_field, top)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.profile_table(
                    report, rows, width=width, shown_of=len(every_row), timing=timing, predicted=predicted
                ),
                "json": lambda width: render.profile_json(report, depth, rows, timing, predicted),
                "csv": lambda width: render.profile_csv(rows, timing, predicted),
                "md": lambda width: render.profile_markdown(report, rows, timing, predicted),
            },
            protected,
        )
        if strict and report.unsupported_ops:
            raise typer.Exit(1)
