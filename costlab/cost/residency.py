"""Where an op's bytes come from: the cache, DRAM, or pages the kernel must fault in first.

Pure arithmetic on op records, used by :mod:`costlab.cost.predict`:

* :func:`footprint` — what one forward touches: its parameters plus its largest op's bytes (the
  activations live at once are about one op's inputs and outputs: the allocator reuses the rest).
* :func:`cold_share` — the share of those accesses that miss a last-level cache of ``C`` bytes:
  ``1 − C / F`` for a footprint ``F`` past it (a cache holding ``C`` of ``F`` bytes), else none.
* :func:`fresh_pages` — on Linux with glibc, an allocation over malloc's largest mmap threshold
  (32 MiB on 64-bit) is a new mapping every time, so every page of such an output faults when the
  op writes it: its pages, counted here, priced by the calibration.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from costlab.cost.categories import Category

if TYPE_CHECKING:
    from costlab.cost.capture import OpRecord
    from costlab.cost.report import Report

__all__ = ["PAGE_BYTES", "cold_share", "footprint", "fresh_pages"]

PAGE_BYTES = 4096


def cold_share(footprint_bytes: float, cache_bytes: float) -> float:
    """The share of a model's accesses that miss a cache of ``cache_bytes``: ``1 − C / F`` past it, else 0.

    >>> cold_share(128 * 2**20, 32 * 2**20)   # a 128 MiB footprint, a 32 MiB cache: 3/4 cold
    0.75
    """
    return max(0.0, 1.0 - cache_bytes / footprint_bytes) if footprint_bytes > 0 and cache_bytes > 0 else 0.0


def footprint(report: Report) -> float:
    """A forward's footprint: its parameters' bytes plus its largest op's bytes accessed."""
    largest = max((op.cost.bytes_accessed for op in report.ops), default=0)
    return float(report.param_bytes + largest)


def fresh_pages(op: OpRecord, floor_bytes: int) -> int:
    """Pages of new mappings ``op``'s outputs fault in: every output over ``floor_bytes`` (0: none), its
    bytes its share of the op's bytes written by element count (a batch norm's output, not its
    per-channel statistics). Views, in-place ops and bare allocations write nothing new."""
    if floor_bytes <= 0 or op.op.endswith("_") or op.cost.category in (Category.VIEW, Category.UNSUPPORTED):
        return 0
    sizes = [math.prod(shape) for shape in op.output_shapes] or [1]
    per_element = op.cost.bytes_written / max(1, sum(sizes))
    return sum(-(-int(n * per_element) // PAGE_BYTES) for n in sizes if n * per_element > floor_bytes)
