"""Data: load PMR files from the browser with a check first, see revisions and what was loaded."""

import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.app.screens import data as screen
from opsg_metrics.ingest import load as ingest
from opsg_metrics.store import sources
from opsg_metrics.store.errors import OpsgError

ui.ensure_app_navigation()
version = ui.db_version()


@ui.cache_data(show_spinner=False, max_entries=16)
def _check(version, cleared, name, digest, raw_size, kind, source, level, issued, _raw):
    # A file is checked once per data version and options, not again on every rerun of the page (a big
    # file takes seconds). The digest names the content; _raw is not hashed. The check is made as the
    # person cleared to `cleared` sees the data: it names no source they may not see.
    try:
        with ui.writing(publish=False) as con:  # a load carried out and rolled back: nothing to publish
            return ingest.ingest_seen_by(
                con,
                _raw,
                name,
                clearance=cleared,
                dry_run=True,
                kind=kind,
                source=source,
                classification=level,
                issued=issued,
            )
    except OpsgError as exc:  # the database itself (a full disk, a damaged file), not the upload
        return screen.refused(name, str(exc))


# Read-only results (cache_resource: no copy per rerun), in the form the page shows them.
@ui.cache_resource(show_spinner=False, max_entries=8)
def _revision_months(version):
    return sources.revision_months(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=32)
def _revisions(version, month):
    history = sources.revisions(ui.cursor(), month)
    return history, history.drop(columns=["source_id"])


@ui.cache_resource(show_spinner=False, max_entries=8)
def _source_list(version):
    return sources.source_list(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=8)
def _measure_sources(version):
    listed = _source_list(version)
    return listed[listed["kind"].str.contains("measures")]


@ui.cache_resource(show_spinner=False, max_entries=8)
def _ingest_log(version):
    return sources.ingest_log(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=32)
def _diff(version, first, second):
    """The comparison, and the rows the second source changed or added."""
    diff = sources.diff_sources(ui.cursor(), first, second)
    return diff, diff[diff["difference"] != "not restated by the second (unchanged, or absent)"]


st.title("Data")
st.caption(
    "Load a PMR (or incidents, alerts, ops, catalogue, annotations) from CSV or XLSX. Every file is "
    "checked first; nothing is written until you confirm, and a file with any problem is not loaded."
)
load, revisions_tab, log_tab = st.tabs(["Load files", "Revisions", "Sources and ingest log"])

with load:
    who = ui.person()
    screen.load_files(lambda *upload: _check(version, who.clearance, *upload), who)

with revisions_tab:
    months = _revision_months(version)
    history = None
    if not months:
        st.info("No figure has been revised yet.")
    else:
        month = st.selectbox("Month", months, format_func=words.month_label)
        history, shown = _revisions(version, month)
        ui.table(shown, hide_index=True, width="stretch")
    measures = _measure_sources(version)
    if len(measures) >= 2:
        screen.compare(measures, history, lambda first, second: _diff(version, first, second))

with log_tab:
    st.subheader("Sources")
    ui.table(_source_list(version), hide_index=True, width="stretch")
    st.subheader("Ingest log")
    ui.table(_ingest_log(version), hide_index=True, width="stretch")
