"""The paper's data: Tables 1–4 on its two platforms — channel widths, measured speeds, and the
claim each guideline makes about the rows (Ma et al. 2018, Sec. 2)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

from costlab.errors import CostlabError
from costlab.experiments.blocks import Bottleneck, GroupPointwise, ParallelFragments, PointwisePair, SeriesFragments

__all__ = ["ARM", "GPU", "INPUT_HW", "NOTES", "PLATFORMS", "Claim", "Platform", "RowSpec", "TableSpec", "experiments"]

INPUT_HW = (56, 56)

NOTES = (
    (
        "Blocks are bias-free convolutions without batch norm (it folds into the conv at inference); outside "
        "Table 4 there is no activation, so each table varies only what its guideline is about."
    ),
    (
        "Table 3: series = k 1×1 convs c′→c′ one after another, c′ = c/√k rounded down; parallel = k 1×1 convs "
        "c→c/k on the same input, outputs concatenated (Inception style), MACs equal to the 1-fragment block exactly."
    ),
    (
        "Table 4: ResNet's bottleneck c → c/4 (1×1) → c/4 (3×3) → c (1×1), ReLU after the first two convs and "
        "after the shortcut add (or the last conv)."
    ),
    "Table 2, ARM settings: the paper's g=8 row has c=180, which 8 does not divide; c=184 is used.",
)


@dataclass(frozen=True)
class Platform:
    """One of the paper's two test platforms, and the settings its tables used."""

    key: Literal["gpu", "arm"]
    hardware: str
    speed_unit: str
    batch: int
    note: str
    """How costlab uses this platform's settings, printed with every result."""


GPU = Platform(
    "gpu",
    "GTX 1080Ti, cuDNN 7",
    "batches/s",
    8,
    "GPU settings: the paper's GPU channel widths at batch 8 (the batch of its GPU speed measurements; Tables 1–4 "
    "do not restate it), speeds in batches/s, cuDNN's benchmark mode on as in the paper.",
)
ARM = Platform(
    "arm",
    "Snapdragon 810, 1 thread",
    "images/s",
    1,
    "ARM settings: the paper's ARM channel widths at batch 1, speeds in images/s, one CPU thread unless --threads "
    "says otherwise (the paper timed its ARM numbers single-threaded); a desktop CPU is closer to that phone CPU "
    "than to a GPU.",
)
PLATFORMS = {"gpu": GPU, "arm": ARM}


@dataclass(frozen=True)
class RowSpec:
    """One row of a table: the block, its widths, and the speed the paper measured for it."""

    label: str
    widths: str
    block: Callable[[], nn.Module]
    in_channels: int
    paper_speed: float

    @property
    def block_name(self) -> str:
        """The block's class name (``PointwisePair``, ``Bottleneck``, …)."""
        return getattr(self.block, "func", self.block).__name__


@dataclass(frozen=True)
class Claim:
    """What the paper's guideline says about two rows: ``slower`` runs slower than ``faster``."""

    slower: str
    faster: str

    def __str__(self) -> str:
        return f"{self.slower} slower than {self.faster}"


@dataclass(frozen=True)
class TableSpec:
    """One of Tables 1–4 on one platform: rows of equal FLOPs, and the claims its guideline makes."""

    number: int
    guideline: str
    title: str
    platform: Platform
    rows: tuple[RowSpec, ...]
    claims: tuple[Claim, ...]

    def row(self, label: str) -> RowSpec:
        return next(r for r in self.rows if r.label == label)


def _p(cls: type[nn.Module], *args: Any) -> Callable[[], nn.Module]:
    return functools.partial(cls, *args)


def _table1(platform: Platform) -> TableSpec:
    # c1·c2 held about fixed. GPU: 128·128 = 16384, 90·180 = 16200, 52·312 = 16224, 36·432 = 15552;
    # ARM: 32·32 = 1024, 22·44 = 968, 13·78 = 1014, 9·108 = 972.
    if platform.key == "gpu":
        widths, speeds = ((128, 128), (90, 180), (52, 312), (36, 432)), (1480, 1296, 876, 748)
    else:
        widths, speeds = ((32, 32), (22, 44), (13, 78), (9, 108)), (76.2, 72.9, 69.1, 57.6)
    rows = tuple(
        RowSpec(ratio, f"c1={c1}, c2={c2}", _p(PointwisePair, c1, c2), c1, speed)
        for ratio, (c1, c2), speed in zip(("1:1", "1:2", "1:6", "1:12"), widths, speeds)
    )
    return TableSpec(1, "G1", "equal channel width minimizes memory access", platform, rows, (Claim("1:12", "1:1"),))


def _table2(platform: Platform) -> TableSpec:
    # c²/g held about fixed. GPU: 128² = 16384, 180²/2 = 16200, 256²/4 = 16384, 360²/8 = 16200;
    # ARM: 64² = 4096, 90²/2 = 4050, 128²/4 = 4096, 184²/8 = 4232 (the paper's 180 is not divisible by 8).
    if platform.key == "gpu":
        channels, speeds = (128, 180, 256, 360), (2451, 1725, 1026, 634)
    else:
        channels, speeds = (64, 90, 128, 184), (40.0, 35.0, 32.9, 27.8)
    rows = tuple(
        RowSpec(f"g={g}", f"c={c}", _p(GroupPointwise, c, g), c, speed)
        for g, c, speed in zip((1, 2, 4, 8), channels, speeds)
    )
    return TableSpec(
        2, "G2", "excessive group convolution increases memory access", platform, rows, (Claim("g=8", "g=1"),)
    )


def _table3(platform: Platform) -> TableSpec:
    # MACs per pixel held at c² (series width c/√k rounded down). GPU c = 128: 1-fragment 16384,
    # 2-series 2·90² = 16200, 4-series 4·64² = 16384,
    # parallel k·128·(128/k) = 16384. ARM c = 64: 4096, 2·45² = 4050, 4·32² = 4096, parallel 4096.
    c = 128 if platform.key == "gpu" else 64
    series2, series4 = math.floor(c / math.sqrt(2)), c // 2
    speeds = (2446, 1790, 752, 1537, 691) if platform.key == "gpu" else (40.2, 38.6, 38.4, 33.4, 35.0)
    rows = (
        RowSpec("1-fragment", f"c={c}", _p(SeriesFragments, c, 1), c, speeds[0]),
        RowSpec("2-series", f"2 × c={series2}", _p(SeriesFragments, series2, 2), series2, speeds[1]),
        RowSpec("4-series", f"4 × c={series4}", _p(SeriesFragments, series4, 4), series4, speeds[2]),
        RowSpec("2-parallel", f"2 × {c}→{c // 2}, concat", _p(ParallelFragments, c, 2), c, speeds[3]),
        RowSpec("4-parallel", f"4 × {c}→{c // 4}, concat", _p(ParallelFragments, c, 4), c, speeds[4]),
    )
    claims = (Claim("4-series", "1-fragment"), Claim("4-parallel", "1-fragment"))
    return TableSpec(3, "G3", "network fragmentation reduces parallelism", platform, rows, claims)


def _table4(platform: Platform) -> TableSpec:
    # MACs per pixel the same in every row: c = 32, inner 8: 32·8 + 9·8·8 + 8·32 = 1088.
    c = 32
    speeds = (2427, 2647, 2672, 2842) if platform.key == "gpu" else (56.7, 61.9, 57.3, 66.3)
    variants = (
        ("ReLU+shortcut", True, True),
        ("ReLU only", True, False),
        ("shortcut only", False, True),
        ("neither", False, False),
    )
    rows = tuple(
        RowSpec(label, f"c={c}, inner {c // 4}", _p(Bottleneck, c, relu, shortcut), c, speed)
        for (label, relu, shortcut), speed in zip(variants, speeds)
    )
    return TableSpec(
        4, "G4", "element-wise operations are non-negligible", platform, rows, (Claim("ReLU+shortcut", "neither"),)
    )


def experiments(platform: Platform, tables: Sequence[int] | None = None) -> tuple[TableSpec, ...]:
    """The paper's Tables 1–4 (or the ``tables`` named) at ``platform``'s channel widths."""
    builders = {1: _table1, 2: _table2, 3: _table3, 4: _table4}
    chosen = sorted(set(tables)) if tables else sorted(builders)
    unknown = [t for t in chosen if t not in builders]
    if unknown:
        raise CostlabError(f"no guideline table {unknown[0]}: the paper's guideline tables are 1, 2, 3 and 4")
    return tuple(builders[t](platform) for t in chosen)
