"""Per-layer time, and where the time goes by kind of work (ShuffleNet V2, Fig. 2).

How a layer is timed: the model runs for real under a timing variant of the cost capture
(:class:`costlab.cost.capture.Capture`), which reads the clock around every aten op at the
dispatch level, the device synchronised before each read. The same module hooks say *where* each
op runs and the same formula registry says *what kind* of op it is, so op times land on exactly
the module calls and categories a :class:`~costlab.cost.report.Report` counts: module calls happen
in the same order in the counted and the timed run, and a row of ``Report.layers(depth)`` gets
the time of the ops it holds. (``torch.profiler`` was the other candidate; its op names sit above
the dispatch level — ``aten::conv2d``, ``aten::batch_norm`` — and do not map one to one onto the
Report's ops, nor tell a depthwise convolution from a dense one.)

Each op's time is its median over the instrumented passes; a row's time and a kind's time are
sums of those, so the rows (plus :attr:`LayerTiming.unattributed_ms`, the ops of rows that hold
only views) add up to the kinds: the time spent *inside* op calls. The whole-model latency, timed
without instrumentation, also holds the Python and dispatcher time between ops, so both are shown
and their ratio is :attr:`LayerTiming.coverage`. It is below 1 on CPU when ops take more than a
few tens of µs. It can pass 1 for nets of many tiny ops: each timed call also holds the timing
mode's own call into the op, a few µs that an untimed run does not pay. That cost is measured in
the same passes — :attr:`LayerTiming.call_floor_ms` is the median time of a view, a call that does
no work — and shown beside the coverage. On CUDA each op is synchronised (its time includes its
launch latency) while an untimed run overlaps launches with the GPU's work, so coverage passes 1.

Time is broken down by the one taxonomy of :mod:`costlab.cost.categories`, with the op counts
``Report.by_category`` has; views and bare allocations, which are not ops but still take a call's
time, are their own lines (``view``, ``creation``) with no ops and their number of calls.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from costlab.cost import formulas
from costlab.cost.capture import no_dynamo
from costlab.cost.categories import CATEGORIES, Category, is_op, row_kind
from costlab.cost.costs import Column, Intensity
from costlab.cost.roofline import Measured
from costlab.cost.tracker import ModuleCall, ModuleTracker
from costlab.errors import CostlabError
from costlab.progress import Progress, notify, part
from costlab.timing.devices import fixed_threads, synchronize
from costlab.timing.measure import DEFAULT_MIN_TIME_S, Measurement, Workload, load_workload, seeded_rng, time_workload
from costlab.units import shapes_text

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.report import LayerRecord, Report

__all__ = [
    "MIN_LAYER_RUNS",
    "TIME_COLUMNS",
    "CategoryTime",
    "LayerAlignmentError",
    "LayerTime",
    "LayerTiming",
    "measure_layers",
    "time_layers",
]

MIN_LAYER_RUNS = 5

TIME_COLUMNS = (
    Column("time_ms", "Time", "time", "ms", significant=6),
    Column("time_share", "Share", "share of time", "%", significant=6),
    Column("achieved_flops_per_s", "FLOP/s", "achieved FLOP/s", dash_zero=True, significant=6),
    Column("achieved_bytes_per_s", "B/s", "achieved bytes/s", "B", significant=6),
)
"""The measured numbers a layer row gains with ``--device`` (profile's table, CSV, Markdown and JSON)."""


class LayerAlignmentError(CostlabError):
    """The timed run made different module calls than the counted run, so rows cannot be matched."""


@dataclass(frozen=True)
class LayerTime(Intensity):
    """The measured time of one row of ``Report.layers(depth)``, and what it achieved."""

    name: str
    type: str
    depth: int
    call: int
    category: str
    time_ms: float
    time_share: float
    flops: int
    bytes_accessed: int

    @property
    def achieved_flops_per_s(self) -> float:
        return self.flops / (self.time_ms / 1e3) if self.time_ms > 0 else 0.0

    @property
    def achieved_bytes_per_s(self) -> float:
        return self.bytes_accessed / (self.time_ms / 1e3) if self.time_ms > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "depth": self.depth,
            "category": self.category,
            "time_ms": self.time_ms,
            "time_share": self.time_share,
            "flops": self.flops,
            "bytes_accessed": self.bytes_accessed,
            "intensity": self.intensity,
            "achieved_flops_per_s": self.achieved_flops_per_s,
            "achieved_bytes_per_s": self.achieved_bytes_per_s,
        }


@dataclass(frozen=True)
class CategoryTime:
    """The time spent in one kind of work per forward pass: its ``ops`` (kernels, the count
    ``Report.by_category`` has) and all its ``calls`` (views and bare allocations are calls only)."""

    category: str
    time_ms: float
    share: float
    ops: int
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "time_ms": self.time_ms, "share": self.share, "ops": self.ops,
                "calls": self.calls}


@dataclass(frozen=True)
class LayerTiming:
    """Per-layer times (aligned with ``Report.layers(depth)``), the category breakdown, and the
    whole-model latency they are reconciled with."""

    latency: Measurement
    layers: tuple[LayerTime, ...]
    categories: tuple[CategoryTime, ...]
    unattributed_ms: float
    runs: int
    depth: int | None
    op_ms: dict[str, float]
    """aten op name → its calls' time per pass (``aten.native_batch_norm``: what G4 leaves out)."""
    call_floor_ms: float = 0.0
    """The median time of a view call, which moves no data: about what each timed call spends on
    the call itself (0 when the model makes no view)."""

    @property
    def calls(self) -> int:
        """Op calls timed per pass (ops, views and allocations)."""
        return sum(c.calls for c in self.categories)

    @property
    def instrumentation_ms(self) -> float:
        """The calls themselves, at :attr:`call_floor_ms` each: the part of the sum that grows with
        the number of calls rather than their work."""
        return self.calls * self.call_floor_ms

    @property
    def layer_sum_ms(self) -> float:
        """The rows' times added up: time spent inside ops."""
        return sum(layer.time_ms for layer in self.layers)

    @property
    def model_ms(self) -> float:
        """The whole-model median latency, timed without instrumentation."""
        return self.latency.median_ms

    @property
    def coverage(self) -> float:
        """layer_sum_ms / model_ms (see the module docstring for why it is not 1)."""
        return self.layer_sum_ms / self.model_ms if self.model_ms else 0.0

    def by_call(self) -> dict[int, LayerTime]:
        """Rows keyed by ``LayerRecord.call``, for tables whose rows were sorted or cut."""
        return {layer.call: layer for layer in self.layers}

    @property
    def time_shares(self) -> dict[str, float]:
        """Kind of work → share of the time inside op calls (what lint's G4 reports)."""
        return {c.category: c.share for c in self.categories}

    @property
    def op_time_shares(self) -> dict[str, float]:
        """aten op name → share of the time inside op calls."""
        total = sum(self.op_ms.values())
        return {op: ms / total if total else 0.0 for op, ms in self.op_ms.items()}

    def measured(self) -> Measured:
        """The measured times, for drawing on a roofline (:func:`costlab.cost.roofline.chart`)."""
        return Measured(tuple(l.call for l in self.layers), tuple(l.time_ms for l in self.layers), self.model_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_ms": self.model_ms,
            "layer_sum_ms": self.layer_sum_ms,
            "unattributed_ms": self.unattributed_ms,
            "coverage": self.coverage,
            "calls": self.calls,
            "call_floor_ms": self.call_floor_ms,
            "runs": self.runs,
            "depth": self.depth,
            "categories": [c.to_dict() for c in self.categories],
            "layers": [layer.to_dict() for layer in self.layers],
        }


# ------------------------------------------------------------------------------------------------
# The timed capture
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pass:
    """One instrumented forward pass: the module calls, and each op's call and seconds."""

    calls: list[ModuleCall]
    op_calls: list[int]
    op_times_s: list[float]
    op_kinds: list[tuple[str, bool, str]]  # (category, is an op, aten name), first pass only


class _TimedCapture(no_dynamo, TorchDispatchMode):
    """The cost capture's module tracking, reading the clock around every op (device synchronised).

    Between ops it does as little as it can (a clock read, two appends): heavier Python work
    there — or keeping every tensor alive, as a cost capture does — would evict the caches and
    defeat the allocator's reuse, and slow the very ops being timed. ``categorize`` also asks the
    cost registry what kind each op is (done on the first pass only).
    """

    def __init__(self, workload: Workload, categorize: bool) -> None:
        super().__init__()
        self.tracker = ModuleTracker({id(m): name for name, m in workload.model.named_modules()})
        self.device = workload.device
        self.categorize = categorize
        self.op_times_s: list[float] = []
        self.op_calls: list[int] = []
        self.op_kinds: list[tuple[str, bool, str]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        synchronize(self.device)
        start = time.perf_counter()
        out = func(*args, **kwargs)
        synchronize(self.device)
        self.op_times_s.append(time.perf_counter() - start)
        self.op_calls.append(self.tracker.current_index)
        if self.categorize:
            cost = formulas.cost_of(func, args, kwargs, out)
            name = f"aten.{func.overloadpacket.__name__}"
            self.op_kinds.append((cost.category, is_op(cost.category, cost.bytes_accessed), name))
        return out


def _timed_pass(workload: Workload, inputs: tuple[tuple[Any, ...], dict[str, Any]], categorize: bool) -> _Pass:
    recorder = _TimedCapture(workload, categorize)
    with torch.no_grad(), recorder.tracker.hooks(), recorder:
        workload.model(*inputs[0], **inputs[1])
    return _Pass(recorder.tracker.calls, recorder.op_calls, recorder.op_times_s, recorder.op_kinds)


def _check_aligned(report: Report, calls: list[ModuleCall], label: str) -> None:
    counted = [(c.name, c.parent) for c in report.calls]
    timed = [(c.name, c.parent) for c in calls]
    if counted != timed:
        raise LayerAlignmentError(
            f"{label}: the timed run made {len(timed)} module calls, the counted run {len(counted)} "
            f"(or in another order): per-layer times need the same calls in both (does the forward "
            "depend on the input values?)"
        )


# ------------------------------------------------------------------------------------------------
# Public entry points
# ------------------------------------------------------------------------------------------------


def time_layers(
    workload: Workload,
    report: Report,
    *,
    depth: int | None = None,
    batch: int | None = None,
    threads: int | None = None,
    min_time_s: float = DEFAULT_MIN_TIME_S,
    progress: Progress | None = None,
) -> LayerTiming:
    """Time ``workload`` whole and per row of ``report.layers(depth)``.

    ``report`` must count the same model at the same input (``batch`` included). The whole model
    is timed first (:func:`~costlab.timing.measure.time_workload`, which also warms it up), then
    instrumented passes run until at least :data:`MIN_LAYER_RUNS` are done and ``min_time_s`` is spent.
    """
    latency = time_workload(
        workload, batch=batch, threads=threads, min_time_s=min_time_s, progress=part(progress, 0.0, 0.5)
    )
    from costlab.load import user_code

    inputs = workload.inputs(batch)
    passes: list[_Pass] = []
    spent = 0.0
    with fixed_threads(threads), torch.no_grad(), seeded_rng(workload.device), user_code():
        while len(passes) < MIN_LAYER_RUNS or spent < min_time_s:
            start = time.perf_counter()
            run = _timed_pass(workload, inputs, categorize=not passes)
            spent += time.perf_counter() - start
            _check_aligned(report, run.calls, workload.label)
            if passes and run.op_calls != passes[0].op_calls:
                raise LayerAlignmentError(f"{workload.label}: two timed passes ran different ops")
            passes.append(run)
            notify(progress, 0.5 + 0.5 * min(1.0, spent / min_time_s, len(passes) / MIN_LAYER_RUNS))
    return _aggregate(report, depth, latency, passes)


def _aggregate(report: Report, depth: int | None, latency: Measurement, passes: list[_Pass]) -> LayerTiming:
    """Each op's median time over the passes, summed per row, per kind and per aten op."""
    first = passes[0]
    op_ms = [statistics.median(run.op_times_s[i] for run in passes) * 1e3 for i in range(len(first.op_calls))]
    rows = report.layers(depth)
    row_of = report.row_of_calls(rows)
    row_ms: Counter[int | None] = Counter()
    kind_ms: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    views: list[float] = []
    for call, (kind, counted, name), ms in zip(first.op_calls, first.op_kinds, op_ms):
        row_ms[row_of[call]] += ms
        kind_ms[kind] += ms
        by_op[name] += ms
        ops[kind] += counted
        calls[kind] += 1
        if kind == Category.VIEW:
            views.append(ms)
    layer_sum = sum(ms for key, ms in row_ms.items() if key is not None)
    layers = tuple(_layer_time(row, row_ms[row.call], layer_sum) for row in rows)
    total = sum(kind_ms.values())
    categories = tuple(
        CategoryTime(kind, kind_ms[kind], kind_ms[kind] / total if total else 0.0, ops[kind], calls[kind])
        for kind in (*CATEGORIES, *sorted(set(calls) - set(CATEGORIES)))
        if calls[kind]
    )
    floor = statistics.median(views) if views else 0.0
    return LayerTiming(latency, layers, categories, row_ms[None], len(passes), depth, dict(by_op), floor)


def measure_layers(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    report: Report | None = None,
    depth: int | None = None,
    device: str = "cpu",
    batch: int | None = None,
    dtype: str | None = None,
    threads: int | None = None,
    channels_last: bool = False,
    min_time_s: float = DEFAULT_MIN_TIME_S,
    progress: Progress | None = None,
) -> LayerTiming:
    """Per-layer times of ``model`` on ``device``, aligned with ``report.layers(depth)``.

    ``report`` is the model's :class:`~costlab.cost.report.Report` at the same input (and batch);
    when omitted it is counted here. Returns a :class:`LayerTiming` whose ``layers[i]`` is the time
    of ``report.layers(depth)[i]``.
    """
    import costlab

    workload = load_workload(model, input_shape, inputs=inputs, device=device, dtype=dtype, channels_last=channels_last)
    if report is None:
        report = costlab.profile(model, inputs=workload.example_inputs(batch), dtype=workload.dtype_name)
    elif tuple(map(tuple, report.input_shapes)) != workload.input_shapes(batch):
        shown = shapes_text(report.input_shapes)
        timed = shapes_text(workload.input_shapes(batch))
        raise LayerAlignmentError(f"the report counts input {shown} but the timing runs {timed}: use the same input")
    return time_layers(
        workload, report, depth=depth, batch=batch, threads=threads, min_time_s=min_time_s, progress=progress
    )


def _layer_time(row: LayerRecord, time_ms: float, layer_sum_ms: float) -> LayerTime:
    return LayerTime(
        name=row.name,
        type=row.type,
        depth=row.depth,
        call=row.call,
        category=row_kind(row.categories),
        time_ms=time_ms,
        time_share=time_ms / layer_sum_ms if layer_sum_ms else 0.0,
        flops=row.flops,
        bytes_accessed=row.bytes_accessed,
    )
