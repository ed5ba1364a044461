"""Devices and dtypes for timing: validate what the user typed, synchronise, name the hardware.

``--device`` is ``cpu``, ``cuda`` or ``cuda:N``; ``--dtype`` is any floating dtype of
:mod:`costlab.dtypes` (``float32``, ``fp16``, ``bf16``, ``float64``, …). Anything else, a CUDA device
that is not there, or a dtype this torch build cannot compute with on that device, is a
:class:`DeviceError`: one line, exit 2.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from costlab import dtypes
from costlab.errors import CostlabError, first_line

if TYPE_CHECKING:
    import torch

__all__ = [
    "DeviceError",
    "device_name",
    "fixed_threads",
    "resolve_device",
    "resolve_dtype",
    "synchronize",
]

class DeviceError(CostlabError):
    """An unknown or absent device, or a dtype the device cannot run."""


def resolve_device(text: str) -> torch.device:
    """``cpu`` / ``cuda`` / ``cuda:N`` → a ``torch.device`` that exists here; DeviceError otherwise."""
    import torch

    cleaned = text.strip().lower()
    kind, _, index_text = cleaned.partition(":")
    if kind not in ("cpu", "cuda") or (index_text and not index_text.isdigit()) or (kind == "cpu" and index_text):
        raise DeviceError(f"unknown device {text!r}: use cpu, cuda or cuda:N")
    if kind == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = (
            "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no GPU is visible"
        )
        raise DeviceError(f"--device {text}: no CUDA GPU here (torch {torch.__version__}, {build}); use --device cpu")
    index = int(index_text) if index_text else torch.cuda.current_device()
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"--device {text}: this machine has {count} CUDA device(s), numbered 0 to {count - 1}")
    return torch.device("cuda", index)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """A floating dtype name (:mod:`costlab.dtypes`: float32, fp16, bf16, …) → a dtype ``device`` can run.

    "Can run" is tried, not looked up: a small convolution and matrix product at that dtype on
    that device must succeed (a torch build or GPU without the kernels fails here, in one line).
    """
    import torch

    key = dtypes.float_dtype(name)
    dtype = getattr(torch, key)
    try:
        _probe(device, dtype)
    except RuntimeError as err:
        raise DeviceError(
            f"{key} does not run on {device} with this torch build ({first_line(err)}); try --dtype float32"
        ) from None
    return dtype


def _probe(device: torch.device, dtype: torch.dtype) -> None:
    """Run a tiny conv + matmul + element-wise op at ``dtype`` on ``device`` (raises if unsupported)."""
    import torch

    x = torch.ones((1, 2, 4, 4), dtype=dtype, device=device)
    w = torch.ones((2, 2, 3, 3), dtype=dtype, device=device)
    y = torch.nn.functional.conv2d(x, w, padding=1).relu()
    (y.flatten(1) @ torch.ones((32, 2), dtype=dtype, device=device)).sum().item()


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (a no-op on CPU): call before every clock read."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """What the hardware is called: the GPU's name, or the CPU's model name."""
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    return _cpu_model_name()


def _cpu_model_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "cpu"


@contextlib.contextmanager
def fixed_threads(threads: int | None) -> Iterator[int]:
    """Fix torch's intra-op thread count for the block (None: keep the current one); yields the count."""
    import torch

    before = torch.get_num_threads()
    if threads is not None and threads < 1:
        raise DeviceError(f"--threads must be at least 1, got {threads}")
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
