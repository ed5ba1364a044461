"""Model files: import a user's ``.py`` once, and find the model (and its input) in it.

``mymodel.py`` finds a module-level ``nn.Module`` instance; else a no-argument factory
(:data:`FACTORY_NAMES`); else the one ``nn.Module`` class that builds without arguments (a block
used by another class is not picked). ``mymodel.py:NAME`` names a class, factory or instance.

The file may give its model's input: ``INPUT_SHAPE`` (a shape, several, or text such as
``"2x64:int64"``), or a function ``example_inputs()`` that returns a tensor (one argument), a tuple
(the positional arguments), a dict (keyword arguments: ``input_ids=``, ``attention_mask=``) or a
list (one argument that is a list, such as a detector's images). It is called once, when first needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from costlab.errors import InputSpecError, ModelSpecError, exited, first_line
from costlab.load.guard import user_code
from costlab.load.inputs import ExampleInputs, as_example_inputs, parse_inputs

__all__ = ["FACTORY_NAMES", "file_inputs", "find_model", "import_file", "model_candidates", "needs_arguments"]

FACTORY_NAMES = ("build_model", "get_model", "create_model", "make_model", "model_fn")


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


def import_file(path: Path) -> ModuleType:
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
        with _on_path(path.resolve().parent), user_code():
            spec.loader.exec_module(module)
    except SyntaxError as err:
        sys.modules.pop(module_name, None)
        raise ModelSpecError(f"{path}:{err.lineno}: syntax error: {err.msg}") from None
    except SystemExit as err:
        sys.modules.pop(module_name, None)
        raise ModelSpecError(f"{path.name} {exited(err)} while being imported") from None
    except Exception as err:  # noqa: BLE001 - user code may raise anything
        sys.modules.pop(module_name, None)
        raise ModelSpecError(f"could not import {path}: {_one_line(err)}") from None
    return module


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {first_line(err)}" if str(err).strip() else type(err).__name__


def model_candidates(module: ModuleType, nn: Any) -> list[str]:
    names = []
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, nn.Module) or attr in FACTORY_NAMES:
            names.append(attr)
        elif inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
            names.append(attr)
    return names


def find_model(module: ModuleType, path: Path, nn: Any) -> Any:
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
    buildable = [c for c in classes if needs_arguments(c) == []]
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
        needs = "; ".join(f"{c.__name__}({', '.join(needs_arguments(c))})" for c in classes)
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


def needs_arguments(target: Any) -> list[str]:
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


def file_inputs(module: ModuleType, path: Path) -> ExampleInputs | Callable[[], ExampleInputs] | None:
    """The file's ``INPUT_SHAPE``, or a function that calls its ``example_inputs()``; None for neither."""
    function = getattr(module, "example_inputs", None)
    value = getattr(module, "INPUT_SHAPE", None)
    if function is not None and value is not None:
        raise ModelSpecError(f"{path} has both INPUT_SHAPE and example_inputs(): keep one of them")
    if function is not None:
        if not callable(function) or needs_arguments(function):
            raise ModelSpecError(f"{path}: example_inputs must be a function that takes no arguments")
        return lambda: _call_example_inputs(function, path)
    if value is None:
        return None
    try:
        return ExampleInputs.of_specs(parse_inputs(value if isinstance(value, str) else list(value)))
    except (InputSpecError, TypeError) as err:
        raise ModelSpecError(f"{path}: INPUT_SHAPE = {value!r} is not a shape ({err})") from None


def _call_example_inputs(function: Callable[[], Any], path: Path) -> ExampleInputs:
    try:
        with user_code():
            value = function()
    except Exception as err:  # noqa: BLE001 - user code may raise anything
        raise ModelSpecError(f"{path}: example_inputs() failed: {_one_line(err)}") from None
    try:
        return as_example_inputs(value)
    except InputSpecError as err:
        raise ModelSpecError(f"{path}: example_inputs() returned {type(value).__name__}: {err}") from None
