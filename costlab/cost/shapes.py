"""Closed-form output shapes for the hot ops on the meta device.

torch's meta kernels for several common ops are Python decompositions, slow enough to dominate a
capture; conv, batch norm, activations, add / mul, addmm, mean and cat get their output from the
arithmetic here instead. Only plain contiguous tensors on the meta device take this path; anything
unusual returns None and falls through to torch, so torch validates arguments and reports errors
in its own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["fast_shape"]



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


def fast_shape(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
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
