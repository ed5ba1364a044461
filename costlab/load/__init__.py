"""From what the user typed to a model and its inputs: specs (:mod:`~costlab.load.specs`), model
files (:mod:`~costlab.load.modelfile`) and inputs (:mod:`~costlab.load.inputs`).

Importing this package imports no torch; building a model does.
"""

from costlab.load.inputs import InputSpec, input_specs_for, make_inputs, parse_inputs, with_batch
from costlab.load.specs import (
    LIBRARY_PREFIXES,
    Instantiated,
    ModelSource,
    as_source,
    constructing,
    instantiate,
    resolve,
)

__all__ = [
    "InputSpec",
    "ModelSource",
    "Instantiated",
    "parse_inputs",
    "input_specs_for",
    "make_inputs",
    "with_batch",
    "resolve",
    "as_source",
    "constructing",
    "instantiate",
    "LIBRARY_PREFIXES",
]
