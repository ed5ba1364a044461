"""The ``costlab report`` as GitHub-flavoured Markdown (``report.md``), its figures linked as PNG files
beside it (``figures/….png``), so the same report reads on GitHub.

Every word and number comes from :mod:`costlab.render.report_text`, the same as the HTML page's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from costlab.render import report_text as text

if TYPE_CHECKING:
    from costlab.publish.collect import ModelResult, ReportData
    from costlab.render.report_figures import FigureFile, ReportFigures

__all__ = ["github_anchors", "render_markdown"]


def render_markdown(data: ReportData, figures: ReportFigures) -> str:
    """The whole report; figures are linked by their relative paths (``figures/….png``)."""
    anchors = github_anchors([m.name for m in data.models], taken=[h for _, h in text.SECTIONS])
    lines = [f"# {_inline(text.title(data))}", "", _inline(text.intro(data)), ""]
    if data.quick:
        lines += [f"> {_inline(text.quick_note(data))}", ""]
    lines += _facts(data)
    lines += [" · ".join(f"[{heading}](#{github_anchors([heading])[0]})" for _, heading in text.SECTIONS), ""]
    lines += _summary(data, anchors)
    lines += [
        f"## {_heading('latency')}",
        "",
        _inline(text.latency_note(data)),
        "",
        _image(figures.latency_vs_macs),
        "",
        _image(figures.latency_vs_bytes_accessed),
        "",
        f"## {_heading('time')}",
        "",
        _inline(text.TIME_NOTE),
        "",
        _image(figures.time_by_category),
        "",
        f"## {_heading('models')}",
        "",
        _inline(text.MODELS_NOTE),
        "",
    ]
    for model, roofline in zip(data.models, figures.rooflines):
        lines += _model(model, roofline)
    lines += [f"## {_heading('machine')}", "", _inline(text.MACHINE_NOTE), "", "| | |", "|---|---|"]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in text.machine_rows(data)]
    lines += ["", f"_{_inline(text.generated_line(data))}_", ""]
    return "\n".join(lines)


def github_anchors(headings: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """The ids GitHub gives these headings: lower case, punctuation but ``-`` and ``_`` dropped,
    spaces made ``-``; a repeat (also of a heading in ``taken``) gets ``-1``, ``-2``, …

    >>> github_anchors(["mobilenet_v2", "tiny_net.py", "Per model", "mobilenet_v2"])
    ['mobilenet_v2', 'tiny_netpy', 'per-model', 'mobilenet_v2-1']
    """
    seen: dict[str, int] = {}
    for heading in taken:
        seen[_slug(heading)] = 1
    ids = []
    for heading in headings:
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.append(slug if count == 0 else f"{slug}-{count}")
    return ids


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _heading(key: str) -> str:
    return dict(text.SECTIONS)[key]


def _inline(words: str) -> str:
    """Text safe as Markdown: characters that would start emphasis, links or HTML are escaped."""
    return re.sub(r"([\\`*\[\]<>|])", r"\\\1", words)


def _cell(words: str) -> str:
    return _inline(words).replace("\n", " ")


def _image(figure: FigureFile) -> str:
    return f"![{_cell(figure.alt)}]({figure.path})"


def _facts(data: ReportData) -> list[str]:
    lines = []
    for field in ("macs", "bytes_accessed"):
        correlation = data.correlation(field)
        if correlation is not None and correlation.rho is not None:
            lines.append(
                f"- **{text.correlation_text(correlation)}** — Spearman rank correlation of latency with "
                f"{correlation.label} across {correlation.models} models"
            )
    if data.contrast is not None:
        lines.append(f"- **{data.contrast.latency_ratio:.1f}×** — {_inline(text.contrast_text(data.contrast))}")
    return [*lines, ""] if lines else []


def _summary(data: ReportData, anchors: list[str]) -> list[str]:
    headers = [*text.SUMMARY_HEADERS, *data.rules]
    numeric = len(text.SUMMARY_HEADERS[:3])
    align = ["---"] * numeric + ["---:"] * (len(headers) - numeric)
    lines = [f"## {_heading('summary')}", "", _inline(text.summary_note(data)), ""]
    lines += [f"| {' | '.join(headers)} |", f"|{'|'.join(align)}|"]
    for model, anchor in zip(data.models, anchors):
        cells = text.summary_cells(model)
        shown = [f"[{_cell(cells[0].text)}](#{anchor})"]
        for cell in cells[1:]:
            words = _cell(cell.text)
            if cell.hint == "warning":  # a warning count in bold, a noisy latency in italics
                words = f"**{words}**" if cell.text.isdigit() else f"_{words}_"
            shown.append(words)
        lines.append(f"| {' | '.join(shown)} |")
    if text.noise_note(data):
        lines += ["", _inline(text.noise_note(data)).replace("(underlined)", "(in italics)")]
    return [*lines, ""]


def _model(model: ModelResult, roofline: FigureFile) -> list[str]:
    stats = " · ".join(f"**{_inline(value)}** {_inline(what)}" for value, what in text.model_stats(model))
    family = f"_{_inline(model.family)}_ · " if model.family else ""
    lines = [f"### {_inline(model.name)}", "", family + stats, ""]
    lines += [f"> {_inline(note)}" for note in model.notes]
    if model.notes:
        lines.append("")
    lines += [_image(roofline), ""]
    if text.roofline_note(model):
        lines += [f"_{_inline(text.roofline_note(model))}_", ""]
    lines += ["| Kind of work | Time | Share |", "|---|---:|---:|"]
    lines += [f"| {_cell(words)} | {time} | {share} |" for _, words, time, share, _ in text.category_rows(model)]
    lines += ["", _inline(text.coverage_note(model)), ""]
    predicted = text.predicted_rows(model)
    if predicted:
        lines += ["| Layer | Measured | Predicted | Error |", "|---|---:|---:|---:|"]
        lines += [f"| {_cell(name)} | {measured} | {guess} | {error} |" for name, measured, guess, error in predicted]
        lines += ["", _inline(text.predicted_note(model)), ""]
    lines += [f"**Lint ({', '.join(model.rules)})**", ""]
    shown = text.shown_findings(model)
    if not shown:
        lines.append(f"No findings: {_inline(model.name)} follows the guidelines checked.")
    for finding in shown:
        rule, severity, message = text.finding_text(finding)
        lines.append(f"- **{rule}** ({severity}) {_inline(message)}")
    rest = len(model.findings) - len(shown)
    if rest > 0:
        lines.append(f"- … and {rest} more (`costlab lint {model.name}` lists them all)")
    return [*lines, ""]
