"""``costlab lint`` output: lines like ruff's, JSON, CSV, Markdown, GitHub workflow annotations,
SARIF 2.1.0 and JUnit XML — and the model × rule table of ``lint --zoo``."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from costlab import __version__
from costlab.render.annotate import Case, junit_xml, workflow_command
from costlab.render.layout import Col, build_table
from costlab.render.tabular import csv_writer, md_row

if TYPE_CHECKING:
    from rich.table import Table

    from costlab.rules import Finding, LintResult, Rule

__all__ = [
    "findings_csv",
    "findings_github",
    "findings_json",
    "findings_junit",
    "findings_markdown",
    "findings_sarif",
    "findings_statistics",
    "findings_text",
    "lint_matrix",
    "rule_json",
    "rule_markdown",
    "rule_text",
    "rules_table",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"info": "note", "warning": "warning", "error": "error"}
_GITHUB_LEVEL = {"info": "notice", "warning": "warning", "error": "error"}


def _where(result: LintResult, location: Any) -> str:
    return str(location) if location is not None else result.model


def findings_text(results: Sequence[LintResult]) -> str:
    """``file:line:col: G1 [warning] module message — fix``, one line per place (a block built in a
    loop is one place, its instances listed); then a summary line per model."""
    lines = []
    for result in results:
        for group in result.groups():
            where = str(group.location) if group.location is not None else result.model
            worst = group.worst
            lines.append(f"{where}: {group.rule} [{group.severity}] {group.modules_text()} {worst.message} — {worst.fix}")
    lines += [result.summary() for result in results]
    return "\n".join(lines) + "\n"


def findings_statistics(results: Sequence[LintResult]) -> str:
    """Findings per rule and severity, like ``ruff --statistics``: count, places, rule, name."""
    from costlab.rules import RULES

    counts: dict[tuple[str, str], list[int]] = {}
    for result in results:
        for group in result.groups():
            entry = counts.setdefault((group.rule, group.severity), [0, 0])
            entry[0] += len(group.findings)
            entry[1] += 1
    width = max((len(str(n)) for n, _ in counts.values()), default=1)
    lines = [
        f"{n:>{width}}  {rule}  [{severity}]  {RULES[rule].name}  at {places} place{'s' * (places != 1)}"
        for (rule, severity), (n, places) in sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def findings_json(results: Sequence[LintResult]) -> str:
    data = [
        {
            "model": r.model,
            "fail_level": r.settings.fail_level,
            "failed": r.failed,
            "rules": list(r.settings.select),
            "findings": [f.to_dict() for f in r.findings],
            "places": [g.to_dict() for g in r.groups()],
            "summary": {f"{rule}:{severity}": n for (rule, severity), n in sorted(r.counts.items())},
            "ignored_by_config": r.suppressed,
            "ignored_by_noqa": r.noqa,
        }
        for r in results
    ]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2) + "\n"


def findings_github(results: Sequence[LintResult]) -> str:
    """GitHub Actions workflow commands, one per place: ``::warning file=F,line=L,col=C,title=T::message``."""
    lines = []
    for result in results:
        for group in result.groups():
            worst, location = group.worst, group.location
            lines.append(
                workflow_command(
                    _GITHUB_LEVEL[group.severity],
                    f"{result.model}: {group.modules_text()} {worst.message} — {worst.fix}",
                    title=f"costlab {group.rule} " + (worst.module or result.model),
                    file=location.file if location is not None else None,
                    line=location.line if location is not None else None,
                    column=location.column if location is not None else None,
                )
            )
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
        for group in result.groups():  # one result per place, its instances as logical locations
            f = group.worst
            entry: dict[str, Any] = {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{result.model}: {group.modules_text()} {f.message} — {f.fix}"},
                "properties": {"model": result.model, "evidence": [_jsonable(g.evidence) for g in group.findings]},
            }
            location: dict[str, Any] = {
                "logicalLocations": [
                    {"fullyQualifiedName": f"{result.model}::{module or '(model)'}", "kind": "module"}
                    for module in group.modules
                ]
            }
            if f.location is not None:
                region: dict[str, int] = {"startLine": f.location.line}
                if f.location.column:
                    region["startColumn"] = f.location.column
                location["physicalLocation"] = {
                    "artifactLocation": {"uri": f.location.file.replace("\\", "/")},
                    "region": region,
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
    writer = csv_writer(buffer)
    writer.writerow(_CSV_FIELDS)
    for result in results:
        writer.writerows(_row(result, f) for f in result.findings)
    return buffer.getvalue()


def findings_markdown(results: Sequence[LintResult]) -> str:
    """A Markdown table, one row per place (its instances listed), then each model's summary line."""
    lines = ["| model | rule | severity | where | modules | finding |", "|---|---|---|---|---|---|"]
    for result in results:
        for group in result.groups():
            where = str(group.location) if group.location is not None else ""
            modules = ", ".join(f"`{m or '(model)'}`" for m in group.modules)
            cells = [result.model, group.rule, group.severity, where, modules, f"{group.worst.message} — {group.worst.fix}"]
            lines.append(md_row(cells))
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


# -- costlab rule ---------------------------------------------------------------------------------


def _config_keys(rule: Rule) -> list[str]:
    return [f"[tool.costlab.lint.{rule.code}] severity = \"{rule.severity}\""] + [
        f"[tool.costlab.lint.{rule.code}] {name} = {param.default:g}" for name, param in rule.params.items()
    ]


def rule_text(rule: Rule) -> str:
    """Everything about one rule, for the terminal."""
    lines = [f"{rule.code} {rule.name} [{rule.severity} by default]", "", rule.summary + ".", "", rule.explanation, ""]
    if rule.params:
        lines.append("Thresholds:")
        width = max(len(name) for name in rule.params)
        lines += [f"  {name:<{width}}  {p.default:g} (at least {p.minimum:g}): {p.help}" for name, p in rule.params.items()]
        lines.append("")
    lines.append("Configuration (costlab.toml: [lint.RULE]; pyproject.toml: [tool.costlab.lint.RULE]), e.g.:")
    lines += [f"  {key}" for key in _config_keys(rule)]
    lines += ["", f"Silence one place with a comment on the line that builds the module: # noqa: {rule.code}"]
    return "\n".join(lines) + "\n"


def rules_table(rules: Sequence[Rule], width: int) -> Table:
    rows = [[r.code, r.name, r.severity, r.summary] for r in rules]
    columns = [Col("Rule"), Col("Name"), Col("Severity", drop=1), Col("Finds", prose=True)]
    return build_table(columns, rows, width=width, title="costlab's lint rules (costlab rule G1 explains one)")


def rule_json(rules: Sequence[Rule]) -> str:
    data = [
        {
            "code": r.code,
            "name": r.name,
            "severity": r.severity,
            "summary": r.summary,
            "explanation": r.explanation,
            "thresholds": {n: {"default": p.default, "minimum": p.minimum, "help": p.help} for n, p in r.params.items()},
        }
        for r in rules
    ]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False) + "\n"


def rule_markdown(rules: Sequence[Rule]) -> str:
    parts = []
    for r in rules:
        thresholds = "".join(f"\n| `{n}` | {p.default:g} | {p.minimum:g} | {p.help} |" for n, p in r.params.items())
        parts.append(
            f"## {r.code} {r.name}\n\n{r.summary}.\n\n{r.explanation}\n\n"
            f"| threshold | default | minimum | meaning |\n|---|---:|---:|---|{thresholds}\n"
        )
    return "\n".join(parts)
