"""What ``costlab report`` shows, collected: every model counted, linted, timed and placed on its roofline.

:func:`collect` does the work and returns a frozen :class:`ReportData`; the renderers
(:mod:`costlab.render.report_html`, :mod:`costlab.render.report_md`,
:mod:`costlab.render.report_figures`) only format it. Per model, in this order:

1. :func:`costlab.profile` counts it (meta device, shapes only). All models are counted before
   any is timed, so a typo in the last model name fails in seconds, not after minutes of timing.
2. :func:`costlab.timing.layers.measure_layers` runs it for real once per measurement: the
   whole-model latency (median, IQR, throughput) *and* the time by kind of work come from that one
   call — the model is not timed twice.
3. :func:`costlab.lint` checks G1–G4 on the counts, with the measured time shares as evidence.
4. :func:`costlab.cost.roofline.predict` and :func:`~costlab.cost.roofline.chart` place its layers, at their
   measured times, under the device's roofs (:func:`costlab.timing.machine.machine_peaks`, cached).
5. When the device is calibrated at the report's dtype and thread count (cached: a report never
   calibrates), :func:`costlab.cost.predict.predict_latency` predicts it, per layer and whole, beside
   what was measured; else :attr:`ReportData.calibration_note` says how to calibrate.

Across the models: the Spearman rank correlation of latency with MACs, FLOPs, memory access and
params (:class:`Correlation`), and the pair with about equal MACs and the most unequal latency
(:class:`Contrast`) — ShuffleNet V2's point that FLOPs are an indirect measure of speed.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from costlab.errors import CostlabError
from costlab.progress import Progress, notify, part
from costlab.stats import spearman
from costlab.units import shapes_text

if TYPE_CHECKING:
    from costlab.cost.predict import Calibration
    from costlab.cost.report import Report, Totals
    from costlab.cost.roofline import RooflineChart
    from costlab.rules import Finding, LintSettings
    from costlab.timing.calibrations import PredictedTimes
    from costlab.timing.layers import CategoryTime, LayerTiming
    from costlab.timing.machine import MachinePeaks
    from costlab.timing.measure import Measurement

__all__ = [
    "CONTRAST_MACS_RATIO",
    "CORRELATED",
    "QUICK_MIN_TIME_S",
    "Contrast",
    "Correlation",
    "HostInfo",
    "ModelResult",
    "ReportData",
    "collect",
    "expand_models",
    "find_contrast",
]

QUICK_MIN_TIME_S = 0.1
"""``--quick``: seconds of timed runs per measurement (instead of ``--min-time``'s default 1 s)."""

CONTRAST_MACS_RATIO = 1.25
"""Two models count as "about equal MACs" when the larger is at most this multiple of the smaller."""

CORRELATED = (("macs", "MACs"), ("bytes_accessed", "memory access"), ("flops", "FLOPs"), ("params", "params"))
"""The totals whose rank correlation with latency is reported: (field of Totals, words)."""

_GLOB = set("*?[")


@dataclass(frozen=True)
class ModelResult:
    """One model on the report: its counts, its lint findings, its measured time and its roofline."""

    name: str
    family: str
    input_shapes: tuple[tuple[int, ...], ...]
    totals: Totals
    timing: LayerTiming
    rules: tuple[str, ...]
    findings: tuple[Finding, ...]
    roofline: RooflineChart
    predicted_ms: float
    notes: tuple[str, ...] = ()
    """What the counting says about itself: real tensors needed, ops without a cost formula."""
    peak_bytes: int | None = None
    train_peak_bytes: int | None = None
    """Peak memory (``costlab memory``) of inference and of a training step (forward + backward),
    estimated for the device the report times on."""
    calibrated: PredictedTimes | None = None
    """The calibrated predicted latency beside the measured one, per layer and whole (None: no
    calibration cached; ``predicted_ms`` above is the roofline's)."""

    @property
    def latency(self) -> Measurement:
        """The whole-model latency measurement (median, IQR, runs, throughput)."""
        return self.timing.latency

    @property
    def median_ms(self) -> float:
        return self.timing.model_ms

    @property
    def throughput_per_s(self) -> float:
        """Inputs per second at the median latency."""
        return self.timing.latency.throughput_per_s

    @property
    def categories(self) -> tuple[CategoryTime, ...]:
        """Time inside ops by kind of work (conv, depthwise_conv, elementwise, data_movement, other)."""
        return self.timing.categories

    def findings_per_rule(self) -> dict[str, tuple[Finding, ...]]:
        """Every checked rule (in order), with its findings (possibly none)."""
        return {rule: tuple(f for f in self.findings if f.rule == rule) for rule in self.rules}


@dataclass(frozen=True)
class Correlation:
    """Spearman's rank correlation of the models' latency with one of their totals."""

    field: str
    label: str
    rho: float | None
    models: int


@dataclass(frozen=True)
class Contrast:
    """Two models with about equal MACs (within :data:`CONTRAST_MACS_RATIO`) and the most unequal latency."""

    faster: str
    slower: str
    macs_ratio: float
    latency_ratio: float
    bytes_accessed_ratio: float


@dataclass(frozen=True)
class HostInfo:
    """The software and machine around the measurement (the device itself is in ``MachinePeaks``)."""

    platform: str
    python_version: str
    torch_version: str
    costlab_version: str
    cpu_count: int


@dataclass(frozen=True)
class ReportData:
    """Everything a report page shows. ``command`` is how it was made (empty when made from Python)."""

    models: tuple[ModelResult, ...]
    machine: MachinePeaks
    host: HostInfo
    device: str
    dtype: str
    threads: int
    min_time_s: float
    quick: bool
    created_at: str
    correlations: tuple[Correlation, ...]
    contrast: Contrast | None
    command: str = ""
    calibration_note: str = ""
    """Why no model has a calibrated prediction, and how to make one (empty when they have)."""

    @property
    def rules(self) -> tuple[str, ...]:
        """The lint rules checked (the same for every model)."""
        return self.models[0].rules if self.models else ()

    def correlation(self, field: str) -> Correlation | None:
        return next((c for c in self.correlations if c.field == field), None)


# ------------------------------------------------------------------------------------------------
# Which models
# ------------------------------------------------------------------------------------------------


def expand_models(specs: Sequence[str], zoo: bool = False) -> list[str]:
    """The model specs to report on, in order, each once.

    A spec with a shell wildcard (``shufflenet*``) that is not an existing file expands to the zoo
    models it matches (none is a :class:`CostlabError`); ``zoo`` adds every zoo model. Other
    specs (zoo names, files, ``torchvision:NAME``) pass through, to be checked when counted.
    """
    from costlab.zoo import list_models

    chosen: list[str] = []
    for spec in specs:
        if _GLOB & set(spec) and not Path(spec.partition(":")[0]).exists():
            matched = list_models(spec)
            if not matched:
                raise CostlabError(f"no zoo model matches {spec!r} (`costlab zoo` lists them all)")
            chosen.extend(matched)
        else:
            chosen.append(spec)
    if zoo:
        chosen.extend(list_models())
    if not chosen:
        raise CostlabError("give at least one MODEL (a zoo name, a pattern such as 'shufflenet*', a file) or --zoo")
    return list(dict.fromkeys(chosen))


# ------------------------------------------------------------------------------------------------
# Across models
# ------------------------------------------------------------------------------------------------


def find_contrast(
    names: Sequence[str],
    macs: Sequence[float],
    latency_ms: Sequence[float],
    bytes_accessed: Sequence[float],
    max_macs_ratio: float = CONTRAST_MACS_RATIO,
) -> Contrast | None:
    """Among pairs whose MACs differ by at most ``max_macs_ratio``×, the one whose latencies differ most.

    >>> find_contrast(["a", "b", "c"], [100, 110, 400], [1.0, 3.0, 2.0], [10, 40, 20])
    Contrast(faster='a', slower='b', macs_ratio=1.1, latency_ratio=3.0, bytes_accessed_ratio=4.0)
    """
    best: Contrast | None = None
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if min(macs[i], macs[j]) <= 0 or min(latency_ms[i], latency_ms[j]) <= 0:
                continue
            if max(macs[i], macs[j]) / min(macs[i], macs[j]) > max_macs_ratio:
                continue
            fast, slow = (i, j) if latency_ms[i] <= latency_ms[j] else (j, i)
            ratio = latency_ms[slow] / latency_ms[fast]
            if best is None or ratio > best.latency_ratio:
                best = Contrast(
                    faster=names[fast],
                    slower=names[slow],
                    macs_ratio=macs[slow] / macs[fast],
                    latency_ratio=ratio,
                    bytes_accessed_ratio=bytes_accessed[slow] / bytes_accessed[fast] if bytes_accessed[fast] else math.inf,
                )
    return best


# ------------------------------------------------------------------------------------------------
# Collecting
# ------------------------------------------------------------------------------------------------


def collect(
    specs: Sequence[str],
    *,
    input_shape: str | None = None,
    device: str = "cpu",
    dtype: str | None = None,
    threads: int | None = None,
    min_time_s: float = 1.0,
    quick: bool = False,
    settings: LintSettings | None = None,
    command: str = "",
    progress: Progress | None = None,
) -> ReportData:
    """Count, time, lint and place on the roofline every model in ``specs`` (see the module docstring).

    ``min_time_s`` is the timing per measurement (``quick`` only marks the report as a quick run);
    ``settings`` default to the lint config found upward from the working directory (as ``costlab lint``);
    ``command`` is recorded for the page. Bad specs, devices or dtypes raise :class:`CostlabError`
    before anything is timed.
    """
    import torch

    from costlab import dtypes
    from costlab.config import load_config
    from costlab.cost.profile import profile
    from costlab.rules import settings_from_config
    from costlab.timing.calibrations import cached_calibration
    from costlab.timing.devices import resolve_device, resolve_dtype
    from costlab.timing.machine import machine_peaks

    if not specs:
        raise CostlabError("no model to report on")
    target = resolve_device(device)
    if dtype is not None:
        resolve_dtype(dtypes.float_dtype(dtype), target)
    if settings is None:
        settings = settings_from_config(load_config())

    counted: list[Report] = []
    for index, spec in enumerate(specs):
        notify(progress, 0.05 * index / len(specs))
        counted.append(profile(spec, input_shape, dtype=dtype))
    dtype_name = counted[0].dtype
    notify(progress, 0.05, f"peaks of {target} (cached, or measured: a few seconds)")
    peaks = machine_peaks(str(target), dtype_name, threads, announce=lambda line: notify(progress, 0.05, line))
    # the timing's own thread count (fixed_threads(None) keeps torch's): the cache key holds it
    calibration, calibration_note = cached_calibration(
        str(target), dtype_name, threads if threads is not None else torch.get_num_threads()
    )

    results = []
    for index, (spec, report) in enumerate(zip(specs, counted)):
        base = 0.1 + 0.9 * index / len(specs)
        step = part(progress, base, base + 0.9 / len(specs), f"timing {report.model}")
        results.append(
            _one_model(spec, input_shape, report, str(target), dtype, threads, min_time_s, settings, peaks, step,
                       calibration)
        )
    notify(progress, 1.0, "done")
    return ReportData(
        models=tuple(results),
        machine=peaks,
        host=_host(peaks.torch_version),
        device=str(target),
        dtype=dtype_name,
        threads=results[0].latency.spec.threads,
        min_time_s=min_time_s,
        quick=quick,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        correlations=_correlations(results),
        contrast=find_contrast(
            [m.name for m in results],
            [m.totals.macs for m in results],
            [m.median_ms for m in results],
            [m.totals.bytes_accessed for m in results],
        ),
        command=command,
        calibration_note=calibration_note or "",
    )


def _one_model(
    spec: str,
    input_shape: str | None,
    report: Report,
    device: str,
    dtype: str | None,
    threads: int | None,
    min_time_s: float,
    settings: LintSettings,
    peaks: MachinePeaks,
    progress: Progress | None,
    calibration: Calibration | None = None,
) -> ModelResult:
    from costlab.cost import roofline
    from costlab.cost.predict import predict_latency
    from costlab.rules import lint
    from costlab.timing.calibrations import predicted_times
    from costlab.timing.layers import measure_layers

    timing = measure_layers(
        spec,
        input_shape,  # as counted (measure_layers checks the shapes agree)
        report=report,
        device=device,
        dtype=dtype,
        threads=threads,
        min_time_s=min_time_s,
        progress=progress,
    )
    linted = lint(report, settings=settings, timing=timing)
    held = _peak_memory(spec, input_shape, dtype, device)
    prediction = roofline.predict(report, peaks.roofs())
    notes = list(report.notes)
    if report.unsupported_ops:
        listed = ", ".join(f"{op} ×{n}" for op, n in sorted(report.unsupported_ops.items()))
        notes.append(f"no cost formula for {listed}: counted as zero")
    return ModelResult(
        name=report.model,
        family=_family(spec),
        input_shapes=tuple(tuple(s) for s in report.input_shapes),
        totals=report.totals,
        timing=timing,
        rules=tuple(settings.select),
        findings=tuple(linted.findings),
        roofline=roofline.chart(
            prediction, timing.measured(), title=f"{report.model} ({shapes_text(report.input_shapes)}) on {device}"
        ),
        predicted_ms=prediction.predicted_ms,
        notes=tuple(notes),
        peak_bytes=held[0],
        train_peak_bytes=held[1],
        calibrated=predicted_times(predict_latency(report, calibration), timing) if calibration is not None else None,
    )


def _peak_memory(spec: str, input_shape: str | None, dtype: str | None, device: str) -> tuple[int | None, int | None]:
    """The inference and training peaks; None for a training step the model cannot take (no grad)."""
    from costlab.cost.capture import NoBackward
    from costlab.cost.memory import memory

    estimate_for = "cuda" if device.startswith("cuda") else "cpu"
    inference = memory(spec, input_shape, dtype=dtype, device=estimate_for).peak_bytes
    try:
        training: int | None = memory(spec, input_shape, dtype=dtype, device=estimate_for, train=True).peak_bytes
    except NoBackward:
        training = None
    return inference, training


def _family(spec: str) -> str:
    """The zoo family of a zoo name; '' for anything else (a file, a library model)."""
    from costlab.zoo import get_entry, list_models

    return get_entry(spec).family if spec in list_models() else ""


def _correlations(models: Sequence[ModelResult]) -> tuple[Correlation, ...]:
    latency = [m.median_ms for m in models]
    return tuple(
        Correlation(field, label, spearman([getattr(m.totals, field) for m in models], latency), len(models))
        for field, label in CORRELATED
    )


def _host(torch_version: str) -> HostInfo:
    from costlab import __version__

    return HostInfo(
        platform=platform.platform(terse=True),
        python_version=platform.python_version(),
        torch_version=torch_version,
        costlab_version=__version__,
        cpu_count=os.cpu_count() or 0,
    )
