"""``costlab lint``: ShuffleNet V2's guidelines G1–G4 checked on a model, with numbers as evidence."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import ConfigOpt, DtypeOpt, InputOpt, MinTimeOpt, OutputOpt, ThreadsOpt, TimeOnOpt

LINT_FORMATS = ("table", "json", "csv", "md", "github", "sarif", "junit")
LintFormat = common.formats("LintFormat", *LINT_FORMATS)


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"


@app.command()
def lint(
    model: Annotated[
        Optional[str],
        typer.Argument(metavar="[MODEL]", help="Zoo name, file.py[:NAME], or torchvision:NAME (omit with --zoo)."),
    ] = None,
    input: InputOpt = None,
    select: Annotated[Optional[str], typer.Option("--select", help="Only these rules, e.g. G1,G2.")] = None,
    ignore: Annotated[Optional[str], typer.Option("--ignore", help="Skip these rules, e.g. G3.")] = None,
    format: Annotated[
        Optional[LintFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    fail_level: Annotated[
        Optional[Severity],
        typer.Option("--fail-level", help="Exit 1 on findings at or above this (default: warning, or the config's)."),
    ] = None,
    config: ConfigOpt = None,
    zoo: Annotated[bool, typer.Option("--zoo", help="Lint every zoo model and print a model × rule table.")] = False,
    statistics: Annotated[
        bool, typer.Option("--statistics", help="Only the count of findings per rule (and the places they are at).")
    ] = False,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when findings reach --fail-level.")] = False,
    output: OutputOpt = None,
    dtype: DtypeOpt = None,
    device: TimeOnOpt = None,
    threads: ThreadsOpt = None,
    min_time: MinTimeOpt = 1.0,
) -> None:
    """Check ShuffleNet V2's guidelines G1–G4, with the numbers as evidence.

    G1 equal channel width · G2 group convolution · G3 fragmentation · G4 element-wise ops
    (`costlab rule G1` explains one). A finding points at the call that built its module; a
    `# noqa: G1` comment there silences it. The config is the nearest costlab.toml / pyproject.toml
    above the model file (else above the working folder). With --device, the model is also timed
    there and G4 reports its share of time too. Exit 0 when nothing is at or above --fail-level,
    1 when something is (--exit-zero: 0), 2 for bad input.
    """
    with common.user_errors():
        from costlab.config import load_config
        from costlab.errors import CostlabError
        from costlab.render import findings as render
        from costlab.rules import lint as run_lint
        from costlab.rules import settings_from_config

        if (model is None) == (not zoo):
            raise CostlabError("give a MODEL to lint, or --zoo for the whole zoo (not both)")
        if device is None and threads is not None:
            raise common.UsageError("--threads applies to timing: add --device cpu (or cuda) to time the model")
        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, LINT_FORMATS)
        settings = settings_from_config(
            load_config(config) if config is not None else _nearest_config(model),
            select=select.split(",") if select else None,
            ignore=ignore.split(",") if ignore else None,
            fail_level=fail_level.value if fail_level else None,
        )
        if zoo:
            from costlab.zoo import list_models

            results = [run_lint(name, settings=settings) for name in list_models()]
        else:
            assert model is not None
            from costlab.cost.profile import profile
            from costlab.load.sites import wanted

            with wanted():  # findings point at the calls that built their modules
                report = profile(model, input, dtype=dtype)
            common.note(report.notes)
            timing = None
            if device is not None:
                from costlab.timing.layers import measure_layers

                with common.progress_bar(f"timing {report.model} on {device}") as progress:
                    timing = measure_layers(
                        model, input, report=report, device=device, dtype=dtype, threads=threads,
                        min_time_s=min_time, progress=progress,
                    )
                common.warn(timing.latency.warnings)
            results = [run_lint(report, settings=settings, timing=timing)]
        def table(width: int) -> object:
            if statistics:
                return render.findings_statistics(results)
            return render.lint_matrix(results, width) if zoo else render.findings_text(results)

        renderers = {
            "table": table,
            "json": lambda width: render.findings_json(results),
            "csv": lambda width: render.findings_csv(results),
            "md": lambda width: render.findings_markdown(results),
            "github": lambda width: render.findings_github(results),
            "sarif": lambda width: render.findings_sarif(results),
            "junit": lambda width: render.findings_junit(results),
        }
        common.emit(chosen, target, renderers, protected)
        if chosen != "table":  # the table has the summaries; other formats get them on stderr
            err = common.stderr_console()
            for result in results:
                err.print(result.summary(), soft_wrap=True, markup=False)
        if not exit_zero and any(r.failed for r in results):
            raise typer.Exit(1)


def _nearest_config(model: str | None):
    """The config above the model file when it is a file (like ruff: the project the file is in), else
    above the working folder."""
    from costlab.config import find_config, load_config

    for path in common.model_files(model):
        if path.exists():
            found = find_config(path.resolve().parent)
            if found is not None:
                return load_config(found)
    return load_config()
