"""``costlab predict`` and ``costlab calibrate`` through the CLI: formats, the cache, bad input.

The calibration cache lives in a tmp_path holding a hand-made calibration (tests/conftest.py), so
nothing is measured except where a test says so.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.timing.calibrations import calibration_file, load_calibration
from tests.conftest import TINY_NET, fake_calibration, store_fake_calibration, store_fake_peaks

TINY = str(TINY_NET)
runner = CliRunner()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    store_fake_peaks()
    return tmp_path / "cache"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_predict_json_contract(cache: Path) -> None:
    store_fake_calibration()
    result = invoke("predict", TINY, "--threads", 1, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the tiny net's closed form (tests/cost/test_predict.py): 94.8112 µs of ops + 14 µs of overhead
    assert data["predicted_ms"] == pytest.approx(0.1088112)
    assert [row["predicted_ms"] for row in data["layers"]] == pytest.approx([0.0191904, 0.0181072, 0.0575136])
    assert data["calibration"]["key"] == fake_calibration().key and data["calibration"]["threads"] == 1
    assert data["predicted_ms"] == pytest.approx(costlab.predict(TINY, threads=1).predicted_ms)


def test_predict_csv_and_table(cache: Path) -> None:
    store_fake_calibration()
    rows = list(csv.DictReader(io.StringIO(invoke("predict", TINY, "--threads", 1, "-f", "csv").stdout)))
    assert [r["name"] for r in rows] == ["conv1", "act", "conv2"]
    assert float(rows[2]["predicted_ms"]) == pytest.approx(0.0575136)
    table = invoke("predict", "mobilenet_v2", "--threads", 1, "-n", 5)
    assert table.exit_code == 0 and "predicted latency" in table.stdout and "the 5 heaviest" in table.stdout


def test_predict_at_a_batch_prices_its_fresh_pages(cache: Path) -> None:
    # MobileNet V2 at batch 8: the expansion of features.2 to 96 channels at 112² — its conv, batch norm
    # and ReLU6 (not in place) — writes three 8 × 96 × 112 × 112 float outputs of 38,535,168 B, over
    # 32 MiB: 3 × 9,408 = 28,224 pages; every other output is under 32 MiB. At the fake calibration's
    # 3 µs a page: 84.672 ms
    store_fake_calibration()
    result = invoke("predict", "mobilenet_v2", "--threads", 1, "-b", 8, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["input_shapes"] == [[8, 3, 224, 224]]
    assert data["fresh_pages"] == 28_224 and data["fresh_memory_ms"] == pytest.approx(84.672)
    table = invoke("predict", "mobilenet_v2", "--threads", 1, "--batch", 8, "-n", 3)
    assert "84.7 ms faulting in 28,224 pages of new mappings" in table.stdout
    assert "--batch" in one_line_error(invoke("predict", TINY, "-b", 0))


def test_predict_writes_a_file_atomically(cache: Path, tmp_path: Path) -> None:
    store_fake_calibration()
    target = tmp_path / "out.json"
    result = invoke("predict", TINY, "--threads", 1, "-o", target)
    assert result.exit_code == 0 and f"wrote {target}" in result.stderr
    assert json.loads(target.read_text())["predicted_ms"] == pytest.approx(0.1088112)


def test_no_calibration_and_no_calibrate_is_one_line_saying_how(cache: Path) -> None:
    line = one_line_error(invoke("predict", TINY, "--threads", 1, "--no-calibrate"))
    assert "costlab calibrate --device cpu --dtype float32 --threads 1" in line


def test_a_calibration_at_other_threads_is_named_not_used(cache: Path) -> None:
    store_fake_calibration(threads=2)
    line = one_line_error(invoke("predict", TINY, "--threads", 1, "--no-calibrate"))
    assert "2 threads" in line and "not used in its place" in line


def test_a_corrupt_cache_file_is_named(cache: Path) -> None:
    store_fake_calibration()
    path = calibration_file(fake_calibration().key)
    path.write_text("not json", encoding="utf-8")
    line = one_line_error(invoke("predict", TINY, "--threads", 1, "--no-calibrate"))
    assert str(path) in line and "corrupt" in line


def test_a_corrupt_cache_file_is_replaced_when_calibrating(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_fake_calibration()
    path = calibration_file(fake_calibration().key)
    path.write_text("not json", encoding="utf-8")
    monkeypatch.setattr("costlab.timing.calibrate.calibrate", lambda *a, **k: fake_calibration())
    result = invoke("predict", TINY, "--threads", 1, "-f", "json")
    assert result.exit_code == 0, result.output
    assert "corrupt" in result.stderr and "calibrating first" in result.stderr
    assert load_calibration(fake_calibration().key) is not None


def test_without_a_calibration_predict_calibrates_first_and_says_so(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("costlab.timing.calibrate.calibrate", lambda *a, **k: fake_calibration())
    result = invoke("predict", TINY, "--threads", 1, "-f", "json")
    assert result.exit_code == 0, result.output
    assert "calibrating first" in result.stderr and "cached in" in result.stderr
    assert json.loads(result.stdout)["predicted_ms"] == pytest.approx(0.1088112)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["predict", "mobilenetv2"], "unknown zoo model"),
        (["predict", TINY, "--device", "tpu"], "unknown device"),
        (["predict", TINY, "--dtype", "int3"], "int3"),
        (["predict", TINY, "-o", "x.png"], "png"),
        (["calibrate", "--device", "tpu"], "unknown device"),
    ],
)
def test_bad_input_is_one_line(cache: Path, args: list[str], words: str) -> None:
    store_fake_calibration()
    assert words in one_line_error(invoke(*args))


def test_predict_leaves_the_model_threads_and_rng_alone(cache: Path) -> None:
    store_fake_calibration()
    from tests.conftest import Snippet

    model = Snippet(lambda x: x.relu())
    before = (torch.get_num_threads(), torch.random.get_rng_state(), model.training)
    costlab.predict(model, "1x8x4x4", threads=1)
    assert (torch.get_num_threads(), model.training) == (before[0], before[2])
    assert torch.equal(torch.random.get_rng_state(), before[1])


def test_calibrate_caches_a_quiet_calibration(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("costlab.timing.calibrate.calibrate", lambda *a, **k: fake_calibration())
    result = invoke("calibrate", "--threads", 1, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cached"] is True and data["kinds"]["conv_dense"]["model"]["family"] == "roofline"
    assert "cached in" in result.stderr and load_calibration(fake_calibration().key) is not None


def test_calibrate_refuses_to_cache_a_noisy_one(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("costlab.timing.calibrate.calibrate", lambda *a, **k: fake_calibration(spread=0.3))
    result = invoke("calibrate", "--threads", 1)
    assert result.exit_code == 1
    assert "not cached" in result.stderr and "quieter moment" in result.stderr
    assert load_calibration(fake_calibration().key) is None


def test_help_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys; from costlab.cli import app; import costlab.cli.predict, costlab.cli.calibrate; " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
