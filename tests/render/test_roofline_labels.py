"""Roofline labels never collide: on every zoo model's chart the named layers' labels overlap neither
each other nor the whole-model star, and none is cut off by the figure's edge (the greedy placement's
promise; it may let a label out of the axes by a few pixels when every place inside covers something,
as on mobilenet_v1_x0_75 and vgg16)."""

from __future__ import annotations

import pytest

import costlab
from costlab.cost.roofline import chart, predict
from costlab.render import roofline_plot as plot
from tests.cost.test_roofline import ROOFS


def _placed(drawn):
    from matplotlib.text import Annotation

    figure, axes = plot.drawn_figure(drawn, labels=6)  # exactly what roofline_image draws
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    named = [t for t in axes.texts if isinstance(t, Annotation) and t.arrow_patch is not None]  # with leaders
    labels = [plot._text_box(t, renderer) for t in named]
    model = drawn.model_point
    star = plot._disc(axes, renderer, model.intensity, model.flops_per_s, plot._STAR_AREA)
    return labels, star, figure.bbox


# one of each family, and the two charts where a label leaves the axes (all 31 zoo models passed once;
# a figure takes about a second to lay out, so the suite keeps ten)
SAMPLE = ["mobilenet_v1_x0_75", "vgg16", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v1_g3",
          "shufflenet_v2_x0_5", "squeezenet1_0", "ghostnet", "xception", "resnet50"]


@pytest.mark.parametrize("name", SAMPLE)
def test_labels_overlap_neither_each_other_nor_the_star_nor_leave_the_figure(name):
    drawn = chart(predict(costlab.profile(name), ROOFS))
    labels, star, frame = _placed(drawn)
    assert len(labels) == min(6, len(drawn.points))
    for i, box in enumerate(labels):
        assert not box.overlaps(star), f"label {i} covers the model's star"
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert not any(box.overlaps(other) for other in labels[i + 1:]), f"label {i} covers another"
