"""How close ``costlab.memory`` comes to the memory a real pass holds, and how long it takes.

Every number printed is measured in this run; nothing is hard-coded. Sections:

1. accuracy on CPU: the zoo at batch 8, inference and a training step (forward + backward; a few
   with an optimizer step), and two transformers written here (a BERT-like encoder of
   ``nn.TransformerEncoderLayer`` and a GPT-like decoder of plain modules), against the
   allocator's peak as ``torch.profiler.profile(profile_memory=True)`` records it, in two readings:

   * **allocation level** — every allocation and free the profiler saw (its ``[memory]``
     records) summed in time order: the true live bytes, including what a kernel allocates and
     frees inside itself (oneDNN's reorders, the copy CPU ``mm`` makes of a transposed operand),
     which no meta pass can see;
   * **op level** — that same running sum read at the end of every outermost ``aten::`` op: the
     live bytes between ops, which is what costlab models (see :func:`profiler_peaks`; the plain
     sum of ``self_cpu_memory_usage`` in start order reads low in a backward, and is kept in the
     JSON for reference).

   Both add the parameters, buffers, inputs and optimizer state resident before the pass, as
   costlab's ``peak_bytes`` does. costlab runs with ``device="cpu"`` (exact bytes, CPU kernels'
   choices); the target is every model within ±10 % at the op level.
2. on CUDA, when there is a GPU: ``torch.cuda.max_memory_allocated()`` after a reset, against
   ``device="cuda"`` (512-byte blocks, fused attention, foreach optimizers).
3. speed: ``costlab.memory`` against ``costlab.profile`` (interleaved, medians), and a
   GPT-2-XL-shaped model (~1.5 B parameters) built on the meta device, inference and a training
   step with Adam.

    python benchmarks/bench_memory.py                    # everything (about 25 minutes on 2 cores)
    python benchmarks/bench_memory.py --quick            # five zoo models (and the two transformers)
    python benchmarks/bench_memory.py --models 'mobilenet*' --json out.json
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _machine import OtherLoad, loadavg, verdict  # benchmarks/_machine.py, beside this script

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUICK = ["mobilenet_v2", "resnet18", "shufflenet_v2_x1_0", "squeezenet1_1", "mobilenet_v3_small"]
WITH_OPTIMIZER = [("mobilenet_v2", "adam"), ("resnet18", "sgd"), ("shufflenet_v2_x1_0", "adamw")]
BATCH = 8
TARGET = 0.10

# ------------------------------------------------------------------------------------------------
# two transformers, written here so nothing is downloaded
# ------------------------------------------------------------------------------------------------


def transformers() -> dict[str, tuple[Callable[[], Any], str]]:
    import torch
    from torch import nn

    class BertLike(nn.Module):
        """A BERT-base-shaped encoder, smaller: nn.TransformerEncoderLayer × 4, d 256, 4 heads."""

        def __init__(self, vocab: int = 30522, d: int = 256, heads: int = 4, layers: int = 4, seq: int = 128) -> None:
            super().__init__()
            self.tokens = nn.Embedding(vocab, d)
            self.positions = nn.Embedding(seq, d)
            self.norm = nn.LayerNorm(d)
            layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, activation="gelu", batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d, 2)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            positions = torch.arange(ids.shape[1], device=ids.device)
            hidden = self.norm(self.tokens(ids) + self.positions(positions))
            return self.head(self.encoder(hidden)[:, 0])

    class Block(nn.Module):
        def __init__(self, d: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
            y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.out(nn.functional.gelu(self.fc(self.ln2(x))))

    class GptLike(nn.Module):
        """A GPT-2-shaped decoder of plain modules (causal fused attention, tied embedding)."""

        def __init__(self, vocab: int = 50257, d: int = 256, heads: int = 4, layers: int = 4, seq: int = 128) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(seq, d)
            self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return {
        "bert_like": (BertLike, f"{BATCH}x128:int64"),
        "gpt_like": (GptLike, f"{BATCH}x128:int64"),
        "_gpt2_xl": (lambda: GptLike(d=1600, heads=25, layers=48, seq=1024), "1x1024:int64"),
    }


# ------------------------------------------------------------------------------------------------
# the measured peak
# ------------------------------------------------------------------------------------------------


def _storage_bytes(tensors: list[Any]) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        storage = t.untyped_storage()
        seen[id(storage)] = storage.nbytes()
    return sum(seen.values())


def _optimizer(name: str | None, params: list[Any], foreach: bool) -> Any:
    import torch

    if name is None:
        return None
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    return (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(params, foreach=foreach)


def _one_pass(model: Any, inputs: list[Any], train: bool, step: Any) -> Any:
    import torch

    if not train:
        with torch.no_grad():
            return model(*inputs)
    output = model(*inputs)
    sum(o.sum() for o in ([output] if isinstance(output, torch.Tensor) else output)).backward()
    if step is not None:
        step.step()
    return output


def measure_cpu(model: Any, inputs: list[Any], train: bool, optimizer: str | None) -> dict[str, int]:
    """The profiler's peak of one pass on CPU, after a warm-up pass (the optimizer's state made,
    gradients set to None as ``zero_grad`` does), plus what was resident before it."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    model.train(train)
    params = [p for p in model.parameters() if p.requires_grad]
    step = _optimizer(optimizer, params, foreach=False)
    output = _one_pass(model, inputs, train, step)
    del output
    for p in model.parameters():
        p.grad = None
    gc.collect()
    state = [v for s in (step.state.values() if step else ()) for v in s.values() if isinstance(v, torch.Tensor)]
    resident = _storage_bytes([*model.parameters(), *model.buffers(), *inputs, *state])
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        output = _one_pass(model, inputs, train, step)
        del output
    for p in model.parameters():
        p.grad = None
    return {"resident_bytes": resident, **{k: resident + v for k, v in profiler_peaks(prof).items()}}


def profiler_peaks(prof: Any) -> dict[str, int]:
    """Three readings of one profile's live bytes (the pass's own; resident bytes not included).

    ``allocation_level_bytes``: every allocation and free (the ``[memory]`` records) summed in
    time order, its maximum. ``op_level_bytes``: that same running sum read at the end of every
    outermost ``aten::`` op (its outputs made, its in-kernel temporaries — an ``aten::clone``
    inside ``aten::mm`` — already freed), its maximum: the live bytes between ops, what a
    dispatch-level estimate models. ``self_sum_bytes``: each event's ``self_cpu_memory_usage``
    summed in start order; it places a parent event's own frees (autograd releasing saved tensors
    after a node ran) at the parent's start, before its children allocate, so it reads low in a
    backward (kept for reference).
    """
    results = prof.profiler.kineto_results.events()
    records = sorted((e.start_ns(), e.nbytes()) for e in results if e.name() == "[memory]")
    ops = sorted((e.start_ns(), e.end_ns()) for e in results if e.name().startswith("aten::"))
    ends, last_end = [], -1
    for start, end in ops:
        if start >= last_end:  # outermost: not inside the previous outermost op
            ends.append(end)
            last_end = end
    level = allocation_peak = op_peak = 0
    index = 0
    for end in sorted(ends):
        while index < len(records) and records[index][0] <= end:
            level += records[index][1]
            allocation_peak = max(allocation_peak, level)
            index += 1
        op_peak = max(op_peak, level)
    for _, nbytes in records[index:]:
        level += nbytes
        allocation_peak = max(allocation_peak, level)
    self_level = self_peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        self_level += event.self_cpu_memory_usage
        self_peak = max(self_peak, self_level)
    return {"op_level_bytes": op_peak, "allocation_level_bytes": allocation_peak, "self_sum_bytes": self_peak}


def measure_cuda(model: Any, inputs: list[Any], train: bool, optimizer: str | None) -> int:
    """``max_memory_allocated`` of one pass on CUDA after a warm-up pass and a reset."""
    import torch

    model = model.cuda().train(train)
    inputs = [t.cuda() for t in inputs]
    step = _optimizer(optimizer, [p for p in model.parameters() if p.requires_grad], foreach=True)
    output = _one_pass(model, inputs, train, step)
    del output
    for p in model.parameters():
        p.grad = None
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    output = _one_pass(model, inputs, train, step)
    torch.cuda.synchronize()
    del output
    peak = torch.cuda.max_memory_allocated()
    model.cpu()
    return peak


# ------------------------------------------------------------------------------------------------
# section 1 (and 2): accuracy
# ------------------------------------------------------------------------------------------------


def cases(names: list[str], with_transformers: bool) -> list[tuple[str, Callable[[], Any], str, bool, str | None]]:
    from costlab.zoo import create_model, get_entry

    out = []
    for name in names:
        shape = (BATCH, *get_entry(name).input_shape[1:])
        text = "x".join(map(str, shape))
        for train in (False, True):
            out.append((name, lambda name=name: create_model(name), text, train, None))
        for model, optimizer in WITH_OPTIMIZER:
            if model == name:
                out.append((name, lambda name=name: create_model(name), text, True, optimizer))
    if with_transformers:
        for name, (build, text) in transformers().items():
            if name.startswith("_"):
                continue
            for train in (False, True):
                out.append((name, build, text, train, None))
            out.append((name, build, text, True, "adamw"))
    return out


def bench_accuracy(names: list[str], with_transformers: bool, cuda: bool) -> dict[str, Any]:
    import torch

    import costlab
    from costlab.load import make_inputs, parse_inputs

    print(f"\n== 1. accuracy on CPU: estimated vs the profiler's peak (load {loadavg()}) ==")
    header = (f"{'model':20s} {'batch':>5s} {'pass':22s} {'estimated':>11s} {'measured':>11s} {'error':>7s} "
              f"{'alloc-level':>12s} {'error':>7s}" + (f" {'cuda est':>10s} {'cuda':>10s} {'error':>7s}" if cuda else ""))
    print(header)
    print("-" * len(header))
    rows = []
    load = OtherLoad()
    for name, build, text, train, optimizer in cases(names, with_transformers):
        what = "inference" if not train else "training" + (f" + {optimizer}" if optimizer else "")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = build()
            inputs = make_inputs(parse_inputs(text))
        start = time.perf_counter()
        estimate = costlab.memory(model, text, train=train, optimizer=optimizer, device="cpu")
        estimate_s = time.perf_counter() - start
        measured = measure_cpu(model, inputs, train, optimizer)
        op_error = estimate.peak_bytes / measured["op_level_bytes"] - 1
        alloc_error = estimate.peak_bytes / measured["allocation_level_bytes"] - 1
        row = {
            "model": name, "input": text, "pass": what, "estimated_bytes": estimate.peak_bytes,
            **measured, "error": op_error, "allocation_level_error": alloc_error, "estimate_s": estimate_s,
            "peak_at": estimate.peak_at.__dict__ if estimate.peak_at else None,
        }
        line = (f"{name:20s} {BATCH:5d} {what:22s} {mb(estimate.peak_bytes):>11s} {mb(measured['op_level_bytes']):>11s} "
                f"{op_error:+7.1%} {mb(measured['allocation_level_bytes']):>12s} {alloc_error:+7.1%}")
        if cuda:
            cuda_estimate = costlab.memory(model, text, train=train, optimizer=optimizer, device="cuda").peak_bytes
            cuda_peak = measure_cuda(model, inputs, train, optimizer)
            row.update(cuda_estimated_bytes=cuda_estimate, cuda_bytes=cuda_peak, cuda_error=cuda_estimate / cuda_peak - 1)
            line += f" {mb(cuda_estimate):>10s} {mb(cuda_peak):>10s} {cuda_estimate / cuda_peak - 1:+7.1%}"
        print(line, flush=True)
        rows.append(row)
        del model, inputs, estimate
        gc.collect()
    print("-" * len(header))
    worst = max(rows, key=lambda r: abs(r["error"]))
    within = sum(abs(r["error"]) <= TARGET for r in rows)
    print(f"{within} of {len(rows)} within ±{TARGET:.0%} at the op level; worst {worst['model']} {worst['pass']} "
          f"{worst['error']:+.1%}  {verdict(within == len(rows))}")
    alloc_worst = max(rows, key=lambda r: abs(r["allocation_level_error"]))
    print(f"at the allocation level (in-kernel workspace included): worst {alloc_worst['model']} "
          f"{alloc_worst['pass']} {alloc_worst['allocation_level_error']:+.1%}")
    print(load.line())
    return {"rows": rows, "within_target": within, "cases": len(rows), "target": TARGET}


def mb(value: float) -> str:
    return f"{value / 1e6:.1f} MB"


# ------------------------------------------------------------------------------------------------
# section 3: speed
# ------------------------------------------------------------------------------------------------


def bench_speed(names: list[str], repeats: int) -> dict[str, Any]:
    import costlab

    print(f"\n== 3. speed: costlab.memory vs costlab.profile, median of {repeats}, interleaved (load {loadavg()}) ==")
    header = f"{'model':20s} {'profile ms':>11s} {'memory ms':>10s} {'training ms':>12s} {'ratio':>6s} {'train ratio':>12s}"
    print(header)
    print("-" * len(header))
    rows = []
    load = OtherLoad()
    for name in names:
        contenders = {
            "profile": lambda name=name: costlab.profile(name),
            "memory": lambda name=name: costlab.memory(name),
            "train": lambda name=name: costlab.memory(name, train=True),
        }
        for fn in contenders.values():
            fn()
        samples: dict[str, list[float]] = {key: [] for key in contenders}
        for _ in range(repeats):
            for key, fn in contenders.items():
                start = time.perf_counter()
                fn()
                samples[key].append(time.perf_counter() - start)
        medians = {key: statistics.median(v) * 1e3 for key, v in samples.items()}
        rows.append({"model": name, **{f"{k}_ms": v for k, v in medians.items()},
                     "samples_ms": {k: [s * 1e3 for s in v] for k, v in samples.items()}})
        print(f"{name:20s} {medians['profile']:11.1f} {medians['memory']:10.1f} {medians['train']:12.1f} "
              f"{medians['memory'] / medians['profile']:5.2f}x {medians['train'] / medians['profile']:11.2f}x", flush=True)
    print(load.line())
    build, text = transformers()["_gpt2_xl"]
    from costlab.load import constructing

    with constructing(True):
        big = build()
    params = sum(p.numel() for p in big.parameters())
    timings = {}
    for label, kwargs in (("inference", {}), ("training + adam", {"train": True, "optimizer": "adam"})):
        start = time.perf_counter()
        report = costlab.memory(big, text, **kwargs)
        timings[label] = {"seconds": time.perf_counter() - start, "peak_bytes": report.peak_bytes,
                          "peak_at": report.peak_at.__dict__ if report.peak_at else None}
        print(f"GPT-2-XL-shaped ({params / 1e9:.2f} B params, {text}) {label}: {timings[label]['seconds']:.2f} s, "
              f"peak {report.peak_bytes / 1e9:.2f} GB at {report.peak_at.layer if report.peak_at else '-'} "
              f"({report.peak_at.phase if report.peak_at else '-'})")
    return {"rows": rows, "gpt2_xl": {"params": params, "input": text, **timings}, "load": loadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="five zoo models (and the two transformers)")
    parser.add_argument("--models", default=None, help="fnmatch pattern(s) of zoo models, comma-separated")
    parser.add_argument("--no-transformers", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()

    import torch

    from costlab.zoo import list_models

    every = list_models()
    if args.models:
        names = [n for n in every if any(fnmatch.fnmatch(n, p.strip()) for p in args.models.split(","))]
    else:
        names = QUICK if args.quick else every
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {loadavg()}")
    results: dict[str, Any] = {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_start": loadavg()}
    results["accuracy"] = bench_accuracy(names, not args.no_transformers, torch.cuda.is_available())
    if not torch.cuda.is_available():
        print("\n== 2. CUDA: no GPU here, skipped ==")
    if not args.skip_speed:
        results["speed"] = bench_speed(QUICK if not args.models else names[:5], args.repeats)
    results["load_end"] = loadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
