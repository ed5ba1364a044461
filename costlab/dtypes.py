"""The one dtype table: the names costlab accepts (``--dtype``, ``1x128:int64``) and their aliases.

``canonical("fp16")`` → ``"float16"``; ``float_dtype(...)`` also requires a floating dtype (what
``--dtype`` sets for parameters and floating inputs); :func:`to_torch` gives the ``torch.dtype``.
No torch import until :func:`to_torch` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costlab.errors import InputSpecError

if TYPE_CHECKING:
    import torch

__all__ = ["ALIASES", "DTYPES", "FLOAT_DTYPES", "DtypeError", "canonical", "float_dtype", "name_of", "to_torch"]

FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")
"""What ``--dtype`` takes: parameters and floating inputs are counted (or run) at this dtype."""
DTYPES = (*FLOAT_DTYPES, "int64", "int32", "int16", "int8", "uint8", "bool")
"""What an input may be (``--input 1x128:int64``)."""
ALIASES = {
    "fp32": "float32", "float": "float32", "f32": "float32",
    "fp16": "float16", "half": "float16", "f16": "float16",
    "bf16": "bfloat16",
    "fp64": "float64", "double": "float64", "f64": "float64",
    "long": "int64", "int": "int32", "short": "int16",
}


class DtypeError(InputSpecError):
    """A dtype name costlab does not know (or an integer dtype where a floating one is needed)."""


def canonical(name: str) -> str:
    """``fp16`` / ``half`` / ``float16`` → ``float16``; the same for every name in :data:`DTYPES`."""
    key = str(name).strip().lower().removeprefix("torch.")
    key = ALIASES.get(key, key)
    if key not in DTYPES:
        raise DtypeError(f"unknown dtype {name!r}: use one of {', '.join(DTYPES)}")
    return key


def float_dtype(name: str) -> str:
    """:func:`canonical`, and floating: what ``--dtype`` may be."""
    key = ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
    if key not in FLOAT_DTYPES:
        raise DtypeError(f"unknown dtype {name!r}: use one of {', '.join(FLOAT_DTYPES)} (or fp32, fp16, bf16, fp64)")
    return key


def to_torch(name: str) -> torch.dtype:
    """The ``torch.dtype`` of a name in :data:`DTYPES` (or an alias)."""
    import torch

    return getattr(torch, canonical(name))


def name_of(dtype: torch.dtype) -> str:
    """``torch.float16`` → ``float16``."""
    return str(dtype).removeprefix("torch.")
