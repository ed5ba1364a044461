"""Rendering of measured times: latency, per-layer times, the category breakdown, device peaks and
the roofline prediction — rich tables for the terminal, JSON and CSV for machines.

Renderers format; every number comes from a Measurement, LayerTiming, MachinePeaks or
RooflinePrediction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from costlab.render.units import human

if TYPE_CHECKING:
    from costlab.roofline import RooflinePrediction
    from costlab.timing.layers import LayerTiming
    from costlab.timing.machine import DeviceSpec, MachinePeaks
    from costlab.timing.measure import Measurement, TimingSpec

__all__ = [
    "duration",
    "latency_table",
    "latency_json",
    "latency_csv",
    "layer_time_table",
    "category_time_table",
    "layer_times_csv",
    "machine_table",
    "machine_json",
    "roofline_table",
    "roofline_json",
    "roofline_csv",
]

SCHEMA_VERSION = 1
_BAR_WIDTH = 24


def duration(ms: float) -> str:
    """``0.0123`` → ``12.3 µs``; ``4.56`` → ``4.56 ms``; ``1234`` → ``1.23 s`` (three significant digits)."""
    if ms >= 1000:
        return f"{ms / 1000:.3g} s"
    if ms >= 1:
        return f"{ms:.3g} ms"
    return f"{ms * 1000:.3g} µs"


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


def _setup(spec: TimingSpec) -> str:
    layout = ", channels-last" if spec.channels_last else ""
    return f"{spec.device} ({spec.device_name}), {spec.dtype}, {_threads(spec.threads)}{layout}"


def _inputs(spec: TimingSpec) -> str:
    return ", ".join("x".join(map(str, s)) for s in spec.input_shapes)


def _with_note(table: Table, note: str) -> Group:
    """A table with a line of explanation under it (a caption would wrap at the table's width)."""
    return Group(table, Text(note, style="dim"), Text(""))


def _bar(share: float) -> str:
    eighths = round(max(0.0, min(1.0, share)) * _BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


# ------------------------------------------------------------------------------------------------
# latency
# ------------------------------------------------------------------------------------------------


def latency_table(measurements: Sequence[Measurement]) -> Table:
    """One row per batch size: median, IQR, p10 / p90, runs, throughput."""
    spec = measurements[0].spec
    table = Table(title=f"{spec.model} latency on {_setup(spec)}", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("Batch", "Input", "Median", "IQR", "p10", "p90", "Runs", "Images/s", "Spread"):
        table.add_column(header, justify="left" if header == "Input" else "right")
    for m in measurements:
        table.add_row(
            str(m.spec.batch),
            _inputs(m.spec),
            duration(m.median_ms),
            duration(m.iqr_ms),
            duration(m.p10_ms),
            duration(m.p90_ms),
            f"{m.runs} ({m.samples}×{m.number_per_run})",
            f"{m.throughput_per_s:,.1f}",
            f"[yellow]{m.relative_iqr:.1%}[/]" if m.warnings else f"{m.relative_iqr:.1%}",
        )
    return table


def latency_json(measurements: Sequence[Measurement], timings: Sequence[LayerTiming] = ()) -> str:
    """``{"schema_version", "measurements": [...]}``; with per-layer timings, each gets ``"per_layer"``."""
    rows: list[dict[str, Any]] = []
    for index, m in enumerate(measurements):
        row = m.to_dict()
        if index < len(timings):
            row["per_layer"] = timings[index].to_dict()
        rows.append(row)
    return json.dumps({"schema_version": SCHEMA_VERSION, "measurements": rows}, indent=2) + "\n"


_LATENCY_CSV = (
    "model",
    "batch",
    "device",
    "device_name",
    "dtype",
    "threads",
    "channels_last",
    "median_ms",
    "iqr_ms",
    "p10_ms",
    "p25_ms",
    "p75_ms",
    "p90_ms",
    "mean_ms",
    "min_ms",
    "samples",
    "runs",
    "throughput_per_s",
)


def latency_csv(measurements: Sequence[Measurement]) -> str:
    """One line per batch size, raw numbers (milliseconds, per second)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_LATENCY_CSV)
    for m in measurements:
        data = m.to_dict()
        writer.writerow([data[field] for field in _LATENCY_CSV])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------
# per-layer times and the category breakdown
# ------------------------------------------------------------------------------------------------


def layer_time_table(timing: LayerTiming, top: int | None = None) -> Group:
    """Per-layer time, share, achieved FLOP/s and bytes/s, in execution order (the ``top`` slowest
    when cut); the note under it reconciles the layers' sum with the whole-model latency."""
    rows = list(timing.layers)
    if top is not None and top < len(rows):
        rows = sorted(rows, key=lambda layer: -layer.time_ms)[:top]
    shown = f" (the {len(rows)} slowest of {len(timing.layers)})" if len(rows) < len(timing.layers) else ""
    table = Table(
        title=f"Per-layer time at {_inputs(timing.latency.spec)}{shown}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_footer=True,
    )
    note = (
        f"layers add up to {duration(timing.layer_sum_ms)} (each op's median over {timing.runs} instrumented runs); "
        f"the whole model takes {duration(timing.model_ms)} (median of {timing.latency.runs} runs): "
        f"layers = {timing.coverage:.0%} of it"
    )
    columns = [
        ("Layer", "left", "layers"),
        ("Type", "left", ""),
        ("Kind", "left", ""),
        ("Time", "right", duration(timing.layer_sum_ms)),
        ("Share", "right", "100%"),
        ("FLOP/s", "right", ""),
        ("Bytes/s", "right", ""),
        ("FLOP/B", "right", ""),
    ]
    for header, justify, footer in columns:
        table.add_column(header, justify=justify, footer=footer, no_wrap=header == "Layer")  # type: ignore[arg-type]
    for layer in rows:
        table.add_row(
            layer.name or "(model)",
            layer.type,
            layer.category,
            duration(layer.time_ms),
            f"{layer.time_share:.1%}",
            human(layer.achieved_flops_per_s, "FLOP/s") if layer.flops else "–",
            human(layer.achieved_bytes_per_s, "B/s"),
            f"{layer.intensity:.1f}",
        )
    return _with_note(table, note)


def category_time_table(timing: LayerTiming) -> Table:
    """Where the time goes by kind of work (ShuffleNet V2, Fig. 2), with a bar per share."""
    table = Table(
        title=f"Time by kind of work at {_inputs(timing.latency.spec)}", title_justify="left", box=box.SIMPLE_HEAD
    )
    for header in ("Kind", "Ops", "Time", "Share", ""):
        table.add_column(header, justify="left" if header in ("Kind", "") else "right")
    for entry in timing.categories:
        time_text = duration(entry.time_ms) if entry.time_ms else "–"
        table.add_row(entry.category, str(entry.ops), time_text, f"{entry.share:.1%}", _bar(entry.share))
    return table


_LAYER_CSV = (
    "name",
    "type",
    "depth",
    "category",
    "time_ms",
    "time_share",
    "flops",
    "mac_bytes",
    "intensity",
    "achieved_flops_per_s",
    "achieved_bytes_per_s",
)


def layer_times_csv(timings: Sequence[LayerTiming]) -> str:
    """One line per layer (per batch size), raw numbers, led by the model, batch and whole-model latency."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("model", "batch", "model_ms", *_LAYER_CSV))
    for timing in timings:
        spec = timing.latency.spec
        for layer in timing.layers:
            data = layer.to_dict()
            writer.writerow([spec.model, spec.batch, timing.model_ms, *(data[field] for field in _LAYER_CSV)])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------
# machine
# ------------------------------------------------------------------------------------------------


def machine_table(peaks: MachinePeaks, spec: DeviceSpec | None = None) -> Group:
    """The measured roofs (and a known GPU's spec sheet beside them)."""
    origin = f"cached {peaks.measured_at}" if peaks.cached else f"measured {peaks.measured_at}"
    threads = f", {_threads(peaks.threads)}" if peaks.device == "cpu" else ""
    table = Table(
        title=peaks.device_name,
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    note = (
        f"{peaks.device}, {peaks.dtype}{threads}; {origin} with torch {peaks.torch_version}; --refresh measures again"
    )
    table.add_column("Roof")
    table.add_column("Measured", justify="right")
    if spec is not None:
        table.add_column(f"Spec sheet ({spec.name})", justify="right")
    spec_peak = spec.peak_flops(peaks.dtype) if spec is not None else None
    rows = [
        (
            f"Peak compute ({peaks.gemm_size}² matmul)",
            human(peaks.peak_flops, "FLOP/s"),
            human(spec_peak, "FLOP/s") if spec_peak else "–",
        ),
        (
            "Memory bandwidth",
            human(peaks.bandwidth_bytes_per_s, "B/s"),
            human(spec.bandwidth_bytes_per_s, "B/s") if spec else "–",
        ),
        ("  copy", human(peaks.copy_bytes_per_s, "B/s"), ""),
        ("  triad", human(peaks.triad_bytes_per_s, "B/s"), ""),
        (
            "Ridge point",
            f"{peaks.ridge_flop_per_byte:.1f} FLOP/B",
            f"{spec_peak / spec.bandwidth_bytes_per_s:.1f} FLOP/B" if spec and spec_peak else "–",
        ),
    ]
    for row in rows:
        table.add_row(*(row if spec is not None else row[:2]))
    return _with_note(table, note)


def machine_json(peaks: MachinePeaks, spec: DeviceSpec | None = None) -> str:
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **peaks.to_dict()}
    if spec is not None:
        data["spec_sheet"] = {
            "name": spec.name,
            "peak_flops": spec.peak_flops(peaks.dtype),
            "bandwidth_bytes_per_s": spec.bandwidth_bytes_per_s,
        }
    return json.dumps(data, indent=2) + "\n"


# ------------------------------------------------------------------------------------------------
# roofline
# ------------------------------------------------------------------------------------------------


def roofline_table(prediction: RooflinePrediction, timing: LayerTiming | None = None, top: int | None = 15) -> Group:
    """Predicted time beside the measured one, in execution order (the ``top`` heaviest when cut);
    the model row in the footer."""
    measured = {layer.call: layer for layer in timing.layers} if timing is not None else {}

    def weight(layer: Any) -> float:
        return measured[layer.call].time_ms if measured else layer.predicted_ms

    rows = list(prediction.layers)
    if top is not None and top < len(rows):
        rows = sorted(rows, key=weight, reverse=True)[:top]
    roofs = prediction.roofs
    table = Table(
        title=f"{prediction.model}: roofline-predicted latency",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_footer=True,
    )
    note = (
        f"roofs: {human(roofs.peak_flops, 'FLOP/s')} and {human(roofs.bandwidth_bytes_per_s, 'B/s')}, "
        f"ridge {roofs.ridge_flop_per_byte:.1f} FLOP/B ({roofs.label}). "
        "Predicted = max(FLOPs / peak, bytes / bandwidth) per layer, summed for the model "
        f"(single-roof bound of the totals: {duration(prediction.bound_ms)})"
        + (
            f"; the {len(rows)} heaviest of {len(prediction.layers)} layers shown"
            if len(rows) < len(prediction.layers)
            else ""
        )
    )
    model_measured = duration(timing.model_ms) if timing is not None else ""
    columns = [
        ("Layer", "left", "model"),
        ("Type", "left", ""),
        ("Kind", "left", ""),
        ("FLOP/B", "right", f"{prediction.intensity:.1f}"),
        ("Bound", "left", ""),
        ("Predicted", "right", duration(prediction.predicted_ms)),
    ]
    if timing is not None:
        columns += [("Measured", "right", model_measured), ("Achieved", "right", "")]
    for header, justify, footer in columns:
        table.add_column(header, justify=justify, footer=footer, no_wrap=header == "Layer")  # type: ignore[arg-type]
    for layer in rows:
        cells = [
            layer.name or "(model)",
            layer.type,
            layer.category,
            f"{layer.intensity:.1f}",
            layer.bound,
            duration(layer.predicted_ms),
        ]
        if timing is not None:
            timed = measured[layer.call]
            cells += [duration(timed.time_ms), human(timed.achieved_flops_per_s, "FLOP/s") if timed.flops else "–"]
        table.add_row(*cells)
    return _with_note(table, note)


def roofline_json(prediction: RooflinePrediction, timing: LayerTiming | None = None) -> str:
    """The prediction per layer and model; with a timing, measured times beside it."""
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **prediction.to_dict()}
    if timing is not None:
        data["measured_ms"] = timing.model_ms
        data["layer_sum_ms"] = timing.layer_sum_ms
        data["latency"] = timing.latency.to_dict()
        for row, timed in zip(data["layers"], timing.layers):
            row.update(
                measured_ms=timed.time_ms,
                achieved_flops_per_s=timed.achieved_flops_per_s,
                achieved_bytes_per_s=timed.achieved_bytes_per_s,
            )
    return json.dumps(data, indent=2) + "\n"


_ROOFLINE_CSV = ("name", "type", "category", "flops", "mac_bytes", "intensity", "bound", "predicted_ms")


def roofline_csv(prediction: RooflinePrediction, timing: LayerTiming | None = None) -> str:
    """One line per layer: the prediction, and the measured time when there is one."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    extra = ("measured_ms", "achieved_flops_per_s") if timing is not None else ()
    writer.writerow(_ROOFLINE_CSV + extra)
    timed_rows = timing.layers if timing is not None else [None] * len(prediction.layers)
    for layer, timed in zip(prediction.layers, timed_rows):
        data = layer.to_dict()
        cells = [data[field] for field in _ROOFLINE_CSV]
        if timed is not None:
            cells += [timed.time_ms, timed.achieved_flops_per_s]
        writer.writerow(cells)
    return buffer.getvalue()
