"""Overview: every measure by provider for one PMR month, and the active streak flags."""

import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import requests, ui
from opsg_metrics.queries import overview
from opsg_metrics.render import overview as matrix_view
from opsg_metrics.rules import status
from opsg_metrics.store import parse

info, version = ui.page_start("Overview")


@ui.cache_data(show_spinner=False, max_entries=32)
def _months(version):
    return overview.month_options(status.available_months(ui.cursor()))


@ui.cache_data(show_spinner="Working out status and runs…", max_entries=32)
def _cells(version, month_key, window):
    return overview.matrix_cells(ui.cursor(), parse.parse_month(month_key), window=window)


@ui.cache_data(show_spinner=False, max_entries=8)
def _providers(version):
    return overview.provider_order(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=32)  # read-only results: no copy per rerun
def _matrix(version, month_key, window):
    cells, providers = _cells(version, month_key, window), _providers(version)
    return matrix_view.MATRIX_CSS + matrix_view.matrix_html(cells, providers, requests.series_trend_link)


@ui.cache_resource(show_spinner=False, max_entries=32)  # read-only results: no copy per rerun
def _headline(version, month_key, window):
    cells = _cells(version, month_key, window)
    return overview.headline(cells, parse.parse_month(month_key)), overview.value_table(cells)


months = _months(version)
request, warnings = requests.read_overview(ui.url_params(), list(months))
ui.warnings(warnings)
keys = list(months)
left, right = st.columns([2, 1])
with left:
    month_key = st.selectbox("PMR month", keys, index=keys.index(request.month), format_func=months.get)
with right:
    window = st.number_input(
        "Rolling window (months)",
        min_value=1,
        max_value=120,
        value=request.window,
        help="How far back 'N of the last W months' looks.",
    )
shown = requests.OverviewRequest(month_key, int(window))
st.query_params.update(requests.overview_params(shown))

head, values = _headline(version, shown.month, shown.window)
st.subheader(f"{months[shown.month]} at a glance")
for column, (state, count) in zip(st.columns(len(head.counts)), head.counts.items()):
    column.metric(f"{words.STATUS_ICONS[state]} {words.STATUS_LABELS[state]}", f"{count:,}")
if head.attention:
    st.markdown(f"**Needs attention** ({len(head.attention)})")
    st.html(matrix_view.MATRIX_CSS + matrix_view.attention_html(head, requests.series_trend_link, shown.window))
else:
    st.success("Every figure met its target this month, and none is in doubt.")

st.subheader(f"Measures by provider, {months[shown.month]}")
matrix_html = _matrix(version, shown.month, shown.window)
st.html(matrix_html)
legend = " · ".join(f"{words.STATUS_ICONS[s]} {label}" for s, label in words.STATUS_LABELS.items())
st.caption(
    f"{legend} · 'N mo' = consecutive months below target · ⚠ figure flagged unreliable · "
    "select a cell for its trend; hover it for its levels, note, source and SPC reading"
)
with st.expander("How to read the SPC readings"):
    st.markdown("\n".join(f"- {ui.md_escape(line)}" for line in overview.spc_key()))
with st.expander("The month as a table (sorts by value, copyable)"):
    ui.table(values, hide_index=True, width="stretch")
if info.unverified_levels:
    st.caption(
        f"{info.unverified_levels} of {info.levels} service levels are not yet verified against the SEC or the "
        "Reported List (see the catalogue's source column); statuses against them are provisional."
    )
