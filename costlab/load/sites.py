"""Where each module was built: the source line and column of the call that constructed it.

While costlab builds a model (a zoo name, a file, a library model), ``nn.Module.__init__`` is
wrapped so that each new module remembers the chain of calls that built it, innermost first:
``nn.Conv2d(...)`` inside ``ConvBNAct.__init__``, itself called from ``InvertedResidual.__init__``,
and so on. A module built inside a block's ``__init__`` has the block's chain as the tail of its
own, so :func:`site_in` finds the call inside the block a reader thinks of (``self.expand =
nn.Conv2d(...)``) rather than a class line. torch's own frames and costlab's are left out; the
wrapper is removed on exit. Recording costs a frame walk per module (no locals are read).

A module built before costlab saw it (an instance handed to the API) has no sites: lint then
points at its class.
"""

from __future__ import annotations

import contextlib
import os
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

__all__ = ["Site", "recording", "site_in", "sites_of", "wanted"]


@dataclass(frozen=True)
class Site:
    """One call on the way to building a module: its file and 1-based line and column."""

    file: str
    line: int
    column: int


_SITES: weakref.WeakKeyDictionary[Any, tuple[Site, ...]] = weakref.WeakKeyDictionary()
_COSTLAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_ZOO = _COSTLAB + "zoo" + os.sep
_LOAD = _COSTLAB + "load" + os.sep
_POSITIONS: dict[Any, dict[int, tuple[int, int]]] = {}


def _position(frame: FrameType) -> tuple[int, int]:
    """The frame's current line and column (1-based): the call expression's start on Python 3.11+."""
    code = frame.f_code
    table = _POSITIONS.get(code)
    if table is None:
        positions = getattr(code, "co_positions", None)
        table = {}
        if positions is not None:
            for offset, (line, _end, column, _end_col) in enumerate(positions()):
                if line is not None:
                    table[offset * 2] = (line, (column or 0) + 1)
        _POSITIONS[code] = table
    return table.get(frame.f_lasti, (frame.f_lineno, 1))


def _chain(module: Any, torch_dir: str) -> tuple[Site, ...]:
    """The calls that built ``module``, innermost first, up to where costlab asked for the model."""
    frame: FrameType | None = sys._getframe(2)  # the caller of the wrapper
    # first the module's own __init__ chain (its class and its bases calling super().__init__()): no call sites
    while frame is not None and frame.f_code.co_name == "__init__":
        if not frame.f_code.co_filename.startswith(torch_dir) and frame.f_locals.get("self") is not module:
            break
        frame = frame.f_back
    found: list[Site] = []
    while frame is not None:
        code = frame.f_code
        file = code.co_filename
        if file.startswith(_LOAD):
            break  # costlab's own call to build the model: nothing above is the model's source
        mine = file.startswith(_COSTLAB) and (not file.startswith(_ZOO) or file.endswith("registry.py"))
        if not (file.startswith(torch_dir) or mine):
            line, column = _position(frame)
            found.append(Site(file, line, column))
        frame = frame.f_back
    return tuple(found)


_WANTED = [0]


@contextlib.contextmanager
def wanted() -> Iterator[None]:
    """Ask for construction sites of the models built inside the block (lint does: it points at them).

    Recording costs about 50 µs per module built (10 ms for MobileNet V2), so only what needs it pays.
    """
    _WANTED[0] += 1
    try:
        yield
    finally:
        _WANTED[0] -= 1


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Record the construction sites of every module built inside the block, when :func:`wanted`."""
    if not _WANTED[0]:
        yield
        return
    import torch
    from torch import nn

    original = nn.Module.__init__
    torch_dir = os.path.dirname(torch.__file__) + os.sep

    def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self not in _SITES:
            _SITES[self] = _chain(self, torch_dir)

    setattr(nn.Module, "__init__", __init__)
    try:
        yield
    finally:
        setattr(nn.Module, "__init__", original)


def sites_of(module: Any) -> tuple[Site, ...]:
    """The recorded construction chain of ``module``, innermost call first (empty when unknown)."""
    return _SITES.get(module, ())


def site_in(chain: tuple[Site, ...], block_chain: tuple[Site, ...]) -> Site | None:
    """The call inside the block whose chain is ``block_chain`` that led to building ``chain``'s
    module: the step just before the block's own chain, which ``chain`` ends with. None when the
    module was not built inside that block's ``__init__``."""
    depth = len(chain) - len(block_chain)
    if depth < 1 or (block_chain and chain[depth:] != block_chain):
        return None
    return chain[depth - 1]
