"""``costlab report``: the folder it writes, what the page and the Markdown hold, refusing folders that are
not its own, exit codes — and the statistics across models, by hand.

One report of two tiny file models is made once for the module (a very short --min-time, 1 thread,
made-up machine peaks in a tmp COSTLAB_CACHE_DIR), and the tests read it. No test judges a latency.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costlab.cli import app
from costlab.errors import CostlabError
from costlab.publish.collect import Contrast, expand_models, find_contrast
from costlab.publish.folder import MARKER, publish
from costlab.render.report_html import SCRIPT
from costlab.stats import ranks, spearman
from costlab.zoo import list_models
from tests.conftest import TINY_NET, store_fake_peaks

TINY = str(TINY_NET)
FAST = ["--min-time", "0.02", "--threads", "1"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECTIONS = {
    "summary": "Summary",
    "latency": "Equal MACs, unequal speed",
    "time": "Where the time goes",
    "models": "Per model",
    "machine": "Machine",
}
runner = CliRunner()

# A second tiny model: a depthwise-separable block with a residual add, at 1x8x16x16 (HW = 256).
#   dw  Conv2d(8, 8, 3, groups=8): params 8·9 = 72;   MACs 8·256·9 = 18,432
#   pw  Conv2d(8, 8, 1):           params 8·8 = 64;   MACs 8·256·8 = 16,384
#   totals: params 136, MACs 34,816 ("34.8 K")
DW_NET = """
from torch import nn

INPUT_SHAPE = (1, 8, 16, 16)


class DepthwiseBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pw = nn.Conv2d(8, 8, 1, bias=False)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.pw(self.dw(x))) + x
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder with the second model file and a machine cache of made-up peaks (COSTLAB_CACHE_DIR)."""
    root = tmp_path_factory.mktemp("report")
    (root / "dw_net.py").write_text(DW_NET)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COSTLAB_CACHE_DIR", str(root / "cache"))
        store_fake_peaks()
        yield root


@pytest.fixture(scope="module")
def made(workdir):
    """The report of both models, made once: (its folder, the CLI result)."""
    out = workdir / "out"
    result = runner.invoke(app, ["report", TINY, str(workdir / "dw_net.py"), "--output-dir", str(out), *FAST])
    assert result.exit_code == 0, result.output
    return out, result


def one_line_error(result, *needles: str) -> None:
    """Exit 2 with one line on stderr starting with ``error:`` (no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def hidden_leftovers(parent: Path) -> list[str]:
    """Staging or swapped-out folders a report left beside its own (there must be none)."""
    return [p.name for p in parent.iterdir() if p.name.startswith(".") and p.is_dir()]


# ------------------------------------------------------------------------------------------------
# The folder
# ------------------------------------------------------------------------------------------------


def test_writes_index_markdown_figures_and_marker(made):
    out, result = made
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == [
        "latency_vs_macs.png",
        "latency_vs_memory_access.png",
        "roofline_dw_net_py.png",
        "roofline_tiny_net_py.png",
        "time_by_category.png",
    ]
    for name in figures:
        assert (out / "figures" / name).read_bytes().startswith(PNG_MAGIC)
    manifest = json.loads((out / MARKER).read_text())
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    assert manifest["files"] == written == sorted(["index.html", "report.md", *(f"figures/{n}" for n in figures)])
    assert hidden_leftovers(out.parent) == []
    assert "wrote" in result.stderr and "index.html" in result.stderr and "for 2 models" in result.stderr


def test_html_holds_every_section_and_the_numbers(made):
    out, _ = made
    page = (out / "index.html").read_text()
    for key, heading in SECTIONS.items():
        assert re.search(rf'<section id="{key}">\s*<h2>{re.escape(heading)}</h2>', page), key
    assert "<h1>What 2 networks cost on " in page
    # the summary table: one row per model, one column per lint rule
    summary = page[page.index('<section id="summary">') : page.index('<section id="latency">')]
    assert summary.count("<tr>") == 1 + 2
    for rule in ("G1", "G2", "G3", "G4"):
        assert f">{rule}</th>" in summary
    # tiny_net.py: params 224 + 1,168 = 1,392; MACs 221,184 + 1,179,648 = 1,400,832;
    # memory access 45,952 + 65,536 + 102,976 = 214,464 B (tests/test_cli.py has the arithmetic)
    row = re.search(r'<tr><td><a href="#model-tiny_net-py">tiny_net.py</a></td>(.*?)</tr>', summary).group(1)
    for number in (">1×3×32×32<", ">1.39 K<", ">1.40 M<", ">214.5 KB<"):
        assert number in row
    # its peak memory on cpu (tests/cost/test_memory.py): inference 116,160 B, a training step 186,376 B
    assert ">116.2 KB<" in row and ">186.4 KB<" in row
    # dw_net.py: params 72 + 64 = 136; MACs 18,432 + 16,384 = 34,816
    row = re.search(r'<tr><td><a href="#model-dw_net-py">dw_net.py</a></td>(.*?)</tr>', summary).group(1)
    for number in (">1×8×16×16<", ">136<", ">34.8 K<"):
        assert number in row
    # the summary sorts: every numeric cell carries its value (1.40 M sorts as 1,400,832)
    assert 'data-value="1400832"' in summary and 'data-value="34816"' in summary
    # a section per model (collapsible, open: two models), with its roofline, its time by the kinds
    # profile counts, and its lint
    kinds = {"model-tiny_net-py": ("conv", "element-wise"), "model-dw_net-py": ("conv", "depthwise conv", "element-wise")}
    for anchor, shown in kinds.items():
        article = page[page.index(f'<details class="model" id="{anchor}" open>') :]
        article = article[: article.index("</details>")]
        for kind in shown:
            assert f"</span>{kind}</td>" in article
        assert "other</td>" not in article  # no catch-all kind any more
        assert "<h4>Lint: G1, G2, G3, G4</h4>" in article and article.count("<img ") == 1
        # hover text over every drawn dot: a circle with a title
        assert article.count("<circle ") == article.count("<title>") >= 3
    # the machine: the made-up peaks
    machine = page[page.index('<section id="machine">') :]
    assert "100.0 GFLOP/s" in machine and "10.0 GB/s" in machine and "1 thread of" in machine


def test_html_is_self_contained(made):
    out, _ = made
    page = (out / "index.html").read_text()
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == 5  # two scatters, the breakdown, a roofline per model
    on_disk = {p.read_bytes() for p in (out / "figures").iterdir()}
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        png = base64.b64decode(source.removeprefix("data:image/png;base64,"), validate=True)
        assert png.startswith(PNG_MAGIC) and png in on_disk  # the same bytes as the Markdown's files
    # one script, allowed by its hash alone: no other inline script could run
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert scripts == [SCRIPT] and page.count("<script") == 1
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}'" in page and "unsafe-inline'; script-src" in page
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\(", page)
    assert "default-src 'none'; img-src data:" in page  # the browser refuses anything else


def test_markdown_links_its_figures_and_has_the_sections(made):
    out, _ = made
    markdown = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(links) == 5
    for link in links:
        assert (out / link).is_file() and link.startswith("figures/")
    for heading in SECTIONS.values():
        assert f"\n## {heading}\n" in markdown
    assert "\n### tiny_net.py\n" in markdown and "\n### dw_net.py\n" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| [")]
    assert [row.split("]")[0] for row in rows] == ["| [tiny_net.py", "| [dw_net.py"]
    assert "(#tiny_netpy)" in rows[0]  # GitHub's anchor for "### tiny_net.py"


# ------------------------------------------------------------------------------------------------
# Folders it must not replace, and bad input
# ------------------------------------------------------------------------------------------------


def test_refuses_a_folder_that_is_not_a_report(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["report", TINY, "--output-dir", str(mine), *FAST])
    one_line_error(result, "not a costlab report folder", MARKER)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep me"
    assert hidden_leftovers(tmp_path) == []


def test_replaces_its_own_report_and_keeps_what_a_person_added(workdir, tmp_path):
    out = tmp_path / "reports" / "tiny"  # the parent does not exist yet: it is made
    first = runner.invoke(app, ["report", TINY, str(workdir / "dw_net.py"), "--output-dir", str(out), *FAST])
    assert first.exit_code == 0, first.output
    (out / "notes.txt").write_text("mine")
    (out / "figures" / "sketch.png").write_bytes(PNG_MAGIC)
    second = runner.invoke(app, ["report", TINY, "--output-dir", str(out), "--quick", "--threads", "1"])
    assert second.exit_code == 0, second.output
    assert (out / "notes.txt").read_text() == "mine" and (out / "figures" / "sketch.png").read_bytes() == PNG_MAGIC
    assert not (out / "figures" / "roofline_dw_net_py.png").exists()  # the first report's own file is gone
    assert json.loads((out / MARKER).read_text())["files"] == sorted(
        [
            "index.html",
            "report.md",
            "figures/latency_vs_macs.png",
            "figures/latency_vs_memory_access.png",
            "figures/roofline_tiny_net_py.png",
            "figures/time_by_category.png",
        ]
    )
    assert "A quick run (0.1 s of timed runs per model)" in (out / "index.html").read_text()
    assert hidden_leftovers(out.parent) == []


def test_an_empty_folder_is_fine(workdir, tmp_path):
    result = runner.invoke(app, ["report", TINY, "--output-dir", str(tmp_path), *FAST])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "index.html").is_file() and (tmp_path / MARKER).is_file()


def test_a_failed_write_leaves_the_old_report_whole(tmp_path, monkeypatch):
    out = tmp_path / "out"
    publish(out, {"index.html": b"old", "figures/a.png": b"a"})
    written = []

    def failing(self, content):  # the second file of the new report cannot be written
        if written:
            raise OSError(28, "No space left on device")
        written.append(self)
        return len(content)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(OSError):
        publish(out, {"index.html": b"new", "figures/b.png": b"b"})
    monkeypatch.undo()
    assert (out / "index.html").read_bytes() == b"old" and (out / "figures" / "a.png").read_bytes() == b"a"
    assert hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["no_such_model", "--output-dir", "{tmp}/r"], ["unknown zoo model 'no_such_model'"]),
        (["nomatch*", "--output-dir", "{tmp}/r"], ["no zoo model matches 'nomatch*'"]),
        (["--output-dir", "{tmp}/r"], ["give at least one MODEL", "--zoo"]),
        ([TINY, "--output-dir", "{tmp}/file.txt"], ["is a file"]),
        ([TINY, "--output-dir", "{tmp}/r", "--device", "tpu"], ["unknown device 'tpu'"]),
        ([TINY, "-o", "{tmp}/page.md"], ["this command writes html, not md"]),
        ([TINY], ["give --output-dir DIR for the report folder, or -o page.html"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needles):
    (tmp_path / "file.txt").write_text("x")
    result = runner.invoke(app, ["report", *(a.replace("{tmp}", str(tmp_path)) for a in args), *FAST])
    one_line_error(result, *needles)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args", [[TINY, "--output-dir", "x", "--min-time", "0"], [TINY, "--output-dir", "x", "--threads", "0"]]
)
def test_bad_usage_exits_2(args):
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output


# ------------------------------------------------------------------------------------------------
# Which models, and the statistics across them (pure functions)
# ------------------------------------------------------------------------------------------------


def test_patterns_expand_through_the_zoo_in_order_without_repeats():
    family = list_models("shufflenet_v2*")
    assert len(family) == 4
    assert expand_models(["shufflenet_v2*"]) == family
    assert expand_models(["mobilenet_v2", "shufflenet_v2*", "shufflenet_v2_x1_0"]) == ["mobilenet_v2", *family]
    assert expand_models([TINY]) == [TINY]  # not a pattern: checked when counted
    assert expand_models([], zoo=True) == list_models()
    assert expand_models(["mobilenet_v2"], zoo=True)[0] == "mobilenet_v2"
    with pytest.raises(CostlabError, match="no zoo model matches"):
        expand_models(["resnet9*"])


def test_ranks_average_ties():
    # 30 and 30 share ranks 3 and 4 → 3.5 each
    assert ranks([10.0, 30.0, 20.0, 30.0]) == [1.0, 3.5, 2.0, 3.5]
    assert ranks([5.0, 5.0, 5.0]) == [2.0, 2.0, 2.0]


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    # ranks x = 1 2 3 4, y = 1 3 2 4; deviations from the mean rank 2.5: x -1.5 -.5 .5 1.5, y -1.5 .5 -.5 1.5
    # covariance 2.25 - .25 - .25 + 2.25 = 4; each sum of squares 5 → ρ = 4 / 5 = 0.8 (= 1 - 6·2 / (4·15))
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2], [2, 1]) is None  # too few pairs
    assert spearman([1, 2, 3], [5, 5, 5]) is None  # nothing to rank
    with pytest.raises(ValueError):
        spearman([1, 2, 3], [1, 2])


def test_contrast_picks_equal_macs_and_the_most_unequal_latency():
    # a/b: MACs 110/100 = 1.1 ≤ 1.25, latency 3.0/1.0 = 3×; a/c and b/c differ 4× and 3.6× in MACs: not compared
    found = find_contrast(["a", "b", "c"], [100, 110, 400], [1.0, 3.0, 2.0], [10, 40, 20])
    assert found == Contrast(faster="a", slower="b", macs_ratio=1.1, latency_ratio=3.0, bytes_accessed_ratio=4.0)
    # b/c are now within 1.25× in MACs (130/110) and 3.0/0.5 = 6× apart in latency: that pair wins
    found = find_contrast(["a", "b", "c"], [100, 110, 130], [1.0, 3.0, 0.5], [10, 40, 20])
    assert (found.faster, found.slower, found.latency_ratio) == ("c", "b", 6.0)
    assert find_contrast(["a", "b"], [100, 1000], [1.0, 2.0], [1, 1]) is None
