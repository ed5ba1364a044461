"""Model inputs: what ``--input`` says, what a model file or library says, and the example tensors made from them.

Shapes are written ``1x3x224x224``; several inputs are separated by commas, and an input of
another dtype takes a suffix from :mod:`costlab.dtypes` (``1x128:int64``). Python callers may give
a tuple ``(1, 3, 224, 224)`` or a list of them.

Every layer calls a model with one :class:`ExampleInputs`: positional arguments and keyword
arguments whose leaves are :class:`InputSpec` (a shape and dtype, made into tensors when needed),
the user's own tensors, or plain values passed as they are; lists, tuples and dicts nest (a
detector takes a list of images, a Hugging Face model ``input_ids=`` and ``attention_mask=``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from costlab import dtypes
from costlab.errors import InputSpecError, first_line
from costlab.units import shape_text

if TYPE_CHECKING:
    from costlab.load.specs import ModelSource

__all__ = [
    "SEED",
    "ExampleInputs",
    "InputSpec",
    "as_example_inputs",
    "example_inputs_for",
    "make_inputs",
    "parse_inputs",
    "with_batch",
]

SEED = 0
"""Random example inputs come from a private generator seeded with this: the same numbers every run
(a detector's proposals, and so its counts, depend on them), and the user's global RNG untouched."""


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


def example_inputs_for(source: ModelSource, input_shape: Any = None, inputs: Any = None) -> ExampleInputs:
    """``input_shape`` or ``inputs`` if given (not both), else the model's own default; InputSpecError
    when there is none."""
    if input_shape is not None and inputs is not None:
        raise InputSpecError("give input_shape or inputs, not both")
    if inputs is not None:
        return as_example_inputs(inputs)
    if input_shape is not None:
        specs = parse_inputs(input_shape)
        default = source.default_inputs() if source.origin == "torchvision" else None
        if default is not None and not default.kwargs and len(default.args) == 1 and isinstance(default.args[0], list):
            return ExampleInputs((specs,))  # a detector takes its images as one list: -i 3x512x512,3x600x800
        return ExampleInputs.of_specs(specs)
    default = source.default_inputs()
    if default is not None:
        return default
    raise InputSpecError(f"{source.label} has no default input shape: pass --input (e.g. --input 1x3x224x224)")


def make_inputs(specs: Sequence[InputSpec], float_dtype: Any = None, meta: bool = False, device: Any = "cpu") -> list[Any]:
    """Example tensors for ``specs``: empty on meta; otherwise random floats (always the same ones:
    a generator seeded with :data:`SEED`, the caller's global RNG untouched) and zero integers.

    ``float_dtype`` (a torch dtype) overrides the dtype of floating inputs. An input the machine
    cannot hold is one line (:class:`InputSpecError`), not an allocator traceback.
    """
    args, _ = ExampleInputs.of_specs(specs).make(meta=meta, float_dtype=float_dtype, device=device)
    return list(args)


@dataclass(frozen=True)
class ExampleInputs:
    """What a model is called with: ``model(*args, **kwargs)``.

    Leaves are :class:`InputSpec` (made into tensors by :meth:`make`), tensors (the user's own:
    copied, never handed to the model itself) or plain values; lists, tuples and dicts nest.
    ``origin`` says where a default came from, for the note that tells the user which input was used.
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    origin: str | None = None

    @classmethod
    def of_specs(cls, specs: Sequence[InputSpec], origin: str | None = None) -> ExampleInputs:
        return cls(tuple(specs), {}, origin)

    def leaves(self) -> list[Any]:
        """The tensor-like leaves (specs and tensors), positional ones first, in order."""
        found: list[Any] = []
        _leaves((self.args, list(self.kwargs.values())), found)
        return found

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """The shape of every tensor input, in order (what a report's ``input_shapes`` lists)."""
        return tuple(tuple(leaf.shape) for leaf in self.leaves())

    @property
    def specs(self) -> list[InputSpec] | None:
        """The inputs as plain specs when they are exactly positional specs (what ``--input`` can say), else None."""
        if self.kwargs or not all(isinstance(a, InputSpec) for a in self.args):
            return None
        return list(self.args)

    def note(self) -> str | None:
        """Which input a default is, and where it came from (None for an input the user gave)."""
        return f"input {self}: {self.origin} (pass --input to change it)" if self.origin else None

    def __str__(self) -> str:
        parts = [_text(a) for a in self.args] + [f"{k}={_text(v)}" for k, v in self.kwargs.items()]
        return ", ".join(parts) if parts else "no inputs"

    def with_batch(self, batch: int | None) -> ExampleInputs:
        """The first dimension of every tensor set to ``batch``; a list argument (a detector's images)
        gets ``batch`` items. None: unchanged."""
        if batch is None:
            return self
        if batch <= 0:
            raise InputSpecError(f"batch must be a positive integer, got {batch}")
        args = tuple(_batched(a, batch) for a in self.args)
        kwargs = {k: _batched(v, batch) for k, v in self.kwargs.items()}
        return ExampleInputs(args, kwargs, self.origin)

    def make(
        self, *, meta: bool = False, float_dtype: Any = None, device: Any = "cpu", channels_last: bool = False
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(args, kwargs)`` of tensors: empty ones on meta; else seeded random floats and zero
        integers for specs, and copies of the user's tensors, on ``device``. ``float_dtype`` (a torch
        dtype) re-types floating inputs; ``channels_last`` lays 4-d ones out NHWC."""
        import torch

        generator = torch.Generator().manual_seed(SEED)

        def tensor(leaf: Any) -> Any:
            if isinstance(leaf, InputSpec):
                dtype = getattr(torch, leaf.dtype)
                dtype = float_dtype if float_dtype is not None and dtype.is_floating_point else dtype
                try:
                    if meta:
                        made = torch.empty(leaf.shape, dtype=dtype, device="meta")
                    elif dtype.is_floating_point:
                        made = torch.randn(leaf.shape, dtype=dtype, generator=generator).to(device)
                    else:
                        made = torch.zeros(leaf.shape, dtype=dtype, device=device)
                except (RuntimeError, MemoryError) as err:  # an input the machine cannot hold: one line
                    raise InputSpecError(f"cannot make an input of shape {leaf} on {device}: {first_line(err)}") from None
            elif isinstance(leaf, torch.Tensor):
                dtype = float_dtype if float_dtype is not None and leaf.is_floating_point() else leaf.dtype
                if meta:
                    made = torch.empty_like(leaf, dtype=dtype, device="meta")
                else:
                    made = leaf.detach().to(device=device, dtype=dtype, copy=True)
            else:
                return leaf
            if channels_last and made.dim() == 4:
                made = made.contiguous(memory_format=torch.channels_last)
            return made

        args = tuple(_mapped(a, tensor) for a in self.args)
        kwargs = {k: _mapped(v, tensor) for k, v in self.kwargs.items()}
        return args, kwargs


def as_example_inputs(value: Any, origin: str | None = None) -> ExampleInputs:
    """What a user gives as inputs: a tensor (one argument), a tuple (the positional arguments), a
    dict (keyword arguments), a list (one argument that is a list, as a detector takes its images),
    or an :class:`ExampleInputs` as it is."""
    import torch

    if isinstance(value, ExampleInputs):
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise InputSpecError("keyword inputs need string keys (the forward's argument names)")
        return ExampleInputs((), dict(value), origin)
    if isinstance(value, tuple):
        return ExampleInputs(value, {}, origin)
    if isinstance(value, (torch.Tensor, InputSpec, list)):
        return ExampleInputs((value,), {}, origin)
    raise InputSpecError(
        f"inputs must be a tensor, a tuple of positional arguments or a dict of keyword arguments, "
        f"not {type(value).__name__}"
    )


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_leaf(value: Any) -> bool:
    return isinstance(value, InputSpec) or _is_tensor(value)


def _leaves(value: Any, found: list[Any]) -> None:
    if _is_leaf(value):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _leaves(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _leaves(item, found)


def _mapped(value: Any, fn: Any) -> Any:
    if _is_leaf(value):
        return fn(value)
    if isinstance(value, list):
        return [_mapped(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_mapped(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _mapped(v, fn) for k, v in value.items()}
    return value


def _batched(value: Any, batch: int) -> Any:
    if isinstance(value, list):
        return [value[i % len(value)] for i in range(batch)] if value else value
    if isinstance(value, tuple):
        return tuple(_batched(v, batch) for v in value)
    if isinstance(value, dict):
        return {k: _batched(v, batch) for k, v in value.items()}
    if isinstance(value, InputSpec):
        if not value.shape:
            return value
        return _checked((batch, *value.shape[1:]), f"{batch}x{shape_text(value.shape[1:])}", value.dtype)
    if _is_leaf(value) and value.dim() > 0 and value.shape[0] != batch:
        return value[:1].expand(batch, *value.shape[1:])
    return value


def _text(value: Any) -> str:
    if isinstance(value, InputSpec):
        return str(value)
    if _is_leaf(value):
        text = shape_text(tuple(value.shape)) if value.dim() else "scalar"
        name = str(value.dtype).removeprefix("torch.")
        return text if name == "float32" else f"{text}:{name}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def with_batch(specs: Sequence[InputSpec], batch: int | None) -> list[InputSpec]:
    """``specs`` with their first dimension set to ``batch`` (None: unchanged)."""
    if batch is None:
        return list(specs)
    if batch <= 0:
        raise InputSpecError(f"batch must be a positive integer, got {batch}")
    return [_checked((batch, *spec.shape[1:]), f"{batch}x{shape_text(spec.shape[1:])}", spec.dtype) for spec in specs]
