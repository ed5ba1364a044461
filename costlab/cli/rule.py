"""``costlab rule``: what a lint rule claims, its formula, the paper's table, how to fix it, its thresholds."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import OutputOpt

RULE_FORMATS = ("table", "json", "md")
RuleFormat = common.formats("RuleFormat", *RULE_FORMATS)


@app.command()
def rule(
    code: Annotated[Optional[str], typer.Argument(metavar="[RULE]", help="G1, G2, G3 or G4 (omit: list them all).")] = None,
    format: Annotated[
        Optional[RuleFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Explain a lint rule, as `ruff rule E501` does: its claim, formula, paper, thresholds, config keys."""
    with common.user_errors():
        from costlab.render.findings import rule_json, rule_markdown, rule_text, rules_table
        from costlab.rules import RULES

        target = common.prepare_output(output)
        chosen = common.choose_format(format, target, RULE_FORMATS)
        codes = list(RULES) if code is None else [common.choose(code.strip().upper(), list(RULES), "rule")]
        chosen_rules = [RULES[c] for c in codes]
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: rules_table(chosen_rules, width) if code is None else rule_text(chosen_rules[0]),
                "json": lambda width: rule_json(chosen_rules),
                "md": lambda width: rule_markdown(chosen_rules),
            },
        )
