"""Storage lifetimes: every tensor storage a pass allocates, from the op that makes it to its death.

A ``TorchDispatchMode`` sees every aten op; each output whose storage it has not seen is a new
allocation, of the storage's bytes (rounded up to the allocator's block). Views share their
base's storage and in-place ops return their input's, so neither allocates. A weak reference
on the storage (its Python object lives exactly as long as the storage does) fires when the
last tensor on it dies — when autograd releases a saved tensor, when a temporary goes out of
scope — and marks the death at the op clock. Nothing here holds a tensor of the pass, so
lifetimes are torch's own: the same pass on the meta device frees what the real one frees, when
it frees it.

The clock counts ops. The memory live while op ``k`` runs is everything resident (parameters,
buffers, inputs, optimizer state: :meth:`StorageTracker.hold`) plus every storage born at or
before ``k`` that had not died before ``k``'s outputs were made: :func:`levels` from a
difference array, in one pass. The module tracker says which call each op belongs to (backward
ops: the call whose forward made their autograd node).

The same design as PyTorch's ``torch.distributed._tools.mem_tracker.MemTracker`` (storage weak
references, a module tracker), with the clock and the birth/death record costlab's own, so the
peak, its moment and who holds it are all computed after the pass, not snapshotted during it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from costlab.cost.capture import no_dynamo
from costlab.cost.formulas import tensors
from costlab.cost.shapes import fast_shape
from costlab.cost.tracker import ModuleTracker

__all__ = ["BACKWARD", "FORWARD", "OPTIMIZER", "OPTIMIZER_CALL", "PHASES", "StorageTracker", "levels", "rounded"]

FORWARD, BACKWARD, OPTIMIZER = 0, 1, 2
PHASES = ("forward", "backward", "optimizer")
OPTIMIZER_CALL = -1
"""The call the optimizer step's ops belong to (they run outside every module)."""


def rounded(nbytes: int, alignment: int) -> int:
    """``nbytes`` rounded up to a multiple of ``alignment`` (what a block of the allocator holds)."""
    return -(-nbytes // alignment) * alignment if nbytes > 0 else 0


class StorageTracker(no_dynamo, TorchDispatchMode):
    """Dispatch mode that records every storage a pass allocates: bytes, birth, death, owner, phase.

    ``device_type`` is the device whose storages count (``meta`` for an estimate, ``cpu`` for the
    real-tensor fallback); ``alignment`` rounds each storage up to the allocator's block. Set
    :attr:`phase` to :data:`OPTIMIZER` around an optimizer step. Blocks are parallel lists indexed
    by allocation: ``sizes``, ``born`` and ``died`` (clock values; ``-1``: alive at the end),
    ``owner`` (module call) and ``phase``.
    """

    def __init__(self, names: dict[int, str], device_type: str, alignment: int, fast_shapes: bool) -> None:
        super().__init__()
        self.device_type = device_type
        self.alignment = alignment
        self.fast_shapes = fast_shapes
        self.clock = 0
        self.phase = FORWARD
        self.recording = True
        """False: ops run (fast on meta) but nothing is recorded — the optimizer's untracked first step."""
        self.tracker = ModuleTracker(names, lambda: self.clock)
        self.sizes: list[int] = []
        self.born: list[int] = []
        self.died: list[int] = []
        self.owner: list[int] = []
        self.phases: list[int] = []
        self.op_funcs: list[Any] = []
        self.op_calls: list[int] = []
        self.op_phases: list[int] = []
        self.resident: dict[str, int] = {}
        self._live: dict[int, int] = {}  # id(storage) → its block, while it lives
        self._held: set[int] = set()
        self._pinned: list[Any] = []
        self._refs: list[weakref.ref[Any]] = []

    # -- before the pass ---------------------------------------------------------------------

    def hold(self, values: Iterable[torch.Tensor], category: str) -> None:
        """Count the storages of ``values`` as resident under ``category`` (each storage once,
        whichever category names it first); ops that return them allocate nothing."""
        total = self.resident.setdefault(category, 0)
        for t in values:
            if t.device.type != self.device_type:
                continue
            storage = t.untyped_storage()
            key = id(storage)
            if key in self._held:
                continue
            self._held.add(key)
            self._pinned.append(storage)
            total += rounded(storage.nbytes(), self.alignment)
        self.resident[category] = total

    # -- during it -----------------------------------------------------------------------------

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if self.phase == OPTIMIZER and self.fast_shapes:
            done, out = _optimizer_op(func, args)
            if not done:
                out = func(*args, **kwargs)
        else:
            out = fast_shape(func, args, kwargs) if self.fast_shapes else None
            if out is None:
                out = func(*args, **kwargs)
        if not self.recording:
            return out
        if self.phase == OPTIMIZER:
            call, phase = OPTIMIZER_CALL, OPTIMIZER
        else:
            call, backward = self.tracker.where()
            phase = BACKWARD if backward else FORWARD
        now = self.clock
        for t in (out,) if type(out) is torch.Tensor else tensors((out,)):
            if t.device.type != self.device_type:
                continue
            storage = t.untyped_storage()
            key = id(storage)
            if key in self._live or key in self._held:
                continue  # a view, an in-place op, a parameter: nothing new
            block = len(self.sizes)
            self.sizes.append(rounded(storage.nbytes(), self.alignment))
            self.born.append(now)
            self.died.append(-1)
            self.owner.append(call)
            self.phases.append(phase)
            self._live[key] = block
            self._refs.append(weakref.ref(storage, self._dies(key, block)))
        self.op_funcs.append(func)
        self.op_calls.append(call)
        self.op_phases.append(phase)
        self.clock = now + 1
        return out

    def _dies(self, key: int, block: int) -> Any:
        def callback(_: Any) -> None:
            self.died[block] = self.clock
            if self._live.get(key) == block:
                del self._live[key]

        return callback

    # -- after it -------------------------------------------------------------------------------

    def block_of(self, t: torch.Tensor) -> int | None:
        """The block of a tensor still alive (a parameter's gradient), or None."""
        return self._live.get(id(t.untyped_storage()))

    def live_at(self, clock: int) -> list[int]:
        """The blocks alive while op ``clock`` runs (its own outputs included)."""
        return [
            block
            for block, (born, died) in enumerate(zip(self.born, self.died))
            if born <= clock and (died == -1 or died > clock)
        ]

    def op_name(self, clock: int) -> str:
        return f"aten.{self.op_funcs[clock].overloadpacket.__name__}"


_FOREACH_NEW = frozenset(
    f"_foreach_{name}" for name in ("sqrt", "add", "sub", "mul", "div", "neg", "abs", "exp", "lerp", "addcmul",
                                    "addcdiv", "maximum", "minimum", "sign", "reciprocal", "clamp_min", "clamp_max")
)
_IN_PLACE = frozenset(("lerp_", "mul_", "add_", "sub_", "div_", "addcmul_", "addcdiv_", "sqrt_", "zero_", "fill_",
                       "copy_", "maximum_", "clamp_", "clamp_min_", "clamp_max_", "neg_", "sign_", "reciprocal_"))


def _optimizer_op(func: Any, args: Sequence[Any]) -> tuple[bool, Any]:
    """The output of an optimizer's op on meta tensors without running its meta kernel — the
    ``_foreach_*`` and in-place element-wise kernels torch.optim uses are slow Python decompositions.

    In-place ops give back their tensor (a ``_foreach_*_`` op gives nothing back); an out-of-place
    ``_foreach_*`` op makes one tensor like each of its first list's. Anything else (the CPU step
    counters, an op outside this list) runs as usual: ``(False, None)``.
    """
    name = func.overloadpacket.__name__
    first = args[0] if args else None
    if isinstance(first, list) and first and all(isinstance(t, torch.Tensor) and t.is_meta for t in first):
        if name.startswith("_foreach_") and name.endswith("_"):
            return True, None
        if name in _FOREACH_NEW:
            return True, [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in first]
    elif isinstance(first, torch.Tensor) and first.is_meta and name in _IN_PLACE:
        return True, first
    return False, None


def levels(tracker: StorageTracker) -> list[int]:
    """The bytes the pass holds while each op runs (resident storages left out), op by op."""
    delta = [0] * (tracker.clock + 1)
    for size, born, died in zip(tracker.sizes, tracker.born, tracker.died):
        delta[born] += size
        if died != -1:
            delta[died] -= size
    out = []
    level = 0
    for change in delta[: tracker.clock]:
        level += change
        out.append(level)
    return out
