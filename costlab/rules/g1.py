"""G1 — equal channel width minimizes memory access (ShuffleNet V2, Sec. 2, Eq. 1, Table 1)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from costlab.cost.categories import Category
from costlab.cost.report import Report
from costlab.rules.findings import Finding
from costlab.rules.graph import channels_of, convolutions, enclosing_block, ratio_text
from costlab.rules.registry import Context, Param, rule

__all__ = ["equal_channel_width", "g1_mac_ratio"]


def g1_mac_ratio(c1: int, c2: int, hw: int) -> tuple[float, float, float]:
    """ShuffleNet V2 Eq. 1 for a 1×1 conv: ``(MAC, MAC_min, MAC / MAC_min)`` in elements.

    ``MAC = hw·(c1 + c2) + c1·c2`` and, at fixed FLOPs ``B = hw·c1·c2``,
    ``MAC ≥ 2·sqrt(hw·B) + B/hw`` with equality at ``c1 = c2``.
    """
    flops = hw * c1 * c2
    mac = hw * (c1 + c2) + c1 * c2
    minimum = 2 * math.sqrt(hw * flops) + flops / hw
    return mac, minimum, mac / minimum


@rule(
    "G1",
    "equal-channel-width",
    "1×1 convs inside a width-preserving block whose memory access exceeds the minimum for their FLOPs",
    score="mac_ratio",
    explanation="""
Claim. For a fixed amount of arithmetic, a 1×1 convolution moves the least memory when its input and
output have the same width (ShuffleNet V2, Sec. 2, guideline G1).

Formula. A 1×1 conv from c1 to c2 channels on an h×w map does B = h·w·c1·c2 multiply-adds and, reading
its input and weights and writing its output once, has memory access cost MAC = h·w·(c1 + c2) + c1·c2
(Eq. 1). By the AM–GM inequality, MAC ≥ 2·sqrt(h·w·B) + B/(h·w), with equality at c1 = c2. costlab
reports each conv's MAC / MAC_min; a grouped conv is judged per group (G2 covers the groups).

Paper. Table 1: four networks of stacked 1×1 convs at equal FLOPs, c1:c2 = 1:1, 1:2, 1:6, 1:12; 1:1 is the
fastest (on ARM 1:12 runs at 0.76× its speed; `costlab guidelines` re-runs it here).

When it fires. A 1×1 conv whose MAC is at least min_mac_ratio × MAC_min, inside a block that keeps its
width (a bottleneck: narrow→wide→narrow or the reverse). A conv that widens the network once between
stages is necessary and is not reported. A 1:4 bottleneck is 1.25× the minimum; MobileNet V2's 1:6 is 1.4×.

Fix. Keep the 1×1 conv's input and output widths equal; in an inverted bottleneck, a smaller expansion
ratio (or ShuffleNet V2's channel split, which keeps the 1×1 convs at equal width).
""",
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
        if channels_of(block.input_shapes) != channels_of(block.output_shapes):
            continue  # a width transition between stages
        call = report.calls[conv.op.call]
        channels = ratio_text(conv.c1, conv.c2)
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
