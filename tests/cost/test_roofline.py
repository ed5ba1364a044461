"""costlab.cost.roofline: the roofline arithmetic (worked by hand on the two-conv net) and the chart's points."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costlab
from costlab.cost.roofline import CacheRoof, RooflineChart, RooflinePoint, Roofs, chart, predict
from costlab.timing.layers import CategoryTime, LayerTime, LayerTiming
from costlab.timing.measure import Measurement, TimingSpec
from tests.conftest import TINY_NET

TINY = TINY_NET
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Roofs for the worked numbers: 1 GFLOP/s and 100 MB/s, so the ridge is at 1e9 / 1e8 = 10 FLOP/B.
ROOFS = Roofs(peak_flops=1e9, bandwidth_bytes_per_s=1e8, label="test roofs")

# tests/models/tiny_net.py at 1x3x32x32 (see tests/cli/test_cli.py for the counts):
#   conv1: 450,560 FLOPs over 45,952 B   → intensity 9.805 (left of the ridge: memory-bound)
#          compute 450,560 / 1e9 = 0.45056 ms; memory 45,952 / 1e8 = 0.45952 ms → 0.45952 ms
#   act:   8,192 FLOPs over 65,536 B     → intensity 0.125, memory-bound
#          compute 0.008192 ms; memory 65,536 / 1e8 = 0.65536 ms → 0.65536 ms
#   conv2: 2,375,680 FLOPs over 102,976 B → intensity 23.07 (right of the ridge: compute-bound)
#          compute 2.37568 ms; memory 1.02976 ms → 2.37568 ms
#   model: 0.45952 + 0.65536 + 2.37568 = 3.49056 ms predicted (sum of the layers)
#          totals 2,834,432 FLOPs over 214,464 B → single-roof bound max(2.834432, 2.14464) = 2.834432 ms
EXPECTED = [  # name, predicted ms, bound, intensity
    ("conv1", 0.45952, "memory", 450_560 / 45_952),
    ("act", 0.65536, "memory", 8_192 / 65_536),
    ("conv2", 2.37568, "compute", 2_375_680 / 102_976),
]


@pytest.fixture(scope="module")
def report():
    return costlab.profile(str(TINY))


def test_roofs_arithmetic():
    assert ROOFS.ridge_flop_per_byte == pytest.approx(10.0)
    assert ROOFS.attainable_flops(2.0) == pytest.approx(2e8)  # 2 FLOP/B · 100 MB/s, under the ridge
    assert ROOFS.attainable_flops(50.0) == pytest.approx(1e9)  # flat: the compute roof
    # 2 GFLOP over 100 MB: compute 2 s, memory 1 s → 2 s, compute-bound
    assert ROOFS.time_s(2e9, 1e8) == pytest.approx(2.0)
    assert ROOFS.bound(2e9, 1e8) == "compute"
    # 1 GFLOP over 1 GB: compute 1 s, memory 10 s → 10 s, memory-bound
    assert ROOFS.time_s(1e9, 1e9) == pytest.approx(10.0)
    assert ROOFS.bound(1e9, 1e9) == "memory"
    with pytest.raises(ValueError):
        Roofs(0.0, 1e9)


def test_predicted_latency_per_layer_and_model(report):
    prediction = predict(report, ROOFS)
    got = [(p.name, p.predicted_ms, p.bound, p.intensity) for p in prediction.layers]
    for (name, ms, bound, intensity), (g_name, g_ms, g_bound, g_intensity) in zip(EXPECTED, got):
        assert (g_name, g_bound) == (name, bound)
        assert g_ms == pytest.approx(ms)
        assert g_intensity == pytest.approx(intensity)
    assert [p.category for p in prediction.layers] == ["conv", "elementwise", "conv"]
    assert prediction.predicted_ms == pytest.approx(3.49056)
    assert prediction.bound_ms == pytest.approx(2.834432)
    assert prediction.bound_ms <= prediction.predicted_ms
    assert prediction.intensity == pytest.approx(2_834_432 / 214_464)
    data = prediction.to_dict()
    assert data["predicted_ms"] == pytest.approx(3.49056) and data["ridge_flop_per_byte"] == pytest.approx(10.0)
    assert data["input_shapes"] == [[1, 3, 32, 32]]


def test_depth_zero_predicts_one_row_for_the_whole_model(report):
    prediction = predict(report, ROOFS, depth=0)
    assert len(prediction.layers) == 1
    # one row holding all the work is bound by the totals alone: 2.834432 ms
    assert prediction.predicted_ms == pytest.approx(2.834432)


def test_predicted_chart_puts_every_layer_on_its_roof(report):
    prediction = predict(report, ROOFS)
    drawn = chart(prediction)
    assert not drawn.measured and drawn.hidden_layers == 0
    assert drawn.title == "tiny_net.py (1x3x32x32): predicted roofline"
    for point in drawn.points:
        assert point.flops_per_s == pytest.approx(ROOFS.attainable_flops(point.intensity))
    # shares of the 3.49056 ms: conv1 0.45952 / 3.49056 = 13.2 %
    assert drawn.points[0].time_share == pytest.approx(0.45952 / 3.49056)
    assert sum(p.time_share for p in drawn.points) == pytest.approx(1.0)
    # the model: 2,834,432 FLOPs in 3.49056 ms = 812.0 MFLOP/s
    assert drawn.model_point.flops_per_s == pytest.approx(2_834_432 / 3.49056e-3)


def synthetic_timing(prediction, times_ms: list[float], model_ms: float) -> LayerTiming:
    """A LayerTiming with hand-chosen times for the prediction's rows."""
    spec = TimingSpec("tiny_net.py", ((1, 3, 32, 32),), "cpu", "test", "float32", 1, False, 1.0, torch.__version__)
    latency = Measurement(spec, (model_ms / 1e3,) * 3, 1, 2)
    total = sum(times_ms)
    layers = tuple(
        LayerTime(p.name, p.type, p.depth, p.call, p.category, ms, ms / total, p.flops, p.bytes_accessed)
        for p, ms in zip(prediction.layers, times_ms)
    )
    categories = (CategoryTime("conv", total, 1.0, len(times_ms), len(times_ms)),)
    return LayerTiming(latency, layers, categories, 0.0, 5, None, {"aten.convolution": total})


def test_measured_chart_uses_achieved_rates(report):
    prediction = predict(report, ROOFS)
    timing = synthetic_timing(prediction, [1.0, 0.5, 2.5], model_ms=5.0)
    drawn = chart(prediction, timing.measured())
    assert drawn.measured and drawn.title.endswith("measured roofline")
    # conv1: 450,560 FLOPs in 1 ms = 450.56 MFLOP/s; share 1 / (1 + 0.5 + 2.5) = 25 %
    assert drawn.points[0].flops_per_s == pytest.approx(450.56e6)
    assert drawn.points[0].time_share == pytest.approx(0.25)
    # the model: 2,834,432 FLOPs in its 5 ms whole-model latency = 566.9 MFLOP/s
    assert drawn.model_point.flops_per_s == pytest.approx(2_834_432 / 5e-3)
    assert drawn.model_point.time_ms == pytest.approx(5.0)


def test_a_timing_of_other_rows_is_refused(report):
    prediction = predict(report, ROOFS)
    other = predict(report, ROOFS, depth=0)
    with pytest.raises(ValueError, match="same report and depth"):
        chart(other, synthetic_timing(prediction, [1.0, 1.0, 1.0], 3.0).measured())


def test_layers_without_flops_are_counted_not_drawn():
    class Concat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            return torch.cat([self.conv(x), x], dim=1)  # the cat: bytes, no FLOPs

    report = costlab.profile(Concat(), "1x4x8x8")
    drawn = chart(predict(report, ROOFS))
    assert [p.name for p in drawn.points] == ["conv"]
    assert drawn.hidden_layers == 1 and 0 < drawn.hidden_share < 1


# ------------------------------------------------------------------------------------------------
# cache roofs: a layer is judged against the bandwidth of the level its bytes fit in
# ------------------------------------------------------------------------------------------------

# 1 TFLOP/s, DRAM 20 GB/s; L1 32 KiB at 500 GB/s, L2 512 KiB at 200 GB/s, L3 32 MiB at 60 GB/s
CACHED = Roofs(
    1e12, 20e9, "cached roofs",
    cache_roofs=(CacheRoof("L1", 32 * 1024, 500e9), CacheRoof("L2", 512 * 1024, 200e9), CacheRoof("L3", 32 * 2**20, 60e9)),
)


def test_the_roof_is_the_smallest_level_that_holds_the_working_set():
    assert CACHED.bandwidth_for(32 * 1024) == 500e9  # exactly L1's capacity: still L1
    assert CACHED.bandwidth_for(32 * 1024 + 1) == 200e9  # one byte more: L2
    assert CACHED.bandwidth_for(100e3) == 200e9  # 100 KB ≤ 512 KiB = 524,288 B: L2
    assert CACHED.bandwidth_for(10e6) == 60e9  # 10 MB ≤ 32 MiB: L3
    assert CACHED.bandwidth_for(40e6) == 20e9  # 40 MB > 32 MiB = 33,554,432 B: DRAM
    assert CACHED.bandwidth_for(None) == 20e9  # no working set (the whole model): DRAM
    assert ROOFS.bandwidth_for(1) == ROOFS.bandwidth_bytes_per_s  # no cache roofs: DRAM whatever the size
    # a level measured slower than memory never lowers the roof below DRAM's
    slow = Roofs(1e12, 20e9, cache_roofs=(CacheRoof("L2", 512 * 1024, 5e9),))
    assert slow.bandwidth_for(100e3) == 20e9


def test_share_of_the_roof_a_layer_is_under():
    # a layer of 100 KB at intensity 0.25 FLOP/B (25 KFLOP) fits L2: roof 0.25 × 200 GB/s = 50 GFLOP/s
    assert CACHED.attainable_flops(0.25, 100e3) == pytest.approx(50e9)
    # it runs at 10 GFLOP/s (25 KFLOP in 2.5 µs): 10 / 50 = 20 % of its roof ...
    assert CACHED.share_of_roof(0.25, 10e9, 100e3) == pytest.approx(0.2)
    # ... where the DRAM roof, 0.25 × 20 GB/s = 5 GFLOP/s, would put it at 200 %: "above the roof"
    assert CACHED.share_of_roof(0.25, 10e9) == pytest.approx(2.0)
    # far right of every ridge the compute roof holds: 100 FLOP/B × 500 GB/s = 50 TFLOP/s > 1 TFLOP/s
    assert CACHED.attainable_flops(100.0, 1e3) == pytest.approx(1e12)


def test_cache_roofs_leave_the_dram_prediction_alone(report):
    plain, cached = predict(report, Roofs(1e12, 20e9)), predict(report, CACHED)
    assert [p.predicted_ms for p in cached.layers] == [p.predicted_ms for p in plain.layers]
    # the tiny net's layers move 45,952, 65,536 and 102,976 B: each ≤ 512 KiB and > 32 KiB, so under L2
    assert [p.roof_bytes_per_s for p in cached.layers] == [200e9, 200e9, 200e9]
    data = cached.to_dict()
    assert data["cache_roofs"][1] == {"level": "L2", "capacity_bytes": 524288, "bandwidth_bytes_per_s": 200e9}
    assert data["layers"][0]["roof_bytes_per_s"] == 200e9
    assert data["roofs_measured_at"] is None and data["roofs_cached"] is False


def test_measured_dots_are_judged_against_their_cache_roof(report):
    prediction = predict(report, CACHED)
    timing = synthetic_timing(prediction, [1.0, 0.5, 2.5], model_ms=5.0)
    drawn = chart(prediction, timing.measured())
    act = drawn.points[1]
    # act: 8,192 FLOPs in 0.5 ms = 16.384 MFLOP/s at 0.125 FLOP/B over 65,536 B (L2):
    # roof 0.125 × 200 GB/s = 25 GFLOP/s → 16.384e6 / 25e9 = 0.065536 %
    assert act.roof_share == pytest.approx(16.384e6 / 25e9)
    # the model's bytes are a sum over layers, not a working set: DRAM's roof, 13.22 FLOP/B × 20 GB/s
    model_roof = min(1e12, 2_834_432 / 214_464 * 20e9)
    assert drawn.model_point.roof_share == pytest.approx(2_834_432 / 5e-3 / model_roof)


def test_a_dot_on_its_roof_is_not_above_it_by_rounding():
    on = RooflinePoint("on", "Conv2d", "conv", 20.0, 1e9, 0.5, 1.0, roof_share=1.0000000000000002)  # flops/(flops/peak)
    over = RooflinePoint("over", "ReLU", "elementwise", 0.1, 1e8, 0.5, 1.0, roof_share=1.5)
    drawn = RooflineChart("t", ROOFS, (on, over), on, True, 0, 0.0)
    assert drawn.above_roof == (over,)
