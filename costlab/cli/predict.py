"""``costlab predict``: a model's latency per layer and whole, from the device's calibration, never run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from costlab.cli import common
from costlab.cli.app import app
from costlab.cli.common import BatchOpt, DepthOpt, DeviceOpt, DtypeOpt, InputOpt, ModelArg, OutputOpt, ThreadsOpt

PREDICT_FORMATS = ("table", "json", "csv", "md")
PredictFormat = common.formats("PredictFormat", *PREDICT_FORMATS)
NoCalibrateOpt = Annotated[
    bool, typer.Option("--no-calibrate", help="Fail instead of calibrating when there is no calibration.")
]


@app.command()
def predict(
    model: ModelArg,
    input: InputOpt = None,
    batch: BatchOpt = None,
    device: DeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    dtype: DtypeOpt = None,
    depth: DepthOpt = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Rows in the table (heaviest first).")] = 15,
    no_calibrate: NoCalibrateOpt = False,
    format: Annotated[
        Optional[PredictFormat], typer.Option("--format", "-f", help="Output format (default: table, or -o's suffix).")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Predicted latency per layer and for the whole model on a device, without running it.

    The model is counted on the meta device (as `costlab profile` does) and every op is priced by
    the device's calibration (`costlab calibrate`): one fitted model per kind of kernel, plus the
    framework overhead per module call. Without a calibration for this device, dtype, thread count
    and torch version it calibrates first and says so (--no-calibrate fails instead).
    """
    with common.user_errors():
        protected = common.model_files(model)
        target = common.prepare_output(output, protected)
        chosen = common.choose_format(format, target, PREDICT_FORMATS)
        import torch

        from costlab.cost.predict import predict_latency
        from costlab.cost.profile import profile
        from costlab.load import as_source, example_inputs_for
        from costlab.render import predict as render

        report = profile(model, inputs=example_inputs_for(as_source(model), input).with_batch(batch), dtype=dtype)
        common.note(report.notes)
        common.warn(common.unsupported_warning(report.unsupported_ops, False))
        used = threads if threads is not None else torch.get_num_threads()
        calibration = find_or_calibrate(device, report.dtype, used, no_calibrate)
        prediction = predict_latency(report, calibration, depth)
        common.emit(
            chosen,
            target,
            {
                "table": lambda width: render.prediction_table(prediction, width, None, top),
                "json": lambda width: render.prediction_json(prediction),
                "csv": lambda width: render.prediction_csv(prediction),
                "md": lambda width: render.prediction_markdown(prediction),
            },
            protected,
        )


def find_or_calibrate(device: str, dtype: str, threads: int, no_calibrate: bool = False):
    """The cached calibration, or one made now with a progress bar and a line saying so."""
    from costlab.timing.calibrations import (
        CalibrationCacheError,
        find_calibration,
        key_for,
        load_calibration,
        missing_message,
    )

    if no_calibrate:
        found = load_calibration(key_for(device, dtype, threads))
        if found is None:
            raise common.UsageError(missing_message(key_for(device, dtype, threads), device, dtype, threads) +
                                    " (or drop --no-calibrate)")
        return found
    try:
        found = load_calibration(key_for(device, dtype, threads))
    except CalibrationCacheError as err:  # a corrupt file: say so, then replace it
        common.warn([str(err)])
        found = None
    if found is not None:
        return found
    common.note([f"no calibration for {device} at {dtype}, {threads} thread(s) yet: calibrating first (under a minute)"])
    with common.progress_bar(f"calibrating {device}") as progress:
        calibration, what = find_calibration(device, dtype, threads, refresh=True, progress=progress)
    common.note([what] if what else [])
    return calibration
