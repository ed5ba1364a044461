"""Rendering of calibrations and predicted latency: tables for the terminal, JSON, CSV and Markdown.

Renderers format; every number comes from a :class:`~costlab.cost.predict.Calibration`, a
:class:`~costlab.cost.predict.LatencyPrediction` or (beside it) a measured
:class:`~costlab.timing.layers.LayerTiming`. The error of a prediction is ``predicted / measured − 1``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text

from costlab.cost.categories import label as kind_label
from costlab.render.layout import Col, build_table
from costlab.stats import relative_error
from costlab.units import binary_bytes, duration, format_delta, human, shapes_text

if TYPE_CHECKING:
    from costlab.cost.predict import Calibration, LatencyPrediction
    from costlab.timing.calibrations import PredictedTimes
    from costlab.timing.layers import LayerTiming

__all__ = [
    "SCHEMA_VERSION",
    "calibrated_cells",
    "calibrated_columns",
    "calibrated_note",
    "calibration_json",
    "calibration_markdown",
    "calibration_table",
    "error_text",
    "prediction_csv",
    "prediction_json",
    "prediction_markdown",
    "prediction_table",
]

SCHEMA_VERSION = 1


def error_text(predicted_ms: float, measured_ms: float) -> str:
    """``+4.2%``: how far the prediction is from the measurement (– when nothing was measured)."""
    error = relative_error(predicted_ms, measured_ms)
    return format_delta(error) if error is not None else "–"


def _note(table: Any, note: str) -> Group:
    return Group(table, Text(note, style="dim"), Text(""))


# ------------------------------------------------------------------------------------------------
# Calibration
# ------------------------------------------------------------------------------------------------


def _overhead_line(cal: Calibration) -> str:
    o = cal.overhead
    return (
        f"framework overhead (from {o.nets} synthetic nets, fit error {o.fit_mape:.0%}): "
        f"{o.per_call_s * 1e6:.1f} µs per module call, {o.per_op_s * 1e6:.1f} µs per op, "
        f"{o.fixed_s * 1e6:.0f} µs per pass"
    )


def _cache_line(cal: Calibration) -> str:
    cache = (f"Cold: a kind's time with its working set far past the {binary_bytes(cal.cache_bytes)} last-level cache "
             "÷ its time within it (a model past the cache pays it on its share of cold accesses)" if cal.cache_bytes
             else "no last-level cache known: no cold factor")
    fresh = (f"; fresh memory: {cal.fresh_page_s * 1e6:.2f} µs a page for outputs over "
             f"{binary_bytes(cal.fresh_floor_bytes)} (malloc maps them afresh every time)" if cal.fresh_floor_bytes else "")
    return cache + fresh


def calibration_table(cal: Calibration, width: int, problem: str | None = None) -> Group:
    """One row per kind: samples, their median time and spread, the kept model and its
    cross-validated error beside the other families'."""
    families = sorted({c.family for fit in cal.kinds.values() for c in fit.cv})
    columns = [Col("Kind"), Col("Samples", True), Col("Median", True, drop=3), Col("Spread", True, drop=2),
               Col("Model"), Col("CV error", True), Col("Cold", True, drop=2),
               *(Col(f"CV {f}", True, drop=1) for f in families)]
    rows = []
    for kind, fit in cal.kinds.items():
        errors = {c.family: c.mape for c in fit.cv}
        rows.append([kind, str(fit.samples), duration(fit.median_ms), f"{fit.spread:.0%}", fit.family,
                     f"{fit.cv_mape:.1%}", f"×{fit.cold_ratio:.2f}",
                     *(f"{errors[f]:.1%}" if f in errors else "–" for f in families)])
    threads = f", {cal.threads} thread{'s' if cal.threads != 1 else ''}" if cal.device == "cpu" else ""
    title = f"calibration of {cal.device} ({cal.device_name}), {cal.dtype}{threads}, torch {cal.torch_version}"
    table = build_table(columns, rows, width=width, title=title)
    lines = [
        f"{len(cal.samples)} ops timed in {cal.seconds:.0f} s on the {cal.clock} clock, median spread "
        f"{cal.spread:.0%}; CV error: mean |predicted − measured| / measured, 5-fold, per op",
        _cache_line(cal),
        _overhead_line(cal),
        f"roofs for ops without a model: {human(cal.peak_flops, 'FLOP/s')}, {human(cal.bandwidth_bytes_per_s, 'B/s')}",
    ]
    if cal.cached:
        lines.append(f"from the cache (measured {cal.measured_at}); --refresh calibrates again")
    if problem:
        lines.append(f"not cached: {problem}")
    return _note(table, "\n".join(lines))


def calibration_json(cal: Calibration, problem: str | None = None) -> str:
    data = {"schema_version": SCHEMA_VERSION, "key": cal.key, **cal.to_dict(samples=False),
            "samples": len(cal.samples), "cached": problem is None, "not_cached_because": problem}
    return json.dumps(data, indent=2) + "\n"


def calibration_markdown(cal: Calibration, problem: str | None = None) -> str:
    lines = [f"**calibration of {cal.device} ({cal.device_name}), {cal.dtype}, {cal.threads} threads, "
             f"torch {cal.torch_version}**", "",
             "| kind | samples | median | spread | model | CV error | cold |", "|---|---:|---:|---:|---|---:|---:|"]
    for kind, fit in cal.kinds.items():
        lines.append(f"| {kind} | {fit.samples} | {duration(fit.median_ms)} | {fit.spread:.0%} | {fit.family} | "
                     f"{fit.cv_mape:.1%} | ×{fit.cold_ratio:.2f} |")
    lines += ["", _cache_line(cal) + ".", "", _overhead_line(cal) + "."]
    if problem:
        lines += ["", f"Not cached: {problem}."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# Prediction
# ------------------------------------------------------------------------------------------------


def _measured(timing: LayerTiming | None) -> dict[int, float]:
    return {layer.call: layer.time_ms for layer in timing.layers} if timing is not None else {}


def prediction_table(
    pred: LatencyPrediction, width: int, timing: LayerTiming | None = None, top: int | None = 15
) -> Group:
    """The heaviest rows' predicted time (and measured, with its error); the model in the footer."""
    measured = _measured(timing)
    rows = list(pred.layers)
    if top is not None and top < len(rows):
        rows = sorted(rows, key=lambda layer: layer.predicted_ms, reverse=True)[:top]
    columns = [
        Col("Layer", footer="model"),
        Col("Type", drop=2),
        Col("Kind", drop=1),
        Col("FLOPs", True, human(sum(layer.flops for layer in pred.layers)), drop=3),
        Col("Mem access", True, human(sum(layer.bytes_accessed for layer in pred.layers), "B"), drop=4),
        Col("Predicted", True, duration(pred.predicted_ms)),
        Col("Share", True, drop=5),
    ]
    if timing is not None:
        columns += [Col("Measured", True, duration(timing.model_ms)),
                    Col("Error", True, error_text(pred.predicted_ms, timing.model_ms))]
    cells = []
    for layer in rows:
        line = [layer.name or "(model)", layer.type, kind_label(layer.category), human(layer.flops),
                human(layer.bytes_accessed, "B"), duration(layer.predicted_ms), f"{layer.share:.1%}"]
        if timing is not None:
            ms = measured.get(layer.call, 0.0)
            line += [duration(ms), error_text(layer.predicted_ms, ms)]
        cells.append(line)
    title = f"{pred.model} · input {shapes_text(pred.input_shapes)} · {pred.dtype} · predicted latency"
    table = build_table(columns, cells, width=width, title=title, show_footer=True)
    shown = f"the {len(rows)} heaviest of {len(pred.layers)} rows shown; " if len(rows) < len(pred.layers) else ""
    lines = [
        f"{shown}model = {duration(pred.ops_ms)} in {pred.ops} ops + {duration(pred.overhead_ms)} framework "
        f"overhead ({pred.calls} module calls); never run: counted on the meta device",
        f"calibration: {pred.calibration.label}",
    ]
    if pred.fresh_pages:
        lines.append(f"of the ops: {duration(pred.fresh_ms)} faulting in {pred.fresh_pages:,} pages of new mappings "
                     f"(outputs over {binary_bytes(pred.calibration.fresh_floor_bytes)}, which malloc maps afresh "
                     "every time)")
    if pred.unmodelled:
        listed = ", ".join(f"{op} ×{n}" for op, n in pred.unmodelled.items())
        lines.append(f"{sum(pred.unmodelled.values())} ops without a kernel model, priced by the roofline: {listed}")
    if timing is not None:
        lines.append(f"measured: whole model {duration(timing.model_ms)} (median of {timing.latency.runs} runs); "
                     "rows: their ops timed one by one inside the model")
    return _note(table, "\n".join(lines))


def prediction_json(pred: LatencyPrediction, timing: LayerTiming | None = None) -> str:
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **pred.to_dict()}
    if timing is not None:
        data["measured_ms"] = timing.model_ms
        data["error"] = pred.predicted_ms / timing.model_ms - 1 if timing.model_ms else None
        for row, timed in zip(data["layers"], timing.layers):
            row["measured_ms"] = timed.time_ms
    return json.dumps(data, indent=2) + "\n"


_CSV = ("name", "type", "category", "flops", "bytes_accessed", "predicted_ms", "share")


def prediction_csv(pred: LatencyPrediction, timing: LayerTiming | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_CSV, *(("measured_ms",) if timing is not None else ())])
    measured = _measured(timing)
    for layer in pred.layers:
        row = [getattr(layer, key) for key in _CSV]
        writer.writerow([*row, *((measured.get(layer.call, 0.0),) if timing is not None else ())])
    return out.getvalue()


def prediction_markdown(pred: LatencyPrediction, timing: LayerTiming | None = None) -> str:
    measured = _measured(timing)
    lines = [f"**{pred.model} · input {shapes_text(pred.input_shapes)} · predicted {duration(pred.predicted_ms)}**",
             "", "| layer | type | kind | predicted | share |" + (" measured | error |" if timing else ""),
             "|---|---|---|---:|---:|" + ("---:|---:|" if timing else "")]
    for layer in pred.layers:
        cells = [f"`{layer.name or '(model)'}`", layer.type, kind_label(layer.category), duration(layer.predicted_ms),
                 f"{layer.share:.1%}"]
        if timing is not None:
            ms = measured.get(layer.call, 0.0)
            cells += [duration(ms), error_text(layer.predicted_ms, ms)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Model: {duration(pred.ops_ms)} in ops + {duration(pred.overhead_ms)} framework overhead. "
              f"Calibration: {pred.calibration.label}."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# The calibrated prediction as columns of another table (roofline)
# ------------------------------------------------------------------------------------------------

def calibrated_columns(predicted: PredictedTimes | None) -> list[Col]:
    """"Predicted" (the calibrated prediction) and, beside a measurement, its "Error"."""
    if predicted is None:
        return []
    from costlab.timing.calibrations import PREDICTED_COLUMNS

    guess, error = PREDICTED_COLUMNS
    columns = [Col(guess.header, True, guess.text(predicted.model.predicted_ms))]
    if predicted.model.measured_ms is not None:
        columns.append(Col(error.header, True, error.text(predicted.model.predicted_error), drop=6))
    return columns


def calibrated_cells(predicted: PredictedTimes | None, call: int) -> list[str]:
    """A row's cells under :func:`calibrated_columns` (– for a row without a prediction)."""
    if predicted is None:
        return []
    from costlab.timing.calibrations import PREDICTED_COLUMNS

    guess, error = PREDICTED_COLUMNS
    row = predicted.row(call)
    cells = [guess.text(row.predicted_ms if row is not None else None)]
    if predicted.model.measured_ms is not None:
        cells.append(error.text(row.predicted_error if row is not None else None))
    return cells


def calibrated_note(predicted: PredictedTimes | None) -> str:
    """A line under a table with :func:`calibrated_columns`: what Predicted is, and its calibration."""
    if predicted is None:
        return ""
    beside = "; Error = Predicted / Measured − 1" if predicted.model.measured_ms is not None else ""
    return (f"\nPredicted = each op priced by its kind's calibrated kernel model, plus the framework overhead for "
            f"the model{beside} (calibration: {predicted.calibration.label})")

