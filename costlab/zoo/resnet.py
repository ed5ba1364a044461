"""ResNet (He et al. 2016, "Deep Residual Learning for Image Recognition", CVPR), Table 1.

A 7×7 stride-2 stem and a 3×3 stride-2 max pool, then four stages (64, 128, 256, 512 base
channels; the last three start with stride 2) of ``BasicBlock`` (two 3×3 convolutions, for
ResNet-18/34) or ``Bottleneck`` (1×1 reduce, 3×3, 1×1 expand ×4, for ResNet-50/101/152), global
average pooling and a fully connected classifier. A block whose shape changes gets a projection
shortcut (1×1 convolution with the block's stride + BN, the paper's option B).

Matched to torchvision: ResNet-18 has 11,689,512 parameters and 1.814 G multiply-accumulates,
ResNet-50 25,557,032 and 4.089 G, at 224×224. Like torchvision this is "ResNet v1.5": the
Bottleneck strides on its 3×3 convolution, where the paper strides on the first 1×1 — same
parameters, more MACs (ResNet-50: 4.09 G instead of 3.88 G; Table 1 lists 3.8×10⁹ "FLOPs",
i.e. multiply-adds).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct
from costlab.zoo.registry import register_model

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet"]

PAPER = "He et al. 2016, Deep Residual Learning (CVPR), Table 1"


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BN; ``relu(out + identity)`` (ResNet-18/34)."""

    expansion = 1

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (carries the stride) → 1×1 expand ×4, each with BN; then
    ``relu(out + identity)`` (ResNet-50/101/152)."""

    expansion = 4

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = _conv1x1(in_channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = _conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = _conv1x1(channels, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem, four stages ``layer1``..``layer4`` of ``block``, global pool, classifier."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.in_channels = 64
        self.layer1 = self._make_stage(block, 64, layers[0], stride=1)
        self.layer2 = self._make_stage(block, 128, layers[1], stride=2)
        self.layer3 = self._make_stage(block, 256, layers[2], stride=2)
        self.layer4 = self._make_stage(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_stage(
        self, block: type[BasicBlock] | type[Bottleneck], channels: int, blocks: int, stride: int
    ) -> nn.Sequential:
        out_channels = channels * block.expansion
        downsample = None
        if stride != 1 or self.in_channels != out_channels:
            downsample = ConvBNAct(self.in_channels, out_channels, 1, stride, activation=None)
        stage = [block(self.in_channels, channels, stride, downsample)]
        self.in_channels = out_channels
        stage += [block(out_channels, channels) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet(
    block: type[BasicBlock] | type[Bottleneck] = Bottleneck,
    layers: Sequence[int] = (3, 4, 6, 3),
    num_classes: int = 1000,
) -> ResNet:
    """Build a ResNet from its block type and blocks per stage (Table 1); defaults: ResNet-50."""
    return ResNet(block, layers, num_classes=num_classes)


register_model(
    "resnet18", resnet, family="ResNet", paper=PAPER, block=BasicBlock, layers=(2, 2, 2, 2)
)
register_model(
    "resnet50", resnet, family="ResNet", paper=PAPER, block=Bottleneck, layers=(3, 4, 6, 3)
)
