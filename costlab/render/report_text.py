"""The words and formatted numbers of a ``costlab report``, shared by its HTML page and its Markdown.

Everything here formats what :class:`~costlab.report.ReportData` holds (with units, through
:func:`~costlab.render.units.human` and :func:`~costlab.render.timing.duration`); the two
renderers only wrap it in markup, so the page and the Markdown always say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from costlab.cost.categories import label as kind_label
from costlab.units import duration, format_delta, human, shape

if TYPE_CHECKING:
    from costlab.publish.collect import Contrast, Correlation, ModelResult, ReportData
    from costlab.rules import Finding

__all__ = [
    "MACHINE_NOTE",
    "MAX_FINDINGS_SHOWN",
    "MODELS_NOTE",
    "PREDICTED_ROWS",
    "SECTIONS",
    "SUMMARY_HEADERS",
    "TIME_NOTE",
    "Cell",
    "anchors",
    "category_rows",
    "contrast_text",
    "correlation_text",
    "coverage_note",
    "finding_text",
    "generated_line",
    "intro",
    "latency_note",
    "machine_rows",
    "model_stats",
    "noise_note",
    "predicted_note",
    "predicted_rows",
    "quick_note",
    "roofline_note",
    "shown_findings",
    "summary_cells",
    "summary_note",
    "title",
]

MAX_FINDINGS_SHOWN = 6
"""Per model, the findings listed in full; the rest are counted."""


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, whether it is a number (right-aligned), a tooltip, and a style hint
    (``info`` / ``warning`` / ``error`` for lint counts, ``muted`` for nothing to show)."""

    text: str
    numeric: bool = False
    hint: str = ""
    tooltip: str = ""
    value: float | None = None
    """What the cell sorts by when its text does not (``1.50 M`` sorts as 1,500,000)."""


def _date(iso: str) -> str:
    """``2026-11-22T14:33:56+00:00`` → ``22 Nov 2026``."""
    try:
        return datetime.fromisoformat(iso).strftime("%-d %b %Y")
    except ValueError:
        return iso[:10]


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


def title(data: ReportData) -> str:
    """``What 31 networks cost on Intel(R) Xeon(R) Processor``."""
    what = f"{len(data.models)} networks cost" if len(data.models) != 1 else f"{data.models[0].name} costs"
    return f"What {what} on {data.machine.device_name}"


def _setup(data: ReportData) -> str:
    threads = f", {_threads(data.threads)}" if data.device == "cpu" else ""
    return f"{data.device} ({data.machine.device_name}{threads}, {data.dtype}, torch {data.host.torch_version})"


def intro(data: ReportData) -> str:
    """One sentence: what was counted, what was measured, where and when."""
    return (
        f"Params, MACs, memory access and peak memory counted by costlab; latency measured on {_setup(data)} "
        f"on {_date(data.created_at)}: the median over at least 10 timed runs after warm-up, "
        f"{data.min_time_s:g} s of runs per model, batch {data.models[0].latency.spec.batch if data.models else 1}."
    )


def quick_note(data: ReportData) -> str:
    """Empty unless the report was made with ``--quick``."""
    if not data.quick:
        return ""
    return f"A quick run ({data.min_time_s:g} s of timed runs per model): the latencies are rough."


def correlation_text(correlation: Correlation | None) -> str:
    """``ρ = 0.62`` (or a dash when there are too few models)."""
    if correlation is None or correlation.rho is None:
        return "–"
    return f"ρ = {correlation.rho:.2f}"


def contrast_text(contrast: Contrast | None) -> str:
    """The pair with about equal MACs and the most unequal latency, in one sentence."""
    if contrast is None:
        return ""
    return (
        f"{contrast.slower} takes {contrast.latency_ratio:.1f}× as long as {contrast.faster} "
        f"with {contrast.macs_ratio:.2f}× its MACs — and {contrast.bytes_accessed_ratio:.1f}× its memory access."
    )


SUMMARY_HEADERS = (
    "Model",
    "Family",
    "Input",
    "Params",
    "MACs",
    "Memory access",
    "Peak memory",
    "Training peak",
    "Latency",
    "IQR",
    "Throughput",
    "Roofline",
    "Predicted",
    "Error",
)
"""The summary table's columns before one column per lint rule (``Peak memory`` and ``Training peak``
the bytes held at once, as ``costlab memory`` estimates them; ``Latency`` is the median; ``Roofline``
the latency the roofline predicts from the counts and the machine's peaks; ``Predicted`` the
calibrated prediction, ``Error`` its predicted / measured − 1)."""


def summary_cells(model: ModelResult) -> list[Cell]:
    """One summary row: :data:`SUMMARY_HEADERS`, then the finding count of every rule checked."""
    cells = [
        Cell(model.name),
        Cell(model.family or "–", hint="" if model.family else "muted"),
        Cell(", ".join(shape(s) for s in model.input_shapes)),
        Cell(human(model.totals.params), True, value=model.totals.params),
        Cell(human(model.totals.macs), True, value=model.totals.macs),
        Cell(human(model.totals.bytes_accessed, "B"), True, value=model.totals.bytes_accessed),
        _bytes_cell(model.peak_bytes, "inference: parameters, inputs and every activation held at once"),
        _bytes_cell(model.train_peak_bytes, "a training step: forward with autograd, then the backward"),
        Cell(
            duration(model.median_ms),
            True,
            "warning" if model.latency.warnings else "",
            f"noisy: the IQR is {model.latency.relative_iqr:.0%} of the median" if model.latency.warnings else "",
            model.median_ms,
        ),
        Cell(duration(model.latency.iqr_ms), True, "muted", value=model.latency.iqr_ms),
        Cell(f"{model.throughput_per_s:,.1f}/s", True, value=model.throughput_per_s),
        Cell(duration(model.predicted_ms), True, "muted", value=model.predicted_ms),
        *_calibrated_cells(model),
    ]
    for rule, findings in model.findings_per_rule().items():
        worst = max((f.severity for f in findings), key=_severity_rank, default="")
        detail = ", ".join(f"{n} {s}" for s, n in _severity_counts(findings))
        cells.append(
            Cell(str(len(findings)) if findings else "·", True, worst or "muted", f"{rule}: {detail or 'no findings'}",
                 len(findings))
        )
    return cells


def _calibrated_cells(model: ModelResult) -> list[Cell]:
    """The calibrated prediction and its error (– when no calibration is cached)."""
    if model.calibrated is None:
        why = "no calibration cached for this device, dtype and thread count: run `costlab calibrate`"
        return [Cell("–", True, "muted", why), Cell("–", True, "muted", why)]
    guess = model.calibrated.model
    error = guess.predicted_error
    return [
        Cell(duration(guess.predicted_ms), True, "", f"calibration: {model.calibrated.calibration.label}",
             guess.predicted_ms),
        Cell(format_delta(error) if error is not None else "–", True, "" if error is not None else "muted",
             "predicted / measured − 1", error),
    ]


def _bytes_cell(value: int | None, tooltip: str) -> Cell:
    if value is None:
        return Cell("–", True, "muted", "not estimated: nothing in the model requires grad")
    return Cell(human(value, "B"), True, "", tooltip, value)


def _severity_rank(severity: str) -> int:
    from costlab.rules import SEVERITIES

    return SEVERITIES.index(severity)


def _severity_counts(findings: tuple[Finding, ...]) -> list[tuple[str, int]]:
    from costlab.rules import SEVERITIES

    return [(s, n) for s in reversed(SEVERITIES) if (n := sum(f.severity == s for f in findings))]


def noise_note(data: ReportData) -> str:
    """Empty when every latency is steady; else how many spread more than the warning threshold."""
    from costlab.timing.measure import IQR_WARN_RATIO

    noisy = [m for m in data.models if m.latency.warnings]
    if not noisy:
        return ""
    return (
        f"{len(noisy)} of {len(data.models)} latencies (underlined) spread by more than {IQR_WARN_RATIO:.0%} "
        "(IQR over median): the machine was busy or its clock unsteady. A quieter machine or a longer "
        "--min-time steadies them."
    )


def model_stats(model: ModelResult) -> list[tuple[str, str]]:
    """The headline numbers of one model: (value with unit, what it is). The first is the latency."""
    latency = model.latency
    spread = f"IQR {duration(latency.iqr_ms)} = {latency.relative_iqr:.0%}"
    return [
        (duration(model.median_ms), f"median latency ({spread}, {latency.runs} runs)"),
        (f"{model.throughput_per_s:,.1f}/s", "throughput"),
        (human(model.totals.macs), "MACs"),
        (human(model.totals.bytes_accessed, "B"), "memory access"),
        (human(model.totals.params), "params"),
        (duration(model.predicted_ms), "roofline prediction"),
        *_calibrated_stat(model),
    ]


def _calibrated_stat(model: ModelResult) -> list[tuple[str, str]]:
    if model.calibrated is None:
        return []
    guess = model.calibrated.model
    error = f", {format_delta(guess.predicted_error)} vs measured" if guess.predicted_error is not None else ""
    return [(duration(guess.predicted_ms), f"calibrated prediction{error}")]


PREDICTED_ROWS = 8
"""Per model, the layers (the slowest measured) shown with their predicted time beside the measured."""


def predicted_rows(model: ModelResult, top: int = PREDICTED_ROWS) -> list[tuple[str, str, str, str]]:
    """The slowest measured layers with the calibrated prediction beside: (layer, measured, predicted,
    error); empty without a calibration."""
    if model.calibrated is None:
        return []
    rows = []
    for layer in sorted(model.timing.layers, key=lambda layer: -layer.time_ms)[:top]:
        guess = model.calibrated.row(layer.call)
        if guess is None:
            continue
        error = guess.predicted_error
        rows.append((layer.name or "(model)", duration(layer.time_ms), duration(guess.predicted_ms),
                     format_delta(error) if error is not None else "–"))
    return rows


def predicted_note(model: ModelResult) -> str:
    """Under the per-layer comparison: how many layers it shows, and what the whole model does."""
    if model.calibrated is None:
        return ""
    whole, layers = model.calibrated.model, model.calibrated.layers
    shown = min(PREDICTED_ROWS, len(model.timing.layers))
    whole_error = format_delta(whole.predicted_error) if whole.predicted_error is not None else "–"
    layer_error = format_delta(layers.predicted_error) if layers.predicted_error is not None else "–"
    return (
        f"The {shown} slowest of {len(model.timing.layers)} layers. Whole model: predicted "
        f"{duration(whole.predicted_ms)}, measured {duration(model.median_ms)} ({whole_error}); layers added up: "
        f"predicted {duration(layers.predicted_ms)}, measured {duration(model.timing.layer_sum_ms)} ({layer_error}). "
        f"Calibration: {model.calibrated.calibration.label}."
    )


def category_rows(model: ModelResult) -> list[tuple[str, str, str, str, float]]:
    """Time by kind of work: (key, words, time, share as text, share as a fraction for a bar)."""
    return [
        (c.category, kind_label(c.category), duration(c.time_ms) if c.time_ms else "–", f"{c.share:.0%}", c.share)
        for c in model.categories
    ]


def roofline_note(model: ModelResult) -> str:
    """What the roofline leaves out: layers without FLOPs or bytes have no place on its log axes."""
    chart = model.roofline
    if not chart.hidden_layers:
        return ""
    return (
        f"Not on the roofline (no place on its log axes): {chart.hidden_layers} layers without FLOPs, "
        f"{chart.hidden_share:.1%} of the time."
    )


def coverage_note(model: ModelResult) -> str:
    timing = model.timing
    return (
        f"Each op timed on its own ({timing.runs} instrumented runs): ops add up to {duration(timing.layer_sum_ms)}, "
        f"{timing.coverage:.0%} of the {duration(timing.model_ms)} the whole model takes."
    )


def finding_text(finding: Finding) -> tuple[str, str, str]:
    """(rule, severity, the message with the module it is about)."""
    where = f"{finding.module}: " if finding.module else ""
    return finding.rule, finding.severity, f"{where}{finding.message}"


def machine_rows(data: ReportData) -> list[tuple[str, str]]:
    """The machine and software the report was measured with."""
    peaks = data.machine
    origin = "cached" if peaks.cached else "measured"
    rows = [
        ("Device", f"{data.device} — {peaks.device_name}"),
        (
            "Peak arithmetic",
            f"{human(peaks.peak_flops, 'FLOP/s')} ({peaks.dtype} matrix product, n = {peaks.gemm_size})",
        ),
        (
            "Memory bandwidth",
            (
                f"{human(peaks.bandwidth_bytes_per_s, 'B/s')} (copy {human(peaks.copy_bytes_per_s, 'B/s')}, "
                f"triad {human(peaks.triad_bytes_per_s, 'B/s')})"
            ),
        ),
        ("Ridge point", f"{peaks.ridge_flop_per_byte:.1f} FLOP/B"),
        ("Peaks", f"{origin}, measured {_date(peaks.measured_at)} with {_threads(peaks.threads)}"),
    ]
    if data.device == "cpu":
        rows.append(("Threads", f"{_threads(data.threads)} of {data.host.cpu_count} CPUs"))
    rows += [
        (
            "Timing",
            f"dtype {data.dtype}, at least {data.min_time_s:g} s of timed runs per model"
            + (" (--quick)" if data.quick else ""),
        ),
        (
            "Software",
            f"torch {data.host.torch_version}, Python {data.host.python_version}, costlab {data.host.costlab_version}",
        ),
        ("System", data.host.platform),
        ("Created", data.created_at),
    ]
    if data.command:
        rows.append(("Command", data.command))
    return rows


# -- the sections' explanations ----------------------------------------------------------------

SECTIONS = (
    ("summary", "Summary"),
    ("latency", "Equal MACs, unequal speed"),
    ("time", "Where the time goes"),
    ("models", "Per model"),
    ("machine", "Machine"),
)
"""(id, heading) of every section of the report, in order."""


def summary_note(data: ReportData) -> str:
    return (
        "Latency is the median of the timed runs, IQR their interquartile range, throughput inputs per second at "
        "the median. Roofline is the latency the roofline model predicts from the counts and this machine's peaks "
        f"(each layer at max(FLOPs ÷ peak, bytes ÷ bandwidth)). {_predicted_words(data)} "
        f"{', '.join(data.rules)}: ShuffleNet V2's guidelines as lint rules: the findings per rule, warnings highlighted."
    )


def _predicted_words(data: ReportData) -> str:
    if data.calibration_note:
        return f"Predicted: none here — {data.calibration_note}."
    return ("Predicted is the latency costlab predicts from the counts and this device's calibration (a model per "
            "kind of kernel, fitted on micro-benchmarks), Error its predicted ÷ measured − 1.")


def latency_note(data: ReportData) -> str:
    macs, bytes_accessed = data.correlation("macs"), data.correlation("bytes_accessed")
    ranked = ""
    if macs is not None and macs.rho is not None and bytes_accessed is not None and bytes_accessed.rho is not None:
        ranked = (
            f" Rank correlation with latency here: MACs {correlation_text(macs)}, "
            f"memory access {correlation_text(bytes_accessed)}."
        )
    return (
        "MACs (what papers call FLOPs) are an indirect measure of speed: memory access, parallelism and "
        f"element-wise work cost time too (Ma et al., ShuffleNet V2, 2018).{ranked} {contrast_text(data.contrast)}"
    ).strip()


TIME_NOTE = (
    "Every op timed on its own at the dispatch level and put in one bucket: convolution, depthwise convolution, "
    "element-wise (ReLU, add, batch norm, …), data movement (concatenation, copies, the channel shuffle) and other "
    "(linear layers, pooling, …). ShuffleNet V2's Figure 2, on this machine."
)
MODELS_NOTE = (
    "A roofline per model: one dot per layer at its arithmetic intensity and the FLOP/s it achieved (dot area: its "
    "share of the time), under this machine's two roofs; then the time by kind of work and the lint findings."
)
MACHINE_NOTE = (
    "The roofs are this machine's measured peaks: the best rate of a large matrix product, and the best of a large "
    "copy and a STREAM triad (bytes read and written both count, as in memory access)."
)


def shown_findings(model: ModelResult) -> list[Finding]:
    """Up to :data:`MAX_FINDINGS_SHOWN` findings, the rules taking turns (so every rule with a finding
    shows one), each rule's worst severity first."""
    from costlab.rules import SEVERITIES

    queues = {
        rule: sorted(found, key=lambda f: -SEVERITIES.index(f.severity))
        for rule, found in model.findings_per_rule().items()
        if found
    }
    shown: list[Finding] = []
    while len(shown) < MAX_FINDINGS_SHOWN and any(queues.values()):
        for queue in queues.values():
            if queue and len(shown) < MAX_FINDINGS_SHOWN:
                shown.append(queue.pop(0))
    return shown


def generated_line(data: ReportData) -> str:
    return f"Generated by costlab {data.host.costlab_version} on {_date(data.created_at)}."


def anchors(models: Sequence[ModelResult]) -> list[str]:
    """A unique id per model's section: ``tiny_net.py`` → ``model-tiny_net-py`` (a repeat gets ``-2``, …)."""
    seen: dict[str, int] = {}
    ids = []
    for model in models:
        stem = "model-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", model.name).strip("-") or "model")
        seen[stem] = seen.get(stem, 0) + 1
        ids.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return ids
