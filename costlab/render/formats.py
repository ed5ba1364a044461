"""Machine- and document-oriented renderings of a Report: JSON, CSV and Markdown.

Renderers format; they never compute a cost (everything comes from ``Report``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from costlab.render.units import human, shape

if TYPE_CHECKING:
    from costlab.cost.report import LayerRecord, Report
    from costlab.timing.layers import LayerTiming

_TIMED = ("time_ms", "time_share", "achieved_flops_per_s", "achieved_bytes_per_s")


def _measured(timing: LayerTiming | None, row: LayerRecord) -> dict[str, float] | None:
    if timing is None:
        return None
    layer = timing.by_call().get(row.call)
    return {key: getattr(layer, key) for key in _TIMED} if layer is not None else None

__all__ = ["to_json", "to_csv", "to_markdown", "select_rows", "SORT_FIELDS", "display_name"]

SORT_FIELDS = ("order", "params", "macs", "flops", "mac_bytes", "intensity", "elementwise_ops", "ops")


def display_name(row: LayerRecord) -> str:
    """The model's own row (ops in its top-level forward) has no path: show it as ``(model)``."""
    return row.name or "(model)"


def select_rows(rows: Sequence[LayerRecord], sort: str = "order", top: int | None = None) -> list[LayerRecord]:
    """The layer rows to show: sorted by a field (descending; "order" keeps execution order), cut to ``top``."""
    rows = list(rows)
    if sort != "order":
        rows = sorted(rows, key=lambda row: getattr(row, sort), reverse=True)
    return rows[:top] if top is not None else rows


def to_json(
    report: Report,
    depth: int | None = None,
    rows: Sequence[LayerRecord] | None = None,
    timing: LayerTiming | None = None,
) -> str:
    """The Report's JSON contract; with ``timing``, each layer gains its measured fields and a
    top-level ``timing`` object holds the whole-model latency and the breakdown by kind of work."""
    from costlab.cost.report import _layer_dict

    data = report.to_dict(depth)
    chosen = rows if rows is not None else report.layers(depth)
    data["layers"] = [{**_layer_dict(row), **(_measured(timing, row) or {})} for row in chosen]
    if timing is not None:
        summary = timing.to_dict()
        summary.pop("layers")
        data["timing"] = {**summary, "latency": timing.latency.to_dict()}
    return json.dumps(data, indent=2) + "\n"


_CSV_FIELDS = (
    "name", "type", "depth", "output_shape", "params", "macs", "flops", "mac_bytes", "bytes_read",
    "bytes_written", "intensity", "elementwise_ops", "elementwise_elems", "ops",
)


def to_csv(rows: Sequence[LayerRecord], timing: LayerTiming | None = None) -> str:
    """One line per layer, raw numbers (no units), for pandas or a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_FIELDS + (_TIMED if timing is not None else ()))
    for row in rows:
        measured = _measured(timing, row)
        timed = [f"{measured[k]:.6g}" for k in _TIMED] if measured else ([""] * len(_TIMED) if timing else [])
        writer.writerow(
            [
                row.name,
                row.type,
                row.depth,
                "x".join(map(str, row.output_shape)) if row.output_shape else "",
                row.params,
                row.macs,
                row.flops,
                row.mac_bytes,
                row.bytes_read,
                row.bytes_written,
                f"{row.intensity:.4g}",
                row.elementwise_ops,
                row.elementwise_elems,
                row.ops,
                *timed,
            ]
        )
    return buffer.getvalue()


def summary_line(report: Report) -> str:
    totals = report.totals
    return (
        f"params {human(totals.params)} ({human(totals.param_bytes, 'B')}) · MACs {human(totals.macs)} · "
        f"FLOPs {human(totals.flops)} · memory access {human(totals.mac_bytes, 'B')} · "
        f"intensity {totals.intensity:.1f} FLOP/B · element-wise {totals.elementwise_ops} ops on "
        f"{human(totals.elementwise_elems)} elements"
    )


def header_line(report: Report) -> str:
    inputs = ", ".join(shape(s) for s in report.input_shapes)
    how = "shapes only, on the meta device" if report.captured_on == "meta" else f"real tensors on {report.captured_on}"
    return f"{report.model} · input {inputs} · {report.dtype} · counted with {how}"


def to_markdown(report: Report, rows: Sequence[LayerRecord], timing: LayerTiming | None = None) -> str:
    """A GitHub-flavoured table with human units, then the totals and the breakdown by category."""
    timed_head = " time | share of time |" if timing is not None else ""
    lines = [
        f"**{header_line(report)}**",
        "",
        "| layer | type | output | params | MACs | FLOPs | memory access | FLOP/B | element-wise ops |" + timed_head,
        "|---|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if timing is not None else ""),
    ]
    for row in rows:
        measured = _measured(timing, row)
        timed = (
            f" {measured['time_ms']:.3f} ms | {measured['time_share']:.1%} |" if measured else (" – | – |" if timing else "")
        )
        lines.append(
            f"| `{display_name(row)}` | {row.type} | {shape(row.output_shape)} | {human(row.params)} | "
            f"{human(row.macs)} | {human(row.flops)} | {human(row.mac_bytes, 'B')} | {row.intensity:.1f} | "
            f"{row.elementwise_ops} |{timed}"
        )
    totals = report.totals
    timed_total = f" **{timing.layer_sum_ms:.3f} ms** | 100% |" if timing is not None else ""
    lines.append(
        f"| **total** | | | **{human(totals.params)}** | **{human(totals.macs)}** | **{human(totals.flops)}** | "
        f"**{human(totals.mac_bytes, 'B')}** | **{totals.intensity:.1f}** | **{totals.elementwise_ops}** |{timed_total}"
    )
    if timing is not None:
        lines += ["", f"Whole-model latency: {timing.model_ms:.3f} ms (median of {timing.latency.runs} runs); "
                  f"the layers sum to {timing.layer_sum_ms:.3f} ms ({timing.coverage:.0%})."]
    lines += ["", "| category | ops | MACs | FLOPs | memory access | share of memory access |", "|---|---:|---:|---:|---:|---:|"]
    for category, entry in report.by_category().items():
        share = entry["mac_bytes"] / totals.mac_bytes if totals.mac_bytes else 0.0
        lines.append(
            f"| {category} | {entry['ops']} | {human(entry['macs'])} | {human(entry['flops'])} | "
            f"{human(entry['mac_bytes'], 'B')} | {share:.1%} |"
        )
    return "\n".join(lines) + "\n"
