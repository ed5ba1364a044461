"""The taxonomy of work: one list of kinds, one spelling each, and a row shown as its heaviest kind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costlab
from costlab.cost.categories import CATEGORIES, LABELS, Category, is_op, label, row_kind
from costlab.render.roofline_plot import CATEGORY_COLOURS


def test_every_kind_has_one_label_and_one_colour():
    # written out in one place each, so a new kind cannot reach a table or a legend unnamed
    assert set(LABELS) == set(CATEGORIES) == set(CATEGORY_COLOURS)
    assert len(set(LABELS.values())) == len(LABELS)  # no two kinds spelled alike
    assert len(set(CATEGORY_COLOURS.values())) == len(CATEGORY_COLOURS)
    assert label("something_new") == "something_new"


def test_every_op_of_a_real_model_gets_a_known_category():
    report = costlab.profile("mobilenet_v2")
    # the allocations (creation) are the empty outputs torch makes for the convolutions on meta
    assert {op.cost.category for op in report.ops} == {"conv", "depthwise_conv", "elementwise", "matmul",
                                                       "reduction", "view", "creation"}


def test_views_and_bare_allocations_are_not_ops():
    assert not is_op(Category.VIEW, 0)
    assert not is_op(Category.CREATION, 0)  # torch.empty: writes nothing
    assert is_op(Category.CREATION, 4096)  # torch.zeros: writes memory
    assert all(is_op(kind, 0) for kind in CATEGORIES if kind not in (Category.VIEW, Category.CREATION))


def test_by_category_lists_kinds_in_the_taxonomy_order_with_the_totals():
    report = costlab.profile("shufflenet_v2_x0_5")
    kinds = report.by_category()
    assert list(kinds) == [k for k in CATEGORIES if k in kinds]
    assert sum(entry["ops"] for entry in kinds.values()) == report.totals.ops
    assert sum(entry["bytes_accessed"] for entry in kinds.values()) == report.totals.bytes_accessed
    assert "view" not in kinds  # views are not ops


class _ConvBlock(nn.Module):
    """conv → BN → ReLU, then a residual add: one row at depth 0 holding four kinds of op."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return (self.bn(self.conv(x)).relu() + x).flatten(1)


def test_a_row_is_shown_as_the_kind_with_the_most_flops():
    report = costlab.profile(_ConvBlock(), "1x8x16x16")
    (row,) = report.layers(depth=0)
    # conv: 8·8·9 MACs per output × 8·16·16 outputs = 147,456 MACs = 294,912 FLOPs; BN 2 and ReLU,
    # add 1 FLOP per element (2,048 elements): the conv dominates, then element-wise; the flatten
    # is a view and no kind of op at all
    assert row.categories == ("conv", "elementwise")
    assert row_kind(row.categories) == "conv"
    assert row_kind(()) == "view"  # a row that runs no op


class _CatThenRelu(nn.Module):
    def forward(self, x):
        return torch.cat([x, x, x, x], 1)[:, :1].relu()


def test_flops_outrank_bytes_when_a_row_is_named():
    (row,) = costlab.profile(_CatThenRelu(), "1x4x8x8").layers(depth=0)
    # cat reads 4·256 floats and writes 1,024 (8 KB), the ReLU reads and writes 64 floats (512 B)
    # but does 64 FLOPs to the cat's none: the row is element-wise
    assert row.categories == ("elementwise", "data_movement")


@pytest.mark.parametrize("category", CATEGORIES)
def test_categories_are_plain_words(category: str):
    assert category.isidentifier() and category.islower()
