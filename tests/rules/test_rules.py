"""G1–G4 against closed-form arithmetic, the paper's Table 1–4 settings, and the paper's verdicts."""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.config import Config, ConfigError, load_config
from costlab.render import findings as render
from costlab.rules import LintSettings, lint, settings_from_config
from costlab.rules.g1 import g1_mac_ratio
from costlab.rules.g2 import g2_mac_ratio

ALL = LintSettings()


# -- the guideline formulas -------------------------------------------------------------------------


def test_g1_ratio_is_one_at_equal_widths_and_grows_with_the_mismatch():
    mac, minimum, ratio = g1_mac_ratio(64, 64, 56 * 56)
    assert mac == 56 * 56 * 128 + 64 * 64  # h·w·(c1+c2) + c1·c2 = 405,504
    assert ratio == pytest.approx(1.0)
    # 1:12, (36, 432) on 56×56: MAC = 3136·468 + 15,552 = 1,483,200;
    # MAC_min = 2·sqrt(3136 · 3136·36·432) + 36·432 = 2·3136·124.71 + 15,552 = 797,722
    mac, minimum, ratio = g1_mac_ratio(36, 432, 3136)
    assert mac == 1_483_200
    assert minimum == pytest.approx(2 * 3136 * math.sqrt(36 * 432) + 15_552)
    assert ratio == pytest.approx(1_483_200 / 797_722, rel=1e-4)


def test_g2_ratio_grows_with_groups_at_fixed_flops():
    # c1 = c2 = 128 on 56×56 with g = 8: B = 3136·128·128/8 = 6,422,528
    # MAC_g = 3136·128 + B·8/128 + B/3136 = 401,408 + 401,408 + 2,048 = 804,864
    # MAC_1 = 401,408 + 50,176 + 2,048 = 453,632
    grouped, dense, ratio = g2_mac_ratio(128, 128, 8, 3136)
    assert (grouped, dense) == (804_864, 453_632)
    assert ratio == pytest.approx(804_864 / 453_632)
    assert g2_mac_ratio(128, 128, 1, 3136)[2] == 1.0


# -- the paper's guideline experiments (56×56 input, each block stacked 10 times) -------------------


class Stack(nn.Sequential):
    def __init__(self, make_block, times: int = 10) -> None:
        super().__init__(*[make_block() for _ in range(times)])


class PointwisePair(nn.Module):
    """Table 1: two 1×1 convs c1 → c2 → c1."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(c1, c2, 1, bias=False)
        self.project = nn.Conv2d(c2, c1, 1, bias=False)

    def forward(self, x):
        return self.project(self.expand(x))


@pytest.mark.parametrize(("c1", "c2", "flagged"), [(128, 128, False), (90, 180, False), (36, 432, True)])
def test_table1_channel_ratio(c1, c2, flagged):
    result = lint(Stack(lambda: PointwisePair(c1, c2)), f"1x{c1}x56x56", settings=ALL)
    g1 = [f for f in result.findings if f.rule == "G1"]
    assert bool(g1) is flagged
    if flagged:
        assert len(g1) == 20  # both convs of every one of the 10 blocks
        assert g1[0].evidence["mac_ratio"] == pytest.approx(1_483_200 / 797_722, rel=1e-3)


class GroupPair(nn.Module):
    """Table 2: two 1×1 group convs c → c with g groups."""

    def __init__(self, c: int, g: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 1, groups=g, bias=False)
        self.b = nn.Conv2d(c, c, 1, groups=g, bias=False)

    def forward(self, x):
        return self.b(self.a(x))


@pytest.mark.parametrize(("c", "g", "flagged"), [(128, 1, False), (360, 8, True)])
def test_table2_group_convolution(c, g, flagged):
    result = lint(Stack(lambda: GroupPair(c, g)), f"1x{c}x56x56", settings=ALL)
    g2 = [f for f in result.findings if f.rule == "G2"]
    assert bool(g2) is flagged
    if flagged:
        assert {f.evidence["groups"] for f in g2} == {8}
        # Eq. 2 at hw = 56·56 = 3136, c = 360, g = 8: B = 3136·360²/8 = 50,803,200;
        # MAC_g = 3136·360 + B·8/360 + B/3136 = 2,274,120; dense: 3136·360 + B/360 + B/3136 = 1,286,280
        assert {f.evidence["mac_ratio"] for f in g2} == {round(2_274_120 / 1_286_280, 4)}  # 1.768


class Fragments(nn.Module):
    """Table 3: one 1×1 conv, or four in parallel on the same input, summed."""

    def __init__(self, c: int, parallel: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for _ in range(parallel))

    def forward(self, x):
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out


def test_table3_four_parallel_fragments_are_flagged_and_one_is_not():
    four = lint(Stack(lambda: Fragments(64, 4)), "1x64x56x56", settings=ALL)
    one = lint(Stack(lambda: Fragments(128, 1)), "1x128x56x56", settings=ALL)
    g3 = [f for f in four.findings if f.rule == "G3" and f.severity == "warning"]
    assert len(g3) == 10 and all(f.evidence["branches"] == 4 for f in g3)
    assert [f for f in one.findings if f.rule == "G3"] == []


class Bottleneck(nn.Module):
    """Table 4: ResNet bottleneck 1×1 → 3×3 → 1×1, with or without ReLU and shortcut."""

    def __init__(self, c: int, relu: bool, shortcut: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 1, bias=False)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(c, c, 1, bias=False)
        self.relu, self.shortcut = relu, shortcut

    def forward(self, x):
        act = torch.relu if self.relu else (lambda t: t)
        out = self.conv3(act(self.conv2(act(self.conv1(x)))))
        return act(out + x) if self.shortcut else out


def g4_share(model, shape: str) -> float:
    settings = LintSettings(select=("G4",), options={"G4": {"info_share": 0.0}})
    findings = lint(model, shape, settings=settings).findings
    return findings[0].evidence["share"] if findings else 0.0


def test_table4_relu_and_shortcut_raise_the_elementwise_share():
    both = g4_share(Stack(lambda: Bottleneck(32, True, True)), "1x32x56x56")
    relu = g4_share(Stack(lambda: Bottleneck(32, True, False)), "1x32x56x56")
    shortcut = g4_share(Stack(lambda: Bottleneck(32, False, True)), "1x32x56x56")
    neither = g4_share(Stack(lambda: Bottleneck(32, False, False)), "1x32x56x56")
    assert neither == 0.0
    assert both > relu > 0 and both > shortcut > 0
    # with both: 3 ReLUs + 1 add per block, each on 32·56·56 = 100,352 elements (the add reads two)
    elem = 100_352 * 4
    conv_bytes = 2 * (2 * elem + 32 * 32 * 4) + (2 * elem + 32 * 32 * 9 * 4)
    elementwise_bytes = 3 * 2 * elem + 3 * elem
    assert both == pytest.approx(elementwise_bytes / (elementwise_bytes + conv_bytes), abs=1e-4)


class Inception(nn.Module):
    """An Inception-style block: four parallel branches concatenated."""

    def __init__(self, c: int = 64) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(c, 16, 1)
        self.b3 = nn.Sequential(nn.Conv2d(c, 16, 1), nn.Conv2d(16, 16, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(c, 16, 1), nn.Conv2d(16, 16, 5, padding=2))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c, 16, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


def test_inception_block_is_fragmented():
    result = lint(nn.Sequential(Inception(), Inception()), "1x64x28x28", settings=ALL)
    g3 = [f for f in result.findings if f.rule == "G3"]
    assert [(f.module, f.severity, f.evidence["branches"]) for f in g3] == [("0", "warning", 4), ("1", "warning", 4)]


# -- the paper's verdicts on real networks --------------------------------------------------------------


@pytest.mark.parametrize("name", ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"])
def test_shufflenet_v2_passes_all_four(name):
    result = lint(name, settings=ALL)
    # nothing on G1 and G2 at any width; G3's three stage-entry branches and G4's share, as information
    assert dict(result.counts) == {("G3", "info"): 3, ("G4", "info"): 1}
    assert not result.failed


@pytest.mark.parametrize("name", ["shufflenet_v1_g3", "shufflenet_v1_g8"])
def test_shufflenet_v1_breaks_g1_and_g2(name):
    result = lint(name, settings=ALL)
    # 31 grouped 1×1 convs (G2: every pointwise conv but the first unit's); G1 on both 1×1 convs of the
    # 1:4 bottleneck in the width-keeping units of stages 2 and 3 (3 + 7 units, 28×28 and 14×14 maps);
    # stage 4's 7×7 maps keep MAC within 1.2× of its minimum
    assert dict(result.counts) == {("G1", "warning"): 20, ("G2", "warning"): 31, ("G3", "info"): 3,
                                   ("G4", "warning"): 1}
    g1_blocks = {f.evidence["block"] for f in result.findings if f.rule == "G1"}
    assert g1_blocks and all("stage" in block for block in g1_blocks)  # the bottlenecks of the units


def test_mobilenet_v2_breaks_g1_and_g4():
    result = lint("mobilenet_v2", settings=ALL)
    # G1: the 1:6 expansion and 6:1 projection of the 8 inverted residuals thin enough to cross 1.2
    assert dict(result.counts) == {("G1", "warning"): 16, ("G4", "warning"): 1}
    ratios = {f.evidence["c2"] / f.evidence["c1"] for f in result.findings if f.rule == "G1"}
    assert 6.0 in ratios  # the inverted bottleneck's 1:6 expansion
    g4 = next(f for f in result.findings if f.rule == "G4")
    assert g4.evidence["largest"][0]["module_type"] == "ReLU6"  # ReLU6 on the thick 96×112×112 map
    assert result.failed


def test_a_model_without_convolutions_has_no_findings():
    result = lint(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)), "1x64", settings=ALL)
    assert result.findings == [] and not result.failed


# -- configuration --------------------------------------------------------------------------------------


def config(text: str, tmp_path: Path, name: str = "costlab.toml") -> Config:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_config(path)


def test_config_severity_thresholds_select_and_per_module_ignores(tmp_path):
    settings = settings_from_config(
        config(
            """
            [lint]
            ignore = ["G3"]
            fail_level = "error"
            per_module_ignores = { "features.3.*" = ["G1"] }

            [lint.G1]
            severity = "error"
            min_mac_ratio = 1.4
            """,
            tmp_path,
        )
    )
    assert settings.select == ("G1", "G2", "G4") and settings.fail_level == "error"
    result = lint("mobilenet_v2", settings=settings)
    g1 = [f for f in result.findings if f.rule == "G1"]
    # at 1.4 only the 32→192 / 192→32 pair of features.5 and .6 (28×28) is left, g1_mac_ratio(32, 192, 784)
    assert [(f.module, f.severity, f.evidence["mac_ratio"]) for f in g1] == [
        (f"features.{i}.conv.{part}", "error", 1.4085) for i in (5, 6) for part in ("0.0", "2")
    ]
    assert result.suppressed == 2  # features.3's expansion and projection
    assert result.failed


def test_pyproject_tool_table_is_read(tmp_path):
    cfg = config('[project]\nname = "x"\n[tool.costlab.lint]\nselect = ["G4"]\n', tmp_path, "pyproject.toml")
    assert settings_from_config(cfg).select == ("G4",)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[lint]\nselect = ["G9"]\n', "unknown rule 'G9'"),
        ("[lint.G1]\nmin_ratio = 2\n", "unknown key 'min_ratio'; G1 takes severity, min_mac_ratio"),
        ('[lint.G1]\nmin_mac_ratio = "big"\n', "min_mac_ratio must be a finite number"),
        ("[lint.G1]\nmin_mac_ratio = 0.5\n", "below its minimum"),
        ('[lint.G2]\nseverity = "fatal"\n', "severity must be one of info, warning, error"),
        ("[lint]\ncolour = 1\n", "unknown key 'colour'"),
        ("[lint\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=None) as caught:
        settings_from_config(config(text, tmp_path))
    assert needle in str(caught.value) and "costlab.toml" in str(caught.value)


# -- output formats -------------------------------------------------------------------------------------

MODEL_FILE = '''\
import torch
from torch import nn


class Bottleneck(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(16, 96, 1, bias=False)
        self.project = nn.Conv2d(96, 16, 1, bias=False)

    def forward(self, x):
        return x + self.project(torch.relu(self.expand(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Bottleneck(), Bottleneck())

    def forward(self, x):
        return self.blocks(x)


INPUT_SHAPE = (1, 16, 32, 32)
'''


@pytest.fixture
def model_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "net.py"
    path.write_text(MODEL_FILE)
    monkeypatch.chdir(tmp_path)
    return path


def test_text_output_points_at_the_call_that_built_the_module(model_file):
    result = lint("net.py", settings=LintSettings(select=("G1",)))
    text = render.findings_text([result])
    first, second, summary = text.splitlines()
    # line 8 of MODEL_FILE is `        self.expand = nn.Conv2d(16, 96, 1, bias=False)`: the call starts at column 23;
    # both Bottleneck instances are built there, so it is one place listing both modules.
    # 16 → 96 on 32×32: MAC = 1024·112 + 1536 = 116,224; MAC_min = 2·1024·sqrt(1536) + 1536 = 81,797
    assert first.startswith("net.py:8:23: G1 [warning] blocks.0.expand and 1 more (blocks.1.expand) Conv2d 1x1 16→96")
    assert "memory access 1.42× the minimum" in first
    assert second.startswith("net.py:9:24: G1 [warning] blocks.0.project and 1 more (blocks.1.project) Conv2d 1x1 96→16")
    assert summary == "net.py: 4 findings at 2 places — G1 4 warning"
    assert [(g.location.line, g.location.column, g.modules) for g in result.groups()] == [
        (8, 23, ("blocks.0.expand", "blocks.1.expand")), (9, 24, ("blocks.0.project", "blocks.1.project"))]


def test_an_instance_built_before_costlab_saw_it_points_at_its_block_class(model_file, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("net_for_lint", model_file)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "net_for_lint", module)
    spec.loader.exec_module(module)
    result = lint(module.Net(), "1x16x32x32", settings=LintSettings(select=("G1",)))
    # no construction sites recorded: the line of `class Bottleneck` (5), the block both convs are in
    assert {(f.location.file, f.location.line, f.location.column) for f in result.findings} == {("net.py", 5, 0)}


@pytest.mark.parametrize(
    ("comment", "silenced"),
    [("  # noqa", 2), ("  # noqa: G1", 2), ("  # NOQA: g3, G1", 2), ("  # noqa: G3", 0), ("", 0)],
)
def test_noqa_on_the_line_that_builds_the_module(tmp_path, monkeypatch, comment, silenced):
    lines = MODEL_FILE.splitlines()
    lines[7] += comment  # line 8: self.expand = nn.Conv2d(16, 96, 1, bias=False)
    (tmp_path / "noqa_net.py").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    result = lint("noqa_net.py", settings=LintSettings(select=("G1",)))
    assert result.noqa == silenced and len(result.findings) == 4 - silenced
    assert ("ignored by noqa" in result.summary()) is bool(silenced)


def test_github_annotations(model_file):
    out = render.findings_github([lint("net.py", settings=LintSettings(select=("G1",)))])
    line = out.splitlines()[0]
    assert line.startswith("::warning file=net.py,line=8,col=23,title=costlab G1 blocks.0.expand::net.py: ")
    assert len(out.splitlines()) == 2  # one annotation per place


SARIF_SUBSET = {
    # The parts of the SARIF 2.1.0 schema (OASIS) that a consumer such as GitHub code scanning requires.
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {"type": "object", "required": ["id"]},
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "properties": {"uri": {"type": "string"}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {"startLine": {"type": "integer", "minimum": 1}},
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_is_valid_and_complete(model_file):
    jsonschema = pytest.importorskip("jsonschema")
    result = lint("net.py", settings=ALL)
    log = json.loads(render.findings_sarif([result]))
    jsonschema.validate(log, SARIF_SUBSET)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["G1", "G2", "G3", "G4"]
    assert len(run["results"]) == len(result.groups()) == 3  # one per place: two G1 lines and G4
    first = run["results"][0]
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == first["ruleId"]
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 8, "startColumn": 23}
    modules = [loc["fullyQualifiedName"] for loc in first["locations"][0]["logicalLocations"]]
    assert modules == ["net.py::blocks.0.expand", "net.py::blocks.1.expand"]


# -- the command ------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_exit_codes(model_file):
    assert runner.invoke(app, ["lint", "net.py"]).exit_code == 1  # G1 warnings at the default fail level
    assert runner.invoke(app, ["lint", "net.py", "--fail-level", "error"]).exit_code == 0
    assert runner.invoke(app, ["lint", "net.py", "--select", "G2"]).exit_code == 0
    bad = runner.invoke(app, ["lint", "net.py", "--select", "G7"])
    assert bad.exit_code == 2 and "unknown rule 'G7'" in bad.stderr and "Traceback" not in bad.output
    assert runner.invoke(app, ["lint", "net.py", "--format", "xml"]).exit_code == 2


def test_cli_json_output(model_file):
    result = runner.invoke(app, ["lint", "net.py", "--format", "json", "--select", "G1"])
    data = json.loads(result.stdout)
    assert data["model"] == "net.py" and data["failed"] is True
    assert data["summary"] == {"G1:warning": 4}
    assert data["findings"][0]["evidence"]["c1"] == 16


def test_cli_bad_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.py").write_text("import torch\nraise RuntimeError('boom')\n")
    result = runner.invoke(app, ["lint", "broken.py"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "boom" in result.stderr
    (tmp_path / "costlab.toml").write_text("[lint.G1]\nmin_mac_ratio = -1\n")
    result = runner.invoke(app, ["lint", "resnet18"])
    assert result.exit_code == 2 and "min_mac_ratio" in result.stderr
    assert runner.invoke(app, ["lint"]).exit_code == 2  # neither MODEL nor --zoo


def test_cli_zoo_matrix():
    result = runner.invoke(app, ["lint", "--zoo"], env={"COLUMNS": "200"})
    assert result.exit_code == 1  # MobileNet V2's G1 warnings, among others, reach the default fail level
    for name in costlab.list_models():
        assert name in result.stdout
    assert runner.invoke(app, ["lint", "--zoo", "--fail-level", "error"]).exit_code == 0
    assert runner.invoke(app, ["lint", "--zoo", "--exit-zero"]).exit_code == 0


def test_a_measurement_adds_the_share_of_time_to_g4(tmp_path, monkeypatch):
    from costlab.timing.layers import measure_layers

    monkeypatch.setenv("COSTLAB_CACHE_DIR", str(tmp_path))
    model = Stack(lambda: Bottleneck(8, True, True), times=2)
    report = costlab.profile(model, "1x8x16x16")
    timing = measure_layers(model, "1x8x16x16", report=report, device="cpu", threads=1, min_time_s=0.02)
    settings = LintSettings(select=("G4",), options={"G4": {"info_share": 0.0}})
    (finding,) = lint(report, settings=settings, timing=timing).findings
    shares = {c.category: c.share for c in timing.categories}
    assert finding.evidence["time_share"] == shares["elementwise"]  # no batch norm to leave out
    assert "of the time inside ops on cpu" in finding.message
    assert lint(report, settings=settings).findings[0].evidence["time_share"] is None


def test_g4_leaves_batch_norm_out_of_both_shares_and_names_it():
    from costlab.timing.layers import measure_layers

    model = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU()).eval()
    report = costlab.profile(model, "1x8x16x16")
    timing = measure_layers(model, "1x8x16x16", report=report, threads=1, min_time_s=0.02)
    settings = LintSettings(select=("G4",), options={"G4": {"info_share": 0.0}})
    (finding,) = lint(report, settings=settings, timing=timing).findings
    # bytes: conv reads 8·256 + 64 weights and writes 8·256 floats = 16,640 B; BN reads x, 4 vectors
    # of 8, writes y: 2·8,192 + 128 = 16,512 B; ReLU reads and writes 8,192 B each = 16,384 B
    total = 16_640 + 16_512 + 16_384
    assert report.totals.bytes_accessed == total
    assert finding.evidence["share"] == round(16_384 / total, 4)  # of profile's own total
    assert finding.evidence["batch_norm_bytes"] == 16_512
    assert "batch norm, left out" in finding.message and f"another {16_512 / total:.0%}" in finding.message
    batch_norm_time = sum(v for op, v in timing.op_time_shares.items() if "batch_norm" in op)
    assert batch_norm_time > 0
    elementwise_time = {c.category: c.share for c in timing.categories}["elementwise"]
    assert finding.evidence["time_share"] == pytest.approx(max(elementwise_time - batch_norm_time, 0.0))
    # counted in: the share is profile's element-wise share, and nothing is named as left out
    settings = LintSettings(select=("G4",), options={"G4": {"info_share": 0.0, "count_batch_norm": 1}})
    (counted,) = lint(report, settings=settings, timing=timing).findings
    elementwise = report.by_category()["elementwise"]["bytes_accessed"]
    assert counted.evidence["share"] == round(elementwise / total, 4) and "left out" not in counted.message
    assert counted.evidence["time_share"] == elementwise_time
