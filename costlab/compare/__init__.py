"""Why the counters disagree: costlab's numbers reconciled with fvcore's, torch's, thop's, ptflops' and torchinfo's.

:func:`reconcile` runs each installed counter on a copy of the model and explains its number as
costlab's MACs or FLOPs plus each difference of convention (:mod:`~costlab.compare.engine`); one
module per counter holds its conventions (``fvcore_rules``, ``torch_rules``, ``thop_rules``,
``ptflops_rules``, ``torchinfo_rules``), registered in :mod:`~costlab.compare.registry`.
"""

from costlab.compare.engine import CounterResult, Difference, ModuleRow
from costlab.compare.run import Comparison, UnknownCounterError, known_counters
from costlab.compare.run import reconcile_counters as reconcile

__all__ = ["Comparison", "CounterResult", "Difference", "ModuleRow", "UnknownCounterError", "known_counters", "reconcile"]
