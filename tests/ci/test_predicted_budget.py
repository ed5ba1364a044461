"""``max_predicted_latency_ms``: a latency budget priced by a calibration, deterministic (nothing is timed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ci.helpers import budgets_of, check, config_error
from tests.conftest import fake_calibration


def _calibration_file(folder: Path) -> Path:
    path = folder / "calibration.json"
    path.write_text(json.dumps(fake_calibration().to_dict()), encoding="utf-8")
    return path


def test_predicted_latency_from_a_committed_calibration(in_tmp: Path) -> None:
    _calibration_file(in_tmp)
    # the tiny net under the fake calibration: 94.8112 µs of ops + 14 µs overhead = 0.1088112 ms
    # (tests/cost/test_predict.py); under 0.2 ms it passes, over 0.1 ms it breaches by +8.8%
    body = """
        [[budget]]
        name = "ok"
        model = "TINY"
        max_predicted_latency_ms = "0.2 ms"
        calibration = "calibration.json"

        [[budget]]
        name = "over"
        model = "TINY"
        max_predicted_latency_ms = "100 us"
        calibration = "calibration.json"
    """
    ok, over = check(in_tmp, body).outcomes
    assert ok.metric == "predicted_latency_ms" and ok.status == "ok"
    assert ok.value == pytest.approx(0.1088112) and ok.limit == pytest.approx(0.2)
    assert over.status == "breach" and over.delta == pytest.approx(0.1088112 / 0.1 - 1)
    assert "predicted_latency_ms 108.8 µs > 100.0 µs (+8.8%)" in over.message
    again = check(in_tmp, body).outcomes  # deterministic: the same numbers on every run
    assert [o.value for o in again] == [ok.value, over.value]


def test_predicted_latency_from_the_cache(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import store_fake_calibration

    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(in_tmp / "cache"))
    store_fake_calibration()
    (outcome,) = check(in_tmp, """
        [[budget]]
        model = "TINY"
        max_predicted_latency_ms = 1
        threads = 1
    """).outcomes
    assert outcome.value == pytest.approx(0.1088112) and outcome.status == "ok"


def test_a_corrupt_calibration_file_names_itself(in_tmp: Path) -> None:
    (in_tmp / "calibration.json").write_text("{", encoding="utf-8")
    with pytest.raises(Exception, match="calibration.json is corrupt"):
        check(in_tmp, """
            [[budget]]
            model = "TINY"
            max_predicted_latency_ms = 1
            calibration = "calibration.json"
        """)


def test_bad_keys_are_config_errors(in_tmp: Path) -> None:
    assert "applies to max_predicted_latency_ms only" in config_error(in_tmp, """
        [[budget]]
        model = "TINY"
        max_params = 10
        calibration = "x.json"
    """)
    assert "max_predicted_latency_ms" in config_error(in_tmp, """
        [[budget]]
        model = "TINY"
        max_predicted_latency_ms = "fast"
    """)
    (budget,) = budgets_of(in_tmp, """
        [[budget]]
        model = "TINY"
        max_predicted_latency_ms = "2 ms"
        threads = 1
        batch = 2
    """)
    assert budget.predicted is not None and budget.predicted.threads == 1 and budget.predicted.batch == 2
    assert budget.latency is None
