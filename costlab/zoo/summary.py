"""One line of numbers per zoo model (what ``costlab zoo`` shows), computed with costlab's own counter."""

from __future__ import annotations

from dataclasses import dataclass

from costlab.zoo.registry import get_entry

__all__ = ["ZooSummary", "summarize"]


@dataclass(frozen=True)
class ZooSummary:
    name: str
    family: str
    input_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    mac_bytes: int
    paper: str


def summarize(names: list[str]) -> list[ZooSummary]:
    """Profile each named zoo model at its default input (meta device: well under a second each)."""
    from costlab.cost.profile import profile

    summaries = []
    for name in names:
        entry = get_entry(name)
        totals = profile(name).totals
        summaries.append(
            ZooSummary(name, entry.family, entry.input_shape, totals.params, totals.macs, totals.flops, totals.mac_bytes, entry.paper)
        )
    return summaries
