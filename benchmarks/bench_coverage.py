"""How many third-party models costlab profiles at their own input, and how many exactly.

Every figure printed is measured in this run; nothing is hard-coded.

* ``--library timm`` (default): every model of ``timm.list_models()`` by name (``timm:NAME``), at
  its ``pretrained_cfg["input_size"]``. Oracle: the same model built independently on the meta
  device and run under ``torch.utils.flop_counter.FlopCounterMode`` (scaled-dot-product attention
  on its math path, so that the oracle sees the matmuls; MACs = its FLOPs / 2 for a forward pass),
  and ``sum(p.numel() for p in model.parameters())`` (unique parameters).
* ``--library torchvision``: every builder of ``torchvision.models.list_models()`` by name, against
  its default weights' published ``meta["_ops"]`` (GMACs, 3 decimals) and ``meta["num_params"]``.

Prints the success rate (profiled without an error), the exact rate (MACs and parameters equal to
the oracle's), the time per model (median, worst) and every failure and mismatch with its reason.

    python benchmarks/bench_coverage.py                          # all of timm (tens of minutes)
    python benchmarks/bench_coverage.py --models 'resnet*' --limit 20
    python benchmarks/bench_coverage.py --library torchvision --json tv.json

torchvision's compiled ops must load for its detectors to run (see tests/thirdparty/setup.py for the
test-only shim this script uses where they cannot, as on the CPU-only machine of this project).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import logging
import os
import signal
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _machine import loadavg

from tests.thirdparty import setup as thirdparty  # noqa: F401 - before torchvision is imported (see its docstring)


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Any:
    def expire(signum: int, frame: Any) -> None:
        raise Timeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def reason(err: BaseException) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0][:160] if lines else ''}"


def timm_oracle(timm: Any, name: str) -> tuple[int, int]:
    """(MACs, unique params) of ``name`` from FlopCounterMode on an independently built model."""
    import torch

    from costlab.load import constructing

    size = tuple(timm.models.get_pretrained_cfg(name).input_size)
    try:
        # on meta with the weight initialisers skipped (they change no shape, and their meta
        # decompositions made the oracle's build ten times slower than the count)
        with constructing(True):
            model = timm.create_model(name, pretrained=False)
        x = torch.empty((1, *size), device="meta")
        device_model = model
    except Exception:  # noqa: BLE001 - a constructor that computes with tensors: build it for real
        device_model = timm.create_model(name, pretrained=False)
        x = torch.randn((1, *size))
    params = sum(p.numel() for p in device_model.parameters())
    try:
        return _counted_macs(device_model.eval(), x, grad=False), params
    except AssertionError as err:
        # FlopCounterMode's module tracker hooks the autograd graph and asserts on a parameter passed to a
        # submodule under no_grad (CaiT, PiT, SigLIP-style ViTs): count once more with autograd on
        if "gradient function" not in str(err):
            raise
        return _counted_macs(device_model, x, grad=True), params
    except Exception:
        if not x.is_meta:
            raise
        real = timm.create_model(name, pretrained=False).eval()
        return _counted_macs(real, torch.randn((1, *size)), grad=False), params


def _counted_macs(model: Any, x: Any, grad: bool) -> int:
    """FlopCounterMode's FLOPs of one forward of ``model`` on ``x``, halved (its FLOPs are 2 per MAC)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.set_grad_enabled(grad), sdpa_kernel(SDPBackend.MATH), counter:
        model(x)
    return counter.get_total_flops() // 2


def run_timm(patterns: list[str], limit: int | None, timeout: int) -> list[dict[str, Any]]:
    import timm

    import costlab

    names = [n for n in timm.list_models() if any(fnmatch.fnmatch(n, p) for p in patterns)][:limit]
    rows = []
    for i, name in enumerate(names, 1):
        row: dict[str, Any] = {"name": name}
        try:
            with time_limit(timeout):
                start = time.perf_counter()
                report = costlab.profile(f"timm:{name}")
                row["seconds"] = time.perf_counter() - start
            row.update(macs=report.totals.macs, params=report.params, captured_on=report.captured_on,
                       input=[list(s) for s in report.input_shapes], unsupported=report.unsupported_ops)
        except Exception as err:  # noqa: BLE001 - each failure is a result
            row.update(ok=False, reason=reason(err))
            rows.append(row)
            print(f"[{i}/{len(names)}] {name}: FAILED {row['reason']}", file=sys.stderr, flush=True)
            continue
        row["ok"] = True
        try:
            with time_limit(timeout):
                want_macs, want_params = timm_oracle(timm, name)
            row.update(want_macs=want_macs, want_params=want_params,
                       exact=row["macs"] == want_macs and row["params"] == want_params)
        except Exception as err:  # noqa: BLE001
            row.update(exact=None, oracle_reason=reason(err))
        print(f"[{i}/{len(names)}] {name}: {row['seconds']:.2f} s exact={row['exact']}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def run_torchvision(patterns: list[str], limit: int | None, timeout: int) -> list[dict[str, Any]]:
    import torchvision

    import costlab

    names = [n for n in torchvision.models.list_models() if any(fnmatch.fnmatch(n, p) for p in patterns)][:limit]
    rows = []
    for i, name in enumerate(names, 1):
        meta = torchvision.models.get_model_weights(name).DEFAULT.meta
        row: dict[str, Any] = {"name": name, "want_gmacs": meta["_ops"], "want_params": meta["num_params"]}
        try:
            with time_limit(timeout):
                start = time.perf_counter()
                report = costlab.profile(f"torchvision:{name}")
                row["seconds"] = time.perf_counter() - start
        except Exception as err:  # noqa: BLE001
            row.update(ok=False, reason=reason(err))
            rows.append(row)
            print(f"[{i}/{len(names)}] {name}: FAILED {row['reason']}", file=sys.stderr, flush=True)
            continue
        gmacs = round(report.totals.macs / 1e9, 3)
        row.update(ok=True, gmacs=gmacs, params=report.params, captured_on=report.captured_on,
                   input=[list(s) for s in report.input_shapes], unsupported=report.unsupported_ops,
                   exact=gmacs == meta["_ops"] and report.params == meta["num_params"])
        print(f"[{i}/{len(names)}] {name}: {row['seconds']:.2f} s exact={row['exact']}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def summary(rows: list[dict[str, Any]], library: str) -> str:
    ok = [r for r in rows if r["ok"]]
    exact = [r for r in ok if r.get("exact")]
    times = sorted(r["seconds"] for r in ok)
    lines = [
        f"{library}: {len(rows)} models, load {loadavg()}",
        f"  profiled at their own input: {len(ok)}/{len(rows)} = {len(ok) / len(rows):.1%}",
        f"  exact (MACs and params equal to the oracle): {len(exact)}/{len(rows)} = {len(exact) / len(rows):.1%}",
        f"  captured on meta: {sum(r['captured_on'] == 'meta' for r in ok)}, with real tensors: "
        f"{sum(r['captured_on'] != 'meta' for r in ok)}",
        f"  unsupported ops (--strict would fail): {sum(bool(r['unsupported']) for r in ok)} models",
    ]
    if times:
        worst = max(ok, key=lambda r: r["seconds"])
        lines.append(f"  time per model: median {statistics.median(times):.2f} s, worst {worst['seconds']:.2f} s ({worst['name']})")
    failed = [r for r in rows if not r["ok"]]
    if failed:
        lines.append("  failed:")
        lines += [f"    {r['name']}: {r['reason']}" for r in failed]
    inexact = [r for r in ok if r.get("exact") is False]
    if inexact:
        lines.append("  not exact:")
        for r in inexact:
            if library == "timm":
                lines.append(f"    {r['name']}: MACs {r['macs']:,} vs {r['want_macs']:,}, params {r['params']:,} vs {r['want_params']:,}")
            else:
                lines.append(f"    {r['name']}: {r['gmacs']} vs {r['want_gmacs']} GMACs, params {r['params']:,} vs {r['want_params']:,}")
    no_oracle = [r for r in ok if r.get("exact") is None]
    if no_oracle:
        lines.append("  no oracle (FlopCounterMode failed):")
        lines += [f"    {r['name']}: {r['oracle_reason']}" for r in no_oracle]
    strict = [r for r in ok if r["unsupported"]]
    if strict:
        lines.append("  with unsupported ops:")
        lines += [f"    {r['name']}: {', '.join(sorted(r['unsupported']))}" for r in strict]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=("timm", "torchvision"), default="timm")
    parser.add_argument("--models", default="*", help="comma-separated globs (default: every model)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per model and per oracle run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    patterns = args.models.split(",")
    start = time.perf_counter()
    run = run_timm if args.library == "timm" else run_torchvision
    rows = run(patterns, args.limit, args.timeout)
    print(summary(rows, args.library))
    print(f"  wall time: {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
