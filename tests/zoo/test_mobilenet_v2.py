"""MobileNet V2 structure against Sandler et al. 2018, Table 2, and torchvision's layout."""

from __future__ import annotations

import operator

import pytest
import torch
from torch import fx, nn

from costlab.zoo.mobilenet_v2 import InvertedResidual, mobilenet_v2

# Table 2 bottleneck rows: (t, c, n, s).
TABLE_2 = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _blocks(model: nn.Module) -> list[InvertedResidual]:
    return [m for m in model.modules() if isinstance(m, InvertedResidual)]


def test_blocks_follow_table_2() -> None:
    with torch.device("meta"):
        model = mobilenet_v2()
    blocks = _blocks(model)
    assert len(blocks) == sum(n for _, _, n, _ in TABLE_2) == 17
    expected_channels = [c for _, c, n, _ in TABLE_2 for _ in range(n)]
    assert [b.out_channels for b in blocks] == expected_channels
    # Only the first block of each row applies the stride s; the depthwise conv carries it.
    expected_strides = [s if i == 0 else 1 for _, _, n, s in TABLE_2 for i in range(n)]
    depthwise = [
        next(m for m in b.modules() if isinstance(m, nn.Conv2d) and m.groups > 1) for b in blocks
    ]
    assert [dw.stride[0] for dw in depthwise] == expected_strides
    # Expansion t: hidden width = t * input width (32 from the stem into the first block).
    expansions = [t for t, _, n, _ in TABLE_2 for _ in range(n)]
    inputs = [32] + expected_channels[:-1]
    expected_hidden = [t * cin for t, cin in zip(expansions, inputs)]
    assert [dw.out_channels for dw in depthwise] == expected_hidden


def test_feature_map_sizes_match_table_2_input_column() -> None:
    """Table 2's "Input" column at 224x224, read as each row's output (the next row's input)."""
    with torch.device("meta"):
        model = mobilenet_v2()
        stage_ends = [1, 3, 6, 10, 13, 16, 17]  # feature index of each Table 2 row's last block
        shapes: dict[int, tuple[int, ...]] = {}
        for i, layer in enumerate(model.features):
            layer.register_forward_hook(
                lambda m, inp, out, i=i: shapes.__setitem__(i, tuple(out.shape[1:]))
            )
        model(torch.empty(1, 3, 224, 224))
    assert shapes[0] == (32, 112, 112)  # conv2d 3x3 / 2
    assert [shapes[i] for i in stage_ends] == [
        (16, 112, 112),
        (24, 56, 56),
        (32, 28, 28),
        (64, 14, 14),
        (96, 14, 14),
        (160, 7, 7),
        (320, 7, 7),
    ]
    assert shapes[18] == (1280, 7, 7)  # conv2d 1x1 to 1280


def test_ten_blocks_add_their_input() -> None:
    """A block adds its input only when it keeps stride 1 and width: the n - 1 repeats of each row.

    Rows give 0 + 1 + 2 + 3 + 2 + 2 + 0 = 10; the 96 row's first block has stride 1 but widens
    64 -> 96.
    """
    model = mobilenet_v2()
    assert sum(b.use_residual for b in _blocks(model)) == 10
    graph = fx.symbolic_trace(model).graph
    adds = [
        n for n in graph.nodes
        if n.op == "call_function" and n.target in (operator.add, torch.add)
    ]
    assert len(adds) == 10


def test_projection_is_linear_and_activations_are_relu6() -> None:
    """Linear bottleneck: the 1x1 projection ends in BN with no activation; all else is ReLU6."""
    model = mobilenet_v2()
    for block in _blocks(model):
        *_, projection, bn = block.conv
        assert isinstance(projection, nn.Conv2d) and projection.kernel_size == (1, 1)
        assert isinstance(bn, nn.BatchNorm2d)
    nonlinear = (nn.ReLU, nn.ReLU6, nn.Hardswish)
    activations = {type(m) for m in model.modules() if isinstance(m, nonlinear)}
    assert activations == {nn.ReLU6}
    # Stem and last 1x1 (2), each block's depthwise (17), each expansion but the t = 1 block's (16).
    assert sum(isinstance(m, nn.ReLU6) for m in model.modules()) == 2 + 17 + 16


def test_torchvision_module_paths_and_classifier() -> None:
    model = mobilenet_v2()
    modules = dict(model.named_modules())
    # torchvision: features.1 has no expansion (t = 1), so its depthwise conv is conv.0.0.
    assert modules["features.1.conv.0.0"].groups == 32
    assert modules["features.2.conv.0.0"].kernel_size == (1, 1)  # expansion 16 -> 96
    assert modules["features.18.0"].out_channels == 1280
    dropout, linear = model.classifier
    assert isinstance(dropout, nn.Dropout) and dropout.p == 0.2
    assert isinstance(linear, nn.Linear)
    assert (linear.in_features, linear.out_features) == (1280, 1000)


# make_divisible(c * width, 8): round to the nearest multiple of 8, bumping up by 8 when that
# falls below 90% of c * width. Hand-worked, stem then the seven Table 2 rows, then the last conv:
#   0.35: 11.2->16 | 5.6->8, 8.4->8, 11.2->16, 22.4->24, 33.6->32, 56->56, 112->112 | 1280 (kept)
#   0.75: 24 | 12->16, 18->16 < 16.2 so 24, 24, 48, 72, 120, 240 | 1280 (kept)
#   1.4:  44.8->48 | 22.4->24, 33.6->32, 44.8->48, 89.6->88, 134.4->136, 224, 448 | 1792 (scaled)
@pytest.mark.parametrize(
    ("width", "stem", "rows", "last"),
    [
        (0.35, 16, [8, 8, 16, 24, 32, 56, 112], 1280),
        (0.75, 24, [16, 24, 24, 48, 72, 120, 240], 1280),
        (1.4, 48, [24, 32, 48, 88, 136, 224, 448], 1792),
    ],
)
def test_width_multiplier_rounding(width: float, stem: int, rows: list[int], last: int) -> None:
    with torch.device("meta"):
        model = mobilenet_v2(width_mult=width)
    assert model.features[0].out_channels == stem
    expected = [c for c, (_, _, n, _) in zip(rows, TABLE_2) for _ in range(n)]
    assert [b.out_channels for b in _blocks(model)] == expected
    assert model.features[-1].out_channels == last
    assert model.classifier[1].in_features == last


def test_small_real_input() -> None:
    model = mobilenet_v2(width_mult=0.35, num_classes=10).eval()
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)
