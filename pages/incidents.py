"""Incidents: opened and resolved by category and provider, major incidents, time to resolve
against CPM4/CPM5, aged open incidents and RDP incidents, with exports (UI only)."""

import streamlit as st

from opsg_metrics.render import files as export
from opsg_metrics.render.charts import incidents as incident_charts
from opsg_metrics.store import parse
from opsg_metrics.queries import trends
from opsg_metrics.store import catalogue
from opsg_metrics.app import ui
from opsg_metrics.queries import incidents as inc
from opsg_metrics.store.errors import OpsgError
from opsg_metrics import words

info, version = ui.page_start("Incidents")

EVERY_MONTH = ""
LEVEL_WORDS = {"target": "below target", "minimum": "below minimum"}
BY_WORDS = {"category": "Category", "provider": "Provider"}


@ui.cache_data(show_spinner=False, max_entries=8)
def _options(version):
    cur = ui.cursor()
    return ([words.month_key(m) for m in inc.incident_months(cur)], inc.incident_providers(cur),
            catalogue.measure_options(cur))


@ui.cache_data(show_spinner=False, max_entries=64)
def _providers_for(version, measure):
    return catalogue.providers_for(ui.cursor(), [measure])


@ui.cache_data(show_spinner=False, max_entries=64)
def _resolve(version, measures, providers):
    return catalogue.resolve_selection(ui.cursor(), list(measures), list(providers))


@ui.cache_data(show_spinner=False, max_entries=32)
def _months_below(version, measure, provider, level, start, end):
    months = inc.months_below(ui.cursor(), measure, provider, level, parse.parse_month(start), parse.parse_month(end))
    return tuple(words.month_key(m) for m in months)


def _filter(key) -> inc.IncidentFilter:
    start, end, providers, categories, search, months = key
    return inc.IncidentFilter(parse.parse_month(start), parse.parse_month(end), providers, categories, search,
                              None if months is None else tuple(parse.parse_month(m) for m in months))


@ui.cache_data(show_spinner="Counting incidents…", max_entries=16)
def _data(version, key):
    cur, f = ui.cursor(), _filter(key)
    return {
        "counts": inc.monthly_counts(cur, f),
        "majors": inc.incident_list(cur, f, major_only=True),
        "aged": inc.aged_open(cur, f),
        "by_category": inc.resolution_by_category(cur, f),
        "against": inc.resolution_against_cpm(cur, f),
        "rdp": inc.rdp_incidents(cur, f),
        "times": inc.resolution_times(),
    }


@ui.cache_data(show_spinner=False, max_entries=16)
def _tables(version, key, providers):
    data, f = _data(version, key), _filter(key)
    return {
        "months": inc.monthly_table(data["counts"], f.period_months()),
        "providers": inc.provider_table(data["counts"], list(providers)),
        "majors": inc.incident_table(data["majors"]),
        "resolution": inc.resolution_table(data["against"]),
        "aged": inc.aged_table(data["aged"]),
        "rdp": inc.rdp_table(data["rdp"]) if not data["rdp"].empty else None,
    }


@ui.cache_data(show_spinner=False, max_entries=64)
def _provenance(version, key, view):
    return inc.view_provenance(ui.cursor(), _filter(key), view)


def _chart(version, key, view, by, subtitle):
    data, f = _data(version, key), _filter(key)
    if view == "opened":
        return incident_charts.opened_chart(data["counts"], f.period_months(), by=by, providers=providers_all,
                                            title="Incidents opened per month, and resolved", subtitle=subtitle)
    if view == "resolution":
        return incident_charts.resolution_chart(data["against"], subtitle=subtitle)
    return incident_charts.rdp_chart(data["rdp"], subtitle=subtitle)


@ui.cache_data(show_spinner=False, max_entries=32)
def _export(version, key, view, by, subtitle, fmt):
    return export.export_chart(_chart(version, key, view, by, subtitle), _provenance(version, key, view), fmt,
                               pmr_month=parse.parse_month(key[1]))


def _show_chart(view, by, subtitle, stem):
    ui.altair(("incidents", version, key, view, by, subtitle), lambda: _chart(version, key, view, by, subtitle))
    st.caption(ui.md_escape(" · ".join(_provenance(version, key, view).footer_lines(None))))
    ui.chart_downloads(f"download-{view}", f"{stem}_{key[0]}_to_{key[1]}",
                       lambda fmt: _export(version, key, view, by, subtitle, fmt))


def _csv_button(table, name, view, label="Download CSV"):
    """The table's rows as CSV, marked with the classification of the view they come from."""
    ui.csv_download(label, table, f"opsg-{name}_{key[0]}_to_{key[1]}.csv", f"csv-{name}",
                    _provenance(version, key, view).classification)


months, providers_all, measure_names = _options(version)
if not providers_all:
    st.info("No incidents loaded yet. Load an incident log with `python -m opsg_metrics ingest FILE`.")
if not months:
    st.stop()
query = st.query_params

# --- the view asked for by the link, checked before the widgets use it
default_start = months[max(0, len(months) - 12)]
start_key, end_key = ui.query_range(months, default_start)

asked_measure = query.get("measure")
_, asked_providers, problems = _resolve(version, (), tuple(query.get_all("provider")))
for problem in problems:
    st.warning(f"{ui.md_escape(problem)}. The rest of the link is shown.")
for provider in [p for p in asked_providers if p not in providers_all]:
    st.warning(f"No incidents are recorded for provider '{ui.md_escape(provider)}'; it is left out.")
asked_providers = [p for p in asked_providers if p in providers_all]

asked_categories = []
for text in query.get_all("category"):
    if text.strip() in {"1", "2", "3", "4", "5"}:
        asked_categories.append(int(text))
    else:
        st.warning(f"The link asks for category '{ui.md_escape(text)}', which is not an incident category (1 to 5); "
                   "it is left out.")
asked_categories = sorted(set(asked_categories))

restrict_measure, restrict_provider = EVERY_MONTH, None
if asked_measure:
    found, _, problems = _resolve(version, (asked_measure,), ())
    if problems or not found:
        st.warning(f"{ui.md_escape(problems[0]) if problems else 'Unknown measure'}; showing every month instead.")
    else:
        restrict_measure = found[0]
        series_providers = _providers_for(version, restrict_measure)
        asked = query.get("measure_provider")
        _, named, problems = _resolve(version, (), (asked,)) if asked else ((), [], [])
        if problems or (named and named[0] not in series_providers):
            problem = problems[0] if problems else f"{restrict_measure} is not reported for {named[0]}"
            st.warning(f"{ui.md_escape(problem)}; showing {ui.md_escape(restrict_measure)} "
                       f"({ui.md_escape(series_providers[0])}) instead.")
            named = []
        restrict_provider = named[0] if named else series_providers[0]
level = ui.query_choice("below", list(LEVEL_WORDS), "target")
by = ui.query_choice("by", list(BY_WORDS), "category")

# --- the widgets
start_key, end_key = ui.month_slider(months, start_key, end_key, "Period")
left, middle, right = st.columns([2, 2, 2])
with left:
    providers = st.multiselect("Providers", providers_all, default=asked_providers, placeholder="All providers")
with middle:
    categories = st.multiselect("Categories", [1, 2, 3, 4, 5], default=asked_categories,
                                format_func=lambda c: f"Category {c}" + (" (major)" if c <= 2 else ""),
                                placeholder="All categories")
with right:
    search = st.text_input("Search id or title", value=query.get("q", ""), placeholder="e.g. INC000000526144, firmware")

with st.expander("Only the months when a measure missed its level", expanded=bool(restrict_measure)):
    columns = st.columns([3, 2, 2])
    with columns[0]:
        measure_options = [EVERY_MONTH, *measure_names]
        restrict_measure = st.selectbox(
            "Only months when", measure_options, index=measure_options.index(restrict_measure),
            format_func=lambda m: "(every month)" if m == EVERY_MONTH else measure_names[m])
    if restrict_measure:
        series_providers = _providers_for(version, restrict_measure)
        with columns[1]:
            restrict_provider = st.selectbox(
                "for provider", series_providers,
                index=series_providers.index(restrict_provider) if restrict_provider in series_providers else 0)
        with columns[2]:
            level = st.radio("was", list(LEVEL_WORDS), index=list(LEVEL_WORDS).index(level),
                             format_func=LEVEL_WORDS.get, horizontal=True)

state = {"from": start_key, "to": end_key, "provider": providers, "category": [str(c) for c in categories],
         "by": by}
if search.strip():
    state["q"] = search.strip()
if restrict_measure:
    state.update({"measure": restrict_measure, "measure_provider": restrict_provider, "below": level})
st.query_params.from_dict(state)

restricted_months, restriction = None, ""
if restrict_measure:
    try:
        restricted_months = _months_below(version, restrict_measure, restrict_provider, level, start_key, end_key)
    except OpsgError as exc:
        st.warning(ui.md_escape(str(exc)))
        st.stop()
    restriction = f"months when {restrict_measure} ({restrict_provider}) was {LEVEL_WORDS[level]}"
    if not restricted_months:
        st.info(f"{ui.md_escape(restrict_measure)} ({ui.md_escape(restrict_provider)}) was never "
                f"{LEVEL_WORDS[level]} from {words.month_label(parse.parse_month(start_key))} to "
                f"{words.month_label(parse.parse_month(end_key))}, so there is nothing to show. "
                "Choose another period or level.")
        st.stop()

key = (start_key, end_key, tuple(providers), tuple(categories), search.strip(), restricted_months)
f = _filter(key)
data = _data(version, key)
subtitle = inc.filter_description(f, every_provider=providers_all, restriction=restriction)
tables = _tables(version, key, tuple(providers or providers_all))
months_table = tables["months"]

# --- headline figures
opened, majors = int(months_table["Opened"].sum()), len(data["majors"])
figures = st.columns(4)
figures[0].metric("Incidents opened", f"{opened:,}")
figures[1].metric("Major incidents opened (Cat 1–2)", f"{majors:,}")
figures[2].metric("Incidents resolved", f"{int(months_table['Resolved'].sum()):,}")
figures[3].metric("Open at the end of the period", f"{len(data['aged']):,}")
if restricted_months:
    shown = f"in {', '.join(providers)}" if providers else "across all providers"
    st.markdown(ui.md_escape(
        f"{majors} major incident{'s' if majors != 1 else ''} (Category 1–2) opened {shown} in the "
        f"{len(restricted_months)} month{'s' if len(restricted_months) != 1 else ''} {restrict_measure} "
        f"({restrict_provider}) was {LEVEL_WORDS[level]}: "
        f"{inc.month_ranges(parse.parse_month(m) for m in restricted_months)}."))

# --- opened and resolved per month
st.subheader("Incidents opened and resolved per month")
by = st.radio("Colour the bars by", list(BY_WORDS), index=list(BY_WORDS).index(by), format_func=BY_WORDS.get,
              horizontal=True)
st.query_params["by"] = by
_show_chart("opened", by, subtitle, "incidents-opened")
per_month, per_provider = st.tabs(["Per month", "Per provider"])
with per_month:
    st.dataframe(months_table, hide_index=True, width="stretch")
    _csv_button(months_table, "incidents-per-month", "opened")
with per_provider:
    provider_table = tables["providers"]
    st.dataframe(provider_table, hide_index=True, width="stretch")
    _csv_button(provider_table, "incidents-per-provider", "opened")

DATETIME = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")

# --- major incidents
st.subheader("Major incidents (Category 1–2)")
st.caption("Opened in the period. Durations run to the resolution, or to the end of the period for an incident "
           "still open then.")
majors_table = tables["majors"]
if majors_table.empty:
    st.info("No major incidents in this view.")
else:
    st.dataframe(majors_table, hide_index=True, width="stretch",
                 column_config={"Opened": DATETIME, "Resolved": DATETIME,
                                "Duration (hours)": st.column_config.NumberColumn(format="%.1f"),
                                "Duration (days)": st.column_config.NumberColumn(format="%.2f")})
    _csv_button(majors_table, "major-incidents", "majors")

# --- time to resolve
st.subheader("Time to resolve, against CPM4 and CPM5")
times = data["times"]
if not times["verified"].all():
    st.warning(
        "The Target Resolution Times used here are **placeholders** to verify against SEC Section H: "
        + ui.md_escape(", ".join(f"Category {int(t.category)}: {t.target_hours:g} h"
                                 for t in times.itertuples() if not t.verified))
        + ". The shares computed from the incident log count elapsed hours; DCC's CPM4 and CPM5 are the reported "
        "figures.", icon=":material/rule:")
by_category = data["by_category"].rename(columns={
    "category": "Category", "measure": "Measure", "target_hours": "TRT (hours)", "verified": "TRT verified",
    "resolved": "Resolved", "within_trt": "Within TRT", "share_within": "Within TRT (%)",
    "median_hours": "Median hours", "max_hours": "Longest (hours)", "open_at_end": "Open at end",
    "open_past_trt": "Open past TRT"})
st.dataframe(by_category, hide_index=True, width="stretch")
_csv_button(by_category, "time-to-resolve-by-category", "resolution")
if providers:
    st.caption(ui.md_escape(f"The shares count {', '.join(providers)} only; CPM4 and CPM5 cover every provider."))
_show_chart("resolution", by, subtitle, "incidents-resolution")
resolution_table = tables["resolution"]
st.dataframe(resolution_table, hide_index=True, width="stretch")
_csv_button(resolution_table, "resolution-vs-cpm4-cpm5", "resolution")

# --- aged open incidents
st.subheader("Open at the end of the period")
st.caption(f"Incidents still open at the end of {words.month_label(f.end)}, oldest first, however long ago opened.")
aged_table = tables["aged"]
if aged_table.empty:
    st.info("No incident in this view was open at the end of the period.")
else:
    st.dataframe(aged_table, hide_index=True, width="stretch", column_config={"Opened": DATETIME})
    _csv_button(aged_table, "open-incidents", "aged")

# --- RDP
st.subheader("Registration Data Provider (RDP) incidents")
if data["rdp"].empty:
    st.info("No RDP incident figures for these months.")
else:
    period = inc.filter_description(inc.IncidentFilter(f.start, f.end), restriction=restriction).split(" · ", 1)[1]
    _show_chart("rdp", by, f"From the operational figures DCC reports each month · {period}", "rdp-incidents")
    rdp_table = tables["rdp"]
    st.dataframe(rdp_table, hide_index=True, width="stretch")
    _csv_button(rdp_table, "rdp-incidents", "rdp")
