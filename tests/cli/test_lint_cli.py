"""``costlab lint`` and ``costlab rule`` from the command line: statistics, exit codes, the config
found beside the linted file, old config keys, and the rule explanations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costlab.cli import app
from tests.rules.test_rules import MODEL_FILE

runner = CliRunner()


def one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.stderr


def test_statistics_count_per_rule_and_place():
    result = runner.invoke(app, ["lint", "shufflenet_v1_g3", "--statistics"])
    assert result.exit_code == 1
    # 31 grouped 1×1 convs built at two lines (compress, expand), G1 on both 1×1 convs of 10 units, G3 on the
    # 3 stride-2 units (built in one loop), G4 once (tests/rules/test_rules.py has the counts)
    assert result.stdout.splitlines() == [
        "31  G2  [warning]  group-convolution  at 2 places",
        "20  G1  [warning]  equal-channel-width  at 2 places",
        " 3  G3  [info]  fragmentation  at 1 place",
        " 1  G4  [warning]  elementwise-operations  at 1 place",
    ]


def test_exit_zero_keeps_the_findings_but_not_the_failure():
    result = runner.invoke(app, ["lint", "mobilenet_v2", "--exit-zero"])
    assert result.exit_code == 0 and "G1 [warning]" in result.stdout


def test_the_config_beside_the_linted_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "net.py").write_text(MODEL_FILE)
    (project / "costlab.toml").write_text('[lint]\nignore = ["G1"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # like `cd /tmp && costlab lint ~/proj/net.py`
    result = runner.invoke(app, ["lint", str(project / "net.py")])
    assert "G1" not in result.stdout and result.exit_code == 1  # G4 is still a warning there
    assert "G4 [warning]" in result.stdout


@pytest.mark.parametrize(("old", "new"), [("fail-level", "fail_level"), ("per-module-ignores", "per_module_ignores")])
def test_old_hyphenated_keys_name_the_new_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str):
    value = '"error"' if old == "fail-level" else '{ "x" = ["G1"] }'
    (tmp_path / "costlab.toml").write_text(f"[lint]\n{old} = {value}\n")
    monkeypatch.chdir(tmp_path)
    one_line_error(runner.invoke(app, ["lint", "mobilenet_v2"]), f"{old} is now {new}")


def test_rule_explains_itself():
    result = runner.invoke(app, ["rule", "g1"])
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("G1 equal-channel-width [warning by default]")
    assert "MAC ≥ 2·sqrt(h·w·B) + B/(h·w)" in text and "Table 1" in text and "min_mac_ratio  1.2" in text
    assert "[tool.costlab.lint.G1] min_mac_ratio = 1.2" in text and "# noqa: G1" in text


def test_rule_lists_all_and_speaks_json():
    listing = runner.invoke(app, ["rule"], env={"COLUMNS": "100"})
    assert listing.exit_code == 0 and all(code in listing.stdout for code in ("G1", "G2", "G3", "G4"))
    data = json.loads(runner.invoke(app, ["rule", "G4", "-f", "json"]).stdout)
    assert data["code"] == "G4" and data["thresholds"]["max_share"]["default"] == 0.25  # of the whole memory access


def test_an_unknown_rule_is_one_line():
    one_line_error(runner.invoke(app, ["rule", "G9"]), "rule 'G9' is not known (one of G1, G2, G3, G4)")
