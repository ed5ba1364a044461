"""``costlab compare``: each counter's number and its reconciliation with costlab's, as a table, JSON or Markdown.

Formats only: every number comes from :class:`~costlab.compare.run.Comparison`. A reconciliation
is printed as the sum a reader can check to the last unit — costlab's count, each difference with
its sign, ``unexplained``, and the counter's number under the line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from costlab.render.layout import Col, build_table
from costlab.units import exact, human, shape, shapes_text

if TYPE_CHECKING:
    from rich.console import RenderableType

    from costlab.compare.engine import CounterResult
    from costlab.compare.run import Comparison

__all__ = ["compare_json", "compare_markdown", "compare_table"]

BASIS = {"macs": "MACs", "flops": "FLOPs"}


def _ops(ops: dict[str, int]) -> str:
    return ", ".join(f"{op} ×{count}" for op, count in ops.items())


def _status(result: CounterResult) -> str:
    if result.status == "ok":
        return result.unit
    return f"{result.status}: {result.reason}" if result.reason else result.status


def _title(comparison: Comparison) -> str:
    inputs = ", ".join(shape(s) for s in comparison.input_shapes)
    return (f"costlab compare {comparison.model} · input {inputs} · costlab {human(comparison.macs)} MACs, "
            f"{human(comparison.flops)} FLOPs")


def _sum_rows(comparison: Comparison, result: CounterResult) -> list[list[str]]:
    """costlab's count, each difference, unexplained, and the counter's number: the rows of the sum."""
    basis = comparison.macs if result.basis == "macs" else comparison.flops
    rows = [[f"costlab {BASIS[result.basis]}", "", exact(basis)]]
    rows += [[d.what, _ops(d.ops), exact(d.amount, sign=True)] for d in result.differences]
    rows.append(["unexplained", "", exact(result.unexplained or 0, sign=bool(result.unexplained))])
    rows.append([f"= {result.name}", "", exact(result.total or 0)])
    return rows


def compare_table(comparison: Comparison, width: int) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = []
    summary = [
        [r.name, human(r.total) if r.total is not None else "–", _status(r), f"costlab {BASIS[r.basis]}",
         exact(r.unexplained) if r.unexplained is not None else "–"]
        for r in comparison.counters
    ]
    columns = [Col("Counter"), Col("Says", True), Col("It calls it"), Col("Explained from"), Col("Unexplained", True)]
    parts += [Text(_title(comparison), style="bold", overflow="fold"), build_table(columns, summary, width=width)]
    for result in comparison.counters:
        if result.status != "ok":
            continue
        title = f"{result.title} {result.version or ''}: {exact(result.total or 0)} {result.unit}"
        skipped = ", ".join(f"{op} ×{n}" for op, n in result.skipped_ops.items())
        table = build_table([Col(""), Col("Ops", drop=1), Col("Amount", True)], _sum_rows(comparison, result),
                            width=width)
        parts += [Text(""), Text(title, style="bold"), table]
        if skipped:
            parts.append(Text(f"  counts zero for: {skipped}", overflow="fold"))
        parts += [Text(f"  why: {why}", overflow="fold") for why in dict.fromkeys(d.why for d in result.differences)]
    parts += [Text(""), *_module_table(comparison, width)]
    bugs = [Text(""), Text("Known bugs these numbers expose")]
    for result in comparison.counters:
        bugs += [Text(f"  {result.name}: {note}", overflow="fold") for note in result.notes]
    parts += bugs
    return Group(*parts)


def _module_table(comparison: Comparison, width: int) -> list[RenderableType]:
    from rich.text import Text

    shown = [r for r in comparison.counters if r.status == "ok" and r.modules]
    if not shown:
        return []
    names = list(dict.fromkeys(m.name for r in shown for m in r.modules))
    by_name = {r.name: {m.name: m for m in r.modules} for r in shown}
    bases = [b for b in ("macs", "flops") if any(r.basis == b for r in shown)]
    off = 0
    cells = []
    for name in names:
        row = [name or "(model)"]
        for basis in bases:  # costlab's own number, from the first counter on that basis that lists the module
            row.append(next((human(by_name[r.name][name].costlab) for r in shown
                             if r.basis == basis and name in by_name[r.name]), "–"))
        for result in shown:
            module = by_name[result.name].get(name)
            if module is None:
                row.append("–")
                continue
            off += bool(module.unexplained)
            row.append(human(module.total) + (" *" if module.unexplained else ""))
        cells.append(row)
    columns = [Col("Module"), *(Col(f"costlab {BASIS[b]}", True) for b in bases),
               *(Col(r.name, True) for r in shown)]
    caption = (f"* {off} module numbers do not reconcile (-f json lists each one's unexplained amount)" if off
               else "every module's number reconciles: unexplained 0")
    title = f"Each counter's own number per module (depth {comparison.depth})"
    return [Text(title, style="bold"), build_table(columns, cells, width=width), Text(caption, overflow="fold")]


def compare_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2) + "\n"


def compare_markdown(comparison: Comparison) -> str:
    lines = [f"## Why do the counters disagree? {comparison.model} at {shapes_text(comparison.input_shapes)}", "",
             f"costlab: {exact(comparison.macs)} MACs, {exact(comparison.flops)} FLOPs.", "",
             "| counter | version | says | it calls it | explained from | unexplained |",
             "|---|---|---:|---|---|---:|"]
    for r in comparison.counters:
        says = exact(r.total) if r.total is not None else "–"
        unexplained = exact(r.unexplained) if r.unexplained is not None else "–"
        lines.append(f"| {r.name} | {r.version or '–'} | {says} | {_status(r)} | costlab {BASIS[r.basis]} | {unexplained} |")
    for r in comparison.counters:
        if r.status != "ok":
            continue
        lines += ["", f"### {r.title} {r.version or ''}", "", "| | ops | amount | why |", "|---|---|---:|---|"]
        whys = {d.what: d.why for d in r.differences}
        for what, ops, amount in _sum_rows(comparison, r):
            lines.append(f"| {what} | {ops} | {amount} | {whys.get(what, '')} |")
        if r.skipped_ops:
            lines += ["", "Counts zero for: " + ", ".join(f"`{op}` ×{n}" for op, n in r.skipped_ops.items()) + "."]
        if r.notes:
            lines += ["", "Known bugs:", *(f"- {note}" for note in r.notes)]
    return "\n".join(lines) + "\n"
