"""Structural facts of ShuffleNet V2 (Ma et al. 2018, ECCV), Table 5 and Fig. 3 (torchvision)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from costlab.zoo import create_model, get_entry
from costlab.zoo._layers import channel_shuffle
from costlab.zoo.shufflenet_v2 import ShuffleV2Block

STAGES = ("stage2", "stage3", "stage4")

# Table 5: output channels of stages 2, 3, 4 and of conv5 per width.
TABLE5 = [
    ("shufflenet_v2_x0_5", (48, 96, 192), 1024),
    ("shufflenet_v2_x1_0", (116, 232, 464), 1024),
    ("shufflenet_v2_x1_5", (176, 352, 704), 1024),
    ("shufflenet_v2_x2_0", (244, 488, 976), 2048),
]


def _meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return create_model(name)


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize(("name", "channels", "conv5"), TABLE5)
def test_table5_widths(name: str, channels: tuple[int, int, int], conv5: int) -> None:
    assert get_entry(name).family == "ShuffleNet V2"
    model = _meta(name)
    assert model.conv1[0].out_channels == 24
    inputs = (24, *channels[:2])
    for stage, width, width_in in zip(STAGES, channels, inputs):
        units = getattr(model, stage)
        # Stride-2 unit: both branches see the whole input and each makes width / 2 channels.
        first = units[0]
        assert first.stride == 2
        assert _convs(first.branch1)[0].in_channels == width_in
        assert _convs(first.branch2)[0].in_channels == width_in
        assert _convs(first.branch1)[-1].out_channels == width // 2
        assert _convs(first.branch2)[-1].out_channels == width // 2
        # Stride-1 units: only the split-off half (width / 2) is convolved; branch1 holds no conv.
        for unit in units[1:]:
            assert unit.stride == 1 and not _convs(unit.branch1)
            assert _convs(unit.branch2)[0].in_channels == width // 2
            assert _convs(unit.branch2)[-1].out_channels == width // 2
    assert model.conv5[0].in_channels == channels[-1] and model.conv5[0].out_channels == conv5
    assert model.fc.in_features == conv5 and model.fc.out_features == 1000


@pytest.mark.parametrize("name", [row[0] for row in TABLE5])
def test_units_per_stage(name: str) -> None:
    model = _meta(name)
    # Table 5 "Repeat": 1 + 3, 1 + 7, 1 + 3 units.
    assert [len(getattr(model, s)) for s in STAGES] == [4, 8, 4]
    assert sum(isinstance(m, ShuffleV2Block) for m in model.modules()) == 16


def test_branch_layers() -> None:
    unit = ShuffleV2Block(116, 232, stride=2)
    # Fig. 3 (d), right branch: 1×1 conv, 3×3 depthwise conv (stride 2), 1×1 conv.
    kernels = [(c.kernel_size, c.stride, c.groups) for c in _convs(unit.branch2)]
    assert kernels == [((1, 1), (1, 1), 1), ((3, 3), (2, 2), 116), ((1, 1), (1, 1), 1)]
    # Left branch: 3×3 depthwise conv (stride 2), 1×1 conv.
    kernels = [(c.kernel_size, c.stride, c.groups) for c in _convs(unit.branch1)]
    assert kernels == [((3, 3), (2, 2), 116), ((1, 1), (1, 1), 1)]
    # ReLU follows the 1×1 convs only, never the depthwise conv: 2 on the right, 1 on the left.
    assert sum(isinstance(m, nn.ReLU) for m in unit.branch2.modules()) == 2
    assert sum(isinstance(m, nn.ReLU) for m in unit.branch1.modules()) == 1


def test_channel_shuffle_two_groups() -> None:
    # Channels 0..7 as two groups [0 1 2 3] [4 5 6 7]; shuffling with g=2 interleaves them:
    # 0 4 1 5 2 6 3 7, so each half of the next split takes two channels from each branch.
    x = torch.arange(8.0).view(1, 8, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


def test_stride1_unit_keeps_half_real_tensor() -> None:
    unit = ShuffleV2Block(48, 48, stride=1).eval()
    x = torch.randn(2, 48, 5, 5)
    with torch.no_grad():
        out = unit(x)
    assert out.shape == x.shape
    # Channel split: the first 24 channels pass untouched, concatenated before the convolved
    # half, and the g=2 shuffle puts output channel 2i = concat channel i, i.e. input channel i.
    assert torch.equal(out[:, 0::2], x[:, :24])


def test_stride2_unit_halves_resolution_real_tensor() -> None:
    unit = ShuffleV2Block(24, 48, stride=2).eval()
    with torch.no_grad():
        out = unit(torch.randn(1, 24, 9, 9))
    # 3×3 stride-2 padding-1: 9 → 5; channels doubled by the two branches of 24 each.
    assert out.shape == (1, 48, 5, 5)


def test_stage_output_shapes_real_tensor() -> None:
    # 64 → conv1 32 → max pool 16 → stage 2 8 → stage 3 4 → stage 4 2 → conv5 2.
    model = create_model("shufflenet_v2_x0_5").eval()
    shapes: list[tuple[int, ...]] = []
    for name in (*STAGES, "conv5"):
        getattr(model, name).register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape)))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)
    assert shapes == [(1, 48, 8, 8), (1, 96, 4, 4), (1, 192, 2, 2), (1, 1024, 2, 2)]
