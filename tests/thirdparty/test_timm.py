"""A broad sample of timm's models at their own ``pretrained_cfg["input_size"]``, against torch's own
counter (``FlopCounterMode``: MACs = its FLOPs / 2 for a forward pass) and unique parameters.

All 1,371 are swept by ``benchmarks/bench_coverage.py``; here one small model of each family.
"""

from __future__ import annotations

import pytest
import torch

import costlab
from tests.thirdparty.setup import HAS_TIMM, HAS_TORCHVISION

if not (HAS_TIMM and HAS_TORCHVISION):
    pytest.skip("timm (and the torchvision it imports) are not installed", allow_module_level=True)
timm = pytest.importorskip("timm")

# one small member per family, fixed-size ViTs and models whose input is not 224 among them (CaiT and
# PiT are left out: the oracle itself fails on them, "Expected gradient function to be set")
SAMPLE = [
    "resnet18", "resnet50d", "efficientnet_b0", "mobilenetv3_small_050", "mobilenetv4_conv_small", "ghostnet_100",
    "regnetx_002", "convnext_atto", "convnextv2_atto", "swin_tiny_patch4_window7_224", "swinv2_cr_tiny_ns_224",
    "vit_tiny_patch16_224", "vit_tiny_patch16_384", "deit_tiny_patch16_224", "levit_128s", "maxvit_nano_rw_256",
    "coatnet_nano_rw_224", "efficientformer_l1", "mobilevit_xxs", "poolformer_s12", "resmlp_12_224",
    "mixer_s32_224", "densenet121", "dla34", "dpn48b", "hrnet_w18_small", "inception_v3", "xception41",
    "repvgg_a0", "rexnet_100", "tinynet_e", "lcnet_050", "fastvit_t8", "edgenext_xx_small", "tf_efficientnet_b0",
    "crossvit_tiny_240", "tnt_s_patch16_224", "nfnet_l0", "cspresnet50",
    "eva02_tiny_patch14_224", "beit_base_patch16_224", "hgnetv2_b0", "efficientvit_b0", "mambaout_femto",
]


def oracle(name: str) -> tuple[int, int, tuple[int, ...]]:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    size = (1, *timm.models.get_pretrained_cfg(name).input_size)
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:  # attention as matmuls, which it counts
        model(torch.empty(size, device="meta"))
    return counter.get_total_flops() // 2, sum(p.numel() for p in model.parameters()), size


@pytest.mark.parametrize("name", SAMPLE)
def test_timm_model_at_its_own_input_is_exact(name: str) -> None:
    if name not in timm.list_models():
        pytest.skip(f"{name} is not in this timm")
    report = costlab.profile(f"timm:{name}")
    macs, params, size = oracle(name)
    assert report.input_shapes == [size]
    assert report.totals.macs == macs
    assert report.params == params
    assert report.unsupported_ops == {}


def test_fixed_size_vit_fails_fast_at_the_wrong_size() -> None:
    # a ViT at 384 refuses 224 in its patch embedding: one line, from the meta pass alone
    with pytest.raises(costlab.errors.ForwardError, match="patch_embed"):
        costlab.profile("timm:vit_tiny_patch16_384", "1x3x224x224")
