"""G4 — element-wise operations are non-negligible (ShuffleNet V2, Sec. 2, Table 4)."""

from __future__ import annotations

from collections.abc import Mapping

from costlab.cost.capture import OpRecord
from costlab.cost.categories import Category
from costlab.cost.report import Report
from costlab.rules.findings import Finding
from costlab.rules.registry import Context, Param, rule
from costlab.units import human

__all__ = ["elementwise_operations"]


def _is_batch_norm(op: OpRecord) -> bool:
    return "batch_norm" in op.op


@rule(
    "G4",
    "elementwise-operations",
    "the share of memory access spent in element-wise ops (ReLU, add, bias, activations)",
    score="share",
    explanation="""
Claim. Element-wise operations — ReLU, tensor adds, bias adds, and depthwise convolutions, which behave
like them — do few FLOPs but move a lot of memory, and take a share of the time their FLOPs do not
predict (ShuffleNet V2, Sec. 2, guideline G4).

Formula. The share of the model's memory access (bytes_accessed, the total profile prints) spent in
element-wise ops. Inference batch norm is left out of the count by default, and its own share named
(deployment folds it into the preceding conv; count_batch_norm = 1 counts it): the two add up to
profile's element-wise share. Depthwise convs are reported beside, never added in. With --device,
the measured share of time in the same ops is reported too.

Paper. Table 4: ResNet's bottleneck with and without its ReLUs and shortcut; removing both makes it
about 20% faster on a GPU (with both it runs at 0.86× the speed on ARM).

When it fires. A warning above max_share of the bytes accessed, information above info_share.

Fix. Fuse activations and adds into the preceding op (a compiler does), avoid ReLUs and shortcuts on
thick feature maps, and keep element-wise work off the widest tensors.
""",
    max_share=Param(0.25, 0.0, "warn when element-wise ops take more than this share of memory access"),
    info_share=Param(0.15, 0.0, "report as info above this share"),
    count_batch_norm=Param(0, 0, "1: count inference batch norm as element-wise (0: it folds into the conv)"),
)
def elementwise_operations(report: Report, options: Mapping[str, float], severity: str, context: Context) -> list[Finding]:
    """G4. Inference batch norm is left out by default — deployment folds it into the preceding
    conv, and the paper's list is ReLU, AddTensor and AddBias — and the message says how much it
    is, so the share counted plus batch norm's is profile's element-wise share: both are shares of
    the same total, the model's memory access. Depthwise convs have the same low-intensity
    profile; their share is reported as evidence beside, never added in."""
    with_bn = bool(options["count_batch_norm"])
    elementwise = [op for op in report.ops if op.cost.category == Category.ELEMENTWISE]
    counted = [op for op in elementwise if with_bn or not _is_batch_norm(op)]
    total = report.totals.bytes_accessed
    if total <= 0 or not counted:
        return []
    counted_bytes = sum(op.cost.bytes_accessed for op in counted)
    batch_norm = sum(op.cost.bytes_accessed for op in elementwise if not with_bn and _is_batch_norm(op))
    depthwise = sum(op.cost.bytes_accessed for op in report.ops if op.cost.category == Category.DEPTHWISE_CONV)
    share = counted_bytes / total
    if share <= options["info_share"]:
        return []
    time_share = _time_share(context, with_bn)
    level = severity if share > options["max_share"] else "info"
    biggest = sorted(counted, key=lambda op: op.cost.bytes_accessed, reverse=True)[:3]
    contributors = [
        {
            "module": report.calls[op.call].name,
            "module_type": report.calls[op.call].type,
            "op": op.op,
            "shape": list(op.output_shapes[0]) if op.output_shapes else [],
            "bytes_accessed": op.cost.bytes_accessed,
        }
        for op in biggest
    ]
    listed = ", ".join(
        f"{c['module'] or '(model)'} ({c['module_type']}: {c['op'].removeprefix('aten.')}) on "
        f"{'×'.join(map(str, c['shape']))} ({human(c['bytes_accessed'], 'B')})"
        for c in contributors
    )
    timed = f" and {time_share:.0%} of the time inside ops on {context.device}" if time_share is not None else ""
    left_out = (
        f"; batch norm, left out as it folds into the conv (count_batch_norm = 1 counts it), another "
        f"{batch_norm / total:.0%}"
        if batch_norm
        else ""
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
                f"element-wise ops take {share:.0%} of memory access ({human(counted_bytes, 'B')} of the model's "
                f"{human(total, 'B')}, {len(counted)} ops){timed}{left_out}; depthwise convs another "
                f"{depthwise / total:.0%}; largest: {listed}"
            ),
            fix="fuse activations and adds into the preceding op; avoid ReLUs and shortcuts on thick maps",
            evidence={
                "share": round(share, 4),
                "elementwise_bytes": counted_bytes,
                "total_bytes": total,
                "elementwise_ops": len(counted),
                "depthwise_share": round(depthwise / total, 4),
                "batch_norm_counted": with_bn,
                "batch_norm_bytes": batch_norm,
                "time_share": time_share,
                "largest": contributors,
            },
        )
    ]


def _time_share(context: Context, with_bn: bool) -> float | None:
    """The measured share of time in the element-wise ops counted (batch norm's own calls taken
    out unless it is counted), or None when the model was not timed."""
    share = context.time_shares.get(Category.ELEMENTWISE)
    if share is None:
        return None
    if not with_bn:
        share -= sum(value for op, value in context.op_time_shares.items() if "batch_norm" in op)
    return max(share, 0.0)
