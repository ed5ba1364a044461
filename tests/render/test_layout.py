"""Terminal tables never crop: columns are left out (with a note), then names wrap; numbers stay whole."""

from __future__ import annotations

import re

import pytest
from rich.text import Text

import costlab
from costlab.render.layout import Col, build_table, to_text
from costlab.render.profile import profile_table

COLUMNS = [Col("Name"), Col("Kind", drop=1), Col("Value", True), Col("Bytes", True, drop=2)]
ROWS = [["features.16.conv.0.0", "Conv2d", "409.6 K", "97"], ["classifier.1", "Linear", "1.28 M", "5.13 MB"]]


def test_a_wide_terminal_shows_everything() -> None:
    text = to_text(build_table(COLUMNS, ROWS, width=120, title="t"), 120)
    assert all(word in text for word in ("Name", "Kind", "Value", "Bytes", "features.16.conv.0.0", "409.6 K", "97"))
    assert "not shown" not in text


def test_columns_are_dropped_in_their_order_and_said_so() -> None:
    # natural width: 20 + 6 + 7 + 7 + 4·2 padding + 2 edges = 50; without Kind 42; without Bytes too 33
    assert "not shown" not in to_text(build_table(COLUMNS, ROWS, width=50), 50)
    text = to_text(build_table(COLUMNS, ROWS, width=45), 45)
    header = next(line for line in text.splitlines() if "Name" in line)
    assert "Kind" not in header and "Bytes" in header
    assert "Kind not shown: 45 columns are too few" in " ".join(text.split())
    text = to_text(build_table(COLUMNS, ROWS, width=36), 36)
    assert "Kind, Bytes not shown" in " ".join(text.split())


def test_when_dropping_is_not_enough_names_wrap_but_numbers_never_shrink() -> None:
    text = to_text(build_table(COLUMNS, ROWS, width=24), 24)
    assert "409.6 K" in text and "1.28 M" in text and "…" not in text
    assert "features.16.conv.0.0" not in text  # folded onto two lines...
    assert "features.16.conv.0.0" in "".join(line.split("409.6 K")[0].strip() for line in text.splitlines())


def test_cells_are_never_read_as_markup() -> None:
    text = to_text(build_table([Col("Name")], [["[bold red]x[/]"], ["[/x]"]], width=40), 40)
    assert "[bold red]x[/]" in text and "[/x]" in text
    assert "ok" in to_text(build_table([Col("Name")], [[Text("ok", style="green")]], width=40), 40)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_profile_table_fits_without_cutting_a_number(width: int) -> None:
    report = costlab.profile("mobilenet_v2")
    text = to_text(profile_table(report, report.layers(), width=width), width)
    assert all(len(line.rstrip()) <= width for line in text.splitlines())
    assert "…" not in text
    # numbers whole: 802.8 K FLOPs of the first batch norm, 10.8 M MACs of the stem, 621.3 M FLOPs in all
    assert "802.8 K" in text and "10.8 M" in text and "621.3 M" in text
    if width >= 120:
        assert re.search(r"Layer\s+Type\s+Output", text)
