"""CSV and Markdown cells that stay data: every CSV and Markdown table costlab writes goes through here.

* CSV: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be a
  formula to a spreadsheet (OWASP "CSV injection"); it is written with a leading ``'``. Numbers are
  written as they are, also as text (``-0.0812``: a negative error formatted to its digits).
* Markdown: ``|`` would end a cell and a newline the row; they are escaped / replaced.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["csv_cell", "csv_text", "csv_writer", "md_cell", "md_row"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would run as a formula gets a leading ``'``
    (a plain number written as text, ``-0.08``, is no formula).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("-1+2"), csv_cell("-0.0812"), csv_cell("-1.5e-05")
    ("'=HYPERLINK(1)", "'-1+2", '-0.0812', '-1.5e-05')
    """
    if isinstance(value, str) and value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _SafeWriter:
    """``csv.writer`` whose every text cell goes through :func:`csv_cell`."""

    def __init__(self, stream: io.StringIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: io.StringIO) -> _SafeWriter:
    """A CSV writer (``\n`` line ends) that never writes a spreadsheet formula."""
    return _SafeWriter(stream)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (``\\n`` line ends) with safe cells."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def md_cell(text: object) -> str:
    """Text safe inside a Markdown table cell: ``|`` escaped, line breaks made spaces."""
    return str(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_row(cells: Iterable[object]) -> str:
    """``| a | b |`` with every cell escaped."""
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"
