"""Lint output: text (like ruff), JSON, GitHub workflow annotations, and SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from costlab import __version__

if TYPE_CHECKING:
    from costlab.lint import LintResult

__all__ = ["to_text", "to_json", "to_github", "to_sarif", "FORMATS"]

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"info": "note", "warning": "warning", "error": "error"}
_GITHUB_LEVEL = {"info": "notice", "warning": "warning", "error": "error"}


def _where(result: LintResult, location: Any) -> str:
    return str(location) if location is not None else result.model


def to_text(results: Sequence[LintResult]) -> str:
    """``file:line: G1 [warning] module message — fix``; then a summary line per model."""
    lines = []
    for result in results:
        for f in result.findings:
            module = f.module or "(model)"
            lines.append(f"{_where(result, f.location)}: {f.rule} [{f.severity}] {module} {f.message} — {f.fix}")
    lines += [result.summary() for result in results]
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[LintResult]) -> str:
    data = [
        {
            "model": r.model,
            "fail_level": r.settings.fail_level,
            "failed": r.failed,
            "rules": list(r.settings.select),
            "findings": [f.to_dict() for f in r.findings],
            "summary": {f"{rule}:{severity}": n for (rule, severity), n in sorted(r.counts.items())},
            "ignored_by_config": r.suppressed,
        }
        for r in results
    ]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(results: Sequence[LintResult]) -> str:
    """GitHub Actions workflow commands: ``::warning file=F,line=L,title=T::message``."""
    lines = []
    for result in results:
        for f in result.findings:
            props = []
            if f.location is not None:
                props += [f"file={_escape_property(f.location.file)}", f"line={f.location.line}"]
            props.append(f"title={_escape_property(f'costlab {f.rule} ' + (f.module or result.model))}")
            message = _escape_data(f"{result.model}: {f.message} — {f.fix}")
            lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{message}")
    return "\n".join(lines) + ("\n" if lines else "")


def to_sarif(results: Sequence[LintResult]) -> str:
    """One SARIF 2.1.0 log with one run; rules from the registry, a result per finding."""
    from costlab.lint.rules import RULES

    rules = [
        {
            "id": code,
            "name": rule.name,
            "shortDescription": {"text": f"ShuffleNet V2 {code}: {rule.name.replace('-', ' ')}"},
            "fullDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
            "properties": {"thresholds": {name: p.default for name, p in rule.params.items()}},
        }
        for code, rule in RULES.items()
    ]
    index = {code: i for i, code in enumerate(RULES)}
    sarif_results = []
    for result in results:
        for f in result.findings:
            entry: dict[str, Any] = {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{result.model}: {f.message} — {f.fix}"},
                "properties": {"model": result.model, "evidence": _jsonable(f.evidence)},
            }
            location: dict[str, Any] = {
                "logicalLocations": [{"fullyQualifiedName": f"{result.model}::{f.module or '(model)'}", "kind": "module"}]
            }
            if f.location is not None:
                location["physicalLocation"] = {
                    "artifactLocation": {"uri": f.location.file.replace("\\", "/")},
                    "region": {"startLine": f.location.line},
                }
            entry["locations"] = [location]
            sarif_results.append(entry)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "costlab",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
