"""Every registered zoo model, by parametrisation: builds on meta and on CPU, matches its published
parameter and MAC counts, and agrees with fvcore on convolution + linear MACs."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pytest
import torch

import costlab
from costlab.zoo import create_model, get_entry, list_models

M, G = 1e6, 1e9


@dataclass(frozen=True)
class Published:
    """A published figure and how closely it must be met.

    ``params`` exact (torchvision parity) or ``params_rel`` relative; ``macs`` within ``macs_rel`` or
    half a unit of the last digit the source prints (``macs_digit``), whichever is looser: torchvision
    prints 0.057 GFLOPS for 56.51 M, which is exact to the digits it gives.
    """

    params: float
    macs: float
    source: str
    params_rel: float = 0.0
    macs_rel: float = 0.005
    macs_digit: float = 0.0


def tv(params: int, macs_g: float, digit: float = 0.001 * G) -> Published:
    return Published(params, macs_g * G, "torchvision", 0.0, 0.005, digit)


def paper(params: float | None, macs: float, source: str, params_rel: float = 0.03) -> Published:
    return Published(params, macs, source, params_rel, 0.03)


PUBLISHED = {
    "squeezenet1_0": tv(1_248_424, 0.819),
    "squeezenet1_1": tv(1_235_496, 0.349),
    # MobileNet v1 Table 6 / the TF-slim table; the paper's 0.75 row says 325 M (slim: 317 M)
    "mobilenet_v1": paper(4.24 * M, 569 * M, "MobileNet v1 Table 6"),
    "mobilenet_v1_x0_75": paper(2.59 * M, 317 * M, "TF-slim table"),
    "mobilenet_v1_x0_5": paper(1.34 * M, 150 * M, "MobileNet v1 Table 6"),
    "mobilenet_v1_x0_25": paper(0.47 * M, 41 * M, "TF-slim table"),
    "mobilenet_v2": tv(3_504_872, 0.301),
    # widths follow torchvision's structure; slim's parameter counts leave out BN's scale and shift (≈1%)
    "mobilenet_v2_x0_35": paper(1.66 * M, 59 * M, "MobileNetV2 / TF-slim table"),
    "mobilenet_v2_x0_5": paper(1.95 * M, 97 * M, "MobileNetV2 / TF-slim table"),
    "mobilenet_v2_x0_75": paper(2.61 * M, 209 * M, "MobileNetV2 / TF-slim table"),
    "mobilenet_v2_x1_4": paper(6.06 * M, 582 * M, "MobileNetV2 / TF-slim table"),
    "mobilenet_v3_large": tv(5_483_032, 0.217),
    "mobilenet_v3_small": tv(2_542_856, 0.057),
    # ShuffleNet v1 Table 2 (MFLOPs there are MACs); the paper gives no parameter counts: g=3 ≈ 1.9 M
    "shufflenet_v1_g1": paper(None, 143 * M, "ShuffleNet Table 2"),
    "shufflenet_v1_g2": paper(None, 140 * M, "ShuffleNet Table 2"),
    "shufflenet_v1_g3": paper(1.9 * M, 137 * M, "ShuffleNet Table 2", params_rel=0.05),
    "shufflenet_v1_g4": paper(None, 133 * M, "ShuffleNet Table 2"),
    "shufflenet_v1_g8": paper(None, 137 * M, "ShuffleNet Table 2"),
    "shufflenet_v1_g3_x0_5": paper(None, 38 * M, "ShuffleNet Table 1"),
    "shufflenet_v1_g3_x1_5": paper(None, 292 * M, "ShuffleNet Table 1"),
    "shufflenet_v1_g3_x2_0": paper(None, 524 * M, "ShuffleNet Table 1"),
    "shufflenet_v2_x0_5": tv(1_366_792, 0.040),
    "shufflenet_v2_x1_0": tv(2_278_604, 0.145),
    "shufflenet_v2_x1_5": tv(3_503_624, 0.296),
    "shufflenet_v2_x2_0": tv(7_393_996, 0.583),
    # Keras Xception's trainable count (BN running statistics are buffers, not parameters)
    "xception": Published(22_855_952, 8.4 * G, "Xception Table 3 / Keras", 0.0, 0.03),
    "ghostnet": paper(5.2 * M, 141 * M, "GhostNet Table 7"),
    "alexnet": tv(61_100_840, 0.714),
    "vgg16": tv(138_357_544, 15.47, digit=0.01 * G),
    "resnet18": Published(11_689_512, 1_814_073_344, "torchvision", 0.0, 0.0),
    "resnet50": tv(25_557_032, 4.089),
}

MODELS = list_models()


def test_every_registered_model_has_a_published_reference():
    assert sorted(MODELS) == sorted(PUBLISHED)


def test_the_seed_families_are_all_there():
    for pattern in ("squeezenet*", "mobilenet_v1*", "mobilenet_v2*", "mobilenet_v3*", "shufflenet_v1*",
                    "shufflenet_v2*", "xception", "ghostnet"):
        assert fnmatch.filter(MODELS, pattern), pattern


@pytest.mark.parametrize("name", MODELS)
def test_params_and_macs_match_the_published_figures(name):
    ref = PUBLISHED[name]
    totals = costlab.profile(name).totals
    if ref.params is not None:
        if ref.params_rel == 0.0:
            assert totals.params == ref.params
        else:
            assert totals.params == pytest.approx(ref.params, rel=ref.params_rel)
    tolerance = max(ref.macs_rel * ref.macs, ref.macs_digit / 2)
    assert abs(totals.macs - ref.macs) <= tolerance, f"{totals.macs / M:.2f} M vs {ref.macs / M:.2f} M ({ref.source})"


@pytest.mark.parametrize("name", MODELS)
def test_forward_on_a_small_real_input(name):
    entry = get_entry(name)
    side = 96 if name == "xception" else 64
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, entry.input_shape[1], side, side))
    assert out.shape == (1, 1000)
    assert torch.isfinite(out).all()


FVCORE_MAC_OPS = ("conv", "linear", "addmm", "matmul", "bmm", "einsum")


@pytest.mark.parametrize("name", MODELS)
def test_conv_and_linear_macs_agree_with_fvcore(name):
    fvcore = pytest.importorskip("fvcore.nn")
    side = 96 if name == "xception" else 64  # MACs scale with the input; a small one keeps this fast
    model = create_model(name).eval()
    x = torch.randn(1, 3, side, side)
    analysis = fvcore.FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    theirs = sum(count for op, count in analysis.by_operator().items() if op in FVCORE_MAC_OPS)
    ours = costlab.profile(model, f"1x3x{side}x{side}").by_category()
    mine = sum(ours.get(c, {}).get("macs", 0) for c in ("conv", "depthwise_conv", "matmul"))
    assert mine == theirs
