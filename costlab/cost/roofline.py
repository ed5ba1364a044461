"""The roofline model: what a layer can at best achieve on a device, and how long it must take.

A device has two roofs: its peak arithmetic rate ``peak_flops`` (FLOP/s) and its memory bandwidth
``bandwidth_bytes_per_s``. A layer doing ``flops`` of arithmetic over ``bytes_accessed`` of memory access
(its intensity is ``flops / bytes_accessed`` FLOP/B) can at best run at
``min(peak_flops, intensity · bandwidth)``, so it takes at least

    predicted time = max(flops / peak_flops, bytes_accessed / bandwidth_bytes_per_s)

— compute-bound right of the ridge point ``peak_flops / bandwidth`` (FLOP/B), memory-bound left
of it. The model's predicted latency is the sum over its layers (each layer bound by its own roof;
this is at least the single-roof bound of the whole model's totals, :attr:`RooflinePrediction.bound_ms`).

``bytes_accessed`` counts every tensor an op touches once, with no cache reuse (ShuffleNet V2's memory
access cost), so the prediction ignores caches (pessimistic for small tensors) and launch and
framework overhead (optimistic for small layers). Pure arithmetic on a Report and two numbers.

Cache roofs (:class:`CacheRoof`, measured by :mod:`costlab.timing.caches`) say how fast memory is
when a working set stays in a cache level. They change only the *share of its roof* a measured layer
reaches (:meth:`Roofs.share_of_roof` with its ``bytes_accessed``): a layer whose bytes fit in a level
is judged against that level's bandwidth, so element-wise work whose data stayed in L2 is no longer
"above the roof". The prediction (:meth:`Roofs.time_s`) stays the plain DRAM roofline: it is the
baseline other figures are compared with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costlab.cost.categories import row_kind
from costlab.cost.costs import Intensity
from costlab.units import shapes_text

if TYPE_CHECKING:
    from costlab.cost.report import Report

__all__ = [
    "CacheRoof",
    "LayerPrediction",
    "Measured",
    "RooflineChart",
    "RooflinePoint",
    "RooflinePrediction",
    "Roofs",
    "chart",
    "predict",
]


@dataclass(frozen=True)
class CacheRoof:
    """The bandwidth of one cache level: a working set of at most ``capacity_bytes`` moves at
    ``bandwidth_bytes_per_s`` (``level``: ``L1``, ``L2``, ``L3``)."""

    level: str
    capacity_bytes: int
    bandwidth_bytes_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "capacity_bytes": self.capacity_bytes,
                "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s}


@dataclass(frozen=True)
class Roofs:
    """A device's two roofs, and where they came from (``label``: measured, cached, spec sheet).

    ``cache_roofs`` (smallest level first; none for a spec sheet) are the bandwidths of working sets
    that stay in a cache; ``measured_at`` (ISO 8601, None for a spec sheet) and ``cached`` say when
    the roofs were measured and whether they were read from the cache."""

    peak_flops: float
    bandwidth_bytes_per_s: float
    label: str = ""
    cache_roofs: tuple[CacheRoof, ...] = ()
    measured_at: str | None = None
    cached: bool = False

    def __post_init__(self) -> None:
        if self.peak_flops <= 0 or self.bandwidth_bytes_per_s <= 0:
            raise ValueError(
                f"roofs must be positive, got {self.peak_flops} FLOP/s and {self.bandwidth_bytes_per_s} B/s"
            )
        if any(level.capacity_bytes <= 0 or level.bandwidth_bytes_per_s <= 0 for level in self.cache_roofs):
            raise ValueError(f"cache roofs must be positive, got {self.cache_roofs}")

    @property
    def ridge_flop_per_byte(self) -> float:
        """The intensity where the two roofs meet: peak_flops / bandwidth."""
        return self.peak_flops / self.bandwidth_bytes_per_s

    def bandwidth_for(self, bytes_accessed: float | None) -> float:
        """The bandwidth roof of work over ``bytes_accessed`` bytes: the fastest cache level that holds
        them all (``bytes_accessed ≤ capacity``), else DRAM's; never below DRAM's (a working set in a
        cache can always go at least as fast as memory), and DRAM's when ``bytes_accessed`` is None.

        With levels of rising capacity and falling bandwidth (as caches are), this is the bandwidth of
        the smallest level that holds the working set."""
        if bytes_accessed is None:
            return self.bandwidth_bytes_per_s
        holding = [level.bandwidth_bytes_per_s for level in self.cache_roofs if bytes_accessed <= level.capacity_bytes]
        return max([self.bandwidth_bytes_per_s, *holding])

    def attainable_flops(self, intensity: float, bytes_accessed: float | None = None) -> float:
        """The roof at ``intensity`` FLOP/B: min(peak, intensity × bandwidth), in FLOP/s; with
        ``bytes_accessed``, the bandwidth of the cache level that holds them (:meth:`bandwidth_for`)."""
        return min(self.peak_flops, intensity * self.bandwidth_for(bytes_accessed))

    def share_of_roof(self, intensity: float, flops_per_s: float, bytes_accessed: float | None = None) -> float:
        """The share of the roof at ``intensity`` that ``flops_per_s`` reaches (above 1: over it);
        with ``bytes_accessed``, of the roof of the cache level that holds the working set."""
        attainable = self.attainable_flops(intensity, bytes_accessed)
        return flops_per_s / attainable if attainable > 0 else 0.0

    def time_s(self, flops: float, bytes_accessed: float) -> float:
        """The roofline's lower bound on the time of ``flops`` over ``bytes_accessed`` (DRAM's roof:
        the plain roofline, whatever the cache roofs)."""
        return max(flops / self.peak_flops, bytes_accessed / self.bandwidth_bytes_per_s)

    def bound(self, flops: float, bytes_accessed: float) -> str:
        """``compute`` or ``memory``: which roof limits this work."""
        return "compute" if flops / self.peak_flops >= bytes_accessed / self.bandwidth_bytes_per_s else "memory"


@dataclass(frozen=True)
class LayerPrediction(Intensity):
    """One row of ``Report.layers(depth)`` placed on its roof."""

    name: str
    type: str
    depth: int
    call: int
    category: str
    flops: int
    bytes_accessed: int
    predicted_ms: float
    bound: str
    roof_bytes_per_s: float = 0.0  # the bandwidth roof its working set is under (Roofs.bandwidth_for)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "depth": self.depth,
            "category": self.category,
            "flops": self.flops,
            "bytes_accessed": self.bytes_accessed,
            "intensity": self.intensity,
            "predicted_ms": self.predicted_ms,
            "bound": self.bound,
            "roof_bytes_per_s": self.roof_bytes_per_s,
        }


@dataclass(frozen=True)
class RooflinePrediction(Intensity):
    """Predicted latency per layer and for the model on one pair of roofs."""

    model: str
    input_shapes: tuple[tuple[int, ...], ...]
    roofs: Roofs
    layers: tuple[LayerPrediction, ...]
    flops: int
    bytes_accessed: int

    @property
    def predicted_ms(self) -> float:
        """The model's predicted latency: the sum of its layers' predictions."""
        return sum(layer.predicted_ms for layer in self.layers)

    @property
    def bound_ms(self) -> float:
        """The single-roof bound of the model's totals (≤ :attr:`predicted_ms`)."""
        return self.roofs.time_s(self.flops, self.bytes_accessed) * 1e3

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "peak_flops": self.roofs.peak_flops,
            "bandwidth_bytes_per_s": self.roofs.bandwidth_bytes_per_s,
            "ridge_flop_per_byte": self.roofs.ridge_flop_per_byte,
            "roofs": self.roofs.label,
            "roofs_measured_at": self.roofs.measured_at,
            "roofs_cached": self.roofs.cached,
            "cache_roofs": [level.to_dict() for level in self.roofs.cache_roofs],
            "flops": self.flops,
            "bytes_accessed": self.bytes_accessed,
            "intensity": self.intensity,
            "predicted_ms": self.predicted_ms,
            "bound_ms": self.bound_ms,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def predict(report: Report, roofs: Roofs, depth: int | None = None) -> RooflinePrediction:
    """Place every row of ``report.layers(depth)`` on ``roofs``: its predicted time and bound."""
    layers = tuple(
        LayerPrediction(
            name=row.name,
            type=row.type,
            depth=row.depth,
            call=row.call,
            category=row_kind(row.categories),
            flops=row.flops,
            bytes_accessed=row.bytes_accessed,
            predicted_ms=roofs.time_s(row.flops, row.bytes_accessed) * 1e3,
            bound=roofs.bound(row.flops, row.bytes_accessed),
            roof_bytes_per_s=roofs.bandwidth_for(row.bytes_accessed),
        )
        for row in report.layers(depth)
    )
    totals = report.totals
    shapes = tuple(tuple(s) for s in report.input_shapes)
    return RooflinePrediction(report.model, shapes, roofs, layers, totals.flops, totals.bytes_accessed)


# ------------------------------------------------------------------------------------------------
# What the chart shows
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RooflinePoint:
    """One dot: a layer (or the whole model) at (intensity, FLOP/s), with its share of the time
    and ``roof_share``, the FLOP/s it reaches over the roof above it (1 on the roof, above 1 over it):
    for a layer, the roof of the cache level its bytes fit in (:meth:`Roofs.bandwidth_for`); for
    the whole model, DRAM's (its bytes are a sum over layers, not one working set)."""

    name: str
    type: str
    category: str
    intensity: float
    flops_per_s: float
    time_share: float
    time_ms: float
    roof_share: float = 0.0
    flops: int = 0
    bytes_accessed: int = 0


@dataclass(frozen=True)
class RooflineChart:
    """Everything a roofline figure draws; ``measured`` says whether the dots are timed or predicted."""

    title: str
    roofs: Roofs
    points: tuple[RooflinePoint, ...]
    model_point: RooflinePoint
    measured: bool
    hidden_layers: int
    hidden_share: float

    @property
    def above_roof(self) -> tuple[RooflinePoint, ...]:
        """Dots over their roof: a measured layer can beat the measured roofs (its data stayed in
        a cache faster than the roof of the level its bytes fit in, or there are no cache roofs)."""
        return tuple(p for p in self.points if p.roof_share > 1.0 + 1e-9)  # not a dot on its roof, rounded


@dataclass(frozen=True)
class Measured:
    """Measured times to draw instead of the prediction's: per row of the prediction (by ``call``),
    and the whole model's latency."""

    calls: tuple[int, ...]
    times_ms: tuple[float, ...]
    model_ms: float


def chart(prediction: RooflinePrediction, measured: Measured | None = None, title: str | None = None) -> RooflineChart:
    """The points of a roofline figure: measured when given, else predicted.

    Measured dots sit at the achieved FLOP/s (flops / measured time); predicted dots sit on their
    roof. Layers without FLOPs or bytes have no place on log axes: they are counted in
    ``hidden_layers`` / ``hidden_share`` instead. ``measured`` must be aligned with the prediction's rows.
    """
    if measured is not None:
        if list(measured.calls) != [layer.call for layer in prediction.layers]:
            raise ValueError("the timing's rows are not the prediction's rows: use the same report and depth")
        times_ms = list(measured.times_ms)
        model_ms = measured.model_ms
    else:
        times_ms = [layer.predicted_ms for layer in prediction.layers]
        model_ms = prediction.predicted_ms
    total_ms = sum(times_ms)
    points, hidden, hidden_ms = [], 0, 0.0
    for layer, ms in zip(prediction.layers, times_ms):
        if layer.flops <= 0 or layer.bytes_accessed <= 0 or ms <= 0:
            hidden += 1
            hidden_ms += ms
            continue
        share = ms / total_ms if total_ms else 0.0
        rate = layer.flops / (ms / 1e3)
        points.append(
            RooflinePoint(
                layer.name or "(model)",
                layer.type,
                layer.category,
                layer.intensity,
                rate,
                share,
                ms,
                prediction.roofs.share_of_roof(layer.intensity, rate, layer.bytes_accessed),
                layer.flops,
                layer.bytes_accessed,
            )
        )
    model_rate = prediction.flops / (model_ms / 1e3) if model_ms > 0 else 0.0
    model_point = RooflinePoint(
        prediction.model,
        "model",
        "model",
        prediction.intensity,
        model_rate,
        1.0,
        model_ms,
        prediction.roofs.share_of_roof(prediction.intensity, model_rate),
        prediction.flops,
        prediction.bytes_accessed,
    )
    kind = "measured" if measured is not None else "predicted"
    shapes = shapes_text(prediction.input_shapes)
    return RooflineChart(
        title=title or f"{prediction.model} ({shapes}): {kind} roofline",
        roofs=prediction.roofs,
        points=tuple(points),
        model_point=model_point,
        measured=measured is not None,
        hidden_layers=hidden,
        hidden_share=hidden_ms / total_ms if total_ms else 0.0,
    )
