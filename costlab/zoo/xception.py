"""Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR).

Follows Fig. 5 of the paper: an entry flow (two plain 3×3 convolutions, then three residual
blocks that each halve the resolution), a middle flow of eight identical 728-channel residual
blocks, and an exit flow (one more down-sampling block, then 1536- and 2048-channel separable
convolutions, global average pooling and the classifier).

Matched against the Keras reference implementation (``keras.applications.Xception``): 22,855,952
parameters with the 1000-class top (batch-norm γ/β count, running statistics do not), about
8.4 G multiply-accumulates at 299×299. As in Keras, the separable and plain convolutions have no
bias, the shortcut of a down-sampling block is a stride-2 1×1 convolution followed by batch norm,
and the first block of the entry flow does not start with a ReLU (its input has just been
through one). Known difference: Keras pads the stride-2 max pools "same", which is one-sided
where the total padding is odd (the 74×74 → 37×37 pool); here they pad 1 on every side, which
gives the same output sizes and the same costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct
from costlab.zoo.registry import register_model

__all__ = ["SeparableConv2d", "Xception", "XceptionBlock", "xception"]

PAPER = "Chollet 2017, Xception (CVPR), Fig. 5"


class SeparableConv2d(nn.Module):
    """Depthwise separable convolution: a 3×3 depthwise convolution, then a 1×1 pointwise one.

    No activation and no batch norm between the two, and no bias (the following batch norm
    supplies the shift) — the paper's "extreme Inception" module as Keras' ``SeparableConv2D``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            padding=kernel_size // 2,
            groups=in_channels,
            bias=False,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """One residual block of the three flows: (ReLU → SeparableConv2d → BN) × n, plus a shortcut.

    ``channels`` lists the output width of each separable convolution. With ``stride=2`` the
    block ends in a 3×3 stride-2 max pool and its shortcut is a stride-2 1×1 convolution + BN;
    otherwise (the middle flow) the shortcut is the identity. ``start_with_relu=False`` drops the
    leading ReLU, as in the first entry-flow block.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        stride: int = 1,
        start_with_relu: bool = True,
    ) -> None:
        super().__init__()
        out_channels = channels[-1]
        layers: list[nn.Module] = []
        width = in_channels
        for i, c in enumerate(channels):
            if i > 0 or start_with_relu:
                layers.append(nn.ReLU())
            layers += [SeparableConv2d(width, c), nn.BatchNorm2d(c)]
            width = c
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, padding=1))
        self.residual = nn.Sequential(*layers)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = ConvBNAct(
                in_channels, out_channels, 1, stride, activation=None
            )
        else:
            self.shortcut = nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class Xception(nn.Module):
    """Xception: entry flow, ``middle_blocks`` middle-flow blocks, exit flow, classifier."""

    def __init__(self, num_classes: int = 1000, middle_blocks: int = 8) -> None:
        super().__init__()
        # Entry flow: two unpadded 3×3 convolutions (299 → 149 → 147), then 128/256/728 blocks.
        self.stem = nn.Sequential(
            ConvBNAct(3, 32, 3, stride=2, padding=0),
            ConvBNAct(32, 64, 3, padding=0),
        )
        self.entry_flow = nn.Sequential(
            XceptionBlock(64, (128, 128), stride=2, start_with_relu=False),
            XceptionBlock(128, (256, 256), stride=2),
            XceptionBlock(256, (728, 728), stride=2),
        )
        self.middle_flow = nn.Sequential(
            *(XceptionBlock(728, (728, 728, 728)) for _ in range(middle_blocks))
        )
        self.exit_flow = nn.Sequential(
            XceptionBlock(728, (728, 1024), stride=2),
            SeparableConv2d(1024, 1536),
            nn.BatchNorm2d(1536),
            nn.ReLU(inplace=True),
            SeparableConv2d(1536, 2048),
            nn.BatchNorm2d(2048),
            nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.exit_flow(self.middle_flow(self.entry_flow(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def xception(num_classes: int = 1000, middle_blocks: int = 8) -> Xception:
    """Build Xception; the paper's model has eight middle-flow blocks."""
    return Xception(num_classes=num_classes, middle_blocks=middle_blocks)


register_model("xception", xception, family="Xception", input_shape=(1, 3, 299, 299), paper=PAPER)
