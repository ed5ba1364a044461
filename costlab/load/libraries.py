"""Third-party models: how torchvision's and timm's builders are called, and each model's own input.

* torchvision: every argument that could fetch weights is None (``weights``, ``weights_backbone``,
  any other ``*weights*`` parameter), so detection and segmentation builders, which default to an
  ImageNet backbone, build offline. The model is the architecture its default weights define (the
  constructor arguments the builder sets before loading them: vit_h_14 at 518, segmentation's aux
  head, GoogLeNet without its aux heads), and its default input comes from those weights'
  transforms and metadata (their enum is data in the package: nothing is downloaded).
* timm: ``pretrained=False``; the default input is ``pretrained_cfg["input_size"]``.
* a Hugging Face ``PreTrainedModel`` instance: its ``main_input_name`` at a size from its config.
"""

from __future__ import annotations

import inspect
from typing import Any

from costlab.load.inputs import ExampleInputs, InputSpec

__all__ = [
    "DETECTION_IMAGE",
    "FLOW_IMAGE",
    "TEXT_LENGTH",
    "VIDEO_FRAMES",
    "instance_inputs",
    "timm_factory",
    "timm_inputs",
    "torchvision_factory",
    "torchvision_inputs",
]

DETECTION_IMAGE = (3, 800, 800)
"""A detector's default image: one square image, which its transform resizes to its own size
(800 for the R-CNNs, RetinaNet and FCOS, 320 / 300 for the mobile ones and SSD)."""

VIDEO_FRAMES = 16
"""Frames in a video clip when the weights name no minimum (torchvision's ``clip_len=16``)."""

FLOW_IMAGE = (3, 512, 512)
"""Each of RAFT's two images: the size torchvision's published ``_ops`` for RAFT are measured at
(raft_large 211.007 G, raft_small 47.655 G; their transforms name no size)."""

TEXT_LENGTH = 128
"""Tokens in a text model's default ``input_ids`` (fewer when the model's positions are fewer)."""


def torchvision_factory(library: Any, name: str) -> Any:
    """A no-argument function that builds ``torchvision:name`` as its default weights define it,
    without any pretrained weights."""
    builder = library.models.get_model_builder(name)
    parameters = inspect.signature(builder).parameters
    arguments = weights_architecture(builder.__module__, parameters, library.models.get_model_weights(name).DEFAULT)
    arguments.update({p: None for p in parameters if "weights" in p})
    arguments["weights"] = None

    def build() -> Any:
        return builder(**arguments)

    return build


def weights_architecture(module: str, parameters: Any, weights: Any) -> dict[str, Any]:
    """The constructor arguments torchvision's builder in ``module`` sets when it is given ``weights``
    (``_ovewrite_named_param`` before loading them): the weights' architecture, minus the download."""
    family = module.rsplit(".", 1)[-1]
    if family == "vision_transformer":
        return {"image_size": weights.meta["min_size"][0]}
    if family == "maxvit":
        return {"input_size": weights.meta["min_size"]}
    if family in ("googlenet", "inception"):  # GoogLeNet drops its aux heads once loaded; Inception keeps them
        return {"transform_input": True, "aux_logits": family == "inception", "init_weights": False}
    if ".segmentation." in module and "aux_loss" in parameters:
        return {"aux_loss": True}
    return {}


def torchvision_inputs(library: Any, name: str) -> ExampleInputs:
    """The input torchvision's default weights for ``name`` were evaluated at."""
    weights = library.models.get_model_weights(name).DEFAULT
    transforms = weights.transforms()
    kind = type(transforms).__name__
    label = f"{type(weights).__name__}.{weights.name}"
    if kind == "ImageClassification":
        size = transforms.crop_size[0]
        return ExampleInputs.of_specs([InputSpec((1, 3, size, size))], f"{label}'s transforms (crop {size})")
    if kind == "SemanticSegmentation":
        size = transforms.resize_size[0]
        return ExampleInputs.of_specs([InputSpec((1, 3, size, size))], f"{label}'s transforms (resize {size})")
    if kind == "VideoClassification":
        height, width = transforms.crop_size
        frames = max(weights.meta.get("min_temporal_size", 1), VIDEO_FRAMES)
        origin = f"{label}'s transforms (crop {height}x{width}, clips of {frames} frames)"
        return ExampleInputs.of_specs([InputSpec((1, 3, frames, height, width))], origin)
    if kind == "OpticalFlow":
        image = InputSpec((1, *FLOW_IMAGE))
        return ExampleInputs((image, image), {}, f"a pair of {FLOW_IMAGE[1]}x{FLOW_IMAGE[2]} images for {label}")
    if kind == "ObjectDetection":
        image = InputSpec(DETECTION_IMAGE)
        return ExampleInputs(([image],), {}, f"a list of one {DETECTION_IMAGE[1]}x{DETECTION_IMAGE[2]} image for {label}")
    return ExampleInputs.of_specs([InputSpec((1, 3, 224, 224))], f"224x224 ({label}'s transforms name no size)")


def timm_factory(library: Any, name: str) -> Any:
    def build() -> Any:
        return library.create_model(name, pretrained=False)

    return build


def timm_inputs(library: Any, name: str) -> ExampleInputs:
    """``pretrained_cfg["input_size"]`` of ``name``'s default pretrained tag."""
    cfg = library.models.get_pretrained_cfg(name)
    size = tuple(getattr(cfg, "input_size", None) or (3, 224, 224))
    return ExampleInputs.of_specs([InputSpec((1, *size))], f"timm's pretrained_cfg input_size {size}")


def instance_inputs(model: Any) -> ExampleInputs | None:
    """A Hugging Face model's input from its config (``main_input_name``); None for anything else."""
    config = getattr(model, "config", None)
    main = getattr(model, "main_input_name", None)
    if config is None or not isinstance(main, str):
        return None
    origin = f"{type(model).__name__}'s config"
    if main == "pixel_values":
        size = getattr(config, "image_size", 224)
        height, width = (size, size) if isinstance(size, int) else tuple(size)
        channels = getattr(config, "num_channels", 3)
        return ExampleInputs((), {main: InputSpec((1, channels, height, width))}, f"{origin} (image_size {size})")
    if main == "input_ids":
        length = min(TEXT_LENGTH, getattr(config, "max_position_embeddings", None) or TEXT_LENGTH)
        ids = InputSpec((1, length), "int64")
        kwargs = {"input_ids": ids}
        if getattr(config, "is_encoder_decoder", False):
            kwargs["decoder_input_ids"] = ids
        return ExampleInputs((), kwargs, f"{origin} ({length} tokens)")
    return None
