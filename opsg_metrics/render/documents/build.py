"""The month's summary as a file, in one direction: the summary built (queries/summary.py), the charts of its
misses drawn (Word and HTML), the document's provenance made of both, then laid out by one renderer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import duckdb

from opsg_metrics import words
from opsg_metrics.queries.findings import Summary
from opsg_metrics.queries.provenance import provenance
from opsg_metrics.queries.summary import build_summary
from opsg_metrics.queries.trends import TrendData, trend_data
from opsg_metrics.render.charts.views import TrendView, view_of
from opsg_metrics.render.documents import commentary, html, markdown, text, word
from opsg_metrics.render.documents.document import Document
from opsg_metrics.render.draw import render_many
from opsg_metrics.render.files import PACK_MONTHS, export_spec, trend_heading
from opsg_metrics.rules.status import DEFAULT_WINDOW, status_table
from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.errors import OpsgError

SUMMARY_FORMATS = ("md", "docx", "html", "txt")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown",
    "html": "text/html",
    "txt": "text/plain",
}
FORMAT_LABELS = {"docx": "Word (.docx)", "md": "Markdown", "html": "HTML", "txt": "Plain text"}


def summary_charts(con: duckdb.DuckDBPyConnection, summary: Summary, fmt: str) -> list[tuple[str, TrendData]]:
    """The data of the charts a document in `fmt` carries, as (caption, trend data): none in Markdown or plain
    text; in Word and HTML one per measure below target (its providers below target) over the PACK_MONTHS to the
    month."""
    if not summary_charts_in(fmt):
        return []
    start = words.months_back(summary.month, PACK_MONTHS - 1)
    table = status_table(con, window=summary.window, until=summary.month)
    out = []
    for measure, providers in summary.charts:
        found = trend_data(con, measure, list(providers), start, summary.month, window=summary.window, table=table)
        if found is None:
            continue
        caption = f"{measure}, {', '.join(providers)}: the {PACK_MONTHS} months to {words.month_label(summary.month)}"
        out.append((caption, found))
    return out


def summary_views(con: duckdb.DuckDBPyConnection, summary: Summary, fmt: str) -> list[tuple[str, TrendView]]:
    """The charts a document in `fmt` carries, as (caption, view), drawn from `summary_charts`."""
    return [(caption, view_of(found)) for caption, found in summary_charts(con, summary, fmt)]


def document_classification(con: duckdb.DuckDBPyConnection, summary: Summary, fmt: str) -> str:
    """The classification a document in `fmt` would carry: of the summary's rows and its charts' (the gate
    before anything is drawn: the charts' data is read, not drawn)."""
    charted = summary_charts(con, summary, fmt)
    rows = provenance(
        con, set(summary.provenance.source_ids) | {i for _, found in charted for i in found.provenance.source_ids}
    ).classification
    return most_restrictive([rows, *commentary.marks(con, summary)])


def document_classifications(con: duckdb.DuckDBPyConnection, summary: Summary) -> dict[str, str]:
    """The classification of the document in every format, the charts' data read once (Word and HTML
    carry the same charts)."""
    with_charts = document_classification(con, summary, "docx")
    return {
        fmt: with_charts if summary_charts_in(fmt) else document_classification(con, summary, fmt)
        for fmt in SUMMARY_FORMATS
    }


def summary_charts_in(fmt: str) -> bool:
    """Whether a document in `fmt` carries charts (Word and HTML do, Markdown and plain text do not)."""
    return fmt in ("docx", "html")


def build_document(
    con: duckdb.DuckDBPyConnection,
    summary: Summary,
    fmt: str,
    *,
    commentary: Mapping[str, str] | None = None,
    charts: bool = True,
    exported_by: str | None = None,
) -> Document:
    """The document of a built summary in `fmt`: its charts drawn (PNG for Word, SVG for HTML) and its
    provenance the most restrictive of exactly the rows it states or draws."""
    views = summary_views(con, summary, fmt) if charts else []
    drawn = tuple(
        (caption, content, chart_alt(view))
        for (caption, view), content in zip(
            views, render_many((export_spec(v, exported_by) for _, v in views), "png" if fmt == "docx" else "svg")
        )
    )
    origin = (
        provenance(con, set(summary.provenance.source_ids) | {i for _, v in views for i in v.provenance.source_ids})
        if views
        else summary.provenance
    )
    return Document(summary, origin, drawn, commentary or {}, exported_by)


def chart_alt(view: TrendView) -> str:
    """A chart's alt text: what its heading says it shows, and what it draws."""
    heading = trend_heading(view)
    return (
        f"Chart: {heading.title}. {heading.subtitle}. Monthly figures against the target and minimum service "
        "levels, one panel per provider."
    )


def render_document(document: Document, fmt: str) -> bytes:
    """A document's bytes in one format."""
    if fmt == "md":
        return markdown.to_markdown(document).encode("utf-8")
    if fmt == "html":
        return html.to_html(document).encode("utf-8")
    if fmt == "txt":
        return text.to_text(document).encode("utf-8")
    return word.to_docx(document)


def summary_document(
    con: duckdb.DuckDBPyConnection,
    month: date,
    fmt: str,
    *,
    window: int = DEFAULT_WINDOW,
    notes: Mapping[str, str] | None = None,
    charts: bool = True,
    exported_by: str | None = None,
) -> tuple[str, bytes, str]:
    """The month's summary as a file: (file name, bytes, classification); above WHITE it names who exported
    it (`exported_by`) in its footer and, in Word, its properties. The month's commentary in the record is
    in it; `notes` (by finding key) add to it."""
    if fmt not in SUMMARY_FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(SUMMARY_FORMATS)})")
    document = build_document(
        con,
        build_summary(con, month, window=window),
        fmt,
        commentary=notes,
        charts=charts,
        exported_by=exported_by,
    )
    document = commentary.with_commentary(con, document)
    name = f"pmr-summary-{words.month_key(month)}-{document.classification}.{fmt}"
    return name, render_document(document, fmt), document.classification
