"""Summary: the secretariat's monthly PMR summary, traceable finding by finding, with downloads."""

import pandas as pd
import streamlit as st

from opsg_metrics.app import requests, ui
from opsg_metrics.queries import overview, summary
from opsg_metrics.render.documents import build
from opsg_metrics.rules import status
from opsg_metrics.store import classification, parse
from opsg_metrics.store import connect as db

info, version = ui.page_start("PMR summary")


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
def _document(version, month_key, window, fmt, commentary_items, signed):
    return build.summary_document(
        ui.cursor(),
        parse.parse_month(month_key),
        fmt,
        window=window,
        commentary=dict(commentary_items),
        exported_by=signed[0],
    )


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
            help="'in N of the last W months' counts over this window.",
        )
    )
st.query_params.update(requests.summary_params(requests.SummaryRequest(month_key, window)))

built, problem = _summary(version, month_key, window)
if built is None:
    st.warning(problem)
    st.stop()

st.caption(
    "Open a statement to see the figures and sources behind it, and to add the secretariat's commentary "
    "(kept for this session and included in the downloads; not saved in the database)."
)
commentary = {}
for heading, findings in built.sections:
    st.subheader(heading)
    for finding in findings:
        key = f"commentary:{month_key}:{finding.key}"
        with st.expander(ui.md_escape(finding.text)):
            if finding.figures:
                ui.table(_evidence(version, month_key, window)[finding.key], hide_index=True, width="content")
            if finding.sources:
                st.caption("Source: " + ui.md_escape("; ".join(finding.sources)))
            st.text_area("Secretariat commentary", key=key, height=80)
        if st.session_state.get(key, "").strip():
            commentary[finding.key] = st.session_state[key].strip()
    if heading == "Context":
        if not built.incident_table.empty:
            st.markdown("**Incidents opened, by provider and category**")
            ui.table(built.incident_table, width="content")
        if not built.alert_table.empty:
            st.markdown("**Alert volumes by code and region**")
            ui.table(built.alert_table, width="content")

st.subheader("Every measure and provider")
ui.table(built.table, hide_index=True, width="stretch")
st.caption(ui.md_escape(" ".join(built.footer_lines())))

st.subheader("Download")
items = tuple(sorted(commentary.items()))
marks = _classifications(version, month_key, window)
strictest = classification.most_restrictive(marks.values())
confirmed = ui.restricted_confirmed(strictest, "summary")
signed = ui.signed()
columns = st.columns(3)
for column, (fmt, label) in zip(columns, [("docx", "Word (.docx)"), ("md", "Markdown"), ("html", "HTML")]):
    with column:
        st.download_button(
            label,
            data=ui.export_made(
                lambda fmt=fmt: _document(version, month_key, window, fmt, items, signed)[1],
                f"pmr-summary-{month_key}-{marks[fmt]}.{fmt}",
                marks[fmt],
                parse.parse_month(month_key),
            ),
            file_name=f"pmr-summary-{month_key}-{marks[fmt]}.{fmt}",
            mime={
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "md": "text/markdown",
                "html": "text/html",
            }[fmt],
            on_click="ignore",
            key=f"summary-{fmt}",
            type="primary" if fmt == "docx" else "secondary",
            disabled=marks[fmt] in ui.RESTRICTED and not confirmed,
        )
        st.caption(classification.LABELS[marks[fmt]])
if commentary:
    st.caption(f"The downloads include {len(commentary)} commentar{'ies' if len(commentary) != 1 else 'y'}.")
