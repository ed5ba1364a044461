"""``costlab guidelines``: the paper's blocks at equal FLOPs (closed-form arithmetic in comments), the
verdict rule on synthetic measurements, and the CLI's formats, files and exit codes.

No timing claims: the CLI runs use --rounds 1 and a tiny --min-time, and only structure is checked.
"""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import costlab
from costlab.cli import app
from costlab.errors import CostlabError
from costlab.experiments import blocks, run, tables, verdicts
from tests.conftest import REPO

HW = 56 * 56  # 3136 pixels
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--quick", "--min-time", "0.002", "--rounds", "1"]
runner = CliRunner()


def timing(*times_ms: float) -> verdicts.RowTiming:
    return verdicts.RowTiming(tuple(times_ms), runs=len(times_ms), rounds=1)


# ------------------------------------------------------------------------------------------------
# Equal FLOPs, counted by costlab
# ------------------------------------------------------------------------------------------------

# MACs per pixel of one block, as the paper's tables hold them about fixed.
EXPECTED_MACS_PER_PIXEL = {
    # Table 1, two 1×1 convs c1→c2→c1: 2·c1·c2.
    # GPU c1·c2: 128·128 = 16384, 90·180 = 16200, 52·312 = 16224, 36·432 = 15552
    ("gpu", 1): (2 * 16384, 2 * 16200, 2 * 16224, 2 * 15552),
    # ARM c1·c2: 32·32 = 1024, 22·44 = 968, 13·78 = 1014, 9·108 = 972
    ("arm", 1): (2 * 1024, 2 * 968, 2 * 1014, 2 * 972),
    # Table 2, one 1×1 conv in g groups: c²/g. GPU 128² = 16384, 180²/2 = 16200, 256²/4 = 16384, 360²/8 = 16200
    ("gpu", 2): (16384, 16200, 16384, 16200),
    # ARM 64² = 4096, 90²/2 = 4050, 128²/4 = 4096, 184²/8 = 4232 (the paper's 180 is not divisible by 8)
    ("arm", 2): (4096, 4050, 4096, 4232),
    # Table 3: 1-fragment c², 2-series 2·c′², 4-series 4·(c/2)², k-parallel k·c·(c/k) = c².
    # GPU c = 128: 16384, 2·90² = 16200, 4·64² = 16384, 16384, 16384
    ("gpu", 3): (16384, 16200, 16384, 16384, 16384),
    # ARM c = 64: 4096, 2·45² = 4050, 4·32² = 4096, 4096, 4096
    ("arm", 3): (4096, 4050, 4096, 4096, 4096),
    # Table 4, bottleneck c = 32, inner 8: 32·8 + 9·8·8 + 8·32 = 256 + 576 + 256 = 1088 in every variant
    ("gpu", 4): (1088,) * 4,
    ("arm", 4): (1088,) * 4,
}


@pytest.mark.parametrize("platform,number", sorted(EXPECTED_MACS_PER_PIXEL))
def test_blocks_have_the_papers_equal_flops(platform, number):
    (table,) = tables.experiments(tables.PLATFORMS[platform], [number])
    counted = run.count_table(table)
    batch = tables.PLATFORMS[platform].batch
    # ten blocks per network, every pixel of a 56×56 map, every image of the batch
    expected = [10 * per_pixel * HW * batch for per_pixel in EXPECTED_MACS_PER_PIXEL[(platform, number)]]
    assert [c.macs for c in counted] == expected
    first = counted[0].flops
    for c in counted:
        assert c.input_shape == (batch, c.spec.in_channels, 56, 56)
        assert abs(c.flops / first - 1) <= run.FLOPS_TOLERANCE, (c.spec.label, c.flops, first)


def test_table4_flops_differ_only_by_the_elementwise_ops():
    (table,) = tables.experiments(tables.ARM, [4])
    flops = {c.spec.label: c.flops for c in run.count_table(table)}
    convs = 2 * 10 * 1088 * HW  # 2 FLOPs per MAC
    relu = 10 * (8 + 8 + 32) * HW  # three ReLUs per block on 8, 8 and 32 channels
    add = 10 * 32 * HW  # the shortcut add on 32 channels
    assert flops == {
        "ReLU+shortcut": convs + relu + add,
        "ReLU only": convs + relu,
        "shortcut only": convs + add,
        "neither": convs,
    }


def test_parallel_fragments_concatenate_to_the_full_width():
    net = blocks.stack(lambda: blocks.ParallelFragments(64, 4), count=2)
    assert net(torch.zeros(1, 64, 8, 8)).shape == (1, 64, 8, 8)
    report = costlab.profile(net, (1, 64, 8, 8))
    # the concat copies its inputs: memory access grows beyond the convs' own
    assert report.by_category()["conv"]["macs"] == 2 * 64 * 64 * 64


def test_paper_speeds_and_claims_are_consistent():
    for platform in (tables.GPU, tables.ARM):
        for table in tables.experiments(platform):
            labels = [r.label for r in table.rows]
            assert len(set(labels)) == len(labels)
            for claim in table.claims:  # the paper's own numbers satisfy every claim
                assert table.row(claim.slower).paper_speed < table.row(claim.faster).paper_speed


def test_unknown_table_is_a_costlab_error():
    with pytest.raises(CostlabError, match="1, 2, 3 and 4"):
        tables.experiments(tables.ARM, [5])


# ------------------------------------------------------------------------------------------------
# The verdict rule on synthetic measurements
# ------------------------------------------------------------------------------------------------


def test_tight_samples_judge_a_clear_difference():
    slow, fast = timing(12.0, 12.1, 11.9, 12.0), timing(10.0, 10.1, 9.9, 10.0)
    held = verdicts.judge(tables.Claim("slow", "fast"), slow, fast)
    assert held.outcome == "holds"
    assert held.excess == pytest.approx(0.2)  # 12 / 10 − 1
    assert held.speed_ratio == pytest.approx(10 / 12)
    assert held.noise == verdicts.NOISE_FLOOR  # the notches are far below the floor
    assert verdicts.judge(tables.Claim("fast", "slow"), fast, slow).outcome == "reversed"


def test_a_difference_below_the_floor_is_within_noise():
    # 2 % slower with identical tight spreads: under the 3 % floor
    assert verdicts.judge(tables.Claim("a", "b"), timing(10.2, 10.2, 10.2), timing(10.0, 10.0, 10.0)).outcome == "within noise"


def test_wide_samples_make_the_noise():
    # medians 12 and 10 (+20 %), but both IQRs are 8 ms over n = 5:
    # notch = 1.57 · 8 / √5 = 5.617 each → noise = 2 · 5.617 / 10 = 112 %
    slow, fast = timing(4, 8, 12, 16, 20), timing(2, 6, 10, 14, 18)
    assert slow.p75_ms - slow.p25_ms == pytest.approx(8)
    assert slow.median_ci_ms == pytest.approx(1.57 * 8 / 5**0.5)
    result = verdicts.judge(tables.Claim("slow", "fast"), slow, fast)
    assert result.noise == pytest.approx(2 * 1.57 * 8 / 5**0.5 / 10)
    assert result.outcome == "within noise"


@pytest.mark.parametrize(
    "outcomes,expected",
    [
        (("holds",), "holds"),
        (("holds", "holds"), "holds"),
        (("holds", "within noise"), "inconclusive"),
        (("holds", "reversed"), "fails"),
        (("within noise",), "inconclusive"),
        ((), "inconclusive"),
    ],
)
def test_verdict_combines_claims(outcomes, expected):
    results = [verdicts.ClaimResult(tables.Claim("a", "b"), 0.0, 0.0, o) for o in outcomes]
    assert verdicts.verdict(results) == expected


def test_table_result_is_arithmetic_on_counts_and_timings():
    (table,) = tables.experiments(tables.ARM, [1])
    counted = [
        run.RowCount(row, (1, row.in_channels, 56, 56), 0, macs=100, flops=200, bytes_accessed=mac)
        for row, mac in zip(table.rows, (1000, 1100, 1500, 2000))
    ]
    timings = [timing(10, 10, 10), timing(10.1, 10.1, 10.1), timing(12.5, 12.5, 12.5), timing(20, 20, 20)]
    result = run.table_result(table, counted, timings)
    assert [r.relative_speed for r in result.rows] == pytest.approx([1.0, 10 / 10.1, 0.8, 0.5])
    assert [r.mac_ratio for r in result.rows] == pytest.approx([1.0, 1.1, 1.5, 2.0])
    assert result.rows[3].mac_relative_speed == pytest.approx(0.5)
    assert [r.speed_per_s for r in result.rows] == pytest.approx([100, 1000 / 10.1, 80, 50])
    assert [r.paper_relative_speed for r in result.rows] == pytest.approx([1, 72.9 / 76.2, 69.1 / 76.2, 57.6 / 76.2])
    assert [r.vs_first for r in result.rows] == [None, "within noise", "holds", "holds"]
    assert result.verdict == "holds" and result.flops_spread == 0.0 and result.flops_equal
    assert result.paper_speed_ratio(table.claims[0]) == pytest.approx(57.6 / 76.2)
    # tight timings: the CI is zero, so the error bar ends are the relative speed itself
    assert result.rows[2].relative_speed_low == pytest.approx(0.8) == result.rows[2].relative_speed_high


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------


def invoke(*args: object):
    return runner.invoke(app, ["guidelines", *FAST, *(str(a) for a in args)])


def test_json_has_every_table_row_and_verdict():
    result = invoke("--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert data["device"] == "cpu" and data["settings"] == "arm" and data["batch"] == 1 and data["threads"] == 1
    assert data["input_hw"] == [56, 56] and data["blocks_per_net"] == 10 and data["quick"] is True
    assert data["speed_unit"] == "images/s" and "notch" in data["rule"]
    assert [t["table"] for t in data["tables"]] == [1, 2, 3, 4]
    assert [t["guideline"] for t in data["tables"]] == ["G1", "G2", "G3", "G4"]
    assert [len(t["rows"]) for t in data["tables"]] == [4, 4, 5, 4]
    for table in data["tables"]:
        assert table["verdict"] in ("holds", "fails", "inconclusive")
        assert table["flops_equal"] is True
        for claim in table["claims"]:
            assert set(claim) == {"slower", "faster", "excess", "speed_ratio", "noise", "outcome", "paper_speed_ratio"}
        first = table["rows"][0]
        assert first["relative_speed"] == 1.0 and first["mac_ratio"] == 1.0 and first["slower_than_first"] is None
        for row in table["rows"]:
            assert row["median_ms"] > 0 and row["samples"] >= 10 and row["rounds"] == 1
            assert row["speed_per_s"] == pytest.approx(1e3 / row["median_ms"])
    g1 = data["tables"][0]["rows"]
    assert [r["paper_speed"] for r in g1] == [76.2, 72.9, 69.1, 57.6]
    assert g1[3]["widths"] == "c1=9, c2=108" and g1[3]["block"] == "PointwisePair"


def test_gpu_settings_run_on_cpu_at_batch_8():
    result = invoke("--settings", "gpu", "--table", "4", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"] == "gpu" and data["batch"] == 8 and data["speed_unit"] == "batches/s"
    (table,) = data["tables"]
    assert [r["paper_speed"] for r in table["rows"]] == [2427, 2647, 2672, 2842]
    assert table["rows"][0]["input_shape"] == [8, 32, 56, 56]
    assert data["notes"][0].startswith("GPU settings")
    assert torch.backends.cudnn.benchmark is False  # restored after the run


def test_table_and_markdown_show_verdicts_and_the_rule():
    table = invoke("--table", "4")
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "Table 4 · G4" in text and "ReLU+shortcut slower than neither" in text
    assert "Verdicts" in text and "Rule:" in text and "Table 1" not in text
    md = invoke("--table", "2", "--format", "md")
    assert md.exit_code == 0, md.output
    assert "## Table 2 · G2" in md.stdout and "| g=8 | c=184 |" in md.stdout and "**Rule.**" in md.stdout


def test_output_folder_gets_pngs_json_and_markdown(tmp_path):
    folder = tmp_path / "guidelines"
    result = invoke("--table", "1", "--table", "3", "--output-dir", folder)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == [
        "guidelines.json",
        "guidelines.md",
        "table1_g1.png",
        "table3_g3.png",
    ]
    assert (folder / "table1_g1.png").read_bytes().startswith(PNG_MAGIC)
    assert json.loads((folder / "guidelines.json").read_text())["tables"][1]["table"] == 3
    assert "![Table 3: measured vs paper relative speed](table3_g3.png)" in (folder / "guidelines.md").read_text()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--table", "7"], "no guideline table 7"),
        (["--device", "tpu"], "unknown device"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needle):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_output_that_is_a_file_is_refused_before_timing(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("{}")
    result = invoke("--output-dir", target)
    assert result.exit_code == 2 and "is a file" in result.stderr
    assert target.read_text() == "{}"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when there is no CUDA GPU")
def test_cuda_without_a_gpu_is_one_line():
    result = invoke("--device", "cuda")
    assert result.exit_code == 2 and "no CUDA GPU" in result.stderr


def test_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, costlab.cli, costlab.cli.guidelines; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_table4_is_drawn_relative_to_the_block_without_elementwise_ops():
    # the claim reads "ReLU+shortcut slower than neither": bars relative to "neither", so the
    # ReLU+shortcut bar is the claim's ratio itself (below 1), where the table stays relative to row 1
    from costlab.render.experiments import figure_bars, guideline_figure

    (table,) = tables.experiments(tables.ARM, [4])
    counted = [
        run.RowCount(row, (1, row.in_channels, 56, 56), 0, macs=100, flops=200, bytes_accessed=mac)
        for row, mac in zip(table.rows, (3000, 2000, 2000, 1000))
    ]
    # ReLU+shortcut 20 ms, ReLU only 15, shortcut only 16, neither 12
    timings = [timing(20, 20, 20), timing(15, 15, 15), timing(16, 16, 16), timing(12, 12, 12)]
    result = run.table_result(table, counted, timings)
    bars = figure_bars(result)
    assert bars.reference == "neither" == table.claims[0].faster
    assert bars.measured == pytest.approx((12 / 20, 12 / 15, 12 / 16, 1.0))
    assert bars.measured[0] == pytest.approx(result.claims[0].speed_ratio)
    assert bars.memory == pytest.approx((1000 / 3000, 1000 / 2000, 1000 / 2000, 1.0))
    assert bars.paper[-1] == 1.0 and bars.paper[0] == pytest.approx(result.paper_speed_ratio(table.claims[0]))
    assert [r.relative_speed for r in result.rows][0] == 1.0  # the table itself is unchanged
    whole = run.GuidelinesResult("cpu", "<cpu>", tables.ARM, 1, "float32", "<torch>", 1.0, 3, False, (result,))
    assert guideline_figure(whole, result, "png").startswith(PNG_MAGIC)


def test_tables_1_to_3_are_drawn_relative_to_their_first_row():
    from costlab.render.experiments import figure_bars

    for number in (1, 2, 3):
        (table,) = tables.experiments(tables.ARM, [number])
        assert table.claims[0].faster == table.rows[0].label
        counted = [run.RowCount(row, (1, row.in_channels, 56, 56), 0, 100, 200, 1000) for row in table.rows]
        result = run.table_result(table, counted, [timing(10 + i, 10 + i, 10 + i) for i in range(len(table.rows))])
        assert figure_bars(result).measured == pytest.approx(tuple(r.relative_speed for r in result.rows))
