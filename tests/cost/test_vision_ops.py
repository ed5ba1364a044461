"""torchvision's ops: closed-form formulas for nms / roi_align / roi_pool, names by namespace, free as_strided_."""

from __future__ import annotations

import torch
from torch import nn

import costlab
from costlab.cost import formulas, vision_ops
from costlab.cost.categories import Category

F32 = 4


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(shape, device="meta")


def test_nms_counts_every_pair_once() -> None:
    # N = 100 boxes: 3·100 (areas) + 13·100·99/2 (IoU tests) = 300 + 64,350 = 64,650 FLOPs
    boxes, scores, kept = meta(100, 4), meta(100), torch.empty(37, dtype=torch.int64, device="meta")
    cost = vision_ops.nms((boxes, scores, 0.5), {}, kept)
    assert cost.flops == 64_650 and cost.macs == 0
    assert cost.bytes_read == (400 + 100) * F32  # boxes and scores, once
    assert cost.bytes_written == 37 * 8  # the kept indices (int64)
    assert cost.category == Category.REDUCTION


def test_roi_align_with_a_fixed_sampling_ratio() -> None:
    # K = 10 ROIs over C = 256 channels, 7x7 bins, sampling_ratio 2 → s = 4 samples per bin:
    # samples = 10·256·49·4 = 501,760; FLOPs = 8 per sample = 4,014,080
    x, rois, out = meta(1, 256, 50, 50), meta(10, 5), meta(10, 256, 7, 7)
    cost = vision_ops.roi_align((x, rois, 0.25, 7, 7, 2, True), {}, out)
    assert cost.flops == 4_014_080 and cost.macs == 0
    # each sample reads 4 taps: 4·501,760 = 2,007,040 elements > the 640,000 of x: x once, and the ROIs
    assert cost.bytes_read == (256 * 50 * 50 + 50) * F32
    assert cost.bytes_written == 10 * 256 * 49 * F32
    assert cost.category == Category.RESAMPLE


def test_roi_align_adaptive_grid_from_real_rois() -> None:
    # sampling_ratio 0: ceil(roi_h / ph) · ceil(roi_w / pw) samples per bin. ROI (0, 0, 0, 40, 20) at
    # scale 0.5 is 20 wide and 10 high on the map; 2x2 bins: ceil(10/2)·ceil(20/2) = 5·10 = 50 samples
    # per bin; 4 bins · 3 channels · 50 = 600 samples; FLOPs 8·600 = 4,800
    x = torch.zeros(1, 3, 32, 32)
    rois = torch.tensor([[0.0, 0.0, 0.0, 40.0, 20.0]])
    out = torch.zeros(1, 3, 2, 2)
    assert vision_ops.roi_align((x, rois, 0.5, 2, 2, 0, False), {}, out).flops == 4_800
    # on meta the grid is unknown: 1 sample per bin, 4 bins · 3 channels · 8 = 96
    assert vision_ops.roi_align((x.to("meta"), rois.to("meta"), 0.5, 2, 2, 0, False), {}, out).flops == 96


def test_roi_pool_compares_every_element_of_every_bin() -> None:
    # ROI (0, 2, 2, 9, 5) at scale 1: x from round(2)=2 to round(9)=9 → 8 wide; y 2…5 → 4 high.
    # 2x2 bins: widths floor(0)…ceil(4) = 4 and floor(4)…ceil(8) = 4 → Σ 8; heights 2 + 2 → Σ 4.
    # compared = C · 8 · 4 = 5 · 32 = 160
    x = torch.zeros(1, 5, 16, 16)
    rois = torch.tensor([[0.0, 2.0, 2.0, 9.0, 5.0]])
    out = (torch.zeros(1, 5, 2, 2), torch.zeros(1, 5, 2, 2, dtype=torch.int64))
    cost = vision_ops.roi_pool((x, rois, 1.0, 2, 2), {}, out)
    assert cost.flops == 160
    assert cost.bytes_read == 160 * F32 + 5 * F32
    assert cost.bytes_written == 20 * F32 + 20 * 8  # the output and its argmax
    # C's round takes halves away from zero: 2.5 → 3 (Python's round would give 2)
    assert vision_ops._round(2.5) == 3 and vision_ops._round(-2.5) == -3


def test_library_ops_are_found_by_name_and_named_by_namespace() -> None:
    # an op in another namespace, defined here, given a formula by name: found on its first call,
    # and reported as "costlabtest.double", not "aten.double"
    library = torch.library.Library("costlabtest", "DEF")
    library.define("double(Tensor x) -> Tensor")
    library.impl("double", lambda x: x * 2, "CPU")
    library.impl("double", lambda x: torch.empty_like(x), "Meta")

    @formulas.register("costlabtest::double")
    def double(args, kwargs, out):
        return OpCostOne(out)

    class Doubler(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.costlabtest.double(x)

    try:
        report = costlab.profile(Doubler(), "2x3")
        assert [op.op for op in report.ops] == ["costlabtest.double"]
        assert report.totals.flops == 6  # one per element of the 2x3 output
        assert report.unsupported_ops == {}
    finally:
        formulas.FORMULAS.pop("costlabtest::double")
        formulas.FORMULAS.pop(torch.ops.costlabtest.double, None)


def OpCostOne(out: torch.Tensor) -> formulas.OpCost:
    return formulas.OpCost(Category.ELEMENTWISE, flops=out.numel())


def test_as_strided_in_place_is_free() -> None:
    # what pooling on a channels-last input runs: a metadata change, no bytes, never "unsupported"
    x = torch.empty(1, 4, 6, 6, device="meta")
    assert formulas.is_free(torch.ops.aten.as_strided_.default)
    report = costlab.profile(nn.AdaptiveAvgPool2d(1), inputs=x.contiguous(memory_format=torch.channels_last))
    assert [op.op for op in report.ops] == ["aten.mean", "aten.as_strided_"]
    assert report.unsupported_ops == {}
    assert report.ops[1].cost.bytes_accessed == 0
