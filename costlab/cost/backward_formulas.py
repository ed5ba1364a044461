"""Cost formulas of the ops autograd runs in a backward pass (``costlab profile --train``).

They register in the one registry of :mod:`costlab.cost.formulas`, with its conventions: MACs of
conv / matmul-like work only, FLOPs = 2 × MACs plus the element-wise arithmetic, every tensor an
op needs read once and every output written once. The matmuls of a linear layer's backward are
plain ``mm`` ops, already counted there; what is here are the fused backward kernels.

The rule the numbers follow (and the tests check in closed form): the backward of a convolution
costs its forward MACs once for the weight gradient and once for the input gradient, and autograd
asks only for the gradients it needs — the first layer's input needs none, so that layer costs
one forward's MACs in the backward, not two. ``torch.utils.flop_counter`` is not an oracle here:
torch 2.13's ``convolution_backward`` formula ignores ``groups`` for the weight gradient and
counts a depthwise convolution's weight gradient ``C`` times over.

Imported by :mod:`costlab.cost.capture` (which is what evaluates formulas), so the registry is
whole wherever a capture runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from costlab.cost.categories import Category
from costlab.cost.formulas import (
    OpCost,
    _ops,
    attention_macs,
    bytes_of,
    conv_macs,
    is_depthwise,
    nbytes,
    register,
    tensors,
)

__all__ = ["batch_norm_backward", "convolution_backward"]


def _mask(args: Sequence[Any], index: int, outputs: int = 3) -> tuple[bool, ...]:
    """An ``output_mask`` argument (which gradients autograd asked for); all of them when absent."""
    mask = args[index] if len(args) > index else None
    return tuple(bool(m) for m in mask) if mask is not None else (True,) * outputs


def _written(out: Any) -> int:
    return bytes_of([out])


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------


@register(*_ops("convolution_backward"))
def convolution_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
    #                      transposed, output_padding, groups, output_mask)
    # The input gradient is the transposed convolution of grad_output with the weight, the weight
    # gradient the correlation of input with grad_output: each the forward's MACs. The bias
    # gradient sums grad_output over every position: one add per element.
    # NB: the input is read only for the weight gradient, the weight only for the input gradient.
    grad_output, x, w = args[0], args[1], args[2]
    transposed, groups = bool(args[7]), int(args[9])
    want_input, want_weight, want_bias = _mask(args, 10)
    forward = conv_macs(x.shape, w.shape, grad_output.shape, transposed)
    macs = forward * (want_input + want_weight)
    flops = 2 * macs + (grad_output.numel() if want_bias else 0)
    read = nbytes(grad_output) + (nbytes(x) if want_weight else 0) + (nbytes(w) if want_input else 0)
    category = Category.DEPTHWISE_CONV if is_depthwise(x.shape, w.shape, groups, transposed) else Category.CONV
    return OpCost(category, macs, flops, read, _written(out))


# --------------------------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------------------------


@register(*_ops("native_batch_norm_backward"))
def batch_norm_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # native_batch_norm_backward(grad_out, input, weight, running_mean, running_var, save_mean,
    #                            save_invstd, train, eps, output_mask)
    # Training: the two reductions Σg and Σg·x̂ (x̂ recomputed: 2, product 1, two sums 2 → 5 per
    # element) give the weight and bias gradients; the input gradient w·invstd·(g − Σg/N − x̂·Σg·x̂/N)
    # is 4 more per element. Inference statistics are constants: the input gradient is g·(w·invstd),
    # 1 per element, and the reductions (5) run only for the weight and bias gradients.
    grad_output = args[0]
    train = bool(args[7]) if len(args) > 7 else True
    want_input, want_weight, want_bias = _mask(args, 9)
    elements = grad_output.numel()
    if train:
        flops = elements * (5 + (4 if want_input else 0))
    else:
        flops = elements * ((1 if want_input else 0) + (5 if want_weight or want_bias else 0))
    read = bytes_of([a for a in args[:7] if isinstance(a, torch.Tensor)])
    return OpCost(Category.NORMALIZATION, 0, flops, read, _written(out))


@register(*_ops("native_layer_norm_backward", "native_group_norm_backward", "_fused_rms_norm_backward"))
def norm_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # the batch-norm training rule over each normalized group: 5 per element for the reductions,
    # 4 for the input gradient
    grad_output = args[0]
    read = bytes_of([a for a in args if isinstance(a, torch.Tensor)])
    return OpCost(Category.NORMALIZATION, 0, 9 * grad_output.numel(), read, _written(out))


# --------------------------------------------------------------------------------------------
# Activations, dropout, softmax
# --------------------------------------------------------------------------------------------


def _elementwise_backward(flops_per_element: int) -> Any:
    """The gradient of an element-wise op: read the incoming gradient and the saved tensor(s),
    write one gradient, ``flops_per_element`` per element (the forward's convention: 1 unless said)."""

    def formula(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        y = out if isinstance(out, torch.Tensor) else args[0]
        read = bytes_of([a for a in args if isinstance(a, torch.Tensor)])
        return OpCost(Category.ELEMENTWISE, 0, flops_per_element * y.numel(), read, _written(out))

    return formula


# NB: every activation's gradient counts 1 FLOP per element, as its forward does (a compare-and-
# select for ReLU and ReLU6; the derivative of sigmoid or GELU costs more, as their forwards do).
register(
    *_ops(
        "threshold_backward", "hardtanh_backward", "hardswish_backward", "hardsigmoid_backward",
        "sigmoid_backward", "tanh_backward", "silu_backward", "gelu_backward", "leaky_relu_backward",
        "elu_backward", "softplus_backward", "mish_backward", "hardshrink_backward", "softshrink_backward",
        "logit_backward", "glu_backward", "_prelu_kernel_backward",
    )
)(_elementwise_backward(1))
register(*_ops("native_dropout_backward"))(_elementwise_backward(2))  # g · mask · scale, as the forward


@register(*_ops("_softmax_backward_data", "_log_softmax_backward_data"))
def softmax_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # softmax: y·(g − Σ g·y): a product and a sum for Σ, a subtraction and a product → 4 per element
    # log-softmax: g − exp(y)·Σg: the sum, exp, product and subtraction → 4 per element
    grad_output, output = args[0], args[1]
    return OpCost(Category.REDUCTION, 0, 4 * grad_output.numel(), nbytes(grad_output) + nbytes(output), _written(out))


# --------------------------------------------------------------------------------------------
# Pooling, resampling
# --------------------------------------------------------------------------------------------


@register(*_ops("max_pool2d_with_indices_backward", "max_pool3d_with_indices_backward", "adaptive_max_pool2d_backward",
                "adaptive_max_pool3d_backward"))
def max_pool_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # each output gradient is added to the input position its index names: 1 per grad element;
    # the input-sized result is written whole (zeros where no maximum was)
    grad_output = args[0]
    indices = [a for a in args[1:] if isinstance(a, torch.Tensor) and not a.is_floating_point()]
    return OpCost(Category.REDUCTION, 0, grad_output.numel(), nbytes(grad_output) + bytes_of(indices), _written(out))


def _window(kernel: Any, spatial_dims: int) -> int:
    kernel = [kernel] if isinstance(kernel, int) else list(kernel)
    return kernel[0] ** spatial_dims if len(kernel) == 1 else math.prod(kernel)


def _avg_pool_backward(spatial_dims: int) -> Any:
    def formula(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
        # each output gradient is spread (divided, added) over its window: one FLOP per window element,
        # as the forward counts it
        grad_output = args[0]
        flops = grad_output.numel() * _window(args[2], spatial_dims)
        return OpCost(Category.REDUCTION, 0, flops, nbytes(grad_output), _written(out))

    return formula


register(*_ops("avg_pool2d_backward"))(_avg_pool_backward(2))
register(*_ops("avg_pool3d_backward"))(_avg_pool_backward(3))


@register(*_ops("_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d_backward", "upsample_nearest1d_backward",
                "upsample_nearest2d_backward", "upsample_nearest3d_backward", "upsample_bilinear2d_backward",
                "upsample_linear1d_backward", "upsample_trilinear3d_backward", "upsample_bicubic2d_backward"))
def resample_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # every input position gathers its share of the output gradient: one FLOP per input-gradient element
    grad_output, grad_input = args[0], tensors([out])[0]
    return OpCost(Category.RESAMPLE, 0, grad_input.numel(), nbytes(grad_output), _written(out))


# --------------------------------------------------------------------------------------------
# Gathers and slices
# --------------------------------------------------------------------------------------------


@register(*_ops("embedding_dense_backward"))
def embedding_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # embedding_dense_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq):
    # the whole table-sized gradient is written, each grad row added into the row its index names
    grad_output, indices = args[0], args[1]
    return OpCost(Category.DATA_MOVEMENT, 0, grad_output.numel(), nbytes(grad_output) + nbytes(indices), _written(out))


@register(*_ops("select_backward", "slice_backward", "diagonal_backward", "unfold_backward", "index_select_backward"))
def slice_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # a zero tensor of the input's size with the gradient copied into the slice: read g, write the whole
    return OpCost(Category.DATA_MOVEMENT, 0, 0, nbytes(args[0]), _written(out))


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------


@register(
    *_ops(
        "_scaled_dot_product_flash_attention_for_cpu_backward",
        "_scaled_dot_product_flash_attention_backward",
        "_scaled_dot_product_efficient_attention_backward",
        "_scaled_dot_product_cudnn_attention_backward",
    )
)
def fused_attention_backward(args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> OpCost:
    # (grad_out, q, k, v, out, logsumexp, ...): a fused kernel recomputes the scores q·kᵀ (L·S·E),
    # then dV = Pᵀ·dO (L·S·Ev), dP = dO·Vᵀ (L·S·Ev), dQ = dS·K (L·S·E), dK = dSᵀ·Q (L·S·E):
    # L·S·(3E + 2Ev) MACs per batch-head; the softmax's gradient is 4 FLOPs per score.
    # NB: a causal mask's skipped half is counted, as the forward formula counts it.
    q, k, v = args[1], args[2], args[3]
    _, scores = attention_macs(q.shape, k.shape, v.shape)
    macs = scores * (3 * q.shape[-1] + 2 * v.shape[-1])
    read = bytes_of([a for a in args[:6] if isinstance(a, torch.Tensor)])
    return OpCost(Category.MATMUL, macs, 2 * macs + 4 * scores, read, _written(out))
