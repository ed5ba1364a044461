"""Shared helpers: profile a small functional snippet as if it were a model."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import costlab
from costlab.cost.report import Report


class Snippet(nn.Module):
    """Wrap a function of tensors (and optional submodules) so it can be profiled like a model."""

    def __init__(self, fn: Callable[..., torch.Tensor], **modules: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        self.parts = nn.ModuleDict(modules)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(self.parts, *xs) if len(self.parts) else self.fn(*xs)


def profile_snippet(fn: Callable[..., torch.Tensor], *shapes: tuple[int, ...], **modules: nn.Module) -> Report:
    return costlab.profile(Snippet(fn, **modules), input_shape=list(shapes))


@pytest.fixture
def snippet() -> Callable[..., Report]:
    return profile_snippet
