"""The audit of hostile inputs, as tests: every case across every command gives its exit code (2 for
bad usage or input), exactly one line on stderr starting ``error:``, no traceback, nothing on stdout —
and every file that was in the folder before is byte-identical after.

Each case runs in a fresh folder holding the files it names (``FILES`` plus its own), through typer's
CliRunner, as a user's shell would run ``costlab ...`` there.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from costlab.cli import app
from tests.conftest import TINY_NET

runner = CliRunner()
DEEP = "[" * 100_000 + "]" * 100_000
FILES = {
    "syntax.py": "def broken(:\n",
    "raises.py": "raise RuntimeError('boom at import')\n",
    "exit0.py": "import sys\nsys.exit(0)\n",
    "exit_in_forward.py": (
        "import sys\nfrom torch import nn\nINPUT_SHAPE = (1, 3)\n\n"
        "class Net(nn.Module):\n    def forward(self, x):\n        sys.exit(0)\n"
    ),
    "no_model.py": "x = 1\n",
    "needs_args.py": "from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n",
    "bad_input_shape.py": "from torch import nn\nINPUT_SHAPE = 'potato'\nmodel = nn.Identity()\n",
    "notes.txt": "a file, not a folder\n",
    "not_json.json": "{not json",
    "foreign.json": '{"hello": "world"}',
    "schema3.json": '{"schema_version": 3, "totals": {}}',
    "deep.json": DEEP,
    "bad_utf8.toml": b"[[budget]]\nmodel = \"\xff\xfe\"\n",
}
CONFIGS = {
    "not_toml.toml": "[[budget]\nmodel = 1\n",
    "tool5.toml": None,  # a pyproject.toml with tool = 5: written as pyproject.toml below
    "table_not_array.toml": '[budget]\nmodel = "tiny_net.py"\nmax_macs = "1M"\n',
    "unknown_key.toml": '[[budget]]\nmodel = "tiny_net.py"\nmax_mac = "1M"\n',
    "old_key.toml": '[[budget]]\nmodel = "tiny_net.py"\nmax_mac_bytes = "1 MB"\n',
    "infinite.toml": '[[budget]]\nmodel = "tiny_net.py"\nmax_macs = "1e999"\n',
    "negative.toml": '[[budget]]\nmodel = "tiny_net.py"\nmax_macs = -5\n',
    "no_model_key.toml": '[[budget]]\nmax_macs = "1M"\n',
    "nothing_to_check.toml": '[[budget]]\nmodel = "tiny_net.py"\n',
    "missing_baseline.toml": '[[budget]]\nmodel = "tiny_net.py"\nbaseline = "nope.json"\nmax_regression = "1%"\n',
    "corrupt_baseline.toml": '[[budget]]\nmodel = "tiny_net.py"\nbaseline = "not_json.json"\nmax_regression = "1%"\n',
    "deep_baseline.toml": '[[budget]]\nmodel = "tiny_net.py"\nbaseline = "deep.json"\nmax_regression = "1%"\n',
    "unknown_model.toml": '[[budget]]\nmodel = "mobilenetv2"\nmax_macs = "1M"\n',
    "bad_input.toml": '[[budget]]\nmodel = "tiny_net.py"\ninput = "1xx3"\nmax_macs = "1M"\n',
    "nan_threshold.toml": "[lint.G1]\nmin_mac_ratio = nan\n",
    "old_lint_key.toml": '[lint]\nfail-level = "error"\n',
    "unknown_rule.toml": '[lint]\nselect = ["G9"]\n',
}

# (id, arguments, exit code, what the error line must say)
CASES: list[tuple[str, list[str], int, str]] = [
    # -- naming a model ------------------------------------------------------------------------------
    ("unknown zoo name", ["profile", "mobilenetv2"], 2, "did you mean mobilenet_v2"),
    ("empty spec", ["profile", " "], 2, "empty model spec"),
    ("missing file", ["profile", "nope.py"], 2, "no such file: nope.py"),
    ("path without .py", ["profile", "dir/model"], 2, "no such file"),
    ("folder as a model", ["profile", "folder.py"], 2, "not a file"),
    ("syntax error", ["profile", "syntax.py"], 2, "syntax.py:1: syntax error"),
    ("raises at import", ["profile", "raises.py"], 2, "could not import raises.py: RuntimeError: boom at import"),
    ("sys.exit(0) at import", ["profile", "exit0.py"], 2, "exit0.py called sys.exit(0) while being imported"),
    ("sys.exit(0) in forward", ["profile", "exit_in_forward.py"], 2, "called sys.exit(0) in forward"),
    ("sys.exit(0) in forward, lint", ["lint", "exit_in_forward.py"], 2, "called sys.exit(0) in forward"),
    ("sys.exit(0) in forward, latency", ["latency", "exit_in_forward.py", "--min-time", "0.01"], 2, "sys.exit(0)"),
    ("no model in the file", ["profile", "no_model.py"], 2, "no_model.py has no model"),
    ("a model that needs arguments", ["profile", "needs_args.py"], 2, "no model can be built without arguments"),
    ("a name the file lacks", ["profile", "tiny_net.py:Nope"], 2, "has no 'Nope'"),
    ("not a Python name", ["profile", "tiny_net.py:1abc"], 2, "is not a Python name"),
    ("INPUT_SHAPE not a shape", ["profile", "bad_input_shape.py"], 2, "INPUT_SHAPE = 'potato' is not a shape"),
    ("library absent or unknown", ["profile", "timm:"], 2, "needs a model name"),
    # -- inputs --------------------------------------------------------------------------------------
    ("letters in a shape", ["profile", "tiny_net.py", "-i", "1x3xabc"], 2, "malformed input shape"),
    ("zero size", ["profile", "tiny_net.py", "-i", "0x3x32x32"], 2, "every size must be a positive integer"),
    ("negative size", ["profile", "tiny_net.py", "-i", "1x-3x32"], 2, "malformed input shape"),
    ("empty input", ["profile", "tiny_net.py", "-i", ""], 2, "malformed input shape"),
    ("huge input", ["profile", "tiny_net.py", "-i", "9223372036854775807x3x16x16"], 2, "more than any model input"),
    ("unknown input dtype", ["profile", "tiny_net.py", "-i", "1x3x32x32:complex32"], 2, "unknown input dtype"),
    ("superscript digits", ["profile", "tiny_net.py", "-i", "1x3x3²"], 2, "malformed input shape"),
    ("wrong channels", ["profile", "tiny_net.py", "-i", "1x4x32x32"], 2, "forward failed in conv1"),
    ("unknown dtype", ["profile", "tiny_net.py", "--dtype", "fp8"], 2, "unknown dtype 'fp8'"),
    ("integer dtype", ["profile", "tiny_net.py", "--dtype", "int8"], 2, "unknown dtype 'int8'"),
    # -- options -------------------------------------------------------------------------------------
    ("negative depth", ["profile", "tiny_net.py", "--depth", "-1"], 2, "--depth"),
    ("old sort name", ["profile", "tiny_net.py", "--sort", "mac_bytes"], 2, "mac_bytes is now bytes_accessed"),
    ("unknown sort", ["profile", "tiny_net.py", "--sort", "speed"], 2, "--sort 'speed' is not known"),
    ("top zero", ["profile", "tiny_net.py", "--top", "0"], 2, "--top"),
    ("unknown format", ["profile", "tiny_net.py", "-f", "xml"], 2, "'xml' is not one of"),
    ("threads without a device", ["profile", "tiny_net.py", "--threads", "2"], 2, "--threads applies to timing"),
    ("unknown device", ["profile", "tiny_net.py", "--device", "tpu"], 2, "unknown device 'tpu'"),
    ("cpu with an index", ["profile", "tiny_net.py", "--device", "cpu:1"], 2, "unknown device 'cpu:1'"),
    ("min time zero", ["profile", "tiny_net.py", "--device", "cpu", "--min-time", "0"], 2, "--min-time"),
    ("min time absurd", ["latency", "tiny_net.py", "--min-time", "1e308"], 2, "--min-time"),
    ("unknown command", ["profiel", "tiny_net.py"], 2, "No such command 'profiel'"),
    ("unknown global option", ["--nope"], 2, "No such option"),
    # -- output paths --------------------------------------------------------------------------------
    ("output is a folder", ["profile", "tiny_net.py", "-o", "folder.py"], 2, "is a folder: give a file name"),
    ("output folder missing", ["profile", "tiny_net.py", "-o", "missing/out.json"], 2, "does not exist"),
    ("output under a file", ["profile", "tiny_net.py", "-o", "notes.txt/out.json"], 2, "notes.txt is a file, not a folder"),
    ("output over the model", ["profile", "tiny_net.py", "-o", "tiny_net.py"], 2, "over the model file"),
    ("suffix against -f", ["profile", "tiny_net.py", "-o", "out.json", "-f", "csv"], 2, "names json but -f says csv"),
    ("suffix of no format", ["profile", "tiny_net.py", "-o", "out.xlsx"], 2, "its suffix names no format"),
    ("zoo output folder missing", ["zoo", "-o", "missing/zoo.csv"], 2, "does not exist"),
    ("lint output is a folder", ["lint", "tiny_net.py", "-o", "folder.py"], 2, "is a folder"),
    ("roofline figure suffix", ["roofline", "tiny_net.py", "--figure", "chart.jpg"], 2, ".png or .svg"),
    ("roofline -o of no format", ["roofline", "tiny_net.py", "-o", "chart.jpg"], 2, "its suffix names no format"),
    ("roofline chart to the terminal", ["roofline", "tiny_net.py", "-f", "png"], 2, "a chart goes to a file"),
    ("check output under a file", ["check", "-c", "good.toml", "-o", "notes.txt/x"], 2, "is a file, not a folder"),
    ("diff output over its input", ["diff", "base.json", "base.json", "-o", "base.json"], 2, "over the model file"),
    # -- zoo -----------------------------------------------------------------------------------------
    ("zoo pattern matches nothing", ["zoo", "nothing*"], 2, "no zoo model matches 'nothing*'"),
    ("zoo unknown format", ["zoo", "-f", "yaml"], 2, "'yaml' is not one of"),
    # -- lint and rule -------------------------------------------------------------------------------
    ("lint nothing", ["lint"], 2, "give a MODEL to lint, or --zoo"),
    ("lint both", ["lint", "tiny_net.py", "--zoo"], 2, "give a MODEL to lint, or --zoo"),
    ("lint unknown rule", ["lint", "tiny_net.py", "--select", "G9"], 2, "unknown rule 'G9'"),
    ("lint unknown ignore", ["lint", "tiny_net.py", "--ignore", "X1"], 2, "unknown rule 'X1'"),
    ("lint unknown severity", ["lint", "tiny_net.py", "--fail-level", "fatal"], 2, "'fatal' is not one of"),
    ("lint config missing", ["lint", "tiny_net.py", "--config", "nope.toml"], 2, "no such config file: nope.toml"),
    ("lint NaN threshold", ["lint", "tiny_net.py", "-c", "nan_threshold.toml"], 2, "must be a finite number"),
    ("lint old key", ["lint", "tiny_net.py", "-c", "old_lint_key.toml"], 2, "fail-level is now fail_level"),
    ("lint config rule", ["lint", "tiny_net.py", "-c", "unknown_rule.toml"], 2, "unknown rule 'G9'"),
    ("lint threads without device", ["lint", "tiny_net.py", "--threads", "1"], 2, "--threads applies to timing"),
    ("rule unknown", ["rule", "G9"], 2, "rule 'G9' is not known"),
    ("rule format", ["rule", "G1", "-f", "csv"], 2, "'csv' is not one of"),
    # -- compare -------------------------------------------------------------------------------------
    ("compare unknown counter", ["compare", "tiny_net.py", "--with", "nosuch"], 2, "no such counter (known: fvcore"),
    ("compare unknown model", ["compare", "nope"], 2, "unknown zoo model 'nope'"),
    ("compare format", ["compare", "tiny_net.py", "-f", "csv"], 2, "'csv' is not one of"),
    ("compare output over the model", ["compare", "tiny_net.py", "-o", "tiny_net.py"], 2, "over the model file"),
    # -- calibrate and predict -----------------------------------------------------------------------
    ("calibrate unknown device", ["calibrate", "--device", "tpu"], 2, "unknown device 'tpu'"),
    ("calibrate dtype", ["calibrate", "--dtype", "int8"], 2, "unknown dtype 'int8'"),
    ("memory optimizer without train", ["memory", "tiny_net.py", "--optimizer", "adam"], 2, "add --train"),
    ("memory unknown optimizer", ["memory", "tiny_net.py", "--train", "--optimizer", "lamb"], 2, "'lamb' is not known"),
    ("memory fit zero", ["memory", "tiny_net.py", "--fit", "0"], 2, "no memory at all"),
    ("memory fit not bytes", ["memory", "tiny_net.py", "--fit", "12XB"], 2, "not a size in bytes"),
    ("memory unknown device", ["memory", "tiny_net.py", "--device", "tpu"], 2, "'tpu' is not known"),
    ("memory zero input", ["memory", "tiny_net.py", "-i", "0x3"], 2, "every size must be a positive integer"),
    ("predict unknown model", ["predict", "nope", "--no-calibrate"], 2, "unknown zoo model 'nope'"),
    ("predict without a calibration", ["predict", "tiny_net.py", "--no-calibrate"], 2, "no calibration"),
    ("predict bad input", ["predict", "tiny_net.py", "-i", "1x", "--no-calibrate"], 2, "malformed input shape"),
    # -- latency and machine -------------------------------------------------------------------------
    ("batch zero", ["latency", "tiny_net.py", "--batch", "0"], 2, "every batch size must be at least 1"),
    ("batch letters", ["latency", "tiny_net.py", "--batch", "a,b"], 2, "malformed --batch"),
    ("batch empty", ["latency", "tiny_net.py", "--batch", ""], 2, "malformed --batch"),
    ("latency unknown device", ["latency", "tiny_net.py", "--device", "tpu"], 2, "unknown device 'tpu'"),
    ("latency dtype", ["latency", "tiny_net.py", "--dtype", "int8"], 2, "unknown dtype 'int8'"),
    ("latency threads zero", ["latency", "tiny_net.py", "--threads", "0"], 2, "--threads"),
    ("latency unknown model", ["latency", "nope"], 2, "unknown zoo model 'nope'"),
    ("latency huge batch", ["latency", "tiny_net.py", "--batch", "99999999999"], 2, "more than any model input"),
    ("machine unknown device", ["machine", "--device", "tpu"], 2, "unknown device 'tpu'"),
    ("machine dtype", ["machine", "--dtype", "int8"], 2, "unknown dtype 'int8'"),
    ("machine format", ["machine", "-f", "csv"], 2, "'csv' is not one of"),
    # -- roofline ------------------------------------------------------------------------------------
    ("roofline unknown spec sheet", ["roofline", "tiny_net.py", "--spec", "made-up"], 2, "no spec sheet 'made-up'"),
    ("roofline batch zero", ["roofline", "tiny_net.py", "--batch", "0"], 2, "--batch"),
    ("roofline spec without a dtype", ["roofline", "tiny_net.py", "--spec", "v100", "--dtype", "bf16"], 2, "no bfloat16 peak"),
    # -- check ---------------------------------------------------------------------------------------
    ("check config missing", ["check", "-c", "nope.toml"], 2, "no such config file"),
    ("check not TOML", ["check", "-c", "not_toml.toml"], 2, "not valid TOML"),
    ("check not UTF-8", ["check", "-c", "bad_utf8.toml"], 2, "not UTF-8"),
    ("check tool is 5", ["check", "-c", "pyproject.toml"], 2, "[tool] must be a table"),
    ("check budget not an array", ["check", "-c", "table_not_array.toml"], 2, "must be an array of tables"),
    ("check unknown key", ["check", "-c", "unknown_key.toml"], 2, 'did you mean "max_macs"'),
    ("check old key", ["check", "-c", "old_key.toml"], 2, "max_mac_bytes is now max_bytes_accessed"),
    ("check infinite limit", ["check", "-c", "infinite.toml"], 2, "too large"),
    ("check negative limit", ["check", "-c", "negative.toml"], 2, "is negative"),
    ("check no model key", ["check", "-c", "no_model_key.toml"], 2, 'missing key "model"'),
    ("check nothing to check", ["check", "-c", "nothing_to_check.toml"], 2, "nothing to check"),
    ("check missing baseline", ["check", "-c", "missing_baseline.toml"], 2, "does not exist"),
    ("check corrupt baseline", ["check", "-c", "corrupt_baseline.toml"], 2, "not valid JSON"),
    ("check deep baseline", ["check", "-c", "deep_baseline.toml"], 2, "nested too deeply"),
    ("check unknown model", ["check", "-c", "unknown_model.toml"], 2, "unknown zoo model"),
    ("check bad input", ["check", "-c", "bad_input.toml"], 2, "malformed input shape"),
    ("check format", ["check", "-c", "good.toml", "-f", "sarif"], 2, "'sarif' is not one of"),
    ("update a corrupt baseline", ["check", "-c", "corrupt_baseline.toml", "--update-baseline"], 2, "not valid JSON"),
    # -- diff ----------------------------------------------------------------------------------------
    ("diff missing", ["diff", "nope.json", "base.json"], 2, "nope.json: no such file"),
    ("diff not JSON", ["diff", "not_json.json", "base.json"], 2, "not valid JSON"),
    ("diff foreign JSON", ["diff", "foreign.json", "base.json"], 2, "not a costlab profile"),
    ("diff schema 3", ["diff", "schema3.json", "base.json"], 2, "schema_version 3, this costlab reads 1 and 2"),
    ("diff deep", ["diff", "deep.json", "base.json"], 2, "nested too deeply"),
    ("diff folder", ["diff", "folder.py", "base.json"], 2, "cannot read"),
    ("diff bad fail-over", ["diff", "base.json", "base.json", "--fail-over", "lots"], 2, "is not a percentage"),
    ("diff old sort", ["diff", "base.json", "base.json", "--sort", "mac_bytes"], 2, "mac_bytes is now bytes_accessed"),
    ("diff unknown sort", ["diff", "base.json", "base.json", "--sort", "speed"], 2, "is not known"),
    # -- guidelines ----------------------------------------------------------------------------------
    ("guidelines table 5", ["guidelines", "--table", "5"], 2, "no guideline table 5"),
    ("guidelines rounds zero", ["guidelines", "--rounds", "0"], 2, "--rounds"),
    ("guidelines output dir is a file", ["guidelines", "--output-dir", "notes.txt"], 2, "is a file"),
    ("guidelines unknown device", ["guidelines", "--device", "tpu"], 2, "unknown device 'tpu'"),
    ("guidelines format", ["guidelines", "-f", "csv"], 2, "'csv' is not one of"),
    # -- report --------------------------------------------------------------------------------------
    ("report nowhere", ["report", "tiny_net.py"], 2, "give --output-dir DIR for the report folder"),
    ("report both outputs", ["report", "tiny_net.py", "-o", "p.html", "--output-dir", "r"], 2, "give --output-dir DIR"),
    ("report page as markdown", ["report", "tiny_net.py", "-o", "page.md"], 2, "writes html, not md"),
    ("report dir is a file", ["report", "tiny_net.py", "--output-dir", "notes.txt"], 2, "is a file"),
    ("report foreign folder", ["report", "tiny_net.py", "--output-dir", "folder.py"], 2, "not a costlab report folder"),
    ("report no models", ["report", "--output-dir", "r"], 2, "give at least one MODEL"),
    ("report unknown model", ["report", "nope", "--output-dir", "r"], 2, "unknown zoo model 'nope'"),
    ("report pattern matches nothing", ["report", "zzz*", "--output-dir", "r"], 2, "no zoo model matches"),
    ("report unknown device", ["report", "tiny_net.py", "--output-dir", "r", "--device", "tpu"], 2, "unknown device"),
]
if not torch.cuda.is_available():
    CASES += [
        ("profile cuda absent", ["profile", "tiny_net.py", "--device", "cuda"], 2, "no CUDA GPU here"),
        ("latency cuda absent", ["latency", "tiny_net.py", "--device", "cuda:1"], 2, "no CUDA GPU here"),
        ("roofline cuda absent", ["roofline", "tiny_net.py", "--device", "cuda"], 2, "no CUDA GPU here"),
        ("machine cuda absent", ["machine", "--device", "cuda"], 2, "no CUDA GPU here"),
    ]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "cache" not in p.parts
    }


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(TINY_NET, tmp_path / "tiny_net.py")
    (tmp_path / "folder.py").mkdir()
    (tmp_path / "folder.py" / "keep.txt").write_text("a person's file\n")
    for name, content in FILES.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    for name, content in CONFIGS.items():
        if content is not None:
            (tmp_path / name).write_text(content)
    (tmp_path / "pyproject.toml").write_text("tool = 5\n")
    (tmp_path / "good.toml").write_text('[[budget]]\nmodel = "tiny_net.py"\nmax_macs = "2M"\n')
    import costlab

    (tmp_path / "base.json").write_text(costlab.profile(str(tmp_path / "tiny_net.py")).to_json())
    return tmp_path


def test_there_are_over_a_hundred_cases_across_every_command():
    from costlab.cli import COMMANDS

    assert len(CASES) >= 100
    assert {args[0] for _, args, _, _ in CASES if not args[0].startswith("-")} >= set(COMMANDS)


@pytest.mark.parametrize(("case", "args", "code", "needle"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input(folder: Path, case: str, args: list[str], code: int, needle: str) -> None:
    before = _digest(folder)
    result = runner.invoke(app, args)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and needle in lines[0], lines[0]
    assert _digest(folder) == before  # nothing that was there is changed, and nothing half-written is left


# -- where output goes ---------------------------------------------------------------------------------


def test_dash_writes_to_stdout(folder: Path) -> None:
    result = runner.invoke(app, ["profile", "tiny_net.py", "-o", "-", "-f", "csv"])
    assert result.exit_code == 0 and result.stdout.startswith("name,type,depth")


def test_dev_null_is_written_through_not_replaced(folder: Path) -> None:
    import os
    import stat

    result = runner.invoke(app, ["profile", "tiny_net.py", "-o", "/dev/null", "-f", "json"])
    assert result.exit_code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_model_that_changes_folder_at_import_does_not_move_the_output(folder: Path) -> None:
    (folder / "elsewhere").mkdir()
    (folder / "wanders.py").write_text(
        "import os\nos.chdir('elsewhere')\nfrom torch import nn\nINPUT_SHAPE = (1, 4)\nmodel = nn.Linear(4, 2)\n"
    )
    import os

    here = os.getcwd()
    try:
        result = runner.invoke(app, ["profile", "wanders.py", "-o", "out.json"])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    assert (folder / "out.json").is_file() and not (folder / "elsewhere" / "out.json").exists()


def test_update_baseline_checks_every_target_before_writing_any(folder: Path) -> None:
    import costlab

    old = costlab.profile(str(folder / "tiny_net.py")).to_dict()
    old["totals"]["macs"] += 1
    first = folder / "first.json"
    first.write_text(__import__("json").dumps(old))
    (folder / "two.toml").write_text(
        '[[budget]]\nname = "a"\nmodel = "tiny_net.py"\nbaseline = "first.json"\nmax_regression = "1%"\n\n'
        '[[budget]]\nname = "b"\nmodel = "tiny_net.py"\nbaseline = "notes.txt/second.json"\nmax_regression = "1%"\n'
    )
    before = first.read_bytes()
    result = runner.invoke(app, ["check", "-c", "two.toml", "--update-baseline"])
    assert result.exit_code == 2 and "notes.txt is a file, not a folder" in result.stderr
    assert first.read_bytes() == before  # the first baseline is not rewritten when the second cannot be


# -- names that are markup, table syntax or spreadsheet formulas ------------------------------------------

MARKUP_NET = '''\
from torch import nn

INPUT_SHAPE = (1, 4)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.add_module("[/x]", nn.Linear(4, 4))
        self.add_module("[bold red]y[/]", nn.Linear(4, 4))
        self.add_module("=HYPERLINK(1)", nn.Linear(4, 4))
        self.add_module("a|b", nn.Linear(4, 2))

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x
'''


@pytest.fixture
def markup_net(folder: Path) -> str:
    (folder / "markup.py").write_text(MARKUP_NET)
    return "markup.py"


def test_names_are_printed_as_they_are_never_as_markup(markup_net: str) -> None:
    result = runner.invoke(app, ["profile", markup_net], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for name in ("[/x]", "[bold red]y[/]", "=HYPERLINK(1)", "a|b"):
        assert name in result.stdout


def test_csv_cells_are_never_spreadsheet_formulas(markup_net: str) -> None:
    rows = runner.invoke(app, ["profile", markup_net, "-f", "csv"]).stdout.splitlines()
    names = [row.split(",")[0] for row in rows[1:]]
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names  # OWASP: a leading '


def test_markdown_cells_keep_their_table_shape(markup_net: str) -> None:
    lines = runner.invoke(app, ["profile", markup_net, "-f", "md"]).stdout.splitlines()
    row = next(line for line in lines if "a\\|b" in line)
    assert row.count(" | ") == lines[2].count(" | ")  # the | in the name is escaped, not a new cell
