"""GhostNet (Han et al. 2020, "GhostNet: More Features from Cheap Operations", CVPR), Table 1.

A Ghost module makes half of its output channels with an ordinary 1×1 convolution and the other
half ("ghost" features) from those with a cheap 3×3 depthwise convolution. Two Ghost modules
form a Ghost bottleneck (G-bneck): the first expands, the second projects linearly; stride-2
bottlenecks put a depthwise stride-2 convolution between them. Table 1 stacks 16 G-bnecks
after a 3×3 stem, then a 1×1 conv to 960 channels, global average pooling, a 1×1 conv to 1280
channels (with bias, no batch norm) and the classifier.

Matched: the paper's GhostNet 1.0× (≈ 5.2 M parameters, ≈ 141 M MACs at 224×224; the paper's
"FLOPs" are multiply-accumulates). Details Table 1 leaves open follow the authors' reference
code: the squeeze-and-excite bottleneck has ``make_divisible(c / 4, 4)`` channels and a
hard-sigmoid gate; a shortcut whose shape changes is a depthwise k×k conv (with the block's
stride) followed by a 1×1 conv, each with batch norm; the width multiplier scales every channel
count except the 1280-channel head, rounded to a multiple of 4; dropout 0.2 before the classifier.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct, SqueezeExcite, init_weights, make_divisible
from costlab.zoo.registry import register_model

__all__ = ["GhostBottleneck", "GhostModule", "GhostNet", "ghostnet"]


class GBneckSetting(NamedTuple):
    """One G-bneck row of Table 1 (channels before the width multiplier)."""

    kernel: int  # depthwise kernel of the stride-2 conv and of the shortcut
    expanded: int  # "#exp"
    out: int  # "#out"
    use_se: bool  # "SE"
    stride: int


# Table 1, grouped into stages by input resolution (112, 56, 28, 14, 7 at 224×224 input).
STAGES: tuple[tuple[GBneckSetting, ...], ...] = (
    (GBneckSetting(3, 16, 16, False, 1),),
    (GBneckSetting(3, 48, 24, False, 2), GBneckSetting(3, 72, 24, False, 1)),
    (GBneckSetting(5, 72, 40, True, 2), GBneckSetting(5, 120, 40, True, 1)),
    (
        GBneckSetting(3, 240, 80, False, 2),
        GBneckSetting(3, 200, 80, False, 1),
        GBneckSetting(3, 184, 80, False, 1),
        GBneckSetting(3, 184, 80, False, 1),
        GBneckSetting(3, 480, 112, True, 1),
        GBneckSetting(3, 672, 112, True, 1),
    ),
    (
        GBneckSetting(5, 672, 160, True, 2),
        GBneckSetting(5, 960, 160, False, 1),
        GBneckSetting(5, 960, 160, True, 1),
        GBneckSetting(5, 960, 160, False, 1),
        GBneckSetting(5, 960, 160, True, 1),
    ),
)
LAST_CONV = 960  # Table 1: Conv2d 1×1 after the last G-bneck
HEAD = 1280  # Table 1: Conv2d 1×1 after the pooling (not width-scaled)


class GhostModule(nn.Module):
    """Primary 1×1 conv to ``ceil(out / ratio)`` channels plus a cheap depthwise "ghost" conv.

    The cheap operation turns each primary channel into ``ratio - 1`` ghost channels; the two are
    concatenated and cut to exactly ``out_channels`` (which matters when it is not a multiple of
    ``ratio``). ``relu=False`` gives the linear module that ends a bottleneck.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ratio: int = 2,
        dw_size: int = 3,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        primary = math.ceil(out_channels / ratio)
        activation = nn.ReLU if relu else None
        self.primary_conv = ConvBNAct(in_channels, primary, 1, activation=activation)
        self.cheap_operation = ConvBNAct(
            primary, primary * (ratio - 1), dw_size, groups=primary, activation=activation
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intrinsic = self.primary_conv(x)
        out = torch.cat([intrinsic, self.cheap_operation(intrinsic)], dim=1)
        return out[:, : self.out_channels]


class GhostBottleneck(nn.Module):
    """G-bneck: Ghost module (expand, ReLU) → [depthwise stride 2] → [SE] → Ghost module (linear).

    The shortcut is the identity when stride is 1 and the channel count is kept; otherwise a
    depthwise k×k conv with the block's stride and a 1×1 conv, each followed by batch norm.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        use_se: bool = False,
    ) -> None:
        super().__init__()
        self.ghost1 = GhostModule(in_channels, mid_channels, relu=True)
        self.depthwise = (
            ConvBNAct(mid_channels, mid_channels, kernel_size, stride, groups=mid_channels, activation=None)
            if stride > 1
            else None
        )
        self.se = (
            SqueezeExcite(mid_channels, make_divisible(mid_channels * 0.25, 4)) if use_se else None
        )
        self.ghost2 = GhostModule(mid_channels, out_channels, relu=False)
        if stride == 1 and in_channels == out_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                ConvBNAct(in_channels, in_channels, kernel_size, stride, groups=in_channels, activation=None),
                ConvBNAct(in_channels, out_channels, 1, activation=None),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost1(x)
        if self.depthwise is not None:
            out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out) + self.shortcut(x)


class GhostNet(nn.Module):
    """Stem → five stages of G-bnecks → 1×1 conv → pool → 1×1 conv head (ReLU) → dropout → FC."""

    def __init__(self, width: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        in_channels = make_divisible(16 * width, 4)
        self.stem = ConvBNAct(3, in_channels, 3, 2)
        stages: list[nn.Module] = []
        for stage in STAGES:
            blocks: list[nn.Module] = []
            for s in stage:
                out_channels = make_divisible(s.out * width, 4)
                blocks.append(
                    GhostBottleneck(
                        in_channels,
                        make_divisible(s.expanded * width, 4),
                        out_channels,
                        s.kernel,
                        s.stride,
                        s.use_se,
                    )
                )
                in_channels = out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        last_conv = make_divisible(LAST_CONV * width, 4)
        self.conv_last = ConvBNAct(in_channels, last_conv, 1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv_head = nn.Conv2d(last_conv, HEAD, 1)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(HEAD, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_last(self.stages(self.stem(x)))
        x = self.act(self.conv_head(self.avgpool(x)))
        return self.classifier(self.dropout(torch.flatten(x, 1)))


def ghostnet(width: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> GhostNet:
    """GhostNet (Table 1) at width multiplier ``width`` (1.0 is the paper's GhostNet 1.0×)."""
    return GhostNet(width, num_classes, dropout)


register_model(
    "ghostnet",
    ghostnet,
    family="GhostNet",
    paper="Han et al. 2020, GhostNet: More Features from Cheap Operations (CVPR), Table 1",
)
