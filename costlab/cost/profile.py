"""``costlab.profile``: resolve a model, capture one forward pass, and return its :class:`Report`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from costlab import dtypes
from costlab.cost.capture import Capture, CaptureFailed, capture
from costlab.cost.report import Report
from costlab.errors import CostlabError, ForwardError, exited, first_line
from costlab.load import InputSpec, ModelSource, as_source, input_specs_for, make_inputs
from costlab.load.sites import sites_of
from costlab.units import shapes_text

__all__ = ["profile"]


def profile(
    model: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    dtype: str | None = None,
    real: bool = False,
) -> Report:
    """Count what ``model`` costs for one forward pass at ``input_shape``.

    ``model`` is an ``nn.Module`` or a spec (zoo name, ``file.py[:NAME]``, ``torchvision:NAME``).
    ``input_shape`` is ``"1x3x224x224"``, a tuple, or several of them; a zoo model or a file with
    ``INPUT_SHAPE`` brings its own. ``dtype`` (``float16``, ``bf16``, …: :mod:`costlab.dtypes`) sets
    the parameter and input dtype the bytes accessed are counted at (default: the model's own).

    The pass runs on the meta device (shapes only). If the model needs real values (``.item()``,
    data-dependent control flow) it is run again on CPU with random inputs, and ``Report.notes``
    says so. ``real=True`` skips the meta attempt.
    """
    source = as_source(model)
    specs = input_specs_for(source, input_shape)
    float_dtype = dtypes.to_torch(dtypes.float_dtype(dtype)) if dtype is not None else None
    notes: list[str] = []

    recorder: Capture | None = None
    captured_on = "meta"
    built: nn.Module | None = None
    meta_error: BaseException | None = None
    if not real:
        built = _build(source, meta=True)
        meta_inputs = make_inputs(specs, float_dtype, meta=True)
        # first without a default device (fast); then with tensors created in forward on meta too
        for default_device in (False, True):
            try:
                recorder = capture(built, meta_inputs, dtype=float_dtype, meta_default_device=default_device)
                break
            except CaptureFailed as failed:
                if isinstance(failed.error, SystemExit):
                    raise ForwardError(f"{source.label} {exited(failed.error)} in forward") from None
                meta_error = failed.error
    if recorder is None:
        built = _build(source, meta=False)
        if any(t.is_meta for t in built.parameters()):
            raise ForwardError(f"{source.label}: {first_line(meta_error)}") from None
        if meta_error is not None:
            notes.append(f"needed real values on the meta device ({first_line(meta_error)}); profiled with real tensors on CPU")
        captured_on = "cpu"
        if float_dtype is not None:
            notes.append("--dtype is applied on the meta device only; the real run used the model's own dtype")
        inputs = make_inputs(specs, None, meta=False)
        recorder = _run_real(built, inputs, source)
    assert built is not None
    return _report(source, specs, built, recorder, captured_on, float_dtype, notes)


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


def _run_real(model: nn.Module, inputs: list[torch.Tensor], source: ModelSource) -> Capture:
    """The real-tensor pass, seeded (a data-dependent model gives the same numbers every run) with the
    caller's global RNG state put back afterwards."""
    from costlab.load.inputs import SEED

    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            return capture(model, inputs)
    except CaptureFailed as failed:
        if isinstance(failed.error, SystemExit):
            raise ForwardError(f"{source.label} {exited(failed.error)} in forward") from None
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
        sites={name: chain for name, module in named if (chain := sites_of(module))},
    )
