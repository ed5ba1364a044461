"""``costlab check``: the CI gate on every budget of the config."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import ConfigOpt, OutputOpt

CHECK_FORMATS = ("table", "json", "csv", "md", "github", "junit")
CheckFormat = common.formats("CheckFormat", *CHECK_FORMATS)


@app.command()
def check(
    config: ConfigOpt = None,
    format: Annotated[
        Optional[CheckFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    update_baseline: Annotated[
        bool,
        typer.Option("--update-baseline", help="Rewrite every entry's baseline file with the current numbers (atomically)."),
    ] = False,
    output: OutputOpt = None,
) -> None:
    """CI gate: check every budget in the config (params, MACs, FLOPs, bytes accessed, lint, latency).

    Budgets are "budget" array-of-tables entries in costlab.toml (tool.costlab.budget in pyproject.toml).
    Exit 0 when every check is within budget, 1 on any breach, 2 for a bad config or model.
    """
    with common.user_errors():
        from costlab.ci.budgets import load_budgets
        from costlab.ci.check import evaluate
        from costlab.config import load_config
        from costlab.files import check_output
        from costlab.render import ci as render

        loaded = load_config(config)
        protected = [loaded.path] if loaded.path else []
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, CHECK_FORMATS)
        budgets = load_budgets(loaded)
        result = evaluate(budgets, loaded, update_baselines=update_baseline)
        common.note(result.notes)
        # every baseline was read and checked, and every target can be written, before any is written
        writes = [
            (check_output(u.path, [*u.protected, *protected], what="baseline", make_parents=True), u)
            for u in result.updates
        ]
        err = common.stderr_console()
        for baseline, update in writes:
            baseline.write(update.text, [*update.protected, *protected])
            err.print(render.update_line(update), soft_wrap=True, markup=False)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.check_table(result, width),
                "json": lambda width: render.check_json(result),
                "csv": lambda width: render.check_csv(result),
                "md": lambda width: render.check_markdown(result),
                "github": lambda width: render.check_github(result),
                "junit": lambda width: render.check_junit(result),
            },
            protected,
        )
        if chosen != "github" and not (chosen == "table" and target is None):
            err.print(("passed: " if result.passed else "FAILED: ") + result.summary(), soft_wrap=True, markup=False)
        if not result.passed:
            raise typer.Exit(1)
