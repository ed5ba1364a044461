"""The lint rule registry: each rule is a function ``(Report, thresholds, severity, Context) -> [Finding]``
registered with :func:`rule`, which also declares its thresholds (name, default, minimum, meaning).

One registry, like the cost formulas: the rules live one per file (:mod:`costlab.rules.g1` …
:mod:`~costlab.rules.g4`), their thresholds are configurable in ``[tool.costlab.lint.G1]`` etc.
(:mod:`costlab.rules.settings`), and registering a code twice is a bug that raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from costlab.cost.report import Report
from costlab.rules.findings import Finding

__all__ = ["RULES", "Check", "Context", "Param", "Rule", "rule"]


@dataclass(frozen=True)
class Param:
    """A rule threshold: its default, the smallest value that makes sense, and what it means."""

    default: float
    minimum: float
    help: str


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the counts: measured time, when the model was timed.

    ``time_shares`` maps a kind of work (``elementwise``, ``depthwise_conv``, …; see
    :mod:`costlab.cost.categories`) and ``op_time_shares`` an aten op (``aten.convolution``) to
    its share of the time measured inside op calls, on ``device``.
    """

    time_shares: Mapping[str, float] = field(default_factory=dict)
    op_time_shares: Mapping[str, float] = field(default_factory=dict)
    device: str = ""

    @classmethod
    def of(cls, timing: Any) -> Context:
        """The context of a :class:`~costlab.timing.layers.LayerTiming` (None: counts only)."""
        if timing is None:
            return cls()
        return cls(dict(timing.time_shares), dict(timing.op_time_shares), timing.latency.spec.device)


Check = Callable[[Report, Mapping[str, float], str, Context], list[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered rule. ``score`` names the evidence that says how bad an instance is (the worst of
    a group is shown first); ``explanation`` is what ``costlab rule CODE`` prints."""

    code: str
    name: str
    summary: str
    severity: str
    check: Check
    params: Mapping[str, Param] = field(default_factory=dict)
    score: str = ""
    explanation: str = ""

    def score_of(self, finding: Finding) -> float:
        value = finding.evidence.get(self.score, 0.0) if self.score else 0.0
        return float(value) if isinstance(value, (int, float)) else 0.0


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    summary: str,
    severity: str = "warning",
    *,
    score: str = "",
    explanation: str = "",
    **params: Param,
) -> Callable[[Check], Check]:
    """Register a rule function under ``code`` with its default severity, thresholds and explanation."""

    def decorate(check: Check) -> Check:
        if code in RULES:
            raise ValueError(f"lint rule {code} is registered twice")
        RULES[code] = Rule(code, name, summary, severity, check, params, score, explanation.strip())
        return check

    return decorate
