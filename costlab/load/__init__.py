"""From what the user typed to a model and its inputs: specs (:mod:`~costlab.load.specs`), model
files (:mod:`~costlab.load.modelfile`) and inputs (:mod:`~costlab.load.inputs`).

Importing this package imports no torch; building a model does.
"""

from costlab.load.guard import user_code
from costlab.load.inputs import (
    ExampleInputs,
    InputSpec,
    as_example_inputs,
    example_inputs_for,
    make_inputs,
    parse_inputs,
    with_batch,
)
from costlab.load.specs import (
    LIBRARY_PREFIXES,
    Instantiated,
    ModelSource,
    as_source,
    construct,
    constructing,
    instantiate,
    resolve,
)

__all__ = [
    "LIBRARY_PREFIXES",
    "ExampleInputs",
    "InputSpec",
    "Instantiated",
    "ModelSource",
    "as_example_inputs",
    "as_source",
    "construct",
    "constructing",
    "example_inputs_for",
    "instantiate",
    "make_inputs",
    "parse_inputs",
    "resolve",
    "user_code",
    "with_batch",
]
