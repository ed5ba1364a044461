"""ShuffleNet V2: channel split, channel shuffle and equal-width branches.

Ma, Zhang, Zheng and Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
Design", ECCV 2018. The network follows Table 5 at the four widths 0.5× / 1× / 1.5× / 2×, and is
built to match torchvision's ``shufflenet_v2_x*`` models exactly: same parameter counts
(1,366,792 / 2,278,604 / 3,503,624 / 7,393,996) and the same conv + linear MACs
(0.040 / 0.145 / 0.296 / 0.583 G at 224×224). Table 5 itself lists 41 / 146 / 299 / 591 MFLOPs,
within 1.5% of these.

Layout: 3×3 stride-2 conv (24 channels) → 3×3 stride-2 max pool → stages 2, 3, 4 of 4, 8, 4
units (the first of each at stride 2) → 1×1 conv5 → global average pool → FC.

The block is :class:`ShuffleV2Block`, the name the authors' released code gives the unit the
paper draws in Fig. 3 (c) (basic unit) and (d) (unit for spatial down sampling); torchvision
calls the same module ``InvertedResidual``. The channel split, concatenation and shuffle are
done functionally in ``forward`` so a profiler sees them. Like torchvision, the stride-1 unit
splits before it shuffles at the end; the released code shuffles and splits in one step at the
start, which permutes the same amount of data.
"""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct, channel_shuffle
from costlab.zoo.registry import register_model

__all__ = ["STAGE_CHANNELS", "STAGE_REPEATS", "ShuffleNetV2", "ShuffleV2Block", "shufflenet_v2"]

# Table 5: output channels of stages 2, 3, 4 and of conv5 for each width multiplier.
STAGE_CHANNELS: dict[float, tuple[int, int, int, int]] = {
    0.5: (48, 96, 192, 1024),
    1.0: (116, 232, 464, 1024),
    1.5: (176, 352, 704, 1024),
    2.0: (244, 488, 976, 2048),
}
STAGE_REPEATS = (4, 8, 4)
STEM_CHANNELS = 24


def _branch(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """1×1 conv → BN → ReLU → 3×3 depthwise conv (``stride``) → BN → 1×1 conv → BN → ReLU."""
    return nn.Sequential(
        ConvBNAct(in_channels, out_channels, 1),
        ConvBNAct(
            out_channels, out_channels, 3, stride=stride, groups=out_channels, activation=None
        ),
        ConvBNAct(out_channels, out_channels, 1),
    )


class ShuffleV2Block(nn.Module):
    """The ShuffleNet V2 unit of Fig. 3 (c) at stride 1 and Fig. 3 (d) at stride 2.

    Stride 1: the input is split into two halves; one passes unchanged, the other goes through
    :func:`_branch`. Stride 2: no split; both branches take the whole input (the left one is
    3×3 depthwise stride-2 conv → BN → 1×1 conv → BN → ReLU) and each makes half the output.
    Either way the halves are concatenated and channel-shuffled with two groups.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if out_channels % 2:
            raise ValueError(f"out_channels must be even, got {out_channels}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError("a stride-1 unit needs in_channels == out_channels")
        branch_channels = out_channels // 2
        self.stride = stride
        if stride == 2:
            self.branch1: nn.Module = nn.Sequential(
                ConvBNAct(
                    in_channels, in_channels, 3, stride=2, groups=in_channels, activation=None
                ),
                ConvBNAct(in_channels, branch_channels, 1),
            )
        else:
            self.branch1 = nn.Identity()
        branch2_in = in_channels if stride == 2 else branch_channels
        self.branch2 = _branch(branch2_in, branch_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            kept, x = x.chunk(2, dim=1)
            out = torch.cat((kept, self.branch2(x)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNet V2 for ``num_classes``-way classification; ``channels``: stages 2-4 and conv5."""

    def __init__(self, channels: tuple[int, int, int, int], num_classes: int = 1000) -> None:
        super().__init__()
        *stage_channels, last_channels = channels
        self.conv1 = ConvBNAct(3, STEM_CHANNELS, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = STEM_CHANNELS
        stages: list[nn.Sequential] = []
        for out_channels, repeats in zip(stage_channels, STAGE_REPEATS):
            units = [ShuffleV2Block(in_channels, out_channels, 2)]
            units += [ShuffleV2Block(out_channels, out_channels, 1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            in_channels = out_channels
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = ConvBNAct(in_channels, last_channels, 1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def shufflenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 at one of Table 5's widths (0.5, 1.0, 1.5 or 2.0)."""
    if width_mult not in STAGE_CHANNELS:
        raise ValueError(f"width_mult must be one of {sorted(STAGE_CHANNELS)}, got {width_mult}")
    return ShuffleNetV2(STAGE_CHANNELS[width_mult], num_classes)


_FAMILY = "ShuffleNet V2"
_PAPER = "Ma et al. 2018, ShuffleNet V2 (ECCV), Table 5"

for _suffix, _mult in (("x0_5", 0.5), ("x1_0", 1.0), ("x1_5", 1.5), ("x2_0", 2.0)):
    register_model(
        f"shufflenet_v2_{_suffix}", shufflenet_v2, family=_FAMILY, paper=_PAPER, width_mult=_mult
    )
