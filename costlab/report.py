"""What ``costlab report`` shows, collected: every model counted, linted, timed and placed on its roofline.

:func:`collect` does the work and returns a frozen :class:`ReportData`; the renderers
(:mod:`costlab.render.html`, :mod:`costlab.render.report_md`, :mod:`costlab.render.report_figures`)
only format it. Per model, in this order:

1. :func:`costlab.profile` counts it (meta device, shapes only). All models are counted before
   any is timed, so a typo in the last model name fails in seconds, not after minutes of timing.
2. :func:`costlab.timing.layers.measure_layers` runs it for real once per measurement: the
   whole-model latency (median, IQR, throughput) *and* the time by kind of work come from that one
   call — the model is not timed twice.
3. :func:`costlab.lint` checks G1–G4 on the counts, with the measured time shares as evidence.
4. :func:`costlab.roofline.predict` and :func:`~costlab.roofline.chart` place its layers, at their
   measured times, under the device's roofs (:func:`costlab.timing.machine.machine_peaks`, cached).

Across the models: the Spearman rank correlation of latency with MACs, FLOPs, memory access and
params (:class:`Correlation`), and the pair with about equal MACs and the most unequal latency
(:class:`Contrast`) — ShuffleNet V2's point that FLOPs are an indirect measure of speed.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from costlab.errors import CostlabError

if TYPE_CHECKING:
    from costlab.cost.report import Report, Totals
    from costlab.lint import Finding, LintSettings
    from costlab.roofline import RooflineChart
    from costlab.timing.layers import CategoryTime, LayerTiming
    from costlab.timing.machine import MachinePeaks
    from costlab.timing.measure import Measurement

__all__ = [
    "ModelResult",
    "Correlation",
    "Contrast",
    "HostInfo",
    "ReportData",
    "collect",
    "expand_models",
    "spearman",
    "ranks",
    "find_contrast",
    "CORRELATED",
    "CONTRAST_MACS_RATIO",
    "QUICK_MIN_TIME_S",
]

QUICK_MIN_TIME_S = 0.1
"""``--quick``: seconds of timed runs per measurement (instead of ``--min-time``'s default 1 s)."""

CONTRAST_MACS_RATIO = 1.25
"""Two models count as "about equal MACs" when the larger is at most this multiple of the smaller."""

CORRELATED = (("macs", "MACs"), ("mac_bytes", "memory access"), ("flops", "FLOPs"), ("params", "params"))
"""The totals whose rank correlation with latency is reported: (field of Totals, words)."""

Progress = Callable[[str, float], None]
"""``progress(what is happening, fraction of the whole report done)``."""

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
    mac_bytes_ratio: float


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
# Statistics across models (pure functions)
# ------------------------------------------------------------------------------------------------


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank.

    >>> ranks([10.0, 30.0, 20.0, 30.0])   # 30 and 30 share ranks 3 and 4: 3.5 each
    [1.0, 3.5, 2.0, 3.5]
    """
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            result[order[position]] = shared
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's ρ: Pearson's correlation of the ranks (ties averaged). None for fewer than three
    pairs or when either side is constant (no ranking to compare).

    >>> spearman([1, 2, 3, 4], [10, 20, 30, 40]), spearman([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    """
    if len(xs) != len(ys):
        raise ValueError(f"spearman needs pairs: {len(xs)} x values, {len(ys)} y values")
    if len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mean = (len(xs) + 1) / 2  # the mean of ranks 1..n, ties or not
    cov = sum((a - mean) * (b - mean) for a, b in zip(rx, ry))
    spread = math.sqrt(sum((a - mean) ** 2 for a in rx) * sum((b - mean) ** 2 for b in ry))
    return cov / spread if spread else None


def find_contrast(
    names: Sequence[str],
    macs: Sequence[float],
    latency_ms: Sequence[float],
    mac_bytes: Sequence[float],
    max_macs_ratio: float = CONTRAST_MACS_RATIO,
) -> Contrast | None:
    """Among pairs whose MACs differ by at most ``max_macs_ratio``×, the one whose latencies differ most.

    >>> find_contrast(["a", "b", "c"], [100, 110, 400], [1.0, 3.0, 2.0], [10, 40, 20])
    Contrast(faster='a', slower='b', macs_ratio=1.1, latency_ratio=3.0, mac_bytes_ratio=4.0)
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
                    mac_bytes_ratio=mac_bytes[slow] / mac_bytes[fast] if mac_bytes[fast] else math.inf,
                )
    return best


# ------------------------------------------------------------------------------------------------
# Collecting
# ------------------------------------------------------------------------------------------------


def collect(
    specs: Sequence[str],
    *,
    device: str = "cpu",
    dtype: str = "float32",
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
    from costlab.config import load_config
    from costlab.cost.profile import profile
    from costlab.lint.config import settings_from_config
    from costlab.timing.devices import canonical_dtype, resolve_device, resolve_dtype
    from costlab.timing.machine import machine_peaks

    if not specs:
        raise CostlabError("no model to report on")
    report_progress = progress or (lambda what, fraction: None)
    target = resolve_device(device)
    dtype_name = canonical_dtype(dtype)
    resolve_dtype(dtype_name, target)
    if settings is None:
        settings = settings_from_config(load_config())

    counted: list[Report] = []
    for index, spec in enumerate(specs):
        report_progress(f"counting {spec}", 0.05 * index / len(specs))
        counted.append(profile(spec, dtype=dtype_name))
    report_progress(f"peaks of {target} (cached, or measured: a few seconds)", 0.05)
    peaks = machine_peaks(str(target), dtype_name, threads)

    results = []
    for index, (spec, report) in enumerate(zip(specs, counted)):
        base = 0.1 + 0.9 * index / len(specs)

        def step(fraction: float, base: float = base, name: str = report.model) -> None:
            report_progress(f"timing {name}", base + 0.9 * fraction / len(specs))

        results.append(_one_model(spec, report, str(target), dtype_name, threads, min_time_s, settings, peaks, step))
    report_progress("done", 1.0)
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
            [m.totals.mac_bytes for m in results],
        ),
        command=command,
    )


def _one_model(
    spec: str,
    report: Report,
    device: str,
    dtype: str,
    threads: int | None,
    min_time_s: float,
    settings: LintSettings,
    peaks: MachinePeaks,
    progress: Callable[[float], None],
) -> ModelResult:
    from costlab import roofline
    from costlab.lint import lint
    from costlab.timing.layers import measure_layers

    timing = measure_layers(
        spec,
        None,  # the model's own input, as counted (measure_layers checks the shapes agree)
        report=report,
        device=device,
        dtype=dtype,
        threads=threads,
        min_time_s=min_time_s,
        progress=progress,
    )
    linted = lint(report, settings=settings, timing=timing)
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
        roofline=roofline.chart(prediction, timing, title=f"{report.model} ({_shapes(report)}) on {device}"),
        predicted_ms=prediction.predicted_ms,
        notes=tuple(notes),
    )


def _shapes(report: Report) -> str:
    return ", ".join("x".join(map(str, shape)) for shape in report.input_shapes)


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
