"""The roofline figure: log–log, the device's two roofs, one dot per layer and a star for the model.

Cache roofs, when the roofs have them, are dashed grey lines under the solid DRAM and compute
roofs, each named by its level and bandwidth at the left edge; a measured layer's "% of roof" is
of the roof of the level its bytes fit in.

Drawn on a bare ``matplotlib.figure.Figure`` (Agg / SVG canvases chosen by the file suffix), never
through ``pyplot``: no global figure state is created or left behind. Everything drawn comes from a
:class:`~costlab.cost.roofline.RooflineChart`.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from costlab.cost.categories import Category
from costlab.cost.categories import label as kind_label
from costlab.units import binary_bytes, compact, duration, human

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.path import Path
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox

    from costlab.cost.roofline import RooflineChart, RooflinePoint, Roofs

__all__ = [
    "CATEGORY_COLOURS",
    "FORMATS",
    "Hotspot",
    "RooflineFigure",
    "cache_roofs_note",
    "roofline_figure",
    "roofline_image",
    "shared_limits",
]

FORMATS = ("png", "svg")
CATEGORY_COLOURS = {
    Category.CONV: "#1f77b4",
    Category.DEPTHWISE_CONV: "#ff7f0e",
    Category.MATMUL: "#17becf",
    Category.ELEMENTWISE: "#2ca02c",
    Category.NORMALIZATION: "#bcbd22",
    Category.REDUCTION: "#8c564b",
    Category.RESAMPLE: "#e377c2",
    Category.DATA_MOVEMENT: "#9467bd",
    Category.CREATION: "#c5b0d5",
    Category.VIEW: "#c7c7c7",
    Category.UNSUPPORTED: "#7f7f7f",
}
"""One colour per kind of work (:mod:`costlab.cost.categories`), in every figure; a test checks
each kind has one."""
_MIN_AREA, _MAX_AREA = 18.0, 1400.0  # points², for no time and for the largest share
_STAR_AREA = 420.0
# where a label may go, in points from its dot, most wanted first: below and right of a dot is
# the free side (nothing measured sits above the roofs), then further out, then the other sides
_LABEL_OFFSETS = tuple(
    [(dx, -16 - 12 * step) for step in range(8) for dx in (18, -18)]
    + [(dx, 10 + 12 * step) for step in range(6) for dx in (18, -18)]
    + [(dx, -16 - 12 * step) for step in range(6) for dx in (60, -60)]
)
# what a label may cover, worst first: the star, another label, the axes' edge, a crossing of
# leader lines, a dot
_COVERS_STAR, _COVERS_LABEL, _OUTSIDE, _CROSSES_LEADER, _COVERS_DOT = 1000, 100, 50, 10, 1

Limits = tuple[tuple[float, float], tuple[float, float]]
_DPI = 150


@dataclass(frozen=True)
class Hotspot:
    """Where a dot is on the image (pixels from the top left, its radius) and what hovering it says."""

    x: float
    y: float
    radius: float
    title: str


@dataclass(frozen=True)
class RooflineFigure:
    """The figure's bytes, its size in pixels, and a hotspot per dot (the star last)."""

    data: bytes
    width: int
    height: int
    hotspots: tuple[Hotspot, ...]


def roofline_image(chart: RooflineChart, fmt: str = "png", *, labels: int = 6, limits: Limits | None = None) -> bytes:
    """The figure's bytes: ``png`` (150 dpi) or ``svg``; the ``labels`` heaviest layers are named.

    ``limits`` ((x_low, x_high), (y_low, y_high)) fixes the axes, so figures side by side compare
    (:func:`shared_limits`); by default they span this chart. In an SVG every dot has its hover text."""
    return roofline_figure(chart, fmt, labels=labels, limits=limits).data


def roofline_figure(
    chart: RooflineChart, fmt: str = "png", *, labels: int = 6, limits: Limits | None = None
) -> RooflineFigure:
    """:func:`roofline_image`, with where each dot landed: a page lays hover text over a PNG."""
    from matplotlib import rc_context

    if fmt not in FORMATS:
        raise ValueError(f"a roofline figure is png or svg, not {fmt or 'no format'}")
    figure, axes = drawn_figure(chart, labels=labels, limits=limits)
    buffer = io.BytesIO()
    with rc_context({"svg.hashsalt": "costlab"}):  # stable SVG ids: the same chart gives the same file
        figure.savefig(buffer, dpi=_DPI, format=fmt, metadata=_metadata(fmt))
    width, height = (round(v) for v in figure.bbox.size)
    hotspots = _hotspots(axes, chart, height)
    data = buffer.getvalue()
    if fmt == "svg":
        data = _svg_with_titles(data, hotspots)
    return RooflineFigure(data, width, height, hotspots)


def drawn_figure(chart: RooflineChart, *, labels: int = 6, limits: Limits | None = None) -> tuple[Figure, Axes]:
    """The chart drawn on a bare Figure (no pyplot), its ``labels`` heaviest layers named, not yet saved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6.5), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x_range, y_range = limits if limits is not None else _limits(chart)
    _draw_roofs(axes, chart, x_range)
    _draw_points(axes, chart)
    _decorate(figure, axes, chart, x_range, y_range)
    _label_heaviest(figure, axes, chart, labels)
    return figure, axes


def _hotspots(axes: Axes, chart: RooflineChart, height: int) -> tuple[Hotspot, ...]:
    """Each dot's place on the saved image (its layout is the one saved: same dpi, no cropping)."""
    largest = max((p.time_share for p in chart.points), default=0.0)
    scale = _DPI / 72.0  # points → pixels
    spots = []
    for point, area in [(p, _area(p.time_share, largest)) for p in chart.points] + [(chart.model_point, _STAR_AREA)]:
        if point.intensity <= 0 or point.flops_per_s <= 0:
            continue
        x, y = axes.transData.transform((point.intensity, point.flops_per_s))
        radius = max(_radius(area) * scale, 4.0)
        spots.append(Hotspot(round(float(x), 1), round(height - float(y), 1), round(radius, 1), _hover_text(point, chart)))
    return tuple(spots)


def _hover_text(point: RooflinePoint, chart: RooflineChart) -> str:
    """What hovering a dot says: which layer, its time, what it achieved, what it moved."""
    whole = point.type == "model"
    what = "whole model" if whole else f"{point.type}, {kind_label(point.category)}"
    source = "measured" if chart.measured else "predicted"
    share = "" if whole else f", {_percent(point.time_share)} of the time"
    return "\n".join((
        f"{point.name} ({what})",
        f"{duration(point.time_ms)} {source}{share}",
        f"{human(point.flops_per_s, 'FLOP/s')}, {_percent(point.roof_share)} of its roof",
        f"{human(point.flops)} FLOPs, {human(point.bytes_accessed, 'B')} accessed, {point.intensity:.1f} FLOP/B",
    ))


def _svg_with_titles(svg: bytes, hotspots: Sequence[Hotspot]) -> bytes:
    """An invisible circle with a ``<title>`` over every dot, last in the SVG (so on top): hover text
    in any browser. SVG coordinates are points, the hotspots pixels."""
    from html import escape

    scale = 72.0 / _DPI
    circles = "".join(
        f'<circle cx="{s.x * scale:.1f}" cy="{s.y * scale:.1f}" r="{s.radius * scale:.1f}">'
        f"<title>{escape(s.title, quote=False)}</title></circle>"
        for s in hotspots
    )
    layer = f'<g id="costlab-hover" fill="#000" fill-opacity="0">{circles}</g>\n'
    text = svg.decode("utf-8")
    end = text.rindex("</svg>")
    return (text[:end] + layer + text[end:]).encode("utf-8")


def _metadata(fmt: str) -> dict[str, str | None]:
    # no creation date in an SVG: the same chart gives the same bytes
    return {"Date": None} if fmt == "svg" else {}


def shared_limits(charts: Sequence[RooflineChart]) -> Limits:
    """One pair of axis ranges spanning every chart: rooflines of a report drawn on the same axes."""
    ranges = [_limits(chart) for chart in charts]
    if not ranges:
        raise ValueError("no charts to span")
    return (
        (min(r[0][0] for r in ranges), max(r[0][1] for r in ranges)),
        (min(r[1][0] for r in ranges), max(r[1][1] for r in ranges)),
    )


def _limits(chart: RooflineChart) -> Limits:
    """Axis ranges spanning the dots, the model, the ridge and the compute roof, with a margin."""
    roofs = chart.roofs
    dots = [*chart.points, chart.model_point]
    xs = [p.intensity for p in dots if p.intensity > 0] + [roofs.ridge_flop_per_byte]
    ys = [p.flops_per_s for p in dots if p.flops_per_s > 0] + [roofs.peak_flops]
    x_low, x_high = min(xs) / 3, max(xs) * 3
    y_low = min(min(ys), roofs.attainable_flops(x_low)) / 3
    return (x_low, x_high), (y_low, max(ys) * 3)


def _draw_roofs(axes: Axes, chart: RooflineChart, x_range: tuple[float, float]) -> None:
    roofs = chart.roofs
    ridge = roofs.ridge_flop_per_byte
    xs = [x_range[0], ridge, x_range[1]]
    label = f"roofs: {human(roofs.peak_flops, 'FLOP/s')} peak, {human(roofs.bandwidth_bytes_per_s, 'B/s')} memory"
    axes.plot(xs, [roofs.attainable_flops(x) for x in xs], color="black", linewidth=2, zorder=2, label=label)
    _draw_cache_roofs(axes, chart, x_range)
    axes.axvline(ridge, color="black", linestyle=":", linewidth=1, zorder=1)
    axes.plot([ridge], [roofs.peak_flops], marker="o", color="black", markersize=5, zorder=3)
    axes.annotate(
        f"ridge {ridge:.1f} FLOP/B",
        (ridge, roofs.peak_flops),
        xytext=(6, 6),
        textcoords="offset points",
        fontsize=9,
    )


def cache_roofs_note(roofs: Roofs) -> str:
    """``Cache roofs: L1 roof 95.0 GB/s for working sets ≤ 32 KiB, …`` for a table's note (the
    roofline table's), "" without cache roofs."""
    if not roofs.cache_roofs:
        return ""
    levels = ", ".join(
        f"{c.level} roof {human(c.bandwidth_bytes_per_s, 'B/s')} for working sets ≤ {binary_bytes(c.capacity_bytes)}"
        for c in roofs.cache_roofs
    )
    return f"Cache roofs: {levels}; a layer's share of its roof is of the fastest level its bytes fit in. "


def _draw_cache_roofs(axes: Axes, chart: RooflineChart, x_range: tuple[float, float]) -> None:
    """Each cache level's bandwidth roof, dashed, from the left edge to where it meets the compute
    roof, named at the left edge; drawn under the solid roofs, the dots and their labels."""
    roofs = chart.roofs
    for level in roofs.cache_roofs:
        ridge = roofs.peak_flops / level.bandwidth_bytes_per_s
        if ridge <= x_range[0] or level.bandwidth_bytes_per_s <= roofs.bandwidth_bytes_per_s:
            continue  # meets the compute roof off the chart, or no faster than memory: nothing to draw
        end = min(ridge, x_range[1])
        axes.plot([x_range[0], end], [x_range[0] * level.bandwidth_bytes_per_s, end * level.bandwidth_bytes_per_s],
                  color="0.45", linestyle="--", linewidth=1, zorder=1.5)
        axes.annotate(
            f"{level.level} {human(level.bandwidth_bytes_per_s, 'B/s')}",
            (x_range[0], x_range[0] * level.bandwidth_bytes_per_s),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7.5,
            color="0.35",
            zorder=1.5,
        )


def _radius(area: float) -> float:
    """A scatter marker's radius in points: its size ``s`` is the square of its width."""
    return math.sqrt(area) / 2


def _area(share: float, largest: float) -> float:
    """Dot area in points²: the largest share gets the largest dot, the others in proportion."""
    return _MIN_AREA + (_MAX_AREA - _MIN_AREA) * (share / largest if largest > 0 else 0.0)


def _draw_points(axes: Axes, chart: RooflineChart) -> None:
    largest = max((p.time_share for p in chart.points), default=0.0)
    for category, colour in CATEGORY_COLOURS.items():
        points = [p for p in chart.points if p.category == category]
        if not points:
            continue
        axes.scatter(
            [p.intensity for p in points],
            [p.flops_per_s for p in points],
            s=[_area(p.time_share, largest) for p in points],
            color=colour,
            alpha=0.75,
            edgecolors="white",
            linewidths=0.6,
            label=kind_label(category),
            zorder=4,
        )
    model = chart.model_point
    if model.intensity > 0 and model.flops_per_s > 0:
        axes.scatter(
            [model.intensity],
            [model.flops_per_s],
            marker="*",
            s=_STAR_AREA,
            color="#d62728",
            edgecolors="black",
            linewidths=0.8,
            label=f"whole model ({duration(model.time_ms)} {'measured' if chart.measured else 'predicted'})",
            zorder=9,  # above every dot and label: labels are also placed to keep clear of it
        )


def _label_heaviest(figure: Figure, axes: Axes, chart: RooflineChart, count: int) -> None:
    """Name the ``count`` layers with the largest share of time. Each label takes the first of
    :data:`_LABEL_OFFSETS` that covers nothing; else the one that covers least, weighing the star
    over other labels over the axes' edge over dots (a greedy search: deterministic, and a few ms,
    where an iterative repulsion such as adjustText's moves every label each step)."""
    heaviest = sorted(chart.points, key=lambda p: -p.time_share)[:count]
    if not heaviest:
        return
    figure.draw_without_rendering()
    renderer = getattr(figure.canvas, "get_renderer")()  # the Agg canvas has one; the base class does not say so
    frame = axes.get_window_extent(renderer)
    largest = max(p.time_share for p in chart.points)
    dots = [_disc(axes, renderer, p.intensity, p.flops_per_s, _area(p.time_share, largest)) for p in chart.points]
    model = chart.model_point
    star = _disc(axes, renderer, model.intensity, model.flops_per_s, _STAR_AREA) if model.flops_per_s > 0 else None
    placed: list[Bbox] = []
    leaders: list[Path] = []
    for point in heaviest:
        roof = f", {_percent(point.roof_share)} of roof" if chart.measured else ""
        label = axes.annotate(
            f"{point.name} ({_percent(point.time_share)}{roof})",
            (point.intensity, point.flops_per_s),
            xytext=_LABEL_OFFSETS[0],
            textcoords="offset points",
            fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "0.35", "linewidth": 0.6},
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
            zorder=7,
        )
        own = _disc(axes, renderer, point.intensity, point.flops_per_s, _area(point.time_share, largest))
        anchor = axes.transData.transform((point.intensity, point.flops_per_s))
        best: tuple[int, tuple[int, int]] | None = None
        for offset in _LABEL_OFFSETS:
            label.xyann = offset
            label.set_horizontalalignment("left" if offset[0] > 0 else "right")
            box = _text_box(label, renderer)
            leader = _leader(anchor, box, offset)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            cost = (
                (_COVERS_STAR if star is not None and box.overlaps(star) else 0)
                + _COVERS_LABEL * sum(box.overlaps(other) or leader.intersects_bbox(other) for other in placed)
                + (0 if inside else _OUTSIDE)
                + _CROSSES_LEADER * sum(leader.intersects_path(other) for other in leaders)
                + _COVERS_DOT * sum(box.overlaps(dot) for dot in dots if dot is not own)
            )
            if best is None or cost < best[0]:
                best = (cost, offset)
            if cost == 0:
                break
        assert best is not None
        label.xyann = best[1]
        label.set_horizontalalignment("left" if best[1][0] > 0 else "right")
        placed.append(_text_box(label, renderer))
        leaders.append(_leader(anchor, placed[-1], best[1]))


def _leader(anchor: Sequence[float], box: Bbox, offset: tuple[int, int]) -> Path:
    """The leader line from a dot to the side of its label that faces it (screen pixels)."""
    from matplotlib.path import Path

    x = box.x0 if offset[0] > 0 else box.x1
    y = min(max(anchor[1], box.y0), box.y1)
    return Path([tuple(anchor), (x, y)])


def _disc(axes: Axes, renderer: RendererBase, x: float, y: float, area: float) -> Bbox:
    """The screen box of a scatter marker of ``area`` points² centred at data (x, y)."""
    from matplotlib.transforms import Bbox

    cx, cy = axes.transData.transform((x, y))
    radius = _radius(area) * renderer.points_to_pixels(1.0)
    return Bbox.from_extents(cx - radius, cy - radius, cx + radius, cy + radius)


def _text_box(label: Annotation, renderer: RendererBase) -> Bbox:
    """Where a label's text (not its leader line) lands on screen, at its current offset."""
    from matplotlib.text import Text

    label.update_positions(renderer)
    return Text.get_window_extent(label, renderer)


def _decorate(
    figure: Figure, axes: Axes, chart: RooflineChart, x_range: tuple[float, float], y_range: tuple[float, float]
) -> None:
    from matplotlib.ticker import FuncFormatter

    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(*x_range)
    axes.set_ylim(*y_range)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _plain(v)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _decade(v, "FLOP/s")))
    axes.set_xlabel("arithmetic intensity (FLOP per byte of memory access)")
    axes.set_ylabel("achieved FLOP/s" if chart.measured else "attainable FLOP/s (predicted)")
    axes.grid(True, which="major", color="0.88", linewidth=0.8)
    axes.grid(True, which="minor", color="0.95", linewidth=0.5)
    axes.set_axisbelow(True)
    figure.suptitle(f"{chart.title}\n{chart.roofs.label}", x=0.01, ha="left", fontsize=11)
    how = "FLOPs / measured time" if chart.measured else "each layer on its roof"
    heaviest = max(chart.points, key=lambda p: p.time_share, default=None)
    note = f"dot area ∝ share of time (largest: {heaviest.time_share:.1%}); " if heaviest else ""
    note += f"height: {how}"
    if chart.hidden_layers:
        note += f"; {chart.hidden_layers} layers without FLOPs ({chart.hidden_share:.1%} of the time) not shown"
    if chart.roofs.cache_roofs:
        levels = ", ".join(f"{c.level} ≤ {binary_bytes(c.capacity_bytes)}" for c in chart.roofs.cache_roofs)
        note += f"; dashed: cache roofs ({levels}), a layer's share of roof is of the level its bytes fit in"
    above = chart.above_roof
    if above:
        memory_bound = all(p.intensity < chart.roofs.ridge_flop_per_byte for p in above)
        cached = "faster than their cache level was measured" if chart.roofs.cache_roofs else "cached data beat the measured memory roof"
        why = cached if memory_bound else "the measured roofs are not their ceiling"
        note += f"; {len(above)} above the roof (up to {max(p.roof_share for p in above):.0%}: {why})"
    figure.supxlabel(textwrap.fill(note, 160), x=0.01, ha="left", fontsize=8, color="0.3")
    # below the axes, so the plot keeps the canvas's width (constrained layout makes room for it)
    legend = axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=4, fontsize=8.5, frameon=False)
    for handle in legend.legend_handles:  # one marker size in the legend, whatever the dots' sizes
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([70.0])


def _percent(share: float) -> str:
    """12%, 3%, 0.4%: whole percents, with one decimal below 1% (never a bare 0%)."""
    return f"{share:.0%}" if share >= 0.0095 else f"{share:.1%}"


def _plain(value: float) -> str:
    """Tick labels for intensities: 0.01, 0.1, 1, 10, 100 (decades only)."""
    return f"{value:g}" if _is_decade(value) else ""


def _decade(value: float, unit: str) -> str:
    """Tick labels for rates: 100 M, 1 G, 10 G, 100 G … with the unit (decades only)."""
    return compact(value, unit) if _is_decade(value) else ""


def _is_decade(value: float) -> bool:
    if value <= 0:
        return False
    exponent = math.log10(value)
    return abs(exponent - round(exponent)) < 1e-6
