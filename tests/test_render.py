"""Renderers: human units, and the terminal table on wide and narrow terminals."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import costlab
from costlab.render.table import print_report
from costlab.render.units import human, shape


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (3_504_872, "", "3.50 M"),  # three significant digits below 10
        (300_774_272, "", "300.8 M"),  # one decimal from 10 up
        (14_218_000, "B", "14.2 MB"),  # decimal (SI) megabytes
        (1_814_073_344, "", "1.81 G"),
        (512, "", "512"),
        (0, "B", "0 B"),
        (2.5, "", "2.50"),
    ],
)
def test_human_units(value, unit, text):
    assert human(value, unit) == text


def test_shape_uses_the_multiplication_sign():
    assert shape((1, 3, 224, 224)) == "1×3×224×224"
    assert shape(None) == ""


def render(width: int) -> list[str]:
    report = costlab.profile("mobilenet_v2")
    console = Console(file=io.StringIO(), width=width)
    print_report(console, report, report.layers()[:3])
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def header(lines: list[str]) -> str:
    return next(line for line in lines if "Layer" in line and "Params" in line)


def test_wide_terminal_shows_every_column():
    line = header(render(200))
    for column in ("Layer", "Type", "Output", "Params", "MACs", "FLOPs", "Mem access", "FLOP/B", "Elem-wise"):
        assert column in line


def test_narrow_terminal_drops_output_then_type_but_never_truncates_numbers():
    narrow = render(80)
    line = header(narrow)
    assert "Output" not in line and "Type" not in line
    assert all(column in line for column in ("Params", "MACs", "FLOPs", "Mem access", "FLOP/B", "Elem-wise"))
    assert "features.0.0" in "\n".join(narrow)  # names are whole, not cut with an ellipsis
    assert all(len(line) <= 80 for line in narrow)
