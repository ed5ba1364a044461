"""``costlab.lint``: run the selected rules on a model's Report and point each finding at its source.

A finding points at the call that built its module, in the block a reader thinks of: for a conv
inside MobileNet V2's ``ConvBNAct`` inside an ``InvertedResidual``, the ``ConvBNAct(...)`` line in
``InvertedResidual.__init__`` (:mod:`costlab.load.sites` records the chain of calls while costlab
builds the model). A model handed over already built has no recorded sites: its findings point at
the class of the nearest enclosing block. A ``# noqa`` (or ``# noqa: G1, G3``) comment on that line
silences the finding, as in ruff and flake8.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costlab.config import Config, load_config
from costlab.cost.report import Report
from costlab.load.sites import Site, site_in
from costlab.rules import g1, g2, g3, g4  # noqa: F401 - importing a rule registers it
from costlab.rules.findings import Finding, FindingGroup, Location, group_findings, severity_rank
from costlab.rules.registry import RULES, Context
from costlab.rules.settings import LintSettings, settings_from_config

__all__ = ["LintResult", "lint"]


@dataclass
class LintResult:
    """The findings for one model, and the settings they were judged with."""

    model: str
    report: Report
    findings: list[Finding]
    settings: LintSettings
    suppressed: int = 0
    """Findings left out by the config's ignores (``per_module_ignores``)."""
    noqa: int = 0
    """Findings silenced by a ``# noqa`` comment at their source line."""
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.counts = Counter((f.rule, f.severity) for f in self.findings)

    def groups(self) -> list[FindingGroup]:
        """The findings by source location: one place to fix each (worst instance first)."""
        return group_findings(self.findings, lambda f: RULES[f.rule].score_of(f))

    @property
    def failed(self) -> bool:
        """True when any finding is at or above the fail level."""
        floor = severity_rank(self.settings.fail_level)
        return any(severity_rank(f.severity) >= floor for f in self.findings)

    def summary(self) -> str:
        quiet = [f"{n} ignored by {what}" for n, what in ((self.suppressed, "config"), (self.noqa, "noqa")) if n]
        tail = f" ({', '.join(quiet)})" if quiet else ""
        if not self.findings:
            return f"{self.model}: no findings ({', '.join(self.settings.select) or 'no rules'} checked){tail}"
        parts = [f"{rule} {n} {severity}" for (rule, severity), n in sorted(self.counts.items())]
        noun = "finding" if len(self.findings) == 1 else "findings"
        places = len(self.groups())
        where = f" at {places} place{'s' * (places != 1)}" if places != len(self.findings) else ""
        return f"{self.model}: {len(self.findings)} {noun}{where} — {', '.join(parts)}{tail}"


def lint(
    model: Any,
    input_shape: Any = None,
    *,
    settings: LintSettings | None = None,
    config: Config | None = None,
    timing: Any = None,
) -> LintResult:
    """Run the selected rules on ``model`` (a Report, an nn.Module, or a spec string).

    ``settings`` wins; else they come from ``config`` (default: the costlab.toml / pyproject.toml
    found upward from the working directory). ``timing``, the
    :class:`~costlab.timing.layers.LayerTiming` of the same model, adds measured time to the
    evidence (G4: the share of time in element-wise ops).
    """
    if isinstance(model, Report):
        report = model
    else:
        from costlab.cost.profile import profile
        from costlab.load.sites import wanted

        with wanted():
            report = profile(model, input_shape)
    if settings is None:
        settings = settings_from_config(config if config is not None else load_config())
    context = Context.of(timing)
    findings: list[Finding] = []
    suppressed = silenced = 0
    for code in settings.select:
        rule = RULES[code]
        for finding in rule.check(report, settings.thresholds(code), settings.severity(code), context):
            if settings.ignored(finding):
                suppressed += 1
                continue
            located = _located(report, finding)
            if _noqa(located):
                silenced += 1
                continue
            findings.append(located)
    return LintResult(report.model, report, findings, settings, suppressed, silenced)


_LOCATIONS: dict[type, Location | None] = {}
_CONTAINERS = ("torch.nn.modules.container",)


def _located(report: Report, finding: Finding) -> Finding:
    """Point the finding at the call that built its module, inside its enclosing block; without
    recorded sites, at the class of the nearest enclosing block that is not torch's own."""
    module = finding.module
    block = _block(report, finding)
    chain = report.sites.get(module, ())
    site: Site | None = None
    if chain:
        site = site_in(chain, report.sites.get(block, ())) if block is not None and block != module else None
        site = site or chain[0]
    elif module == "" or not report.sites:
        return _at_class(report, finding, block)
    if site is None:
        return _at_class(report, finding, block)
    location = Location(_relative(site.file), site.line, site.column)
    return Finding(**{**finding.__dict__, "location": location})


def _block(report: Report, finding: Finding) -> str | None:
    """The block a finding belongs to: the one its rule names, else the nearest enclosing module whose
    class is neither torch's nor a container (a Sequential subclass is a wrapper, not a block)."""
    named = finding.evidence.get("block")
    if isinstance(named, str):
        return named
    calls = {c.name: c for c in report.calls}
    call = calls.get(finding.module)
    while call is not None and call.parent is not None:
        call = report.calls[call.parent]
        if call.cls is not None and not call.cls.__module__.startswith("torch.") and not _is_container(call.cls):
            return call.name
    return "" if report.calls else None


def _is_container(cls: type) -> bool:
    return any(base.__module__ in _CONTAINERS for base in cls.__mro__[1:] if base.__name__ != "Module")


def _at_class(report: Report, finding: Finding, block: str | None) -> Finding:
    """The class of the nearest enclosing module that is not torch's own, from ``block`` up."""
    calls = [c for c in report.calls if c.name == (block if block is not None else finding.module)]
    call = calls[0] if calls else (report.calls[0] if report.calls else None)
    while call is not None:
        if call.cls is not None and not call.cls.__module__.startswith("torch."):
            location = _class_location(call.cls)
            if location is not None:
                return Finding(**{**finding.__dict__, "location": location})
        call = report.calls[call.parent] if call.parent is not None else None
    return finding


_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9]+(?:[\s,]+[A-Za-z0-9]+)*))?", re.IGNORECASE)


def _noqa(finding: Finding) -> bool:
    """A ``# noqa`` comment (bare, or naming the rule) on the finding's source line silences it."""
    location = finding.location
    if location is None:
        return False
    path = location.file if os.path.isabs(location.file) else os.path.join(os.getcwd(), location.file)
    match = _NOQA.search(linecache.getline(path, location.line))
    if match is None:
        return False
    codes = match["codes"]
    return codes is None or finding.rule.upper() in {c.upper() for c in re.split(r"[\s,]+", codes) if c}


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
