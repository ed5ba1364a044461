"""``costlab latency``: the real latency of one forward pass, per batch size (and per layer)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DepthOpt, DeviceOpt, DtypeOpt, InputOpt, MinTimeOpt, ModelArg, OutputOpt, ThreadsOpt

LATENCY_FORMATS = ("table", "json", "csv", "md")
LatencyFormat = common.formats("LatencyFormat", *LATENCY_FORMATS)
ChannelsLastOpt = Annotated[bool, typer.Option("--channels-last", help="Run in the NHWC (channels-last) memory format.")]


@app.command()
def latency(
    model: ModelArg,
    input: InputOpt = None,
    device: DeviceOpt = "cpu",
    batch: Annotated[
        Optional[str], typer.Option("--batch", "-b", help="Batch sizes to time, e.g. 1,8,32 (default: the input's).")
    ] = None,
    threads: ThreadsOpt = None,
    dtype: DtypeOpt = None,
    channels_last: ChannelsLastOpt = False,
    min_time: MinTimeOpt = 1.0,
    per_layer: Annotated[
        bool, typer.Option("--per-layer", help="Also time every layer, and the time by kind of work.")
    ] = False,
    depth: DepthOpt = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Per-layer table: the N slowest layers.")] = 20,
    format: Annotated[
        Optional[LatencyFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Real latency of one forward pass: median, IQR, p10/p90, runs and throughput per batch size.

    Eval mode, no grad, warm-up first; blocks of runs sized so the clock costs < 0.1 %, the
    device synchronised before every clock read, the thread count fixed and recorded. A warning
    goes to stderr when the IQR is over 10 % of the median.
    """
    with common.user_errors():
        from costlab.render import timing as render
        from costlab.timing.measure import load_workload, parse_batches, time_workload
        from costlab.units import shapes_text

        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, LATENCY_FORMATS)
        batches: list[int | None] = list(parse_batches(batch)) if batch is not None else [None]
        workload = load_workload(model, input, device=device, dtype=dtype, channels_last=channels_last)
        common.note([text for text in [workload.example.note()] if text])
        timings = []
        with common.progress_bar(f"timing {workload.label}") as progress:
            if per_layer:
                from costlab.cost.profile import profile
                from costlab.timing.layers import time_layers

                for b in batches:
                    report = profile(model, inputs=workload.example_inputs(b), dtype=workload.dtype_name)
                    progress(0.0, f"timing {workload.label} ({shapes_text(workload.input_shapes(b))}) per layer")
                    timings.append(
                        time_layers(workload, report, depth=depth, batch=b, threads=threads, min_time_s=min_time,
                                    progress=progress)
                    )
                measurements = [t.latency for t in timings]
            else:
                measurements = []
                for b in batches:
                    progress(0.0, f"timing {workload.label} ({shapes_text(workload.input_shapes(b))})")
                    measurements.append(
                        time_workload(workload, batch=b, threads=threads, min_time_s=min_time, progress=progress)
                    )
        for m in measurements:
            common.warn(m.warnings)

        def table(width: int) -> object:
            from rich.console import Group

            parts = [render.latency_table(measurements, width)]
            for timing in timings:
                parts += [render.layer_time_table(timing, width, top), render.category_time_table(timing, width)]
            return Group(*parts)

        common.emit(
            chosen,
            target,
            {
                "table": table,
                "json": lambda width: render.latency_json(measurements, timings),
                "csv": lambda width: render.layer_times_csv(timings) if per_layer else render.latency_csv(measurements),
                "md": lambda width: render.latency_markdown(measurements, timings),
            },
            protected,
        )
