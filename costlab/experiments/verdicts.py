"""Judging a claim "A is slower than B" on noisy measurements: medians with confidence notches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from costlab.experiments.tables import Claim
from costlab.stats import quantile

if TYPE_CHECKING:
    from costlab.timing.measure import Measurement

__all__ = ["NOISE_FLOOR", "NOTCH", "RULE", "ClaimResult", "Outcome", "RowTiming", "Verdict", "judge", "verdict"]

NOISE_FLOOR = 0.03
"""The smallest difference in median latency a claim needs, however tight the samples: separate
measurements of one network on a shared machine drift by a few percent (clock, caches, neighbours)."""
NOTCH = 1.57
"""A median's 95 % confidence half-width is NOTCH · IQR / √n: the box-plot notch (McGill, Tukey and
Larsen 1978, "Variations of box plots"); two medians whose notches do not overlap differ."""

RULE = (
    "A claim 'A is slower than B' holds when A's median latency exceeds B's by more than the noise, and is "
    "reversed when A's is below B's by more than it; otherwise it is within noise. The noise is the sum of the "
    f"two medians' 95% confidence half-widths ({NOTCH}·IQR/√n each, the box-plot notch), relative to B's median, "
    f"and at least {NOISE_FLOOR:.0%}. A guideline holds when all its claims hold, fails when any is reversed, "
    "and is inconclusive otherwise."
)


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
