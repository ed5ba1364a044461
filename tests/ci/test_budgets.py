"""The CI gate's budgets: the [[budget]] schema, its units and its errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from costlab.ci.budgets import LatencyBudget, Limit, MemoryBudget, load_budgets
from costlab.config import ConfigError, load_config
from tests.ci.helpers import budgets_of, config_error, write_config


def test_entries_parse_with_units_names_and_paths(in_tmp: Path) -> None:
    budgets = budgets_of(in_tmp, """
        [[budget]]
        model = "mobilenet_v2"
        max_macs = "310M"
        max_bytes_accessed = "180 MB"
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
    assert first.limits == (Limit("macs", 310e6), Limit("bytes_accessed", 180e6))
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
        ('model = "resnet18"\nmax_bytes_accessed = "8 ms"',
         'costlab.toml: [[budget]] #2 max_bytes_accessed: "8 ms" is a time, not a size in bytes; write e.g. "12 MB"'),
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


def test_the_old_name_of_bytes_accessed_is_refused_with_the_new_one(in_tmp: Path) -> None:
    message = config_error(in_tmp, '[[budget]]\nmodel = "resnet18"\nmax_mac_bytes = "120 MB"\n')
    assert message == (
        "costlab.toml: [[budget]] #1: max_mac_bytes is now max_bytes_accessed (memory access is called bytes_accessed)"
    )


def test_a_memory_budget_parses(in_tmp: Path) -> None:
    (inference, training) = budgets_of(in_tmp, """
        [[budget]]
        model = "mobilenet_v2"
        max_peak_bytes = "12 GB"

        [[budget]]
        name = "train"
        model = "mobilenet_v2"
        max_peak_bytes = "11.5 GiB"
        train = true
        optimizer = "adam"
    """)
    assert inference.memory == MemoryBudget(12e9)
    assert training.memory == MemoryBudget(11.5 * 2**30, train=True, optimizer="adam")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('max_macs = 1\ntrain = true', 'train: applies to a memory budget only; add max_peak_bytes (e.g. "12 GB")'),
        ('max_peak_bytes = "1 GB"\ntrain = "yes"', "train: true or false, not 'yes'"),
        ('max_peak_bytes = "1 GB"\ntrain = true\noptimizer = "lion"', "optimizer: one of sgd, adam, adamw, not 'lion'"),
        ('max_peak_bytes = "1 GB"\noptimizer = "adam"', "optimizer: an optimizer steps after a backward: add train = true"),
        ('max_peak_bytes = "12 ms"', 'max_peak_bytes: "12 ms" is a time, not a size in bytes; write e.g. "12 MB"'),
    ],
)
def test_malformed_memory_budgets(in_tmp: Path, entry: str, message: str) -> None:
    assert config_error(in_tmp, f'[[budget]]\nmodel = "resnet18"\n{entry}\n') == f"costlab.toml: [[budget]] #1 {message}"
