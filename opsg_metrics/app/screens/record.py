"""The Meetings and actions page's layout: the meeting, its pack, the actions outstanding at it (their
target dates and statuses, every revision kept), each action's history and edits, new actions, the
decisions of this meeting and the one before, and new meetings. Every write is the secretariat's or an
administrator's (store/record.py: one transaction with its audit entry; an edit of something changed
since it was opened is refused)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.app.screens.commentary import both_texts, marking_choice, may_write, saved
from opsg_metrics.queries import record
from opsg_metrics.render.documents.build import FORMAT_LABELS, MEDIA_TYPES
from opsg_metrics.store import classification
from opsg_metrics.store import record as writes
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person

FORMATS = {**FORMAT_LABELS, "csv": "CSV"}
TYPES = {**MEDIA_TYPES, "csv": "text/csv"}


def choose(meetings: list[record.Meeting], chosen: str) -> record.Meeting | None:
    """The meeting shown (the request's; the page's choice)."""
    if not meetings:
        return None
    ids = [m.meeting_id for m in meetings]
    labels = {m.meeting_id: m.label for m in meetings}
    picked = st.selectbox("Meeting", ids, index=ids.index(chosen) if chosen in ids else 0, format_func=labels.get)
    return meetings[ids.index(picked)]


def _write(action: Callable[[duckdb.DuckDBPyConnection], writes.Written], done: str, who: Person) -> None:
    """Run one write (`action(con)`, on the working database as the writer may see it, then published); a
    refusal or a conflict said, a success said after the page runs again."""
    try:
        with ui.writing(who.clearance) as con:
            written = action(con)
    except writes.RecordConflict as conflict:  # open the action again (the page shows it as saved) to edit it
        both_texts(str(conflict), conflict.who, conflict.when, conflict.theirs, conflict.yours)
        return
    except OpsgError as exc:
        st.error(ui.md_escape(str(exc)))
        return
    if written.outcome == "unchanged":
        st.info("The record already says this; nothing was saved.")
        return
    saved(done)


def new_meeting(who: Person, default_month: date) -> None:
    """A form to add a meeting to the record."""
    with st.expander("Add a meeting"):
        if not may_write(who):
            return
        with st.form("new-meeting", clear_on_submit=False):
            left, middle, right = st.columns(3)
            meeting_id = left.text_input("Meeting", placeholder="OPSG_34")
            held = middle.date_input("Held on", value=date.today(), format="DD/MM/YYYY")
            kind = right.selectbox("Kind", writes.MEETING_KINDS)
            month = left.date_input("PMR month reviewed (any day of it)", value=default_month, format="DD/MM/YYYY")
            marking = marking_choice(who, classification.ORDER[0], "new-meeting-marking")
            if st.form_submit_button("Add the meeting"):
                _write(
                    lambda con: writes.add_meeting(
                        con,
                        meeting_id,
                        on=held,
                        kind=kind,
                        pmr_month=month,
                        classification=marking,
                        by=who.shown_name,
                    ),
                    f"Meeting {meeting_id.strip()} added.",
                    who,
                )


def downloads(
    stem: str,
    formats: tuple[str, ...],
    marking: str,
    made: Callable[[str], Callable[[], bytes]],
    key: str,
    month: date | None = None,
) -> None:
    """One download per format, marked with the classification the file carries (AMBER and RED confirmed)."""
    confirmed = ui.restricted_confirmed(marking, key)
    for column, fmt in zip(st.columns(len(formats)), formats):
        name = f"{stem}-{marking}.{fmt}"
        column.download_button(
            FORMATS[fmt],
            data=ui.export_made(made(fmt), name, marking, month),
            file_name=name,
            mime=TYPES[fmt],
            on_click="ignore",
            key=f"{key}-{fmt}",
            type="primary" if fmt == "docx" else "secondary",
            disabled=marking in ui.RESTRICTED and not confirmed,
            width="stretch",
        )
    st.caption(classification.LABELS[marking])


def outstanding(found: list[record.ActionRecord], meeting: record.Meeting) -> None:
    """The "Actions outstanding" table, as SECAS presents it, overdue against the meeting's day."""
    overdue = sum(a.overdue for a in found)
    st.subheader("Actions outstanding")
    st.caption(
        f"{words.plural(len(found), 'action')} raised by {words.day_label(meeting.date)} and not closed on it; "
        f"{overdue} overdue against it. Last Target Date: the target before the latest revision; Revised Target "
        "Date: the latest, where revised."
    )
    ui.table(record.actions_table(found), hide_index=True, width="stretch")


def _history(action: record.ActionRecord) -> None:
    targets = pd.DataFrame(
        [(words.day_label(t), words.day_label(s), why) for t, s, why in action.target_dates],
        columns=["Target date", "Set on", "Why"],
    )
    statuses = pd.DataFrame(
        [(st_.capitalize(), words.day_label(on), why) for st_, on, why in action.statuses],
        columns=["Status", "On", "Why"],
    )
    left, right = st.columns(2)
    with left:
        ui.table(targets, hide_index=True, width="stretch")
    with right:
        ui.table(statuses, hide_index=True, width="stretch")
    links = [*action.measures, *action.providers, *action.incidents]
    st.caption(
        "Links: "
        + (ui.md_escape(", ".join(links)) if links else "none")
        + f" · {classification.LABELS[action.classification]}"
    )


def _links(options: dict[str, list[str]], key: str, action: record.ActionRecord | None = None) -> tuple:
    measures = st.multiselect(
        "Measures",
        options["measures"],
        default=[m for m in (action.measures if action else ()) if m in options["measures"]],
        key=key + "-measures",
    )
    providers = st.multiselect(
        "Providers",
        options["providers"],
        default=[p for p in (action.providers if action else ()) if p in options["providers"]],
        key=key + "-providers",
    )
    incidents = st.text_input(
        "Incidents (ids, separated by ;)", value="; ".join(action.incidents) if action else "", key=key + "-incidents"
    )
    return tuple(measures), tuple(providers), tuple(i.strip() for i in incidents.split(";") if i.strip())


def actions(found: list[record.ActionRecord], who: Person, options: dict[str, list[str]], today: date) -> None:
    """Each action with every target date and status it had, and (for the secretariat) its edit: a revised
    target date with why, a status change, its words and links."""
    for action in found:
        flag = " · overdue" if action.overdue else ""
        with st.expander(
            f"{action.action_id}: {action.text[:90]}{'…' if len(action.text) > 90 else ''} ({action.status}{flag})"
        ):
            st.markdown(ui.md_escape(action.text))
            st.caption(
                f"Owner {ui.md_escape(action.owner)}; raised at {ui.md_escape(action.raised_meeting)} on {words.day_label(action.raised_on)}"
            )
            _history(action)
            if not may_write(who):
                continue
            _edit(action, who, options, today)


def _edit(action: record.ActionRecord, who: Person, options: dict[str, list[str]], today: date) -> None:
    """The edit of one action: what changed is a new row (a revision), named with the version it edits."""
    key = f"edit-{action.action_id}"
    with st.form(key):
        text = st.text_area("Action", value=action.text, key=key + "-text")
        owner = st.text_input("Owner", value=action.owner, key=key + "-owner")
        left, middle, right = st.columns(3)
        target = left.date_input("Target date", value=action.target_date, format="DD/MM/YYYY", key=key + "-target")
        status = middle.selectbox("Status", ("open", "closed"), index=int(action.closed), key=key + "-status")
        on = right.date_input("Changed on", value=today, format="DD/MM/YYYY", key=key + "-on")
        why = st.text_input("Why (a revised date or a status change)", key=key + "-why")
        measures, providers, incidents = _links(options, key, action)
        marking = marking_choice(who, action.classification, key + "-marking")
        if st.form_submit_button("Save the changes"):
            edited = writes.Action(
                action.action_id,
                text,
                owner,
                action.raised_meeting,
                action.raised_on,
                measures,
                providers,
                incidents,
                action.note,
            )
            _write(
                lambda con: writes.save_action(
                    con,
                    edited,
                    target_date=target,
                    status=status,
                    on=on,
                    why=why,
                    closed_on=on,
                    classification=marking,
                    by=who.shown_name,
                    based_on=action.version,
                ),
                f"Action {action.action_id} saved.",
                who,
            )


def new_action(meeting: record.Meeting, who: Person, options: dict[str, list[str]]) -> None:
    """A form to raise an action at the meeting."""
    with st.expander("Raise an action"):
        if not may_write(who):
            return
        with st.form("new-action"):
            left, right = st.columns(2)
            action_id = left.text_input("Action id", placeholder=f"{meeting.meeting_id.replace('_', ' ')}/01")
            owner = right.text_input("Owner", value="DCC")
            text = st.text_area("Action")
            target = left.date_input("Target date", value=meeting.date, format="DD/MM/YYYY")
            measures, providers, incidents = _links(options, "new-action")
            marking = marking_choice(who, meeting.classification, "new-action-marking")
            if st.form_submit_button("Raise the action"):
                action = writes.Action(
                    action_id, text, owner, meeting.meeting_id, meeting.date, measures, providers, incidents
                )
                _write(
                    lambda con: writes.save_action(
                        con,
                        action,
                        target_date=target,
                        status="open",
                        on=meeting.date,
                        classification=marking,
                        by=who.shown_name,
                    ),
                    f"Action {action_id.strip()} raised.",
                    who,
                )


def decisions(decided: list[tuple[record.Meeting, list[str]]], who: Person, options: dict[str, list[str]]) -> None:
    """What this meeting and the one before decided (`decided`: each meeting with its decisions in the
    minutes' words, this one first), and (for the secretariat) a form to record a decision."""
    meeting = decided[0][0]
    st.subheader("Decisions")
    for shown, lines in decided:
        st.markdown(f"**{ui.md_escape(shown.label)}**" + ("" if shown is meeting else " (the previous meeting)"))
        st.markdown("\n".join(f"- {ui.md_escape(line)}" for line in lines) if lines else "No decisions recorded.")
    with st.expander("Record a decision"):
        if not may_write(who):
            return
        with st.form("new-decision"):
            left, middle, right = st.columns(3)
            item = left.text_input("Agenda item", value="PMR")
            verb = middle.selectbox("OPSG…", writes.VERBS)
            action_id = right.text_input("Action (optional)")
            text = st.text_area("Decision", placeholder="DCC to bring a remediation plan for CPM1 …")
            measure = left.selectbox("Measure (optional)", ["", *options["measures"]])
            provider = middle.selectbox("Provider (optional)", ["", *options["providers"]])
            marking = marking_choice(who, meeting.classification, "new-decision-marking")
            if st.form_submit_button("Record the decision"):
                _write(
                    lambda con: writes.add_decision(
                        con,
                        meeting.meeting_id,
                        item,
                        verb,
                        text,
                        measure=measure or None,
                        provider=provider or None,
                        action_id=action_id or None,
                        classification=marking,
                        by=who.shown_name,
                    ),
                    f"Decision recorded for {meeting.meeting_id}.",
                    who,
                )
