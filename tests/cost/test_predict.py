"""Latency prediction as arithmetic: the kernel model families, op kinds, and pricing a Report.

Every expected number is worked out beside its test; nothing here times anything.
"""

from __future__ import annotations

import doctest
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import costlab
from costlab.cost import kernel_models, residency
from costlab.cost.kernel_models import RooflineModel, cross_validate, fit_family, fit_kind, model_from_dict, nnls
from costlab.cost.predict import (
    KINDS,
    Calibration,
    CalibrationError,
    OlderCalibration,
    kind_of,
    op_times_s,
    predict_latency,
)
from costlab.cost.residency import fresh_pages
from tests.conftest import TINY_NET, fake_calibration, profile_snippet


def test_doctests() -> None:
    assert doctest.testmod(kernel_models).failed == 0
    assert doctest.testmod(residency).failed == 0


# -- the families ------------------------------------------------------------------------------


def test_nnls_matches_least_squares_when_unconstrained_and_clamps_otherwise() -> None:
    # b = 2·x₁ + 3·x₂ exactly: the non-negative solution is the least-squares one, (2, 3)
    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert nnls(a, a @ np.array([2.0, 3.0])) == pytest.approx([2.0, 3.0])
    # b = 2·x₁ − 3·x₂: the second coefficient would be negative, so it is 0 and x₁ refits alone
    # on rows (1, 0, 1) against b = (2, −3, −1): x₁ = (2 − 1) / 2 = 0.5
    assert nnls(a, a @ np.array([2.0, -3.0])) == pytest.approx([0.5, 0.0])


def _sizes(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    flops = np.logspace(4, 9, n)
    return flops, flops / np.tile([0.5, 2.0, 8.0, 40.0], n // 4)  # intensities 0.5–40 FLOP/B at every size


def test_roofline_fit_recovers_fixed_cost_and_roofs() -> None:
    # t = 20 µs + max(F / 100 GFLOP/s, B / 10 GB/s), exactly: the fit finds the three numbers
    flops, nbytes = _sizes()
    t = 20e-6 + np.maximum(flops / 1e11, nbytes / 1e10)
    model = fit_family("roofline", flops, nbytes, np.zeros((40, 0)), t)
    assert isinstance(model, RooflineModel)
    assert model.fixed_s == pytest.approx(20e-6, rel=0.05)
    assert model.peak_flops == pytest.approx(1e11, rel=0.1)
    assert model.bandwidth_bytes_per_s == pytest.approx(1e10, rel=0.1)
    assert np.max(np.abs(model.predict_s(flops, nbytes, np.zeros((40, 0))) / t - 1)) < 0.05


def test_efficiency_fit_is_exact_on_a_linear_time() -> None:
    # t = 5 µs + F / 50 GFLOP/s + B / 20 GB/s is in the family (flat efficiency): fitted to 1e-6
    flops, nbytes = _sizes()
    t = 5e-6 + flops / 5e10 + nbytes / 2e10
    model = fit_family("efficiency", flops, nbytes, np.zeros((40, 0)), t)
    assert model.predict_s(flops, nbytes, np.zeros((40, 0))) == pytest.approx(t, rel=1e-6)
    assert model.fixed_s == pytest.approx(5e-6, rel=1e-3)


def test_efficiency_extrapolates_at_its_last_rate() -> None:
    # beyond the largest sample the time per FLOP stays what it was there: 10× the FLOPs, 10× the time
    flops, nbytes = _sizes()
    t = 5e-6 + flops / 5e10
    model = fit_family("efficiency", flops, nbytes, np.zeros((40, 0)), t)
    big = np.array([1e10, 1e11])
    predicted = model.predict_s(big, big / 40, np.zeros((2, 0)))
    assert predicted[1] / predicted[0] == pytest.approx(10, rel=0.01)


def test_boosted_learns_a_shape_effect_the_sizes_miss() -> None:
    # same FLOPs and bytes, but a feature (say, stride 2) doubles the time: only the trees can see it
    flops, nbytes = _sizes()
    stride = np.tile([1.0, 2.0], 20)
    t = (5e-6 + flops / 5e10) * stride
    x = stride[:, None]
    boosted = cross_validate("boosted", flops, nbytes, x, t)
    efficiency = cross_validate("efficiency", flops, nbytes, x, t)
    assert boosted.mape < 0.5 * efficiency.mape
    model, errors = fit_kind(flops, nbytes, x, t)
    assert model.family == "boosted" and errors[0].family == "boosted"  # the lowest CV error is kept, first
    assert [e.mape for e in errors] == sorted(e.mape for e in errors)


@pytest.mark.parametrize("family", kernel_models.FAMILIES)
def test_models_survive_their_json_form(family: str) -> None:
    flops, nbytes = _sizes()
    x = np.tile([1.0, 2.0], 20)[:, None]
    t = (5e-6 + flops / 5e10) * x[:, 0]
    model = fit_family(family, flops, nbytes, x, t)
    again = model_from_dict(model.to_dict())
    assert again.predict_s(flops, nbytes, x) == pytest.approx(model.predict_s(flops, nbytes, x))


def test_few_samples_keep_the_efficiency_model_with_its_leave_one_out_error() -> None:
    # t = 100 µs per MFLOP exactly, no fixed cost: every left-out sample is predicted exactly
    model, errors = fit_kind([1e6, 2e6, 4e6, 8e6], [1e5, 2e5, 4e5, 8e5], [[]] * 4, [1e-4, 2e-4, 4e-4, 8e-4])
    assert model.family == "efficiency" and len(errors) == 1 and errors[0].samples == 4
    assert errors[0].mape < 1e-6
    # with noise the leave-one-out error is honest (above 0), unlike an in-sample error of a 6-knot fit
    _, noisy = fit_kind([1e6, 2e6, 4e6, 8e6, 16e6], [1e5, 2e5, 4e5, 8e5, 16e5], [[]] * 5,
                        [1e-4, 2.6e-4, 3.5e-4, 9e-4, 15e-4])
    assert noisy[0].mape > 0.01


# -- kinds ---------------------------------------------------------------------------------------


def _kinds(fn, *shapes, **modules) -> list[str | None]:
    report = profile_snippet(fn, *shapes, **modules)
    return [kind_of(op) for op in report.ops]


@pytest.mark.parametrize(
    ("fn", "shapes", "modules", "kind"),
    [
        (lambda m, x: m["c"](x), [(1, 16, 28, 28)], {"c": nn.Conv2d(16, 32, 3, 2, 1)}, "conv_dense"),
        (lambda m, x: m["c"](x), [(1, 16, 28, 28)], {"c": nn.Conv2d(16, 32, 1)}, "conv_pointwise"),
        (lambda m, x: m["c"](x), [(1, 16, 28, 28)], {"c": nn.Conv2d(16, 32, 1, groups=4)}, "conv_grouped"),
        (lambda m, x: m["c"](x), [(1, 16, 28, 28)], {"c": nn.Conv2d(16, 16, 3, groups=16)}, "conv_depthwise"),
        (lambda m, x: m["c"](x), [(1, 16, 7, 7)], {"c": nn.ConvTranspose2d(16, 8, 2, 2)}, "conv_transposed"),
        (lambda m, x: m["b"](x), [(1, 16, 28, 28)], {"b": nn.BatchNorm2d(16)}, "batch_norm"),
        (lambda m, x: m["n"](x), [(1, 49, 64)], {"n": nn.LayerNorm(64)}, "normalization"),
    ],
)
def test_module_kinds(fn, shapes, modules, kind) -> None:
    assert kind in _kinds(fn, *shapes, **modules)


@pytest.mark.parametrize(
    ("fn", "shapes", "kind"),
    [
        (lambda x, w: x @ w, [(8, 64), (64, 32)], "linear"),
        (lambda x, w: torch.bmm(x, w), [(4, 8, 64), (4, 64, 32)], "bmm"),
        (lambda x: F.relu(x), [(1, 8, 4, 4)], "unary"),
        (lambda x: F.gelu(x), [(1, 8, 4, 4)], "unary_math"),
        (lambda x, y: x + y, [(1, 8, 4, 4), (1, 8, 4, 4)], "binary"),
        (lambda x, y: x * y, [(1, 8, 4, 4), (1, 8, 1, 1)], "binary_broadcast"),
        (lambda x: F.max_pool2d(x, 2), [(1, 8, 4, 4)], "pool"),
        (lambda x: x.mean((2, 3)), [(1, 8, 4, 4)], "reduction"),
        (lambda x: torch.softmax(x, -1), [(1, 8, 16)], "softmax"),
        (lambda x, y: torch.cat([x, y], 1), [(1, 8, 4, 4), (1, 8, 4, 4)], "cat"),
        (lambda x: x.view(1, 2, 4, 4, 4).transpose(1, 2).contiguous(), [(1, 8, 4, 4)], "copy"),
        (lambda x: F.pad(x, (1, 1, 1, 1)), [(1, 8, 4, 4)], "pad"),
        (lambda x: F.interpolate(x, scale_factor=2.0), [(1, 8, 4, 4)], "resample"),
        (lambda x: x.flatten(1), [(1, 8, 4, 4)], "view"),
    ],
)
def test_functional_kinds(fn, shapes, kind) -> None:
    assert kind in _kinds(fn, *shapes)


def test_fused_attention_kind() -> None:
    # NB: on the meta device torch decomposes attention (bmm, softmax, bmm); on a CPU it runs the fused kernel
    from tests.conftest import Snippet

    snippet = Snippet(lambda q, k, v: F.scaled_dot_product_attention(q, k, v))
    report = costlab.profile(snippet, input_shape=[(1, 2, 16, 32)] * 3, real=True)
    assert "attention" in [kind_of(op) for op in report.ops]


def test_every_kind_has_micro_benchmarks() -> None:
    from costlab.timing.kernels import CASES

    assert set(CASES) == set(KINDS)


# -- pricing a Report ----------------------------------------------------------------------------


def test_tiny_net_closed_form() -> None:
    # fake calibration: conv a = 10 µs, other kinds 5 µs; roofs 50 GFLOP/s and 5 GB/s
    # conv1: FLOPs 450,560, bytes 45,952   → 10 + max(9.0112, 9.1904) = 19.1904 µs
    # relu:  FLOPs   8,192, bytes 65,536   →  5 + max(0.16384, 13.1072) = 18.1072 µs
    # conv2: FLOPs 2,375,680, bytes 102,976 → 10 + max(47.5136, 20.5952) = 57.5136 µs
    # ops 94.8112 µs; overhead 3 + 2 µs × 4 module calls + 1 µs × 3 ops = 14 µs; model 108.8112 µs
    report = costlab.profile(str(TINY_NET))
    prediction = predict_latency(report, fake_calibration())
    assert [layer.predicted_ms for layer in prediction.layers] == pytest.approx([0.0191904, 0.0181072, 0.0575136])
    assert prediction.ops_ms == pytest.approx(0.0948112)
    assert prediction.overhead_ms == pytest.approx(0.014)
    assert prediction.predicted_ms == pytest.approx(0.1088112)
    assert prediction.unmodelled == {}
    data = prediction.to_dict()
    assert data["predicted_ms"] == pytest.approx(0.1088112)
    assert [row["predicted_ms"] for row in data["layers"]] == pytest.approx([0.0191904, 0.0181072, 0.0575136])


def test_an_op_without_a_model_is_priced_by_the_roofline_and_listed() -> None:
    # the fake calibration has no "pad" model: 1×8×4×4 → 1×8×6×6 reads 512 B and writes 1,152 B;
    # roofline 1,664 B / 10 GB/s = 0.1664 µs, plus the calibration's smallest fixed cost (views: 2 µs)
    report = profile_snippet(lambda x: F.pad(x, (1, 1, 1, 1)), (1, 8, 4, 4))
    prediction = predict_latency(report, fake_calibration())
    assert prediction.unmodelled == {"aten.constant_pad_nd": 1}
    assert prediction.by_kind_ms["roofline"] == pytest.approx((2 + 0.1664) * 1e-3)


@pytest.mark.parametrize("depth", [None, 1, 0])
def test_rows_add_up_to_the_ops(depth: int | None) -> None:
    prediction = predict_latency(costlab.profile("mobilenet_v2"), fake_calibration(), depth)
    rows = sum(layer.predicted_ms for layer in prediction.layers)
    assert rows + prediction.unattributed_ms == pytest.approx(prediction.ops_ms)
    # the model's own forward holds one view (its flatten, 2 µs): a row only at depth 0, the model itself
    assert prediction.unattributed_ms == pytest.approx(0.0 if depth == 0 else 0.002)
    assert sum(prediction.by_kind_ms.values()) == pytest.approx(prediction.ops_ms)
    assert all(ms > 0 for ms in prediction.by_kind_ms.values())


def test_another_dtype_is_refused() -> None:
    report = costlab.profile(str(TINY_NET), dtype="fp16")
    with pytest.raises(CalibrationError, match="calibrate at --dtype float16"):
        predict_latency(report, fake_calibration())


def test_calibration_survives_its_json_form() -> None:
    cal = fake_calibration()
    again = Calibration.from_dict(cal.to_dict())
    report = costlab.profile("shufflenet_v2_x0_5")
    assert predict_latency(report, again).predicted_ms == predict_latency(report, cal).predicted_ms
    assert again.key == cal.key and math.isclose(again.floor_s, 2e-6)


@pytest.mark.parametrize("data", [None, [], {"version": 99}, {"version": 2, "device": "cpu"}])
def test_a_malformed_calibration_is_one_error(data: object) -> None:
    with pytest.raises(CalibrationError):
        Calibration.from_dict(data)


def test_an_older_format_says_so() -> None:
    with pytest.raises(OlderCalibration, match="older costlab .calibration format 1, this one reads 2"):
        Calibration.from_dict({"version": 1, "device": "cpu"})


# -- the cache factor and fresh pages ---------------------------------------------------------------


def test_the_cache_factor_closed_form() -> None:
    # the relu of TINY_NET costs 18.1072 µs (test_tiny_net_closed_form); with unary's cold ratio 1.5
    # (the fake calibration's) and a footprint of 4 × a 1 MiB cache, 1 − 1/4 = 3/4 of it runs cold:
    # 18.1072 µs × (1 + 0.75 × 0.5) = 24.8974 µs; within the cache it stays 18.1072 µs
    report = costlab.profile(str(TINY_NET))
    cal = replace(fake_calibration(), cache_bytes=2**20)
    relu = next(i for i, op in enumerate(report.ops) if kind_of(op) == "unary")
    assert op_times_s(report.ops, cal, 4 * 2**20)[0][relu] == pytest.approx(18.1072e-6 * 1.375)
    assert op_times_s(report.ops, cal, 2**20)[0][relu] == pytest.approx(18.1072e-6)
    assert op_times_s(report.ops, replace(cal, cache_bytes=0), 4 * 2**20)[0][relu] == pytest.approx(18.1072e-6)
    # a model's footprint: TINY_NET's 224 + 1,168 = 1,392 parameters × 4 B + its largest op (conv2, 102,976 B),
    # under the cache: predict_latency leaves the relu alone
    assert residency.footprint(report) == 1_392 * 4 + 102_976 == 108_544
    assert predict_latency(report, cal).layers[1].predicted_ms == pytest.approx(0.0181072)


def test_fresh_pages_closed_form() -> None:
    # x * 2 on 10 × 1024 × 1024 floats writes a 40 MiB output: over a 32 MiB floor, 40 MiB / 4 KiB = 10,240
    # pages; in place (mul_) nothing new; a 64 MiB floor, or none (0), no fresh pages either
    big = profile_snippet(lambda x: x * 2, (10, 1024, 1024))
    in_place = profile_snippet(lambda x: x.mul_(2), (10, 1024, 1024))
    (op,) = [op for op in big.ops if kind_of(op) == "binary_broadcast" or kind_of(op) == "unary"]
    assert fresh_pages(op, 32 * 2**20) == 10_240
    assert fresh_pages(op, 64 * 2**20) == 0 and fresh_pages(op, 0) == 0
    assert all(fresh_pages(o, 32 * 2**20) == 0 for o in in_place.ops)
    # a batch norm over 8 × 96 × 112 × 112 floats (MobileNet V2's first expansion at batch 8) writes a
    # 38,535,168 B output and two 96-float statistics: the output alone is mapped, 9,408 pages
    norm = profile_snippet(nn.BatchNorm2d(96).eval(), (8, 96, 112, 112))
    (bn,) = [o for o in norm.ops if kind_of(o) == "batch_norm"]
    assert len(bn.output_shapes) == 3 and fresh_pages(bn, 32 * 2**20) == 38_535_168 // 4096 == 9_408
    # priced at 3 µs a page: 10,240 × 3 µs = 30.72 ms on top of the op's own time
    cal = fake_calibration()  # 3 µs a page over 32 MiB
    with_pages, without = predict_latency(big, cal), predict_latency(big, replace(cal, fresh_floor_bytes=0))
    assert with_pages.fresh_pages == 10_240 and with_pages.fresh_ms == pytest.approx(30.72)
    assert with_pages.ops_ms - without.ops_ms == pytest.approx(30.72)
    data = with_pages.to_dict()
    assert data["fresh_pages"] == 10_240 and data["fresh_memory_ms"] == pytest.approx(30.72)
