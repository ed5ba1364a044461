"""``costlab check``'s evaluation: limits, baselines, lint and latency budgets, each an Outcome."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

import costlab
from costlab.ci.budgets import load_budgets
from costlab.ci.check import evaluate
from costlab.config import load_config
from costlab.errors import CostlabError
from tests.ci.helpers import TINY, TINY_TOTALS, check, write_config


def test_limits_give_value_limit_delta_status_and_message(in_tmp: Path) -> None:
    result = check(in_tmp, """
        [[budget]]
        name = "tiny"
        model = "TINY"
        max_params = 1500
        max_macs = "1.3M"
        max_flops = "2.9M"
        max_bytes_accessed = "200 KB"
    """)
    params, macs, flops, bytes_accessed = result.outcomes
    # params 1,392 ≤ 1,500: 1392/1500 - 1 = -7.2%
    assert (params.value, params.limit, params.status) == (1_392, 1_500, "ok")
    assert params.delta == pytest.approx(1392 / 1500 - 1)
    assert params.message == "tiny: params 1.39 K ≤ 1.50 K (-7.2%)"
    # MACs 1,400,832 > 1,300,000: 1400832/1.3e6 - 1 = +7.8%
    assert (macs.value, macs.limit, macs.status) == (1_400_832, 1.3e6, "breach")
    assert macs.delta == pytest.approx(1_400_832 / 1.3e6 - 1)
    assert macs.message == "tiny: macs 1.40 M > 1.30 M (+7.8%)"
    # FLOPs 2,834,432 ≤ 2.9 M: -2.3%
    assert flops.status == "ok" and flops.message == "tiny: flops 2.83 M ≤ 2.90 M (-2.3%)"
    # memory access 214,464 B > 200 KB: +7.2%
    assert bytes_accessed.unit == "B" and bytes_accessed.message == "tiny: bytes_accessed 214.5 KB > 200.0 KB (+7.2%)"
    assert not result.passed and [o.metric for o in result.breaches] == ["macs", "bytes_accessed"]
    assert result.summary() == "1 budget, 4 checks: 2 ok, 2 breaches, 0 skipped"
    assert (macs.file, macs.line) == ("costlab.toml", 2)


def tiny_baseline(path: Path, **totals: int) -> None:
    data = costlab.profile(str(TINY)).to_dict()
    data["totals"].update(totals)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_baseline_regression(in_tmp: Path) -> None:
    tiny_baseline(in_tmp / "base.json", macs=1_200_000)
    result = check(in_tmp, """
        [[budget]]
        name = "tiny"
        model = "TINY"
        baseline = "base.json"
        max_regression = "5%"
    """)
    by_metric = {o.metric: o for o in result.outcomes}
    assert set(by_metric) == {"params", "macs", "flops", "bytes_accessed"}
    assert all(o.basis == "baseline" for o in result.outcomes)
    macs = by_metric["macs"]
    # limit 1.2 M · 1.05 = 1.26 M; 1,400,832 / 1.2 M - 1 = +16.7% over the baseline
    assert (macs.reference, macs.limit, macs.status) == (1_200_000, pytest.approx(1_260_000), "breach")
    assert macs.message == "tiny: macs 1.40 M > 1.26 M (+16.7% vs baseline 1.20 M, allowed +5%)"
    assert by_metric["params"].status == "ok" and by_metric["params"].delta == 0


def test_baseline_at_other_input_shapes_is_an_error(in_tmp: Path) -> None:
    data = costlab.profile(str(TINY)).to_dict()
    data["input_shapes"] = [[1, 3, 64, 64]]
    (in_tmp / "base.json").write_text(json.dumps(data))
    with pytest.raises(CostlabError, match="base.json was profiled at 1x3x64x64, the entry runs at 1x3x32x32"):
        check(in_tmp, f'[[budget]]\nmodel = "{TINY.as_posix()}"\nbaseline = "base.json"\nmax_regression = "5%"\n')


def test_update_baselines_compares_with_the_new_numbers(in_tmp: Path) -> None:
    tiny_baseline(in_tmp / "base.json", macs=1_200_000)
    config = load_config(write_config(in_tmp, """
        [[budget]]
        name = "tiny"
        model = "TINY"
        baseline = "base.json"
        max_regression = "0%"
    """))
    result = evaluate(load_budgets(config), config, update_baselines=True)
    assert result.passed
    (update,) = result.updates
    assert update.old_totals is not None and update.old_totals["macs"] == 1_200_000
    assert dict(update.new_totals) == TINY_TOTALS
    assert json.loads(update.text)["totals"]["macs"] == 1_400_832
    assert json.loads((in_tmp / "base.json").read_text())["totals"]["macs"] == 1_200_000  # the caller writes


def test_lint_budget(in_tmp: Path) -> None:
    result = check(in_tmp, """
        [[budget]]
        name = "strict"
        model = "mobilenet_v2"
        lint_fail_level = "warning"

        [[budget]]
        name = "lenient"
        model = "mobilenet_v2"
        lint_fail_level = "error"

        [[budget]]
        name = "no G1, no G4"
        model = "mobilenet_v2"
        lint_ignore = ["G1", "G4"]
    """)
    strict, lenient, ignoring = result.outcomes
    # MobileNet V2 breaks G1 (16 inverted-bottleneck expansions) and G4 at warning level (tests/test_lint.py)
    assert strict.status == "breach" and strict.value == 17 and strict.limit == 0
    assert strict.message == "strict: lint 17 findings at or above warning, allowed 0 (G1 16 warning, G4 1 warning)"
    assert lenient.status == "ok" and lenient.message.startswith("lenient: lint 0 findings at or above error (17 below:")
    assert ignoring.status == "ok"


# -- latency --------------------------------------------------------------------------------------


def fake_timing(monkeypatch: pytest.MonkeyPatch, medians_ms: dict[str, float]) -> list[tuple]:
    """Make ``measure_latency`` return canned medians (no model is timed), and record its calls."""
    calls: list[tuple] = []

    def measure_latency(model, input_shape=None, *, device="cpu", batch=None, threads=None):
        calls.append((Path(model).name, input_shape, device, batch, threads))
        return types.SimpleNamespace(median_ms=medians_ms[Path(model).name])

    monkeypatch.setattr("costlab.timing.measure.measure_latency", measure_latency)
    return calls


LATENCY = """
    [[budget]]
    name = "tiny"
    model = "TINY"
    latency_baseline_model = "mobilenet_v2"
    max_latency_regression = "10%"
    batch = 4
    threads = 1

    [[budget]]
    name = "tiny again"
    model = "TINY"
    max_macs = "1.5M"
    latency = "absolute"
    max_latency_ms = "8 ms"
    threads = 1
    batch = 4
"""


def test_latency_relative_to_a_model_timed_in_the_same_run(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_timing(monkeypatch, {"tiny_net.py": 9.0, "mobilenet_v2": 8.0})
    result = check(in_tmp, LATENCY)
    relative, _macs, absolute = result.outcomes
    # limit 8 ms · 1.10 = 8.8 ms; 9 / 8 - 1 = +12.5%
    assert (relative.value, relative.reference, relative.limit) == (9.0, 8.0, pytest.approx(8.8))
    assert relative.status == "breach" and relative.basis == "latency_baseline_model"
    assert relative.message == "tiny: latency_ms 9.00 ms > 8.80 ms (+12.5% vs mobilenet_v2 8.00 ms, allowed +10%) [batch 4, threads 1]"
    # absolute: 9 ms > 8 ms, +12.5%
    assert absolute.message == "tiny again: latency_ms 9.00 ms > 8.00 ms (+12.5%) [batch 4, threads 1]"
    # each model timed once, with the entry's device, batch and threads
    assert sorted(calls) == [("mobilenet_v2", None, "cpu", 4, 1), ("tiny_net.py", None, "cpu", 4, 1)]


def test_memory_budget_on_the_training_peak(in_tmp: Path) -> None:
    # tiny_net's training step for CUDA (tests/cost/test_memory.py): 188,928 B; with Adam its state
    # (2 × 6,656) joins the peak: 202,240 B
    result = check(in_tmp, """
        [[budget]]
        name = "tiny"
        model = "TINY"
        max_peak_bytes = "200 KB"
        train = true

        [[budget]]
        name = "tiny+adam"
        model = "TINY"
        max_peak_bytes = "200 KB"
        train = true
        optimizer = "adam"
    """)
    plain, adam = result.outcomes
    assert (plain.metric, plain.value, plain.status, plain.unit) == ("peak_bytes", 188_928, "ok", "B")
    assert plain.message == "tiny: peak_bytes 188.9 KB ≤ 200.0 KB (-5.5%) [training]"
    assert (adam.value, adam.status) == (202_240, "breach")
    assert adam.message == "tiny+adam: peak_bytes 202.2 KB > 200.0 KB (+1.1%) [training + adam]"
