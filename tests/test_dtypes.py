"""The one dtype table: names, aliases, and the floating ones ``--dtype`` takes."""

from __future__ import annotations

import pytest
import torch

from costlab import dtypes
from costlab.timing.devices import resolve_dtype


@pytest.mark.parametrize(
    "name, expected", [("float32", "float32"), ("fp16", "float16"), ("half", "float16"), ("BF16", "bfloat16"), ("float64", "float64"), ("double", "float64"), ("fp64", "float64")]
)
def test_dtype_names(name, expected):
    assert dtypes.float_dtype(name) == expected == dtypes.canonical(name)
    assert resolve_dtype(name, torch.device("cpu")) == getattr(torch, expected)


@pytest.mark.parametrize("name", ["int8", "fp8", "", "float128"])
def test_what_dtype_cannot_be_is_one_clear_error(name):
    with pytest.raises(dtypes.DtypeError, match="unknown dtype"):
        dtypes.float_dtype(name)


def test_inputs_may_be_integers_and_the_names_round_trip():
    assert dtypes.canonical("long") == "int64" and dtypes.to_torch("int") is torch.int32
    assert dtypes.name_of(torch.bfloat16) == "bfloat16"
    with pytest.raises(dtypes.DtypeError):
        dtypes.canonical("complex32")



