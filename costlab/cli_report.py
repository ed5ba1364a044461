"""CLI command: ``costlab report``.

The report folder is written whole or not at all: everything is built in a hidden folder beside
it (``.NAME.*.tmp`` in the same parent, so the move is a rename), then swapped into place. A folder
is only ever replaced when it is empty or holds a costlab report (its :data:`MARKER` file); files a
person added to a report folder are moved into the new one, never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from costlab.cli import _stderr, _umask, _user_errors, _warn, app
from costlab.errors import CostlabError

if TYPE_CHECKING:
    from costlab.report import ReportData

__all__ = ["report", "MARKER", "check_report_dir", "publish"]

MARKER = ".costlab-report.json"
"""The file that marks a folder as a costlab report, with the list of the files the report wrote."""
_OWNED_WITHOUT_MANIFEST = ("index.html", "report.md")


@app.command()
def report(
    models: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Zoo names, patterns such as 'shufflenet*' (quoted), files (model.py[:NAME]) or torchvision:NAME.",
            metavar="MODEL",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The report folder: index.html, report.md and figures/ (replaced whole).",
            show_default=False,
        ),
    ] = ...,  # type: ignore[assignment]
    zoo: Annotated[bool, typer.Option("--zoo", help="Every zoo model (with any MODELs given too).")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    threads: Annotated[
        Optional[int], typer.Option("--threads", min=1, help="torch intra-op threads while timing (default: current).")
    ] = None,
    min_time: Annotated[
        Optional[float],
        typer.Option(
            "--min-time", min=0.001, help="Seconds of timed runs per model at least (default: 1; 0.1 with --quick)."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Short timing (0.1 s per model): rough latencies, a report in seconds.")
    ] = False,
) -> None:
    """A report page on several models: counts, latency, lint, rooflines, and where the time goes.

    Writes OUTPUT/index.html (one self-contained page: figures embedded, no external requests),
    OUTPUT/report.md with its figures in OUTPUT/figures/ (for GitHub), and a marker file. Every
    model is counted, linted and timed on --device (whole-model latency and the time per kind of
    work, in one measurement), and its layers are drawn on the device's roofline. OUTPUT is
    replaced only when it is empty or an earlier report.
    """
    with _user_errors():
        from costlab.report import QUICK_MIN_TIME_S, collect, expand_models

        specs = expand_models(models or [], zoo)
        check_report_dir(output)  # before minutes of timing
        seconds = min_time if min_time is not None else (QUICK_MIN_TIME_S if quick else 1.0)
        command = _command(models or [], output, zoo, device, threads, min_time, quick)
        with _report_progress(len(specs)) as progress:
            data = collect(
                specs,
                device=device,
                threads=threads,
                min_time_s=seconds,
                quick=quick,
                command=command,
                progress=progress,
            )
        _warn_noisy(data)
        files = _render(data)
        publish(output, files)
        figures = sum(1 for name in files if name.startswith("figures/"))
        size = sum(len(content) for content in files.values())
        from costlab.render.units import human

        _stderr().print(
            f"wrote {output / 'index.html'} ({human(len(files['index.html']), 'B')}), report.md and {figures} "
            f"figures ({human(size, 'B')} in all) for {len(data.models)} models",
            soft_wrap=True,
        )


def _command(
    models: list[str], output: Path, zoo: bool, device: str, threads: int | None, min_time: float | None, quick: bool
) -> str:
    """The command line that makes this report again."""
    words = ["costlab", "report", *models, *(["--zoo"] if zoo else []), "-o", str(output)]
    if device != "cpu":
        words += ["--device", device]
    if threads is not None:
        words += ["--threads", str(threads)]
    if min_time is not None:
        words += ["--min-time", f"{min_time:g}"]
    if quick:
        words.append("--quick")
    return shlex.join(words)


def _render(data: ReportData) -> dict[str, bytes]:
    """Every file of the report folder but the marker: path inside the folder → bytes."""
    from costlab.render.html import render_html
    from costlab.render.report_figures import report_figures
    from costlab.render.report_md import render_markdown

    figures = report_figures(data)
    files = {
        "index.html": render_html(data, figures).encode("utf-8"),
        "report.md": render_markdown(data, figures).encode("utf-8"),
    }
    files.update((figure.path, figure.png) for figure in figures.all())
    return files


def _warn_noisy(data: ReportData) -> None:
    noisy = [m for m in data.models if m.latency.warnings]
    if noisy:
        listed = ", ".join(f"{m.name} ({m.latency.relative_iqr:.0%})" for m in noisy)
        message = (
            f"{len(noisy)} of {len(data.models)} models were timed with an IQR over 10% of the median: {listed}; "
            "rerun on a quiet machine or with a longer --min-time"
        )
        _warn([message])


@contextlib.contextmanager
def _report_progress(count: int) -> Iterator[Callable[[str, float], None]]:
    """One progress bar for the whole report on a terminal's stderr; elsewhere (a CI log), a line as
    each model's timing starts — the counting before it is quick and prints nothing."""
    console = _stderr()
    if not console.is_terminal:
        last = [""]

        def log(what: str, fraction: float) -> None:
            if what != last[0] and what.startswith("timing "):
                last[0] = what
                console.print(f"{fraction:4.0%} {what}", soft_wrap=True, highlight=False)

        yield log
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<40}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"report on {count} models", total=1.0)
        yield lambda what, fraction: bar.update(task, description=what, completed=fraction)


# ------------------------------------------------------------------------------------------------
# The report folder
# ------------------------------------------------------------------------------------------------


def check_report_dir(path: Path) -> None:
    """Refuse a folder that a report must not replace: a file, the working folder (or one above it),
    or a folder that holds anything and is not a costlab report (no :data:`MARKER`)."""
    target = path.resolve()
    if target.exists() and not target.is_dir():
        raise CostlabError(f"-o {path} is a file: give a folder for the report, such as reports/mymodels")
    if target == Path.cwd().resolve() or target in Path.cwd().resolve().parents:
        raise CostlabError(f"-o {path} is the working folder (or holds it): give a folder below it, such as reports/x")
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise CostlabError(f"cannot write the report in {path}: {ancestor} is a file")
            break
    if target.is_dir() and not (target / MARKER).is_file() and any(target.iterdir()):
        raise CostlabError(
            f"-o {path} holds files and is not a costlab report folder (no {MARKER}): "
            "choose a new or empty folder; costlab replaces only its own reports"
        )


def publish(path: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (path inside the folder → bytes) as the folder ``path``, whole or not at all.

    The files and the marker are written into a hidden folder beside ``path``, which is then renamed
    into place; an earlier report there is renamed away first and deleted last, after any file a
    person added to it has been moved into the new report (a name clash keeps the old folder, and says so).
    """
    check_report_dir(path)
    target = path.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as err:
        raise CostlabError(f"cannot write the report in {path}: {err.strerror or err}") from None
    try:
        for name, content in files.items():
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
        manifest = {"generator": "costlab report", "files": sorted(files)}
        (staging / MARKER).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _open_up(staging)
        old = _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        _carry_over(old, target, path)


def _open_up(folder: Path) -> None:
    """Give the staged folders the modes a plain mkdir would (mkdtemp makes them 0700)."""
    mode = 0o777 & ~_umask()
    for directory in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        os.chmod(directory, mode)


def _swap(staging: Path, target: Path) -> Path | None:
    """Rename ``staging`` to ``target``; an existing ``target`` is renamed away first (returned)."""
    if not target.exists():
        os.rename(staging, target)
        return None
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    return old


def _carry_over(old: Path, target: Path, shown: Path) -> None:
    """Move the files a person added to the old report into the new one, then delete the old one."""
    owned = _owned(old)
    clashes = []
    for item in sorted(old.rglob("*")):
        name = item.relative_to(old).as_posix()
        if item.is_dir() or name in owned:
            continue
        destination = target / name
        if destination.exists():
            clashes.append(name)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(item, destination)
    if clashes:
        _warn(
            [f"kept the previous report at {old}: its {', '.join(clashes)} would clash with the new report in {shown}"]
        )
        return
    shutil.rmtree(old, ignore_errors=True)


def _owned(folder: Path) -> set[str]:
    """The files an earlier report wrote (from its marker's list; the usual names if it has none)."""
    try:
        listed = json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"]
        owned = {str(name) for name in listed}
    except (OSError, ValueError, KeyError, TypeError):
        owned = set(_OWNED_WITHOUT_MANIFEST) | {
            p.relative_to(folder).as_posix() for p in (folder / "figures").glob("*.png")
        }
    return owned | {MARKER}
