"""G2 — excessive group convolution increases memory access (ShuffleNet V2, Sec. 2, Eq. 2, Table 2)."""

from __future__ import annotations

from collections.abc import Mapping

from costlab.cost.report import Report
from costlab.rules.findings import Finding
from costlab.rules.graph import convolutions
from costlab.rules.registry import Context, Param, rule
from costlab.units import human

__all__ = ["g2_mac_ratio", "group_convolution"]


def g2_mac_ratio(c1: int, c2: int, groups: int, hw: int) -> tuple[float, float, float]:
    """ShuffleNet V2 Eq. 2 for a 1×1 group conv: ``(MAC_g, MAC_1, MAC_g / MAC_1)`` in elements.

    ``MAC = hw·c1 + B·g/c1 + B/hw`` with ``B = hw·c1·c2/g``; ``MAC_1`` is the dense conv with the
    same FLOPs and input width (its output is ``c2/g`` wide).
    """
    flops = hw * c1 * c2 / groups
    grouped = hw * c1 + flops * groups / c1 + flops / hw
    dense = hw * c1 + flops / c1 + flops / hw
    return grouped, dense, grouped / dense


@rule(
    "G2",
    "group-convolution",
    "grouped pointwise convs, with the memory access they cost over a dense conv of equal FLOPs",
    score="mac_ratio",
    explanation="""
Claim. At equal FLOPs, a 1×1 group convolution with more groups moves more memory (ShuffleNet V2,
Sec. 2, guideline G2).

Formula. A 1×1 conv c1→c2 in g groups on an h×w map does B = h·w·c1·c2 / g multiply-adds; its memory
access cost is MAC = h·w·c1 + B·g/c1 + B/(h·w) (Eq. 2): at fixed B and input width, MAC grows with g.
costlab compares it with the dense conv of the same FLOPs and input width (output c2/g wide).

Paper. Table 2: g = 1, 2, 4, 8 at equal FLOPs; g = 8 is more than 2× slower than g = 1 on a GPU and runs
at 0.70× its speed on ARM.

When it fires. A grouped 1×1 conv with at least min_groups groups whose MAC is at least min_mac_ratio ×
the dense conv's. Depthwise convs (one input channel per group) are not G2: they are element-wise-like
and show up in G4's evidence.

Fix. Use fewer groups, or a dense 1×1 conv with a narrower output; ShuffleNet V2 replaced V1's grouped
1×1 convs with dense ones on half the channels.
""",
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
