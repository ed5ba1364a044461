"""ShuffleNet V2's guideline experiments (Ma et al. 2018, Sec. 2, Tables 1–4), re-run on this hardware.

Each table compares blocks of equal FLOPs that differ in one thing a guideline is about: channel
ratio (G1), groups (G2), fragments (G3), element-wise ops (G4). A network is one block stacked
:data:`BLOCKS_PER_NET` times on a 56×56 input, as in the paper. costlab counts every network
(MACs, FLOPs, memory access) to show the FLOPs really are equal, times it, and judges each
guideline with :func:`judge` (the rule is :data:`RULE`).

The paper measured two platforms; the channel widths differ between them:

* ``gpu``: GTX 1080Ti with cuDNN 7 (its benchmark mode on), speeds in batches/s at batch 8.
  We use it for ``--device cuda`` (``torch.backends.cudnn.benchmark`` on while timing).
* ``arm``: Snapdragon 810, one thread, images/s at batch 1. We use it for ``--device cpu``: a
  desktop CPU is closer to that phone CPU than to a GPU, and it runs single-threaded by default,
  as the paper's ARM runs did.

Choices the paper leaves open, made here and printed with every result (:data:`NOTES`):

* blocks are bias-free convolutions with no batch norm (it folds into the conv at inference) and,
  outside Table 4, no activation: each table varies only what its guideline is about;
* Table 3's *series* block is k 1×1 convs c′→c′ one after another with k·c′² ≈ c² (c′ = c/√k
  rounded); its *parallel* block is k 1×1 convs c→c/k on the same input, outputs concatenated
  (Inception style), so its MACs equal the 1-fragment block's exactly;
* Table 4's bottleneck is ResNet's: c → c/4 (1×1) → c/4 (3×3) → c (1×1), ReLU after each of the
  first two convs and after the shortcut add (after the last conv when there is no shortcut);
* Table 2 on ARM: the paper's g = 8 row has c = 180, which 8 does not divide; we use c = 184
  (FLOPs +3.3 % over g = 1 instead of the paper's −1.1 %).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from costlab.errors import CostlabError
from costlab.timing.measure import Measurement, quantile

__all__ = [
    "PointwisePair",
    "GroupPointwise",
    "SeriesFragments",
    "ParallelFragments",
    "Bottleneck",
    "stack",
    "Platform",
    "GPU",
    "ARM",
    "PLATFORMS",
    "RowSpec",
    "Claim",
    "TableSpec",
    "experiments",
    "RowCount",
    "count_table",
    "table_result",
    "RowTiming",
    "ClaimResult",
    "RowResult",
    "TableResult",
    "GuidelinesResult",
    "judge",
    "verdict",
    "run_guidelines",
    "RunSettings",
    "FULL",
    "QUICK",
    "RULE",
    "NOTES",
    "NOISE_FLOOR",
    "NOTCH",
    "FLOPS_TOLERANCE",
    "BLOCKS_PER_NET",
    "INPUT_HW",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1
BLOCKS_PER_NET = 10
INPUT_HW = (56, 56)
NOISE_FLOOR = 0.03
"""The smallest difference in median latency a claim needs, however tight the samples: separate
measurements of one network on a shared machine drift by a few percent (clock, caches, neighbours)."""
NOTCH = 1.57
"""A median's 95 % confidence half-width is NOTCH · IQR / √n: the box-plot notch (McGill, Tukey and
Larsen 1978, "Variations of box plots"); two medians whose notches do not overlap differ."""
FLOPS_TOLERANCE = 0.06
"""How far a row's FLOPs may be from the first row's: the paper's own channel rounding reaches
5.1 % (Table 1 GPU, 36·432 = 15552 vs 128·128 = 16384) and 5.5 % (Table 1 ARM, 22·44 = 968 vs 1024)."""

RULE = (
    "A claim 'A is slower than B' holds when A's median latency exceeds B's by more than the noise, and is "
    "reversed when A's is below B's by more than it; otherwise it is within noise. The noise is the sum of the "
    f"two medians' 95% confidence half-widths ({NOTCH}·IQR/√n each, the box-plot notch), relative to B's median, "
    f"and at least {NOISE_FLOOR:.0%}. A guideline holds when all its claims hold, fails when any is reversed, "
    "and is inconclusive otherwise."
)

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


# ------------------------------------------------------------------------------------------------
# Blocks
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# The experiments
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# Measurements and verdicts
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowTiming:
    """Per-call times of one network, pooled over every round it was timed in (ms)."""

    times_ms: tuple[float, ...]
    runs: int
    rounds: int

    @classmethod
    def pooled(cls, measurements: Sequence[Measurement]) -> RowTiming:
        """One RowTiming from several measurements of the same network (drift between them counts as noise)."""
        times = tuple(t * 1e3 for m in measurements for t in m.times_s)
        return cls(times, sum(m.runs for m in measurements), len(measurements))

    def _q(self, q: float) -> float:
        return quantile(sorted(self.times_ms), q)

    @property
    def median_ms(self) -> float:
        return self._q(0.5)

    @property
    def p25_ms(self) -> float:
        return self._q(0.25)

    @property
    def p75_ms(self) -> float:
        return self._q(0.75)

    @property
    def relative_iqr(self) -> float:
        """(p75 − p25) / median: how much single calls spread."""
        return (self.p75_ms - self.p25_ms) / self.median_ms if self.median_ms else 0.0

    @property
    def median_ci_ms(self) -> float:
        """The median's 95 % confidence half-width, :data:`NOTCH` · IQR / √n."""
        return NOTCH * (self.p75_ms - self.p25_ms) / math.sqrt(len(self.times_ms))

    @property
    def relative_median_ci(self) -> float:
        """:attr:`median_ci_ms` / median."""
        return self.median_ci_ms / self.median_ms if self.median_ms else 0.0


Outcome = Literal["holds", "reversed", "within noise"]
Verdict = Literal["holds", "fails", "inconclusive"]


@dataclass(frozen=True)
class ClaimResult:
    """A claim judged on measurements: how much slower ``slower`` ran, against what noise."""

    claim: Claim
    excess: float
    """median latency of the slower row / that of the faster row − 1 (0.25: 25 % slower)."""
    noise: float
    """How large ``excess`` must be to count (see :data:`RULE`)."""
    outcome: Outcome

    @property
    def speed_ratio(self) -> float:
        """The slower row's speed over the faster row's: 1 / (1 + excess)."""
        return 1.0 / (1.0 + self.excess)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slower": self.claim.slower,
            "faster": self.claim.faster,
            "excess": self.excess,
            "speed_ratio": self.speed_ratio,
            "noise": self.noise,
            "outcome": self.outcome,
        }


def judge(claim: Claim, slower: RowTiming, faster: RowTiming, noise_floor: float = NOISE_FLOOR) -> ClaimResult:
    """Apply :data:`RULE` to one claim.

    >>> a, b = RowTiming((12.0, 12.1, 11.9), 3, 1), RowTiming((10.0, 10.1, 9.9), 3, 1)
    >>> judge(Claim("a", "b"), a, b).outcome, judge(Claim("b", "a"), b, a).outcome
    ('holds', 'reversed')
    """
    excess = slower.median_ms / faster.median_ms - 1.0
    noise = max((slower.median_ci_ms + faster.median_ci_ms) / faster.median_ms, noise_floor)
    outcome: Outcome = "holds" if excess > noise else "reversed" if excess < -noise else "within noise"
    return ClaimResult(claim, excess, noise, outcome)


def verdict(results: Sequence[ClaimResult]) -> Verdict:
    """``holds`` when every claim holds, ``fails`` when any is reversed, else ``inconclusive``."""
    if any(r.outcome == "reversed" for r in results):
        return "fails"
    if results and all(r.outcome == "holds" for r in results):
        return "holds"
    return "inconclusive"


@dataclass(frozen=True)
class RowResult:
    """One row: what costlab counted, what was measured, and both relative to the table's first row."""

    spec: RowSpec
    input_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    mac_bytes: int
    timing: RowTiming
    speed_per_s: float
    """Forward passes per second at the median (batches/s; images/s at batch 1)."""
    relative_speed: float
    relative_speed_low: float
    """Relative speed at the slow end of this row's median's 95 % confidence interval."""
    relative_speed_high: float
    """Relative speed at the fast end of this row's median's 95 % confidence interval."""
    flops_ratio: float
    mac_ratio: float
    """mac_bytes / the first row's: the memory access the guideline predicts the time from."""
    paper_relative_speed: float
    vs_first: Outcome | None
    """This row judged as slower than the first row (None for the first row itself)."""

    @property
    def mac_relative_speed(self) -> float:
        """The relative speed memory access alone predicts, if time were proportional to it: 1 / mac_ratio."""
        return 1.0 / self.mac_ratio

    def to_dict(self) -> dict[str, Any]:
        t = self.timing
        return {
            "label": self.spec.label,
            "block": self.spec.block_name,
            "widths": self.spec.widths,
            "input_shape": list(self.input_shape),
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "mac_bytes": self.mac_bytes,
            "median_ms": t.median_ms,
            "p25_ms": t.p25_ms,
            "p75_ms": t.p75_ms,
            "relative_iqr": t.relative_iqr,
            "median_ci_ms": t.median_ci_ms,
            "samples": len(t.times_ms),
            "runs": t.runs,
            "rounds": t.rounds,
            "speed_per_s": self.speed_per_s,
            "relative_speed": self.relative_speed,
            "relative_speed_low": self.relative_speed_low,
            "relative_speed_high": self.relative_speed_high,
            "flops_ratio": self.flops_ratio,
            "mac_ratio": self.mac_ratio,
            "mac_relative_speed": self.mac_relative_speed,
            "paper_speed": self.spec.paper_speed,
            "paper_relative_speed": self.paper_relative_speed,
            "slower_than_first": self.vs_first,
        }


@dataclass(frozen=True)
class TableResult:
    """One table re-run: its rows, its claims judged, and the guideline's verdict."""

    spec: TableSpec
    rows: tuple[RowResult, ...]
    claims: tuple[ClaimResult, ...]
    verdict: Verdict
    flops_spread: float
    """The largest |FLOPs / first row's FLOPs − 1| in the table."""

    def paper_speed_ratio(self, claim: Claim) -> float:
        """The paper's speed of ``claim.slower`` over that of ``claim.faster``."""
        return self.spec.row(claim.slower).paper_speed / self.spec.row(claim.faster).paper_speed

    @property
    def flops_equal(self) -> bool:
        """Whether every row's FLOPs are within :data:`FLOPS_TOLERANCE` of the first row's."""
        return self.flops_spread <= FLOPS_TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.spec.number,
            "guideline": self.spec.guideline,
            "title": self.spec.title,
            "paper_platform": self.spec.platform.hardware,
            "paper_speed_unit": self.spec.platform.speed_unit,
            "flops_spread": self.flops_spread,
            "flops_equal": self.flops_equal,
            "verdict": self.verdict,
            "claims": [{**c.to_dict(), "paper_speed_ratio": self.paper_speed_ratio(c.claim)} for c in self.claims],
            "rows": [r.to_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class GuidelinesResult:
    """Every table re-run, with how and where it was measured."""

    device: str
    device_name: str
    platform: Platform
    threads: int
    dtype: str
    torch_version: str
    min_time_s: float
    rounds: int
    quick: bool
    tables: tuple[TableResult, ...]
    noise_floor: float = NOISE_FLOOR
    rule: str = RULE
    notes: tuple[str, ...] = field(default=NOTES)

    @property
    def input_hw(self) -> tuple[int, int]:
        return INPUT_HW

    @property
    def blocks_per_net(self) -> int:
        return BLOCKS_PER_NET

    @property
    def speed_unit(self) -> str:
        """``batches/s``, or ``images/s`` at batch 1."""
        return "images/s" if self.platform.batch == 1 else "batches/s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "device": self.device,
            "device_name": self.device_name,
            "settings": self.platform.key,
            "paper_platform": self.platform.hardware,
            "batch": self.platform.batch,
            "input_hw": list(INPUT_HW),
            "blocks_per_net": BLOCKS_PER_NET,
            "threads": self.threads,
            "dtype": self.dtype,
            "torch_version": self.torch_version,
            "min_time_s": self.min_time_s,
            "rounds": self.rounds,
            "quick": self.quick,
            "speed_unit": self.speed_unit,
            "noise_floor": self.noise_floor,
            "rule": self.rule,
            "notes": list(self.notes),
            "tables": [t.to_dict() for t in self.tables],
        }


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSettings:
    """How long to time: seconds per measurement, and how many interleaved rounds of all rows."""

    min_time_s: float
    rounds: int


FULL = RunSettings(min_time_s=1.0, rounds=5)
QUICK = RunSettings(min_time_s=0.15, rounds=2)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class RowCount:
    """costlab's count of one row's network (10 blocks) at the platform's batch and a 56×56 input."""

    spec: RowSpec
    input_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    mac_bytes: int


def count_table(table: TableSpec) -> list[RowCount]:
    """costlab's own counts of every row's network, at the platform's batch."""
    from costlab.cost.profile import profile

    counted = []
    for row in table.rows:
        shape = (table.platform.batch, row.in_channels, *INPUT_HW)
        totals = profile(stack(row.block), shape).totals
        counted.append(RowCount(row, shape, totals.params, totals.macs, totals.flops, totals.mac_bytes))
    return counted


def run_guidelines(
    device: str = "cpu",
    *,
    platform: Platform | None = None,
    tables: Sequence[int] | None = None,
    settings: RunSettings = FULL,
    quick: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
) -> GuidelinesResult:
    """Count and time the paper's guideline tables on ``device``, and judge every guideline.

    ``platform`` picks the paper's channel widths and batch (default: ARM's on CPU, GPU's on
    CUDA); ``threads`` fixes CPU threads (default 1 on CPU, as the paper's ARM runs). Rows are
    timed in ``settings.rounds`` interleaved rounds, so a slow drift of the machine spreads over
    every row instead of biasing the last ones.
    """
    from costlab.timing.devices import device_name, resolve_device
    from costlab.timing.measure import load_workload, time_workload

    target = resolve_device(device)
    if platform is None:
        platform = GPU if target.type == "cuda" else ARM
    if threads is None and target.type == "cpu":
        threads = 1
    specs = experiments(platform, tables)
    counted = [count_table(table) for table in specs]
    workloads = [
        [load_workload(stack(c.spec.block), c.input_shape, device=str(target)) for c in table] for table in counted
    ]
    total = settings.rounds * sum(len(t) for t in counted)
    done = 0
    measured: list[list[list[Measurement]]] = [[[] for _ in table] for table in counted]
    benchmark_before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True  # the paper turned on cuDNN's algorithm search
    try:
        for _ in range(settings.rounds):
            for t, table in enumerate(workloads):
                for r, workload in enumerate(table):
                    m = time_workload(workload, threads=threads, min_time_s=settings.min_time_s)
                    measured[t][r].append(m)
                    done += 1
                    if progress is not None:
                        progress(done / total)
    finally:
        torch.backends.cudnn.benchmark = benchmark_before
    results = tuple(
        table_result(spec, rows, [RowTiming.pooled(ms) for ms in timings])
        for spec, rows, timings in zip(specs, counted, measured)
    )
    first = measured[0][0][0]
    return GuidelinesResult(
        device=str(target),
        device_name=device_name(target),
        platform=platform,
        threads=first.spec.threads,
        dtype=first.spec.dtype,
        torch_version=first.spec.torch_version,
        min_time_s=settings.min_time_s,
        rounds=settings.rounds,
        quick=quick,
        tables=results,
        notes=(platform.note, *NOTES),
    )


def table_result(spec: TableSpec, counted: Sequence[RowCount], timings: Sequence[RowTiming]) -> TableResult:
    """Relative speeds, memory-access ratios, claims and the verdict of one table (pure arithmetic)."""
    base, base_timing = counted[0], timings[0]
    by_label = {c.spec.label: timing for c, timing in zip(counted, timings)}
    rows = []
    for index, (c, timing) in enumerate(zip(counted, timings)):
        rows.append(
            RowResult(
                spec=c.spec,
                input_shape=c.input_shape,
                params=c.params,
                macs=c.macs,
                flops=c.flops,
                mac_bytes=c.mac_bytes,
                timing=timing,
                speed_per_s=1e3 / timing.median_ms,
                relative_speed=base_timing.median_ms / timing.median_ms,
                relative_speed_low=base_timing.median_ms / (timing.median_ms + timing.median_ci_ms),
                relative_speed_high=base_timing.median_ms / max(timing.median_ms - timing.median_ci_ms, 1e-12),
                flops_ratio=c.flops / base.flops,
                mac_ratio=c.mac_bytes / base.mac_bytes,
                paper_relative_speed=c.spec.paper_speed / base.spec.paper_speed,
                vs_first=None
                if index == 0
                else judge(Claim(c.spec.label, base.spec.label), timing, base_timing).outcome,
            )
        )
    claims = tuple(judge(claim, by_label[claim.slower], by_label[claim.faster]) for claim in spec.claims)
    spread = max(abs(c.flops / base.flops - 1.0) for c in counted)
    return TableResult(spec, tuple(rows), claims, verdict(claims), spread)
