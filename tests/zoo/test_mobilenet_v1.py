"""MobileNet V1 structure against Howard et al. 2017, Tables 1 and 2 and the width multiplier."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from costlab.zoo.mobilenet_v1 import DepthwiseSeparable, mobilenet_v1

# Table 1 at 224x224, alpha = 1: output (channels, size) of the 3x3/2 stem and of each of the
# 13 depthwise separable layers. The table's last "Conv dw / s2" (on a 7x7 input) is a
# typo (its output is still 7x7): that layer has stride 1.
TABLE_1 = [
    (32, 112),  # Conv / s2
    (64, 112),
    (128, 56),
    (128, 56),
    (256, 28),
    (256, 28),
    (512, 14),
    (512, 14),
    (512, 14),
    (512, 14),
    (512, 14),
    (512, 14),
    (1024, 7),
    (1024, 7),
]


def _output_shapes(width_mult: float) -> tuple[nn.Module, list[tuple[int, int]]]:
    with torch.device("meta"):
        model = mobilenet_v1(width_mult=width_mult)
        shapes: list[tuple[int, int]] = []
        for layer in model.features:
            layer.register_forward_hook(lambda m, i, o: shapes.append((o.shape[1], o.shape[2])))
        model(torch.empty(1, 3, 224, 224))
    return model, shapes


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 0.25])
def test_layers_follow_table_1_scaled_by_alpha(alpha: float) -> None:
    """Section 3.3: every layer's width becomes alpha * N; resolutions do not change."""
    model, shapes = _output_shapes(alpha)
    assert shapes == [(int(c * alpha), size) for c, size in TABLE_1]
    blocks = [m for m in model.modules() if isinstance(m, DepthwiseSeparable)]
    assert len(blocks) == 13
    assert model.classifier.in_features == int(1024 * alpha)
    assert model.classifier.out_features == 1000


def test_depthwise_separable_is_dw_bn_relu_then_pw_bn_relu() -> None:
    """Figure 3 (right): 3x3 depthwise conv, BN, ReLU, then 1x1 conv, BN, ReLU."""
    block = DepthwiseSeparable(64, 128, stride=2)
    dw_conv, dw_bn, dw_act = block.depthwise
    pw_conv, pw_bn, pw_act = block.pointwise
    assert dw_conv.kernel_size == (3, 3) and dw_conv.groups == 64 and dw_conv.stride == (2, 2)
    assert (pw_conv.kernel_size, pw_conv.groups, pw_conv.out_channels) == ((1, 1), 1, 128)
    assert isinstance(dw_bn, nn.BatchNorm2d) and isinstance(pw_bn, nn.BatchNorm2d)
    assert isinstance(dw_act, nn.ReLU) and isinstance(pw_act, nn.ReLU)
    out = block(torch.randn(1, 64, 16, 16))
    assert out.shape == (1, 128, 8, 8)


def test_resource_split_matches_table_2() -> None:
    """Table 2: share of mult-adds and of (weight) parameters per layer type, alpha = 1, 224x224."""
    macs: dict[str, int] = {}
    weights: dict[str, int] = {}

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if isinstance(module, nn.Linear):
            kind, mac = "fc", module.in_features * module.out_features
        else:
            kh, kw = module.kernel_size
            mac = out.numel() * module.in_channels // module.groups * kh * kw
            kind = "dw" if module.groups > 1 else ("1x1" if kh == 1 else "3x3")
        macs[kind] = macs.get(kind, 0) + mac
        weights[kind] = weights.get(kind, 0) + module.weight.numel()

    with torch.device("meta"):
        model = mobilenet_v1()
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(count)
        model(torch.empty(1, 3, 224, 224))
    mac_share = {k: 100 * v / sum(macs.values()) for k, v in macs.items()}
    weight_share = {k: 100 * v / sum(weights.values()) for k, v in weights.items()}
    # Table 2 rows: Conv 1x1 94.86% / 74.59%, Conv DW 3x3 3.06% / 1.06%, FC 0.18% / 24.33%,
    # Conv 3x3 (the stem) x% / 0.02%. The printed stem mult-add share "1.19%" leaves the column
    # summing to 99.29%; it is 1.91% with two digits swapped (100 - 94.86 - 3.06 - 0.18 = 1.90).
    for kind, (mac_pct, weight_pct) in {
        "1x1": (94.86, 74.59),
        "dw": (3.06, 1.06),
        "fc": (0.18, 24.33),
        "3x3": (1.91, 0.02),
    }.items():
        assert mac_share[kind] == pytest.approx(mac_pct, abs=0.01)
        assert weight_share[kind] == pytest.approx(weight_pct, abs=0.01)


def test_small_input_and_num_classes() -> None:
    model = mobilenet_v1(width_mult=0.25, num_classes=10).eval()
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)
