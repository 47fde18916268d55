"""The secretariat's commentary (the review record's, queries/record.py) carried into a month's summary
document: on the month overall under the headline, on a measure and provider under the first statement
about them, the rest in a part of its own; the document's marking joined with the commentary's."""

from __future__ import annotations

import dataclasses

import duckdb

from opsg_metrics.queries import record
from opsg_metrics.queries.findings import HEADLINE, Summary
from opsg_metrics.queries.provenance import joined
from opsg_metrics.render.documents.document import Document, Part


def commentary_notes(summary: Summary, stored: list[record.Commentary]) -> tuple[dict[str, str], list[str]]:
    """The stored commentary set beside the summary's findings: on the month overall under the headline, on
    a measure and provider under the first statement about them; (notes by finding key, the lines of those
    no statement is about)."""
    notes: dict[str, str] = {}
    others = []
    for found in stored:
        signed = f"{found.text} ({found.signed})"
        if found.measure is None:
            key = next((f.key for h, fs in summary.sections if h == HEADLINE for f in fs), None)
        else:  # on a measure and provider: the first statement about them (about the measure, given none)
            key = next(
                (
                    f.key
                    for f in summary.findings
                    if f.measure == found.measure and (found.provider is None or f.provider == found.provider)
                ),
                None,
            )
        if key is None:
            others.append(f"{found.about}: {signed}")
        else:
            notes[key] = f"{notes[key]} / {signed}" if key in notes else signed
    return notes, others


def marks(con: duckdb.DuckDBPyConnection, summary: Summary) -> list[str]:
    """The markings of the commentary a summary document carries (its classification joins them)."""
    return [c.classification for c in record.commentary(con, summary.month)]


def with_commentary(con: duckdb.DuckDBPyConnection, document: Document) -> Document:
    """A summary document with the month's stored commentary in it (and its marking joined to the document's)."""
    stored = record.commentary(con, document.summary.month)
    if not stored:
        return document
    notes, others = commentary_notes(document.summary, stored)
    parts = (Part("Other commentary", lines=tuple(others)),) if others else ()
    origin = joined(
        con, document.provenance, (c.source_id for c in stored if c.source_id), (c.classification for c in stored)
    )
    return dataclasses.replace(
        document,
        provenance=origin,
        commentary={**notes, **document.commentary},
        parts=document.parts + parts,
    )
