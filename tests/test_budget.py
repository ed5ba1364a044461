"""The CI gate's library: units, the [[budget]] schema and its errors, outcomes, latency, profile diffs."""

from __future__ import annotations

import json
import sys
import textwrap
import types
from pathlib import Path

import pytest

import costlab
from costlab.budget import (
    Budget,
    LatencyBudget,
    LatencyUnavailable,
    Limit,
    QuantityError,
    _measure_latency_ms,
    evaluate,
    format_quantity,
    load_budgets,
    parse_quantity,
)
from costlab.config import ConfigError, load_config
from costlab.diff import Profile, ProfileFileError, diff_profiles, load_profile
from costlab.errors import CostlabError
from costlab.render import budget as render
from costlab.render.formats import to_json

TINY = Path(__file__).resolve().parent / "models" / "tiny_net.py"
# tests/models/tiny_net.py at 1x3x32x32 (tests/test_cli.py has the arithmetic):
#   params 224 + 1,168 = 1,392;  MACs 221,184 + 1,179,648 = 1,400,832
#   FLOPs 450,560 + 8,192 + 2,375,680 = 2,834,432;  memory access 45,952 + 65,536 + 102,976 = 214,464 B
TINY_TOTALS = {"params": 1_392, "macs": 1_400_832, "flops": 2_834_432, "mac_bytes": 214_464}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so that config paths print as ``costlab.toml``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(folder: Path, body: str, name: str = "costlab.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).replace("TINY", TINY.as_posix()), encoding="utf-8")
    return path


def budgets_of(folder: Path, body: str, name: str = "costlab.toml") -> list[Budget]:
    return load_budgets(load_config(write_config(folder, body, name)))


def config_error(folder: Path, body: str, name: str = "costlab.toml") -> str:
    with pytest.raises(ConfigError) as caught:
        budgets_of(folder, body, name)
    return str(caught.value)


def check(folder: Path, body: str):  # type: ignore[no-untyped-def]
    config = load_config(write_config(folder, body))
    return evaluate(load_budgets(config), config)


# -- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("350M", "count", 350e6),
        ("1.2G", "count", 1.2e9),
        ("3.6M", "count", 3.6e6),
        ("350 M", "count", 350e6),
        ("12K", "count", 12e3),
        ("12k", "count", 12e3),
        ("1_000", "count", 1000.0),
        ("3.5e8", "count", 3.5e8),
        (350_000_000, "count", 350e6),  # plain TOML integer
        (1.5e6, "count", 1.5e6),  # plain TOML float
        ("12 MB", "bytes", 12e6),  # decimal, as costlab prints sizes
        ("12MB", "bytes", 12e6),
        ("1.5 GB", "bytes", 1.5e9),
        ("64 KiB", "bytes", 65_536.0),  # binary on request: 64·1024
        ("512 B", "bytes", 512.0),
        (4096, "bytes", 4096.0),
        ("8 ms", "ms", 8.0),
        ("8ms", "ms", 8.0),
        ("1.5 s", "ms", 1500.0),
        ("800 us", "ms", 0.8),
        (8, "ms", 8.0),  # plain numbers are milliseconds
        ("5%", "percent", 0.05),
        ("2.5 %", "percent", 0.025),
        ("0%", "percent", 0.0),
        (5, "percent", 0.05),  # plain numbers are percent
    ],
)
def test_parse_quantity(text: str | float, kind: str, expected: float) -> None:
    assert parse_quantity(text, kind) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("12 parsecs", "count", '"12 parsecs" is not a count; write e.g. "350M"'),
        ("-3M", "count", '"-3M" is negative; a limit is 0 or more, e.g. "350M"'),
        (-3, "count", "-3 is negative"),
        ("", "count", '"" is not a count'),
        ("M", "count", '"M" is not a count'),
        ("350m", "count", '"350m" is not a count'),  # milli-MACs: surely a typo for M
        ("12 MB", "count", '"12 MB" is a size in bytes, not a count; write e.g. "350M"'),
        ("8 ms", "bytes", '"8 ms" is a time, not a size in bytes; write e.g. "12 MB"'),
        ("5%", "ms", '"5%" is a percentage, not a time'),
        ("1.2.3G", "count", "is not a count"),
        (True, "count", "True is not a count"),
        (float("nan"), "count", "is not a count"),
        ("five", "percent", '"five" is not a percentage; write e.g. "5%"'),
    ],
)
def test_parse_quantity_rejects(text: object, kind: str, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text, kind)  # type: ignore[arg-type]
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(300e6, "", "300 M"), (318.4e6, "", "318.4 M"), (1.2e9, "", "1.2 G"), (12e6, "B", "12 MB"),
     (214_464, "B", "214.5 KB"), (512, "", "512"), (8.0, "ms", "8 ms"), (8.256, "ms", "8.26 ms"), (123.4, "ms", "123 ms")],
)
def test_format_quantity_reads_like_the_limit_was_written(value: float, unit: str, text: str) -> None:
    assert format_quantity(value, unit) == text


# -- the schema -----------------------------------------------------------------------------------


def test_entries_parse_with_units_names_and_paths(in_tmp: Path) -> None:
    budgets = budgets_of(in_tmp, """
        [[budget]]
        model = "mobilenet_v2"
        max_macs = "310M"
        max_mac_bytes = "180 MB"
        baseline = "reports/baselines/mobilenet_v2.json"
        max_regression = "5%"

        [[budget]]
        name = "tiny"
        model = "TINY"
        input = "1x3x32x32"
        max_params = 1500
        lint_fail_level = "error"
        lint_ignore = ["G3"]
        latency_baseline_model = "mobilenet_v2"
        max_latency_regression = "10%"
        threads = 1
    """)
    first, second = budgets
    assert first.name == "mobilenet_v2"  # the model spec, when no name is given
    assert first.limits == (Limit("macs", 310e6), Limit("mac_bytes", 180e6))
    assert first.baseline == Path("reports/baselines/mobilenet_v2.json")  # relative to the config
    assert first.max_regression_fraction == pytest.approx(0.05)
    assert first.where == "costlab.toml: [[budget]] #1" and first.line == 2
    assert second.name == "tiny" and second.input == "1x3x32x32" and second.line == 9
    assert second.lint is not None and second.lint.fail_level == "error" and second.lint.ignore == ("G3",)
    assert second.latency == LatencyBudget("relative", threads=1, baseline_model="mobilenet_v2",
                                            max_regression_fraction=0.1)


def test_paths_are_relative_to_the_config_not_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    write_config(tmp_path, """
        [[budget]]
        model = "models/net.py:Net"
        max_macs = 1
        baseline = "base.json"
        max_regression = 0
    """)
    monkeypatch.chdir(tmp_path / "sub")
    (budget,) = load_budgets(load_config())  # found upward
    assert budget.model == str(tmp_path / "models" / "net.py") + ":Net"
    assert budget.baseline is not None and budget.baseline.resolve() == (tmp_path / "base.json").resolve()


def test_pyproject_budgets_are_named_as_written(in_tmp: Path) -> None:
    body = """
        [project]
        name = "x"

        [[tool.costlab.budget]]
        model = "mobilenet_v2"
        max_macs = "310M"

        [[tool.costlab.budget]]
        model = "resnet18"
        max_macs = "12 parsecs"
    """
    message = config_error(in_tmp, body, "pyproject.toml")
    assert message == 'pyproject.toml: [[tool.costlab.budget]] #2 max_macs: "12 parsecs" is not a count; write e.g. "350M"'
    (in_tmp / "pyproject.toml").write_text(textwrap.dedent(body).replace("12 parsecs", "1.9G"))
    assert [b.line for b in load_budgets(load_config())] == [5, 9]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('model = "resnet18"\nmax_macs = "12 parsecs"',
         'costlab.toml: [[budget]] #2 max_macs: "12 parsecs" is not a count; write e.g. "350M"'),
        ('model = "resnet18"\nmax_mac = "2G"',
         'costlab.toml: [[budget]] #2: unknown key "max_mac" (did you mean "max_macs"? allowed: name, model, input,'),
        ('max_macs = "2G"', 'costlab.toml: [[budget]] #2: missing key "model"'),
        ('model = "resnet18"\nmax_params = "-3M"', 'costlab.toml: [[budget]] #2 max_params: "-3M" is negative'),
        ('model = "resnet18"\nmax_params = -3', "costlab.toml: [[budget]] #2 max_params: -3 is negative"),
        ('model = "resnet18"\nmax_mac_bytes = "8 ms"',
         'costlab.toml: [[budget]] #2 max_mac_bytes: "8 ms" is a time, not a size in bytes; write e.g. "12 MB"'),
        ('model = "resnet18"', "costlab.toml: [[budget]] #2: nothing to check for 'resnet18'"),
        ('model = ""\nmax_macs = 1', "costlab.toml: [[budget]] #2 model: expected a non-empty string"),
        ('model = "resnet18"\ninput = "1x3xx224"\nmax_macs = 1', "costlab.toml: [[budget]] #2 input: malformed input shape"),
        ('model = "resnet18"\nmax_regression = "5%"', "costlab.toml: [[budget]] #2 max_regression: needs a baseline"),
        ('model = "resnet18"\nbaseline = "b.json"', "costlab.toml: [[budget]] #2 baseline: add max_regression"),
        ('model = "resnet18"\nbaseline = "b.json"\nmax_regression = "5 percent"',
         'costlab.toml: [[budget]] #2 max_regression: "5 percent" is not a percentage; write e.g. "5%"'),
        ('model = "resnet18"\nlint_fail_level = "fatal"', "costlab.toml: [[budget]] #2 lint_fail_level: one of info, warning, error"),
        ('model = "resnet18"\nlint_select = ["G9"]', "costlab.toml: [[budget]] #2 lint_select: unknown rule 'G9'"),
        ('model = "resnet18"\nmax_latency_ms = "8 ms"',
         "costlab.toml: [[budget]] #2 max_latency_ms: an absolute latency limit only holds on a dedicated, quiet runner"),
        ('model = "resnet18"\nlatency = "absolute"', 'costlab.toml: [[budget]] #2 latency: "absolute" needs max_latency_ms'),
        ('model = "resnet18"\nlatency = "absolute"\nmax_latency_ms = "8 ms"\nmax_latency_regression = "5%"',
         "costlab.toml: [[budget]] #2 max_latency_regression: belongs to a relative latency budget"),
        ('model = "resnet18"\nlatency_baseline_model = "mobilenet_v2"',
         "costlab.toml: [[budget]] #2: a relative latency budget needs both latency_baseline_model"),
        ('model = "resnet18"\nlatency = "sometimes"', 'costlab.toml: [[budget]] #2 latency: "relative" (the default) or "absolute"'),
        ('model = "resnet18"\nmax_macs = 1\nthreads = 2', "costlab.toml: [[budget]] #2 threads: applies to latency budgets only"),
        ('model = "resnet18"\nlatency = "absolute"\nmax_latency_ms = 8\nbatch = 0',
         "costlab.toml: [[budget]] #2 batch: expected a positive integer, not 0"),
        ('model = "mobilenet_v2"\nmax_macs = 1', "costlab.toml: [[budget]] #2 name: 'mobilenet_v2' is already the name of entry #1"),
    ],
)
def test_malformed_entries_name_the_file_entry_and_key(in_tmp: Path, entry: str, message: str) -> None:
    body = '[[budget]]\nmodel = "mobilenet_v2"\nmax_macs = "310M"\n\n[[budget]]\n' + entry + "\n"
    assert config_error(in_tmp, body).startswith(message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[lint]\nselect = ["G1"]\n', 'costlab.toml: no [[budget]] entries: add one, e.g. [[budget]] model = "mobilenet_v2"'),
        ('[budget]\nmodel = "resnet18"\n', "costlab.toml: [budget] must be an array of tables: write [[budget]] (double brackets)"),
        ("budget = 3\n", "costlab.toml: budget must be an array of tables, written [[budget]]"),
    ],
)
def test_malformed_budget_tables(in_tmp: Path, body: str, message: str) -> None:
    assert config_error(in_tmp, body).startswith(message)


def test_no_config_at_all(in_tmp: Path) -> None:
    with pytest.raises(ConfigError, match="no costlab.toml, or pyproject.toml with \\[tool.costlab\\], here or above"):
        load_budgets(load_config(start=in_tmp))


# -- outcomes -------------------------------------------------------------------------------------


def test_limits_give_value_limit_delta_status_and_message(in_tmp: Path) -> None:
    result = check(in_tmp, """
        [[budget]]
        name = "tiny"
        model = "TINY"
        max_params = 1500
        max_macs = "1.3M"
        max_flops = "2.9M"
        max_mac_bytes = "200 KB"
    """)
    params, macs, flops, mac_bytes = result.outcomes
    # params 1,392 ≤ 1,500: 1392/1500 - 1 = -7.2%
    assert (params.value, params.limit, params.status) == (1_392, 1_500, "ok")
    assert params.delta == pytest.approx(1392 / 1500 - 1)
    assert params.message == "tiny: params 1.39 K ≤ 1.5 K (-7.2%)"
    # MACs 1,400,832 > 1,300,000: 1400832/1.3e6 - 1 = +7.8%
    assert (macs.value, macs.limit, macs.status) == (1_400_832, 1.3e6, "breach")
    assert macs.delta == pytest.approx(1_400_832 / 1.3e6 - 1)
    assert macs.message == "tiny: macs 1.4 M > 1.3 M (+7.8%)"
    # FLOPs 2,834,432 ≤ 2.9 M: -2.3%
    assert flops.status == "ok" and flops.message == "tiny: flops 2.83 M ≤ 2.9 M (-2.3%)"
    # memory access 214,464 B > 200 KB: +7.2%
    assert mac_bytes.unit == "B" and mac_bytes.message == "tiny: mac_bytes 214.5 KB > 200 KB (+7.2%)"
    assert not result.passed and [o.metric for o in result.breaches] == ["macs", "mac_bytes"]
    assert result.summary() == "1 budget, 4 checks: 2 ok, 2 breaches, 0 skipped"
    assert (macs.file, macs.line) == ("costlab.toml", 2)


def tiny_baseline(path: Path, **totals: int) -> None:
    data = json.loads(to_json(costlab.profile(str(TINY))))
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
    assert set(by_metric) == {"params", "macs", "flops", "mac_bytes"}
    assert all(o.basis == "baseline" for o in result.outcomes)
    macs = by_metric["macs"]
    # limit 1.2 M · 1.05 = 1.26 M; 1,400,832 / 1.2 M - 1 = +16.7% over the baseline
    assert (macs.reference, macs.limit, macs.status) == (1_200_000, pytest.approx(1_260_000), "breach")
    assert macs.message == "tiny: macs 1.4 M > 1.26 M (+16.7% vs baseline 1.2 M, allowed +5%)"
    assert by_metric["params"].status == "ok" and by_metric["params"].delta == 0


def test_baseline_at_other_input_shapes_is_an_error(in_tmp: Path) -> None:
    data = json.loads(to_json(costlab.profile(str(TINY))))
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
    """Install a costlab.timing whose measure_latency returns canned medians, and record its calls."""
    calls: list[tuple] = []

    def measure_latency(model, input_shape=None, *, device="cpu", batch=None, threads=None):  # type: ignore[no-untyped-def]
        calls.append((Path(model).name, input_shape, device, batch, threads))
        return types.SimpleNamespace(median_ms=medians_ms[Path(model).name])

    module = types.ModuleType("costlab.timing")
    module.measure_latency = measure_latency  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "costlab.timing", module)
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


def test_latency_is_skipped_with_a_reason_without_a_timing_api(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "costlab.timing", types.ModuleType("costlab.timing"))
    result = check(in_tmp, LATENCY)
    relative, _macs, absolute = result.outcomes
    assert relative.status == absolute.status == "skipped" and relative.value is None
    assert relative.message.startswith("tiny: latency_ms skipped: costlab.timing has no measure_latency yet")
    assert result.passed  # a skip is not a breach


def test_latency_relative_to_a_model_timed_in_the_same_run(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_timing(monkeypatch, {"tiny_net.py": 9.0, "mobilenet_v2": 8.0})
    result = check(in_tmp, LATENCY)
    relative, _macs, absolute = result.outcomes
    # limit 8 ms · 1.10 = 8.8 ms; 9 / 8 - 1 = +12.5%
    assert (relative.value, relative.reference, relative.limit) == (9.0, 8.0, pytest.approx(8.8))
    assert relative.status == "breach" and relative.basis == "latency_baseline_model"
    assert relative.message == "tiny: latency_ms 9 ms > 8.8 ms (+12.5% vs mobilenet_v2 8 ms, allowed +10%) [batch 4, threads 1]"
    # absolute: 9 ms > 8 ms, +12.5%
    assert absolute.message == "tiny again: latency_ms 9 ms > 8 ms (+12.5%) [batch 4, threads 1]"
    # each model timed once, with the entry's device, batch and threads
    assert sorted(calls) == [("mobilenet_v2", None, "cpu", 4, 1), ("tiny_net.py", None, "cpu", 4, 1)]


def test_latency_api_of_another_shape_is_a_skip(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("costlab.timing")
    module.measure_latency = lambda model: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "costlab.timing", module)
    (budget, _) = budgets_of(in_tmp, LATENCY)
    with pytest.raises(LatencyUnavailable, match="does not take"):
        _measure_latency_ms(budget)


# -- profile diffs --------------------------------------------------------------------------------


def profile_of(layers: list[tuple[str, int, int]], path: str = "p.json") -> Profile:
    rows = [{"name": name, "type": "Conv2d", "params": params, "macs": macs, "flops": 2 * macs, "mac_bytes": 4 * macs}
            for name, params, macs in layers]
    totals = {m: sum(r[m] for r in rows) for m in ("params", "macs", "flops", "mac_bytes")}
    return Profile(Path(path), "net", ((1, 3, 8, 8),), totals, tuple(rows))


def test_diff_orders_layers_by_the_largest_change() -> None:
    old = profile_of([("a", 10, 100), ("b", 10, 1_000), ("c", 5, 50), ("b", 10, 1_000)])
    new = profile_of([("a", 10, 130), ("b", 10, 1_000), ("d", 1, 70), ("b", 10, 900)])
    diff = diff_profiles(old, new)
    # |Δ MACs|: b#2 -100, d +70 (added), c -50 (removed), a +30; the first b did not change
    assert [(c.name, c.status, c.delta("macs")) for c in diff.layers] == [
        ("b#2", "changed", -100), ("d", "added", 70), ("c", "removed", -50), ("a", "changed", 30)]
    assert diff.unchanged_layers == 1
    macs = {t.metric: t for t in diff.totals}["macs"]
    assert (macs.old, macs.new, macs.delta) == (2_150, 2_100, -50)
    assert diff.over(0.0) == ()  # only growth counts: params 35 → 31, MACs 2,150 → 2,100
    assert [t.metric for t in diff_profiles(new, old).over(0.01)] == ["params", "macs", "flops", "mac_bytes"]
    assert [c.name for c in diff_profiles(old, new, sort="params").layers][:2] == ["c", "d"]  # |Δ params| 5, then 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema_version": 1, "totals": {', "not valid JSON (line 1 column 34"),
        ("[1, 2]", "not a costlab profile"),
        ('{"schema_version": 2, "totals": {}}', "schema_version 2, this costlab reads 1"),
        ('{"schema_version": 1, "totals": {"params": 1}}', "totals must hold numbers for params, macs, flops, mac_bytes"),
    ],
)
def test_unreadable_profiles(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ProfileFileError, match=message.replace("(", r"\(")):
        load_profile(path)


# -- renderers ------------------------------------------------------------------------------------


def test_renderers_format_what_the_result_says(in_tmp: Path) -> None:
    result = check(in_tmp, '[[budget]]\nname = "tiny"\nmodel = "TINY"\nmax_macs = "1.3M"\nmax_params = 1500\n')
    github = render.check_to_github(result).splitlines()
    assert github[0] == "ok: tiny: params 1.39 K ≤ 1.5 K (-7.2%)"
    assert github[1] == "::error file=costlab.toml,line=1,title=costlab budget tiny macs::tiny: macs 1.4 M > 1.3 M (+7.8%25)"
    data = json.loads(render.check_to_json(result))
    assert data["passed"] is False and data["summary"]["breach"] == 1
    assert data["outcomes"][1]["message"] == "tiny: macs 1.4 M > 1.3 M (+7.8%)"
    text = render.check_to_text(result)
    assert "✗ tiny: macs 1.4 M > 1.3 M (+7.8%)" in text and "FAILED: 1 budget, 2 checks: 1 ok, 1 breach, 0 skipped" in text
