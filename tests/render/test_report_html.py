"""The ``costlab report`` page in a real browser: headless Chromium renders it, every image loads, the
console stays silent and nothing is requested from outside the page.

Skipped when no ``chromium`` / ``chromium-browser`` / ``google-chrome`` is on PATH (Debian: ``apt-get install
chromium``). Runs of the browser: the page as written (``--dump-dom``, console messages on stderr), and
test copies with a small probe script that reports, once the page has loaded, how many images decoded,
which errors fired and which resources were fetched, or what clicking a header, typing a filter,
collapsing the models and pointing at a roofline dot did (written into the DOM, read back from
``--dump-dom``). The probe is allowed by its own hash beside the page's, as the page's script is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from costlab.cli import app
from costlab.render.report_html import CONTENT_SECURITY_POLICY
from costlab.timing.devices import device_name
from costlab.timing.machine import MachinePeaks, store
from tests.conftest import TINY_NET

BROWSER = next(
    (path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None
)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium on PATH (Debian: apt-get install chromium)")

TINY = str(TINY_NET)
SECOND = """
from torch import nn

INPUT_SHAPE = (1, 8, 16, 16)


class DepthwiseBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pw = nn.Conv2d(8, 8, 1, bias=False)

    def forward(self, x):
        return self.pw(self.dw(x)).relu() + x
"""
# Runs first in <head>: collects errors (script errors, failed images, CSP violations, console.error)
# and, after load, writes what it found into <pre id="costlab-check">.
PROBE = """<script>
window.__problems = [];
window.addEventListener("error",
  e => window.__problems.push("error: " + (e.message || (e.target && e.target.src) || e.type)), true);
window.addEventListener("securitypolicyviolation", e => window.__problems.push("csp: " + e.blockedURI));
const original = console.error;
console.error = (...args) => { window.__problems.push("console: " + args.join(" ")); original(...args); };
window.addEventListener("load", () => {
  const images = [...document.images];
  const found = {
    images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    problems: window.__problems,
    resources: performance.getEntriesByType("resource").map(r => r.name),
    headings: [...document.querySelectorAll("h2")].map(h => h.textContent),
    width: document.documentElement.scrollWidth,
  };
  const out = document.createElement("pre");
  out.id = "costlab-check";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """A report of two tiny models (very short timing, made-up machine peaks): its index.html."""
    root = tmp_path_factory.mktemp("html")
    (root / "dw_net.py").write_text(SECOND)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COSTLAB_CACHE_DIR", str(root / "cache"))
        store(
            MachinePeaks(
                "cpu",
                device_name(torch.device("cpu")),
                "float32",
                1,
                100e9,
                10e9,
                10e9,
                8e9,
                1024,
                "2026-01-01T00:00:00+00:00",
                torch.__version__,
            )
        )
        args = [
            "report",
            TINY,
            str(root / "dw_net.py"),
            "--output-dir",
            str(root / "out"),
            "--min-time",
            "0.02",
            "--threads",
            "1",
        ]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root / "out" / "index.html"


def browse(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Load ``path`` in headless Chromium, offline, and dump the DOM after load (stdout) and its log (stderr)."""
    assert BROWSER is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                BROWSER,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=10000",
                *extra,
                "--dump-dom",
                path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def console_lines(log: str) -> list[str]:
    """Chromium's console messages in its stderr log (``…:CONSOLE(n)] "message", source: …``)."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def test_the_page_renders_with_its_sections_and_a_silent_console(page):
    run = browse(page)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert re.search(r"<h1>What 2 networks cost on [^<]+</h1>", dom)
    for section in ("summary", "latency", "time", "models", "machine"):
        assert f'<section id="{section}">' in dom
    assert dom.count('<details class="model"') == 2
    assert console_lines(run.stderr) == []


def probed(page: Path, tmp_path: Path, probe: str, *window: str) -> dict:
    """Load a copy of the page with ``probe`` (a ``<script>``) first in its head, allowed by its hash
    beside the page's own; return what the probe wrote into ``<pre id="costlab-check">``."""
    html = page.read_text(encoding="utf-8")
    policy = f'content="{CONTENT_SECURITY_POLICY}"'
    assert policy in html
    body = probe.removeprefix("<script>").removesuffix("</script>")
    digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
    widened = CONTENT_SECURITY_POLICY.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    copy = tmp_path / "index.html"
    copy.write_text(html.replace(policy, f'content="{widened}"', 1).replace("<head>", "<head>\n" + probe, 1),
                    encoding="utf-8")
    run = browse(copy, *window)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="costlab-check">(.*?)</pre>', run.stdout, re.DOTALL)
    assert found, "the probe did not run: " + run.stderr[-2000:]
    assert console_lines(run.stderr) == []
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<"))


def test_every_image_loads_and_nothing_is_fetched(page, tmp_path):
    report = probed(page, tmp_path, PROBE, "--window-size=1400,2000")
    assert report["images"] == 5  # two scatters, the breakdown, a roofline per model
    assert report["decoded"] == report["images"]
    assert report["problems"] == []
    assert all(name.startswith("data:") for name in report["resources"]), report["resources"]
    assert report["headings"] == ["Summary", "Equal MACs, unequal speed", "Where the time goes", "Per model", "Machine"]
    assert report["width"] <= 1400  # nothing spills sideways at a laptop's width


# Clicks the MACs header twice, filters, collapses every model, follows a link into one, and asks
# the browser what is under a roofline dot's centre.
INTERACT = """<script>
window.addEventListener("load", async () => {
  const names = () => [...document.querySelectorAll("table.sortable tbody tr")]
    .filter(r => !r.hidden).map(r => r.cells[0].textContent);
  const header = [...document.querySelectorAll("table.sortable thead th")].find(h => h.textContent === "MACs");
  const found = {before: names()};
  header.click();
  found.descending = names();
  found.sort = header.getAttribute("aria-sort");
  header.click();
  found.ascending = names();
  const filter = document.getElementById("filter");
  filter.value = "DW_net";
  filter.dispatchEvent(new Event("input"));
  found.filtered = names();
  found.shown = document.getElementById("shown").textContent;
  document.querySelector("button[data-open=none]").click();
  found.open_after_collapse = [...document.querySelectorAll("details.model")].filter(d => d.open).length;
  const target = document.querySelector("details.model").id;
  await new Promise(done => { window.addEventListener("hashchange", done, {once: true}); location.hash = target; });
  found.opened = document.getElementById(target).open;
  const circle = document.querySelector("details.model .hover circle");
  circle.scrollIntoView({block: "center"});
  const box = circle.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  found.hit = hit && hit.tagName;
  found.title = hit && hit.querySelector("title") ? hit.querySelector("title").textContent : null;
  found.circles = document.querySelectorAll(".hover circle").length;
  const out = document.createElement("pre");
  out.id = "costlab-check";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


def test_the_summary_sorts_and_filters_models_collapse_and_dots_have_hover_text(page, tmp_path):
    found = probed(page, tmp_path, INTERACT, "--window-size=1400,2000")
    # tiny_net.py: 1.40 M MACs; dw_net.py: 8·9·256 + 8·8·256 = 34,816 MACs
    assert found["before"] == ["tiny_net.py", "dw_net.py"]
    assert found["descending"] == ["tiny_net.py", "dw_net.py"] and found["sort"] == "descending"
    assert found["ascending"] == ["dw_net.py", "tiny_net.py"]
    assert found["filtered"] == ["dw_net.py"] and found["shown"] == "1 of 2 models"  # matched without case
    assert found["open_after_collapse"] == 0 and found["opened"] is True
    assert found["hit"] == "circle"  # the hover layer is on top of the picture, where the dot is
    assert found["title"].splitlines()[0].endswith(")") and "FLOP/s" in found["title"] and "accessed" in found["title"]
    assert found["circles"] >= 4  # tiny_net's three layers and its star at least
