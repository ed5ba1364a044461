"""Structural facts of Xception from Chollet 2017 (CVPR), Fig. 5 and Section 3."""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo import create_model, get_entry
from costlab.zoo.xception import SeparableConv2d, Xception, XceptionBlock


def _meta_model() -> Xception:
    with torch.device("meta"):
        model = create_model("xception")
    assert isinstance(model, Xception)
    return model


def _output_shapes(model: nn.Module, names: list[str], size: int) -> dict[str, tuple[int, ...]]:
    """Output shape of each named submodule for a meta input of ``size``×``size``."""
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


def test_registered_at_299() -> None:
    entry = get_entry("xception")
    assert entry.family == "Xception"
    assert entry.input_shape == (1, 3, 299, 299)  # Fig. 5: "299x299x3 images"


def test_middle_flow_is_eight_blocks_of_three_728_channel_separable_convs() -> None:
    # Fig. 5, middle flow: "Repeated 8 times", each repeat = 3 × (ReLU, SeparableConv 728, 3x3).
    model = _meta_model()
    blocks = list(model.middle_flow)
    assert len(blocks) == 8
    for block in blocks:
        assert isinstance(block, XceptionBlock)
        seps = [m for m in block.modules() if isinstance(m, SeparableConv2d)]
        assert len(seps) == 3
        for sep in seps:
            assert sep.depthwise.in_channels == 728 and sep.pointwise.out_channels == 728
        relus = [m for m in block.residual if isinstance(m, nn.ReLU)]
        assert len(relus) == 3  # a ReLU before each separable conv
        assert isinstance(block.shortcut, nn.Identity)  # identity shortcut in the middle flow
        assert not any(isinstance(m, nn.MaxPool2d) for m in block.modules())


def test_entry_and_exit_flow_channels() -> None:
    model = _meta_model()
    # Fig. 5 entry flow: Conv 32 3x3 s2, Conv 64 3x3, then blocks of SeparableConv 128, 256, 728.
    assert [m.out_channels for m in model.stem.modules() if isinstance(m, nn.Conv2d)] == [32, 64]
    assert [b.out_channels for b in model.entry_flow] == [128, 256, 728]
    # Fig. 5 exit flow: SeparableConv 728, 1024 (+ pool), then SeparableConv 1536, 2048.
    exit_seps = [m for m in model.exit_flow.modules() if isinstance(m, SeparableConv2d)]
    assert [m.pointwise.out_channels for m in exit_seps] == [728, 1024, 1536, 2048]
    assert model.fc.in_features == 2048 and model.fc.out_features == 1000


def test_thirty_six_convolutional_layers() -> None:
    # Section 3: "36 convolutional layers" form the feature extraction base: 2 plain convs in the
    # entry flow + 34 separable convs (entry 3×2, middle 8×3, exit 2 + 2). The 1x1 shortcut
    # convs are not counted among them.
    model = _meta_model()
    seps = [m for m in model.modules() if isinstance(m, SeparableConv2d)]
    assert len(seps) == 3 * 2 + 8 * 3 + 2 + 2
    plain = [m for m in model.stem.modules() if isinstance(m, nn.Conv2d)]
    assert len(plain) + len(seps) == 36


def test_separable_conv_is_depthwise_then_pointwise_without_bias() -> None:
    sep = SeparableConv2d(16, 32)
    assert list(dict(sep.named_children())) == ["depthwise", "pointwise"]  # nothing in between
    assert sep.depthwise.groups == 16 and sep.depthwise.kernel_size == (3, 3)
    assert sep.depthwise.out_channels == 16
    assert sep.pointwise.kernel_size == (1, 1) and sep.pointwise.groups == 1
    assert sep.depthwise.bias is None and sep.pointwise.bias is None
    # params: 16·9 depthwise + 16·32 pointwise
    assert sum(p.numel() for p in sep.parameters()) == 16 * 9 + 16 * 32


def test_downsampling_blocks_have_strided_1x1_shortcuts() -> None:
    # Fig. 5: the three entry-flow blocks and the first exit-flow block end in
    # MaxPooling 3x3 stride 2, and their shortcut is "Conv 1x1, stride=2x2".
    model = _meta_model()
    down = [*model.entry_flow, model.exit_flow[0]]
    for block in down:
        conv, bn = block.shortcut[0], block.shortcut[1]
        assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == (2, 2)
        assert conv.bias is None and isinstance(bn, nn.BatchNorm2d)
        pools = [m for m in block.residual if isinstance(m, nn.MaxPool2d)]
        assert len(pools) == 1 and pools[0].kernel_size == 3 and pools[0].stride == 2
    blocks = [m for m in model.modules() if isinstance(m, XceptionBlock)]
    assert sum(not isinstance(b.shortcut, nn.Identity) for b in blocks) == 4
    # The first entry block follows the stem's ReLU, so it does not start with another one.
    assert isinstance(model.entry_flow[0].residual[0], SeparableConv2d)
    assert isinstance(model.entry_flow[1].residual[0], nn.ReLU)


def test_feature_map_sizes_at_299() -> None:
    # Unpadded 3x3 convs: 299 → (299-3)//2+1 = 149 → 147; each stride-2 block halves (ceil):
    # 147 → 74 → 37 → 19; Fig. 5's middle flow reads "19x19x728 feature maps"; exit → 10.
    model = _meta_model()
    names = ["stem", "entry_flow.0", "entry_flow.1", "entry_flow.2", "middle_flow", "exit_flow"]
    shapes = _output_shapes(model, names, 299)
    assert shapes["stem"] == (1, 64, 147, 147)
    assert shapes["entry_flow.0"] == (1, 128, 74, 74)
    assert shapes["entry_flow.1"] == (1, 256, 37, 37)
    assert shapes["entry_flow.2"] == (1, 728, 19, 19)
    assert shapes["middle_flow"] == (1, 728, 19, 19)
    assert shapes["exit_flow"] == (1, 2048, 10, 10)


def test_no_bias_except_classifier() -> None:
    model = _meta_model()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert model.fc.bias is not None


def test_small_real_forward() -> None:
    model = create_model("xception", num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 71, 71))
    assert out.shape == (1, 10)
    assert torch.isfinite(out).all()
