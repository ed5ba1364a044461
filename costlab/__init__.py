"""costlab: what a PyTorch network really costs on hardware, and why.

``costlab.profile(model_or_spec, input_shape=...)`` returns a :class:`Report` of parameters,
MACs, FLOPs, memory access (bytes) and element-wise work per layer. Importing ``costlab`` is
cheap: torch is imported on first use of the API, so ``costlab --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costlab._lazy import lazy_attributes

__version__ = "0.1.0"

__all__ = [
    "profile",
    "lint",
    "measure_latency",
    "Report",
    "LayerRecord",
    "Totals",
    "list_models",
    "create_model",
    "register_model",
    "__version__",
]

if TYPE_CHECKING:
    from costlab.cost.profile import profile
    from costlab.lint import lint
    from costlab.timing.measure import measure_latency
    from costlab.cost.report import LayerRecord, Report, Totals
    from costlab.zoo import create_model, list_models, register_model

_LAZY = {
    "profile": "costlab.cost.profile",
    "lint": "costlab.lint",
    "measure_latency": "costlab.timing.measure",
    "Report": "costlab.cost.report",
    "LayerRecord": "costlab.cost.report",
    "Totals": "costlab.cost.report",
    "list_models": "costlab.zoo",
    "create_model": "costlab.zoo",
    "register_model": "costlab.zoo",
}

__getattr__ = lazy_attributes(__name__, _LAZY)
