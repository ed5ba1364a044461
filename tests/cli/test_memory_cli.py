"""``costlab memory`` and ``costlab profile --train`` on the command line: formats, bad input, exit codes.

The numbers are tiny_net's (tests/models/tiny_net.py, 1x3x32x32), worked out in tests/cost/test_memory.py:
at --device cpu the inference peak is 5,568 (parameters) + 12,288 (input) + 32,768 + 65,536 = 116,160 B.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costlab.cli import app
from tests.conftest import TINY_NET

runner = CliRunner()
TINY = str(TINY_NET)


def run(*args: str) -> object:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})  # wide: sentences are not wrapped


def test_memory_json_contract():
    result = run("memory", TINY, "--device", "cpu", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["peak_bytes"] == 116_160
    assert data["breakdown"]["activations"] == 32_768 + 65_536
    assert data["peak_at"] == {"layer": "conv2", "type": "Conv2d", "phase": "forward", "op": "aten.convolution",
                               "op_index": 2}
    assert (data["train"], data["optimizer"], data["device"], data["alignment_bytes"]) == (False, None, "cpu", 1)
    assert [layer["name"] for layer in data["layers"]] == ["conv1", "act", "conv2"]
    assert [layer["activation_bytes"] for layer in data["layers"]] == [32_768, 32_768, 65_536]
    assert data["fit"] is None and data["schema_version"] == 1


def test_memory_table_says_the_peak_and_its_parts():
    result = run("memory", TINY, "--train", "--device", "cpu")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the title wraps at the table's own width
    assert "training step (forward + backward) · estimated for cpu, on the meta device" in text
    assert "peak 186.4 KB, while act (ReLU) runs aten.threshold_backward in the backward" in text
    assert "temporaries 65.5 KB 35.2%" in text and "gradients 4.67 KB 2.5%" in text


def test_memory_csv_rows_add_up():
    result = run("memory", TINY, "--device", "cpu", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sum(int(r["held_at_peak_bytes"]) for r in rows) == 116_160 - 5_568 - 12_288


def test_memory_fit_line():
    result = run("memory", TINY, "--device", "cpu", "--fit", "1MB")
    assert result.exit_code == 0, result.output
    # peak(b) = 5,568 + 110,592·b: batch 8 needs 890,304 B, batch 9 1,000,896 B
    assert "fits 1.00 MB: batch 8 at most (peak 890.3 KB; batch 9 needs 1.00 MB)" in result.stdout


def test_memory_fit_below_batch_one_is_one_line_and_exit_1():
    result = run("memory", TINY, "--device", "cpu", "--fit", "100KB")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: even batch 1 needs 116.2 KB: more than the 100.0 KB of --fit"


@pytest.mark.parametrize(("args", "says"), [
    (["--train", "--optimizer", "lion"], "--optimizer 'lion' is not known (one of sgd, adam, adamw)"),
    (["--optimizer", "adam"], "--optimizer adam steps after a backward: add --train"),
    (["--fit", "12 parsecs"], '"12 parsecs" is not a size in bytes'),
    (["--fit", "8 ms"], "is a time, not a size in bytes"),
    (["--device", "tpu"], "--device 'tpu' is not known"),
    (["--sort", "bytes"], "--sort 'bytes' is not known"),
])
def test_memory_bad_input_is_one_line_and_exit_2(args: list[str], says: str):
    result = run("memory", TINY, *args)
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def _write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "net.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_memory_of_a_model_with_nothing_to_train(tmp_path: Path):
    frozen = _write(tmp_path, """
        from torch import nn
        INPUT_SHAPE = (2, 4)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.fc.requires_grad_(False)
            def forward(self, x):
                return self.fc(x)
    """)
    result = run("memory", frozen, "--train")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no parameter requires grad: there is nothing to train (backward cannot run)"


def test_memory_of_a_model_without_a_floating_output(tmp_path: Path):
    argmax = _write(tmp_path, """
        from torch import nn
        INPUT_SHAPE = (2, 4)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
            def forward(self, x):
                return self.fc(x).argmax(1)
    """)
    result = run("memory", argmax, "--train")
    assert result.exit_code == 2
    assert "no floating-point output that requires grad: backward cannot run" in result.stderr


def test_memory_of_a_model_that_needs_real_values(tmp_path: Path):
    dynamic = _write(tmp_path, """
        from torch import nn
        INPUT_SHAPE = (2, 4)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
            def forward(self, x):
                y = self.fc(x)
                return y * 2 if y.sum().item() > 0 else y
    """)
    first = run("memory", dynamic, "--train", "-f", "json")
    second = run("memory", dynamic, "--train", "-f", "json")
    assert first.exit_code == 0, first.output
    assert "note: needed real values on the meta device" in first.stderr and "seed 0" in first.stderr
    assert json.loads(first.stdout)["captured_on"] == "cpu"
    assert json.loads(first.stdout)["peak_bytes"] == json.loads(second.stdout)["peak_bytes"]


def test_memory_writes_json_by_suffix(tmp_path: Path):
    target = tmp_path / "memory.json"
    result = run("memory", TINY, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["peak_bytes"] > 0 and "wrote" in result.stderr


def test_profile_train_counts_the_backward():
    # tiny_net: 2·221,184 + 3·1,179,648 MACs (tests/cost/test_backward_formulas.py)
    result = run("profile", TINY, "--train", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["train"] is True and data["totals"]["macs"] == 2 * 221_184 + 3 * 1_179_648
    table = " ".join(run("profile", TINY, "--train").stdout.split())
    assert "training step (forward + backward)" in table
    assert "backward 2.58 M MACs" in table  # 221,184 + 2·1,179,648 = 2,580,480


def test_profile_train_with_device_is_refused():
    result = run("profile", TINY, "--train", "--device", "cpu")
    assert result.exit_code == 2 and "--train counts a training step" in result.stderr
