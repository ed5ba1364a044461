"""What the rules read from a Report's records: convolutions by their shapes, the block a layer
belongs to, parallel branches through the op graph, and kernels per block.

All arithmetic is in elements (the paper's MAC); evidence in bytes multiplies by the element size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from costlab.cost.capture import OpRecord
from costlab.cost.categories import Category
from costlab.cost.report import Report
from costlab.cost.tracker import ModuleCall

__all__ = [
    "CONTAINERS",
    "Conv",
    "ancestors",
    "branch_counts",
    "channels_of",
    "convolutions",
    "enclosing_block",
    "kernels_by_block",
    "ratio_text",
]


CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}
_COMPUTE = {Category.CONV, Category.DEPTHWISE_CONV, Category.MATMUL, Category.REDUCTION,
            Category.NORMALIZATION, Category.RESAMPLE}
_KERNELS = _COMPUTE | {Category.ELEMENTWISE, Category.DATA_MOVEMENT}


@dataclass(frozen=True)
class Conv:
    """A convolution op read from its shapes: ``x`` (N, C1, H, W), weight (C2, C1/g, k…), out."""

    op: OpRecord
    c1: int
    c2: int
    groups: int
    kernel: tuple[int, ...]
    out_hw: int  # N · H_out · W_out: the paper's h·w with the batch folded in
    element_size: int

    @property
    def pointwise(self) -> bool:
        return all(k == 1 for k in self.kernel)

    def label(self, call: ModuleCall) -> str:
        kernel = "x".join(map(str, self.kernel))
        grouped = f", g={self.groups}" if self.groups > 1 else ""
        return f"{call.type} {kernel} {self.c1}→{self.c2}{grouped}"


def convolutions(report: Report) -> Iterator[Conv]:
    for op in report.ops:
        if op.cost.category not in (Category.CONV, Category.DEPTHWISE_CONV) or len(op.input_shapes) < 2:
            continue
        x, w, y = op.input_shapes[0], op.input_shapes[1], op.output_shapes[0]
        if len(x) < 3 or len(w) != len(x) or w[1] == 0:
            continue
        element = op.cost.bytes_written // max(1, math.prod(y))
        yield Conv(op, x[1], y[1], x[1] // w[1], tuple(w[2:]), y[0] * math.prod(y[2:]), max(1, element))


def channels_of(shapes: tuple[tuple[int, ...], ...]) -> int | None:
    return shapes[0][1] if shapes and len(shapes[0]) >= 2 else None


def enclosing_block(report: Report, call_index: int, c1: int, c2: int) -> ModuleCall:
    """The block a c1→c2 layer belongs to: climb past wrappers with the same channels (ConvBNAct)
    and past plain containers (Sequential), to the module a reader thinks of as the block."""
    call = report.calls[call_index]
    while call.parent is not None and (channels_of(call.input_shapes), channels_of(call.output_shapes)) == (c1, c2):
        call = report.calls[call.parent]
    while call.parent is not None and call.type in CONTAINERS:
        call = report.calls[call.parent]
    return call


def ratio_text(c1: int, c2: int) -> str:
    small, large = min(c1, c2), max(c1, c2)
    ratio = large / small
    text = f"{ratio:.0f}" if abs(ratio - round(ratio)) < 0.05 else f"{ratio:.1f}"
    return f"1:{text}" if c1 <= c2 else f"{text}:1"


def ancestors(report: Report, index: int) -> list[int]:
    """``index`` and every module call around it, innermost first, up to the model."""
    chain = [index]
    parent = report.calls[index].parent
    while parent is not None:
        chain.append(parent)
        parent = report.calls[parent].parent
    return chain


def _owner(report: Report, calls: list[int]) -> int:
    """The innermost non-container module call that contains every one of ``calls``."""
    common = ancestors(report, calls[0])
    for other in calls[1:]:
        seen = set(ancestors(report, other))
        common = [c for c in common if c in seen]
    for index in common:
        if report.calls[index].type not in CONTAINERS:
            return index
    return 0


def branch_counts(report: Report) -> dict[int, int]:
    """Per module call: the most compute ops that read one tensor inside it (parallel branches).

    Views are followed to the tensor they alias (a ``chunk`` feeding two convs is two branches);
    a tensor read by one conv and an element-wise add (a residual) is one branch, not two.
    """
    base: dict[int, int] = {}
    consumers: dict[int, list[int]] = {}
    for op in report.ops:
        if op.cost.category == Category.VIEW:
            for out in op.outputs:
                base[out] = base.get(op.inputs[0], op.inputs[0]) if op.inputs else out
            continue
        if op.cost.category in _COMPUTE:
            for tensor in {base.get(t, t) for t in op.inputs}:
                consumers.setdefault(tensor, []).append(op.call)
    counts: dict[int, int] = {}
    for calls in consumers.values():
        if len(calls) >= 2:
            owner = _owner(report, calls)
            counts[owner] = max(counts.get(owner, 0), len(calls))
    return counts


def kernels_by_block(report: Report) -> dict[int, tuple[int, int]]:
    """Per non-container, non-leaf module call: (kernel launches, MACs) in its subtree."""
    has_children = {c.parent for c in report.calls if c.parent is not None}
    blocks = {c.index for c in report.calls if c.index in has_children and c.parent is not None and c.type not in CONTAINERS}
    totals: dict[int, list[int]] = {b: [0, 0] for b in blocks}
    for op in report.ops:
        if op.cost.category not in _KERNELS:
            continue
        for index in ancestors(report, op.call):
            if index in totals:
                totals[index][0] += 1
                totals[index][1] += op.cost.macs
    return {b: (n, macs) for b, (n, macs) in totals.items() if n}
