"""The ``costlab`` command line: output formats, -o, errors and exit codes, the zoo listing."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costlab.cli import app
from costlab.errors import ModelSpecError
from tests.conftest import REPO, TINY_NET

ROOT = REPO
TINY = TINY_NET
runner = CliRunner()

# tests/models/tiny_net.py: TwoConv at 1x3x32x32 (HW = 1,024 positions).
#   conv1 Conv2d(3, 8, 3, p=1):  params 8·27 + 8 = 224;  MACs 8·1024·27 = 221,184
#         FLOPs 2·MACs + bias (one per output, 8·1024) = 442,368 + 8,192 = 450,560
#         bytes: read x 3·1024·4 = 12,288 + w 216·4 = 864 + b 8·4 = 32; write 8·1024·4 = 32,768 → 45,952
#   act   ReLU: 8,192 elements → 8,192 FLOPs, read 32,768 + write 32,768 = 65,536 B, 1 element-wise op
#   conv2 Conv2d(8, 16, 3, p=1): params 16·72 + 16 = 1,168; MACs 16·1024·72 = 1,179,648
#         FLOPs 2,359,296 + 16·1024 = 2,375,680
#         bytes: read 32,768 + 1,152·4 = 4,608 + 16·4 = 64; write 16·1024·4 = 65,536 → 102,976
TINY_TOTALS = {
    "params": 224 + 1_168,  # 1,392
    "param_bytes": 1_392 * 4,  # 5,568
    "macs": 221_184 + 1_179_648,  # 1,400,832
    "flops": 450_560 + 8_192 + 2_375_680,  # 2,834,432
    "bytes_accessed": 45_952 + 65_536 + 102_976,  # 214,464
    "elementwise_ops": 1,
    "elementwise_elems": 8_192,
}
TINY_LAYERS = [  # name, type, output shape, params, MACs, FLOPs, bytes_accessed
    ("conv1", "Conv2d", [1, 8, 32, 32], 224, 221_184, 450_560, 45_952),
    ("act", "ReLU", [1, 8, 32, 32], 0, 0, 8_192, 65_536),
    ("conv2", "Conv2d", [1, 16, 32, 32], 1_168, 1_179_648, 2_375_680, 102_976),
]

# A nested net at 1x3x32x32 for --depth / --sort:
#   features.0.conv Conv2d(3, 8, 3, p=1, no bias):  MACs 8·1024·27 = 221,184
#   features.1.conv Conv2d(8, 16, 3, p=1, no bias): MACs 16·1024·72 = 1,179,648
#   fc Linear(16, 10): MACs 16·10 = 160;  BatchNorm, ReLU, pooling: no MACs
#   total MACs 1,400,992; params 216 + 16 + 1,152 + 32 + 170 = 1,586
#   innermost rows: 2 × (conv, bn, act) + pool + fc = 8; at depth 1: features, pool, fc = 3
DEEP = """
    import torch
    from torch import nn

    INPUT_SHAPE = (1, 3, 32, 32)

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(cout)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class DeepNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(Block(3, 8), Block(8, 16))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.features(x)), 1))
"""

# channel mismatch: conv2 wants 16 channels and gets conv1's 8
BROKEN = """
    from torch import nn

    INPUT_SHAPE = (1, 3, 32, 32)

    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 8, 3, padding=1)

        def forward(self, x):
            return self.conv2(self.conv1(x))
"""

# torch.cumprod: no formula in costlab.cost.formulas (neither FORMULAS nor FREE_OPS)
UNSUPPORTED = """
    import torch
    from torch import nn

    INPUT_SHAPE = (1, 3, 8, 8)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            return torch.cumprod(self.conv(x), dim=1)
"""

DATA_DEPENDENT = """
    from torch import nn

    INPUT_SHAPE = (1, 3, 16, 16)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            if y.sum().item() > 1e9:
                y = y * 2
            return y
"""


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def invoke(*args: str, **kwargs):
    return runner.invoke(app, [str(a) for a in args], **kwargs)


def profile_json(*args: str) -> dict:
    result = invoke("profile", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_one_line_error(result, *fragments: str) -> str:
    """Exit 2, exactly one line on stderr that starts with ``error:``, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# -- profile: formats -----------------------------------------------------------------------------


def test_profile_table() -> None:
    result = invoke("profile", TINY)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("Layer", "Type", "Output", "Params", "MACs", "FLOPs", "Mem access", "FLOP/B", "Elem-wise"):
        assert header in out
    lines = out.splitlines()
    conv1 = next(line for line in lines if line.strip().startswith("conv1"))
    assert "Conv2d" in conv1 and "1×8×32×32" in conv1
    assert "221.2 K" in conv1  # 221,184 MACs, three significant digits (four from 100 up)
    total = next(line for line in lines if line.strip().startswith("total"))
    assert "1.39 K" in total  # 1,392 params
    assert "1.40 M" in total  # 1,400,832 MACs
    assert "2.83 M" in total  # 2,834,432 FLOPs


def test_profile_json_contract() -> None:
    data = profile_json(TINY)
    assert data["model"] == "tiny_net.py"
    assert data["input_shapes"] == [[1, 3, 32, 32]]
    for key, value in TINY_TOTALS.items():
        assert data["totals"][key] == value, key
    assert data["unsupported_ops"] == {}
    layers = data["layers"]
    for row in layers:
        for key in ("name", "type", "depth", "output_shape", "params", "macs", "flops", "bytes_accessed", "intensity",
                    "elementwise_ops"):
            assert key in row, key
    got = [(r["name"], r["type"], r["output_shape"], r["params"], r["macs"], r["flops"], r["bytes_accessed"]) for r in layers]
    assert got == [tuple(row) for row in TINY_LAYERS]
    assert [r["depth"] for r in layers] == [1, 1, 1]
    assert [r["elementwise_ops"] for r in layers] == [0, 1, 0]
    assert layers[0]["intensity"] == pytest.approx(450_560 / 45_952)  # FLOP per byte
    for key in ("params", "macs", "flops", "bytes_accessed"):
        assert sum(r[key] for r in layers) == data["totals"][key], key


def test_profile_csv() -> None:
    result = invoke("profile", TINY, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == ["conv1", "act", "conv2"]  # one row per layer
    assert [int(r["macs"]) for r in rows] == [221_184, 0, 1_179_648]
    assert [int(r["params"]) for r in rows] == [224, 0, 1_168]
    assert rows[0]["output_shape"] == "1x8x32x32"
    assert sum(int(r["bytes_accessed"]) for r in rows) == 214_464


def test_profile_markdown() -> None:
    result = invoke("profile", TINY, "-f", "md")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| layer |"))
    assert "| MACs |" in lines[header]
    assert lines[header + 1].startswith("|---|")
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert len(rows) == 4  # three layers and the total
    assert rows[0].startswith("| `conv1` | Conv2d |")
    assert rows[-1].startswith("| **total** |")
    assert "**1.40 M**" in rows[-1]  # 1,400,832 MACs


def test_unknown_format_is_a_usage_error() -> None:
    result = invoke("profile", TINY, "--format", "bogus")
    assert result.exit_code == 2
    assert "bogus" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_real_zoo_model_json() -> None:
    data = profile_json("mobilenet_v2")
    assert data["input_shapes"] == [[1, 3, 224, 224]]
    # torchvision's MobileNet V2 has 3,504,872 parameters; the paper (Table 3) gives ~300 M multiply-adds
    assert data["totals"]["params"] == 3_504_872
    assert data["totals"]["macs"] == 300_774_272  # torch.utils.flop_counter's 601,548,544 FLOPs / 2
    # FLOPs: 2·300,774,272 = 601,548,544, plus 19,678,400 element-wise (BN 2 per element, ReLU6 and the
    # residual adds 1), 62,720 for the 7×7 average pool over 1280 channels, 1,000 for the classifier's bias
    assert data["totals"]["flops"] == 601_548_544 + 19_678_400 + 62_720 + 1_000
    for key in ("macs", "flops", "bytes_accessed", "params"):
        assert sum(r[key] for r in data["layers"]) == data["totals"][key], key
    assert data["unsupported_ops"] == {}


# -- profile: rows --------------------------------------------------------------------------------


def test_depth_rolls_rows_up_and_keeps_the_sums(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.py", DEEP)
    full = profile_json(path)
    assert len(full["layers"]) == 8
    assert full["totals"]["macs"] == 1_400_992
    assert full["totals"]["params"] == 1_586
    rolled = profile_json(path, "--depth", "1")
    assert [r["name"] for r in rolled["layers"]] == ["features", "pool", "fc"]
    assert rolled["layers"][0]["macs"] == 221_184 + 1_179_648
    assert rolled["totals"] == full["totals"]
    for key in ("params", "macs", "flops", "bytes_accessed"):
        assert sum(r[key] for r in rolled["layers"]) == rolled["totals"][key], key
    whole = profile_json(path, "--depth", "0")
    assert len(whole["layers"]) == 1
    assert whole["layers"][0]["macs"] == 1_400_992


def test_sort_and_top(tmp_path: Path) -> None:
    path = write(tmp_path, "deep2.py", DEEP)
    data = profile_json(path, "--sort", "macs", "--top", "3")
    assert [(r["name"], r["macs"]) for r in data["layers"]] == [
        ("features.1.conv", 1_179_648),
        ("features.0.conv", 221_184),
        ("fc", 160),
    ]
    assert data["totals"]["macs"] == 1_400_992  # totals are the whole model's, not the rows shown


# -- profile: -o ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".csv", ".md"])
def test_output_file_format_from_suffix(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"report{suffix}"
    result = invoke("profile", TINY, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "wrote" in result.stderr
    text = out.read_text()
    if suffix == ".json":
        assert json.loads(text)["totals"]["macs"] == 1_400_832
    elif suffix == ".csv":
        assert [r["name"] for r in csv.DictReader(io.StringIO(text))] == ["conv1", "act", "conv2"]
    else:
        assert "| **total** |" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp file left behind


def test_output_over_the_model_file_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text(TINY.read_text())
    before = model.read_bytes()
    for spec in (str(model), f"{model}:TwoConv"):
        result = invoke("profile", spec, "-o", model, "-f", "json")
        assert_one_line_error(result, "model file")
        assert model.read_bytes() == before


def test_output_into_a_missing_folder(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "report.json"
    result = invoke("profile", TINY, "-o", out)
    assert_one_line_error(result, "does not exist")
    assert not out.parent.exists()


def test_output_that_is_a_directory(tmp_path: Path) -> None:
    result = invoke("profile", TINY, "-o", tmp_path)
    assert_one_line_error(result, "is a folder: give a file name")


@pytest.mark.parametrize("failure", ["bad_input", "forward_error", "missing_model"])
def test_failed_run_leaves_an_existing_output_untouched(tmp_path: Path, failure: str) -> None:
    out = tmp_path / "report.json"
    out.write_text('{"old": true}\n')
    if failure == "bad_input":
        args = [TINY, "--input", "1x3xabc"]
    elif failure == "forward_error":
        args = [write(tmp_path, "broken.py", BROKEN)]
    else:
        args = [tmp_path / "nope.py"]
    result = invoke("profile", *args, "-o", out)
    assert result.exit_code == 2, result.output
    assert out.read_text() == '{"old": true}\n'
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- profile: errors ------------------------------------------------------------------------------


def test_error_unknown_zoo_name() -> None:
    assert_one_line_error(invoke("profile", "mobilenetv2"), "mobilenetv2", "mobilenet_v2")


def test_error_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(invoke("profile", tmp_path / "nope.py"), "no such file", "nope.py")


def test_error_syntax(tmp_path: Path) -> None:
    path = write(tmp_path, "syn.py", "from torch import nn\n\nclass Net(nn.Module)\n    pass\n")
    assert_one_line_error(invoke("profile", path), f"{path}:3", "syntax error")


def test_error_file_without_model(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.py", "WIDTH = 8\n")
    assert_one_line_error(invoke("profile", path), "has no model")


def test_error_factory_needing_arguments(tmp_path: Path) -> None:
    path = write(tmp_path, "fac.py", "from torch import nn\n\ndef build_model(width):\n    return nn.Conv2d(3, width, 1)\n")
    assert_one_line_error(invoke("profile", path, "-i", "1x3x8x8"), "needs arguments (width)")


@pytest.mark.parametrize("bad", ["1x3xabc", "0x3x8x8", "1x3:float8", ""])
def test_error_malformed_input(bad: str) -> None:
    line = assert_one_line_error(invoke("profile", TINY, "--input", bad))
    assert "1x3x224x224" in line or "positive integer" in line or "float32" in line


def test_error_forward_fails_names_the_layer(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", BROKEN)
    # conv1 gives 1x8x32x32; conv2 (Conv2d expecting 16 channels) fails on it
    assert_one_line_error(invoke("profile", path), "conv2", "Conv2d", "1x8x32x32", "16 channels")


def test_error_no_default_input(tmp_path: Path) -> None:
    path = write(tmp_path, "noshape.py", "from torch import nn\n\nmodel = nn.Conv2d(3, 8, 3)\n")
    assert_one_line_error(invoke("profile", path), "--input")


def test_error_superscript_input_is_a_clean_error() -> None:
    assert_one_line_error(invoke("profile", TINY, "--input", "1x3x²"))


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    for args, env in ((["--debug", "profile", missing], None), (["profile", missing], {"COSTLAB_DEBUG": "1"})):
        result = invoke(*args, env=env)
        assert result.exit_code == 1
        assert isinstance(result.exception, ModelSpecError)  # propagated, not turned into one line
        text = "".join(traceback.format_exception(*result.exc_info))
        assert text.startswith("Traceback")
        assert "no such file" in text
    # and without --debug afterwards: one line again (the flag does not stick)
    assert_one_line_error(invoke("profile", missing), "no such file")


# -- --strict and unsupported ops -----------------------------------------------------------------


def test_strict_fails_on_an_op_without_formula(tmp_path: Path) -> None:
    path = write(tmp_path, "cumprod.py", UNSUPPORTED)
    relaxed = invoke("profile", path, "-f", "json")
    assert relaxed.exit_code == 0, relaxed.output
    assert "warning:" in relaxed.stderr and "aten.cumprod" in relaxed.stderr
    data = json.loads(relaxed.stdout)
    assert data["unsupported_ops"] == {"aten.cumprod": 1}
    # only the conv is counted: 4·8·8·27 = 6,912 MACs
    assert data["totals"]["macs"] == 6_912
    strict = invoke("profile", path, "-f", "json", "--strict")
    assert strict.exit_code == 1
    assert "aten.cumprod" in strict.stderr
    assert json.loads(strict.stdout)["unsupported_ops"] == {"aten.cumprod": 1}  # the report is still printed


def test_strict_passes_when_every_op_has_a_formula() -> None:
    result = invoke("profile", TINY, "--strict", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


# -- data-dependent model -------------------------------------------------------------------------


def test_data_dependent_model_notes_real_tensors(tmp_path: Path) -> None:
    path = write(tmp_path, "dd.py", DATA_DEPENDENT)
    result = invoke("profile", path, "-f", "json")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "real tensors" in notes[0]
    data = json.loads(result.stdout)
    assert data["captured_on"] == "cpu"
    # Conv2d(3, 4, 3, padding=1) at 16x16: MACs = 4·16·16·27 = 27,648
    assert data["totals"]["macs"] == 27_648


# -- zoo ------------------------------------------------------------------------------------------


def test_zoo_json_pattern() -> None:
    result = invoke("zoo", "shufflenet_v2*", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == 2
    rows = data["models"]
    names = [r["name"] for r in rows]
    assert sorted(names) == ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]
    by_name = {r["name"]: r for r in rows}
    # torchvision documents 1,366,792 and 2,278,604 parameters for the x0.5 and x1.0 models
    assert by_name["shufflenet_v2_x0_5"]["params"] == 1_366_792
    assert by_name["shufflenet_v2_x1_0"]["params"] == 2_278_604
    # the paper's Table 5 complexities: 41, 146, 299, 591 MFLOPs (multiply-adds), ±5%
    for name, paper in (("x0_5", 41e6), ("x1_0", 146e6), ("x1_5", 299e6), ("x2_0", 591e6)):
        assert abs(by_name[f"shufflenet_v2_{name}"]["macs"] - paper) < 0.05 * paper, name


def test_zoo_names() -> None:
    result = invoke("zoo", "--names")
    assert result.exit_code == 0, result.output
    names = result.stdout.split()
    assert {"mobilenet_v2", "resnet18", "shufflenet_v2_x1_0"} <= set(names)
    assert len(names) == len(set(names))
    assert invoke("zoo", "mobilenet_v2*", "--names").stdout.split()[0] == "mobilenet_v2"


def test_zoo_no_match() -> None:
    assert_one_line_error(invoke("zoo", "nomatch*"), "nomatch*")


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("costlab ")


# -- subprocesses (slow: few) ---------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COSTLAB_DEBUG": ""}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_python_m_costlab_help() -> None:
    result = _run("-m", "costlab", "--help")
    assert result.returncode == 0, result.stderr
    assert "profile" in result.stdout and "zoo" in result.stdout


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from costlab.cli import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr


def test_python_m_costlab_profile_end_to_end() -> None:
    result = _run("-m", "costlab", "profile", str(TINY), "-f", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["totals"]["macs"] == 1_400_832
    assert "Traceback" not in result.stderr
