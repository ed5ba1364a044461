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


def test_every_dot_has_a_hotspot_where_it_is_drawn(report):
    import io

    from PIL import Image

    from costlab.render.roofline_plot import roofline_figure

    prediction = predict(report, ROOFS)
    drawn = chart(prediction, synthetic_timing(prediction, [1.0, 0.5, 2.5], 5.0).measured())
    figure = roofline_figure(drawn, "png", labels=0)
    assert (figure.width, figure.height) == Image.open(io.BytesIO(figure.data)).size == (1500, 975)
    assert len(figure.hotspots) == len(drawn.points) + 1  # every layer, then the star
    with Image.open(io.BytesIO(figure.data)) as image:
        pixels = image.convert("RGB")
        for spot in figure.hotspots:
            # the centre of each dot is painted (not the white background): the hotspot is on it
            assert pixels.getpixel((round(spot.x), round(spot.y))) != (255, 255, 255), spot
    conv1 = next(s for s in figure.hotspots if s.title.startswith("conv1 "))
    # conv1: 450,560 FLOPs in 1 ms = 450.6 MFLOP/s, 45,952 B accessed (tests/cost/test_roofline.py)
    assert conv1.title.splitlines() == [
        "conv1 (Conv2d, conv)",
        "1.00 ms measured, 25% of the time",
        f"450.6 MFLOP/s, {450_560 / 1e-3 / ROOFS.attainable_flops(450_560 / 45_952):.0%} of its roof",
        "450.6 K FLOPs, 46.0 KB accessed, 9.8 FLOP/B",
    ]
    assert figure.hotspots[-1].title.startswith("tiny_net.py (whole model)")


def test_an_svg_carries_the_hover_text_of_every_dot(report):
    drawn = chart(predict(report, ROOFS))
    text = roofline_image(drawn, "svg").decode("utf-8")
    layer = text[text.index('<g id="costlab-hover"'):]
    assert layer.count("<circle") == len(drawn.points) + 1 and layer.count("<title>") == len(drawn.points) + 1
    assert "<title>conv2 (Conv2d, conv)" in layer and "predicted" in layer
