"""Structural facts of GhostNet 1.0x (Han et al. 2020, Table 1) and of its Ghost module."""

from __future__ import annotations

from functools import lru_cache

import pytest
import torch
from torch import nn

from costlab.zoo import create_model
from costlab.zoo._layers import SqueezeExcite
from costlab.zoo.ghostnet import GhostBottleneck, GhostModule, GhostNet, ghostnet

# Table 1, the 16 G-bneck rows: "#exp", "#out", "SE" and "Stride" columns.
EXP = [16, 48, 72, 72, 120, 240, 200, 184, 184, 480, 672, 672, 960, 960, 960, 960]
OUT = [16, 24, 24, 40, 40, 80, 80, 80, 80, 112, 112, 160, 160, 160, 160, 160]
SE = [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1]
STRIDE = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
# Table 1 "Input" column: resolution each G-bneck reads at 224x224.
IN_RES = [112, 112, 56, 56, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7]


@lru_cache(maxsize=None)
def _meta() -> GhostNet:
    """The registered model, built once on the meta device; tests only read its structure."""
    with torch.device("meta"):
        model = create_model("ghostnet")
    assert isinstance(model, GhostNet)
    return model


def _bnecks() -> list[GhostBottleneck]:
    return [m for m in _meta().modules() if isinstance(m, GhostBottleneck)]


@lru_cache(maxsize=None)
def _shapes() -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], tuple[int, ...]]:
    """(G-bneck input shapes, output shapes, shape after the last 1x1 conv) at 224, on meta."""
    model = _meta()
    ins: list[tuple[int, ...]] = []
    outs: list[tuple[int, ...]] = []

    def record(module: nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> None:
        ins.append(tuple(args[0].shape))
        outs.append(tuple(out.shape))

    handles = [b.register_forward_hook(record) for b in _bnecks()]
    try:
        with torch.device("meta"):
            feats = model.conv_last(model.stages(model.stem(torch.empty(1, 3, 224, 224))))
    finally:
        for h in handles:
            h.remove()
    return ins, outs, tuple(feats.shape)


def test_block_counts() -> None:
    # Table 1: 16 G-bneck rows, each made of two Ghost modules.
    assert len(_bnecks()) == 16
    assert sum(isinstance(m, GhostModule) for m in _meta().modules()) == 32


def test_expansion_and_output_channels_follow_table_1() -> None:
    blocks = _bnecks()
    assert [b.ghost1.out_channels for b in blocks] == EXP
    assert [b.ghost2.out_channels for b in blocks] == OUT


def test_squeeze_excite_rows() -> None:
    blocks = _bnecks()
    has_se = [int(isinstance(b.se, SqueezeExcite)) for b in blocks]
    assert has_se == SE
    assert sum(has_se) == 7  # two at 40 ch, two at 112, one at 672->160, two of the four 960 rows
    assert all(isinstance(b.se.gate, nn.Hardsigmoid) for b in blocks if b.se is not None)


@pytest.mark.parametrize(
    ("expanded", "squeeze"),
    [
        # reference code: make_divisible(mid * 0.25, 4)
        (72, 20),  # 18 -> 20 (int(18 + 2) // 4 * 4)
        (120, 32),  # 30 -> 32
        (480, 120),
        (672, 168),
        (960, 240),
    ],
)
def test_squeeze_channels(expanded: int, squeeze: int) -> None:
    ses = [b.se for b in _bnecks() if b.se is not None and b.se.fc1.in_channels == expanded]
    assert ses
    assert all(se.fc1.out_channels == squeeze for se in ses)


def test_resolution_and_stride_per_row() -> None:
    ins, outs, feats = _shapes()
    assert [s[-1] for s in ins] == IN_RES
    assert [s[-1] for s in outs] == [r // s for r, s in zip(IN_RES, STRIDE, strict=True)]
    # depthwise stride-2 conv between the Ghost modules only in stride-2 rows
    assert [b.depthwise is not None for b in _bnecks()] == [s == 2 for s in STRIDE]
    assert feats == (1, 960, 7, 7)  # Table 1: "7^2 x 160 -> Conv2d 1x1 -> 960"


def test_shortcut_is_identity_only_when_shape_is_kept() -> None:
    ins, outs, _ = _shapes()
    for block, i, o in zip(_bnecks(), ins, outs, strict=True):
        assert isinstance(block.shortcut, nn.Identity) == (i == o)
    # rows with a projection shortcut: the 5 channel/stride changes (16->24, 24->40, 40->80,
    # 80->112, 112->160); 80->112 is stride 1 but still changes the channel count.
    assert sum(not isinstance(b.shortcut, nn.Identity) for b in _bnecks()) == 5


def test_head() -> None:
    model = _meta()
    assert (model.conv_head.in_channels, model.conv_head.out_channels) == (960, 1280)
    assert model.conv_head.bias is not None  # no BN after the pooled 1x1 conv
    assert (model.classifier.in_features, model.classifier.out_features) == (1280, 1000)


def test_ghost_module_halves_with_cheap_depthwise() -> None:
    module = GhostModule(16, 48)
    # ratio 2: primary 1x1 conv makes ceil(48 / 2) = 24, the depthwise 3x3 makes the other 24
    primary, cheap = module.primary_conv[0], module.cheap_operation[0]
    assert (primary.kernel_size, primary.out_channels) == ((1, 1), 24)
    assert (cheap.kernel_size, cheap.groups, cheap.out_channels) == ((3, 3), 24, 24)


@pytest.mark.parametrize("out_channels", [7, 9, 13])
def test_ghost_module_output_matches_odd_request(out_channels: int) -> None:
    module = GhostModule(8, out_channels, relu=False).eval()
    y = module(torch.randn(2, 8, 5, 5))
    assert y.shape == (2, out_channels, 5, 5)
    # the intrinsic maps come first: ceil(out / 2) channels straight from the primary conv
    primary = module.primary_conv(torch.randn(1, 8, 5, 5))
    assert primary.shape[1] == (out_channels + 1) // 2


def test_stride_two_bottleneck_halves_resolution() -> None:
    block = GhostBottleneck(16, 48, 24, kernel_size=3, stride=2).eval()
    assert block(torch.randn(1, 16, 16, 16)).shape == (1, 24, 8, 8)


def test_real_forward_small_input_and_width() -> None:
    model = ghostnet(width=0.5, num_classes=10).eval()
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    # width 0.5: every table channel c -> make_divisible(c * 0.5, 4); the 1280 head is kept
    assert model.stem[0].out_channels == 8
    assert model.conv_last[0].out_channels == 480
    assert model.conv_head.out_channels == 1280
