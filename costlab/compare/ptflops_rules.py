"""ptflops' ``get_model_complexity_info`` (pytorch backend): what it counts, as arithmetic over costlab's records.

ptflops (``ptflops/pytorch_engine.py``, ``pytorch_ops.py``) counts two ways at once:

* **module hooks** on every module whose exact type it knows, summed from the top and stopping at a
  known module: convolutions ``kernel · C_in · C_out/groups`` per position plus 1 per output for the
  bias, ``nn.Linear`` ``in · out`` per row plus the bias, activations (ReLU, ReLU6, PReLU, ELU,
  LeakyReLU, GELU) 1 per output, pooling 1 per input element, batch / instance / group norm 1 per
  element (2 with ``affine``), ``nn.Upsample`` 1 per output of the first sample — all divided by
  the batch size (a per-sample average);
* **patched functionals**: while it runs, ``F.relu``, ``F.relu6``, ``F.gelu``, ``F.silu``, ``F.elu``,
  ``F.prelu``, the pooling functions, ``F.softmax`` and ``F.interpolate`` (and ``torch.matmul``,
  ``torch.add``, ``torch.mul`` and friends, but not the operators ``@``, ``+``, ``*``) count 1 per
  input element at every call — including the calls ``nn.ReLU``, ``nn.MaxPool2d``,
  ``nn.AdaptiveAvgPool2d``, … make in their own ``forward``, which the module hooks count already.

NB: the dispatch level cannot tell ``F.relu(x)`` from ``torch.relu(x)`` or ``x.relu()``. A ReLU-like
op outside the modules above is taken to be the ``F`` function (counted); ``aten.add`` / ``mul`` /
``mm`` outside ``nn.Linear`` the operators (not counted). Other spellings show as ``unexplained``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from costlab.compare.engine import Measured, Seen, Term
from costlab.compare.registry import CounterSpec, register

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.capture import OpRecord
    from costlab.cost.tracker import ModuleCall

WHY_BIAS = "ptflops counts the bias add of a convolution or a linear layer at 1 per output; costlab counts it in FLOPs"
WHY_ELEMENTWISE = "ptflops counts activations at 1 per output, pooling at 1 per input element, normalization at 1 per element (2 with affine)"
WHY_TWICE = (
    "ptflops patches torch.nn.functional while it runs and counts every call, so a module whose forward calls "
    "the patched function (nn.ReLU → F.relu, nn.MaxPool2d → F.max_pool2d) is counted by its hook and again by the patch"
)
WHY_BATCH = "ptflops divides its module counts by the batch size (a per-sample average), but not its functional counts"

ModuleRule = Callable[["nn.Module", "ModuleCall"], "tuple[int, str, str]"]
ACTIVATIONS = ("ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU")
POOLS = ("MaxPool1d", "AvgPool1d", "AvgPool2d", "MaxPool2d", "MaxPool3d", "AvgPool3d", "AdaptiveMaxPool1d",
         "AdaptiveAvgPool1d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool3d", "AdaptiveAvgPool3d")
NORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
         "GroupNorm", "LayerNorm")


def _pool_function(name: str) -> str:
    """``AdaptiveAvgPool2d`` → ``F.adaptive_avg_pool2d``."""
    return "F." + "_".join(word.lower() for word in re.findall("[A-Z][a-z]*", name[:-2])) + name[-2:]


# module type → the patched functional its forward calls
FORWARD_CALLS = {
    "ReLU": "F.relu", "ELU": "F.elu", "PReLU": "F.prelu", "GELU": "F.gelu", "SiLU": "F.silu", "Softmax": "F.softmax",
    **{name: _pool_function(name) for name in POOLS},
    "Upsample": "F.interpolate", "UpsamplingNearest2d": "F.interpolate", "UpsamplingBilinear2d": "F.interpolate",
}
# aten op outside those modules → the functional assumed to have made it
FUNCTIONAL_OPS = {
    "aten.relu": "F.relu", "aten.gelu": "F.gelu", "aten.silu": "F.silu", "aten.elu": "F.elu",
    "aten._prelu_kernel": "F.prelu", "aten.max_pool2d_with_indices": "F.max_pool2d", "aten.max_pool2d": "F.max_pool2d",
    "aten.avg_pool2d": "F.avg_pool2d", "aten._adaptive_avg_pool2d": "F.adaptive_avg_pool2d",
    "aten.adaptive_max_pool2d": "F.adaptive_max_pool2d", "aten._softmax": "F.softmax",
    "aten.upsample_nearest2d": "F.interpolate", "aten.upsample_bilinear2d": "F.interpolate",
}


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _conv(module: Any, call: ModuleCall, transposed: bool) -> tuple[int, str, str]:
    x, y = call.input_shapes[0], call.output_shapes[0]
    per_position = math.prod(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
    positions = x[0] * _numel((x if transposed else y)[2:])
    bias = _numel(y) if module.bias is not None else 0
    return per_position * positions + bias, "bias adds at 1 per output", WHY_BIAS


def _linear(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    x, y = call.input_shapes[0], call.output_shapes[0]
    bias = y[-1] if module.bias is not None else 0
    return (x[-1] * y[-1] + bias) * _numel(x[:-1]), "bias adds at 1 per output", WHY_BIAS


def _activation(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    return _numel(call.output_shapes[0]), "activations at 1 per element", WHY_ELEMENTWISE


def _pool(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    return _numel(call.input_shapes[0]), "pooling at 1 per input element", WHY_ELEMENTWISE


def _norm(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    per = 2 if getattr(module, "affine", False) else 1  # LayerNorm's affine is `elementwise_affine`: not seen
    kind = type(module).__name__.rstrip("123d").replace("BatchNorm", "batch norm").replace("InstanceNorm", "instance norm")
    kind = kind.replace("GroupNorm", "group norm").replace("LayerNorm", "layer norm")
    return per * _numel(call.input_shapes[0]), f"{kind} at {per} per element", WHY_ELEMENTWISE


def _upsample(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    y = call.output_shapes[0]
    return _numel(y[1:]), "nn.Upsample at 1 per output of the first sample", WHY_ELEMENTWISE


def _module_rules() -> dict[type, ModuleRule]:
    from torch import nn

    table: dict[type, ModuleRule] = {}
    for name in ("Conv1d", "Conv2d", "Conv3d"):
        table[getattr(nn, name)] = lambda m, c: _conv(m, c, transposed=False)
    for name in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        table[getattr(nn, name)] = lambda m, c: _conv(m, c, transposed=True)
    table.update({getattr(nn, name): _activation for name in ACTIVATIONS})
    table.update({getattr(nn, name): _pool for name in POOLS})
    table.update({getattr(nn, name): _norm for name in NORMS})
    table[nn.Linear] = _linear
    table[nn.Upsample] = _upsample
    return table


def _functional_count(module: Any, call: ModuleCall) -> int:
    """What a patched functional counts for one call: 1 per input element (``F.interpolate``: per output)."""
    if type(module).__name__.startswith("Upsampl"):
        return _numel(call.output_shapes[0])
    return _numel(call.input_shapes[0])


def predict(seen: Seen) -> list[Term]:
    rules = _module_rules()
    terms = []
    hooked: set[int] = set()
    module_counts = functional_counts = 0
    forwards = set()
    for call in seen.report.calls:
        module = seen.module(call)
        rule = rules.get(type(module)) if module is not None else None
        if rule is not None and not any(a in hooked for a in seen.ancestors(call.index)[1:]):
            hooked.add(call.index)
            count, what, why = rule(module, call)
            module_counts += count
            terms.append(Term(what, why, f"nn.{type(module).__name__}", count, call.index, tuple(seen.ops_within(call.index))))
        functional = FORWARD_CALLS.get(call.type) if call.cls is not None and call.cls.__module__.startswith("torch.nn") else None
        if functional is not None:
            forwards.add(call.index)
            count = _functional_count(module, call)
            functional_counts += count
            what = f"{functional} again, through its patch" if rule is not None else f"{functional} through its patch"
            terms.append(Term(what, WHY_TWICE, functional, count, call.index, in_modules=False))
    for op in seen.report.ops:
        functional = FUNCTIONAL_OPS.get(op.op)
        if functional is not None and op.call not in forwards:
            count = _numel(op.output_shapes[0] if functional == "F.interpolate" else op.input_shapes[0])
            functional_counts += count
            terms.append(Term(f"{functional} through its patch", WHY_TWICE, functional, count, op.call,
                              in_modules=False))
    batch = seen.report.input_shapes[0][0] if seen.report.input_shapes and seen.report.input_shapes[0] else 1
    if batch != 1:
        adjusted = int(module_counts / batch + functional_counts) - (module_counts + functional_counts)
        terms.append(Term(f"module counts divided by the batch size ({batch})", WHY_BATCH, "batch", adjusted, 0,
                          in_modules=False))
    return terms


def skip_why(op: OpRecord) -> str:
    return (
        "ptflops counts only modules whose exact type it knows and the functions it patches: other modules and "
        "the operators (x @ w, x + y) count zero"
    )


def run(model: nn.Module, inputs: list[Any]) -> Measured:
    import contextlib
    import io

    from ptflops import get_model_complexity_info
    from ptflops.pytorch_ops import MODULES_MAPPING

    if len(inputs) != 1:
        raise ValueError(f"ptflops passes the model one input tensor; this model takes {len(inputs)}")
    own: Counter[int] = Counter()

    def recording(hook: Any) -> Any:
        def counted(module: Any, args: Any, output: Any) -> None:
            before = module.__flops__
            hook(module, args, output)
            own[id(module)] += module.__flops__ - before

        return counted

    hooks = {kind: recording(hook) for kind, hook in MODULES_MAPPING.items()}  # per-module numbers, same hooks
    x = inputs[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        total, _params = get_model_complexity_info(
            model, tuple(x.shape[1:]), print_per_layer_stat=False, as_strings=False, input_constructor=lambda _: x,
            ost=printed, custom_modules_hooks=hooks, backend="pytorch",
        )
    if total is None:  # ptflops prints the exception instead of raising it
        lines = [line for line in printed.getvalue().splitlines() if line.strip()]
        raise RuntimeError(lines[1] if len(lines) > 1 else "ptflops gave no result")
    return Measured(int(total), _accumulated(model, own, set(hooks)))


def _accumulated(model: Any, own: Counter[int], known: set[type]) -> dict[str, int]:
    """ptflops' per-module numbers: a known module's own count, else the sum of its children's."""
    found: dict[str, int] = {}

    def walk(name: str, module: Any) -> int:
        if type(module) in known:
            value = own.get(id(module), 0)
            for child_name, child in module.named_children():
                walk(f"{name}.{child_name}" if name else child_name, child)  # listed, not summed
        else:
            value = sum(walk(f"{name}.{n}" if name else n, child) for n, child in module.named_children())
        found[name] = value
        return value

    walk("", model)
    return found


COUNTER = register(
    CounterSpec(
        name="ptflops",
        title="ptflops get_model_complexity_info (pytorch backend)",
        package="ptflops",
        unit="MACs",
        basis="macs",
        run=run,
        predict=predict,
        skip_why=skip_why,
        notes=(
            "counts activations and pooling twice: by the module hook and by its patched torch.nn.functional "
            "(nn.ReLU → F.relu, nn.MaxPool2d → F.max_pool2d, nn.AdaptiveAvgPool2d → F.adaptive_avg_pool2d)",
            "divides module counts by the batch size but not the patched functionals' counts",
            "counts nn.Upsample for the first sample only, and LayerNorm's affine not at all",
            "counts torch.matmul / torch.add but not the operators @ and +: the same model counts differently "
            "depending on how its code is spelled",
        ),
    )
)
