"""Rendering of measured times: latency, per-layer times, the category breakdown, device peaks and
the roofline prediction — rich tables for the terminal, JSON and CSV for machines.

Renderers format; every number comes from a Measurement, LayerTiming, MachinePeaks or
RooflinePrediction.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text

from costlab.cost.categories import label as kind_label
from costlab.render.layout import Col, build_table
from costlab.render.predict import calibrated_cells, calibrated_columns, calibrated_note
from costlab.render.roofline_plot import cache_roofs_note
from costlab.render.tabular import csv_writer
from costlab.units import binary_bytes, duration, human, shapes_text

if TYPE_CHECKING:
    from rich.table import Table

    from costlab.cost.roofline import RooflinePrediction
    from costlab.timing.calibrations import PredictedTimes
    from costlab.timing.layers import LayerTime, LayerTiming
    from costlab.timing.machine import DeviceSpec, MachinePeaks
    from costlab.timing.measure import Measurement, TimingSpec

__all__ = [
    "category_time_table",
    "latency_csv",
    "latency_json",
    "latency_table",
    "layer_time_table",
    "layer_times_csv",
    "machine_json",
    "machine_table",
    "roofline_csv",
    "roofline_json",
    "roofline_table",
]

SCHEMA_VERSION = 1
_BAR_WIDTH = 24


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


def _setup(spec: TimingSpec) -> str:
    layout = ", channels-last" if spec.channels_last else ""
    return f"{spec.device} ({spec.device_name}), {spec.dtype}, {_threads(spec.threads)}{layout}"


def _inputs(spec: TimingSpec) -> str:
    return shapes_text(spec.input_shapes)


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


def latency_table(measurements: Sequence[Measurement], width: int) -> Table:
    """One row per batch size: median, IQR, p10 / p90, runs, throughput."""
    spec = measurements[0].spec
    columns = [Col("Batch", True), Col("Input", drop=1), *(Col(h, True) for h in ("Median", "IQR", "p10", "p90")),
               Col("Runs", True), Col("Images/s", True), Col("Spread", True)]
    rows = [
        [
            str(m.spec.batch),
            _inputs(m.spec),
            duration(m.median_ms),
            duration(m.iqr_ms),
            duration(m.p10_ms),
            duration(m.p90_ms),
            f"{m.runs} ({m.samples}×{m.number_per_run})",
            f"{m.throughput_per_s:,.1f}",
            Text(f"{m.relative_iqr:.1%}", style="yellow" if m.warnings else ""),
        ]
        for m in measurements
    ]
    return build_table(columns, rows, width=width, title=f"{spec.model} latency on {_setup(spec)}")


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
    writer = csv_writer(buffer)
    writer.writerow(_LATENCY_CSV)
    for m in measurements:
        data = m.to_dict()
        writer.writerow([data[field] for field in _LATENCY_CSV])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------
# per-layer times and the category breakdown
# ------------------------------------------------------------------------------------------------


def layer_time_table(timing: LayerTiming, width: int, top: int | None = None) -> Group:
    """Per-layer time, share, achieved FLOP/s and bytes/s, in execution order (the ``top`` slowest
    when cut); the note under it reconciles the layers' sum with the whole-model latency."""
    rows = list(timing.layers)
    if top is not None and top < len(rows):
        rows = sorted(rows, key=lambda layer: -layer.time_ms)[:top]
    shown = f" (the {len(rows)} slowest of {len(timing.layers)})" if len(rows) < len(timing.layers) else ""
    note = coverage_note(timing)
    columns = [
        Col("Layer", footer="layers"),
        Col("Type", drop=2),
        Col("Kind", drop=1),
        Col("Time", True, duration(timing.layer_sum_ms)),
        Col("Share", True, "100%"),
        Col("FLOP/s", True, drop=3),
        Col("Bytes/s", True, drop=4),
        Col("FLOP/B", True, drop=5),
    ]
    cells = [
        [
            layer.name or "(model)",
            layer.type,
            kind_label(layer.category),
            duration(layer.time_ms),
            f"{layer.time_share:.1%}",
            human(layer.achieved_flops_per_s, "FLOP/s") if layer.flops else "–",
            human(layer.achieved_bytes_per_s, "B/s"),
            f"{layer.intensity:.1f}",
        ]
        for layer in rows
    ]
    table = build_table(
        columns, cells, width=width, title=f"Per-layer time at {_inputs(timing.latency.spec)}{shown}", show_footer=True
    )
    return _with_note(table, note)


def coverage_note(timing: LayerTiming) -> str:
    """How the per-op times reconcile with the whole-model latency, and why they may not."""
    note = (
        f"layers add up to {duration(timing.layer_sum_ms)} (each op's median over {timing.runs} instrumented runs); "
        f"the whole model takes {duration(timing.model_ms)} (median of {timing.latency.runs} runs): "
        f"layers = {timing.coverage:.0%} of it"
    )
    if timing.call_floor_ms > 0:
        note += (
            f"; each call's time includes the call itself: a view, which moves no data, takes "
            f"{duration(timing.call_floor_ms)} (× {timing.calls} calls = {duration(timing.instrumentation_ms)})"
        )
    return note


def category_time_table(timing: LayerTiming, width: int) -> Table:
    """Where the time goes by kind of work (ShuffleNet V2, Fig. 2), with a bar per share: the kinds
    and op counts of profile's "By kind of work" table, views and allocations as calls only."""
    columns = [Col("Kind"), Col("Ops", True), Col("Calls", True, drop=2), Col("Time", True), Col("Share", True),
               Col("", drop=1)]
    rows = [
        [kind_label(entry.category), str(entry.ops) if entry.ops else "–", str(entry.calls),
         duration(entry.time_ms) if entry.time_ms else "–", f"{entry.share:.1%}", _bar(entry.share)]
        for entry in timing.categories
    ]
    return build_table(columns, rows, width=width, title=f"Time by kind of work at {_inputs(timing.latency.spec)}")


_LAYER_CSV = (
    "name",
    "type",
    "depth",
    "category",
    "time_ms",
    "time_share",
    "flops",
    "bytes_accessed",
    "intensity",
    "achieved_flops_per_s",
    "achieved_bytes_per_s",
)


def layer_times_csv(timings: Sequence[LayerTiming]) -> str:
    """One line per layer (per batch size), raw numbers, led by the model, batch and whole-model latency."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
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


def _spread(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _cache_rows(peaks: MachinePeaks) -> list[tuple[str, str]]:
    """(name, bandwidth) per cache level; one row saying why when there are none."""
    if not peaks.cache_levels:
        why = "not measured (cached by an older costlab)" if peaks.cache_levels is None else "sizes unreadable"
        return [("Cache roofs", why)]
    return [(f"  {name} cache (≤ {binary_bytes(size)})", human(rate, "B/s")) for name, size, rate in peaks.cache_levels]


def machine_table(peaks: MachinePeaks, width: int, spec: DeviceSpec | None = None) -> Group:
    """The measured roofs, their repeats' spread, the cache roofs (and a known GPU's spec sheet beside them)."""
    from costlab.timing.machine import ROOF_NOISE_LIMIT

    origin = f"cached {peaks.measured_at}" if peaks.cached else f"measured {peaks.measured_at}"
    threads = f", {_threads(peaks.threads)}" if peaks.device == "cpu" else ""
    note = (
        f"{peaks.device}, {peaks.dtype}{threads}; {origin} with torch {peaks.torch_version}; --refresh measures again. "
        f"Spread: (median - best) / best of the repeats (over {ROOF_NOISE_LIMIT:.0%}: too noisy to cache); "
        "cache roofs: copy / triad on half a level's capacity, dispatch overhead taken out"
    )
    spec_peak = spec.peak_flops(peaks.dtype) if spec is not None else None
    rows = [
        [
            f"Peak compute ({peaks.gemm_size}² matmul)",
            human(peaks.peak_flops, "FLOP/s"),
            _spread(peaks.flops_spread),
            human(spec_peak, "FLOP/s") if spec_peak else "–",
        ],
        [
            "Memory bandwidth",
            human(peaks.bandwidth_bytes_per_s, "B/s"),
            _spread(peaks.bandwidth_spread),
            human(spec.bandwidth_bytes_per_s, "B/s") if spec else "–",
        ],
        ["  copy", human(peaks.copy_bytes_per_s, "B/s"), "", ""],
        ["  triad", human(peaks.triad_bytes_per_s, "B/s"), "", ""],
        *([name, rate, "", ""] for name, rate in _cache_rows(peaks)),
        [
            "Ridge point",
            f"{peaks.ridge_flop_per_byte:.1f} FLOP/B",
            "",
            f"{spec_peak / spec.bandwidth_bytes_per_s:.1f} FLOP/B" if spec and spec_peak else "–",
        ],
    ]
    columns = [Col("Roof"), Col("Measured", True), Col("Spread", True, drop=1)]
    if spec is not None:
        columns.append(Col(f"Spec sheet ({spec.name})", True))
    else:
        rows = [row[:3] for row in rows]
    return _with_note(build_table(columns, rows, width=width, title=peaks.device_name), note)


def machine_json(peaks: MachinePeaks, spec: DeviceSpec | None = None) -> str:
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **peaks.to_dict()}
    data["cache_roofs"] = [level.to_dict() for level in peaks.roofs().cache_roofs]
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


def roofline_table(
    prediction: RooflinePrediction,
    width: int,
    timing: LayerTiming | None = None,
    top: int | None = 15,
    predicted: PredictedTimes | None = None,
) -> Group:
    """The roofline's time (and, with ``predicted``, the calibrated prediction and its error) beside
    the measured one, in execution order (the ``top`` heaviest when cut); the model row in the footer."""
    measured = {layer.call: layer for layer in timing.layers} if timing is not None else {}

    def weight(layer: Any) -> float:
        return measured[layer.call].time_ms if measured else layer.predicted_ms

    rows = list(prediction.layers)
    if top is not None and top < len(rows):
        rows = sorted(rows, key=weight, reverse=True)[:top]
    roofs = prediction.roofs
    note = (
        f"roofs: {human(roofs.peak_flops, 'FLOP/s')} and {human(roofs.bandwidth_bytes_per_s, 'B/s')}, "
        f"ridge {roofs.ridge_flop_per_byte:.1f} FLOP/B ({roofs.label}). "
        + cache_roofs_note(roofs)
        + "Roofline = max(FLOPs / peak, bytes / bandwidth) per layer, summed for the model "
        f"(single-roof bound of the totals: {duration(prediction.bound_ms)})"
        + (
            f"; the {len(rows)} heaviest of {len(prediction.layers)} layers shown"
            if len(rows) < len(prediction.layers)
            else ""
        )
    )
    columns = [
        Col("Layer", footer="model"),
        Col("Type", drop=2),
        Col("Kind", drop=1),
        Col("FLOP/B", True, f"{prediction.intensity:.1f}"),
        Col("Bound", drop=3),
        Col("Roofline", True, duration(prediction.predicted_ms)),
    ]
    columns += calibrated_columns(predicted)
    if timing is not None:
        achieved = prediction.flops / (timing.model_ms / 1e3) if timing.model_ms > 0 else 0.0
        model_share = prediction.roofs.share_of_roof(prediction.intensity, achieved)
        columns += [Col("Measured", True, duration(timing.model_ms)), Col("Achieved", True, drop=4),
                    Col("Of roof", True, f"{model_share:.0%}", drop=5)]
    cells = []
    for layer in rows:
        line = [
            layer.name or "(model)",
            layer.type,
            kind_label(layer.category),
            f"{layer.intensity:.1f}",
            layer.bound,
            duration(layer.predicted_ms),
        ]
        line += calibrated_cells(predicted, layer.call)
        if timing is not None:
            timed = measured[layer.call]
            line += [duration(timed.time_ms), human(timed.achieved_flops_per_s, "FLOP/s") if timed.flops else "–",
                     f"{_of_roof(prediction, timed):.0%}" if timed.flops else "–"]
        cells.append(line)
    table = build_table(
        columns, cells, width=width, title=f"{prediction.model}: roofline-predicted latency", show_footer=True
    )
    return _with_note(table, note + calibrated_note(predicted))


def _of_roof(prediction: RooflinePrediction, timed: LayerTime) -> float:
    """The share of its roof a measured layer reaches: achieved FLOP/s over the roof at its intensity,
    with the bandwidth of the cache level its bytes fit in."""
    return prediction.roofs.share_of_roof(timed.intensity, timed.achieved_flops_per_s, timed.bytes_accessed)


def roofline_json(
    prediction: RooflinePrediction, timing: LayerTiming | None = None, predicted: PredictedTimes | None = None
) -> str:
    """The roofline's prediction per layer and model (``predicted_ms``); with a timing, measured times
    beside it; with ``predicted``, the calibrated prediction (``calibrated_ms``) and its error against
    the measured time (``calibrated_error``, null when nothing was measured)."""
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **prediction.to_dict()}
    if predicted is not None:
        data.update(calibrated_ms=predicted.model.predicted_ms, calibrated_error=predicted.model.predicted_error,
                    calibration=predicted.calibration.key)
        for row, layer in zip(data["layers"], prediction.layers):
            guess = predicted.row(layer.call)
            row.update(calibrated_ms=guess.predicted_ms if guess is not None else None,
                       calibrated_error=guess.predicted_error if guess is not None else None)
    if timing is not None:
        data["measured_ms"] = timing.model_ms
        data["layer_sum_ms"] = timing.layer_sum_ms
        data["latency"] = timing.latency.to_dict()
        for row, timed in zip(data["layers"], timing.layers):
            row.update(
                measured_ms=timed.time_ms,
                achieved_flops_per_s=timed.achieved_flops_per_s,
                achieved_bytes_per_s=timed.achieved_bytes_per_s,
                roof_share=_of_roof(prediction, timed),
            )
    return json.dumps(data, indent=2) + "\n"


_ROOFLINE_CSV = ("name", "type", "category", "flops", "bytes_accessed", "intensity", "bound", "predicted_ms")


def roofline_csv(
    prediction: RooflinePrediction, timing: LayerTiming | None = None, predicted: PredictedTimes | None = None
) -> str:
    """One line per layer: the roofline's prediction, the measured time when there is one, and the
    calibrated prediction and its error (last, when a calibration is cached)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    extra = ("measured_ms", "achieved_flops_per_s", "roof_share") if timing is not None else ()
    writer.writerow(_ROOFLINE_CSV + extra + (("calibrated_ms", "calibrated_error") if predicted is not None else ()))
    timed_rows = timing.layers if timing is not None else [None] * len(prediction.layers)
    for layer, timed in zip(prediction.layers, timed_rows):
        data = layer.to_dict()
        cells = [data[field] for field in _ROOFLINE_CSV]
        if timed is not None:
            cells += [timed.time_ms, timed.achieved_flops_per_s, _of_roof(prediction, timed)]
        guess = predicted.row(layer.call) if predicted is not None else None
        if predicted is not None:
            error = guess.predicted_error if guess is not None else None
            cells += [guess.predicted_ms if guess is not None else "", "" if error is None else error]
        writer.writerow(cells)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------------


def latency_markdown(measurements: Sequence[Measurement], timings: Sequence[LayerTiming] = ()) -> str:
    """The latency table in Markdown (and, per batch with ``--per-layer``, the time by kind of work)."""
    spec = measurements[0].spec
    lines = [f"**{spec.model} latency on {_setup(spec)}**", "",
             "| batch | input | median | IQR | p10 | p90 | runs | images/s | spread |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in measurements:
        lines.append(
            f"| {m.spec.batch} | {_inputs(m.spec)} | {duration(m.median_ms)} | {duration(m.iqr_ms)} | "
            f"{duration(m.p10_ms)} | {duration(m.p90_ms)} | {m.runs} | {m.throughput_per_s:,.1f} | {m.relative_iqr:.1%} |"
        )
    for timing in timings:
        lines += ["", f"Time by kind of work at {_inputs(timing.latency.spec)}:", "",
                  "| kind | ops | calls | time | share |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {kind_label(c.category)} | {c.ops or '–'} | {c.calls} | "
                  f"{duration(c.time_ms) if c.time_ms else '–'} | {c.share:.1%} |"
                  for c in timing.categories]
        lines += ["", coverage_note(timing) + "."]
    return "\n".join(lines) + "\n"


def machine_markdown(peaks: MachinePeaks, spec: DeviceSpec | None = None) -> str:
    """The roofs as a Markdown table."""
    spec_peak = spec.peak_flops(peaks.dtype) if spec is not None else None
    lines = [f"**{peaks.device_name}** ({peaks.device}, {peaks.dtype}"
             + (f", {_threads(peaks.threads)}" if peaks.device == "cpu" else "") + f", measured {peaks.measured_at})",
             "", "| roof | measured |" + (f" spec sheet ({spec.name}) |" if spec else ""),
             "|---|---:|" + ("---:|" if spec else "")]
    def spread(value: float | None) -> str:
        return "" if value is None else f" (spread {value:.1%})"

    rows = [
        (f"peak compute ({peaks.gemm_size}² matmul)", human(peaks.peak_flops, "FLOP/s") + spread(peaks.flops_spread),
         human(spec_peak, "FLOP/s") if spec_peak else "–"),
        ("memory bandwidth", human(peaks.bandwidth_bytes_per_s, "B/s") + spread(peaks.bandwidth_spread),
         human(spec.bandwidth_bytes_per_s, "B/s") if spec else "–"),
        *((name.strip(), rate, "–") for name, rate in _cache_rows(peaks)),
        ("ridge point", f"{peaks.ridge_flop_per_byte:.1f} FLOP/B",
         f"{spec_peak / spec.bandwidth_bytes_per_s:.1f} FLOP/B" if spec and spec_peak else "–"),
    ]
    for name, value, sheet in rows:
        lines.append(f"| {name} | {value} |" + (f" {sheet} |" if spec else ""))
    return "\n".join(lines) + "\n"
