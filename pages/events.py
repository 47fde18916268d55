"""Events: a PMR percentage recomputed from its request records: what was excluded, what the figure would be
without the exclusions, the response times, the days of the month, reconciled with the PMR."""

import streamlit as st

from opsg_metrics.app import event_requests, ui
from opsg_metrics.app.screens import events as screen
from opsg_metrics.queries import events, provenance
from opsg_metrics.render.charts import events as charts
from opsg_metrics.store.errors import OpsgError

info, version = ui.page_start("Measures from request records")


@ui.cache_data(show_spinner=False, max_entries=8)
def _loaded(version):
    return events.loaded(ui.cursor())


@ui.cache_resource(show_spinner="Counting the request records…", max_entries=32)
def _view(version, measure, provider, month, day):
    try:
        return events.events_view(ui.cursor(), month, measure, provider, day), None
    except OpsgError as exc:
        return None, str(exc)


@ui.cache_data(show_spinner=False, max_entries=64)
def _provenance(version, ids):
    return provenance.provenance(ui.cursor(), list(ids))


loaded = _loaded(version)
request, warnings = event_requests.read_events(ui.url_params(), loaded)
ui.warnings(warnings)
if request is None:
    st.info(
        "No request records loaded yet (or none your clearance admits). Load them with "
        "`python -m opsg_metrics events load FILE...`; `python -m opsg_metrics.sample --events` makes "
        "illustrative ones."
    )
    st.stop()
shown = screen.choices(request, loaded)
st.query_params.from_dict(event_requests.events_params(shown))
view, problem = _view(version, shown.measure, shown.provider, shown.month_date, shown.day_date)
if view is None or view.waterfall is None:
    st.error(problem or "No request records of this month and series.")
    st.stop()
origin, history = _provenance(version, view.source_ids), _provenance(version, view.history_source_ids)
stem = f"events-{shown.measure}-{shown.provider.replace(' ', '')}-{shown.month}"
key = (version, shown.measure, shown.provider, shown.month)

screen.reconciliation(view)
st.subheader("From requests received to requests within the target")
screen.chart((*key, "waterfall"), f"{stem}-waterfall", lambda: charts.waterfall_chart(view), origin, view.month)

st.subheader("What each exclusion hides")
st.caption("Each reason's requests counted as failures instead of left out: the figure it would give.")
ui.number_table(screen.sensitivity(view.sensitivity), height=40 + 35 * max(1, len(view.sensitivity)))

if view.distribution is not None:
    st.subheader("Response times")
    screen.chart((*key, "times"), f"{stem}-response-times", lambda: charts.distribution_chart(view), origin, view.month)
    ui.number_table(screen.percentiles(view), height=40 + 35 * 5)

if view.spc_result is not None:
    st.subheader("The exclusion rate, month by month")
    screen.chart((*key, "spc"), f"{stem}-exclusion-spc", lambda: charts.exclusion_spc_chart(view), history, view.month)
    screen.spc_reading(view)

st.subheader("Day by day")
screen.chart(
    (*key, "days", shown.day), f"{stem}-days", lambda: charts.days_chart(view, shown.day or None), origin, view.month
)
if shown.day:
    screen.day(view)
