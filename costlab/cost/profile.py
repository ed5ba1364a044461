"""``costlab.profile``: resolve a model, capture one forward pass (or a training step), and return its
:class:`Report`; :func:`run_pass` is the meta-first, real-tensor-fallback runner ``costlab.memory`` shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch
from torch import nn

from costlab import dtypes
from costlab.cost.capture import Capture, CaptureFailed, capture
from costlab.cost.report import Report
from costlab.errors import CostlabError, ForwardError, first_line
from costlab.load import InputSpec, ModelSource, as_source, input_specs_for, make_inputs
from costlab.units import shapes_text

__all__ = ["profile", "run_pass", "Pass"]

T = TypeVar("T")


def profile(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    dtype: str | None = None,
    real: bool = False,
    train: bool = False,
) -> Report:
    """Count what ``model`` costs for one forward pass at ``input_shape``.

    ``model`` is an ``nn.Module`` or a spec (zoo name, ``file.py[:NAME]``, ``torchvision:NAME``).
    ``input_shape`` is ``"1x3x224x224"``, a tuple, or several of them; a zoo model or a file with
    ``INPUT_SHAPE`` brings its own. ``dtype`` (``float16``, ``bf16``, …: :mod:`costlab.dtypes`) sets
    the parameter and input dtype the bytes accessed are counted at (default: the model's own).

    The pass runs on the meta device (shapes only). If the model needs real values (``.item()``,
    data-dependent control flow) it is run again on CPU with random inputs (seed 0, the caller's
    random state left as it was), and ``Report.notes`` says so. ``real=True`` skips the meta attempt.

    ``train=True`` counts a training step instead: modules in training mode, the forward with
    autograd and the backward of the sum of the floating outputs (each backward op in the row of
    the layer whose forward made it; ``OpRecord.backward`` marks them).
    """
    source = as_source(model)
    specs = input_specs_for(source, input_shape)
    float_dtype = dtypes.to_torch(dtypes.float_dtype(dtype)) if dtype is not None else None

    def attempt(built: nn.Module, inputs: list[torch.Tensor], meta_default_device: bool) -> Capture:
        on_meta = all(t.is_meta for t in inputs)
        return capture(
            built, inputs, dtype=float_dtype if on_meta else None, meta_default_device=meta_default_device, train=train
        )

    done = run_pass(source, specs, float_dtype, attempt, real=real, doing="profiled")
    return _report(source, specs, done.model, done.result, done.captured_on, float_dtype, done.notes, train)


@dataclass
class Pass(Generic[T]):
    """What :func:`run_pass` ran: the result, the model it was built as, where, and the notes."""

    result: T
    model: nn.Module
    captured_on: str
    notes: list[str]


def run_pass(
    source: ModelSource,
    specs: list[InputSpec],
    float_dtype: torch.dtype | None,
    attempt: Callable[[nn.Module, list[torch.Tensor], bool], T],
    *,
    real: bool = False,
    doing: str = "profiled",
) -> Pass[T]:
    """Run ``attempt(model, inputs, meta_default_device)`` on the meta device, else for real.

    On meta first without a default device (fast), then with tensors created inside ``forward``
    on meta too; when both raise :class:`CaptureFailed` the model needs real values, and it is
    built and run on CPU with random inputs — seed 0, under ``fork_rng`` so the caller's random
    state is left as it was — with a note that says so (``doing``: "profiled", "estimated").
    ``costlab profile`` and ``costlab memory`` share this, so they fall back alike.
    """
    notes: list[str] = []
    meta_error: BaseException | None = None
    if not real:
        built = _build(source, meta=True)
        meta_inputs = make_inputs(specs, float_dtype, meta=True)
        for default_device in (False, True):
            try:
                return Pass(attempt(built, meta_inputs, default_device), built, "meta", notes)
            except CaptureFailed as failed:
                meta_error = failed.error
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        built = _build(source, meta=False)
        if any(t.is_meta for t in built.parameters()):
            raise ForwardError(f"{source.label}: {first_line(meta_error)}") from None
        if meta_error is not None:
            notes.append(
                f"needed real values on the meta device ({first_line(meta_error)}); {doing} with real tensors on CPU "
                "(random inputs, seed 0)"
            )
        if float_dtype is not None:
            notes.append("--dtype is applied on the meta device only; the real run used the model's own dtype")
        inputs = make_inputs(specs, None, meta=False)
        return Pass(_run_real(attempt, built, inputs, source), built, "cpu", notes)


def _build(source: ModelSource, meta: bool) -> nn.Module:
    """The model, on meta when it can be (a constructor that needs real tensors is built for real)."""
    try:
        model = source.build(meta)
    except CostlabError:
        raise
    except Exception as err:  # noqa: BLE001 - building user code may raise anything
        if meta:
            return _build(source, meta=False)  # the constructor needs real tensors: build for real
        raise ForwardError(f"building {source.label} failed: {first_line(err)}") from None
    if not isinstance(model, nn.Module):
        raise ForwardError(f"{source.label} did not give an nn.Module (got {type(model).__name__})")
    return model


def _run_real(attempt: Callable[[nn.Module, list[torch.Tensor], bool], T], model: nn.Module,
              inputs: list[torch.Tensor], source: ModelSource) -> T:
    try:
        return attempt(model, inputs, False)
    except CaptureFailed as failed:
        where = failed.call
        if where is not None and where.name:
            layer_shapes = shapes_text(where.input_shapes)
            raise ForwardError(
                f"{source.label}: forward failed in {where.name} ({where.type}, input {layer_shapes}): "
                f"{first_line(failed.error)}"
            ) from None
        shapes = shapes_text(t.shape for t in inputs)
        raise ForwardError(f"{source.label}: forward failed for input {shapes}: {first_line(failed.error)}") from None


def _report(
    source: ModelSource,
    specs: list[InputSpec],
    model: nn.Module,
    recorder: Capture,
    captured_on: str,
    float_dtype: torch.dtype | None,
    notes: list[str],
    train: bool = False,
) -> Report:
    named = recorder.modules or list(model.named_modules())
    seen: set[int] = set()
    params = []  # unique: a shared parameter is listed once, as model.parameters() does
    for _, module in named:
        for p in module._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    float_size = torch.empty((), dtype=float_dtype).element_size() if float_dtype is not None else None

    def element(p: torch.Tensor) -> int:
        return float_size if float_size is not None and p.is_floating_point() else p.element_size()

    called = {call.name for call in recorder.calls}
    uncalled = [
        name for name, module in named if name and name not in called and any(p is not None for p in module._parameters.values())
    ]
    dtype_name = dtypes.name_of(float_dtype or next((p.dtype for p in params if p.is_floating_point()), torch.float32))
    return Report(
        model=source.label,
        input_shapes=[spec.shape for spec in specs],
        dtype=dtype_name,
        captured_on=captured_on,
        ops=recorder.ops,
        calls=recorder.calls,
        params=sum(p.numel() for p in params),
        param_bytes=sum(p.numel() * element(p) for p in params),
        unsupported_ops=dict(recorder.unsupported),
        uncalled_modules=uncalled,
        notes=notes,
        source_file=str(source.file) if source.file else None,
        train=train,
    )

