"""Every zoo model: each counter's own number is costlab's plus the differences, with nothing unexplained.

The counters run for real (fvcore traces, FlopCounterMode dispatches, thop / ptflops / torchinfo
hook), each once per model, at 64×64 (96×96 for Xception, whose entry flow needs it): the
conventions are formulas of shapes, so a small input checks every op the full size has, in a
fraction of the time. thop, ptflops and torchinfo are dev extras; without them their part skips.
"""

from __future__ import annotations

import functools

import pytest

import costlab
from costlab.compare import Comparison, reconcile
from costlab.zoo import list_models

MODELS = list_models()
REQUIRED = ("fvcore", "torch")  # fvcore is a runtime dependency, torch's counter ships with torch


def side(name: str) -> int:
    return 96 if name == "xception" else 64


@functools.cache
def compared(name: str) -> Comparison:
    return reconcile(name, f"1x3x{side(name)}x{side(name)}", depth=2)


@pytest.mark.parametrize("name", MODELS)
def test_every_counter_reconciles_exactly(name: str) -> None:
    comparison = compared(name)
    for result in comparison.counters:
        if result.status == "not installed" and result.name not in REQUIRED:
            continue
        assert result.status == "ok", (result.name, result.reason)
        basis = comparison.macs if result.basis == "macs" else comparison.flops
        assert basis + sum(d.amount for d in result.differences) + result.unexplained == result.total
        assert result.unexplained == 0, (result.name, [(d.what, d.amount) for d in result.differences])
        assert result.modules, f"{result.name} reports per module: the rows must be there"
        for row in result.modules:
            assert row.costlab + row.differences + row.unexplained == row.total
            assert row.unexplained == 0, (result.name, row)
    installed = {r.name for r in comparison.counters if r.status == "ok"}
    assert set(REQUIRED) <= installed


@pytest.mark.parametrize("name", MODELS)
def test_costlab_side_is_costlabs_own_count(name: str) -> None:
    # the reconciliation counts the CPU execution the counters see; for the zoo it is the meta count, op for op
    comparison = compared(name)
    totals = costlab.profile(name, f"1x3x{side(name)}x{side(name)}").totals
    assert (comparison.macs, comparison.flops) == (totals.macs, totals.flops)


def test_optional_counters_are_exercised_when_installed() -> None:
    # the dev extras install thop, ptflops and torchinfo: make sure their absence is noticed, not silently skipped
    comparison = compared("mobilenet_v2")
    missing = [r.name for r in comparison.counters if r.status == "not installed"]
    if missing:
        pytest.skip(f"not installed here: {', '.join(missing)} (pip install -e '.[dev]')")
    assert [r.name for r in comparison.counters] == ["fvcore", "torch", "thop", "ptflops", "torchinfo"]
