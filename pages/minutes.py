"""Minutes check: every checkable claim in a paragraph of minutes or a draft summary, against the record."""

import streamlit as st

from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import minutes as screen
from opsg_metrics.ingest.documents import read_document
from opsg_metrics.queries import overview
from opsg_metrics.queries.claims.check import check_text
from opsg_metrics.rules import status
from opsg_metrics.store import connect as db
from opsg_metrics.store import parse

info, version = ui.page_start("Minutes check")


@ui.cache_data(show_spinner=False, max_entries=8)
def _months(version):
    return overview.month_options(status.available_months(ui.cursor()))


@ui.cache_resource(show_spinner="Checking…", max_entries=32)
def _checked(version, text, month_key):
    try:
        return check_text(ui.cursor(), text, parse.parse_month(month_key) if month_key else None), None
    except db.OpsgError as exc:
        return None, str(exc)


def _uploaded(upload):
    try:
        return read_document(upload.name, upload.getvalue()), None
    except db.OpsgError as exc:
        return "", str(exc)


months = _months(version)
request, warnings = requests.read_minutes(ui.url_params(), list(months))
ui.warnings(warnings)
st.caption(
    "Paste or upload the PMR item of the minutes, or a draft summary: every claim the check can read (runs, "
    "windows, values, statuses, counts, directions, causes) is set against the record. A claim it cannot be "
    "sure of is *cannot check*, never a false *disagrees*."
)
keys = ["", *months]
month_key = st.selectbox(
    "PMR month", keys, index=keys.index(request.month), format_func=lambda k: months.get(k, "The one the text names")
)
st.query_params.update(requests.minutes_params(requests.MinutesRequest(month_key)))
upload = st.file_uploader("Upload text, Markdown or Word (.docx)", type=["txt", "md", "docx"])
text, problem = _uploaded(upload) if upload is not None else ("", None)
if problem:
    st.error(ui.md_escape(problem))
text = st.text_area(
    "Text to check", value=text or screen.EXAMPLE, height=180, key=f"minutes-text-{upload.name if upload else ''}"
)
checked, problem = _checked(version, text, month_key)
if problem:
    st.warning(ui.md_escape(problem))
    st.stop()
screen.named_month(text, checked)
screen.summary_line(checked)
screen.verdicts(checked)
with st.expander("Every claim as a table"):
    ui.table(screen.table(checked), hide_index=True, width="stretch")
screen.keep(checked, ui.person())
