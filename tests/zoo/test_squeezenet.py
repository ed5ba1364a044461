"""SqueezeNet structure against Iandola et al. 2016, Table 1, and the reference v1.1 revision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from costlab.zoo.squeezenet import Fire, squeezenet

# Paper Table 1 (SqueezeNet 1.0): (s1x1, e1x1, e3x3) of fire2..fire9.
# v1.1 keeps the same eight Fire modules and changes only conv1 and where the pools sit.
FIRE_WIDTHS = [
    (16, 64, 64),
    (16, 64, 64),
    (32, 128, 128),
    (32, 128, 128),
    (48, 192, 192),
    (48, 192, 192),
    (64, 256, 256),
    (64, 256, 256),
]


def _fires(model: nn.Module) -> list[Fire]:
    return [m for m in model.modules() if isinstance(m, Fire)]


def _conv_params(conv: nn.Conv2d) -> int:
    return sum(p.numel() for p in conv.parameters())


@pytest.mark.parametrize("version", ["1_0", "1_1"])
def test_fire_module_widths_follow_table_1(version: str) -> None:
    with torch.device("meta"):
        model = squeezenet(version)
    fires = _fires(model)
    assert len(fires) == 8  # fire2 .. fire9
    widths = [
        (f.squeeze.out_channels, f.expand1x1.out_channels, f.expand3x3.out_channels) for f in fires
    ]
    assert widths == FIRE_WIDTHS
    # Each Fire feeds the next: its input is the previous module's e1x1 + e3x3.
    for previous, fire in zip(fires, fires[1:]):
        fed = previous.expand1x1.out_channels + previous.expand3x3.out_channels
        assert fire.squeeze.in_channels == fed
    for fire in fires:
        assert fire.squeeze.kernel_size == (1, 1)
        assert fire.expand1x1.kernel_size == (1, 1)
        assert fire.expand3x3.kernel_size == (3, 3)


def test_fire_concatenates_both_expand_branches() -> None:
    with torch.device("meta"):
        fire = Fire(96, 16, 64, 64)
        out = fire(torch.empty(1, 96, 54, 54))
    assert out.shape == (1, 128, 54, 54)  # 64 + 64 channels, resolution kept by the padded 3x3


def test_per_layer_parameters_match_table_1() -> None:
    """Table 1, "# parameter before pruning", weights + biases, SqueezeNet 1.0."""
    with torch.device("meta"):
        model = squeezenet("1_0")
    conv1 = model.features[0]
    # 7*7*3*96 + 96
    assert _conv_params(conv1) == 14_208
    # squeeze in*s + s, expand1x1 s*e1 + e1, expand3x3 9*s*e3 + e3:
    # fire2  96*16+16  + 16*64+64   + 9*16*64+64   = 11,920
    # fire3 128*16+16  + 16*64+64   + 9*16*64+64   = 12,432
    # fire4 128*32+32  + 32*128+128 + 9*32*128+128 = 45,344
    # fire5 256*32+32  + 32*128+128 + 9*32*128+128 = 49,440
    # fire6 256*48+48  + 48*192+192 + 9*48*192+192 = 104,880
    # fire7 384*48+48  + 48*192+192 + 9*48*192+192 = 111,024
    # fire8 384*64+64  + 64*256+256 + 9*64*256+256 = 188,992
    # fire9 512*64+64  + 64*256+256 + 9*64*256+256 = 197,184
    expected = [11_920, 12_432, 45_344, 49_440, 104_880, 111_024, 188_992, 197_184]
    assert [sum(p.numel() for p in f.parameters()) for f in _fires(model)] == expected
    conv10 = model.classifier[1]
    assert isinstance(conv10, nn.Conv2d) and conv10.kernel_size == (1, 1)
    assert _conv_params(conv10) == 513_000  # 512*1000 + 1000


def test_feature_map_sizes_at_227_match_table_1() -> None:
    """Table 1 assumes 227x227 inputs: 111 after conv1, then 55 / 27 / 13 after the three pools."""
    with torch.device("meta"):
        model = squeezenet("1_0")
        sizes: list[tuple[str, tuple[int, ...]]] = []
        for layer in model.features:
            layer.register_forward_hook(
                lambda m, i, o: sizes.append((type(m).__name__, tuple(o.shape[1:])))
            )
        model(torch.empty(1, 3, 227, 227))
    kinds = [k for k, _ in sizes]
    pools = [shape for kind, shape in sizes if kind == "MaxPool2d"]
    assert sizes[0] == ("Conv2d", (96, 111, 111))  # (227 - 7) / 2 + 1
    assert pools == [(96, 55, 55), (256, 27, 27), (512, 13, 13)]
    # Pools sit after conv1, fire4 and fire8: feature indices 2, 6, 11.
    assert [i for i, k in enumerate(kinds) if k == "MaxPool2d"] == [2, 6, 11]
    assert sizes[-1] == ("Fire", (512, 13, 13))


def test_version_1_1_stem_and_pool_placement() -> None:
    """v1.1: conv1 is 64 filters of 3x3/2 and the pools move to after conv1, fire3 and fire5."""
    with torch.device("meta"):
        model = squeezenet("1_1")
    conv1 = model.features[0]
    assert (conv1.out_channels, conv1.kernel_size, conv1.stride) == (64, (3, 3), (2, 2))
    kinds = [type(m).__name__ for m in model.features]
    assert [i for i, k in enumerate(kinds) if k == "MaxPool2d"] == [2, 5, 8]
    # Only conv1 and fire2's squeeze input (96 -> 64 channels) differ from 1.0, so parameters drop
    # by (7*7*3*96 + 96) - (3*3*3*64 + 64) + (96 - 64)*16 = 14,208 - 1,792 + 512.
    params_10 = sum(p.numel() for p in squeezenet("1_0").parameters())
    params_11 = sum(p.numel() for p in squeezenet("1_1").parameters())
    assert params_10 - params_11 == 14_208 - 1_792 + 512


def test_classifier_is_a_1x1_convolution_then_global_pool() -> None:
    model = squeezenet("1_1", num_classes=10).eval()
    out = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 10)
    assert isinstance(model.classifier[-1], nn.AdaptiveAvgPool2d)
    assert not any(isinstance(m, (nn.Linear, nn.BatchNorm2d)) for m in model.modules())


def test_unknown_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="1_2"):
        squeezenet("1_2")
