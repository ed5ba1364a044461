"""fvcore's ``FlopCountAnalysis``: what it counts, per aten op, as arithmetic over costlab's records.

fvcore traces the model with ``torch.jit`` and counts the ops in its handle table
(``fvcore/nn/flop_count.py``): one "flop" per multiply-add — MACs by another name — for
convolutions, ``linear``, ``matmul``, ``bmm`` and ``einsum``; batch norm at 2 per element at
inference (1 without an affine), 5 / 4 per element for batch statistics, layer and group norm;
adaptive average pooling at 1 per input element; upsampling at 1 (nearest) or 4 (bilinear) per
output; every other op (ReLU, add, attention, …) at zero, with a warning. costlab sees the same ops
after dispatch, so each handle becomes a rule over one :class:`~costlab.cost.capture.OpRecord`.

NB: a JIT op can be spelled two ways at dispatch: ``nn.AdaptiveAvgPool2d(1)`` runs as ``aten.mean``.
An ``aten.mean`` inside an ``AdaptiveAvgPool2d`` is the pooling; elsewhere it is taken to be
``x.mean(...)``, which fvcore does not count (a functional ``F.adaptive_avg_pool2d(x, 1)`` would then
show as ``unexplained``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from costlab.compare.engine import Measured, Seen, Term
from costlab.compare.registry import CounterSpec, register

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.capture import OpRecord

WHY_NORM = (
    "fvcore counts batch norm at 2 per element at inference (1 without an affine), 5 (4) with batch statistics, "
    "and layer / group norm at 5 (4); costlab counts inference batch norm as 2 FLOPs per element, no MACs"
)
WHY_POOL = "fvcore counts aten::adaptive_avg_pool2d at 1 per input element (costlab: FLOPs, not MACs)"
WHY_UPSAMPLE = "fvcore counts aten::upsample_nearest2d at 1 and aten::upsample_bilinear2d at 4 per output element"
WHY_GRID = "fvcore counts aten::grid_sampler at 4 per output element (as if bilinear)"

Rule = Callable[["OpRecord", Seen], "Term | None"]


def _agrees(op: OpRecord, seen: Seen) -> Term:
    # conv (transposed too: batch · prod(w) · prod(input spatial)), linear, mm, bmm: costlab's MACs exactly
    return Term(None, "", op.op, op.cost.macs, op.call, (op.index,))


def _module(op: OpRecord, seen: Seen) -> nn.Module | None:
    return seen.module(seen.report.calls[op.call])


def _batch_norm(op: OpRecord, seen: Seen) -> Term:
    module = _module(op, seen)
    kind = "instance norm" if module is not None and "InstanceNorm" in type(module).__name__ else "batch norm"
    affine = getattr(module, "affine", None)
    if affine is None:  # no module: (x, weight, bias, running_mean, running_var) with an affine
        affine = len(op.input_shapes) in (3, 5)
    statistics = op.cost.category == "normalization"  # training-mode batch norm (costlab's category)
    per = (5 if affine else 4) if statistics else (2 if affine else 1)
    numel = math.prod(op.input_shapes[0])
    return Term(f"{kind} at {per} per element", WHY_NORM, op.op, per * numel, op.call, (op.index,))


def _norm(kind: str) -> Rule:
    def rule(op: OpRecord, seen: Seen) -> Term:
        affine = len(op.input_shapes) > 1  # (x, weight, bias) with an affine, (x,) without
        per = 5 if affine else 4
        numel = math.prod(op.input_shapes[0])
        return Term(f"{kind} at {per} per element", WHY_NORM, op.op, per * numel, op.call, (op.index,))

    return rule


def _adaptive_pool(op: OpRecord, seen: Seen) -> Term | None:
    module = _module(op, seen)
    name = type(module).__name__ if module is not None else ""
    if op.op == "aten.mean" and name != "AdaptiveAvgPool2d":
        return None  # x.mean(...): fvcore counts aten::mean as zero
    if name in ("AdaptiveAvgPool1d", "AdaptiveAvgPool3d"):
        return None  # traced as aten::adaptive_avg_pool1d / 3d, which fvcore has no handle for
    numel = math.prod(op.input_shapes[0])
    return Term("adaptive average pooling at 1 per input element", WHY_POOL, op.op, numel, op.call, (op.index,))


def _per_output(per: int, what: str, why: str) -> Rule:
    def rule(op: OpRecord, seen: Seen) -> Term:
        numel = math.prod(op.output_shapes[0])
        return Term(what, why, op.op, per * numel, op.call, (op.index,))

    return rule


RULES: dict[str, Rule] = {
    **dict.fromkeys(("aten.convolution", "aten._convolution", "aten.convolution_overrideable"), _agrees),
    **dict.fromkeys(("aten.addmm", "aten.mm", "aten.bmm"), _agrees),
    **dict.fromkeys(
        ("aten.native_batch_norm", "aten._native_batch_norm_legit", "aten._native_batch_norm_legit_no_training"),
        _batch_norm,
    ),
    "aten.native_layer_norm": _norm("layer norm"),
    "aten.native_group_norm": _norm("group norm"),
    "aten._adaptive_avg_pool2d": _adaptive_pool,
    "aten.mean": _adaptive_pool,
    "aten.upsample_nearest2d": _per_output(1, "nearest upsampling at 1 per output", WHY_UPSAMPLE),
    "aten.upsample_bilinear2d": _per_output(4, "bilinear upsampling at 4 per output", WHY_UPSAMPLE),
    "aten.grid_sampler_2d": _per_output(4, "grid sampling at 4 per output", WHY_GRID),
}


def predict(seen: Seen) -> list[Term]:
    terms = []
    for op in seen.report.ops:
        rule = RULES.get(op.op)
        term = rule(op, seen) if rule is not None else None
        if term is not None:
            terms.append(term)
    return terms


def skip_why(op: OpRecord) -> str:
    if "attention" in op.op:
        return "fvcore has no handle for aten::scaled_dot_product_attention and counts it as zero"
    return f"fvcore has no handle for {op.op.replace('.', '::')} and counts it as zero"


def run(model: nn.Module, inputs: list[Any]) -> Measured:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, tuple(inputs))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    total = analysis.total()
    modules = {name: int(count) for name, count in analysis.by_module().items()}
    return Measured(int(total), modules)


COUNTER = register(
    CounterSpec(
        name="fvcore",
        title="fvcore FlopCountAnalysis",
        package="fvcore",
        unit='"flops" (one per multiply-add)',
        basis="macs",
        run=run,
        predict=predict,
        skip_why=skip_why,
        notes=(
            'calls multiply-accumulates "flops": its number is MACs, half of FLOPs',
            "counts batch norm (2 per element at inference) even though it folds into the convolution before it",
            "counts ReLU, ReLU6, hardswish, add, mul, cat and attention (aten::scaled_dot_product_attention) as zero",
            "counts transposed convolutions as costlab does (batch · weight · input positions) in this version",
        ),
    )
)
