"""The taxonomy of work: every cost category has a time bucket, and a row takes its heaviest kind."""

from __future__ import annotations

import dataclasses

import pytest

import costlab
from costlab.cost.categories import (
    CATEGORIES,
    TIME_BUCKETS,
    TIME_CATEGORIES,
    Category,
    row_time_category,
    time_category,
)
from tests.conftest import TINY_NET


def test_every_cost_category_has_a_time_bucket_of_its_own():
    # written out, so a new category cannot slip into "other" unnoticed
    assert set(TIME_BUCKETS) == set(CATEGORIES)
    assert set(TIME_BUCKETS.values()) == set(TIME_CATEGORIES)


def test_every_op_of_a_real_model_gets_a_known_category():
    report = costlab.profile("mobilenet_v2")
    # the allocations (creation) are the empty outputs torch makes for the convolutions on meta
    assert {op.cost.category for op in report.ops} == {"conv", "depthwise_conv", "elementwise", "matmul",
                                                       "reduction", "view", "creation"}


def test_the_bucket_mapping():
    assert time_category(Category.CONV) == "conv"
    assert time_category(Category.DEPTHWISE_CONV) == "depthwise_conv"
    assert time_category(Category.ELEMENTWISE) == "elementwise"
    for moving in (Category.DATA_MOVEMENT, Category.CREATION, Category.VIEW):
        assert time_category(moving) == "data_movement"
    for rest in (Category.MATMUL, Category.NORMALIZATION, Category.REDUCTION, Category.RESAMPLE, Category.UNSUPPORTED):
        assert time_category(rest) == "other"


def test_a_row_takes_its_heaviest_kind():
    row = costlab.profile(str(TINY_NET)).layers()[0]
    assert row_time_category(dataclasses.replace(row, categories=("conv", "elementwise")).categories) == "conv"
    assert row_time_category(("data_movement", "elementwise")) == "elementwise"
    assert row_time_category(("matmul", "elementwise")) == "other"
    assert row_time_category(()) == "other"


@pytest.mark.parametrize("category", CATEGORIES)
def test_categories_are_plain_words(category: str):
    assert category.isidentifier() and category.islower()
