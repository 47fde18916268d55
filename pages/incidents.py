"""Incidents: opened and resolved by category and provider, major incidents, time to resolve
against CPM4/CPM5, aged open incidents and RDP incidents, with exports (UI only)."""

from dataclasses import replace

import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import incidents as screen
from opsg_metrics.queries import incident_views as views
from opsg_metrics.queries import incidents as inc
from opsg_metrics.render import files as export
from opsg_metrics.store import parse
from opsg_metrics.store.errors import OpsgError

info, version = ui.page_start("Incidents")


@ui.cache_resource(show_spinner=False, max_entries=8)  # read-only: no copy per rerun
def _context(version):
    return requests.incidents_context(ui.cursor())


@ui.cache_data(show_spinner=False, max_entries=32)
def _months_below(version, measure, provider, level, start, end):
    months = inc.months_below(ui.cursor(), measure, provider, level, parse.parse_month(start), parse.parse_month(end))
    return tuple(words.month_key(m) for m in months)


@ui.cache_data(show_spinner="Counting incidents…", max_entries=16)
def _data(version, key):
    return views.incident_views(ui.cursor(), views.incident_filter(*key))


@ui.cache_data(show_spinner=False, max_entries=16)
def _tables(version, key, providers):
    return views.incident_tables(_data(version, key), views.incident_filter(*key), providers)


@ui.cache_data(show_spinner=False, max_entries=64)
def _provenance(version, key, view):
    return views.view_provenance(ui.cursor(), views.incident_filter(*key), view)


@ui.cache_data(show_spinner=False, max_entries=32)
def _export(version, key, view, by, subtitle, fmt, layout, signed):
    return export.export_chart(
        screen.chart(_data(version, key), views.incident_filter(*key), view, by, _context(version).providers, subtitle),
        _provenance(version, key, view),
        fmt,
        pmr_month=parse.parse_month(key[1]),
        exported_by=signed[0],
        layout=layout,
    )


context = _context(version)
if not context.providers:
    st.info("No incidents loaded yet. Load an incident log with `python -m opsg_metrics ingest FILE`.")
if not context.months:
    st.stop()
request, warnings = requests.read_incidents(ui.url_params(), context)
ui.warnings(warnings)
shown = screen.choices(request, context)
st.query_params.from_dict(requests.incidents_params(shown))

restricted, restriction = None, ""
if shown.measure:
    try:
        restricted = _months_below(version, shown.measure, shown.measure_provider, shown.below, shown.start, shown.end)
    except OpsgError as exc:
        st.warning(ui.md_escape(str(exc)))
        st.stop()
    restriction = views.restriction_text(shown.measure, shown.measure_provider, shown.below)
    if not restricted:
        st.info(
            ui.md_escape(
                views.never_below(
                    shown.measure,
                    shown.measure_provider,
                    shown.below,
                    parse.parse_month(shown.start),
                    parse.parse_month(shown.end),
                )
            )
        )
        st.stop()

key = (shown.start, shown.end, shown.providers, shown.categories, shown.search, restricted)
f = views.incident_filter(*key)
data = _data(version, key)
subtitle = views.filter_description(f, every_provider=context.providers, restriction=restriction)
tables = _tables(version, key, shown.providers or context.providers)
shown_views = screen.Views(
    version,
    key,
    chart=lambda view, by, subtitle: screen.chart(data, f, view, by, context.providers, subtitle),
    export=lambda view, by, subtitle, fmt, layout, signed=ui.signed(): _export(
        version, key, view, by, subtitle, fmt, layout, signed
    ),
    provenance=lambda view: _provenance(version, key, view),
)

screen.headline(
    views.headline(data, tables),
    views.majors_sentence(
        len(data.majors),
        shown.providers,
        [parse.parse_month(m) for m in restricted],
        shown.measure,
        shown.measure_provider,
        shown.below,
    )
    if restricted
    else None,
)
by = screen.opened(shown_views, tables, shown.by, subtitle)
st.query_params.update(requests.incidents_params(replace(shown, by=by)))
screen.majors(shown_views, tables)
screen.resolution(shown_views, tables, views.unverified_times(data.times), shown.providers, by, subtitle)
screen.aged(shown_views, tables, f)
screen.rdp(shown_views, tables, by, views.months_description(f, restriction))
