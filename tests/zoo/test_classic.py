"""Structural facts of the classic baselines: AlexNet, VGG-16, ResNet-18/50.

Sources: Krizhevsky 2014 ("One weird trick", arXiv:1404.5997) / torchvision's AlexNet;
Simonyan & Zisserman 2015 (ICLR), Table 1; He et al. 2016 (CVPR), Table 1.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from costlab.zoo import create_model, get_entry
from costlab.zoo.resnet import BasicBlock, Bottleneck
from costlab.zoo.vgg import vgg


def _meta(name: str, **kwargs: object) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _output_shapes(
    model: nn.Module, names: list[str], size: int = 224
) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    modules = dict(model.named_modules())
    name_of = {modules[n]: n for n in names}

    def record(module: nn.Module, _inputs: object, out: torch.Tensor) -> None:
        shapes[name_of[module]] = tuple(out.shape)

    hooks = [modules[n].register_forward_hook(record) for n in names]
    with torch.device("meta"):
        model(torch.empty(1, 3, size, size))
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize(
    ("name", "family"),
    [("alexnet", "AlexNet"), ("vgg16", "VGG"), ("resnet18", "ResNet"), ("resnet50", "ResNet")],
)
def test_registered(name: str, family: str) -> None:
    entry = get_entry(name)
    assert entry.family == family
    assert entry.input_shape == (1, 3, 224, 224)


# --- AlexNet ---------------------------------------------------------------------------------


def test_alexnet_layers() -> None:
    # One-GPU AlexNet (torchvision): conv 11x11/4 64, 5x5 192, 3x3 384, 3x3 256, 3x3 256;
    # FC 4096, 4096, 1000.
    model = _meta("alexnet")
    convs = _convs(model)
    assert [c.out_channels for c in convs] == [64, 192, 384, 256, 256]
    assert [c.kernel_size[0] for c in convs] == [11, 5, 3, 3, 3]
    assert convs[0].stride == (4, 4)
    assert [(f.in_features, f.out_features) for f in _linears(model)] == [
        (256 * 6 * 6, 4096),
        (4096, 4096),
        (4096, 1000),
    ]
    assert all(c.bias is not None for c in convs)  # no batch norm: the convs carry biases
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_alexnet_feature_sizes() -> None:
    # 224 → conv 11/4 p2: (224+4-11)//4+1 = 55 → pool 3/2: 27 → conv5 p2: 27 → pool: 13
    # → three 3x3 p1 convs: 13 → pool: (13-3)//2+1 = 6; 256·6·6 = 9216 features.
    model = _meta("alexnet")
    shapes = _output_shapes(model, ["features.0", "features.2", "features.5", "features.12"])
    assert shapes["features.0"] == (1, 64, 55, 55)
    assert shapes["features.2"] == (1, 64, 27, 27)
    assert shapes["features.5"] == (1, 192, 13, 13)
    assert shapes["features.12"] == (1, 256, 6, 6)


# --- VGG -------------------------------------------------------------------------------------


def test_vgg16_has_13_3x3_convs_and_3_fc() -> None:
    # Table 1, config D: 2+2+3+3+3 = 13 conv3 layers + 3 FC = 16 weight layers.
    model = _meta("vgg16")
    convs = _convs(model)
    assert len(convs) == 13
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) for c in convs)
    assert all(c.padding == (1, 1) for c in convs)
    assert [c.out_channels for c in convs] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    assert [(f.in_features, f.out_features) for f in _linears(model)] == [
        (512 * 7 * 7, 4096),
        (4096, 4096),
        (4096, 1000),
    ]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize(("config", "weight_layers"), [("A", 11), ("B", 13), ("D", 16), ("E", 19)])
def test_vgg_configs_depth(config: str, weight_layers: int) -> None:
    # Table 1: "11 weight layers" (A) … "19 weight layers" (E), always three of them FC.
    with torch.device("meta"):
        model = vgg(config=config)
    assert len(_convs(model)) + len(_linears(model)) == weight_layers


def test_vgg_unknown_config() -> None:
    with pytest.raises(ValueError, match="configuration"):
        vgg(config="C")


def test_vgg16_five_pools_halve_resolution() -> None:
    # Five 2x2 stride-2 max pools: 224 → 112 → 56 → 28 → 14 → 7.
    model = _meta("vgg16")
    pools = [n for n, m in model.named_modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 5
    shapes = _output_shapes(model, pools)
    assert [shapes[p][-1] for p in pools] == [112, 56, 28, 14, 7]


# --- ResNet ----------------------------------------------------------------------------------

STAGES = ["layer1", "layer2", "layer3", "layer4"]


def test_resnet18_basic_blocks() -> None:
    # Table 1, 18-layer: [3x3 64, 3x3 64]×2, …, [3x3 512, 3x3 512]×2.
    model = _meta("resnet18")
    assert [len(getattr(model, s)) for s in STAGES] == [2, 2, 2, 2]
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8 and not any(isinstance(m, Bottleneck) for m in model.modules())
    # 1 stem conv + 8 blocks × 2 + 1 FC = 18 weight layers (shortcut projections not counted)
    main_convs = [c for c in _convs(model) if c.kernel_size != (1, 1)]
    assert len(main_convs) + len(_linears(model)) == 18
    # Stage 1 keeps 64 channels at stride 1: identity shortcut; the others project.
    assert [getattr(model, s)[0].downsample is None for s in STAGES] == [True, False, False, False]
    assert model.fc.in_features == 512


def test_resnet50_bottlenecks() -> None:
    # Table 1, 50-layer: [1x1 64, 3x3 64, 1x1 256]×3, [… 512]×4, [… 1024]×6, [… 2048]×3.
    model = _meta("resnet50")
    assert [len(getattr(model, s)) for s in STAGES] == [3, 4, 6, 3]
    assert Bottleneck.expansion == 4
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 16
    for stage, width in zip(STAGES, [64, 128, 256, 512]):
        for block in getattr(model, stage):
            assert block.conv1.out_channels == width and block.conv2.out_channels == width
            assert block.conv3.out_channels == 4 * width
    # 1 stem conv + 16 blocks × 3 + 1 FC = 50 weight layers
    main_convs = [
        c for n, c in model.named_modules() if isinstance(c, nn.Conv2d) and "downsample" not in n
    ]
    assert len(main_convs) + len(_linears(model)) == 50
    # 64 → 256 differs, so even stage 1 opens with a projection shortcut.
    assert all(getattr(model, s)[0].downsample is not None for s in STAGES)
    assert model.fc.in_features == 2048


def test_resnet50_v15_stride_on_3x3() -> None:
    # torchvision's v1.5: the first block of stages 2–4 strides on the 3x3 conv, not the 1x1.
    model = _meta("resnet50")
    for stage in STAGES[1:]:
        block = getattr(model, stage)[0]
        assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
        assert block.downsample[0].stride == (2, 2) and block.downsample[0].kernel_size == (1, 1)


@pytest.mark.parametrize(
    ("name", "channels"),
    [("resnet18", [64, 128, 256, 512]), ("resnet50", [256, 512, 1024, 2048])],
)
def test_resnet_stage_output_sizes(name: str, channels: list[int]) -> None:
    # Table 1 output sizes: conv1 112, conv2_x 56 (after the 3x3/2 max pool), conv3_x 28,
    # conv4_x 14, conv5_x 7.
    model = _meta(name)
    shapes = _output_shapes(model, ["conv1", *STAGES])
    assert shapes["conv1"] == (1, 64, 112, 112)
    assert [shapes[s] for s in STAGES] == [(1, c, r, r) for c, r in zip(channels, [56, 28, 14, 7])]


def test_residual_is_added_before_relu() -> None:
    # y = relu(F(x) + x): with every conv weight zero, F(x) = BN shift = 0, so a block is relu(x).
    block = BasicBlock(8, 8).eval()
    for conv in (block.conv1, block.conv2):
        nn.init.zeros_(conv.weight)
    x = torch.randn(1, 8, 5, 5)
    with torch.no_grad():
        assert torch.equal(block(x), torch.relu(x))


@pytest.mark.parametrize("name", ["alexnet", "resnet18", "resnet50"])
def test_small_real_forward(name: str) -> None:
    model = create_model(name, num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 10)
    assert torch.isfinite(out).all()
