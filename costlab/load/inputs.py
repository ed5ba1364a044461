"""Model inputs: what ``--input`` says, and the example tensors made from it.

Shapes are written ``1x3x224x224``; several inputs are separated by commas, and an input of
another dtype takes a suffix from :mod:`costlab.dtypes` (``1x128:int64``). Python callers may give
a tuple ``(1, 3, 224, 224)`` or a list of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costlab import dtypes
from costlab.errors import InputSpecError, first_line
from costlab.units import shape_text

if TYPE_CHECKING:
    from costlab.load.specs import ModelSource

__all__ = ["InputSpec", "parse_inputs", "input_specs_for", "make_inputs", "with_batch"]


@dataclass(frozen=True)
class InputSpec:
    """The shape and dtype of one model input."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def __str__(self) -> str:
        text = shape_text(self.shape)
        return text if self.dtype == "float32" else f"{text}:{self.dtype}"


def parse_inputs(text: str | Sequence[int] | Sequence[Sequence[int]]) -> list[InputSpec]:
    """``"1x3x224x224"`` / ``"1x3x224x224,1x10:int64"`` / ``(1, 3, 224, 224)`` → input specs."""
    if not isinstance(text, str):
        items = list(text)
        if not items:
            raise InputSpecError("empty input shape: write sizes like 1x3x224x224")
        if not all(isinstance(d, int) or _is_shape(d) for d in items):
            raise InputSpecError(f"malformed input shape {text!r}: sizes must be integers, e.g. (1, 3, 224, 224)")
        if all(isinstance(d, int) for d in items):
            return [_checked(tuple(int(d) for d in items), str(text))]
        return [_checked(tuple(int(d) for d in s), str(text)) for s in items]
    specs = []
    for part in text.split(","):
        part = part.strip()
        shape_text, _, dtype_text = part.partition(":")
        dims = re.split(r"\s*[x×*]\s*", shape_text.strip().lower())
        if not shape_text.strip() or not all(d.isascii() and d.isdigit() for d in dims):
            raise InputSpecError(
                f"malformed input shape {part!r}: write sizes like 1x3x224x224 "
                "(several inputs separated by commas, an integer input as 1x128:int64)"
            )
        dtype = "float32"
        if dtype_text:
            try:
                dtype = dtypes.canonical(dtype_text)
            except dtypes.DtypeError:
                raise InputSpecError(
                    f"unknown input dtype {dtype_text!r} in {part!r}: use one of {', '.join(dtypes.DTYPES)}"
                ) from None
        specs.append(_checked(tuple(int(d) for d in dims), part, dtype))
    return specs


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(isinstance(d, int) for d in value)


SEED = 0
"""Real example inputs are drawn from a generator seeded with this: two runs see the same values."""

MAX_ELEMENTS = 2**48
"""An input with more elements than this (a petabyte at float32) is a typo, not a model input."""


def _checked(shape: tuple[int, ...], text: str, dtype: str = "float32") -> InputSpec:
    if not shape or any(d <= 0 for d in shape):
        raise InputSpecError(f"malformed input shape {text!r}: every size must be a positive integer")
    elements = 1
    for d in shape:
        elements *= d
    if elements > MAX_ELEMENTS:
        raise InputSpecError(f"input shape {text!r} has {elements:.3g} elements: more than any model input (2^48)")
    return InputSpec(shape, dtype)


def input_specs_for(source: ModelSource, input_shape: Any = None) -> list[InputSpec]:
    """``input_shape`` if given, else the model's own default; InputSpecError when neither exists."""
    if input_shape is not None:
        return parse_inputs(input_shape)
    if source.input_specs:
        return source.input_specs
    raise InputSpecError(f"{source.label} has no default input shape: pass --input (e.g. --input 1x3x224x224)")


def make_inputs(specs: list[InputSpec], float_dtype: Any = None, meta: bool = False, device: Any = "cpu") -> list[Any]:
    """Example tensors for ``specs``: empty on meta; otherwise random floats (always the same ones:
    a generator seeded with :data:`SEED`, the caller's global RNG untouched) and zero integers.

    ``float_dtype`` (a torch dtype) overrides the dtype of floating inputs. An input the machine
    cannot hold is one line (:class:`InputSpecError`), not an allocator traceback.
    """
    import torch

    generator = None if meta else torch.Generator(device=device).manual_seed(SEED)
    tensors = []
    for spec in specs:
        dtype = getattr(torch, spec.dtype)
        if float_dtype is not None and dtype.is_floating_point:
            dtype = float_dtype
        try:
            if meta:
                tensors.append(torch.empty(spec.shape, dtype=dtype, device="meta"))
            elif dtype.is_floating_point:
                tensors.append(torch.randn(spec.shape, dtype=dtype, device=device, generator=generator))
            else:
                tensors.append(torch.zeros(spec.shape, dtype=dtype, device=device))
        except (RuntimeError, MemoryError) as err:
            raise InputSpecError(f"cannot make an input of shape {spec} on {device}: {first_line(err)}") from None
    return tensors


def with_batch(specs: Sequence[InputSpec], batch: int | None) -> list[InputSpec]:
    """``specs`` with their first dimension set to ``batch`` (None: unchanged)."""
    if batch is None:
        return list(specs)
    if batch <= 0:
        raise InputSpecError(f"batch must be a positive integer, got {batch}")
    return [_checked((batch, *spec.shape[1:]), f"{batch}x{shape_text(spec.shape[1:])}", spec.dtype) for spec in specs]
