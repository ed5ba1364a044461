"""``costlab machine``: the device's measured roofs (peak FLOP/s and memory bandwidth), cached."""

from __future__ import annotations

import contextlib
from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DeviceOpt, DtypeOpt, OutputOpt, ThreadsOpt

MACHINE_FORMATS = ("table", "json", "md")
MachineFormat = common.formats("MachineFormat", *MACHINE_FORMATS)


@app.command()
def machine(
    device: DeviceOpt = "cpu",
    dtype: DtypeOpt = None,
    threads: ThreadsOpt = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Measure again instead of using the cache.")] = False,
    format: Annotated[
        Optional[MachineFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """The device's peak FLOP/s (large matmul) and memory bandwidth (copy / triad): the roofs.

    Measured once (a few seconds) and cached per device, dtype and thread count in
    $COSTLAB_CACHE_DIR, else $XDG_CACHE_HOME/costlab, else ~/.cache/costlab; roofs whose repeats
    spread too much (a busy machine) are shown but not cached. The bandwidth of each cache level
    (working sets that stay in L1, L2, L3) is measured too: the cache roofs. Known GPUs show their
    spec sheet beside the measurement.
    """
    with common.user_errors():
        from costlab.render import timing as render
        from costlab.timing.machine import spec_for

        target = common.prepare_output(output)
        chosen = common.choose_format(format, target, MACHINE_FORMATS)
        peaks = measured_peaks(device, dtype or "float32", threads, refresh)
        spec = spec_for(peaks.device_name) if peaks.device != "cpu" else None
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.machine_table(peaks, width, spec),
                "json": lambda width: render.machine_json(peaks, spec),
                "md": lambda width: render.machine_markdown(peaks, spec),
            },
        )


def measured_peaks(device: str, dtype: str, threads: int | None, refresh: bool):
    """The device's peaks from the cache, or measured now: then a note says so first (and a spinner
    turns on a terminal), and a warning when they were too noisy to cache."""
    from costlab.timing.machine import machine_peaks, roof_noise_problem

    console = common.stderr_console()
    spinner = f"peaks of {device} at {dtype}: from the cache, or measured (a few seconds)"
    with console.status(spinner) if console.is_terminal else contextlib.nullcontext():
        peaks = machine_peaks(device, dtype, threads, refresh=refresh, announce=lambda line: common.note([line]))
    problem = roof_noise_problem(peaks) if not peaks.cached else None
    if problem is not None:
        common.warn([f"roofs not cached, used for this run only: {problem}"])
    return peaks
