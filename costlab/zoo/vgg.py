"""VGG (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR), Table 1.

A stack of 3×3 stride-1 convolutions (padding 1) with ReLU, split into five stages by 2×2
stride-2 max pools, then three fully connected layers (4096, 4096, classes) with ReLU and
dropout. The configurations A, B, D and E of Table 1 (VGG-11/13/16/19) are the builder's
argument; ``vgg16`` is configuration D.

Matched to torchvision (no batch norm, an ``AdaptiveAvgPool2d((7, 7))`` before the classifier,
which is free at 224×224): VGG-16 has 138,357,544 parameters and about 15.47 G
multiply-accumulates at 224×224. Configuration C (with 1×1 convolutions) is not included.
"""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo.registry import register_model

__all__ = ["CONFIGS", "VGG", "vgg"]

PAPER = "Simonyan & Zisserman 2015, Very Deep Convolutional Networks (ICLR), Table 1"

# Table 1: output channels of each 3×3 convolution; "M" is a 2×2 stride-2 max pool.
CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64, 64, "M",
        128, 128, "M",
        256, 256, 256, 256, "M",
        512, 512, 512, 512, "M",
        512, 512, 512, 512, "M",
    ],
}  # fmt: skip


def _features(config: list[int | str]) -> nn.Sequential:
    """The convolutional part of a VGG configuration."""
    layers: list[nn.Module] = []
    in_channels = 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            assert isinstance(item, int)
            layers.append(nn.Conv2d(in_channels, item, kernel_size=3, padding=1))
            layers.append(nn.ReLU(inplace=True))
            in_channels = item
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: 3×3 convolution stages (``features``), 7×7 pooling, three-layer MLP (``classifier``)."""

    def __init__(self, config: str = "D", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = _features(CONFIGS[config])
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg(config: str = "D", num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """Build VGG for a Table 1 configuration: "A" (VGG-11), "B" (13), "D" (16) or "E" (19)."""
    if config not in CONFIGS:
        raise ValueError(f"unknown VGG configuration {config!r}; expected one of {sorted(CONFIGS)}")
    return VGG(config=config, num_classes=num_classes, dropout=dropout)


register_model("vgg16", vgg, family="VGG", paper=PAPER, config="D")
