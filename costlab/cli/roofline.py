"""``costlab roofline``: every layer on the device's roofline, timed or predicted from the counts."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import (
    BatchOpt,
    DepthOpt,
    DtypeOpt,
    InputOpt,
    MinTimeOpt,
    ModelArg,
    OutputOpt,
    ThreadsOpt,
    TimeOnOpt,
)
from costlab.cli.latency import ChannelsLastOpt

ROOFLINE_FORMATS = ("table", "json", "csv", "png", "svg")
RooflineFormat = common.formats("RooflineFormat", *ROOFLINE_FORMATS)
FIGURES = ("png", "svg")


@app.command()
def roofline(
    model: ModelArg,
    input: InputOpt = None,
    device: TimeOnOpt = None,
    spec: Annotated[
        Optional[str],
        typer.Option("--spec", help="Use a GPU spec sheet's roofs instead (h100-sxm, a100-80gb, l4, …)."),
    ] = None,
    batch: BatchOpt = None,
    dtype: DtypeOpt = None,
    threads: ThreadsOpt = None,
    channels_last: ChannelsLastOpt = False,
    min_time: MinTimeOpt = 1.0,
    depth: DepthOpt = None,
    labels: Annotated[int, typer.Option("--labels", min=0, help="Name this many of the heaviest layers.")] = 6,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Rows in the table (heaviest first).")] = 15,
    format: Annotated[
        Optional[RooflineFormat],
        typer.Option("--format", "-f", help="table/json/csv (the layers) or png/svg (the chart); default: -o's suffix."),
    ] = None,
    output: OutputOpt = None,
    figure: Annotated[
        Optional[str], typer.Option("--figure", metavar="FILE", help="Also write the chart to FILE (.png or .svg).")
    ] = None,
) -> None:
    """Roofline chart: one dot per layer at (FLOP/byte, FLOP/s), sized by its share of time.

    With --device the layers are timed there (dots at their achieved FLOP/s) against that device's
    measured roofs (`costlab machine`, cached). Without it the chart is predicted from the counts
    alone: every layer sits on its roof, for this machine's CPU peaks (cached, else measured now)
    or, with --spec, a GPU's spec sheet. The table puts the roofline's latency, max(FLOPs / peak,
    bytes / bandwidth) per layer, and — when the device is calibrated (`costlab calibrate`, cached) —
    the calibrated prediction and its error beside the measured one. The chart is written
    with -o chart.png (or .svg), or --figure beside a table.
    """
    with common.user_errors():
        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, ROOFLINE_FORMATS)
        if chosen in FIGURES and target is None:
            raise common.UsageError(f"-f {chosen}: a chart goes to a file: give -o chart.{chosen} (or -o - for stdout)")
        chart_file = common.prepare_output(figure, protected) if figure is not None else None
        if chart_file is not None and chart_file.suffix not in (".png", ".svg"):
            raise common.UsageError(f"--figure {figure}: a roofline chart is written as .png or .svg")
        import costlab
        from costlab.cost import roofline as rl
        from costlab.render import timing as render
        from costlab.render.roofline_plot import roofline_image

        timing = None
        if device is not None:
            from costlab.timing.layers import time_layers
            from costlab.timing.measure import load_workload

            workload = load_workload(model, input, device=device, dtype=dtype, channels_last=channels_last)
            report = costlab.profile(model, inputs=workload.example_inputs(batch), dtype=workload.dtype_name)
            roofs = _roofs(spec, str(workload.device), workload.dtype_name, threads)
            with common.progress_bar(f"timing {workload.label} per layer") as progress:
                timing = time_layers(workload, report, depth=depth, batch=batch, threads=threads,
                                     min_time_s=min_time, progress=progress)
            common.warn(timing.latency.warnings)
        else:
            from costlab.load import as_source, example_inputs_for

            example = example_inputs_for(as_source(model), input).with_batch(batch)
            report = costlab.profile(model, inputs=example, dtype=dtype)
            roofs = _roofs(spec, "cpu", report.dtype, threads)
        common.note(report.notes)
        # a spec sheet's roofs are another device's: this machine's calibration has nothing to say beside them
        predicted = common.predicted_beside(report, depth, timing, threads=threads) if spec is None or timing else None
        prediction = rl.predict(report, roofs, depth)
        chart = rl.chart(prediction, timing.measured() if timing is not None else None)
        renderers = {
            "table": lambda width: render.roofline_table(prediction, width, timing, top, predicted),
            "json": lambda width: render.roofline_json(prediction, timing, predicted),
            "csv": lambda width: render.roofline_csv(prediction, timing, predicted),
            "png": lambda width: roofline_image(chart, "png", labels=labels),
            "svg": lambda width: roofline_image(chart, "svg", labels=labels),
        }
        if chart_file is not None:
            common.emit(chart_file.suffix.lstrip("."), chart_file, renderers, protected)
        common.emit(chosen, target, renderers, protected)
        if chosen in FIGURES and target is not None and not target.is_stdout:
            common.emit("table", None, renderers)  # the chart went to its file: the table to the terminal


def _roofs(spec: str | None, device: str, dtype: str, threads: int | None):
    """A spec sheet's roofs when named, else the device's measured (cached) peaks."""
    if spec is not None:
        from costlab import dtypes
        from costlab.timing.machine import known_spec

        return known_spec(spec).roofs(dtypes.float_dtype(dtype))
    from costlab.cli.machine import measured_peaks

    return measured_peaks(device, dtype, threads, refresh=False).roofs()
