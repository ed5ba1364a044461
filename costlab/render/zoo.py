"""``costlab zoo``: the built-in models as a table, JSON, CSV or Markdown.

The number columns are the budgeted ones of :data:`costlab.cost.costs.COLUMNS` (params, MACs,
FLOPs, bytes accessed), in every format.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from costlab.cost.costs import BUDGETED
from costlab.render.layout import Col, build_table
from costlab.render.tabular import csv_writer, md_row
from costlab.units import shape, shape_text

if TYPE_CHECKING:
    from rich.table import Table

    from costlab.publish.zoo import ZooRow

__all__ = ["SCHEMA_VERSION", "zoo_csv", "zoo_json", "zoo_markdown", "zoo_table"]

SCHEMA_VERSION = 2


def zoo_table(rows: Sequence[ZooRow], width: int) -> Table:
    columns = [Col("Model"), Col("Family", drop=1), Col("Input", drop=2), *(Col(c.header, True) for c in BUDGETED)]
    cells = [
        [r.name, r.family, shape(r.input_shape), *(c.text(getattr(r.totals, c.key), total=True) for c in BUDGETED)]
        for r in rows
    ]
    return build_table(columns, cells, width=width, title=f"costlab zoo · {len(rows)} models")


def zoo_json(rows: Sequence[ZooRow]) -> str:
    models = [
        {"name": r.name, "family": r.family, "input_shape": list(r.input_shape),
         **{c.key: getattr(r.totals, c.key) for c in BUDGETED}, "paper": r.paper}
        for r in rows
    ]
    return json.dumps({"schema_version": SCHEMA_VERSION, "models": models}, indent=2) + "\n"


def zoo_csv(rows: Sequence[ZooRow]) -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(["name", "family", "input_shape", *(c.key for c in BUDGETED), "paper"])
    for r in rows:
        writer.writerow([r.name, r.family, shape_text(r.input_shape), *(getattr(r.totals, c.key) for c in BUDGETED),
                         r.paper])
    return buffer.getvalue()


def zoo_markdown(rows: Sequence[ZooRow]) -> str:
    lines = ["| model | family | input | " + " | ".join(c.words for c in BUDGETED) + " |",
             "|---|---|---|" + "---:|" * len(BUDGETED)]
    lines += [
        md_row([f"`{r.name}`", r.family, shape(r.input_shape), *(c.text(getattr(r.totals, c.key), total=True) for c in BUDGETED)])
        for r in rows
    ]
    return "\n".join(lines) + "\n"
