"""MobileNet V1: depthwise separable convolutions with a width multiplier.

Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam, 2017, "MobileNets: Efficient
Convolutional Neural Networks for Mobile Vision Applications" (arXiv:1704.04861), Table 1 body,
width multiplier alpha of Section 3.3, checked against Table 6 and the TF-slim reference table.

Matched: the paper's Table 6 counts (4.2 / 2.6 / 1.3 / 0.5 M parameters, 569 / 325 / 149 / 41 M
multiply-adds for alpha = 1.0 / 0.75 / 0.5 / 0.25) and the slim table within 3%; slim lists 317 M
for alpha = 0.75, which this network (and Table 6) exceeds by 2.6%.
Known differences from the printed Table 1: its last depthwise layer reads "s2" on a 7x7 input,
a typo; like the TF-slim reference it has stride 1 here, keeping the 7x7 map. The
classifier is global average pooling and a fully connected layer (slim writes the same layer as
a 1x1 convolution with bias; the counts are identical). Channels scale as ``max(int(c * alpha), 8)``
like slim's ``depth`` rule.
"""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct, init_weights
from costlab.zoo.registry import register_model

__all__ = ["DepthwiseSeparable", "MobileNetV1", "mobilenet_v1"]

_PAPER = "Howard et al. 2017, MobileNets (arXiv:1704.04861), Table 1"

# Table 1 after the stem: (output channels, stride) of each depthwise separable layer.
_BODY: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


class DepthwiseSeparable(nn.Module):
    """A 3x3 depthwise conv-BN-ReLU followed by a 1x1 pointwise conv-BN-ReLU (paper Figure 3)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = ConvBNAct(in_channels, in_channels, 3, stride=stride, groups=in_channels)
        self.pointwise = ConvBNAct(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def _scaled(channels: int, width_mult: float, min_channels: int = 8) -> int:
    """Apply the width multiplier alpha the way TF slim does: truncate, keep at least 8 channels."""
    return max(int(channels * width_mult), min_channels)


class MobileNetV1(nn.Module):
    """Stem 3x3/2 convolution, 13 depthwise separable layers, average pool, fully connected."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        in_channels = _scaled(32, width_mult)
        layers: list[nn.Module] = [ConvBNAct(3, in_channels, 3, stride=2)]
        for channels, stride in _BODY:
            out_channels = _scaled(channels, width_mult)
            layers.append(DepthwiseSeparable(in_channels, out_channels, stride))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def mobilenet_v1(width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV1:
    """Build MobileNet V1 with width multiplier ``width_mult`` (the paper's alpha)."""
    return MobileNetV1(width_mult=width_mult, num_classes=num_classes)


for _name, _width in (
    ("mobilenet_v1", 1.0),
    ("mobilenet_v1_x0_75", 0.75),
    ("mobilenet_v1_x0_5", 0.5),
    ("mobilenet_v1_x0_25", 0.25),
):
    register_model(
        _name,
        mobilenet_v1,
        family="MobileNet V1",
        paper=_PAPER,
        width_mult=_width,
    )
