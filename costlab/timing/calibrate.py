"""Calibration: time every kind of kernel alone on this device, fit one model per kind, cache it.

The procedure (``costlab calibrate``):

1. For each kind of :mod:`costlab.timing.kernels`, in turn (round-robin, so a burst of load on a
   shared machine spreads over all kinds instead of spoiling one), draw a shape and run its call
   once under a recording dispatch mode: every aten op it dispatches, with its arguments, and the
   op's record as a capture would write it (:class:`costlab.cost.capture.OpRecord`).
2. Time each recorded op at the dispatch level — ``func(*args, **kwargs)``, exactly what per-layer
   timing (:mod:`costlab.timing.layers`) reads the clock around, the device synchronised before
   every read — not in a loop of itself but in shuffled replays of a chunk of other ops
   (:func:`_replay`): between other kernels and other tensors, as it runs inside a model, and with
   its input just read into the caches, as the op before it in a model would have just written it
   (timed with cold inputs instead, the ops of small CNNs came out 1.3–2× slower than the same ops
   replayed in their model's order). Two ops in three are replayed in chunks of about 4 MiB (in the
   last-level cache, as a small net at batch 1 is), one in three in chunks of 128 MiB (every weight
   and input from DRAM, as at a large batch): the first fit the kind's model, the second its
   ``cold_ratio``. Its time is the fastest of :data:`ROUNDS` replays
   (:func:`summarize`: other work on a shared machine only adds time), its spread their IQR /
   median. With one CPU thread the clock is that thread's own CPU time
   (``time.thread_time``), which other processes add to less than to wall time; otherwise
   (threads, CUDA) it is wall time. The op's kind comes from :func:`costlab.cost.predict.kind_of`, the
   very function that prices a Report's ops.
3. Fit every kind (:func:`costlab.cost.kernel_models.fit_kind`: three families, the one with the
   lowest cross-validated error kept, every family's error recorded).
4. Fresh memory (CPU, glibc): the cost of faulting in a page of a new mapping and writing it, beyond
   writing a resident page (:func:`fresh_page_seconds`), for outputs over malloc's mmap threshold.
5. Framework overhead: a real forward pass also pays for module calls and the Python between ops.
   Small synthetic nets (chains of tiny ops, deep nests of modules, tiny conv–BN–ReLU stacks — never
   a zoo model) are timed whole and as their ops replayed one by one in the same order; what the
   whole pass holds beyond its ops is fitted per module call, per op and per pass.

A calibration whose samples spread more than :data:`NOISE_LIMIT` (median IQR / median) is not to
be cached (:func:`noise_problem` says why); :mod:`costlab.timing.calibrations` keeps the cache.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from costlab import dtypes
from costlab.cost.capture import Capture
from costlab.cost.kernel_models import FAMILIES, fit_kind
from costlab.cost.predict import Calibration, KindFit, Overhead, kind_of
from costlab.errors import CostlabError
from costlab.progress import Progress, notify, part
from costlab.stats import quantile
from costlab.timing.caches import last_level_cache
from costlab.timing.devices import device_name, fixed_threads, resolve_device, resolve_dtype, synchronize
from costlab.timing.kernels import CASES, Scale
from costlab.timing.machine import machine_peaks

if TYPE_CHECKING:
    import torch

__all__ = [
    "BUDGET_S",
    "NOISE_LIMIT",
    "QUICK_SAMPLES_PER_KIND",
    "SAMPLES_PER_KIND",
    "Sample",
    "calibrate",
    "noise_problem",
]

SAMPLES_PER_KIND = 48
BUDGET_S = 75.0
"""Seconds of micro-benchmarks at most (the device's peaks and the overhead nets come on top)."""
QUICK_SAMPLES_PER_KIND = 12
NOISE_LIMIT = 0.20
"""A calibration whose median op spreads more than this (IQR / median of its rounds) is not cached.
20%, not 10%: on this project's shared 2-core VM a calibration spreads 13.8–15.9% with nothing else
running and 21–22% beside another job's test suite (load 8–9)."""
WEIGHTS = {
    "conv_dense": 2.0, "conv_pointwise": 2.0, "conv_grouped": 1.5, "conv_depthwise": 2.0, "linear": 1.5,
    "batch_norm": 1.5, "unary": 1.5, "binary": 1.0, "conv_transposed": 0.5, "resample": 0.5, "gather": 0.5,
    "fill": 0.5, "alloc": 0.5, "pad": 0.5, "view": 0.5,
}
"""Micro-benchmarks per kind, relative to ``samples_per_kind``: more where CNNs spend their time."""
ROUNDS = 5
"""Shuffled replays per chunk of micro-benchmarks; an op's time is the fastest of them."""
_CHUNK_OPS = 160


@dataclass(frozen=True)
class Sample:
    """One op timed alone: its kind, name, costs, shape features, median seconds and spread."""

    kind: str
    op: str
    flops: float
    bytes_accessed: float
    x: tuple[float, ...]
    time_s: float
    spread: float
    chunk_bytes: float = 0.0
    """Bytes accessed by the chunk of micro-benchmarks it was replayed among: its working set."""


class _Recorder(Capture):
    """The cost capture on real tensors, also keeping every op's function and arguments to replay."""

    def __init__(self) -> None:
        super().__init__({}, set(), fast_shapes=False)
        self.invocations: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self._record(func, args, kwargs, out)
        self.invocations.append((func, tuple(args), dict(kwargs)))
        return out


@dataclass
class _Pending:
    """A recorded op waiting to be timed: its kind, record and call."""

    kind: str
    record: Any
    func: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    times_s: list[float]


def _replay(pending: list[_Pending], device: torch.device, rounds: int, rng: random.Random,
            clock: Callable[[], float] = time.perf_counter) -> None:
    """Time every op of ``pending`` once per round, the ops in a new shuffled order each round.

    One warm-up pass first (a library's first call of a shape selects and caches its algorithm).
    An op timed between other ops — other kernels, other tensors — runs as it runs inside a model,
    not as in a loop of itself, where its code and its weights stay hot. But inside a model an op's
    input was written by the op just before it: right before the clock starts, the op's input is
    read (:func:`_warm`), so it sits in the caches as it would there. The op's output is freed only
    after the clock stops, as a model keeps it for the next op (freeing it can return its pages to
    the OS, a cost a model pays elsewhere or not at all).
    """
    order = list(range(len(pending)))
    for item in pending:
        item.func(*item.args, **item.kwargs)
    for _ in range(rounds):
        rng.shuffle(order)
        for i in order:
            item = pending[i]
            _warm(item.args)
            synchronize(device)
            start = clock()
            out = item.func(*item.args, **item.kwargs)
            synchronize(device)
            item.times_s.append(clock() - start)
            del out


def _warm(args: Sequence[Any]) -> None:
    """Read an op's first argument (its input activation, or the list of them a cat takes) into the
    caches, as the op that produced it inside a model would have just left it."""
    import torch

    first = args[0] if args else None
    for tensor in first if isinstance(first, (list, tuple)) else (first,):
        if isinstance(tensor, torch.Tensor) and tensor.numel() > 1 and tensor.device.type != "meta":
            torch.ops.aten.sum.default(tensor)


def summarize(times_s: Sequence[float]) -> tuple[float, float]:
    """(time, spread) of one op's timed rounds: the fastest round, and IQR / median.

    The fastest round, not the median: on a shared machine other work only ever adds time (to CPU
    time too, through the caches and memory it shares), so the minimum is the closest to the op's
    own time on a quiet machine — the time a model's latency, measured as the best of several
    rounds, is compared with. The spread still says how noisy the rounds were.
    """
    ordered = sorted(times_s)
    median = quantile(ordered, 0.5)
    return ordered[0], (quantile(ordered, 0.75) - quantile(ordered, 0.25)) / median if median else 0.0


def measure_samples(device: torch.device, dtype: torch.dtype, per_kind: int, seed: int = 0,
                    kinds: Sequence[str] | None = None, progress: Progress | None = None,
                    rounds: int = ROUNDS, clock: Callable[[], float] = time.perf_counter,
                    budget_s: float = math.inf) -> list[Sample]:
    """Draw micro-benchmarks of every kind (``per_kind`` × :data:`WEIGHTS`) and time each op they
    dispatch in shuffled replays of chunks of them (see the module docstring). After ``budget_s``
    no new shapes are drawn: the kinds keep what they have (round-robin, so all have some)."""
    from costlab.cost.predict import features

    rng = random.Random(seed)
    scale = Scale(device, dtype, device.type == "cuda")
    chosen = list(kinds or CASES)
    wanted = {kind: max(1, round(per_kind * WEIGHTS.get(kind, 1.0))) for kind in chosen}
    total = sum(wanted.values())
    counts: Counter[str] = Counter()
    samples: list[Sample] = []
    sizes = scale.chunk_shares
    chunks: dict[int, list[_Pending]] = {size: [] for size in sizes}
    chunk_bytes: Counter[int] = Counter()
    placed: Counter[int] = Counter()  # ops given to each chunk size so far
    done = 0
    started = time.perf_counter()

    def flush(size: int) -> None:
        pending = chunks[size]
        _replay(pending, device, rounds, rng, clock)
        for item in pending:
            time_s, spread = summarize(item.times_s)
            flops, nbytes, x = features(item.record, item.kind)
            samples.append(Sample(item.kind, item.record.op, flops, nbytes, x, time_s, spread, chunk_bytes[size]))
        pending.clear()
        chunk_bytes[size] = 0

    for round_ in range(max(wanted.values())):
        for kind in chosen:
            if round_ >= wanted[kind] or time.perf_counter() - started > budget_s:
                continue
            call = CASES[kind](rng, scale)
            recorder = _Recorder()
            with recorder:
                call()
            # this micro-benchmark's ops join the chunk size furthest below its share of the ops
            size = min(sizes, key=lambda size: placed[size] / sizes[size])
            for record, (func, args, kwargs) in zip(recorder.ops, recorder.invocations):
                found = kind_of(record)
                if found is None or counts[found] >= 2 * wanted.get(found, per_kind):
                    continue
                chunks[size].append(_Pending(found, record, func, args, kwargs, []))
                counts[found] += 1
                placed[size] += 1
                chunk_bytes[size] += record.cost.bytes_accessed
            del recorder, call
            done += 1
            if chunk_bytes[size] > size or len(chunks[size]) >= _CHUNK_OPS:
                flush(size)
            notify(progress, done / total, f"timing {kind} kernels")
    for size in sizes:
        if chunks[size]:
            flush(size)
    return samples


def fit_samples(samples: Sequence[Sample], families: Sequence[str] = FAMILIES,
                cache_bytes: float = math.inf) -> dict[str, KindFit]:
    """One :class:`KindFit` per kind with at least three samples replayed within ``cache_bytes``
    (its model), and its cold ratio from those replayed past it: their median time over the model's
    (1 with fewer than three of them)."""
    import numpy as np

    by_kind: dict[str, list[Sample]] = {}
    for sample in samples:
        by_kind.setdefault(sample.kind, []).append(sample)
    fits = {}
    for kind, group in sorted(by_kind.items()):
        lengths = Counter(len(s.x) for s in group)
        width = lengths.most_common(1)[0][0]
        group = [s for s in group if len(s.x) == width]
        warm = [s for s in group if s.chunk_bytes <= cache_bytes]
        cold = [s for s in group if s.chunk_bytes > cache_bytes]
        if len(warm) < 3:
            continue
        model, cv = fit_kind([s.flops for s in warm], [s.bytes_accessed for s in warm], [s.x for s in warm],
                             [s.time_s for s in warm], families)
        ratio = 1.0
        if len(cold) >= 3:
            priced = model.predict_s(np.array([s.flops for s in cold]), np.array([s.bytes_accessed for s in cold]),
                                     np.array([s.x for s in cold], dtype=float))
            ratio = float(np.median(np.array([s.time_s for s in cold]) / priced))
        fits[kind] = KindFit(kind, model, cv, len(warm), statistics.median(s.time_s for s in warm) * 1e3,
                             statistics.median(s.spread for s in warm), ratio)
    return fits


# ------------------------------------------------------------------------------------------------
# Fresh memory
# ------------------------------------------------------------------------------------------------

GLIBC_MMAP_MAX = 32 * 2**20
"""glibc's largest dynamic mmap threshold on 64-bit (``DEFAULT_MMAP_THRESHOLD_MAX``): an allocation over
it is a new mapping every time, freed with ``munmap``, so each of its pages faults again when written."""


def mmap_floor() -> int:
    """Bytes over which a CPU allocation is a new mapping each time here: 0 where malloc is not glibc's,
    ``MALLOC_MMAP_THRESHOLD_`` when it is set (it fixes the threshold), else :data:`GLIBC_MMAP_MAX`."""
    import os
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return 0
    fixed = os.environ.get("MALLOC_MMAP_THRESHOLD_", "").strip()
    return int(fixed) if fixed.isdigit() else GLIBC_MMAP_MAX


def fresh_page_seconds(device: torch.device, floor: int, clock: Callable[[], float], rounds: int = 5) -> float:
    """Seconds per page to allocate a tensor over ``floor`` bytes and write it, beyond writing one that
    stays resident: the page faults (and the kernel's zeroing) of a new mapping. 0 off the CPU or
    without a floor; the median of ``rounds``."""
    import torch

    from costlab.cost.residency import PAGE_BYTES

    if device.type != "cpu" or not 0 < floor <= 2**30:
        return 0.0
    nbytes = floor + 2**24  # bytes, whatever torch's default dtype is
    resident = torch.zeros(nbytes, dtype=torch.uint8)
    per_page = []
    for _ in range(rounds):
        start = clock()
        fresh = torch.empty(nbytes, dtype=torch.uint8)
        fresh.fill_(1)
        middle = clock()
        resident.fill_(1)
        end = clock()
        del fresh
        per_page.append(((middle - start) - (end - middle)) / (nbytes / PAGE_BYTES))
    return max(0.0, statistics.median(per_page))


# ------------------------------------------------------------------------------------------------
# Framework overhead, from synthetic nets
# ------------------------------------------------------------------------------------------------


def _synthetic_nets() -> list[tuple[str, Any]]:
    """Nets whose time is nearly all overhead: many tiny ops, in few or many module calls."""
    from torch import nn

    class Ops(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

        def forward(self, x: Any) -> Any:
            for i in range(self.n):
                x = x.relu() if i % 3 == 0 else (x + 1.0 if i % 3 == 1 else x * 0.5)
            return x

    class Wrap(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return self.inner(x)

    def blocks(n: int) -> nn.Module:
        return nn.Sequential(*[m for _ in range(n) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())])

    nets = []
    for n in (12, 48):
        nets.append((f"ops{n}", Ops(n)))
        nets.append((f"seq{n}", nn.Sequential(*[nn.ReLU() for _ in range(n)])))
        nets.append((f"nest{n}", nn.Sequential(*[Wrap(Wrap(nn.Hardswish())) for _ in range(n // 2)])))
        nets.append((f"blocks{n}", blocks(n // 4)))
    return nets


def _time_net(net: Any, x: Any, device: torch.device, clock: Callable[[], float], runs: int = 15) -> tuple[float, float]:
    """(whole pass, its ops one by one): median seconds of a forward of ``net``, and of the sum of its
    recorded ops replayed in order and timed each (the same context: same tensors, same order)."""
    recorder = _Recorder()
    with recorder:
        net(x)
    calls = [(func, args, kwargs) for func, args, kwargs in recorder.invocations]
    whole, parts = [], []
    for _ in range(2):
        net(x)
    for _ in range(runs):
        synchronize(device)
        start = clock()
        net(x)
        synchronize(device)
        whole.append(clock() - start)
        total = 0.0
        for func, args, kwargs in calls:
            synchronize(device)
            start = clock()
            func(*args, **kwargs)
            synchronize(device)
            total += clock() - start
        parts.append(total)
    return statistics.median(whole), statistics.median(parts)


def fit_overhead(device: torch.device, dtype: torch.dtype, clock: Callable[[], float] = time.perf_counter,
                 progress: Progress | None = None) -> Overhead:
    """What whole passes of the synthetic nets take beyond their ops timed one by one in the same
    context, fitted per module call, per op and per pass (non-negative least squares)."""
    import numpy as np
    import torch

    from costlab.cost.kernel_models import nnls
    from costlab.cost.profile import profile

    rows, residuals, wholes = [], [], []
    nets = _synthetic_nets()
    for i, (_, net) in enumerate(nets):
        report = profile(net, "1x8x8x8", dtype=dtypes.name_of(dtype))
        x = torch.randn(1, 8, 8, 8).to(device=device, dtype=dtype)
        whole, ops = _time_net(net.eval().to(device=device, dtype=dtype), x, device, clock)
        rows.append([len(report.calls), report.totals.ops, 1.0])
        residuals.append(whole - ops)
        wholes.append(whole)
        notify(progress, (i + 1) / len(nets), "timing synthetic nets (framework overhead)")
    scale = np.array(wholes)
    per_call, per_op, fixed = (float(c) for c in nnls(np.array(rows) / scale[:, None], np.array(residuals) / scale))
    overhead = Overhead(per_call, per_op, fixed, 0.0, len(nets))
    errors = [abs(overhead.seconds(int(r[0]), int(r[1])) - res) / w for r, res, w in zip(rows, residuals, wholes)]
    return replace(overhead, fit_mape=float(statistics.fmean(errors)))


# ------------------------------------------------------------------------------------------------
# Calibrating
# ------------------------------------------------------------------------------------------------


def calibrate(
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    *,
    samples_per_kind: int = SAMPLES_PER_KIND,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
    families: Sequence[str] = FAMILIES,
    budget_s: float = BUDGET_S,
    progress: Progress | None = None,
) -> Calibration:
    """Measure and fit a calibration of ``device`` at ``dtype`` and ``threads`` (no cache involved).

    ``samples_per_kind`` micro-benchmarks per kind (:data:`SAMPLES_PER_KIND`; :data:`QUICK_SAMPLES_PER_KIND`
    for a quick one); ``kinds`` restricts the kinds (the others are then priced by the roofline).
    """
    import torch

    if samples_per_kind < 1:
        raise CostlabError(f"samples per kind must be at least 1, got {samples_per_kind}")
    unknown = sorted(set(kinds or ()) - set(CASES))
    if unknown:
        raise CostlabError(f"no micro-benchmarks for kind {', '.join(unknown)} (known: {', '.join(CASES)})")
    target = resolve_device(device)
    float_dtype = resolve_dtype(dtype, target)
    started = time.perf_counter()
    rng_devices = [target] if target.type == "cuda" else []
    with fixed_threads(threads) as used, torch.no_grad(), torch.random.fork_rng(rng_devices):  # RNG left as it was
        peaks = machine_peaks(str(target), dtypes.name_of(float_dtype), used)
        notify(progress, 0.02, "device peaks")
        clock_name = "thread_time" if target.type == "cpu" and used == 1 else "perf_counter"
        samples = measure_samples(target, float_dtype, samples_per_kind, seed, kinds, part(progress, 0.02, 0.85),
                                  clock=getattr(time, clock_name), budget_s=budget_s)
        cache = last_level_cache(target)
        fits = fit_samples(samples, families, cache or math.inf)
        notify(progress, 0.88, "fitting kernel models")
        calibration = Calibration(
            device=str(target), device_name=device_name(target), dtype=dtypes.name_of(float_dtype), threads=used,
            torch_version=torch.__version__, measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            seconds=0.0, kinds=fits, overhead=Overhead(), peak_flops=peaks.peak_flops,
            bandwidth_bytes_per_s=peaks.bandwidth_bytes_per_s,
            spread=statistics.median(s.spread for s in samples) if samples else 0.0,
            samples=[asdict(s) for s in samples], clock=clock_name, cache_bytes=cache,
        )
        floor = mmap_floor() if target.type == "cpu" else 0
        fresh_s = fresh_page_seconds(target, floor, getattr(time, clock_name))
        overhead = fit_overhead(target, float_dtype, getattr(time, clock_name), part(progress, 0.88, 1.0))
    return replace(calibration, overhead=overhead, fresh_page_s=fresh_s, fresh_floor_bytes=floor if fresh_s else 0,
                   seconds=time.perf_counter() - started)


def noise_problem(calibration: Calibration) -> str | None:
    """Why ``calibration`` is too noisy to cache, or None when it is not."""
    if calibration.spread <= NOISE_LIMIT:
        return None
    hint = " or --threads 1" if calibration.device == "cpu" and calibration.threads > 1 else ""
    return (
        f"the micro-benchmarks' timings spread {calibration.spread:.1%} (median IQR / median, over {NOISE_LIMIT:.0%}): "
        f"the machine was busy; calibrate again at a quieter moment{hint}"
    )
