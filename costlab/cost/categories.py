"""The taxonomy of work: one list of kinds, used by every count, time, rule and figure.

Every op a capture records gets one :class:`Category` from its cost formula. The same names, in
the same order, with the same op counts, are what ``profile`` counts by (``Report.by_category``),
what ``profile --device`` / ``latency --per-layer`` time by (``LayerTiming.categories``), what G4
reads, and what the report's tables and the figures' legends show (:data:`LABELS`):

==================  ================  =========================================================
key                 label             what
==================  ================  =========================================================
``conv``            conv              dense and grouped convolutions (transposed included)
``depthwise_conv``  depthwise conv    one filter per channel (groups == input channels)
``matmul``          matmul            linear layers, matmul / bmm, attention
``elementwise``     element-wise      ReLU & co, add, mul, bias add, inference batch norm
``normalization``   normalization     norms that compute statistics (layer / group norm, training BN)
``reduction``       reduction         pooling, mean, sum, softmax
``resample``        resampling        interpolation, upsampling
``data_movement``   data movement     cat, copies, the channel shuffle's transpose copy
``creation``        tensor creation   zeros, full, arange (writes memory, computes nothing)
``view``            view              split, reshape, transpose, slicing: no bytes, not an op
``unsupported``     no formula        an op without a cost formula (counted as zero)
==================  ================  =========================================================

A view, and an allocation that writes nothing (``empty``), is not an *op* (:func:`is_op`): it runs
no kernel, so it is neither counted in ``ops`` nor in a kind's op count. It still costs a call's
time, which the time breakdown shows on its own line rather than hiding it in a kind.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CATEGORIES", "LABELS", "Category", "is_op", "label", "row_kind"]


class Category:
    """What kind of work an op is; counts, times, lint rules and figures group by it."""

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
"""Every kind, in the order tables and legends list them."""

LABELS = {
    Category.CONV: "conv",
    Category.DEPTHWISE_CONV: "depthwise conv",
    Category.MATMUL: "matmul",
    Category.ELEMENTWISE: "element-wise",
    Category.NORMALIZATION: "normalization",
    Category.REDUCTION: "reduction",
    Category.RESAMPLE: "resampling",
    Category.DATA_MOVEMENT: "data movement",
    Category.CREATION: "tensor creation",
    Category.VIEW: "view",
    Category.UNSUPPORTED: "no formula",
}
"""How each kind is written for people (tables, figures, the report); JSON and CSV use the keys."""


def label(category: str) -> str:
    """The words for ``category`` (the key itself for a name this version does not know)."""
    return LABELS.get(category, category)


def is_op(category: str, bytes_accessed: int) -> bool:
    """Whether an op call runs a kernel: views move nothing and a bare allocation writes nothing."""
    return category != Category.VIEW and not (category == Category.CREATION and bytes_accessed == 0)


def row_kind(categories: Iterable[str]) -> str:
    """The kind a row of several ops is shown as: the first of ``categories``, which
    ``Report.layers`` orders heaviest first (most FLOPs, then most bytes); a row that runs no
    op (it only holds parameters, or views) is a ``view``."""
    return next(iter(categories), Category.VIEW)
