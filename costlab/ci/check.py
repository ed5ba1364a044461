"""``costlab check``: every budget of the config evaluated — counted, linted, compared, timed.

:func:`evaluate` profiles each entry's model once, then gives one :class:`Outcome` per entry ×
metric: absolute limits, the regression against a committed baseline, lint findings, latency
(relative to a model timed in the same run, or absolute). Baseline files to rewrite
(``--update-baseline``) come back as :class:`BaselineUpdate` records for the caller to write, after
every entry was read and checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costlab.ci.budgets import METRICS, Budget, Limit, shown_path
from costlab.config import Config
from costlab.cost.costs import COLUMN
from costlab.errors import CostlabError
from costlab.units import format_delta, format_quantity, shapes_text

if TYPE_CHECKING:
    from costlab.ci.diff import Profile
    from costlab.cost.report import Report

__all__ = ["STATUSES", "BaselineUpdate", "CheckResult", "Outcome", "evaluate"]

STATUSES = ("ok", "breach", "skipped")
"""An outcome is within its limit, over it, or could not be measured here (with the reason)."""




@dataclass(frozen=True)
class Outcome:
    """One entry × metric: what was measured, the limit, how far from its reference, and the verdict.

    ``delta`` is ``value / reference - 1``: the reference is the limit itself for an absolute limit
    (``basis="limit"``), the baseline file's number for ``basis="baseline"``, and the reference
    model's latency for ``basis="latency_baseline_model"``. ``message`` is the line a user reads:
    ``mobilenet_v2: macs 318.4 M > 300 M (+6.1%)``.
    """

    entry: str
    metric: str
    value: float | None
    limit: float | None
    delta: float | None
    status: str
    message: str
    unit: str = ""
    basis: str = "limit"
    reference: float | None = None
    file: str | None = None
    line: int | None = None

    @property
    def breached(self) -> bool:
        return self.status == "breach"


@dataclass(frozen=True)
class BaselineUpdate:
    """A baseline file to (re)write with ``--update-baseline``: its new text, and what it replaces."""

    entry: str
    path: Path
    text: str
    new_totals: Mapping[str, float]
    old_totals: Mapping[str, float] | None = None
    protected: tuple[Path, ...] = ()
    """Files the new baseline must never overwrite (the model's source)."""


@dataclass(frozen=True)
class CheckResult:
    """Every outcome of one ``costlab check`` run, in config order, and the notes for stderr."""

    config: str
    outcomes: tuple[Outcome, ...]
    updates: tuple[BaselineUpdate, ...] = ()
    notes: tuple[str, ...] = ()
    entries: int = 0

    @property
    def breaches(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.breached)

    @property
    def passed(self) -> bool:
        return not self.breaches

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        """``5 budgets, 23 checks: 22 ok, 1 breach, 0 skipped`` (``2 breaches``)."""
        checks = len(self.outcomes)
        counts = ", ".join(f"{self.count(s)} {s}{'es' * (s == 'breach' and self.count(s) != 1)}" for s in STATUSES)
        return f"{self.entries} budget{'s' * (self.entries != 1)}, {checks} check{'s' * (checks != 1)}: {counts}"


def _measure_latency_ms(entry: Budget) -> float:
    """The median latency, in ms, of ``entry.model`` at ``entry.input`` on the entry's device/batch/threads."""
    from costlab.timing.measure import measure_latency

    assert entry.latency is not None
    latency = entry.latency
    measured = measure_latency(
        entry.model, entry.input, device=latency.device, batch=latency.batch, threads=latency.threads
    )
    return measured.median_ms


def evaluate(budgets: Sequence[Budget], config: Config, *, update_baselines: bool = False) -> CheckResult:
    """Profile, lint, compare and time every entry; one :class:`Outcome` per entry × metric.

    With ``update_baselines`` every entry with a ``baseline`` gets a :class:`BaselineUpdate` (the
    caller writes them) and is compared with its new numbers. An unreadable old baseline is an
    error either way: it may not be a baseline at all, so it is never overwritten. Problems with a
    model, its input or a baseline raise a CostlabError that names the entry (exit 2).
    """
    reports: dict[tuple[str, str | None], Report] = {}
    latencies: dict[tuple[Any, ...], float] = {}
    outcomes: list[Outcome] = []
    updates: list[BaselineUpdate] = []
    notes: list[str] = []
    for budget in budgets:
        key = (budget.model, budget.input)
        if key not in reports:
            reports[key] = _profile(budget)
            notes += [f"{budget.name}: {note}" for note in reports[key].notes]
            if reports[key].unsupported_ops:
                listed = ", ".join(f"{op} ×{n}" for op, n in sorted(reports[key].unsupported_ops.items()))
                notes.append(f"{budget.name}: no cost formula for {listed}: counted as zero")
        report = reports[key]
        totals = {metric: float(getattr(report.totals, metric)) for metric in METRICS}
        outcomes += [_limit_outcome(budget, limit, totals[limit.metric]) for limit in budget.limits]
        if budget.baseline is not None:
            new_outcomes, update = _baseline_outcomes(budget, report, totals, update_baselines)
            outcomes += new_outcomes
            if update is not None:
                updates.append(update)
        if budget.lint is not None:
            outcomes.append(_lint_outcome(budget, report, config))
        if budget.latency is not None:
            outcomes.append(_latency_outcome(budget, latencies))
        if budget.predicted is not None:
            outcomes.append(_predicted_outcome(budget))
        if budget.memory is not None:
            outcomes.append(_memory_outcome(budget))
    return CheckResult(shown_path(config.path), tuple(outcomes), tuple(updates), tuple(notes), len(budgets))


def _profile(budget: Budget) -> Report:
    from costlab.cost.profile import profile

    try:
        return profile(budget.model, budget.input)
    except CostlabError as err:
        raise type(err)(f"{budget.where} ({budget.name}): {err}") from None


def _outcome(budget: Budget, metric: str, **fields: Any) -> Outcome:
    return Outcome(entry=budget.name, metric=metric, file=budget.file, line=budget.line, **fields)


def _limit_outcome(budget: Budget, limit: Limit, value: float) -> Outcome:
    unit = limit.unit
    delta = value / limit.max_value - 1 if limit.max_value else (math.inf if value else 0.0)
    over = value > limit.max_value
    shown = f"{budget.name}: {limit.metric} {format_quantity(value, unit)} {'>' if over else '≤'} "
    shown += f"{format_quantity(limit.max_value, unit)} ({format_delta(delta)})"
    return _outcome(
        budget, limit.metric, value=value, limit=limit.max_value, delta=delta,
        status="breach" if over else "ok", message=shown, unit=unit, reference=limit.max_value,
    )


def _baseline_outcomes(
    budget: Budget, report: Report, totals: Mapping[str, float], update: bool
) -> tuple[list[Outcome], BaselineUpdate | None]:
    from costlab.ci.diff import ProfileFileError, load_profile

    assert budget.baseline is not None and budget.max_regression_fraction is not None
    path = budget.baseline
    old: Profile | None = None
    if path.exists() or not update:
        if not path.exists():
            raise CostlabError(
                f"{budget.where} baseline: {path} does not exist: create it with "
                "`costlab check --update-baseline` (or `costlab profile MODEL -o FILE.json`)"
            )
        try:
            old = load_profile(path, fix=_KEEP)
        except ProfileFileError as err:
            raise ProfileFileError(f"{budget.where} baseline: {err}") from None
        shapes = [list(s) for s in report.input_shapes]
        if not update and [list(s) for s in old.input_shapes] != shapes:
            raise CostlabError(
                f"{budget.where} baseline: {path} was profiled at {_shapes(old.input_shapes)}, the entry "
                f"runs at {_shapes(shapes)}: fix input, or accept the new numbers with --update-baseline"
            )
    pending = None
    compare = dict(old.totals) if old is not None else {}
    if update:
        pending = BaselineUpdate(
            budget.name, path, report.to_json(), dict(totals),
            dict(old.totals) if old is not None else None,
            (Path(report.source_file),) if report.source_file else (),
        )
        compare = dict(totals)
    outcomes = []
    for metric in METRICS:
        unit = COLUMN[metric].unit
        reference = float(compare[metric])
        value = totals[metric]
        limit = reference * (1 + budget.max_regression_fraction)
        delta = value / reference - 1 if reference else (math.inf if value else 0.0)
        over = value > limit
        allowed = format_delta(budget.max_regression_fraction).replace(".0%", "%")
        message = (
            f"{budget.name}: {metric} {format_quantity(value, unit)} {'>' if over else '≤'} {format_quantity(limit, unit)} "
            f"({format_delta(delta)} vs baseline {format_quantity(reference, unit)}, allowed {allowed})"
        )
        outcomes.append(
            _outcome(
                budget, metric, value=value, limit=limit, delta=delta, status="breach" if over else "ok",
                message=message, unit=unit, basis="baseline", reference=reference,
            )
        )
    return outcomes, pending


_KEEP = "costlab leaves it as it is: fix the baseline path, or delete the file and run `costlab check --update-baseline`"


def _shapes(shapes: Sequence[Sequence[int]]) -> str:
    return shapes_text(shapes, ",")


def _lint_outcome(budget: Budget, report: Report, config: Config) -> Outcome:
    from costlab.rules import lint, settings_from_config, severity_rank

    assert budget.lint is not None
    settings = settings_from_config(
        config, select=budget.lint.select, ignore=budget.lint.ignore, fail_level=budget.lint.fail_level
    )
    result = lint(report, settings=settings)
    floor = severity_rank(settings.fail_level)
    failing = [f for f in result.findings if severity_rank(f.severity) >= floor]
    below = len(result.findings) - len(failing)
    counts = ", ".join(f"{rule} {n} {severity}" for (rule, severity), n in sorted(result.counts.items()))
    if failing:
        noun = "finding" if len(failing) == 1 else "findings"
        message = f"{budget.name}: lint {len(failing)} {noun} at or above {settings.fail_level}, allowed 0 ({counts})"
    else:
        rest = f" ({below} below: {counts})" if below else ""
        message = f"{budget.name}: lint 0 findings at or above {settings.fail_level}{rest}"
    return _outcome(
        budget, "lint", value=float(len(failing)), limit=0.0, delta=None,
        status="breach" if failing else "ok", message=message, unit="findings", basis="lint",
    )


def _memory_outcome(budget: Budget) -> Outcome:
    from costlab.cost.memory import memory

    limits = budget.memory
    assert limits is not None
    try:
        value = float(memory(budget.model, budget.input, train=limits.train, optimizer=limits.optimizer).peak_bytes)
    except CostlabError as err:
        raise type(err)(f"{budget.where} ({budget.name}) memory: {err}") from None
    limit = limits.max_peak_bytes
    delta = value / limit - 1 if limit else (math.inf if value else 0.0)
    over = value > limit
    what = "inference" if not limits.train else "training" + (f" + {limits.optimizer}" if limits.optimizer else "")
    message = (f"{budget.name}: peak_bytes {format_quantity(value, 'B')} {'>' if over else '≤'} "
               f"{format_quantity(limit, 'B')} ({format_delta(delta)}) [{what}]")
    return _outcome(budget, "peak_bytes", value=value, limit=limit, delta=delta, status="breach" if over else "ok",
                    message=message, unit="B", reference=limit)


def _latency_outcome(budget: Budget, cache: dict[tuple[Any, ...], float]) -> Outcome:
    latency = budget.latency
    assert latency is not None

    def measured(entry: Budget) -> float:
        key = (entry.model, entry.input, latency.device, latency.batch, latency.threads)
        if key not in cache:
            cache[key] = _measure_latency_ms(entry)
        return cache[key]

    try:
        if latency.mode == "absolute":
            assert latency.max_latency_ms is not None
            value = measured(budget)
            reference = limit = latency.max_latency_ms
            against = ""
        else:
            assert latency.baseline_model is not None and latency.max_regression_fraction is not None
            reference_entry = replace(budget, name=latency.baseline_model, model=latency.baseline_model, limits=(),
                                      baseline=None, lint=None, where="", file=None, line=None)
            reference = measured(reference_entry)
            value = measured(budget)
            limit = reference * (1 + latency.max_regression_fraction)
            allowed = format_delta(latency.max_regression_fraction).replace(".0%", "%")
            against = f" vs {latency.baseline_model} {format_quantity(reference, 'ms')}, allowed {allowed}"
    except CostlabError as err:
        raise type(err)(f"{budget.where} ({budget.name}) latency: {err}") from None
    delta = value / reference - 1 if reference else (math.inf if value else 0.0)
    over = value > limit
    message = (
        f"{budget.name}: latency_ms {format_quantity(value, 'ms')} {'>' if over else '≤'} "
        f"{format_quantity(limit, 'ms')} ({format_delta(delta)}{against})"
    )
    if latency.device != "cpu" or latency.batch or latency.threads:
        options = [f"{k} {v}" for k, v in (("device", latency.device), ("batch", latency.batch),
                                              ("threads", latency.threads)) if v and not (k == "device" and v == "cpu")]
        message += f" [{', '.join(options)}]"
    return _outcome(
        budget, "latency_ms", value=value, limit=limit, delta=delta, status="breach" if over else "ok",
        message=message, unit="ms", basis="limit" if latency.mode == "absolute" else "latency_baseline_model",
        reference=reference,
    )



def _predicted_outcome(budget: Budget) -> Outcome:
    """The entry's latency predicted from a calibration (its file, or the cache's): nothing is timed."""
    import torch

    from costlab.cost.predict import predict_latency
    from costlab.cost.profile import profile
    from costlab.load import as_source, example_inputs_for
    from costlab.timing.calibrations import find_calibration, read_calibration

    predicted = budget.predicted
    assert predicted is not None
    try:
        example = example_inputs_for(as_source(budget.model), budget.input).with_batch(predicted.batch)
        report = profile(budget.model, inputs=example)
        if predicted.calibration is not None:
            calibration = read_calibration(predicted.calibration)
        else:
            threads = predicted.threads if predicted.threads is not None else torch.get_num_threads()
            calibration, _ = find_calibration(predicted.device, report.dtype, threads)
        value = predict_latency(report, calibration).predicted_ms
    except CostlabError as err:
        raise type(err)(f"{budget.where} ({budget.name}) predicted latency: {err}") from None
    limit = predicted.max_ms
    over = value > limit
    delta = value / limit - 1
    message = (
        f"{budget.name}: predicted_latency_ms {format_quantity(value, 'ms')} {'>' if over else '≤'} "
        f"{format_quantity(limit, 'ms')} ({format_delta(delta)}) [{calibration.label}]"
    )
    return _outcome(budget, "predicted_latency_ms", value=value, limit=limit, delta=delta,
                    status="breach" if over else "ok", message=message, unit="ms", basis="limit", reference=limit)
