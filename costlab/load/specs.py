"""Model specs: turn what the user typed into a model and its example input.

A spec is one of

* a zoo name — ``mobilenet_v2`` (``costlab zoo`` lists them);
* a Python file — ``mymodel.py`` (finds the model), or ``mymodel.py:NAME`` for a class, a
  no-argument factory, or a module-level instance (:mod:`costlab.load.modelfile`);
* a library model — ``torchvision:resnet50`` or ``timm:ghostnet_100``, when that library imports.
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
from costlab.load import modelfile, sites
from costlab.load.inputs import InputSpec, input_specs_for, make_inputs, with_batch

__all__ = ["ModelSource", "resolve", "as_source", "constructing", "instantiate", "Instantiated", "LIBRARY_PREFIXES"]

LIBRARY_PREFIXES = ("torchvision", "timm")


@dataclass
class ModelSource:
    """A resolved model spec: how to build the model, and the input it runs on by default.

    ``build(meta=True)`` constructs it on the meta device where possible (no weight init, no
    memory); an instance that already exists is returned as it is, whatever ``meta`` says, and is
    ``shared``: the user's own object, which costlab must copy before changing anything on it.
    """

    label: str
    build: Callable[[bool], Any]
    input_specs: list[InputSpec] | None = None
    file: Path | None = None
    origin: str = "zoo"
    shared: bool = False


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


@contextlib.contextmanager
def constructing(meta: bool) -> Iterator[None]:
    """Build modules on the meta device, skipping ``torch.nn.init`` (no values to initialise).

    Construction on meta allocates nothing; skipping the init functions (whose meta versions are
    slow Python decompositions) makes building MobileNet V2 about 3× faster. Both are undone on exit.
    Either way, each module's construction site is recorded (:mod:`costlab.load.sites`).
    """
    if not meta:
        with sites.recording():
            yield
        return
    import torch
    from torch.nn import init

    names = [n for n in vars(init) if n.endswith("_") and not n.startswith("_") and callable(getattr(init, n))]
    saved = {n: getattr(init, n) for n in names}

    def skip(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor

    try:
        for n in names:
            setattr(init, n, skip)
        with torch.device("meta"), sites.recording():
            yield
    finally:
        for n, function in saved.items():
            setattr(init, n, function)


# -- zoo ----------------------------------------------------------------------------------------


def _zoo(name: str) -> ModelSource:
    from costlab.zoo import UnknownModelError, get_entry

    try:
        entry = get_entry(name)
    except UnknownModelError as err:
        raise ModelSpecError(str(err)) from None

    def build(meta: bool) -> Any:
        with constructing(meta):
            return entry.create()

    return ModelSource(name, build, [InputSpec(entry.input_shape)], origin="zoo")


# -- libraries ------------------------------------------------------------------------------------


def _library(prefix: str, name: str) -> ModelSource:
    if not name:
        raise ModelSpecError(f"{prefix}: needs a model name, e.g. {prefix}:resnet50")
    try:
        library = importlib.import_module(prefix)
    except Exception as err:  # noqa: BLE001 - any import failure means "not usable here"
        raise ModelSpecError(
            f"{prefix} does not import here ({first_line(err)}); install it to use {prefix}:{name}"
        ) from None

    if prefix == "torchvision":
        available = library.models.list_models()

        def build(meta: bool) -> Any:
            with constructing(meta):
                return library.models.get_model(name, weights=None)

        default_size = 299 if name.startswith("inception") else 224
    else:
        available = library.list_models()

        def build(meta: bool) -> Any:
            with constructing(meta):
                return library.create_model(name, pretrained=False)

        default_size = 224
    if name not in available:
        import difflib

        hint = difflib.get_close_matches(name, available, n=3)
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise ModelSpecError(f"{prefix} has no model {name!r}{suggestion}")
    return ModelSource(f"{prefix}:{name}", build, [InputSpec((1, 3, default_size, default_size))], origin=prefix)


# -- files --------------------------------------------------------------------------------------


def _from_file(path: Path, name: str | None) -> ModelSource:
    from torch import nn

    module = modelfile.import_file(path)
    label = f"{path.name}:{name}" if name else path.name
    input_specs = modelfile.file_inputs(module, path)

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
        return ModelSource(label, lambda meta: instance, input_specs, path, "file", shared=True)
    if not callable(target):
        raise ModelSpecError(f"{path}:{name} is a {type(target).__name__}, not a model, class or factory")
    _require_no_arguments(target, path, name or getattr(target, "__name__", "?"))

    def build(meta: bool) -> Any:
        with constructing(meta):
            model = target()
        if not isinstance(model, nn.Module):
            raise ModelSpecError(f"{path}:{getattr(target, '__name__', name)}() returned a {type(model).__name__}, not an nn.Module")
        return model

    return ModelSource(label, build, input_specs, path, "file")


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
        return ModelSource(type(model).__name__, lambda meta: model, None, origin="object", shared=True)
    raise TypeError(f"expected an nn.Module or a model spec string, not {type(model).__name__}")


@dataclass
class Instantiated:
    """A real model (random weights, eval mode) and example inputs, ready to run or time."""

    label: str
    model: Any
    inputs: list[Any]
    input_specs: list[InputSpec]
    source: ModelSource


def instantiate(model: Any, input_shape: Any = None, *, batch: int | None = None) -> Instantiated:
    """Build ``model`` (spec or instance) for real on CPU with inputs; ``batch`` replaces dim 0.

    The model returned is costlab's to change (moving it to another device or dtype, eval mode, a
    memory format: the caller's business): a user's own instance is deep-copied first, so timing
    never converts, moves or switches the model they handed over.
    """
    import copy

    source = as_source(model)
    specs = input_specs_for(source, input_shape)
    specs = with_batch(specs, batch)
    built = source.build(False)
    if source.shared:
        built = copy.deepcopy(built)
    return Instantiated(source.label, built, make_inputs(specs), specs, source)
