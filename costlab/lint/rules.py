"""ShuffleNet V2's four guidelines (Ma et al. 2018, Sec. 2) as lint rules over a :class:`Report`.

One registry, like the cost formulas: each rule is a function ``(Report, options) -> [Finding]``
registered with :func:`rule`, which also declares its thresholds (name, default, meaning). The
thresholds are configurable in ``[tool.costlab.lint.G1]`` etc.; see :mod:`costlab.lint.config`.

All arithmetic is in elements (the paper's MAC); evidence in bytes multiplies by the element size.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from costlab.cost.capture import ModuleCall, OpRecord
from costlab.cost.formulas import Category
from costlab.cost.report import Report
from costlab.lint.finding import Finding
from costlab.render.units import human

__all__ = ["Param", "Rule", "RULES", "Context", "rule", "g1_mac_ratio", "g2_mac_ratio"]


@dataclass(frozen=True)
class Param:
    """A rule threshold: its default, the smallest value that makes sense, and what it means."""

    default: float
    minimum: float
    help: str


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the counts: measured time by kind of work, when there is one.

    ``time_shares`` maps a time category (``elementwise``, ``depthwise_conv``, …; see
    :mod:`costlab.timing.layers`) to its share of the measured per-layer time.
    """

    time_shares: Mapping[str, float] = field(default_factory=dict)
    device: str = ""


Check = Callable[[Report, Mapping[str, float], str, Context], list[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    severity: str
    check: Check
    params: Mapping[str, Param] = field(default_factory=dict)


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, summary: str, severity: str = "warning", **params: Param) -> Callable[[Check], Check]:
    """Register a rule function under ``code`` with its default severity and thresholds."""

    def decorate(check: Check) -> Check:
        RULES[code] = Rule(code, name, summary, severity, check, params)
        return check

    return decorate


# ------------------------------------------------------------------------------------------------
# Helpers over the Report's records
# ------------------------------------------------------------------------------------------------

_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}
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


def _channels(shapes: tuple[tuple[int, ...], ...]) -> int | None:
    return shapes[0][1] if shapes and len(shapes[0]) >= 2 else None


def enclosing_block(report: Report, call_index: int, c1: int, c2: int) -> ModuleCall:
    """The block a c1→c2 layer belongs to: climb past wrappers with the same channels (ConvBNAct)
    and past plain containers (Sequential), to the module a reader thinks of as the block."""
    call = report.calls[call_index]
    while call.parent is not None and (_channels(call.input_shapes), _channels(call.output_shapes)) == (c1, c2):
        call = report.calls[call.parent]
    while call.parent is not None and call.type in _CONTAINERS:
        call = report.calls[call.parent]
    return call


def g1_mac_ratio(c1: int, c2: int, hw: int) -> tuple[float, float, float]:
    """ShuffleNet V2 Eq. 1 for a 1×1 conv: ``(MAC, MAC_min, MAC / MAC_min)`` in elements.

    ``MAC = hw·(c1 + c2) + c1·c2`` and, at fixed FLOPs ``B = hw·c1·c2``,
    ``MAC ≥ 2·sqrt(hw·B) + B/hw`` with equality at ``c1 = c2``.
    """
    flops = hw * c1 * c2
    mac = hw * (c1 + c2) + c1 * c2
    minimum = 2 * math.sqrt(hw * flops) + flops / hw
    return mac, minimum, mac / minimum


def g2_mac_ratio(c1: int, c2: int, groups: int, hw: int) -> tuple[float, float, float]:
    """ShuffleNet V2 Eq. 2 for a 1×1 group conv: ``(MAC_g, MAC_1, MAC_g / MAC_1)`` in elements.

    ``MAC = hw·c1 + B·g/c1 + B/hw`` with ``B = hw·c1·c2/g``; ``MAC_1`` is the dense conv with the
    same FLOPs and input width (its output is ``c2/g`` wide).
    """
    flops = hw * c1 * c2 / groups
    grouped = hw * c1 + flops * groups / c1 + flops / hw
    dense = hw * c1 + flops / c1 + flops / hw
    return grouped, dense, grouped / dense


def _ratio_text(c1: int, c2: int) -> str:
    small, large = min(c1, c2), max(c1, c2)
    ratio = large / small
    text = f"{ratio:.0f}" if abs(ratio - round(ratio)) < 0.05 else f"{ratio:.1f}"
    return f"1:{text}" if c1 <= c2 else f"{text}:1"


# ------------------------------------------------------------------------------------------------
# G1 — equal channel width minimizes memory access
# ------------------------------------------------------------------------------------------------


@rule(
    "G1",
    "equal-channel-width",
    "1×1 convs inside a width-preserving block whose memory access exceeds the minimum for their FLOPs",
    min_mac_ratio=Param(1.2, 1.0, "flag a 1×1 conv whose MAC is at least this multiple of MAC_min (1:4 ≈ 1.25)"),
)
def equal_channel_width(report: Report, options: Mapping[str, float], severity: str, context: Context) -> list[Finding]:
    """G1. A bottleneck (narrow→wide→narrow or the reverse, inside a block that keeps its width)
    pays for the mismatch on every call; a stage transition that widens the network once is
    necessary and not reported. Grouped convs are judged per group, so G2 is kept apart."""
    findings = []
    for conv in convolutions(report):
        if not conv.pointwise or conv.op.cost.category == Category.DEPTHWISE_CONV or conv.c1 == conv.c2:
            continue
        c1, c2 = conv.c1 // conv.groups, conv.c2 // conv.groups
        mac, minimum, ratio = g1_mac_ratio(c1, c2, conv.out_hw)
        if ratio < options["min_mac_ratio"]:
            continue
        block = enclosing_block(report, conv.op.call, conv.c1, conv.c2)
        if _channels(block.input_shapes) != _channels(block.output_shapes):
            continue  # a width transition between stages
        call = report.calls[conv.op.call]
        channels = _ratio_text(conv.c1, conv.c2)
        findings.append(
            Finding(
                rule="G1",
                severity=severity,
                module=call.name,
                module_type=call.type,
                op=conv.label(call),
                message=(
                    f"{conv.label(call)}: channels {channels} inside {block.type or 'the model'} "
                    f"({block.name or 'top level'}), memory access {ratio:.2f}× the minimum for its FLOPs"
                ),
                fix="keep the 1×1 conv's input and output widths equal",
                evidence={
                    "c1": conv.c1,
                    "c2": conv.c2,
                    "groups": conv.groups,
                    "hw": conv.out_hw,
                    "mac_elems": round(mac),
                    "mac_min_elems": round(minimum),
                    "mac_ratio": round(ratio, 4),
                    "excess_bytes": round((mac - minimum) * conv.element_size),
                    "block": block.name,
                },
            )
        )
    return findings


# ------------------------------------------------------------------------------------------------
# G2 — excessive group convolution increases memory access
# ------------------------------------------------------------------------------------------------


@rule(
    "G2",
    "group-convolution",
    "grouped pointwise convs, with the memory access they cost over a dense conv of equal FLOPs",
    min_groups=Param(2, 2, "flag 1×1 convs with at least this many groups"),
    min_mac_ratio=Param(1.0, 1.0, "and whose MAC is at least this multiple of the dense conv's"),
)
def group_convolution(report: Report, options: Mapping[str, float], severity: str, context: Context) -> list[Finding]:
    """G2. Depthwise convs (one channel per group) are not G2: they are G4-like, reported there."""
    findings = []
    for conv in convolutions(report):
        if not conv.pointwise or conv.groups < options["min_groups"] or conv.c1 // conv.groups <= 1:
            continue
        grouped, dense, ratio = g2_mac_ratio(conv.c1, conv.c2, conv.groups, conv.out_hw)
        if ratio < options["min_mac_ratio"]:
            continue
        call = report.calls[conv.op.call]
        findings.append(
            Finding(
                rule="G2",
                severity=severity,
                module=call.name,
                module_type=call.type,
                op=conv.label(call),
                message=(
                    f"{conv.label(call)}: pointwise group conv with g={conv.groups}, memory access "
                    f"{ratio:.2f}× a dense conv of equal FLOPs (+{human((grouped - dense) * conv.element_size, 'B')})"
                ),
                fix="use fewer groups, or a dense 1×1 conv with a narrower output",
                evidence={
                    "groups": conv.groups,
                    "c1": conv.c1,
                    "c2": conv.c2,
                    "hw": conv.out_hw,
                    "mac_elems": round(grouped),
                    "dense_mac_elems": round(dense),
                    "mac_ratio": round(ratio, 4),
                    "excess_bytes": round((grouped - dense) * conv.element_size),
                },
            )
        )
    return findings


# ------------------------------------------------------------------------------------------------
# G3 — network fragmentation reduces parallelism
# ------------------------------------------------------------------------------------------------


def _ancestors(report: Report, index: int) -> list[int]:
    chain = [index]
    while report.calls[chain[-1]].parent is not None:
        chain.append(report.calls[chain[-1]].parent)  # type: ignore[arg-type]
    return chain


def _owner(report: Report, calls: list[int]) -> int:
    """The innermost non-container module call that contains every one of ``calls``."""
    common = _ancestors(report, calls[0])
    for other in calls[1:]:
        seen = set(_ancestors(report, other))
        common = [c for c in common if c in seen]
    for index in common:
        if report.calls[index].type not in _CONTAINERS:
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


def _kernels_by_block(report: Report) -> dict[int, tuple[int, int]]:
    """Per non-container, non-leaf module call: (kernel launches, MACs) in its subtree."""
    has_children = {c.parent for c in report.calls if c.parent is not None}
    blocks = {c.index for c in report.calls if c.index in has_children and c.parent is not None and c.type not in _CONTAINERS}
    totals: dict[int, list[int]] = {b: [0, 0] for b in blocks}
    for op in report.ops:
        if op.cost.category not in _KERNELS:
            continue
        for index in _ancestors(report, op.call):
            if index in totals:
                totals[index][0] += 1
                totals[index][1] += op.cost.macs
    return {b: (n, macs) for b, (n, macs) in totals.items() if n}


@rule(
    "G3",
    "fragmentation",
    "blocks that split into parallel branches or chain many small ops",
    max_branches=Param(3, 1, "warn when one tensor feeds more parallel compute branches than this (2 is info)"),
    max_ops=Param(24, 2, "note a block that launches more kernels than this ..."),
    small_op_fraction=Param(0.25, 0.0, "... while its MACs per kernel are below this fraction of the model's median"),
)
def fragmentation(report: Report, options: Mapping[str, float], severity: str, context: Context) -> list[Finding]:
    findings = []
    kernels = _kernels_by_block(report)
    per_kernel = [macs / n for n, macs in kernels.values()]
    median = statistics.median(per_kernel) if per_kernel else 0.0
    for index, branches in sorted(branch_counts(report).items()):
        call = report.calls[index]
        n, macs = kernels.get(index, (0, 0))
        level = severity if branches > options["max_branches"] else "info"
        findings.append(
            Finding(
                rule="G3",
                severity=level,
                module=call.name,
                module_type=call.type,
                op=f"{call.type} with {branches} parallel branches",
                message=(
                    f"{call.type}: one tensor feeds {branches} parallel branches ({n} kernels, "
                    f"{human(macs / n if n else 0)} MACs per kernel against a model median of {human(median)})"
                ),
                fix="merge the parallel branches into fewer, wider ops",
                evidence={"branches": branches, "kernels": n, "macs": macs, "macs_per_kernel": macs / n if n else 0.0,
                          "median_macs_per_kernel": median},
            )
        )
    flagged = {f.module for f in findings}
    for index, (n, macs) in sorted(kernels.items()):
        call = report.calls[index]
        if n <= options["max_ops"] or call.name in flagged or macs / n >= options["small_op_fraction"] * median:
            continue
        findings.append(
            Finding(
                rule="G3",
                severity="info",
                module=call.name,
                module_type=call.type,
                op=f"{call.type} with {n} kernels",
                message=(
                    f"{call.type}: {n} kernels of {human(macs / n)} MACs each, against a model median of "
                    f"{human(median)} per kernel"
                ),
                fix="fuse or remove the small ops of this block",
                evidence={"kernels": n, "macs": macs, "macs_per_kernel": macs / n, "median_macs_per_kernel": median},
            )
        )
    return findings


# ------------------------------------------------------------------------------------------------
# G4 — element-wise operations are non-negligible
# ------------------------------------------------------------------------------------------------


def _is_batch_norm(op: OpRecord) -> bool:
    return "batch_norm" in op.op


@rule(
    "G4",
    "elementwise-operations",
    "the share of memory access spent in element-wise ops (ReLU, add, bias, activations)",
    max_share=Param(0.35, 0.0, "warn when element-wise ops take more than this share of memory access"),
    info_share=Param(0.15, 0.0, "report as info above this share"),
    count_batch_norm=Param(0, 0, "1: count inference batch norm as element-wise (0: it folds into the conv)"),
)
def elementwise_operations(report: Report, options: Mapping[str, float], severity: str, context: Context) -> list[Finding]:
    """G4. Inference batch norm is left out by default: deployment folds it into the preceding
    conv, and the paper's list is ReLU, AddTensor and AddBias. Depthwise convs have the same
    low-intensity profile; their share is reported as evidence beside, never added in."""
    with_bn = bool(options["count_batch_norm"])
    counted = [op for op in report.ops if op.cost.category == Category.ELEMENTWISE and (with_bn or not _is_batch_norm(op))]
    folded = 0 if with_bn else sum(op.cost.mac_bytes for op in report.ops if _is_batch_norm(op))
    total = report.totals.mac_bytes - folded
    if total <= 0 or not counted:
        return []
    elementwise = sum(op.cost.mac_bytes for op in counted)
    depthwise = sum(op.cost.mac_bytes for op in report.ops if op.cost.category == Category.DEPTHWISE_CONV)
    share = elementwise / total
    if share <= options["info_share"]:
        return []
    time_share = context.time_shares.get("elementwise")
    level = severity if share > options["max_share"] else "info"
    biggest = sorted(counted, key=lambda op: op.cost.mac_bytes, reverse=True)[:3]
    contributors = [
        {
            "module": report.calls[op.call].name,
            "module_type": report.calls[op.call].type,
            "op": op.op,
            "shape": list(op.output_shapes[0]) if op.output_shapes else [],
            "mac_bytes": op.cost.mac_bytes,
        }
        for op in biggest
    ]
    listed = ", ".join(
        f"{c['module'] or '(model)'} ({c['module_type']}: {c['op'].removeprefix('aten.')}) on "
        f"{'×'.join(map(str, c['shape']))} ({human(c['mac_bytes'], 'B')})"
        for c in contributors
    )
    root = report.calls[0] if report.calls else None
    return [
        Finding(
            rule="G4",
            severity=level,
            module="",
            module_type=root.type if root else "",
            op=f"{len(counted)} element-wise ops",
            message=(
                (
                    f"element-wise ops take {time_share:.0%} of the time on {context.device} (batch norm included) "
                    "and "
                    if time_share is not None
                    else "element-wise ops take "
                )
                + f"{share:.0%} of memory access ({human(elementwise, 'B')} of "
                f"{human(total, 'B')}, {len(counted)} ops; depthwise convs another {depthwise / total:.0%}); "
                f"largest: {listed}"
            ),
            fix="fuse activations and adds into the preceding op; avoid ReLUs and shortcuts on thick maps",
            evidence={
                "share": round(share, 4),
                "elementwise_bytes": elementwise,
                "total_bytes": total,
                "elementwise_ops": len(counted),
                "depthwise_share": round(depthwise / total, 4),
                "batch_norm_counted": with_bn,
                "time_share": time_share,
                "largest": contributors,
            },
        )
    ]
