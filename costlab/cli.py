"""The ``costlab`` command line. Each command parses, calls the API, and renders; no arithmetic here.

Machine-readable output goes to stdout, notes and warnings to stderr, so ``--format json | jq``
always works. Exit codes: 0 clean, 1 a failed check (``--strict``), 2 bad usage or input.
torch is imported inside the commands, never at module level, so ``costlab --help`` is instant.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from costlab import __version__
from costlab.errors import CostlabError

app = typer.Typer(
    name="costlab",
    help=(
        "What a PyTorch network really costs on hardware, and why: params, MACs, FLOPs, memory access "
        "and element-wise work per layer.\n\n"
        "MODEL is a zoo name (costlab zoo), a file (mymodel.py, mymodel.py:Net, mymodel.py:build_model), "
        "or torchvision:NAME / timm:NAME when that library is installed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: half the start-up of rich panels, and `--help | less` friendly
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


class SortField(str, Enum):
    order = "order"
    params = "params"
    macs = "macs"
    flops = "flops"
    mac_bytes = "mac_bytes"
    intensity = "intensity"
    elementwise_ops = "elementwise_ops"
    ops = "ops"


_SUFFIX_FORMATS = {".json": TableFormat.json, ".csv": TableFormat.csv, ".md": TableFormat.md, ".markdown": TableFormat.md}


def _stderr():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _stdout(width: int | None = None):  # type: ignore[no-untyped-def]
    from rich.console import Console

    if width is None and not sys.stdout.isatty():
        width = int(os.environ.get("COLUMNS", 0)) or 160
    return Console(width=width, highlight=False)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str], Callable[[float], None]]]:
    """A rich progress bar on stderr (when it is a terminal); yields ``start(description) -> update(fraction)``."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    console = _stderr()
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:

        def start(description: str) -> Callable[[float], None]:
            task = bar.add_task(description, total=1.0)
            return lambda fraction: bar.update(task, completed=fraction)

        yield start


def _warn(messages: tuple[str, ...] | list[str]) -> None:
    err = _stderr()
    for message in messages:
        err.print(f"[yellow]warning:[/] {message}", soft_wrap=True)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn a CostlabError into one line on stderr and its exit code; keep tracebacks for --debug."""
    try:
        yield
    except CostlabError as err:
        if _state["debug"]:
            raise
        from rich.markup import escape

        # escaped: messages quote config keys such as [[budget]] and [lint], which are not markup
        _stderr().print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _write_output(path: Path, text: str | bytes, protected: list[Path]) -> None:
    """Write text or bytes atomically: the old file stays whole until the new one is complete."""
    target = path.resolve()
    for source in protected:
        if source.resolve() == target:
            raise CostlabError(f"refusing to write the output over the model file {path}: choose another -o path")
    if target.is_dir():
        raise CostlabError(f"-o {path} is a directory: give a file name such as {path / 'report.json'}")
    if not target.parent.exists():
        raise CostlabError(f"cannot write {path}: the folder {target.parent} does not exist")
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8") if isinstance(text, str) else text)
        # mkstemp creates 0600; give the file the mode a plain open() would (or the one it had)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _version(value: bool) -> None:
    if value:
        typer.echo(f"costlab {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    _state["debug"] = debug or bool(os.environ.get("COSTLAB_DEBUG"))


@app.command()
def profile(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Zoo name, file.py[:NAME], or torchvision:NAME / timm:NAME.")],
    input: Annotated[
        Optional[str],
        typer.Option("--input", "-i", help="Input shape, e.g. 1x3x224x224; several comma-separated; 1x128:int64."),
    ] = None,
    format: Annotated[
        Optional[TableFormat], typer.Option("--format", "-f", help="Output format (default: table, or the one -o's suffix names).")
    ] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    depth: Annotated[
        Optional[int], typer.Option("--depth", "-d", min=0, help="Roll layers up to this module depth (0: whole model).")
    ] = None,
    sort: Annotated[SortField, typer.Option("--sort", "-s", help="Sort rows by this field, largest first.")] = SortField.order,
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=1, help="Show only the first N rows.")] = None,
    dtype: Annotated[
        Optional[str], typer.Option("--dtype", help="Count bytes at this dtype: float32, float16, bfloat16, float64.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when an op has no cost formula.")] = False,
    real: Annotated[bool, typer.Option("--real", help="Run with real tensors on CPU instead of the meta device.")] = False,
    device: Annotated[
        Optional[str],
        typer.Option("--device", help="Also time every layer on this device (cpu, cuda, cuda:N): time, share, FLOP/s, B/s."),
    ] = None,
    threads: Annotated[
        Optional[int], typer.Option("--threads", min=1, help="With --device cpu: torch threads while timing.")
    ] = None,
    min_time: Annotated[
        float, typer.Option("--min-time", min=0.001, help="With --device: seconds of timed runs at least.")
    ] = 1.0,
) -> None:
    """Per-layer params, MACs, FLOPs, memory access, arithmetic intensity and element-wise ops.

    Counts one forward pass on the meta device (shapes only: no compute, no memory), falling
    back to real tensors on CPU when the model needs real values. With --device, the model also
    runs for real there and every layer gets its measured time beside its counts.
    """
    with _user_errors():
        from costlab.cost.profile import profile as run_profile
        from costlab.render.formats import select_rows

        chosen = format or (_SUFFIX_FORMATS.get(output.suffix.lower()) if output else None) or TableFormat.table
        report = run_profile(model, input, dtype=dtype, real=real)
        err = _stderr()
        for note in report.notes:
            err.print(f"[yellow]note:[/] {note}", soft_wrap=True)
        if report.unsupported_ops:
            listed = ", ".join(f"{op} ×{count}" for op, count in sorted(report.unsupported_ops.items()))
            err.print(
                f"[yellow]warning:[/] no cost formula for {listed}: counted as zero and listed in unsupported_ops"
                + ("" if strict else " (--strict fails on this)"),
                soft_wrap=True,
            )
        timing = None
        if device is not None:
            from costlab.timing.layers import measure_layers

            with _progress() as start:
                timing = measure_layers(
                    model, input, report=report, depth=depth, device=device, dtype=dtype or "float32",
                    threads=threads, min_time_s=min_time, progress=start(f"timing {report.model} per layer on {device}"),
                )
            _warn(timing.latency.warnings)
        every_row = report.layers(depth)
        rows = select_rows(every_row, sort.value, top)
        text = _render(report, rows, chosen, depth, output is None, len(every_row), timing)
        if text is not None:
            if output is not None:
                _write_output(output, text, [Path(report.source_file)] if report.source_file else [])
                err.print(f"wrote {output}")
            else:
                sys.stdout.write(text)
        if strict and report.unsupported_ops:
            raise typer.Exit(1)


def _render(report, rows, chosen: TableFormat, depth, to_terminal: bool, shown_of: int, timing=None) -> str | None:  # type: ignore[no-untyped-def]
    from costlab.render import formats

    if chosen is TableFormat.json:
        return formats.to_json(report, depth, rows, timing)
    if chosen is TableFormat.csv:
        return formats.to_csv(rows, timing)
    if chosen is TableFormat.md:
        return formats.to_markdown(report, rows, timing)
    from costlab.render.table import print_report

    if to_terminal:
        print_report(_stdout(), report, rows, shown_of, timing)
        return None
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=160, highlight=False)
    print_report(console, report, rows, shown_of, timing)
    return console.file.getvalue()  # type: ignore[attr-defined]


@app.command()
def zoo(
    pattern: Annotated[str, typer.Argument(help="Shell-style filter, e.g. 'shufflenet*'.")] = "*",
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    names: Annotated[bool, typer.Option("--names", help="Only the names, one per line (no counting).")] = False,
) -> None:
    """The built-in models: family, default input, params, MACs and memory access."""
    with _user_errors():
        from costlab.zoo import list_models

        selected = list_models(pattern)
        if not selected:
            raise CostlabError(f"no zoo model matches {pattern!r} (`costlab zoo` lists them all)")
        if names:
            sys.stdout.write("\n".join(selected) + "\n")
            return
        from costlab.render.zoo import render_zoo
        from costlab.zoo.summary import summarize

        rows = summarize(selected)
        if format is TableFormat.table:
            render_zoo(_stdout(), rows)
        else:
            sys.stdout.write(render_zoo(None, rows, format.value))


class FindingFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"


@app.command()
def lint(
    model: Annotated[
        Optional[str], typer.Argument(help="Zoo name, file.py[:NAME], or torchvision:NAME (omit with --zoo).")
    ] = None,
    input: Annotated[Optional[str], typer.Option("--input", "-i", help="Input shape, e.g. 1x3x224x224.")] = None,
    select: Annotated[Optional[str], typer.Option("--select", help="Only these rules, e.g. G1,G2.")] = None,
    ignore: Annotated[Optional[str], typer.Option("--ignore", help="Skip these rules, e.g. G3.")] = None,
    format: Annotated[FindingFormat, typer.Option("--format", "-f", help="Output format.")] = FindingFormat.text,
    fail_level: Annotated[
        Optional[Severity], typer.Option("--fail-level", help="Exit 1 on findings at or above this (default: warning, or the config's).")
    ] = None,
    config: Annotated[
        Optional[Path], typer.Option("--config", help="costlab.toml or pyproject.toml (default: the nearest one upward).")
    ] = None,
    zoo: Annotated[bool, typer.Option("--zoo", help="Lint every zoo model and print a model × rule table.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    device: Annotated[
        Optional[str],
        typer.Option("--device", help="Also time the model on this device (cpu, cuda): G4 then reports its share of time."),
    ] = None,
) -> None:
    """Check ShuffleNet V2's guidelines G1–G4, with the numbers as evidence.

    G1 equal channel width · G2 group convolution · G3 fragmentation · G4 element-wise ops.
    Exit 0 when nothing is at or above --fail-level, 1 when something is, 2 for bad input.
    """
    with _user_errors():
        from costlab.config import load_config
        from costlab.lint import lint as run_lint
        from costlab.lint.config import settings_from_config
        from costlab.render import findings as render

        if (model is None) == (not zoo):
            raise CostlabError("give a MODEL to lint, or --zoo for the whole zoo (not both)")
        settings = settings_from_config(
            load_config(config),
            select=select.split(",") if select else None,
            ignore=ignore.split(",") if ignore else None,
            fail_level=fail_level.value if fail_level else None,
        )
        if zoo:
            from costlab.zoo import list_models

            results = [run_lint(name, settings=settings) for name in list_models()]
            if format is FindingFormat.text and output is None:
                from costlab.render.zoo import lint_matrix

                lint_matrix(_stdout(), results)
                return
        else:
            assert model is not None
            timing = None
            if device is not None:
                from costlab.cost.profile import profile as run_profile
                from costlab.timing.layers import measure_layers

                report = run_profile(model, input)
                with _progress() as start:
                    timing = measure_layers(model, input, report=report, device=device, progress=start(f"timing {model}"))
                _warn(timing.latency.warnings)
                results = [run_lint(report, settings=settings, timing=timing)]
            else:
                results = [run_lint(model, input, settings=settings)]
        text = {
            FindingFormat.text: render.to_text,
            FindingFormat.json: render.to_json,
            FindingFormat.github: render.to_github,
            FindingFormat.sarif: render.to_sarif,
        }[format](results)
        if output is not None:
            sources = [Path(r.report.source_file) for r in results if r.report.source_file]
            _write_output(output, text, sources)
            _stderr().print(f"wrote {output}")
        else:
            sys.stdout.write(text)
        if format is not FindingFormat.text:
            for result in results:
                _stderr().print(result.summary(), soft_wrap=True)
        if not zoo and any(r.failed for r in results):
            raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()


# Commands defined in their own modules register themselves on `app` when imported (no torch there).
from costlab import cli_check, cli_guidelines, cli_report, cli_timing  # noqa: E402,F401
