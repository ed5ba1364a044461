"""The counters costlab reconciles with: one :class:`CounterSpec` each, registered once.

A spec says how to run the counter on a real model (``run``: its own number, and per module when
it reports them) and what it counts, as arithmetic over costlab's records (``predict``: the
:class:`~costlab.compare.engine.Term` s). ``notes`` are its known bugs that costlab's numbers expose,
each with a test in ``tests/compare/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costlab.compare.engine import Measured, Seen, SkipWhy, Term

if TYPE_CHECKING:
    from torch import nn

__all__ = ["COUNTERS", "CounterSpec", "register"]


@dataclass(frozen=True)
class CounterSpec:
    """One counter: its names, what it calls its number, its basis (``macs`` or ``flops``), and its rules."""

    name: str
    """What ``--with`` takes: ``fvcore``, ``torch``, ``thop``, ``ptflops``, ``torchinfo``."""
    title: str
    """What users know it by: ``fvcore FlopCountAnalysis``, ``torch.utils.flop_counter.FlopCounterMode``."""
    package: str
    """The module it imports (``fvcore``); its distribution's version is reported."""
    unit: str
    """What the counter calls its number: ``"flops"`` (fvcore's word, for multiply-adds), ``MACs``, ``FLOPs``."""
    basis: str
    """costlab's number it is closest in meaning to: ``macs`` or ``flops``."""
    run: Callable[[nn.Module, list[Any]], Measured]
    predict: Callable[[Seen], list[Term]]
    skip_why: SkipWhy
    notes: tuple[str, ...] = ()
    distribution: str | None = None
    """The distribution whose version is reported, when it is not named like ``package``."""


COUNTERS: dict[str, CounterSpec] = {}
"""``--with`` name → spec, in the order they are shown."""


def register(spec: CounterSpec) -> CounterSpec:
    """Add a counter; a name registered twice is a bug (the second would silently win), so it raises."""
    if spec.basis not in ("macs", "flops"):
        raise ValueError(f"{spec.name}: basis must be macs or flops, not {spec.basis!r}")
    if spec.name in COUNTERS:
        raise ValueError(f"counter {spec.name!r} is already registered")
    COUNTERS[spec.name] = spec
    return spec
