"""One value type for a row of costs, and one specification of its columns.

:class:`Costs` is what a layer, a category or the whole model costs: params, MACs, FLOPs, bytes
accessed and element-wise work, with the unit in every name. :data:`COLUMNS` says, for each of its
numbers, how it is headed, which unit it carries, whether the profile table shows it, whether
``--sort`` takes it, and whether budgets and ``costlab diff`` compare it. The rich table, CSV,
Markdown, JSON, the diff and the budgets all read :data:`COLUMNS`: adding a number to costlab is a
field here and a :class:`Column` below.

``bytes_accessed`` is ShuffleNet V2's *memory access cost* (what XLA's and JAX's cost analyses call
"bytes accessed"): every tensor an op reads or writes, counted once. It is never called ``mac_bytes``:
"MAC" is the paper's memory access cost and "MACs" multiply-accumulates, and one beside the other
confuses every reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from costlab.units import duration, format_delta, human

__all__ = ["BUDGETED", "COLUMN", "COLUMNS", "RENAMED", "SORTABLE", "Column", "Costs", "Intensity", "place_dict", "renamed_hint"]


class Intensity:
    """Mixin for a record with ``flops`` and ``bytes_accessed``: its arithmetic intensity, defined once."""

    __slots__ = ()
    flops: int
    bytes_accessed: int

    @property
    def intensity(self) -> float:
        """FLOP per byte accessed: the roofline's x-axis (0 for work that moves nothing)."""
        return self.flops / self.bytes_accessed if self.bytes_accessed else 0.0


@dataclass(frozen=True, slots=True)
class Costs(Intensity):
    """What some ops (a layer, a category, the model) cost. Units are in the names.

    ``params`` counts each parameter once, however often its module runs; ``ops`` counts kernels
    that run (views and bare allocations are not ops).
    """

    params: int = 0
    param_bytes: int = 0
    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    elementwise_ops: int = 0
    elementwise_elems: int = 0
    ops: int = 0

    @property
    def bytes_accessed(self) -> int:
        """Memory access cost in bytes: everything read plus everything written."""
        return self.bytes_read + self.bytes_written


@dataclass(frozen=True)
class Column:
    """How one number of :class:`Costs` is shown, sorted, budgeted and compared.

    ``key`` is the attribute, the JSON key, the CSV header and the ``--sort`` value; ``budget`` is
    the quantity kind its ``max_<key>`` limit is read as (None: not budgeted, not compared by diff).
    """

    key: str
    header: str
    words: str
    unit: str = ""
    """``""`` a count, ``B`` bytes, ``ms`` a duration, ``%`` a share (a fraction shown as a percentage),
    ``Δ%`` a signed relative change (``+20.0%``: a prediction's error; None shows as ``–``)."""
    budget: str | None = None
    table: bool = True
    sortable: bool = True
    dash_zero: bool = False
    decimals: int | None = None
    """Shown with this many decimals instead of K/M/G scaling (intensity: ``3.6``)."""
    significant: int = 4
    """Significant digits of a float in CSV (integers are written whole)."""

    def text(self, value: float, *, total: bool = False) -> str:
        """The table cell: ``300.8 M``, ``173.1 MB``, ``3.6``, ``4.56 ms``, ``12.5%``, or ``–`` for a
        zero that means "none" (never in a ``total`` row)."""
        if value is None or (self.dash_zero and not value and not total):
            return "–"
        if self.unit == "Δ%":
            return format_delta(value)
        if self.unit == "ms":
            return duration(value)
        if self.unit == "%":
            return f"{value:.1%}"
        if self.decimals is not None:
            return f"{value:.{self.decimals}f}"
        return human(value, self.unit)

    def raw(self, value: float) -> str:
        """The CSV cell: integers whole, floats to :attr:`significant` digits (None: empty)."""
        if value is None:
            return ""
        return f"{value:.{self.significant}g}" if isinstance(value, float) else str(value)


COLUMNS: tuple[Column, ...] = (
    Column("params", "Params", "params", budget="count", dash_zero=True),
    Column("param_bytes", "Param bytes", "parameter bytes", "B", table=False, sortable=False),
    Column("macs", "MACs", "MACs", budget="count", dash_zero=True),
    Column("flops", "FLOPs", "FLOPs", budget="count", dash_zero=True),
    Column("bytes_accessed", "Mem access", "memory access", "B", budget="bytes"),
    Column("bytes_read", "Read", "bytes read", "B", table=False, sortable=False),
    Column("bytes_written", "Written", "bytes written", "B", table=False, sortable=False),
    Column("intensity", "FLOP/B", "intensity (FLOP/B)", decimals=1),
    Column("elementwise_ops", "Elem-wise", "element-wise ops", dash_zero=True),
    Column("elementwise_elems", "Elem-wise elems", "element-wise elements", table=False, sortable=False),
    Column("ops", "Ops", "ops", table=False),
)
"""Every number of a row, in the order the table, CSV and JSON give them."""

COLUMN = {column.key: column for column in COLUMNS}
BUDGETED = tuple(c for c in COLUMNS if c.budget is not None)
"""What budgets limit (``max_<key>``), baselines and ``costlab diff`` compare: params, MACs, FLOPs, bytes."""
SORTABLE = tuple(c.key for c in COLUMNS if c.sortable)

RENAMED = {"mac_bytes": "bytes_accessed"}
"""Old names that users may still type (configs, ``--sort``), and what they are called now."""


def renamed_hint(name: str) -> str | None:
    """``max_mac_bytes`` → "max_mac_bytes is now max_bytes_accessed", for any old name inside ``name``."""
    for old, new in RENAMED.items():
        if old in name:
            return f"{name} is now {name.replace(old, new)} (memory access is called bytes_accessed)"
    return None


def place_dict(row: Any) -> dict[str, Any]:
    """Where a row sits — name, type, depth, call, output shape — as every JSON ``layers`` row starts
    (a cost row in :mod:`costlab.cost.report`, a memory row in :mod:`costlab.cost.memory_report`)."""
    return {
        "name": row.name,
        "type": row.type,
        "depth": row.depth,
        "call": row.call,
        "output_shape": list(row.output_shape) if row.output_shape is not None else None,
    }
