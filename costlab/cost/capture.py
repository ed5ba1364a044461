"""Capture: run a model once and see every aten op it executes, and in which module.

Two independent pieces, as in ``torch.utils.flop_counter``:

* a module tracker (global forward pre/post hooks) that knows *where* execution is: a stack of
  module calls, each with its qualified name, type and depth;
* a ``TorchDispatchMode`` that sees *every* aten op — conv and linear, but also ``x + y``,
  ``torch.cat``, ``F.relu``, ``@`` and the copies hidden in a channel shuffle — and asks the
  formula registry (:mod:`costlab.cost.formulas`) how much it costs.

By default the run happens on the ``meta`` device: tensors carry shapes and dtypes but no data,
so nothing is computed and no activation memory is allocated. The common ops get their output
shapes from closed-form rules here instead of torch's meta kernels (several of which are slow
Python decompositions); everything else falls through to the meta kernel.

Capturing leaves the model as it was: parameters are swapped for meta stand-ins only for the
duration of the call (``torch.func.functional_call``), training flags are restored, and every
hook is removed even when the forward raises.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from costlab.cost import formulas
from costlab.cost.formulas import Category, OpCost, tensors

__all__ = ["OpRecord", "ModuleCall", "Capture", "CaptureFailed", "capture"]

UNSUPPORTED = "unsupported"


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


@dataclass(slots=True)
class ModuleCall:
    """One call of one module (a module called twice has two). Index 0 is the model itself."""

    index: int
    name: str
    type: str
    depth: int
    parent: int | None
    params: int
    param_bytes: int
    first_call: bool
    op_start: int = 0
    cls: type | None = field(default=None, repr=False, compare=False)
    output_shapes: tuple[tuple[int, ...], ...] = ()
    input_shapes: tuple[tuple[int, ...], ...] = ()


def _shapes(values: Any) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(t.shape) for t in tensors([values]))


@dataclass
class _State:
    calls: list[ModuleCall] = field(default_factory=list)
    stack: list[int] = field(default_factory=list)
    ops: list[OpRecord] = field(default_factory=list)
    unsupported: Counter[str] = field(default_factory=Counter)
    seen_modules: set[int] = field(default_factory=set)


class Capture(TorchDispatchMode):
    """Dispatch mode + module tracker. Use through :func:`capture`."""

    def __init__(self, names: dict[int, str], param_ids: set[int], fast_shapes: bool) -> None:
        super().__init__()
        self.names = names
        self.param_ids = param_ids
        self.fast_shapes = fast_shapes
        self.state = _State()
        self.modules: list[tuple[str, nn.Module]] = []
        self._serials: dict[int, int] = {}
        self._alive: list[torch.Tensor] = []  # keep tensors alive so id() is never reused mid-capture

    # -- where: module calls ------------------------------------------------------------------

    def _pre_hook(self, module: nn.Module, args: Any) -> None:
        state = self.state
        parent = state.stack[-1] if state.stack else None
        name = self.names.get(id(module))
        if name is None:  # a module built on the fly inside forward: name it after its caller
            base = state.calls[parent].name if parent is not None else ""
            name = f"{base}.<{type(module).__name__}>" if base else f"<{type(module).__name__}>"
        first = id(module) not in state.seen_modules
        state.seen_modules.add(id(module))
        own = [p for p in module._parameters.values() if p is not None] if first else []
        call = ModuleCall(
            index=len(state.calls),
            name=name,
            type=type(module).__name__,
            depth=len(state.stack),
            parent=parent,
            params=sum(p.numel() for p in own),
            param_bytes=sum(p.numel() * p.element_size() for p in own),
            first_call=first,
            op_start=len(state.ops),
            cls=type(module),
            input_shapes=_shapes(args),
        )
        state.calls.append(call)
        state.stack.append(call.index)

    def _post_hook(self, module: nn.Module, args: Any, output: Any) -> None:
        index = self.state.stack.pop()
        self.state.calls[index].output_shapes = _shapes(output)

    @contextlib.contextmanager
    def hooks(self) -> Iterator[None]:
        pre = nn.modules.module.register_module_forward_pre_hook(self._pre_hook)
        # not always_call: when a forward raises, the stack keeps pointing at the failing module
        post = nn.modules.module.register_module_forward_hook(self._post_hook)
        try:
            yield
        finally:
            pre.remove()
            post.remove()

    def current_call(self) -> ModuleCall | None:
        """The innermost module running now (used to name the layer when a forward fails)."""
        return self.state.calls[self.state.stack[-1]] if self.state.stack else None

    # -- what: every aten op ------------------------------------------------------------------

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in torch._dynamo.disable unless told otherwise;
        # that imports dynamo on the first op (~2 s of CLI start-up) and adds a frame to every op.
        # A capture never runs under torch.compile, so there is nothing to disable.
        return False

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = _fast_shape(func, args, kwargs) if self.fast_shapes else None
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
        packet = func.overloadpacket
        name = f"aten.{packet.__name__}"
        formula = formulas.FORMULAS.get(packet)
        if formula is not None:
            cost = formula(args, kwargs, out)
        elif packet in formulas.FREE_OPS:
            cost = _FREE
        else:
            cost = OpCost(UNSUPPORTED)
            self.state.unsupported[name] += 1
        every = tensors(args)
        param_ids = self.param_ids
        ins = [t for t in every if id(t) not in param_ids]
        outs = tensors((out,))
        state = self.state
        state.ops.append(
            OpRecord(
                index=len(state.ops),
                op=name,
                call=state.stack[-1] if state.stack else 0,
                cost=cost,
                input_shapes=tuple(tuple(t.shape) for t in every),
                output_shapes=tuple(tuple(t.shape) for t in outs),
                inputs=tuple(self._serial(t) for t in ins),
                outputs=tuple(self._serial(t) for t in outs),
            )
        )


_FREE = OpCost(Category.VIEW)


# ------------------------------------------------------------------------------------------------
# Closed-form output shapes for the hot ops on the meta device
# ------------------------------------------------------------------------------------------------


def _conv_out(x: torch.Tensor, w: torch.Tensor, args: Sequence[Any]) -> torch.Tensor | None:
    stride, padding, dilation, transposed, output_padding, groups = args[3:9]
    spatial = x.dim() - 2
    if transposed or spatial < 1 or len(stride) != spatial or len(padding) != spatial:
        return None
    sizes = [
        (x.shape[2 + i] + 2 * padding[i] - dilation[i] * (w.shape[2 + i] - 1) - 1) // stride[i] + 1
        for i in range(spatial)
    ]
    if min(sizes) < 1 or x.shape[1] != w.shape[1] * groups:
        return None  # let the meta kernel raise torch's own error message
    return torch.empty((x.shape[0], w.shape[0], *sizes), dtype=x.dtype, device="meta")


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """NumPy broadcasting of two shapes; None when they do not broadcast (torch then raises).

    Hand-written because ``torch.broadcast_shapes`` pulls in sympy on first use (~0.5 s).
    """
    if tuple(a) == tuple(b):
        return tuple(a)
    size = max(len(a), len(b))
    a = (1,) * (size - len(a)) + tuple(a)
    b = (1,) * (size - len(b)) + tuple(b)
    out = []
    for m, n in zip(a, b):
        if m != n and 1 not in (m, n):
            return None
        out.append(n if m == 1 else m)
    return tuple(out)


def _cat_out(args: Sequence[Any]) -> torch.Tensor | None:
    parts, dim = args[0], (args[1] if len(args) > 1 else 0)
    if not parts or not all(isinstance(t, torch.Tensor) and t.is_meta and t.is_contiguous() for t in parts):
        return None
    first = parts[0]
    if first.dim() == 0 or any(t.dim() != first.dim() or t.dtype != first.dtype for t in parts):
        return None
    dim %= first.dim()
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1 :] != first.shape[dim + 1 :] for t in parts):
        return None
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in parts)
    return torch.empty(shape, dtype=first.dtype, device="meta")


def _fast_shape(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The op's output, built from its shapes without running torch's meta kernel; None to fall back.

    Only for plain contiguous float tensors on the meta device; anything unusual takes the
    general path so torch validates arguments and reports errors in its own words.
    """
    if kwargs or not args:
        return None
    x = args[0]
    if func is _CAT:
        return _cat_out(args)
    if not isinstance(x, torch.Tensor) or not x.is_meta or not x.is_contiguous():
        return None
    kind = _FAST.get(func)
    if kind is None:
        return None
    if kind == "conv":
        w = args[1]
        if x.dim() < 3 or not w.is_meta:
            return None
        return _conv_out(x, w, args)
    if kind == "unary":
        return torch.empty(x.shape, dtype=x.dtype, device="meta")
    if kind == "inplace":
        return x
    if kind == "binary":
        other = args[1]
        if isinstance(other, torch.Tensor):
            if other.dtype != x.dtype or not other.is_contiguous():
                return None
            shape = _broadcast(x.shape, other.shape)
            if shape is None:
                return None
        elif isinstance(other, float) and x.is_floating_point():
            shape = x.shape
        else:
            return None
        return torch.empty(shape, dtype=x.dtype, device="meta")
    if kind == "inplace_binary":
        other = args[1]
        if isinstance(other, torch.Tensor) and _broadcast(x.shape, other.shape) != tuple(x.shape):
            return None
        return x
    if kind == "addmm":
        a, b = args[1], args[2]
        if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
            return None
        return torch.empty((a.shape[0], b.shape[1]), dtype=a.dtype, device="meta")
    if kind == "mean":
        if len(args) < 2 or x.dim() == 0 or not x.is_floating_point():
            return None
        dims = {d % x.dim() for d in args[1]} if args[1] else set(range(x.dim()))
        keep = bool(args[2]) if len(args) > 2 else False
        shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keep or i not in dims]
        return torch.empty(shape, dtype=x.dtype, device="meta")
    if kind == "batch_norm":
        empty = torch.empty((0,), dtype=x.dtype, device="meta")
        if func is torch.ops.aten.native_batch_norm.default and args[5]:
            return None  # training mode also returns batch statistics
        y = torch.empty(x.shape, dtype=x.dtype, device="meta")
        return (y, empty, empty)
    return None


def _fast_table() -> dict[Any, str]:
    aten = torch.ops.aten
    table: dict[Any, str] = {aten.convolution.default: "conv"}
    for name in ("relu", "hardtanh", "hardswish", "hardsigmoid", "sigmoid", "silu", "gelu", "tanh", "clone"):
        table[getattr(aten, name).default] = "unary"
        inplace = getattr(aten, name + "_", None)
        if inplace is not None:
            table[inplace.default] = "inplace"
    for name in ("add", "mul", "sub", "div"):
        packet = getattr(aten, name)
        table[packet.Tensor] = "binary"
        table[getattr(aten, name + "_").Tensor] = "inplace_binary"
    table[aten.addmm.default] = "addmm"
    table[aten.mean.dim] = "mean"
    table[aten.native_batch_norm.default] = "batch_norm"
    table[aten._native_batch_norm_legit_no_training.default] = "batch_norm"
    return table


_FAST = _fast_table()
_CAT = torch.ops.aten.cat.default


# ------------------------------------------------------------------------------------------------
# Running a model under capture
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _eval_mode(modules: Sequence[nn.Module]) -> Iterator[None]:
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
    return [t for t in items if not (id(t) in seen or seen.add(id(t)))]  # type: ignore[func-returns-value]


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
    inputs: Sequence[torch.Tensor],
    *,
    dtype: torch.dtype | None = None,
    meta_default_device: bool = False,
) -> Capture:
    """Run ``model(*inputs)`` once under capture and return the :class:`Capture` with its records.

    With meta ``inputs`` the parameters are swapped for meta stand-ins (unless they already are
    meta); with real inputs the model runs for real. ``dtype`` re-types floating parameters (meta
    only). ``meta_default_device`` also makes tensors created without a device inside ``forward``
    meta ones (``torch.zeros(n)``); it costs a Python call per torch function, so it is the retry,
    not the default. A forward that raises becomes :class:`CaptureFailed`, naming the failing module.
    """
    named = list(model.named_modules())
    own = _unique([t for _, m in named for t in (*m._parameters.values(), *m._buffers.values()) if t is not None])
    on_meta = all(t.is_meta for t in inputs)
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
        with _eval_mode([m for _, m in named]), torch.no_grad(), recorder.hooks(), device, recorder:
            if state is not None:
                torch.func.functional_call(model, state, tuple(inputs))
            else:
                model(*inputs)
    except Exception as err:  # noqa: BLE001 - the model's own code may raise anything
        raise CaptureFailed(err, recorder.current_call()) from err
    return recorder
