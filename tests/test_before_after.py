"""The restructuring changed no number: the whole zoo's JSON (at two depths), its lint findings and
the committed ``costlab check`` come out as they did before it.

``tests/data/pre_restructure.json.gz`` was written by the costlab of commit a19b7d7 (before the
package was split into layers): for every zoo model ``Report.to_dict()`` and ``to_dict(1)``, the
findings of the default lint settings (numbers and words; their source locations aside), and the
outcomes of ``costlab check`` on the repository's costlab.toml. Its only intended difference is
the name of memory access: ``mac_bytes`` is ``bytes_accessed`` now (schema_version 2).

At the restructuring (commit 946a3c6) every field matched, words included. Issue 15 then changed
three things on purpose, and only these are let through:

- words (numbers formatted one way everywhere): findings and check outcomes are compared on their
  numbers and verdicts, every field but the sentence a user reads (``message``);
- a row's ``categories`` are listed heaviest first (the first is the kind the row is shown as):
  compared as sets;
- G4's share is of the model's whole memory access, profile's total (it was of the total less batch
  norm): its bytes, ops and largest contributors are unchanged, its share is recomputed from them,
  and its severity follows the share.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict
from typing import Any

import pytest

import costlab
from costlab.ci.budgets import load_budgets
from costlab.ci.check import evaluate
from costlab.config import load_config
from costlab.rules import LintSettings, lint
from costlab.zoo import list_models
from tests.conftest import REPO

BEFORE = json.loads(gzip.decompress((REPO / "tests" / "data" / "pre_restructure.json.gz").read_bytes()))


def renamed(value: Any) -> Any:
    """The old data under the new name of memory access (keys and the metric names in messages)."""
    if isinstance(value, dict):
        return {("bytes_accessed" if k == "mac_bytes" else k): renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v) for v in value]
    if isinstance(value, str):
        return value.replace("mac_bytes", "bytes_accessed")
    return value


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_the_snapshot_covers_the_whole_zoo():
    assert sorted(BEFORE["profiles"]) == sorted(list_models()) and len(BEFORE["profiles"]) == 31


@pytest.mark.parametrize("name", list_models())
def test_every_number_of_every_zoo_model_is_unchanged(name: str):
    report = costlab.profile(name)
    for key, now in (("default", report.to_dict()), ("depth1", report.to_dict(1))):
        before = renamed(BEFORE["profiles"][name][key])
        now = as_json(now)
        assert now["schema_version"] == 2 and before.pop("schema_version") == 1
        for field, value in before.items():
            if field == "layers":  # rows may have gained fields; every old one is as it was
                assert [_row(row, old) for old, row in zip(value, now["layers"])] == [_row(old, old) for old in value]
                assert len(now["layers"]) == len(value)
            else:
                assert now[field] == value, (key, field)
    findings = [{k: v for k, v in f.to_dict().items() if k not in ("location", "message")}
                for f in lint(report, settings=LintSettings()).findings]
    before = [{k: v for k, v in f.items() if k != "message"} for f in renamed(BEFORE["lint"][name])]
    for now_finding, old in zip(as_json(findings), before):
        if old["rule"] == "G4":
            old = _g4_now(old, report.totals.bytes_accessed)
            now_finding = {k: v for k, v in now_finding.items() if k != "severity"}
        assert {k: now_finding[k] for k in old if k != "evidence"} == {k: v for k, v in old.items() if k != "evidence"}
        assert {k: now_finding["evidence"][k] for k in old["evidence"]} == old["evidence"]  # evidence may grow
    assert len(findings) == len(before)


def _row(row: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A layer row's old fields, its kinds as a set (their order is heaviest first now)."""
    return {k: (sorted(row[k]) if k == "categories" else row[k]) for k in old}


def _g4_now(old: dict[str, Any], total_bytes: int) -> dict[str, Any]:
    """The old G4 finding with its share taken of the model's whole memory access."""
    evidence = dict(old["evidence"])
    evidence.update(share=round(evidence["elementwise_bytes"] / total_bytes, 4), total_bytes=total_bytes)
    del evidence["depthwise_share"]  # same bytes, the new total: checked by tests/rules
    return {**{k: v for k, v in old.items() if k != "severity"}, "evidence": evidence}


def test_the_committed_check_is_unchanged(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(REPO)  # outcomes name the config as the user would write it: relative to here
    config = load_config(REPO / "costlab.toml")
    outcomes = [{k: v for k, v in asdict(o).items() if k != "message"}
                for o in evaluate(load_budgets(config), config).outcomes]
    assert as_json(outcomes) == [{k: v for k, v in o.items() if k != "message"} for o in renamed(BEFORE["check"])]
