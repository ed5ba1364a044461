"""Golden files: what every command prints, in every format, at 80 and 120 columns.

The outputs live in ``tests/golden/``; a change of formatting shows up as a diff there, to be read
and committed on purpose. ``pytest tests/render/test_golden.py --update-golden`` rewrites them.

Everything here is deterministic: counts on the meta device, made-up machine peaks (100 GFLOP/s,
10 GB/s) for the roofline, and hand-made timings for latency and the guideline tables. The CPU's
name, the torch and costlab versions are replaced by ``<cpu>``, ``<torch>`` and ``<costlab>``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.timing import machine
from costlab.timing.devices import device_name
from tests.conftest import REPO, TINY_NET, fake_calibration, store_fake_calibration, store_fake_peaks

GOLDEN = REPO / "tests" / "golden"
runner = CliRunner()

CHECK_CONFIG = """\
[[budget]]
name = "tiny"
model = "tiny_net.py"
max_params = 1500
max_macs = "1.3M"
max_bytes_accessed = "220 KB"
baseline = "tiny.json"
max_regression = "2%"
lint_fail_level = "warning"
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the tiny net, its baseline (MACs 1% lower) and a check config; a fake machine cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(machine, "utc_now", lambda: datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc))  # 3 h after
    store_fake_peaks()
    store_fake_calibration()
    shutil.copy(TINY_NET, tmp_path / "tiny_net.py")
    report = costlab.profile(str(tmp_path / "tiny_net.py"))
    baseline = report.to_dict()
    baseline["totals"]["macs"] = round(baseline["totals"]["macs"] * 0.99)
    (tmp_path / "tiny.json").write_text(json.dumps(baseline, indent=2))
    (tmp_path / "wide.json").write_text(costlab.profile(str(tmp_path / "tiny_net.py"), "2x3x48x48").to_json())
    (tmp_path / "costlab.toml").write_text(CHECK_CONFIG)
    return tmp_path


def _version(distribution: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(distribution)


def normalized(text: str) -> str:
    for real, placeholder in ((device_name(torch.device("cpu")), "<cpu>"), (torch.__version__, "<torch>"),
                              (costlab.__version__, "<costlab>"), (_version("fvcore"), "<fvcore>"),
                              (f"{REPO}/", "")):
        text = text.replace(real, placeholder)
    return text


# name → (arguments, widths): one golden file per width (or one for width-independent formats)
CASES: dict[str, tuple[list[str], tuple[int, ...]]] = {
    "profile_mobilenet_v2": (["profile", "mobilenet_v2", "--top", "20"], (80, 120)),
    "profile_mobilenet_v2_by_bytes": (["profile", "mobilenet_v2", "-s", "bytes_accessed", "-n", "8", "-d", "2"], (60,)),
    "profile_tiny.json": (["profile", "tiny_net.py", "-f", "json"], ()),
    "profile_tiny.csv": (["profile", "tiny_net.py", "-f", "csv"], ()),
    "profile_tiny.md": (["profile", "tiny_net.py", "-f", "md"], ()),
    "profile_mobilenet_v2_train": (["profile", "mobilenet_v2", "--train", "-s", "macs", "-n", "8"], (80, 120)),
    "memory_mobilenet_v2": (["memory", "mobilenet_v2", "--train", "--optimizer", "adam", "-s", "held_at_peak_bytes",
                             "-n", "10"], (80, 120)),
    "memory_tiny.json": (["memory", "tiny_net.py", "--train", "--fit", "1MB", "-f", "json"], ()),
    "memory_tiny.csv": (["memory", "tiny_net.py", "--device", "cpu", "-f", "csv"], ()),
    "memory_tiny.md": (["memory", "tiny_net.py", "--train", "--fit", "1MB", "-f", "md"], ()),
    "zoo_mobilenet": (["zoo", "mobilenet*"], (80, 120)),
    "zoo_shufflenet_v2.json": (["zoo", "shufflenet_v2*", "-f", "json"], ()),
    "zoo_shufflenet_v2.csv": (["zoo", "shufflenet_v2*", "-f", "csv"], ()),
    "zoo_shufflenet_v2.md": (["zoo", "shufflenet_v2*", "-f", "md"], ()),
    "lint_shufflenet_v1_g3": (["lint", "shufflenet_v1_g3"], ()),
    "lint_mobilenet_v2.json": (["lint", "mobilenet_v2", "-f", "json"], ()),
    "lint_mobilenet_v2.csv": (["lint", "mobilenet_v2", "-f", "csv"], ()),
    "lint_mobilenet_v2.md": (["lint", "mobilenet_v2", "-f", "md"], ()),
    "lint_mobilenet_v2.github": (["lint", "mobilenet_v2", "-f", "github"], ()),
    "lint_mobilenet_v2.sarif": (["lint", "mobilenet_v2", "-f", "sarif"], ()),
    "lint_mobilenet_v2.junit": (["lint", "mobilenet_v2", "-f", "junit"], ()),
    "lint_zoo": (["lint", "--zoo"], (80, 120)),
    "lint_statistics": (["lint", "shufflenet_v1_g3", "--statistics"], ()),
    "rule_g1": (["rule", "G1"], ()),
    "rules": (["rule"], (80, 120)),
    "rule_g4.md": (["rule", "G4", "-f", "md"], ()),
    "check": (["check"], (80, 120)),
    "check.json": (["check", "-f", "json"], ()),
    "check.csv": (["check", "-f", "csv"], ()),
    "check.md": (["check", "-f", "md"], ()),
    "check.github": (["check", "-f", "github"], ()),
    "check.junit": (["check", "-f", "junit"], ()),
    "diff": (["diff", "tiny.json", "wide.json"], (80, 120)),
    "diff.json": (["diff", "tiny.json", "wide.json", "-f", "json"], ()),
    "diff.csv": (["diff", "tiny.json", "wide.json", "-f", "csv"], ()),
    "diff.md": (["diff", "tiny.json", "wide.json", "-f", "md"], ()),
    "roofline_predicted": (["roofline", "mobilenet_v2", "--threads", "1", "-n", "8"], (80, 120)),
    "roofline_predicted.json": (["roofline", "tiny_net.py", "--threads", "1", "-f", "json"], ()),
    "roofline_predicted.csv": (["roofline", "tiny_net.py", "--threads", "1", "-f", "csv"], ()),
    "compare_tiny": (["compare", "tiny_net.py", "--with", "fvcore,torch"], (80, 120)),
    "compare_tiny.json": (["compare", "tiny_net.py", "--with", "fvcore,torch", "-f", "json"], ()),
    "compare_tiny.md": (["compare", "tiny_net.py", "--with", "fvcore,torch", "-f", "md"], ()),
    "machine": (["machine", "--threads", "1"], (80, 120)),
    "machine.json": (["machine", "--threads", "1", "-f", "json"], ()),
    "machine.md": (["machine", "--threads", "1", "-f", "md"], ()),
    "predict_mobilenet_v2": (["predict", "mobilenet_v2", "--threads", "1", "-n", "8"], (80, 120)),
    "predict_tiny.json": (["predict", "tiny_net.py", "--threads", "1", "-f", "json"], ()),
    "predict_tiny.csv": (["predict", "tiny_net.py", "--threads", "1", "-f", "csv"], ()),
    "predict_tiny.md": (["predict", "tiny_net.py", "--threads", "1", "-f", "md"], ()),
}
FILES = [(name, width) for name, (_, widths) in CASES.items() for width in (widths or (None,))]


def golden_name(name: str, width: int | None) -> str:
    return f"{name}.{width}.txt" if width is not None else name


def compare(request: pytest.FixtureRequest, name: str, text: str) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path.name}: run pytest {__file__} --update-golden and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs: review, then rerun with --update-golden"


@pytest.mark.parametrize(("name", "width"), FILES, ids=[golden_name(n, w) for n, w in FILES])
def test_command_output(request: pytest.FixtureRequest, workdir: Path, name: str, width: int | None) -> None:
    args, _ = CASES[name]
    result = runner.invoke(app, args, env={"COLUMNS": str(width or 120)})
    assert result.exit_code in (0, 1), result.output
    if width is not None:
        assert all(len(line.rstrip()) <= width for line in result.stdout.splitlines()), "a line is wider than the terminal"
        assert "…" not in result.stdout
    compare(request, golden_name(name, width), normalized(result.stdout))


# -- renderers fed hand-made timings (timing the machine is not deterministic) ---------------------


def _latency() -> list:
    from costlab.timing.measure import Measurement, TimingSpec

    def measured(batch: int, ms: tuple[float, ...]) -> Measurement:
        spec = TimingSpec("tiny_net.py", ((batch, 3, 32, 32),), "cpu", "<cpu>", "float32", 1, False, 1.0, "<torch>")
        return Measurement(spec, tuple(t / 1e3 for t in ms), 1, 2)

    return [measured(1, (1.0, 1.1, 1.2, 0.9, 1.0)), measured(8, (6.0, 6.5, 7.0, 9.0, 6.2))]


def _guidelines():
    from costlab.experiments.run import GuidelinesResult, RowCount, table_result
    from costlab.experiments.tables import ARM, experiments
    from costlab.experiments.verdicts import RowTiming

    tables = []
    for spec in experiments(ARM):
        counted = [RowCount(row, (1, row.in_channels, 56, 56), 1000, 10_000_000 * (1 + i % 2), 20_000_000,
                            1_000_000 * (i + 1)) for i, row in enumerate(spec.rows)]
        timings = [RowTiming(tuple(1.0 + 0.2 * i + 0.01 * k for k in range(9)), 9, 3) for i in range(len(spec.rows))]
        tables.append(table_result(spec, counted, timings))
    return GuidelinesResult("cpu", "<cpu>", ARM, 1, "float32", "<torch>", 1.0, 3, False, tuple(tables))


def _render(kind: str, width: int) -> str:
    from costlab.render import experiments, predict, timing
    from costlab.render.layout import to_text

    cal = fake_calibration()

    renderers: dict[str, Callable[[], object]] = {
        "latency": lambda: timing.latency_table(_latency(), width),
        "latency.json": lambda: timing.latency_json(_latency()),
        "latency.csv": lambda: timing.latency_csv(_latency()),
        "latency.md": lambda: timing.latency_markdown(_latency()),
        "guidelines": lambda: experiments.guideline_tables(_guidelines(), width),
        "guidelines.json": lambda: experiments.guidelines_json(_guidelines()),
        "guidelines.md": lambda: experiments.guidelines_markdown(_guidelines()),
        "calibration": lambda: predict.calibration_table(cal, width, "the timings spread 30%"),
        "calibration.json": lambda: predict.calibration_json(cal),
        "calibration.md": lambda: predict.calibration_markdown(cal),
    }
    out = renderers[kind]()
    return normalized(out if isinstance(out, str) else to_text(out, width))


RENDERED = [("latency", 80), ("latency", 120), ("latency.json", None), ("latency.csv", None), ("latency.md", None),
            ("guidelines", 80), ("guidelines", 120), ("guidelines.json", None), ("guidelines.md", None),
            ("calibration", 80), ("calibration", 120), ("calibration.json", None), ("calibration.md", None)]


@pytest.mark.parametrize(("name", "width"), RENDERED, ids=[golden_name(n, w) for n, w in RENDERED])
def test_rendered_timings(request: pytest.FixtureRequest, name: str, width: int | None) -> None:
    text = _render(name, width or 120)
    if width is not None:
        assert all(len(line.rstrip()) <= width for line in text.splitlines()) and "…" not in text
    compare(request, golden_name(name, width), text)
