"""Capture: run a model once and see every aten op it executes, and in which module.

Two independent pieces, as in ``torch.utils.flop_counter``:

* the module tracker (:mod:`costlab.cost.tracker`) knows *where* execution is;
* a ``TorchDispatchMode`` sees *every* aten op — conv and linear, but also ``x + y``,
  ``torch.cat``, ``F.relu``, ``@`` and the copies hidden in a channel shuffle — and asks the
  formula registry (:mod:`costlab.cost.formulas`) how much it costs.

By default the run happens on the ``meta`` device: tensors carry shapes and dtypes but no data,
so nothing is computed and no activation memory is allocated. The common ops get their output
shapes from closed-form rules (:mod:`costlab.cost.shapes`) instead of torch's meta kernels.

Capturing leaves the model as it was: parameters are swapped for meta stand-ins only for the
duration of the call (``torch.func.functional_call``), training flags are restored, every
hook is removed even when the forward raises, and whatever the forward changed on the model
(cached anchors, attributes, caches filled in place, buffers) is put back
(:func:`~costlab.load.guard.preserved`). What the model prints goes to stderr.

Ops are named by their namespace: ``aten.convolution``, ``torchvision.nms``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from costlab.cost import formulas, vision_ops  # noqa: F401 - vision_ops registers torchvision's op formulas
from costlab.cost.categories import Category
from costlab.cost.formulas import OpCost, tensors
from costlab.cost.shapes import fast_shape
from costlab.cost.tracker import ModuleCall, ModuleTracker
from costlab.load.guard import preserved, user_code

__all__ = ["OpRecord", "Capture", "CaptureFailed", "capture", "eval_mode", "no_dynamo"]


@dataclass(frozen=True, slots=True)
class OpRecord:
    """One aten op call: what it was, where it ran, what it cost, and how it connects.

    ``input_shapes`` lists every tensor argument in order (weights included: a convolution's are
    ``(x, weight, bias)``). ``inputs`` / ``outputs`` are serial numbers of the activation tensors it
    read and wrote (parameters and buffers left out), so rules can follow the data flow.
    """

    index: int
    op: str
    call: int
    cost: OpCost
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


_NAMES: dict[Any, str] = {}
"""Op overload → its name as reports show it (``aten.add``, ``torchvision.nms``)."""


class no_dynamo:  # noqa: N801 - a mixin, named for what it does
    """Dispatch-mode mixin: never wrap ``__torch_dispatch__`` in ``torch._dynamo.disable``.

    torch does so unless told otherwise; that imports dynamo on the first op (~2 s of CLI
    start-up) and adds a frame to every op. A capture never runs under torch.compile.
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


class Capture(no_dynamo, TorchDispatchMode):
    """Dispatch mode that records every op, with a module tracker. Use through :func:`capture`."""

    def __init__(self, names: dict[int, str], param_ids: set[int], fast_shapes: bool) -> None:
        super().__init__()
        self.param_ids = param_ids
        self.fast_shapes = fast_shapes
        self.ops: list[OpRecord] = []
        self.unsupported: Counter[str] = Counter()
        self.tracker = ModuleTracker(names, lambda: len(self.ops))
        self.modules: list[tuple[str, nn.Module]] = []
        self._serials: dict[int, int] = {}
        self._alive: list[torch.Tensor] = []  # keep tensors alive so id() is never reused mid-capture

    @property
    def calls(self) -> list[ModuleCall]:
        return self.tracker.calls

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = fast_shape(func, args, kwargs) if self.fast_shapes else None
        if out is None:
            out = func(*args, **kwargs)
        self._record(func, args, kwargs, out)
        return out

    def _serial(self, t: torch.Tensor) -> int:
        key = id(t)
        serial = self._serials.get(key)
        if serial is None:
            serial = self._serials[key] = len(self._serials)
            self._alive.append(t)
        return serial

    def _record(self, func: Any, args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> None:
        name = _NAMES.get(func)
        if name is None:
            name = _NAMES[func] = f"{func.namespace}.{func.overloadpacket.__name__}"
        cost = formulas.cost_of(func, args, kwargs, out)
        if cost.category == Category.UNSUPPORTED:
            self.unsupported[name] += 1
        every = tensors(args)
        param_ids = self.param_ids
        ins = [t for t in every if id(t) not in param_ids]
        outs = tensors((out,))
        self.ops.append(
            OpRecord(
                index=len(self.ops),
                op=name,
                call=self.tracker.current_index,
                cost=cost,
                input_shapes=tuple(tuple(t.shape) for t in every),
                output_shapes=tuple(tuple(t.shape) for t in outs),
                inputs=tuple(self._serial(t) for t in ins),
                outputs=tuple(self._serial(t) for t in outs),
            )
        )


# ------------------------------------------------------------------------------------------------
# Running a model under capture
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def eval_mode(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Put every module in eval mode for the capture and give each its own flag back.

    Writes the flag into ``__dict__`` directly: ``nn.Module.__setattr__`` is slow and there is
    nothing for it to do for a plain bool.
    """
    flags = [(m, m.training) for m in modules]
    try:
        for module, _ in flags:
            module.__dict__["training"] = False
        yield
    finally:
        for module, training in flags:
            module.__dict__["training"] = training


def _unique(items: list[torch.Tensor]) -> list[torch.Tensor]:
    """Tensors in order, each once (a tied weight is held by two modules)."""
    seen: set[int] = set()
    unique = []
    for t in items:
        if id(t) not in seen:
            seen.add(id(t))
            unique.append(t)
    return unique


def _meta_state(model: nn.Module, dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """Meta stand-ins for every parameter and buffer (same shapes; ``dtype`` for floating ones)."""
    state: dict[str, torch.Tensor] = {}
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        target = dtype if (dtype is not None and tensor.is_floating_point()) else tensor.dtype
        state[name] = torch.empty(tensor.shape, dtype=target, device="meta")
    return state


class CaptureFailed(Exception):
    """The model's forward raised under capture; ``call`` is the innermost module that was running."""

    def __init__(self, error: BaseException, call: ModuleCall | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.call = call


def capture(
    model: nn.Module,
    inputs: Sequence[Any],
    kwargs: dict[str, Any] | None = None,
    *,
    dtype: torch.dtype | None = None,
    meta_default_device: bool = False,
) -> Capture:
    """Run ``model(*inputs, **kwargs)`` once under capture and return the :class:`Capture` with its records.

    With meta ``inputs`` the parameters are swapped for meta stand-ins (unless they already are
    meta); with real inputs the model runs for real. ``dtype`` re-types floating parameters (meta
    only). ``meta_default_device`` also makes tensors created without a device inside ``forward``
    meta ones (``torch.zeros(n)``); it costs a Python call per torch function, so it is the retry,
    not the default. A forward that raises becomes :class:`CaptureFailed`, naming the failing module.
    """
    kwargs = kwargs or {}
    named = list(model.named_modules())
    own = _unique([t for _, m in named for t in (*m._parameters.values(), *m._buffers.values()) if t is not None])
    on_meta = all(t.is_meta for t in tensors((inputs, kwargs)))
    params_meta = all(t.is_meta for t in own)
    if on_meta and not params_meta:
        state = _meta_state(model, dtype)
        param_ids = {id(t) for t in state.values()}
    else:
        state = _meta_state(model, dtype) if dtype is not None and params_meta else None
        param_ids = {id(t) for t in own}
        if state is not None:
            param_ids |= {id(t) for t in state.values()}
    recorder = Capture({id(m): name for name, m in named}, param_ids, fast_shapes=on_meta)
    recorder.modules = named
    device = torch.device("meta") if on_meta and meta_default_device else contextlib.nullcontext()
    try:
        with preserved(model, buffers=state is None), user_code(), eval_mode([m for _, m in named]), torch.no_grad(), \
                recorder.tracker.hooks(), device, recorder:
            if state is not None:
                torch.func.functional_call(model, state, tuple(inputs), kwargs)
            else:
                model(*inputs, **kwargs)
    except (Exception, SystemExit) as err:  # noqa: BLE001 - the model's own code may raise anything
        raise CaptureFailed(err, recorder.tracker.current_call()) from err
    return recorder
