"""torchinfo's ``summary``: its "Total mult-adds", as arithmetic over costlab's records.

torchinfo (``torchinfo/layer_info.py``: ``calculate_macs``) counts from *parameters*, not ops: at
every call of a leaf module (one without children), each parameter named ``weight`` or ``bias``
adds ``numel(param) · N · prod(output spatial)`` when the class name contains "Conv", and
``numel(param) · output.shape[0]`` otherwise; other parameters whose names contain "weight" or
"bias" (an RNN's ``weight_ih_l0``) add ``numel · prod(output.shape[:2])``. The total sums leaf
layers only. So a convolution's weight term is its multiply-adds and its bias adds 1 per output;
``nn.Linear`` on ``(N, in)`` is its multiply-adds plus the bias; batch norm adds ``2·C`` per
sample; anything without parameters (activations, pooling, ``x + y``, ``torch.matmul``) counts zero.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from costlab.compare.engine import Measured, Seen, Term
from costlab.compare.registry import CounterSpec, register

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.capture import OpRecord
    from costlab.cost.tracker import ModuleCall

WHY_PARAMS = (
    "torchinfo counts mult-adds from parameters: each weight and bias × the batch size "
    "(× output positions when the class name contains 'Conv'), at every call of a leaf module"
)
WHY_TRANSPOSED = (
    "torchinfo multiplies a transposed convolution's weight by the output positions; its multiply-adds "
    "are per input position, so it is overcounted by about stride²"
)
WHY_LINEAR = (
    "torchinfo multiplies nn.Linear's weight by output.shape[0] only: on (N, L, in) it counts one position "
    "per sample, not L"
)


def _terms(module: Any, call: ModuleCall, covers: tuple[int, ...]) -> list[Term]:
    """One call's terms: the weights (which replace costlab's ops inside) and the biases (added)."""
    out = list(call.output_shapes[0]) if call.output_shapes else []
    name = type(module).__name__
    conv = "Conv" in name
    seen_as = f"nn.{name}"
    weights = biases = 0
    for param_name, param in module.named_parameters():
        numel = param.numel()
        if param_name in ("weight", "bias"):
            count = numel * math.prod(out[:1] + out[2:]) if conv else out[0] * numel
        elif "weight" in param_name or "bias" in param_name:
            count = math.prod(out[:2]) * numel
        else:
            continue
        if "bias" in param_name:
            biases += count
        else:
            weights += count
    if conv:
        what = "transposed convolutions per output position (×stride²)" if "Transpose" in name else "convolutions"
        weight_why, bias_what = (WHY_TRANSPOSED if "Transpose" in name else WHY_PARAMS), "convolution bias at 1 per output"
    elif name == "Linear":
        what, weight_why, bias_what = "nn.Linear once per sample, not per position", WHY_LINEAR, "linear bias × batch"
    else:
        what, weight_why, bias_what = f"{name} parameters × batch", WHY_PARAMS, f"{name} parameters × batch"
    if not weights and not biases:
        return [Term("leaf modules without weights as zero", WHY_PARAMS, seen_as, 0, call.index, covers)]
    if not conv and name != "Linear":  # one rule for all its parameters: one term
        return [Term(what, weight_why, seen_as, weights + biases, call.index, covers)]
    terms = [Term(what, weight_why, seen_as, weights, call.index, covers)]
    if biases:
        terms.append(Term(bias_what, WHY_PARAMS, seen_as, biases, call.index))
    return terms

def predict(seen: Seen) -> list[Term]:
    terms = []
    for call in seen.report.calls:
        module = seen.module(call)
        if module is None or any(True for _ in module.children()):
            continue  # modules built inside forward have no hooks; only leaf layers are summed
        terms.extend(_terms(module, call, tuple(seen.ops_within(call.index))))
    return terms


def skip_why(op: OpRecord) -> str:
    return "torchinfo counts parameters, so work outside leaf modules with weights (x @ w, F.linear) counts zero"


def run(model: nn.Module, inputs: list[Any]) -> Measured:
    import torchinfo
    from torchinfo import torchinfo as implementation

    cache = getattr(implementation, "_cached_forward_pass", None)
    cached = set(cache) if isinstance(cache, dict) else set()
    try:
        stats = torchinfo.summary(model, input_data=list(inputs), verbose=0, device="cpu", mode="eval")
    finally:
        if isinstance(cache, dict):  # torchinfo keeps every summary in a module-level cache: drop ours
            for key in set(cache) - cached:
                del cache[key]
    names = {id(module): name for name, module in model.named_modules()}
    modules: dict[str, int] = {"": 0}
    for layer in stats.summary_list:
        name = names.get(id(layer.module))
        if not layer.is_leaf_layer or not layer.macs or name is None:
            continue
        parts = name.split(".") if name else []
        for depth in range(len(parts) + 1):
            prefix = ".".join(parts[:depth])
            modules[prefix] = modules.get(prefix, 0) + int(layer.macs)
    return Measured(int(stats.total_mult_adds), modules)


COUNTER = register(
    CounterSpec(
        name="torchinfo",
        title="torchinfo summary (Total mult-adds)",
        package="torchinfo",
        unit="mult-adds",
        basis="macs",
        run=run,
        predict=predict,
        skip_why=skip_why,
        notes=(
            "counts parameters, not ops: functional work (x @ w, F.linear, attention) counts zero",
            "counts nn.Linear on (N, L, in) once per sample instead of L times",
            "counts a transposed convolution per output position: about stride² times its multiply-adds",
            "adds each batch norm's 2·C parameters × batch, and every bias × its outputs",
        ),
    )
)
