"""Rendering of the zoo listing (``costlab zoo``): a rich table, or JSON / CSV / Markdown."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from costlab.render.units import human, shape

if TYPE_CHECKING:
    from rich.console import Console

    from costlab.zoo.summary import ZooSummary

__all__ = ["render_zoo", "lint_matrix"]

_FIELDS = ("name", "family", "input_shape", "params", "macs", "flops", "mac_bytes", "paper")


def render_zoo(console: Console | None, rows: list[ZooSummary], fmt: str = "table") -> str:
    """Print a table on ``console`` (``fmt="table"``) or return the text of json / csv / md."""
    if fmt == "json":
        return json.dumps([{**asdict(r), "input_shape": list(r.input_shape)} for r in rows], indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_FIELDS)
        for r in rows:
            writer.writerow([r.name, r.family, shape(r.input_shape), r.params, r.macs, r.flops, r.mac_bytes, r.paper])
        return buffer.getvalue()
    if fmt == "md":
        lines = ["| model | family | input | params | MACs | memory access |", "|---|---|---|---:|---:|---:|"]
        lines += [
            f"| `{r.name}` | {r.family} | {shape(r.input_shape)} | {human(r.params)} | {human(r.macs)} | "
            f"{human(r.mac_bytes, 'B')} |"
            for r in rows
        ]
        return "\n".join(lines) + "\n"
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=f"costlab zoo · {len(rows)} models", title_justify="left")
    for header, justify in (("Model", "left"), ("Family", "left"), ("Input", "left"), ("Params", "right"),
                            ("MACs", "right"), ("FLOPs", "right"), ("Mem access", "right")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(
            r.name, r.family, shape(r.input_shape), human(r.params), human(r.macs), human(r.flops), human(r.mac_bytes, "B")
        )
    assert console is not None
    console.print(table)
    return ""


def lint_matrix(console: Console, results: list) -> None:  # type: ignore[type-arg]
    """A model × rule table of finding counts (``costlab lint --zoo``)."""
    from rich import box
    from rich.table import Table

    from costlab.lint.rules import RULES

    table = Table(box=box.SIMPLE_HEAD, title="costlab lint --zoo · findings per rule", title_justify="left")
    table.add_column("Model")
    for code, rule in RULES.items():
        table.add_column(f"{code} {rule.name}", justify="right")
    for result in results:
        cells = []
        for code in RULES:
            counts = {sev: n for (rule, sev), n in result.counts.items() if rule == code}
            parts = [f"{counts[sev]} {sev}" for sev in ("error", "warning", "info") if counts.get(sev)]
            cells.append(", ".join(parts) if parts else ("–" if code in result.settings.select else "off"))
        table.add_row(result.model, *cells)
    console.print(table)
