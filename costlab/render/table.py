"""The terminal rendering of a Report: a rich table per layer, the totals, and the categories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from costlab.render.formats import display_name, header_line
from costlab.render.units import human, shape

if TYPE_CHECKING:
    from costlab.cost.report import LayerRecord, Report
    from costlab.timing.layers import LayerTiming

__all__ = ["report_table", "category_table", "print_report"]


def _dash(value: int, text: str) -> str:
    return text if value else "–"


def report_table(
    report: Report,
    rows: Sequence[LayerRecord],
    shown_of: int | None = None,
    timing: LayerTiming | None = None,
    dropped: frozenset[str] = frozenset(),
) -> Table:
    """The per-layer table; with ``timing`` (``profile --device``) it gains measured columns.
    ``dropped`` names columns to leave out (Output, then Type, on a terminal too narrow for them)."""
    from costlab.render.timing import duration

    totals = report.totals
    table = Table(
        title=header_line(report),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        caption=f"{len(rows)} of {shown_of} rows shown" if shown_of and shown_of > len(rows) else None,
        caption_justify="left",
    )
    columns = [
        ("Layer", "left", "total"),
        ("Type", "left", ""),
        ("Output", "left", ""),
        ("Params", "right", human(totals.params)),
        ("MACs", "right", human(totals.macs)),
        ("FLOPs", "right", human(totals.flops)),
        ("Mem access", "right", human(totals.mac_bytes, "B")),
        ("FLOP/B", "right", f"{totals.intensity:.1f}"),
        ("Elem-wise", "right", str(totals.elementwise_ops)),
    ]
    if timing is not None:
        columns += [
            ("Time", "right", duration(timing.layer_sum_ms)),
            ("Share", "right", "100%"),
            ("FLOP/s", "right", ""),
            ("B/s", "right", ""),
        ]
    measured = timing.by_call() if timing is not None else {}
    keep = [i for i, (header, _, _) in enumerate(columns) if header not in dropped]
    for header, justify, footer in (columns[i] for i in keep):
        # numbers and their headers never shrink
        table.add_column(
            header,
            justify=justify,  # type: ignore[arg-type]
            footer=footer,
            no_wrap=True,
            overflow="ellipsis",
            min_width=len(header) if justify == "right" else None,
        )
    for row in rows:
        extra = []
        if timing is not None:
            layer = measured.get(row.call)
            extra = (
                [
                    duration(layer.time_ms),
                    f"{layer.time_share:.1%}",
                    human(layer.achieved_flops_per_s) if layer.flops else "–",
                    human(layer.achieved_bytes_per_s, "B"),
                ]
                if layer is not None
                else ["–"] * 4
            )
        cells = [
            display_name(row),
            row.type,
            shape(row.output_shape),
            _dash(row.params, human(row.params)),
            _dash(row.macs, human(row.macs)),
            _dash(row.flops, human(row.flops)),
            human(row.mac_bytes, "B"),
            f"{row.intensity:.1f}",
            _dash(row.elementwise_ops, str(row.elementwise_ops)),
            *extra,
        ]
        table.add_row(*(cells[i] for i in keep))
    return table


def category_table(report: Report) -> Table:
    totals = report.totals
    table = Table(title="By category", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("Category", "Ops", "MACs", "FLOPs", "Mem access", "Share of mem access"):
        table.add_column(header, justify="left" if header == "Category" else "right")
    for category, entry in report.by_category().items():
        share = entry["mac_bytes"] / totals.mac_bytes if totals.mac_bytes else 0.0
        table.add_row(
            category,
            str(entry["ops"]),
            _dash(entry["macs"], human(entry["macs"])),
            _dash(entry["flops"], human(entry["flops"])),
            human(entry["mac_bytes"], "B"),
            f"{share:.1%}",
        )
    return table


def _natural_width(table: Table) -> int:
    """The width the table takes when nothing is truncated."""
    import io

    return Console(width=10_000, file=io.StringIO()).measure(table).maximum


def print_report(
    console: Console,
    report: Report,
    rows: Sequence[LayerRecord],
    shown_of: int | None = None,
    timing: LayerTiming | None = None,
) -> None:
    totals = report.totals
    summary = Text.assemble(
        ("params ", "dim"), human(totals.params), (f" ({human(totals.param_bytes, 'B')})", "dim"),
        ("  MACs ", "dim"), human(totals.macs),
        ("  FLOPs ", "dim"), human(totals.flops),
        ("  memory access ", "dim"), human(totals.mac_bytes, "B"),
        ("  intensity ", "dim"), f"{totals.intensity:.1f} FLOP/B",
        ("  element-wise ", "dim"), f"{totals.elementwise_ops} ops on {human(totals.elementwise_elems)} elements",
    )
    table = report_table(report, rows, shown_of, timing)
    for dropped in (frozenset({"Output"}), frozenset({"Output", "Type"})):
        if _natural_width(table) <= console.width:
            break
        table = report_table(report, rows, shown_of, timing, dropped)
    parts = [table, summary]
    if timing is not None:
        from costlab.render.timing import category_time_table, duration

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
    parts += [Text(""), category_table(report)]
    if timing is not None:
        parts.append(category_time_table(timing))
    console.print(Group(*parts))
