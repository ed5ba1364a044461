"""MobileNet V2: inverted residuals with linear bottlenecks.

Sandler, Howard, Zhu, Zhmoginov, Chen, 2018, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks" (CVPR), Table 2 body, width multipliers of Section 6.1 / the TF-slim reference table.

Matched: torchvision parity at width 1.0 (3,504,872 parameters, 300.8 M MACs at 224x224); the
module tree mirrors torchvision's (``features.N.conv.K``, ``classifier.1``) so per-layer reports
line up. Channels are rounded with ``make_divisible(c * width, 8)``; the last 1x1 convolution keeps
1280 channels for widths below 1 and scales only above 1 (the slim table's convention as well).
Other widths follow the same rules and land within 3% of the slim table. Its parameter column
leaves out the batch norms' scale and shift: without them these models give its 1.66 / 1.95 /
2.61 / 3.47 / 6.06 M to the printed digits, with them (as torchvision counts) about 1% more.
"""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct, init_weights, make_divisible
from costlab.zoo.registry import register_model

__all__ = ["InvertedResidual", "MobileNetV2", "mobilenet_v2"]

_PAPER = "Sandler et al. 2018, MobileNetV2 (CVPR), Table 2"

# Table 2 after the stem: expansion t, output channels c, repeats n, first stride s.
_BODY: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    """The bottleneck residual block of Table 1.

    1x1 expansion to ``in_channels * expand_ratio`` (ReLU6; skipped when the ratio is 1),
    3x3 depthwise convolution with ``stride`` (ReLU6), then a linear 1x1 projection. The input
    is added back when the block keeps both resolution and width.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride=stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """Stem 3x3/2 convolution, 17 inverted residual blocks, 1x1 to 1280, pool, dropout, linear."""

    def __init__(
        self, width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2
    ) -> None:
        super().__init__()
        in_channels = make_divisible(32 * width_mult, 8)
        last_channels = make_divisible(1280 * max(1.0, width_mult), 8)
        layers: list[nn.Module] = [ConvBNAct(3, in_channels, 3, stride=2, activation=nn.ReLU6)]
        for expand_ratio, channels, repeats, first_stride in _BODY:
            out_channels = make_divisible(channels * width_mult, 8)
            for i in range(repeats):
                stride = first_stride if i == 0 else 1
                layers.append(InvertedResidual(in_channels, out_channels, stride, expand_ratio))
                in_channels = out_channels
        layers.append(ConvBNAct(in_channels, last_channels, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(last_channels, num_classes)
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def mobilenet_v2(
    width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2
) -> MobileNetV2:
    """Build MobileNet V2 with width multiplier ``width_mult``."""
    return MobileNetV2(width_mult=width_mult, num_classes=num_classes, dropout=dropout)


for _name, _width in (
    ("mobilenet_v2", 1.0),
    ("mobilenet_v2_x0_35", 0.35),
    ("mobilenet_v2_x0_5", 0.5),
    ("mobilenet_v2_x0_75", 0.75),
    ("mobilenet_v2_x1_4", 1.4),
):
    register_model(
        _name,
        mobilenet_v2,
        family="MobileNet V2",
        paper=_PAPER,
        width_mult=_width,
    )
