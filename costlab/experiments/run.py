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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from costlab.experiments.blocks import BLOCKS_PER_NET, stack
from costlab.experiments.tables import ARM, GPU, INPUT_HW, NOTES, Claim, Platform, RowSpec, TableSpec, experiments
from costlab.experiments.verdicts import NOISE_FLOOR, RULE, ClaimResult, Outcome, RowTiming, Verdict, judge, verdict
from costlab.progress import Progress, notify
from costlab.timing.measure import Measurement

__all__ = [
    "FLOPS_TOLERANCE",
    "FULL",
    "QUICK",
    "SCHEMA_VERSION",
    "GuidelinesResult",
    "RowCount",
    "RowResult",
    "RunSettings",
    "TableResult",
    "count_table",
    "run_guidelines",
    "table_result",
]

SCHEMA_VERSION = 1
FLOPS_TOLERANCE = 0.06
"""How far a row's FLOPs may be from the first row's: the paper's own channel rounding reaches
5.1 % (Table 1 GPU, 36·432 = 15552 vs 128·128 = 16384) and 5.5 % (Table 1 ARM, 22·44 = 968 vs 1024)."""


@dataclass(frozen=True)
class RowResult:
    """One row: what costlab counted, what was measured, and both relative to the table's first row."""

    spec: RowSpec
    input_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    bytes_accessed: int
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
    """bytes_accessed / the first row's: the memory access the guideline predicts the time from."""
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
            "bytes_accessed": self.bytes_accessed,
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


@dataclass(frozen=True)
class RowCount:
    """costlab's count of one row's network (10 blocks) at the platform's batch and a 56×56 input."""

    spec: RowSpec
    input_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    bytes_accessed: int


def count_table(table: TableSpec) -> list[RowCount]:
    """costlab's own counts of every row's network, at the platform's batch."""
    from costlab.cost.profile import profile

    counted = []
    for row in table.rows:
        shape = (table.platform.batch, row.in_channels, *INPUT_HW)
        totals = profile(stack(row.block), shape).totals
        counted.append(RowCount(row, shape, totals.params, totals.macs, totals.flops, totals.bytes_accessed))
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
                    notify(progress, done / total)
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
                bytes_accessed=c.bytes_accessed,
                timing=timing,
                speed_per_s=1e3 / timing.median_ms,
                relative_speed=base_timing.median_ms / timing.median_ms,
                relative_speed_low=base_timing.median_ms / (timing.median_ms + timing.median_ci_ms),
                relative_speed_high=base_timing.median_ms / max(timing.median_ms - timing.median_ci_ms, 1e-12),
                flops_ratio=c.flops / base.flops,
                mac_ratio=c.bytes_accessed / base.bytes_accessed,
                paper_relative_speed=c.spec.paper_speed / base.spec.paper_speed,
                vs_first=None
                if index == 0
                else judge(Claim(c.spec.label, base.spec.label), timing, base_timing).outcome,
            )
        )
    claims = tuple(judge(claim, by_label[claim.slower], by_label[claim.faster]) for claim in spec.claims)
    spread = max(abs(c.flops / base.flops - 1.0) for c in counted)
    return TableResult(spec, tuple(rows), claims, verdict(claims), spread)
