"""The Report's invariants: every op counted once, rows add up at any depth, the model untouched."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costlab
from costlab.zoo import create_model

SUMMED = ("macs", "flops", "bytes_accessed", "bytes_read", "bytes_written", "elementwise_ops", "elementwise_elems", "ops")


class Residual(nn.Module):
    """conv → relu, plus a residual add written in forward (a functional op owned by this module)."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x)) + x


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.block = Residual()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.stem(x))
        return self.head(x.mean((2, 3)))


@pytest.mark.parametrize("depth", [None, 0, 1, 2])
@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2_x1_0", "resnet18"])
def test_rows_add_up_to_the_totals_at_every_depth(name, depth):
    report = costlab.profile(name)
    rows = report.layers(depth)
    totals = report.totals
    for field in SUMMED:
        assert sum(getattr(row, field) for row in rows) == getattr(totals, field), field
    assert sum(row.params for row in rows) == totals.params  # every module is called once here
    if depth is not None:
        assert max(row.depth for row in rows) <= depth


def test_depth_zero_is_one_row_for_the_whole_model():
    rows = costlab.profile("resnet18").layers(0)
    assert len(rows) == 1 and rows[0].name == "" and rows[0].type == "ResNet"


def test_functional_ops_are_attributed_to_the_module_whose_forward_runs_them():
    report = costlab.profile(Net(), "1x3x8x8")
    by_name = {row.name: row for row in report.layers()}
    # the residual add belongs to `block` itself, beside its children's rows
    assert by_name["block"].type == "Residual"
    assert by_name["block"].elementwise_ops == 1 and by_name["block"].flops == 4 * 8 * 8
    assert by_name["block.conv"].macs == 4 * 8 * 8 * (4 * 9)  # 9,216
    assert by_name["block.relu"].elementwise_ops == 1
    # the mean in Net.forward belongs to the model's own row (name "")
    assert by_name[""].flops == 4 * 8 * 8  # one add per input element of the mean
    rolled = {row.name: row for row in report.layers(1)}
    assert rolled["block"].macs == 9_216 and rolled["block"].elementwise_ops == 2


def test_a_module_called_twice_is_counted_twice_but_its_parameters_once():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.fc(x))

    report = costlab.profile(Twice(), "2x8")
    rows = report.layers()
    assert [row.name for row in rows] == ["fc", "fc"]
    assert report.totals.macs == 2 * (2 * 8 * 8)  # two calls of a 2×8 @ 8×8 product
    assert report.totals.params == 8 * 8 + 8  # 72, once
    assert [row.params for row in rows] == [72, 0]


def test_profiling_leaves_the_model_exactly_as_it_was():
    model = Net().train()
    model.block.eval()  # a mixed state that must come back as it was
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    costlab.profile(model, "1x3x8x8")
    costlab.profile(model, "1x3x8x8", real=True)
    after = model.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [m.training for m in model.modules()] == flags
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not nn.modules.module._global_forward_hooks and not nn.modules.module._global_forward_pre_hooks


def test_batch_norm_statistics_are_not_updated_by_profiling_a_training_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    costlab.profile(model, "2x3x8x8", real=True)
    assert torch.equal(model[1].running_mean, torch.zeros(4))
    assert int(model[1].num_batches_tracked) == 0


def test_two_runs_give_identical_reports():
    first = costlab.profile("shufflenet_v2_x1_0").to_dict()
    second = costlab.profile("shufflenet_v2_x1_0").to_dict()
    assert first == second


@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2_x0_5", "ghostnet", "squeezenet1_1"])
def test_meta_and_real_tensors_count_the_same(name):
    meta = costlab.profile(name, "1x3x64x64")
    real = costlab.profile(name, "1x3x64x64", real=True)
    assert meta.captured_on == "meta" and real.captured_on == "cpu"
    assert meta.totals == real.totals
    assert meta.to_dict()["layers"] == real.to_dict()["layers"]


def test_a_model_that_needs_real_values_falls_back_to_cpu_and_says_so():
    class DataDependent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return y * 2 if y.sum().item() > 0 else y  # .item() has no meaning on the meta device

    report = costlab.profile(DataDependent(), "1x3x4x4")
    assert report.captured_on == "cpu"
    assert any("real" in note for note in report.notes)
    assert report.totals.macs == 4 * 16 * 3  # the 1×1 conv: 192


def test_uncalled_modules_are_reported():
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 4)
            self.spare = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    report = costlab.profile(Unused(), "1x4")
    assert report.uncalled_modules == ["spare"]
    assert report.totals.params == 2 * (16 + 4)  # the model holds both


def test_zoo_models_build_on_meta_without_touching_memory():
    with torch.device("meta"):
        model = create_model("vgg16")
    assert all(p.is_meta for p in model.parameters())


def test_dataframe_has_one_row_per_layer():
    report = costlab.profile("resnet18")
    frame = report.to_dataframe(depth=1)
    assert len(frame) == len(report.layers(1))
    assert frame["macs"].sum() == report.totals.macs
    assert {"name", "type", "output_shape", "params", "macs", "flops", "bytes_accessed", "intensity"} <= set(frame.columns)


def test_json_contract_fields():
    data = costlab.profile("mobilenet_v2").to_dict()
    assert {"model", "input_shapes", "totals", "layers", "unsupported_ops"} <= set(data)
    assert data["input_shapes"] == [[1, 3, 224, 224]]
    assert {"params", "param_bytes", "macs", "flops", "bytes_accessed", "elementwise_ops", "elementwise_elems"} <= set(
        data["totals"]
    )
    layer = data["layers"][0]
    assert {"name", "type", "depth", "output_shape", "params", "macs", "flops", "bytes_accessed", "intensity",
            "elementwise_ops"} <= set(layer)
    assert data["totals"]["param_bytes"] == 4 * 3_504_872
