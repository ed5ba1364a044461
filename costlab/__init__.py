"""costlab: what a PyTorch network really costs on hardware, and why.

``costlab.profile(model_or_spec, input_shape=...)`` returns a :class:`Report` of parameters,
MACs, FLOPs, bytes accessed and element-wise work per layer; ``costlab.memory`` the peak memory of
inference or a training step, and the largest batch that fits; ``costlab.lint`` checks ShuffleNet V2's
guidelines on it; ``costlab.measure_latency`` times the real model; ``costlab.predict`` predicts its
latency from the device's calibration without running it; ``costlab.reconcile`` explains why fvcore,
torch's FlopCounterMode, thop, ptflops and torchinfo print other numbers. Importing ``costlab`` is cheap:
torch is imported on first use of the API, so ``costlab --help`` stays fast. ARCHITECTURE.md maps
the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costlab._lazy import lazy_attributes

__version__ = "0.1.0"

__all__ = [
    "Costs",
    "LayerRecord",
    "MemoryReport",
    "Report",
    "Totals",
    "__version__",
    "create_model",
    "lint",
    "list_models",
    "measure_latency",
    "memory",
    "predict",
    "profile",
    "reconcile",
    "register_model",
]

if TYPE_CHECKING:
    from costlab.compare import reconcile
    from costlab.cost.costs import Costs
    from costlab.cost.memory import memory
    from costlab.cost.memory_report import MemoryReport
    from costlab.cost.profile import profile
    from costlab.cost.report import LayerRecord, Report, Totals
    from costlab.rules.engine import lint
    from costlab.timing.calibrations import predict
    from costlab.timing.measure import measure_latency
    from costlab.zoo import create_model, list_models, register_model

_LAZY = {
    "profile": "costlab.cost.profile",
    "memory": "costlab.cost.memory",
    "MemoryReport": "costlab.cost.memory_report",
    "lint": "costlab.rules.engine",
    "measure_latency": "costlab.timing.measure",
    "predict": "costlab.timing.calibrations",
    "reconcile": "costlab.compare",
    "Report": "costlab.cost.report",
    "LayerRecord": "costlab.cost.report",
    "Totals": "costlab.cost.report",
    "Costs": "costlab.cost.costs",
    "list_models": "costlab.zoo",
    "create_model": "costlab.zoo",
    "register_model": "costlab.zoo",
}

__getattr__ = lazy_attributes(__name__, _LAZY)
