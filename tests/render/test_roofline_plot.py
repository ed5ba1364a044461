"""The roofline figure: a real PNG / SVG, drawn without touching pyplot's global state."""

from __future__ import annotations

import sys

import pytest

import costlab
from costlab.cost.roofline import chart, predict
from costlab.render.roofline_plot import roofline_image
from tests.conftest import TINY_NET
from tests.cost.test_roofline import PNG_MAGIC, ROOFS, synthetic_timing


@pytest.fixture(scope="module")
def report():
    return costlab.profile(str(TINY_NET))


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_figure_is_a_real_image(report, suffix):
    before = set(sys.modules)
    prediction = predict(report, ROOFS)
    drawn = chart(prediction, synthetic_timing(prediction, [1.0, 0.5, 2.5], 5.0).measured())
    data = roofline_image(drawn, suffix.lstrip("."), labels=2)
    if suffix == ".png":
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    else:
        text = data.decode("utf-8")
        assert "<svg" in text and "conv2" in text and "roofs:" in text
    # drawn on a bare Figure: pyplot is neither imported nor left holding figures
    assert "matplotlib.pyplot" not in set(sys.modules) - before
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_svg_output_is_reproducible(report):
    drawn = chart(predict(report, ROOFS))
    assert roofline_image(drawn, "svg") == roofline_image(drawn, "svg")


def test_unknown_image_format_is_refused(report):
    with pytest.raises(ValueError, match="png or svg"):
        roofline_image(chart(predict(report, ROOFS)), "jpg")
