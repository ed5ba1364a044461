"""costlab.timing: statistics of a Measurement, block sizing, devices and dtypes, per-layer times and
the category breakdown, device peaks and their cache.

No test claims one thing is faster than another: timings are checked for structure, and the
statistics on synthetic samples whose median, IQR and quantiles are worked out by hand.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from torch import nn

import costlab
from costlab.errors import CostlabError, ForwardError, InputSpecError
from costlab.stats import quantile
from costlab.timing.devices import DeviceError, fixed_threads, resolve_device, resolve_dtype
from costlab.timing.layers import LayerAlignmentError, measure_layers
from costlab.timing.machine import (
    KNOWN_DEVICES,
    MachinePeaks,
    cache_dir,
    cache_path,
    known_spec,
    load_cached,
    machine_peaks,
    measure_peaks,
    spec_for,
    store,
)
from costlab.timing.measure import (
    MIN_SAMPLES,
    Measurement,
    TimingSpec,
    block_size,
    measure_latency,
    parse_batches,
)
from tests.conftest import TINY_NET

TINY = TINY_NET
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when there is no CUDA GPU")
FAST = 0.02  # seconds of timed runs: enough for structure, not for numbers


def spec(batch: int = 4) -> TimingSpec:
    return TimingSpec(
        model="m",
        input_shapes=((batch, 3, 8, 8),),
        device="cpu",
        device_name="test cpu",
        dtype="float32",
        threads=1,
        channels_last=False,
        min_time_s=1.0,
        torch_version=torch.__version__,
    )


def measurement(per_call_ms: list[float], number: int = 2, batch: int = 4) -> Measurement:
    """A Measurement whose per-call times are ``per_call_ms`` (raw block times are ``number`` × those)."""
    return Measurement(spec(batch), tuple(ms / 1e3 * number for ms in per_call_ms), number, warmup_runs=2)


# ------------------------------------------------------------------------------------------------
# statistics on synthetic samples
# ------------------------------------------------------------------------------------------------


def test_quantile_interpolates_linearly():
    # positions q·(n−1): median of 4 values sits halfway between the 2nd and 3rd
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    # 11 values 0..10: the p10 is at position 1.0 → 1, p90 at 9.0 → 9
    values = [float(v) for v in range(11)]
    assert quantile(values, 0.10) == pytest.approx(1.0)
    assert quantile(values, 0.90) == pytest.approx(9.0)
    # 5 values: p25 at position 1 → 2, p75 at position 3 → 4
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.25) == 2.0
    assert quantile([7.0], 0.9) == 7.0
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_measurement_statistics_of_a_known_list():
    # per-call times 10, 11, 12, 13, 14 ms (unsorted on purpose), blocks of 2 calls
    m = measurement([13.0, 10.0, 14.0, 12.0, 11.0], number=2, batch=4)
    assert m.times_s == pytest.approx((0.013, 0.010, 0.014, 0.012, 0.011))
    assert m.median_ms == pytest.approx(12.0)
    assert m.p25_ms == pytest.approx(11.0)  # position 0.25·4 = 1
    assert m.p75_ms == pytest.approx(13.0)  # position 3
    assert m.iqr_ms == pytest.approx(2.0)
    assert m.p10_ms == pytest.approx(10.4)  # position 0.4: 10 + 0.4·(11 − 10)
    assert m.p90_ms == pytest.approx(13.6)  # position 3.6: 13 + 0.6·(14 − 13)
    assert m.mean_ms == pytest.approx(12.0)
    assert m.min_ms == pytest.approx(10.0)
    assert m.samples == 5
    assert m.runs == 10  # 5 blocks × 2 calls
    assert m.throughput_per_s == pytest.approx(4 / 0.012)  # batch 4 at the 12 ms median: 333.3 images/s
    assert m.relative_iqr == pytest.approx(2 / 12)  # 16.7 %: over 10 %
    assert len(m.warnings) == 1 and "16.7%" in m.warnings[0]


def test_no_warning_when_the_spread_is_small():
    # 100, 101, 102, 103, 104 ms: IQR 2 ms = 2 % of the 102 ms median
    m = measurement([100.0, 101.0, 102.0, 103.0, 104.0])
    assert m.relative_iqr == pytest.approx(2 / 102)
    assert m.warnings == ()


def test_spec_and_measurement_are_frozen_and_serialise():
    m = measurement([1.0, 2.0, 3.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.number_per_run = 3  # a frozen record: this must raise
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.spec.threads = 8  # a frozen record: this must raise
    data = json.loads(json.dumps(m.to_dict()))
    assert data["median_ms"] == pytest.approx(2.0)
    assert data["times_ms"] == pytest.approx([1.0, 2.0, 3.0])
    assert data["batch"] == 4 and data["threads"] == 1 and data["runs"] == 6


def test_block_size_keeps_clock_overhead_small_but_leaves_enough_samples():
    # 1 µs overhead, 100 µs per call: ceil(1e-6 / (1e-3 · 1e-4)) = 10 calls per block
    assert block_size(per_call_s=1e-4, overhead_s=1e-6, min_time_s=1.0) == 10
    # a 50 ms call needs no blocking
    assert block_size(per_call_s=0.05, overhead_s=1e-6, min_time_s=1.0) == 1
    # 10 µs calls would want 100 per block (1 ms), but then only... 0.005 s / (10 · 1e-5) = 50 fit
    assert block_size(per_call_s=1e-5, overhead_s=1e-6, min_time_s=0.005) == 50
    assert block_size(per_call_s=0.0, overhead_s=1e-6, min_time_s=1.0) == 1


@pytest.mark.parametrize("text, expected", [("1", [1]), ("1,8,32", [1, 8, 32]), (" 2, 4 ", [2, 4]), ("1 8", [1, 8])])
def test_parse_batches(text, expected):
    assert parse_batches(text) == expected


@pytest.mark.parametrize("text", ["0", "1,0", "-1", "a", "", "1.5"])
def test_parse_batches_rejects_what_is_not_a_positive_integer(text):
    with pytest.raises(InputSpecError):
        parse_batches(text)


# ------------------------------------------------------------------------------------------------
# devices, dtypes, threads
# ------------------------------------------------------------------------------------------------


def test_cpu_resolves():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


@pytest.mark.parametrize("text", ["tpu", "gpu", "cpu:0", "cuda:x", "mps", ""])
def test_unknown_devices_are_one_clear_error(text):
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device(text)


@NO_CUDA
@pytest.mark.parametrize("text", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_says_so(text):
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device(text)


@CUDA
def test_cuda_resolves_and_a_missing_index_is_an_error():
    assert resolve_device("cuda").type == "cuda"
    with pytest.raises(DeviceError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_a_dtype_the_device_cannot_run_is_a_device_error(monkeypatch):
    from costlab.timing import devices

    def unsupported(device, dtype):
        raise RuntimeError("\"slow_conv2d_cpu\" not implemented for 'Half'\nmore detail")

    monkeypatch.setattr(devices, "_probe", unsupported)
    with pytest.raises(DeviceError, match="float16 does not run on cpu.*not implemented for 'Half'"):
        resolve_dtype("float16", torch.device("cpu"))


def test_fixed_threads_sets_and_restores():
    before = torch.get_num_threads()
    with fixed_threads(1) as used:
        assert used == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with fixed_threads(None) as used:
        assert used == before
    with pytest.raises(DeviceError), fixed_threads(0):
        pass


# ------------------------------------------------------------------------------------------------
# latency of a real (tiny) model
# ------------------------------------------------------------------------------------------------


def test_measure_latency_on_a_tiny_model():
    before = torch.get_num_threads()
    m = measure_latency(str(TINY), device="cpu", batch=2, threads=1, min_time_s=FAST)
    assert torch.get_num_threads() == before  # the thread count is put back
    assert m.spec.threads == 1 and m.spec.batch == 2
    assert m.spec.input_shapes == ((2, 3, 32, 32),)
    assert m.spec.device == "cpu" and m.spec.dtype == "float32" and m.spec.model == "tiny_net.py"
    assert m.samples >= MIN_SAMPLES and m.number_per_run >= 1 and m.warmup_runs >= 2
    assert all(t > 0 for t in m.raw_times_s)
    assert m.p10_ms <= m.p25_ms <= m.median_ms <= m.p75_ms <= m.p90_ms
    assert m.throughput_per_s == pytest.approx(2 / (m.median_ms / 1e3))


def test_measure_latency_times_a_copy_and_leaves_the_instance_as_it_was():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).double()  # training, float64
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(7)
    rng = torch.get_rng_state()
    m = measure_latency(model, "1x3x16x16", dtype="bfloat16", channels_last=True, threads=1, min_time_s=FAST)
    assert m.spec.dtype == "bfloat16" and m.spec.channels_last
    assert model.training and model[1].training  # not switched to eval
    after = model.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())
    assert model[0].weight.dtype == torch.float64
    assert model[0].weight.is_contiguous()  # not converted to channels-last
    assert torch.equal(torch.get_rng_state(), rng)  # the caller's RNG untouched


def test_a_forward_that_fails_at_a_dtype_is_one_clear_line():
    class NeedsFloat32(nn.Module):
        def forward(self, x):
            return torch.linalg.inv(x)  # no half-precision kernel

    with pytest.raises(ForwardError, match="forward failed on cpu at float16"):
        measure_latency(NeedsFloat32(), "1x4x4", dtype="float16", min_time_s=FAST)


def test_batch_zero_is_an_input_error():
    with pytest.raises(InputSpecError):
        measure_latency(str(TINY), batch=0, min_time_s=FAST)


@CUDA
def test_measure_latency_on_cuda():
    m = measure_latency(str(TINY), device="cuda", min_time_s=FAST)
    assert m.spec.device.startswith("cuda") and m.samples >= MIN_SAMPLES


# ------------------------------------------------------------------------------------------------
# per-layer times and the category breakdown
# ------------------------------------------------------------------------------------------------


def test_per_layer_times_line_up_with_the_report():
    report = costlab.profile(str(TINY))
    timing = measure_layers(str(TINY), report=report, threads=1, min_time_s=FAST)
    rows = report.layers()
    assert [(t.name, t.type, t.call) for t in timing.layers] == [(r.name, r.type, r.call) for r in rows]
    assert [t.category for t in timing.layers] == ["conv", "elementwise", "conv"]
    assert [t.flops for t in timing.layers] == [r.flops for r in rows]  # 450,560 / 8,192 / 2,375,680
    assert all(t.time_ms > 0 for t in timing.layers)
    assert sum(t.time_share for t in timing.layers) == pytest.approx(1.0)
    assert timing.layer_sum_ms == pytest.approx(sum(t.time_ms for t in timing.layers))
    conv1 = timing.layers[0]
    assert conv1.achieved_flops_per_s == pytest.approx(450_560 / (conv1.time_ms / 1e3))
    assert conv1.achieved_bytes_per_s == pytest.approx(45_952 / (conv1.time_ms / 1e3))
    assert timing.runs >= 5 and timing.model_ms == timing.latency.median_ms > 0
    assert timing.coverage == pytest.approx(timing.layer_sum_ms / timing.model_ms)
    assert timing.by_call()[rows[2].call] is timing.layers[2]
    # the breakdown: two convolutions and one ReLU, with profile's op counts; only kinds that ran
    kinds = {c.category: c for c in timing.categories}
    counted = report.by_category()
    assert {k: c.ops for k, c in kinds.items() if c.ops} == {k: e["ops"] for k, e in counted.items()}
    assert kinds["conv"].ops == 2 and kinds["elementwise"].ops == 1 and "depthwise_conv" not in kinds
    assert sum(c.share for c in timing.categories) == pytest.approx(1.0)
    assert timing.calls == sum(c.calls for c in timing.categories) >= 3
    assert sum(timing.op_ms.values()) == pytest.approx(sum(c.time_ms for c in timing.categories))
    # both are sums of the same per-op medians: they reconcile exactly
    assert sum(c.time_ms for c in timing.categories) == pytest.approx(timing.layer_sum_ms + timing.unattributed_ms)
    json.dumps(timing.to_dict())


def test_depth_zero_rolls_every_layer_into_the_model_row():
    timing = measure_layers(str(TINY), depth=0, threads=1, min_time_s=FAST)
    assert [t.name for t in timing.layers] == [""]
    assert timing.layers[0].time_share == pytest.approx(1.0)
    assert timing.layers[0].flops == 450_560 + 8_192 + 2_375_680


def test_depthwise_and_data_movement_are_told_apart():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
            self.pw = nn.Conv2d(8, 4, 1)

        def forward(self, x):
            return self.pw(torch.cat([self.dw(x), x], dim=1))  # the cat is the block's own op

    timing = measure_layers(Block(), "1x4x8x8", threads=1, min_time_s=FAST)
    kinds = {c.category: c.ops for c in timing.categories}
    assert kinds["depthwise_conv"] == 1 and kinds["conv"] == 1 and kinds["data_movement"] >= 1
    assert {t.name: t.category for t in timing.layers} == {"dw": "depthwise_conv", "": "data_movement", "pw": "conv"}


def test_a_real_model_is_timed_by_the_kinds_and_op_counts_profile_counts():
    # ShuffleNet V2's channel split is views, its shuffle a view and a copy: once the views were
    # timed as data movement (32 ops counted, 151 timed); now they are a line of their own
    report = costlab.profile("shufflenet_v2_x0_5")
    timing = measure_layers("shufflenet_v2_x0_5", report=report, threads=1, min_time_s=FAST)
    counted = {kind: entry["ops"] for kind, entry in report.by_category().items()}
    timed = {c.category: c.ops for c in timing.categories if c.ops}
    assert timed == counted
    assert counted["data_movement"] == 32  # 16 units, each a cat and the shuffle's contiguous copy (clone)
    views = next(c for c in timing.categories if c.category == "view")
    assert views.ops == 0 and views.calls > 0
    assert timing.call_floor_ms > 0 and timing.instrumentation_ms == pytest.approx(timing.calls * timing.call_floor_ms)


def test_a_report_for_another_input_is_refused():
    report = costlab.profile(str(TINY), "2x3x32x32")
    with pytest.raises(LayerAlignmentError, match="same input"):
        measure_layers(str(TINY), report=report, min_time_s=FAST)


@CUDA
def test_per_layer_times_on_cuda():
    timing = measure_layers(str(TINY), device="cuda", min_time_s=FAST)
    assert len(timing.layers) == 3 and timing.layer_sum_ms > 0


# ------------------------------------------------------------------------------------------------
# device peaks and the cache
# ------------------------------------------------------------------------------------------------


def peaks(**changes) -> MachinePeaks:
    base = MachinePeaks(
        device="cpu",
        device_name="Test CPU",
        dtype="float32",
        threads=2,
        peak_flops=100e9,
        bandwidth_bytes_per_s=10e9,
        copy_bytes_per_s=10e9,
        triad_bytes_per_s=9e9,
        gemm_size=1024,
        measured_at="2026-01-01T00:00:00+00:00",
        torch_version="2.x",
    )
    return dataclasses.replace(base, **changes)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("COSTLAB_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "costlab"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative paths are ignored
    assert cache_dir() == Path.home() / ".cache" / "costlab"
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_cache_round_trip(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    first, other = peaks(), peaks(dtype="bfloat16", peak_flops=400e9)
    assert load_cached(first.key) is None
    path = store(first)
    store(other)
    assert path == cache_path() and path.parent == tmp_path / "cache"
    loaded = load_cached(first.key)
    assert loaded == dataclasses.replace(first, cached=True)
    assert load_cached(other.key).peak_flops == 400e9
    assert first.ridge_flop_per_byte == pytest.approx(10.0)  # 100 GFLOP/s / 10 GB/s
    assert first.roofs().ridge_flop_per_byte == pytest.approx(10.0)
    assert "cached" not in json.loads(path.read_text())["entries"][first.key]


def test_a_corrupt_cache_counts_as_empty(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    cache_path().write_text("{not json")
    assert load_cached(peaks().key) is None
    store(peaks())  # and is replaced by a good one
    assert load_cached(peaks().key) is not None


def test_machine_peaks_measures_once_then_reuses(monkeypatch, tmp_path):
    from costlab.timing import machine

    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    calls = []

    def fake(device, dtype, threads):
        calls.append((device, dtype, threads))
        return peaks(device_name=machine.device_name(torch.device("cpu")), threads=threads)

    monkeypatch.setattr(machine, "measure_peaks", fake)
    first = machine_peaks("cpu", "float32", threads=1)
    again = machine_peaks("cpu", "fp32", threads=1)
    assert calls == [("cpu", "float32", 1)]
    assert not first.cached and again.cached and again.peak_flops == first.peak_flops
    machine_peaks("cpu", "float32", threads=1, refresh=True)
    assert len(calls) == 2


def test_a_real_cpu_measurement_with_a_small_budget():
    result = measure_peaks("cpu", "float32", threads=1, budget_s=0.2, buffer_bytes=8 * 2**20)
    assert result.peak_flops > 0 and result.bandwidth_bytes_per_s > 0 and result.threads == 1
    assert result.bandwidth_bytes_per_s == max(result.copy_bytes_per_s, result.triad_bytes_per_s)
    assert result.gemm_size in (512, 1024) and result.dtype == "float32" and not result.cached
    assert result.flops_spread >= 0 and result.bandwidth_spread >= 0  # (median - best) / best
    assert result.cache_levels is not None and all(rate > 0 for _, _, rate in result.cache_levels)


@CUDA
def test_a_real_cuda_measurement_with_a_small_budget():
    result = measure_peaks("cuda", "float16", budget_s=0.2, buffer_bytes=64 * 2**20)
    assert result.peak_flops > 0 and result.bandwidth_bytes_per_s > 0


@pytest.mark.parametrize(
    "name, key",
    [
        ("NVIDIA H100 80GB HBM3", "h100-sxm"),
        ("NVIDIA H100 PCIe", "h100-pcie"),
        ("NVIDIA H200", "h200"),
        ("NVIDIA A100-SXM4-80GB", "a100-80gb"),
        ("NVIDIA A100-PCIE-40GB", "a100-40gb"),
        ("NVIDIA A100 80GB PCIe", "a100-80gb-pcie"),
        ("NVIDIA A10", "a10"),
        ("NVIDIA L4", "l4"),
        ("Tesla T4", "t4"),
        ("NVIDIA GeForce RTX 4090", None),
    ],
)
def test_spec_sheets_match_torch_device_names(name, key):
    found = spec_for(name)
    assert (found.key if found else None) == key


def test_spec_sheet_roofs():
    h100 = known_spec("h100-sxm")
    roofs = h100.roofs("bfloat16")
    assert roofs.peak_flops == 989e12 and roofs.bandwidth_bytes_per_s == 3.35e12
    assert roofs.ridge_flop_per_byte == pytest.approx(989 / 3.35)  # ≈ 295 FLOP/B
    with pytest.raises(DeviceError, match="no bfloat16 peak"):
        known_spec("t4").roofs("bfloat16")  # Turing has no bfloat16 tensor cores
    with pytest.raises(CostlabError, match="known are"):
        known_spec("b200-made-up")
    assert len({spec.key for spec in KNOWN_DEVICES}) == len(KNOWN_DEVICES)
