"""The model registry: one place that names every built-in architecture.

Each family module (``costlab/zoo/<family>.py``) defines plain builder functions and registers
its named variants with :func:`register_model`. Width and group variants are keyword arguments
of one builder, registered under stable names — never copies of the builder.

This module imports no torch, so listing names stays cheap.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "UnknownModelError",
    "ZooEntry",
    "close_names",
    "create_model",
    "get_entry",
    "list_models",
    "register_model",
]


class UnknownModelError(KeyError):
    """Raised for a zoo name that is not registered; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ZooEntry:
    """One registered model: how to build it and the input it is profiled at."""

    name: str
    family: str
    builder: Callable[..., nn.Module]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    input_shape: tuple[int, ...] = (1, 3, 224, 224)
    paper: str = ""

    def create(self, **overrides: Any) -> nn.Module:
        """Build the model (random weights) with this entry's arguments, overridden by ``overrides``."""
        return self.builder(**{**self.kwargs, **overrides})


_REGISTRY: dict[str, ZooEntry] = {}
_NOT_FAMILIES = ("registry", "summary")
_FAMILIES_LOADED = False


def register_model(
    name: str,
    builder: Callable[..., nn.Module],
    *,
    family: str,
    input_shape: tuple[int, ...] = (1, 3, 224, 224),
    paper: str = "",
    **kwargs: Any,
) -> ZooEntry:
    """Register ``builder(**kwargs)`` under ``name``. Names are unique; re-registering one is a bug."""
    if name in _REGISTRY:
        raise ValueError(f"zoo model {name!r} is registered twice")
    entry = ZooEntry(name, family, builder, MappingProxyType(dict(kwargs)), tuple(input_shape), paper)
    _REGISTRY[name] = entry
    return entry


def _load_families() -> None:
    """Import every family module in this package once; importing registers its models."""
    global _FAMILIES_LOADED
    if _FAMILIES_LOADED:
        return
    _FAMILIES_LOADED = True
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_") and info.name not in _NOT_FAMILIES:
            importlib.import_module(f"{__package__}.{info.name}")


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style ``pattern`` (``"mobilenet*"``), in registration order."""
    _load_families()
    return [name for name in _REGISTRY if fnmatch.fnmatchcase(name, pattern)]


def close_names(name: str, n: int = 3) -> list[str]:
    """Registered names that look like ``name`` (for "did you mean" messages)."""
    _load_families()
    candidates = list(_REGISTRY)
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if not close:  # a family prefix such as "shufflenet" or "mobilenet"
        close = [c for c in candidates if c.startswith(name)][:n]
    return close


def get_entry(name: str) -> ZooEntry:
    """The entry registered as ``name``; :class:`UnknownModelError` with suggestions otherwise."""
    _load_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = close_names(name)
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise UnknownModelError(
            f"unknown zoo model {name!r}{suggestion} (`costlab zoo` lists them all)"
        ) from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the zoo model ``name`` with random weights; ``kwargs`` override the entry's arguments."""
    return get_entry(name).create(**kwargs)
