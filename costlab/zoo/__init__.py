"""Built-in architectures: the lightweight CNN families and the classic baselines.

Every family lives in its own module and is written from its paper; importing the module
registers its variants. ``list_models`` / ``create_model`` import the families on first use.
"""

from costlab.zoo.registry import (
    UnknownModelError,
    ZooEntry,
    close_names,
    create_model,
    get_entry,
    list_models,
    register_model,
)

__all__ = [
    "UnknownModelError",
    "ZooEntry",
    "close_names",
    "create_model",
    "get_entry",
    "list_models",
    "register_model",
]
