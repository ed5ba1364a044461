"""What every command shares: one vocabulary of options, the consoles, errors, progress and output.

* Options: ``MODEL``, ``-i/--input``, ``--device``, ``--threads``, ``--dtype`` mean the same in every
  command that takes a model; ``-o/--output`` is always a file whose suffix picks the format
  (``-`` is stdout); ``-f/--format`` uses the same words everywhere.
* Machine-readable output goes to stdout, notes, warnings and progress to stderr, so
  ``-f json | jq`` always works. Errors are one line and their exit code (2 for bad input).
* torch is imported inside the commands only, never here.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from costlab.errors import CostlabError

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from costlab.cost.report import Report
    from costlab.files import Output
    from costlab.progress import Progress
    from costlab.timing.calibrations import PredictedTimes
    from costlab.timing.layers import LayerTiming

__all__ = [
    "BatchOpt",
    "ConfigOpt",
    "DepthOpt",
    "DeviceOpt",
    "DtypeOpt",
    "InputOpt",
    "MinTimeOpt",
    "ModelArg",
    "OutputOpt",
    "ThreadsOpt",
    "TimeOnOpt",
    "UsageError",
    "choose",
    "choose_format",
    "emit",
    "formats",
    "model_files",
    "note",
    "predicted_beside",
    "prepare_output",
    "progress_bar",
    "stderr_console",
    "stdout_console",
    "user_errors",
    "warn",
]


class UsageError(CostlabError):
    """A combination of options that cannot work; exit 2."""


# ------------------------------------------------------------------------------------------------
# The shared options
# ------------------------------------------------------------------------------------------------

ModelArg = Annotated[
    str,
    typer.Argument(metavar="MODEL", help="Zoo name, file.py[:NAME], or torchvision:NAME / timm:NAME.", show_default=False),
]
InputOpt = Annotated[
    Optional[str],
    typer.Option(
        "--input", "-i",
        help="Input shape, e.g. 1x3x224x224; several comma-separated; another dtype as 1x128:int64 "
        "(default: the model's own).",
    ),
]
DtypeOpt = Annotated[
    Optional[str],
    typer.Option(
        "--dtype",
        help="Parameters and floating inputs at float32, float16 (fp16), bfloat16 (bf16) or float64 "
        "(default: the model's own).",
    ),
]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", min=1, help="torch intra-op threads while running on cpu (default: torch's current)."),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="Run on cpu, cuda or cuda:N.")]
BatchOpt = Annotated[Optional[int], typer.Option("--batch", "-b", min=1, help="Batch size (default: the input's).")]
TimeOnOpt = Annotated[
    Optional[str],
    typer.Option("--device", help="Also run the model on cpu, cuda or cuda:N and time every layer (default: count only)."),
]
MinTimeOpt = Annotated[
    float, typer.Option("--min-time", min=0.001, max=3600, help="Seconds of timed runs at least, per measurement.")
]
DepthOpt = Annotated[
    Optional[int], typer.Option("--depth", "-d", min=0, help="Roll layers up to this module depth (0: the whole model).")
]
OutputOpt = Annotated[
    Optional[str],
    typer.Option(
        "--output", "-o", metavar="FILE", help="Write to FILE (its suffix picks the format: .json .csv .md ...; - is stdout)."
    ),
]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="costlab.toml or pyproject.toml (default: the nearest one upward)."),
]


def formats(name: str, *words: str) -> type[Enum]:
    """A ``-f/--format`` choice of ``words`` (always a subset of :data:`_SUFFIXES`' formats)."""
    return Enum(name, {word: word for word in words}, type=str)


_SUFFIXES = {
    ".json": "json", ".csv": "csv", ".md": "md", ".markdown": "md", ".txt": "table", ".sarif": "sarif",
    ".xml": "junit", ".html": "html", ".htm": "html", ".png": "png", ".svg": "svg",
}


def choose_format(requested: Enum | str | None, output: Output | None, allowed: Sequence[str], default: str = "table") -> str:
    """``-f`` when given, else what ``-o``'s suffix names, else ``default``; a suffix that says one
    format while ``-f`` says another is refused rather than written under the wrong name."""
    asked = requested.value if isinstance(requested, Enum) else requested
    named = _SUFFIXES.get(output.suffix) if output is not None and not output.is_stdout else None
    if output is not None and output.suffix and named is None:
        words = ", ".join(f"{suffix} ({fmt})" for suffix, fmt in _SUFFIXES.items() if fmt in allowed)
        raise UsageError(f"-o {output.shown}: its suffix names no format; this command writes {words}")
    if asked is not None:
        if named is not None and named != asked:
            raise UsageError(f"-o {output.shown if output else ''} names {named} but -f says {asked}: drop one of them")
        return str(asked)
    if named is not None:
        if named not in allowed:
            raise UsageError(f"-o {output.shown if output else ''}: this command writes {', '.join(allowed)}, not {named}")
        return named
    return default


def choose(value: str, allowed: Sequence[str], option: str) -> str:
    """``value`` if it is one of ``allowed``, else a UsageError naming the close ones (and old names)."""
    if value in allowed:
        return value
    from costlab.cost.costs import renamed_hint

    renamed = renamed_hint(value)
    if renamed is not None:
        raise UsageError(f"{option} {renamed}")
    close = difflib.get_close_matches(value, allowed, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(f"{option} {value!r} is not known ({hint}one of {', '.join(allowed)})")


def model_files(*specs: str | None) -> list[Path]:
    """The source files named by model specs (``net.py``, ``net.py:Net``): never to be written over."""
    files = []
    for spec in specs:
        if spec and ".py" in spec:
            path = spec.rpartition(":")[0] if spec.rpartition(":")[0].endswith(".py") else spec
            if path.endswith(".py"):
                files.append(Path(path))
    return files


def prepare_output(text: str | None, protected: Iterable[Path] = ()) -> Output | None:
    """The checked ``-o`` target (made absolute now, before any model code runs), or None for stdout."""
    if text is None:
        return None
    from costlab.files import check_output

    return check_output(text, protected)


def emit(
    fmt: str,
    output: Output | None,
    renderers: Mapping[str, Callable[[int], str | bytes | RenderableType]],
    protected: Iterable[Path] = (),
) -> None:
    """Render ``fmt`` (``renderers[fmt](width)``) to ``output`` (None: stdout) and say where it went."""
    from costlab.render.layout import FILE_WIDTH, to_text

    to_stdout = output is None or output.is_stdout
    console = stdout_console() if to_stdout else None
    content = renderers[fmt](console.width if console is not None else FILE_WIDTH)
    if isinstance(content, (str, bytes)):
        if output is not None:
            output.write(content, protected)
        else:
            sys.stdout.write(content if isinstance(content, str) else content.decode("utf-8"))
    elif to_stdout and output is None:
        assert console is not None
        console.print(content)
    else:
        assert output is not None
        output.write(to_text(content, console.width if console is not None else FILE_WIDTH), protected)
    if output is not None and not output.is_stdout:
        wrote(str(output.shown))


# ------------------------------------------------------------------------------------------------
# Consoles, errors, progress
# ------------------------------------------------------------------------------------------------


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console() -> Console:
    """The terminal's width, or ``$COLUMNS`` (else 160) when stdout is a pipe or a file."""
    from rich.console import Console

    from costlab.render.layout import FILE_WIDTH

    width = None if sys.stdout.isatty() else _columns() or FILE_WIDTH
    return Console(width=width, highlight=False)


def _columns() -> int | None:
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and int(text) > 0 else None


def wrote(what: str) -> None:
    """``wrote PATH`` on stderr, never wrapped inside a path (a terminal folds the long line whole)."""
    stderr_console().print(f"wrote {what}", markup=False, soft_wrap=True)


def warn(messages: Iterable[str]) -> None:
    err = stderr_console()
    for message in messages:
        err.print("[yellow]warning:[/] ", end="")
        err.print(message, markup=False, soft_wrap=True)


def note(messages: Iterable[str]) -> None:
    err = stderr_console()
    for message in messages:
        err.print("[yellow]note:[/] ", end="")
        err.print(message, markup=False, soft_wrap=True)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a CostlabError into one line on stderr and its exit code; keep tracebacks for --debug."""
    from costlab.cli.app import STATE

    try:
        yield
    except CostlabError as err:
        if STATE["debug"]:
            raise
        err_console = stderr_console()
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(str(err), markup=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@contextlib.contextmanager
def progress_bar(description: str, *, log: bool = False) -> Iterator[Progress]:
    """A progress bar on stderr when it is a terminal. Elsewhere (a CI log) nothing, or with ``log``
    (work of minutes, such as a report) a line each time what is happening changes. Yields the
    :class:`~costlab.progress.Progress` to hand to the work."""
    console = stderr_console()
    if not console.is_terminal:
        last = [""]

        def line(fraction: float, what: str | None = None, /) -> None:
            if log and what and what != last[0]:
                last[0] = what
                console.print(f"{fraction:4.0%} {what}", soft_wrap=True, markup=False)

        yield line
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=1.0)

        def update(fraction: float, what: str | None = None, /) -> None:
            bar.update(task, completed=fraction, **({"description": what} if what else {}))

        yield update


def unsupported_warning(unsupported: Mapping[str, int], strict: bool) -> list[str]:
    """The warning for ops without a cost formula (empty when there are none)."""
    if not unsupported:
        return []
    listed = ", ".join(f"{op} ×{count}" for op, count in sorted(unsupported.items()))
    tail = "" if strict else " (--strict fails on this)"
    return [f"no cost formula for {listed}: counted as zero and listed in unsupported_ops{tail}"]


def predicted_beside(
    report: Report,
    depth: int | None,
    timing: LayerTiming | None = None,
    *,
    device: str = "cpu",
    threads: int | None = None,
) -> PredictedTimes | None:
    """The calibrated prediction of ``report`` beside ``timing`` (on its device, dtype and thread
    count; without one, on ``device`` at ``threads``, None: torch's current), from the cache only —
    never calibrated here. None, and a note saying how to calibrate, when none is cached."""
    from costlab.timing.calibrations import cached_prediction, predicted_times

    if timing is not None:
        spec = timing.latency.spec
        device, dtype, used = spec.device, spec.dtype, spec.threads
    else:
        import torch

        dtype, used = report.dtype, threads if threads is not None else torch.get_num_threads()
    beside = "measured" if timing is not None else "the roofline"
    prediction, why = cached_prediction(report, depth, device, dtype, used, beside)
    note([why] if why else [])
    return predicted_times(prediction, timing) if prediction is not None else None


def option_value(value: Any) -> Any:
    """An Enum choice's word, anything else as it is."""
    return value.value if isinstance(value, Enum) else value
