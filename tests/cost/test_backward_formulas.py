"""``costlab.profile(..., train=True)``: a training step's MACs and FLOPs against closed forms.

The rule: a convolution's or a matmul's backward costs its forward MACs once for the weight
gradient and once for the input gradient; the first layer's input needs no gradient, so its
backward is one forward's worth. (torch 2.13's FlopCounterMode counts a depthwise convolution's
weight gradient ``C`` times over — it ignores ``groups`` — so it is not the oracle here.)
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import costlab
from tests.conftest import TINY_NET, Snippet

# tiny_net (tests/models/tiny_net.py) at 1x3x32x32: conv1 3→8 (221,184 MACs forward), conv2 8→16 (1,179,648)
CONV1, CONV2 = 221_184, 1_179_648


def test_first_layer_backward_is_one_forward_the_others_two():
    report = costlab.profile(str(TINY_NET), train=True)
    rows = {row.name: row for row in report.layers()}
    assert rows["conv1"].macs == CONV1 + CONV1  # forward + weight gradient (the image needs none)
    assert rows["conv2"].macs == CONV2 + 2 * CONV2  # forward + weight gradient + input gradient
    assert report.totals.macs == 2 * CONV1 + 3 * CONV2  # 3,981,312
    assert report.phases()["forward"]["macs"] == CONV1 + CONV2
    assert report.phases()["backward"]["macs"] == CONV1 + 2 * CONV2


def test_conv_backward_flops_are_twice_the_macs_plus_the_bias_gradient():
    # conv2's backward: 2·(2·1,179,648) FLOPs for the two gradients + its bias gradient, a sum over
    # grad_output (16·1024 = 16,384 elements): 4,734,976
    report = costlab.profile(str(TINY_NET), train=True)
    backward = [op for op in report.ops if op.backward and op.op == "aten.convolution_backward"]
    by_layer = {report.calls[op.call].name: op.cost for op in backward}
    assert by_layer["conv2"].flops == 2 * 2 * CONV2 + 16 * 1024
    assert by_layer["conv1"].flops == 2 * CONV1 + 8 * 1024
    assert by_layer["conv1"].category == "conv"


def _after_a_conv(module: nn.Module, channels: int, size: int) -> costlab.Report:
    """``module`` fed by a 1×1 conv, so that its input requires grad (as inside a network)."""
    stem = nn.Conv2d(channels, channels, 1, bias=False)
    return costlab.profile(Snippet(lambda parts, x: parts["m"](parts["stem"](x)), stem=stem, m=module),
                           (1, channels, size, size), train=True)


def test_depthwise_conv_weight_gradient_costs_its_forward_macs():
    # Conv2d(32, 32, 3, groups=32) on 16×16: forward 32·256·(1·9) = 73,728 MACs; its backward
    # 2 × 73,728 (FlopCounterMode would count the weight gradient 32 × 73,728)
    report = _after_a_conv(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), 32, 16)
    row = {r.name: r for r in report.layers()}["parts.m"]
    assert row.macs == 3 * 73_728
    backward = [op for op in report.ops if op.backward and op.op == "aten.convolution_backward"]
    assert {op.cost.category for op in backward} == {"depthwise_conv", "conv"}


def test_grouped_conv_backward_divides_by_groups_too():
    # Conv2d(32, 64, 3, groups=4) on 8×8: forward 64·64·(8·9) = 294,912 MACs, ×3 for the step
    report = _after_a_conv(nn.Conv2d(32, 64, 3, padding=1, groups=4, bias=False), 32, 8)
    assert {r.name: r for r in report.layers()}["parts.m"].macs == 3 * 294_912


def test_linear_backward_is_two_matmuls_and_a_bias_sum():
    # Linear(64, 10) on 8 rows after Linear(32, 64): forward 8·64·10 = 5,120 MACs (addmm); backward
    # grad_input = grad·W (8·10·64) and grad_W = gradᵀ·x (10·8·64): 2 × 5,120 more
    first, head = nn.Linear(32, 64), nn.Linear(64, 10)
    report = costlab.profile(Snippet(lambda parts, x: parts["head"](parts["first"](x)), first=first, head=head),
                             (8, 32), train=True)
    rows = {r.name: r for r in report.layers()}
    assert rows["parts.head"].macs == 3 * 5_120
    assert rows["parts.first"].macs == 2 * 8 * 32 * 64  # the first layer: forward and weight gradient only


def test_batch_norm_backward_is_nine_flops_per_element():
    # training batch norm over 1×8×16×16 = 2,048 elements after a conv: 5 per element for Σg and Σg·x̂,
    # 4 for the input gradient
    report = _after_a_conv(nn.BatchNorm2d(8), 8, 16)
    backward = [op for op in report.ops if op.backward and op.op == "aten.native_batch_norm_backward"]
    assert len(backward) == 1 and backward[0].cost.flops == 9 * 2_048
    forward = [op for op in report.ops if not op.backward and op.op == "aten.native_batch_norm"]
    assert forward[0].cost.flops == 5 * 2_048  # training mode: statistics of the batch


def test_mobilenet_v2_training_step_is_three_forwards_less_the_first_layers_input_gradient():
    # every conv and the classifier: 3 × forward; features.0.0 (3→32, 3×3, stride 2, 112×112):
    # 32·12,544·27 = 10,838,016 MACs whose input gradient is never computed
    forward = costlab.profile("mobilenet_v2")
    step = costlab.profile("mobilenet_v2", train=True)
    assert step.phases()["forward"]["macs"] == forward.totals.macs == 300_774_272
    assert step.totals.macs == 3 * 300_774_272 - 32 * 12_544 * 27  # 891,484,800
    assert step.unsupported_ops == {}


@pytest.mark.parametrize(
    "name",
    ["alexnet", "ghostnet", "mobilenet_v1_x0_25", "mobilenet_v3_small", "resnet18", "shufflenet_v1_g3",
     "shufflenet_v2_x0_5", "squeezenet1_1", "vgg16", "xception"],
)
def test_every_zoo_family_has_a_formula_for_every_backward_op(name: str):
    step = costlab.profile(name, (1, 3, 96, 96), train=True)
    assert step.unsupported_ops == {}
    assert step.phases()["backward"]["macs"] > step.phases()["forward"]["macs"]


def test_attention_backward_recomputes_the_scores():
    # q, k, v of (1, 2, 16, 8) through the fused kernel torch picks on meta for a training pass: none
    # (meta runs the math path), so the backward is bmm's: every matmul's backward is two more
    def attend(parts: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
        q = parts["q"](x).unflatten(-1, (2, 8)).transpose(1, 2)
        return nn.functional.scaled_dot_product_attention(q, q, q).sum()

    report = costlab.profile(Snippet(attend, q=nn.Linear(16, 16)), (1, 16, 16), train=True)
    assert report.unsupported_ops == {}
    forward, backward = report.phases()["forward"]["macs"], report.phases()["backward"]["macs"]
    linear = 16 * 16 * 16  # 4,096: its backward is only the weight gradient (x needs none)
    attention = forward - linear  # q·kᵀ and scores·v
    assert backward == linear + 2 * attention


def test_fused_attention_backward_recomputes_the_scores_and_makes_four_products():
    # real tensors on CPU take the flash kernel (causal, no dropout). q = k = v of (1, 2, 16, 8):
    # 1·2·16·16 = 512 scores; forward 512·(8 + 8) = 8,192 MACs; backward q·kᵀ again, dV, dP, dQ, dK:
    # 512·(3·8 + 2·8) = 20,480. The linear (16·16·16 = 4,096 MACs) adds its weight gradient only.
    def attend(parts: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
        q = parts["q"](x).unflatten(-1, (2, 8)).transpose(1, 2)
        return nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)

    report = costlab.profile(Snippet(attend, q=nn.Linear(16, 16)), (1, 16, 16), train=True, real=True)
    fused = [op for op in report.ops if "flash_attention" in op.op]
    assert [op.backward for op in fused] == [False, True]
    assert [op.cost.macs for op in fused] == [8_192, 20_480]
    assert report.phases()["backward"]["macs"] == 4_096 + 20_480


def test_a_forward_json_keeps_its_contract_and_a_training_one_says_so():
    assert "train" not in costlab.profile(str(TINY_NET)).to_dict()
    data = costlab.profile(str(TINY_NET), train=True).to_dict()
    assert data["train"] is True
    assert data["phases"]["backward"]["macs"] == CONV1 + 2 * CONV2


def test_profiling_a_training_step_changes_nothing_the_caller_had():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    costlab.profile(model, (2, 3, 8, 8), train=True)
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
