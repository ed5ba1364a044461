"""The ``costlab report`` page: one self-contained HTML file.

Self-contained means no request leaves the page: figures are PNG ``data:`` URIs, the CSS is
inline, and a Content-Security-Policy (``default-src 'none'; img-src data:``) makes the browser
refuse anything else. One small inline script, allowed by its hash alone, sorts and filters the
summary table and opens a collapsed model when a link points into it; without it the page reads
the same, unsorted. A roofline's dots carry hover text (layer, time, FLOP/s, bytes) in an SVG
layer of invisible circles over the PNG — the same figure as ``costlab roofline``, a few KB of
markup where an interactive plotting library would add megabytes of script. Every word and number
comes from :mod:`costlab.render.report_text`; this module only writes the markup around it.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from string import Template
from typing import TYPE_CHECKING

from costlab.render import report_text as text
from costlab.render.roofline_plot import CATEGORY_COLOURS
from costlab.units import human

if TYPE_CHECKING:
    from costlab.publish.collect import ModelResult, ReportData
    from costlab.render.report_figures import FigureFile, ReportFigures

__all__ = ["CONTENT_SECURITY_POLICY", "SCRIPT", "render_html"]

SCRIPT = """
(() => {
  const table = document.querySelector("table.sortable");
  if (table) {
    const body = table.tBodies[0];
    const value = (row, i) => {
      const cell = row.cells[i];
      const v = cell.dataset.value;
      return v !== undefined ? parseFloat(v) : cell.textContent.trim().toLowerCase();
    };
    table.querySelectorAll("thead th").forEach((th, i) => {
      th.tabIndex = 0;
      const sort = () => {
        const down = th.getAttribute("aria-sort") !== "descending";
        table.querySelectorAll("thead th").forEach(h => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        const rows = [...body.rows].sort((a, b) => {
          const x = value(a, i), y = value(b, i);
          const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return down ? -order : order;
        });
        rows.forEach(r => body.appendChild(r));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
    const filter = document.getElementById("filter");
    if (filter) {
      filter.addEventListener("input", () => {
        const words = filter.value.trim().toLowerCase().split(/\\s+/).filter(Boolean);
        let shown = 0;
        for (const row of body.rows) {
          const text = row.textContent.toLowerCase();
          row.hidden = !words.every(w => text.includes(w));
          shown += !row.hidden;
        }
        document.getElementById("shown").textContent = `${shown} of ${body.rows.length} models`;
      });
    }
  }
  const reveal = () => {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    const details = target && target.closest("details");
    if (details) { details.open = true; target.scrollIntoView(); }
  };
  window.addEventListener("hashchange", reveal);
  reveal();
  document.querySelectorAll("button[data-open]").forEach(b => b.addEventListener("click", () =>
    document.querySelectorAll("details.model").forEach(d => { d.open = b.dataset.open === "all"; })));
})();
"""
"""Sorting and filtering the summary table, opening a linked model, expanding or collapsing all."""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'"
)
_OPEN_MODELS = 6
"""A report of this many models or fewer shows them all open; a longer one starts them collapsed."""

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="generator" content="costlab $version">
<title>$title</title>
<style>$style</style>
</head>
<body>
<header class="page">
<p class="eyebrow">costlab report</p>
<h1>$title</h1>
<p class="lede">$intro</p>
$quick
$facts
<nav aria-label="Contents">$nav</nav>
</header>
<main>
$sections
</main>
<footer>$generated</footer>
<script>$script</script>
</body>
</html>
""")

_STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --faint: #9aa5b1; --rule: #e4e7eb; --wash: #f5f7fa; --accent: #2f5f98;
  --info: #3e5c76; --info-bg: #e8eef4; --warning: #8d5a00; --warning-bg: #fdf0d2;
  --error: #a61b1b; --error-bg: #fbe3e3; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink); line-height: 1.5;
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.page, main, footer { max-width: 1480px; margin: 0 auto; padding: 0 32px; }
header.page { padding-top: 44px; padding-bottom: 8px; }
.eyebrow { margin: 0; color: var(--accent); font-size: 12px; font-weight: 600; letter-spacing: .08em;
  text-transform: uppercase; }
h1 { margin: 6px 0 10px; font-size: 30px; line-height: 1.2; letter-spacing: -.01em; }
h2 { margin: 0 0 6px; font-size: 22px; letter-spacing: -.005em; }
h3 { margin: 0; font-size: 19px; }
h4 { margin: 22px 0 8px; font-size: 13px; color: var(--muted); font-weight: 600; letter-spacing: .04em;
  text-transform: uppercase; }
p { margin: 0 0 12px; }
.lede { max-width: 860px; color: var(--muted); font-size: 16px; }
.quick { display: inline-block; padding: 4px 10px; border-radius: 6px; background: var(--warning-bg);
  color: var(--warning); font-size: 13px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
nav { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 22px 0 0; padding: 12px 0;
  border-top: 1px solid var(--rule);
  border-bottom: 1px solid var(--rule); font-size: 14px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 14px; margin: 22px 0 0; }
.fact { padding: 16px 18px; border: 1px solid var(--rule); border-radius: 10px; background: var(--wash); }
.fact .big { display: block; font-size: 26px; font-weight: 650; line-height: 1.15; font-variant-numeric: tabular-nums; }
.fact .what { display: block; margin-top: 4px; color: var(--muted); font-size: 13.5px; }
section { padding: 40px 0 8px; }
section > .note, .note { color: var(--muted); font-size: 13.5px; max-width: 880px; }
.scroll { overflow-x: auto; margin: 14px 0 6px; border: 1px solid var(--rule); border-radius: 10px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 10px; text-align: left; white-space: nowrap; }
thead th { position: sticky; top: 0; background: var(--wash); color: var(--muted); font-weight: 600; font-size: 12px;
  letter-spacing: .03em; border-bottom: 1px solid var(--rule); }
tbody tr + tr td { border-top: 1px solid #f0f2f4; }
tbody tr:hover td { background: #fafbfc; }
td.num, th.num { text-align: right; }
td.muted { color: var(--faint); }
td.rule { text-align: center !important; font-weight: 650; }
td.rule.muted { font-weight: 400; }
td.info { color: var(--info); }
td.warning { color: var(--warning); }
td.error { color: var(--error); }
td.warning.num:not(.rule) { text-decoration: underline dotted; }
figure { margin: 18px 0 10px; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 10px; }
figcaption { margin-top: 6px; color: var(--muted); font-size: 13px; }
.pair { display: grid; grid-template-columns: 1fr; gap: 8px; }
details.model { margin: 18px 0 0; padding: 18px 0 6px; border-top: 1px solid var(--rule); }
details.model > summary { display: flex; align-items: baseline; flex-wrap: wrap; gap: 4px 14px; cursor: pointer;
  list-style: none; }
details.model > summary::-webkit-details-marker { display: none; }
details.model > summary::before { content: "▸"; color: var(--faint); width: 12px; }
details.model[open] > summary::before { content: "▾"; }
.headline { color: var(--muted); font-size: 13.5px; font-variant-numeric: tabular-nums; }
.tools { display: flex; align-items: center; gap: 10px; margin: 12px 0 0; font-size: 13.5px; }
.tools input { width: 280px; padding: 6px 10px; border: 1px solid var(--rule); border-radius: 6px; font: inherit; }
.tools button { padding: 5px 12px; border: 1px solid var(--rule); border-radius: 6px; background: var(--wash);
  color: var(--ink); font: inherit; cursor: pointer; }
.muted { color: var(--faint); }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th[aria-sort="ascending"]::after { content: " ▲"; }
table.sortable thead th[aria-sort="descending"]::after { content: " ▼"; }
.hover { position: relative; border: 1px solid var(--rule); border-radius: 10px; overflow: hidden; }
.hover img { border: 0; border-radius: 0; }
.hover svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.hover circle { fill: transparent; cursor: help; }
.hover circle:hover { stroke: var(--ink); stroke-width: 3; }
.family { color: var(--muted); font-size: 14px; }
.top { margin-left: auto; font-size: 13px; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 14px 0 0; }
.stat { padding: 10px 12px; border-radius: 8px; background: var(--wash); }
.stat b { display: block; font-size: 18px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat span { color: var(--muted); font-size: 12.5px; }
.stat.noisy b { color: var(--warning); text-decoration: underline dotted; }
.columns { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 36px; }
@media (max-width: 860px) { .columns { grid-template-columns: 1fr; gap: 0; } }
table.bars td { padding: 5px 8px 5px 0; border: 0; }
table.bars tbody tr:hover td { background: none; }
.bar { width: 100%; min-width: 120px; height: 10px; border-radius: 5px; background: var(--wash); overflow: hidden; }
.bar i { display: block; height: 100%; border-radius: 5px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 7px; border-radius: 2px;
  vertical-align: baseline; }
ul.findings { list-style: none; margin: 0; padding: 0; font-size: 13.5px; }
ul.findings li { display: flex; gap: 10px; padding: 6px 0; border-top: 1px solid #f0f2f4; }
ul.findings li:first-child { border-top: 0; }
.badge { flex: none; align-self: flex-start; min-width: 30px; padding: 1px 7px; border-radius: 5px; text-align: center;
  font-size: 12px; font-weight: 650; }
.badge.info { color: var(--info); background: var(--info-bg); }
.badge.warning { color: var(--warning); background: var(--warning-bg); }
.badge.error { color: var(--error); background: var(--error-bg); }
.clean { color: var(--muted); font-size: 13.5px; }
.notes { margin: 8px 0 0; padding-left: 18px; color: var(--warning); font-size: 13px; }
dl.machine { display: grid; grid-template-columns: max-content 1fr; gap: 8px 26px; margin: 14px 0 0; font-size: 14px; }
dl.machine dt { color: var(--muted); }
dl.machine dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
footer { padding-top: 28px; padding-bottom: 48px; color: var(--faint); font-size: 13px; }
"""


def render_html(data: ReportData, figures: ReportFigures) -> str:
    """The whole page for ``data``, with ``figures`` embedded as ``data:image/png`` URIs."""
    ids = text.anchors(data.models)
    sections = [
        _summary(data, ids),
        _latency(data, figures),
        _time(figures),
        _models(data, figures, ids),
        _machine(data),
    ]
    quick = text.quick_note(data)
    return _PAGE.substitute(
        csp=CONTENT_SECURITY_POLICY,
        version=escape(data.host.costlab_version),
        title=escape(text.title(data)),
        style=_STYLE,
        intro=escape(text.intro(data)),
        quick=f'<p class="quick">{escape(quick)}</p>' if quick else "",
        facts=_facts(data),
        sections="\n".join(sections),
        generated=escape(text.generated_line(data)),
        script=SCRIPT,
        nav="".join(f'<a href="#{key}">{escape(heading)}</a>' for key, heading in text.SECTIONS),
    )


def _heading(key: str) -> str:
    return escape(dict(text.SECTIONS)[key])


def _img(figure: FigureFile) -> str:
    encoded = base64.b64encode(figure.png).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{escape(figure.alt)}">'


def _facts(data: ReportData) -> str:
    cards = []
    for field in ("macs", "bytes_accessed"):
        correlation = data.correlation(field)
        if correlation is not None and correlation.rho is not None:
            cards.append(
                _fact(
                    text.correlation_text(correlation),
                    f"Spearman rank correlation of latency with {correlation.label} across {correlation.models} models",
                )
            )
    if data.contrast is not None:
        cards.append(_fact(f"{data.contrast.latency_ratio:.1f}×", text.contrast_text(data.contrast)))
    return f'<div class="facts">{"".join(cards)}</div>' if cards else ""


def _fact(big: str, what: str) -> str:
    return f'<div class="fact"><span class="big">{escape(big)}</span><span class="what">{escape(what)}</span></div>'


def _cell(cell: text.Cell, extra: str = "") -> str:
    classes = " ".join(c for c in ("num" if cell.numeric else "", cell.hint, extra) if c)
    attributes = (
        (f' class="{classes}"' if classes else "")
        + (f' title="{escape(cell.tooltip)}"' if cell.tooltip else "")
        + (f' data-value="{cell.value:.10g}"' if cell.value is not None else "")
    )
    return f"<td{attributes}>{escape(cell.text)}</td>"


def _summary(data: ReportData, ids: list[str]) -> str:
    numeric = set(text.SUMMARY_HEADERS[3:])
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if h in numeric else f"<th>{escape(h)}</th>" for h in text.SUMMARY_HEADERS
    )
    head += "".join(f'<th class="num" title="lint findings for {r}">{escape(r)}</th>' for r in data.rules)
    rows = []
    for model, anchor in zip(data.models, ids):
        cells = text.summary_cells(model)
        name = f'<td><a href="#{anchor}">{escape(cells[0].text)}</a></td>'
        columns = len(text.SUMMARY_HEADERS)
        numbers = "".join(_cell(c) for c in cells[1:columns])
        rules = "".join(_cell(c, "rule") for c in cells[columns:])
        rows.append(f"<tr>{name}{numbers}{rules}</tr>")
    count = f"{len(data.models)} model{'s' if len(data.models) != 1 else ''}"
    return f"""<section id="summary">
<h2>{_heading("summary")}</h2>
<p class="note">{escape(text.summary_note(data))} Click a column's header to sort by it.</p>
<div class="tools"><input type="search" id="filter" placeholder="Filter: a name, a family, a rule…"
 aria-label="Filter the models"> <span id="shown" class="muted">{count}</span></div>
<div class="scroll"><table class="sortable">
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table></div>
{_paragraph(text.noise_note(data))}
</section>"""


def _latency(data: ReportData, figures: ReportFigures) -> str:
    return f"""<section id="latency">
<h2>{_heading("latency")}</h2>
<p class="note">{escape(text.latency_note(data))}</p>
<div class="pair">
<figure>{_img(figures.latency_vs_macs)}</figure>
<figure>{_img(figures.latency_vs_bytes_accessed)}</figure>
</div>
</section>"""


def _time(figures: ReportFigures) -> str:
    return f"""<section id="time">
<h2>{_heading("time")}</h2>
<p class="note">{escape(text.TIME_NOTE)}</p>
<figure>{_img(figures.time_by_category)}</figure>
</section>"""


def _hover_figure(figure: FigureFile, caption: str) -> str:
    """The PNG with an invisible circle over each dot, whose title is its hover text."""
    if not figure.hotspots:
        return f"<figure>{_img(figure)}{_caption(caption)}</figure>"
    width, height = figure.size
    circles = "".join(
        f'<circle cx="{s.x:.1f}" cy="{s.y:.1f}" r="{s.radius:.1f}"><title>{escape(s.title, quote=False)}</title></circle>'
        for s in figure.hotspots
    )
    layer = f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img">{circles}</svg>'
    return f'<figure><div class="hover">{_img(figure)}{layer}</div>{_caption(caption)}</figure>'


def _models(data: ReportData, figures: ReportFigures, ids: list[str]) -> str:
    opened = len(data.models) <= _OPEN_MODELS
    articles = [_model(m, figure, anchor, opened) for m, figure, anchor in zip(data.models, figures.rooflines, ids)]
    return f"""<section id="models">
<h2>{_heading("models")}</h2>
<p class="note">{escape(text.MODELS_NOTE)} Hover a roofline's dot for its layer, time, FLOP/s and bytes.</p>
<div class="tools"><button type="button" data-open="all">Expand all</button>
<button type="button" data-open="none">Collapse all</button></div>
{chr(10).join(articles)}
</section>"""


def _model(model: ModelResult, roofline: FigureFile, anchor: str, opened: bool) -> str:
    shown_stats = text.model_stats(model)
    noisy = ["noisy" if model.latency.warnings else ""] + [""] * (len(shown_stats) - 1)
    stats = "".join(
        f'<div class="stat {hint}"><b>{escape(v)}</b><span>{escape(w)}</span></div>'
        for (v, w), hint in zip(shown_stats, noisy)
    )
    bars = []
    for key, words, time, share_text, share in text.category_rows(model):
        colour = CATEGORY_COLOURS[key]
        bars.append(
            f'<tr><td><span class="swatch" style="background:{colour}"></span>{escape(words)}</td>'
            f'<td class="num">{escape(time)}</td><td class="num">{escape(share_text)}</td>'
            f'<td style="width:45%"><div class="bar">'
            f'<i style="width:{share * 100:.1f}%;background:{colour}"></i></div></td></tr>'
        )
    notes = "".join(f"<li>{escape(n)}</li>" for n in model.notes)
    headline = f"{text.model_stats(model)[0][0]} · {human(model.totals.macs)} MACs"
    return f"""<details class="model" id="{anchor}"{" open" if opened else ""}>
<summary><h3>{escape(model.name)}</h3><span class="family">{escape(model.family)}</span>
<span class="headline">{escape(headline)}</span><a class="top" href="#summary">↑ summary</a></summary>
<div class="stats">{stats}</div>
{f'<ul class="notes">{notes}</ul>' if notes else ""}
{_hover_figure(roofline, text.roofline_note(model))}
<div class="columns">
<div>
<h4>Time by kind of work</h4>
<table class="bars"><tbody>{"".join(bars)}</tbody></table>
<p class="note">{escape(text.coverage_note(model))}</p>
{_predicted(model)}
</div>
<div>
<h4>Lint: {escape(", ".join(model.rules))}</h4>
{_findings(model)}
</div>
</div>
</details>"""


def _predicted(model: ModelResult) -> str:
    """The slowest layers' predicted time beside the measured one (nothing without a calibration)."""
    rows = text.predicted_rows(model)
    if not rows:
        return ""
    body = "".join(
        f'<tr><td>{escape(name)}</td><td class="num">{escape(measured)}</td><td class="num">{escape(guess)}</td>'
        f'<td class="num">{escape(error)}</td></tr>'
        for name, measured, guess, error in rows
    )
    return (
        '<h4>Predicted beside measured</h4>\n<table class="predicted"><thead><tr><th>Layer</th><th class="num">Measured'
        f'</th><th class="num">Predicted</th><th class="num">Error</th></tr></thead><tbody>{body}</tbody></table>\n'
        f'<p class="note">{escape(text.predicted_note(model))}</p>'
    )


def _paragraph(words: str) -> str:
    return f'<p class="note">{escape(words)}</p>' if words else ""


def _caption(words: str) -> str:
    return f"<figcaption>{escape(words)}</figcaption>" if words else ""


def _findings(model: ModelResult) -> str:
    if not model.findings:
        return f'<p class="clean">No findings: {escape(model.name)} follows the guidelines checked.</p>'
    items = []
    for finding in text.shown_findings(model):
        rule, severity, message = text.finding_text(finding)
        items.append(
            f'<li><span class="badge {severity}" title="{severity}">{escape(rule)}</span>'
            f"<span>{escape(message)}</span></li>"
        )
    rest = len(model.findings) - len(text.shown_findings(model))
    if rest > 0:
        items.append(
            f'<li class="clean">… and {rest} more (<code>costlab lint {escape(model.name)}</code> lists them all)</li>'
        )
    return f'<ul class="findings">{"".join(items)}</ul>'


def _machine(data: ReportData) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in text.machine_rows(data))
    return f"""<section id="machine">
<h2>{_heading("machine")}</h2>
<p class="note">{escape(text.MACHINE_NOTE)}</p>
<dl class="machine">{rows}</dl>
</section>"""
