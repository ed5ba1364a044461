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

__all__ = ["to_json", "to_csv", "to_markdown", "select_rows", "SORT_FIELDS", "display_name"]

SORT_FIELDS = ("order", "params", "macs", "flops", "mac_bytes", "intensity", "elementwise_ops", "ops")


def display_name(row: LayerRecord) -> str:
    """The model's own row (ops in its top-level forward) has no path: show it as ``(model)``."""
    return row.name or "(model)"


def select_rows(report: Report, depth: int | None, sort: str = "order", top: int | None = None) -> list[LayerRecord]:
    """The layer rows to show: rolled up to ``depth``, sorted by a field (descending), cut to ``top``."""
    rows = report.layers(depth)
    if sort != "order":
        rows = sorted(rows, key=lambda row: getattr(row, sort), reverse=True)
    return rows[:top] if top is not None else rows


def to_json(report: Report, depth: int | None = None, rows: Sequence[LayerRecord] | None = None) -> str:
    data = report.to_dict(depth)
    if rows is not None:
        from costlab.cost.report import _layer_dict

        data["layers"] = [_layer_dict(row) for row in rows]
    return json.dumps(data, indent=2) + "\n"


_CSV_FIELDS = (
    "name", "type", "depth", "output_shape", "params", "macs", "flops", "mac_bytes", "bytes_read",
    "bytes_written", "intensity", "elementwise_ops", "elementwise_elems", "ops",
)


def to_csv(rows: Sequence[LayerRecord]) -> str:
    """One line per layer, raw numbers (no units), for pandas or a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for row in rows:
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


def to_markdown(report: Report, rows: Sequence[LayerRecord]) -> str:
    """A GitHub-flavoured table with human units, then the totals and the breakdown by category."""
    lines = [
        f"**{header_line(report)}**",
        "",
        "| layer | type | output | params | MACs | FLOPs | memory access | FLOP/B | element-wise ops |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{display_name(row)}` | {row.type} | {shape(row.output_shape)} | {human(row.params)} | "
            f"{human(row.macs)} | {human(row.flops)} | {human(row.mac_bytes, 'B')} | {row.intensity:.1f} | "
            f"{row.elementwise_ops} |"
        )
    totals = report.totals
    lines.append(
        f"| **total** | | | **{human(totals.params)}** | **{human(totals.macs)}** | **{human(totals.flops)}** | "
        f"**{human(totals.mac_bytes, 'B')}** | **{totals.intensity:.1f}** | **{totals.elementwise_ops}** |"
    )
    lines += ["", "| category | ops | MACs | FLOPs | memory access | share of memory access |", "|---|---:|---:|---:|---:|---:|"]
    for category, entry in report.by_category().items():
        share = entry["mac_bytes"] / totals.mac_bytes if totals.mac_bytes else 0.0
        lines.append(
            f"| {category} | {entry['ops']} | {human(entry['macs'])} | {human(entry['flops'])} | "
            f"{human(entry['mac_bytes'], 'B')} | {share:.1%} |"
        )
    return "\n".join(lines) + "\n"
