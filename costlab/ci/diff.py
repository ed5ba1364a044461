"""Compare two profiles (the JSON of ``costlab profile -o FILE.json``): totals, and layer by layer.

Layers are matched by name (a module called twice is matched call by call: ``name``, ``name#2``);
a layer only in the new profile is "added", only in the old one "removed". Changed layers come
largest change first. :func:`load_profile` is also how ``costlab check`` reads a baseline, so a
corrupted or foreign file gets the same one-line error everywhere, and is never rewritten.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costlab.ci.budgets import METRICS
from costlab.cost.costs import RENAMED
from costlab.errors import CostlabError
from costlab.units import finite_number, shapes_text

__all__ = [
    "DIFF_METRICS",
    "LayerChange",
    "Profile",
    "ProfileDiff",
    "ProfileFileError",
    "TotalChange",
    "diff_profiles",
    "load_profile",
]

DIFF_METRICS = METRICS
"""What is compared, in totals and per layer: params, MACs, FLOPs and bytes accessed (the budgeted columns)."""

SCHEMA_VERSIONS = (1, 2)
"""Profiles this costlab reads: version 1 called ``bytes_accessed`` ``mac_bytes``; it is read under the new name."""


class ProfileFileError(CostlabError):
    """A profile JSON that cannot be used: not JSON, not a costlab profile, or another schema version."""


@dataclass(frozen=True)
class Profile:
    """What a profile file says: the model, its inputs, its totals and its layers (as written)."""

    path: Path
    model: str
    input_shapes: tuple[tuple[int, ...], ...]
    totals: Mapping[str, float]
    layers: tuple[Mapping[str, Any], ...]


REGENERATE = "regenerate it with `costlab profile MODEL -o FILE.json`"


def load_profile(path: Path, *, fix: str = REGENERATE) -> Profile:
    """Read and check a ``costlab profile -o FILE.json`` file; :class:`ProfileFileError` names what is
    wrong, then ``fix`` says what to do."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileFileError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ProfileFileError(f"{path}: nested too deeply to be a costlab profile: {fix}") from None
    except json.JSONDecodeError as err:
        raise ProfileFileError(f"{path}: not valid JSON (line {err.lineno} column {err.colno}: {err.msg}): {fix}") from None
    if not isinstance(data, dict) or "totals" not in data or "schema_version" not in data:
        raise ProfileFileError(f"{path}: not a costlab profile (no schema_version and totals): {fix}")
    if data["schema_version"] not in SCHEMA_VERSIONS or isinstance(data["schema_version"], bool):
        versions = " and ".join(map(str, SCHEMA_VERSIONS))
        raise ProfileFileError(f"{path}: schema_version {data['schema_version']!r}, this costlab reads {versions}: {fix}")
    if data["schema_version"] == 1:
        data = _upgrade(data)
    totals = data["totals"]
    if not isinstance(totals, dict) or not all(_is_number(totals.get(m)) for m in DIFF_METRICS):
        raise ProfileFileError(f"{path}: totals must hold numbers for {', '.join(DIFF_METRICS)}: {fix}")
    layers = data.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(row, dict) and isinstance(row.get("name"), str) for row in layers):
        raise ProfileFileError(f"{path}: layers must be a list of rows with a name: {fix}")
    shapes = data.get("input_shapes", [])
    if not isinstance(shapes, list) or not all(isinstance(s, list) and all(isinstance(d, int) for d in s) for s in shapes):
        raise ProfileFileError(f"{path}: input_shapes must be a list of shapes: {fix}")
    return Profile(
        path=path,
        model=str(data.get("model", "?")),
        input_shapes=tuple(tuple(s) for s in shapes),
        totals={m: totals[m] for m in DIFF_METRICS},
        layers=tuple(layers),
    )


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A schema 1 profile under schema 2's names (``mac_bytes`` → ``bytes_accessed``)."""

    def renamed(row: Any) -> Any:
        return {RENAMED.get(k, k): v for k, v in row.items()} if isinstance(row, dict) else row

    layers = data.get("layers", [])
    return {
        **data,
        "totals": renamed(data["totals"]),
        "layers": [renamed(row) for row in layers] if isinstance(layers, list) else layers,
    }


_is_number = finite_number


@dataclass(frozen=True)
class TotalChange:
    """One total, old and new: ``delta = new - old``; ``ratio = new / old - 1`` (None when old is 0)."""

    metric: str
    old: float
    new: float

    @property
    def delta(self) -> float:
        return self.new - self.old

    @property
    def ratio(self) -> float | None:
        if self.old == 0:
            return None if self.new == 0 else math.inf
        return self.new / self.old - 1


@dataclass(frozen=True)
class LayerChange:
    """One layer that differs: ``status`` is "changed", "added" or "removed"; missing sides count as 0."""

    name: str
    type: str
    status: str
    old: Mapping[str, float]
    new: Mapping[str, float]

    def delta(self, metric: str) -> float:
        return self.new.get(metric, 0.0) - self.old.get(metric, 0.0)


@dataclass(frozen=True)
class ProfileDiff:
    """Two profiles compared: total changes, and the changed layers largest change first."""

    old: Profile
    new: Profile
    totals: tuple[TotalChange, ...]
    layers: tuple[LayerChange, ...]
    unchanged_layers: int
    sort_metric: str

    def over(self, max_increase: float) -> tuple[TotalChange, ...]:
        """Totals that grew by more than ``max_increase`` (a fraction: 0.05 = +5%); decreases never count."""
        return tuple(t for t in self.totals if t.ratio is not None and t.ratio > max_increase)

    @property
    def notes(self) -> tuple[str, ...]:
        """What makes the comparison less direct (other model, other input shapes)."""
        notes = []
        if self.old.model != self.new.model:
            notes.append(f"comparing two models: {self.old.model} and {self.new.model}")
        if self.old.input_shapes != self.new.input_shapes:
            shapes = [shapes_text(p.input_shapes, ",") for p in (self.old, self.new)]
            notes.append(f"the inputs differ: {shapes[0]} and {shapes[1]}")
        return tuple(notes)


def diff_profiles(old: Profile, new: Profile, sort: str = "macs") -> ProfileDiff:
    """Compare ``old`` with ``new``; changed layers sorted by the size of their ``sort`` change, then the rest."""
    if sort not in DIFF_METRICS:
        raise CostlabError(f"cannot sort by {sort!r}: one of {', '.join(DIFF_METRICS)}")
    totals = tuple(TotalChange(m, old.totals[m], new.totals[m]) for m in DIFF_METRICS)
    old_rows, new_rows = _keyed(old.layers), _keyed(new.layers)
    changes: list[LayerChange] = []
    unchanged = 0
    for key in [*old_rows, *(k for k in new_rows if k not in old_rows)]:
        before, after = old_rows.get(key), new_rows.get(key)
        status = "removed" if after is None else "added" if before is None else "changed"
        old_numbers, new_numbers = _numbers(before), _numbers(after)
        if status == "changed" and old_numbers == new_numbers:
            unchanged += 1
            continue
        row = after if after is not None else before
        assert row is not None
        changes.append(LayerChange(key, str(row.get("type", "")), status, old_numbers, new_numbers))
    order = (sort, *(m for m in ("bytes_accessed", "macs", "flops", "params") if m != sort))
    changes.sort(key=lambda c: tuple(-abs(c.delta(m)) for m in order))
    return ProfileDiff(old, new, totals, tuple(changes), unchanged, sort)


def _keyed(layers: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Rows by name; the second call of a module is ``name#2``; the model's own row is ``(model)``."""
    seen: Counter[str] = Counter()
    keyed = {}
    for row in layers:
        name = row["name"] or "(model)"
        seen[name] += 1
        keyed[name if seen[name] == 1 else f"{name}#{seen[name]}"] = row
    return keyed


def _numbers(row: Mapping[str, Any] | None) -> dict[str, float]:
    """The compared numbers of a row, as written (ints stay ints in JSON output)."""
    if row is None:
        return {}
    return {m: row[m] for m in DIFF_METRICS if _is_number(row.get(m))}
