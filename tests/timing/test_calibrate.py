"""Calibration: a real (tiny) calibration run, the noise refusal, and the cache's bad inputs."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import costlab
from costlab.timing import calibrations
from costlab.timing.calibrate import (
    GLIBC_MMAP_MAX,
    NOISE_LIMIT,
    Sample,
    calibrate,
    fit_samples,
    fresh_page_seconds,
    mmap_floor,
    noise_problem,
)
from costlab.timing.calibrations import (
    CalibrationCacheError,
    NoCalibrationError,
    calibration_file,
    find_calibration,
    key_for,
    load_calibration,
    store_calibration,
)
from tests.conftest import TINY_NET, fake_calibration, store_fake_peaks


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    store_fake_peaks()
    return tmp_path / "cache"


def test_a_small_real_calibration(cache: Path) -> None:
    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    made = calibrate("cpu", "float32", 1, samples_per_kind=4, kinds=("unary", "binary", "view"))
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)
    assert made.threads == 1 and made.clock == "thread_time" and made.peak_flops == 100e9  # the fake peaks
    assert {"unary", "binary", "view"} <= set(made.kinds)
    assert all(fit.samples >= 3 and fit.cv for fit in made.kinds.values())
    assert all(s["time_s"] > 0 for s in made.samples)
    assert made.overhead.nets == 8 and made.overhead.per_call_s >= 0
    # the samples are labelled by the kind a Report's op gets, and fitted into a usable model
    prediction = costlab.predict(str(TINY_NET), threads=1, calibration=made)
    assert prediction.predicted_ms > 0
    assert prediction.unmodelled == {"aten.convolution": 2}  # no conv kinds were calibrated: roofline


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_a_small_cuda_calibration(cache: Path) -> None:
    made = calibrate("cuda", "float32", samples_per_kind=3, kinds=("conv_dense", "unary", "view"))
    assert made.device.startswith("cuda") and made.clock == "perf_counter"
    assert "conv_dense" in made.kinds


def test_bad_kinds_and_sample_counts_are_one_line(cache: Path) -> None:
    with pytest.raises(costlab.errors.CostlabError, match="no micro-benchmarks for kind nonsense"):
        calibrate(kinds=("nonsense",))
    with pytest.raises(costlab.errors.CostlabError, match="at least 1"):
        calibrate(samples_per_kind=0)


def test_a_noisy_calibration_is_not_to_be_cached() -> None:
    assert noise_problem(fake_calibration(spread=NOISE_LIMIT / 2)) is None
    problem = noise_problem(replace(fake_calibration(threads=2), spread=0.25))
    assert problem is not None and "25.0%" in problem and "--threads 1" in problem and "quieter" in problem


def test_cache_round_trip(cache: Path) -> None:
    cal = fake_calibration()
    path = store_calibration(cal)
    assert path.parent == cache / "calibrations" and path == calibration_file(cal.key)
    loaded = load_calibration(cal.key)
    assert loaded is not None and loaded.cached and loaded.key == cal.key
    assert key_for("cpu", "float32", 1) == cal.key


def test_a_corrupt_file_names_itself_and_nothing_else_is_lost(cache: Path) -> None:
    one, two = fake_calibration(1), fake_calibration(2)
    store_calibration(one)
    store_calibration(two)
    calibration_file(one.key).write_text('{"version": 1, "device": ', encoding="utf-8")
    with pytest.raises(CalibrationCacheError, match=str(calibration_file(one.key))) as err:
        load_calibration(one.key)
    assert "\n" not in str(err.value)
    assert load_calibration(two.key) is not None  # the other calibration is untouched
    with pytest.raises(CalibrationCacheError):
        find_calibration("cpu", "float32", 1, calibrate_missing=False)


def test_another_thread_count_is_never_used_in_its_place(cache: Path) -> None:
    store_calibration(fake_calibration(threads=2))
    with pytest.raises(NoCalibrationError) as err:
        find_calibration("cpu", "float32", 1, calibrate_missing=False)
    message = str(err.value)
    assert "2 threads" in message and "not used in its place" in message and "--threads 1" in message


def test_a_calibration_for_other_threads_is_refused_by_the_api(cache: Path) -> None:
    with pytest.raises(NoCalibrationError, match="2 threads"):
        costlab.predict(str(TINY_NET), threads=1, calibration=fake_calibration(threads=2))


def test_another_torch_version_is_another_key(cache: Path) -> None:
    old = replace(fake_calibration(), torch_version="2.0.0")
    store_calibration(old)
    with pytest.raises(NoCalibrationError, match="torch 2.0.0"):
        find_calibration("cpu", "float32", 1, calibrate_missing=False)


def test_a_calibration_is_made_and_cached_when_missing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("costlab.timing.calibrate.calibrate", lambda *a, **k: fake_calibration())
    made, what = find_calibration("cpu", "float32", 1)
    assert what is not None and "cached in" in what
    assert load_calibration(made.key) is not None
    again, what = find_calibration("cpu", "float32", 1)
    assert what is None and again.cached


def test_a_noisy_calibration_is_used_but_not_cached(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("costlab.timing.calibrate.calibrate", lambda *a, **k: fake_calibration(spread=0.3))
    made, what = find_calibration("cpu", "float32", 1)
    assert what is not None and "did not cache it" in what
    assert load_calibration(made.key) is None


def test_the_file_holds_json(cache: Path) -> None:
    path = store_calibration(fake_calibration())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 2 and data["threads"] == 1 and "conv_dense" in data["kinds"]
    assert {"cache_bytes", "fresh_page_s", "fresh_floor_bytes"} <= set(data)
    assert {kind["cold_ratio"] for kind in data["kinds"].values()} == {1.25, 1.5}


def test_an_older_calibration_file_is_replaced_with_a_clear_line(cache: Path) -> None:
    cal = fake_calibration()
    path = store_calibration(cal)
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "version": 1}), encoding="utf-8")
    with pytest.raises(CalibrationCacheError, match="made by an older costlab .* run `costlab calibrate`") as err:
        load_calibration(cal.key)
    assert str(path) in str(err.value) and "corrupt" not in str(err.value)


def test_the_cold_ratio_is_the_median_of_cold_samples_over_the_warm_model() -> None:
    # warm samples (chunks of 4 MiB, under a 32 MiB cache) take exactly 10 µs + B / 1 GB/s; the cold
    # ones (128 MiB chunks) 1.25×, 1.5× and 2× that: the median ratio is 1.5
    def sample(nbytes: float, factor: float, chunk: float) -> Sample:
        return Sample("copy", "aten.clone", 0.0, nbytes, (), factor * (1e-5 + nbytes / 1e9), 0.01, chunk)

    warm = [sample(b, 1.0, 2**22) for b in (1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7)]
    cold = [sample(2e5, f, 2**27) for f in (1.25, 1.5, 2.0)]
    fit = fit_samples(warm + cold, ("roofline",), cache_bytes=2**25)["copy"]
    assert fit.samples == 7 and fit.cold_ratio == pytest.approx(1.5, rel=0.02)
    # fewer than three cold samples: no ratio to speak of (1), and with no cache known all samples are warm
    assert fit_samples(warm + cold[:2], ("roofline",), cache_bytes=2**25)["copy"].cold_ratio == 1.0
    assert fit_samples(warm + cold, ("roofline",))["copy"].samples == 10


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_the_fresh_memory_floor_follows_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert mmap_floor() == GLIBC_MMAP_MAX == 32 * 2**20
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")  # a fixed threshold: mapped afresh above it
    assert mmap_floor() == 2**20
    # a page of a new mapping costs something to fault in; none is measured off the CPU or without a floor
    assert fresh_page_seconds(torch.device("cpu"), 2**20, time.perf_counter, rounds=3) >= 0.0
    assert fresh_page_seconds(torch.device("meta"), 2**20, time.perf_counter) == 0.0
    assert fresh_page_seconds(torch.device("cpu"), 0, time.perf_counter) == 0.0
    assert calibrations.other_calibrations(key_for("cpu", "float32", 2)) == [fake_calibration().key]


# -- the calibrated prediction beside measured time, from the cache only -------------------------


def test_the_error_is_predicted_over_measured_minus_one() -> None:
    from costlab.timing.calibrations import PREDICTED_COLUMNS, PredictedTime

    error = PREDICTED_COLUMNS[1]
    # predicted 12 ms, measured 10 ms: 12 / 10 − 1 = +0.2 → "+20.0%"
    assert PredictedTime(12.0, 10.0).predicted_error == pytest.approx(0.2)
    assert error.text(PredictedTime(12.0, 10.0).predicted_error) == "+20.0%"
    # predicted 9.2 ms, measured 10 ms: 9.2 / 10 − 1 = −0.08 → "-8.0%"
    assert error.text(PredictedTime(9.2, 10.0).predicted_error) == "-8.0%"
    # nothing measured (or a zero time): no error, shown as a dash and written empty in CSV
    assert PredictedTime(1.0).predicted_error is None and PredictedTime(1.0, 0.0).predicted_error is None
    assert error.text(None) == "–" and error.raw(None) == ""


def test_cached_prediction_is_predict_latency_on_the_cached_calibration(cache: Path) -> None:
    from costlab.cost.predict import predict_latency
    from costlab.timing.calibrations import cached_prediction

    report = costlab.profile(str(TINY_NET))
    nothing, note = cached_prediction(report, None, "cpu", "float32", 1)
    assert nothing is None and note.startswith("no calibration for cpu (")
    store_calibration(fake_calibration(1))
    found, note = cached_prediction(report, None, "cpu", "float32", 1)
    expected = predict_latency(report, fake_calibration(1))
    assert note is None and found is not None and found.calibration.cached
    # the tiny net's closed form (tests/cost/test_predict.py): 94.8112 µs of ops + 14 µs of overhead
    assert found.predicted_ms == pytest.approx(expected.predicted_ms) == pytest.approx(0.1088112)
    assert [r.predicted_ms for r in found.layers] == pytest.approx([r.predicted_ms for r in expected.layers])


def test_without_a_calibration_the_note_says_how_and_nothing_is_calibrated(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costlab.timing import calibrate as calibrate_module
    from costlab.timing.calibrations import cached_calibration
    from costlab.timing.devices import device_name

    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: pytest.fail("calibrated"))
    store_calibration(fake_calibration(1))
    found, note = cached_calibration("cpu", "float32", 2)
    assert found is None and "\n" not in note
    assert note.startswith(f"no calibration for cpu ({device_name(torch.device('cpu'))}, float32, 2 threads)")
    assert "one for 1 thread is cached but not used" in note
    assert note.endswith("run `costlab calibrate --device cpu --threads 2` to see predicted beside measured")
    assert "--dtype bfloat16" in cached_calibration("cpu", "bf16", 1)[1]


def test_a_corrupt_calibration_is_a_note_naming_the_file(cache: Path) -> None:
    from costlab.timing.calibrations import cached_calibration

    path = calibration_file(fake_calibration(1).key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    found, note = cached_calibration("cpu", "float32", 1)
    assert found is None and str(path) in note and "corrupt" in note and "\n" not in note
    assert path.read_text(encoding="utf-8") == "{not json"  # named, never replaced behind the user's back


# -- how one op is timed in the replay --------------------------------------------------------------


def test_an_ops_time_is_its_fastest_round_and_its_spread_the_iqr_over_the_median() -> None:
    from costlab.timing.calibrate import summarize

    # rounds 3, 1, 2, 5, 4 ms: sorted 1 2 3 4 5 → fastest 1 ms; q25 = 2, q75 = 4, median 3 → (4 − 2) / 3
    time_s, spread = summarize([3e-3, 1e-3, 2e-3, 5e-3, 4e-3])
    assert time_s == pytest.approx(1e-3) and spread == pytest.approx(2 / 3)
    assert summarize([2e-6]) == (2e-6, 0.0)  # one round: that round, no spread


def test_the_replay_reads_the_input_just_before_the_clock_and_frees_the_output_after_it() -> None:
    import random

    from torch.utils._python_dispatch import TorchDispatchMode

    from costlab.timing.calibrate import _Pending, _replay

    events: list[str] = []

    class Log(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            events.append(str(func.overloadpacket.__name__))
            return func(*args, **(kwargs or {}))

    class Output:
        def __del__(self) -> None:
            events.append("free")

    def op(x: torch.Tensor, parts: list[torch.Tensor]) -> Output:
        events.append("op")
        return Output()

    def clock() -> float:
        events.append("clock")
        return float(len(events))

    x = torch.ones(4)
    item = _Pending("unary", None, op, (x, [x]), {}, [])
    with Log():
        _replay([item], torch.device("cpu"), 2, random.Random(0), clock)
    # a warm-up call, then per round: the input read (a sum over it), the clock, the op, the clock, the free
    assert events == ["op", "free"] + ["sum", "clock", "op", "clock", "free"] * 2
    assert len(item.times_s) == 2


def test_a_list_input_is_read_tensor_by_tensor_and_scalars_are_left_alone() -> None:
    from torch.utils._python_dispatch import TorchDispatchMode

    from costlab.timing.calibrate import _warm

    read: list[tuple[int, ...]] = []

    class Log(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            read.append(tuple(args[0].shape))
            return func(*args, **(kwargs or {}))

    parts, scalar, other = [torch.ones(2, 3), torch.ones(5)], torch.ones(()), torch.ones(7)
    with Log():
        _warm((parts, 1))           # a cat's list: both parts
        _warm((scalar, other))      # a one-element first argument: nothing to warm
        _warm((3.0,))
        _warm(())
    assert read == [(2, 3), (5,)]
