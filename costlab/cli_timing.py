"""CLI commands that time models on real devices: ``latency``, ``machine``, ``roofline``.

Each command parses, calls :mod:`costlab.timing` / :mod:`costlab.roofline`, and renders. torch is
imported inside the commands only, so ``costlab --help`` stays fast. Tables, JSON and CSV go to
stdout; the progress bar, notes and warnings go to stderr.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from costlab.cli import _progress, _stderr, _stdout, _user_errors, _warn, _write_output, app
from costlab.errors import CostlabError

if TYPE_CHECKING:
    from costlab.roofline import RooflineChart, Roofs
    from costlab.timing.layers import LayerTiming
    from costlab.timing.machine import MachinePeaks
    from costlab.timing.measure import Workload

Start = Callable[[str], Callable[[float], None]]
"""Starts a progress task: ``start(description)`` gives ``update(fraction)``."""


class DataFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class MachineFormat(str, Enum):
    table = "table"
    json = "json"


ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Zoo name, file.py[:NAME], or torchvision:NAME / timm:NAME.")]
InputOpt = Annotated[
    Optional[str], typer.Option("--input", "-i", help="Input shape, e.g. 1x3x224x224 (default: the model's own).")
]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="float32, float16 or bfloat16 (model and inputs).")]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", min=1, help="torch intra-op threads, fixed while timing (default: current)."),
]
ChannelsLastOpt = Annotated[
    bool, typer.Option("--channels-last", help="Run in the NHWC (channels-last) memory format.")
]
MinTimeOpt = Annotated[
    float,
    typer.Option("--min-time", min=0.001, help="Seconds of timed runs at least (after warm-up), per measurement."),
]
DepthOpt = Annotated[
    Optional[int],
    typer.Option("--depth", "-d", min=0, help="Roll layers up to this module depth (default: innermost)."),
]


# ------------------------------------------------------------------------------------------------
# latency
# ------------------------------------------------------------------------------------------------


@app.command()
def latency(
    model: ModelArg,
    input: InputOpt = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    batch: Annotated[
        Optional[str], typer.Option("--batch", "-b", help="Batch sizes to time, e.g. 1,8,32 (default: the input's).")
    ] = None,
    threads: ThreadsOpt = None,
    dtype: DtypeOpt = "float32",
    channels_last: ChannelsLastOpt = False,
    min_time: MinTimeOpt = 1.0,
    per_layer: Annotated[
        bool, typer.Option("--per-layer", help="Also time every layer, and the time by kind of work.")
    ] = False,
    depth: DepthOpt = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Per-layer table: the N slowest layers.")] = 20,
    format: Annotated[DataFormat, typer.Option("--format", "-f", help="Output format.")] = DataFormat.table,
) -> None:
    """Real latency of one forward pass: median, IQR, p10/p90, runs and throughput per batch size.

    Eval mode, no grad, warm-up first; blocks of runs sized so the clock costs < 0.1 %, the
    device synchronised before every clock read, the thread count fixed and recorded. A warning
    goes to stderr when the IQR is over 10 % of the median.
    """
    with _user_errors():
        from costlab.render import timing as render
        from costlab.timing.measure import load_workload, parse_batches, time_workload

        batches: list[int | None] = list(parse_batches(batch)) if batch is not None else [None]
        workload = load_workload(model, input, device=device, dtype=dtype, channels_last=channels_last)
        timings = []
        with _progress() as start:
            if per_layer:
                timings = [_time_layers(workload, model, b, depth, threads, min_time, start) for b in batches]
                measurements = [t.latency for t in timings]
            else:
                measurements = [
                    time_workload(
                        workload, batch=b, threads=threads, min_time_s=min_time, progress=start(_what(workload, b))
                    )
                    for b in batches
                ]
        for m in measurements:
            _warn(m.warnings)
        if format is DataFormat.json:
            sys.stdout.write(render.latency_json(measurements, timings))
        elif format is DataFormat.csv:
            sys.stdout.write(render.layer_times_csv(timings) if per_layer else render.latency_csv(measurements))
        else:
            out = _stdout()
            out.print(render.latency_table(measurements))
            for timing in timings:
                out.print(render.layer_time_table(timing, top))
                out.print(render.category_time_table(timing))


def _what(workload: Workload, batch: int | None) -> str:
    shapes = ", ".join("x".join(map(str, s)) for s in workload.input_shapes(batch))
    return f"timing {workload.label} ({shapes})"


def _time_layers(
    workload: Workload,
    model: str,
    batch: int | None,
    depth: int | None,
    threads: int | None,
    min_time: float,
    start: Start,
) -> LayerTiming:
    """Count the model at this batch, then time it whole and per layer."""
    import costlab
    from costlab.timing.layers import time_layers

    report = costlab.profile(model, workload.input_text(batch), dtype=workload.dtype_name)
    return time_layers(
        workload,
        report,
        depth=depth,
        batch=batch,
        threads=threads,
        min_time_s=min_time,
        progress=start(_what(workload, batch) + " per layer"),
    )


# ------------------------------------------------------------------------------------------------
# machine
# ------------------------------------------------------------------------------------------------


@app.command()
def machine(
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    dtype: DtypeOpt = "float32",
    threads: ThreadsOpt = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Measure again instead of using the cache.")] = False,
    format: Annotated[MachineFormat, typer.Option("--format", "-f", help="Output format.")] = MachineFormat.table,
) -> None:
    """The device's peak FLOP/s (large matmul) and memory bandwidth (copy / triad): the roofs.

    Measured once (a few seconds) and cached per device, dtype and thread count in
    $COSTLAB_CACHE_DIR, else $XDG_CACHE_HOME/costlab, else ~/.cache/costlab. Known GPUs show their
    spec sheet beside the measurement.
    """
    with _user_errors():
        from costlab.render import timing as render
        from costlab.timing.machine import spec_for

        peaks = _peaks(device, dtype, threads, refresh)
        spec = spec_for(peaks.device_name) if peaks.device != "cpu" else None
        if format is MachineFormat.json:
            sys.stdout.write(render.machine_json(peaks, spec))
        else:
            _stdout().print(render.machine_table(peaks, spec))


def _peaks(device: str, dtype: str, threads: int | None, refresh: bool) -> MachinePeaks:
    from costlab.timing.machine import machine_peaks

    console = _stderr()
    spinner = f"peaks of {device} at {dtype}: from the cache, or measured (a few seconds)"
    with console.status(spinner) if console.is_terminal else contextlib.nullcontext():
        return machine_peaks(device, dtype, threads, refresh=refresh)


# ------------------------------------------------------------------------------------------------
# roofline
# ------------------------------------------------------------------------------------------------


@app.command()
def roofline(
    model: ModelArg,
    input: InputOpt = None,
    device: Annotated[
        Optional[str],
        typer.Option("--device", help="Time the layers on cpu / cuda / cuda:N (default: predict from counts only)."),
    ] = None,
    spec: Annotated[
        Optional[str],
        typer.Option("--spec", help="Use a GPU spec sheet's roofs instead (h100-sxm, a100-80gb, l4, …)."),
    ] = None,
    batch: Annotated[
        Optional[int], typer.Option("--batch", "-b", min=1, help="Batch size (default: the input's).")
    ] = None,
    dtype: DtypeOpt = "float32",
    threads: ThreadsOpt = None,
    channels_last: ChannelsLastOpt = False,
    min_time: MinTimeOpt = 1.0,
    depth: DepthOpt = None,
    labels: Annotated[int, typer.Option("--labels", min=0, help="Name this many of the heaviest layers.")] = 6,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Rows in the table (heaviest first).")] = 15,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="The figure, .png or .svg (default: MODEL_roofline.png).")
    ] = None,
    format: Annotated[
        DataFormat, typer.Option("--format", "-f", help="Output format of the table.")
    ] = DataFormat.table,
) -> None:
    """Roofline chart: one dot per layer at (FLOP/byte, FLOP/s), sized by its share of time.

    With --device the layers are timed there (dots at their achieved FLOP/s) against that device's
    measured roofs (`costlab machine`, cached). Without it the chart is predicted from the counts
    alone: every layer sits on its roof, for this machine's CPU peaks (cached, else measured now)
    or, with --spec, a GPU's spec sheet. The table puts the roofline-predicted latency,
    max(FLOPs / peak, bytes / bandwidth) per layer, beside the measured one.
    """
    with _user_errors():
        import costlab
        from costlab import roofline as rl
        from costlab.render import timing as render

        figure = output if output is not None else Path(f"{_slug(model)}_roofline.png")
        _check_figure_path(figure)  # before any measuring
        timing = None
        if device is not None:
            from costlab.timing.layers import time_layers
            from costlab.timing.measure import load_workload

            workload = load_workload(model, input, device=device, dtype=dtype, channels_last=channels_last)
            report = costlab.profile(model, workload.input_text(batch), dtype=workload.dtype_name)
            roofs = _roofs(spec, str(workload.device), dtype, threads)
            with _progress() as start:
                timing = time_layers(
                    workload,
                    report,
                    depth=depth,
                    batch=batch,
                    threads=threads,
                    min_time_s=min_time,
                    progress=start(_what(workload, batch) + " per layer"),
                )
            _warn(timing.latency.warnings)
        else:
            from costlab.timing.devices import canonical_dtype

            roofs = _roofs(spec, "cpu", dtype, threads)
            report = costlab.profile(model, _batched(model, input, batch), dtype=canonical_dtype(dtype))
        prediction = rl.predict(report, roofs, depth)
        _save_figure(
            rl.chart(prediction, timing), figure, labels, [Path(report.source_file)] if report.source_file else []
        )
        _stderr().print(f"wrote {figure}")
        if format is DataFormat.json:
            sys.stdout.write(render.roofline_json(prediction, timing))
        elif format is DataFormat.csv:
            sys.stdout.write(render.roofline_csv(prediction, timing))
        else:
            _stdout().print(render.roofline_table(prediction, timing, top))


def _roofs(spec: str | None, device: str, dtype: str, threads: int | None) -> Roofs:
    """A spec sheet's roofs when named, else the device's measured (cached) peaks."""
    if spec is not None:
        from costlab.timing.devices import canonical_dtype
        from costlab.timing.machine import known_spec

        return known_spec(spec).roofs(canonical_dtype(dtype))
    return _peaks(device, dtype, threads, refresh=False).roofs()


def _batched(model: str, input: str | None, batch: int | None) -> str | None:
    """The input text with its first dimension set to ``batch`` (None: unchanged)."""
    if batch is None:
        return input
    from costlab.load import InputSpec, as_source, input_specs_for

    specs = input_specs_for(as_source(model), input)
    return ",".join(str(InputSpec((batch, *s.shape[1:]), s.dtype)) for s in specs)


def _slug(model: str) -> str:
    """A file-name stem for a model spec: ``mymodel.py:Net`` → ``mymodel_Net``."""
    stem = re.sub(r"\.py(?=:|$)", "", Path(model).name if "/" in model or "\\" in model else model)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") or "model"


def _save_figure(chart: RooflineChart, path: Path, labels: int, protected: list[Path]) -> None:
    """Write the figure atomically, with the same checks as every other -o."""
    from costlab.render.roofline_plot import roofline_image

    _check_figure_path(path)
    _write_output(path, roofline_image(chart, path.suffix.lower().lstrip("."), labels=labels), protected)


def _check_figure_path(path: Path) -> None:
    """Refuse an -o the figure cannot be written to, before the work that makes the figure."""
    target = path.resolve()
    if path.suffix.lower() not in (".png", ".svg"):
        raise CostlabError(f"-o {path}: a roofline figure is written as .png or .svg")
    if target.is_dir():
        raise CostlabError(f"-o {path} is a directory: give a file name such as {path / 'roofline.png'}")
    if not target.parent.exists():
        raise CostlabError(f"cannot write {path}: the folder {target.parent} does not exist")
