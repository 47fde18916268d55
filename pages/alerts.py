"""Alerts: volumes by code and region, per 1,000 installed Communications Hubs, and beside a measure."""

import streamlit as st

from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import alerts as screen
from opsg_metrics.queries import alerts, provenance
from opsg_metrics.queries import beside as beside_view
from opsg_metrics.store import parse

info, version = ui.page_start("Alerts")


@ui.cache_resource(show_spinner=False, max_entries=8)  # read-only: no copy per rerun
def _context(version):
    return requests.alerts_context(ui.cursor())


@ui.cache_data(show_spinner="Counting alerts…", max_entries=32)
def _volumes(version, regions, codes, start, end):
    return alerts.volumes(
        ui.cursor(), list(regions), parse.parse_month(start), parse.parse_month(end), codes=list(codes)
    )


@ui.cache_data(show_spinner=False, max_entries=32)
def _rates(version, regions, codes, start, end):
    return alerts.per_thousand_hubs(
        ui.cursor(), list(regions), parse.parse_month(start), parse.parse_month(end), codes=list(codes)
    )


@ui.cache_data(show_spinner="Lining up the alerts and the measure…", max_entries=32)
def _beside(version, region, measure, provider, start, end, code, basis):
    return beside_view.beside_measure(
        ui.cursor(),
        region=region,
        measure=measure,
        measure_provider=provider,
        start=parse.parse_month(start),
        end=parse.parse_month(end),
        code=code,
        basis=basis,
    )


@ui.cache_data(show_spinner=False, max_entries=32)
def _volumes_table(version, regions, codes, start, end):
    return alerts.volumes_table(_volumes(version, regions, codes, start, end))


@ui.cache_data(show_spinner=False, max_entries=32)
def _rates_table(version, regions, codes, start, end):
    return alerts.normalised_table(_rates(version, regions, codes, start, end))


@ui.cache_data(show_spinner=False, max_entries=32)
def _beside_texts(version, region, measure, provider, start, end, code, basis):
    view = _beside(version, region, measure, provider, start, end, code, basis)
    return beside_view.beside_table(view), beside_view.beside_finding(view)


@ui.cache_data(show_spinner=False, max_entries=64)
def _provenance(version, ids):
    return provenance.provenance(ui.cursor(), list(ids))


context = _context(version)
if not context.months:
    st.info("No alert volumes loaded yet. Load an alerts file with `python -m opsg_metrics ingest FILE`.")
    st.stop()
request, warnings = requests.read_alerts(ui.url_params(), context)
ui.warnings(warnings)
shown = screen.choices(request, context)
if not shown.regions or not shown.codes:
    st.query_params.from_dict(requests.alerts_params(shown))
    st.info("Choose at least one region and one alert code.")
    st.stop()
period = (version, shown.regions, shown.codes, shown.start, shown.end)

st.subheader("Alert volumes by code")
volumes = _volumes(*period)
if volumes.empty:
    st.info("No alert volumes for these regions, codes and months.")
else:
    screen.volumes(
        version,
        shown,
        volumes,
        _volumes_table(*period),
        _provenance(version, tuple(provenance.frame_source_ids(volumes))),
    )

rates = _rates(*period)
screen.rates(
    version, shown, rates, _rates_table(*period), _provenance(version, tuple(provenance.frame_source_ids(rates)))
)

st.subheader("Alerts beside a measure")
shown = screen.beside_choices(shown, context)
beside = (
    version,
    shown.beside_region,
    shown.measure,
    shown.measure_provider,
    shown.start,
    shown.end,
    shown.beside_code,
    shown.basis,
)
view = _beside(*beside)
table, finding = _beside_texts(*beside)
screen.beside(version, shown, view, table, finding, _provenance(version, tuple(view.source_ids())))
st.query_params.from_dict(requests.alerts_params(shown))
