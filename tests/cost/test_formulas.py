"""Every cost formula against closed-form arithmetic, through the real capture path (meta device).

Bytes are float32 (4 bytes) unless a test says otherwise; "elements" are counted first and the
byte figure is 4 × that, with the arithmetic beside each number.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from costlab.cost import formulas
from costlab.cost.categories import Category
from tests.conftest import profile_snippet as snippet

F32 = 4


def conv(module: nn.Module, shape: tuple[int, ...]):
    return snippet(lambda parts, x: parts["m"](x), shape, m=module)


# -- convolution ----------------------------------------------------------------------------------


def test_conv2d_3x3_no_bias():
    report = conv(nn.Conv2d(8, 16, 3, padding=1, bias=False), (1, 8, 10, 10))
    t = report.totals
    assert t.macs == 16 * 10 * 10 * (8 * 3 * 3)  # C_out·H·W·(C_in·k²) = 115,200
    assert t.flops == 2 * 115_200
    # read input 8·10·10 + weight 16·8·3·3, write output 16·10·10: (800 + 1152 + 1600) elements
    assert t.bytes_accessed == (800 + 1152 + 1600) * F32
    assert report.by_category()["conv"]["ops"] == 1


def test_conv_bias_adds_one_flop_per_output_and_its_bytes():
    report = conv(nn.Conv2d(8, 16, 3, padding=1, bias=True), (1, 8, 10, 10))
    t = report.totals
    assert t.macs == 115_200
    assert t.flops == 2 * 115_200 + 16 * 10 * 10  # the fused bias add: one per output element
    assert t.bytes_accessed == (800 + 1152 + 16 + 1600) * F32


def test_pointwise_conv_memory_access_is_shufflenet_v2_equation_1():
    # ShuffleNet V2 Eq. 1: MAC = h·w·(c1 + c2) + c1·c2 for a 1×1 conv, here c1=24, c2=144, 56×56
    report = conv(nn.Conv2d(24, 144, 1, bias=False), (1, 24, 56, 56))
    assert report.totals.bytes_accessed == (56 * 56 * (24 + 144) + 24 * 144) * F32  # 530,304 elements
    assert report.totals.macs == 56 * 56 * 24 * 144  # B = h·w·c1·c2 = 10,838,016


def test_grouped_conv_divides_macs_by_groups():
    report = conv(nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False), (1, 8, 10, 10))
    assert report.totals.macs == 16 * 10 * 10 * (8 // 4) * 9  # 28,800
    assert set(report.by_category()) == {"conv"}


def test_depthwise_conv_is_its_own_category():
    report = conv(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), (1, 8, 10, 10))
    assert report.totals.macs == 8 * 10 * 10 * 9  # one 3×3 filter per channel: 7,200
    assert set(report.by_category()) == {Category.DEPTHWISE_CONV}


def test_depthwise_with_channel_multiplier_is_still_depthwise():
    report = conv(nn.Conv2d(4, 8, 3, padding=1, groups=4, bias=False), (1, 4, 6, 6))
    assert report.totals.macs == 8 * 6 * 6 * 9  # 2,592
    assert set(report.by_category()) == {Category.DEPTHWISE_CONV}


def test_strided_dilated_conv_counts_its_output_size():
    # out = (9 + 2·2 − 2·(3−1) − 1) // 2 + 1 = 5
    report = conv(nn.Conv2d(4, 4, 3, stride=2, dilation=2, padding=2, bias=False), (1, 4, 9, 9))
    assert report.layers()[0].output_shape == (1, 4, 5, 5)
    assert report.totals.macs == 4 * 5 * 5 * (4 * 9)  # 3,600


def test_conv1d_and_conv3d():
    one = conv(nn.Conv1d(4, 6, 3, bias=False), (1, 4, 10))
    assert one.totals.macs == 6 * 8 * (4 * 3)  # length 10 − 3 + 1 = 8: 576
    three = conv(nn.Conv3d(2, 3, 3, bias=False), (1, 2, 4, 4, 4))
    assert three.totals.macs == 3 * (2 * 2 * 2) * (2 * 27)  # 2×2×2 outputs: 1,296


def test_transposed_conv_scatters_each_input():
    report = conv(nn.ConvTranspose2d(4, 2, 3, stride=2, bias=False), (1, 4, 5, 5))
    assert report.layers()[0].output_shape == (1, 2, 11, 11)  # (5 − 1)·2 + 3
    assert report.totals.macs == (4 * 5 * 5) * 2 * 9  # every input element × C_out × k²: 1,800


def test_batch_of_eight_multiplies_conv_macs():
    single = conv(nn.Conv2d(3, 4, 3, bias=False), (1, 3, 6, 6)).totals.macs
    batch = conv(nn.Conv2d(3, 4, 3, bias=False), (8, 3, 6, 6)).totals.macs
    assert batch == 8 * single == 8 * 4 * 4 * 4 * 27


# -- matrix products ------------------------------------------------------------------------------


def test_linear_is_addmm_with_bias():
    report = snippet(lambda parts, x: parts["fc"](x), (2, 10), fc=nn.Linear(10, 20))
    t = report.totals
    assert t.macs == 2 * 10 * 20  # 400
    assert t.flops == 2 * 400 + 2 * 20  # plus the bias add per output
    assert t.bytes_accessed == (20 + 2 * 10 + 10 * 20 + 2 * 20) * F32  # bias, x, W, out
    assert report.by_category()["matmul"]["ops"] == 1  # the weight transpose is a free view


def test_linear_on_a_sequence():
    report = snippet(lambda parts, x: parts["fc"](x), (2, 5, 10), fc=nn.Linear(10, 20, bias=False))
    assert report.totals.macs == 2 * 5 * 10 * 20  # 2,000


@pytest.mark.parametrize(
    "fn",
    [lambda a, b: a @ b, lambda a, b: torch.bmm(a, b), lambda a, b: torch.einsum("bij,bjk->bik", a, b)],
    ids=["matmul", "bmm", "einsum"],
)
def test_batched_products(fn):
    report = snippet(fn, (3, 4, 5), (3, 5, 6))
    assert report.totals.macs == 3 * 4 * 5 * 6  # 360
    assert report.totals.flops == 2 * 360  # a multiply and an add per MAC, no bias
    # reads a (3·4·5) and b (3·5·6), writes 3·4·6, at 4 bytes: (60 + 90 + 72)·4 = 888
    assert report.totals.bytes_accessed == 888 and report.totals.ops == 1


def test_matrix_vector():
    report = snippet(lambda a, b: a @ b, (4, 5), (5,))
    assert report.totals.macs == 4 * 5  # 20


def test_scaled_dot_product_attention():
    report = snippet(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), (1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8))
    # q kᵀ: 2 heads · 4·4 scores · 8 = 256; scores @ v: 2 · 4·4 · 8 = 256
    assert report.totals.macs == 512
    assert not report.unsupported_ops


def test_fused_attention_formula_directly():
    q = torch.empty(2, 3, 5, 8, device="meta")
    k = torch.empty(2, 3, 7, 8, device="meta")
    v = torch.empty(2, 3, 7, 4, device="meta")
    out = torch.empty(2, 3, 5, 4, device="meta")
    cost = formulas.fused_attention([q, k, v], {}, (out,))
    scores = 2 * 3 * 5 * 7  # batch·heads·L·S = 210
    assert cost.macs == scores * (8 + 4)  # 2,520
    assert cost.flops == 2 * 2520 + 3 * scores
    assert cost.bytes_read == (2 * 3 * 5 * 8 + 2 * 3 * 7 * 8 + 2 * 3 * 7 * 4) * F32
    assert cost.bytes_written == 2 * 3 * 5 * 4 * F32


# -- normalisation ----------------------------------------------------------------------------------


def test_batch_norm_at_inference_is_elementwise_two_flops_per_element():
    report = snippet(lambda parts, x: parts["bn"](x), (1, 8, 10, 10), bn=nn.BatchNorm2d(8))
    t = report.totals
    assert t.flops == 2 * 800  # y = x·scale + shift
    assert t.elementwise_ops == 1 and t.elementwise_elems == 800
    # x and y, plus weight, bias, running mean and var (8 each)
    assert t.bytes_accessed == (800 + 800 + 4 * 8) * F32


def test_layer_norm_and_group_norm():
    layer = snippet(lambda parts, x: parts["ln"](x), (2, 16), ln=nn.LayerNorm(16))
    assert layer.totals.flops == 5 * 32
    assert set(layer.by_category()) == {Category.NORMALIZATION}
    group = snippet(lambda parts, x: parts["gn"](x), (1, 8, 4, 4), gn=nn.GroupNorm(2, 8))
    assert group.totals.flops == 5 * 128


# -- pooling, reductions, softmax -------------------------------------------------------------------


def test_max_pool():
    report = snippet(lambda x: F.max_pool2d(x, 2), (1, 4, 8, 8))
    assert report.totals.flops == (4 * 4 * 4) * 4  # 64 outputs × a 2×2 window
    assert report.by_category()["reduction"]["ops"] == 1


def test_avg_pool():
    report = snippet(lambda x: F.avg_pool2d(x, 3, stride=1, padding=1), (1, 2, 5, 5))
    assert report.totals.flops == (2 * 5 * 5) * 9  # 50 outputs × 3×3 window: 450


def test_global_average_pool_reads_every_element_once():
    report = snippet(lambda x: F.adaptive_avg_pool2d(x, 1), (1, 8, 7, 7))
    assert report.totals.flops == 8 * 49  # 392
    assert report.totals.bytes_accessed == (8 * 49 + 8) * F32


def test_adaptive_pool_to_a_grid():
    report = snippet(lambda x: F.adaptive_avg_pool2d(x, 2), (1, 3, 8, 8))
    assert report.totals.flops == (3 * 2 * 2) * (4 * 4)  # 12 outputs × 4×4 windows: 192


def test_mean_and_sum():
    assert snippet(lambda x: x.mean((2, 3)), (1, 4, 5, 5)).totals.flops == 100
    assert snippet(lambda x: x.sum(1), (2, 3, 4)).totals.flops == 24


def test_softmax():
    report = snippet(lambda x: x.softmax(-1), (2, 10))
    assert report.totals.flops == 3 * 20
    assert report.totals.bytes_accessed == (20 + 20) * F32


# -- resampling and padding -------------------------------------------------------------------------


def test_nearest_upsampling_moves_data_without_arithmetic():
    report = snippet(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), (1, 2, 4, 4))
    assert report.totals.flops == 0
    assert report.totals.bytes_accessed == (32 + 128) * F32  # read 2·4·4, write 2·8·8


def test_bilinear_upsampling():
    report = snippet(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (1, 2, 4, 4))
    assert report.totals.flops == 7 * 128  # 4 multiplies + 3 adds per output
    assert set(report.by_category()) == {Category.RESAMPLE}


def test_padding_is_a_copy():
    report = snippet(lambda x: F.pad(x, (1, 1, 1, 1)), (1, 2, 4, 4))
    assert report.totals.flops == 0
    assert report.totals.bytes_accessed == (2 * 4 * 4 + 2 * 6 * 6) * F32  # 32 read + 72 written


# -- element-wise -----------------------------------------------------------------------------------

UNARY = {
    "relu": F.relu,
    "relu6": F.relu6,
    "hardtanh": F.hardtanh,
    "sigmoid": torch.sigmoid,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "silu": F.silu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "clamp": lambda x: x.clamp(0, 1),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_elementwise(name):
    report = snippet(UNARY[name], (1, 4, 5, 5))
    t = report.totals
    assert t.flops == 100  # one FLOP per output element
    assert t.elementwise_ops == 1 and t.elementwise_elems == 100  # one kernel over 1·4·5·5 elements
    assert report.by_category()["elementwise"]["bytes_accessed"] == (100 + 100) * F32  # read once, written once


def test_inplace_activation_costs_the_same_as_out_of_place():
    outplace = snippet(lambda x: F.relu(x + 1), (1, 4, 5, 5)).totals
    inplace = snippet(lambda x: F.relu(x + 1, inplace=True), (1, 4, 5, 5)).totals
    assert inplace == outplace
    assert inplace.elementwise_ops == 2 and inplace.bytes_accessed == 2 * (100 + 100) * F32


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_elementwise(op):
    fn = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}[op]
    report = snippet(fn, (1, 4, 5, 5), (1, 4, 5, 5))
    t = report.totals
    assert t.flops == 100
    assert t.bytes_accessed == (100 + 100 + 100) * F32  # read both, write one
    assert t.elementwise_ops == 1


def test_broadcast_multiply_reads_the_small_operand_once():
    report = snippet(lambda x, s: x * s, (1, 8, 4, 4), (1, 8, 1, 1))
    assert report.totals.flops == 128
    assert report.totals.bytes_accessed == (128 + 8 + 128) * F32


# -- copies and views -----------------------------------------------------------------------------


def test_cat_reads_and_writes_everything():
    report = snippet(lambda a, b: torch.cat([a, b], 1), (1, 4, 3, 3), (1, 4, 3, 3))
    assert report.totals.flops == 0
    assert report.totals.bytes_accessed == (36 + 36 + 72) * F32
    assert set(report.by_category()) == {Category.DATA_MOVEMENT}


def test_channel_shuffle_costs_exactly_one_copy():
    def shuffle(x):
        b, c, h, w = x.shape
        return x.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, c, h, w)

    report = snippet(shuffle, (1, 4, 2, 2))
    assert report.totals.bytes_accessed == (16 + 16) * F32  # views are free; contiguous reads and writes 16
    assert report.by_category() == {"data_movement": {"ops": 1, "macs": 0, "flops": 0, "bytes_accessed": 128}}


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.view(1, -1),
        lambda x: x.permute(0, 2, 3, 1),
        lambda x: x.flatten(1),
        lambda x: x[:, :2],
        lambda x: x.chunk(2, dim=1)[0],
        lambda x: x.unsqueeze(0).squeeze(0),
        lambda x: x.transpose(2, 3),
        lambda x: torch.unsafe_split(x, 2, dim=1)[0],  # timm's Sequencer (an LSTM model) splits this way
    ],
    ids=["view", "permute", "flatten", "slice", "chunk", "unsqueeze", "transpose", "unsafe_split"],
)
def test_views_are_free_and_not_unsupported(fn):
    report = snippet(fn, (1, 4, 3, 3))
    assert report.totals.bytes_accessed == 0 and report.totals.flops == 0
    assert report.unsupported_ops == {}


def test_an_assert_on_a_value_is_free_and_not_unsupported():
    # Gemma's vision encoder asserts on a tensor's value: the comparison and the reduction before
    # the assert cost what they cost alone, the assert itself nothing (and it is not "unsupported")
    alone = snippet(lambda x: (x > -1).all(), (1, 4, 3, 3)).totals
    asserted = snippet(lambda x: torch._assert_async((x > -1).all()) or x, (1, 4, 3, 3))
    assert asserted.unsupported_ops == {}
    assert asserted.totals.bytes_accessed == alone.bytes_accessed and asserted.totals.flops == alone.flops


def test_reshape_of_a_transposed_tensor_is_a_copy():
    report = snippet(lambda x: x.transpose(1, 2).reshape(1, -1), (1, 4, 3))
    assert report.totals.bytes_accessed == (12 + 12) * F32


# -- dtype and registry hygiene ---------------------------------------------------------------------


def test_float16_halves_the_bytes():
    model = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    import costlab

    full = costlab.profile(model, "1x8x10x10").totals
    half = costlab.profile(model, "1x8x10x10", dtype="float16").totals
    assert half.macs == full.macs
    assert half.bytes_accessed * 2 == full.bytes_accessed
    assert half.param_bytes * 2 == full.param_bytes == 16 * 8 * 9 * F32


def test_no_op_is_both_free_and_costed():
    assert not set(formulas.FORMULAS) & formulas.FREE_OPS


def test_every_formula_is_keyed_by_an_overload_packet_or_a_library_op_name():
    # lookups go by func.overloadpacket, then (ops outside aten) by "namespace::name"; a key of any
    # other kind could never be hit
    import re

    bad = [
        key
        for key in (*formulas.FORMULAS, *formulas.FREE_OPS)
        if not isinstance(key, torch._ops.OpOverloadPacket)
        and not (isinstance(key, str) and re.fullmatch(r"[a-z_]+::[a-z_0-9]+", key) and not key.startswith("aten::"))
    ]
    assert bad == []
