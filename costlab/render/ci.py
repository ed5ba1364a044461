"""Output of the CI gate: ``costlab check`` as a table, JSON, CSV, Markdown, GitHub annotations or
JUnit XML, and ``costlab diff`` as a table, JSON, CSV or Markdown.

Renderers format; they never compute. Every number and verdict comes from
:class:`~costlab.ci.check.CheckResult` and :class:`~costlab.ci.diff.ProfileDiff`.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from costlab.ci.budgets import METRICS
from costlab.cost.costs import COLUMN
from costlab.render.annotate import Case, junit_xml, workflow_command
from costlab.render.layout import Col, build_table
from costlab.render.tabular import csv_writer, md_row
from costlab.units import as_number, format_delta, format_quantity

if TYPE_CHECKING:
    from costlab.ci.check import BaselineUpdate, CheckResult, Outcome
    from costlab.ci.diff import ProfileDiff, TotalChange

__all__ = [
    "check_csv",
    "check_github",
    "check_json",
    "check_junit",
    "check_markdown",
    "check_table",
    "diff_csv",
    "diff_json",
    "diff_markdown",
    "diff_table",
    "over_line",
    "update_line",
]

_STYLE = {"ok": "green", "breach": "bold red", "skipped": "yellow"}
_BASIS = {"limit": "", "baseline": " vs baseline", "latency_baseline_model": " vs model", "lint": ""}


# -- check ----------------------------------------------------------------------------------------


def _value(outcome: Outcome, number: float | None) -> str:
    if number is None:
        return "–"
    if outcome.unit == "findings":
        return f"{number:.0f} finding{'s' * (number != 1)}" if number is outcome.value else f"{number:.0f}"
    return format_quantity(number, outcome.unit)


def _delta(outcome: Outcome) -> str:
    if outcome.delta is None:
        return "–"
    if not math.isfinite(outcome.delta):
        return "new"
    return format_delta(outcome.delta)  # against what: the metric column says (``macs vs baseline``)


def _metric(outcome: Outcome) -> str:
    return outcome.metric + _BASIS[outcome.basis]


def check_table(result: CheckResult, width: int) -> RenderableType:
    """A table of entry × metric, then every breach and skip as its one-line message, then the summary."""
    rows = []
    previous = None
    for outcome in result.outcomes:
        rows.append(
            [
                outcome.entry if outcome.entry != previous else "",
                _metric(outcome),
                _value(outcome, outcome.value),
                _value(outcome, outcome.limit),
                _delta(outcome),
                Text(outcome.status, style=_STYLE[outcome.status]),
            ]
        )
        previous = outcome.entry
    columns = [Col("Budget"), Col("Metric"), Col("Value", True), Col("Limit", True), Col("Δ", True), Col("Status")]
    parts: list[RenderableType] = [build_table(columns, rows, width=width, title=f"costlab check · {result.config}")]
    for outcome in result.outcomes:
        if outcome.status == "breach":
            parts.append(Text("✗ ", style="bold red") + Text(outcome.message))
        elif outcome.status == "skipped":
            parts.append(Text("– ", style="yellow") + Text(outcome.message))
    verdict = Text("passed: ", style="green") if result.passed else Text("FAILED: ", style="bold red")
    parts.append(verdict + Text(result.summary()))
    return Group(*parts)


def _finite(value: Any) -> Any:
    """A number for JSON: non-finite ones are null, integral ones ints."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return as_number(value) if isinstance(value, float) else value


def check_json(result: CheckResult) -> str:
    """``{"passed", "summary", "outcomes": [...], "baseline_updates": [...]}``; a non-finite delta is null."""
    data = {
        "schema_version": 1,
        "config": result.config,
        "passed": result.passed,
        "summary": {"budgets": result.entries, "checks": len(result.outcomes),
                    **{status: result.count(status) for status in ("ok", "breach", "skipped")}},
        "outcomes": [{k: _finite(v) for k, v in asdict(o).items()} for o in result.outcomes],
        "baseline_updates": [
            {"entry": u.entry, "path": str(u.path), "old_totals": u.old_totals and dict(u.old_totals),
             "new_totals": dict(u.new_totals)}
            for u in result.updates
        ],
        "notes": list(result.notes),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def check_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: ``::error file=costlab.toml,line=12,title=...::message`` per breach,
    ``::warning`` per skipped check, plain log lines for the rest and the summary."""
    lines = []
    for outcome in result.outcomes:
        if outcome.status == "ok":
            lines.append(f"ok: {outcome.message}")
            continue
        level = "error" if outcome.status == "breach" else "warning"
        title = f"costlab budget {outcome.entry} {_metric(outcome)}"
        lines.append(workflow_command(level, outcome.message, title=title, file=outcome.file, line=outcome.line))
    lines.append(("passed: " if result.passed else "FAILED: ") + result.summary())
    return "\n".join(lines) + "\n"


def check_junit(result: CheckResult) -> str:
    """JUnit XML: one testsuite, a testcase per entry × metric, ``<failure>`` per breach, ``<skipped>`` per skip."""
    status = {"ok": "ok", "breach": "failure", "skipped": "skipped"}
    cases = [
        Case(f"costlab.budget.{o.entry}", _metric(o), status[o.status], o.message, o.file, o.line)
        for o in result.outcomes
    ]
    return junit_xml(f"costlab check {result.config}", cases)


_CHECK_CSV = ("entry", "metric", "basis", "value", "limit", "reference", "delta", "unit", "status", "message")


def check_csv(result: CheckResult) -> str:
    """One line per entry × metric, raw numbers."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(_CHECK_CSV)
    for o in result.outcomes:
        data = {k: _finite(v) for k, v in asdict(o).items()}
        writer.writerow(["" if data[k] is None else data[k] for k in _CHECK_CSV])
    return buffer.getvalue()


def check_markdown(result: CheckResult) -> str:
    """The check table in Markdown, then the verdict."""
    lines = [f"**costlab check · {result.config}**", "", "| budget | metric | value | limit | Δ | status |",
             "|---|---|---:|---:|---:|---|"]
    for o in result.outcomes:
        cells = [o.entry, _metric(o), _value(o, o.value), _value(o, o.limit), _delta(o), f"**{o.status}**"
                 if o.status == "breach" else o.status]
        lines.append(md_row(cells))
    lines += ["", ("passed: " if result.passed else "FAILED: ") + result.summary()]
    return "\n".join(lines) + "\n"


def update_line(update: BaselineUpdate) -> str:
    """``updated reports/baselines/x.json: macs 300.8 M → 318.4 M`` (or ``new baseline``, ``unchanged``)."""
    if update.old_totals is None:
        change = "new baseline"
    else:
        parts = [
            f"{metric} {format_quantity(update.old_totals[metric], _unit(metric))} → "
            f"{format_quantity(update.new_totals[metric], _unit(metric))}"
            for metric in METRICS
            if update.old_totals[metric] != update.new_totals[metric]
        ]
        change = ", ".join(parts) or "unchanged"
    return f"updated {update.path}: {change}"


# -- diff -----------------------------------------------------------------------------------------

def _unit(metric: str) -> str:
    return COLUMN[metric].unit



def _signed(value: float, unit: str) -> str:
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + format_quantity(abs(value), unit)


def _ratio(change: TotalChange) -> str:
    ratio = change.ratio
    if ratio is None:
        return "–"
    return "new" if not math.isfinite(ratio) else format_delta(ratio)


def over_line(change: TotalChange, max_increase: float) -> str:
    unit = _unit(change.metric)
    return (
        f"{change.metric} {_ratio(change)} > {format_delta(max_increase).replace('.0%', '%')} "
        f"({format_quantity(change.old, unit)} → {format_quantity(change.new, unit)})"
    )


def diff_table(diff: ProfileDiff, width: int, top: int | None = None, fail_over: float | None = None) -> RenderableType:
    """Totals old → new, then the changed layers largest change first, then what crossed ``--fail-over``."""
    old, new = diff.old, diff.new
    total_rows = [
        [c.metric, format_quantity(c.old, _unit(c.metric)), format_quantity(c.new, _unit(c.metric)),
         _signed(c.delta, _unit(c.metric)), _ratio(c)]
        for c in diff.totals
    ]
    columns = [Col("Total"), Col("Old", True), Col("New", True), Col("Change", True), Col("%", True)]
    parts: list[RenderableType] = [
        build_table(columns, total_rows, width=width, title=f"{old.path} ({old.model}) → {new.path} ({new.model})")
    ]
    for note in diff.notes:
        parts.append(Text("note: ", style="yellow") + Text(note))
    shown = diff.layers if top is None else diff.layers[:top]
    if shown:
        metrics = (diff.sort_metric, *_others(diff.sort_metric))
        layer_columns = [Col("Layer"), Col("Type", drop=1), Col("Status"), *(Col(f"Δ {m}", True) for m in metrics)]
        layer_rows = [
            [change.name, change.type, change.status, *(_signed(change.delta(m), _unit(m)) for m in metrics)]
            for change in shown
        ]
        parts.append(
            build_table(layer_columns, layer_rows, width=width,
                        title=f"Changed layers, largest {diff.sort_metric} change first")
        )
    hidden = len(diff.layers) - len(shown)
    parts.append(
        Text(
            f"{len(diff.layers)} layer{'s' * (len(diff.layers) != 1)} changed"
            + (f" ({hidden} not shown: --top)" if hidden else "")
            + f", {diff.unchanged_layers} unchanged"
        )
    )
    if fail_over is not None:
        crossed = diff.over(fail_over)
        for change in crossed:
            parts.append(Text("✗ over --fail-over: ", style="bold red") + Text(over_line(change, fail_over)))
        if not crossed:
            parts.append(Text(f"within --fail-over {format_delta(fail_over).replace('.0%', '%')} on every total",
                              style="green"))
    return Group(*parts)


def _others(metric: str) -> Sequence[str]:
    return [m for m in ("macs", "bytes_accessed", "params", "flops") if m != metric]


def diff_json(diff: ProfileDiff, fail_over: float | None = None) -> str:
    """The diff as JSON: totals with delta and ratio, changed layers in order, and what crossed ``--fail-over``."""
    data = {
        "old": {"path": str(diff.old.path), "model": diff.old.model, "input_shapes": [list(s) for s in diff.old.input_shapes]},
        "new": {"path": str(diff.new.path), "model": diff.new.model, "input_shapes": [list(s) for s in diff.new.input_shapes]},
        "totals": [
            {"metric": t.metric, "old": _finite(t.old), "new": _finite(t.new), "delta": _finite(t.delta),
             "ratio": _finite(t.ratio)}
            for t in diff.totals
        ],
        "layers": [
            {"name": c.name, "type": c.type, "status": c.status, "old": dict(c.old), "new": dict(c.new),
             "delta": {m: c.delta(m) for m in METRICS}}
            for c in diff.layers
        ],
        "unchanged_layers": diff.unchanged_layers,
        "sort": diff.sort_metric,
        "notes": list(diff.notes),
        "fail_over": fail_over,
        "over": [t.metric for t in diff.over(fail_over)] if fail_over is not None else [],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def diff_csv(diff: ProfileDiff) -> str:
    """The totals, then every changed layer: old, new and delta per metric (raw numbers)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(["row", "type", "status", *(f"{side}_{m}" for m in METRICS for side in ("old", "new", "delta"))])
    totals = {t.metric: t for t in diff.totals}
    writer.writerow(["(total)", "", "changed",
                     *(v for m in METRICS for v in (totals[m].old, totals[m].new, totals[m].delta))])
    for c in diff.layers:
        writer.writerow([c.name, c.type, c.status,
                         *(v for m in METRICS for v in (c.old.get(m, 0), c.new.get(m, 0), c.delta(m)))])
    return buffer.getvalue()


def diff_markdown(diff: ProfileDiff, top: int | None = None) -> str:
    """The totals and the changed layers as Markdown tables."""
    lines = [f"**{diff.old.path} ({diff.old.model}) → {diff.new.path} ({diff.new.model})**", "",
             "| total | old | new | change | % |", "|---|---:|---:|---:|---:|"]
    for c in diff.totals:
        unit = _unit(c.metric)
        lines.append(f"| {c.metric} | {format_quantity(c.old, unit)} | {format_quantity(c.new, unit)} | "
                     f"{_signed(c.delta, unit)} | {_ratio(c)} |")
    shown = diff.layers if top is None else diff.layers[:top]
    if shown:
        metrics = (diff.sort_metric, *_others(diff.sort_metric))
        lines += ["", "| layer | type | status | " + " | ".join(f"Δ {m}" for m in metrics) + " |",
                  "|---|---|---|" + "---:|" * len(metrics)]
        for change in shown:
            deltas = " | ".join(_signed(change.delta(m), _unit(m)) for m in metrics)
            lines.append(f"| `{change.name}` | {change.type} | {change.status} | {deltas} |")
    lines += ["", f"{len(diff.layers)} layers changed, {diff.unchanged_layers} unchanged"]
    return "\n".join(lines) + "\n"
