"""CLI command: ``costlab guidelines`` — ShuffleNet V2's Tables 1–4 re-run on this hardware.

Parses, calls :func:`costlab.guidelines.run_guidelines`, renders with :mod:`costlab.render.guidelines`.
torch is imported inside the command only, so ``costlab --help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from costlab.cli import _progress, _stderr, _stdout, _user_errors, _warn, _write_output, app
from costlab.errors import CostlabError


class GuidelinesFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"


class PaperSettings(str, Enum):
    gpu = "gpu"
    arm = "arm"


@app.command()
def guidelines(
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer rounds and a short --min-time: under a minute on a CPU.")
    ] = False,
    settings: Annotated[
        Optional[PaperSettings],
        typer.Option(
            "--settings",
            help="The paper's channel widths and batch: arm (batch 1, images/s) or gpu (batch 8, batches/s). "
            "Default: arm on cpu, gpu on cuda.",
        ),
    ] = None,
    table: Annotated[
        Optional[list[int]], typer.Option("--table", "-t", help="Only this table (1–4); repeat for several.")
    ] = None,
    threads: Annotated[
        Optional[int],
        typer.Option("--threads", min=1, help="CPU threads while timing (default 1, as the paper's ARM runs)."),
    ] = None,
    min_time: Annotated[
        Optional[float],
        typer.Option(
            "--min-time", min=0.001, help="Seconds of timed runs per network per round (default 1.0; --quick 0.15)."
        ),
    ] = None,
    rounds: Annotated[
        Optional[int],
        typer.Option("--rounds", min=1, help="Interleaved rounds over all networks (default 5; --quick 2)."),
    ] = None,
    format: Annotated[GuidelinesFormat, typer.Option("--format", "-f", help="Output format.")] = GuidelinesFormat.table,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="A folder: writes guidelines.json, guidelines.md and one PNG per table."),
    ] = None,
) -> None:
    """ShuffleNet V2's guideline experiments (Tables 1–4) re-run here, beside the paper's numbers.

    Each table stacks one block 10 times on a 56×56 input, at equal FLOPs (counted by costlab and
    printed), and varies what its guideline is about: channel ratio (G1), groups (G2), fragments
    (G3), ReLU and shortcut (G4). Every row is timed, and each guideline gets a verdict: holds,
    fails or inconclusive (the rule is printed). On cpu the paper's ARM settings are used (batch 1,
    one thread), on cuda its GPU settings (batch 8, cuDNN benchmark mode).
    """
    with _user_errors():
        folder = _output_folder(output)  # before any measuring
        from costlab import guidelines as gl
        from costlab.render import guidelines as render

        base = gl.QUICK if quick else gl.FULL
        run_settings = gl.RunSettings(
            min_time_s=min_time if min_time is not None else base.min_time_s,
            rounds=rounds if rounds is not None else base.rounds,
        )
        with _progress() as start:
            result = gl.run_guidelines(
                device,
                platform=gl.PLATFORMS[settings.value] if settings is not None else None,
                tables=table,
                settings=run_settings,
                quick=quick,
                threads=threads,
                progress=start(f"timing the guideline tables on {device}"),
            )
        noisy = [
            f"{t.spec.guideline} {r.spec.label}" for t in result.tables for r in t.rows if r.timing.relative_iqr > 0.10
        ]
        if noisy:
            longer = "without --quick" if quick else "with more --rounds"
            _warn(
                [
                    (
                        f"{len(noisy)} network(s) with an IQR over 10% of the median ({', '.join(noisy)}): the "
                        "machine was busy; their medians are less certain and the verdicts count that (rerun on a "
                        f"quiet machine, or {longer})"
                    )
                ]
            )
        if folder is not None:
            _write_folder(folder, result)
        if format is GuidelinesFormat.json:
            sys.stdout.write(render.guidelines_json(result))
        elif format is GuidelinesFormat.md:
            sys.stdout.write(render.guidelines_markdown(result))
        else:
            _stdout().print(render.guideline_tables(result))


def _output_folder(output: Path | None) -> Path | None:
    """The -o folder, created if missing; an existing file there is a CostlabError."""
    if output is None:
        return None
    if output.exists() and not output.is_dir():
        raise CostlabError(f"-o {output} is a file: give a folder, e.g. reports/guidelines/")
    if not output.parent.resolve().exists():
        raise CostlabError(f"cannot write to {output}: the folder {output.parent} does not exist")
    output.mkdir(exist_ok=True)
    return output


def _write_folder(folder: Path, result) -> None:  # type: ignore[no-untyped-def]
    from costlab.render import guidelines as render

    figures = {t.spec.number: render.figure_name(t) for t in result.tables}
    written = []
    for table in result.tables:
        path = folder / figures[table.spec.number]
        _write_output(path, render.guideline_figure(result, table, "png"), [])
        written.append(path)
    for name, text in (
        ("guidelines.json", render.guidelines_json(result)),
        ("guidelines.md", render.guidelines_markdown(result, figures)),
    ):
        _write_output(folder / name, text, [])
        written.append(folder / name)
    _stderr().print("wrote " + ", ".join(str(p) for p in written), soft_wrap=True)
