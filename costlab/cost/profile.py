"""``costlab.profile``: resolve a model, capture one forward pass, and return its :class:`Report`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from costlab import dtypes
from costlab.cost.capture import Capture, CaptureFailed, capture
from costlab.cost.report import Report
from costlab.errors import CostlabError, ForwardError, exited, first_line
from costlab.load import ExampleInputs, ModelSource, as_source, example_inputs_for
from costlab.load.sites import sites_of
from costlab.units import shapes_text

__all__ = ["profile"]


def profile(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    dtype: str | None = None,
    real: bool = False,
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
    data-dependent control flow) it is run again on CPU with seeded random inputs, and
    ``Report.notes`` says so; an error that is not about meta tensors (a wrong input shape) fails at
    once. ``real=True`` skips the meta attempt. The model object is left as it was.
    """
    source = as_source(model)
    example = example_inputs_for(source, input_shape, inputs)
    float_dtype = dtypes.to_torch(dtypes.float_dtype(dtype)) if dtype is not None else None
    notes: list[str] = []
    if input_shape is None and example.note():
        notes.append(str(example.note()))

    recorder: Capture | None = None
    captured_on = "meta"
    built: nn.Module | None = None
    meta_error: BaseException | None = None
    if not real:
        built = _build(source, meta=True)
        meta_args, meta_kwargs = example.make(meta=True, float_dtype=float_dtype)
        # first without a default device (fast); then with tensors created in forward on meta too
        for default_device in (False, True):
            try:
                recorder = capture(built, meta_args, meta_kwargs, dtype=float_dtype, meta_default_device=default_device)
                break
            except CaptureFailed as failed:
                if isinstance(failed.error, SystemExit):
                    raise ForwardError(f"{source.label} {exited(failed.error)} in forward") from None
                meta_error = failed.error
                if not _needs_values(failed.error):  # a wrong shape fails here, not after a real build
                    raise _forward_error(source, failed, example, _in_real_words(built, failed)) from None
    if recorder is None:
        built = _build(source, meta=False)
        if any(t.is_meta for t in built.parameters()):
            raise ForwardError(f"{source.label}: {first_line(meta_error)}") from None
        if meta_error is not None:
            notes.append(f"needed real values on the meta device ({first_line(meta_error)}); profiled with real tensors on CPU")
        captured_on = "cpu"
        if float_dtype is not None:
            notes.append("--dtype is applied on the meta device only; the real run used the model's own dtype")
        recorder = _run_real(built, example, source)
    assert built is not None
    return _report(source, example, built, recorder, captured_on, float_dtype, notes)


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


def _run_real(model: nn.Module, example: ExampleInputs, source: ModelSource) -> Capture:
    """The real-tensor pass, seeded (a data-dependent model gives the same numbers every run) with the
    caller's global RNG state put back afterwards."""
    from costlab.load.inputs import SEED

    args, kwargs = example.make()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            return capture(model, args, kwargs)
    except CaptureFailed as failed:
        if isinstance(failed.error, SystemExit):
            raise ForwardError(f"{source.label} {exited(failed.error)} in forward") from None
        raise _forward_error(source, failed, example) from None


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
    )
