"""``costlab.memory``: the peak memory a pass holds — inference or a training step — without running it.

Memory *footprint* (bytes held at once), not the memory *access* of ``costlab profile`` (bytes
moved). The pass runs on the meta device under :class:`~costlab.cost.lifetimes.StorageTracker`,
so every storage is followed from the op that makes it to the moment its last reference dies;
the peak is the most ever live at once, plus what was resident before the pass began.

What ``peak_bytes`` counts is what ``torch.cuda.max_memory_allocated()`` reports after
``reset_peak_memory_stats()`` with the model and its inputs already on the device:

* resident: parameters, buffers, inputs, and (with an optimizer, in the steady state of a
  training loop: after the first step, ``zero_grad(set_to_none=True)`` before each) its state;
* inference (``torch.no_grad()``, eval mode): every activation while it lives; the outputs are
  held to the end;
* ``train``: training mode, the forward with autograd (saved tensors live until the backward
  releases them), the backward of the sum of the floating outputs (gradients of activations,
  then of the parameters, which stay), then the optimizer's ``step()`` with its temporaries.

``device`` says whose kernels and allocator the estimate follows, since it cannot run there:
``cuda`` rounds every storage up to the caching allocator's 512-byte blocks, runs attention as
the fused kernels do (no ``L×S`` score matrix) and the optimizer in its ``foreach`` form (its
default on CUDA, whose temporaries span every parameter at once); ``cpu`` counts exact bytes,
chooses attention as torch's CPU dispatcher does and steps one parameter at a time. Not seen on
meta: workspaces a kernel allocates inside itself (cuDNN, oneDNN reorders, cuBLAS), and the
allocator's caching and fragmentation (``memory_reserved`` above ``max_memory_allocated``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from costlab import dtypes
from costlab.cost.capture import (
    CaptureFailed,
    StandIns,
    check_trainable,
    stand_ins,
    training_loss,
    training_mode,
)
from costlab.cost.formulas import tensors
from costlab.cost.lifetimes import FORWARD, OPTIMIZER, OPTIMIZER_CALL, PHASES, StorageTracker, levels
from costlab.cost.memory_report import DEVICES, OPTIMIZERS, Fit, MemoryReport, PeakAt, search_batch
from costlab.cost.profile import run_pass
from costlab.errors import CostlabError
from costlab.load import as_source, example_inputs_for
from costlab.load.guard import preserved, user_code
from costlab.progress import Progress, notify
from costlab.units import QuantityError, parse_quantity

__all__ = ["ALIGNMENT", "DEVICES", "OPTIMIZERS", "MemoryReport", "UnknownOptimizer", "memory"]

ALIGNMENT = {"cuda": 512, "cpu": 1}
"""Bytes a storage is rounded up to: the CUDA caching allocator's smallest block; on CPU the
profiler reports the bytes asked for (the allocator aligns to 64, which it does not report)."""


class UnknownOptimizer(CostlabError):
    """An optimizer name costlab does not model."""


@dataclass
class _Pass:
    """One estimate's raw material, before it becomes a :class:`MemoryReport`."""

    tracker: StorageTracker
    forward_end: int
    grads: set[int]
    output: Any
    """The model's outputs, held until the summary is made: they live to the end of the pass."""


def memory(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    train: bool = False,
    optimizer: str | None = None,
    dtype: str | None = None,
    device: str = "cuda",
    fit: str | float | None = None,
    real: bool = False,
    progress: Progress | None = None,
) -> MemoryReport:
    """The peak memory of one pass of ``model`` at ``input_shape``: inference, or a training step.

    ``model``, ``input_shape`` and ``inputs`` are what :func:`costlab.profile` takes. ``train`` estimates a
    training step; ``optimizer`` (``sgd``, ``adam``, ``adamw``) adds its state and its step.
    ``dtype`` sets the parameter and floating-input dtype. ``device`` (``cuda``, ``cpu``) is
    whose kernels and allocator to follow (see the module docstring). ``fit`` (``"12GB"``, or
    bytes) also searches the largest batch — the first dimension of every input — whose peak
    fits, into :attr:`MemoryReport.fit`. A model that needs real values is run on CPU instead
    (random inputs, seed 0), and the notes say so.
    """
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise UnknownOptimizer(f"unknown optimizer {optimizer!r}: costlab models {', '.join(OPTIMIZERS)}")
    if optimizer is not None and not train:
        raise CostlabError(f"an optimizer ({optimizer}) only steps in a training pass: add --train (train=True)")
    if device not in DEVICES:
        raise CostlabError(f"unknown device {device!r} for a memory estimate: one of {', '.join(DEVICES)}")
    budget = _budget(fit) if fit is not None else None
    source = as_source(model)
    example = example_inputs_for(source, input_shape, inputs)
    float_dtype = dtypes.to_torch(dtypes.float_dtype(dtype)) if dtype is not None else None
    alignment = ALIGNMENT[device]

    def attempt(
        built: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], default_device: bool
    ) -> tuple[MemoryReport, Fit | None]:
        on_meta = all(t.is_meta for t in tensors((args, kwargs)))
        cast = float_dtype if on_meta else None

        def estimate(batch_args: tuple[Any, ...], batch_kwargs: dict[str, Any]) -> MemoryReport:
            done = _run(built, batch_args, batch_kwargs, train, optimizer, cast, device, alignment, default_device)
            shapes = [tuple(t.shape) for t in tensors((batch_args, batch_kwargs))]
            return _summarize(done, source.label, shapes, built, cast)

        notify(progress, 0.0, f"estimating {source.label}")
        report = estimate(args, kwargs)
        found = None
        if budget is not None:

            def peak_at(batch: int) -> int:
                return estimate(*example.with_batch(batch).make(meta=on_meta, float_dtype=cast)).peak_bytes

            found = search_batch(budget, peak_at, progress)
        notify(progress, 1.0)
        return report, found

    done = run_pass(source, example, float_dtype, attempt, real=real, doing="estimated")
    report, found = done.result
    report.captured_on = done.captured_on
    report.notes = list(done.notes)
    report.train, report.optimizer, report.device = train, optimizer, device
    report.fit = found
    return report


def _budget(fit: str | float) -> float:
    try:
        value = parse_quantity(fit, "bytes")
    except QuantityError as err:
        raise QuantityError(f"--fit {err}") from None
    if value <= 0:
        raise QuantityError(f'--fit "{fit}" is no memory at all: give the device\'s size, e.g. "12GB"')
    return value


# ------------------------------------------------------------------------------------------------
# One pass
# ------------------------------------------------------------------------------------------------


def _run(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    train: bool,
    optimizer: str | None,
    dtype: torch.dtype | None,
    device: str,
    alignment: int,
    default_device: bool,
) -> _Pass:
    parts = stand_ins(model, args, kwargs, dtype=dtype, train=train)
    if train:
        check_trainable(parts, model)
    params, buffers = _params_and_buffers(parts, model)
    on_meta = parts.on_meta
    tracker = StorageTracker(
        {id(m): name for name, m in parts.named}, "meta" if on_meta else "cpu", alignment, fast_shapes=on_meta
    )
    step = _optimizer(optimizer, [p for p in params if p.requires_grad], device, tracker)
    tracker.tracker.autograd = train
    tracker.hold(params, "parameters")
    tracker.hold(buffers, "buffers")
    tracker.hold(tensors((args, kwargs)), "inputs")
    if step is not None:
        tracker.hold(_state_tensors(step), "optimizer_state")
    meta_device = torch.device("meta") if on_meta and default_device else contextlib.nullcontext()
    attention = _fused_attention(device) if on_meta else contextlib.nullcontext()
    output: Any = None
    forward_end = 0
    try:
        with preserved(model, buffers=parts.state is None), user_code(), training_mode([m for _, m in parts.named], train), \
                torch.set_grad_enabled(train), tracker.tracker.hooks(), meta_device, attention, tracker:
            output = parts.forward(model, args, kwargs)
            forward_end = tracker.clock
            if train:
                training_loss(output).backward()
            if step is not None:
                tracker.phase = OPTIMIZER
                step.step()
    except CostlabError:
        raise
    except (Exception, SystemExit) as err:
        raise CaptureFailed(err, tracker.tracker.current_call()) from err
    grads = {b for p in params if p.grad is not None and (b := tracker.block_of(p.grad)) is not None}
    return _Pass(tracker, forward_end, grads, output)


def _params_and_buffers(parts: StandIns, model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    names = {name for name, _ in model.named_parameters()}
    if parts.state is not None:
        params = [t for name, t in parts.state.items() if name in names]
        buffers = [t for name, t in parts.state.items() if name not in names]
        return params, buffers
    return list(model.parameters()), list(model.buffers())


def _optimizer(name: str | None, params: list[torch.Tensor], device: str, tracker: StorageTracker) -> torch.optim.Optimizer | None:
    """The optimizer over the stand-ins, in its steady state: one first step, not recorded, made its state.

    ``foreach`` as torch chooses it on ``device`` (CUDA: foreach; CPU: one parameter at a time).
    """
    if name is None or not params:
        return None
    foreach = device == "cuda"
    if name == "sgd":
        step: torch.optim.Optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    elif name == "adam":
        step = torch.optim.Adam(params, foreach=foreach)
    else:
        step = torch.optim.AdamW(params, foreach=foreach)
    for p in params:
        p.grad = torch.zeros_like(p) if not p.is_meta else torch.empty_like(p)
    tracker.recording, tracker.phase = False, OPTIMIZER
    try:
        with tracker:
            step.step()
    finally:
        tracker.recording, tracker.phase = True, FORWARD
    step.zero_grad(set_to_none=True)
    return step


def _state_tensors(step: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [v for state in step.state.values() for v in state.values() if isinstance(v, torch.Tensor)]


# ------------------------------------------------------------------------------------------------
# Attention as the device's fused kernels run it
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _fused_attention(device: str) -> Iterator[None]:
    """On meta, ``F.scaled_dot_product_attention`` always takes the math path: it materialises the
    ``L×S`` scores and saves them for the backward, which the fused kernels of real devices never
    do. For the pass, route it as the device would: on ``cpu`` to the flash kernel whenever torch's
    CPU dispatcher would choose it (asked with stride-0 probes of the same shapes, no memory), on
    ``cuda`` to the memory-efficient kernel (it takes masks and dropout). Put back on exit.
    """
    functional = torch.nn.functional
    original = functional.scaled_dot_product_attention

    def routed(query: Any, key: Any, value: Any, attn_mask: Any = None, dropout_p: float = 0.0,
               is_causal: bool = False, scale: Any = None, enable_gqa: bool = False) -> Any:
        if not _fusable(device, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
            return original(query, key, value, attn_mask, dropout_p, is_causal, scale=scale, enable_gqa=enable_gqa)
        if attn_mask is not None and attn_mask.dtype == torch.bool:  # as torch converts it: a float bias
            attn_mask = torch.zeros(attn_mask.shape, dtype=query.dtype, device=query.device).masked_fill_(
                attn_mask.logical_not(), float("-inf"))
        aten = torch.ops.aten
        if device == "cpu":
            return aten._scaled_dot_product_flash_attention_for_cpu(
                query, key, value, dropout_p, is_causal, attn_mask=attn_mask, scale=scale)[0]
        needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value))
        return aten._scaled_dot_product_efficient_attention(
            query, key, value, attn_mask, needs_grad, dropout_p, is_causal, scale=scale)[0]

    functional.scaled_dot_product_attention = routed
    try:
        yield
    finally:
        functional.scaled_dot_product_attention = original


def _fusable(device: str, query: Any, key: Any, value: Any, mask: Any, dropout_p: float, is_causal: bool,
             scale: Any, enable_gqa: bool) -> bool:
    if enable_gqa or not all(isinstance(t, torch.Tensor) and t.is_meta and t.dim() == 4 for t in (query, key, value)):
        return False
    if device == "cuda":
        return True

    def probe(t: torch.Tensor) -> torch.Tensor:
        return torch.empty(t.shape[-1:], dtype=t.dtype).expand(t.shape)

    probe_mask = probe(mask) if isinstance(mask, torch.Tensor) else None
    choice = torch._fused_sdp_choice(probe(query), probe(key), probe(value), probe_mask, dropout_p, is_causal,
                                     scale=scale)
    return int(choice) == int(torch.nn.attention.SDPBackend.FLASH_ATTENTION)


# ------------------------------------------------------------------------------------------------
# From the lifetimes to the report
# ------------------------------------------------------------------------------------------------


def _summarize(
    done: _Pass, label: str, shapes: list[tuple[int, ...]], model: nn.Module, dtype: torch.dtype | None
) -> MemoryReport:
    tracker = done.tracker
    resident = sum(tracker.resident.values())
    level = levels(tracker)
    peak_clock = max(range(len(level)), key=level.__getitem__) if level else -1
    pass_peak = level[peak_clock] if level else 0
    phase_peaks: dict[str, int] = {}
    for clock, phase in enumerate(tracker.op_phases):
        name = PHASES[phase]
        phase_peaks[name] = max(phase_peaks.get(name, 0), resident + level[clock])

    breakdown = {key: tracker.resident.get(key, 0) for key in ("parameters", "buffers", "inputs", "optimizer_state")}
    breakdown.update(gradients=0, activations=0, temporaries=0)
    held: dict[int, int] = {}
    live = tracker.live_at(peak_clock) if peak_clock >= 0 else []
    for block in live:
        size = tracker.sizes[block]
        if block in done.grads:
            breakdown["gradients"] += size
        elif tracker.phases[block] == FORWARD:
            breakdown["activations"] += size
        else:
            breakdown["temporaries"] += size
        held[tracker.owner[block]] = held.get(tracker.owner[block], 0) + size
    allocated: dict[int, int] = {}
    saved: dict[int, int] = {}
    for block, (size, owner, phase, died) in enumerate(zip(tracker.sizes, tracker.owner, tracker.phases, tracker.died)):
        if phase != FORWARD:
            continue
        allocated[owner] = allocated.get(owner, 0) + size
        if died == -1 or died > done.forward_end:
            saved[owner] = saved.get(owner, 0) + size

    peak_at = None
    if peak_clock >= 0:
        call = tracker.op_calls[peak_clock]
        where = tracker.tracker.calls[call] if call != OPTIMIZER_CALL and tracker.tracker.calls else None
        peak_at = PeakAt(
            layer=where.name if where is not None else ("(optimizer step)" if call == OPTIMIZER_CALL else ""),
            type=where.type if where is not None else "",
            phase=PHASES[tracker.op_phases[peak_clock]],
            op=tracker.op_name(peak_clock),
            op_index=peak_clock,
        )
    params = [p for p in model.parameters()]
    float_param = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
    return MemoryReport(
        model=label,
        input_shapes=shapes,
        dtype=dtypes.name_of(dtype or float_param),
        peak_bytes=resident + pass_peak,
        breakdown=breakdown,
        peak_at=peak_at,
        phase_peaks=phase_peaks,
        calls=list(tracker.tracker.calls),
        activation_bytes=allocated,
        saved_bytes=saved,
        held_at_peak_bytes=held,
        alignment_bytes=tracker.alignment,
        ops=tracker.clock,
    )
