"""Model specs: turn what the user typed into a model and its example input.

A spec is one of

* a zoo name — ``mobilenet_v2`` (``costlab zoo`` lists them);
* a Python file — ``mymodel.py`` (finds the model), or ``mymodel.py:NAME`` for a class, a
  no-argument factory, or a module-level instance; a module-level ``INPUT_SHAPE`` gives the input;
* a library model — ``torchvision:resnet50`` or ``timm:ghostnet_100``, when that library imports.

Input shapes are written ``1x3x224x224``; several inputs are separated by commas, and an integer
input takes a dtype suffix (``1x128:int64``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from costlab.errors import InputSpecError, ModelSpecError, first_line

__all__ = [
    "InputSpec",
    "ModelSource",
    "parse_inputs",
    "resolve",
    "as_source",
    "input_specs_for",
    "make_inputs",
    "instantiate",
    "LIBRARY_PREFIXES",
]

LIBRARY_PREFIXES = ("torchvision", "timm")
FACTORY_NAMES = ("build_model", "get_model", "create_model", "make_model", "model_fn")
_DTYPES = {
    "float32": "float32", "float": "float32", "fp32": "float32", "float16": "float16", "half": "float16",
    "fp16": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16", "float64": "float64", "double": "float64",
    "int64": "int64", "long": "int64", "int32": "int32", "int": "int32", "bool": "bool", "uint8": "uint8",
}


@dataclass(frozen=True)
class InputSpec:
    """The shape and dtype of one model input."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def __str__(self) -> str:
        text = "x".join(str(d) for d in self.shape)
        return text if self.dtype == "float32" else f"{text}:{self.dtype}"


def parse_inputs(text: str | Sequence[int] | Sequence[Sequence[int]]) -> list[InputSpec]:
    """``"1x3x224x224"`` / ``"1x3x224x224,1x10:int64"`` / ``(1, 3, 224, 224)`` → input specs."""
    if not isinstance(text, str):
        items = list(text)
        if not items:
            raise InputSpecError("empty input shape: write sizes like 1x3x224x224")
        if not all(isinstance(d, int) or _is_shape(d) for d in items):
            raise InputSpecError(f"malformed input shape {text!r}: sizes must be integers, e.g. (1, 3, 224, 224)")
        if all(isinstance(d, int) for d in items):
            return [_checked(tuple(items), str(text))]  # type: ignore[arg-type]
        return [_checked(tuple(s), str(text)) for s in items]  # type: ignore[arg-type]
    specs = []
    for part in text.split(","):
        part = part.strip()
        shape_text, _, dtype_text = part.partition(":")
        dims = re.split(r"\s*[x×*]\s*", shape_text.strip().lower())
        if not shape_text.strip() or not all(d.isascii() and d.isdigit() for d in dims):
            raise InputSpecError(
                f"malformed input shape {part!r}: write sizes like 1x3x224x224 "
                "(several inputs separated by commas, an integer input as 1x128:int64)"
            )
        dtype = "float32"
        if dtype_text:
            if dtype_text.strip().lower() not in _DTYPES:
                raise InputSpecError(
                    f"unknown input dtype {dtype_text!r} in {part!r}: use one of "
                    "float32, float16, bfloat16, float64, int64, int32, bool"
                )
            dtype = _DTYPES[dtype_text.strip().lower()]
        specs.append(_checked(tuple(int(d) for d in dims), part, dtype))
    return specs


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(isinstance(d, int) for d in value)


def _checked(shape: tuple[int, ...], text: str, dtype: str = "float32") -> InputSpec:
    if not shape or any(d <= 0 for d in shape):
        raise InputSpecError(f"malformed input shape {text!r}: every size must be a positive integer")
    return InputSpec(shape, dtype)


@dataclass
class ModelSource:
    """A resolved model spec: how to build the model, and the input it runs on by default.

    ``build(meta=True)`` constructs it on the meta device where possible (no weight init, no
    memory); an instance that already exists is returned as it is, whatever ``meta`` says.
    """

    label: str
    build: Callable[[bool], Any]
    input_specs: list[InputSpec] | None = None
    file: Path | None = None
    origin: str = "zoo"
    class_locations: dict[str, tuple[str, int]] = field(default_factory=dict)


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
    """
    if not meta:
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
        with torch.device("meta"):
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


@contextlib.contextmanager
def _on_path(directory: Path) -> Iterator[None]:
    """Let the file import its siblings, as ``python file.py`` would."""
    entry = str(directory)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


_IMPORTED: dict[tuple[str, str], ModuleType] = {}
"""Model files already imported in this process, by (path, digest of their source)."""


def _import_file(path: Path) -> ModuleType:
    """Import a model file once per process and content: ``profile --device`` and ``lint --device``
    resolve the same spec twice (count, then time), and a file's top-level code should run once."""
    if not path.exists():
        raise ModelSpecError(f"no such file: {path}")
    if not path.is_file():
        raise ModelSpecError(f"not a file: {path}")
    key = (str(path.resolve()), hashlib.sha256(path.read_bytes()).hexdigest())
    if key not in _IMPORTED:
        _IMPORTED[key] = _execute_file(path)
    return _IMPORTED[key]


def _execute_file(path: Path) -> ModuleType:
    module_name = f"_costlab_user_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelSpecError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with _on_path(path.resolve().parent):
            spec.loader.exec_module(module)
    except SyntaxError as err:
        sys.modules.pop(module_name, None)
        raise ModelSpecError(f"{path}:{err.lineno}: syntax error: {err.msg}") from None
    except Exception as err:  # noqa: BLE001 - user code may raise anything
        sys.modules.pop(module_name, None)
        raise ModelSpecError(f"could not import {path}: {_one_line(err)}") from None
    return module


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {first_line(err)}" if str(err).strip() else type(err).__name__


def _from_file(path: Path, name: str | None) -> ModelSource:
    from torch import nn

    module = _import_file(path)
    label = f"{path.name}:{name}" if name else path.name
    input_specs = _file_inputs(module, path)

    if name is not None:
        if not hasattr(module, name):
            candidates = _model_candidates(module, nn)
            listed = ", ".join(candidates) if candidates else "none found"
            raise ModelSpecError(f"{path} has no {name!r} (models there: {listed})")
        target = getattr(module, name)
    else:
        target = _find_model(module, path, nn)

    if isinstance(target, nn.Module):
        instance = target
        return ModelSource(label, lambda meta: instance, input_specs, path, "file", _class_locations(module, nn))
    if not callable(target):
        raise ModelSpecError(f"{path}:{name} is a {type(target).__name__}, not a model, class or factory")
    _require_no_arguments(target, path, name or getattr(target, "__name__", "?"))

    def build(meta: bool) -> Any:
        with constructing(meta):
            model = target()
        if not isinstance(model, nn.Module):
            raise ModelSpecError(f"{path}:{getattr(target, '__name__', name)}() returned a {type(model).__name__}, not an nn.Module")
        return model

    return ModelSource(label, build, input_specs, path, "file", _class_locations(module, nn))


def _model_candidates(module: ModuleType, nn: Any) -> list[str]:
    names = []
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, nn.Module) or attr in FACTORY_NAMES:
            names.append(attr)
        elif inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
            names.append(attr)
    return names


def _find_model(module: ModuleType, path: Path, nn: Any) -> Any:
    """A module-level instance; else a known factory; else the one constructible nn.Module class."""
    instances = [
        (attr, v)
        for attr, v in vars(module).items()
        if isinstance(v, nn.Module) and not attr.startswith("_") and not isinstance(v, nn.modules.loss._Loss)
    ]
    if len(instances) == 1:
        return instances[0][1]
    if len(instances) > 1:
        names = ", ".join(attr for attr, _ in instances)
        raise ModelSpecError(f"{path} has several model instances ({names}): pick one with {path}:NAME")
    for factory in FACTORY_NAMES:
        value = getattr(module, factory, None)
        if callable(value) and not inspect.isclass(value):
            return value
    classes = [
        v
        for attr, v in vars(module).items()
        if inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == module.__name__ and not attr.startswith("_")
    ]
    buildable = [c for c in classes if _needs_arguments(c) == []]
    # a class used only as a building block of another is not "the model": prefer the ones no other uses
    if len(buildable) > 1:
        sources = {c: inspect.getsource(c) if _has_source(c) else "" for c in buildable}
        top = [
            c
            for c in buildable
            if not any(re.search(rf"\b{re.escape(c.__name__)}\b", src) for o, src in sources.items() if o is not c)
        ]
        buildable = top or buildable
    if len(buildable) == 1:
        return buildable[0]
    if len(buildable) > 1:
        names = ", ".join(c.__name__ for c in buildable)
        raise ModelSpecError(f"{path} defines several models ({names}): pick one with {path}:NAME")
    if classes:
        needs = "; ".join(f"{c.__name__}({', '.join(_needs_arguments(c))})" for c in classes)
        raise ModelSpecError(
            f"{path}: no model can be built without arguments ({needs}); add a no-argument "
            "build_model() factory or a module-level instance"
        )
    raise ModelSpecError(
        f"{path} has no model: define an nn.Module subclass, a build_model() factory or a module-level instance"
    )


def _has_source(obj: Any) -> bool:
    try:
        inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return True


def _needs_arguments(target: Any) -> list[str]:
    """Names of the required parameters of a class constructor or a factory."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _require_no_arguments(target: Any, path: Path, name: str) -> None:
    needs = _needs_arguments(target)
    if needs:
        raise ModelSpecError(
            f"{path}:{name} needs arguments ({', '.join(needs)}); point costlab at a no-argument "
            "factory or a module-level instance instead"
        )


def _file_inputs(module: ModuleType, path: Path) -> list[InputSpec] | None:
    value = getattr(module, "INPUT_SHAPE", None)
    if value is None:
        return None
    try:
        return parse_inputs(value if isinstance(value, str) else list(value))
    except (InputSpecError, TypeError) as err:
        raise ModelSpecError(f"{path}: INPUT_SHAPE = {value!r} is not a shape ({err})") from None


def _class_locations(module: ModuleType, nn: Any) -> dict[str, tuple[str, int]]:
    """Where each nn.Module class of the file is defined (``name → (file, line)``), for lint locations."""
    locations: dict[str, tuple[str, int]] = {}
    for value in vars(module).values():
        if inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
            with contextlib.suppress(OSError, TypeError):
                _, line = inspect.getsourcelines(value)
                locations[value.__name__] = (str(inspect.getsourcefile(value)), line)
    return locations


# -- from a spec to a runnable model and inputs ------------------------------------------------------


def as_source(model: Any) -> ModelSource:
    """A spec string is resolved; an ``nn.Module`` instance is wrapped as it is."""
    from torch import nn

    if isinstance(model, str):
        return resolve(model)
    if isinstance(model, nn.Module):
        return ModelSource(type(model).__name__, lambda meta: model, None, origin="object")
    raise TypeError(f"expected an nn.Module or a model spec string, not {type(model).__name__}")


def input_specs_for(source: ModelSource, input_shape: Any = None) -> list[InputSpec]:
    """``input_shape`` if given, else the model's own default; InputSpecError when neither exists."""
    if input_shape is not None:
        return parse_inputs(input_shape)
    if source.input_specs:
        return source.input_specs
    raise InputSpecError(f"{source.label} has no default input shape: pass --input (e.g. --input 1x3x224x224)")


def make_inputs(specs: list[InputSpec], float_dtype: Any = None, meta: bool = False, device: Any = "cpu") -> list[Any]:
    """Example tensors for ``specs``: empty on meta; random floats / zero integers otherwise.

    ``float_dtype`` (a torch dtype) overrides the dtype of floating inputs.
    """
    import torch

    tensors = []
    for spec in specs:
        dtype = getattr(torch, spec.dtype)
        if float_dtype is not None and dtype.is_floating_point:
            dtype = float_dtype
        if meta:
            tensors.append(torch.empty(spec.shape, dtype=dtype, device="meta"))
        elif dtype.is_floating_point:
            tensors.append(torch.randn(spec.shape, dtype=dtype, device=device))
        else:
            tensors.append(torch.zeros(spec.shape, dtype=dtype, device=device))
    return tensors


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

    Moving to another device or dtype is the caller's business (``.to(...)``).
    """
    source = as_source(model)
    specs = input_specs_for(source, input_shape)
    if batch is not None:
        if batch <= 0:
            raise InputSpecError(f"batch must be a positive integer, got {batch}")
        specs = [InputSpec((batch, *spec.shape[1:]), spec.dtype) for spec in specs]
    built = source.build(False)
    return Instantiated(source.label, built, make_inputs(specs), specs, source)
