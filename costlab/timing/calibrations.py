"""The calibration cache, and predicting a model's latency from it (``costlab.predict``).

Calibrations are cached one JSON file per device name, dtype, thread count and torch version, in
``<cache dir>/calibrations/`` (the cache dir of :mod:`costlab.timing.machine`: ``$COSTLAB_CACHE_DIR``,
else ``$XDG_CACHE_HOME/costlab``, else ``~/.cache/costlab``), each written atomically. A file that
cannot be read back is named in one line and nothing else is touched; a calibration of the same
device at another thread count or torch version is never used in its place (the message names it).

Where costlab explains measured time (``profile --device``, ``roofline``, ``report``) the calibrated
prediction is shown beside it from the cache alone (:func:`cached_prediction`): calibrating takes
under a minute, so those commands never calibrate; they say in one line how to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from costlab import dtypes
from costlab.cost.costs import Column
from costlab.cost.predict import (
    Calibration,
    CalibrationError,
    LatencyPrediction,
    OlderCalibration,
    calibration_key,
    predict_latency,
)
from costlab.errors import CostlabError
from costlab.files import atomic_write
from costlab.progress import Progress
from costlab.stats import relative_error
from costlab.timing.devices import device_name, resolve_device
from costlab.timing.machine import cache_dir

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.report import Report
    from costlab.timing.layers import LayerTiming

__all__ = [
    "PREDICTED_COLUMNS",
    "CalibrationCacheError",
    "NoCalibrationError",
    "PredictedTime",
    "PredictedTimes",
    "cached_calibration",
    "cached_prediction",
    "calibration_file",
    "calibrations_dir",
    "find_calibration",
    "key_for",
    "load_calibration",
    "other_calibrations",
    "predict",
    "predicted_times",
    "store_calibration",
]


class CalibrationCacheError(CostlabError):
    """A calibration file in the cache that cannot be read (corrupt, foreign, or from another version)."""


class NoCalibrationError(CostlabError):
    """No calibration for this device, dtype, thread count and torch version, and none may be made now."""


def calibrations_dir() -> Path:
    return cache_dir() / "calibrations"


def calibration_file(key: str) -> Path:
    """The cache file of the calibration keyed ``key`` (device kind, name, dtype, threads, torch version)."""
    return calibrations_dir() / (re.sub(r"[^a-z0-9.]+", "-", key.lower()).strip("-") + ".json")


def key_for(device: str, dtype: str, threads: int | None) -> str:
    """The cache key of a calibration of ``device`` at ``dtype`` and ``threads`` (None: torch's current) here."""
    import torch

    target = resolve_device(device)
    used = threads if threads is not None else torch.get_num_threads()
    return calibration_key(str(target), device_name(target), dtypes.float_dtype(dtype), used, torch.__version__)


def read_calibration(path: Path) -> Calibration:
    """The calibration in ``path`` (any file); CalibrationCacheError naming it when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CalibrationCacheError(f"cannot read the calibration {path}: {err.strerror or err}") from None
    try:
        return Calibration.from_dict(json.loads(text))
    except OlderCalibration as err:
        raise CalibrationCacheError(f"the calibration file {path} was {err}: run `costlab calibrate` to replace it") from None
    except (ValueError, CalibrationError) as err:
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise CalibrationCacheError(
            f"the calibration file {path} is corrupt ({reason}): delete it, or run `costlab calibrate` to replace it"
        ) from None


def load_calibration(key: str) -> Calibration | None:
    """The cached calibration under ``key``, or None; CalibrationCacheError (naming the file) when it is corrupt."""
    path = calibration_file(key)
    if not path.exists():
        return None
    calibration = read_calibration(path)
    if calibration.key != key:
        raise CalibrationCacheError(f"the calibration file {path} holds {calibration.key!r}, not {key!r}: delete it")
    return replace(calibration, cached=True)


def store_calibration(calibration: Calibration) -> Path:
    """Write ``calibration`` to its cache file, atomically (other calibrations are left alone); returns the path."""
    path = calibration_file(calibration.key)
    text = json.dumps(calibration.to_dict(), separators=(",", ":")) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)
    except (OSError, CostlabError) as err:
        raise CostlabError(
            f"cannot write the calibration {path}: {getattr(err, 'strerror', None) or err}; set COSTLAB_CACHE_DIR"
        ) from None
    return path


def other_calibrations(key: str) -> list[str]:
    """Keys of cached calibrations of the same device and dtype at another thread count or torch version."""
    same = "|".join(key.split("|")[:3]) + "|"
    found = []
    folder = calibrations_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            other = calibration_key(data["device"], data["device_name"], data["dtype"], int(data["threads"]),
                                    data["torch_version"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if other.startswith(same) and other != key:
            found.append(other)
    return found


def missing_message(key: str, device: str, dtype: str, threads: int | None) -> str:
    """One line: there is no calibration under ``key``, what there is instead, and how to make one."""
    command = f"costlab calibrate --device {device} --dtype {dtype}" + (f" --threads {threads}" if threads else "")
    others = other_calibrations(key)
    instead = f"; there is one for {' and '.join(repr(o) for o in others)}, which is not used in its place" if others else ""
    return f"no calibration for {key!r}{instead}: run `{command}` first (under a minute)"


def find_calibration(
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    *,
    calibrate_missing: bool = True,
    refresh: bool = False,
    quick: bool = False,
    progress: Progress | None = None,
) -> tuple[Calibration, str | None]:
    """The calibration for ``device``, ``dtype``, ``threads`` and this torch: cached, else measured now.

    Returns it and what happened, in words (None when it came from the cache; else "calibrated …",
    and whether it was cached). Without one and with ``calibrate_missing=False``: NoCalibrationError.
    A corrupt cache file raises CalibrationCacheError when it may not be replaced, and is replaced
    by a new calibration when it may.
    """
    from costlab.timing.calibrate import QUICK_SAMPLES_PER_KIND, SAMPLES_PER_KIND, calibrate, noise_problem

    key = key_for(device, dtype, threads)
    found, corrupt = None, None
    if not refresh:
        try:
            found = load_calibration(key)
        except CalibrationCacheError as err:
            if not calibrate_missing:
                raise
            corrupt = str(err)
    if found is not None:
        return found, None
    if not calibrate_missing:
        raise NoCalibrationError(missing_message(key, device, dtype, threads))
    per_kind = QUICK_SAMPLES_PER_KIND if quick else SAMPLES_PER_KIND
    made = calibrate(device, dtype, threads, samples_per_kind=per_kind, progress=progress)
    problem = noise_problem(made)
    why = f"{corrupt}; " if corrupt else ""
    if problem is None:
        path = store_calibration(made)
        return made, f"{why}calibrated {made.label} in {made.seconds:.0f} s; cached in {path}"
    return made, f"{why}calibrated {made.label} in {made.seconds:.0f} s but did not cache it: {problem}"


def predict(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    device: str = "cpu",
    dtype: str | None = None,
    threads: int | None = None,
    depth: int | None = None,
    calibration: Calibration | None = None,
    calibrate: bool = True,
    progress: Progress | None = None,
) -> LatencyPrediction:
    """Predict ``model``'s latency on ``device`` without running it (counted on the meta device).

    ``calibration`` is used when given (it must be for that device, dtype and thread count); else
    the cached one for ``device``, ``dtype`` (default: the model's own, float32 for most) and
    ``threads`` (default: torch's current), measured now when there is none and ``calibrate``
    (else :class:`NoCalibrationError`). Returns a
    :class:`~costlab.cost.predict.LatencyPrediction`: ``predicted_ms`` for the model,
    ``layers[i].predicted_ms`` per row of ``Report.layers(depth)``.
    """
    import torch

    from costlab.cost.profile import profile

    report = profile(model, input_shape, dtype=dtype)
    used = threads if threads is not None else torch.get_num_threads()
    if calibration is None:
        calibration, _ = find_calibration(device, report.dtype, used, calibrate_missing=calibrate, progress=progress)
    else:
        check_matches(calibration, device, report.dtype, used)
    return predict_latency(report, calibration, depth)


def check_matches(calibration: Calibration, device: str, dtype: str, threads: int) -> None:
    """Refuse (one line) a calibration made for another device, dtype, thread count or torch version."""
    wanted = key_for(device, dtype, threads)
    if calibration.key != wanted:
        raise NoCalibrationError(
            f"the calibration is for {calibration.key!r}, not {wanted!r}: calibrate for this one "
            "(another thread count or torch version runs other kernels)"
        )


# ------------------------------------------------------------------------------------------------
# The calibrated prediction beside measured time, from the cache only
# ------------------------------------------------------------------------------------------------

PREDICTED_COLUMNS = (
    Column("predicted_ms", "Predicted", "predicted", "ms", significant=6),
    Column("predicted_error", "Error", "error", "Δ%", significant=4),
)
"""What a timed layer row gains when a calibration is cached: its calibrated predicted time and
that prediction's error, predicted / measured − 1 (profile's table, CSV, Markdown and JSON)."""


def _setup_words(device: str, dtype: str, threads: int) -> str:
    """``cpu (AMD EPYC 7B13, float32, 2 threads)``: what a calibration is looked up for."""
    target = resolve_device(device)
    count = f", {threads} thread{'s' if threads != 1 else ''}" if target.type == "cpu" else ""
    return f"{device} ({device_name(target)}, {dtype}{count})"


def cached_calibration(
    device: str, dtype: str, threads: int, beside: str = "measured"
) -> tuple[Calibration | None, str | None]:
    """The cached calibration for ``device``, ``dtype`` and ``threads`` (the timing's own), or None and
    one line saying why and how to make one. Never calibrates; a corrupt file is named, not raised."""
    dtype = dtypes.float_dtype(dtype)
    try:
        key = key_for(device, dtype, threads)
        found = load_calibration(key)
    except CalibrationCacheError as err:
        return None, f"{err} (no predicted latency shown until then)"
    except CostlabError as err:
        return None, f"no predicted latency: {err}"
    if found is not None:
        return found, None
    command = f"costlab calibrate --device {device}" + (f" --dtype {dtype}" if dtype != "float32" else "")
    command += f" --threads {threads}" if key.startswith("cpu|") else ""
    mine = key.split("|")
    others = [", ".join(p for p in other.split("|") if p not in mine).replace("1 threads", "1 thread")
              for other in other_calibrations(key)]
    instead = f"; one for {' and one for '.join(others)} is cached but not used in its place" if others else ""
    return None, (f"no calibration for {_setup_words(device, dtype, threads)}{instead}: "
                  f"run `{command}` to see predicted beside {beside}")


def cached_prediction(
    report: Report, depth: int | None, device: str, dtype: str, threads: int, beside: str = "measured"
) -> tuple[LatencyPrediction | None, str | None]:
    """``report``'s calibrated predicted latency (rows of ``report.layers(depth)``) from the cached
    calibration of ``device`` at ``dtype`` and ``threads`` — the timing's thread count, which the
    cache key holds — or None and a one-line note (:func:`cached_calibration`)."""
    calibration, note = cached_calibration(device, dtype, threads, beside)
    if calibration is None:
        return None, note
    try:
        return predict_latency(report, calibration, depth), None
    except CostlabError as err:
        return None, f"no predicted latency: {err}"


@dataclass(frozen=True)
class PredictedTime:
    """A calibrated predicted time beside the measured one (None: nothing measured)."""

    predicted_ms: float
    measured_ms: float | None = None

    @property
    def predicted_error(self) -> float | None:
        """predicted / measured − 1: +0.2 predicts 20% slower than measured; None without a measurement."""
        return relative_error(self.predicted_ms, self.measured_ms)


@dataclass(frozen=True)
class PredictedTimes:
    """A :class:`~costlab.cost.predict.LatencyPrediction` beside a :class:`~costlab.timing.layers.LayerTiming`:
    each row (by ``call``), the rows added up (against the measured rows' sum) and the whole model
    (against its measured latency)."""

    prediction: LatencyPrediction
    model: PredictedTime
    layers: PredictedTime
    rows: dict[int, PredictedTime]

    def row(self, call: int) -> PredictedTime | None:
        return self.rows.get(call)

    @property
    def calibration(self) -> Calibration:
        return self.prediction.calibration


def predicted_times(prediction: LatencyPrediction, timing: LayerTiming | None = None) -> PredictedTimes:
    """Pair every predicted row with its measured time (rows are matched by call, as both follow
    ``Report.layers(depth)``); without ``timing``, the predictions alone."""
    measured = {layer.call: layer.time_ms for layer in timing.layers} if timing is not None else {}
    rows = {layer.call: PredictedTime(layer.predicted_ms, measured.get(layer.call)) for layer in prediction.layers}
    rows_ms = sum(layer.predicted_ms for layer in prediction.layers)
    return PredictedTimes(
        prediction,
        PredictedTime(prediction.predicted_ms, timing.model_ms if timing is not None else None),
        PredictedTime(rows_ms, timing.layer_sum_ms if timing is not None else None),
        rows,
    )
