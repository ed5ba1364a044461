"""Cost formulas: one registry mapping an aten op to a pure function of its shapes.

Every formula receives the op's arguments (tensors on the ``meta`` device carry only shapes and
dtypes) and its output, and returns an :class:`OpCost`. Adding an op is one function and one
``@register(...)`` line; factories build the families of near-identical element-wise formulas.

Conventions (see the README's "What the numbers mean"):

* ``macs`` — multiply-accumulates of conv / matmul-like ops only (what papers call "FLOPs").
* ``flops`` — 2 × MACs, plus the arithmetic of everything else: one FLOP per output element of an
  element-wise op unless a formula says otherwise (inference batch norm: 2; bias add: 1).
* ``bytes_read`` / ``bytes_written`` — every tensor input (weights included) read once and every
  output written once, at its element size: ShuffleNet V2's memory access cost, no cache reuse.
* Views move nothing and cost nothing; copies (``cat``, ``clone``, ``contiguous``) read and write.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from costlab.cost.categories import Category

aten = torch.ops.aten

__all__ = [
    "FORMULAS",
    "FREE_OPS",
    "Category",
    "Formula",
    "OpCost",
    "cost_of",
    "formula_for",
    "free",
    "is_free",
    "register",
]


@dataclass(frozen=True, slots=True)
class OpCost:
    """The cost of one op call. Units are in the names."""

    category: str
    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0

    @property
    def bytes_accessed(self) -> int:
        """Memory access cost in bytes (ShuffleNet V2's MAC): everything read plus everything written."""
        return self.bytes_read + self.bytes_written


Formula = Callable[[Sequence[Any], dict[str, Any], Any], OpCost]

FORMULAS: dict[Any, Formula] = {}
"""aten overload packet (``aten.convolution``) → formula; a library's op (``"torchvision::nms"``, which
exists only once the library is imported) is registered by name and found on its first call."""

FREE_OPS: set[Any] = set()
"""Ops that only reinterpret metadata (views, aliases): deliberately zero, never "unsupported"."""


def _claim(op: Any) -> None:
    if op in FORMULAS or op in FREE_OPS:  # registered twice is a bug: the second would silently win
        raise ValueError(f"{op if isinstance(op, str) else 'aten.' + op.__name__} already has a cost formula")


def register(*ops: Any) -> Callable[[Formula], Formula]:
    """Register one formula for several ops (aten overload packets, or ``"namespace::name"``);
    missing aten ops are skipped. An op registered twice raises."""

    def decorate(formula: Formula) -> Formula:
        for op in ops:
            _claim(op)
            FORMULAS[op] = formula
        return formula

    return decorate


def free(*ops: Any) -> None:
    """Declare ops that only reinterpret metadata (views, aliases): deliberately zero, never "unsupported"."""
    for op in ops:
        _claim(op)
        FREE_OPS.add(op)


_FREE = OpCost(Category.VIEW)
_UNSUPPORTED = OpCost(Category.UNSUPPORTED)


def cost_of(func: Any, args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    """What one executed op cost: its formula's answer; views cost nothing; an op without a formula
    is ``Category.UNSUPPORTED`` (zero, and the capture lists it: never silently counted as free)."""
    packet = func.overloadpacket
    formula = FORMULAS.get(packet)
    if formula is None and func.namespace != "aten" and packet not in FREE_OPS:
        formula = FORMULAS.get(packet._qualified_op_name)  # a library op registered by name
        if formula is not None:
            FORMULAS[packet] = formula
    if formula is not None:
        return formula(args, kwargs, out)
    return _FREE if packet in FREE_OPS else _UNSUPPORTED


def formula_for(func: Any) -> Formula | None:
    """The formula for an ``OpOverload`` (by its overload packet, else its qualified name), or None."""
    return FORMULAS.get(func.overloadpacket) or FORMULAS.get(func.overloadpacket._qualified_op_name)


def is_free(func: Any) -> bool:
    """True for views and aliases: ops that move no data."""
    return func.overloadpacket in FREE_OPS


def _ops(*names: str) -> list[Any]:
    """The aten overload packets named, skipping names this torch version does not have."""
    return [getattr(aten, name) for name in names if hasattr(aten, name)]


# --------------------------------------------------------------------------------------------
# Helpers: bytes of tensors
# --------------------------------------------------------------------------------------------


def tensors(values: Iterable[Any]) -> list[torch.Tensor]:
    """Every tensor in ``values``, looking inside lists, tuples and dicts (``cat`` takes a list).

    Hand-rolled rather than ``torch.utils._pytree``, and a list rather than a generator: this
    runs several times for every op of every capture.
    """
    found: list[torch.Tensor] = []
    _collect(values, found)
    return found


_Tensor = torch.Tensor


def _collect(values: Iterable[Any], found: list[torch.Tensor]) -> None:
    for value in values:
        kind = type(value)
        if kind is _Tensor or kind is torch.nn.Parameter or isinstance(value, _Tensor):
            found.append(value)
        elif kind is list or kind is tuple:
            _collect(value, found)
        elif kind is dict:
            _collect(value.values(), found)


def nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def bytes_of(values: Iterable[Any]) -> int:
    return sum(nbytes(t) for t in tensors(values))


def _first(out: Any) -> torch.Tensor:
    """The first tensor output of an op (its "result"; later ones are saved statistics or indices)."""
    return out if isinstance(out, torch.Tensor) else tensors([out])[0]


def _io(category: str, args: Sequence[Any], out: Any, macs: int = 0, flops: int = 0) -> OpCost:
    """Read every tensor argument once, write every tensor output once."""
    return OpCost(category, macs, flops, bytes_of(args), bytes_of([out]))


# --------------------------------------------------------------------------------------------
# Convolution and matrix products
# --------------------------------------------------------------------------------------------


def conv_macs(x_shape: Sequence[int], w_shape: Sequence[int], out_shape: Sequence[int], transposed: bool) -> int:
    """MACs of an N-d convolution.

    Forward: each output element is a dot product over ``C_in / groups · prod(kernel)`` inputs, and
    ``w_shape = (C_out, C_in / groups, *kernel)``, so MACs = ``numel(out) · w[1] · prod(kernel)``.
    Transposed: each *input* element is scattered to ``C_out / groups · prod(kernel)`` outputs, and
    ``w_shape = (C_in, C_out / groups, *kernel)``, so MACs = ``numel(x) · w[1] · prod(kernel)``.
    NB: padded positions and dilation holes are counted like real ones (the papers' convention).
    """
    per_point = w_shape[1] * math.prod(w_shape[2:])
    return math.prod(x_shape if transposed else out_shape) * per_point


def is_depthwise(x_shape: Sequence[int], w_shape: Sequence[int], groups: int, transposed: bool) -> bool:
    """One filter per input channel (``groups == C_in``, one input channel per group), as MobileNet uses."""
    return not transposed and groups > 1 and groups == x_shape[1] and w_shape[1] == 1


@register(*_ops("convolution", "_convolution", "convolution_overrideable"))
def convolution(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    x, w, bias = args[0], args[1], args[2]
    transposed, groups = bool(args[6]), int(args[8])
    y = _first(out)
    macs = conv_macs(x.shape, w.shape, y.shape, transposed)
    flops = 2 * macs + (y.numel() if bias is not None else 0)  # the fused bias add: 1 per output
    category = Category.DEPTHWISE_CONV if is_depthwise(x.shape, w.shape, groups, transposed) else Category.CONV
    return _io(category, args[:3], out, macs, flops)


@register(*_ops("mm"))
def mm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # (n × k) @ (k × m): n·k·m MACs
    a, b = args[0], args[1]
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    return _io(Category.MATMUL, args[:2], out, macs, 2 * macs)


@register(*_ops("addmm"))
def addmm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # bias + (n × k) @ (k × m): n·k·m MACs, plus one add per output element
    a, b = args[1], args[2]
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    return _io(Category.MATMUL, args[:3], out, macs, 2 * macs + _first(out).numel())


@register(*_ops("bmm"))
def bmm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # (b × n × k) @ (b × k × m): b·n·k·m MACs
    a, b = args[0], args[1]
    macs = a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    return _io(Category.MATMUL, args[:2], out, macs, 2 * macs)


@register(*_ops("baddbmm"))
def baddbmm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    a, b = args[1], args[2]
    macs = a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    return _io(Category.MATMUL, args[:3], out, macs, 2 * macs + _first(out).numel())


@register(*_ops("mv", "dot", "vdot"))
def mv(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # (n × k) @ (k,) or (k,) · (k,): one MAC per element of the first operand
    macs = args[0].numel()
    return _io(Category.MATMUL, args[:2], out, macs, 2 * macs)


def attention_macs(q_shape: Sequence[int], k_shape: Sequence[int], v_shape: Sequence[int]) -> tuple[int, int]:
    """MACs of ``softmax(q kᵀ) v`` and the number of attention scores.

    q: (…, L, E), k: (…, S, E), v: (…, S, Ev): q kᵀ is L·S·E MACs per batch-head, scores @ v is L·S·Ev.
    """
    batch_heads = math.prod(q_shape[:-2])
    length, embed = q_shape[-2], q_shape[-1]
    source, value_embed = k_shape[-2], v_shape[-1]
    scores = batch_heads * length * source
    return scores * (embed + value_embed), scores


@register(
    *_ops(
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable",
    )
)
def fused_attention(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # NB: a fused kernel never writes the L×S score matrix, so only q, k, v (and a mask) are read.
    q, k, v = args[0], args[1], args[2]
    macs, scores = attention_macs(q.shape, k.shape, v.shape)
    flops = 2 * macs + 3 * scores  # softmax: exp, sum and divide per score
    mask = kwargs.get("attn_mask")
    return OpCost(Category.MATMUL, macs, flops, bytes_of([q, k, v, mask]), nbytes(_first(out)))


# --------------------------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------------------------


@register(*_ops("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training"))
def batch_norm(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)
    # _native_batch_norm_legit_no_training has no `training` argument: it is inference.
    x = args[0]
    training = len(args) > 5 and isinstance(args[5], bool) and args[5]
    if len(args) == 5 or (len(args) > 5 and not isinstance(args[5], bool)):
        training = False  # _no_training(input, weight, bias, mean, var, momentum, eps)
    y = _first(out)
    if training:
        # statistics (mean: 1, variance: 2 per element) then normalise and scale-shift (2)
        return _io(Category.NORMALIZATION, args[:5], y, flops=5 * x.numel())
    # inference folds to y = x·scale + shift: 2 FLOPs per element, an element-wise op
    return _io(Category.ELEMENTWISE, args[:5], y, flops=2 * x.numel())


@register(*_ops("native_layer_norm", "native_group_norm", "_fused_rms_norm"))
def norm_with_statistics(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # mean (1), variance (2), normalise (1) and affine (1) per element: 5
    x = args[0]
    return _io(Category.NORMALIZATION, [a for a in args if isinstance(a, torch.Tensor)], _first(out), flops=5 * x.numel())


# --------------------------------------------------------------------------------------------
# Pooling, reductions, softmax
# --------------------------------------------------------------------------------------------


def _window(kernel: Any, spatial_dims: int) -> int:
    if isinstance(kernel, int):
        return kernel**spatial_dims
    kernel = list(kernel)
    if len(kernel) == 1:
        return kernel[0] ** spatial_dims
    return math.prod(kernel)


def _pool(spatial_dims: int) -> Formula:
    """Factory for windowed pooling over ``spatial_dims`` dims.

    One comparison (max) or add (avg) per window element per output.
    NB: a window of k elements needs k−1 adds and one divide: counted as k.
    """

    def formula(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        y = _first(out)
        kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
        return _io(Category.REDUCTION, args[:1], out, flops=y.numel() * _window(kernel, spatial_dims))

    return formula


register(*_ops("max_pool1d", "avg_pool1d"))(_pool(1))
register(*_ops("max_pool2d", "max_pool2d_with_indices", "avg_pool2d"))(_pool(2))
register(*_ops("max_pool3d", "max_pool3d_with_indices", "avg_pool3d"))(_pool(3))


@register(
    *_ops(
        "_adaptive_avg_pool2d",
        "_adaptive_avg_pool3d",
        "adaptive_max_pool2d",
        "adaptive_max_pool3d",
        "adaptive_max_pool1d",
    )
)
def adaptive_pool(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # each output reduces a window of ceil(in / out) along every pooled dim
    x, y = args[0], _first(out)
    pooled = len(args[1]) if not isinstance(args[1], int) else 1
    window = math.prod(math.ceil(i / o) for i, o in zip(x.shape[-pooled:], y.shape[-pooled:]))
    return _io(Category.REDUCTION, args[:1], out, flops=y.numel() * window)


@register(*_ops("mean", "sum", "amax", "amin", "max", "min", "prod", "var", "std", "var_mean", "std_mean",
                "norm", "linalg_vector_norm", "logsumexp", "argmax", "argmin", "any", "all", "cumsum"))
def reduction(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # one FLOP per input element (binary max/min with two tensors are element-wise, handled there)
    inputs = list(tensors(args))
    if len(inputs) == 2 and inputs[0].shape == inputs[1].shape:  # aten.max.other / min.other
        return _io(Category.ELEMENTWISE, inputs, out, flops=_first(out).numel())
    return _io(Category.REDUCTION, inputs, out, flops=inputs[0].numel())


@register(*_ops("_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax"))
def softmax(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # exp, running sum and divide per element: 3 (the max-subtraction pass is not counted)
    return _io(Category.REDUCTION, args[:1], out, flops=3 * args[0].numel())


# --------------------------------------------------------------------------------------------
# Resampling and padding
# --------------------------------------------------------------------------------------------


def _resample(flops_per_output: int) -> Formula:
    def formula(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        return _io(Category.RESAMPLE, args[:1], out, flops=flops_per_output * _first(out).numel())

    return formula


# nearest copies; linear interpolation weighs 2^d neighbours: 2^d multiplies + (2^d − 1) adds
register(*_ops("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
               "_upsample_nearest_exact2d", "_upsample_nearest_exact3d"))(_resample(0))
register(*_ops("upsample_linear1d"))(_resample(3))
register(*_ops("upsample_bilinear2d", "_upsample_bilinear2d_aa"))(_resample(7))
register(*_ops("upsample_trilinear3d"))(_resample(15))
register(*_ops("upsample_bicubic2d", "_upsample_bicubic2d_aa"))(_resample(31))  # 16 taps


@register(*_ops("constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
                "replication_pad1d", "replication_pad2d", "replication_pad3d", "_pad_circular"))
def pad(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return _io(Category.DATA_MOVEMENT, args[:1], out)


# --------------------------------------------------------------------------------------------
# Element-wise arithmetic
# --------------------------------------------------------------------------------------------


def elementwise(flops_per_element: int = 1) -> Formula:
    """Factory: read every tensor input, write the output, ``flops_per_element`` per output element."""

    def formula(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        y = _first(out)
        return _io(Category.ELEMENTWISE, list(args) + list(kwargs.values()), y, flops=flops_per_element * y.numel())

    return formula


_UNARY = (
    "relu", "relu6", "hardtanh", "clamp", "clamp_min", "clamp_max", "threshold", "leaky_relu", "elu", "selu",
    "celu", "gelu", "silu", "mish", "sigmoid", "hardsigmoid", "hardswish", "tanh", "softplus", "softsign",
    "_prelu_kernel", "prelu", "exp", "exp2", "expm1", "log", "log2", "log1p", "sqrt", "rsqrt", "reciprocal",
    "neg", "abs", "sign", "erf", "erfinv", "sin", "cos", "tan", "floor", "ceil", "round", "trunc", "frac",
    "logical_not", "bitwise_not", "isnan", "isinf", "nan_to_num", "square", "logit", "hardshrink",
    "softshrink", "tanhshrink", "sgn",
)
_BINARY = (
    "add", "sub", "rsub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "maximum", "minimum", "fmax", "fmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
    "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "where", "masked_fill", "atan2", "hypot",
    "copysign", "xlogy", "lerp", "_add_relu",
)


def _with_inplace(names: Iterable[str]) -> list[Any]:
    return _ops(*[variant for name in names for variant in (name, name + "_")])


register(*_with_inplace(_UNARY + _BINARY))(elementwise(1))
register(*_with_inplace(("addcmul", "addcdiv")))(elementwise(2))  # x + v·(a ∘ b): a product and a sum


@register(*_ops("native_dropout"))
def dropout(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # training-mode dropout: draw a mask, multiply and scale (eval-mode dropout dispatches nothing)
    return _io(Category.ELEMENTWISE, args[:1], out, flops=2 * args[0].numel())


# --------------------------------------------------------------------------------------------
# Copies, gathers and creation
# --------------------------------------------------------------------------------------------


@register(*_ops("cat", "stack", "clone", "_to_copy", "flip", "roll", "repeat", "tile", "tril", "triu",
                "_unsafe_index", "index", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
                "native_channel_shuffle", "im2col", "col2im", "lift_fresh_copy", "_reshape_copy",
                "repeat_interleave", "scatter", "scatter_add", "index_put", "index_copy", "masked_scatter",
                "slice_scatter", "select_scatter", "diagonal_scatter", "sort", "topk", "index_put_"))
def copy(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    return _io(Category.DATA_MOVEMENT, args, out)


@register(*_ops("copy_"))
def copy_into(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # copy_(dst, src): read src, write dst (dst's old values are not read)
    return OpCost(Category.DATA_MOVEMENT, bytes_read=nbytes(args[1]), bytes_written=nbytes(args[0]))


@register(*_ops("embedding", "index_select", "gather", "take", "masked_select", "nonzero"))
def gather(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # a gather reads the indices and only the rows it picks (about one output's worth), not the table
    y = _first(out)
    indices = [t for t in tensors(args) if not t.is_floating_point()]
    read = bytes_of(indices) + nbytes(y)
    return OpCost(Category.DATA_MOVEMENT, bytes_read=read, bytes_written=bytes_of([out]))


@register(*_ops("zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "new_zeros", "new_ones",
                "new_full", "fill", "fill_", "zero_", "arange", "linspace", "randn", "rand", "randint",
                "randn_like", "rand_like", "randint_like", "normal", "normal_", "uniform_", "bernoulli",
                "bernoulli_", "eye", "scalar_tensor", "tensor", "_to_dense"))
def fill(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # creation writes its output once and reads nothing
    return OpCost(Category.CREATION, bytes_written=bytes_of([out]))


@register(*_ops("empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "empty_permuted"))
def allocate(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # an allocation touches no memory
    return OpCost(Category.CREATION)


free(
    *_ops(
        "view", "_unsafe_view", "_reshape_alias", "reshape", "as_strided", "as_strided_", "transpose", "t",
        "permute", "expand", "squeeze", "unsqueeze", "slice", "select", "split", "split_with_sizes", "unbind", "chunk",
        "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "_assert_async", "_assert_scalar",  # (an assert reads a flag)
        "alias", "detach", "lift_fresh", "narrow", "diagonal", "unfold", "view_as_real", "view_as_complex",
        "movedim", "swapaxes", "flatten", "unflatten", "expand_as", "view_as", "numpy_T", "mT", "_neg_view",
        "_conj", "conj", "resolve_conj", "resolve_neg", "contiguous", "_local_scalar_dense", "sym_size",
        "sym_stride", "sym_numel", "sym_storage_offset", "is_same_size", "dim", "size", "stride", "numel", "result_type",
    )
)
