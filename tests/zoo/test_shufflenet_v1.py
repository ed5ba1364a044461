"""Structural facts of ShuffleNet V1 (Zhang et al. 2018, CVPR), Tables 1 and 2 and Fig. 2."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from costlab.zoo import create_model, get_entry
from costlab.zoo._layers import channel_shuffle
from costlab.zoo.shufflenet_v1 import ShuffleUnit

STAGES = ("stage2", "stage3", "stage4")


def _meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return create_model(name)


def _stage_shapes(model: nn.Module, size: int) -> list[tuple[int, ...]]:
    """Output shapes of stages 2, 3, 4 for one real ``size``×``size`` image."""
    shapes: list[tuple[int, ...]] = []
    hooks = [
        getattr(model, s).register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape)))
        for s in STAGES
    ]
    with torch.no_grad():
        model.eval()(torch.randn(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    return shapes


def test_channel_shuffle_permutation() -> None:
    # Six channels numbered 0..5. With g=2 the groups are [0 1 2] [3 4 5]; the shuffle reads the
    # (2, 3) grid column by column: 0 3 1 4 2 5. With g=3 the groups are [0 1] [2 3] [4 5]; read
    # column by column the (3, 2) grid gives 0 2 4 1 3 5. Every output group of g=3 then holds one
    # channel from each input group ({0, 2}, {4, 1}, {3, 5}), the paper's Fig. 1 (c).
    x = torch.arange(6.0).view(1, 6, 1, 1).expand(2, 6, 2, 2)
    assert channel_shuffle(x, 2)[0, :, 0, 0].tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3)[0, :, 0, 0].tolist() == [0, 2, 4, 1, 3, 5]
    assert torch.equal(channel_shuffle(x, 3)[1, :, 1, 1], torch.tensor([0.0, 2, 4, 1, 3, 5]))


# Table 1: stage 2/3/4 output channels per g.
@pytest.mark.parametrize(
    ("groups", "channels"),
    [
        (1, (144, 288, 576)),
        (2, (200, 400, 800)),
        (3, (240, 480, 960)),
        (4, (272, 544, 1088)),
        (8, (384, 768, 1536)),
    ],
)
def test_table1_stage_channels(groups: int, channels: tuple[int, int, int]) -> None:
    entry = get_entry(f"shufflenet_v1_g{groups}")
    assert entry.family == "ShuffleNet V1"
    model = _meta(entry.name)
    assert model.conv1[0].out_channels == 24
    # A stride-2 unit outputs its pooled input (in) next to its conv path (out - in); the
    # stride-1 units after it add, so their conv path makes the stage width itself.
    inputs = (24, *channels[:2])
    for stage, width, width_in in zip(STAGES, channels, inputs):
        units = getattr(model, stage)
        assert units[0].compress[0].in_channels == width_in
        assert units[0].expand[0].out_channels == width - width_in
        assert all(u.expand[0].out_channels == width for u in units[1:])
    assert model.fc.in_features == channels[-1] and model.fc.out_features == 1000
    # Table 1 repeats 4 / 8 / 4, the first unit of each stage at stride 2.
    assert [len(getattr(model, s)) for s in STAGES] == [4, 8, 4]
    assert sum(isinstance(m, ShuffleUnit) for m in model.modules()) == 16
    for stage in STAGES:
        strides = [u.stride for u in getattr(model, stage)]
        assert strides == [2] + [1] * (len(strides) - 1)


def test_stage_output_shapes() -> None:
    # 224 → conv1 112 → max pool 56 → stage 2 28 → stage 3 14 → stage 4 7 (Table 1's output size).
    model = create_model("shufflenet_v1_g3_x0_5")
    assert _stage_shapes(model, 224) == [(1, 120, 28, 28), (1, 240, 14, 14), (1, 480, 7, 7)]
    # 64 → 32 → 16 → 8 → 4 → 2, with g=8's widths 384 / 768 / 1536.
    model = create_model("shufflenet_v1_g8")
    assert _stage_shapes(model, 64) == [(1, 384, 8, 8), (1, 768, 4, 4), (1, 1536, 2, 2)]


@pytest.mark.parametrize("groups", [2, 3, 4, 8])
def test_grouped_pointwise_convs(groups: int) -> None:
    model = _meta(f"shufflenet_v1_g{groups}")
    units = [u for u in model.modules() if isinstance(u, ShuffleUnit)]
    first, rest = units[0], units[1:]
    # "we do not apply group convolution on the first pointwise layer of Stage 2": 24 → out/4.
    assert first.compress[0].in_channels == 24 and first.compress[0].groups == 1
    assert first.expand[0].groups == groups
    for unit in rest:
        assert unit.compress[0].groups == groups and unit.expand[0].groups == groups
    # The 3×3 conv is depthwise over the bottleneck and has no ReLU after it (conv, BN only).
    for unit in units:
        conv = unit.depthwise[0]
        assert conv.groups == conv.in_channels == conv.out_channels
        assert len(unit.depthwise) == 2 and isinstance(unit.depthwise[1], nn.BatchNorm2d)


def test_g3_unit_widths() -> None:
    model = _meta("shufflenet_v1_g3")
    # Bottleneck = out / 4: 240 / 4 = 60, 480 / 4 = 120, 960 / 4 = 240.
    assert [getattr(model, s)[1].compress[0].out_channels for s in STAGES] == [60, 120, 240]
    # Stride-2 units concatenate the pooled input, so their conv path makes out - in channels:
    # 240 - 24 = 216, 480 - 240 = 240, 960 - 480 = 480.
    assert [getattr(model, s)[0].expand[0].out_channels for s in STAGES] == [216, 240, 480]
    # Stride-1 units add, so their conv path makes all of them.
    assert [getattr(model, s)[1].expand[0].out_channels for s in STAGES] == [240, 480, 960]


# Table 2: ShuffleNet s× scales Table 1's filter counts (g=3: 240 / 480 / 960) by s.
@pytest.mark.parametrize(
    ("name", "channels"),
    [
        ("shufflenet_v1_g3_x0_5", (120, 240, 480)),
        ("shufflenet_v1_g3_x1_5", (360, 720, 1440)),
        ("shufflenet_v1_g3_x2_0", (480, 960, 1920)),
    ],
)
def test_table2_scaled_widths(name: str, channels: tuple[int, int, int]) -> None:
    model = _meta(name)
    assert [getattr(model, s)[-1].expand[0].out_channels for s in STAGES] == list(channels)
    assert model.fc.in_features == channels[-1]
    assert sum(isinstance(m, ShuffleUnit) for m in model.modules()) == 16


def test_stride2_unit_real_tensor() -> None:
    unit = ShuffleUnit(24, 240, groups=3, stride=2, group_first_conv=False).eval()
    x = torch.randn(2, 24, 8, 8)
    out = unit(x)
    assert out.shape == (2, 240, 4, 4)  # resolution halved, channels = 24 pooled + 216 convolved
    # The first 24 channels are the 3×3 average-pooled input (after the final ReLU).
    pooled = nn.functional.avg_pool2d(x, 3, stride=2, padding=1)
    assert torch.allclose(out[:, :24], torch.relu(pooled))


def test_stride1_unit_real_tensor() -> None:
    unit = ShuffleUnit(48, 48, groups=4, stride=1).eval()
    x = torch.randn(1, 48, 6, 6)
    assert unit(x).shape == x.shape
    with pytest.raises(ValueError):
        ShuffleUnit(24, 48, groups=4, stride=1)
