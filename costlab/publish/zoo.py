"""One row of numbers per zoo model (what ``costlab zoo`` shows), counted with costlab's own counter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from costlab.cost.costs import Costs
from costlab.zoo import get_entry

__all__ = ["ZooRow", "summarize"]


@dataclass(frozen=True)
class ZooRow:
    """A zoo model, where it comes from, its default input, and what it costs there."""

    name: str
    family: str
    input_shape: tuple[int, ...]
    paper: str
    totals: Costs


def summarize(names: Sequence[str]) -> list[ZooRow]:
    """Profile each named zoo model at its default input (meta device: well under a second each)."""
    from costlab.cost.profile import profile

    rows = []
    for name in names:
        entry = get_entry(name)
        rows.append(ZooRow(name, entry.family, entry.input_shape, entry.paper, profile(name).totals))
    return rows
