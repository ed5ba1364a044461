"""What a lint rule reports: a :class:`Finding`, with its evidence in numbers and a fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "Location", "Finding", "severity_rank"]

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Location:
    """Where to look in the source: the file and line of the module's class."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


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
            "location": {"file": self.location.file, "line": self.location.line} if self.location else None,
        }
