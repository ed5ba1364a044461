"""``costlab lint`` output: lines like ruff's, JSON, CSV, Markdown, GitHub workflow annotations,
SARIF 2.1.0 and JUnit XML — and the model × rule table of ``lint --zoo``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from costlab import __version__
from costlab.render.annotate import Case, junit_xml, workflow_command
from costlab.render.layout import Col, build_table

if TYPE_CHECKING:
    from rich.table import Table

    from costlab.rules import Finding, LintResult

__all__ = [
    "findings_text",
    "findings_json",
    "findings_csv",
    "findings_markdown",
    "findings_github",
    "findings_sarif",
    "findings_junit",
    "lint_matrix",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"info": "note", "warning": "warning", "error": "error"}
_GITHUB_LEVEL = {"info": "notice", "warning": "warning", "error": "error"}


def _where(result: LintResult, location: Any) -> str:
    return str(location) if location is not None else result.model


def findings_text(results: Sequence[LintResult]) -> str:
    """``file:line: G1 [warning] module message — fix``; then a summary line per model."""
    lines = []
    for result in results:
        for f in result.findings:
            module = f.module or "(model)"
            lines.append(f"{_where(result, f.location)}: {f.rule} [{f.severity}] {module} {f.message} — {f.fix}")
    lines += [result.summary() for result in results]
    return "\n".join(lines) + "\n"


def findings_json(results: Sequence[LintResult]) -> str:
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


def findings_github(results: Sequence[LintResult]) -> str:
    """GitHub Actions workflow commands: ``::warning file=F,line=L,title=T::message``."""
    lines = [
        workflow_command(
            _GITHUB_LEVEL[f.severity],
            f"{result.model}: {f.message} — {f.fix}",
            title=f"costlab {f.rule} " + (f.module or result.model),
            file=f.location.file if f.location is not None else None,
            line=f.location.line if f.location is not None else None,
        )
        for result in results
        for f in result.findings
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def findings_sarif(results: Sequence[LintResult]) -> str:
    """One SARIF 2.1.0 log with one run; rules from the registry, a result per finding."""
    from costlab.rules import RULES

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


_CSV_FIELDS = ("model", "rule", "severity", "module", "module_type", "op", "file", "line", "message", "fix")


def _row(result: LintResult, f: Finding) -> list[Any]:
    location = f.location
    return [result.model, f.rule, f.severity, f.module, f.module_type, f.op,
            location.file if location else "", location.line if location else "", f.message, f.fix]


def findings_csv(results: Sequence[LintResult]) -> str:
    """One line per finding: model, rule, severity, module, where, message and fix."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for result in results:
        writer.writerows(_row(result, f) for f in result.findings)
    return buffer.getvalue()


def findings_markdown(results: Sequence[LintResult]) -> str:
    """A Markdown table of the findings, then each model's summary line."""
    lines = ["| model | rule | severity | module | where | finding |", "|---|---|---|---|---|---|"]
    for result in results:
        for f in result.findings:
            where = str(f.location) if f.location is not None else ""
            cells = [result.model, f.rule, f.severity, f"`{f.module or '(model)'}`", where, f"{f.message} — {f.fix}"]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", *(f"- {result.summary()}" for result in results)]
    return "\n".join(lines) + "\n"


def findings_junit(results: Sequence[LintResult]) -> str:
    """JUnit XML: a test case per model × rule checked, failing when it has findings at or above the fail level."""
    from costlab.rules import severity_rank

    cases = []
    for result in results:
        floor = severity_rank(result.settings.fail_level)
        for rule in result.settings.select:
            found = [f for f in result.findings if f.rule == rule]
            failing = [f for f in found if severity_rank(f.severity) >= floor]
            message = "; ".join(f"{f.module or '(model)'}: {f.message}" for f in found) or "no findings"
            first = (failing or found or [None])[0]
            cases.append(
                Case(f"costlab.lint.{result.model}", rule, "failure" if failing else "ok", message,
                     first.location.file if first is not None and first.location else None,
                     first.location.line if first is not None and first.location else None)
            )
    return junit_xml("costlab lint", cases)


def lint_matrix(results: Sequence[LintResult], width: int) -> Table:
    """A model × rule table of finding counts (``costlab lint --zoo``)."""
    from costlab.rules import RULES

    columns = [Col("Model"), *(Col(code) for code in RULES)]
    rows = []
    for result in results:
        cells = [result.model]
        for code in RULES:
            counts = {sev: n for (rule, sev), n in result.counts.items() if rule == code}
            parts = [f"{counts[sev]} {sev}" for sev in ("error", "warning", "info") if counts.get(sev)]
            cells.append(", ".join(parts) if parts else ("–" if code in result.settings.select else "off"))
        rows.append(cells)
    names = " · ".join(f"{code} {rule.name}" for code, rule in RULES.items())
    return build_table(columns, rows, width=width, title="costlab lint --zoo · findings per rule", caption=names)
