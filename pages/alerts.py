"""Alerts: volumes by code and region, per 1,000 installed Communications Hubs, and beside a measure."""

import pandas as pd
import streamlit as st

from opsg_metrics.queries import alerts
from opsg_metrics.render.charts import context as context_charts
from opsg_metrics.render import files as export
from opsg_metrics.queries import operations
from opsg_metrics.store import parse
from opsg_metrics.queries import trends
from opsg_metrics.store import catalogue
from opsg_metrics.queries import provenance
from opsg_metrics.app import ui
from opsg_metrics import words

info, version = ui.page_start("Alerts")

DEFAULT_REGIONS = ["CSP N", "CSP C", "CSP S"]


@ui.cache_data(show_spinner=False, max_entries=8)
def _options(version):
    cur = ui.cursor()
    months = [words.month_key(m) for m in alerts.alert_months(cur)]
    return months, alerts.alert_codes(cur), catalogue.measure_options(cur), alerts.top_codes(cur)


@ui.cache_data(show_spinner=False, max_entries=64)
def _regions(version, texts):
    return operations.resolve_regions(ui.cursor(), list(texts))


@ui.cache_data(show_spinner=False, max_entries=64)
def _measure(version, measure, provider):
    return catalogue.resolve_selection(ui.cursor(), [measure], [provider] if provider else [])


@ui.cache_data(show_spinner=False, max_entries=64)
def _providers_for(version, measure):
    return catalogue.providers_for(ui.cursor(), [measure])


@ui.cache_data(show_spinner="Counting alerts…", max_entries=32)
def _volumes(version, regions, codes, start, end):
    return alerts.volumes(ui.cursor(), list(regions), parse.parse_month(start), parse.parse_month(end), codes=list(codes))


@ui.cache_data(show_spinner=False, max_entries=32)
def _rates(version, regions, codes, start, end):
    return alerts.per_thousand_hubs(ui.cursor(), list(regions), parse.parse_month(start), parse.parse_month(end),
                                    codes=list(codes))


@ui.cache_data(show_spinner="Lining up the alerts and the measure…", max_entries=32)
def _beside(version, region, measure, provider, start, end, code, basis):
    return alerts.beside_measure(ui.cursor(), region=region, measure=measure, measure_provider=provider,
                                 start=parse.parse_month(start), end=parse.parse_month(end), code=code, basis=basis)


@ui.cache_data(show_spinner=False, max_entries=32)
def _volumes_table(version, regions, codes, start, end):
    return alerts.volumes_table(_volumes(version, regions, codes, start, end))


@ui.cache_data(show_spinner=False, max_entries=32)
def _rates_table(version, regions, codes, start, end):
    return alerts.normalised_table(_rates(version, regions, codes, start, end))


@ui.cache_data(show_spinner=False, max_entries=32)
def _beside_texts(version, region, measure, provider, start, end, code, basis):
    view = _beside(version, region, measure, provider, start, end, code, basis)
    return alerts.beside_table(view), alerts.beside_finding(view)


@ui.cache_data(show_spinner=False, max_entries=64)
def _provenance(version, ids):
    return provenance.provenance(ui.cursor(), list(ids))


def table_download(label, frame, file_name, key, origin):
    """The table's rows as CSV, marked with the classification of exactly their sources (the chart's)."""
    ui.csv_download(label, frame, file_name, key, origin.classification)


months, codes_loaded, measure_names, codes_default = _options(version)
if not months:
    st.info("No alert volumes loaded yet. Load an alerts file with `python -m opsg_metrics ingest FILE`.")
    st.stop()
query = st.query_params

# --- the view asked for by the link, checked before the widgets use it
regions, problems = _regions(version, tuple(query.get_all("provider")))
asked_codes = query.get_all("code")
codes, code_problems = alerts.resolve_codes(codes_loaded, asked_codes)
for problem in problems + code_problems:
    st.warning(f"{ui.md_escape(problem)}. The rest of the link is shown.")
regions = regions or DEFAULT_REGIONS
codes = codes or codes_default
start_key, end_key = ui.query_range(months, months[max(0, len(months) - 60)])

left, right = st.columns(2)
with left:
    regions = st.multiselect("Regions", list(operations.REGIONS), default=regions,
                             help="CSP C&S is CSP C + CSP S; All CSPs is N + C + S.")
with right:
    codes = st.multiselect("Alert codes", codes_loaded, default=codes)
start_key, end_key = ui.month_slider(months, start_key, end_key)
start, end = parse.parse_month(start_key), parse.parse_month(end_key)

# --- the beside view's choices
asked_measure = query.get("measure", "PM2")
asked_provider = query.get("measure_provider")
found, found_providers, measure_problems = _measure(version, asked_measure, asked_provider)
for problem in measure_problems:
    st.warning(f"{ui.md_escape(problem)}. The rest of the link is shown.")
measure = found[0] if found else "PM2" if "PM2" in measure_names else next(iter(measure_names))
measure_providers = _providers_for(version, measure)
measure_provider = found_providers[0] if found_providers else None
if measure_provider not in measure_providers:
    fallback = "CSP N" if "CSP N" in measure_providers else measure_providers[0]
    if measure_provider is not None:
        st.warning(f"{measure} is not reported for {ui.md_escape(measure_provider)}; showing {fallback}.")
    measure_provider = fallback
region_texts = query.get_all("region")
beside_region = alerts.regions_for_measure_provider(measure_provider)
if region_texts:
    chosen, region_problems = _regions(version, tuple(region_texts[:1]))
    for problem in region_problems:
        st.warning(f"{ui.md_escape(problem)}; showing {beside_region}.")
    beside_region = chosen[0] if chosen else beside_region
code_options = [alerts.ALL_CODES, *codes_loaded]
beside_code = query.get("beside_code", alerts.ALL_CODES)
beside_code = alerts.ALL_CODES if beside_code.lower() == alerts.ALL_CODES else beside_code
if beside_code != alerts.ALL_CODES:
    found_codes, bad = alerts.resolve_codes(codes_loaded, [beside_code])
    for problem in bad:
        st.warning(f"{ui.md_escape(problem)}; showing all codes beside the measure.")
    beside_code = found_codes[0] if found_codes else alerts.ALL_CODES
basis = ui.query_choice("basis", list(alerts.BASES), "per1000")

if not regions or not codes:
    st.query_params.from_dict({"provider": regions, "code": codes, "from": start_key, "to": end_key})
    st.info("Choose at least one region and one alert code.")
    st.stop()

# --- volumes by code
st.subheader("Alert volumes by code")
volumes = _volumes(version, tuple(regions), tuple(codes), start_key, end_key)
if volumes.empty:
    st.info("No alert volumes for these regions, codes and months.")
else:
    shown = [r for r in regions if r in set(volumes["region"])]
    chart = ui.altair(("alert-volumes", version, tuple(regions), tuple(codes), start_key, end_key),
                      lambda: context_charts.alert_volume_chart(volumes, regions=shown, codes=codes, start=start,
                                                                end=end), width="content")
    origin = _provenance(version, tuple(alerts.shown_source_ids(volumes)))
    ui.chart_with_provenance("alert-volumes", f"alert-volumes_{start_key}_to_{end_key}", chart, origin, end)
    with st.expander("Volumes, devices, first-time devices, share and month-on-month change", expanded=True):
        st.caption("Share: the code's part of every alert of the region that month (whatever codes are selected). "
                   "Change: on the previous month; no percentage from zero or from a month without a figure.")
        table = _volumes_table(version, tuple(regions), tuple(codes), start_key, end_key)
        ui.number_table(table)
        table_download("Download these rows (CSV)", table, f"alert-volumes-{start_key}_to_{end_key}.csv",
                       "csv-volumes", origin)

# --- normalised
st.subheader("Alerts per 1,000 installed Communications Hubs")
st.caption("Alerts of the selected codes in the month ÷ Communications Hubs installed at the end of the month "
           "× 1,000. CSP C&S = (alerts of C + S) ÷ (CHs of C + S); All CSPs likewise over N, C and S. "
           "A missing or zero hub figure gives no rate (a gap), never a zero.")
rates = _rates(version, tuple(regions), tuple(codes), start_key, end_key)
chart = ui.altair(("alert-rates", version, tuple(regions), tuple(codes), start_key, end_key),
                  lambda: context_charts.normalised_chart(rates, regions=regions, start=start, end=end), width="content")
origin = _provenance(version, tuple(alerts.shown_source_ids(rates)))
ui.chart_with_provenance("alerts-per-hub", f"alerts-per-1000-CHs_{start_key}_to_{end_key}", chart, origin, end,
          operations.gap_notes(rates, "per_1000_chs"))
gaps = rates[rates["per_1000_chs"].isna()]
if not gaps.empty:
    reasons = sorted(set(gaps["region"] + ": " + gaps["note"]))
    st.info(f"{len(gaps)} region-month{'s have' if len(gaps) != 1 else ' has'} no rate: "
            + ui.md_escape("; ".join(reasons[:6]) + (" …" if len(reasons) > 6 else "")))
with st.expander("Alerts, CHs installed and the rate, month by month"):
    table = _rates_table(version, tuple(regions), tuple(codes), start_key, end_key)
    ui.number_table(table)
    table_download("Download these rows (CSV)", table, f"alerts-per-1000-CHs-{start_key}_to_{end_key}.csv",
                   "csv-rates", origin)

# --- beside a measure
st.subheader("Alerts beside a measure")
row1 = st.columns([1, 1, 2])
with row1[0]:
    beside_code = st.selectbox("Alert code", code_options, index=code_options.index(beside_code),
                               format_func=lambda c: "All codes" if c == alerts.ALL_CODES else c)
with row1[1]:
    beside_region = st.selectbox("Alert region", list(operations.REGIONS),
                                 index=list(operations.REGIONS).index(beside_region))
with row1[2]:
    basis = st.radio("Alerts as", list(alerts.BASES), index=list(alerts.BASES).index(basis),
                     format_func=alerts.BASES.get, horizontal=True)
row2 = st.columns([2, 1])
with row2[0]:
    names = list(measure_names)
    measure = st.selectbox("Measure", names, index=names.index(measure), format_func=measure_names.get)
with row2[1]:
    measure_providers = _providers_for(version, measure)
    measure_provider = st.selectbox("Measure provider", measure_providers,
                                    index=measure_providers.index(measure_provider)
                                    if measure_provider in measure_providers else 0)
view = _beside(version, beside_region, measure, measure_provider, start_key, end_key, beside_code, basis)
chart = ui.altair(("alert-beside", version, beside_region, measure, measure_provider, start_key, end_key, beside_code,
                   basis), lambda: context_charts.beside_chart(view), width="content")
beside_table, beside_finding = _beside_texts(version, beside_region, measure, measure_provider, start_key, end_key,
                                            beside_code, basis)
st.info(ui.md_escape(beside_finding))
origin = _provenance(version, tuple(view.source_ids()))
ui.chart_with_provenance("alerts-beside", f"alerts-beside-{measure}_{start_key}_to_{end_key}", chart, origin, end,
          operations.gap_notes(view.alerts.assign(region=beside_region), "value"))
with st.expander("The two series month by month"):
    table = beside_table
    ui.number_table(table)
    table_download("Download these rows (CSV)", table,
                   f"alerts-beside-{measure}-{export.slug(measure_provider)}-{start_key}_to_{end_key}.csv",
                   "csv-beside", origin)

st.query_params.from_dict({
    "provider": regions, "code": codes if codes != codes_default else [], "from": start_key, "to": end_key,
    "beside_code": beside_code, "region": beside_region, "basis": basis, "measure": measure,
    "measure_provider": measure_provider,
})
