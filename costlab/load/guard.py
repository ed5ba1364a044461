"""While a user's or a library's code runs: its prints go to stderr, the global RNG is given back,
and (for library builds) nothing downloads.

``costlab profile -f json | jq`` must get JSON alone on stdout, whatever a model's constructor or
forward prints ("Downloading: ...", debug prints); a profile must not move the user's
``torch.manual_seed`` sequence; ``torchvision:NAME`` must build offline.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from costlab.errors import ModelSpecError

__all__ = ["DownloadRefused", "preserved", "user_code"]


class DownloadRefused(ModelSpecError):
    """A library build tried to download weights: costlab never downloads."""


@contextlib.contextmanager
def user_code(*, offline: bool = False, seed: int | None = None) -> Iterator[None]:
    """Run the block with stdout sent to stderr and the CPU RNG saved and restored.

    ``seed`` seeds the RNG inside the block (a real build's random weights are then the same every
    run); ``offline`` makes ``torch.hub``'s downloads raise :class:`DownloadRefused` instead.
    """
    import torch

    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        stack.enter_context(torch.random.fork_rng(devices=[]))
        if seed is not None:
            torch.manual_seed(seed)
        if offline:
            stack.enter_context(_no_downloads())
        yield


@contextlib.contextmanager
def _no_downloads() -> Iterator[None]:
    import torch.hub

    def refuse(url: str, *args: Any, **kwargs: Any) -> None:
        raise DownloadRefused(f"building the model tried to download {url}: costlab never downloads weights")

    saved = torch.hub.download_url_to_file
    torch.hub.download_url_to_file = refuse
    try:
        yield
    finally:
        torch.hub.download_url_to_file = saved


@contextlib.contextmanager
def preserved(model: Any, *, buffers: bool = True) -> Iterator[None]:
    """After the block, ``model`` and every submodule hold what they held before it.

    A forward may rebind attributes (a detector's anchor generator caches its anchors on the
    input's device: on a meta pass, meta anchors that would break the next real forward), add
    attributes, fill a cache dict or list in place, or write a buffer in place. Restored: each
    module's ``__dict__`` (every attribute, its parameters, buffers, submodules and hooks), the
    contents of every list, dict and set reachable from it, and (``buffers``) the values of
    buffers written in place. Parameters are not copied: an eval forward under ``no_grad`` that
    writes its own weights is not supported.
    """
    modules = list(model.modules())
    attributes = [(m, dict(m.__dict__)) for m in modules]
    containers: list[tuple[Any, Any]] = []
    seen: set[int] = set()
    for _, attrs in attributes:
        for value in attrs.values():
            _save_contents(value, containers, seen)
    saved_buffers = []
    if buffers:
        for m in modules:
            for tensor in m._buffers.values():
                if tensor is not None and not tensor.is_meta and id(tensor) not in seen:
                    seen.add(id(tensor))
                    saved_buffers.append((tensor, tensor._version, tensor.detach().clone()))
    try:
        yield
    finally:
        for container, contents in containers:
            if isinstance(container, list):
                container[:] = contents
            else:
                container.clear()
                container.update(contents)
        for module, attrs in attributes:
            module.__dict__.clear()
            module.__dict__.update(attrs)
        import torch

        with torch.no_grad():
            for tensor, version, copy in saved_buffers:
                if tensor._version != version:
                    tensor.copy_(copy)


def _save_contents(value: Any, containers: list[tuple[Any, Any]], seen: set[int]) -> None:
    """Shallow copies of ``value`` (a list, dict or set) and of the containers inside it."""
    if not isinstance(value, (list, dict, set)) or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, list):
        containers.append((value, list(value)))
        items: Any = value
    elif isinstance(value, dict):
        containers.append((value, dict(value)))
        items = value.values()
    else:
        containers.append((value, set(value)))
        return
    for item in items:
        _save_contents(item, containers, seen)
