"""Device peaks — the roofs of the roofline — measured once and cached.

* ``peak_flops``: the best rate of a large square matrix product at the chosen dtype
  (``2·n³`` FLOP per ``n×n @ n×n``), over a few sizes.
* ``bandwidth_bytes_per_s``: the best of a large copy (``dst.copy_(src)``: ``n`` bytes read and
  ``n`` written) and a STREAM triad (``a = b + 2·c``: ``2n`` read, ``n`` written), on buffers far
  larger than the last-level cache. Bytes read and written both count, as in ``bytes_accessed``.

* ``cache_levels``: the bandwidth of working sets that stay in each cache level (L1, L2, L3 on a
  CPU; L2 on CUDA), measured by :mod:`costlab.timing.caches` with the dispatch overhead taken out.

Peaks are the *best* repeat, not the median: a roof is what the device can do. How far the median
repeat is from the best, ``(median − best) / best``, is kept as ``flops_spread`` and
``bandwidth_spread``: on a busy machine repeats spread and even the best is too slow (10 GB/s
measured where 31 GB/s is normal). Roofs that spread more than :data:`ROOF_NOISE_LIMIT` are used
but not cached (:func:`roof_noise_problem` says why). On CPU the whole measurement takes about
4–5 s at the current thread count (recorded; it is part of the cache key).

The cache is one JSON file, ``machine.json``, in :func:`cache_dir`: ``$COSTLAB_CACHE_DIR`` when
set, else ``$XDG_CACHE_HOME/costlab``, else ``~/.cache/costlab``. Entries are keyed by device
name, dtype and (on CPU) thread count; ``refresh=True`` measures again and replaces the entry.

:data:`KNOWN_DEVICES` holds vendor spec-sheet peaks of common GPUs, to show beside a measurement
or to predict a roofline for a device that is not here.
"""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costlab import dtypes, units
from costlab.cost.roofline import CacheRoof, Roofs
from costlab.errors import CostlabError
from costlab.files import atomic_write
from costlab.timing.caches import CacheLevel, cache_sizes, measure_cache_levels
from costlab.timing.devices import (
    DeviceError,
    device_name,
    fixed_threads,
    resolve_device,
    resolve_dtype,
    synchronize,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "KNOWN_DEVICES",
    "ROOF_NOISE_LIMIT",
    "DeviceSpec",
    "MachinePeaks",
    "cache_dir",
    "cache_path",
    "known_spec",
    "load_cached",
    "machine_peaks",
    "measure_peaks",
    "roof_noise_problem",
    "spec_for",
    "store",
    "utc_now",
]

CACHE_FILE = "machine.json"
CACHE_VERSION = 1  # entries without the spreads or cache levels (older costlab) still load
ROOF_NOISE_LIMIT = 0.25
"""Roofs whose repeats spread more than this ((median − best) / best, of the matmul or of the
bandwidth) are not cached: the machine was busy while they were measured. 25%, not 10%: on this
project's shared 2-core VM the spread is 13–21% with nothing else running, and 28–393% when
another job runs (where the bandwidth came out at a third of its normal value)."""
_CPU = {"budget_s": 3.0, "buffer_bytes": 128 * 2**20, "gemm_sizes": (512, 1024)}
_CUDA = {"budget_s": 2.0, "buffer_bytes": 2**30, "gemm_sizes": (4096, 8192)}
_CACHE_SHARE = 0.25  # of the budget, on top of it, for the cache levels (0.75 s on CPU)


def utc_now() -> datetime:
    """The clock the roofs' age is read against (tests put a fixed one in its place)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class MachinePeaks:
    """Measured peaks of one device at one dtype (and, on CPU, one thread count)."""

    device: str
    device_name: str
    dtype: str
    threads: int
    peak_flops: float
    bandwidth_bytes_per_s: float
    copy_bytes_per_s: float
    triad_bytes_per_s: float
    gemm_size: int
    measured_at: str
    torch_version: str
    cached: bool = False
    flops_spread: float | None = None  # (median - best) / best of the matmul's repeats; None: not recorded
    bandwidth_spread: float | None = None  # the same, of the copy or triad that gave the bandwidth
    cache_levels: tuple[CacheLevel, ...] | None = None  # (level, capacity_bytes, bytes_per_s); None: not measured

    @property
    def ridge_flop_per_byte(self) -> float:
        """Where the roofs meet: peak_flops / bandwidth (FLOP per byte)."""
        return self.peak_flops / self.bandwidth_bytes_per_s

    @property
    def key(self) -> str:
        return cache_key(self.device, self.device_name, self.dtype, self.threads)

    def roofs(self, now: datetime | None = None) -> Roofs:
        """The roofs, labelled with where they came from: ``AMD EPYC (float32, 2 threads), measured
        2026-12-01 21:11 UTC, 3 h ago, cached`` (read from the cache; the age against ``now``,
        default :func:`utc_now`), ``…, measured now`` (measured in this run), and whether there are
        cache roofs when there are none."""
        threads = f", {self.threads} thread{'s' if self.threads != 1 else ''}" if self.device == "cpu" else ""
        if self.cached:
            origin = f"measured {_when(self.measured_at, now or utc_now())}, cached"
        else:
            origin = "measured now" + (", not cached: too noisy" if roof_noise_problem(self) else "")
        if self.cache_levels is None:
            origin += "; no cache roofs (cached by an older costlab: --refresh measures them)"
        elif not self.cache_levels:
            origin += "; no cache roofs (the cache sizes could not be read or measured)"
        levels = tuple(CacheRoof(name, int(size), float(rate)) for name, size, rate in self.cache_levels or ())
        return Roofs(
            self.peak_flops,
            self.bandwidth_bytes_per_s,
            f"{self.device_name} ({self.dtype}{threads}), {origin}",
            cache_roofs=levels,
            measured_at=self.measured_at,
            cached=self.cached,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ridge_flop_per_byte"] = self.ridge_flop_per_byte
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MachinePeaks:
        """From :meth:`to_dict` or a cache entry (JSON lists back to tuples); TypeError / ValueError
        when malformed."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if values.get("cache_levels") is not None:
            values["cache_levels"] = tuple(
                (str(name), int(size), float(rate)) for name, size, rate in values["cache_levels"]
            )
        return cls(**values)


def _when(measured_at: str, now: datetime) -> str:
    """``2026-12-01 21:11 UTC, 3 h ago`` (the stamp as it is when it cannot be read)."""
    try:
        stamp = datetime.fromisoformat(measured_at)
    except ValueError:
        return measured_at
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    moment = stamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{moment}, {units.age((now - stamp).total_seconds())}"


def roof_noise_problem(peaks: MachinePeaks) -> str | None:
    """Why ``peaks`` are too noisy to cache, or None when they are not (or their spread is unknown)."""
    spreads = [(what, spread) for what, spread in (("matmul", peaks.flops_spread),
                                                   ("bandwidth", peaks.bandwidth_spread))
               if spread is not None and spread > ROOF_NOISE_LIMIT]
    if not spreads:
        return None
    hint = " or with --threads 1" if peaks.device == "cpu" and peaks.threads > 1 else ""
    which = " and ".join(f"{what} {spread:.0%}" for what, spread in spreads)
    return (
        f"the roofs' repeats spread too much ({which}; (median - best) / best, over {ROOF_NOISE_LIMIT:.0%}): "
        f"the machine was busy; measure again at a quieter moment{hint} (costlab machine --refresh)"
    )


# ------------------------------------------------------------------------------------------------
# Spec sheets
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSpec:
    """A GPU's spec-sheet peaks: dense (no sparsity), boost clock; FP16/BF16 on tensor cores."""

    key: str
    name: str
    match: tuple[str, ...]
    peak_flops_by_dtype: tuple[tuple[str, float], ...]
    bandwidth_bytes_per_s: float

    def peak_flops(self, dtype: str) -> float | None:
        return dict(self.peak_flops_by_dtype).get(dtype)

    def roofs(self, dtype: str) -> Roofs:
        peak = self.peak_flops(dtype)
        if peak is None:
            have = ", ".join(d for d, _ in self.peak_flops_by_dtype)
            raise DeviceError(f"the {self.name} spec sheet has no {dtype} peak (it lists {have})")
        return Roofs(peak, self.bandwidth_bytes_per_s, f"{self.name} ({dtype}), spec sheet")


def _spec(
    key: str, name: str, match: tuple[str, ...], fp32_t: float, half_t: float, bf16: bool, bandwidth_tb: float
) -> DeviceSpec:
    flops = [("float32", fp32_t * 1e12), ("float16", half_t * 1e12)] + ([("bfloat16", half_t * 1e12)] if bf16 else [])
    return DeviceSpec(key, name, match, tuple(flops), bandwidth_tb * 1e12)


# Most specific first: the first entry whose substrings all occur in the device name wins.
KNOWN_DEVICES: tuple[DeviceSpec, ...] = (
    _spec("h200", "NVIDIA H200 SXM", ("h200",), 67, 989, True, 4.8),
    _spec("h100-pcie", "NVIDIA H100 PCIe", ("h100", "pcie"), 51, 756, True, 2.0),
    _spec("h100-nvl", "NVIDIA H100 NVL", ("h100", "nvl"), 60, 835, True, 3.9),
    _spec("h100-sxm", "NVIDIA H100 SXM", ("h100",), 67, 989, True, 3.35),
    _spec("a100-80gb-pcie", "NVIDIA A100 80GB PCIe", ("a100", "80gb", "pcie"), 19.5, 312, True, 1.935),
    _spec("a100-80gb", "NVIDIA A100 80GB SXM", ("a100", "80gb"), 19.5, 312, True, 2.039),
    _spec("a100-40gb", "NVIDIA A100 40GB", ("a100",), 19.5, 312, True, 1.555),
    _spec("l40s", "NVIDIA L40S", ("l40s",), 91.6, 362, True, 0.864),
    _spec("a10", "NVIDIA A10", ("a10",), 31.2, 125, True, 0.6),
    _spec("l4", "NVIDIA L4", ("l4",), 30.3, 121, True, 0.3),
    _spec("v100", "NVIDIA V100 SXM2", ("v100",), 15.7, 125, False, 0.9),
    _spec("t4", "NVIDIA T4", ("t4",), 8.1, 65, False, 0.32),
)


def spec_for(name: str) -> DeviceSpec | None:
    """The spec sheet of the GPU called ``name`` (as torch names it), or None."""
    words = set(name.lower().replace("-", " ").replace("_", " ").split())
    return next((spec for spec in KNOWN_DEVICES if words.issuperset(spec.match)), None)


def known_spec(key: str) -> DeviceSpec:
    """The spec sheet named ``key`` (``h100-sxm``, ``a100-80gb``, …); DeviceError lists them otherwise."""
    for spec in KNOWN_DEVICES:
        if spec.key == key.strip().lower():
            return spec
    raise DeviceError(f"no spec sheet {key!r}: known are {', '.join(s.key for s in KNOWN_DEVICES)}")


# ------------------------------------------------------------------------------------------------
# The cache
# ------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$COSTLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/costlab``, else ``~/.cache/costlab``."""
    override = os.environ.get("COSTLAB_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative path
        return Path(xdg) / "costlab"
    return Path.home() / ".cache" / "costlab"


def cache_path() -> Path:
    return cache_dir() / CACHE_FILE


def cache_key(device: str, name: str, dtype: str, threads: int) -> str:
    kind = device.partition(":")[0]
    return f"{kind}|{name}|{dtype}" + (f"|{threads} threads" if kind == "cpu" else "")


def _read_cache() -> dict[str, Any]:
    """The cache's entries; an absent, unreadable or foreign file counts as empty (it is remeasured)."""
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]


def load_cached(key: str) -> MachinePeaks | None:
    """The cached peaks under ``key`` (marked ``cached=True``), or None."""
    entry = _read_cache().get(key)
    if not isinstance(entry, dict):
        return None
    try:
        return replace(MachinePeaks.from_dict(entry), cached=True)
    except (TypeError, ValueError):
        return None


def store(peaks: MachinePeaks) -> Path:
    """Add or replace ``peaks`` in the cache file (written atomically); returns its path."""
    path = cache_path()
    entries = _read_cache()
    entries[peaks.key] = {k: v for k, v in asdict(peaks).items() if k != "cached"}
    text = json.dumps({"version": CACHE_VERSION, "entries": entries}, indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)
    except (OSError, CostlabError) as err:
        raise CostlabError(
            f"cannot write the machine cache {path}: {getattr(err, 'strerror', None) or err}; set COSTLAB_CACHE_DIR"
        ) from None
    return path


# ------------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------------


def _repeat(fn: Any, device: torch.device, budget_s: float) -> list[float]:
    """The seconds of repeated calls of ``fn`` (after one warm-up call) within ``budget_s``, at least three."""
    fn()
    times: list[float] = []
    spent = 0.0
    while spent < budget_s or len(times) < 3:
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return times


def best_and_spread(times: list[float]) -> tuple[float, float]:
    """(the fastest repeat, how far the median is from it: (median - best) / best)."""
    best = min(times)
    return best, (statistics.median(times) - best) / best if best > 0 else math.inf


def _best_seconds(fn: Any, device: torch.device, budget_s: float) -> tuple[float, float]:
    """The fastest of repeated calls of ``fn`` within ``budget_s``, and the spread of the repeats."""
    return best_and_spread(_repeat(fn, device, budget_s))


def _gemm_peak(
    device: torch.device, dtype: torch.dtype, sizes: tuple[int, ...], budget_s: float
) -> tuple[float, int, float]:
    """(best FLOP/s, at size n, the spread of its repeats) over square matrix products of the given sizes."""
    import torch

    best_rate, best_n, best_spread = 0.0, sizes[0], 0.0
    share = budget_s / len(sizes)
    for n in sizes:
        a, b = (torch.randn((n, n), device=device).to(dtype) for _ in range(2))
        out = torch.empty((n, n), device=device, dtype=dtype)
        seconds, spread = _best_seconds(functools.partial(torch.mm, a, b, out=out), device, share)
        rate = 2 * n**3 / seconds
        if rate > best_rate:
            best_rate, best_n, best_spread = rate, n, spread
        if seconds > share / 4:
            break  # larger sizes would not fit the budget
    return best_rate, best_n, best_spread


def _bandwidth(device: torch.device, buffer_bytes: int, budget_s: float) -> tuple[float, float, float]:
    """(copy, triad) bytes per second on float32 buffers of ``buffer_bytes`` each, and the spread
    of the repeats of the faster one."""
    import torch

    n = buffer_bytes // 4
    a, b, c = (torch.ones(n, device=device) for _ in range(3))
    copy_s, copy_spread = _best_seconds(lambda: a.copy_(b), device, budget_s / 2)
    triad_s, triad_spread = _best_seconds(lambda: torch.add(b, c, alpha=2.0, out=a), device, budget_s / 2)
    copy_rate, triad_rate = 2 * 4 * n / copy_s, 3 * 4 * n / triad_s
    return copy_rate, triad_rate, copy_spread if copy_rate >= triad_rate else triad_spread


def measure_peaks(
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    *,
    budget_s: float | None = None,
    buffer_bytes: int | None = None,
) -> MachinePeaks:
    """Measure ``device``'s peak FLOP/s at ``dtype``, its memory bandwidth and its cache levels'
    bandwidths (no cache file involved).

    ``budget_s`` (default 3 s on CPU, 2 s on CUDA, plus warm-up; a quarter more for the cache levels)
    and ``buffer_bytes`` (128 MiB on CPU, 1 GiB on CUDA) trade time for accuracy; buffers must stay
    far larger than the last-level cache.
    """
    import torch

    target = resolve_device(device)
    float_dtype = resolve_dtype(dtype, target)
    defaults = _CUDA if target.type == "cuda" else _CPU
    budget = budget_s if budget_s is not None else defaults["budget_s"]
    size = buffer_bytes if buffer_bytes is not None else defaults["buffer_bytes"]
    if target.type == "cuda":
        size = min(size, torch.cuda.mem_get_info(target)[0] // 8)
    with fixed_threads(threads) as used, torch.no_grad():
        peak, n, flops_spread = _gemm_peak(target, float_dtype, defaults["gemm_sizes"], budget / 2)
        copy_rate, triad_rate, bandwidth_spread = _bandwidth(target, size, budget / 2)
        levels = measure_cache_levels(target, cache_sizes(target), budget * _CACHE_SHARE)
    if target.type == "cuda":
        torch.cuda.empty_cache()
    return MachinePeaks(
        device=str(target),
        device_name=device_name(target),
        dtype=dtypes.float_dtype(dtype),
        threads=used,
        peak_flops=peak,
        bandwidth_bytes_per_s=max(copy_rate, triad_rate),
        copy_bytes_per_s=copy_rate,
        triad_bytes_per_s=triad_rate,
        gemm_size=n,
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        torch_version=torch.__version__,
        flops_spread=flops_spread,
        bandwidth_spread=bandwidth_spread,
        cache_levels=levels,
    )


def machine_peaks(
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    *,
    refresh: bool = False,
    announce: Callable[[str], None] | None = None,
) -> MachinePeaks:
    """The peaks of ``device`` at ``dtype``: from the cache when there, else measured and cached —
    unless they are too noisy (:func:`roof_noise_problem`): then they are returned, not cached.

    ``threads`` (CPU) fixes torch's thread count for the measurement; None means the current one.
    ``announce`` is told, in one line, what is about to be measured and for how long, before it is.
    """
    import torch

    target = resolve_device(device)
    dtype_name = dtypes.float_dtype(dtype)
    used = threads if threads is not None else torch.get_num_threads()
    key = cache_key(str(target), device_name(target), dtype_name, used)
    if not refresh:
        cached = load_cached(key)
        if cached is not None:
            return cached
    if announce is not None:
        budget = (_CUDA if target.type == "cuda" else _CPU)["budget_s"] * (1 + _CACHE_SHARE)
        threads_text = f", {used} thread{'s' if used != 1 else ''}" if target.type == "cpu" else ""
        announce(
            f"measuring the roofs of {device_name(target)} ({dtype_name}{threads_text}): peak matmul FLOP/s, memory "
            f"and cache bandwidth, about {budget + 2:.0f} s"
        )
    peaks = measure_peaks(str(target), dtype_name, used)
    if roof_noise_problem(peaks) is None:
        store(peaks)
    return peaks
