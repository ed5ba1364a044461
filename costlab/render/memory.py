"""``costlab memory`` output: the per-layer table (rich), JSON, CSV and Markdown.

The per-layer numbers come from :data:`costlab.cost.memory_report.MEMORY_COLUMNS`; the peak,
what it is made of and the largest batch that fits are read off the
:class:`~costlab.cost.memory_report.MemoryReport`. Renderers format; they never compute.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from costlab.cost.memory_report import BREAKDOWN, BREAKDOWN_WORDS, MEMORY_COLUMNS, MEMORY_SORT, layer_dict
from costlab.render.layout import Col, build_table
from costlab.units import human, shape, shape_text

if TYPE_CHECKING:
    from costlab.cost.memory_report import MemoryLayer, MemoryReport

__all__ = [
    "SORT_FIELDS",
    "fit_line",
    "header_line",
    "memory_csv",
    "memory_json",
    "memory_markdown",
    "memory_table",
    "peak_line",
    "select_rows",
]

SORT_FIELDS = MEMORY_SORT
_PHASE_WORDS = {"forward": "forward", "backward": "backward", "optimizer": "optimizer step"}


def select_rows(rows: Sequence[MemoryLayer], sort: str = "order", top: int | None = None) -> list[MemoryLayer]:
    """The rows to show: sorted by a column (largest first; "order" keeps execution order), cut to ``top``."""
    chosen = list(rows)
    if sort != "order":
        chosen = sorted(chosen, key=lambda row: getattr(row, sort), reverse=True)
    return chosen[:top] if top is not None else chosen


def _name(row: MemoryLayer) -> str:
    return row.name or "(model)"


def header_line(report: MemoryReport) -> str:
    inputs = ", ".join(shape(s) for s in report.input_shapes)
    if report.train:
        what = "training step (forward + backward" + (f" + {report.optimizer} step)" if report.optimizer else ")")
    else:
        what = "inference"
    where = "on the meta device" if report.captured_on == "meta" else f"with real tensors on {report.captured_on}"
    return f"{report.model} · input {inputs} · {report.dtype} · {what} · estimated for {report.device}, {where}"


def peak_line(report: MemoryReport) -> str:
    """``peak 649.1 MB, while features.18.2 (ReLU6) runs aten.hardtanh_backward in the backward``."""
    text = f"peak {human(report.peak_bytes, 'B')}"
    at = report.peak_at
    if at is not None:
        layer = at.layer or "(model)"
        kind = f" ({at.type})" if at.type else ""
        text += f", while {layer}{kind} runs {at.op} in the {_PHASE_WORDS.get(at.phase, at.phase)}"
    return text


def fit_line(report: MemoryReport) -> str | None:
    """``fits 12 GB: batch 12 at most (peak 11.4 GB; batch 13 needs 12.4 GB)``, or None without --fit."""
    fit = report.fit
    if fit is None:
        return None
    text = f"fits {human(fit.budget_bytes, 'B')}: batch {fit.max_batch} at most (peak {human(fit.peak_bytes, 'B')}"
    if fit.next_peak_bytes is not None:
        text += f"; batch {fit.max_batch + 1} needs {human(fit.next_peak_bytes, 'B')}"
    return text + ")"


def _phases(report: MemoryReport, separator: str = "  ") -> str:
    return separator.join(f"{_PHASE_WORDS.get(k, k)} {human(v, 'B')}" for k, v in report.phase_peaks.items())


# -- the terminal -----------------------------------------------------------------------------


def memory_table(
    report: MemoryReport, rows: Sequence[MemoryLayer], *, width: int, shown_of: int | None = None
) -> RenderableType:
    """The per-layer table, the peak and its moment, what it is made of, the peak of each phase, the fit."""
    totals = {c.key: sum(getattr(row, c.key) for row in report.layers(0)) for c in MEMORY_COLUMNS}
    columns = [Col("Layer", footer="total"), Col("Type", drop=2), Col("Output", drop=1)]
    columns += [Col(c.header, True, c.text(totals[c.key], total=True)) for c in MEMORY_COLUMNS]
    cells = [[_name(row), row.type, shape(row.output_shape), *(c.text(getattr(row, c.key)) for c in MEMORY_COLUMNS)]
             for row in rows]
    caption = f"{len(rows)} of {shown_of} rows shown" if shown_of and shown_of > len(rows) else None
    layers = build_table(columns, cells, width=width, title=header_line(report), caption=caption, show_footer=True)
    parts: list[RenderableType] = [layers, Text(peak_line(report))]
    peak = report.peak_bytes
    breakdown = [[BREAKDOWN_WORDS[key], human(report.breakdown[key], "B"), f"{report.breakdown[key] / peak:.1%}" if peak else "–"]
                 for key in BREAKDOWN if report.breakdown.get(key)]
    parts.append(build_table([Col("At the peak"), Col("Bytes", True), Col("Share", True)], breakdown, width=width))
    if report.phase_peaks:  # a model that runs no op (an identity) has no phase
        parts.append(Text.assemble(("peak of each phase: ", "dim"), _phases(report)))
    fit = fit_line(report)
    if fit is not None:
        parts.append(Text(fit))
    return Group(*parts)


# -- machine-readable ---------------------------------------------------------------------------


def memory_json(report: MemoryReport, depth: int | None = None, rows: Sequence[MemoryLayer] | None = None) -> str:
    """The MemoryReport's JSON contract, with the rows shown (``--sort``/``--top``) as its layers."""
    data = report.to_dict(depth)
    if rows is not None:
        data["layers"] = [layer_dict(row) for row in rows]
    return json.dumps(data, indent=2) + "\n"


def memory_csv(rows: Sequence[MemoryLayer]) -> str:
    """One line per layer, raw bytes, for pandas or a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "type", "depth", "output_shape", *(c.key for c in MEMORY_COLUMNS)])
    for row in rows:
        writer.writerow([row.name, row.type, row.depth, shape_text(row.output_shape),
                         *(c.raw(getattr(row, c.key)) for c in MEMORY_COLUMNS)])
    return buffer.getvalue()


def memory_markdown(report: MemoryReport, rows: Sequence[MemoryLayer]) -> str:
    """A GitHub-flavoured table with human units, then the peak, its parts and the fit."""
    headers = ["layer", "type", "output", *(c.words for c in MEMORY_COLUMNS)]
    lines = [f"**{header_line(report)}**", "", "| " + " | ".join(headers) + " |",
             "|---|---|---|" + "---:|" * len(MEMORY_COLUMNS)]
    for row in rows:
        cells = [f"`{_name(row)}`", row.type, shape(row.output_shape), *(c.text(getattr(row, c.key)) for c in MEMORY_COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"**{peak_line(report)}**", "", "| at the peak | bytes | share |", "|---|---:|---:|"]
    peak = report.peak_bytes
    for key in BREAKDOWN:
        if report.breakdown.get(key):
            lines.append(f"| {BREAKDOWN_WORDS[key]} | {human(report.breakdown[key], 'B')} | {report.breakdown[key] / peak:.1%} |")
    if report.phase_peaks:
        lines += ["", f"Peak of each phase: {_phases(report, ', ')}."]
    fit = fit_line(report)
    if fit is not None:
        lines += ["", fit[0].upper() + fit[1:] + "."]
    return "\n".join(lines) + "\n"
