"""MobileNet V3 (Howard et al. 2019, "Searching for MobileNetV3", ICCV), Tables 1 and 2.

Table 1 is MobileNetV3-Large and Table 2 MobileNetV3-Small: a hard-swish 3×3 stem, a stack of
"bneck" blocks (expand 1×1 → depthwise k×k → optional squeeze-and-excite → linear 1×1 project,
residual when the shape allows), a 1×1 conv to 960 / 576 channels, global average pooling and
a two-layer classifier (1280 / 1024 hidden units with hard-swish, no batch norm).

Matched: torchvision's ``mobilenet_v3_large`` / ``mobilenet_v3_small`` parameter counts exactly
and their MACs. As in torchvision, the squeeze-and-excite bottleneck has
``make_divisible(expanded // 4, 8)`` channels and a hard-sigmoid gate, the last conv has 6× the
last bneck's channels, and the width multiplier scales every channel count of the table (the
1280 / 1024 classifier width included), rounded to a multiple of 8.
Known difference: batch norm uses PyTorch's default eps/momentum instead of torchvision's
1e-3 / 0.01, which changes no cost.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import nn

from costlab.zoo._layers import ConvBNAct, SqueezeExcite, init_weights, make_divisible
from costlab.zoo.registry import register_model

__all__ = ["InvertedResidual", "MobileNetV3", "mobilenet_v3"]


class BneckSetting(NamedTuple):
    """One row of Table 1 / Table 2 (channels before the width multiplier)."""

    kernel: int
    expanded: int  # "exp size"
    out: int  # "#out"
    use_se: bool  # "SE"
    activation: Literal["RE", "HS"]  # "NL": ReLU or hard-swish
    stride: int


# Table 1, MobileNetV3-Large: the 15 bneck rows between the stem (16 ch) and the 960-channel conv.
LARGE: tuple[BneckSetting, ...] = (
    BneckSetting(3, 16, 16, False, "RE", 1),
    BneckSetting(3, 64, 24, False, "RE", 2),
    BneckSetting(3, 72, 24, False, "RE", 1),
    BneckSetting(5, 72, 40, True, "RE", 2),
    BneckSetting(5, 120, 40, True, "RE", 1),
    BneckSetting(5, 120, 40, True, "RE", 1),
    BneckSetting(3, 240, 80, False, "HS", 2),
    BneckSetting(3, 200, 80, False, "HS", 1),
    BneckSetting(3, 184, 80, False, "HS", 1),
    BneckSetting(3, 184, 80, False, "HS", 1),
    BneckSetting(3, 480, 112, True, "HS", 1),
    BneckSetting(3, 672, 112, True, "HS", 1),
    BneckSetting(5, 672, 160, True, "HS", 2),
    BneckSetting(5, 960, 160, True, "HS", 1),
    BneckSetting(5, 960, 160, True, "HS", 1),
)

# Table 2, MobileNetV3-Small: the 11 bneck rows between the stem (16 ch) and the 576-channel conv.
SMALL: tuple[BneckSetting, ...] = (
    BneckSetting(3, 16, 16, True, "RE", 2),
    BneckSetting(3, 72, 24, False, "RE", 2),
    BneckSetting(3, 88, 24, False, "RE", 1),
    BneckSetting(5, 96, 40, True, "HS", 2),
    BneckSetting(5, 240, 40, True, "HS", 1),
    BneckSetting(5, 240, 40, True, "HS", 1),
    BneckSetting(5, 120, 48, True, "HS", 1),
    BneckSetting(5, 144, 48, True, "HS", 1),
    BneckSetting(5, 288, 96, True, "HS", 2),
    BneckSetting(5, 576, 96, True, "HS", 1),
    BneckSetting(5, 576, 96, True, "HS", 1),
)

# Table 1 / Table 2: (bneck rows, hidden width of the classifier).
ARCHS: dict[str, tuple[tuple[BneckSetting, ...], int]] = {
    "large": (LARGE, 1280),
    "small": (SMALL, 1024),
}


class InvertedResidual(nn.Module):
    """The MobileNetV3 "bneck": 1×1 expand → k×k depthwise → SE → 1×1 linear projection.

    The expansion is skipped when ``expanded == in_channels`` (the first row of both tables);
    the residual is added when the stride is 1 and the channel count is unchanged.
    """

    def __init__(
        self,
        in_channels: int,
        expanded: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        use_se: bool,
        use_hardswish: bool,
    ) -> None:
        super().__init__()
        activation = nn.Hardswish if use_hardswish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, 1, activation=activation))
        layers.append(
            ConvBNAct(expanded, expanded, kernel_size, stride, groups=expanded, activation=activation)
        )
        if use_se:
            layers.append(SqueezeExcite(expanded, make_divisible(expanded // 4, 8)))
        layers.append(ConvBNAct(expanded, out_channels, 1, activation=None))
        self.block = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_res_connect else out


class MobileNetV3(nn.Module):
    """Stem → bnecks → 1×1 conv (6× last bneck channels) → pool → Linear-HS-Dropout-Linear."""

    def __init__(
        self,
        settings: tuple[BneckSetting, ...],
        last_channel: int,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        in_channels = make_divisible(16 * width_mult, 8)
        layers: list[nn.Module] = [ConvBNAct(3, in_channels, 3, 2, activation=nn.Hardswish)]
        for s in settings:
            out_channels = make_divisible(s.out * width_mult, 8)
            layers.append(
                InvertedResidual(
                    in_channels,
                    make_divisible(s.expanded * width_mult, 8),
                    out_channels,
                    s.kernel,
                    s.stride,
                    s.use_se,
                    s.activation == "HS",
                )
            )
            in_channels = out_channels
        last_conv = 6 * in_channels
        layers.append(ConvBNAct(in_channels, last_conv, 1, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = make_divisible(last_channel * width_mult, 8)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv, hidden),
            nn.Hardswish(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v3(
    arch: Literal["large", "small"] = "large",
    width_mult: float = 1.0,
    num_classes: int = 1000,
    dropout: float = 0.2,
) -> MobileNetV3:
    """MobileNetV3-Large (Table 1) or -Small (Table 2) at width multiplier ``width_mult``."""
    if arch not in ARCHS:
        raise ValueError(f"unknown MobileNetV3 arch {arch!r}; expected one of {sorted(ARCHS)}")
    settings, last_channel = ARCHS[arch]
    return MobileNetV3(settings, last_channel, width_mult, num_classes, dropout)


register_model(
    "mobilenet_v3_large",
    mobilenet_v3,
    family="MobileNet V3",
    paper="Howard et al. 2019, Searching for MobileNetV3 (ICCV), Table 1",
    arch="large",
)
register_model(
    "mobilenet_v3_small",
    mobilenet_v3,
    family="MobileNet V3",
    paper="Howard et al. 2019, Searching for MobileNetV3 (ICCV), Table 2",
    arch="small",
)
