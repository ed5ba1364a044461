"""torch's ``FlopCounterMode`` (``torch.utils.flop_counter``): what it counts, as arithmetic over costlab's records.

FlopCounterMode is a dispatch mode like costlab's capture, so it sees the same aten ops. Its
registry has formulas for matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``), convolutions
and the fused attention kernels, each at 2 FLOPs per multiply-add — the bias of ``addmm`` and of a
convolution ignored, attention's softmax ignored — and nothing else: element-wise ops, batch norm,
pooling and softmax count zero. costlab's FLOPs count all of those, so its FLOPs are the basis.

NB: the formulas are those of torch 2.13's registry; a later torch may register more ops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costlab.compare.engine import Measured, Seen, Term
from costlab.compare.registry import CounterSpec, register

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.capture import OpRecord

CONVOLUTIONS = ("aten.convolution", "aten._convolution", "aten.convolution_overrideable")
PRODUCTS = ("aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm")
ATTENTION = (
    "aten._scaled_dot_product_efficient_attention",
    "aten._scaled_dot_product_flash_attention",
    "aten._scaled_dot_product_cudnn_attention",
)
CPU_ATTENTION = "aten._scaled_dot_product_flash_attention_for_cpu"

WHY_BIAS = "FlopCounterMode counts 2 FLOPs per multiply-add and ignores the bias add (costlab: 1 per output)"
WHY_SOFTMAX = "FlopCounterMode counts attention's two matrix products, not its softmax (costlab: 3 per score)"


def predict(seen: Seen) -> list[Term]:
    terms = []
    for op in seen.report.ops:
        if op.op in CONVOLUTIONS:
            what = "skips the bias add of convolutions"
        elif op.op in PRODUCTS:
            what = "skips the bias add of addmm / baddbmm (linear layers)"
        elif op.op in ATTENTION:
            what = "skips the softmax of attention"
        else:
            continue
        why = WHY_SOFTMAX if op.op in ATTENTION else WHY_BIAS
        terms.append(Term(what, why, op.op, 2 * op.cost.macs, op.call, (op.index,)))
    return terms


def skip_why(op: OpRecord) -> str:
    if op.op == CPU_ATTENTION:
        return (
            "torch's flop_counter has no formula for the CPU attention kernel "
            "(_scaled_dot_product_flash_attention_for_cpu): attention on CPU counts zero"
        )
    return "FlopCounterMode counts only matrix products, convolutions and the GPU attention kernels"


def run(model: nn.Module, inputs: list[Any]) -> Measured:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*inputs)
    root = type(model).__name__
    modules: dict[str, int] = {}
    for key, per_op in counter.get_flop_counts().items():
        if key == "Global":
            continue
        name = "" if key == root else key[len(root) + 1 :] if key.startswith(root + ".") else key
        modules[name] = sum(per_op.values())
    return Measured(int(counter.get_total_flops()), modules)


COUNTER = register(
    CounterSpec(
        name="torch",
        title="torch.utils.flop_counter.FlopCounterMode",
        package="torch",
        unit="FLOPs (two per multiply-add)",
        basis="flops",
        run=run,
        predict=predict,
        skip_why=skip_why,
        notes=(
            "ignores `groups` in the convolution weight gradient (conv_backward_flop treats it as a dense "
            "convolution): a grouped or depthwise convolution's backward is overcounted by ×groups",
            "has no formula for the CPU attention kernel (_scaled_dot_product_flash_attention_for_cpu): "
            "attention on CPU counts zero",
            "counts no element-wise op, batch norm, pooling or softmax, and no bias add",
        ),
    )
)
