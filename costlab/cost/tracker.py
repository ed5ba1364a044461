"""The module tracker: *where* execution is while a model runs.

Global forward pre/post hooks keep a stack of module calls, each with its qualified name, type,
depth, parent and the parameters it owns (counted on its first call only: a module called twice
has two calls and its parameters once). It knows nothing about costs — the capture's dispatch mode
asks it which call an op runs in, as ``torch.utils.module_tracker`` serves ``flop_counter``.

In a training pass (``autograd = True``) it also knows where the backward is: autograd numbers
every node it records (``Node._sequence_nr()``) and the engine says which node runs now
(``torch._C._current_autograd_node()``), so each forward op notes the number of the node made
for it, and a backward op belongs to the module call whose forward made its node — exact where
torch's own ``ModuleTracker`` guesses from gradient hooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from costlab.cost.formulas import tensors

__all__ = ["ModuleCall", "ModuleTracker", "shapes_of"]


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


def shapes_of(values: Any) -> tuple[tuple[int, ...], ...]:
    """The shapes of every tensor in ``values`` (nested lists, tuples and dicts), in order."""
    return tuple(tuple(t.shape) for t in tensors([values]))


class ModuleTracker:
    """Module calls as they happen. ``ops_so_far`` tells each new call where its ops start."""

    def __init__(self, names: dict[int, str], ops_so_far: Callable[[], int] = lambda: 0) -> None:
        self.names = names
        self.ops_so_far = ops_so_far
        self.calls: list[ModuleCall] = []
        self.stack: list[int] = []
        self._seen: set[int] = set()
        self.autograd = False
        """A training pass: attribute backward ops through the autograd nodes (see the module docstring)."""
        self._node_calls: dict[int, int] = {}
        self._last_backward = 0

    def _pre_hook(self, module: nn.Module, args: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        name = self.names.get(id(module))
        if name is None:  # a module built on the fly inside forward: name it after its caller
            base = self.calls[parent].name if parent is not None else ""
            name = f"{base}.<{type(module).__name__}>" if base else f"<{type(module).__name__}>"
        first = id(module) not in self._seen
        self._seen.add(id(module))
        own = [p for p in module._parameters.values() if p is not None] if first else []
        call = ModuleCall(
            index=len(self.calls),
            name=name,
            type=type(module).__name__,
            depth=len(self.stack),
            parent=parent,
            params=sum(p.numel() for p in own),
            param_bytes=sum(p.numel() * p.element_size() for p in own),
            first_call=first,
            op_start=self.ops_so_far(),
            cls=type(module),
            input_shapes=shapes_of(args),
        )
        self.calls.append(call)
        self.stack.append(call.index)

    def _post_hook(self, module: nn.Module, args: Any, output: Any) -> None:
        index = self.stack.pop()
        self.calls[index].output_shapes = shapes_of(output)

    @contextlib.contextmanager
    def hooks(self) -> Iterator[None]:
        """Track every module call inside the block (global hooks, removed even when forward raises)."""
        pre = nn.modules.module.register_module_forward_pre_hook(self._pre_hook)
        # not always_call: when a forward raises, the stack keeps pointing at the failing module
        post = nn.modules.module.register_module_forward_hook(self._post_hook)
        try:
            yield
        finally:
            pre.remove()
            post.remove()

    @property
    def current_index(self) -> int:
        """The innermost module call running now (0, the model, when none is)."""
        return self.stack[-1] if self.stack else 0

    def where(self) -> tuple[int, bool]:
        """The module call the op dispatched now belongs to, and whether it is a backward op.

        Outside a training pass this is :attr:`current_index`, forward. In one, a forward op
        notes the autograd node made for it (the last one numbered: autograd numbers a node just
        before it dispatches the op); a backward op looks its running node up. Nodes made outside
        any noted op (``AccumulateGrad`` of a parameter) belong to the previous backward op's call.
        """
        if not self.autograd:
            return self.current_index, False
        node = _current_node()
        if node is None:
            call = self.current_index
            self._node_calls.setdefault(_next_sequence_nr() - 1, call)
            return call, False
        call = self._node_calls.get(node._sequence_nr(), self._last_backward)
        self._last_backward = call
        return call, True

    def current_call(self) -> ModuleCall | None:
        """The innermost module running now (used to name the layer when a forward fails)."""
        return self.calls[self.stack[-1]] if self.stack else None


# private torch API, stable since torch 1.x: the autograd node running now, the next node number
_current_node = torch._C._current_autograd_node
_next_sequence_nr = torch._C._autograd._get_sequence_nr
