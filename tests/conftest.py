"""Shared helpers: profile a small functional snippet as if it were a model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import costlab
from costlab.cost.report import Report
from tests.thirdparty import setup as thirdparty  # noqa: F401 - before anything imports torchvision

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


@pytest.fixture(autouse=True)
def _no_ambient_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # output goes to a pipe in every test: its width is the one a test sets (env={"COLUMNS": ...}) or
    # none, whatever the shell or pytest-xdist's workers (COLUMNS=80) put in the environment
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def snippet() -> Callable[..., Report]:
    return profile_snippet


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so that config paths print as ``costlab.toml``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def store_fake_peaks() -> None:
    """Made-up CPU peaks (100 GFLOP/s, 10 GB/s; cache roofs L1 32 KiB 100 GB/s, L2 512 KiB 40 GB/s,
    L3 32 MiB 20 GB/s) for 1 thread at float32 in the machine cache, measured 2026-01-01 00:00 UTC
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
            flops_spread=0.02,
            bandwidth_spread=0.03,
            cache_levels=(("L1", 32 * 1024, 100e9), ("L2", 512 * 1024, 40e9), ("L3", 32 * 2**20, 20e9)),
        )
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", default=False,
        help="Rewrite tests/golden/ from what costlab prints now (review the diff before committing it).",
    )


def fake_calibration(threads: int = 1, spread: float = 0.02, without: tuple[str, ...] = ("pad",)):
    """A hand-made CPU calibration at float32 for this torch (deterministic, nothing measured).

    Every kind but ``without`` is ``t = a + max(F / 50 GFLOP/s, B / 5 GB/s)`` with a = 10 µs for
    convolutions and matrix products, 5 µs for everything else, 2 µs (and 1 GFLOP/s, 1 GB/s) for
    views; the overhead is 2 µs per module call, 1 µs per op and 3 µs per pass; the roofs (for
    kinds without a model) 100 GFLOP/s and 10 GB/s; a 32 MiB cache, past which convolutions and
    matrix products run 1.25× slower and the rest 1.5×; fresh pages over 32 MiB at 3 µs each.
    """
    from costlab.cost.kernel_models import CvError, RooflineModel
    from costlab.cost.predict import KINDS, Calibration, KindFit, Overhead
    from costlab.timing.devices import device_name

    def fit(kind: str) -> KindFit:
        heavy = kind.startswith("conv") or kind in ("linear", "bmm", "attention")
        model = RooflineModel(2e-6, 1e9, 1e9) if kind == "view" else RooflineModel(10e-6 if heavy else 5e-6, 50e9, 5e9)
        cv = (CvError("roofline", 0.05, 0.9, 40), CvError("efficiency", 0.07, 0.8, 40), CvError("boosted", 0.08, 0.8, 40))
        return KindFit(kind, model, cv, 40, 0.5, spread, 1.25 if heavy else 1.5)

    return Calibration(
        device="cpu", device_name=device_name(torch.device("cpu")), dtype="float32", threads=threads,
        torch_version=torch.__version__, measured_at="2026-01-01T00:00:00+00:00", seconds=90.0,
        kinds={kind: fit(kind) for kind in KINDS if kind not in without},
        overhead=Overhead(per_call_s=2e-6, per_op_s=1e-6, fixed_s=3e-6, fit_mape=0.04, nets=8),
        peak_flops=100e9, bandwidth_bytes_per_s=10e9, spread=spread, samples=[], clock="thread_time",
        fresh_page_s=3e-6, fresh_floor_bytes=32 * 2**20, cache_bytes=32 * 2**20,
    )


def store_fake_calibration(threads: int = 1) -> None:
    """:func:`fake_calibration` in the calibration cache (point ``COSTLAB_CACHE_DIR`` at a tmp folder first)."""
    from costlab.timing.calibrations import store_calibration

    store_calibration(fake_calibration(threads))
