#!/usr/bin/env python
"""How far costlab's latency numbers can be trusted, measured on this machine in this run.

Every figure printed is measured in this run; nothing is hard-coded. Sections:

a. agreement: ``costlab``'s latency of a model vs a plain ``torch.utils.benchmark.Timer``
   measurement of the same model object and input, in the same process, interleaved;
   target: medians within 10 %
b. repeatability: the latency of mobilenet_v2 measured 5 times; the spread of the medians
c. ranking: every zoo model's latency on this CPU against its MACs and against its
   roofline-predicted latency (this CPU's measured peaks): Spearman rank correlations

Only public tools are used: ``torch.utils.benchmark``, ``time``, ``statistics``.

    python benchmarks/bench_latency.py                   # all sections (a few minutes on 2 cores)
    python benchmarks/bench_latency.py --quick           # fewer models, shorter measurements
    python benchmarks/bench_latency.py --threads 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any

from _machine import OtherLoad, loadavg, verdict  # benchmarks/_machine.py, beside this script

QUICK_MODELS = ["mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "resnet18", "squeezenet1_1", "alexnet"]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (costlab's own, the one `costlab report` prints)."""
    from costlab.stats import spearman as rank_correlation

    value = rank_correlation(x, y)
    return float("nan") if value is None else value


def costlab_median_ms(workload: Any, threads: int, min_time_s: float) -> float:
    from costlab.timing.measure import time_workload

    return time_workload(workload, threads=threads, min_time_s=min_time_s).median_ms


def timer_median_ms(workload: Any, threads: int, min_time_s: float) -> float:
    """``torch.utils.benchmark.Timer`` on the same model object and input, under no_grad."""
    import torch
    from torch.utils.benchmark import Timer

    args, kwargs = workload.inputs()
    timer = Timer(stmt="model(*args, **kwargs)", globals={"model": workload.model, "args": args, "kwargs": kwargs},
                  num_threads=threads)
    with torch.no_grad():
        timer.timeit(3)  # warm-up, as costlab does
        return timer.blocked_autorange(min_run_time=min_time_s).median * 1e3


# ------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------


def section_agreement(models: list[str], threads: int, min_time_s: float, rounds: int) -> dict[str, Any]:
    from costlab.timing.measure import load_workload

    print(
        f"\n== a. costlab vs torch.utils.benchmark.Timer: same model and input, {rounds} interleaved rounds, "
        f"{min_time_s:g} s each =="
    )
    load = OtherLoad()
    header = f"{'model':22s} {'costlab ms':>11s} {'Timer ms':>10s} {'diff':>8s}  rounds (costlab / Timer, ms)"
    print(header)
    print("-" * len(header))
    rows = []
    for name in models:
        workload = load_workload(name)
        ours, theirs = [], []
        for index in range(rounds):  # alternate who goes first, so a drift in load hits both alike
            if index % 2:
                theirs.append(timer_median_ms(workload, threads, min_time_s))
            ours.append(costlab_median_ms(workload, threads, min_time_s))
            if not index % 2:
                theirs.append(timer_median_ms(workload, threads, min_time_s))
        a, b = statistics.median(ours), statistics.median(theirs)
        diff = (a - b) / b
        pairs = "  ".join(f"{x:.1f}/{y:.1f}" for x, y in zip(ours, theirs))
        print(f"{name:22s} {a:11.2f} {b:10.2f} {diff:+8.1%}  {pairs}", flush=True)
        rows.append(
            {
                "model": name,
                "costlab_ms": ours,
                "timer_ms": theirs,
                "costlab_median_ms": a,
                "timer_median_ms": b,
                "relative_difference": diff,
                "pass": abs(diff) <= 0.10,
            }
        )
    worst = max(abs(r["relative_difference"]) for r in rows)
    print(f"  target: medians within 10 %: largest difference {worst:.1%}  {verdict(worst <= 0.10)}")
    print(load.line())
    return {"rows": rows, "largest_relative_difference": worst, "pass": worst <= 0.10}


def section_repeat(name: str, times: int, threads: int, min_time_s: float) -> dict[str, Any]:
    from costlab.timing.measure import load_workload, time_workload

    print(f"\n== b. {name}: latency measured {times} times ({min_time_s:g} s each) ==")
    load = OtherLoad()
    workload = load_workload(name)
    measurements = [time_workload(workload, threads=threads, min_time_s=min_time_s) for _ in range(times)]
    medians = [m.median_ms for m in measurements]
    for index, m in enumerate(measurements, 1):
        flag = "  (IQR > 10 % of the median)" if m.warnings else ""
        print(
            f"  run {index}: median {m.median_ms:8.2f} ms   IQR {m.iqr_ms:6.2f} ms   p10 {m.p10_ms:8.2f}   "
            f"p90 {m.p90_ms:8.2f}   {m.runs} runs{flag}",
            flush=True,
        )
    middle = statistics.median(medians)
    spread = (max(medians) - min(medians)) / middle
    cv = statistics.stdev(medians) / statistics.fmean(medians) if len(medians) > 1 else 0.0
    print(f"  medians: min {min(medians):.2f} ms, median {middle:.2f} ms, max {max(medians):.2f} ms")
    print(f"  spread (max − min) / median = {spread:.1%};  coefficient of variation = {cv:.1%}")
    print(load.line())
    return {
        "model": name,
        "medians_ms": medians,
        "spread": spread,
        "cv": cv,
        "iqr_over_median": [m.relative_iqr for m in measurements],
    }


def section_ranking(models: list[str], threads: int, min_time_s: float, refresh: bool) -> dict[str, Any]:
    import costlab
    from costlab.cost.roofline import predict
    from costlab.timing.machine import machine_peaks
    from costlab.timing.measure import load_workload, time_workload

    peaks = machine_peaks("cpu", "float32", threads, refresh=refresh)
    roofs = peaks.roofs()
    source = "cached" if peaks.cached else "measured now"
    print(
        f"\n== c. zoo on this CPU ({threads} thread{'s' if threads != 1 else ''}): latency vs MACs vs roofline "
        f"prediction =="
    )
    print(
        f"  roofs ({source}): {peaks.peak_flops / 1e9:.1f} GFLOP/s, {peaks.bandwidth_bytes_per_s / 1e9:.2f} GB/s, "
        f"ridge {peaks.ridge_flop_per_byte:.1f} FLOP/B"
    )
    load = OtherLoad()
    header = f"{'model':24s} {'MACs':>9s} {'measured ms':>12s} {'predicted ms':>13s} {'measured/pred':>14s}"
    print(header)
    print("-" * len(header))
    rows = []
    for name in models:
        report = costlab.profile(name)
        predicted = predict(report, roofs).predicted_ms
        measured = time_workload(load_workload(name), threads=threads, min_time_s=min_time_s).median_ms
        macs = report.totals.macs
        rows.append({"model": name, "macs": macs, "measured_ms": measured, "predicted_ms": predicted})
        print(
            f"{name:24s} {macs / 1e6:8.0f}M {measured:12.2f} {predicted:13.2f} {measured / predicted:13.2f}x",
            flush=True,
        )
    latency = [r["measured_ms"] for r in rows]
    by_macs = spearman(latency, [float(r["macs"]) for r in rows])
    by_roofline = spearman(latency, [r["predicted_ms"] for r in rows])
    print("-" * len(header))
    print(load.line())
    print(
        f"  Spearman rank correlation over {len(rows)} models: latency vs MACs = {by_macs:.3f};  "
        f"latency vs roofline-predicted latency = {by_roofline:.3f}"
    )
    return {
        "threads": threads,
        "peaks": peaks.to_dict(),
        "rows": rows,
        "spearman_latency_macs": by_macs,
        "spearman_latency_roofline": by_roofline,
    }


# ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer models and shorter measurements")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for every measurement (default 1: steadiest on a shared machine)",
    )
    parser.add_argument("--min-time", type=float, default=None, help="seconds per measurement (default 1, quick 0.4)")
    parser.add_argument("--models", default="*", help="shell pattern of zoo models for section c")
    parser.add_argument("--sections", default="abc", help="which sections to run, e.g. 'ac'")
    parser.add_argument("--refresh-peaks", action="store_true", help="measure the CPU peaks again for section c")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    args = parser.parse_args()

    import platform

    import torch

    from costlab.timing.devices import device_name
    from costlab.zoo import list_models

    min_time = args.min_time if args.min_time is not None else (0.4 if args.quick else 1.0)
    print(
        f"costlab latency benchmark: torch {torch.__version__}, {device_name(torch.device('cpu'))}, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}, load average {loadavg()}"
    )
    results: dict[str, Any] = {"torch": torch.__version__, "threads": args.threads, "min_time_s": min_time}
    if "a" in args.sections:
        models = ["mobilenet_v2"] if args.quick else ["mobilenet_v2", "shufflenet_v2_x1_0", "resnet18"]
        results["agreement"] = section_agreement(models, args.threads, min_time / 2, rounds=3 if args.quick else 6)
    if "b" in args.sections:
        results["repeat"] = section_repeat("mobilenet_v2", 5, args.threads, min_time)
    if "c" in args.sections:
        pattern_models = list_models(args.models)
        models = [m for m in QUICK_MODELS if m in pattern_models] if args.quick else pattern_models
        results["ranking"] = section_ranking(models, args.threads, min_time, args.refresh_peaks)
    print(f"\nload average at the end: {loadavg()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    sys.exit(main())
