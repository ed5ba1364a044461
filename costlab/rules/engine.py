"""``costlab.lint``: run the selected rules on a model's Report and point each finding at its source."""

from __future__ import annotations

import inspect
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costlab.config import Config, load_config
from costlab.cost.report import Report
from costlab.rules import g1, g2, g3, g4  # noqa: F401 - importing a rule registers it
from costlab.rules.findings import Finding, Location, severity_rank
from costlab.rules.registry import RULES, Context
from costlab.rules.settings import LintSettings, settings_from_config

__all__ = ["lint", "LintResult"]


@dataclass
class LintResult:
    """The findings for one model, and the settings they were judged with."""

    model: str
    report: Report
    findings: list[Finding]
    settings: LintSettings
    suppressed: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.counts = Counter((f.rule, f.severity) for f in self.findings)

    @property
    def failed(self) -> bool:
        """True when any finding is at or above the fail level."""
        floor = severity_rank(self.settings.fail_level)
        return any(severity_rank(f.severity) >= floor for f in self.findings)

    def summary(self) -> str:
        if not self.findings:
            return f"{self.model}: no findings ({', '.join(self.settings.select) or 'no rules'} checked)"
        parts = [f"{rule} {n} {severity}" for (rule, severity), n in sorted(self.counts.items())]
        suppressed = f", {self.suppressed} ignored by config" if self.suppressed else ""
        noun = "finding" if len(self.findings) == 1 else "findings"
        return f"{self.model}: {len(self.findings)} {noun} — {', '.join(parts)}{suppressed}"


def lint(
    model: Any,
    input_shape: Any = None,
    *,
    settings: LintSettings | None = None,
    config: Config | None = None,
    time_shares: Mapping[str, float] | None = None,
    device: str = "",
) -> LintResult:
    """Run the selected rules on ``model`` (a Report, an nn.Module, or a spec string).

    ``settings`` wins; else they come from ``config`` (default: the costlab.toml / pyproject.toml
    found upward from the working directory). ``time_shares`` (time category → share of the
    measured time, from :class:`~costlab.timing.layers.LayerTiming` of the same model, and the
    ``device`` it was measured on) adds measured time to the evidence (G4: the share of time in
    element-wise ops).
    """
    if isinstance(model, Report):
        report = model
    else:
        from costlab.cost.profile import profile

        report = profile(model, input_shape)
    if settings is None:
        settings = settings_from_config(config if config is not None else load_config())
    context = Context(dict(time_shares or {}), device)
    findings: list[Finding] = []
    suppressed = 0
    for code in settings.select:
        rule = RULES[code]
        for finding in rule.check(report, settings.thresholds(code), settings.severity(code), context):
            if settings.ignored(finding):
                suppressed += 1
                continue
            findings.append(_located(report, finding))
    return LintResult(report.model, report, findings, settings, suppressed)


_LOCATIONS: dict[type, Location | None] = {}


def _located(report: Report, finding: Finding) -> Finding:
    """Point the finding at the source of the nearest enclosing class that is not torch's own
    (starting from the block named in the evidence, when the rule names one)."""
    anchor = finding.evidence.get("block", finding.module)
    calls = [c for c in report.calls if c.name == anchor]
    call = calls[0] if calls else (report.calls[0] if report.calls else None)
    while call is not None:
        if call.cls is not None and not call.cls.__module__.startswith("torch."):
            location = _class_location(call.cls)
            if location is not None:
                return Finding(**{**finding.__dict__, "location": location})
        call = report.calls[call.parent] if call.parent is not None else None
    return finding


def _class_location(cls: type) -> Location | None:
    if cls not in _LOCATIONS:
        try:
            file = inspect.getsourcefile(cls)
            _, line = inspect.getsourcelines(cls)
        except (OSError, TypeError):
            _LOCATIONS[cls] = None
        else:
            _LOCATIONS[cls] = Location(_relative(file), line) if file else None
    return _LOCATIONS[cls]


def _relative(file: str) -> str:
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return os.path.normpath(file)
