"""Test infrastructure only: make torchvision (and so timm) importable and runnable on this CPU wheel.

The pinned torchvision wheel is a CUDA build: its compiled ops (``torchvision._C``) cannot load
beside torch's CPU wheel, and its fake-kernel registrations for those ops raise at import
(the ops do not exist). When — and only when — the compiled ops cannot load, this

* registers an empty ``torchvision._meta_registrations`` before the first import, so it imports;
* defines ``torchvision::nms`` with a pure-PyTorch CPU kernel (greedy NMS, as the C++ one) and the
  same data-dependent fake kernel torchvision registers, so detectors run and their meta pass fails
  as it does with a working install;
* defines ``torchvision::roi_align`` with torchvision's own pure-PyTorch version, so the op itself can
  be called (torchvision's ``roi_align`` still takes its Python path, as it does without compiled ops).

The product never does any of this: costlab uses whatever torchvision the user has.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

import torch

__all__ = ["HAS_TIMM", "HAS_TORCHVISION", "prepare"]

_LIBRARY: torch.library.Library | None = None


def _compiled_ops_load(spec: importlib.machinery.ModuleSpec) -> bool:
    folder = Path(next(iter(spec.submodule_search_locations or [])))
    for path in folder.glob("_C*.so"):
        try:
            torch.ops.load_library(str(path))
            return True
        except (OSError, RuntimeError):
            return False
    return False


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression, as torchvision's CPU kernel: indices kept, by descending score."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    ordered = boxes[order]
    x1, y1, x2, y2 = ordered.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    width = (torch.min(x2[:, None], x2[None, :]) - torch.max(x1[:, None], x1[None, :])).clamp(min=0)
    height = (torch.min(y2[:, None], y2[None, :]) - torch.max(y1[:, None], y1[None, :])).clamp(min=0)
    inter = width * height
    overlaps = (inter / (areas[:, None] + areas[None, :] - inter) > iou_threshold).triu(1).numpy()
    removed = overlaps[0] & False
    keep = []
    for i in range(len(order)):
        if not removed[i]:
            keep.append(i)
            removed |= overlaps[i]  # a kept box removes every later box it overlaps
    return order[torch.tensor(keep, dtype=torch.int64)]


def _define_ops() -> None:
    global _LIBRARY
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.impl("nms", nms_reference, "CPU")

    @torch.library.register_fake("torchvision::nms", lib=_LIBRARY)
    def _nms_fake(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
        # as torchvision's own: the output size depends on the data
        ctx = torch._custom_ops.get_ctx()
        return dets.new_empty(ctx.new_dynamic_size(), dtype=torch.int64)

    _LIBRARY.define(
        "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, "
        "int sampling_ratio, bool aligned) -> Tensor"
    )

    def roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned):
        from torchvision.ops.roi_align import _roi_align

        return _roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned)

    _LIBRARY.impl("roi_align", roi_align, "CPU")


class _PatchedOnImport(importlib.abc.MetaPathFinder):
    """Once ``torchvision.ops.boxes`` is imported, let its ``nms`` call the kernel defined here
    (it asserts that the compiled ops loaded). Importing torchvision stays lazy: only tests that
    use it pay for it."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != "torchvision.ops.boxes":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def patched(module: types.ModuleType) -> None:
            exec_module(module)
            module._assert_has_ops = lambda: None  # type: ignore[attr-defined]

        spec.loader.exec_module = patched  # type: ignore[method-assign]
        return spec


def prepare() -> tuple[bool, bool]:
    """Make torchvision and timm usable if they are installed (without importing them yet);
    (torchvision is installed, timm is installed)."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        return False, False
    if "torchvision" not in sys.modules and not _compiled_ops_load(spec):
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
        _define_ops()
        sys.meta_path.insert(0, _PatchedOnImport())
    return True, importlib.util.find_spec("timm") is not None


HAS_TORCHVISION, HAS_TIMM = prepare()
