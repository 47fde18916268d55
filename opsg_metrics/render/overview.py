"""The Overview's matrix as HTML: measures by providers, each cell its status, value, marks and SPC reading.

Built from the cells of queries/overview (every text there decided); only the markup is made here.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date

import pandas as pd

from opsg_metrics.queries import overview
from opsg_metrics.words import STATUS_ICONS

# Where a cell links to: (measure, provider, month, window) -> a URL relative to the app.
CellLink = Callable[[str, str, date, int], str]

MATRIX_CSS = """<style>
table.opsg-matrix { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
table.opsg-matrix th, table.opsg-matrix td { border: 1px solid #d0d0d0; padding: 4px 6px; vertical-align: top; }
table.opsg-matrix thead th { background: #f3f3f3; text-align: left; }
table.opsg-matrix th.measure { text-align: left; font-weight: 600; min-width: 11rem; }
table.opsg-matrix th.measure span { display: block; font-weight: 400; color: #555; font-size: 0.76rem; }
table.opsg-matrix td.met { background: #e3f1e3; color: #1b4d1b; }
table.opsg-matrix td.below_target { background: #fdebc8; color: #5c3800; }
table.opsg-matrix td.below_minimum { background: #f9d3d0; color: #6e0e0e; }
table.opsg-matrix td.no_data { background: #efefef; color: #333; }
table.opsg-matrix td .value { font-weight: 600; }
table.opsg-matrix td a { color: inherit; text-decoration: none; display: block; }
table.opsg-matrix td a:hover { text-decoration: underline; }
table.opsg-matrix td .marks { display: block; font-size: 0.76rem; }
table.opsg-matrix td .spc { display: block; width: fit-content; margin-top: 2px; padding: 0 4px; border-radius: 3px;
  font-size: 0.72rem; border: 1px solid #8c8c8c; background: #ffffff; color: #333; }
table.opsg-matrix td .spc-improvement { border-color: #0072B2; color: #0072B2; font-weight: 600; }
table.opsg-matrix td .spc-concern { border-color: #E69F00; color: #7a5200; font-weight: 600; }
table.opsg-matrix td .spc-neutral { border-color: #CC79A7; color: #7d2d5e; }
ul.opsg-attention { margin: 0.2rem 0 0.6rem 1.1rem; padding: 0; line-height: 1.5; }
ul.opsg-attention li { margin: 0.15rem 0; }
ul.opsg-attention a { font-weight: 600; }
ul.opsg-attention .below_minimum a { color: #8a1010; } ul.opsg-attention .below_target a { color: #7a4a00; }
</style>"""


def matrix_html(cells: pd.DataFrame, providers: list[str], link: CellLink) -> str:
    """The matrix as an HTML table (`cells` from overview.matrix_cells). Every text from the data is
    escaped; the shape and the word carry the status, the background colour only repeats it; each cell
    links to its trend, at `link(measure, provider, month, window)` (the app's link to its Trends page)."""
    if cells.empty:
        return ""
    esc = html.escape
    measures, columns, names = overview.layout(cells, providers)
    by_key = {(r["measure"], r["provider"]): r for _, r in cells.iterrows()}
    out = ['<table class="opsg-matrix"><thead><tr><th scope="col">Measure</th>']
    out += [f'<th scope="col">{esc(p)}</th>' for p in columns]
    out.append("</tr></thead><tbody>")
    for measure in measures:
        out.append(f'<tr><th scope="row" class="measure">{esc(measure)}<span>{esc(names[measure])}</span></th>')
        for provider in columns:
            row = by_key.get((measure, provider))
            if row is None:
                out.append('<td class="na" title="Not a measure for this provider"></td>')
                continue
            value = ""
            if row["status"] != "no_data" or row["level_missing"]:
                value = f' <span class="value">{esc(overview.format_value(row["value"], row["unit"]))}</span>'
            marks = " · ".join(overview.cell_marks(row))
            href = link(measure, provider, pd.Timestamp(row["month"]).date(), int(row["window"]))
            out.append(
                f'<td class="{esc(row["status"])}" title="{esc(row["tooltip"])}">'
                f'<a href="{esc(href)}" target="_self">'
                f"{STATUS_ICONS[row['status']]} {esc(row['status_word'])}{value}"
                + (f'<span class="marks">{esc(marks)}</span>' if marks else "")
                + _badge_html(row)
                + "</a></td>"
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _badge_html(row) -> str:
    """The cell's SPC reading in words with its icon; none in a cell without a figure."""
    badge = overview.spc_words(row) if row["status"] != "no_data" else ""
    if not badge:
        return ""
    titles = [row.get("spc_variation_title"), row.get("spc_target_title"), row.get("spc_minimum_title")]
    title = "SPC: " + "; ".join(t for t in titles if isinstance(t, str) and t)
    return (
        f'<span class="spc spc-{overview.spc_kind(row)}" title="{html.escape(title)}" '
        f'aria-label="{html.escape(title)}">{html.escape(badge)}</span>'
    )


def attention_html(head: overview.Headline, link: CellLink, window: int) -> str:
    """The Overview's "needs attention" list: each figure linking to its trend (in this tab), then why."""
    esc = html.escape
    items = []
    for item in head.attention:
        href = link(item.measure, item.provider, head.month, window)
        why = f" — {esc('; '.join(item.reasons))}" if item.reasons else ""
        items.append(
            f'<li class="{esc(item.status)}"><a href="{esc(href)}" target="_self">{esc(item.text)}</a>{why}</li>'
        )
    return '<ul class="opsg-attention">' + "".join(items) + "</ul>"
