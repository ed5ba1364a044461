"""Structural facts of MobileNetV3-Large / -Small (Howard et al. 2019, Tables 1 and 2)."""

from __future__ import annotations

from functools import lru_cache

import pytest
import torch
from torch import nn

from costlab.zoo import create_model
from costlab.zoo._layers import SqueezeExcite
from costlab.zoo.mobilenet_v3 import InvertedResidual, mobilenet_v3

# "exp size" column of each bneck row.
LARGE_EXP = [16, 64, 72, 72, 120, 120, 240, 200, 184, 184, 480, 672, 672, 960, 960]  # Table 1
SMALL_EXP = [16, 72, 88, 96, 240, 240, 120, 144, 288, 576, 576]  # Table 2
# "#out" column.
LARGE_OUT = [16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 160, 160, 160]
SMALL_OUT = [16, 24, 24, 40, 40, 40, 48, 48, 96, 96, 96]
# "SE" column (check marks).
LARGE_SE = [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]
SMALL_SE = [1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
# "NL" column: True where the table says HS (hard-swish), False for RE (ReLU).
LARGE_HS = [False] * 6 + [True] * 9
SMALL_HS = [False] * 3 + [True] * 8
# "Input" column resolution and "s" column of each bneck row (224x224 image).
LARGE_IN = [112, 112, 56, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7]
LARGE_STRIDE = [1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1]
SMALL_IN = [112, 56, 28, 28, 14, 14, 14, 14, 14, 7, 7]
SMALL_STRIDE = [2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1]

TABLES = {
    "mobilenet_v3_large": (LARGE_EXP, LARGE_OUT, LARGE_SE, LARGE_HS, 960, 1280),
    "mobilenet_v3_small": (SMALL_EXP, SMALL_OUT, SMALL_SE, SMALL_HS, 576, 1024),
}
RESOLUTIONS = {
    "mobilenet_v3_large": (LARGE_IN, LARGE_STRIDE),
    "mobilenet_v3_small": (SMALL_IN, SMALL_STRIDE),
}


@lru_cache(maxsize=None)
def _meta(name: str, width_mult: float = 1.0) -> nn.Module:
    """Built once per test session; the tests only read the structure."""
    with torch.device("meta"):
        return create_model(name, width_mult=width_mult)


@lru_cache(maxsize=None)
def _shapes(name: str) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], tuple[int, ...]]:
    """(bneck input shapes, bneck output shapes, shape of ``features``) for one meta forward at 224."""
    model = _meta(name)
    ins: list[tuple[int, ...]] = []
    outs: list[tuple[int, ...]] = []

    def record(module: nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> None:
        ins.append(tuple(args[0].shape))
        outs.append(tuple(out.shape))

    handles = [b.register_forward_hook(record) for b in _bnecks(model)]
    try:
        with torch.device("meta"):
            feats = model.features(torch.empty(1, 3, 224, 224))
    finally:
        for h in handles:
            h.remove()
    return ins, outs, tuple(feats.shape)


def _bnecks(model: nn.Module) -> list[InvertedResidual]:
    return [m for m in model.modules() if isinstance(m, InvertedResidual)]


def _depthwise(block: InvertedResidual) -> nn.Conv2d:
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(convs) == 1
    return convs[0]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_bneck_rows_follow_the_table(name: str) -> None:
    exp, out, _, _, _, _ = TABLES[name]
    blocks = _bnecks(_meta(name))
    assert len(blocks) == len(exp)  # 15 rows in Table 1, 11 in Table 2
    assert [_depthwise(b).out_channels for b in blocks] == exp
    assert [b.out_channels for b in blocks] == out


@pytest.mark.parametrize("name", sorted(TABLES))
def test_expansion_conv_only_when_exp_differs_from_input(name: str) -> None:
    # Row 1 of both tables has exp size 16 == its input (the 16-channel stem): no 1x1 expansion,
    # so the only dense 1x1 conv outside SE is the projection; every other row has two.
    for i, block in enumerate(_bnecks(_meta(name))):
        dense_1x1 = [
            m
            for path, m in block.named_modules()
            if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and ".fc" not in path
        ]
        assert len(dense_1x1) == (1 if i == 0 else 2)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_squeeze_excite_where_the_table_checks_it(name: str) -> None:
    _, _, se, _, _, _ = TABLES[name]
    blocks = _bnecks(_meta(name))
    has_se = [int(any(isinstance(m, SqueezeExcite) for m in b.modules())) for b in blocks]
    assert has_se == se
    # 8 SE blocks in Large (3 at 40 ch, 2 at 112, 3 at 160); 9 in Small (row 1 and rows 4-11)
    assert sum(has_se) == {"mobilenet_v3_large": 8, "mobilenet_v3_small": 9}[name]
    se_gates = [m.gate for m in _meta(name).modules() if isinstance(m, SqueezeExcite)]
    assert all(isinstance(g, nn.Hardsigmoid) for g in se_gates)


@pytest.mark.parametrize(
    ("name", "expanded", "squeeze"),
    [
        # torchvision: make_divisible(exp // 4, 8)
        ("mobilenet_v3_large", 72, 24),  # 72//4 = 18 -> 16 is < 0.9*18, so 24
        ("mobilenet_v3_large", 120, 32),  # 30 -> 32
        ("mobilenet_v3_large", 672, 168),  # 168 already a multiple of 8
        ("mobilenet_v3_small", 16, 8),  # 4 -> at least the divisor, 8
        ("mobilenet_v3_small", 144, 40),  # 36 -> 40
    ],
)
def test_squeeze_channels(name: str, expanded: int, squeeze: int) -> None:
    ses = [m for m in _meta(name).modules() if isinstance(m, SqueezeExcite)]
    matching = [se for se in ses if se.fc1.in_channels == expanded]
    assert matching
    assert all(se.fc1.out_channels == squeeze for se in matching)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_hard_swish_where_the_table_says_hs(name: str) -> None:
    _, _, _, hs, _, _ = TABLES[name]
    model = _meta(name)
    for block, use_hs in zip(_bnecks(model), hs, strict=True):
        # SE keeps its internal ReLU, so look only outside the SE module.
        acts = [
            m
            for path, m in block.named_modules()
            if isinstance(m, (nn.ReLU, nn.Hardswish)) and ".fc" not in path and "activation" not in path
        ]
        assert acts
        assert all(isinstance(a, nn.Hardswish if use_hs else nn.ReLU) for a in acts)
    # Tables 1/2: the stem (conv2d, 16, HS) and the last 1x1 conv are hard-swish too.
    assert isinstance(model.features[0][2], nn.Hardswish)
    assert isinstance(model.features[-1][2], nn.Hardswish)


@pytest.mark.parametrize("name", sorted(RESOLUTIONS))
def test_resolution_and_stride_per_row(name: str) -> None:
    in_res, strides = RESOLUTIONS[name]
    ins, outs, _ = _shapes(name)
    assert [shape[-1] for shape in ins] == in_res
    assert [shape[-1] for shape in outs] == [r // s for r, s in zip(in_res, strides, strict=True)]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_head(name: str) -> None:
    _, _, _, _, last_conv, hidden = TABLES[name]
    model = _meta(name)
    # stem + four stride-2 bnecks: 224 / 2**5 = 7, the "7^2 x 960" / "7^2 x 576" rows
    assert _shapes(name)[2] == (1, last_conv, 7, 7)
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(last_conv, hidden), (hidden, 1000)]
    assert any(isinstance(m, nn.Hardswish) for m in model.classifier)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.classifier)  # the paper's "NBN"


@pytest.mark.parametrize(("name", "residuals"), [("mobilenet_v3_large", 10), ("mobilenet_v3_small", 6)])
def test_residual_only_when_shape_is_kept(name: str, residuals: int) -> None:
    # Large: stride-1 rows whose #out equals the previous #out: rows 1,3,5,6,8,9,10,12,14,15 -> 10.
    # Small: rows 3,5,6,8,10,11 -> 6 (row 1 has stride 2).
    blocks = _bnecks(_meta(name))
    assert sum(b.use_res_connect for b in blocks) == residuals
    ins, outs, _ = _shapes(name)
    assert all(b.use_res_connect == (i == o) for b, i, o in zip(blocks, ins, outs, strict=True))


def test_width_multiplier_scales_channels() -> None:
    # torchvision's rule: every channel count c -> make_divisible(c * 0.5, 8).
    model = _meta("mobilenet_v3_large", width_mult=0.5)
    assert model.features[0][0].out_channels == 8  # 16 * 0.5
    assert _bnecks(model)[-1].out_channels == 80  # 160 * 0.5
    assert model.features[-1][0].out_channels == 480  # 6 * 80
    assert model.classifier[0].out_features == 640  # 1280 * 0.5


def test_real_forward_and_unknown_arch() -> None:
    model = mobilenet_v3("small", num_classes=10).eval()
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    with pytest.raises(ValueError, match="arch"):
        mobilenet_v3("medium")  # not a variant, on purpose
