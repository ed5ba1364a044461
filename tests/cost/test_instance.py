"""Profiling an instance leaves it as it was: parameters, buffers, every attribute, caches, RNG, stdout."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.load.guard import preserved


class Caching(nn.Module):
    """What a detector's anchor generator does, and worse: caches a tensor made on the input's device
    (meta on a meta pass), rebinds and adds attributes, fills a dict and a list in place, writes a
    buffer in place, and needs real values for its last step (``.item()``), so the profile retries
    for real after the meta pass."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("calls", torch.zeros(()))
        self.anchors: list[torch.Tensor] = [torch.ones(4)]
        self.cache: dict[tuple[int, ...], torch.Tensor] = {}
        self.history: list[int] = []
        self.mode = "fresh"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.anchors = [a.to(x.device) for a in self.anchors]  # rebinds, as set_cell_anchors does
        self.cache[tuple(x.shape)] = x.new_zeros(1)
        self.history.append(x.shape[0])
        self.mode = "used"
        self.seen = True  # a new attribute
        self.calls += 1  # a buffer written in place
        y = self.conv(x) * self.anchors[0].view(1, 4, 1, 1)
        if y.sum().item() > 1e30:  # data-dependent: fails on meta, works for real
            return y * 2
        return y


def snapshot(model: nn.Module) -> dict[str, object]:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "dict": {k: v for k, v in vars(model).items() if not k.startswith("_")},
        "anchors": [a.clone() for a in model.anchors],
        "cache": dict(model.cache),
        "history": list(model.history),
        "ids": {k: id(v) for k, v in vars(model).items()},
    }


def test_instance_unchanged_after_a_meta_pass_and_a_real_retry() -> None:
    torch.manual_seed(0)
    model = Caching()
    x = torch.randn(1, 3, 8, 8)
    before = snapshot(model)
    expected = copy.deepcopy(model)(x)  # what a plain forward gives, on a copy
    report = costlab.profile(model, "1x3x8x8")
    assert report.captured_on == "cpu"  # the .item() made it retry with real tensors
    assert report.totals.macs == 4 * 64 * 27  # conv: 4 outputs · 8·8 positions · 3·3·3
    after = snapshot(model)
    for key in ("dict", "cache", "history", "ids"):
        assert after[key] == before[key], key
    assert not hasattr(model, "seen")
    assert all(torch.equal(a, b) for a, b in zip(after["anchors"], before["anchors"]))
    assert all(not a.is_meta for a in model.anchors)
    assert all(torch.equal(before["state"][k], v) for k, v in model.state_dict().items())  # calls == 0 again
    assert torch.equal(model(x), expected)  # a real forward still works, with the same result


def test_training_flags_hooks_and_rng_are_left_alone() -> None:
    model = Caching().train()
    handle = model.register_forward_hook(lambda *args: None)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    costlab.profile(model, "1x3x8x8")
    assert torch.equal(torch.get_rng_state(), state)  # the real retry's random input used its own generator
    assert model.training and model.conv.training
    assert list(model._forward_hooks) == [handle.id]


def test_preserved_restores_nested_containers() -> None:
    module = nn.Module()
    module.table = {"a": [1, 2]}
    inner = module.table["a"]
    with preserved(module):
        inner.append(3)
        module.table["b"] = []
    assert module.table == {"a": [1, 2]} and module.table["a"] is inner


PRINTING = textwrap.dedent(
    """
    from torch import nn

    print("importing the file")

    class Loud(nn.Module):
        def __init__(self):
            super().__init__()
            print("building")
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            print("forward")
            return self.fc(x)

    INPUT_SHAPE = (1, 4)
    """
)


@pytest.mark.parametrize("command", [["profile"], ["lint"], ["latency", "--min-time", "0.01"]])
def test_what_model_code_prints_goes_to_stderr(tmp_path: Path, command: list[str]) -> None:
    import json

    path = tmp_path / "loud.py"
    path.write_text(PRINTING)
    result = CliRunner().invoke(app, [command[0], str(path), "-f", "json", *command[1:]])
    assert result.exit_code in (0, 1), result.output
    json.loads(result.stdout)  # nothing but the JSON on stdout
    assert "building" in result.stderr and "forward" in result.stderr
