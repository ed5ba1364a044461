"""The blocks of ShuffleNet V2's guideline experiments (Tables 1–4), and the network a row times.

Bias-free convolutions without batch norm (it folds into the conv at inference) and, outside
Table 4, no activation: each table varies only what its guideline is about.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "BLOCKS_PER_NET",
    "Bottleneck",
    "GroupPointwise",
    "ParallelFragments",
    "PointwisePair",
    "SeriesFragments",
    "stack",
]

BLOCKS_PER_NET = 10


def _conv(c_in: int, c_out: int, kernel: int = 1, groups: int = 1) -> nn.Conv2d:
    """A bias-free conv initialised to keep the activations' variance (std 1/√fan_in).

    Ten to forty stacked convs with PyTorch's default init shrink activations by about 3× each;
    keeping them near unit scale keeps them far from denormal floats, which are slow on CPUs.
    """
    conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False)
    fan_in = (c_in // groups) * kernel * kernel
    nn.init.normal_(conv.weight, std=1.0 / math.sqrt(fan_in))
    return conv


class PointwisePair(nn.Module):
    """Table 1 (G1): two 1×1 convs, ``c1 → c2 → c1``. MACs per pixel: 2·c1·c2."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        self.expand = _conv(c1, c2)
        self.reduce = _conv(c2, c1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.expand(x))


class GroupPointwise(nn.Module):
    """Table 2 (G2): one 1×1 group conv ``c → c`` in ``groups`` groups. MACs per pixel: c²/g."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"{groups} groups do not divide {channels} channels")
        self.conv = _conv(channels, channels, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SeriesFragments(nn.Module):
    """Table 3 (G3): ``fragments`` 1×1 convs ``c → c`` one after another. MACs per pixel: k·c².

    One fragment is the paper's 1-fragment baseline.
    """

    def __init__(self, channels: int, fragments: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(*(_conv(channels, channels) for _ in range(fragments)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x)


class ParallelFragments(nn.Module):
    """Table 3 (G3): ``branches`` 1×1 convs ``c → c/k`` on the same input, outputs concatenated.

    MACs per pixel: k·c·(c/k) = c², the 1-fragment block's exactly; the concat adds a copy.
    """

    def __init__(self, channels: int, branches: int) -> None:
        super().__init__()
        if channels % branches:
            raise ValueError(f"{branches} branches do not divide {channels} channels")
        self.branches = nn.ModuleList(_conv(channels, channels // branches) for _ in range(branches))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class Bottleneck(nn.Module):
    """Table 4 (G4): ResNet's bottleneck ``c → c/4 (1×1) → c/4 (3×3) → c (1×1)``, with or without
    its ReLUs and its shortcut. MACs per pixel: c·c/4 + 9·(c/4)² + c/4·c, the same in every variant.
    """

    def __init__(self, channels: int, relu: bool, shortcut: bool) -> None:
        super().__init__()
        if channels % 4:
            raise ValueError(f"a bottleneck needs channels divisible by 4, got {channels}")
        inner = channels // 4
        self.reduce = _conv(channels, inner)
        self.spatial = _conv(inner, inner, kernel=3)
        self.expand = _conv(inner, channels)
        self.relu = relu
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act: Callable[[torch.Tensor], torch.Tensor] = torch.relu if self.relu else _identity
        out = self.expand(act(self.spatial(act(self.reduce(x)))))
        if self.shortcut:
            out = out + x
        return act(out)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def stack(block: Callable[[], nn.Module], count: int = BLOCKS_PER_NET) -> nn.Sequential:
    """``count`` fresh copies of ``block()`` one after another: the network a row times."""
    return nn.Sequential(*(block() for _ in range(count)))
