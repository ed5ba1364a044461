"""The Report: what a model costs, op by op, module by module, and in total.

A :class:`Report` keeps the raw records of a capture (every op, every module call) and derives
everything else from them: per-layer rows at any depth, totals, a breakdown by category. Totals
are sums over ops, so every op is counted exactly once; a module called twice appears twice,
its parameters once. Renderers and lint rules read a Report; they never recompute a cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

from costlab.cost.capture import OpRecord
from costlab.cost.categories import CATEGORIES, Category, is_op
from costlab.cost.costs import COLUMNS, Costs, place_dict
from costlab.cost.tracker import ModuleCall
from costlab.load.sites import Site
from costlab.units import shape_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCHEMA_VERSION", "LayerRecord", "Report", "Totals", "costs_dict", "layer_dict"]

SCHEMA_VERSION = 2
"""Version 2 renamed ``mac_bytes`` to ``bytes_accessed``; ``costlab check`` and ``diff`` still read 1."""

Totals = Costs
"""The whole model's :class:`~costlab.cost.costs.Costs` (``Report.totals``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerRecord(Costs):
    """One row: the ops that ran inside one module call (rolled up to a depth), and their costs."""

    name: str
    type: str
    depth: int
    call: int
    output_shape: tuple[int, ...] | None
    categories: tuple[str, ...] = ()
    """The kinds of op the row runs, heaviest first (most FLOPs, then bytes): ``categories[0]`` is
    the kind it is shown as (:func:`costlab.cost.categories.row_kind`)."""


_FIELDS = tuple(f.name for f in fields(Costs))


def _op_values(op: OpRecord) -> tuple[int, ...]:
    """One op's contribution to each field of :class:`Costs`, in field order (params come from calls)."""
    cost = op.cost
    elementwise = cost.category == Category.ELEMENTWISE
    values = {
        "macs": cost.macs,
        "flops": cost.flops,
        "bytes_read": cost.bytes_read,
        "bytes_written": cost.bytes_written,
        "elementwise_ops": int(elementwise),
        "elementwise_elems": math.prod(op.output_shapes[0]) if elementwise and op.output_shapes else 0,
        "ops": int(is_op(cost.category, cost.bytes_accessed)),
    }
    return tuple(values.get(name, 0) for name in _FIELDS)


def _param_values(call: ModuleCall) -> tuple[int, ...]:
    values = {"params": call.params, "param_bytes": call.param_bytes}
    return tuple(values.get(name, 0) for name in _FIELDS)


_OPS = _FIELDS.index("ops")


def _heaviest_first(kinds: dict[str, list[int]]) -> tuple[str, ...]:
    """A row's kinds, most FLOPs first, then most bytes (a data-movement row has no FLOPs)."""
    return tuple(sorted(kinds, key=lambda kind: (-kinds[kind][0], -kinds[kind][1], kind)))


@dataclass
class Report:
    """What a model costs. Build one with :func:`costlab.profile`."""

    model: str
    input_shapes: list[tuple[int, ...]]
    dtype: str
    captured_on: str
    ops: list[OpRecord]
    calls: list[ModuleCall]
    params: int
    param_bytes: int
    unsupported_ops: dict[str, int]
    uncalled_modules: list[str]
    notes: list[str] = field(default_factory=list)
    source_file: str | None = None
    sites: dict[str, tuple[Site, ...]] = field(default_factory=dict, repr=False)
    """Where each module (by qualified name) was built, innermost call first, when costlab built the
    model with :func:`costlab.load.sites.wanted` (lint asks for it); empty otherwise."""
    train: bool = False
    """A training step (``profile --train``): the forward's ops and the backward's (``OpRecord.backward``)."""

    @cached_property
    def _op_values(self) -> list[tuple[int, ...]]:
        return [_op_values(op) for op in self.ops]

    # -- rows ---------------------------------------------------------------------------------

    def layers(self, depth: int | None = None) -> list[LayerRecord]:
        """One row per module call at ``depth`` (None: the innermost modules), in execution order.

        Each op lands in exactly one row: that of its innermost module, or of the ancestor at
        ``depth`` when the module is deeper. A module's own ops (a residual ``x + y`` written in its
        forward) form its own row, beside its children's rows. So the rows add up to the totals.
        """
        members: dict[int, list[tuple[int, ...]]] = {}  # row → the field values of what it holds
        kinds: dict[int, dict[str, list[int]]] = {}  # row → kind → [FLOPs, bytes]
        first_op: dict[int, int] = {}
        row_of: list[int] = []
        for call in self.calls:
            key = row_of[call.parent] if depth is not None and call.depth > depth and call.parent is not None else call.index
            row_of.append(key)
            if call.params:
                members.setdefault(key, []).append(_param_values(call))
        for op, values in zip(self.ops, self._op_values):
            key = row_of[op.call] if self.calls else 0
            members.setdefault(key, []).append(values)
            first_op.setdefault(key, op.index)
            if values[_OPS]:  # a kernel that runs, not a view or an allocation
                weight = kinds.setdefault(key, {}).setdefault(op.cost.category, [0, 0])
                weight[0] += op.cost.flops
                weight[1] += op.cost.bytes_accessed

        def order(key: int) -> int:
            return first_op[key] if key in first_op else self.calls[key].op_start

        records = []
        for key in sorted(members, key=order):
            sums, call = dict(zip(_FIELDS, map(sum, zip(*members[key])))), self.calls[key]
            if sums["ops"] == 0 and sums["params"] == 0 and sums["macs"] == 0:
                continue  # only views: nothing to show
            records.append(
                LayerRecord(
                    **sums,
                    name=call.name,
                    type=call.type,
                    depth=call.depth,
                    call=call.index,
                    output_shape=call.output_shapes[0] if call.output_shapes else None,
                    categories=_heaviest_first(kinds.get(key, {})),
                )
            )
        return records

    def row_of_calls(self, rows: Iterable[LayerRecord]) -> list[int | None]:
        """For each module call, the row of ``rows`` (by ``call``) it is rolled into: itself, or its
        nearest ancestor with a row; None when no ancestor has one."""
        row_calls = {row.call for row in rows}
        row_of: list[int | None] = []
        for call in self.calls:
            if call.index in row_calls:
                row_of.append(call.index)
            else:
                row_of.append(row_of[call.parent] if call.parent is not None else None)
        return row_of

    # -- totals -------------------------------------------------------------------------------

    @cached_property
    def totals(self) -> Costs:
        """Whole-model sums over the ops (computed once: a Report does not change after capture)."""
        sums = dict(zip(_FIELDS, map(sum, zip(*self._op_values))))
        return Costs(**{**sums, "params": self.params, "param_bytes": self.param_bytes})

    def phases(self) -> dict[str, dict[str, int]]:
        """MACs, FLOPs, bytes accessed and ops of the forward and of the backward (a training step)."""
        keys = ("macs", "flops", "bytes_read", "bytes_written", "ops")
        out = {phase: dict.fromkeys(keys, 0) for phase in ("forward", "backward")}
        for op, values in zip(self.ops, self._op_values):
            entry = out["backward" if op.backward else "forward"]
            for key in keys:
                entry[key] += values[_FIELDS.index(key)]
        for entry in out.values():
            entry["bytes_accessed"] = entry.pop("bytes_read") + entry.pop("bytes_written")
        return out

    def by_category(self) -> dict[str, dict[str, int]]:
        """Ops, MACs, FLOPs and bytes accessed per kind of op, in the taxonomy's order
        (:data:`~costlab.cost.categories.CATEGORIES`); views and bare allocations are not ops."""
        out: dict[str, dict[str, int]] = {}
        for op, values in zip(self.ops, self._op_values):
            if not values[_OPS]:
                continue
            entry = out.setdefault(op.cost.category, {"ops": 0, "macs": 0, "flops": 0, "bytes_accessed": 0})
            entry["ops"] += 1
            entry["macs"] += op.cost.macs
            entry["flops"] += op.cost.flops
            entry["bytes_accessed"] += op.cost.bytes_accessed
        return {kind: out[kind] for kind in (*CATEGORIES, *sorted(set(out) - set(CATEGORIES))) if kind in out}

    # -- export -------------------------------------------------------------------------------

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The JSON contract (``schema_version`` 2); see the README."""
        data = {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "dtype": self.dtype,
            "captured_on": self.captured_on,
            "totals": costs_dict(self.totals),
            "by_category": self.by_category(),
            "layers": [layer_dict(row) for row in self.layers(depth)],
            "unsupported_ops": dict(self.unsupported_ops),
            "uncalled_modules": list(self.uncalled_modules),
            "notes": list(self.notes),
        }
        if self.train:  # only a training step's JSON has these: a forward's stays as it always was
            data["train"] = True
            data["phases"] = self.phases()
        return data

    def to_json(self, depth: int | None = None) -> str:
        """:meth:`to_dict` as the text ``costlab profile -f json`` writes (and baselines hold)."""
        import json

        return json.dumps(self.to_dict(depth), indent=2) + "\n"

    def to_dataframe(self, depth: int | None = None) -> pd.DataFrame:
        """Per-layer rows as a pandas DataFrame: name, type, depth, output shape, then every column."""
        import pandas as pd

        rows = [layer_dict(row) for row in self.layers(depth)]
        names = ["name", "type", "depth", "output_shape", *(c.key for c in COLUMNS)]
        frame = pd.DataFrame(rows, columns=names)
        frame["output_shape"] = frame["output_shape"].map(lambda s: shape_text(s) if s else "")
        return frame


def costs_dict(costs: Costs) -> dict[str, Any]:
    """Every column of ``costs``, by key (the JSON ``totals`` object)."""
    return {column.key: getattr(costs, column.key) for column in COLUMNS}


def layer_dict(row: LayerRecord) -> dict[str, Any]:
    """One row of the JSON ``layers`` list."""
    return {**place_dict(row), **costs_dict(row), "categories": list(row.categories)}
