"""Operations: installations, Communications Hubs, exceptions, changes and problems, region by region."""

import pandas as pd
import streamlit as st

from opsg_metrics.render.charts import context as context_charts
from opsg_metrics.render import files as export
from opsg_metrics.queries import operations
from opsg_metrics.store import parse
from opsg_metrics.queries import trends
from opsg_metrics.queries import provenance
from opsg_metrics.app import ui
from opsg_metrics import words

info, version = ui.page_start("Operations")

DEFAULT_REGIONS = ["CSP N", "CSP C", "CSP S"]
REGION_PANELS = ["Installations (cumulative)", "CHs installed (cumulative)", "Installations in the month", "Exceptions"]
DCC_PANELS = ["Changes implemented", "Change success rate (%)", "Open problem tickets"]


@ui.cache_data(show_spinner=False, max_entries=8)
def _months(version):
    return [words.month_key(m) for m in operations.ops_months(ui.cursor())]


@ui.cache_data(show_spinner=False, max_entries=64)
def _regions(version, texts):
    return operations.resolve_regions(ui.cursor(), list(texts))


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


def table_download(frame, file_name, key, ids):
    """The table's rows as CSV, marked with the classification of exactly their sources."""
    ui.csv_download("Download these rows (CSV)", frame, file_name, key, _provenance(version, ids).classification)


def number(value, fmt="{:,.0f}"):
    return "no figure" if value is None or pd.isna(value) else fmt.format(value)


months = _months(version)
if not months:
    st.info("No operational figures loaded yet. Load an ops file with `python -m opsg_metrics ingest FILE`.")
    st.stop()
query = st.query_params

regions, problems = _regions(version, tuple(query.get_all("provider")))
for problem in problems:
    st.warning(f"{ui.md_escape(problem)}. The rest of the link is shown.")
regions = regions or DEFAULT_REGIONS
start_key, end_key = ui.query_range(months, months[max(0, len(months) - 36)])

left, right = st.columns(2)
with left:
    regions = st.multiselect("Regions", list(operations.REGIONS), default=regions,
                             help="CSP C&S is CSP C + CSP S; All CSPs is N + C + S.")
with right:
    start_key, end_key = ui.month_slider(months, start_key, end_key)
st.query_params.from_dict({"provider": regions, "from": start_key, "to": end_key})
start, end = parse.parse_month(start_key), parse.parse_month(end_key)
if not regions:
    st.info("Choose at least one region.")
    st.stop()

view = _view(version, tuple(regions), start_key, end_key)

# --- the last month at a glance
st.subheader(f"{words.month_label(end)} at a glance")
last = view.dcc.iloc[-1]
before = view.dcc.iloc[-2] if len(view.dcc) > 1 else None
exceptions_now = view.exceptions[view.exceptions["month"] == pd.Timestamp(end)]
cards = st.columns(3)
for column, (label, field, fmt) in zip(cards, [("Changes implemented", "changes_implemented", "{:,.0f}"),
                                               ("Change success rate", "change_success_rate", "{:.1f}%"),
                                               ("Open problem tickets", "open_problem_tickets", "{:,.0f}")]):
    delta = None
    if before is not None and pd.notna(last[field]) and pd.notna(before[field]):
        delta = f"{last[field] - before[field]:+,.1f}" if "%" in fmt else f"{last[field] - before[field]:+,.0f}"
    column.metric(label, number(last[field], fmt), delta=delta, delta_color="off")
cards = st.columns(max(3, len(exceptions_now)))
for column, row in zip(cards, exceptions_now.itertuples()):
    column.metric(f"Exceptions, {row.region}", number(row.exceptions_pct, "{:.2f}%"),
                  help=ui.md_escape(f"{number(row.exceptions)} exceptions ÷ {number(row.installed_in_month)} "
                                    "installed in the month" + (f". {row.note}" if row.note else "")))

# --- installations, hubs and exceptions by region
st.subheader("Installations, Communications Hubs and exceptions by region")
series, installations_table, dcc_table = _derived(version, tuple(regions), start_key, end_key)
region_ids = tuple(operations.shown_source_ids(view.installations, view.exceptions))
chart = ui.altair(("ops-installations", version, tuple(regions), start_key, end_key), lambda: context_charts.small_multiples(
    series, panels=REGION_PANELS, start=start, end=end,
    title="Installations, Communications Hubs and exceptions by region",
    subtitle="Installations and CHs installed are cumulative, at the end of each month; installations in the month "
             "are the rise"), width="content")
ui.chart_with_provenance("ops-installations", f"installations_{start_key}_to_{end_key}", chart, _provenance(version, region_ids), end)

st.subheader("Exceptions as a proportion of installations")
st.caption("Exceptions in the month ÷ installations made in the month (the rise in the cumulative installations "
           "figure) × 100; CSP C&S and All CSPs sum their regions in both. A missing figure, or no rise, gives no "
           "proportion (a gap, with the reason), never a zero.")
chart = ui.altair(("ops-exceptions", version, tuple(regions), start_key, end_key), lambda: context_charts.exceptions_chart(
    view.exceptions, regions=regions, start=start, end=end), width="content")
ui.chart_with_provenance("ops-exceptions", f"exceptions-proportion_{start_key}_to_{end_key}", chart,
          _provenance(version, region_ids), end, operations.gap_notes(view.exceptions, "exceptions_pct"))
with st.expander("Installations, CHs installed and exceptions, month by month", expanded=True):
    table = installations_table
    ui.number_table(table)
    table_download(table, f"installations-exceptions-{start_key}_to_{end_key}.csv", "csv-installations", region_ids)

# --- changes and problems
st.subheader("Changes and problems (DCC)")
dcc_ids = tuple(operations.shown_source_ids(view.dcc))
chart = ui.altair(("ops-changes", version, tuple(regions), start_key, end_key), lambda: context_charts.small_multiples(
    series, panels=DCC_PANELS, start=start, end=end, columns=3, width=165, title="Changes and problems (DCC)"),
    width="content")
ui.chart_with_provenance("ops-changes", f"changes-problems_{start_key}_to_{end_key}", chart, _provenance(version, dcc_ids), end)
with st.expander("Changes, change success rate and open problem tickets, month by month", expanded=True):
    table = dcc_table
    ui.number_table(table)
    table_download(table, f"changes-problems-{start_key}_to_{end_key}.csv", "csv-dcc", dcc_ids)
