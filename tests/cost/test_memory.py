"""``costlab.memory`` against closed-form lifetimes, against torch's own MemTracker and a real run,
and the promise that estimating changes nothing the caller had.

Bytes are float32 (4 bytes). ``device="cpu"`` counts exact bytes; ``device="cuda"`` rounds every
storage up to 512 bytes, as the CUDA caching allocator does.

tests/models/tiny_net.py at 1x3x32x32: conv1 Conv2d(3, 8, 3) → act ReLU → conv2 Conv2d(8, 16, 3).
  parameters (224 + 1,168)·4 = 5,568 B (w1 864, b1 32, w2 4,608, b2 64); input 3·1024·4 = 12,288 B
  a1 = conv1's output 8·1024·4 = 32,768 B; r = act's output 32,768 B; y = conv2's output 16·1024·4 = 65,536 B
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import costlab
from costlab.cost.capture import NoBackward
from costlab.cost.memory import UnknownOptimizer
from costlab.cost.memory_report import DoesNotFit
from costlab.load import resolve
from costlab.units import QuantityError
from tests.conftest import TINY_NET, Snippet

TINY = str(TINY_NET)
PARAMS, INPUT = 5_568, 12_288
A1 = R = 32_768
Y = 65_536


def test_inference_peak_is_the_two_maps_of_the_last_conv():
    # a1 dies when act returns (nothing keeps it); conv2 runs with r and y live: 32,768 + 65,536
    report = costlab.memory(TINY, device="cpu")
    assert report.peak_bytes == PARAMS + INPUT + R + Y  # 116,160
    assert report.breakdown == {"parameters": PARAMS, "buffers": 0, "inputs": INPUT, "optimizer_state": 0,
                                "gradients": 0, "activations": R + Y, "temporaries": 0}
    assert (report.peak_at.layer, report.peak_at.phase, report.peak_at.op) == ("conv2", "forward", "aten.convolution")


def test_training_peak_is_in_relus_backward():
    # forward: act saves r (ReLU's gradient reads its result), conv2 saves r (for its weight gradient),
    # y is the output (held); a1 is saved by no one and dies. loss = y.sum(): 4 B; autograd's seed
    # ones_like(loss): 4 B, held by backward() until it returns.
    # conv2's backward makes grad_r 32,768, grad_w2 4,608, grad_b2 64 (the weight gradients stay);
    # then act's backward makes grad_a1 32,768 while r and grad_r still live: the peak.
    report = costlab.memory(TINY, train=True, device="cpu")
    activations = R + Y + 4 + 4  # 98,312
    gradients = 4_608 + 64
    temporaries = 32_768 + 32_768  # grad_r and grad_a1
    assert report.peak_bytes == PARAMS + INPUT + activations + gradients + temporaries  # 186,376
    assert report.breakdown["activations"] == activations
    assert report.breakdown["gradients"] == gradients
    assert report.breakdown["temporaries"] == temporaries
    assert (report.peak_at.layer, report.peak_at.phase, report.peak_at.op) == ("act", "backward", "aten.threshold_backward")
    assert report.phase_peaks["forward"] == PARAMS + INPUT + R + Y + 8  # 116,168: conv2 with r and y, then the loss
    rows = {row.name: row for row in report.layers()}
    assert rows["conv1"].saved_bytes == 0 and rows["conv1"].activation_bytes == A1  # a1: made, never kept
    assert rows["act"].saved_bytes == R
    # at the peak: act's own r and grad_a1; conv2's y and the gradients its backward made
    assert rows["act"].held_at_peak_bytes == R + 32_768
    assert rows["conv2"].held_at_peak_bytes == Y + 32_768 + gradients


def test_rows_add_up_to_the_peak_at_every_depth():
    report = costlab.memory("mobilenet_v2", train=True, optimizer="adam")
    for depth in (None, 0, 1, 2):
        rows = report.layers(depth)
        assert sum(r.held_at_peak_bytes for r in rows) + report.resident_bytes == report.peak_bytes
    assert sum(report.breakdown.values()) == report.peak_bytes
    assert max(report.phase_peaks.values()) == report.peak_bytes


def test_mobilenet_v2_inference_peak_closed_form():
    # features.2 expands 16 → 96 channels at 112×112 (stride 2 comes after): its block input
    # (16·112²·4 = 802,816), the 1×1 conv's output and the batch norm's (96·112²·4 = 4,816,896 each)
    report = costlab.memory("mobilenet_v2", device="cpu")
    params = 3_504_872 * 4  # 14,019,488
    # 52 batch norms over 17,056 channels in all: running mean and var (2·17,056 floats) and
    # num_batches_tracked (one int64 each)
    buffers = 2 * 17_056 * 4 + 52 * 8  # 136,864
    assert report.breakdown["buffers"] == buffers
    assert report.peak_bytes == params + buffers + 3 * 224 * 224 * 4 + 16 * 12_544 * 4 + 2 * 96 * 12_544 * 4
    assert report.peak_at.layer == "features.2.conv.0.1"


def test_cuda_rounds_every_storage_to_512_bytes():
    # parameters w1 864 → 1,024, b1 32 → 512, w2 4,608, b2 64 → 512: 6,656; maps are multiples of 512
    report = costlab.memory(TINY, device="cuda")
    assert report.alignment_bytes == 512
    assert report.breakdown["parameters"] == 1_024 + 512 + 4_608 + 512
    assert report.peak_bytes == 6_656 + INPUT + R + Y


def test_adam_foreach_step_allocates_one_square_root_per_parameter():
    # steady state: exp_avg and exp_avg_sq resident (2 × 6,656 at 512-byte blocks). The foreach step
    # (CUDA's default) runs _foreach_sqrt over every exp_avg_sq at once: 6,656 more, while y, the
    # gradients (6,656) and nothing else of the pass live (loss and its seed died with backward()).
    report = costlab.memory(TINY, train=True, optimizer="adam", device="cuda")
    params = 6_656
    assert report.breakdown["optimizer_state"] == 2 * params
    assert report.phase_peaks["optimizer"] == params + INPUT + 2 * params + Y + params + params  # 111,104


def test_adam_on_cpu_steps_one_parameter_at_a_time():
    # CPU: single-tensor Adam. For each parameter denom = (exp_avg_sq.sqrt() / c).add_(eps): a square
    # root and a quotient of its size, while the previous parameter's denom still lives. The largest,
    # w2 (4,608), comes after b1 (32): 32 + 2·4,608.
    report = costlab.memory(TINY, train=True, optimizer="adam", device="cpu")
    assert report.breakdown["optimizer_state"] == 2 * PARAMS
    assert report.phase_peaks["optimizer"] == PARAMS + INPUT + 2 * PARAMS + Y + PARAMS + 32 + 2 * 4_608  # 109,344


def test_sgd_keeps_one_momentum_buffer():
    report = costlab.memory(TINY, train=True, optimizer="sgd", device="cpu")
    assert report.breakdown["optimizer_state"] == PARAMS


def test_views_share_storage_and_in_place_ops_allocate_nothing():
    # y = relu(x) is the only allocation (4·1000·4 = 16,000 B): view, transpose and add_ make none
    def fn(x: torch.Tensor) -> torch.Tensor:
        y = x.relu()
        z = y.view(-1, 4).t()
        z.add_(1.0)
        return z

    report = costlab.memory(Snippet(fn), (4, 1000), device="cpu")
    assert report.breakdown["activations"] == 16_000
    assert report.peak_bytes == 16_000 + 16_000


def test_fp16_halves_every_floating_byte():
    full = costlab.memory(TINY, device="cpu")
    half = costlab.memory(TINY, device="cpu", dtype="fp16")
    assert half.peak_bytes * 2 == full.peak_bytes
    assert half.dtype == "float16"


def test_cpu_attention_takes_the_flash_kernel_when_torch_would():
    # causal, no dropout: CPU flash attention keeps out (2·4·64·16·4 = 32,768 B) and its logsumexp
    # (2·4·64 floats = 2,048 B), never the 64×64 scores (2·4·64·64·4 = 131,072 B each)
    def fn(q: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, q, q, is_causal=True)

    original = F.scaled_dot_product_attention
    flash = costlab.memory(Snippet(fn), (2, 4, 64, 16), device="cpu")
    assert flash.breakdown["activations"] == 32_768 + 2_048
    assert F.scaled_dot_product_attention is original  # routed for the pass only

    def with_dropout(q: torch.Tensor) -> torch.Tensor:  # CPU refuses flash with dropout: the math path
        return F.scaled_dot_product_attention(q, q, q, dropout_p=0.1)

    math_path = costlab.memory(Snippet(with_dropout), (2, 4, 64, 16), device="cpu")
    assert math_path.breakdown["activations"] >= 131_072  # at least one 64×64 score matrix


def test_fit_finds_the_largest_batch():
    # inference: peak(b) = 5,568 + b·(12,288 + 98,304) = 5,568 + 110,592·b; 1 MB holds b = 8
    # (890,304 B), not 9 (1,000,896 B)
    report = costlab.memory(TINY, device="cpu", fit="1MB")
    assert report.fit.max_batch == 8
    assert report.fit.peak_bytes == 5_568 + 8 * 110_592
    assert report.fit.next_peak_bytes == 5_568 + 9 * 110_592
    assert report.peak_bytes == 5_568 + 110_592  # the report itself stays at the input asked for


def test_fit_below_batch_one_says_what_batch_one_needs():
    with pytest.raises(DoesNotFit, match=r"even batch 1 needs 116\.2 KB"):
        costlab.memory(TINY, device="cpu", fit="100 KB")


@pytest.mark.parametrize(("fit", "says"), [("12 parsecs", "not a size in bytes"), ("12 ms", "is a time"),
                                            ("-1GB", "negative"), ("0", "no memory at all")])
def test_fit_with_a_bad_unit_is_refused(fit: str, says: str):
    with pytest.raises(QuantityError, match=says):
        costlab.memory(TINY, fit=fit)


def test_unknown_optimizer_lists_the_known_ones():
    with pytest.raises(UnknownOptimizer, match="sgd, adam, adamw"):
        costlab.memory(TINY, train=True, optimizer="lion")


def test_backward_needs_something_to_differentiate():
    frozen = nn.Sequential(nn.Linear(4, 4))
    frozen.requires_grad_(False)
    with pytest.raises(NoBackward, match="no parameter requires grad"):
        costlab.memory(frozen, (2, 4), train=True)
    with pytest.raises(NoBackward, match="no floating-point output"):
        costlab.memory(Snippet(lambda parts, x: parts["m"](x).argmax(1), m=nn.Linear(4, 4)), (2, 4), train=True)


def test_estimating_changes_nothing_the_caller_had():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.ReLU())
    model.eval()
    before = copy.deepcopy(model.state_dict())
    rng = torch.random.get_rng_state()
    costlab.memory(model, (2, 3, 8, 8), train=True, optimizer="adam")
    costlab.memory(model, (2, 3, 8, 8), train=True, real=True)
    assert not model.training and all(not m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # running stats untouched
    assert torch.equal(rng, torch.random.get_rng_state())


def test_a_model_that_needs_real_values_falls_back_seeded(tmp_path):
    def fn(x: torch.Tensor) -> torch.Tensor:
        n = int(x.abs().sum().item()) % 3 + 1  # data-dependent: no meta tensor has a value
        return x.repeat(n, 1)

    rng = torch.random.get_rng_state()
    first = costlab.memory(Snippet(fn), (4, 10), device="cpu")
    second = costlab.memory(Snippet(fn), (4, 10), device="cpu")
    assert first.captured_on == "cpu" and "seed 0" in first.notes[0]
    assert first.peak_bytes == second.peak_bytes  # seeded: the same inputs, the same branch
    assert torch.equal(rng, torch.random.get_rng_state())


# -- independent oracles --------------------------------------------------------------------------


class Mixed(nn.Module):
    """A little of everything a training pass meets: conv, batch norm, ReLU6, depthwise conv, a
    residual add, max pooling, dropout, layer norm, GELU, fused attention, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.depthwise = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16))
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.1)
        self.norm = nn.LayerNorm(16)
        self.qkv = nn.Linear(16, 48)
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.pool(x + self.depthwise(x))
        tokens = self.drop(x.flatten(2).transpose(1, 2))  # (b, 64, 16)
        q, k, v = self.qkv(F.gelu(self.norm(tokens))).unflatten(-1, (2, 24)).transpose(1, 2).chunk(3, dim=-1)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (b, 2, 64, 8)
        return self.head(attended.transpose(1, 2).flatten(2).mean(1).repeat(1, 2))


def _mem_tracker_peak(model: nn.Module, x: torch.Tensor) -> int:
    mem_tracker = pytest.importorskip("torch.distributed._tools.mem_tracker")
    tracker = mem_tracker.MemTracker()
    tracker.track_external(model, x)
    with tracker:
        y = model(x)
        y.sum().backward()
    del y
    return tracker.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]


@pytest.mark.parametrize(("model", "shape"), [("tiny", (1, 3, 32, 32)), ("mixed", (2, 3, 16, 16))])
def test_training_peak_equals_torchs_mem_tracker_on_a_real_cpu_run(model: str, shape: tuple[int, ...]):
    # torch.distributed._tools.mem_tracker follows the storages of a real run with weak references
    # too — its own code, on real CPU kernels (flash attention included); both count parameters,
    # buffers and inputs, neither a kernel's workspace. The meta estimate agrees to the byte.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        built = resolve(TINY).build(False) if model == "tiny" else Mixed()
        built.train()
        x = torch.randn(shape)
    expected = _mem_tracker_peak(built, x)
    for p in built.parameters():
        p.grad = None
    assert costlab.memory(built, shape, train=True, device="cpu").peak_bytes == expected


@pytest.mark.parametrize("train", [False, True])
def test_meta_estimate_equals_the_real_run_tracked_alike(train: bool):
    # the same tracker on real CPU tensors: what the meta kernels allocate is what CPU kernels do
    on_meta = costlab.memory(Mixed(), (2, 3, 16, 16), train=train, device="cpu")
    for_real = costlab.memory(Mixed(), (2, 3, 16, 16), train=train, device="cpu", real=True)
    assert (on_meta.captured_on, for_real.captured_on) == ("meta", "cpu")
    assert on_meta.peak_bytes == for_real.peak_bytes
    assert on_meta.breakdown == for_real.breakdown
