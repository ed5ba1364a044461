"""Building blocks shared by several zoo families (kept small: only what two or more families use)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ActivationFactory = Callable[[], nn.Module] | None


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never going below 90% of it.

    The rule of the MobileNet reference implementations (TF slim ``_make_divisible``).
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """Convolution → BatchNorm → activation, the unit almost every CNN here is made of.

    ``padding`` defaults to "same" for odd kernels (``(k - 1) // 2 * dilation``); the convolution
    has no bias because the batch norm's shift replaces it. ``activation=None`` leaves it linear.
    Children are named ``0`` (conv), ``1`` (bn), ``2`` (activation) like torchvision's
    ``Conv2dNormActivation``, so module paths read the same.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation: ActivationFactory = nn.ReLU,
        padding: int | None = None,
        dilation: int = 1,
    ) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                dilation=dilation,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)
        self.out_channels = out_channels


def init_weights(model: nn.Module) -> None:
    """The usual ImageNet initialisation: He (fan-out) convs with zero bias, unit/zero batch norm,
    small-normal linear layers. Costs do not depend on weights; this only keeps real runs sane.

    Meta tensors are left alone: there is nothing to initialise, and the meta versions of the
    init functions are slow Python decompositions.
    """
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if weight is None or weight.is_meta:
            continue
        bias = getattr(module, "bias", None)
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(weight, mode="fan_out")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(weight)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(weight, 0.0, 0.01)
        else:
            continue
        if bias is not None:
            nn.init.zeros_(bias)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: reshape to (g, c/g), transpose, flatten back.

    The transpose is a view; ``contiguous`` is the real copy, which is what costs memory access.
    """
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width)
    x = x.transpose(1, 2).contiguous()
    return x.view(batch, channels, height, width)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018) as MobileNet V3 and GhostNet use it.

    Global average pool → 1×1 conv (with bias) → ``activation`` → 1×1 conv (with bias) → ``gate``,
    then the input is rescaled channel-wise by the gate.
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        activation: Callable[[], nn.Module] = nn.ReLU,
        gate: Callable[[], nn.Module] = nn.Hardsigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = activation()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * scale
