"""A summary document as one standalone HTML page (well-formed as XML too), charts as inline SVG."""

from __future__ import annotations

import html
import re

import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.findings import HEADLINE
from opsg_metrics.render.documents.document import Document, cell
from opsg_metrics.store.text import printable

HTML_STYLE = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 58rem; margin: 2rem auto; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 1.6rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; } th { background: #eef2f6; }
.commentary { color: #0b4f82; } .banner { background: #fff3cd; padding: 0.5rem 0.8rem; }
.classification { font-weight: bold; text-align: center; letter-spacing: 0.04em; margin: 0.4rem 0; }
td.number, th.number { text-align: right; }
footer { margin-top: 2rem; font-size: 0.85rem; color: #333; border-top: 1px solid #ccc; padding-top: 0.6rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
"""


def _html_table(frame: pd.DataFrame, index_name: str | None = None) -> str:
    frame = frame.reset_index() if index_name else frame
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

    def kind(is_number: bool) -> str:
        return ' class="number"' if is_number else ""

    head = "".join(f"<th{kind(n)}>{html.escape(str(c))}</th>" for c, n in zip(frame.columns, numeric))
    body = "".join(
        "<tr>" + "".join(f"<td{kind(n)}>{html.escape(cell(v))}</td>" for v, n in zip(row, numeric)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _described(svg: str, alt: str) -> str:
    """An inline SVG chart that says what it shows to a screen reader (role, label and title)."""
    label = html.escape(alt, quote=True)
    return re.sub(
        r"<svg\b([^>]*)>",
        lambda root: f'<svg{root[1]} role="img" aria-label="{label}"><title>{label}</title>',
        svg,
        count=1,
    )


def to_html(document: Document) -> str:
    summary = document.summary
    """A standalone HTML page: every text escaped; charts (if given) as inline SVG."""
    esc = html.escape
    # Well-formed as XML too (void elements closed), so it survives strict tools and checks.
    parts = [
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en-GB"><head><meta charset="utf-8"/>',
        f"<title>{esc(document.title)}</title><style>{HTML_STYLE}</style></head><body>",
        f'<p class="classification">{esc(document.marking)}</p>',
        f"<h1>{esc(document.title)}</h1>",
    ]
    if document.provenance.sample:
        parts.append(f'<p class="banner">{esc(words.SAMPLE_NOTICE)}.</p>')
    for heading, findings in summary.sections:
        prose = heading == HEADLINE  # a paragraph, as a Panel paper takes it
        parts.append(f"<h2>{esc(heading)}</h2>" + ("" if prose else "<ul>"))
        for f in findings:
            note = document.note(f.key)
            commentary = (
                f'<br/><span class="commentary"><em>Secretariat commentary:</em> {esc(note)}</span>' if note else ""
            )
            parts.append(f"<p>{esc(f.text)}{commentary}</p>" if prose else f"<li>{esc(f.text)}{commentary}</li>")
        parts.append("" if prose else "</ul>")
        if heading == "Context":
            if not summary.incident_table.empty:
                parts.append(
                    "<h3>Incidents opened, by provider and category</h3>"
                    + _html_table(summary.incident_table, "Provider")
                )
            if not summary.alert_table.empty:
                parts.append(
                    "<h3>Alert volumes by code and region</h3>" + _html_table(summary.alert_table, "Alert code")
                )
    for part in document.parts:
        parts.append(f"<h2>{esc(part.heading)}</h2>" + (f"<p>{esc(part.intro)}</p>" if part.intro else ""))
        if part.table is not None and not part.table.empty:
            parts.append(_html_table(part.table))
        if part.lines:
            parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in part.lines) + "</ul>")
    for number, (caption, content, alt) in enumerate(document.charts, start=1):
        svg = _described(content.decode("utf-8"), alt)
        parts.append(f"<figure>{svg}<figcaption>Figure {number}: {esc(caption)}</figcaption></figure>")
    if not summary.table.empty:
        parts.append("<h2>Every measure and provider</h2>" + _html_table(summary.table))
    parts.append("<footer>" + "<br/>".join(esc(line) for line in document.footer_lines()) + "</footer>")
    parts.append(f'<p class="classification">{esc(document.marking)}</p></body></html>')
    return printable("\n".join(parts) + "\n")
