"""The Report: what a model costs, op by op, module by module, and in total.

A :class:`Report` keeps the raw records of a capture (every op, every module call) and derives
everything else from them: per-layer rows at any depth, totals, a breakdown by category. Totals
are sums over ops, so every op is counted exactly once; a module called twice appears twice,
its parameters once. Renderers and lint rules read a Report; they never recompute a cost.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from costlab.cost.capture import ModuleCall, OpRecord
from costlab.cost.formulas import Category

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Totals", "LayerRecord", "Report", "LAYER_FIELDS", "TOTAL_FIELDS"]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Totals:
    """Whole-model sums. ``params`` counts each parameter once, however often its module runs."""

    params: int
    param_bytes: int
    macs: int
    flops: int
    mac_bytes: int
    bytes_read: int
    bytes_written: int
    elementwise_ops: int
    elementwise_elems: int
    ops: int

    @property
    def intensity(self) -> float:
        """FLOP per byte of memory access: the roofline x-axis."""
        return self.flops / self.mac_bytes if self.mac_bytes else 0.0


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """One row: the ops that ran inside one module call (rolled up to a depth), and their cost."""

    name: str
    type: str
    depth: int
    call: int
    output_shape: tuple[int, ...] | None
    params: int
    param_bytes: int
    macs: int
    flops: int
    mac_bytes: int
    bytes_read: int
    bytes_written: int
    elementwise_ops: int
    elementwise_elems: int
    ops: int
    categories: tuple[str, ...] = ()

    @property
    def intensity(self) -> float:
        """FLOP per byte of memory access (0 for a layer that moves nothing)."""
        return self.flops / self.mac_bytes if self.mac_bytes else 0.0


LAYER_FIELDS = (
    "name", "type", "depth", "output_shape", "params", "macs", "flops", "mac_bytes", "intensity",
    "elementwise_ops", "elementwise_elems", "bytes_read", "bytes_written", "ops",
)
TOTAL_FIELDS = (
    "params", "param_bytes", "macs", "flops", "mac_bytes", "intensity", "elementwise_ops",
    "elementwise_elems", "bytes_read", "bytes_written", "ops",
)


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _allocation(op: OpRecord) -> bool:
    """``empty`` and friends: no kernel runs and no memory is touched, so they are not counted as ops."""
    return op.cost.category == Category.CREATION and op.cost.mac_bytes == 0


@dataclass
class _Acc:
    """Running sums for one row."""

    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    elementwise_ops: int = 0
    elementwise_elems: int = 0
    ops: int = 0
    params: int = 0
    param_bytes: int = 0
    first_op: int | None = None
    categories: Counter[str] = field(default_factory=Counter)

    def add(self, op: OpRecord) -> None:
        cost = op.cost
        self.macs += cost.macs
        self.flops += cost.flops
        self.bytes_read += cost.bytes_read
        self.bytes_written += cost.bytes_written
        if cost.category != Category.VIEW and not _allocation(op):
            self.ops += 1
            self.categories[cost.category] += 1
        if cost.category == Category.ELEMENTWISE:
            self.elementwise_ops += 1
            self.elementwise_elems += _numel(op.output_shapes[0]) if op.output_shapes else 0
        if self.first_op is None:
            self.first_op = op.index


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

    # -- rows ---------------------------------------------------------------------------------

    def layers(self, depth: int | None = None) -> list[LayerRecord]:
        """One row per module call at ``depth`` (None: the innermost modules), in execution order.

        Each op lands in exactly one row: that of its innermost module, or of the ancestor at
        ``depth`` when the module is deeper. A module's own ops (a residual ``x + y`` written in its
        forward) form its own row, beside its children's rows. So the rows add up to the totals.
        """
        rows: dict[int, _Acc] = {}
        row_of: list[int] = []
        for call in self.calls:
            if depth is not None and call.depth > depth and call.parent is not None:
                key = row_of[call.parent]
            else:
                key = call.index
            row_of.append(key)
            if call.params:
                acc = rows.setdefault(key, _Acc())
                acc.params += call.params
                acc.param_bytes += call.param_bytes
        for op in self.ops:
            rows.setdefault(row_of[op.call] if self.calls else 0, _Acc()).add(op)

        def order(key: int) -> int:
            acc = rows[key]
            return acc.first_op if acc.first_op is not None else self.calls[key].op_start

        records = []
        for key in sorted(rows, key=order):
            acc, call = rows[key], self.calls[key]
            if acc.ops == 0 and acc.params == 0 and acc.macs == 0:
                continue  # only views: nothing to show
            records.append(
                LayerRecord(
                    name=call.name,
                    type=call.type,
                    depth=call.depth,
                    call=call.index,
                    output_shape=call.output_shapes[0] if call.output_shapes else None,
                    params=acc.params,
                    param_bytes=acc.param_bytes,
                    macs=acc.macs,
                    flops=acc.flops,
                    mac_bytes=acc.bytes_read + acc.bytes_written,
                    bytes_read=acc.bytes_read,
                    bytes_written=acc.bytes_written,
                    elementwise_ops=acc.elementwise_ops,
                    elementwise_elems=acc.elementwise_elems,
                    ops=acc.ops,
                    categories=tuple(sorted(acc.categories)),
                )
            )
        return records

    # -- totals -------------------------------------------------------------------------------

    @cached_property
    def totals(self) -> Totals:
        """Whole-model sums over the ops (computed once: a Report does not change after capture)."""
        acc = _Acc()
        for op in self.ops:
            acc.add(op)
        return Totals(
            params=self.params,
            param_bytes=self.param_bytes,
            macs=acc.macs,
            flops=acc.flops,
            mac_bytes=acc.bytes_read + acc.bytes_written,
            bytes_read=acc.bytes_read,
            bytes_written=acc.bytes_written,
            elementwise_ops=acc.elementwise_ops,
            elementwise_elems=acc.elementwise_elems,
            ops=acc.ops,
        )

    def by_category(self) -> dict[str, dict[str, int]]:
        """Ops, MACs, FLOPs and memory access per category (conv, depthwise_conv, elementwise, …)."""
        out: dict[str, dict[str, int]] = {}
        for op in self.ops:
            cost = op.cost
            if cost.category == Category.VIEW or _allocation(op):
                continue
            entry = out.setdefault(cost.category, {"ops": 0, "macs": 0, "flops": 0, "mac_bytes": 0})
            entry["ops"] += 1
            entry["macs"] += cost.macs
            entry["flops"] += cost.flops
            entry["mac_bytes"] += cost.mac_bytes
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["mac_bytes"]))

    def ops_in(self, category: str) -> Iterable[OpRecord]:
        return (op for op in self.ops if op.cost.category == category)

    @property
    def complete(self) -> bool:
        """True when every op had a formula (``--strict`` fails otherwise)."""
        return not self.unsupported_ops

    # -- export -------------------------------------------------------------------------------

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The JSON contract (``schema_version`` 1); see the README."""
        totals = self.totals
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "dtype": self.dtype,
            "captured_on": self.captured_on,
            "totals": {name: getattr(totals, name) for name in TOTAL_FIELDS},
            "by_category": self.by_category(),
            "layers": [_layer_dict(row) for row in self.layers(depth)],
            "unsupported_ops": dict(self.unsupported_ops),
            "uncalled_modules": list(self.uncalled_modules),
            "notes": list(self.notes),
        }

    def to_dataframe(self, depth: int | None = None) -> pd.DataFrame:
        """Per-layer rows as a pandas DataFrame (one column per :data:`LAYER_FIELDS` entry)."""
        import pandas as pd

        rows = [_layer_dict(row) for row in self.layers(depth)]
        frame = pd.DataFrame(rows, columns=list(LAYER_FIELDS))
        frame["output_shape"] = frame["output_shape"].map(lambda s: "x".join(map(str, s)) if s else "")
        return frame


def _layer_dict(row: LayerRecord) -> dict[str, Any]:
    data = asdict(row)
    data["output_shape"] = list(row.output_shape) if row.output_shape is not None else None
    data["intensity"] = row.intensity
    data["categories"] = list(row.categories)
    return data

