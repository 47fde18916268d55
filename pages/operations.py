"""Operations: installations, Communications Hubs, exceptions, changes and problems, region by region."""

import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import operations as screen
from opsg_metrics.queries import operations, provenance
from opsg_metrics.render.charts import context as context_charts
from opsg_metrics.store import parse

info, version = ui.page_start("Operations")

REGION_PANELS = ["Installations (cumulative)", "CHs installed (cumulative)", "Installations in the month", "Exceptions"]
DCC_PANELS = ["Changes implemented", "Change success rate (%)", "Open problem tickets"]


@ui.cache_resource(show_spinner=False, max_entries=8)  # read-only: no copy per rerun
def _context(version):
    return requests.operations_context(ui.cursor())


@ui.cache_data(show_spinner="Gathering the operational figures…", max_entries=32)
def _view(version, regions, start, end):
    return operations.operations_view(ui.cursor(), list(regions), parse.parse_month(start), parse.parse_month(end))


@ui.cache_data(show_spinner=False, max_entries=16)
def _derived(version, regions, start, end):
    view = _view(version, regions, start, end)
    return operations.series(view), operations.installations_table(view), operations.dcc_table(view)


@ui.cache_data(show_spinner=False, max_entries=64)
def _provenance(version, ids):
    return provenance.provenance(ui.cursor(), list(ids))


context = _context(version)
if not context.months:
    st.info("No operational figures loaded yet. Load an ops file with `python -m opsg_metrics ingest FILE`.")
    st.stop()
request, warnings = requests.read_operations(ui.url_params(), context)
ui.warnings(warnings)
shown = screen.choices(request, context)
st.query_params.from_dict(requests.operations_params(shown))
regions, start_key, end_key = shown.regions, shown.start, shown.end
start, end = parse.parse_month(start_key), parse.parse_month(end_key)
if not regions:
    st.info("Choose at least one region.")
    st.stop()

view = _view(version, regions, start_key, end_key)

# --- the last month at a glance
screen.glance(f"{words.month_label(end)} at a glance", *operations.glance(view))

# --- installations, hubs and exceptions by region
st.subheader("Installations, Communications Hubs and exceptions by region")
series, installations_table, dcc_table = _derived(version, regions, start_key, end_key)
region_origin = _provenance(version, tuple(provenance.frame_source_ids(view.installations, view.exceptions)))
chart = ui.altair(
    ("ops-installations", version, regions, start_key, end_key),
    lambda: context_charts.small_multiples(
        series,
        panels=REGION_PANELS,
        start=start,
        end=end,
        title="Installations, Communications Hubs and exceptions by region",
        subtitle="Installations and CHs installed are cumulative, at the end of each month; installations in the month "
        "are the rise",
    ),
    width="stretch",
)
ui.chart_with_provenance("ops-installations", f"installations_{start_key}_to_{end_key}", chart, region_origin, end)

st.subheader("Exceptions as a proportion of installations")
st.caption(
    "Exceptions in the month ÷ installations made in the month (the rise in the cumulative installations "
    "figure) × 100; CSP C&S and All CSPs sum their regions in both. A missing figure, or no rise, gives no "
    "proportion (a gap, with the reason), never a zero."
)
chart = ui.altair(
    ("ops-exceptions", version, regions, start_key, end_key),
    lambda: context_charts.exceptions_chart(view.exceptions, regions=list(regions), start=start, end=end),
    width="stretch",
)
ui.chart_with_provenance(
    "ops-exceptions",
    f"exceptions-proportion_{start_key}_to_{end_key}",
    chart,
    region_origin,
    end,
    operations.gap_notes(view.exceptions, "exceptions_pct"),
)
with st.expander("Installations, CHs installed and exceptions, month by month", expanded=True):
    ui.number_table(installations_table)
    ui.csv_download(
        "Download these rows (CSV)",
        installations_table,
        f"installations-exceptions-{start_key}_to_{end_key}.csv",
        "csv-installations",
        region_origin.classification,
    )

# --- changes and problems
st.subheader("Changes and problems (DCC)")
dcc_origin = _provenance(version, tuple(provenance.frame_source_ids(view.dcc)))
chart = ui.altair(
    ("ops-changes", version, regions, start_key, end_key),
    lambda: context_charts.small_multiples(
        series, panels=DCC_PANELS, start=start, end=end, columns=3, width=165, title="Changes and problems (DCC)"
    ),
    width="stretch",
)
ui.chart_with_provenance("ops-changes", f"changes-problems_{start_key}_to_{end_key}", chart, dcc_origin, end)
with st.expander("Changes, change success rate and open problem tickets, month by month", expanded=True):
    ui.number_table(dcc_table)
    ui.csv_download(
        "Download these rows (CSV)",
        dcc_table,
        f"changes-problems-{start_key}_to_{end_key}.csv",
        "csv-dcc",
        dcc_origin.classification,
    )
