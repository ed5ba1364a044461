"""The taxonomy of work: what kind of op each aten op is, and the buckets time is reported in.

Every op a capture records gets one :class:`Category` from its cost formula; counts by category
(``Report.by_category``), lint rules, per-layer time breakdowns and figure legends all group by
these names. Time is reported in the coarser :data:`TIME_CATEGORIES` (ShuffleNet V2's Fig. 2):

=================  ===========================================================================
``conv``           convolutions (``Category.CONV``)
``depthwise_conv`` depthwise convolutions (``Category.DEPTHWISE_CONV``)
``elementwise``    ReLU & co, add, mul, bias add, inference batch norm (``Category.ELEMENTWISE``)
``data_movement``  cat, copies, the channel shuffle's transpose copy (``DATA_MOVEMENT``), tensor
                   creation (``CREATION``: writes memory, computes nothing) and views (``VIEW``:
                   split, chunk, reshape — no bytes moved, but each call still costs time)
``other``          everything else: matmul / linear, pooling and other reductions, layer norm,
                   resampling, ops without a cost formula
=================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Category", "CATEGORIES", "TIME_CATEGORIES", "TIME_BUCKETS", "time_category", "row_time_category"]


class Category:
    """What kind of work an op is; the lint rules and time breakdowns group by it."""

    CONV = "conv"
    DEPTHWISE_CONV = "depthwise_conv"
    MATMUL = "matmul"
    ELEMENTWISE = "elementwise"
    NORMALIZATION = "normalization"
    REDUCTION = "reduction"
    RESAMPLE = "resample"
    DATA_MOVEMENT = "data_movement"
    CREATION = "creation"
    VIEW = "view"
    UNSUPPORTED = "unsupported"


CATEGORIES = tuple(value for name, value in vars(Category).items() if name.isupper())

TIME_CATEGORIES = ("conv", "depthwise_conv", "elementwise", "data_movement", "other")
TIME_BUCKETS = {
    Category.CONV: "conv",
    Category.DEPTHWISE_CONV: "depthwise_conv",
    Category.ELEMENTWISE: "elementwise",
    Category.DATA_MOVEMENT: "data_movement",
    Category.CREATION: "data_movement",
    Category.VIEW: "data_movement",
    Category.MATMUL: "other",
    Category.NORMALIZATION: "other",
    Category.REDUCTION: "other",
    Category.RESAMPLE: "other",
    Category.UNSUPPORTED: "other",
}
"""Every category's time bucket, written out: a new category must choose one (a test checks)."""
# a row holding several kinds of op is shown as the kind that usually dominates its cost
_ROW_PRIORITY = ("depthwise_conv", "conv", "other", "elementwise", "data_movement")


def time_category(category: str) -> str:
    """The time bucket of a cost category (see the module docstring)."""
    return TIME_BUCKETS.get(category, "other")


def row_time_category(categories: Iterable[str]) -> str:
    """One time bucket for a whole row of ops: its heaviest kind (depthwise conv, conv, other, …)."""
    buckets = {time_category(c) for c in categories}
    return next((b for b in _ROW_PRIORITY if b in buckets), "other")
