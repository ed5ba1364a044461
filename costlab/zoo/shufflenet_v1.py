"""ShuffleNet (V1): pointwise group convolution and channel shuffle.

Zhang, Zhou, Lin and Sun, "ShuffleNet: An Extremely Efficient Convolutional Neural Network for
Mobile Devices", CVPR 2018. The network follows Table 1 (stage widths per group count ``g``)
and Table 2 (scale factors ``s``); it is matched against the paper's complexity column, whose
"MFLOPs" are multiply-accumulates.

Layout at 224×224: 3×3 stride-2 conv (24 channels at 1×) → 3×3 stride-2 max pool → stages 2,
3, 4 of 4, 8, 4 :class:`ShuffleUnit` (the first of each at stride 2) → global average pool → FC.

Choices the paper leaves open, and what was taken:

* The bottleneck width of every unit is a quarter of the stage's output channels.
* The first pointwise layer of stage 2 is not grouped (the paper's remark: its 24 input channels
  are too few). Channel shuffle mixes the groups of one grouped 1×1 conv for the next grouped
  1×1 conv, so it follows the first 1×1 conv only where that conv is grouped (the released code
  also shuffles in that first unit, where the permutation carries no information).
* Table 2's scale factor ``s`` multiplies the stage widths; the paper does not say what happens to
  the 24-channel stem. Its figures are reproduced by the stem the authors' released code
  (megvii-model/ShuffleNet-Series) uses: 12 / 24 / 24 / 48 channels at 0.5× / 1× / 1.5× / 2×,
  so the builder takes the stem width as its own argument. The g=3 models then cost
  37.6 / 137.5 / 292.4 / 524.0 M MACs against the paper's 38 / 137 / 292 / 524 M; a 24-channel
  stem at every scale would give 42.7 M (+12%) at 0.5× and 507.6 M (-3.1%) at 2×.
* The paper prints no parameter counts; the g=3 1× model here has 1.87 M (the usual "1.9 M").
  The classifier keeps its bias (the released code drops it: 1,000 parameters fewer).
* Channel shuffle sits after the first 1×1 group conv as in Fig. 2; the released code shuffles
  after the depthwise conv instead: the same MACs, but in its stride-2 units it permutes the
  already downsampled map, a quarter of the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct, channel_shuffle
from costlab.zoo.registry import register_model

__all__ = ["STAGE_CHANNELS", "STAGE_REPEATS", "ShuffleNetV1", "ShuffleUnit", "shufflenet_v1"]

# Table 1: output channels of stages 2, 3, 4 for each group count g, at scale 1×.
STAGE_CHANNELS: dict[int, tuple[int, int, int]] = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
STAGE_REPEATS = (4, 8, 4)
STEM_CHANNELS = 24


class ShuffleUnit(nn.Module):
    """The ShuffleNet unit of Fig. 2 (b) at stride 1 and Fig. 2 (c) at stride 2.

    1×1 group conv → BN → ReLU → channel shuffle → 3×3 depthwise conv (stride) → BN →
    1×1 group conv → BN, then the shortcut: an element-wise add at stride 1, or at stride 2 a
    3×3 average pool whose output is concatenated (so the conv path makes ``out - in`` channels).
    ReLU follows the add / concatenation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int,
        stride: int,
        group_first_conv: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError("a stride-1 unit needs in_channels == out_channels")
        self.stride = stride
        first_groups = groups if group_first_conv else 1
        self.shuffle_groups = first_groups
        mid_channels = out_channels // 4
        branch_channels = out_channels - in_channels if stride == 2 else out_channels

        self.compress = ConvBNAct(in_channels, mid_channels, 1, groups=first_groups)
        self.depthwise = ConvBNAct(
            mid_channels, mid_channels, 3, stride=stride, groups=mid_channels, activation=None
        )
        self.expand = ConvBNAct(mid_channels, branch_channels, 1, groups=groups, activation=None)
        self.shortcut = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.compress(x)
        if self.shuffle_groups > 1:
            out = channel_shuffle(out, self.shuffle_groups)
        out = self.expand(self.depthwise(out))
        if self.stride == 2:
            out = torch.cat((self.shortcut(x), out), dim=1)
        else:
            out = x + out
        return self.relu(out)


class ShuffleNetV1(nn.Module):
    """ShuffleNet for ``num_classes``-way classification (Table 1); three stage widths."""

    def __init__(
        self,
        stage_channels: Sequence[int],
        groups: int,
        num_classes: int = 1000,
        stem_channels: int = STEM_CHANNELS,
    ) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(3, stem_channels, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = stem_channels
        stages: list[nn.Sequential] = []
        for index, (out_channels, repeats) in enumerate(zip(stage_channels, STAGE_REPEATS)):
            units = [
                ShuffleUnit(
                    in_channels if i == 0 else out_channels,
                    out_channels,
                    groups,
                    stride=2 if i == 0 else 1,
                    group_first_conv=not (index == 0 and i == 0),
                )
                for i in range(repeats)
            ]
            stages.append(nn.Sequential(*units))
            in_channels = out_channels
        self.stage2, self.stage3, self.stage4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def shufflenet_v1(
    groups: int = 3,
    width_mult: float = 1.0,
    stem_channels: int = STEM_CHANNELS,
    num_classes: int = 1000,
) -> ShuffleNetV1:
    """ShuffleNet with ``groups``-way 1×1 group convs and stage widths scaled by ``width_mult``.

    Scaled widths are rounded to a multiple of ``4 * groups`` so that the bottleneck (a quarter
    of the width) splits evenly into groups; the paper's scales (0.5, 1, 1.5, 2) need no rounding.
    ``stem_channels`` is the width of conv1 (see the module docstring for the scaled models).
    """
    if groups not in STAGE_CHANNELS:
        raise ValueError(f"groups must be one of {sorted(STAGE_CHANNELS)}, got {groups}")
    multiple = 4 * groups
    channels = [
        max(multiple, round(c * width_mult / multiple) * multiple) for c in STAGE_CHANNELS[groups]
    ]
    return ShuffleNetV1(channels, groups, num_classes, stem_channels)


_FAMILY = "ShuffleNet V1"
_PAPER = "Zhang et al. 2018, ShuffleNet (CVPR), Tables 1 and 2"

for _g in STAGE_CHANNELS:
    register_model(f"shufflenet_v1_g{_g}", shufflenet_v1, family=_FAMILY, paper=_PAPER, groups=_g)
# Stem widths of the authors' released code, which reproduce Table 2 (see the module docstring).
for _suffix, _mult, _stem in (("x0_5", 0.5, 12), ("x1_5", 1.5, 24), ("x2_0", 2.0, 48)):
    register_model(
        f"shufflenet_v1_g3_{_suffix}",
        shufflenet_v1,
        family=_FAMILY,
        paper=_PAPER,
        groups=3,
        width_mult=_mult,
        stem_channels=_stem,
    )
