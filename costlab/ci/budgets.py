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
    max_bytes_accessed = "180 MB"         # bytes: "12 MB", "1.5 GB", "64 KiB", or a plain number
    baseline = "reports/baselines/mobilenet_v2.json"   # a `costlab profile -o` file, relative to the config
    max_regression = "5%"                 # params, MACs, FLOPs and memory access: at most +5% over it
    lint_fail_level = "warning"           # ShuffleNet V2 guidelines: fail on findings at or above this
    lint_select = ["G1", "G2"]            # optional: only these rules (default: the [lint] table's)
    lint_ignore = ["G3"]                  # optional: rules whose findings are allowed
    max_peak_bytes = "12 GB"              # peak memory (costlab memory), estimated for CUDA
    train = true                          # optional: of a training step (default: inference)
    optimizer = "adam"                    # optional, with train: its state and step too

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

A *predicted* latency needs no timing at all, so it is deterministic in CI: the model is priced by a
calibration of the device (``costlab calibrate``; commit its file and name it to make the check
independent of the runner), never run::

    max_predicted_latency_ms = "40 ms"
    calibration = "reports/calibration-cpu-1t.json"   # optional: else the cached one (calibrated when missing)
    threads = 1                                       # device, batch, threads as above

Every key is checked when the config is read: an unknown key, a bad unit, a missing model or a
negative limit is a :class:`~costlab.config.ConfigError` (exit 2) that names the file, the entry
and the key. :func:`costlab.ci.check.evaluate` then gives one outcome per entry × metric.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costlab.config import Config, ConfigError
from costlab.cost.costs import BUDGETED, COLUMN, renamed_hint
from costlab.cost.memory_report import OPTIMIZERS
from costlab.errors import CostlabError
from costlab.units import QuantityError, parse_quantity

__all__ = [
    "METRICS",
    "Budget",
    "LatencyBudget",
    "Limit",
    "LintBudget",
    "MemoryBudget",
    "PredictedLatencyBudget",
    "load_budgets",
    "shown_path",
]

# ------------------------------------------------------------------------------------------------
# Budgets
# ------------------------------------------------------------------------------------------------

METRICS = tuple(column.key for column in BUDGETED)
"""The static metrics (the Report's totals) a ``max_<metric>`` limit and a baseline compare:
params, MACs, FLOPs and bytes accessed (:data:`costlab.cost.costs.BUDGETED`)."""

LATENCY_MODES = ("relative", "absolute")

_KEYS = (
    "name", "model", "input",
    *(f"max_{metric}" for metric in METRICS),
    "baseline", "max_regression",
    "lint_fail_level", "lint_select", "lint_ignore",
    "latency", "latency_baseline_model", "max_latency_regression", "max_latency_ms", "device", "batch", "threads",
    "max_predicted_latency_ms", "calibration",
    "max_peak_bytes", "train", "optimizer",
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
        return COLUMN[self.metric].unit


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
class PredictedLatencyBudget:
    """At most ``max_ms`` of latency predicted from a calibration (``calibration``: a file; None: the cache's)."""

    max_ms: float
    device: str = "cpu"
    batch: int | None = None
    threads: int | None = None
    calibration: Path | None = None


@dataclass(frozen=True)
class MemoryBudget:
    """The peak memory of a pass (``costlab memory``): inference, or with ``train`` a training step."""

    max_peak_bytes: float
    train: bool = False
    optimizer: str | None = None


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
    predicted: PredictedLatencyBudget | None = None
    memory: MemoryBudget | None = None
    where: str = ""
    """``costlab.toml: [[budget]] #2``: how messages name this entry."""
    file: str | None = None
    line: int | None = None
    """The config file (as shown to the user) and the line of the entry's header, for annotations."""


def load_budgets(config: Config) -> list[Budget]:
    """The checked ``[[budget]]`` entries of ``config``; a :class:`ConfigError` names the first bad key."""
    shown = shown_path(config.path)
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


def shown_path(path: Path | None) -> str:
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
            renamed = renamed_hint(key)
            if renamed is not None:
                raise ConfigError(f"{where}: {renamed}")
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            raise ConfigError(f'{where}: unknown key "{key}" ({hint}allowed: {", ".join(_KEYS)})')
    if "model" not in table:
        raise ConfigError(f'{where}: missing key "model" (a zoo name, file.py[:NAME], or torchvision:NAME)')
    model = _text(table, "model", where)
    name = _text(table, "name", where) if "name" in table else model
    input_text = _input(table, where)

    limits = tuple(
        Limit(metric, _quantity(table, f"max_{metric}", COLUMN[metric].budget or "count", where))
        for metric in METRICS
        if f"max_{metric}" in table
    )
    baseline, max_regression = _baseline(table, where, base)
    lint = _lint(table, where)
    latency = _latency(table, where)
    predicted = _predicted(table, where, base)
    memory = _memory(table, where)
    if not (limits or baseline or lint or latency or predicted or memory):
        raise ConfigError(
            f"{where}: nothing to check for {name!r}: add {', '.join(f'max_{m}' for m in METRICS)}, "
            "baseline + max_regression, lint_fail_level, max_peak_bytes, or a latency budget"
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
        predicted=predicted,
        memory=memory,
        where=where,
        file=shown_path(config.path) if config.path is not None else None,
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
    return Path(shown_path(full)), _quantity(table, "max_regression", "percent", where)


def _lint(table: Mapping[str, Any], where: str) -> LintBudget | None:
    if not any(key in table for key in ("lint_fail_level", "lint_select", "lint_ignore")):
        return None
    from costlab.rules import SEVERITIES

    level = table.get("lint_fail_level")
    if level is not None and level not in SEVERITIES:
        raise ConfigError(f"{where} lint_fail_level: one of {', '.join(SEVERITIES)}, not {level!r}")

    def rules(key: str) -> tuple[str, ...] | None:
        if key not in table:
            return None
        from costlab.rules import parse_rule_list

        return parse_rule_list(table[key], f"{where} {key}")

    return LintBudget(level, rules("lint_select"), rules("lint_ignore"))


def _predicted(table: Mapping[str, Any], where: str, base: Path) -> PredictedLatencyBudget | None:
    if "max_predicted_latency_ms" not in table:
        if "calibration" in table:
            raise ConfigError(f"{where} calibration: applies to max_predicted_latency_ms only")
        return None
    calibration = None
    if "calibration" in table:
        calibration = Path(_text(table, "calibration", where))
        calibration = calibration if calibration.is_absolute() else base / calibration
    return PredictedLatencyBudget(
        _quantity(table, "max_predicted_latency_ms", "ms", where),
        _text(table, "device", where) if "device" in table else "cpu",
        _positive_int(table, "batch", where),
        _positive_int(table, "threads", where),
        calibration,
    )


def _memory(table: Mapping[str, Any], where: str) -> MemoryBudget | None:
    if "max_peak_bytes" not in table:
        for key in ("train", "optimizer"):
            if key in table:
                raise ConfigError(f'{where} {key}: applies to a memory budget only; add max_peak_bytes (e.g. "12 GB")')
        return None
    train = table.get("train", False)
    if not isinstance(train, bool):
        raise ConfigError(f"{where} train: true or false, not {train!r}")
    optimizer = table.get("optimizer")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise ConfigError(f"{where} optimizer: one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    if optimizer is not None and not train:
        raise ConfigError(f"{where} optimizer: an optimizer steps after a backward: add train = true")
    return MemoryBudget(_quantity(table, "max_peak_bytes", "bytes", where), train, optimizer)


def _latency(table: Mapping[str, Any], where: str) -> LatencyBudget | None:
    if not any(key in table for key in _LATENCY_KEYS):
        if "max_predicted_latency_ms" in table:
            return None
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
