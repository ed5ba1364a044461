"""Every torchvision builder, offline, at its weights' own input, against the weights' published counts.

``weights.meta["_ops"]`` is torchvision's GMACs (3 decimals) and ``["num_params"]`` its parameter
count; both are data in the package, read without downloading anything. Detectors run for real
(NMS is data-dependent); here they are built small (``min_size``) so the suite stays fast, and
checked against ``FlopCounterMode`` on the same run; ``benchmarks/bench_coverage.py --library
torchvision`` profiles them at full size by name.
"""

from __future__ import annotations

import copy

import pytest
import torch

import costlab
from tests.thirdparty.setup import HAS_TORCHVISION

tv = pytest.importorskip("torchvision") if HAS_TORCHVISION else pytest.skip("torchvision is not installed", allow_module_level=True)

from costlab.load import resolve
from costlab.load.libraries import weights_architecture

DETECTION = sorted(tv.models.list_models(module=tv.models.detection))
OTHERS = sorted(set(tv.models.list_models()) - set(DETECTION))


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to fetch weights fails the test (costlab's own guard would refuse it too)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"tried to download {args[:1]}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(tv.models._api, "load_state_dict_from_url", refuse, raising=False)


def own_input(name: str) -> list[tuple[int, ...]]:
    """The shape the default weights' transforms produce, worked out here from the transforms."""
    weights = tv.models.get_model_weights(name).DEFAULT
    t = weights.transforms()
    kind = type(t).__name__
    if kind == "ImageClassification":
        return [(1, 3, t.crop_size[0], t.crop_size[0])]
    if kind == "SemanticSegmentation":
        return [(1, 3, t.resize_size[0], t.resize_size[0])]
    if kind == "VideoClassification":  # clips of 16 frames (torchvision's clip_len), or the weights' minimum
        return [(1, 3, max(16, weights.meta.get("min_temporal_size", 1)), *t.crop_size)]
    assert kind == "OpticalFlow"
    return [(1, 3, 512, 512)] * 2  # the pair RAFT's published _ops are measured on


@pytest.mark.parametrize("name", OTHERS)
def test_builds_offline_by_name_with_the_published_counts(name: str) -> None:
    meta = tv.models.get_model_weights(name).DEFAULT.meta
    report = costlab.profile(f"torchvision:{name}")
    assert report.input_shapes == own_input(name)
    assert report.notes and "pass --input" in report.notes[0]  # it says which input it used
    assert report.captured_on == "meta"
    assert round(report.totals.macs / 1e9, 3) == meta["_ops"]
    assert report.params == meta["num_params"]
    # --strict passes (ConvNeXt's and Swin's as_strided_ is free); RAFT's grid_sampler_2d has no formula yet
    allowed = {"aten.grid_sampler_2d"} if name.startswith("raft") else set()
    assert set(report.unsupported_ops) <= allowed


def snapshot(model: torch.nn.Module) -> list[tuple[int, dict[str, int]]]:
    """Every module's attributes by identity (a rebound or added attribute changes it)."""
    return [(id(m), {k: id(v) for k, v in vars(m).items()}) for m in model.modules()]


CHEAP = ["mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x0_5", "regnet_x_400mf", "swin_t", "convnext_tiny"]


@pytest.mark.parametrize("name", CHEAP)
def test_a_real_instance_is_unchanged_and_gives_the_same_result(name: str) -> None:
    builder = tv.models.get_model_builder(name)
    arguments = weights_architecture(builder.__module__, {}, tv.models.get_model_weights(name).DEFAULT)
    torch.manual_seed(0)
    model = builder(weights=None, **arguments).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    before, state = snapshot(model), {k: v.clone() for k, v in model.state_dict().items()}
    by_name = costlab.profile(f"torchvision:{name}", "1x3x64x64")
    report = costlab.profile(model, "1x3x64x64")
    assert (report.totals.macs, report.params) == (by_name.totals.macs, by_name.params)
    assert snapshot(model) == before
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    with torch.no_grad():
        assert torch.equal(model(x), expected)


def test_regnets_build_on_meta_not_for_real() -> None:
    # RegNet's builder derives its widths with torch.arange(...).tolist(), which fails under the
    # meta device; the gentler meta construction builds it with every parameter on meta
    model = resolve("torchvision:regnet_y_400mf").build(True)
    assert all(p.is_meta for p in model.parameters())


def test_a_wrong_shape_fails_before_any_real_build(monkeypatch: pytest.MonkeyPatch) -> None:
    source = resolve("torchvision:vit_b_16")
    builds: list[bool] = []
    build = source.build
    monkeypatch.setattr(source, "build", lambda meta: builds.append(meta) or build(meta))
    monkeypatch.setattr("costlab.cost.profile.as_source", lambda model: source)
    with pytest.raises(costlab.errors.ForwardError, match="Wrong image height! Expected 224 but got 256"):
        costlab.profile("torchvision:vit_b_16", "1x3x256x256")
    assert builds == [True]  # the meta build only


# -- detection --------------------------------------------------------------------------------------


def small_detector(name: str) -> torch.nn.Module:
    builder = tv.models.get_model_builder(name)
    size = {} if "ssd" in name else {"min_size": 96, "max_size": 96}  # SSD resizes to its own 300 / 320
    torch.manual_seed(0)
    return builder(weights=None, weights_backbone=None, **size).eval()


def frozen_batch_norm_params(model: torch.nn.Module) -> int:
    """The BatchNorm affine parameters of the backbone body: the published count is of the trained
    model, whose builder uses FrozenBatchNorm2d there (its weight and bias are buffers)."""
    body = getattr(model.backbone, "body", model.backbone)
    return sum(p.numel() for m in body.modules() if type(m) is torch.nn.BatchNorm2d for p in m.parameters())


FROZEN_BN = {"fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn",
             "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "fcos_resnet50_fpn"}


@pytest.mark.skipif(
    not __import__("os").environ.get("COSTLAB_DETECTION"),
    reason="minutes per detector on this 2-core machine (set COSTLAB_DETECTION=1); see the report",
)
@pytest.mark.parametrize("name", DETECTION)
def test_detector_instance_counts_exactly_and_is_left_working(name: str) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    model = small_detector(name)
    images = [torch.rand(3, 96, 128)]
    with torch.no_grad():
        expected = model(copy.deepcopy(images))
    before = snapshot(model)
    report = costlab.profile(model, inputs=images)
    # compared before the oracle's forward below: a forward of the user's own rebinds attributes
    # (MultiScaleRoIAlign sets its scales on every call), a profile must not
    assert snapshot(model) == before  # the anchor generator's cache is the user's again
    assert report.captured_on == "cpu"  # NMS keeps a data-dependent number of boxes
    assert set(report.unsupported_ops) <= {"aten._unique2"}  # torchvision.nms has a formula now
    # the same seeded forward under torch's own counter: MACs = its FLOPs / 2
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(copy.deepcopy(images))
    assert report.totals.macs == counter.get_total_flops() // 2
    published = tv.models.get_model_weights(name).DEFAULT.meta["num_params"]
    frozen = frozen_batch_norm_params(model) if name in FROZEN_BN else 0
    assert report.params - frozen == published
    with torch.no_grad():
        after = model(copy.deepcopy(images))
    assert all(torch.equal(a[k], b[k]) for a, b in zip(after, expected) for k in a)


def test_a_detector_by_name_at_its_own_input() -> None:
    # ssdlite320 resizes to 320x320 whatever the image; its heads run on every anchor before NMS,
    # so its count does not depend on the data: torchvision's published 0.583 G
    meta = tv.models.get_model_weights("ssdlite320_mobilenet_v3_large").DEFAULT.meta
    report = costlab.profile("torchvision:ssdlite320_mobilenet_v3_large")
    assert report.input_shapes == [(3, 800, 800)]  # one image, as a list
    assert round(report.totals.macs / 1e9, 3) == meta["_ops"]
    assert report.params == meta["num_params"]
    assert any(op.op == "torchvision.nms" for op in report.ops)
