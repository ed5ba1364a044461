"""The roofline figure: a real PNG / SVG, drawn without touching pyplot's global state."""

from __future__ import annotations

import sys

import pytest

import costlab
from costlab.cost.roofline import Roofs, chart, predict
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


def test_cache_roofs_are_drawn_dashed_and_named_without_moving_the_dots(report):
    from costlab.render.roofline_plot import roofline_figure
    from tests.cost.test_roofline import CACHED

    plain_roofs = Roofs(CACHED.peak_flops, CACHED.bandwidth_bytes_per_s, "plain roofs")
    cached_chart = chart(predict(report, CACHED), None)
    plain_chart = chart(predict(report, plain_roofs), None)
    with_levels = roofline_figure(cached_chart, "svg", labels=3)
    without = roofline_figure(plain_chart, "svg", labels=3)
    text = with_levels.data.decode("utf-8")
    # one name per level at the left edge, its bandwidth as human() writes it, and the footnote
    for needle in ("L1 500.0 GB/s", "L2 200.0 GB/s", "L3 60.0 GB/s", "dashed: cache roofs"):
        assert needle in text
    assert "L2 200.0 GB/s" not in without.data.decode("utf-8")
    # the axes span the same ranges: every dot (and the star) lands at the same x, and the same size;
    # only the plot's height may give a few pixels to the longer footnote
    assert [(s.x, s.radius) for s in with_levels.hotspots] == [(s.x, s.radius) for s in without.hotspots]
    assert all(abs(a.y - b.y) < 20 for a, b in zip(with_levels.hotspots, without.hotspots))
    # predicted dots sit on the DRAM roof: conv1 at 9.8 FLOP/B × 20 GB/s = 196 GFLOP/s, against its L2 roof
    # min(1 TFLOP/s, 9.8 × 200 GB/s) = 1 TFLOP/s: 20 %
    assert "20% of its roof" in with_levels.hotspots[0].title and "100% of its roof" in without.hotspots[0].title
    assert roofline_image(cached_chart, "png").startswith(PNG_MAGIC)
