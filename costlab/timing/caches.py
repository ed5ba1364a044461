"""Cache roofs: the memory bandwidth of working sets that stay in each cache level.

* **Sizes.** On Linux, ``/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}`` (data and
  unified caches; instruction caches are skipped); on CUDA, ``torch.cuda.get_device_properties(d)
  .L2_cache_size``. What cannot be read gives no levels, and the roofs say so. CPU capacities are
  those of one core (a level shared by several cores, like an L3, is its whole size): ops on
  cache-sized tensors mostly run on one thread.
* **Bandwidth.** A copy (``n`` bytes read, ``n`` written) and a STREAM triad (``a = b + 2·c``: ``2n``
  read, ``n`` written) on float32 buffers whose working set is about half the level's capacity, so
  it stays there between repeats; the level's roof is the better of the two. Bytes read and written
  both count, as in ``bytes_accessed``.
* **Dispatch overhead.** A 16 KiB copy moves its data in about a microsecond, but every torch call
  costs several microseconds of Python and dispatcher before any byte moves: timed alone, an
  L1-sized copy measures the dispatch, not the cache. So each sample times a batch of calls (about
  half a millisecond), the same op on 1-element tensors is timed the same way, and its best time
  per call is subtracted: ``bandwidth = bytes / (best(t_level) − best(t_1 element))``. Both are the
  fastest of many samples, so the difference is stable to a few percent. A level whose difference
  is under :data:`MIN_SIGNAL` of the dispatch time cannot be told from the overhead and is left
  out. On CUDA a launch overlaps the kernels before it (a call costs the longer of its launch and
  its kernel), so nothing is subtracted there and a level whose calls take no longer than
  ``1 + MIN_SIGNAL`` 1-element calls is launch-bound and left out.

About 0.7 s on CPU for three levels; half a second on CUDA.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from costlab.timing.devices import synchronize

if TYPE_CHECKING:
    import torch

__all__ = ["MIN_SIGNAL", "SYSFS_CACHE", "CacheLevel", "cache_sizes", "last_level_cache", "measure_cache_levels"]

CacheLevel = tuple[str, int, float]
"""``(level, capacity_bytes, bandwidth_bytes_per_s)``: ``("L2", 524288, 1.8e11)``."""

SYSFS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")
MIN_SIGNAL = 0.05
_BATCH_S = 5e-4  # a sample: this long a batch of calls, so the clock's resolution does not count
_MAX_BATCH = 2000


def cache_sizes(device: torch.device, root: Path = SYSFS_CACHE) -> tuple[tuple[str, int], ...]:
    """``(("L1", 32768), ("L2", 524288), ("L3", 33554432))``, smallest first; () when unreadable."""
    if device.type == "cuda":
        import torch

        size = int(getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or 0)
        return (("L2", size),) if size > 0 else ()
    levels: dict[int, int] = {}
    try:
        for index in sorted(root.glob("index*")):
            kind = (index / "type").read_text().strip()
            if kind not in ("Data", "Unified"):
                continue
            level = int((index / "level").read_text().strip())
            levels[level] = _size_bytes((index / "size").read_text())
    except (OSError, ValueError):
        return ()
    return tuple((f"L{level}", size) for level, size in sorted(levels.items()) if size > 0)


def last_level_cache(device: torch.device) -> int:
    """The CPU's last-level cache in bytes, 0 on a GPU or where it is not known."""
    levels = cache_sizes(device) if device.type == "cpu" else ()
    return levels[-1][1] if levels else 0


def _size_bytes(text: str) -> int:
    """sysfs sizes: ``32K``, ``512K``, ``32768K``, ``1M``; ValueError otherwise."""
    text = text.strip().upper()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    digits = text[:-1] if scale != 1 else text
    return int(digits) * scale


def measure_cache_levels(
    device: torch.device, sizes: tuple[tuple[str, int], ...], budget_s: float
) -> tuple[CacheLevel, ...]:
    """The bandwidth of each level in ``sizes`` (copy and triad at half its capacity), in ``budget_s``."""
    import torch

    if not sizes:
        return ()
    share = budget_s / (2 * len(sizes) + 2)  # a copy and a triad per level, and their 1-element calls
    a1, b1, c1 = (torch.ones(1, device=device) for _ in range(3))
    floor = {
        "copy": _best_per_call(lambda: a1.copy_(b1), device, share),
        "triad": _best_per_call(lambda: torch.add(b1, c1, alpha=2.0, out=a1), device, share),
    }
    found = []
    for name, capacity in sizes:
        rate = _level_rate(device, capacity // 2, share, floor)
        if rate is not None:
            found.append((name, capacity, rate))
    return tuple(found)


def _level_rate(device: torch.device, working_set: int, share: float, floor: dict[str, float]) -> float | None:
    """The better of copy and triad on ``working_set`` bytes, dispatch taken out (None: drowned in it)."""
    import torch

    n_copy, n_triad = max(1, working_set // 8), max(1, working_set // 12)  # 2 and 3 float32 buffers
    a, b = torch.ones(n_copy, device=device), torch.ones(n_copy, device=device)
    copy_s = _best_per_call(lambda: a.copy_(b), device, share)
    x, y, z = (torch.ones(n_triad, device=device) for _ in range(3))
    triad_s = _best_per_call(lambda: torch.add(y, z, alpha=2.0, out=x), device, share)
    rates = [_rate(2 * 4 * n_copy, copy_s, floor["copy"], device), _rate(3 * 4 * n_triad, triad_s, floor["triad"], device)]
    found = [rate for rate in rates if rate is not None]
    return max(found) if found else None


def _rate(nbytes: int, seconds: float, floor_s: float, device: torch.device) -> float | None:
    """Bytes per second once the dispatch is taken out (CPU), or None when nothing is left of it."""
    if device.type == "cuda":
        return nbytes / seconds if seconds > (1 + MIN_SIGNAL) * floor_s else None
    moved = seconds - floor_s
    return nbytes / moved if moved > MIN_SIGNAL * floor_s else None


def _best_per_call(fn: Callable[[], object], device: torch.device, budget_s: float) -> float:
    """The best time per call of ``fn`` over batches of calls (about :data:`_BATCH_S` each) in ``budget_s``."""
    fn()
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    once = time.perf_counter() - start
    calls = max(1, min(_MAX_BATCH, int(_BATCH_S / max(once, 1e-9))))
    best, began = math.inf, time.perf_counter()
    while time.perf_counter() - began < budget_s or best == math.inf:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        synchronize(device)
        best = min(best, (time.perf_counter() - start) / calls)
    return best
