"""``costlab report``: a page on several models — counts, latency, lint, rooflines, where the time goes."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DeviceOpt, DtypeOpt, InputOpt, OutputOpt, ThreadsOpt

if TYPE_CHECKING:
    from costlab.publish.collect import ReportData


@app.command()
def report(
    models: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Zoo names, patterns such as 'shufflenet*' (quoted), files (model.py[:NAME]) or torchvision:NAME.",
            metavar="MODEL...",
            show_default=False,
        ),
    ] = None,
    output_dir: Annotated[
        Optional[Path],
        typer.Option("--output-dir", metavar="DIR",
                     help="Write the report folder: DIR/index.html, DIR/report.md and DIR/figures/ (replaced whole)."),
    ] = None,
    output: OutputOpt = None,
    zoo: Annotated[bool, typer.Option("--zoo", help="Every zoo model (with any MODELs given too).")] = False,
    input: InputOpt = None,
    device: DeviceOpt = "cpu",
    dtype: DtypeOpt = None,
    threads: ThreadsOpt = None,
    min_time: Annotated[
        Optional[float],
        typer.Option(
            "--min-time", min=0.001, max=3600,
            help="Seconds of timed runs per model at least (default: 1; 0.1 with --quick).",
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Short timing (0.1 s per model): rough latencies, a report in seconds.")
    ] = False,
) -> None:
    """A report page on several models: counts, latency, lint, rooflines, and where the time goes.

    --output-dir DIR writes DIR/index.html (one self-contained page: figures embedded, no external
    requests), DIR/report.md with its figures in DIR/figures/ (for GitHub), and a marker file; DIR
    is replaced only when it is empty or an earlier report. -o page.html writes the page alone.
    Every model is counted, linted and timed on --device (whole-model latency and the time per kind
    of work, in one measurement), and its layers are drawn on the device's roofline. When the device
    is calibrated (`costlab calibrate`, cached; a report never calibrates), each model's calibrated
    predicted latency and its error stand beside the measured one, per model and per layer.
    """
    with common.user_errors():
        from costlab.publish.collect import QUICK_MIN_TIME_S, collect, expand_models
        from costlab.publish.folder import check_report_dir, publish

        if (output_dir is None) == (output is None):
            raise common.UsageError("give --output-dir DIR for the report folder, or -o page.html for the page alone")
        specs = expand_models(models or [], zoo)
        protected = common.model_files(*specs)
        page = common.prepare_output(output, protected) if output is not None else None
        if page is not None:
            common.choose_format(None, page, ("html",), default="html")
        if output_dir is not None:
            check_report_dir(output_dir)  # before minutes of timing
        seconds = min_time if min_time is not None else (QUICK_MIN_TIME_S if quick else 1.0)
        command = _command(models or [], output_dir, output, zoo, input, device, dtype, threads, min_time, quick)
        with common.progress_bar(f"report on {len(specs)} models", log=True) as progress:
            data = collect(
                specs,
                input_shape=input,
                device=device,
                dtype=dtype,
                threads=threads,
                min_time_s=seconds,
                quick=quick,
                command=command,
                progress=progress,
            )
        _warn_noisy(data)
        common.note([data.calibration_note] if data.calibration_note else [])
        files = _render(data, with_markdown=output_dir is not None)
        if page is not None:
            page.write(files["index.html"], protected)
            common.wrote(str(page.shown))
            return
        assert output_dir is not None
        common.warn(publish(output_dir, files))
        from costlab.units import human

        figures = sum(1 for name in files if name.startswith("figures/"))
        size = sum(len(content) for content in files.values())
        common.wrote(
            f"{output_dir / 'index.html'} ({human(len(files['index.html']), 'B')}), report.md and {figures} "
            f"figures ({human(size, 'B')} in all) for {len(data.models)} models"
        )


def _command(
    models: list[str],
    output_dir: Path | None,
    output: str | None,
    zoo: bool,
    input: str | None,
    device: str,
    dtype: str | None,
    threads: int | None,
    min_time: float | None,
    quick: bool,
) -> str:
    """The command line that makes this report again."""
    words = ["costlab", "report", *models, *(["--zoo"] if zoo else [])]
    words += ["--output-dir", str(output_dir)] if output_dir is not None else ["-o", str(output)]
    for flag, value in (("--input", input), ("--dtype", dtype), ("--threads", threads)):
        if value is not None:
            words += [flag, str(value)]
    if device != "cpu":
        words += ["--device", device]
    if min_time is not None:
        words += ["--min-time", f"{min_time:g}"]
    if quick:
        words.append("--quick")
    return shlex.join(words)


def _render(data: ReportData, with_markdown: bool) -> dict[str, bytes]:
    """Every file of the report folder but the marker: path inside the folder → bytes."""
    from costlab.render.report_figures import report_figures
    from costlab.render.report_html import render_html
    from costlab.render.report_md import render_markdown

    figures = report_figures(data)
    files = {"index.html": render_html(data, figures).encode("utf-8")}
    if with_markdown:
        files["report.md"] = render_markdown(data, figures).encode("utf-8")
        files.update((figure.path, figure.png) for figure in figures.all())
    return files


def _warn_noisy(data: ReportData) -> None:
    noisy = [m for m in data.models if m.latency.warnings]
    if noisy:
        listed = ", ".join(f"{m.name} ({m.latency.relative_iqr:.0%})" for m in noisy)
        common.warn(
            [
                f"{len(noisy)} of {len(data.models)} models were timed with an IQR over 10% of the median: {listed}; "
                "rerun on a quiet machine or with a longer --min-time"
            ]
        )
