"""Meetings and actions: the PMR item of a meeting (actions outstanding with their history, decisions,
commentary beside the figures) prepared and downloaded as one pack."""

from datetime import date

import streamlit as st

from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import commentary as notes
from opsg_metrics.app.screens import record as screen
from opsg_metrics.queries import record
from opsg_metrics.render.documents import pack
from opsg_metrics.rules.status import DEFAULT_WINDOW
from opsg_metrics.store.catalogue import Catalogue

info, version = ui.page_start("Meetings and actions")
notes.flash()  # what a write on this page said, before it ran the page again


@ui.cache_data(show_spinner=False, max_entries=8)
def _meetings(version):
    return record.meetings(ui.cursor())


@ui.cache_data(show_spinner=False, max_entries=16)
def _actions(version, meeting_id):
    return record.outstanding(ui.cursor(), record.meeting(ui.cursor(), meeting_id))


@ui.cache_data(show_spinner=False, max_entries=8)
def _options(version):
    catalogue = Catalogue.from_db(ui.cursor())
    return {"measures": list(dict.fromkeys(m for m, _ in catalogue.measures)), "providers": list(catalogue.providers)}


@ui.cache_data(show_spinner="Reading what the pack holds…", max_entries=16)
def _pack_marking(version, meeting_id, window):
    return pack.pack_classification(ui.cursor(), meeting_id, window=window)


@ui.cache_data(show_spinner=False, max_entries=16)
def _pack(version, meeting_id, window, fmt, signed):
    return pack.meeting_pack(ui.cursor(), meeting_id, fmt, window=window, exported_by=signed[0])[1]


@ui.cache_data(show_spinner=False, max_entries=16)
def _actions_file(version, meeting_id, fmt, signed):
    return pack.actions_file(ui.cursor(), fmt, meeting_id=meeting_id, exported_by=signed[0])


@ui.cache_data(show_spinner=False, max_entries=16)
def _decided(version, meeting_id):
    """The meeting and the one before, each with its decisions in the minutes' words."""
    return record.decided(ui.cursor(), meeting_id)


meetings = _meetings(version)
request, warnings = requests.read_record(ui.url_params(), [m.meeting_id for m in meetings])
ui.warnings(warnings)
who = ui.person()
meeting = screen.choose(meetings, request.meeting)
st.query_params.from_dict(requests.record_params(requests.RecordRequest(meeting.meeting_id if meeting else "")))
screen.new_meeting(who, info.latest_month or date.today())
if meeting is None:
    st.info("No meetings in the record yet: add one above, or load a meetings file on the Data page.")
    st.stop()

signed = ui.signed()
st.subheader("Meeting pack")
window = int(st.number_input("Rolling window of the summary (months)", 1, 120, DEFAULT_WINDOW, key="pack-window"))
st.caption(
    f"One file: the summary of the PMR for {ui.md_escape(meeting.label)} with its commentary, the actions "
    "outstanding, the decisions of the previous meeting and (Word, HTML) the charts of the measures below target."
)
screen.downloads(
    f"meeting-pack-{meeting.meeting_id}",
    pack.PACK_FORMATS,
    _pack_marking(version, meeting.meeting_id, window),
    lambda fmt: lambda: _pack(version, meeting.meeting_id, window, fmt, signed),
    "pack",
    meeting.pmr_month,
)

found = _actions(version, meeting.meeting_id)
screen.outstanding(found, meeting)
marking = _actions_file(version, meeting.meeting_id, "csv", signed)[2]
screen.downloads(
    f"actions-outstanding-{meeting.meeting_id}",
    pack.ACTION_FORMATS,
    marking,
    lambda fmt: lambda: _actions_file(version, meeting.meeting_id, fmt, signed)[1],
    "actions",
)
screen.actions(found, who, _options(version), date.today())
screen.new_action(meeting, who, _options(version))
st.divider()
screen.decisions(_decided(version, meeting.meeting_id), who, _options(version))
