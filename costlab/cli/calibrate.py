"""``costlab calibrate``: time every kind of kernel on the device, fit one model per kind, cache it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import DeviceOpt, DtypeOpt, OutputOpt, ThreadsOpt

CALIBRATE_FORMATS = ("table", "json", "md")
CalibrateFormat = common.formats("CalibrateFormat", *CALIBRATE_FORMATS)
QuickOpt = Annotated[
    bool, typer.Option("--quick", help="A few micro-benchmarks per kind (about 20 s; less accurate).")
]


@app.command()
def calibrate(
    device: DeviceOpt = "cpu",
    dtype: DtypeOpt = None,
    threads: ThreadsOpt = None,
    quick: QuickOpt = False,
    format: Annotated[
        Optional[CalibrateFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Calibrate latency prediction: micro-benchmark every kind of kernel here, fit a model per kind.

    Times convolutions (dense by kernel and stride, pointwise, grouped, depthwise), linear / bmm /
    attention, element-wise, normalization, pooling, reductions, softmax, data movement, gathers
    and resampling over a spread of shapes (under a minute on a 2-core CPU), fits each kind's time, and
    prints each model's cross-validated error. Cached per device, dtype, thread count and torch
    version for `costlab predict`; a calibration whose timings spread too much is not cached (exit 1).
    """
    with common.user_errors():
        target = common.prepare_output(output)
        chosen = common.choose_format(format, target, CALIBRATE_FORMATS)
        from costlab.render import predict as render
        from costlab.timing.calibrate import QUICK_SAMPLES_PER_KIND, SAMPLES_PER_KIND, noise_problem
        from costlab.timing.calibrate import calibrate as run_calibration
        from costlab.timing.calibrations import store_calibration

        per_kind = QUICK_SAMPLES_PER_KIND if quick else SAMPLES_PER_KIND
        with common.progress_bar(f"calibrating {device}") as progress:
            made = run_calibration(device, dtype or "float32", threads, samples_per_kind=per_kind, progress=progress)
        problem = noise_problem(made)
        if problem is None:
            path = store_calibration(made)
            common.note([f"cached in {path}"])
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.calibration_table(made, width, problem),
                "json": lambda width: render.calibration_json(made, problem),
                "md": lambda width: render.calibration_markdown(made, problem),
            },
        )
        if problem is not None:
            common.warn([f"not cached: {problem}"])
            raise typer.Exit(1)
