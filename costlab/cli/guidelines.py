"""``costlab guidelines``: ShuffleNet V2's Tables 1–4 re-run on this hardware, beside the paper's numbers."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DeviceOpt, OutputOpt

GUIDELINES_FORMATS = ("table", "json", "md")
GuidelinesFormat = common.formats("GuidelinesFormat", *GUIDELINES_FORMATS)


class PaperSettings(str, Enum):
    gpu = "gpu"
    arm = "arm"


@app.command()
def guidelines(
    device: DeviceOpt = "cpu",
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
            "--min-time", min=0.001, max=3600,
            help="Seconds of timed runs per network per round (default 1.0; --quick 0.15).",
        ),
    ] = None,
    rounds: Annotated[
        Optional[int],
        typer.Option("--rounds", min=1, max=1000, help="Interleaved rounds over all networks (default 5; --quick 2)."),
    ] = None,
    format: Annotated[
        Optional[GuidelinesFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
    output_dir: Annotated[
        Optional[Path],
        typer.Option("--output-dir", metavar="DIR",
                     help="Also write DIR/guidelines.json, DIR/guidelines.md and one PNG per table."),
    ] = None,
) -> None:
    """ShuffleNet V2's guideline experiments (Tables 1–4) re-run here, beside the paper's numbers.

    Each table stacks one block 10 times on a 56×56 input, at equal FLOPs (counted by costlab and
    printed), and varies what its guideline is about: channel ratio (G1), groups (G2), fragments
    (G3), ReLU and shortcut (G4). Every row is timed, and each guideline gets a verdict: holds,
    fails or inconclusive (the rule is printed). On cpu the paper's ARM settings are used (batch 1,
    one thread), on cuda its GPU settings (batch 8, cuDNN benchmark mode).
    """
    with common.user_errors():
        target = common.prepare_output(output)
        chosen = common.choose_format(format, target, GUIDELINES_FORMATS)
        folder = _output_folder(output_dir)  # before any measuring
        from costlab.experiments import run as gl
        from costlab.experiments.tables import PLATFORMS
        from costlab.render import experiments as render

        base = gl.QUICK if quick else gl.FULL
        run_settings = gl.RunSettings(
            min_time_s=min_time if min_time is not None else base.min_time_s,
            rounds=rounds if rounds is not None else base.rounds,
        )
        with common.progress_bar(f"timing the guideline tables on {device}") as progress:
            result = gl.run_guidelines(
                device,
                platform=PLATFORMS[settings.value] if settings is not None else None,
                tables=table,
                settings=run_settings,
                quick=quick,
                threads=threads,
                progress=progress,
            )
        noisy = [
            f"{t.spec.guideline} {r.spec.label}" for t in result.tables for r in t.rows if r.timing.relative_iqr > 0.10
        ]
        if noisy:
            longer = "without --quick" if quick else "with more --rounds"
            common.warn(
                [
                    f"{len(noisy)} network(s) with an IQR over 10% of the median ({', '.join(noisy)}): the "
                    "machine was busy; their medians are less certain and the verdicts count that (rerun on a "
                    f"quiet machine, or {longer})"
                ]
            )
        if folder is not None:
            _write_folder(folder, result)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.guideline_tables(result, width),
                "json": lambda width: render.guidelines_json(result),
                "md": lambda width: render.guidelines_markdown(result),
            },
        )


def _output_folder(output: Path | None) -> Path | None:
    """The --output-dir folder, created if missing; an existing file there is a CostlabError."""
    if output is None:
        return None
    from costlab.errors import CostlabError

    if output.exists() and not output.is_dir():
        raise CostlabError(f"--output-dir {output} is a file: give a folder, e.g. reports/guidelines/")
    if not output.parent.resolve().exists():
        raise CostlabError(f"cannot write to {output}: the folder {output.parent} does not exist")
    try:
        output.mkdir(exist_ok=True)
    except OSError as err:
        raise CostlabError(f"cannot write to {output}: {err.strerror or err}") from None
    from costlab.files import check_output

    check_output(output / "guidelines.json", what="--output-dir")
    return output


def _write_folder(folder: Path, result) -> None:
    from costlab.files import atomic_write
    from costlab.render import experiments as render

    figures = {t.spec.number: render.figure_name(t) for t in result.tables}
    written = []
    for table in result.tables:
        path = folder / figures[table.spec.number]
        atomic_write(path, render.guideline_figure(result, table, "png"))
        written.append(path)
    for name, text in (
        ("guidelines.json", render.guidelines_json(result)),
        ("guidelines.md", render.guidelines_markdown(result, figures)),
    ):
        atomic_write(folder / name, text)
        written.append(folder / name)
    common.wrote(", ".join(str(p) for p in written))
