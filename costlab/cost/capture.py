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
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from costlab.cost import (  # noqa: F401 - vision_ops registers torchvision's op formulas
    backward_formulas,
    formulas,
    vision_ops,
)
from costlab.cost.categories import Category
from costlab.cost.formulas import OpCost, tensors
from costlab.cost.shapes import fast_shape
from costlab.cost.tracker import ModuleCall, ModuleTracker
from costlab.errors import CostlabError
from costlab.load.guard import preserved, user_code

__all__ = [
    "Capture",
    "CaptureFailed",
    "NoBackward",
    "OpRecord",
    "StandIns",
    "capture",
    "check_trainable",
    "eval_mode",
    "no_dynamo",
    "stand_ins",
    "training_loss",
    "training_mode",
]


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
    backward: bool = False
    """An op of the backward pass (``costlab profile --train``), counted in the layer whose forward made it."""


_NAMES: dict[Any, str] = {}
"""Op overload → its name as reports show it (``aten.add``, ``torchvision.nms``)."""


class no_dynamo:
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
        self._count = 0
        self._alive: list[Any] = []  # keep tensors (or, training, weak references) so id() is never reused mid-capture

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
            serial = self._serials[key] = self._count
            self._count += 1
            if self.tracker.autograd:
                # a training pass must not hold tensors: autograd copies a gradient it cannot steal
                self._alive.append(weakref.ref(t, lambda _, key=key: self._serials.pop(key, None)))
            else:
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
        call, backward = self.tracker.where()
        self.ops.append(
            OpRecord(
                index=len(self.ops),
                op=name,
                call=call,
                cost=cost,
                input_shapes=tuple(tuple(t.shape) for t in every),
                output_shapes=tuple(tuple(t.shape) for t in outs),
                inputs=tuple(self._serial(t) for t in ins),
                outputs=tuple(self._serial(t) for t in outs),
                backward=backward,
            )
        )


# ------------------------------------------------------------------------------------------------
# Running a model under capture
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def training_mode(modules: Sequence[nn.Module], training: bool) -> Iterator[None]:
    """Set every module's ``training`` flag for the capture and give each its own flag back.

    Writes the flag into ``__dict__`` directly: ``nn.Module.__setattr__`` is slow and there is
    nothing for it to do for a plain bool.
    """
    flags = [(m, m.training) for m in modules]
    try:
        for module, _ in flags:
            module.__dict__["training"] = training
        yield
    finally:
        for module, flag in flags:
            module.__dict__["training"] = flag


def eval_mode(modules: Sequence[nn.Module]) -> contextlib.AbstractContextManager[None]:
    """Every module in eval mode for the capture (see :func:`training_mode`)."""
    return training_mode(modules, False)


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


def _training_state(model: nn.Module, dtype: torch.dtype | None, meta: bool) -> dict[str, torch.Tensor]:
    """Fresh stand-ins for a training pass: gradients, batch-norm statistics and optimizer state
    land on them, never on the model's own tensors. A parameter requires grad as the original does."""
    state = _meta_state(model, dtype) if meta else {
        name: t.detach().clone() for name, t in [*model.named_parameters(), *model.named_buffers()]
    }
    for name, p in model.named_parameters():
        state[name].requires_grad_(p.requires_grad and state[name].is_floating_point())
    return state


@dataclass
class StandIns:
    """What a pass runs with: the module list, the parameters and buffers it swaps in (None: the
    model's own), and the ids of every parameter and buffer tensor (so ops can tell weights from
    activations)."""

    named: list[tuple[str, nn.Module]]
    state: dict[str, torch.Tensor] | None
    param_ids: set[int]
    on_meta: bool

    def tensors(self, model: nn.Module) -> list[torch.Tensor]:
        """The parameters and buffers the pass runs with, each once."""
        if self.state is not None:
            return _unique(list(self.state.values()))
        return _unique([t for _, m in self.named for t in (*m._parameters.values(), *m._buffers.values()) if t is not None])

    def forward(self, model: nn.Module, inputs: Sequence[Any], kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if self.state is not None:
            return torch.func.functional_call(model, self.state, tuple(inputs), kwargs)
        return model(*inputs, **kwargs)


def stand_ins(
    model: nn.Module,
    inputs: Sequence[Any],
    kwargs: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
    *,
    train: bool = False,
) -> StandIns:
    """The parameters and buffers a pass over ``inputs`` runs with.

    With meta ``inputs`` the parameters are swapped for meta stand-ins (unless they already are
    meta); with real inputs the model runs with its own. ``dtype`` re-types floating parameters
    (meta only). ``train`` always swaps in fresh stand-ins (see :func:`_training_state`).
    """
    named = list(model.named_modules())
    own = _unique([t for _, m in named for t in (*m._parameters.values(), *m._buffers.values()) if t is not None])
    on_meta = all(t.is_meta for t in tensors((inputs, kwargs or {})))
    params_meta = all(t.is_meta for t in own)
    if train:
        state: dict[str, torch.Tensor] | None = _training_state(model, dtype if on_meta else None, on_meta)
        param_ids = {id(t) for t in state.values()}
    elif on_meta and not params_meta:
        state = _meta_state(model, dtype)
        param_ids = {id(t) for t in state.values()}
    else:
        state = _meta_state(model, dtype) if dtype is not None and params_meta else None
        param_ids = {id(t) for t in own}
        if state is not None:
            param_ids |= {id(t) for t in state.values()}
    return StandIns(named, state, param_ids, on_meta)


class NoBackward(CostlabError):
    """A training pass cannot run its backward: nothing requires grad, or no floating output."""


def check_trainable(parts: StandIns, model: nn.Module) -> None:
    """Refuse a training pass when no parameter requires grad (there is nothing to train)."""
    if not any(t.requires_grad for t in parts.tensors(model)):
        raise NoBackward("no parameter requires grad: there is nothing to train (backward cannot run)")


def training_loss(output: Any) -> torch.Tensor:
    """The scalar a training pass differentiates: the sum of every floating output that requires grad."""
    floats = [t for t in tensors([output]) if t.is_floating_point() and t.requires_grad]
    if not floats:
        raise NoBackward("the model returns no floating-point output that requires grad: backward cannot run")
    loss = floats[0].sum()
    for t in floats[1:]:
        loss = loss + t.sum()
    return loss


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
    train: bool = False,
) -> Capture:
    """Run ``model(*inputs, **kwargs)`` once under capture and return the :class:`Capture` with its records.

    With meta ``inputs`` the parameters are swapped for meta stand-ins (unless they already are
    meta); with real inputs the model runs for real. ``dtype`` re-types floating parameters (meta
    only). ``meta_default_device`` also makes tensors created without a device inside ``forward``
    meta ones (``torch.zeros(n)``); it costs a Python call per torch function, so it is the retry,
    not the default. A forward that raises becomes :class:`CaptureFailed`, naming the failing module.

    ``train`` captures a training step instead: modules in training mode, forward with autograd,
    then the backward of :func:`training_loss`; backward ops are attributed to the module call
    whose forward created them and marked ``backward``.
    """
    kwargs = kwargs or {}
    parts = stand_ins(model, inputs, kwargs, dtype, train=train)
    if train:
        check_trainable(parts, model)
    named = parts.named
    recorder = Capture({id(m): name for name, m in named}, parts.param_ids, fast_shapes=parts.on_meta)
    recorder.modules = named
    recorder.tracker.autograd = train
    device = torch.device("meta") if parts.on_meta and meta_default_device else contextlib.nullcontext()
    try:
        with preserved(model, buffers=parts.state is None), user_code(), training_mode([m for _, m in named], train), \
                torch.set_grad_enabled(train), recorder.tracker.hooks(), device, recorder:
            output = parts.forward(model, inputs, kwargs)
            if train:
                training_loss(output).backward()
    except CostlabError:
        raise
    except (Exception, SystemExit) as err:
        raise CaptureFailed(err, recorder.tracker.current_call()) from err
    return recorder
