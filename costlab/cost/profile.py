"""``costlab.profile``: resolve a model, capture one forward pass (or a training step), and return its
:class:`Report`; :func:`run_pass` is the meta-first, real-tensor-fallback runner ``costlab.memory`` shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from costlab import dtypes
from costlab.cost.capture import Capture, CaptureFailed, capture
from costlab.cost.formulas import tensors
from costlab.cost.report import Report
from costlab.errors import CostlabError, ForwardError, exited, first_line
from costlab.load import ExampleInputs, ModelSource, as_source, example_inputs_for
from costlab.load.sites import sites_of
from costlab.units import shapes_text

__all__ = ["Attempt", "Pass", "profile", "run_pass"]

T = TypeVar("T")

Attempt = Callable[[nn.Module, tuple[Any, ...], dict[str, Any], bool], T]
"""``attempt(model, args, kwargs, meta_default_device)``: one pass, raising :class:`CaptureFailed`."""


def profile(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    dtype: str | None = None,
    real: bool = False,
    train: bool = False,
) -> Report:
    """Count what ``model`` costs for one forward pass at ``input_shape`` (or with ``inputs``).

    ``model`` is an ``nn.Module`` or a spec (zoo name, ``file.py[:NAME]``, ``torchvision:NAME``).
    ``input_shape`` is ``"1x3x224x224"``, a tuple, or several of them. ``inputs`` is what the model
    is called with: a tensor, a tuple of positional arguments, a dict of keyword arguments
    (``{"input_ids": ..., "attention_mask": ...}``) or a list (a detector's images); only their
    shapes and dtypes matter on the meta device. Without either the model's own input is used (a
    zoo entry's, a file's ``INPUT_SHAPE`` / ``example_inputs()``, torchvision's weights' transforms,
    timm's ``pretrained_cfg``), and ``Report.notes`` says which. ``dtype`` (``float16``, ``bf16``,
    …: :mod:`costlab.dtypes`) sets the parameter and input dtype the bytes accessed are counted at
    (default: the model's own).

    The pass runs on the meta device (shapes only). If the model needs real values (``.item()``,
    data-dependent control flow) it is run again on CPU with seeded random inputs (the caller's
    random state left as it was), and ``Report.notes`` says so; an error that is not about meta
    tensors (a wrong input shape) fails at once. ``real=True`` skips the meta attempt. The model
    object is left as it was.

    ``train=True`` counts a training step instead: modules in training mode, the forward with
    autograd and the backward of the sum of the floating outputs (each backward op in the row of
    the layer whose forward made it; ``OpRecord.backward`` marks them).
    """
    source = as_source(model)
    example = example_inputs_for(source, input_shape, inputs)
    float_dtype = dtypes.to_torch(dtypes.float_dtype(dtype)) if dtype is not None else None

    def attempt(built: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], meta_default_device: bool) -> Capture:
        on_meta = all(t.is_meta for t in tensors((args, kwargs)))
        return capture(
            built, args, kwargs, dtype=float_dtype if on_meta else None, meta_default_device=meta_default_device,
            train=train,
        )

    done = run_pass(source, example, float_dtype, attempt, real=real, doing="profiled")
    notes = ([str(example.note())] if input_shape is None and example.note() else []) + done.notes
    return _report(source, example, done.model, done.result, done.captured_on, float_dtype, notes, train)


@dataclass
class Pass(Generic[T]):
    """What :func:`run_pass` ran: the result, the model it was built as, where, and the notes."""

    result: T
    model: nn.Module
    captured_on: str
    notes: list[str]


def run_pass(
    source: ModelSource,
    example: ExampleInputs,
    float_dtype: torch.dtype | None,
    attempt: Attempt[T],
    *,
    real: bool = False,
    doing: str = "profiled",
) -> Pass[T]:
    """Run ``attempt(model, args, kwargs, meta_default_device)`` on the meta device, else for real.

    On meta first without a default device (fast), then with tensors created inside ``forward``
    on meta too. A failure that is about the meta device (``.item()``, data-dependent control
    flow, an op without a meta kernel) means the model needs real values: it is built and run on
    CPU with seeded random inputs, under ``fork_rng`` so the caller's random state is left as it
    was, with a note that says so (``doing``: "profiled", "estimated"). Any other failure (a wrong
    input shape) is reported at once, in torch's own words for a leaf layer. ``costlab profile``
    and ``costlab memory`` share this, so they fall back alike.
    """
    from costlab.load.inputs import SEED

    notes: list[str] = []
    meta_error: BaseException | None = None
    if not real:
        built = _build(source, meta=True)
        args, kwargs = example.make(meta=True, float_dtype=float_dtype)
        for default_device in (False, True):
            try:
                return Pass(attempt(built, args, kwargs, default_device), built, "meta", notes)
            except CaptureFailed as failed:
                if isinstance(failed.error, SystemExit):
                    raise ForwardError(f"{source.label} {exited(failed.error)} in forward") from None
                meta_error = failed.error
                if not _needs_values(failed.error):  # a wrong shape fails here, not after a real build
                    raise _forward_error(source, failed, example, _in_real_words(built, failed)) from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        built = _build(source, meta=False)
        if any(t.is_meta for t in built.parameters()):
            raise ForwardError(f"{source.label}: {first_line(meta_error)}") from None
        if meta_error is not None:
            notes.append(
                f"needed real values on the meta device ({first_line(meta_error)}); {doing} with real tensors on CPU "
                f"(random inputs, seed {SEED})"
            )
        if float_dtype is not None:
            notes.append("--dtype is applied on the meta device only; the real run used the model's own dtype")
        args, kwargs = example.make()
        try:
            return Pass(attempt(built, args, kwargs, False), built, "cpu", notes)
        except CaptureFailed as failed:
            if isinstance(failed.error, SystemExit):
                raise ForwardError(f"{source.label} {exited(failed.error)} in forward") from None
            raise _forward_error(source, failed, example) from None


def _needs_values(error: BaseException) -> bool:
    """True when a meta-device failure is about the meta device itself (data-dependent control flow,
    ``.item()``, an op without a meta kernel), so a run with real tensors may succeed."""
    if isinstance(error, NotImplementedError):
        return True
    text = str(error).lower()
    return "meta" in text or "data-dependent" in text or "data dependent" in text


def _build(source: ModelSource, meta: bool) -> nn.Module:
    try:
        model = source.build(meta)
    except CostlabError:
        raise
    except SystemExit as err:
        raise ForwardError(f"{source.label} {exited(err)} while being built") from None
    except Exception as err:  # noqa: BLE001 - building user code may raise anything
        if meta:
            return _build(source, meta=False)  # the constructor needs real tensors: build for real
        raise ForwardError(f"building {source.label} failed: {first_line(err)}") from None
    if not isinstance(model, nn.Module):
        raise ForwardError(f"{source.label} did not give an nn.Module (got {type(model).__name__})")
    return model


def _forward_error(
    source: ModelSource, failed: CaptureFailed, example: ExampleInputs, error: BaseException | None = None
) -> ForwardError:
    where = failed.call
    message = first_line(error or failed.error)
    if where is not None and where.name:
        layer_shapes = shapes_text(where.input_shapes)
        return ForwardError(f"{source.label}: forward failed in {where.name} ({where.type}, input {layer_shapes}): {message}")
    return ForwardError(f"{source.label}: forward failed for input {example}: {message}")


def _in_real_words(model: nn.Module, failed: CaptureFailed) -> BaseException | None:
    """torch's own message for a leaf layer that failed on meta (its meta kernels say less: "Invalid
    channel dimensions"), from a real copy of that one layer run on real tensors of the same shapes."""
    where = failed.call
    layer = dict(model.named_modules()).get(where.name) if where is not None and where.name else None
    if layer is None or next(layer.children(), None) is not None or sum(p.numel() for p in layer.parameters()) > 1e7:
        return None
    try:
        copy = type(layer).__new__(type(layer))
        copy.__dict__.update({k: dict(v) if k in ("_parameters", "_buffers") else v for k, v in vars(layer).items()})
        copy = copy.to_empty(device="cpu")
        with torch.no_grad():
            copy(*(torch.zeros(shape) for shape in where.input_shapes))
    except Exception as err:  # noqa: BLE001 - the error it gives is the point
        return err
    return None


def _report(
    source: ModelSource,
    example: ExampleInputs,
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
        input_shapes=[tuple(shape) for shape in example.shapes],
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
        sites={name: chain for name, module in named if (chain := sites_of(module))},
        train=train,
    )
