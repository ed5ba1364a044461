"""Model specs: turn what the user typed into a model and its example input.

A spec is one of

* a zoo name — ``mobilenet_v2`` (``costlab zoo`` lists them);
* a Python file — ``mymodel.py`` (finds the model), or ``mymodel.py:NAME`` for a class, a
  no-argument factory, or a module-level instance (:mod:`costlab.load.modelfile`);
* a library model — ``torchvision:resnet50`` or ``timm:ghostnet_100``, when that library imports.

Every model comes with its own default input where it has one: a zoo entry's, a file's
``INPUT_SHAPE`` or ``example_inputs()``, torchvision's weights' transforms (efficientnet_b7 at 600,
segmentation at 520, video clips, RAFT's image pairs, a detector's list of images), timm's
``pretrained_cfg["input_size"]``. Library models build offline (no pretrained weights, backbones
included) and whatever a constructor prints goes to stderr (:mod:`costlab.load.guard`).
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costlab.errors import ModelSpecError, first_line
from costlab.load import libraries, modelfile, sites
from costlab.load.guard import user_code
from costlab.load.inputs import ExampleInputs, InputSpec, example_inputs_for

__all__ = ["LIBRARY_PREFIXES", "Instantiated", "ModelSource", "as_source", "constructing", "instantiate", "resolve"]

LIBRARY_PREFIXES = ("torchvision", "timm")


@dataclass
class ModelSource:
    """A resolved model spec: how to build the model, and the input it runs on by default.

    ``build(meta=True)`` constructs it on the meta device where possible (no weight init, no
    memory); an instance that already exists is returned as it is, whatever ``meta`` says, and is
    ``shared``: the user's own object, which costlab must copy before changing anything on it.
    ``inputs`` is the default input, or a function that makes it (a file's ``example_inputs()``,
    called once, when first needed).
    """

    label: str
    build: Callable[[bool], Any]
    inputs: ExampleInputs | Callable[[], ExampleInputs] | None = None
    file: Path | None = None
    origin: str = "zoo"
    shared: bool = False

    def default_inputs(self) -> ExampleInputs | None:
        """The model's own input (None: it has none)."""
        if callable(self.inputs):
            self.inputs = self.inputs()
        return self.inputs

    @property
    def input_specs(self) -> list[InputSpec] | None:
        """The default input as plain shapes (what ``--input`` could say), or None."""
        default = self.default_inputs()
        return default.specs if default is not None else None


def resolve(spec: str) -> ModelSource:
    """Resolve a model spec (see the module docstring); :class:`ModelSpecError` says what was wrong."""
    spec = spec.strip()
    if not spec:
        raise ModelSpecError("empty model spec: give a zoo name (`costlab zoo`), a file.py, or torchvision:NAME")
    prefix, colon, rest = spec.partition(":")
    if colon and prefix in LIBRARY_PREFIXES:
        return _library(prefix, rest)
    path_text, name = _split_file_spec(spec)
    if path_text is not None:
        return _from_file(Path(path_text), name)
    if "/" in spec or "\\" in spec:
        raise ModelSpecError(f"no such file: {spec} (model files end in .py)")
    return _zoo(spec)


def _split_file_spec(spec: str) -> tuple[str | None, str | None]:
    match = re.fullmatch(r"(.+\.py)(?::([A-Za-z_][A-Za-z0-9_]*))?", spec)
    if match:
        return match.group(1), match.group(2)
    if ".py:" in spec:
        path_text, _, name = spec.rpartition(":")
        raise ModelSpecError(f"{name!r} in {spec!r} is not a Python name: write {path_text}:NAME")
    return None, None


def construct(factory: Callable[[], Any], meta: bool, *, offline: bool = False) -> Any:
    """``factory()`` under :func:`constructing` and :func:`~costlab.load.guard.user_code`.

    On meta, a constructor that computes with plain tensors (torchvision's RegNets derive their
    widths with ``torch.arange(...).tolist()``) fails under the meta device; it is built again with
    only its parameters and buffers put on meta as they are registered. A real build is seeded, so
    its random weights are the same every run.
    """
    with user_code(offline=offline, seed=None if meta else 0):
        if not meta:
            return factory()
        try:
            with constructing(True):
                return factory()
        except Exception as err:
            if isinstance(err, ModelSpecError):
                raise
        with constructing(True, everywhere=False):
            return factory()


@contextlib.contextmanager
def constructing(meta: bool, *, everywhere: bool = True) -> Iterator[None]:
    """Build modules on the meta device, skipping ``torch.nn.init`` (no values to initialise).

    Construction on meta allocates nothing; skipping the init functions (whose meta versions are
    slow Python decompositions) makes building MobileNet V2 about 3× faster. Both are undone on exit.
    ``everywhere=False`` leaves the default device alone and moves each parameter and buffer to
    meta as it is registered (a constructor's own arithmetic on tensors then still works).
    Either way, each module's construction site is recorded (:mod:`costlab.load.sites`).
    """
    if not meta:
        with sites.recording():
            yield
        return
    import torch
    from torch.nn import init

    with _skipping_init(init), sites.recording():
        if everywhere:
            with torch.device("meta"):
                yield
        else:
            with _registered_on_meta(torch.nn.Module):
                yield


@contextlib.contextmanager
def _skipping_init(init: Any) -> Iterator[None]:
    names = [n for n in vars(init) if n.endswith("_") and not n.startswith("_") and callable(getattr(init, n))]
    saved = {n: getattr(init, n) for n in names}

    def skip(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor

    try:
        for n in names:
            setattr(init, n, skip)
        yield
    finally:
        for n, function in saved.items():
            setattr(init, n, function)


@contextlib.contextmanager
def _registered_on_meta(module_class: Any) -> Iterator[None]:
    """Every parameter and buffer registered in the block is moved to meta (as accelerate's
    ``init_empty_weights`` does); each exists on CPU, uninitialised, only until it is registered."""
    from torch import nn

    register_parameter = module_class.register_parameter
    register_buffer = module_class.register_buffer

    def parameter(self: Any, name: str, param: Any) -> None:
        register_parameter(self, name, param)
        if type(param) is nn.Parameter and not param.is_meta:  # lazy modules' placeholders stay as they are
            self._parameters[name] = nn.Parameter(param.data.to("meta"), requires_grad=param.requires_grad)

    def buffer(self: Any, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(self, name, tensor, persistent)
        if tensor is not None and not tensor.is_meta:
            self._buffers[name] = tensor.to("meta")

    module_class.register_parameter, module_class.register_buffer = parameter, buffer
    try:
        yield
    finally:
        module_class.register_parameter, module_class.register_buffer = register_parameter, register_buffer


# -- zoo ----------------------------------------------------------------------------------------


def _zoo(name: str) -> ModelSource:
    from costlab.zoo import UnknownModelError, get_entry

    try:
        entry = get_entry(name)
    except UnknownModelError as err:
        raise ModelSpecError(str(err)) from None

    def build(meta: bool) -> Any:
        return construct(entry.create, meta)

    return ModelSource(name, build, ExampleInputs.of_specs([InputSpec(entry.input_shape)]), origin="zoo")


# -- libraries ------------------------------------------------------------------------------------


def _library(prefix: str, name: str) -> ModelSource:
    if not name:
        raise ModelSpecError(f"{prefix}: needs a model name, e.g. {prefix}:resnet50")
    try:
        with user_code():
            library = importlib.import_module(prefix)
    except Exception as err:  # noqa: BLE001 - any import failure means "not usable here"
        raise ModelSpecError(
            f"{prefix} does not import here ({first_line(err)}); install it to use {prefix}:{name}"
        ) from None
    available = library.models.list_models() if prefix == "torchvision" else library.list_models()
    if name not in available:
        import difflib

        hint = difflib.get_close_matches(name, available, n=3)
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise ModelSpecError(f"{prefix} has no model {name!r}{suggestion}")
    if prefix == "torchvision":
        factory = libraries.torchvision_factory(library, name)
        inputs: Any = lambda: libraries.torchvision_inputs(library, name)
    else:
        factory = libraries.timm_factory(library, name)
        inputs = lambda: libraries.timm_inputs(library, name)

    def build(meta: bool) -> Any:
        return construct(factory, meta, offline=True)

    return ModelSource(f"{prefix}:{name}", build, inputs, origin=prefix)


# -- files --------------------------------------------------------------------------------------


def _from_file(path: Path, name: str | None) -> ModelSource:
    from torch import nn

    module = modelfile.import_file(path)
    label = f"{path.name}:{name}" if name else path.name
    inputs = modelfile.file_inputs(module, path)

    if name is not None:
        if not hasattr(module, name):
            candidates = modelfile.model_candidates(module, nn)
            listed = ", ".join(candidates) if candidates else "none found"
            raise ModelSpecError(f"{path} has no {name!r} (models there: {listed})")
        target = getattr(module, name)
    else:
        target = modelfile.find_model(module, path, nn)

    if isinstance(target, nn.Module):
        instance = target
        return ModelSource(label, lambda meta: instance, inputs, path, "file", shared=True)
    if not callable(target):
        raise ModelSpecError(f"{path}:{name} is a {type(target).__name__}, not a model, class or factory")
    _require_no_arguments(target, path, name or getattr(target, "__name__", "?"))

    def build(meta: bool) -> Any:
        model = construct(target, meta)
        if not isinstance(model, nn.Module):
            raise ModelSpecError(f"{path}:{getattr(target, '__name__', name)}() returned a {type(model).__name__}, not an nn.Module")
        return model

    return ModelSource(label, build, inputs, path, "file")


def _require_no_arguments(target: Any, path: Path, name: str) -> None:
    needs = modelfile.needs_arguments(target)
    if needs:
        raise ModelSpecError(
            f"{path}:{name} needs arguments ({', '.join(needs)}); point costlab at a no-argument "
            "factory or a module-level instance instead"
        )


# -- from a spec to a runnable model and inputs ------------------------------------------------------


def as_source(model: Any) -> ModelSource:
    """A spec string is resolved; an ``nn.Module`` instance is wrapped as it is."""
    from torch import nn

    if isinstance(model, str):
        return resolve(model)
    if isinstance(model, nn.Module):
        return ModelSource(
            type(model).__name__, lambda meta: model, lambda: libraries.instance_inputs(model), origin="object", shared=True
        )
    raise TypeError(f"expected an nn.Module or a model spec string, not {type(model).__name__}")


@dataclass
class Instantiated:
    """A real model (random weights) and its example inputs, ready to run or time."""

    label: str
    model: Any
    inputs: ExampleInputs
    source: ModelSource


def instantiate(model: Any, input_shape: Any = None, *, inputs: Any = None, batch: int | None = None) -> Instantiated:
    """Build ``model`` (spec or instance) for real on CPU with its inputs; ``batch`` replaces dim 0.

    The model returned is costlab's to change (moving it to another device or dtype, eval mode, a
    memory format: the caller's business): a user's own instance is deep-copied first, so timing
    never converts, moves or switches the model they handed over. Making the input tensors
    (:meth:`ExampleInputs.make`) is the caller's business too.
    """
    import copy

    source = as_source(model)
    example = example_inputs_for(source, input_shape, inputs).with_batch(batch)
    built = source.build(False)
    if source.shared:
        built = copy.deepcopy(built)
    return Instantiated(source.label, built, example, source)
