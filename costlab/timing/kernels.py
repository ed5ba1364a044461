"""The calibration's micro-benchmarks: for each kind of kernel, a spread of shapes to time it at.

One function per kind, registered with :func:`case`; each draws one random shape of its kind from
the spread that real networks use (CNNs at batch 1–8 and 7²–224² maps, transformers at 16–1024
tokens) and returns a call that runs the op the way a model runs it (``F.conv2d``, ``x + y``,
``torch.cat``, …). :mod:`costlab.timing.calibrate` runs the call once under a recording dispatch
mode and times every aten op it dispatched, alone — so the samples are labelled by the same
:func:`costlab.cost.predict.kind_of` that prices a Report's ops, never by this file's guess.

Sizes are capped (:data:`MAX_FLOPS`, :data:`MAX_ELEMS`) so no single op takes more than a few tens
of milliseconds on a CPU: larger ops run at the rate the largest samples reach, which the kernel
models extrapolate. Nothing here measures; it only builds tensors and calls.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["CASES", "Case", "Scale", "case"]

Case = Callable[[random.Random, "Scale"], Callable[[], Any]]
CASES: dict[str, Case] = {}
"""kind → a function drawing one micro-benchmark of it."""


class Scale:
    """Where the tensors live and how large they may be."""

    def __init__(self, device: torch.device, dtype: torch.dtype, gpu: bool) -> None:
        self.device = device
        self.dtype = dtype
        self.max_flops = 4e10 if gpu else 6e8
        self.max_elems = 2**26 if gpu else 2**22
        self.batches = (1, 8, 32, 64) if gpu else (1, 1, 2, 8)
        # the working sets of chunks of micro-benchmarks → their shares of the ops: in a CPU's last-level
        # cache (4 MiB, as a small net at batch 1) two in three, far past it (128 MiB, as at a large batch) one
        self.chunk_shares = {2**30: 1} if gpu else {2**22: 2, 2**27: 1}

    def randn(self, *shape: int) -> torch.Tensor:
        import torch

        return torch.randn(shape, device=self.device).to(self.dtype)


def case(kind: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        if kind in CASES:
            raise ValueError(f"kind {kind!r} already has micro-benchmarks")
        CASES[kind] = fn
        return fn

    return register


_CHANNELS = (8, 16, 24, 32, 40, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024)
_SIDES = (7, 14, 28, 56, 112, 224)
_TOKENS = (16, 49, 64, 128, 197, 256, 512, 1024)
_WIDTHS = (64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072)


def _feature_map(rng: random.Random, s: Scale, max_elems: float | None = None) -> tuple[int, int, int, int]:
    """(n, c, h, w) of a CNN feature map no larger than ``max_elems``: a few thin big maps, many thick small ones."""
    limit = max_elems or s.max_elems
    for _ in range(100):
        n, c, side = rng.choice(s.batches), rng.choice(_CHANNELS), rng.choice(_SIDES)
        if n * c * side * side <= limit and c * side <= 2 ** 15:
            return n, c, side, side
    return 1, 16, 14, 14


def _tokens(rng: random.Random, s: Scale) -> tuple[int, int, int]:
    for _ in range(100):
        b, length, width = rng.choice(s.batches), rng.choice(_TOKENS), rng.choice(_WIDTHS)
        if b * length * width <= s.max_elems:
            return b, length, width
    return 1, 64, 128


def _conv(rng: random.Random, s: Scale, kernels: tuple[int, ...], grouping: str) -> Callable[[], Any]:
    import torch.nn.functional as F

    for _ in range(200):
        n, c_in, h, w = _feature_map(rng, s)
        k, stride = rng.choice(kernels), rng.choice((1, 1, 2))
        if k > 3 and grouping == "dense" and c_in > 64:
            continue  # 5×5 and 7×7 dense kernels are stems and thin layers in practice
        if grouping == "depthwise":
            c_out, groups = c_in, c_in
        else:
            c_out = rng.choice(_CHANNELS)
            groups = rng.choice((2, 3, 4, 8, 32)) if grouping == "grouped" else 1
            if grouping == "stem":
                c_in, c_out, k, stride = 3, rng.choice((16, 24, 32, 64)), rng.choice((3, 7)), 2
            if c_in % groups or c_out % groups:
                continue
        out_side = (h + 2 * (k // 2) - k) // stride + 1
        flops = 2 * n * c_out * out_side * out_side * (c_in // groups) * k * k
        if out_side >= 1 and flops <= s.max_flops and n * c_out * out_side**2 <= s.max_elems:
            x, weight = s.randn(n, c_in, h, w), s.randn(c_out, c_in // groups, k, k)
            bias = s.randn(c_out) if rng.random() < 0.3 else None
            return lambda: F.conv2d(x, weight, bias, stride, k // 2, 1, groups)
    x, weight = s.randn(1, 8, 14, 14), s.randn(8, 8 // (8 if grouping == "depthwise" else 1), 3, 3)
    return lambda: F.conv2d(x, weight, None, 1, 1, 1, 8 if grouping == "depthwise" else 1)


@case("conv_dense")
def _dense(rng: random.Random, s: Scale) -> Callable[[], Any]:
    return _conv(rng, s, (3, 3, 3, 5, 7), "stem" if rng.random() < 0.1 else "dense")


@case("conv_pointwise")
def _pointwise(rng: random.Random, s: Scale) -> Callable[[], Any]:
    return _conv(rng, s, (1,), "dense")


@case("conv_grouped")
def _grouped(rng: random.Random, s: Scale) -> Callable[[], Any]:
    return _conv(rng, s, (1, 1, 3), "grouped")


@case("conv_depthwise")
def _depthwise(rng: random.Random, s: Scale) -> Callable[[], Any]:
    return _conv(rng, s, (3, 3, 3, 5, 7), "depthwise")


@case("conv_transposed")
def _transposed(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    n, c, h, w = _feature_map(rng, s, s.max_elems / 8)
    c_out, k = rng.choice(_CHANNELS[:10]), rng.choice((2, 4))
    x, weight = s.randn(n, c, h, w), s.randn(c, c_out, k, k)
    return lambda: F.conv_transpose2d(x, weight, None, 2, k // 2 - 1 if k == 4 else 0)


@case("linear")
def _linear(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    for _ in range(100):
        m = rng.choice((1, 1, 2, 8, 16, 49, 64, 197, 256, 1024, 1576, 4096))
        k, n = rng.choice(_WIDTHS + (1280, 4096, 9216)), rng.choice(_WIDTHS + (10, 1000, 4096))
        if 2 * m * k * n <= s.max_flops and m * max(k, n) <= s.max_elems:
            break
    x, weight, bias = s.randn(m, k), s.randn(n, k), s.randn(n)
    if rng.random() < 0.2:
        return lambda: x @ weight.t()
    return lambda: F.linear(x, weight, bias)


@case("bmm")
def _bmm(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch

    for _ in range(100):
        b, m, n = rng.choice((1, 6, 12, 16, 48, 96)), rng.choice(_TOKENS), rng.choice(_TOKENS)
        k = rng.choice((32, 64, 128, 197, 256))
        if 2 * b * m * n * k <= s.max_flops and b * m * max(n, k) <= s.max_elems:
            break
    x, y = s.randn(b, m, k), s.randn(b, k, n)
    return lambda: torch.bmm(x, y)


@case("attention")
def _attention(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    for _ in range(100):
        b, heads, length, dim = rng.choice(s.batches), rng.choice((1, 3, 6, 8, 12, 16)), rng.choice(_TOKENS), rng.choice((32, 64, 128))
        if 4 * b * heads * length * length * dim <= s.max_flops and b * heads * length * length <= s.max_elems:
            break
    q, k, v = (s.randn(b, heads, length, dim) for _ in range(3))
    return lambda: F.scaled_dot_product_attention(q, k, v)


_CHEAP = ("relu", "relu_", "relu6", "hardtanh_", "hardswish", "hardsigmoid", "neg", "clamp", "leaky_relu", "abs")
_MATH = ("sigmoid", "gelu", "silu", "tanh", "exp", "gelu_tanh", "silu_", "erf", "sqrt")


def _shape(rng: random.Random, s: Scale) -> tuple[int, ...]:
    return _feature_map(rng, s) if rng.random() < 0.75 else _tokens(rng, s)


def _unary_call(name: str, x: torch.Tensor) -> Callable[[], Any]:
    import torch
    import torch.nn.functional as F

    calls: dict[str, Callable[[], Any]] = {
        "relu": lambda: F.relu(x), "relu_": lambda: x.relu_(), "relu6": lambda: F.relu6(x),
        "hardtanh_": lambda: F.hardtanh_(x, 0.0, 6.0), "hardswish": lambda: F.hardswish(x),
        "hardsigmoid": lambda: F.hardsigmoid(x), "neg": lambda: -x, "clamp": lambda: x.clamp(-1, 1),
        "leaky_relu": lambda: F.leaky_relu(x, 0.1), "abs": lambda: x.abs(), "sigmoid": lambda: torch.sigmoid(x),
        "gelu": lambda: F.gelu(x), "gelu_tanh": lambda: F.gelu(x, approximate="tanh"), "silu": lambda: F.silu(x),
        "silu_": lambda: F.silu(x, inplace=True), "tanh": lambda: torch.tanh(x), "exp": lambda: torch.exp(x),
        "erf": lambda: torch.erf(x), "sqrt": lambda: torch.sqrt(x.abs()),
    }
    return calls[name]


@case("unary")
def _unary(rng: random.Random, s: Scale) -> Callable[[], Any]:
    return _unary_call(rng.choice(_CHEAP), s.randn(*_shape(rng, s)))


@case("unary_math")
def _unary_math(rng: random.Random, s: Scale) -> Callable[[], Any]:
    return _unary_call(rng.choice(_MATH), s.randn(*_shape(rng, s)))


@case("binary")
def _binary(rng: random.Random, s: Scale) -> Callable[[], Any]:
    shape = _shape(rng, s)
    x, y = s.randn(*shape), s.randn(*shape)
    return rng.choice((lambda: x + y, lambda: x * y, lambda: x - y, lambda: x.add_(y), lambda: x / (y.abs() + 1)))


@case("binary_broadcast")
def _broadcast(rng: random.Random, s: Scale) -> Callable[[], Any]:
    if rng.random() < 0.6:
        n, c, h, w = _feature_map(rng, s)
        x, y = s.randn(n, c, h, w), s.randn(n, c, 1, 1) if rng.random() < 0.7 else s.randn(1, c, 1, 1)
    else:
        b, length, width = _tokens(rng, s)
        x, y = s.randn(b, length, width), s.randn(width) if rng.random() < 0.5 else s.randn(b, length, 1)
    return rng.choice((lambda: x * y, lambda: x + y, lambda: x.mul_(y)))


@case("batch_norm")
def _batch_norm(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    n, c, h, w = _feature_map(rng, s)
    x, mean, var, weight, bias = s.randn(n, c, h, w), s.randn(c), s.randn(c).abs() + 1, s.randn(c), s.randn(c)
    return lambda: F.batch_norm(x, mean, var, weight, bias, False, 0.1, 1e-5)


@case("normalization")
def _normalization(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    if rng.random() < 0.75:
        b, length, width = _tokens(rng, s)
        x, weight, bias = s.randn(b, length, width), s.randn(width), s.randn(width)
        return lambda: F.layer_norm(x, (width,), weight, bias)
    n, c, h, w = _feature_map(rng, s)
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if c % g == 0)
    x = s.randn(n, c, h, w)
    return lambda: F.group_norm(x, groups)


@case("pool")
def _pool(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    x = s.randn(*_feature_map(rng, s))
    return rng.choice((lambda: F.max_pool2d(x, 3, 2, 1), lambda: F.max_pool2d(x, 2), lambda: F.avg_pool2d(x, 2),
                       lambda: F.max_pool2d(x, 3, 1, 1)))


@case("reduction")
def _reduction(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    if rng.random() < 0.7:
        x = s.randn(*_feature_map(rng, s))
        return rng.choice((lambda: x.mean((2, 3), keepdim=True), lambda: F.adaptive_avg_pool2d(x, 1),
                           lambda: x.sum(1), lambda: F.adaptive_avg_pool2d(x, 7)))
    x = s.randn(*_tokens(rng, s))
    return rng.choice((lambda: x.mean(1), lambda: x.sum(-1), lambda: x.amax(-1)))


@case("softmax")
def _softmax(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch

    b, length, width = _tokens(rng, s)
    x = s.randn(b, length, width) if rng.random() < 0.4 else s.randn(max(1, b * width // 64), length, length)
    return lambda: torch.softmax(x, -1)


@case("cat")
def _cat(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch

    n, c, h, w = _feature_map(rng, s, s.max_elems / 4)
    parts = [s.randn(n, rng.choice((c, c // 2 or 1, 2 * c)), h, w) for _ in range(rng.choice((2, 2, 3, 4)))]
    return lambda: torch.cat(parts, 1)


@case("copy")
def _copy(rng: random.Random, s: Scale) -> Callable[[], Any]:
    n, c, h, w = _feature_map(rng, s)
    if rng.random() < 0.5 and c % 2 == 0:  # a channel shuffle's transposed copy
        g = rng.choice([g for g in (2, 3, 4, 8) if c % g == 0])
        x = s.randn(n, c, h, w)
        return lambda: x.view(n, g, c // g, h, w).transpose(1, 2).contiguous()
    x = s.randn(n, c, h, w)
    return rng.choice((lambda: x.clone(), lambda: x.permute(0, 2, 3, 1).contiguous()))


@case("pad")
def _pad(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    x, p = s.randn(*_feature_map(rng, s)), rng.choice((1, 2, 3))
    return lambda: F.pad(x, (p, p, p, p))


@case("gather")
def _gather(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch
    import torch.nn.functional as F

    b, length, width = _tokens(rng, s)
    table = s.randn(rng.choice((1000, 30000, 50257)), width)
    index = torch.randint(0, table.shape[0], (b, length), device=s.device)
    return lambda: F.embedding(index, table)


@case("resample")
def _resample(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch.nn.functional as F

    x = s.randn(*_feature_map(rng, s, s.max_elems / 4))
    return rng.choice((lambda: F.interpolate(x, scale_factor=2, mode="nearest"),
                       lambda: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)))


@case("fill")
def _fill(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch

    shape = _shape(rng, s)
    return lambda: torch.zeros(shape, device=s.device, dtype=s.dtype)


@case("alloc")
def _alloc(rng: random.Random, s: Scale) -> Callable[[], Any]:
    import torch

    shape = _shape(rng, s)
    return lambda: torch.empty(shape, device=s.device, dtype=s.dtype)


@case("view")
def _view(rng: random.Random, s: Scale) -> Callable[[], Any]:
    n, c, h, w = _feature_map(rng, s, 2**16)
    x = s.randn(n, c, h, w)
    return rng.choice((lambda: x.flatten(1), lambda: x.view(n, -1), lambda: x.transpose(1, 2),
                       lambda: x.chunk(2, 1), lambda: x.reshape(n, c, h * w).permute(0, 2, 1),
                       lambda: x[:, : c // 2]))
