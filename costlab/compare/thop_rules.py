"""thop's ``profile``: what it counts, per module call, as arithmetic over costlab's records.

thop (``thop/profile.py``, ``thop/vision/basic_hooks.py``) puts a forward hook on every module whose
*exact* type has a rule, and sums the counts of those modules (descending through modules without a
rule, stopping at one with a rule). Its rules, per call with input ``x`` and output ``y``:
convolutions ``numel(y) · C_in/groups · prod(kernel)`` (no bias), ``nn.Linear`` ``in_features ·
numel(y)``, normalization 2 per element of ``x``, ×2 with an affine (batch norm at 4 per element),
average pooling 1 per output, adaptive average pooling ``(prod(x/y) + 1)`` per output, softmax
``3n − 1`` per row, upsampling 1 / 5 / 11 / 259 per output (nearest / linear / bilinear / bicubic),
PReLU 1 per element, and zero for ReLU, ReLU6, LeakyReLU, max pooling and dropout. Everything else —
functional calls (``x + y``, ``F.relu``, ``torch.matmul``), modules without a rule (hardswish, SiLU,
GELU, …) — counts zero. thop calls its number MACs, so costlab's MACs are the basis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from costlab.compare.engine import Measured, Seen, Term
from costlab.compare.registry import CounterSpec, register

if TYPE_CHECKING:
    from torch import nn

    from costlab.cost.capture import OpRecord
    from costlab.cost.tracker import ModuleCall

WHY_CONV = (
    "thop counts every convolution as numel(output) · in_channels/groups · kernel; a transposed "
    "convolution's multiply-adds are per input position, so it is overcounted by about stride²"
)
WHY_NORM = (
    "thop counts normalization at 2 per element, ×2 with an affine — at inference too, where batch norm "
    "folds into the convolution; costlab counts no MACs there"
)
WHY_POOL = "thop counts average pooling at 1 per output and adaptive average pooling at (window + 1) per output"
WHY_OTHER = "thop's rule for this module counts element-wise work that costlab does not count as MACs"
UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}

Rule = Callable[["nn.Module", "ModuleCall"], "tuple[int, str, str]"]


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _conv(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    x, y = call.input_shapes[0], call.output_shapes[0]
    count = _numel(y) * (x[1] // module.groups) * math.prod(module.weight.shape[2:])
    return count, "transposed convolutions per output position (×stride²)", WHY_CONV


def _norm(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    name = type(module).__name__
    kind = "layer norm" if name == "LayerNorm" else "instance norm" if "Instance" in name else "batch norm"
    affine = bool(getattr(module, "affine", False) or getattr(module, "elementwise_affine", False))
    per = 4 if affine else 2
    return per * _numel(call.input_shapes[0]), f"{kind} at {per} per element", WHY_NORM


def _zero(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    return 0, "", ""


def _prelu(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    return _numel(call.input_shapes[0]), "PReLU at 1 per element", WHY_OTHER


def _softmax(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    x = call.input_shapes[0]
    features = x[module.dim]
    rows = _numel(x) // features
    return rows * (3 * features - 1), "softmax at 3n − 1 per row of n", WHY_OTHER


def _avg_pool(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    return _numel(call.output_shapes[0]), "average pooling at 1 per output", WHY_POOL


def _adaptive_avg_pool(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    # thop divides the spatial sizes as float64 tensors and truncates (window + 1) · numel(y) to an int
    x, y = call.input_shapes[0], call.output_shapes[0]
    window = 1.0
    for size_in, size_out in zip(x[2:], y[2:]):
        window *= float(size_in) / float(size_out)
    return int((window + 1.0) * _numel(y)), "adaptive average pooling at window + 1 per output", WHY_POOL


def _linear(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    return module.in_features * _numel(call.output_shapes[0]), "linear layers", WHY_OTHER


def _upsample(module: Any, call: ModuleCall) -> tuple[int, str, str]:
    per = UPSAMPLE.get(module.mode, 0)
    return per * _numel(call.output_shapes[0]), f"{module.mode} upsampling at {per} per output", WHY_OTHER


def _rules() -> dict[type, Rule]:
    from torch import nn

    table: dict[type, Rule] = {}
    for names, rule in (
        (("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), _conv),
        (("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "InstanceNorm1d",
          "InstanceNorm2d", "InstanceNorm3d"), _norm),
        (("ZeroPad2d", "ReLU", "ReLU6", "LeakyReLU", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d",
          "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Dropout", "PixelShuffle"), _zero),
        (("PReLU",), _prelu),
        (("Softmax",), _softmax),
        (("AvgPool1d", "AvgPool2d", "AvgPool3d"), _avg_pool),
        (("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"), _adaptive_avg_pool),
        (("Linear",), _linear),
        (("Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"), _upsample),
    ):
        table.update({getattr(nn, name): rule for name in names})
    return table


def predict(seen: Seen) -> list[Term]:
    rules = _rules()
    terms = []
    counted: set[int] = set()
    for call in seen.report.calls:
        module = seen.module(call)
        rule = rules.get(type(module)) if module is not None else None
        if rule is None or any(a in counted for a in seen.ancestors(call.index)[1:]):
            continue  # no rule (counts zero), or inside a module thop already counted whole
        counted.add(call.index)
        count, what, why = rule(module, call)
        seen_as = f"nn.{type(module).__name__}"
        terms.append(Term(what or None, why, seen_as, count, call.index, tuple(seen.ops_within(call.index))))
    return terms


def skip_why(op: OpRecord) -> str:
    return (
        "thop counts only modules whose exact type has a rule, through forward hooks: functional calls "
        "(torch.matmul, F.linear, x @ w) and modules without a rule count zero"
    )


def run(model: nn.Module, inputs: list[Any]) -> Measured:
    import thop

    total, _params, layers = thop.profile(model, tuple(inputs), verbose=False, ret_layer_info=True)
    modules: dict[str, int] = {"": int(total)}

    def walk(prefix: str, children: dict[str, Any]) -> None:
        for name, (ops, _p, grandchildren) in children.items():
            qualified = f"{prefix}.{name}" if prefix else name
            modules[qualified] = int(ops)
            walk(qualified, grandchildren)

    walk("", layers)
    return Measured(int(total), modules)


COUNTER = register(
    CounterSpec(
        name="thop",
        title="thop profile",
        package="thop",
        unit="MACs",
        basis="macs",
        run=run,
        predict=predict,
        skip_why=skip_why,
        notes=(
            "counts batch norm at 4 per element, at inference too (where it folds into the convolution)",
            "counts a transposed convolution per output position: about stride² times its multiply-adds",
            "sees modules only: functional calls (x + y, F.relu, torch.matmul, F.linear) count zero",
            "leaves total_ops / total_params buffers (in state_dict) on every module it has no rule for",
        ),
    )
)
