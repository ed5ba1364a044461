#!/usr/bin/env python
"""How well costlab predicts latency without running the model, measured on this machine in this run.

1. Calibrate this CPU (``costlab.timing.calibrate.calibrate``) at 1 thread and at all threads —
   micro-benchmarks only, never a whole model — and report how long each took.
2. For every zoo model (and three third-party-style nets the calibration never saw, written from
   their papers below: ViT-S/16, ConvNeXt-T, ResNeXt-50 32×4d), at batch 1 and 8: predict its latency
   (meta device, never run), and measure it — interleaved (every model once per round), several
   rounds, the minimum over rounds of each round's median.
3. Print, per (threads, batch) and overall: Spearman ρ(predicted, measured), the share of models
   within ±10 % and ±15 %, and the mean absolute percentage error — for the calibrated predictor,
   for MACs-proportional (``k · MACs``, with the single best k for that table: given the benefit of
   a constant fitted on the very models it is judged on) and for the plain roofline
   (``Σ max(FLOPs / peak, bytes / bandwidth)`` on the measured roofs) — and the same for the
   measurement against itself (the odd rounds' minimum against the even rounds'): on a shared
   machine no predictor can agree with one measurement better than a second measurement does.
4. Prediction speed: ``predict`` against ``profile`` on every model (median of 5, interleaved).

With one thread the CPU time of each forward (``time.process_time``) is measured beside the wall
time: other processes on a shared machine cannot inflate it, so its table says what a quiet machine
would show. Every number is measured in this run; nothing is hard-coded.

    python benchmarks/bench_predict.py                # the published table (about 17 minutes on 2 cores)
    python benchmarks/bench_predict.py --quick        # 8 models, batch 1, 1 thread, a quick calibration
    python benchmarks/bench_predict.py --markdown reports/predict/accuracy.md --json reports/predict/accuracy.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from typing import Any

from _machine import OtherLoad, loadavg  # benchmarks/_machine.py, beside this script

QUICK_MODELS = ["mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "shufflenet_v1_g3", "resnet18",
                "squeezenet1_1", "ghostnet", "vit_s16"]


# ------------------------------------------------------------------------------------------------
# Third-party-style models, from their papers (never seen by the calibration)
# ------------------------------------------------------------------------------------------------


def third_party() -> dict[str, Any]:
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, d = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            attn = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
            return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))

    class Block(nn.Module):  # ViT (Dosovitskiy et al. 2021): pre-norm attention and MLP, residuals
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.n1, self.attn, self.n2 = nn.LayerNorm(dim), Attention(dim, heads), nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.n1(x))
            return x + self.mlp(self.n2(x))

    class ViT(nn.Module):  # ViT-S/16: 224², patch 16, width 384, depth 12, 6 heads (22 M params)
        def __init__(self, dim: int = 384, depth: int = 12, heads: int = 6) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 16, 16)
            self.cls = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.zeros(1, 197, dim))
            self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
            self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
            return self.head(self.norm(self.blocks(x))[:, 0])

    class ConvNeXtBlock(nn.Module):  # Liu et al. 2022: dw 7×7, LayerNorm, 4× MLP, layer scale
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dw, self.norm = nn.Conv2d(dim, dim, 7, padding=3, groups=dim), nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
            self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1))) * self.gamma
            return x + y.permute(0, 3, 1, 2)

    class ChannelNorm(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def convnext_t() -> nn.Module:  # depths 3-3-9-3, widths 96-192-384-768 (28 M params)
        dims, depths = (96, 192, 384, 768), (3, 3, 9, 3)
        layers: list[nn.Module] = [nn.Conv2d(3, 96, 4, 4), ChannelNorm(96)]
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            if i:
                layers += [ChannelNorm(dims[i - 1]), nn.Conv2d(dims[i - 1], dim, 2, 2)]
            layers += [ConvNeXtBlock(dim) for _ in range(depth)]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(768), nn.Linear(768, 1000))

    class Bottleneck(nn.Module):  # ResNeXt (Xie et al. 2017): 1×1, grouped 3×3 (32 groups), 1×1
        def __init__(self, c_in: int, width: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride, 1, groups=32, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
            self.skip = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.skip(x))

    def resnext50() -> nn.Module:  # 32×4d: stages 3-4-6-3 (25 M params)
        layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                   nn.MaxPool2d(3, 2, 1)]
        c_in = 64
        for i, (blocks, width) in enumerate(zip((3, 4, 6, 3), (128, 256, 512, 1024))):
            for j in range(blocks):
                layers.append(Bottleneck(c_in, width, 2 * width, 2 if i and not j else 1))
                c_in = 2 * width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))

    return {"vit_s16": ViT, "convnext_t": convnext_t, "resnext50_32x4d": resnext50}


# ------------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------------


def build(name: str, extra: dict[str, Any]) -> Any:
    import costlab

    return (extra[name]() if name in extra else costlab.create_model(name)).eval()


def forward_ms(model: Any, x: Any, min_time_s: float) -> tuple[float, float, float]:
    """(median wall ms, median CPU ms, median page faults) of forwards of ``model`` after one warm-up:
    at least 3, ``min_time_s`` in all. Page faults: the process's minor faults (``getrusage``; 0 where
    there is no ``resource`` module)."""
    import torch

    try:
        import resource

        def faults() -> int:
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except ImportError:  # not POSIX
        def faults() -> int:
            return 0

    with torch.no_grad():
        model(x)
        wall, cpu, faulted = [], [], []
        while len(wall) < 3 or sum(wall) < min_time_s * 1e3:
            f0, c0, w0 = faults(), time.process_time(), time.perf_counter()
            model(x)
            wall.append((time.perf_counter() - w0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
            faulted.append(faults() - f0)
    return statistics.median(wall), statistics.median(cpu), statistics.median(faulted)


def stats(pairs: list[tuple[float, float]]) -> dict[str, float]:
    from costlab.stats import spearman

    errors = [abs(p / m - 1) for p, m in pairs]
    rho = spearman([p for p, _ in pairs], [m for _, m in pairs])
    return {"models": len(pairs), "rho": rho if rho is not None else math.nan,
            "within_10": sum(e <= 0.10 for e in errors) / len(errors),
            "within_15": sum(e <= 0.15 for e in errors) / len(errors), "mape": statistics.fmean(errors)}


def best_scale(pairs: list[tuple[float, float]]) -> float:
    """The k minimising the relative squared error of k·x against y: Σ(x/y) / Σ(x/y)²."""
    ratios = [x / y for x, y in pairs]
    return sum(ratios) / sum(r * r for r in ratios)


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--models", default=None, help="comma-separated (default: the zoo and the three others)")
    parser.add_argument("--batches", default=None, help="default 1,8 (quick: 1)")
    parser.add_argument("--threads", default=None, help="default 1,N for N = torch's threads (quick: 1)")
    parser.add_argument("--rounds", type=int, default=None, help="measurement rounds (default 4, quick 2)")
    parser.add_argument("--min-time", type=float, default=None, help="seconds per measurement (default 0.4)")
    parser.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    parser.add_argument("--json", default=None, help="also write every number to this JSON file")
    args = parser.parse_args()

    import torch

    import costlab
    from costlab.cost.predict import predict_latency
    from costlab.cost.profile import profile
    from costlab.cost.roofline import predict as roofline_predict
    from costlab.load import as_source, example_inputs_for
    from costlab.timing.calibrate import QUICK_SAMPLES_PER_KIND, SAMPLES_PER_KIND, calibrate, noise_problem
    from costlab.timing.machine import machine_peaks

    extra = third_party()
    all_threads = torch.get_num_threads()
    models = args.models.split(",") if args.models else (QUICK_MODELS if args.quick else [*costlab.list_models(), *extra])
    batches = [int(b) for b in (args.batches or ("1" if args.quick else "1,8")).split(",")]
    thread_counts = [int(t) for t in (args.threads or ("1" if args.quick else f"1,{all_threads}")).split(",")]
    thread_counts = sorted(set(thread_counts))
    rounds = args.rounds or (2 if args.quick else 4)
    min_time = args.min_time or (0.25 if args.quick else 0.4)
    print(f"bench_predict: {len(models)} models, batches {batches}, threads {thread_counts}, {rounds} rounds; "
          f"torch {torch.__version__}; load {loadavg()}", flush=True)

    result: dict[str, Any] = {"torch": torch.__version__, "load_start": loadavg(), "tables": [], "models": {},
                              "calibrations": {}}
    lines: list[str] = []
    for threads in thread_counts:
        load = OtherLoad()
        per_kind = QUICK_SAMPLES_PER_KIND if args.quick else SAMPLES_PER_KIND
        cal = calibrate("cpu", "float32", threads, samples_per_kind=per_kind)
        peaks = machine_peaks("cpu", "float32", threads)
        result["calibrations"][threads] = {
            "seconds": cal.seconds, "spread": cal.spread, "noise_problem": noise_problem(cal), "clock": cal.clock,
            "kinds": {k: {"family": f.family, "cv_mape": f.cv_mape, "cv": [c.to_dict() for c in f.cv],
                          "samples": f.samples} for k, f in cal.kinds.items()},
            "overhead": cal.overhead.to_dict(), "other_load": load.share(),
        }
        print(f"\ncalibration at {threads} thread(s): {cal.seconds:.0f} s, {len(cal.samples)} ops, spread "
              f"{cal.spread:.0%}, others used {load.share() or 0:.0%} of the CPU", flush=True)
        for batch in batches:
            entries = {}
            for name in models:
                model = build(name, extra)
                default = "1x3x224x224" if name in extra else None
                example = example_inputs_for(as_source(model if name in extra else name), default).with_batch(batch)
                specs = example.specs
                shape = ",".join(map(str, specs))
                report = profile(model, shape)
                prediction = predict_latency(report, cal)
                entries[name] = {"model": model, "report": report, "shape": shape,
                                 "x": torch.randn(specs[0].shape), "fresh_pages": prediction.fresh_pages,
                                 "predicted": prediction.predicted_ms, "faults": [],
                                 "roofline": roofline_predict(report, peaks.roofs()).predicted_ms,
                                 "macs": report.totals.macs, "wall": [], "cpu": []}
            load = OtherLoad()
            with torch.no_grad():
                torch.set_num_threads(threads)
                try:
                    for r in range(rounds):
                        for name, e in entries.items():
                            wall, cpu, faulted = forward_ms(e["model"], e["x"], min_time)
                            e["wall"].append(wall)
                            e["cpu"].append(cpu)
                            e["faults"].append(faulted)
                        print(f"  threads {threads} batch {batch}: round {r + 1}/{rounds} done, load {loadavg()}",
                              flush=True)
                finally:
                    torch.set_num_threads(all_threads)
            share = load.share()
            for clock in ("wall", "cpu") if threads == 1 else ("wall",):
                measured = {n: min(e[clock]) for n, e in entries.items()}
                pred = [(e["predicted"], measured[n]) for n, e in entries.items()]
                roof = [(e["roofline"], measured[n]) for n, e in entries.items()]
                k = best_scale([(e["macs"], measured[n]) for n, e in entries.items()])
                macs = [(k * e["macs"], measured[n]) for n, e in entries.items()]
                unseen = [(e["predicted"], measured[n]) for n, e in entries.items() if n in extra]
                # the measurement's own repeatability: the odd rounds against the even ones
                again = [(min(e[clock][0::2]), min(e[clock][1::2])) for e in entries.values()] if rounds > 1 else []
                table = {"threads": threads, "batch": batch, "clock": clock, "other_load": share,
                         "calibrated": stats(pred), "macs_proportional": stats(macs), "roofline": stats(roof),
                         "unseen": stats(unseen) if unseen else None, "measured_again": stats(again) if again else None}
                result["tables"].append(table)
                for n, e in entries.items():
                    result["models"].setdefault(n, []).append(
                        {"threads": threads, "batch": batch, "clock": clock, "predicted_ms": e["predicted"],
                         "roofline_ms": e["roofline"], "measured_ms": measured[n], "rounds_ms": e[clock],
                         "fresh_pages": e["fresh_pages"], "faults_per_forward": statistics.median(e["faults"])})
                header = (f"\n### {threads} thread(s), batch {batch}, {'wall' if clock == 'wall' else 'CPU'} time "
                          f"({len(entries)} models; others used {share or 0:.0%} of the CPU)")
                rows = ["| predictor | ρ | within ±10% | within ±15% | MAPE |", "|---|---:|---:|---:|---:|"]
                labels = [("calibrated (costlab predict)", "calibrated"),
                          ("MACs-proportional (best k)", "macs_proportional"), ("roofline", "roofline")]
                if unseen:
                    labels.append((f"calibrated, third-party only ({len(unseen)})", "unseen"))
                if again:
                    labels.append(("*measured again: odd rounds vs even rounds (the noise floor)*", "measured_again"))
                for label, key in labels:
                    s = table[key]
                    rows.append(f"| {label} | {s['rho']:.3f} | {s['within_10']:.0%} | {s['within_15']:.0%} | "
                                f"{s['mape']:.1%} |")
                lines += [header, "", *rows]
                print("\n".join([header, "", *rows]), flush=True)
                fresh = [n for n, e in entries.items() if e["fresh_pages"]]
                if fresh and clock == "wall":
                    faults = "; ".join(f"{n} {entries[n]['fresh_pages']:,} predicted, "
                                       f"{statistics.median(entries[n]['faults']):,.0f} measured" for n in fresh)
                    line = f"\nfresh pages per forward (outputs over the mmap threshold) against page faults: {faults}"
                    lines.append(line)
                    print(line)
                worst = sorted(entries, key=lambda n: -abs(entries[n]["predicted"] / measured[n] - 1))[:5]
                print("  worst: " + ", ".join(f"{n} {entries[n]['predicted'] / measured[n] - 1:+.0%}" for n in worst))

    # prediction speed: predict (profile + pricing) against profile alone, interleaved, median of 5
    speed = []
    for name in models:
        source, shape = (build(name, extra), "1x3x224x224") if name in extra else (name, None)
        prof, pred = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            profile(source, shape)
            prof.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            predict_latency(profile(source, shape), cal)
            pred.append(time.perf_counter() - t0)
        speed.append(statistics.median(pred) / statistics.median(prof))
    ratio = math.exp(statistics.fmean(math.log(s) for s in speed))
    speed_line = f"\nprediction time / profile time, geomean over {len(speed)} models: {ratio:.2f}× (target ≤ 2×)"
    print(speed_line)
    lines.append(speed_line)
    result["predict_over_profile"] = ratio
    cal_lines = [f"calibration at {t} thread(s): {c['seconds']:.0f} s, spread {c['spread']:.0%}, clock {c['clock']}"
                 for t, c in result["calibrations"].items()]
    result["load_end"] = loadavg()
    command = "python benchmarks/bench_predict.py " + " ".join(sys.argv[1:])
    text = "\n".join([f"`{command.strip()}`", "", f"Measured with torch {torch.__version__} on {os.cpu_count()} CPUs; load average "
                      f"{result['load_start']} at the start, {result['load_end']} at the end.", "", *cal_lines, *lines])
    if args.markdown:
        os.makedirs(os.path.dirname(args.markdown) or ".", exist_ok=True)
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("# Latency prediction accuracy (benchmarks/bench_predict.py)\n\n" + text + "\n")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
