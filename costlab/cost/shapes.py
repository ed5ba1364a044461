"""Closed-form output shapes for the hot ops on the meta device.

torch's meta kernels for several common ops are Python decompositions, slow enough to dominate a
capture; conv, batch norm, activations, add / mul, addmm, mean and cat get their output from the
arithmetic here instead — and, for a training step, batch norm's backward and the activations'
gradients. Only plain contiguous tensors on the meta device take this path; anything
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
    kind = _FAST.get(func)
    if kind is None or not isinstance(x, torch.Tensor) or not x.is_meta:
        return None
    if kind == "scalar":  # x op a Python number: a new tensor like x (the backward of mean divides an expanded grad)
        if len(args) != 2 or not x.is_floating_point() or not isinstance(args[1], (int, float)) or isinstance(args[1], bool):
            return None
        return torch.empty(x.shape, dtype=x.dtype, device="meta")
    if kind == "dropout":  # native_dropout(input, p, train): the output and the mask it saves (bool)
        if len(args) != 3 or not x.is_floating_point():
            return None
        return (torch.empty(x.shape, dtype=x.dtype, device="meta"), torch.empty(x.shape, dtype=torch.bool, device="meta"))
    if kind == "dropout_backward":  # native_dropout_backward(grad, mask, scale)
        mask = args[1]
        if not isinstance(mask, torch.Tensor) or mask.shape != x.shape:
            return None
        return torch.empty(x.shape, dtype=x.dtype, device="meta")
    if not x.is_contiguous():
        return _permuted_binary(x, args) if kind == "binary" else None
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
            if other.dtype != x.dtype or not other.is_meta:
                return None
            if not other.is_contiguous() and other.shape != x.shape:
                return None  # a strided operand that broadcasts: let torch lay the output out
            # (a contiguous first operand decides the output's layout, whatever the second's)
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
        if func is torch.ops.aten.native_batch_norm.default and args[5]:
            return _batch_norm_training(x)
        empty = torch.empty((0,), dtype=x.dtype, device="meta")
        y = torch.empty(x.shape, dtype=x.dtype, device="meta")
        return (y, empty, empty)
    if kind == "batch_norm_backward":
        return _batch_norm_backward(x, args)
    if kind == "layer_norm":
        return _layer_norm(x, args)
    if kind == "layer_norm_backward":
        return _layer_norm_backward(x, args)
    if kind == "grad_like":
        other = args[1]
        if not isinstance(other, torch.Tensor) or other.shape != x.shape or other.dtype != x.dtype:
            return None
        return torch.empty(x.shape, dtype=x.dtype, device="meta")
    return None


def _batch_norm_training(x: torch.Tensor) -> Any:
    """A training batch norm's output and the batch statistics it saves (at float32 for 16-bit inputs)."""
    if x.dim() < 2 or not x.is_floating_point():
        return None
    statistics = _statistics_dtype(x)
    y = torch.empty(x.shape, dtype=x.dtype, device="meta")
    return (y, torch.empty((x.shape[1],), dtype=statistics, device="meta"),
            torch.empty((x.shape[1],), dtype=statistics, device="meta"))


def _permuted_binary(x: torch.Tensor, args: Sequence[Any]) -> torch.Tensor | None:
    """``x op y`` of two tensors laid out alike but not contiguously (a transposed view, as attention
    makes): torch's kernel gives the output that same layout, so it does here."""
    other = args[1]
    if not isinstance(other, torch.Tensor) or other.shape != x.shape or other.stride() != x.stride():
        return None
    if other.dtype != x.dtype or not other.is_meta or not _dense(x):
        return None
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")


def _dense(x: torch.Tensor) -> bool:
    """Non-overlapping and dense: the strides are a permutation of some contiguous layout's."""
    expected = 1
    for size, stride in sorted(zip(x.shape, x.stride()), key=lambda pair: pair[1]):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True


def _statistics_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _layer_norm(x: torch.Tensor, args: Sequence[Any]) -> Any:
    """A layer norm's output and its saved mean and rstd (one per normalized group, kept dims)."""
    normalized = list(args[1])
    axis = x.dim() - len(normalized)
    if axis < 0 or list(x.shape[axis:]) != normalized or not x.is_floating_point():
        return None
    if any(isinstance(t, torch.Tensor) and list(t.shape) != normalized for t in args[2:4]):
        return None  # a weight or bias of the wrong shape: torch's kernel says so
    kept = (*x.shape[:axis], *([1] * len(normalized)))
    statistics = _statistics_dtype(x)
    return (torch.empty(x.shape, dtype=x.dtype, device="meta"), torch.empty(kept, dtype=statistics, device="meta"),
            torch.empty(kept, dtype=statistics, device="meta"))


def _layer_norm_backward(grad: torch.Tensor, args: Sequence[Any]) -> Any:
    # native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask)
    x, weight, bias, mask = args[1], args[5], args[6], args[7] if len(args) > 7 else None
    if not isinstance(x, torch.Tensor) or x.shape != grad.shape or mask is None:
        return None
    grad_input = torch.empty(x.shape, dtype=x.dtype, device="meta") if mask[0] else None
    grad_weight = torch.empty(weight.shape, dtype=weight.dtype, device="meta") if mask[1] and weight is not None else None
    grad_bias = torch.empty(bias.shape, dtype=bias.dtype, device="meta") if mask[2] and bias is not None else None
    return (grad_input, grad_weight, grad_bias)


def _batch_norm_backward(grad: torch.Tensor, args: Sequence[Any]) -> Any:
    """The gradients autograd asked for (``output_mask``), as the CPU and CUDA kernels return them:
    None for the others (torch's meta kernel makes all three)."""
    x, weight, mask = args[1], args[2], args[9] if len(args) > 9 else None
    if not isinstance(x, torch.Tensor) or x.shape != grad.shape or not isinstance(weight, torch.Tensor) or mask is None:
        return None
    grad_input = torch.empty(x.shape, dtype=x.dtype, device="meta") if mask[0] else None
    grad_weight = torch.empty(weight.shape, dtype=weight.dtype, device="meta") if mask[1] else None
    grad_bias = torch.empty(weight.shape, dtype=weight.dtype, device="meta") if mask[2] else None
    return (grad_input, grad_weight, grad_bias)


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
        table[packet.Scalar] = "scalar"
    table[aten.addmm.default] = "addmm"
    table[aten.mean.dim] = "mean"
    table[aten.native_batch_norm.default] = "batch_norm"
    table[aten._native_batch_norm_legit_no_training.default] = "batch_norm"
    # a training step's hot ops, whose meta kernels are slow Python decompositions
    table[aten.native_batch_norm_backward.default] = "batch_norm_backward"
    table[aten.native_layer_norm.default] = "layer_norm"
    table[aten.native_dropout.default] = "dropout"
    table[aten.native_dropout_backward.default] = "dropout_backward"
    table[aten.native_layer_norm_backward.default] = "layer_norm_backward"
    for name in ("threshold_backward", "hardtanh_backward", "hardswish_backward", "hardsigmoid_backward",
                 "silu_backward", "sigmoid_backward", "tanh_backward", "gelu_backward"):
        table[getattr(aten, name).default] = "grad_like"
    return table


_FAST = _fast_table()
_CAT = torch.ops.aten.cat.default
