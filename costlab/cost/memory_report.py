"""The record ``costlab.memory`` returns: the peak, its moment, who holds it, per-layer bytes, the fit.

A :class:`MemoryReport` keeps the per-call sums of one pass and derives rows at any depth, as
:class:`~costlab.cost.report.Report` does for costs: each storage belongs to the module call
whose op made it (a backward op's: the call whose forward made its autograd node), so the rows'
``held_at_peak_bytes`` add up to the peak less what was resident before the pass. Its columns
are :class:`~costlab.cost.costs.Column` specs like every other number costlab prints.

No torch here: the CLI and the budgets read :data:`OPTIMIZERS` and :data:`DEVICES` without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from costlab.cost.costs import Column, place_dict
from costlab.errors import CostlabError
from costlab.progress import Progress, notify
from costlab.units import human

if TYPE_CHECKING:
    from costlab.cost.tracker import ModuleCall

__all__ = [
    "BREAKDOWN",
    "DEVICES",
    "MEMORY_COLUMNS",
    "MEMORY_SCHEMA_VERSION",
    "OPTIMIZERS",
    "DoesNotFit",
    "Fit",
    "MemoryLayer",
    "MemoryReport",
    "PeakAt",
    "search_batch",
]

OPTIMIZERS = ("sgd", "adam", "adamw")
"""What ``optimizer`` may be: ``sgd`` is SGD with momentum (one buffer per parameter); ``adam`` and
``adamw`` keep two."""
DEVICES = ("cuda", "cpu")
"""Whose kernels and allocator an estimate follows (see :mod:`costlab.cost.memory`)."""

MEMORY_SCHEMA_VERSION = 1
OPTIMIZER_ROW = -1
"""The row of the optimizer step's allocations (they run outside every module)."""

BREAKDOWN = ("parameters", "buffers", "inputs", "optimizer_state", "gradients", "activations", "temporaries")
"""What the peak is made of; the parts add up to ``peak_bytes``. ``activations`` were allocated by
the forward (in training: what autograd saved for the backward, and the outputs); ``temporaries``
by the backward or the optimizer step (gradients of activations, the step's intermediates);
``gradients`` are the parameters' ``.grad``."""
BREAKDOWN_WORDS = {
    "parameters": "parameters", "buffers": "buffers", "inputs": "inputs", "optimizer_state": "optimizer state",
    "gradients": "gradients", "activations": "activations", "temporaries": "temporaries",
}

MEMORY_COLUMNS: tuple[Column, ...] = (
    Column("activation_bytes", "Activations", "activation bytes", "B", dash_zero=True),
    Column("saved_bytes", "Kept", "bytes kept after the forward", "B", dash_zero=True),
    Column("held_at_peak_bytes", "Held at peak", "bytes held at the peak", "B", dash_zero=True),
)
"""Per layer: what its forward allocated; of that, what was still held when the forward ended (in
training, saved for the backward; in inference, the outputs); what its ops hold at the peak."""
MEMORY_SORT = ("order", *(c.key for c in MEMORY_COLUMNS))


class DoesNotFit(CostlabError):
    """``--fit`` below what batch 1 needs: nothing fits (exit 1, like a budget breach)."""

    exit_code = 1


@dataclass(frozen=True)
class PeakAt:
    """The op running when the peak is reached: its layer, the phase, the op."""

    layer: str
    type: str
    phase: str
    op: str
    op_index: int


@dataclass(frozen=True)
class Fit:
    """The largest batch whose peak fits ``budget_bytes``, and the peaks on either side of it."""

    budget_bytes: float
    max_batch: int
    peak_bytes: int
    next_peak_bytes: int | None
    """The peak at ``max_batch + 1`` (over the budget); None when the search hit its limit."""
    tried: tuple[tuple[int, int], ...] = ()
    """Every (batch, peak_bytes) estimated on the way, in batch order."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_bytes": self.budget_bytes,
            "max_batch": self.max_batch,
            "peak_bytes": self.peak_bytes,
            "next_peak_bytes": self.next_peak_bytes,
            "tried": [list(pair) for pair in self.tried],
        }


BATCH_LIMIT = 2**24


def search_batch(budget: float, peak_at: Callable[[int], int], progress: Progress | None = None) -> Fit:
    """The largest batch ``b`` with ``peak_at(b) <= budget``, from a handful of estimates.

    The peak grows about linearly with the batch, so batches 1 and 2 give a first guess; the
    answer is then bracketed (doubling steps away from the guess) and bisected. Every answer is
    an estimate, never an extrapolation: ``max_batch`` fits and ``max_batch + 1`` does not.
    """
    tried: dict[int, int] = {}

    def peak(batch: int) -> int:
        if batch not in tried:
            tried[batch] = peak_at(batch)
            notify(progress, min(0.95, 0.1 * len(tried)), f"batch {batch}")
        return tried[batch]

    first = peak(1)
    if first > budget:
        raise DoesNotFit(f"even batch 1 needs {human(first, 'B')}: more than the {human(budget, 'B')} of --fit")
    slope = peak(2) - first
    if slope <= 0:
        raise CostlabError("the peak does not grow with the batch (the first input dimension): there is no batch to fit")
    guess = max(1, min(BATCH_LIMIT, 1 + int((budget - first) // slope)))
    if peak(guess) <= budget:
        low, step = guess, 1
        high = low + step
        while high <= BATCH_LIMIT and peak(high) <= budget:
            low, step = high, step * 2
            high = low + step
        if high > BATCH_LIMIT:
            return Fit(budget, low, tried[low], None, tuple(sorted(tried.items())))
    else:
        high, step = guess, 1
        low = max(1, high - step)
        while peak(low) > budget:
            high, step = low, step * 2
            low = max(1, high - step)
    while high - low > 1:
        middle = (low + high) // 2
        if peak(middle) <= budget:
            low = middle
        else:
            high = middle
    return Fit(budget, low, tried[low], peak(low + 1), tuple(sorted(tried.items())))


@dataclass(frozen=True, kw_only=True)
class MemoryLayer:
    """One row: the storages one module call's ops made (rolled up to a depth)."""

    name: str
    type: str
    depth: int
    call: int
    output_shape: tuple[int, ...] | None
    activation_bytes: int = 0
    saved_bytes: int = 0
    held_at_peak_bytes: int = 0


@dataclass
class MemoryReport:
    """The peak memory of one pass. Build one with :func:`costlab.memory`."""

    model: str
    input_shapes: list[tuple[int, ...]]
    dtype: str
    peak_bytes: int
    breakdown: dict[str, int]
    peak_at: PeakAt | None
    phase_peaks: dict[str, int]
    calls: list[ModuleCall]
    activation_bytes: dict[int, int]
    saved_bytes: dict[int, int]
    held_at_peak_bytes: dict[int, int]
    alignment_bytes: int
    ops: int
    captured_on: str = "meta"
    train: bool = False
    optimizer: str | None = None
    device: str = "cuda"
    fit: Fit | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def resident_bytes(self) -> int:
        """What was held before the pass began: parameters, buffers, inputs, optimizer state."""
        return sum(self.breakdown[key] for key in ("parameters", "buffers", "inputs", "optimizer_state"))

    def layers(self, depth: int | None = None) -> list[MemoryLayer]:
        """One row per module call at ``depth`` (None: the innermost), in execution order, then the
        optimizer step's row. Rows with nothing allocated are left out; the rows add up."""
        row_of: list[int] = []
        for call in self.calls:
            deeper = depth is not None and call.depth > depth and call.parent is not None
            row_of.append(row_of[call.parent] if deeper and call.parent is not None else call.index)
        sums: dict[int, list[int]] = {}
        for column, values in enumerate((self.activation_bytes, self.saved_bytes, self.held_at_peak_bytes)):
            for call, value in values.items():
                key = call if call == OPTIMIZER_ROW or not row_of else row_of[call]
                sums.setdefault(key, [0, 0, 0])[column] += value
        rows = []
        for key in sorted(sums, key=lambda k: (k == OPTIMIZER_ROW, k)):
            activation, saved, held = sums[key]
            if not (activation or saved or held):
                continue
            if key == OPTIMIZER_ROW or not self.calls:
                name, kind, level, shape = ("(optimizer step)" if key == OPTIMIZER_ROW else "", "", 0, None)
            else:
                call = self.calls[key]
                name, kind, level = call.name, call.type, call.depth
                shape = call.output_shapes[0] if call.output_shapes else None
            rows.append(MemoryLayer(name=name, type=kind, depth=level, call=key, output_shape=shape,
                                    activation_bytes=activation, saved_bytes=saved, held_at_peak_bytes=held))
        return rows

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The JSON ``costlab memory -f json`` writes (``schema_version`` 1; see the README)."""
        return {
            "schema_version": MEMORY_SCHEMA_VERSION,
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "dtype": self.dtype,
            "train": self.train,
            "optimizer": self.optimizer,
            "device": self.device,
            "alignment_bytes": self.alignment_bytes,
            "captured_on": self.captured_on,
            "peak_bytes": self.peak_bytes,
            "breakdown": dict(self.breakdown),
            "peak_at": None if self.peak_at is None else {
                "layer": self.peak_at.layer, "type": self.peak_at.type, "phase": self.peak_at.phase,
                "op": self.peak_at.op, "op_index": self.peak_at.op_index,
            },
            "phase_peaks": dict(self.phase_peaks),
            "layers": [layer_dict(row) for row in self.layers(depth)],
            "fit": self.fit.to_dict() if self.fit is not None else None,
            "notes": list(self.notes),
        }

    def to_json(self, depth: int | None = None) -> str:
        return json.dumps(self.to_dict(depth), indent=2) + "\n"


def layer_dict(row: MemoryLayer) -> dict[str, Any]:
    """One row of the JSON ``layers`` list."""
    return {**place_dict(row), **{column.key: getattr(row, column.key) for column in MEMORY_COLUMNS}}
