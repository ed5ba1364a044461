"""``costlab compare`` through the command line: formats, -o, --with, --strict and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from costlab.cli import app
from tests.conftest import TINY_NET

runner = CliRunner()

# tests/models/tiny_net.py at 1x3x32x32: MACs 221,184 + 1,179,648 = 1,400,832; FLOPs 2,834,432 (test_cli.py)
#   fvcore counts the two convolutions' MACs and nothing else (the ReLU is not in its table): 1,400,832
#   FlopCounterMode counts 2·1,400,832 = 2,801,664: not the biases (8,192 + 16,384) nor the ReLU (8,192)
MACS, FLOPS = 1_400_832, 2_834_432


def test_json_reconciles_fvcore_and_torch():
    result = runner.invoke(app, ["compare", str(TINY_NET), "-f", "json", "--with", "fvcore,torch"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["costlab"] == {"macs": MACS, "flops": FLOPS}
    fvcore, torch = data["counters"]
    assert (fvcore["name"], fvcore["total"], fvcore["basis"], fvcore["unexplained"]) == ("fvcore", MACS, "macs", 0)
    assert fvcore["differences"] == [] and fvcore["skipped_ops"] == {"aten.relu": 1}
    assert (torch["total"], torch["basis"], torch["unexplained"]) == (2 * MACS, "flops", 0)
    assert {d["what"]: d["amount"] for d in torch["differences"]} == {
        "skips the bias add of convolutions": -(8_192 + 16_384),
        "skips element-wise ops": -8_192,
    }


def test_table_shows_the_sum_to_the_last_unit():
    result = runner.invoke(app, ["compare", str(TINY_NET), "--with", "torch"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "2,834,432" in result.stdout and "-24,576" in result.stdout and "2,801,664" in result.stdout
    assert "every module's number reconciles" in result.stdout


def test_unknown_counter_is_a_usage_error_listing_the_known_ones():
    result = runner.invoke(app, ["compare", str(TINY_NET), "--with", "fvcore,nosuch"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --with nosuch: no such counter (known: fvcore, torch, thop, ptflops, torchinfo)"
    ]


def test_bad_model_and_bad_input_are_one_line_and_exit_2():
    for args in (["compare", "nosuch_model"], ["compare", str(TINY_NET), "-i", "1x3xbad"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_markdown_to_a_file_and_the_model_file_is_never_written(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(TINY_NET, "net.py")
    source = Path("net.py").read_text()
    result = runner.invoke(app, ["compare", "net.py", "--with", "fvcore", "-o", "why.md"])
    assert result.exit_code == 0, result.output
    text = Path("why.md").read_text()
    assert text.startswith("## Why do the counters disagree? net.py at 1x3x32x32")
    assert "| fvcore |" in text and "| = fvcore |  | 1,400,832 |" in text
    refused = runner.invoke(app, ["compare", "net.py", "--with", "fvcore", "-o", "net.py"])
    assert refused.exit_code == 2 and Path("net.py").read_text() == source


def test_strict_exits_1_only_when_something_does_not_reconcile():
    ok = runner.invoke(app, ["compare", str(TINY_NET), "--with", "torch", "--strict", "-f", "json"])
    assert ok.exit_code == 0, ok.output
