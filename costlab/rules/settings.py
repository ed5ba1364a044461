"""Lint settings: rule selection, severities, thresholds and per-module ignores.

From ``[lint]`` in ``costlab.toml`` or ``[tool.costlab.lint]`` in ``pyproject.toml``::

    [tool.costlab.lint]
    select = ["G1", "G2", "G3", "G4"]     # default: all
    ignore = ["G3"]
    fail_level = "warning"                # info | warning | error
    per_module_ignores = { "features.*.conv.0" = ["G1"] }

    [tool.costlab.lint.G1]
    severity = "error"
    min_mac_ratio = 1.3

Every key is checked: an unknown rule, key or severity, or a threshold of the wrong type or
below its minimum, is a :class:`~costlab.config.ConfigError` that names the key. Keys are snake_case,
like the thresholds and the budgets' (``lint_fail_level``); the hyphenated spellings of earlier
versions are refused with the new name. The rules must be registered first (importing
:mod:`costlab.rules` does it).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from costlab.config import Config, ConfigError
from costlab.rules.findings import SEVERITIES, Finding
from costlab.rules.registry import RULES

__all__ = ["LintSettings", "parse_rule_list", "settings_from_config"]

_TOP_KEYS = {"select", "ignore", "fail_level", "per_module_ignores"}


@dataclass(frozen=True)
class LintSettings:
    select: tuple[str, ...] = tuple(RULES)
    fail_level: str = "warning"
    severities: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    per_module_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def severity(self, code: str) -> str:
        return self.severities.get(code, RULES[code].severity)

    def thresholds(self, code: str) -> dict[str, float]:
        defaults = {name: param.default for name, param in RULES[code].params.items()}
        return {**defaults, **self.options.get(code, {})}

    def ignored(self, finding: Finding) -> bool:
        return any(
            finding.rule in rules and fnmatch.fnmatchcase(finding.module, pattern)
            for pattern, rules in self.per_module_ignores.items()
        )


def parse_rule_list(value: Any, where: str) -> tuple[str, ...]:
    """``"G1,G2"`` or ``["G1", "G2"]`` → ("G1", "G2"), checking every code exists."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of rule codes such as [\"G1\", \"G2\"]")
    codes = []
    for item in items:
        code = str(item).strip().upper()
        if not code:
            continue
        if code not in RULES:
            raise ConfigError(f"{where}: unknown rule {item!r} (rules: {', '.join(RULES)})")
        codes.append(code)
    return tuple(codes)


def _severity(value: Any, where: str) -> str:
    if value not in SEVERITIES:
        raise ConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, not {value!r}")
    return str(value)


def settings_from_config(
    config: Config,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    fail_level: str | None = None,
) -> LintSettings:
    """Settings from the config's lint table, overridden by command-line ``select``/``ignore``/``fail_level``."""
    table = config.section("lint")
    where = config.where
    severities: dict[str, str] = {}
    options: dict[str, dict[str, float]] = {}
    for key, value in table.items():
        if key in _TOP_KEYS:
            continue
        if key.replace("-", "_") in _TOP_KEYS:
            raise ConfigError(f"{where('lint')}: {key} is now {key.replace('-', '_')} (keys are snake_case)")
        if key.upper() in RULES and isinstance(value, dict):
            code = key.upper()
            for name, setting in value.items():
                if name == "severity":
                    severities[code] = _severity(setting, where(f"lint.{key}"))
                    continue
                params = RULES[code].params
                if name not in params:
                    known = ", ".join(["severity", *params])
                    raise ConfigError(f"{where(f'lint.{key}')}: unknown key {name!r}; {code} takes {known}")
                if isinstance(setting, bool) or not isinstance(setting, (int, float)) or not math.isfinite(setting):
                    raise ConfigError(f"{where(f'lint.{key}')}: {name} must be a finite number, not {setting!r}")
                if setting < params[name].minimum:
                    raise ConfigError(f"{where(f'lint.{key}')}: {name} = {setting} is below its minimum {params[name].minimum}")
                options.setdefault(code, {})[name] = float(setting)
            continue
        allowed = ", ".join([*sorted(_TOP_KEYS), *RULES])
        raise ConfigError(f"{where('lint')}: unknown key {key!r} (allowed: {allowed})")

    chosen = parse_rule_list(table["select"], where("lint") + " select") if "select" in table else tuple(RULES)
    if select is not None:
        chosen = parse_rule_list(list(select), "--select")
    dropped = set(parse_rule_list(table.get("ignore", []), where("lint") + " ignore"))
    if ignore is not None:
        dropped |= set(parse_rule_list(list(ignore), "--ignore"))
    level = _severity(table.get("fail_level", "warning"), where("lint") + " fail_level")
    if fail_level is not None:
        level = _severity(fail_level, "--fail-level")
    ignores: dict[str, tuple[str, ...]] = {}
    raw_ignores = table.get("per_module_ignores", {})
    if not isinstance(raw_ignores, dict):
        raise ConfigError(f"{where('lint')} per_module_ignores: expected a table of \"glob\" = [rules]")
    for pattern, rules in raw_ignores.items():
        ignores[str(pattern)] = parse_rule_list(rules, f"{where('lint')} per_module_ignores.{pattern!r}")
    return LintSettings(tuple(c for c in chosen if c not in dropped), level, severities, options, ignores)
