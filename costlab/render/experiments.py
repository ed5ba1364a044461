"""Rendering of ``costlab guidelines``: a rich table per guideline with its verdict, JSON, Markdown,
and one bar chart per table (measured relative speed beside the paper's).

Renderers format; every number comes from a :class:`~costlab.guidelines.GuidelinesResult`.
Figures are drawn on a bare ``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from costlab.render.layout import Col, build_table
from costlab.units import duration, human, shape

if TYPE_CHECKING:
    from costlab.experiments.run import GuidelinesResult, RowResult, TableResult
    from costlab.experiments.verdicts import ClaimResult

__all__ = [
    "FigureBars",
    "figure_bars",
    "figure_name",
    "guideline_figure",
    "guideline_tables",
    "guidelines_json",
    "guidelines_markdown",
    "setup_line",
]

_VERDICT_STYLE = {"holds": "bold green", "fails": "bold red", "inconclusive": "bold yellow"}
_OUTCOME_STYLE = {"holds": "green", "reversed": "red", "within noise": "yellow"}
_VS_FIRST = {"holds": "slower", "reversed": "faster", "within noise": "≈ (noise)", None: "–"}
_MEASURED_COLOUR, _PAPER_COLOUR, _MAC_COLOUR = "#1f77b4", "#b0b0b0", "#d62728"


def setup_line(result: GuidelinesResult) -> str:
    """Where and how it ran, and which of the paper's settings it used."""
    threads = f", {result.threads} thread{'s' if result.threads != 1 else ''}" if result.device == "cpu" else ""
    how = "quick" if result.quick else "full"
    return (
        f"{result.device} ({result.device_name}){threads}, {result.dtype}, torch {result.torch_version} · "
        f"the paper's {result.platform.key.upper()} settings ({result.platform.hardware}): "
        f"batch {result.platform.batch}, "
        f"{result.input_hw[0]}×{result.input_hw[1]} input, each block stacked {result.blocks_per_net} times · "
        f"{how} run: {result.rounds} round{'s' if result.rounds != 1 else ''} × {result.min_time_s:g} s per network"
    )


def _claim_text(table: TableResult, claim: ClaimResult) -> str:
    return (
        f"{claim.claim}: measured {claim.speed_ratio:.2f}× its speed ({claim.excess:+.1%} latency, noise "
        f"{claim.noise:.1%}) → {claim.outcome}; paper {table.paper_speed_ratio(claim.claim):.2f}×"
    )


def _flops_text(table: TableResult) -> str:
    mark = "equal" if table.flops_equal else "NOT equal"
    return f"FLOPs counted by costlab: {mark}, every row within {table.flops_spread:.1%} of row 1"


def _speed(value: float) -> str:
    return f"{value:,.1f}" if value < 10_000 else f"{value:,.0f}"


# ------------------------------------------------------------------------------------------------
# Terminal
# ------------------------------------------------------------------------------------------------


def _table(result: GuidelinesResult, table: TableResult, width: int) -> Group:
    spec = table.spec
    verdict = Text.assemble(
        (f"Table {spec.number} · {spec.guideline}: {spec.title} — ", "bold"),
        (table.verdict, _VERDICT_STYLE[table.verdict]),
    )
    columns = [
        Col("Row"),
        Col("Widths", drop=1),
        Col("FLOPs", True, drop=3),
        Col("Mem access", True, drop=4),
        Col("Median ± 95%", True),
        Col(result.speed_unit.capitalize(), True, drop=5),
        Col("Rel. speed", True),
        Col("Mem ratio", True, drop=6),
        Col(f"Paper {spec.platform.speed_unit}", True, drop=2),
        Col("Paper rel.", True),
        Col("vs row 1"),
    ]
    rows = []
    for row in table.rows:
        t = row.timing
        ci = Text(f"±{t.relative_median_ci:.0%}", style="yellow" if t.relative_median_ci > 0.05 else "")
        rows.append(
            [
                row.spec.label,
                row.spec.widths,
                human(row.flops),
                human(row.bytes_accessed, "B"),
                Text.assemble(f"{duration(t.median_ms)} ", ci),
                _speed(row.speed_per_s),
                f"{row.relative_speed:.2f}",
                f"{row.mac_ratio:.2f}",
                _speed(row.spec.paper_speed),
                f"{row.paper_relative_speed:.2f}",
                _VS_FIRST[row.vs_first],
            ]
        )
    lines = [Text(_flops_text(table), style="dim")]
    for claim in table.claims:
        lines.append(Text(_claim_text(table, claim), style=_OUTCOME_STYLE[claim.outcome]))
    return Group(build_table(columns, rows, width=width, title=verdict), *lines, Text(""))


def _summary(result: GuidelinesResult, width: int) -> Table:
    rows = []
    for table in result.tables:
        for index, claim in enumerate(table.claims):
            first = index == 0
            rows.append(
                [
                    f"{table.spec.guideline} (Table {table.spec.number})" if first else "",
                    f"{claim.claim}",
                    f"{table.paper_speed_ratio(claim.claim):.2f}×",
                    f"{claim.speed_ratio:.2f}×",
                    f"{claim.noise:.1%}",
                    Text(table.verdict, style=_VERDICT_STYLE[table.verdict]) if first else Text(""),
                ]
            )
    columns = [Col("Guideline"), Col("Claim"), Col("Paper", True), Col("Measured", True), Col("Noise", True),
               Col("Verdict")]
    return build_table(columns, rows, width=width, title=Text("Verdicts", style="bold"))


def guideline_tables(result: GuidelinesResult, width: int) -> Group:
    """Everything for the terminal: the setup, one table per guideline, the verdicts, the rule and notes."""
    parts: list[Text | Group | Table] = [
        Text("ShuffleNet V2's guideline experiments (Ma et al. 2018, Tables 1–4), re-run here", style="bold"),
        Text(setup_line(result), style="dim"),
        Text(""),
    ]
    parts += [_table(result, table, width) for table in result.tables]
    parts += [
        _summary(result, width),
        Text(
            "Speed ratios are the slower row's speed over the faster row's (paper: its published speeds). "
            "± 95%: the median's confidence half-width. Mem ratio: memory access (costlab's count) over row 1's."
        ),
        Text(f"Rule: {result.rule}", style="dim"),
        *(Text(f"Note: {note}", style="dim") for note in result.notes),
    ]
    return Group(*parts)


# ------------------------------------------------------------------------------------------------
# JSON and Markdown
# ------------------------------------------------------------------------------------------------


def guidelines_json(result: GuidelinesResult) -> str:
    """The result's JSON contract (``schema_version`` 1), indented."""
    return json.dumps(result.to_dict(), indent=2) + "\n"


def guidelines_markdown(result: GuidelinesResult, figures: dict[int, str] | None = None) -> str:
    """GitHub-flavoured Markdown; ``figures`` maps a table number to an image path to embed."""
    unit = result.speed_unit
    lines = [
        "# ShuffleNet V2's guideline experiments, re-run",
        "",
        f"{setup_line(result)}.",
        "",
        "| guideline | claim | paper | measured | noise | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    for table in result.tables:
        for claim in table.claims:
            lines.append(
                f"| {table.spec.guideline} (Table {table.spec.number}) | {claim.claim} | "
                f"{table.paper_speed_ratio(claim.claim):.2f}× | {claim.speed_ratio:.2f}× | {claim.noise:.1%} | "
                f"**{table.verdict}** |"
            )
    lines += ["", "Speed ratios are the slower row's speed over the faster row's.", ""]
    for table in result.tables:
        spec = table.spec
        lines += [
            f"## Table {spec.number} · {spec.guideline}: {spec.title} — **{table.verdict}**",
            "",
            (
                f"| row | widths | input | FLOPs | memory access | median | ± 95% | spread (IQR) | {unit} | rel. speed "
                f"| mem-access ratio | paper {spec.platform.speed_unit} | paper rel. | vs row 1 |"
            ),
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in table.rows:
            lines.append(_markdown_row(row))
        lines += ["", f"{_flops_text(table)}."]
        lines += [f"- {_claim_text(table, claim)}" for claim in table.claims]
        if figures and spec.number in figures:
            lines += ["", f"![Table {spec.number}: measured vs paper relative speed]({figures[spec.number]})"]
        lines.append("")
    lines += [f"**Rule.** {result.rule}", ""]
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _markdown_row(row: RowResult) -> str:
    t = row.timing
    return (
        f"| {row.spec.label} | {row.spec.widths} | {shape(row.input_shape)} | {human(row.flops)} | "
        f"{human(row.bytes_accessed, 'B')} | {duration(t.median_ms)} | {t.relative_median_ci:.1%} | {t.relative_iqr:.1%} | "
        f"{_speed(row.speed_per_s)} | "
        f"{row.relative_speed:.2f} | {row.mac_ratio:.2f} | {_speed(row.spec.paper_speed)} | "
        f"{row.paper_relative_speed:.2f} | {_VS_FIRST[row.vs_first]} |"
    )


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------


def figure_name(table: TableResult, fmt: str = "png") -> str:
    """``table1_g1.png`` …"""
    return f"table{table.spec.number}_{table.spec.guideline.lower()}.{fmt}"


@dataclass(frozen=True)
class FigureBars:
    """What a guideline figure draws per row, as speeds relative to ``reference``."""

    reference: str
    measured: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    paper: tuple[float, ...]
    memory: tuple[float, ...]


def figure_bars(table: TableResult) -> FigureBars:
    """Speeds relative to the row the table's claim calls faster (Table 4: "neither", the block
    without element-wise ops; Tables 1–3: their first row), so every bar reads the way the claim
    does: below 1 is slower. The table's own numbers stay relative to its first row."""
    rows = table.rows
    faster = table.spec.claims[0].faster if table.spec.claims else rows[0].spec.label
    reference = next((r for r in rows if r.spec.label == faster), rows[0])
    scale = 1.0 / reference.relative_speed
    return FigureBars(
        reference.spec.label,
        tuple(r.relative_speed * scale for r in rows),
        tuple(r.relative_speed_low * scale for r in rows),
        tuple(r.relative_speed_high * scale for r in rows),
        tuple(r.paper_relative_speed / reference.paper_relative_speed for r in rows),
        tuple(r.mac_relative_speed / reference.mac_relative_speed for r in rows),
    )


def guideline_figure(result: GuidelinesResult, table: TableResult, fmt: str = "png") -> bytes:
    """One table as bars: measured relative speed (95% CI of the median as error bars) beside the
    paper's, per row, with the speed memory access alone would predict (1 / mem-access ratio) as a
    marker; relative to the row the table's claim calls faster."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if fmt not in ("png", "svg"):
        raise ValueError(f"a guideline figure is png or svg, not {fmt or 'no format'}")
    spec = table.spec
    rows = table.rows
    figure = Figure(figsize=(9, 5.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    xs = range(len(rows))
    width = 0.38
    bars = figure_bars(table)
    measured, low, high = bars.measured, bars.low, bars.high
    errors = [[max(0.0, m - lo) for m, lo in zip(measured, low)], [max(0.0, hi - m) for m, hi in zip(measured, high)]]
    paper_speeds, memory_speeds = bars.paper, bars.memory
    where = f"measured here ({result.device}, batch {result.platform.batch}; bars: 95% CI of the median)"
    axes.bar(
        [x - width / 2 for x in xs],
        measured,
        width,
        yerr=errors,
        capsize=4,
        color=_MEASURED_COLOUR,
        label=where,
        error_kw={"elinewidth": 1, "ecolor": "#333333"},
    )
    axes.bar(
        [x + width / 2 for x in xs],
        paper_speeds,
        width,
        color=_PAPER_COLOUR,
        label=f"paper ({spec.platform.hardware})",
    )
    axes.scatter(
        [x - width / 2 for x in xs],
        memory_speeds,
        marker="D",
        s=36,
        zorder=3,
        color=_MAC_COLOUR,
        label="1 / memory-access ratio (if time ∝ memory access)",
    )
    # value labels above the error bar's cap, not on it
    for x, value, top in zip(xs, measured, (max(m, h) for m, h in zip(measured, high))):
        axes.annotate(f"{value:.2f}", (x - width / 2, top), xytext=(0, 3), textcoords="offset points",
                      ha="center", va="bottom", fontsize=9)
    for x, value in zip(xs, paper_speeds):
        axes.annotate(f"{value:.2f}", (x + width / 2, value), xytext=(0, 3), textcoords="offset points",
                      ha="center", va="bottom", fontsize=9)
    axes.axhline(1.0, color="#555555", linewidth=0.8, linestyle="--")
    axes.set_xticks(list(xs), [f"{r.spec.label}\n{r.spec.widths}" for r in rows], fontsize=9)
    axes.set_ylabel(f"speed relative to {bars.reference}")
    top = max([*measured, *(min(h, 3 * m) for m, h in zip(measured, high)), *paper_speeds, *memory_speeds])
    axes.set_ylim(0, top * 1.35)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper right", fontsize=8, frameon=False)  # above everything drawn: see the y limit
    claims = "\n".join(
        f"{c.claim}: {c.speed_ratio:.2f}× (paper {table.paper_speed_ratio(c.claim):.2f}×)" for c in table.claims
    )
    axes.set_title(
        f"Table {spec.number} · {spec.guideline}: {spec.title} — {table.verdict} here\n{claims}",
        fontsize=11,
        loc="left",
    )
    figure.supxlabel(
        f"{result.device} ({result.device_name}), batch {result.platform.batch}, "
        f"{result.input_hw[0]}×{result.input_hw[1]} input, {result.blocks_per_net} blocks · "
        f"FLOPs equal within {table.flops_spread:.1%} (costlab's count)",
        fontsize=8,
        color="#666666",
        x=0.01,
        ha="left",
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=150, format=fmt, metadata={"Date": None} if fmt == "svg" else {})
    return buffer.getvalue()
