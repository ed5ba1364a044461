"""Small statistics used across costlab: quantiles of timings, rank correlation across models.

Pure functions of numbers (no numpy, no torch), each with its arithmetic in a doctest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["geomean", "quantile", "ranks", "relative_error", "spearman"]


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of already-sorted values, interpolating linearly (as ``torch.quantile``).

    >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5), quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.25)
    (2.5, 2.0)
    """
    if not sorted_values:
        raise ValueError("quantile of no values")
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank.

    >>> ranks([10.0, 30.0, 20.0, 30.0])   # 30 and 30 share ranks 3 and 4: 3.5 each
    [1.0, 3.5, 2.0, 3.5]
    """
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            result[order[position]] = shared
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's ρ: Pearson's correlation of the ranks (ties averaged). None for fewer than three
    pairs or when either side is constant (no ranking to compare).

    >>> spearman([1, 2, 3, 4], [10, 20, 30, 40]), spearman([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    """
    if len(xs) != len(ys):
        raise ValueError(f"spearman needs pairs: {len(xs)} x values, {len(ys)} y values")
    if len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mean = (len(xs) + 1) / 2  # the mean of ranks 1..n, ties or not
    cov = sum((a - mean) * (b - mean) for a, b in zip(rx, ry))
    spread = math.sqrt(sum((a - mean) ** 2 for a in rx) * sum((b - mean) ** 2 for b in ry))
    return cov / spread if spread else None


def geomean(values: Sequence[float]) -> float:
    """The geometric mean of positive numbers (how ratios average).

    >>> round(geomean([2.0, 8.0]), 6)   # sqrt(2 · 8) = 4
    4.0
    """
    if not values or min(values) <= 0:
        raise ValueError("geomean needs positive values")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def relative_error(predicted: float, measured: float | None) -> float | None:
    """How far a prediction is from its measurement: ``predicted / measured − 1`` (None when nothing
    was measured, or the measurement is not positive).

    >>> round(relative_error(12.0, 10.0), 9), round(relative_error(9.2, 10.0), 9), relative_error(1.0, 0.0)
    (0.2, -0.08, None)
    """
    if measured is None or not measured > 0:
        return None
    return predicted / measured - 1
