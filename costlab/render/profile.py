"""``costlab profile`` output: the per-layer table (rich), JSON, CSV and Markdown.

Every number column comes from :data:`costlab.cost.costs.COLUMNS` (and, with ``--device``,
:data:`costlab.timing.layers.TIME_COLUMNS`, then — when a calibration is cached —
:data:`costlab.timing.calibrations.PREDICTED_COLUMNS`): a column added there appears in all four
formats. Renderers format; they never compute a cost.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from costlab.cost.categories import label as kind_label
from costlab.cost.costs import COLUMNS, SORTABLE, Column
from costlab.cost.report import layer_dict
from costlab.render.layout import Col, build_table
from costlab.render.tabular import csv_writer, md_row
from costlab.units import duration, human, shape, shape_text

if TYPE_CHECKING:
    from costlab.cost.report import LayerRecord, Report
    from costlab.timing.calibrations import PredictedTimes
    from costlab.timing.layers import LayerTiming

__all__ = [
    "SORT_FIELDS",
    "display_name",
    "header_line",
    "predicted_line",
    "profile_csv",
    "profile_json",
    "profile_markdown",
    "profile_table",
    "select_rows",
]

SORT_FIELDS = ("order", *SORTABLE)
_TABLE = tuple(c for c in COLUMNS if c.table)
_DROP = {"elementwise_ops": 3, "intensity": 4}
"""On a narrow terminal the table leaves out Output, Type, then these (the rest always show)."""


def _time_columns(predicted: PredictedTimes | None = None) -> tuple[Column, ...]:
    """The measured columns: time and share, the calibrated prediction and its error (when there is
    one) beside them, then the achieved rates."""
    from costlab.timing.layers import TIME_COLUMNS

    if predicted is None:
        return TIME_COLUMNS
    from costlab.timing.calibrations import PREDICTED_COLUMNS

    return (*TIME_COLUMNS[:2], *PREDICTED_COLUMNS, *TIME_COLUMNS[2:])


def display_name(row: LayerRecord) -> str:
    """The model's own row (ops in its top-level forward) has no path: show it as ``(model)``."""
    return row.name or "(model)"


def select_rows(rows: Sequence[LayerRecord], sort: str = "order", top: int | None = None) -> list[LayerRecord]:
    """The layer rows to show: sorted by a field (descending; "order" keeps execution order), cut to ``top``."""
    chosen = list(rows)
    if sort != "order":
        chosen = sorted(chosen, key=lambda row: getattr(row, sort), reverse=True)
    return chosen[:top] if top is not None else chosen


def header_line(report: Report) -> str:
    inputs = ", ".join(shape(s) for s in report.input_shapes)
    how = "shapes only, on the meta device" if report.captured_on == "meta" else f"real tensors on {report.captured_on}"
    step = " · training step (forward + backward)" if report.train else ""
    return f"{report.model} · input {inputs} · {report.dtype}{step} · counted with {how}"


def _measured(
    timing: LayerTiming | None, row: LayerRecord, predicted: PredictedTimes | None = None
) -> dict[str, Any] | None:
    """The row's measured numbers (and predicted time and error), keyed as :func:`_time_columns`."""
    layer = timing.by_call().get(row.call) if timing is not None else None
    if layer is None:
        return None
    values = {c.key: getattr(layer, c.key) for c in _time_columns()}
    guess = predicted.row(row.call) if predicted is not None else None
    if guess is not None:
        values.update(predicted_ms=guess.predicted_ms, predicted_error=guess.predicted_error)
    elif predicted is not None:
        values.update(predicted_ms=None, predicted_error=None)
    return values


# -- the terminal -----------------------------------------------------------------------------


def _layer_table(
    report: Report,
    rows: Sequence[LayerRecord],
    shown_of: int | None,
    timing: LayerTiming | None,
    width: int,
    predicted: PredictedTimes | None = None,
) -> RenderableType:
    totals = report.totals
    columns = [Col("Layer", footer="total"), Col("Type", drop=2), Col("Output", drop=1)]
    columns += [Col(c.header, True, c.text(getattr(totals, c.key), total=True), _DROP.get(c.key)) for c in _TABLE]
    timed = _time_columns(predicted) if timing is not None else ()
    if timing is not None:
        columns += [Col(timed[0].header, True, duration(timing.layer_sum_ms)), Col(timed[1].header, True, "100%")]
        rates = timed[2:]
        if predicted is not None:
            guess, error = timed[2:4]
            rates = timed[4:]
            columns += [Col(guess.header, True, guess.text(predicted.layers.predicted_ms)),
                        Col(error.header, True, error.text(predicted.layers.predicted_error), drop=7)]
        columns += [Col(c.header, True, drop=5 + i) for i, c in enumerate(rates)]
    cells = []
    for row in rows:
        line = [display_name(row), row.type, shape(row.output_shape), *(c.text(getattr(row, c.key)) for c in _TABLE)]
        layer = _measured(timing, row, predicted)
        line += [c.text(layer[c.key]) if layer is not None else "–" for c in timed]
        cells.append(line)
    caption = f"{len(rows)} of {shown_of} rows shown" if shown_of and shown_of > len(rows) else None
    return build_table(columns, cells, width=width, title=header_line(report), caption=caption, show_footer=True)


def _category_table(report: Report, width: int) -> RenderableType:
    totals = report.totals
    rows = []
    for category, entry in report.by_category().items():
        share = entry["bytes_accessed"] / totals.bytes_accessed if totals.bytes_accessed else 0.0
        rows.append(
            [
                kind_label(category),
                str(entry["ops"]),
                human(entry["macs"]) if entry["macs"] else "–",
                human(entry["flops"]) if entry["flops"] else "–",
                human(entry["bytes_accessed"], "B"),
                f"{share:.1%}",
            ]
        )
    columns = [Col("Kind"), Col("Ops", True, drop=2), Col("MACs", True), Col("FLOPs", True, drop=1),
               Col("Mem access", True), Col("Share of mem access", True)]
    return build_table(columns, rows, width=width, title="By kind of work")


def _summary(report: Report) -> Text:
    totals = report.totals
    return Text.assemble(
        ("params ", "dim"), human(totals.params), (f" ({human(totals.param_bytes, 'B')})", "dim"),
        ("  MACs ", "dim"), human(totals.macs),
        ("  FLOPs ", "dim"), human(totals.flops),
        ("  memory access ", "dim"), human(totals.bytes_accessed, "B"),
        ("  intensity ", "dim"), f"{totals.intensity:.1f} FLOP/B",
        ("  element-wise ", "dim"), f"{totals.elementwise_ops} ops on {human(totals.elementwise_elems)} elements",
    )


def profile_table(
    report: Report,
    rows: Sequence[LayerRecord],
    *,
    width: int,
    shown_of: int | None = None,
    timing: LayerTiming | None = None,
    predicted: PredictedTimes | None = None,
) -> RenderableType:
    """The per-layer table, the totals, the breakdown by category (and, with ``timing``, the time by
    kind; with ``predicted``, the calibrated prediction beside the measured time)."""
    parts: list[RenderableType] = [_layer_table(report, rows, shown_of, timing, width, predicted), _summary(report)]
    if report.train:
        phases = report.phases()
        parts.append(Text.assemble(*(
            piece for phase in ("forward", "backward") for piece in (
                (f"{'  ' if phase == 'backward' else ''}{phase} ", "dim"), f"{human(phases[phase]['macs'])} MACs, ",
                f"{human(phases[phase]['flops'])} FLOPs, {human(phases[phase]['bytes_accessed'], 'B')}")
        )))
    if timing is not None:
        spec = timing.latency.spec
        parts.append(
            Text.assemble(
                ("latency ", "dim"), duration(timing.model_ms),
                (f" (whole model on {spec.device}, median of {timing.latency.runs} runs)", "dim"),
                ("  layers sum ", "dim"), duration(timing.layer_sum_ms),
                (f" ({timing.coverage:.0%} of it: each op timed alone, synchronised)", "dim"),
                ("  throughput ", "dim"), f"{timing.latency.throughput_per_s:.1f} images/s",
            )
        )
        if predicted is not None:
            parts.append(Text.assemble(("predicted ", "dim"), predicted_line(predicted)))
    parts += [Text(""), _category_table(report, width)]
    if timing is not None:
        from costlab.render.timing import category_time_table

        parts.append(category_time_table(timing, width=width))
    return Group(*parts)


# -- machine-readable ---------------------------------------------------------------------------


def profile_json(
    report: Report,
    depth: int | None = None,
    rows: Sequence[LayerRecord] | None = None,
    timing: LayerTiming | None = None,
    predicted: PredictedTimes | None = None,
) -> str:
    """The Report's JSON contract; with ``timing``, each layer gains its measured fields and a
    top-level ``timing`` object holds the whole-model latency and the breakdown by kind of work;
    with ``predicted``, each timed layer also has ``predicted_ms`` and ``predicted_error``
    (predicted / measured − 1), and ``timing`` the model's and the calibration's key."""
    data = report.to_dict(depth)
    chosen = rows if rows is not None else report.layers(depth)
    layers = []
    for row in chosen:
        layer = _measured(timing, row, predicted)
        layers.append({**layer_dict(row), **(layer or {})})
    data["layers"] = layers
    if timing is not None:
        summary: dict[str, Any] = timing.to_dict()
        summary.pop("layers")
        data["timing"] = {**summary, "latency": timing.latency.to_dict()}
        if predicted is not None:
            data["timing"].update(predicted_ms=predicted.model.predicted_ms,
                                  predicted_error=predicted.model.predicted_error,
                                  layer_sum_predicted_ms=predicted.layers.predicted_ms,
                                  calibration=predicted.calibration.key)
    return json.dumps(data, indent=2) + "\n"


def profile_csv(
    rows: Sequence[LayerRecord], timing: LayerTiming | None = None, predicted: PredictedTimes | None = None
) -> str:
    """One line per layer, raw numbers (no units), for pandas or a spreadsheet."""
    timed = _time_columns(predicted) if timing is not None else ()
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(["name", "type", "depth", "output_shape", *(c.key for c in COLUMNS), *(c.key for c in timed)])
    for row in rows:
        layer = _measured(timing, row, predicted)
        writer.writerow(
            [
                row.name,
                row.type,
                row.depth,
                shape_text(row.output_shape),
                *(c.raw(getattr(row, c.key)) for c in COLUMNS),
                *((c.raw(layer[c.key]) if layer is not None else "") for c in timed),
            ]
        )
    return buffer.getvalue()


def profile_markdown(
    report: Report, rows: Sequence[LayerRecord], timing: LayerTiming | None = None,
    predicted: PredictedTimes | None = None,
) -> str:
    """A GitHub-flavoured table with human units, then the totals and the breakdown by kind of work."""
    timed = _time_columns(predicted)[: 4 if predicted is not None else 2] if timing is not None else ()
    headers = ["layer", "type", "output", *(c.words for c in _TABLE), *(c.words for c in timed)]
    lines = [
        f"**{header_line(report)}**",
        "",
        "| " + " | ".join(headers) + " |",
        "|---|---|---|" + "---:|" * (len(headers) - 3),
    ]
    for row in rows:
        layer = _measured(timing, row, predicted)
        cells = [f"`{display_name(row)}`", row.type, shape(row.output_shape), *(c.text(getattr(row, c.key)) for c in _TABLE)]
        cells += [c.text(layer[c.key]) if layer is not None else "–" for c in timed]
        lines.append(md_row(cells))
    totals = report.totals
    total_cells = ["**total**", "", "", *(f"**{c.text(getattr(totals, c.key), total=True)}**" for c in _TABLE)]
    if timing is not None:
        total_cells += [f"**{duration(timing.layer_sum_ms)}**", "100%"]
        if predicted is not None:
            total_cells += [f"**{timed[2].text(predicted.layers.predicted_ms)}**",
                            timed[3].text(predicted.layers.predicted_error)]
    lines.append("| " + " | ".join(total_cells) + " |")
    if timing is not None:
        from costlab.render.timing import coverage_note

        lines += ["", coverage_note(timing) + "."]
        if predicted is not None:
            lines += ["", f"Predicted {predicted_line(predicted)}."]
    lines += ["", "| kind | ops | MACs | FLOPs | memory access | share of memory access |", "|---|---:|---:|---:|---:|---:|"]
    for category, entry in report.by_category().items():
        share = entry["bytes_accessed"] / totals.bytes_accessed if totals.bytes_accessed else 0.0
        lines.append(
            f"| {kind_label(category)} | {entry['ops']} | {human(entry['macs'])} | {human(entry['flops'])} | "
            f"{human(entry['bytes_accessed'], 'B')} | {share:.1%} |"
        )
    return "\n".join(lines) + "\n"


def predicted_line(predicted: PredictedTimes) -> str:
    """``12.0 ms for the whole model, +20.0% vs measured (…); layers 9.1 ms, −3.2% vs their sum (calibration: …)``."""
    from costlab.timing.calibrations import PREDICTED_COLUMNS

    error = PREDICTED_COLUMNS[1]
    model, layers = predicted.model, predicted.layers
    return (
        f"{duration(model.predicted_ms)} for the whole model, {error.text(model.predicted_error)} vs measured; "
        f"layers {duration(layers.predicted_ms)}, {error.text(layers.predicted_error)} vs their measured sum "
        f"(calibration: {predicted.calibration.label})"
    )
