"""``costlab check`` and ``costlab diff``: exit codes, messages, baselines on disk, output formats."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costlab.ci.diff import load_profile
from costlab.cli import app
from tests.conftest import REPO, TINY_NET

ROOT = REPO
TINY = TINY_NET
runner = CliRunner()

# tests/models/tiny_net.py at 1x3x32x32 (tests/test_cli.py has the arithmetic):
#   params 1,392;  MACs 221,184 + 1,179,648 = 1,400,832;  memory access 214,464 B
WITHIN = f"""
[[budget]]
name = "tiny"
model = "{TINY.as_posix()}"
max_params = "1.5K"
max_macs = "1.5M"
max_bytes_accessed = "220 KB"
"""
# MACs 1,400,832 > 1.3 M: 1,400,832 / 1,300,000 - 1 = +7.8%
OVER = WITHIN.replace('max_macs = "1.5M"', 'max_macs = "1.3M"')
BREACH = "tiny: macs 1.40 M > 1.30 M (+7.8%)"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in an empty folder: the repo's own costlab.toml is not found upward."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, config: str | None = None):
    if config is not None:
        Path("costlab.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    return runner.invoke(app, list(args))


def assert_usage_error(result, message: str) -> None:
    """Exit 2, one line on stderr naming the problem, nothing on stdout, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert message in lines[0], lines[0]


# -- exit codes and messages ----------------------------------------------------------------------


def test_within_budget_exits_0() -> None:
    result = run("check", config=WITHIN)
    assert result.exit_code == 0, result.output
    assert "passed: 1 budget, 3 checks: 3 ok, 0 breaches, 0 skipped" in result.stdout
    assert "✗" not in result.stdout


def test_over_budget_exits_1_with_the_message() -> None:
    result = run("check", config=OVER)
    assert result.exit_code == 1
    assert f"✗ {BREACH}\n" in result.stdout
    assert "FAILED: 1 budget, 3 checks: 2 ok, 1 breach, 0 skipped" in result.stdout


def test_config_option_and_pyproject(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    pyproject = tmp_path / "sub" / "pyproject.toml"
    pyproject.write_text(OVER.replace("[[budget]]", "[[tool.costlab.budget]]"), encoding="utf-8")
    result = runner.invoke(app, ["check", "--config", str(pyproject), "--format", "github"])
    assert result.exit_code == 1
    assert f"::error file=sub/pyproject.toml,line=2,title=costlab budget tiny macs::{BREACH.replace('%', '%25')}" in result.stdout


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('max_mac = "1M"', 'costlab.toml: [[budget]] #1: unknown key "max_mac" (did you mean "max_macs"?'),
        ('max_flops = "12 parsecs"', 'costlab.toml: [[budget]] #1 max_flops: "12 parsecs" is not a count; write e.g. "350M"'),
        ('max_flops = "-3M"', 'costlab.toml: [[budget]] #1 max_flops: "-3M" is negative; a limit is 0 or more'),
        ('max_flops = -3', "costlab.toml: [[budget]] #1 max_flops: -3 is negative"),
        ('max_latency_ms = "8 ms"', "costlab.toml: [[budget]] #1 max_latency_ms: an absolute latency limit only holds"),
    ],
)
def test_malformed_config_exits_2_naming_the_key(entry: str, message: str) -> None:
    assert_usage_error(run("check", config=WITHIN + entry + "\n"), message)


def test_missing_model_exits_2() -> None:
    config = '[[budget]]\nmax_macs = "1M"\n'
    assert_usage_error(run("check", config=config), 'costlab.toml: [[budget]] #1: missing key "model"')


def test_unknown_model_exits_2_naming_the_entry() -> None:
    config = '[[budget]]\nmodel = "mobilenet_v9"\nmax_macs = "1M"\n'
    assert_usage_error(run("check", config=config), "costlab.toml: [[budget]] #1 (mobilenet_v9): ")


def test_no_config_exits_2() -> None:
    assert_usage_error(run("check"), "no costlab.toml, or pyproject.toml with [tool.costlab], here or above")


def test_check_does_not_import_torch_at_module_level() -> None:
    code = "import sys, costlab.cli, costlab.ci.budgets, costlab.ci.diff; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- baselines ------------------------------------------------------------------------------------

BASELINE = f"""
[[budget]]
name = "tiny"
model = "{TINY.as_posix()}"
baseline = "baselines/tiny.json"
max_regression = "5%"
"""


def test_corrupted_baseline_exits_2_and_is_left_untouched(tmp_path: Path) -> None:
    (tmp_path / "baselines").mkdir()
    baseline = tmp_path / "baselines" / "tiny.json"
    baseline.write_bytes(b'{"schema_version": 1, "totals": {"macs": 14')
    before = baseline.read_bytes()
    for args in (["check"], ["check", "--update-baseline"]):
        result = run(*args, config=BASELINE)
        assert_usage_error(result, "costlab.toml: [[budget]] #1 baseline: baselines/tiny.json: not valid JSON")
        assert baseline.read_bytes() == before
    assert sorted(p.name for p in baseline.parent.iterdir()) == ["tiny.json"]


def test_missing_baseline_exits_2_and_says_how_to_make_one() -> None:
    result = run("check", config=BASELINE)
    assert_usage_error(result, "baselines/tiny.json does not exist: create it with `costlab check --update-baseline`")


def test_update_baseline_writes_valid_json_and_no_temp_file(tmp_path: Path) -> None:
    result = run("check", "--update-baseline", config=BASELINE)
    assert result.exit_code == 0, result.output
    assert "updated baselines/tiny.json: new baseline" in result.stderr
    baseline = tmp_path / "baselines" / "tiny.json"
    assert load_profile(baseline).totals["macs"] == 1_400_832
    assert sorted(p.name for p in baseline.parent.iterdir()) == ["tiny.json"]  # no .tiny.json.*.tmp left

    # the baseline now holds fewer MACs than the model: +16.7% > +5% fails until accepted again
    data = json.loads(baseline.read_text())
    data["totals"]["macs"] = 1_200_000
    baseline.write_text(json.dumps(data))
    failed = run("check")
    assert failed.exit_code == 1
    assert "✗ tiny: macs 1.40 M > 1.26 M (+16.7% vs baseline 1.20 M, allowed +5%)" in failed.stdout
    accepted = run("check", "--update-baseline")
    assert accepted.exit_code == 0
    assert "updated baselines/tiny.json: macs 1.20 M → 1.40 M" in accepted.stderr
    assert run("check").exit_code == 0
    assert sorted(p.name for p in baseline.parent.iterdir()) == ["tiny.json"]


def test_baseline_from_costlab_profile_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "baselines").mkdir()
    made = runner.invoke(app, ["profile", str(TINY), "-o", "baselines/tiny.json"])
    assert made.exit_code == 0, made.output
    result = run("check", config=BASELINE)
    assert result.exit_code == 0, result.output
    assert "macs vs baseline" in result.stdout


# -- output formats -------------------------------------------------------------------------------


def test_junit_is_valid_xml() -> None:
    result = run("check", "--format", "junit", config=OVER)
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    (suite,) = root.iter("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["params", "macs", "bytes_accessed"]
    failures = [f for c in cases for f in c.findall("failure")]
    assert [f.get("message") for f in failures] == [BREACH]
    assert cases[1].get("classname") == "costlab.budget.tiny"


def test_junit_to_a_file(tmp_path: Path) -> None:
    result = run("check", "--format", "junit", "-o", "costlab.xml", config=WITHIN)
    assert result.exit_code == 0 and result.stdout == ""
    ET.parse(tmp_path / "costlab.xml")


def test_github_annotates_breaches() -> None:
    result = run("check", "--format", "github", config=OVER)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert errors == [f"::error file=costlab.toml,line=2,title=costlab budget tiny macs::{BREACH.replace('%', '%25')}"]
    assert all(line.startswith(("ok: ", "::error", "FAILED: ")) for line in lines)


def test_json_output() -> None:
    result = run("check", "--format", "json", config=OVER)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False
    macs = data["outcomes"][1]
    assert macs == {
        "entry": "tiny", "metric": "macs", "value": 1_400_832.0, "limit": 1_300_000.0, "delta": pytest.approx(0.0775630769),
        "status": "breach", "message": BREACH, "unit": "", "basis": "limit", "reference": 1_300_000.0,
        "file": "costlab.toml", "line": 2,
    }
    assert "FAILED: 1 budget" in result.stderr


def test_the_repository_gates_itself() -> None:
    """The committed costlab.toml parses and every zoo model in it is within budget."""
    result = runner.invoke(app, ["check", "--config", str(ROOT / "costlab.toml"), "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["breach"] == 0 and data["summary"]["budgets"] >= 5


# -- diff -----------------------------------------------------------------------------------------

# v2 widens conv2 to 32 channels and adds a 1x1 conv3 (32 → 8), at 1x3x32x32 (1,024 positions):
#   conv2 MACs 16·1024·72 = 1,179,648 → 32·1024·72 = 2,359,296 (+1,179,648)
#   conv3 MACs 8·1024·32 = 262,144 (added);  conv1 and act unchanged
#   total MACs 1,400,832 → 221,184 + 2,359,296 + 262,144 = 2,842,624 (+102.9%)
V2 = TINY.read_text().replace("nn.Conv2d(8, 16, 3, padding=1)", "nn.Conv2d(8, 32, 3, padding=1)\n        self.conv3 = nn.Conv2d(32, 8, 1)")
V2 = V2.replace("return self.conv2(self.act(self.conv1(x)))", "return self.conv3(self.conv2(self.act(self.conv1(x))))")


@pytest.fixture
def profiles(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "v2.py").write_text(V2)
    for model, out in ((str(TINY), "old.json"), ("v2.py", "new.json")):
        made = runner.invoke(app, ["profile", model, "-o", out])
        assert made.exit_code == 0, made.output
    return "old.json", "new.json"


def test_diff_largest_change_first(profiles: tuple[str, str]) -> None:
    result = runner.invoke(app, ["diff", *profiles, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(row["name"], row["status"], row["delta"]["macs"]) for row in data["layers"]] == [
        ("conv2", "changed", 1_179_648), ("conv3", "added", 262_144)]
    assert data["unchanged_layers"] == 2
    macs = {t["metric"]: t for t in data["totals"]}["macs"]
    assert (macs["old"], macs["new"]) == (1_400_832, 2_842_624)

    table = runner.invoke(app, ["diff", *profiles])
    assert table.exit_code == 0
    assert table.stdout.index("conv2") < table.stdout.index("conv3")
    assert "2 layers changed, 2 unchanged" in table.stdout


def test_diff_fail_over(profiles: tuple[str, str]) -> None:
    old, new = profiles
    over = runner.invoke(app, ["diff", old, new, "--fail-over", "5%"])
    assert over.exit_code == 1
    # 2,842,624 / 1,400,832 - 1 = +102.9%
    assert "✗ over --fail-over: macs +102.9% > +5% (1.40 M → 2.84 M)" in over.stdout
    assert runner.invoke(app, ["diff", old, new, "--fail-over", "150%"]).exit_code == 0
    assert runner.invoke(app, ["diff", new, old, "--fail-over", "5%"]).exit_code == 0  # shrinking never fails
    as_json = runner.invoke(app, ["diff", old, new, "--fail-over", "5%", "-f", "json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["over"] == ["params", "macs", "flops", "bytes_accessed"]
    assert "over --fail-over: macs +102.9% > +5%" in as_json.stderr


def test_diff_errors(profiles: tuple[str, str], tmp_path: Path) -> None:
    old, _ = profiles
    assert_usage_error(runner.invoke(app, ["diff", old, old, "--fail-over", "5 parsecs"]),
                       '--fail-over: "5 parsecs" is not a percentage; write e.g. "5%"')
    (tmp_path / "bad.json").write_text("{")
    assert_usage_error(runner.invoke(app, ["diff", old, "bad.json"]), "bad.json: not valid JSON")
    assert_usage_error(runner.invoke(app, ["diff", old, "missing.json"]), "missing.json: no such file")
