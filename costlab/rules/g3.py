"""G3 — network fragmentation reduces parallelism (ShuffleNet V2, Sec. 2, Table 3)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from costlab.cost.report import Report
from costlab.rules.findings import Finding
from costlab.rules.graph import branch_counts, kernels_by_block
from costlab.rules.registry import Context, Param, rule
from costlab.units import human

__all__ = ["fragmentation"]


@rule(
    "G3",
    "fragmentation",
    "blocks that split into parallel branches or chain many small ops",
    score="branches",
    explanation="""
Claim. A network fragmented into many small operators, or into parallel branches, uses the hardware
less well than one with fewer, larger ops: each op is a kernel launch and a synchronisation
(ShuffleNet V2, Sec. 2, guideline G3).

Formula. Two counts over the op graph (views followed to the tensor they alias): the number of parallel
compute branches that read one tensor inside a block, and the kernels a block launches beside the MACs
each does, against the model's median.

Paper. Table 3: 1, 2 and 4 fragments in series or in parallel at equal FLOPs; 4 fragments run up to 3×
slower on a GPU, at 0.87–0.96× the speed on ARM.

When it fires. A warning when one tensor feeds more than max_branches parallel branches (2 or 3 are
information); information when a block launches more than max_ops kernels of less than
small_op_fraction × the model's median MACs per kernel. A residual add is not a branch.

Fix. Merge parallel branches into fewer, wider ops; fuse or remove a block's small ops.
""",
    max_branches=Param(3, 1, "warn when one tensor feeds more parallel compute branches than this (2 is info)"),
    max_ops=Param(24, 2, "note a block that launches more kernels than this ..."),
    small_op_fraction=Param(0.25, 0.0, "... while its MACs per kernel are below this fraction of the model's median"),
)
def fragmentation(report: Report, options: Mapping[str, float], severity: str, context: Context) -> list[Finding]:
    findings = []
    kernels = kernels_by_block(report)
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
