"""Each counter's conventions on nets small enough to count by hand, and the known bugs the notes claim.

Every expected number is worked out in the comment beside it, from the counter's source, and is
compared with what the counter itself printed (``total``) and with the reconciliation's differences.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from costlab.compare import CounterResult, reconcile


class ConvBNPoolFC(nn.Module):
    """conv 3→4 3×3 (no bias) on 1×3×8×8, BN, ReLU, global average pool, Linear(4, 10).

    costlab MACs: conv 4·64·27 = 6,912 + linear 4·10 = 40 → 6,952.
    costlab FLOPs: 2·6,952 = 13,904 + BN 2·256 + ReLU 256 + mean 256 + bias 10 = 14,938.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.relu(self.bn(self.conv(x)))), 1))


class Upsampler(nn.Module):
    """ConvTranspose2d(4, 8, 2, stride=2) on 1×4×5×5 → 1×8×10×10.

    MACs are per input position: 100 inputs (4·5·5) · 8 outputs · 2·2 kernel = 3,200; the bias adds 800.
    """

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 8, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


class Attention(nn.Module):
    """softmax(x xᵀ) x on 1×2×16×8: scores 2·16·16 = 512, MACs 512·(8 + 8) = 8,192, FLOPs 2·8,192 + 3·512 = 17,920."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(x, x, x)


class Tokens(nn.Module):
    """Linear(8, 4) on 2×5×8 tokens: MACs 2·5·8·4 = 320, bias 2·5·4 = 40."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class ConvReLU(nn.Module):
    """conv 3→4 3×3 (no bias) + ReLU on a batch of 2: MACs 2·4·64·27 = 13,824, ReLU 2·4·64 = 512 elements."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x))


def counter(model: nn.Module, shape: str, name: str) -> CounterResult:
    pytest.importorskip(name)
    (result,) = reconcile(model, shape, counters=name).counters
    assert result.status == "ok", result.reason
    return result


def amounts(result: CounterResult) -> dict[str, int]:
    return {d.what: d.amount for d in result.differences}


def test_fvcore_counts_macs_and_batch_norm_and_global_pooling():
    result = counter(ConvBNPoolFC(), "1x3x8x8", "fvcore")
    # 6,952 MACs + batch norm 2·256 = 512 + adaptive average pool 1 per input element: 256
    assert result.total == 7_720
    assert amounts(result) == {"batch norm at 2 per element": 512, "adaptive average pooling at 1 per input element": 256}
    assert result.skipped_ops == {"aten.relu": 1}
    assert result.unexplained == 0


def test_torch_counts_two_per_multiply_add_and_nothing_else():
    result = counter(ConvBNPoolFC(), "1x3x8x8", "torch")
    # 2·6,952 = 13,904: the bias, batch norm, ReLU and pooling of costlab's 14,938 FLOPs are not counted
    assert result.total == 13_904
    assert amounts(result) == {"skips the bias add of addmm / baddbmm (linear layers)": -10, "skips batch norm": -512,
                               "skips element-wise ops": -256, "skips pooling and reductions": -256}
    assert result.unexplained == 0


def test_thop_counts_batch_norm_at_four_per_element():
    result = counter(ConvBNPoolFC(), "1x3x8x8", "thop")
    # 6,952 + BN 2·2·256 = 1,024 + adaptive pool (8/1 · 8/1 + 1) · 4 outputs = 260 → 8,236
    assert result.total == 8_236
    assert amounts(result) == {"batch norm at 4 per element": 1_024, "adaptive average pooling at window + 1 per output": 260}


def test_ptflops_counts_activations_and_pooling_twice():
    result = counter(ConvBNPoolFC(), "1x3x8x8", "ptflops")
    # 6,952 + BN 2·256 + ReLU hook 256 + F.relu 256 + pool hook 256 + F.adaptive_avg_pool2d 256 + linear bias 10
    assert result.total == 8_498
    assert amounts(result)["F.relu again, through its patch"] == 256
    assert amounts(result)["F.adaptive_avg_pool2d again, through its patch"] == 256


def test_torchinfo_counts_parameters_times_the_batch():
    result = counter(ConvBNPoolFC(), "1x3x8x8", "torchinfo")
    # conv weight 108 · 64 positions = 6,912; BN (4 + 4) · batch 1 = 8; Linear (40 + 10) · 1 = 50 → 6,970
    assert result.total == 6_970
    assert amounts(result) == {"BatchNorm2d parameters × batch": 8, "linear bias × batch": 10}


@pytest.mark.parametrize(
    ("name", "total", "differences"),
    [
        ("fvcore", 3_200, {}),  # batch · prod(weight) · input positions = 1 · 128 · 25: right
        ("torch", 6_400, {"skips the bias add of convolutions": -800}),  # 2 · 3,200, no bias
        # per *output* position: 800 outputs · 4 in-channels · 4 kernel = 12,800 = 4 × (stride 2)²
        ("thop", 12_800, {"transposed convolutions per output position (×stride²)": 9_600}),
        ("ptflops", 4_000, {"bias adds at 1 per output": 800}),  # 4 kernel · 4 · 8 · 25 inputs + 800 bias
        # weight 128 · 100 output positions + bias 8 · 100
        ("torchinfo", 13_600, {"transposed convolutions per output position (×stride²)": 9_600,
                               "convolution bias at 1 per output": 800}),
    ],
)
def test_transposed_convolution(name, total, differences):
    result = counter(Upsampler(), "1x4x5x5", name)
    assert (result.total, amounts(result), result.unexplained) == (total, differences, 0)


@pytest.mark.parametrize("name", ["fvcore", "torch", "thop", "ptflops", "torchinfo"])
def test_attention_counts_zero_everywhere_on_cpu(name):
    # fvcore has no handle for scaled_dot_product_attention, torch's registry no formula for the CPU kernel,
    # and the hook counters see a module without rules or weights: each counts 0 of costlab's 8,192 MACs
    result = counter(Attention(), "1x2x16x8", name)
    assert result.total == 0
    assert sum(amounts(result).values()) == (-17_920 if name == "torch" else -8_192)
    assert result.unexplained == 0


def test_torchinfo_counts_linear_once_per_sample_not_per_token():
    result = counter(Tokens(), "2x5x8", "torchinfo")
    # output.shape[0] = 2 samples · (32 weights + 4 biases) = 72, not 320 + 40
    assert result.total == 72
    assert amounts(result) == {"nn.Linear once per sample, not per position": 72 - 8 - 320, "linear bias × batch": 8}


def test_ptflops_divides_module_counts_by_the_batch_but_not_the_functionals():
    result = counter(ConvReLU(), "2x3x8x8", "ptflops")
    # hooks (13,824 + 512) / 2 = 7,168, plus F.relu's 512 undivided
    assert result.total == 7_680
    assert amounts(result)["module counts divided by the batch size (2)"] == 7_680 - (13_824 + 512 + 512)


def test_flop_counter_ignores_groups_in_the_weight_gradient():
    # the note's claim, checked on torch itself: a depthwise 3×3 conv on 1×4×8×8 has 4·64·9 = 2,304 MACs
    # forward, and as many for each gradient; FlopCounterMode's weight gradient counts 4 (= groups) times that
    from torch.utils.flop_counter import FlopCounterMode

    conv = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    with FlopCounterMode(display=False) as flops:
        conv(x).sum().backward()
    forward, grad_input, grad_weight = 2 * 2_304, 2 * 2_304, 2 * 2_304
    assert flops.get_total_flops() == forward + grad_input + 4 * grad_weight


def test_thop_leaves_buffers_on_modules_it_has_no_rule_for():
    thop = pytest.importorskip("thop")
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardswish())
    thop.profile(model, (torch.zeros(1, 3, 8, 8),), verbose=False)
    assert "total_ops" in model[1].state_dict() and "total_ops" not in model[0].state_dict()
    # costlab runs it on a copy: the model handed to reconcile keeps its state_dict as it was
    clean = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardswish())
    keys = set(clean.state_dict())
    reconcile(clean, "1x3x8x8", counters="thop")
    assert set(clean.state_dict()) == keys
