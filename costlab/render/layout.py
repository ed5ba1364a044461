"""Terminal tables that never crop: every costlab table is built here.

A number is never cut (``409.6…``, ``9`` for ``97``) and a name never becomes ``mobilenet…``. When
a table is wider than the terminal, it first leaves out the columns its renderer marked as
expendable, in their order, and says so under the table; if it is still too wide, text columns
(names) wrap onto several lines while numbers keep their full width.

Cells are plain text unless a renderer passes a styled :class:`rich.text.Text`: a module named
``[bold]x[/]`` is printed as it is, never read as markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["FILE_WIDTH", "MIN_TEXT_WIDTH", "Cell", "Col", "build_table", "to_text"]

Cell = str | Text
MIN_TEXT_WIDTH = 10
PROSE_WIDTH = 40
"""A text column may wrap down to this width (or its longest cell, when that is narrower)."""
FILE_WIDTH = 160
"""The width of a table written to a file or a pipe (unless ``COLUMNS`` says otherwise)."""


@dataclass(frozen=True)
class Col:
    """One column: ``numeric`` columns are right-aligned and never wrap; ``drop`` orders the
    expendable ones (1 goes first; None: always shown)."""

    header: str
    numeric: bool = False
    footer: str = ""
    drop: int | None = None
    prose: bool = False
    """Sentences that wrap as a matter of course: they count as :data:`PROSE_WIDTH` wide when the table
    decides which columns fit, so a long description does not push the numbers out."""


def _width(cell: Cell) -> int:
    return max((cell_len(line) for line in (cell.plain if isinstance(cell, Text) else cell).split("\n")), default=0)


def build_table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[Cell]],
    *,
    width: int,
    title: str | Text | None = None,
    caption: str | None = None,
    show_footer: bool = False,
) -> Table:
    """A rich table of ``rows`` (one cell per column) that fits ``width`` without cropping."""
    cells = [[cell if isinstance(cell, Text) else Text(cell) for cell in row] for row in rows]
    shown = list(range(len(columns)))
    droppable = sorted((i for i, c in enumerate(columns) if c.drop is not None), key=lambda i: columns[i].drop or 0)
    dropped: list[int] = []
    while _natural_width(columns, cells, shown, show_footer) > width and droppable:
        index = droppable.pop(0)
        shown.remove(index)
        dropped.append(index)
    notes = [caption] if caption else []
    if dropped:
        names = ", ".join(columns[i].header or "bars" for i in sorted(dropped))
        notes.append(f"{names} not shown: {width} columns are too few (a wider terminal, or -f csv / -f json, has them)")
    table = _table(columns, cells, shown, show_footer, title, "\n".join(notes) or None)
    return table


def _table(
    columns: Sequence[Col],
    cells: Sequence[Sequence[Text]],
    shown: Sequence[int],
    show_footer: bool,
    title: str | Text | None = None,
    caption: str | None = None,
    measuring: bool = False,
) -> Table:
    table = Table(
        title=Text(title) if isinstance(title, str) else title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        show_edge=False,
        show_footer=show_footer,
        caption=caption,
        caption_justify="left",
    )
    for i in shown:
        column = columns[i]
        natural = max([cell_len(column.header), *(_width(row[i]) for row in cells)])
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            footer=column.footer,
            no_wrap=column.numeric,
            overflow="fold",
            min_width=natural if column.numeric else min(natural, MIN_TEXT_WIDTH),
            max_width=PROSE_WIDTH if measuring and column.prose else None,
        )
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    return table


def _natural_width(columns: Sequence[Col], cells: Sequence[Sequence[Text]], shown: Sequence[int], footer: bool) -> int:
    """How wide the table is when nothing wraps (rich's own measurement of it)."""
    console = Console(width=100_000, file=io.StringIO())
    return console.measure(_table(columns, cells, shown, footer, measuring=True)).maximum


def to_text(renderable: RenderableType, width: int = FILE_WIDTH) -> str:
    """What ``renderable`` prints, as plain text ``width`` columns wide (for ``-o FILE`` and tests)."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, highlight=False, color_system=None, force_terminal=False).print(renderable)
    return buffer.getvalue()
