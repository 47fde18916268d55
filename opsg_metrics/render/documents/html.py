"""A summary document as one standalone HTML page (well-formed as XML too), charts as inline SVG."""

from __future__ import annotations

import html

import pandas as pd

from opsg_metrics.render.documents.document import Document
from opsg_metrics.store.text import printable

HTML_STYLE = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 58rem; margin: 2rem auto; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 1.6rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; } th { background: #eef2f6; }
.commentary { color: #0b4f82; } .banner { background: #fff3cd; padding: 0.5rem 0.8rem; }
footer { margin-top: 2rem; font-size: 0.85rem; color: #333; border-top: 1px solid #ccc; padding-top: 0.6rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
"""


def _html_table(frame: pd.DataFrame, index_name: str | None = None) -> str:
    frame = frame.reset_index() if index_name else frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(document: Document) -> str:
    summary = document.summary
    """A standalone HTML page: every text escaped; charts (if given) as inline SVG."""
    esc = html.escape
    # Well-formed as XML too (void elements closed), so it survives strict tools and checks.
    parts = [
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en-GB"><head><meta charset="utf-8"/>',
        f"<title>{esc(summary.title)}</title><style>{HTML_STYLE}</style></head><body>",
        f"<h1>{esc(summary.title)}</h1>",
    ]
    if document.provenance.sample:
        parts.append('<p class="banner">Illustrative sample data.</p>')
    for heading, findings in summary.sections:
        parts.append(f"<h2>{esc(heading)}</h2><ul>")
        for f in findings:
            note = document.note(f.key)
            parts.append(
                f"<li>{esc(f.text)}"
                + (f'<br/><span class="commentary"><em>Secretariat commentary:</em> {esc(note)}</span>' if note else "")
                + "</li>"
            )
        parts.append("</ul>")
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
    for caption, svg in ((c, content.decode("utf-8")) for c, content in document.charts):
        parts.append(f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("<h2>Every measure and provider</h2>" + _html_table(summary.table))
    parts.append("<footer>" + "<br/>".join(esc(line) for line in document.footer_lines()) + "</footer></body></html>")
    return printable("\n".join(parts) + "\n")
