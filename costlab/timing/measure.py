"""Whole-model latency, measured the way ``torch.utils.benchmark`` measures.

* The model runs in eval mode under ``torch.no_grad()``, on the chosen device, dtype and memory format.
* Warm-up: at least :data:`WARMUP_RUNS` calls and a tenth of ``min_time_s`` before anything is kept
  (one-time costs: allocator growth, oneDNN / cuDNN algorithm selection, lazy initialisation).
* Block sizing: the warm-up's per-call time and the clock overhead (a synchronise plus a clock
  read) choose how many calls one timed block holds, so that the overhead is under 0.1 % of a
  block while at least :data:`MIN_SAMPLES` blocks still fit in ``min_time_s``.
* The device is synchronised before each clock read (``torch.cuda.synchronize`` on CUDA).
* The intra-op thread count is fixed for the whole measurement and recorded in the spec.
* Blocks are timed until ``min_time_s`` has passed and at least :data:`MIN_SAMPLES` blocks exist;
  the :class:`Measurement` keeps every raw block time and derives median, IQR, p10 / p90 from them,
  warning when IQR / median exceeds :data:`IQR_WARN_RATIO`.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from costlab import dtypes
from costlab.errors import CostlabError, ForwardError, InputSpecError, exited, first_line
from costlab.progress import Progress, notify
from costlab.stats import quantile
from costlab.timing.devices import device_name, fixed_threads, resolve_device, resolve_dtype, synchronize

if TYPE_CHECKING:
    import torch
    from torch import nn

    from costlab.load import ExampleInputs

__all__ = [
    "DEFAULT_MIN_TIME_S",
    "IQR_WARN_RATIO",
    "MIN_SAMPLES",
    "WARMUP_RUNS",
    "Measurement",
    "TimingSpec",
    "Workload",
    "block_size",
    "load_workload",
    "measure_latency",
    "parse_batches",
    "time_workload",
]

DEFAULT_MIN_TIME_S = 1.0
MIN_SAMPLES = 10
WARMUP_RUNS = 2
WARMUP_FRACTION = 0.1
MAX_OVERHEAD_RATIO = 1e-3
IQR_WARN_RATIO = 0.10

@dataclass(frozen=True)
class TimingSpec:
    """What was timed, and how: enough to tell two measurements apart or to repeat one."""

    model: str
    input_shapes: tuple[tuple[int, ...], ...]
    device: str
    device_name: str
    dtype: str
    threads: int
    channels_last: bool
    min_time_s: float
    torch_version: str

    @property
    def batch(self) -> int:
        """The batch size: the first dimension of the first input."""
        return self.input_shapes[0][0] if self.input_shapes and self.input_shapes[0] else 1


@dataclass(frozen=True)
class Measurement:
    """Raw block times of one latency measurement, and the statistics derived from them.

    ``raw_times_s[i]`` is the wall time of block ``i``, which ran the model ``number_per_run``
    times; per-call times are those divided by ``number_per_run`` (as in ``torch.utils.benchmark``).
    """

    spec: TimingSpec
    raw_times_s: tuple[float, ...]
    number_per_run: int
    warmup_runs: int

    @property
    def times_s(self) -> tuple[float, ...]:
        """Seconds per model call, one value per block."""
        return tuple(t / self.number_per_run for t in self.raw_times_s)

    @cached_property
    def _sorted_s(self) -> tuple[float, ...]:
        return tuple(sorted(self.times_s))

    def _quantile_ms(self, q: float) -> float:
        return quantile(self._sorted_s, q) * 1e3

    @property
    def median_ms(self) -> float:
        return self._quantile_ms(0.5)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self._sorted_s) * 1e3

    @property
    def min_ms(self) -> float:
        return self._sorted_s[0] * 1e3

    @property
    def p10_ms(self) -> float:
        return self._quantile_ms(0.10)

    @property
    def p25_ms(self) -> float:
        return self._quantile_ms(0.25)

    @property
    def p75_ms(self) -> float:
        return self._quantile_ms(0.75)

    @property
    def p90_ms(self) -> float:
        return self._quantile_ms(0.90)

    @property
    def iqr_ms(self) -> float:
        """Interquartile range: p75 − p25."""
        return self.p75_ms - self.p25_ms

    @property
    def relative_iqr(self) -> float:
        """IQR / median: the spread that :attr:`warnings` judges."""
        return self.iqr_ms / self.median_ms if self.median_ms else 0.0

    @property
    def samples(self) -> int:
        """How many blocks were timed."""
        return len(self.raw_times_s)

    @property
    def runs(self) -> int:
        """How many timed model calls there were in all (warm-up excluded)."""
        return self.samples * self.number_per_run

    @property
    def throughput_per_s(self) -> float:
        """Inputs per second at the median latency (images/s for an image model): batch / median."""
        return self.spec.batch / (self.median_ms / 1e3) if self.median_ms else 0.0

    @property
    def warnings(self) -> tuple[str, ...]:
        """What makes this measurement less trustworthy, in words (empty when nothing does)."""
        if self.relative_iqr > IQR_WARN_RATIO:
            message = (
                f"{self.spec.model} batch {self.spec.batch}: the IQR is {self.relative_iqr:.1%} of the median "
                f"(over {IQR_WARN_RATIO:.0%}): the machine was busy or its clock unsteady; rerun on a quiet "
                "machine or with a longer --min-time"
            )
            return (message,)
        return ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the spec, the statistics in milliseconds, and every per-call sample."""
        return {
            "model": self.spec.model,
            "batch": self.spec.batch,
            "input_shapes": [list(s) for s in self.spec.input_shapes],
            "device": self.spec.device,
            "device_name": self.spec.device_name,
            "dtype": self.spec.dtype,
            "threads": self.spec.threads,
            "channels_last": self.spec.channels_last,
            "min_time_s": self.spec.min_time_s,
            "torch_version": self.spec.torch_version,
            "median_ms": self.median_ms,
            "mean_ms": self.mean_ms,
            "min_ms": self.min_ms,
            "iqr_ms": self.iqr_ms,
            "p10_ms": self.p10_ms,
            "p25_ms": self.p25_ms,
            "p75_ms": self.p75_ms,
            "p90_ms": self.p90_ms,
            "samples": self.samples,
            "runs": self.runs,
            "number_per_run": self.number_per_run,
            "warmup_runs": self.warmup_runs,
            "throughput_per_s": self.throughput_per_s,
            "warnings": list(self.warnings),
            "times_ms": [t * 1e3 for t in self.times_s],
        }


# ------------------------------------------------------------------------------------------------
# The model on its device
# ------------------------------------------------------------------------------------------------


@dataclass
class Workload:
    """A real model on its device, dtype and memory format, in eval mode, and how to make its inputs."""

    label: str
    model: nn.Module
    example: ExampleInputs
    device: torch.device
    dtype: torch.dtype
    channels_last: bool

    @property
    def dtype_name(self) -> str:
        """``float32``, ``float16``, ``bfloat16`` or ``float64``."""
        return dtypes.name_of(self.dtype)

    def example_inputs(self, batch: int | None = None) -> ExampleInputs:
        """What the model is called with, at ``batch`` (None: the input's own)."""
        return self.example.with_batch(batch)

    def input_shapes(self, batch: int | None = None) -> tuple[tuple[int, ...], ...]:
        """The shape of every tensor input, the batch dimension set to ``batch`` when given."""
        return self.example_inputs(batch).shapes

    def input_text(self, batch: int | None = None) -> str:
        """The inputs in words (``8x3x224x224``; integer inputs with their dtype; keyword ones named)."""
        return str(self.example_inputs(batch))

    def inputs(self, batch: int | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(args, kwargs)`` on the device (floating tensors at the workload's dtype; seeded random values)."""
        return self.example_inputs(batch).make(
            float_dtype=self.dtype, device=self.device, channels_last=self.channels_last
        )

    def spec(self, batch: int | None, threads: int, min_time_s: float) -> TimingSpec:
        import torch

        return TimingSpec(
            model=self.label,
            input_shapes=self.input_shapes(batch),
            device=str(self.device),
            device_name=device_name(self.device),
            dtype=self.dtype_name,
            threads=threads,
            channels_last=self.channels_last,
            min_time_s=min_time_s,
            torch_version=torch.__version__,
        )


def load_workload(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    device: str = "cpu",
    dtype: str | None = None,
    channels_last: bool = False,
) -> Workload:
    """Build ``model`` (an ``nn.Module`` or a spec) for real, in eval mode, on ``device`` at ``dtype``
    (None: the model's own floating dtype, float32 for one without floating parameters).
    ``inputs`` is what the model is called with (a tensor, a tuple, a dict: see ``costlab.profile``).

    The device and dtype are checked first (:class:`~costlab.timing.devices.DeviceError`), so a
    typo fails before a large model is built.
    """
    import torch

    from costlab.load import instantiate

    target = resolve_device(device)
    float_dtype = resolve_dtype(dtype, target) if dtype is not None else None
    try:
        built = instantiate(model, input_shape, inputs=inputs)
    except CostlabError:
        raise
    except SystemExit as err:
        raise ForwardError(f"{model if isinstance(model, str) else type(model).__name__} {exited(err)}") from None
    except Exception as err:  # noqa: BLE001 - building user code may raise anything
        raise ForwardError(
            f"building {model if isinstance(model, str) else type(model).__name__} failed: {first_line(err)}"
        ) from None
    if float_dtype is None:
        own = next((p.dtype for p in built.model.parameters() if p.is_floating_point()), torch.float32)
        float_dtype = resolve_dtype(dtypes.name_of(own), target)
    try:
        module = built.model.eval().to(device=target, dtype=float_dtype)
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
    except RuntimeError as err:
        raise ForwardError(
            f"{built.label}: cannot move the model to {target} at {dtypes.name_of(float_dtype)}: {first_line(err)}"
        ) from None
    return Workload(built.label, module, built.inputs, target, float_dtype, channels_last)


def parse_batches(text: str) -> list[int]:
    """``"1,8,32"`` → ``[1, 8, 32]``; anything but positive integers is an InputSpecError."""
    parts = [p.strip() for p in re.split(r"[,\s]+", text.strip()) if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise InputSpecError(f"malformed --batch {text!r}: write positive integers separated by commas, e.g. 1,8,32")
    batches = [int(p) for p in parts]
    if any(b <= 0 for b in batches):
        raise InputSpecError(f"--batch {text}: every batch size must be at least 1")
    return batches


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------


def block_size(per_call_s: float, overhead_s: float, min_time_s: float, min_samples: int = MIN_SAMPLES) -> int:
    """Calls per timed block: enough to make the clock overhead < 0.1 % of a block, but no more than
    lets ``min_samples`` blocks fit in ``min_time_s``.

    >>> block_size(per_call_s=1e-4, overhead_s=1e-6, min_time_s=1.0)   # 1e-6 / (1e-3 · 1e-4) = 10
    10
    >>> block_size(per_call_s=0.05, overhead_s=1e-6, min_time_s=1.0)  # one call is plenty
    1
    """
    if per_call_s <= 0:
        return 1
    wanted = math.ceil(overhead_s / (MAX_OVERHEAD_RATIO * per_call_s))
    fits = math.floor(min_time_s / (min_samples * per_call_s))
    return max(1, min(wanted, fits))


def _timeit(fn: Callable[[], Any], number: int, device: torch.device) -> float:
    """Seconds for ``number`` calls of ``fn``, the device synchronised before each clock read."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(number):
        fn()
    synchronize(device)
    return time.perf_counter() - start


def _clock_overhead(device: torch.device) -> float:
    return statistics.median(_timeit(_nothing, 0, device) for _ in range(5))


def _nothing() -> None:
    return None


def _warm_up(fn: Callable[[], Any], device: torch.device, min_time_s: float) -> tuple[int, float]:
    """Run until :data:`WARMUP_RUNS` calls and a tenth of ``min_time_s`` are spent; (calls, per-call s)."""
    times: list[float] = []
    while len(times) < WARMUP_RUNS or sum(times) < WARMUP_FRACTION * min_time_s:
        times.append(_timeit(fn, 1, device))
    return len(times), statistics.median(times[-WARMUP_RUNS:])


def _blocks(
    fn: Callable[[], Any], device: torch.device, number: int, min_time_s: float, progress: Progress | None
) -> list[float]:
    times: list[float] = []
    total = 0.0
    while total < min_time_s or len(times) < MIN_SAMPLES:
        elapsed = _timeit(fn, number, device)
        times.append(elapsed)
        total += elapsed
        notify(progress, min(1.0, total / min_time_s, len(times) / MIN_SAMPLES))
    return times


def time_workload(
    workload: Workload,
    *,
    batch: int | None = None,
    threads: int | None = None,
    min_time_s: float = DEFAULT_MIN_TIME_S,
    progress: Progress | None = None,
) -> Measurement:
    """Time ``workload`` at ``batch`` (see the module docstring for the procedure)."""
    import torch

    if min_time_s <= 0:
        raise InputSpecError(f"--min-time must be positive, got {min_time_s}")
    from costlab.load import user_code

    args, kwargs = workload.inputs(batch)

    def forward() -> Any:
        return workload.model(*args, **kwargs)

    with fixed_threads(threads) as used, torch.no_grad(), seeded_rng(workload.device), user_code():
        try:
            warmup_runs, per_call_s = _warm_up(forward, workload.device, min_time_s)
        except SystemExit as err:
            raise ForwardError(f"{workload.label} {exited(err)} in forward") from None
        except Exception as err:  # noqa: BLE001 - the model's own code may raise anything
            raise ForwardError(
                f"{workload.label}: forward failed on {workload.device} at {workload.dtype_name}: {first_line(err)}"
            ) from None
        number = block_size(per_call_s, _clock_overhead(workload.device), min_time_s)
        raw = _blocks(forward, workload.device, number, min_time_s, progress)
    return Measurement(workload.spec(batch, used, min_time_s), tuple(raw), number, warmup_runs)


def seeded_rng(device: torch.device) -> Any:
    """The model's random draws (if any) come from a seeded generator, and the caller's RNG state is
    put back afterwards."""
    import contextlib

    import torch

    from costlab.load.inputs import SEED

    stack = contextlib.ExitStack()
    stack.enter_context(torch.random.fork_rng(devices=[device] if device.type == "cuda" else []))
    torch.manual_seed(SEED)
    return stack


def measure_latency(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    device: str = "cpu",
    batch: int | None = None,
    dtype: str | None = None,
    threads: int | None = None,
    channels_last: bool = False,
    min_time_s: float = DEFAULT_MIN_TIME_S,
    progress: Progress | None = None,
) -> Measurement:
    """The latency of one forward pass of ``model`` (an ``nn.Module`` or a spec) on ``device``.

    ``batch`` replaces the first input dimension; ``threads`` fixes torch's intra-op threads (None:
    the current setting, recorded); ``dtype`` is a floating dtype (:mod:`costlab.dtypes`; None: the
    model's own); ``channels_last``
    uses the NHWC memory format for the model and its 4-d inputs.
    """
    workload = load_workload(model, input_shape, inputs=inputs, device=device, dtype=dtype, channels_last=channels_last)
    return time_workload(workload, batch=batch, threads=threads, min_time_s=min_time_s, progress=progress)
