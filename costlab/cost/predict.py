"""Predicted latency: a Report's ops priced by a device's calibrated kernel models, no timing involved.

A :class:`Calibration` (measured by :mod:`costlab.timing.calibrate`) holds one fitted model per
*kind* of kernel (:data:`KINDS`): dense convolutions, pointwise, grouped and depthwise ones,
linear / bmm / attention, element-wise unary, binary and broadcasting ops, batch and layer norms,
pooling, reductions, softmax, data movement (cat, copies, pad, gathers), resampling, allocation
and views. :func:`kind_of` gives an op its kind and :func:`features` the numbers its model reads,
from the op's record alone (shapes and counted costs), so prediction runs on the ``meta`` device:

    predicted latency = Σ over ops  model[kind](FLOPs, bytes accessed, shape features) × cache factor
                                   + fresh pages × the cost of faulting one in
                      + framework overhead (per module call and per op, fitted on synthetic nets)

*Cache factor*: a kind's model is fitted on micro-benchmarks in the last-level cache, its ``cold_ratio``
on others far past it; a model past the cache pays ``1 + share · (cold_ratio − 1)`` for the share of
accesses that miss (:mod:`costlab.cost.residency`). *Fresh pages*: outputs glibc maps afresh every time
fault in every page, at a cost per page the calibration measures.

A row's predicted time is the time of the ops it holds (what per-layer timing measures); the
whole model adds the overhead between ops, as its measured latency does. An op whose kind has no
model in the calibration (or no cost formula) is priced by the calibration's roofline plus the
smallest fixed cost it measured, and counted in :attr:`LatencyPrediction.unmodelled` — never zero.
Pure arithmetic on op records and the calibration's parameters, like :mod:`costlab.cost.roofline`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from costlab.cost.categories import Category, row_kind
from costlab.cost.costs import Intensity
from costlab.cost.kernel_models import CvError, KernelModel, model_from_dict
from costlab.cost.residency import cold_share, footprint, fresh_pages
from costlab.errors import CostlabError

if TYPE_CHECKING:
    from costlab.cost.capture import OpRecord
    from costlab.cost.report import Report

__all__ = [
    "CALIBRATION_VERSION",
    "KINDS",
    "Calibration",
    "CalibrationError",
    "KindFit",
    "LatencyPrediction",
    "LayerLatency",
    "OlderCalibration",
    "Overhead",
    "features",
    "kind_of",
    "op_times_s",
    "predict_latency",
]

CALIBRATION_VERSION = 2
"""2: each kind's cold ratio, the last-level cache, the fresh-page cost."""

KINDS = (
    "conv_dense", "conv_pointwise", "conv_grouped", "conv_depthwise", "conv_transposed",
    "linear", "bmm", "attention",
    "unary", "unary_math", "binary", "binary_broadcast", "batch_norm", "normalization",
    "pool", "reduction", "softmax",
    "cat", "copy", "pad", "gather", "resample", "fill", "alloc", "view",
)
"""Every kind of kernel the calibration measures and the predictor prices."""

# element-wise ops whose kernels evaluate a transcendental or a polynomial per element
_MATH = frozenset(
    ("gelu", "silu", "mish", "sigmoid", "tanh", "exp", "exp2", "expm1", "log", "log2", "log1p", "erf", "erfinv",
     "softplus", "elu", "selu", "celu", "sin", "cos", "tan", "sqrt", "rsqrt", "pow", "logit", "tanhshrink")
)
_POOLS = frozenset(("aten.max_pool1d", "aten.max_pool2d", "aten.max_pool2d_with_indices", "aten.max_pool3d",
                    "aten.max_pool3d_with_indices", "aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d"))
_SOFTMAX = frozenset(("aten._softmax", "aten._log_softmax", "aten._safe_softmax", "aten.softmax", "aten.log_softmax"))
_BATCH_NORM = frozenset(("aten.native_batch_norm", "aten._native_batch_norm_legit",
                         "aten._native_batch_norm_legit_no_training"))
_BMM = frozenset(("aten.bmm", "aten.baddbmm"))
_CAT = frozenset(("aten.cat", "aten.stack"))
_GATHER = frozenset(("aten.embedding", "aten.index_select", "aten.gather", "aten.take", "aten.masked_select",
                     "aten.nonzero"))


def _log(value: float) -> float:
    return math.log2(value) if value > 0 else 0.0


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def kind_of(op: OpRecord) -> str | None:
    """The kind of kernel ``op`` runs (one of :data:`KINDS`), or None for an op without a cost formula."""
    category, name = op.cost.category, op.op
    if category == Category.UNSUPPORTED:
        return None
    if category == Category.VIEW:
        return "view"
    if category == Category.CREATION:
        return "fill" if op.cost.bytes_written else "alloc"
    if category in (Category.CONV, Category.DEPTHWISE_CONV):
        if category == Category.DEPTHWISE_CONV:
            return "conv_depthwise"
        x, w = op.input_shapes[0], op.input_shapes[1]
        y = op.output_shapes[0]
        if y[1] != w[0] and x[1] == w[0]:
            return "conv_transposed"
        if x[1] != w[1]:
            return "conv_grouped"
        return "conv_pointwise" if _numel(w[2:]) == 1 else "conv_dense"
    if category == Category.MATMUL:
        if name in _BMM:
            return "bmm"
        return "attention" if "attention" in name else "linear"
    if name in _BATCH_NORM:
        return "batch_norm"
    if category == Category.NORMALIZATION:
        return "normalization"
    if category == Category.ELEMENTWISE:
        shapes = [s for s in op.input_shapes if _numel(s) > 1]
        if len(shapes) <= 1:
            return "unary_math" if name.removeprefix("aten.").rstrip("_") in _MATH else "unary"
        out = op.output_shapes[0] if op.output_shapes else ()
        return "binary" if all(s == out for s in shapes) else "binary_broadcast"
    if category == Category.REDUCTION:
        if name in _POOLS:
            return "pool"
        return "softmax" if name in _SOFTMAX else "reduction"
    if category == Category.RESAMPLE:
        return "resample"
    if category == Category.DATA_MOVEMENT:
        if name in _CAT:
            return "cat"
        if name in _GATHER:
            return "gather"
        return "pad" if "pad" in name else "copy"
    return None


def features(op: OpRecord, kind: str) -> tuple[float, float, tuple[float, ...]]:
    """(FLOPs, bytes accessed, shape features) of ``op`` for its kind's model.

    The shape features are log₂ of sizes (and small integers): what, beyond the op's size, makes one
    shape of a kind faster than another — channels, the spatial size, the kernel and the stride for
    a convolution; the three dimensions of a matrix product; broadcasting for an element-wise op.
    """
    flops, nbytes = float(op.cost.flops), float(op.cost.bytes_accessed)
    size = (_log(flops), _log(nbytes))
    ins, outs = op.input_shapes, op.output_shapes
    out = outs[0] if outs else ()
    if kind.startswith("conv"):
        x, w = ins[0], ins[1]
        stride = x[2] / out[2] if len(x) > 2 and len(out) > 2 and out[2] else 1.0
        groups = x[1] / w[1] if kind != "conv_transposed" and w[1] else 1.0
        extra = (_log(x[0]), _log(x[1]), _log(out[1]), _log(_numel(out[2:])), _log(_numel(w[2:])),
                 round(stride, 2), _log(groups))
    elif kind == "linear":
        a, b = (ins[-2], ins[-1]) if len(ins) >= 2 else (ins[0], ins[0])
        m = _numel(a[:-1]) if len(a) > 1 else 1
        extra = (_log(m), _log(a[-1]), _log(b[-1] if len(b) > 1 else 1))
    elif kind == "bmm":
        a, b = ins[-2], ins[-1]
        extra = (_log(a[0]), _log(a[1]), _log(a[2]), _log(b[2]))
    elif kind == "attention":
        q, k = ins[0], ins[1]
        extra = (_log(_numel(q[:-2])), _log(q[-2]), _log(k[-2]), _log(q[-1]))
    elif kind in ("unary", "unary_math", "binary", "binary_broadcast", "fill"):
        elems = _numel(out) if out else 0
        smallest = min((_numel(s) for s in ins), default=elems)
        extra = (_log(elems), _log(elems / smallest) if smallest else 0.0, float(op.op.endswith("_")),
                 float(len(ins)))
    elif kind in ("batch_norm", "normalization"):
        x = ins[0]
        extra = (_log(_numel(x)), _log(x[0]), _log(x[1] if len(x) > 1 else 1), _log(x[-1]))
    elif kind in ("pool", "reduction", "softmax", "resample", "gather"):
        x = ins[0] if ins else ()
        extra = (_log(_numel(x)), _log(_numel(out)), float(len(x)), _log(x[-1] if x else 1))
    elif kind in ("cat", "copy", "pad"):
        x = ins[0] if ins else ()
        extra = (_log(_numel(out)), float(len(ins)), float(len(x)), _log(x[-1] if x else 1))
    else:  # alloc, view: a fixed cost, by how many tensors come back
        extra = (float(len(outs)), float(len(ins)))
    return flops, nbytes, size + extra


# ------------------------------------------------------------------------------------------------
# The calibration's parameters
# ------------------------------------------------------------------------------------------------


class CalibrationError(CostlabError):
    """A calibration file that cannot be read back (the cache layer names the file)."""


class OlderCalibration(CalibrationError):
    """A calibration in a format an older costlab wrote: to be measured again, not repaired."""


@dataclass(frozen=True)
class KindFit:
    """One kind's kept model, every family's cross-validated error (kept first), and its samples."""

    kind: str
    model: KernelModel
    cv: tuple[CvError, ...]
    samples: int
    median_ms: float
    spread: float
    cold_ratio: float = 1.0
    """Time with the working set far past the last-level cache over the model's (see the module docstring)."""

    @property
    def family(self) -> str:
        return self.model.family

    @property
    def cv_mape(self) -> float:
        return self.cv[0].mape if self.cv else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model.to_dict(), "cv": [c.to_dict() for c in self.cv],
                "samples": self.samples, "median_ms": self.median_ms, "spread": self.spread, "cold_ratio": self.cold_ratio}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KindFit:
        cv = tuple(CvError(c["family"], float(c["mape"]), float(c["within_10"]), int(c["samples"])) for c in data["cv"])
        return cls(str(data["kind"]), model_from_dict(data["model"]), cv, int(data["samples"]),
                   float(data["median_ms"]), float(data["spread"]), float(data["cold_ratio"]))


@dataclass(frozen=True)
class Overhead:
    """What a whole forward pass takes beyond the sum of its ops timed alone, fitted on synthetic nets:
    ``per_call_s`` per module call, ``per_op_s`` per op (the Python between ops), ``fixed_s`` once per pass."""

    per_call_s: float = 0.0
    per_op_s: float = 0.0
    fixed_s: float = 0.0
    fit_mape: float = 0.0
    nets: int = 0

    def seconds(self, calls: int, ops: int) -> float:
        return self.fixed_s + self.per_call_s * calls + self.per_op_s * ops

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Calibration:
    """A device's kernel models at one dtype, thread count and torch version (see the module docstring)."""

    device: str
    device_name: str
    dtype: str
    threads: int
    torch_version: str
    measured_at: str
    seconds: float
    kinds: dict[str, KindFit]
    overhead: Overhead
    peak_flops: float
    bandwidth_bytes_per_s: float
    spread: float
    samples: list[dict[str, Any]] = field(default_factory=list, repr=False)
    clock: str = "perf_counter"
    """What timed the ops: ``perf_counter`` (wall time) or ``thread_time`` (one CPU thread's own time)."""
    fresh_page_s: float = 0.0
    """Seconds to fault in one page of a new mapping and write it, beyond writing a resident one."""
    fresh_floor_bytes: int = 0
    """Allocations over this many bytes are new mappings every time (0: none are; not glibc, or a GPU)."""
    cache_bytes: int = 0
    """The last-level cache the kinds' cold ratios are relative to (0: unknown, no cache factor)."""
    cached: bool = False

    @property
    def key(self) -> str:
        return calibration_key(self.device, self.device_name, self.dtype, self.threads, self.torch_version)

    @property
    def floor_s(self) -> float:
        """The smallest fixed cost of any kind: what even an unknown op costs."""
        fixed = [getattr(fit.model, "fixed_s", 0.0) or getattr(getattr(fit.model, "base", None), "fixed_s", 0.0)
                 for fit in self.kinds.values()]
        positive = [f for f in fixed if f > 0]
        return min(positive) if positive else 0.0

    @property
    def label(self) -> str:
        threads = f", {self.threads} thread{'s' if self.threads != 1 else ''}" if self.device == "cpu" else ""
        return f"{self.device_name} ({self.dtype}{threads}, torch {self.torch_version}), calibrated {self.measured_at[:10]}"

    def to_dict(self, samples: bool = True) -> dict[str, Any]:
        data = {
            "version": CALIBRATION_VERSION,
            "device": self.device, "device_name": self.device_name, "dtype": self.dtype, "threads": self.threads,
            "torch_version": self.torch_version, "measured_at": self.measured_at, "seconds": self.seconds,
            "peak_flops": self.peak_flops, "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
            "spread": self.spread, "clock": self.clock, "overhead": self.overhead.to_dict(),
            "fresh_page_s": self.fresh_page_s, "fresh_floor_bytes": self.fresh_floor_bytes,
            "cache_bytes": self.cache_bytes,
            "kinds": {kind: fit.to_dict() for kind, fit in self.kinds.items()},
        }
        if samples:
            data["samples"] = self.samples
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """Read what :meth:`to_dict` wrote; CalibrationError on anything else."""
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and 0 < version < CALIBRATION_VERSION:
            raise OlderCalibration(f"made by an older costlab (calibration format {version}, this one reads {CALIBRATION_VERSION})")
        if version != CALIBRATION_VERSION:
            raise CalibrationError(f"not a costlab calibration (version {CALIBRATION_VERSION})")
        try:
            return cls(
                device=str(data["device"]), device_name=str(data["device_name"]), dtype=str(data["dtype"]),
                threads=int(data["threads"]), torch_version=str(data["torch_version"]),
                measured_at=str(data["measured_at"]), seconds=float(data["seconds"]),
                kinds={k: KindFit.from_dict(v) for k, v in data["kinds"].items()},
                overhead=Overhead(**{k: float(v) if k != "nets" else int(v) for k, v in data["overhead"].items()}),
                peak_flops=float(data["peak_flops"]), bandwidth_bytes_per_s=float(data["bandwidth_bytes_per_s"]),
                spread=float(data["spread"]), samples=list(data.get("samples", [])),
                clock=str(data.get("clock", "perf_counter")), fresh_page_s=float(data["fresh_page_s"]),
                fresh_floor_bytes=int(data["fresh_floor_bytes"]), cache_bytes=int(data["cache_bytes"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as err:
            raise CalibrationError(f"a calibration with a missing or malformed field ({type(err).__name__}: {err})") from None


def calibration_key(device: str, name: str, dtype: str, threads: int, torch_version: str) -> str:
    kind = device.partition(":")[0]
    return f"{kind}|{name}|{dtype}" + (f"|{threads} threads" if kind == "cpu" else "") + f"|torch {torch_version}"


# ------------------------------------------------------------------------------------------------
# Prediction
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerLatency(Intensity):
    """One row of ``Report.layers(depth)`` with its predicted time (the time of the ops it holds)."""

    name: str
    type: str
    depth: int
    call: int
    category: str
    flops: int
    bytes_accessed: int
    predicted_ms: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "depth": self.depth, "category": self.category,
                "flops": self.flops, "bytes_accessed": self.bytes_accessed, "intensity": self.intensity,
                "predicted_ms": self.predicted_ms, "share": self.share}


@dataclass(frozen=True)
class LatencyPrediction:
    """A model's predicted latency, per row and whole, and what it rests on."""

    model: str
    input_shapes: tuple[tuple[int, ...], ...]
    dtype: str
    calibration: Calibration
    layers: tuple[LayerLatency, ...]
    ops_ms: float
    overhead_ms: float
    unattributed_ms: float
    """Ops in module calls that have no row (calls holding only views): in ``ops_ms``, in no row."""
    by_kind_ms: dict[str, float]
    unmodelled: dict[str, int]
    ops: int
    calls: int
    fresh_pages: int = 0
    """Pages of outputs that are new mappings (see the module docstring)."""

    @property
    def fresh_ms(self) -> float:
        """Of ``ops_ms``: faulting in :attr:`fresh_pages`, at the calibration's cost per page."""
        return self.fresh_pages * self.calibration.fresh_page_s * 1e3

    @property
    def predicted_ms(self) -> float:
        """The whole model: its ops plus the framework overhead between them."""
        return self.ops_ms + self.overhead_ms

    def by_call(self) -> dict[int, LayerLatency]:
        return {layer.call: layer for layer in self.layers}

    def to_dict(self) -> dict[str, Any]:
        cal = self.calibration
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "dtype": self.dtype,
            "predicted_ms": self.predicted_ms,
            "ops_ms": self.ops_ms,
            "overhead_ms": self.overhead_ms,
            "fresh_memory_ms": self.fresh_ms,
            "fresh_pages": self.fresh_pages,
            "unattributed_ms": self.unattributed_ms,
            "ops": self.ops,
            "module_calls": self.calls,
            "by_kind_ms": dict(self.by_kind_ms),
            "unmodelled_ops": dict(self.unmodelled),
            "calibration": {
                "key": cal.key, "device": cal.device, "device_name": cal.device_name, "dtype": cal.dtype,
                "threads": cal.threads, "torch_version": cal.torch_version, "measured_at": cal.measured_at,
                "cv_mape": {kind: fit.cv_mape for kind, fit in cal.kinds.items()},
                "families": {kind: fit.family for kind, fit in cal.kinds.items()},
            },
            "layers": [layer.to_dict() for layer in self.layers],
        }


def op_times_s(ops: list[OpRecord], calibration: Calibration,
               footprint_bytes: float = 0.0) -> tuple[np.ndarray, list[str], Counter[str], np.ndarray]:
    """Each op's predicted seconds (cache factor and fresh pages included), its kind (``"roofline"`` for
    an op without a model), how many ops of each name had no model, and each op's fresh pages.
    ``footprint_bytes``: the model's parameters plus its largest op's bytes (0: all in cache). Ops are
    grouped by kind so each model is evaluated once."""
    times = np.zeros(len(ops))
    kinds: list[str] = []
    groups: dict[str, tuple[list[int], list[float], list[float], list[tuple[float, ...]]]] = {}
    unmodelled: Counter[str] = Counter()
    cold = cold_share(footprint_bytes, calibration.cache_bytes)
    pages = np.array([fresh_pages(op, calibration.fresh_floor_bytes) for op in ops], dtype=float)
    for i, op in enumerate(ops):
        kind = kind_of(op)
        if kind is None or kind not in calibration.kinds:
            unmodelled[op.op] += 1
            floor = calibration.floor_s
            times[i] = floor + max(op.cost.flops / calibration.peak_flops,
                                   op.cost.bytes_accessed / calibration.bandwidth_bytes_per_s)
            kinds.append("roofline")
            continue
        kinds.append(kind)
        flops, nbytes, x = features(op, kind)
        group = groups.setdefault(kind, ([], [], [], []))
        group[0].append(i)
        group[1].append(flops)
        group[2].append(nbytes)
        group[3].append(x)
    for kind, (rows, flops, nbytes, xs) in groups.items():
        fit = calibration.kinds[kind]
        factor = 1.0 + cold * (fit.cold_ratio - 1.0)
        times[rows] = factor * fit.model.predict_s(np.array(flops), np.array(nbytes), np.array(xs, dtype=float))
    return times + pages * calibration.fresh_page_s, kinds, unmodelled, pages


def predict_latency(report: Report, calibration: Calibration, depth: int | None = None) -> LatencyPrediction:
    """Price every op of ``report`` with ``calibration`` and add the rows up (see the module docstring)."""
    if report.dtype != calibration.dtype:
        raise CalibrationError(
            f"the model is counted at {report.dtype} but the calibration is for {calibration.dtype}: "
            f"calibrate at --dtype {report.dtype}"
        )
    times, kinds, unmodelled, pages = op_times_s(report.ops, calibration, footprint(report))
    rows = report.layers(depth)
    row_of = report.row_of_calls(rows)
    row_s: Counter[int | None] = Counter()
    by_kind: Counter[str] = Counter()
    for op, kind, seconds in zip(report.ops, kinds, times.tolist()):
        row_s[row_of[op.call] if row_of else None] += seconds
        by_kind[kind] += seconds
    ops_s = float(times.sum())
    row_calls = {row.call for row in rows}
    unattributed_s = sum(s for call, s in row_s.items() if call not in row_calls)
    layers = tuple(
        LayerLatency(row.name, row.type, row.depth, row.call, row_kind(row.categories), row.flops,
                     row.bytes_accessed, row_s[row.call] * 1e3, row_s[row.call] / ops_s if ops_s else 0.0)
        for row in rows
    )
    n_ops = report.totals.ops
    overhead_s = calibration.overhead.seconds(len(report.calls), n_ops)
    return LatencyPrediction(
        model=report.model,
        input_shapes=tuple(tuple(s) for s in report.input_shapes),
        dtype=report.dtype,
        calibration=calibration,
        layers=layers,
        ops_ms=ops_s * 1e3,
        overhead_ms=overhead_s * 1e3,
        unattributed_ms=unattributed_s * 1e3,
        by_kind_ms={kind: s * 1e3 for kind, s in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        unmodelled=dict(sorted(unmodelled.items())),
        ops=n_ops,
        calls=len(report.calls),
        fresh_pages=int(pages.sum()),
    )
