"""CLI commands of the CI gate: ``check`` and ``diff``.

Nothing here imports torch at module level: ``costlab --help`` stays instant.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from costlab.cli import _stderr, _stdout, _user_errors, _write_output, app
from costlab.errors import CostlabError


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    github = "github"
    junit = "junit"


class DiffFormat(str, Enum):
    table = "table"
    json = "json"


class DiffMetric(str, Enum):
    macs = "macs"
    mac_bytes = "mac_bytes"
    params = "params"
    flops = "flops"


@app.command()
def check(
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="costlab.toml or pyproject.toml (default: found upward).")
    ] = None,
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.table,
    update_baseline: Annotated[
        bool,
        typer.Option("--update-baseline", help="Rewrite every entry's baseline file with the current numbers (atomically)."),
    ] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """CI gate: check every budget in the config (params, MACs, FLOPs, memory access, lint, latency).

    Budgets are "budget" array-of-tables entries in costlab.toml (tool.costlab.budget in pyproject.toml).
    Exit 0 when every check is within budget, 1 on any breach, 2 for a bad config or model.
    """
    with _user_errors():
        from rich.markup import escape

        from costlab.budget import evaluate, load_budgets
        from costlab.config import load_config
        from costlab.render import budget as render

        loaded = load_config(config)
        budgets = load_budgets(loaded)
        result = evaluate(budgets, loaded, update_baselines=update_baseline)
        err = _stderr()
        for note in result.notes:
            err.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
        for update in result.updates:  # every baseline was read and checked first: no half-updated set
            update.path.parent.mkdir(parents=True, exist_ok=True)
            protected = [*update.protected, *([loaded.path] if loaded.path else [])]
            _write_output(update.path, update.text, protected)
            err.print(render.update_line(update), soft_wrap=True, markup=False)
        if format is CheckFormat.table and output is None:
            render.print_check(_stdout(), result)
        else:
            text = {
                CheckFormat.table: render.check_to_text,
                CheckFormat.json: render.check_to_json,
                CheckFormat.github: render.check_to_github,
                CheckFormat.junit: render.check_to_junit,
            }[format](result)
            if output is not None:
                _write_output(output, text, [loaded.path] if loaded.path else [])
                err.print(f"wrote {output}", markup=False)
            else:
                sys.stdout.write(text)
            if format is not CheckFormat.github:
                err.print(("passed: " if result.passed else "FAILED: ") + result.summary(), soft_wrap=True, markup=False)
        if not result.passed:
            raise typer.Exit(1)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier profile (costlab profile MODEL -o OLD.json).")],
    new: Annotated[Path, typer.Argument(help="The later profile.")],
    fail_over: Annotated[
        Optional[str],
        typer.Option("--fail-over", help="Exit 1 when a total (params, MACs, FLOPs, memory access) grows by more, e.g. 5%."),
    ] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.table,
    sort: Annotated[DiffMetric, typer.Option("--sort", "-s", help="Order changed layers by this change.")] = DiffMetric.macs,
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=1, help="Show only the N largest layer changes.")] = None,
) -> None:
    """What changed between two profiles: the totals, then each layer, largest change first.

    Layers are matched by name; a layer in only one profile is added or removed.
    Exit 1 when --fail-over is given and a total grew by more than it (decreases never fail).
    """
    with _user_errors():
        from costlab.budget import QuantityError, parse_quantity
        from costlab.diff import diff_profiles, load_profile
        from costlab.render import budget as render

        threshold = None
        if fail_over is not None:
            try:
                threshold = parse_quantity(fail_over, "percent")
            except QuantityError as err:
                raise CostlabError(f"--fail-over: {err}") from None
        result = diff_profiles(load_profile(old), load_profile(new), sort.value)
        if format is DiffFormat.table:
            render.print_diff(_stdout(), result, top, threshold)
        else:
            sys.stdout.write(render.diff_to_json(result, threshold))
            err = _stderr()
            for note in result.notes:
                err.print(f"note: {note}", soft_wrap=True, markup=False)
            for change in result.over(threshold) if threshold is not None else ():
                err.print(f"over --fail-over: {render.over_line(change, threshold)}", soft_wrap=True, markup=False)
        if threshold is not None and result.over(threshold):
            raise typer.Exit(1)
