"""The reconciliation's arithmetic and its promises: nothing hidden, nothing the user had changed."""

from __future__ import annotations

import importlib.util
import types

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import costlab
from costlab.compare import UnknownCounterError, engine, fvcore_rules, reconcile
from costlab.compare.registry import COUNTERS, CounterSpec, register
from tests.conftest import TINY_NET


class Block(nn.Module):
    """conv 3→4 3×3 with bias + BN on 1×3×8×8; a residual ``x + x`` in its own forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        return y + y


def seen_of(model: nn.Module, shape: str) -> engine.Seen:
    return engine.Seen(costlab.profile(model, shape), dict(model.named_modules()))


def test_what_does_not_reconcile_is_unexplained_never_hidden():
    model = Block()
    seen = seen_of(model, "1x3x8x8")
    terms = fvcore_rules.predict(seen)
    # conv 4·64·27 = 6,912 MACs; fvcore adds BN 2·256 = 512: a counter that said 7 more than that
    measured = engine.Measured(6_912 + 512 + 7, {"": 6_912 + 512 + 7, "conv": 6_912, "bn": 512 + 7})
    differences, skipped, unexplained, rows = engine.reconcile(seen, "macs", terms, measured, fvcore_rules.skip_why)
    assert [(d.what, d.amount) for d in differences] == [("batch norm at 2 per element", 512)]
    assert unexplained == 7
    assert skipped == {"aten.add": 1}  # the residual add: costlab counts 256 FLOPs, fvcore nothing
    assert {r.name: r.unexplained for r in rows} == {"conv": 0, "bn": 7}
    for row in rows:
        assert row.costlab + row.differences + row.unexplained == row.total


def test_an_op_counted_twice_is_a_bug_in_the_rules():
    seen = seen_of(Block(), "1x3x8x8")
    conv = next(op for op in seen.report.ops if op.op == "aten.convolution")
    twice = [engine.Term(None, "", "a", 1, 0, (conv.index,)), engine.Term(None, "", "b", 1, 0, (conv.index,))]
    with pytest.raises(AssertionError, match="covered twice"):
        engine.reconcile(seen, "macs", twice, engine.Measured(0), fvcore_rules.skip_why)


def test_an_op_no_rule_covers_is_skipped_with_costlabs_count():
    seen = seen_of(Block(), "1x3x8x8")
    differences, _, unexplained, _ = engine.reconcile(seen, "flops", [], engine.Measured(0), lambda op: "none")
    # conv 2·6,912 + bias 256, BN 2·256, add 256: every FLOP of costlab's, skipped, and nothing left over
    assert sum(d.amount for d in differences) == -(2 * 6_912 + 256 + 512 + 256)
    assert unexplained == 0


def test_a_counter_registered_twice_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register(COUNTERS["fvcore"])
    with pytest.raises(ValueError, match="basis"):
        register(CounterSpec("x", "x", "x", "x", "bytes", COUNTERS["fvcore"].run, COUNTERS["fvcore"].predict,
                             COUNTERS["fvcore"].skip_why))


def test_unknown_counter_names_the_known_ones():
    with pytest.raises(UnknownCounterError, match="known: fvcore, torch, thop, ptflops, torchinfo"):
        reconcile(Block(), "1x3x8x8", counters="fvcore,nosuch")


def test_the_users_model_and_torchs_state_are_left_as_they_were():
    model = Block().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attributes = {name: (set(vars(m)), set(m._buffers), dict(m._forward_hooks)) for name, m in model.named_modules()}
    rng, grad, relu, matmul = torch.get_rng_state(), torch.is_grad_enabled(), F.relu, torch.matmul
    result = reconcile(model, "1x3x8x8")
    assert all(r.status in ("ok", "not installed") for r in result.counters)
    assert model.training and set(model.state_dict()) == set(before)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert {name: (set(vars(m)), set(m._buffers), dict(m._forward_hooks)) for name, m in model.named_modules()} == attributes
    assert torch.equal(torch.get_rng_state(), rng)
    assert (torch.is_grad_enabled(), F.relu, torch.matmul) == (grad, relu, matmul)


class Labelled(nn.Module):
    """Returns its output in an object: torch.jit cannot trace that, FlopCounterMode runs it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> types.SimpleNamespace:
        return types.SimpleNamespace(out=self.conv(x))


def test_a_counter_that_fails_is_reported_with_one_line_and_the_others_still_run():
    result = {r.name: r for r in reconcile(Labelled(), "1x3x8x8", counters="fvcore,torch").counters}
    assert result["fvcore"].status == "failed"
    assert result["fvcore"].reason and "\n" not in result["fvcore"].reason
    assert result["fvcore"].total is None and result["fvcore"].unexplained is None
    # conv 4·36·27 = 3,888 MACs → 7,776 FLOPs; costlab's 7,920 also count the bias (144)
    assert (result["torch"].status, result["torch"].total, result["torch"].unexplained) == ("ok", 7_776, 0)


def test_a_counter_that_is_not_installed_is_listed_as_such(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "thop" else real(name, *a))
    (result,) = reconcile(Block(), "1x3x8x8", counters="thop").counters
    assert (result.status, result.total, result.reason) == ("not installed", None, "pip install thop")


def test_json_contract():
    data = reconcile(str(TINY_NET), counters="fvcore,torch").to_dict()
    assert set(data) == {"model", "input_shapes", "costlab", "counters"}
    assert data["input_shapes"] == [[1, 3, 32, 32]]
    # tiny_net.py: 221,184 + 1,179,648 MACs (its docstring)
    assert data["costlab"]["macs"] == 1_400_832
    for entry in data["counters"]:
        assert {"name", "version", "total", "unit", "basis", "differences", "skipped_ops", "unexplained"} <= set(entry)
        assert all(set(d) == {"what", "ops", "amount", "why"} for d in entry["differences"])
        total = data["costlab"][entry["basis"]] + sum(d["amount"] for d in entry["differences"]) + entry["unexplained"]
        assert total == entry["total"]
