"""Output of the CI gate: ``costlab check`` as a table, JSON, GitHub annotations or JUnit XML,
and ``costlab diff`` as a table or JSON.

Renderers format; they never compute. Every number and verdict comes from
:class:`~costlab.budget.CheckResult` and :class:`~costlab.diff.ProfileDiff`.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from costlab.budget import METRICS, format_delta, format_quantity

if TYPE_CHECKING:
    from rich.console import Console

    from costlab.budget import BaselineUpdate, CheckResult, Outcome
    from costlab.diff import ProfileDiff, TotalChange

__all__ = ["CHECK_FORMATS", "DIFF_FORMATS", "print_check", "check_to_text", "check_to_json", "check_to_github",
           "check_to_junit", "update_line", "print_diff", "diff_to_json", "over_line"]

CHECK_FORMATS = ("table", "json", "github", "junit")
DIFF_FORMATS = ("table", "json")
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
    return format_delta(outcome.delta) + _BASIS[outcome.basis]


def _metric(outcome: Outcome) -> str:
    return outcome.metric + _BASIS[outcome.basis]


def print_check(console: Console, result: CheckResult) -> None:
    """A table of entry × metric, then every breach and skip as its one-line message, then the summary."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"costlab check · {result.config}"), title_justify="left", box=box.SIMPLE_HEAD)
    for header, justify in (("Budget", "left"), ("Metric", "left"), ("Value", "right"), ("Limit", "right"),
                            ("Δ", "right"), ("Status", "left")):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    previous = None
    for outcome in result.outcomes:
        table.add_row(
            Text(outcome.entry if outcome.entry != previous else ""),
            _metric(outcome),
            _value(outcome, outcome.value),
            _value(outcome, outcome.limit),
            _delta(outcome),
            Text(outcome.status, style=_STYLE[outcome.status]),
        )
        previous = outcome.entry
    console.print(table)
    for outcome in result.outcomes:
        if outcome.status == "breach":
            console.print(Text("✗ ", style="bold red") + Text(outcome.message), soft_wrap=True)
        elif outcome.status == "skipped":
            console.print(Text("– ", style="yellow") + Text(outcome.message), soft_wrap=True)
    verdict = Text("passed: ", style="green") if result.passed else Text("FAILED: ", style="bold red")
    console.print(verdict + Text(result.summary()), soft_wrap=True)


def check_to_text(result: CheckResult, width: int = 160) -> str:
    """:func:`print_check` as plain text (for ``-o FILE``)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, highlight=False, color_system=None)
    print_check(console, result)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


def check_to_json(result: CheckResult) -> str:
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


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def check_to_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: ``::error file=costlab.toml,line=12,title=...::message`` per breach,
    ``::warning`` per skipped check, plain log lines for the rest and the summary."""
    lines = []
    for outcome in result.outcomes:
        if outcome.status == "ok":
            lines.append(f"ok: {outcome.message}")
            continue
        level = "error" if outcome.status == "breach" else "warning"
        props = []
        if outcome.file:
            props.append(f"file={_escape_property(outcome.file)}")
            if outcome.line:
                props.append(f"line={outcome.line}")
        props.append(f"title={_escape_property(f'costlab budget {outcome.entry} {_metric(outcome)}')}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(outcome.message)}")
    lines.append(("passed: " if result.passed else "FAILED: ") + result.summary())
    return "\n".join(lines) + "\n"


def check_to_junit(result: CheckResult) -> str:
    """JUnit XML: one testsuite, a testcase per entry × metric, ``<failure>`` per breach, ``<skipped>`` per skip."""
    suites = ET.Element("testsuites", name="costlab check")
    suite = ET.SubElement(
        suites, "testsuite", name=f"costlab check {result.config}", tests=str(len(result.outcomes)),
        failures=str(result.count("breach")), errors="0", skipped=str(result.count("skipped")),
    )
    for outcome in result.outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"costlab.budget.{outcome.entry}", name=_metric(outcome))
        if outcome.file:
            case.set("file", outcome.file)
            if outcome.line:
                case.set("line", str(outcome.line))
        if outcome.status == "breach":
            ET.SubElement(case, "failure", message=outcome.message, type="budget").text = outcome.message
        elif outcome.status == "skipped":
            ET.SubElement(case, "skipped", message=outcome.message)
        else:
            ET.SubElement(case, "system-out").text = outcome.message
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def update_line(update: BaselineUpdate) -> str:
    """``updated reports/baselines/x.json: macs 300.8 M → 318.4 M`` (or ``new baseline``, ``unchanged``)."""
    if update.old_totals is None:
        change = "new baseline"
    else:
        parts = [
            f"{metric} {format_quantity(update.old_totals[metric], unit)} → {format_quantity(update.new_totals[metric], unit)}"
            for metric, (_kind, unit) in METRICS.items()
            if update.old_totals[metric] != update.new_totals[metric]
        ]
        change = ", ".join(parts) or "unchanged"
    return f"updated {update.path}: {change}"


# -- diff -----------------------------------------------------------------------------------------

_UNITS = {"params": "", "macs": "", "flops": "", "mac_bytes": "B"}


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
    unit = _UNITS[change.metric]
    return (
        f"{change.metric} {_ratio(change)} > {format_delta(max_increase).replace('.0%', '%')} "
        f"({format_quantity(change.old, unit)} → {format_quantity(change.new, unit)})"
    )


def print_diff(console: Console, diff: ProfileDiff, top: int | None = None, fail_over: float | None = None) -> None:
    """Totals old → new, then the changed layers largest change first, then what crossed ``--fail-over``."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    old, new = diff.old, diff.new
    title = Text(f"{old.path} ({old.model}) → {new.path} ({new.model})")
    totals = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("Total", "Old", "New", "Change", "%"):
        totals.add_column(header, justify="left" if header == "Total" else "right", no_wrap=True)
    for change in diff.totals:
        unit = _UNITS[change.metric]
        totals.add_row(change.metric, format_quantity(change.old, unit), format_quantity(change.new, unit),
                       _signed(change.delta, unit), _ratio(change))
    console.print(totals)
    for note in diff.notes:
        console.print(Text("note: ", style="yellow") + Text(note), soft_wrap=True)
    shown = diff.layers if top is None else diff.layers[:top]
    if shown:
        layers = Table(title=f"Changed layers, largest {diff.sort_metric} change first", title_justify="left",
                       box=box.SIMPLE_HEAD)
        for header in ("Layer", "Type", "Status", *(f"Δ {m}" for m in (diff.sort_metric, *_others(diff.sort_metric)))):
            layers.add_column(header, justify="left" if header in ("Layer", "Type", "Status") else "right", no_wrap=True)
        for change in shown:
            metrics = (diff.sort_metric, *_others(diff.sort_metric))
            layers.add_row(Text(change.name), Text(change.type), change.status,
                           *(_signed(change.delta(m), _UNITS[m]) for m in metrics))
        console.print(layers)
    hidden = len(diff.layers) - len(shown)
    console.print(
        f"{len(diff.layers)} layer{'s' * (len(diff.layers) != 1)} changed"
        + (f" ({hidden} not shown: --top)" if hidden else "")
        + f", {diff.unchanged_layers} unchanged",
        soft_wrap=True,
    )
    if fail_over is not None:
        crossed = diff.over(fail_over)
        for change in crossed:
            console.print(Text("✗ over --fail-over: ", style="bold red") + Text(over_line(change, fail_over)), soft_wrap=True)
        if not crossed:
            console.print(Text(f"within --fail-over {format_delta(fail_over).replace('.0%', '%')} on every total",
                               style="green"), soft_wrap=True)


def _others(metric: str) -> Sequence[str]:
    return [m for m in ("macs", "mac_bytes", "params", "flops") if m != metric]


def diff_to_json(diff: ProfileDiff, fail_over: float | None = None) -> str:
    """The diff as JSON: totals with delta and ratio, changed layers in order, and what crossed ``--fail-over``."""
    data = {
        "old": {"path": str(diff.old.path), "model": diff.old.model, "input_shapes": [list(s) for s in diff.old.input_shapes]},
        "new": {"path": str(diff.new.path), "model": diff.new.model, "input_shapes": [list(s) for s in diff.new.input_shapes]},
        "totals": [
            {"metric": t.metric, "old": t.old, "new": t.new, "delta": t.delta, "ratio": _finite(t.ratio)}
            for t in diff.totals
        ],
        "layers": [
            {"name": c.name, "type": c.type, "status": c.status, "old": dict(c.old), "new": dict(c.new),
             "delta": {m: c.delta(m) for m in _UNITS}}
            for c in diff.layers
        ],
        "unchanged_layers": diff.unchanged_layers,
        "sort": diff.sort_metric,
        "notes": list(diff.notes),
        "fail_over": fail_over,
        "over": [t.metric for t in diff.over(fail_over)] if fail_over is not None else [],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
