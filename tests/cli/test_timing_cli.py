"""``costlab latency``, ``costlab machine`` and ``costlab roofline``: formats, files, errors and exit codes.

Every run uses the tiny two-conv net and a very short --min-time; the machine cache lives in a
tmp_path (COSTLAB_CACHE_DIR) holding made-up peaks, so no test waits for a real peak measurement.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from costlab.cli import app
from costlab.timing import machine
from costlab.timing.devices import device_name
from costlab.timing.machine import MachinePeaks, cache_path
from tests.conftest import REPO, TINY_NET, store_fake_peaks
from tests.timing.test_roofs import CPU, OLD_ENTRY, noisy_measurement

ROOT = REPO
TINY = str(TINY_NET)
FAST = ["--min-time", "0.02", "--threads", "1"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when there is no CUDA GPU")
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: object):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def words(text: str) -> str:
    """The text with every run of whitespace (table wrapping) made one space."""
    return " ".join(text.split())


def one_line_error(result, *needles: str) -> None:
    """Exit 2, exactly one line on stderr starting with ``error:``, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    """A machine cache with made-up CPU peaks (100 GFLOP/s, 10 GB/s) for 1 thread at float32."""
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    store_fake_peaks()
    return tmp_path / "cache"


# ------------------------------------------------------------------------------------------------
# latency
# ------------------------------------------------------------------------------------------------


def test_latency_json_has_one_measurement_per_batch():
    data = json.loads(ok("latency", TINY, "--batch", "1,2", "--format", "json", *FAST).stdout)
    assert data["schema_version"] == 1
    runs = data["measurements"]
    assert [m["batch"] for m in runs] == [1, 2]
    assert [m["input_shapes"] for m in runs] == [[[1, 3, 32, 32]], [[2, 3, 32, 32]]]
    for m in runs:
        assert m["device"] == "cpu" and m["threads"] == 1 and m["dtype"] == "float32"
        assert m["p10_ms"] <= m["median_ms"] <= m["p90_ms"]
        assert m["runs"] == m["samples"] * m["number_per_run"] and len(m["times_ms"]) == m["samples"]
        assert m["throughput_per_s"] == pytest.approx(m["batch"] / (m["median_ms"] / 1e3))
        assert isinstance(m["warnings"], list)


def test_latency_csv_and_table():
    rows = list(csv.DictReader(io.StringIO(ok("latency", TINY, "-b", "1,3", "-f", "csv", *FAST).stdout)))
    assert [r["batch"] for r in rows] == ["1", "3"]
    assert float(rows[0]["median_ms"]) > 0 and rows[0]["model"] == "tiny_net.py"
    table = ok("latency", TINY, "--channels-last", "--dtype", "bfloat16", *FAST).stdout
    for needle in (
        "tiny_net.py latency on cpu",
        "bfloat16",
        "1 thread",
        "channels-last",
        "Median",
        "IQR",
        "p90",
        "Images/s",
    ):
        assert needle in words(table)


def test_latency_per_layer_shows_layers_and_the_breakdown():
    result = ok("latency", TINY, "--per-layer", *FAST)
    for needle in (
        "Per-layer time",
        "conv1",
        "conv2",
        "Time by kind of work",
        "element-wise",
        "the whole model takes",
    ):
        assert needle in words(result.stdout)
    data = json.loads(ok("latency", TINY, "--per-layer", "-f", "json", *FAST).stdout)
    per_layer = data["measurements"][0]["per_layer"]
    assert [layer["name"] for layer in per_layer["layers"]] == ["conv1", "act", "conv2"]
    # the kinds profile counts, in the taxonomy's order, with its op counts (two convs, one ReLU)
    assert [(c["category"], c["ops"]) for c in per_layer["categories"] if c["ops"]] == [("conv", 2), ("elementwise", 1)]
    assert per_layer["model_ms"] == data["measurements"][0]["median_ms"]
    rows = list(csv.DictReader(io.StringIO(ok("latency", TINY, "--per-layer", "-f", "csv", *FAST).stdout)))
    assert [r["name"] for r in rows] == ["conv1", "act", "conv2"] and rows[0]["category"] == "conv"


@NO_CUDA
def test_cuda_without_a_gpu_is_one_line():
    one_line_error(invoke("latency", TINY, "--device", "cuda", *FAST), "no CUDA GPU", "--device cpu")
    one_line_error(invoke("machine", "--device", "cuda"), "no CUDA GPU")
    one_line_error(invoke("roofline", TINY, "--device", "cuda:0", *FAST), "no CUDA GPU")


@CUDA
def test_latency_on_cuda():
    data = json.loads(ok("latency", TINY, "--device", "cuda", "-f", "json", "--min-time", "0.02").stdout)
    assert data["measurements"][0]["device"].startswith("cuda")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--batch", "0"], "at least 1"),
        (["--batch", "1,x"], "malformed --batch"),
        (["--dtype", "int8"], "unknown dtype 'int8'"),
    ],
)
def test_bad_latency_options_are_one_line(args, needle):
    one_line_error(invoke("latency", TINY, *args, *FAST), needle)


def test_a_forward_that_cannot_run_at_the_dtype_is_one_line(tmp_path):
    model = tmp_path / "inverse.py"
    model.write_text(
        "import torch\nfrom torch import nn\nINPUT_SHAPE = (1, 4, 4)\n\n"
        "class Inverse(nn.Module):\n    def forward(self, x):\n        return torch.linalg.inv(x)\n"
    )
    one_line_error(invoke("latency", model, "--dtype", "float16", *FAST), "forward failed on cpu at float16")


def test_unknown_model_is_one_line():
    one_line_error(invoke("latency", "no_such_net", *FAST), "no_such_net")


# ------------------------------------------------------------------------------------------------
# machine
# ------------------------------------------------------------------------------------------------


def test_machine_reads_the_cache(cache):
    data = json.loads(ok("machine", "--threads", "1", "--format", "json").stdout)
    assert data["cached"] is True
    assert data["peak_flops"] == 100e9 and data["bandwidth_bytes_per_s"] == 10e9
    assert data["ridge_flop_per_byte"] == pytest.approx(10.0)  # 100 GFLOP/s / 10 GB/s
    table = ok("machine", "--threads", "1").stdout
    for needle in ("100.0 GFLOP/s", "10.0 GB/s", "10.0 FLOP/B", "cached 2026-01-01", "--refresh"):
        assert needle in words(table)


def test_machine_refresh_measures_and_rewrites_the_cache(cache, monkeypatch):
    from costlab.timing import machine

    def fake(device, dtype, threads):
        return MachinePeaks(
            device="cpu",
            device_name=device_name(torch.device("cpu")),
            dtype=dtype,
            threads=threads,
            peak_flops=50e9,
            bandwidth_bytes_per_s=5e9,
            copy_bytes_per_s=5e9,
            triad_bytes_per_s=4e9,
            gemm_size=512,
            measured_at="2026-02-02T00:00:00+00:00",
            torch_version=torch.__version__,
        )

    monkeypatch.setattr(machine, "measure_peaks", fake)
    fresh = json.loads(ok("machine", "--threads", "1", "--refresh", "-f", "json").stdout)
    assert fresh["cached"] is False and fresh["peak_flops"] == 50e9
    again = json.loads(ok("machine", "--threads", "1", "-f", "json").stdout)
    assert again["cached"] is True and again["peak_flops"] == 50e9


def test_the_cli_says_it_measures_and_warns_once_when_too_noisy(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    noisy_measurement(monkeypatch)
    result = invoke("machine", "--threads", "1", "-f", "json")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("note: measuring the roofs of") and "about 6 s" in lines[0]
    assert lines[1].startswith("warning: roofs not cached, used for this run only: the roofs' repeats spread")
    assert "matmul 50% and bandwidth 50%" in lines[1]
    data = json.loads(result.stdout)
    assert data["cached"] is False and data["flops_spread"] == pytest.approx(0.5)
    assert not cache_path().exists()


def test_machine_bad_dtype_is_one_line(cache):
    one_line_error(invoke("machine", "--dtype", "float8"), "unknown dtype")


# ------------------------------------------------------------------------------------------------
# roofline
# ------------------------------------------------------------------------------------------------


def test_predicted_roofline_writes_a_png_and_a_table(cache, tmp_path):
    figure = tmp_path / "tiny.png"
    result = ok("roofline", TINY, "--threads", "1", "-o", figure)
    assert figure.read_bytes().startswith(PNG_MAGIC)
    assert f"wrote {figure}" in result.stderr
    # on 100 GFLOP/s and 10 GB/s: conv1 is memory-bound, 45,952 B / 10 GB/s = 4.60 µs;
    # conv2 compute-bound, 2,375,680 / 100 GFLOP/s = 23.8 µs; act 65,536 B / 10 GB/s = 6.55 µs
    for needle in ("ridge 10.0 FLOP/B", "conv1", "4.60 µs", "23.8 µs", "6.55 µs", "Roofline"):
        assert needle in words(result.stdout)
    # no calibration in this cache: no calibrated "Predicted" column, a note saying how instead
    assert "Measured" not in result.stdout and "Predicted" not in result.stdout
    assert "costlab calibrate --device cpu --threads 1" in result.stderr


def test_predicted_roofline_json_from_a_spec_sheet(tmp_path):
    figure = tmp_path / "tiny.svg"
    data = json.loads(ok("roofline", TINY, "--spec", "h100-sxm", "--dtype", "bf16", "--figure", figure, "-f", "json").stdout)
    assert "<svg" in figure.read_text()
    assert data["peak_flops"] == 989e12 and data["roofs"] == "NVIDIA H100 SXM (bfloat16), spec sheet"
    # conv2: 2,375,680 FLOPs over 102,976 B at bfloat16 (2-byte elements: the bytes are counted at that dtype)
    assert [layer["name"] for layer in data["layers"]] == ["conv1", "act", "conv2"]
    assert data["predicted_ms"] == pytest.approx(sum(layer["predicted_ms"] for layer in data["layers"]))


def test_measured_roofline_on_cpu(cache, tmp_path):
    figure = tmp_path / "measured.svg"
    result = ok("roofline", TINY, "--device", "cpu", "-o", figure, *FAST)
    assert "measured roofline" in figure.read_text()
    for needle in ("Roofline", "Measured", "Achieved", "conv2"):
        assert needle in words(result.stdout)
    rows = list(
        csv.DictReader(io.StringIO(ok("roofline", TINY, "--device", "cpu", "--figure", figure, "-f", "csv", *FAST).stdout))
    )
    assert [r["name"] for r in rows] == ["conv1", "act", "conv2"]
    assert all(float(r["measured_ms"]) > 0 and float(r["predicted_ms"]) > 0 for r in rows)


def test_roofline_json_shows_the_cached_roofs_provenance_and_does_not_measure(monkeypatch, tmp_path):
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(machine, "utc_now", lambda: datetime(2026, 12, 2, 0, 20, tzinfo=timezone.utc))  # 3 h 9 min on

    def refuse(*args, **kwargs):
        raise AssertionError("measured although the cache holds the roofs")

    monkeypatch.setattr(machine, "measure_peaks", refuse)
    entry = {**OLD_ENTRY, "device_name": CPU, "threads": torch.get_num_threads(),
             "measured_at": "2026-12-01T21:11:05+00:00", "flops_spread": 0.02, "bandwidth_spread": 0.03,
             "cache_levels": [["L1", 32768, 100e9], ["L2", 524288, 40e9], ["L3", 33554432, 20e9]]}
    key = machine.cache_key("cpu", CPU, "float32", torch.get_num_threads())
    cache_path().write_text(json.dumps({"version": 1, "entries": {key: entry}}))
    result = invoke("roofline", "mobilenet_v2", "-f", "json")
    assert result.exit_code == 0, result.output
    assert "measuring" not in result.stderr
    data = json.loads(result.stdout)
    threads = torch.get_num_threads()
    assert data["roofs"] == (f"{CPU} (float32, {threads} thread{'s' if threads != 1 else ''}), "
                             "measured 2026-12-01 21:11 UTC, 3 h ago, cached")
    assert data["roofs_measured_at"] == "2026-12-01T21:11:05+00:00" and data["roofs_cached"] is True
    assert [c["level"] for c in data["cache_roofs"]] == ["L1", "L2", "L3"]
    # each layer's roof by its working set: ≤ 32 KiB → 100 GB/s, ≤ 512 KiB → 40, ≤ 32 MiB → 20, else DRAM 10
    for layer in data["layers"]:
        size = layer["bytes_accessed"]
        expected = 100e9 if size <= 32768 else 40e9 if size <= 524288 else 20e9 if size <= 33554432 else 10e9
        assert layer["roof_bytes_per_s"] == expected, layer["name"]
    # the DRAM prediction is untouched by the cache roofs: bytes / 10 GB/s or FLOPs / 100 GFLOP/s
    first = data["layers"][0]
    assert first["predicted_ms"] == pytest.approx(max(first["flops"] / 100e9, first["bytes_accessed"] / 10e9) * 1e3)


def test_roofline_refuses_bad_figure_paths(cache, tmp_path):
    one_line_error(invoke("roofline", TINY, "--threads", "1", "-o", tmp_path / "x.jpg"), "its suffix names no format")
    one_line_error(invoke("roofline", TINY, "--threads", "1", "--figure", tmp_path / "x.jpg"), ".png or .svg")
    one_line_error(invoke("roofline", TINY, "--threads", "1", "-o", tmp_path / "missing" / "x.png"), "does not exist")
    one_line_error(invoke("roofline", TINY, "--spec", "made-up", "-o", tmp_path / "x.png"), "no spec sheet")


def test_cli_module_does_not_import_torch():
    code = "import sys, costlab.cli; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["False", "False"]


# -- profile --device: counts and measured time side by side --------------------------------------------


def test_profile_with_device_adds_measured_columns(cache):
    result = ok("profile", TINY, "--device", "cpu", *FAST)
    assert "Time" in result.stdout and "Share" in result.stdout
    assert "latency" in result.stdout and "Time by kind of work" in result.stdout


def test_profile_with_device_json_rows_carry_their_time(cache):
    data = json.loads(ok("profile", TINY, "--device", "cpu", "--format", "json", *FAST).stdout)
    timing = data["timing"]
    assert timing["model_ms"] > 0 and timing["latency"]["runs"] >= 1
    timed = [layer for layer in data["layers"] if "time_ms" in layer]
    assert timed and all(layer["time_ms"] >= 0 for layer in timed)
    # the shares of the rows add up to the whole of the per-layer sum
    assert sum(layer["time_share"] for layer in timed) == pytest.approx(1.0, abs=1e-6)
    assert {c["category"] for c in timing["categories"] if c["ops"]} == {"conv", "elementwise"}  # as profile counts


def test_profile_with_device_csv_has_time_columns(cache):
    rows = list(csv.DictReader(io.StringIO(ok("profile", TINY, "--device", "cpu", "-f", "csv", *FAST).stdout)))
    assert rows and {"time_ms", "time_share", "achieved_flops_per_s", "achieved_bytes_per_s"} <= set(rows[0])


@NO_CUDA
def test_profile_on_cuda_without_a_gpu_is_one_clear_error(cache):
    one_line_error(invoke("profile", TINY, "--device", "cuda"), "cuda")
