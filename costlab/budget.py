"""The CI gate: budgets on what a model costs, read from the committed config and checked.

Budgets are an array of tables, ``[[budget]]`` in ``costlab.toml`` or ``[[tool.costlab.budget]]``
in ``pyproject.toml``::

    [[budget]]
    name = "mobilenet_v2"                 # optional; defaults to the model spec
    model = "mobilenet_v2"                # zoo name, file.py[:NAME], torchvision:NAME, timm:NAME
    input = "1x3x224x224"                 # optional for zoo models and files with INPUT_SHAPE
    max_params = "3.6M"                   # counts: plain numbers or "350M", "1.2G", "3.6M"
    max_macs = "310M"
    max_flops = "640M"
    max_mac_bytes = "180 MB"              # bytes: "12 MB", "1.5 GB", "64 KiB", or a plain number
    baseline = "reports/baselines/mobilenet_v2.json"   # a `costlab profile -o` file, relative to the config
    max_regression = "5%"                 # params, MACs, FLOPs and memory access: at most +5% over it
    lint_fail_level = "warning"           # ShuffleNet V2 guidelines: fail on findings at or above this
    lint_select = ["G1", "G2"]            # optional: only these rules (default: the [lint] table's)
    lint_ignore = ["G3"]                  # optional: rules whose findings are allowed

Latency is noisy by nature (another process, a turbo clock, a shared CI runner easily move it by
10–30 %), so a latency budget is *relative* by default: the candidate and a reference model are
timed in the same run, on the same machine, and the candidate may be at most N % slower::

    latency_baseline_model = "mobilenet_v2"   # timed in the same run, at the entry's input
    max_latency_regression = "10%"
    device = "cpu"                            # optional: cpu (default), cuda, cuda:1, mps
    batch = 8                                 # optional: replaces the first input dimension
    threads = 4                               # optional: torch intra-op threads (fix it in CI)

An absolute limit in milliseconds only means something on a dedicated, quiet runner whose
hardware never changes; ask for it explicitly::

    latency = "absolute"
    max_latency_ms = "8 ms"                   # plain numbers are milliseconds; "1.5 s", "800 us"

Every key is checked when the config is read: an unknown key, a bad unit, a missing model or a
negative limit is a :class:`~costlab.config.ConfigError` (exit 2) that names the file, the entry
and the key. :func:`evaluate` then gives one :class:`Outcome` per entry × metric.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costlab.config import Config, ConfigError
from costlab.errors import CostlabError
from costlab.render.units import human

if TYPE_CHECKING:
    from costlab.cost.report import Report
    from costlab.diff import Profile

__all__ = [
    "Budget",
    "Limit",
    "LintBudget",
    "LatencyBudget",
    "Outcome",
    "BaselineUpdate",
    "CheckResult",
    "QuantityError",
    "LatencyUnavailable",
    "STATUSES",
    "QUANTITY_KINDS",
    "parse_quantity",
    "format_quantity",
    "format_delta",
    "load_budgets",
    "evaluate",
]

STATUSES = ("ok", "breach", "skipped")
"""An outcome is within its limit, over it, or could not be measured here (with the reason)."""

# ------------------------------------------------------------------------------------------------
# Quantities with units
# ------------------------------------------------------------------------------------------------

QUANTITY_KINDS = ("count", "bytes", "ms", "percent")
"""What a number measures. :func:`parse_quantity` returns counts and bytes as they are,
times in milliseconds, and percentages as fractions (``"5%"`` → 0.05)."""

_SCALES: dict[str, dict[str, Decimal]] = {
    "count": {"": Decimal(1), "k": Decimal(10) ** 3, "K": Decimal(10) ** 3, "M": Decimal(10) ** 6,
              "G": Decimal(10) ** 9, "T": Decimal(10) ** 12},
    "bytes": {"": Decimal(1), "B": Decimal(1),
              "K": Decimal(10) ** 3, "k": Decimal(10) ** 3, "KB": Decimal(10) ** 3, "kB": Decimal(10) ** 3,
              "M": Decimal(10) ** 6, "MB": Decimal(10) ** 6, "G": Decimal(10) ** 9, "GB": Decimal(10) ** 9,
              "T": Decimal(10) ** 12, "TB": Decimal(10) ** 12,
              "KiB": Decimal(2) ** 10, "MiB": Decimal(2) ** 20, "GiB": Decimal(2) ** 30, "TiB": Decimal(2) ** 40},
    "ms": {"": Decimal(1), "ms": Decimal(1), "s": Decimal(1000), "us": Decimal("0.001"), "µs": Decimal("0.001"),
           "ns": Decimal("0.000001")},
    "percent": {"": Decimal(1), "%": Decimal(1)},
}
_WHAT = {"count": "a count", "bytes": "a size in bytes", "ms": "a time", "percent": "a percentage"}
_EXAMPLE = {"count": '"350M"', "bytes": '"12 MB"', "ms": '"8 ms"', "percent": '"5%"'}
_QUANTITY = re.compile(r"\s*(?P<number>[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[^\s\d.+-]*)\s*")


class QuantityError(CostlabError):
    """A number with a unit that cannot be read; the message says what to write instead."""


def parse_quantity(text: str | int | float, kind: str) -> float:
    """Read a number with its unit: counts and bytes as they are, times in ms, percentages as fractions.

    ``kind`` is one of :data:`QUANTITY_KINDS`. Prefixes are decimal (SI), as costlab prints them;
    ``KiB``/``MiB``/``GiB`` are binary. A plain number is taken in the kind's base unit (a count,
    bytes, milliseconds, percent).

    >>> parse_quantity("350M", "count"), parse_quantity("12 MB", "bytes"), parse_quantity("1.5 s", "ms")
    (350000000.0, 12000000.0, 1500.0)
    >>> parse_quantity("5%", "percent"), parse_quantity(7, "percent")
    (0.05, 0.07)
    """
    if kind not in _SCALES:
        raise ValueError(f"unknown quantity kind {kind!r}: one of {', '.join(QUANTITY_KINDS)}")
    shown = f'"{text}"' if isinstance(text, str) else repr(text)
    hint = f"{shown} is not {_WHAT[kind]}; write e.g. {_EXAMPLE[kind]}"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise QuantityError(hint)
    if isinstance(text, (int, float)):
        if isinstance(text, float) and not math.isfinite(text):
            raise QuantityError(hint)
        number, unit = Decimal(str(text)), ""
    else:
        match = _QUANTITY.fullmatch(text)
        if match is None:
            raise QuantityError(hint)
        try:
            number = Decimal(match["number"].replace("_", ""))
        except InvalidOperation:
            raise QuantityError(hint) from None
        unit = match["unit"]
        if unit not in _SCALES[kind]:
            other = next((k for k in QUANTITY_KINDS if k != kind and unit and unit in _SCALES[k]), None)
            if other is not None:
                raise QuantityError(f"{shown} is {_WHAT[other]}, not {_WHAT[kind]}; write e.g. {_EXAMPLE[kind]}")
            raise QuantityError(hint)
    if number < 0:
        raise QuantityError(f"{shown} is negative; a limit is 0 or more, e.g. {_EXAMPLE[kind]}")
    value = number * _SCALES[kind][unit]
    if kind == "percent":
        value /= 100
    return float(value)


def format_quantity(value: float, unit: str = "") -> str:
    """``300e6`` → ``300 M``, ``318.4e6`` → ``318.4 M``, ``12e6, "B"`` → ``12 MB``, ``8.25, "ms"`` → ``8.25 ms``.

    Three significant digits (four from 100 up), trailing zeros dropped, so a limit reads as it was written.
    """
    if unit == "ms":
        digits = 0 if value >= 100 else 1 if value >= 10 else 2
        return f"{_trim(f'{value:.{digits}f}')} ms"
    if unit == "findings":
        return f"{value:.0f}"
    number, _, suffix = human(value, unit).partition(" ")
    return f"{_trim(number)} {suffix}".rstrip() if suffix else _trim(number)


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def format_delta(fraction: float) -> str:
    """``0.0613`` → ``+6.1%``, ``-0.03`` → ``-3.0%``, ``0`` → ``+0.0%``."""
    return f"{fraction * 100:+.1f}%"


# ------------------------------------------------------------------------------------------------
# Budgets
# ------------------------------------------------------------------------------------------------

METRICS: Mapping[str, tuple[str, str]] = {
    "params": ("count", ""),
    "macs": ("count", ""),
    "flops": ("count", ""),
    "mac_bytes": ("bytes", "B"),
}
"""The static metrics (the Report's totals): the kind their limit is parsed as, and their unit."""

LATENCY_MODES = ("relative", "absolute")

_KEYS = (
    "name", "model", "input",
    "max_params", "max_macs", "max_flops", "max_mac_bytes",
    "baseline", "max_regression",
    "lint_fail_level", "lint_select", "lint_ignore",
    "latency", "latency_baseline_model", "max_latency_regression", "max_latency_ms", "device", "batch", "threads",
)
_LATENCY_KEYS = ("latency", "latency_baseline_model", "max_latency_regression", "max_latency_ms")
_LATENCY_OPTIONS = ("device", "batch", "threads")


@dataclass(frozen=True)
class Limit:
    """An absolute limit on one static metric: ``macs <= max_value``."""

    metric: str
    max_value: float

    @property
    def unit(self) -> str:
        return METRICS[self.metric][1]


@dataclass(frozen=True)
class LintBudget:
    """Lint the entry's model: fail on findings at or above ``fail_level`` (None: the [lint] table's)."""

    fail_level: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LatencyBudget:
    """A latency limit and how to measure it.

    ``mode`` ``"relative"``: time ``baseline_model`` in the same run and allow the candidate at most
    ``max_regression_fraction`` (0.1 = 10%) more. ``"absolute"``: at most ``max_latency_ms`` (dedicated runners).
    """

    mode: str
    device: str = "cpu"
    batch: int | None = None
    threads: int | None = None
    max_latency_ms: float | None = None
    baseline_model: str | None = None
    max_regression_fraction: float | None = None


@dataclass(frozen=True)
class Budget:
    """One ``[[budget]]`` entry, checked and with its units resolved."""

    name: str
    model: str
    input: str | None
    limits: tuple[Limit, ...] = ()
    baseline: Path | None = None
    max_regression_fraction: float | None = None
    lint: LintBudget | None = None
    latency: LatencyBudget | None = None
    where: str = ""
    """``costlab.toml: [[budget]] #2``: how messages name this entry."""
    file: str | None = None
    line: int | None = None
    """The config file (as shown to the user) and the line of the entry's header, for annotations."""


def load_budgets(config: Config) -> list[Budget]:
    """The checked ``[[budget]]`` entries of ``config``; a :class:`ConfigError` names the first bad key."""
    shown = _shown(config.path)
    header = f"[[{config.prefix}budget]]"
    raw = config.data.get("budget")
    if raw is None:
        if config.path is None:
            raise ConfigError(
                "no costlab.toml, or pyproject.toml with [tool.costlab], here or above: write one with "
                '[[budget]] entries (e.g. model = "mobilenet_v2", max_macs = "310M"), or pass --config'
            )
        raise ConfigError(f'{shown}: no {header} entries: add one, e.g. {header} model = "mobilenet_v2" max_macs = "310M"')
    if isinstance(raw, dict):
        raise ConfigError(f"{shown}: [{config.prefix}budget] must be an array of tables: write {header} (double brackets)")
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ConfigError(f"{shown}: {config.prefix}budget must be an array of tables, written {header}")
    lines = _header_lines(config)
    base = config.path.parent if config.path is not None else Path.cwd()
    budgets: list[Budget] = []
    seen: dict[str, int] = {}
    for number, table in enumerate(raw, start=1):
        where = f"{shown}: {header} #{number}"
        line = lines[number - 1] if len(lines) == len(raw) else None
        budget = _parse_entry(table, where, base, config, line)
        if budget.name in seen:
            raise ConfigError(
                f"{where} name: {budget.name!r} is already the name of entry #{seen[budget.name]}; "
                'give one of them a name = "..."'
            )
        seen[budget.name] = number
        budgets.append(budget)
    return budgets


def _shown(path: Path | None) -> str:
    """The config path as the user would write it: relative to the working directory when inside it."""
    if path is None:
        return "config"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _header_lines(config: Config) -> list[int]:
    """The 1-based line of each ``[[budget]]`` header, for annotations that point into the config."""
    if config.path is None:
        return []
    try:
        text = config.path.read_text(encoding="utf-8")
    except OSError:
        return []
    parts = [*config.prefix.rstrip(".").split("."), "budget"] if config.prefix else ["budget"]
    pattern = r"^[ \t]*\[\[[ \t]*" + r"[ \t]*\.[ \t]*".join(map(re.escape, parts)) + r"[ \t]*\]\]"
    return [text.count("\n", 0, m.start()) + 1 for m in re.finditer(pattern, text, re.MULTILINE)]


def _parse_entry(table: Mapping[str, Any], where: str, base: Path, config: Config, line: int | None) -> Budget:
    for key in table:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            raise ConfigError(f'{where}: unknown key "{key}" ({hint}allowed: {", ".join(_KEYS)})')
    if "model" not in table:
        raise ConfigError(f'{where}: missing key "model" (a zoo name, file.py[:NAME], or torchvision:NAME)')
    model = _text(table, "model", where)
    name = _text(table, "name", where) if "name" in table else model
    input_text = _input(table, where)

    limits = tuple(
        Limit(metric, _quantity(table, f"max_{metric}", kind, where))
        for metric, (kind, _unit) in METRICS.items()
        if f"max_{metric}" in table
    )
    baseline, max_regression = _baseline(table, where, base)
    lint = _lint(table, where)
    latency = _latency(table, where)
    if not (limits or baseline or lint or latency):
        raise ConfigError(
            f"{where}: nothing to check for {name!r}: add max_params, max_macs, max_flops, max_mac_bytes, "
            "baseline + max_regression, lint_fail_level, or a latency budget"
        )
    return Budget(
        name=name,
        model=_relative_to(model, base),
        input=input_text,
        limits=limits,
        baseline=baseline,
        max_regression_fraction=max_regression,
        lint=lint,
        latency=latency,
        where=where,
        file=_shown(config.path) if config.path is not None else None,
        line=line,
    )


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} {key}: expected a non-empty string, not {value!r}")
    return value.strip()


def _input(table: Mapping[str, Any], where: str) -> str | None:
    if "input" not in table:
        return None
    text = _text(table, "input", where)
    from costlab.load import parse_inputs

    try:
        parse_inputs(text)
    except CostlabError as err:
        raise ConfigError(f"{where} input: {err}") from None
    return text


def _quantity(table: Mapping[str, Any], key: str, kind: str, where: str) -> float:
    try:
        return parse_quantity(table[key], kind)
    except QuantityError as err:
        raise ConfigError(f"{where} {key}: {err}") from None


def _positive_int(table: Mapping[str, Any], key: str, where: str) -> int | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} {key}: expected a positive integer, not {value!r}")
    return value


def _relative_to(model: str, base: Path) -> str:
    """A model file path in the config is relative to the config's folder, wherever costlab runs."""
    match = re.fullmatch(r"(.+\.py)(:[A-Za-z_][A-Za-z0-9_]*)?", model)
    if match is None or Path(match[1]).is_absolute():
        return model
    return str(base / match[1]) + (match[2] or "")


def _baseline(table: Mapping[str, Any], where: str, base: Path) -> tuple[Path | None, float | None]:
    if "baseline" not in table:
        if "max_regression" in table:
            raise ConfigError(f'{where} max_regression: needs a baseline = "reports/baselines/NAME.json" to compare with')
        return None, None
    path = Path(_text(table, "baseline", where))
    if "max_regression" not in table:
        raise ConfigError(f'{where} baseline: add max_regression (e.g. "5%"), how far over the baseline is allowed')
    full = path if path.is_absolute() else base / path
    return Path(_shown(full)), _quantity(table, "max_regression", "percent", where)


def _lint(table: Mapping[str, Any], where: str) -> LintBudget | None:
    if not any(key in table for key in ("lint_fail_level", "lint_select", "lint_ignore")):
        return None
    from costlab.lint.finding import SEVERITIES

    level = table.get("lint_fail_level")
    if level is not None and level not in SEVERITIES:
        raise ConfigError(f"{where} lint_fail_level: one of {', '.join(SEVERITIES)}, not {level!r}")

    def rules(key: str) -> tuple[str, ...] | None:
        if key not in table:
            return None
        from costlab.lint.config import parse_rule_list

        return parse_rule_list(table[key], f"{where} {key}")

    return LintBudget(level, rules("lint_select"), rules("lint_ignore"))


def _latency(table: Mapping[str, Any], where: str) -> LatencyBudget | None:
    if not any(key in table for key in _LATENCY_KEYS):
        for key in _LATENCY_OPTIONS:
            if key in table:
                raise ConfigError(
                    f"{where} {key}: applies to latency budgets only; add latency_baseline_model + "
                    "max_latency_regression (or latency = \"absolute\" + max_latency_ms)"
                )
        return None
    mode = table.get("latency", "relative")
    if mode not in LATENCY_MODES:
        raise ConfigError(f'{where} latency: "relative" (the default) or "absolute", not {mode!r}')
    device = _text(table, "device", where) if "device" in table else "cpu"
    batch = _positive_int(table, "batch", where)
    threads = _positive_int(table, "threads", where)
    if mode == "absolute":
        for key in ("latency_baseline_model", "max_latency_regression"):
            if key in table:
                raise ConfigError(f'{where} {key}: belongs to a relative latency budget, but latency = "absolute"')
        if "max_latency_ms" not in table:
            raise ConfigError(f'{where} latency: "absolute" needs max_latency_ms (e.g. "8 ms")')
        return LatencyBudget(mode, device, batch, threads, max_latency_ms=_quantity(table, "max_latency_ms", "ms", where))
    if "max_latency_ms" in table:
        raise ConfigError(
            f"{where} max_latency_ms: an absolute latency limit only holds on a dedicated, quiet runner; "
            'add latency = "absolute" to mean it, or compare in the same run with latency_baseline_model + '
            "max_latency_regression"
        )
    for key in ("latency_baseline_model", "max_latency_regression"):
        if key not in table:
            raise ConfigError(
                f"{where}: a relative latency budget needs both latency_baseline_model (a model timed in the same "
                f'run) and max_latency_regression (e.g. "10%"); {key} is missing'
            )
    return LatencyBudget(
        mode,
        device,
        batch,
        threads,
        baseline_model=_text(table, "latency_baseline_model", where),
        max_regression_fraction=_quantity(table, "max_latency_regression", "percent", where),
    )


# ------------------------------------------------------------------------------------------------
# Outcomes
# ------------------------------------------------------------------------------------------------


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


class LatencyUnavailable(Exception):
    """Latency cannot be measured here (no timing API yet); the outcome is "skipped" with this reason."""


def _measure_latency_ms(entry: Budget) -> float:
    """The median latency, in ms, of ``entry.model`` at ``entry.input`` on the entry's device/batch/threads.

    The one place the gate meets the timing API. :class:`LatencyUnavailable` when ``costlab.timing``
    has no usable ``measure_latency(model, input_shape, *, device, batch, threads)`` returning an
    object with ``median_ms``.
    """
    import inspect

    assert entry.latency is not None
    try:
        from costlab.timing import measure_latency  # type: ignore[attr-defined]
    except ImportError as err:
        raise LatencyUnavailable(f"costlab.timing has no measure_latency yet ({err})") from None
    options = {"device": entry.latency.device, "batch": entry.latency.batch, "threads": entry.latency.threads}
    try:
        inspect.signature(measure_latency).bind(entry.model, entry.input, **options)
    except (TypeError, ValueError) as err:
        raise LatencyUnavailable(f"costlab.timing.measure_latency does not take (model, input, device, batch, threads): {err}") from None
    measurement = measure_latency(entry.model, entry.input, **options)
    median_ms = getattr(measurement, "median_ms", None)
    if not isinstance(median_ms, (int, float)):
        raise LatencyUnavailable("costlab.timing.measure_latency gave no median_ms")
    return float(median_ms)


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
    return CheckResult(_shown(config.path), tuple(outcomes), tuple(updates), tuple(notes), len(budgets))


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
    from costlab.diff import ProfileFileError, load_profile

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
        from costlab.render.formats import to_json

        pending = BaselineUpdate(
            budget.name, path, to_json(report), dict(totals), dict(old.totals) if old is not None else None,
            (Path(report.source_file),) if report.source_file else (),
        )
        compare = dict(totals)
    outcomes = []
    for metric, (_kind, unit) in METRICS.items():
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
    return ",".join("x".join(str(d) for d in s) for s in shapes)


def _lint_outcome(budget: Budget, report: Report, config: Config) -> Outcome:
    from costlab.lint import lint
    from costlab.lint.config import settings_from_config
    from costlab.lint.finding import severity_rank

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
        message = f"{budget.name}: lint {len(failing)} findings at or above {settings.fail_level}, allowed 0 ({counts})"
    else:
        rest = f" ({below} below: {counts})" if below else ""
        message = f"{budget.name}: lint 0 findings at or above {settings.fail_level}{rest}"
    return _outcome(
        budget, "lint", value=float(len(failing)), limit=0.0, delta=None,
        status="breach" if failing else "ok", message=message, unit="findings", basis="lint",
    )


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
    except LatencyUnavailable as reason:
        return _outcome(
            budget, "latency_ms", value=None, limit=latency.max_latency_ms, delta=None, status="skipped",
            message=f"{budget.name}: latency_ms skipped: {reason}", unit="ms",
            basis="limit" if latency.mode == "absolute" else "latency_baseline_model",
        )
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

