"""The review record in documents: the commentary carried into a month's summary, the "Actions outstanding"
table of a meeting as a file of its own, and the meeting pack (the summary of the meeting's PMR month with
its commentary, the actions outstanding, the previous meeting's decisions and the charts of the measures
below target), each marked with the most restrictive marking of everything in it."""

from __future__ import annotations

import dataclasses
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import record
from opsg_metrics.queries.findings import Summary
from opsg_metrics.queries.provenance import Provenance, joined
from opsg_metrics.render.csv import csv_bytes
from opsg_metrics.render.documents.commentary import with_commentary
from opsg_metrics.render.documents.document import Document, Part
from opsg_metrics.rules.status import DEFAULT_WINDOW
from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.errors import OpsgError

ACTION_FORMATS = ("docx", "md", "html", "txt", "csv")
ACTION_WIDTHS = (2.0, 4.2, 2.5, 2.4, 2.4, 1.8, 1.8)  # ID, Action, Raised, Last and Revised Target Date, Owner, Status
PACK_FORMATS = ("docx", "html", "md", "txt")


def actions_part(found: list[record.ActionRecord], meeting: record.Meeting | None, at: date) -> Part:
    """The "Actions outstanding" part: the table SECAS presents, overdue against the meeting's day."""
    overdue = sum(a.overdue for a in found)
    when = f"at {meeting.meeting_id} ({words.day_label(meeting.date)})" if meeting else f"on {words.day_label(at)}"
    intro = (
        f"{words.plural(len(found), 'action')} outstanding {when}, {overdue} overdue against that day. "
        "Last Target Date: the target before the latest revision; Revised Target Date: the latest, where revised."
        if found
        else f"No actions outstanding {when}."
    )
    history = [f"{a.action_id}: {a.history()}." for a in found if a.slips]
    lines = (f"Target dates moved: {line}" for line in history)
    return Part("Actions outstanding", intro, tuple(lines), record.actions_table(found, history=False), ACTION_WIDTHS)


def decisions_part(con: duckdb.DuckDBPyConnection, meeting: record.Meeting | None) -> tuple[Part, list[str], list]:
    """The previous meeting's decisions as a part; with the marks and sources of their rows."""
    if meeting is None:
        return Part("Decisions of the previous meeting", intro="No earlier meeting is in the record."), [], []
    frame = record.decisions(con, meeting.meeting_id)
    intro = f"{meeting.label}." + ("" if not frame.empty else " No decisions are recorded for it.")
    part = Part(f"Decisions of {meeting.meeting_id}", intro=intro, lines=tuple(record.decision_lines(frame)))
    # The meeting is named in the pack (its id, day and month): its own marking joins the decisions'.
    return part, [meeting.classification, *frame["classification"]], [int(i) for i in frame["source_id"].dropna()]


def actions_file(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    *,
    meeting_id: str | None = None,
    at: date | None = None,
    exported_by: str | None = None,
) -> tuple[str, bytes, str]:
    """The actions outstanding at a meeting (or on a day, default today) as a file: (name, bytes,
    classification)."""
    from opsg_metrics.render.documents.build import render_document

    if fmt not in ACTION_FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(ACTION_FORMATS)})")
    meeting = record.meeting(con, meeting_id) if meeting_id else None
    at = at or (meeting.date if meeting else date.today())
    found = record.actions(con, at=at, raised_by=at, open_only=True)
    marks = [a.classification for a in found] + ([meeting.classification] if meeting else [])
    origin = joined(con, Provenance((), "white", False), {i for a in found for i in a.source_ids}, marks)
    stem = f"actions-outstanding-{meeting.meeting_id if meeting else at.isoformat()}-{origin.classification}"
    part = actions_part(found, meeting, at)
    if fmt == "csv":  # a table to sort and filter: every target date in a column of its own
        table = record.actions_table(found)
        return f"{stem}.csv", csv_bytes(table, origin.classification, exported_by), origin.classification
    nothing = pd.DataFrame()
    month = meeting.pmr_month if meeting else at.replace(day=1)
    shell = Summary(month, DEFAULT_WINDOW, (), nothing, nothing, nothing, origin, ())
    when = f"at {meeting.meeting_id}" if meeting else f"on {words.day_label(at)}"
    document = Document(shell, origin, (), {}, exported_by, (part,), f"Actions outstanding {when}")
    return f"{stem}.{fmt}", render_document(document, fmt), origin.classification


def _latest_month(con: duckdb.DuckDBPyConnection) -> date:
    found = con.execute("SELECT max(month) FROM current_measure_values").fetchall()[0][0]
    if found is None:
        raise OpsgError("no PMR figures are loaded")
    return found


def meeting_pack(
    con: duckdb.DuckDBPyConnection,
    meeting_id: str,
    fmt: str,
    *,
    window: int,
    charts: bool = True,
    exported_by: str | None = None,
) -> tuple[str, bytes, str]:
    """A meeting's pack as one file: (name, bytes, classification) - see the module's notes."""
    from opsg_metrics.queries.summary import build_summary
    from opsg_metrics.render.documents.build import build_document, render_document

    if fmt not in PACK_FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(PACK_FORMATS)})")
    meeting = record.meeting(con, meeting_id)
    summary = build_summary(con, meeting.pmr_month, window=window)
    document = with_commentary(con, build_document(con, summary, fmt, charts=charts, exported_by=exported_by))
    found = record.outstanding(con, meeting)
    decided, marks, ids = decisions_part(con, record.previous_meeting(con, meeting))
    marks += [meeting.classification, *(a.classification for a in found)]
    ids += [i for a in found for i in a.source_ids]
    document = dataclasses.replace(
        document,
        provenance=joined(con, document.provenance, ids, marks),
        parts=(*document.parts, actions_part(found, meeting, meeting.date), decided),
        heading=f"{meeting.meeting_id} meeting pack: PMR {words.month_label(meeting.pmr_month)}",
    )
    name = f"meeting-pack-{meeting.meeting_id}-{document.classification}.{fmt}"
    return name, render_document(document, fmt), document.classification


def pack_classification(con: duckdb.DuckDBPyConnection, meeting_id: str, *, window: int) -> str:
    """The marking a meeting's pack (Word or HTML, with charts) would carry, without drawing it: of the
    summary and its charts' rows, the commentary, the actions outstanding, the previous meeting's decisions
    and the meeting itself (the gate and the label of the download)."""
    from opsg_metrics.queries.summary import build_summary
    from opsg_metrics.render.documents.build import document_classification

    meeting = record.meeting(con, meeting_id)
    _, decided, _ = decisions_part(con, record.previous_meeting(con, meeting))
    return most_restrictive(
        [
            document_classification(con, build_summary(con, meeting.pmr_month, window=window), "docx"),
            meeting.classification,
            *(a.classification for a in record.outstanding(con, meeting)),
            *decided,
        ]
    )
