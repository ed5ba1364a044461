"""How long costlab takes to profile a model, next to what it replaces.

Every number printed is measured in this run; nothing is hard-coded. Sections:

1. zoo models at their default input: plain CPU forward vs ``costlab.profile(name)`` vs fvcore
2. batch 32: plain CPU forward vs ``costlab.profile(name, input_shape=32x...)``
3. a GPT-2-XL-shaped transformer (~1.5 B params) built on the meta device: profile time and peak RSS
   (in a child process, so the peak is that of the profile alone)
4. ``python -m costlab --help`` start-up time

Only public tools are used: ``time.perf_counter``, ``statistics``, ``resource.getrusage``.

    python benchmarks/bench_profile.py                # default run (a few minutes at most)
    python benchmarks/bench_profile.py --quick        # a handful of models, fewer repeats
    python benchmarks/bench_profile.py --models 'mobilenet*' --json out.json
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import logging
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from _machine import OtherLoad, loadavg, verdict  # benchmarks/_machine.py, beside this script

QUICK_MODELS = ["mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "resnet18", "squeezenet1_1"]
# Batch 32 on CPU costs ~32x a batch-1 forward: by default section 2 takes one model per family and
# leaves out the heaviest (resnet50, vgg16, xception: seconds per batch-32 forward on 2 cores, and
# the largest forward/costlab ratios, so leaving them out only lowers the geomean). This keeps the
# default run within a few minutes on a 2-core machine; --batch-models '*' takes every model.
BATCH_DEFAULT = [
    "alexnet",
    "ghostnet",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "resnet18",
    "shufflenet_v1_g3",
    "shufflenet_v2_x1_0",
    "squeezenet1_1",
]

GPT_CONFIG = {"layers": 48, "d_model": 1600, "heads": 25, "seq": 1024, "vocab": 50257, "tied": True}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def geomean(values: list[float]) -> float:
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def round_robin(fns: dict[str, Callable[[], Any]], warmup: int, repeats: int) -> dict[str, list[float]]:
    """Time each fn ``repeats`` times after ``warmup`` untimed calls, interleaving them.

    Interleaving (a, b, c, a, b, c, …) makes a change of machine load hit every contender alike,
    which matters on a shared machine: the ratios stay meaningful even when absolute times move.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            times[key].append(timed(fn))
    return times


def shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def load_line(share: float | None) -> str:
    if share is None:
        return ""
    warn = ""
    if share > 0.15:
        import torch

        hint = " (rerun when idle, or with --threads 1)" if torch.get_num_threads() > 1 else " (rerun when idle)"
        warn = f"  WARNING: busy machine: the forward/fvcore timings may be inflated{hint}"
    return f"  other processes used {share:.0%} of the machine's CPU during this section{warn}"


def rss_mib(kb: int) -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


# ------------------------------------------------------------------------------------------------
# sections 1 and 2: zoo models
# ------------------------------------------------------------------------------------------------


def fvcore_total(model: Any, x: Any) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return analysis.total()


def bench_models(names: list[str], repeats: int, warmup: int) -> dict[str, Any]:
    import torch

    from costlab import profile
    from costlab.zoo import create_model, get_entry

    print(f"\n== 1. zoo models at their default input: median of {repeats} after {warmup} warm-up, interleaved ==")
    header = f"{'model':24s} {'input':>13s} {'forward ms':>11s} {'costlab ms':>11s} {'fvcore ms':>10s} {'fwd/costlab':>12s} {'fvcore/costlab':>15s}"
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        shape = tuple(get_entry(name).input_shape)
        model = create_model(name).eval()
        x = torch.randn(shape)

        def forward(model: Any = model, x: Any = x) -> None:
            with torch.no_grad():
                model(x)

        contenders = {
            "forward": forward,
            "costlab": lambda name=name: profile(name),
            "fvcore": lambda model=model, x=x: fvcore_total(model, x),
        }
        times = round_robin(contenders, warmup, repeats)
        fwd, cl, fv = (statistics.median(times[k]) for k in ("forward", "costlab", "fvcore"))
        row = {
            "model": name,
            "input": list(shape),
            "forward_ms": fwd * 1e3,
            "costlab_ms": cl * 1e3,
            "fvcore_ms": fv * 1e3,
            "forward_over_costlab": fwd / cl,
            "fvcore_over_costlab": fv / cl,
            "samples_ms": {k: [t * 1e3 for t in v] for k, v in times.items()},
        }
        rows.append(row)
        print(
            f"{name:24s} {shape_str(shape):>13s} {fwd * 1e3:11.1f} {cl * 1e3:11.1f} {fv * 1e3:10.1f} "
            f"{fwd / cl:11.2f}x {fv / cl:14.2f}x",
            flush=True,
        )
        del model, x, forward, contenders
        gc.collect()
    g_fwd = geomean([r["forward_over_costlab"] for r in rows])
    g_fv = geomean([r["fvcore_over_costlab"] for r in rows])
    print("-" * len(header))
    print(f"geomean over {len(rows)} models: forward/costlab = {g_fwd:.2f}x   fvcore/costlab = {g_fv:.2f}x")
    b_fwd = geomean([min(r["samples_ms"]["forward"]) / min(r["samples_ms"]["costlab"]) for r in rows])
    b_fv = geomean([min(r["samples_ms"]["fvcore"]) / min(r["samples_ms"]["costlab"]) for r in rows])
    print(
        f"  (noise check, fastest sample instead of median: forward/costlab = {b_fwd:.2f}x   fvcore/costlab = {b_fv:.2f}x)"
    )
    print(
        f"  target costlab no slower than the plain forward (forward/costlab >= 1): {g_fwd:.2f}x  {verdict(g_fwd >= 1)}"
    )
    print(f"  target costlab >= 5x faster than fvcore       (fvcore/costlab >= 5):  {g_fv:.2f}x  {verdict(g_fv >= 5)}")
    return {
        "repeats": repeats,
        "warmup": warmup,
        "rows": rows,
        "geomean_forward_over_costlab": g_fwd,
        "geomean_fvcore_over_costlab": g_fv,
        "best_sample_geomean_forward_over_costlab": b_fwd,
        "best_sample_geomean_fvcore_over_costlab": b_fv,
        "pass_forward": g_fwd >= 1,
        "pass_fvcore": g_fv >= 5,
    }


def bench_batch(names: list[str], batch: int, repeats: int, warmup: int) -> dict[str, Any]:
    import torch

    from costlab import profile
    from costlab.zoo import create_model, get_entry

    print(f"\n== 2. batch {batch}: median of {repeats} after {warmup} warm-up, interleaved ==")
    header = f"{'model':24s} {'input':>15s} {'forward ms':>11s} {'costlab ms':>11s} {'fwd/costlab':>12s}"
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        shape = (batch, *tuple(get_entry(name).input_shape)[1:])
        model = create_model(name).eval()
        x = torch.randn(shape)
        spec = shape_str(shape)

        def forward(model: Any = model, x: Any = x) -> None:
            with torch.no_grad():
                model(x)

        contenders = {"forward": forward, "costlab": lambda name=name, spec=spec: profile(name, input_shape=spec)}
        times = round_robin(contenders, warmup, repeats)
        fwd, cl = statistics.median(times["forward"]), statistics.median(times["costlab"])
        rows.append(
            {
                "model": name,
                "input": list(shape),
                "forward_ms": fwd * 1e3,
                "costlab_ms": cl * 1e3,
                "forward_over_costlab": fwd / cl,
                "samples_ms": {k: [t * 1e3 for t in v] for k, v in times.items()},
            }
        )
        print(f"{name:24s} {spec:>15s} {fwd * 1e3:11.1f} {cl * 1e3:11.1f} {fwd / cl:11.2f}x", flush=True)
        del model, x, forward, contenders
        gc.collect()
    g = geomean([r["forward_over_costlab"] for r in rows])
    print("-" * len(header))
    print(f"geomean over {len(rows)} models: forward/costlab = {g:.2f}x")
    b = geomean([min(r["samples_ms"]["forward"]) / min(r["samples_ms"]["costlab"]) for r in rows])
    print(f"  (noise check, fastest sample instead of median: forward/costlab = {b:.2f}x)")
    print(f"  target forward/costlab >= 10x at batch {batch}: {g:.2f}x  {verdict(g >= 10)}")
    return {
        "batch": batch,
        "repeats": repeats,
        "warmup": warmup,
        "rows": rows,
        "geomean_forward_over_costlab": g,
        "best_sample_geomean_forward_over_costlab": b,
        "pass": g >= 10,
    }


# ------------------------------------------------------------------------------------------------
# section 3: a GPT-2-XL-shaped transformer on meta (run in a child process)
# ------------------------------------------------------------------------------------------------


def build_gpt(layers: int, d_model: int, heads: int, seq: int, vocab: int, tied: bool) -> Any:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
            self.ln_2 = nn.LayerNorm(d_model)
            self.fc = nn.Linear(d_model, 4 * d_model)
            self.fc_out = nn.Linear(4 * d_model, d_model)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln_1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.fc_out(F.gelu(self.fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(vocab, d_model)
            self.wpe = nn.Embedding(seq, d_model)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln_f = nn.LayerNorm(d_model)
            self.lm_head = nn.Linear(d_model, vocab, bias=False)
            if tied:
                self.lm_head.weight = self.wte.weight

        def forward(self, idx: torch.Tensor) -> torch.Tensor:
            pos = torch.arange(idx.shape[1], device=idx.device)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.blocks:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    with torch.device("meta"):
        return GPT()


def _proc_status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` figure in KiB (Linux only): VmHWM is this process's own peak RSS."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def gpt_child(repeats: int) -> None:
    """Runs in a fresh interpreter; prints one JSON line with its own measurements."""
    import torch

    from costlab import profile

    cfg = GPT_CONFIG
    start = time.perf_counter()
    model = build_gpt(cfg["layers"], cfg["d_model"], cfg["heads"], cfg["seq"], cfg["vocab"], cfg["tied"])
    build_s = time.perf_counter() - start
    on_meta = all(p.is_meta for p in model.parameters())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    spec = f"1x{cfg['seq']}:int64"
    times = []
    report = None
    for _ in range(repeats):  # the first call is what a user pays; later ones are warm
        report = None
        gc.collect()
        start = time.perf_counter()
        report = profile(model, input_shape=spec)
        times.append(time.perf_counter() - start)
    assert report is not None
    totals = report.totals
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = _proc_status_kib("VmHWM")
    print(
        json.dumps(
            {
                "config": cfg,
                "input": spec,
                "built_on_meta": on_meta,
                "build_s": build_s,
                "profile_s": times,
                "params": totals.params,
                "macs": totals.macs,
                "flops": totals.flops,
                "mac_bytes": totals.mac_bytes,
                "ops": totals.ops,
                "captured_on": report.captured_on,
                "unsupported_ops": dict(report.unsupported_ops),
                "uncalled_modules": list(report.uncalled_modules),
                "notes": list(report.notes),
                "peak_rss_before_profile_mib": rss_mib(rss_before),
                "peak_rss_mib": rss_mib(rss_after),
                "vmhwm_mib": hwm / 1024 if hwm is not None else None,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


def run_gpt(repeats: int) -> dict[str, Any]:
    """Profile the transformer in a fresh child process; returns its figures (printed by :func:`show_gpt`).

    Called before this process imports torch: on Linux a child's ``ru_maxrss`` starts at the parent's
    peak RSS at the time of the fork/exec, so the parent must still be small for the child's peak
    (and ``RUSAGE_CHILDREN``) to be that of the child's own work.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--_gpt-child", str(repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        return {"error": proc.stderr.strip(), "returncode": proc.returncode}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    # RUSAGE_CHILDREN's ru_maxrss is the largest of the children waited for so far; when this child is
    # the largest (or the first) it is this child's own peak, which it reports itself as well.
    res["children_peak_rss_mib"] = rss_mib(children_peak)
    res["children_peak_rss_mib_before"] = rss_mib(before)
    res["profile_first_s"] = res["profile_s"][0]
    res["profile_median_s"] = statistics.median(res["profile_s"])
    res["pass_time"] = res["profile_first_s"] < 10
    res["pass_rss"] = res["peak_rss_mib"] * 1024 * 1024 < 1e9
    return res


def show_gpt(res: dict[str, Any]) -> None:
    cfg = GPT_CONFIG
    print(
        f"\n== 3. GPT-2-XL-shaped transformer on meta ({cfg['layers']} layers, d_model={cfg['d_model']}, "
        f"{cfg['heads']} heads, seq {cfg['seq']}, vocab {cfg['vocab']}, {'tied' if cfg['tied'] else 'untied'} "
        f"embeddings), in a child process run before the other sections =="
    )
    if "error" in res:
        print(f"  child failed (exit {res['returncode']}):\n{res['error']}")
        return
    first, med, peak = res["profile_first_s"], res["profile_median_s"], res["peak_rss_mib"]
    tie = "tied input/output embeddings" if cfg["tied"] else "untied embeddings"
    print(f"  built on meta:       {res['built_on_meta']} ({res['build_s']:.2f} s to construct, not counted below)")
    print(f"  params:              {res['params'] / 1e9:.3f} B ({res['params']:,}; {tie})")
    print(
        f"  MACs:                {res['macs'] / 1e12:.3f} T ({res['macs']:,})  memory access {res['mac_bytes'] / 1e9:.1f} GB"
    )
    print(
        f"  captured on:         {res['captured_on']}; ops {res['ops']:,}; unsupported ops: {res['unsupported_ops'] or 'none'}"
    )
    if res["notes"] or res["uncalled_modules"]:
        print(f"  notes: {res['notes']}  uncalled modules: {res['uncalled_modules']}")
    times_txt = ", ".join(f"{t:.2f}" for t in res["profile_s"])
    print(
        f"  profile time:        first {first:.2f} s, median {med:.2f} s over {len(res['profile_s'])} ({times_txt})   target < 10 s: {verdict(first < 10)}"
    )
    print(
        f"  peak RSS (child):    {peak:.0f} MiB (after import + build, before profiling: "
        f"{res['peak_rss_before_profile_mib']:.0f} MiB; RUSAGE_CHILDREN {res['children_peak_rss_mib']:.0f} MiB; "
        f"VmHWM {res['vmhwm_mib'] or float('nan'):.0f} MiB)"
        f"   target < 1 GB: {verdict(res['pass_rss'])}"
    )
    grown = peak - res["peak_rss_before_profile_mib"]
    print(
        f"  RSS growth while profiling: {grown:.0f} MiB (the rest is the interpreter, torch and the meta-built model)"
    )


# ------------------------------------------------------------------------------------------------
# section 4: CLI start-up
# ------------------------------------------------------------------------------------------------


def bench_help(runs: int) -> dict[str, Any]:
    print(f"\n== 4. CLI start-up: median of {runs} subprocess runs (after 1 untimed) ==")
    commands = {
        "python -m costlab --help": [sys.executable, "-m", "costlab", "--help"],
        'python -c "pass"': [sys.executable, "-c", "pass"],
    }
    out: dict[str, Any] = {}
    for label, cmd in commands.items():
        subprocess.run(cmd, capture_output=True, check=True)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            samples.append(time.perf_counter() - start)
        out[label] = {"median_s": statistics.median(samples), "samples_s": samples}
    help_s = out["python -m costlab --help"]["median_s"]
    base_s = out['python -c "pass"']["median_s"]
    print(f"  python -m costlab --help: {help_s * 1e3:7.0f} ms   target < 0.5 s: {verdict(help_s < 0.5)}")
    print(f'  python -c "pass":         {base_s * 1e3:7.0f} ms   (interpreter start-up, for reference)')
    out["pass"] = help_s < 0.5
    return out


# ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="*", help="shell glob over zoo names for sections 1 and 2 (default: all)")
    parser.add_argument(
        "--batch-models",
        default=None,
        help="glob for section 2 (default: one model per family, within --models; '*' for all)",
    )
    parser.add_argument("--quick", action="store_true", help="a handful of models and fewer repeats")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per model in section 1 (default 5; 3 quick)"
    )
    parser.add_argument("--batch", type=int, default=32, help="batch size of section 2")
    parser.add_argument("--sections", default="1,2,3,4", help="which sections to run, e.g. 1,3")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads for the plain forward and fvcore (default: torch's own)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    parser.add_argument("--_gpt-child", dest="gpt_child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.gpt_child is not None:
        gpt_child(args.gpt_child)
        return

    sections = {s.strip() for s in args.sections.split(",")}
    t0, run_load = time.perf_counter(), OtherLoad()
    load_start = loadavg()
    gpt = run_gpt(repeats=1 if args.quick else 3) if "3" in sections else None  # first: see run_gpt
    gpt_s = time.perf_counter() - t0

    warnings.filterwarnings("ignore")  # fvcore's tracer warnings
    logging.getLogger("fvcore").setLevel(logging.ERROR)

    import torch

    from costlab.zoo import list_models

    if args.threads:
        torch.set_num_threads(args.threads)

    repeats = args.repeats or (3 if args.quick else 5)
    batch_repeats = 3
    names = list_models(args.models)
    if args.quick:
        names = [n for n in QUICK_MODELS if n in names] or names[:5]
    if args.batch_models:
        batch_names = [n for n in names if fnmatch.fnmatchcase(n, args.batch_models)]
    elif args.quick:
        batch_names = names[:3]
    else:
        batch_names = [n for n in names if n in BATCH_DEFAULT] or names

    import costlab

    meta = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "costlab": costlab.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_start": load_start,
        "quick": args.quick,
    }
    print(
        f"costlab {meta['costlab']} | torch {meta['torch']} ({meta['torch_threads']} threads) | python {meta['python']} | "
        f"{meta['cpu_count']} CPUs | load average {meta['loadavg_start']}"
    )
    results: dict[str, Any] = {"meta": meta}
    section_s: dict[str, float] = {}
    if gpt is not None:
        section_s["3"] = gpt_s
    if "1" in sections and names:
        start, load = time.perf_counter(), OtherLoad()
        results["models"] = bench_models(names, repeats, warmup=1)
        results["models"]["other_cpu_share"] = share = load.share()
        print(load_line(share))
        section_s["1"] = time.perf_counter() - start
    if "2" in sections and batch_names:
        start, load = time.perf_counter(), OtherLoad()
        results["batch"] = bench_batch(batch_names, args.batch, batch_repeats, warmup=1)
        results["batch"]["other_cpu_share"] = share = load.share()
        print(load_line(share))
        section_s["2"] = time.perf_counter() - start
    if gpt is not None:
        show_gpt(gpt)
        results["gpt2_xl"] = gpt
    if "4" in sections:
        start, load = time.perf_counter(), OtherLoad()
        results["cli_help"] = bench_help(runs=5)
        results["cli_help"]["other_cpu_share"] = share = load.share()
        print(load_line(share))
        section_s["4"] = time.perf_counter() - start
    meta["section_wall_s"] = section_s

    meta["loadavg_end"] = loadavg()
    meta["other_cpu_share"] = run_load.share()
    meta["wall_s"] = time.perf_counter() - t0
    meta["peak_rss_mib_self"] = rss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    busy = [k for k in ("models", "batch", "cli_help") if ((results.get(k) or {}).get("other_cpu_share") or 0) > 0.15]
    print(
        "\n== summary =="
        + (f"  (busy machine during {', '.join(busy)}: those timings are not trustworthy)" if busy else "")
    )
    if "models" in results:
        r = results["models"]
        print(
            f"  forward/costlab (batch 1)  {r['geomean_forward_over_costlab']:8.2f}x  (target >= 1)   {verdict(r['pass_forward'])}"
        )
        print(
            f"  fvcore/costlab  (batch 1)  {r['geomean_fvcore_over_costlab']:8.2f}x  (target >= 5)   {verdict(r['pass_fvcore'])}"
        )
    if "batch" in results:
        r = results["batch"]
        print(
            f"  forward/costlab (batch {r['batch']}) {r['geomean_forward_over_costlab']:8.2f}x  (target >= 10)  {verdict(r['pass'])}"
        )
    if "gpt2_xl" in results and "error" not in results["gpt2_xl"]:
        r = results["gpt2_xl"]
        print(f"  GPT-2-XL profile           {r['profile_first_s']:8.2f} s  (target < 10 s) {verdict(r['pass_time'])}")
        print(f"  GPT-2-XL peak RSS          {r['peak_rss_mib']:8.0f} MiB (target < 1 GB) {verdict(r['pass_rss'])}")
    if "cli_help" in results:
        r = results["cli_help"]
        print(
            f"  costlab --help             {r['python -m costlab --help']['median_s']:8.2f} s  (target < 0.5 s) {verdict(r['pass'])}"
        )
    per = ", ".join(f"section {k} {v:.0f} s" for k, v in sorted(section_s.items()))
    print(
        f"  wall time {meta['wall_s']:.0f} s ({per}); load average at start {meta['loadavg_start']}, at end {meta['loadavg_end']}"
    )
    if meta["other_cpu_share"] is not None:
        print(f"  other processes used {meta['other_cpu_share']:.0%} of the machine's CPU during the run")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
        print(f"  figures written to {args.json}")


if __name__ == "__main__":
    main()
