"""The calibrated prediction beside measured time in ``profile --device``, ``roofline`` and ``report``.

The calibration cache (a tmp COSTLAB_CACHE_DIR) holds the hand-made calibration of tests/conftest.py
at 1 thread, so every predicted number is closed-form (tests/cost/test_predict.py works out the tiny
net's: conv1 19.1904 µs, act 18.1072 µs, conv2 57.5136 µs, the model 108.8112 µs); timing is short
(--min-time 0.05, 1 thread) and no test judges a measured time. Nothing is ever calibrated here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.cost.predict import predict_latency
from costlab.timing import calibrate as calibrate_module
from costlab.timing.calibrations import calibration_file
from tests.conftest import TINY_NET, fake_calibration, store_fake_calibration, store_fake_peaks

TINY = str(TINY_NET)
FAST = ["--min-time", "0.05", "--threads", "1"]
TINY_PREDICTED_MS = [0.0191904, 0.0181072, 0.0575136]
TINY_MODEL_MS = 0.1088112
runner = CliRunner()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Made-up peaks and no calibration; calibrating at all fails the test."""
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: pytest.fail("a command calibrated"))
    store_fake_peaks()
    return tmp_path / "cache"


def ok(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def corrupt(cache: Path) -> Path:
    path = calibration_file(fake_calibration(1).key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"version": 1, "device": ', encoding="utf-8")
    return path


def one_note(stderr: str, *needles: str) -> str:
    """The one ``note:`` line about the calibration, holding every needle."""
    lines = [line for line in stderr.splitlines() if line.startswith(("note:", "warning:")) and "calibration" in line]
    assert len(lines) == 1 and lines[0].startswith("note: "), stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- profile --device ---------------------------------------------------------------------------


def test_profile_json_carries_predict_latencys_numbers_per_layer(cache: Path) -> None:
    store_fake_calibration()
    data = json.loads(ok("profile", "mobilenet_v2", "--device", "cpu", "-f", "json", *FAST).stdout)
    expected = predict_latency(costlab.profile("mobilenet_v2"), fake_calibration())
    assert [layer["predicted_ms"] for layer in data["layers"]] == pytest.approx(
        [layer.predicted_ms for layer in expected.layers]
    )
    for layer in data["layers"]:  # the error is predicted / measured − 1, row by row
        if layer["time_ms"] > 0:
            assert layer["predicted_error"] == pytest.approx(layer["predicted_ms"] / layer["time_ms"] - 1)
    timing = data["timing"]
    assert timing["predicted_ms"] == pytest.approx(expected.predicted_ms)
    assert timing["predicted_error"] == pytest.approx(expected.predicted_ms / timing["model_ms"] - 1)
    assert timing["calibration"] == fake_calibration().key


def test_profile_table_csv_and_markdown_show_predicted_beside_measured(cache: Path) -> None:
    store_fake_calibration()
    table = ok("profile", TINY, "--device", "cpu", *FAST).stdout
    header = next(line for line in table.splitlines() if line.startswith("Layer"))
    assert re.search(r"Time\s+Share\s+Predicted\s+Error", header), header
    for cell in ("19.2 µs", "18.1 µs", "57.5 µs", "94.8 µs"):  # the rows and their sum, 94.8112 µs
        assert cell in table
    assert "predicted 108.8 µs for the whole model" in " ".join(table.split())
    rows = list(csv.DictReader(io.StringIO(ok("profile", TINY, "--device", "cpu", "-f", "csv", *FAST).stdout)))
    assert [float(r["predicted_ms"]) for r in rows] == pytest.approx(TINY_PREDICTED_MS)
    for row in rows:
        assert float(row["predicted_error"]) == pytest.approx(float(row["predicted_ms"]) / float(row["time_ms"]) - 1,
                                                              rel=1e-3)
    md = ok("profile", TINY, "--device", "cpu", "-f", "md", *FAST).stdout
    assert "| time | share of time | predicted | error |" in md and "| 19.2 µs | " in md


def test_profile_without_a_calibration_notes_how_and_exits_0(cache: Path) -> None:
    result = ok("profile", TINY, "--device", "cpu", "-f", "json", *FAST)
    one_note(result.stderr, "no calibration for cpu (", "float32, 1 thread)",
             "run `costlab calibrate --device cpu --threads 1` to see predicted beside measured")
    data = json.loads(result.stdout)
    assert all("time_ms" in layer and "predicted_ms" not in layer for layer in data["layers"])
    assert "predicted_ms" not in data["timing"]


def test_profile_with_a_calibration_at_other_threads_notes_it(cache: Path) -> None:
    store_fake_calibration(threads=2)
    result = ok("profile", TINY, "--device", "cpu", *FAST)
    one_note(result.stderr, "1 thread)", "one for 2 threads is cached but not used", "--threads 1")
    assert "Predicted" not in result.stdout


def test_profile_with_a_corrupt_calibration_names_the_file_and_exits_0(cache: Path) -> None:
    path = corrupt(cache)
    result = ok("profile", TINY, "--device", "cpu", "-f", "csv", *FAST)
    one_note(result.stderr, str(path), "corrupt")
    assert "predicted_ms" not in result.stdout.splitlines()[0]
    assert path.read_text(encoding="utf-8") == '{"version": 1, "device": '  # left for the user to see


# -- roofline -----------------------------------------------------------------------------------


def test_roofline_measured_json_keeps_the_roofline_and_adds_the_calibrated(cache: Path) -> None:
    store_fake_calibration()
    data = json.loads(ok("roofline", TINY, "--device", "cpu", "-f", "json", *FAST).stdout)
    # predicted_ms stays the roofline's: max(FLOPs / 100 GFLOP/s, bytes / 10 GB/s), e.g. conv1 45,952 B → 4.5952 µs
    assert [layer["predicted_ms"] for layer in data["layers"]] == pytest.approx([0.0045952, 0.0065536, 0.0237568])
    assert [layer["calibrated_ms"] for layer in data["layers"]] == pytest.approx(TINY_PREDICTED_MS)
    for layer in data["layers"]:
        assert layer["calibrated_error"] == pytest.approx(layer["calibrated_ms"] / layer["measured_ms"] - 1)
    assert data["calibrated_ms"] == pytest.approx(TINY_MODEL_MS)
    assert data["calibrated_error"] == pytest.approx(TINY_MODEL_MS / data["measured_ms"] - 1)


def test_roofline_table_and_csv_put_predicted_beside_roofline_and_measured(cache: Path) -> None:
    store_fake_calibration()
    table = ok("roofline", TINY, "--device", "cpu", *FAST).stdout
    header = next(line for line in table.splitlines() if line.startswith("Layer"))
    assert re.search(r"Roofline\s+Predicted\s+Error\s+Measured", header), header
    assert "108.8 µs" in table and "Error = Predicted / Measured − 1" in " ".join(table.split())
    lines = ok("roofline", TINY, "--device", "cpu", "-f", "csv", *FAST).stdout.splitlines()
    assert lines[0].endswith("predicted_ms,measured_ms,achieved_flops_per_s,roof_share,calibrated_ms,calibrated_error")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    assert [float(r["calibrated_ms"]) for r in rows] == pytest.approx(TINY_PREDICTED_MS)


def test_roofline_without_a_device_shows_the_calibrated_beside_the_roofline(cache: Path) -> None:
    store_fake_calibration()
    data = json.loads(ok("roofline", TINY, "--threads", "1", "-f", "json").stdout)
    assert data["calibrated_ms"] == pytest.approx(TINY_MODEL_MS) and data["calibrated_error"] is None
    assert all(layer["calibrated_error"] is None for layer in data["layers"])


def test_roofline_of_a_spec_sheet_has_no_calibrated_prediction(cache: Path) -> None:
    store_fake_calibration()  # this CPU's: nothing to say about an H100's roofs
    result = ok("roofline", TINY, "--spec", "h100-sxm", "--threads", "1", "-f", "json")
    assert "calibrated_ms" not in json.loads(result.stdout) and "calibrat" not in result.stderr


def test_roofline_without_a_calibration_or_with_a_corrupt_one_notes_it(cache: Path) -> None:
    result = ok("roofline", TINY, "--threads", "1", "-f", "json")
    one_note(result.stderr, "to see predicted beside the roofline")
    assert "calibrated_ms" not in json.loads(result.stdout)
    path = corrupt(cache)
    result = ok("roofline", TINY, "--device", "cpu", *FAST)
    one_note(result.stderr, str(path))
    assert "Roofline" in result.stdout and "Predicted" not in result.stdout


# -- report -------------------------------------------------------------------------------------


def test_report_shows_predicted_per_model_and_per_layer(cache: Path, tmp_path: Path) -> None:
    store_fake_calibration()
    out = tmp_path / "out"
    result = ok("report", TINY, "--output-dir", out, "--min-time", "0.02", "--threads", "1")
    assert "no calibration" not in result.stderr
    page = (out / "index.html").read_text()
    summary = page[page.index('<section id="summary">') : page.index('<section id="latency">')]
    assert '<th class="num">Roofline</th><th class="num">Predicted</th><th class="num">Error</th>' in summary
    assert '>108.8 µs</td>' in summary and f'data-value="{TINY_MODEL_MS:.10g}"' in summary
    md = (out / "report.md").read_text()
    assert "| Roofline | Predicted | Error |" in md and "**108.8 µs** calibrated prediction, " in md
    # per layer, the slowest measured first: each with its predicted time (conv2 57.5 µs, conv1 19.2, act 18.1)
    table = md[md.index("| Layer | Measured | Predicted | Error |") :]
    for name, predicted in (("conv2", "57.5 µs"), ("conv1", "19.2 µs"), ("act", "18.1 µs")):
        assert re.search(rf"\| {name} \| [^|]+ \| {predicted} \| [+-][0-9.]+% \|", table), name
    assert "Predicted beside measured" in page


def test_report_without_a_calibration_notes_how(cache: Path, tmp_path: Path) -> None:
    result = ok("report", TINY, "-o", tmp_path / "page.html", "--min-time", "0.02", "--threads", "1")
    one_note(result.stderr, "run `costlab calibrate --device cpu --threads 1`")
    page = (tmp_path / "page.html").read_text()
    assert "Predicted: none here — no calibration for cpu (" in page
    assert "Predicted beside measured" not in page
