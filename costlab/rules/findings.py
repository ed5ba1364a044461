"""What a lint rule reports: a :class:`Finding` per module instance, with its evidence in numbers and
a fix; findings at one source location form one :class:`FindingGroup` (a block built in a loop is one
place to fix, however many instances it makes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "Finding", "FindingGroup", "Location", "group_findings", "severity_rank"]

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Location:
    """Where to look in the source: the call that built the module (its 1-based line and column), or,
    when costlab did not see it built, the line of its class (column 0)."""

    file: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column or None}


@dataclass(frozen=True)
class Finding:
    """One guideline broken at one place, with the numbers that show it and how to fix it.

    ``module`` is the qualified module name (``""`` for the model as a whole), ``op`` what was
    measured there (``Conv2d 1x1 24→144``), ``evidence`` the raw numbers behind ``message``.
    """

    rule: str
    severity: str
    module: str
    module_type: str
    op: str
    message: str
    fix: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "module": self.module,
            "module_type": self.module_type,
            "op": self.op,
            "message": self.message,
            "fix": self.fix,
            "evidence": dict(self.evidence),
            "location": self.location.to_dict() if self.location else None,
        }


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one rule, at one severity, at one source location (or on one module when the
    source is unknown): one place to fix. ``findings`` are worst first."""

    rule: str
    severity: str
    location: Location | None
    findings: tuple[Finding, ...]

    @property
    def worst(self) -> Finding:
        return self.findings[0]

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(f.module for f in self.findings)

    def modules_text(self, shown: int = 3) -> str:
        """``features.3.conv.0.0`` or ``features.3.conv.0.0 and 7 more (features.5.conv.0.0, …)``."""
        names = [m or "(model)" for m in self.modules]
        if len(names) == 1:
            return names[0]
        listed = ", ".join(names[1 : 1 + shown]) + (", …" if len(names) > 1 + shown else "")
        return f"{names[0]} and {len(names) - 1} more ({listed})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "location": self.location.to_dict() if self.location else None,
            "modules": list(self.modules),
            "message": self.worst.message,
            "fix": self.worst.fix,
        }


def group_findings(findings: Sequence[Finding], score: Callable[[Finding], float] = lambda f: 0.0) -> list[FindingGroup]:
    """Findings gathered by (rule, severity, location) — by module where the location is unknown —
    in the order they were first found; inside a group the highest ``score`` comes first."""
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.rule, finding.severity, finding.location or finding.module)
        groups.setdefault(key, []).append(finding)
    return [
        FindingGroup(rule, severity, members[0].location, tuple(sorted(members, key=lambda f: -score(f))))
        for (rule, severity, _), members in groups.items()
    ]
