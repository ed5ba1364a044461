"""The roofline model: what a layer can at best achieve on a device, and how long it must take.

A device has two roofs: its peak arithmetic rate ``peak_flops`` (FLOP/s) and its memory bandwidth
``bandwidth_bytes_per_s``. A layer doing ``flops`` of arithmetic over ``mac_bytes`` of memory access
(its intensity is ``flops / mac_bytes`` FLOP/B) can at best run at
``min(peak_flops, intensity · bandwidth)``, so it takes at least

    predicted time = max(flops / peak_flops, mac_bytes / bandwidth_bytes_per_s)

— compute-bound right of the ridge point ``peak_flops / bandwidth`` (FLOP/B), memory-bound left
of it. The model's predicted latency is the sum over its layers (each layer bound by its own roof;
this is at least the single-roof bound of the whole model's totals, :attr:`RooflinePrediction.bound_ms`).

``mac_bytes`` counts every tensor an op touches once, with no cache reuse (ShuffleNet V2's memory
access cost), so the prediction ignores caches (pessimistic for small tensors) and launch and
framework overhead (optimistic for small layers). Pure arithmetic on a Report and two numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from costlab.cost.report import Report
    from costlab.timing.layers import LayerTiming

__all__ = ["Roofs", "LayerPrediction", "RooflinePrediction", "RooflinePoint", "RooflineChart", "predict", "chart"]


@dataclass(frozen=True)
class Roofs:
    """A device's two roofs, and where they came from (``label``: measured, cached, spec sheet)."""

    peak_flops: float
    bandwidth_bytes_per_s: float
    label: str = ""

    def __post_init__(self) -> None:
        if self.peak_flops <= 0 or self.bandwidth_bytes_per_s <= 0:
            raise ValueError(
                f"roofs must be positive, got {self.peak_flops} FLOP/s and {self.bandwidth_bytes_per_s} B/s"
            )

    @property
    def ridge_flop_per_byte(self) -> float:
        """The intensity where the two roofs meet: peak_flops / bandwidth."""
        return self.peak_flops / self.bandwidth_bytes_per_s

    def attainable_flops(self, intensity: float) -> float:
        """The roof at ``intensity`` FLOP/B: min(peak, intensity × bandwidth), in FLOP/s."""
        return min(self.peak_flops, intensity * self.bandwidth_bytes_per_s)

    def time_s(self, flops: float, mac_bytes: float) -> float:
        """The roofline's lower bound on the time of ``flops`` over ``mac_bytes``."""
        return max(flops / self.peak_flops, mac_bytes / self.bandwidth_bytes_per_s)

    def bound(self, flops: float, mac_bytes: float) -> str:
        """``compute`` or ``memory``: which roof limits this work."""
        return "compute" if flops / self.peak_flops >= mac_bytes / self.bandwidth_bytes_per_s else "memory"


@dataclass(frozen=True)
class LayerPrediction:
    """One row of ``Report.layers(depth)`` placed on its roof."""

    name: str
    type: str
    depth: int
    call: int
    category: str
    flops: int
    mac_bytes: int
    predicted_ms: float
    bound: str

    @property
    def intensity(self) -> float:
        return self.flops / self.mac_bytes if self.mac_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "depth": self.depth,
            "category": self.category,
            "flops": self.flops,
            "mac_bytes": self.mac_bytes,
            "intensity": self.intensity,
            "predicted_ms": self.predicted_ms,
            "bound": self.bound,
        }


@dataclass(frozen=True)
class RooflinePrediction:
    """Predicted latency per layer and for the model on one pair of roofs."""

    model: str
    input_shapes: tuple[tuple[int, ...], ...]
    roofs: Roofs
    layers: tuple[LayerPrediction, ...]
    flops: int
    mac_bytes: int

    @property
    def predicted_ms(self) -> float:
        """The model's predicted latency: the sum of its layers' predictions."""
        return sum(layer.predicted_ms for layer in self.layers)

    @property
    def bound_ms(self) -> float:
        """The single-roof bound of the model's totals (≤ :attr:`predicted_ms`)."""
        return self.roofs.time_s(self.flops, self.mac_bytes) * 1e3

    @property
    def intensity(self) -> float:
        return self.flops / self.mac_bytes if self.mac_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shapes": [list(s) for s in self.input_shapes],
            "peak_flops": self.roofs.peak_flops,
            "bandwidth_bytes_per_s": self.roofs.bandwidth_bytes_per_s,
            "ridge_flop_per_byte": self.roofs.ridge_flop_per_byte,
            "roofs": self.roofs.label,
            "flops": self.flops,
            "mac_bytes": self.mac_bytes,
            "intensity": self.intensity,
            "predicted_ms": self.predicted_ms,
            "bound_ms": self.bound_ms,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def predict(report: Report, roofs: Roofs, depth: int | None = None) -> RooflinePrediction:
    """Place every row of ``report.layers(depth)`` on ``roofs``: its predicted time and bound."""
    from costlab.timing.layers import layer_category

    layers = tuple(
        LayerPrediction(
            name=row.name,
            type=row.type,
            depth=row.depth,
            call=row.call,
            category=layer_category(row),
            flops=row.flops,
            mac_bytes=row.mac_bytes,
            predicted_ms=roofs.time_s(row.flops, row.mac_bytes) * 1e3,
            bound=roofs.bound(row.flops, row.mac_bytes),
        )
        for row in report.layers(depth)
    )
    totals = report.totals
    shapes = tuple(tuple(s) for s in report.input_shapes)
    return RooflinePrediction(report.model, shapes, roofs, layers, totals.flops, totals.mac_bytes)


# ------------------------------------------------------------------------------------------------
# What the chart shows
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RooflinePoint:
    """One dot: a layer (or the whole model) at (intensity, FLOP/s), with its share of the time."""

    name: str
    type: str
    category: str
    intensity: float
    flops_per_s: float
    time_share: float
    time_ms: float


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


def chart(prediction: RooflinePrediction, timing: LayerTiming | None = None, title: str | None = None) -> RooflineChart:
    """The points of a roofline figure: measured (from ``timing``) when given, else predicted.

    Measured dots sit at the achieved FLOP/s (flops / measured time); predicted dots sit on their
    roof. Layers without FLOPs or bytes have no place on log axes: they are counted in
    ``hidden_layers`` / ``hidden_share`` instead. ``timing`` must be aligned with the prediction's rows.
    """
    if timing is not None:
        if [layer.call for layer in timing.layers] != [layer.call for layer in prediction.layers]:
            raise ValueError("the timing's rows are not the prediction's rows: use the same report and depth")
        times_ms = [layer.time_ms for layer in timing.layers]
        model_ms = timing.model_ms
    else:
        times_ms = [layer.predicted_ms for layer in prediction.layers]
        model_ms = prediction.predicted_ms
    total_ms = sum(times_ms)
    points, hidden, hidden_ms = [], 0, 0.0
    for layer, ms in zip(prediction.layers, times_ms):
        if layer.flops <= 0 or layer.mac_bytes <= 0 or ms <= 0:
            hidden += 1
            hidden_ms += ms
            continue
        share = ms / total_ms if total_ms else 0.0
        points.append(
            RooflinePoint(
                layer.name or "(model)",
                layer.type,
                layer.category,
                layer.intensity,
                layer.flops / (ms / 1e3),
                share,
                ms,
            )
        )
    model_point = RooflinePoint(
        prediction.model,
        "model",
        "model",
        prediction.intensity,
        prediction.flops / (model_ms / 1e3) if model_ms > 0 else 0.0,
        1.0,
        model_ms,
    )
    kind = "measured" if timing is not None else "predicted"
    shapes = ", ".join("x".join(map(str, s)) for s in prediction.input_shapes)
    return RooflineChart(
        title=title or f"{prediction.model} ({shapes}): {kind} roofline",
        roofs=prediction.roofs,
        points=tuple(points),
        model_point=model_point,
        measured=timing is not None,
        hidden_layers=hidden,
        hidden_share=hidden_ms / total_ms if total_ms else 0.0,
    )
