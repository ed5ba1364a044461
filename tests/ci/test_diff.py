"""``costlab diff``'s library: profiles read (schema 1 and 2), compared total by total and layer by layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import costlab
from costlab.ci.diff import Profile, ProfileFileError, diff_profiles, load_profile
from tests.conftest import TINY_NET


def profile_of(layers: list[tuple[str, int, int]], path: str = "p.json") -> Profile:
    rows = [{"name": name, "type": "Conv2d", "params": params, "macs": macs, "flops": 2 * macs, "bytes_accessed": 4 * macs}
            for name, params, macs in layers]
    totals = {m: sum(r[m] for r in rows) for m in ("params", "macs", "flops", "bytes_accessed")}
    return Profile(Path(path), "net", ((1, 3, 8, 8),), totals, tuple(rows))


def test_diff_orders_layers_by_the_largest_change() -> None:
    old = profile_of([("a", 10, 100), ("b", 10, 1_000), ("c", 5, 50), ("b", 10, 1_000)])
    new = profile_of([("a", 10, 130), ("b", 10, 1_000), ("d", 1, 70), ("b", 10, 900)])
    diff = diff_profiles(old, new)
    # |Δ MACs|: b#2 -100, d +70 (added), c -50 (removed), a +30; the first b did not change
    assert [(c.name, c.status, c.delta("macs")) for c in diff.layers] == [
        ("b#2", "changed", -100), ("d", "added", 70), ("c", "removed", -50), ("a", "changed", 30)]
    assert diff.unchanged_layers == 1
    macs = {t.metric: t for t in diff.totals}["macs"]
    assert (macs.old, macs.new, macs.delta) == (2_150, 2_100, -50)
    assert diff.over(0.0) == ()  # only growth counts: params 35 → 31, MACs 2,150 → 2,100
    assert [t.metric for t in diff_profiles(new, old).over(0.01)] == ["params", "macs", "flops", "bytes_accessed"]
    assert [c.name for c in diff_profiles(old, new, sort="params").layers][:2] == ["c", "d"]  # |Δ params| 5, then 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema_version": 1, "totals": {', "not valid JSON (line 1 column 34"),
        ("[1, 2]", "not a costlab profile"),
        ('{"schema_version": 3, "totals": {}}', "schema_version 3, this costlab reads 1 and 2"),
        ('{"schema_version": true, "totals": {}}', "schema_version True, this costlab reads 1 and 2"),
        ('{"schema_version": 1, "totals": {"params": 1}}', "totals must hold numbers for params, macs, flops, bytes_accessed"),
    ],
)
def test_unreadable_profiles(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ProfileFileError, match=message.replace("(", r"\(")):
        load_profile(path)


def test_a_schema_1_profile_is_read_under_the_new_names(tmp_path: Path) -> None:
    data = costlab.profile(str(TINY_NET)).to_dict()
    old = {**data, "schema_version": 1, "totals": {("mac_bytes" if k == "bytes_accessed" else k): v
                                                   for k, v in data["totals"].items()}}
    old["layers"] = [{("mac_bytes" if k == "bytes_accessed" else k): v for k, v in row.items()} for row in data["layers"]]
    (tmp_path / "v1.json").write_text(json.dumps(old))
    (tmp_path / "v2.json").write_text(json.dumps(data))
    v1, v2 = load_profile(tmp_path / "v1.json"), load_profile(tmp_path / "v2.json")
    # the tiny network's 214,464 bytes accessed (tests/ci/helpers.py), under either name
    assert v1.totals == v2.totals and v1.totals["bytes_accessed"] == 214_464
    assert diff_profiles(v1, v2).layers == () and diff_profiles(v1, v2).unchanged_layers == 3
