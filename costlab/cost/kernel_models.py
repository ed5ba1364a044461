"""Models of one kind of kernel's time, fitted on its micro-benchmarks: pure numpy arithmetic.

A sample is one op timed alone: its FLOPs ``F``, its bytes accessed ``B``, a few shape features
``X`` (log₂ of sizes, chosen per kind by :mod:`costlab.cost.predict`) and its time ``t`` in
seconds. Three families are fitted to every kind, and the one with the lowest cross-validated
error is kept (:func:`fit_kind`):

``roofline``   ``t = a + max(F / P, B / W)``: a fixed cost per call and the two roofs, fitted.
``efficiency`` ``t = a + F · u(log F) + B · v(log B)``: a fixed cost, and a time per FLOP and per
               byte that change with the op's size (``u``, ``v`` piecewise linear on knots in log
               size, flat beyond them; non-negative least squares on the relative error). The
               roofline with size-dependent efficiency: small ops never reach peak, large ones
               settle at a constant rate, so it extrapolates as the roofline does.
``boosted``    the efficiency model times ``exp(g(X))``, ``g`` boosted regression trees (depth 3)
               on the log of its residual: shape effects the sizes alone miss (few channels, a
               stride, a kernel the library has no fast path for). Trees are constant outside
               the samples' range, so far from them the correction stays bounded and the
               efficiency model's scaling decides.

Every fit minimises the *relative* error (a 10 µs op off by 5 µs matters as much as a 10 ms op off
by 5 ms), because what is predicted is a sum whose error is what matters per model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FAMILIES", "CvError", "KernelModel", "cross_validate", "fit_family", "fit_kind", "model_from_dict", "nnls"]

FAMILIES = ("roofline", "efficiency", "boosted")
_KNOTS = 6
_FOLDS = 5
_TREES = 60
_DEPTH = 3
_LEARNING_RATE = 0.15
_MIN_LEAF = 3
_FLOOR_S = 1e-7  # no op takes less than 0.1 µs, whatever a fit says


def nnls(a: np.ndarray, b: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Non-negative least squares, ``min ‖a·x − b‖`` with ``x ≥ 0`` (Lawson & Hanson, 1974).

    Columns are scaled to unit norm first, so features of very different magnitudes (FLOPs and a
    constant) are treated alike.

    >>> nnls(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([2.0, -1.0])).tolist()   # x₂ clamped at 0
    [2.0, 0.0]
    """
    norms = np.linalg.norm(a, axis=0)
    norms[norms == 0] = 1.0
    a = a / norms
    n = a.shape[1]
    passive = np.zeros(n, dtype=bool)
    x = np.zeros(n)
    gradient = a.T @ (b - a @ x)
    for _ in range(3 * n + 10):
        if passive.all() or gradient[~passive].max() <= tol:
            break
        passive[int(np.argmax(np.where(passive, -np.inf, gradient)))] = True
        while True:
            s = np.zeros(n)
            s[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if s[passive].min() > 0:
                break
            mask = passive & (s <= 0)
            alpha = float(np.min(x[mask] / (x[mask] - s[mask])))
            x = x + alpha * (s - x)
            passive &= x > tol
            if not passive.any():
                s = np.zeros(n)
                break
        x = s
        gradient = a.T @ (b - a @ x)
    return x / norms


# ------------------------------------------------------------------------------------------------
# The three families
# ------------------------------------------------------------------------------------------------


class KernelModel:
    """A fitted model of one kind's time: ``predict_s(F, B, X)`` in seconds, and its JSON form."""

    family = ""

    def predict_s(self, flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass
class RooflineModel(KernelModel):
    """``t = fixed_s + max(F / peak_flops, B / bandwidth)``."""

    fixed_s: float
    peak_flops: float
    bandwidth_bytes_per_s: float
    family = "roofline"

    def predict_s(self, flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.fixed_s + np.maximum(flops / self.peak_flops, bytes_ / self.bandwidth_bytes_per_s)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "fixed_s": self.fixed_s, "peak_flops": self.peak_flops,
                "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s}


def _fit_roofline(flops: np.ndarray, bytes_: np.ndarray, t: np.ndarray) -> RooflineModel:
    """Grid search over the two roofs (log-spaced, then refined); the fixed cost in closed form:
    ``a = Σ (t − m) / t² / Σ 1 / t²`` minimises the relative squared error for a given roof time m."""
    w = 1.0 / t**2

    def best_fixed(m: np.ndarray) -> tuple[float, float]:
        a = max(0.0, float(np.sum((t - m) * w) / np.sum(w)))
        return a, float(np.sum(((a + m - t) / t) ** 2))

    rate_f = np.log10(np.maximum(flops, 1) / t)
    rate_b = np.log10(np.maximum(bytes_, 1) / t)
    span_f = np.linspace(rate_f.min() - 0.5, rate_f.max() + 1.5, 28)
    span_b = np.linspace(rate_b.min() - 0.5, rate_b.max() + 1.5, 28)
    best = (math.inf, 0.0, 1.0, 1.0)
    for _ in range(3):
        for lp in span_f:
            for lb in span_b:
                m = np.maximum(flops / 10**lp, bytes_ / 10**lb)
                a, err = best_fixed(m)
                if err < best[0]:
                    best = (err, a, 10**lp, 10**lb)
        step_f, step_b = span_f[1] - span_f[0], span_b[1] - span_b[0]
        span_f = np.linspace(math.log10(best[2]) - step_f, math.log10(best[2]) + step_f, 11)
        span_b = np.linspace(math.log10(best[3]) - step_b, math.log10(best[3]) + step_b, 11)
    return RooflineModel(best[1], best[2], best[3])


def _hats(values: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation basis on ``knots`` (flat beyond the ends): one column per knot."""
    if len(knots) == 1:
        return np.ones((len(values), 1))
    v = np.clip(values, knots[0], knots[-1])
    out = np.zeros((len(values), len(knots)))
    for k in range(len(knots)):
        if k > 0:
            left = (v - knots[k - 1]) / (knots[k] - knots[k - 1])
            out[:, k] += np.where((v >= knots[k - 1]) & (v <= knots[k]), left, 0.0)
        if k < len(knots) - 1:
            right = (knots[k + 1] - v) / (knots[k + 1] - knots[k])
            out[:, k] += np.where((v >= knots[k]) & (v < knots[k + 1]), right, 0.0)
    out[v >= knots[-1], -1] = 1.0
    return out


def _knots(values: np.ndarray) -> np.ndarray:
    """Knots in log size: up to :data:`_KNOTS`, one per six samples (fewer samples, a stiffer curve)."""
    low, high = np.percentile(values, [5, 95]) if len(values) else (0.0, 0.0)
    count = min(_KNOTS, len(values) // 6)
    if high - low < 0.5 or count < 2:
        return np.array([float(np.median(values))]) if len(values) else np.array([0.0])
    return np.linspace(low, high, count)


@dataclass
class EfficiencyModel(KernelModel):
    """``t = fixed_s + F · u(log₂ F) + B · v(log₂ B)``; ``u``, ``v`` seconds per FLOP / per byte at the knots."""

    fixed_s: float
    flop_knots: list[float]
    s_per_flop: list[float]
    byte_knots: list[float]
    s_per_byte: list[float]
    family = "efficiency"

    def _columns(self, flops: np.ndarray, bytes_: np.ndarray) -> np.ndarray:
        return _efficiency_columns(flops, bytes_, np.array(self.flop_knots), np.array(self.byte_knots),
                                   bool(self.s_per_flop), bool(self.s_per_byte))

    def predict_s(self, flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray) -> np.ndarray:
        coef = np.array([self.fixed_s, *self.s_per_flop, *self.s_per_byte])
        return np.maximum(self._columns(flops, bytes_) @ coef, _FLOOR_S)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "fixed_s": self.fixed_s, "flop_knots": self.flop_knots,
                "s_per_flop": self.s_per_flop, "byte_knots": self.byte_knots, "s_per_byte": self.s_per_byte}


def _efficiency_columns(flops: np.ndarray, bytes_: np.ndarray, fk: np.ndarray, bk: np.ndarray,
                        use_flops: bool, use_bytes: bool) -> np.ndarray:
    columns = [np.ones((len(flops), 1))]
    if use_flops:
        columns.append(flops[:, None] * _hats(np.log2(np.maximum(flops, 1)), fk))
    if use_bytes:
        columns.append(bytes_[:, None] * _hats(np.log2(np.maximum(bytes_, 1)), bk))
    return np.hstack(columns)


def _fit_efficiency(flops: np.ndarray, bytes_: np.ndarray, t: np.ndarray) -> EfficiencyModel:
    use_flops, use_bytes = bool((flops > 0).any()), bool((bytes_ > 0).any())
    fk = _knots(np.log2(flops[flops > 0])) if use_flops else np.array([])
    bk = _knots(np.log2(bytes_[bytes_ > 0])) if use_bytes else np.array([])
    a = _efficiency_columns(flops, bytes_, fk, bk, use_flops, use_bytes)
    coef = nnls(a / t[:, None], np.ones(len(t)))
    nf = len(fk) if use_flops else 0
    return EfficiencyModel(float(coef[0]), fk.tolist(), coef[1:1 + nf].tolist(), bk.tolist(), coef[1 + nf:].tolist())


@dataclass
class Tree:
    """One regression tree as arrays: ``feature[i] < 0`` marks a leaf holding ``value[i]``."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]

    def predict(self, x: np.ndarray) -> np.ndarray:
        feature, threshold = np.array(self.feature), np.array(self.threshold)
        left, right, value = np.array(self.left), np.array(self.right), np.array(self.value)
        node = np.zeros(len(x), dtype=int)
        rows = np.arange(len(x))
        for _ in range(_DEPTH + 1):
            f = feature[node]
            leaf = f < 0
            if leaf.all():
                break
            go_left = x[rows, np.maximum(f, 0)] <= threshold[node]
            node = np.where(leaf, node, np.where(go_left, left[node], right[node]))
        return value[node]


def _grow(x: np.ndarray, r: np.ndarray, rows: np.ndarray, depth: int, tree: Tree) -> int:
    """Grow a node over ``rows`` (best squared-error split on any feature); returns its index."""
    index = len(tree.feature)
    tree.feature.append(-1)
    tree.threshold.append(0.0)
    tree.left.append(-1)
    tree.right.append(-1)
    tree.value.append(float(r[rows].sum() / (len(rows) + 1.0)))  # shrunk towards 0 (λ = 1)
    if depth == 0 or len(rows) < 2 * _MIN_LEAF:
        return index
    best = (0.0, -1, 0.0)
    total, count = r[rows].sum(), len(rows)
    for f in range(x.shape[1]):
        order = rows[np.argsort(x[rows, f], kind="stable")]
        values, residuals = x[order, f], r[order]
        sums = np.cumsum(residuals)[:-1]
        n_left = np.arange(1, count)
        gain = sums**2 / n_left + (total - sums) ** 2 / (count - n_left) - total**2 / count
        valid = (values[1:] > values[:-1]) & (n_left >= _MIN_LEAF) & (count - n_left >= _MIN_LEAF)
        if valid.any():
            k = int(np.argmax(np.where(valid, gain, -np.inf)))
            if gain[k] > best[0]:
                best = (float(gain[k]), f, float((values[k] + values[k + 1]) / 2))
    if best[1] < 0:
        return index
    _, f, threshold = best
    tree.feature[index], tree.threshold[index] = f, threshold
    go_left = x[rows, f] <= threshold
    tree.left[index] = _grow(x, r, rows[go_left], depth - 1, tree)
    tree.right[index] = _grow(x, r, rows[~go_left], depth - 1, tree)
    return index


@dataclass
class BoostedModel(KernelModel):
    """The efficiency model times ``exp(Σ learning_rate · tree(X))``."""

    base: EfficiencyModel
    trees: list[Tree]
    learning_rate: float
    family = "boosted"

    def predict_s(self, flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray) -> np.ndarray:
        log_correction = np.zeros(len(flops))
        for tree in self.trees:
            log_correction += self.learning_rate * tree.predict(x)
        return self.base.predict_s(flops, bytes_, x) * np.exp(log_correction)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "base": self.base.to_dict(), "learning_rate": self.learning_rate,
                "trees": [vars(tree) for tree in self.trees]}


def _fit_boosted(flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray, t: np.ndarray) -> BoostedModel:
    base = _fit_efficiency(flops, bytes_, t)
    residual = np.log(t) - np.log(base.predict_s(flops, bytes_, x))
    trees = []
    rows = np.arange(len(t))
    if x.shape[1]:
        for _ in range(_TREES):
            tree = Tree([], [], [], [], [])
            _grow(x, residual, rows, _DEPTH, tree)
            residual = residual - _LEARNING_RATE * tree.predict(x)
            trees.append(tree)
    return BoostedModel(base, trees, _LEARNING_RATE)


def fit_family(family: str, flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray, t: np.ndarray) -> KernelModel:
    """Fit one family (:data:`FAMILIES`) to samples (``t`` in seconds)."""
    if family == "roofline":
        return _fit_roofline(flops, bytes_, t)
    if family == "efficiency":
        return _fit_efficiency(flops, bytes_, t)
    if family == "boosted":
        return _fit_boosted(flops, bytes_, x, t)
    raise ValueError(f"unknown model family {family!r}")


def model_from_dict(data: dict[str, Any]) -> KernelModel:
    """The model :meth:`KernelModel.to_dict` wrote (ValueError on anything else)."""
    family = data.get("family")
    if family == "roofline":
        return RooflineModel(float(data["fixed_s"]), float(data["peak_flops"]), float(data["bandwidth_bytes_per_s"]))
    if family == "efficiency":
        return EfficiencyModel(float(data["fixed_s"]), list(data["flop_knots"]), list(data["s_per_flop"]),
                               list(data["byte_knots"]), list(data["s_per_byte"]))
    if family == "boosted":
        base = model_from_dict(data["base"])
        assert isinstance(base, EfficiencyModel)
        trees = [Tree(list(t["feature"]), list(t["threshold"]), list(t["left"]), list(t["right"]), list(t["value"]))
                 for t in data["trees"]]
        return BoostedModel(base, trees, float(data["learning_rate"]))
    raise ValueError(f"unknown model family {family!r}")


# ------------------------------------------------------------------------------------------------
# Cross-validation and the choice of family
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CvError:
    """A family's cross-validated error on one kind's samples (relative errors |pred − t| / t)."""

    family: str
    mape: float
    within_10: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "mape": self.mape, "within_10": self.within_10, "samples": self.samples}


def cross_validate(family: str, flops: np.ndarray, bytes_: np.ndarray, x: np.ndarray, t: np.ndarray,
                   folds: int = _FOLDS, seed: int = 0) -> CvError:
    """``folds``-fold cross-validation (a fixed shuffle): each sample predicted by a fit without it."""
    n = len(t)
    order = np.random.default_rng(seed).permutation(n)
    errors = np.zeros(n)
    for k in range(min(folds, n)):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        if len(train) == 0:
            continue
        model = fit_family(family, flops[train], bytes_[train], x[train], t[train])
        errors[test] = np.abs(model.predict_s(flops[test], bytes_[test], x[test]) - t[test]) / t[test]
    return CvError(family, float(errors.mean()), float((errors <= 0.10).mean()), n)


def fit_kind(flops: Sequence[float], bytes_: Sequence[float], x: Sequence[Sequence[float]], t: Sequence[float],
             families: Sequence[str] = FAMILIES) -> tuple[KernelModel, tuple[CvError, ...]]:
    """Cross-validate every family on one kind's samples, refit the best on all of them.

    Returns the kept model and every family's cross-validated error (the kept one first). With
    fewer than 2 × :data:`_FOLDS` samples only the efficiency model is fitted, and its error is
    leave-one-out (in-sample below three samples, where nothing can be left out).
    """
    f, b, t_ = np.asarray(flops, float), np.asarray(bytes_, float), np.asarray(t, float)
    xs = np.asarray(x, float).reshape(len(t_), -1)
    if len(t_) < 2 * _FOLDS:
        model = _fit_efficiency(f, b, t_)
        if len(t_) >= 3:
            return model, (cross_validate("efficiency", f, b, xs, t_, folds=len(t_)),)
        errors = np.abs(model.predict_s(f, b, xs) - t_) / t_
        return model, (CvError("efficiency", float(errors.mean()), float((errors <= 0.1).mean()), len(t_)),)
    scores = sorted((cross_validate(family, f, b, xs, t_) for family in families), key=lambda e: e.mape)
    return fit_family(scores[0].family, f, b, xs, t_), tuple(scores)
