"""Summary: the secretariat's monthly PMR summary, traceable finding by finding, with downloads."""

import pandas as pd
import streamlit as st

from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import commentary as notes
from opsg_metrics.app.screens import summary as screen
from opsg_metrics.queries import overview, record, summary
from opsg_metrics.render.documents import build, commentary
from opsg_metrics.render.documents.document import Document
from opsg_metrics.rules import status
from opsg_metrics.store import connect as db
from opsg_metrics.store import parse

info, version = ui.page_start("PMR summary")
notes.flash()  # what a write on this page said, before it ran the page again


@ui.cache_data(show_spinner=False, max_entries=8)
def _months(version):
    return overview.month_options(status.available_months(ui.cursor()))


@ui.cache_resource(show_spinner="Writing the summary…", max_entries=16)
def _summary(version, month_key, window):
    try:
        return summary.build_summary(ui.cursor(), parse.parse_month(month_key), window=window), None
    except db.OpsgError as exc:
        return None, str(exc)


@ui.cache_resource(show_spinner=False, max_entries=16)  # read-only frames: the same objects every rerun
def _evidence(version, month_key, window):
    """Each finding's figures as the table under it, made once per summary."""
    built, _ = _summary(version, month_key, window)
    return {
        f.key: pd.DataFrame({"Figure": list(f.figures), "Value": [str(v) for v in f.figures.values()]})
        for _, findings in built.sections
        for f in findings
        if f.figures
    }


@ui.cache_data(show_spinner=False, max_entries=16)
def _classifications(version, month_key, window):
    """The classification of the document in each format (Word and HTML carry charts of earlier months too)."""
    built, _ = _summary(version, month_key, window)
    return build.document_classifications(ui.cursor(), built)


@ui.cache_data(show_spinner=False, max_entries=16)
def _document(version, month_key, window, fmt, signed):
    return build.summary_document(ui.cursor(), parse.parse_month(month_key), fmt, window=window, exported_by=signed[0])


@ui.cache_data(show_spinner=False, max_entries=16)
def _as_shown(version, month_key, window):
    built, _ = _summary(version, month_key, window)
    return screen.as_shown(commentary.with_commentary(ui.cursor(), Document.of(built)))


@ui.cache_resource(show_spinner=False, max_entries=16)  # read-only: no copy per rerun
def _notes(version, month_key):
    return record.month_notes(ui.cursor(), parse.parse_month(month_key))


months = _months(version)
request, warnings = requests.read_summary(ui.url_params(), list(months))
ui.warnings(warnings)
keys = list(months)
left, right = st.columns([2, 1])
with left:
    month_key = st.selectbox("PMR month", keys, index=keys.index(request.month), format_func=months.get)
with right:
    window = int(
        st.number_input(
            "Rolling window (months)",
            1,
            120,
            request.window,
            help="Months below target are counted over this window ('the 5th month below target in the last "
            "12'); the summary says so when the count adds to the run.",
        )
    )
st.query_params.update(requests.summary_params(requests.SummaryRequest(month_key, window)))

built, problem = _summary(version, month_key, window)
if built is None:
    st.warning(problem)
    st.stop()

# Downloads first: what the secretariat came for (with the commentary kept in the record).
marks = _classifications(version, month_key, window)
signed = ui.signed()
screen.downloads(
    month_key,
    marks,
    lambda fmt: lambda: _document(version, month_key, window, fmt, signed)[1],
    parse.parse_month(month_key),
    len(_notes(version, month_key).now),
)
screen.whole(*_as_shown(version, month_key, window))
screen.commentary(built, ui.person(), marks["md"], _notes(version, month_key))
screen.evidence(built, _evidence(version, month_key, window))
