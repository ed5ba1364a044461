"""The CI gate's renderers format what the CheckResult says."""

from __future__ import annotations

import json
from pathlib import Path

from costlab.render import ci as render
from costlab.render.layout import to_text
from tests.ci.helpers import check


def test_renderers_format_what_the_result_says(in_tmp: Path) -> None:
    result = check(in_tmp, '[[budget]]\nname = "tiny"\nmodel = "TINY"\nmax_macs = "1.3M"\nmax_params = 1500\n')
    github = render.check_github(result).splitlines()
    assert github[0] == "ok: tiny: params 1.39 K ≤ 1.50 K (-7.2%)"
    assert github[1] == "::error file=costlab.toml,line=1,title=costlab budget tiny macs::tiny: macs 1.40 M > 1.30 M (+7.8%25)"
    data = json.loads(render.check_json(result))
    assert data["passed"] is False and data["summary"]["breach"] == 1
    assert data["outcomes"][1]["message"] == "tiny: macs 1.40 M > 1.30 M (+7.8%)"
    text = to_text(render.check_table(result, 160))
    assert "✗ tiny: macs 1.40 M > 1.30 M (+7.8%)" in text and "FAILED: 1 budget, 2 checks: 1 ok, 1 breach, 0 skipped" in text
