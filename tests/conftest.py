"""Shared helpers: profile a small functional snippet as if it were a model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.thirdparty import setup as thirdparty  # noqa: F401 - before anything imports torchvision

import costlab
from costlab.cost.report import Report

REPO = Path(__file__).resolve().parent.parent
TINY_NET = Path(__file__).resolve().parent / "models" / "tiny_net.py"
"""A two-conv network whose every number is worked out by hand in its docstring."""


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


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so that config paths print as ``costlab.toml``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def store_fake_peaks() -> None:
    """Made-up CPU peaks (100 GFLOP/s, 10 GB/s) for 1 thread at float32 in the machine cache
    (point ``COSTLAB_CACHE_DIR`` at a tmp folder first), so no test measures the machine."""
    from costlab.timing.devices import device_name
    from costlab.timing.machine import MachinePeaks, store

    store(
        MachinePeaks(
            device="cpu",
            device_name=device_name(torch.device("cpu")),
            dtype="float32",
            threads=1,
            peak_flops=100e9,
            bandwidth_bytes_per_s=10e9,
            copy_bytes_per_s=10e9,
            triad_bytes_per_s=8e9,
            gemm_size=1024,
            measured_at="2026-01-01T00:00:00+00:00",
            torch_version=torch.__version__,
        )
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", default=False,
        help="Rewrite tests/golden/ from what costlab prints now (review the diff before committing it).",
    )
