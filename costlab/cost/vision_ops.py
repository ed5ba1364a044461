"""Cost formulas for torchvision's compiled ops: ``torchvision::nms``, ``roi_align``, ``roi_pool``.

They are registered in :mod:`costlab.cost.formulas`' registry by name (the ops exist only once
torchvision is imported, and costlab never imports it for you), and reports name them by their
namespace: ``torchvision.nms``. Each formula follows its CPU kernel; where the work depends on the
data (which boxes NMS suppresses, the bins of an adaptive ROI grid) the note says what is counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from costlab.cost.formulas import Category, OpCost, bytes_of, nbytes, register, tensors

__all__ = ["BILINEAR_FLOPS", "IOU_FLOPS", "nms", "roi_align", "roi_pool"]

IOU_FLOPS = 13
"""One IoU test in the NMS kernel: 2 max and 2 min (the intersection's corners), 2 subtractions and
2 clamps at 0 (its width and height), 1 product (its area), 1 add and 1 subtract (the union), 1
divide and 1 comparison with the threshold."""

BILINEAR_FLOPS = 8
"""One ROI Align sample: 4 weighted taps (4 products, 3 adds) and its add into the bin's sum; the
bin's divide by its sample count replaces the first sample's add (8·s per output for s samples)."""


@register("torchvision::nms")
def nms(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    """``nms(boxes[N, 4], scores[N], iou_threshold)``: ``3N + 13·N(N−1)/2`` FLOPs.

    The kernel computes each box's area (2 subtractions, 1 product) and, after sorting by score,
    tests every later box against each box it keeps. NB: counted as the worst case, every pair
    tested (no box suppressed): the kernel skips boxes already suppressed, and which ones are
    depends on the data, which the meta device does not have. The sort moves data, no FLOPs.
    """
    n = args[0].shape[0]
    flops = 3 * n + IOU_FLOPS * n * (n - 1) // 2
    return OpCost(Category.REDUCTION, flops=flops, bytes_read=bytes_of(args[:2]), bytes_written=bytes_of([out]))


def _roi_sizes(rois: Any, scale: float, aligned: bool) -> tuple[list[float], list[float]]:
    """Each ROI's height and width on the feature map (``rois`` rows are ``(batch, x1, y1, x2, y2)``)."""
    heights, widths = [], []
    for _, x1, y1, x2, y2 in rois.detach().double().cpu().tolist():
        w, h = x2 * scale - x1 * scale, y2 * scale - y1 * scale  # aligned shifts both ends by 0.5
        widths.append(w if aligned else max(w, 1.0))
        heights.append(h if aligned else max(h, 1.0))
    return heights, widths


@register("torchvision::roi_align")
def roi_align(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    """``roi_align(x[N, C, H, W], rois[K, 5], scale, ph, pw, sampling_ratio, aligned)`` → ``[K, C, ph, pw]``:
    ``8·s`` FLOPs per output for ``s`` bilinear samples per bin (:data:`BILINEAR_FLOPS`).

    ``s = sampling_ratio²`` when it is positive (torchvision's detectors use 2: s = 4). Otherwise
    the grid adapts to each ROI, ``ceil(roi_h / ph) · ceil(roi_w / pw)`` samples, and is summed over
    the real ROIs. NB: on the meta device an adaptive grid is unknown: counted as 1 sample per bin.
    NB: the weights the kernel precomputes per (ROI, bin, sample) and shares across channels are not
    counted. Bytes: the ROIs, and the 4 taps of each sample (at most the whole input), are read.
    """
    x, rois = args[0], args[1]
    scale, ph, pw, ratio, aligned = float(args[2]), int(args[3]), int(args[4]), int(args[5]), bool(args[6])
    channels = x.shape[1]
    if ratio > 0:
        samples = rois.shape[0] * ph * pw * ratio * ratio
    elif rois.is_meta:
        samples = rois.shape[0] * ph * pw
    else:
        heights, widths = _roi_sizes(rois, scale, aligned)
        samples = sum(ph * pw * math.ceil(h / ph) * math.ceil(w / pw) for h, w in zip(heights, widths))
    samples *= channels
    taps = min(nbytes(x), 4 * samples * x.element_size())
    return OpCost(
        Category.RESAMPLE, flops=BILINEAR_FLOPS * samples, bytes_read=taps + nbytes(rois), bytes_written=bytes_of([out])
    )


def _round(value: float) -> int:
    """C's ``round``: halves away from zero (Python's ``round`` takes them to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _bin_lengths(start: int, size: int, bins: int, limit: int) -> int:
    """Σ over ``bins`` of each ROI Pool bin's length along one axis (the C++ kernel's bounds)."""
    bin_size = size / bins
    total = 0
    for i in range(bins):
        low = min(max(math.floor(i * bin_size) + start, 0), limit)
        high = min(max(math.ceil((i + 1) * bin_size) + start, 0), limit)
        total += max(high - low, 0)
    return total


@register("torchvision::roi_pool")
def roi_pool(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    """``roi_pool(x[N, C, H, W], rois[K, 5], scale, ph, pw)`` → ``([K, C, ph, pw], argmax)``: one
    comparison per input element of each bin, ``C · Σ_rois (Σ bin heights)(Σ bin widths)``.

    A ROI spans ``round(x1·scale) … round(x2·scale)`` (at least 1 wide), cut into ``pw`` bins of
    ``floor(i·w/pw) … ceil((i+1)·w/pw)``, clipped to the map. NB: on the meta device the ROIs are
    unknown: counted as 1 comparison per output. Bytes: the ROIs and the compared elements (at most
    the whole input) are read; the output and its argmax indices written.
    """
    x, rois = args[0], args[1]
    scale, ph, pw = float(args[2]), int(args[3]), int(args[4])
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    if rois.is_meta:
        compared = rois.shape[0] * ph * pw
    else:
        compared = 0
        for _, x1, y1, x2, y2 in rois.detach().double().cpu().tolist():
            left, top = _round(x1 * scale), _round(y1 * scale)
            roi_w, roi_h = max(_round(x2 * scale) - left + 1, 1), max(_round(y2 * scale) - top + 1, 1)
            compared += _bin_lengths(top, roi_h, ph, height) * _bin_lengths(left, roi_w, pw, width)
    compared *= channels
    read = min(nbytes(x), compared * x.element_size()) + nbytes(rois)
    return OpCost(Category.REDUCTION, flops=compared, bytes_read=read, bytes_written=bytes_of(tensors([out])))
