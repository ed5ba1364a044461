"""The roofs' honesty: the spread of their repeats, refusing to cache noisy ones, their age and
provenance, cache entries written by an older costlab, and the cache roofs (sizes, measurement).

No test judges a speed: measurements are replaced by hand-chosen repeats, or checked for structure.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import torch

from costlab.timing import machine
from costlab.timing.caches import cache_sizes, measure_cache_levels
from costlab.timing.devices import device_name
from costlab.timing.machine import (
    ROOF_NOISE_LIMIT,
    MachinePeaks,
    best_and_spread,
    cache_path,
    load_cached,
    machine_peaks,
    roof_noise_problem,
    store,
)
from tests.timing.test_timing import peaks as timing_peaks

CPU = device_name(torch.device("cpu"))


def peaks(**changes) -> MachinePeaks:
    """test_timing's peaks, measured at a fixed moment, with quiet spreads and two cache levels."""
    quiet = {"measured_at": "2026-12-01T21:11:05+00:00", "flops_spread": 0.02, "bandwidth_spread": 0.03,
             "cache_levels": (("L1", 32768, 100e9), ("L2", 524288, 40e9))}
    return timing_peaks(**{**quiet, **changes})


# ------------------------------------------------------------------------------------------------
# spread and noise
# ------------------------------------------------------------------------------------------------


def test_spread_is_the_median_over_the_best():
    # sorted 1.0, 1.4, 1.5, 1.6, 2.0: best 1.0, median 1.5 → (1.5 - 1.0) / 1.0 = 50 %
    assert best_and_spread([1.5, 1.0, 2.0, 1.4, 1.6]) == (1.0, pytest.approx(0.5))
    assert best_and_spread([2.0, 2.0, 2.0]) == (2.0, 0.0)


def test_noise_problem_names_what_spread_and_how_to_avoid_it():
    assert roof_noise_problem(peaks()) is None
    assert roof_noise_problem(peaks(flops_spread=ROOF_NOISE_LIMIT)) is None  # at the limit: still fine
    assert roof_noise_problem(peaks(flops_spread=None, bandwidth_spread=None)) is None  # unknown: not refused
    problem = roof_noise_problem(peaks(bandwidth_spread=0.34))
    assert "bandwidth 34%" in problem and "matmul" not in problem and "over 25%" in problem
    assert "quieter moment" in problem and "--threads 1" in problem  # 2 threads: fewer may help
    assert "--threads 1" not in roof_noise_problem(peaks(threads=1, flops_spread=0.5))


NOISY = [1.5, 1.0, 2.0, 1.4, 1.6]  # 50 % spread (above)


def noisy_measurement(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every timed repeat comes back as NOISY (nothing is timed), the cache levels as one made-up level."""
    calls: list[str] = []

    def repeat(fn, device, budget_s):
        calls.append("repeat")
        return list(NOISY)

    monkeypatch.setattr(machine, "_repeat", repeat)
    monkeypatch.setattr(machine, "measure_cache_levels", lambda device, sizes, budget_s: (("L2", 524288, 40e9),))
    return calls


def test_noisy_roofs_are_used_but_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    calls = noisy_measurement(monkeypatch)
    told: list[str] = []
    got = machine_peaks("cpu", "float32", threads=1, announce=told.append)
    assert calls and got.flops_spread == pytest.approx(0.5) and got.bandwidth_spread == pytest.approx(0.5)
    # 2 · 512³ FLOPs in the best 1.0 s; the 512² product took longer than its share: 1024² is not tried
    assert got.peak_flops == pytest.approx(2 * 512**3) and got.gemm_size == 512
    assert not cache_path().exists()
    assert len(told) == 1 and told[0].startswith(f"measuring the roofs of {CPU} (float32, 1 thread)")
    assert "about 6 s" in told[0]
    assert got.roofs().label == f"{CPU} (float32, 1 thread), measured now, not cached: too noisy"


def test_quiet_roofs_are_cached_with_their_spreads(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(machine, "_repeat", lambda fn, device, budget_s: [1.0, 1.02, 1.01])  # 1 % spread
    monkeypatch.setattr(machine, "measure_cache_levels", lambda device, sizes, budget_s: (("L2", 524288, 40e9),))
    got = machine_peaks("cpu", "float32", threads=1)
    assert got.flops_spread == pytest.approx(0.01)
    again = load_cached(got.key)
    assert again is not None and again.cached and again.cache_levels == (("L2", 524288, 40e9),)
    assert again.bandwidth_spread == pytest.approx(0.01)


# ------------------------------------------------------------------------------------------------
# age and provenance
# ------------------------------------------------------------------------------------------------


def test_the_label_says_when_and_whether_cached():
    now = datetime(2026, 12, 2, 0, 20, tzinfo=timezone.utc)  # 3 h 9 min after 21:11:05
    cached = peaks(cached=True)
    assert cached.roofs(now).label == "Test CPU (float32, 2 threads), measured 2026-12-01 21:11 UTC, 3 h ago, cached"
    assert "12 min ago" in cached.roofs(datetime(2026, 12, 1, 21, 23, 30, tzinfo=timezone.utc)).label
    assert "under a minute ago" in cached.roofs(datetime(2026, 12, 1, 21, 11, 30, tzinfo=timezone.utc)).label
    assert "5 days ago" in cached.roofs(datetime(2026, 12, 6, 22, 0, tzinfo=timezone.utc)).label
    assert peaks().roofs(now).label == "Test CPU (float32, 2 threads), measured now"
    roofs = cached.roofs(now)
    assert roofs.cached and roofs.measured_at == "2026-12-01T21:11:05+00:00"
    assert [(c.level, c.capacity_bytes, c.bandwidth_bytes_per_s) for c in roofs.cache_roofs] == [
        ("L1", 32768, 100e9), ("L2", 524288, 40e9)]
    assert peaks(cache_levels=()).roofs(now).label.endswith("; no cache roofs (the cache sizes could not be read or measured)")
    # the clock the CLI reads is machine.utc_now (tests put a fixed one in its place)
    assert machine.utc_now().tzinfo is not None


OLD_ENTRY = {  # a cache entry as costlab wrote it before spreads and cache levels
    "device": "cpu", "device_name": "Test CPU", "dtype": "float32", "threads": 2, "peak_flops": 100e9,
    "bandwidth_bytes_per_s": 10e9, "copy_bytes_per_s": 10e9, "triad_bytes_per_s": 9e9, "gemm_size": 1024,
    "measured_at": "2026-01-01T00:00:00+00:00", "torch_version": "2.x",
}


def test_old_cache_entries_still_load(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    key = peaks().key
    cache_path().write_text(json.dumps({"version": 1, "entries": {key: OLD_ENTRY}}))
    old = load_cached(key)
    assert old is not None and old.cached and old.peak_flops == 100e9
    assert old.flops_spread is None and old.bandwidth_spread is None and old.cache_levels is None
    assert roof_noise_problem(old) is None
    roofs = old.roofs(datetime(2026, 1, 1, 5, 0, tzinfo=timezone.utc))
    assert roofs.cache_roofs == () and roofs.bandwidth_for(1000) == 10e9
    assert roofs.label == ("Test CPU (float32, 2 threads), measured 2026-01-01 00:00 UTC, 5 h ago, cached; "
                           "no cache roofs (cached by an older costlab: --refresh measures them)")
    # a new entry beside it keeps the old one readable, and round-trips its levels as tuples
    store(peaks(device_name="Other CPU"))
    assert load_cached(key) == old
    assert load_cached(peaks(device_name="Other CPU").key).cache_levels == peaks().cache_levels
    entries = json.loads(cache_path().read_text())["entries"]
    assert entries[peaks(device_name="Other CPU").key]["cache_levels"][0] == ["L1", 32768, 100e9]


def test_a_malformed_cache_level_counts_as_no_entry(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    key = peaks().key
    cache_path().write_text(json.dumps({"version": 1, "entries": {key: {**OLD_ENTRY, "cache_levels": [["L1"]]}}}))
    assert load_cached(key) is None  # remeasured, never a traceback


# ------------------------------------------------------------------------------------------------
# cache sizes and their measurement
# ------------------------------------------------------------------------------------------------


def _sysfs(root, entries):
    for index, (level, kind, size) in enumerate(entries):
        folder = root / f"index{index}"
        folder.mkdir(parents=True)
        (folder / "level").write_text(f"{level}\n")
        (folder / "type").write_text(f"{kind}\n")
        (folder / "size").write_text(f"{size}\n")
    return root


def test_cache_sizes_from_sysfs(tmp_path):
    # this machine's layout: L1d 32 KiB (and an L1i, skipped), L2 512 KiB, L3 32 MiB
    root = _sysfs(tmp_path / "cache", [(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "512K"),
                                       (3, "Unified", "32768K")])
    assert cache_sizes(torch.device("cpu"), root) == (("L1", 32768), ("L2", 524288), ("L3", 33554432))
    assert cache_sizes(torch.device("cpu"), tmp_path / "absent") == ()
    bad = _sysfs(tmp_path / "bad", [(1, "Data", "lots")])
    assert cache_sizes(torch.device("cpu"), bad) == ()


def test_a_real_cache_measurement_is_positive_and_fast():
    with torch.no_grad():
        levels = measure_cache_levels(torch.device("cpu"), (("L1", 32768), ("L2", 524288)), budget_s=0.1)
    assert [name for name, _, _ in levels] in (["L1", "L2"], ["L1"], ["L2"], [])  # a drowned level is left out
    assert all(size in (32768, 524288) and rate > 0 for _, size, rate in levels)
    assert measure_cache_levels(torch.device("cpu"), (), budget_s=0.1) == ()
