"""Trends: measures over time against their target and minimum, region by region, with exports."""

import streamlit as st

from opsg_metrics.app import requests, ui
from opsg_metrics.app.screens import commentary as notes
from opsg_metrics.app.screens import trends as screen
from opsg_metrics.queries import record
from opsg_metrics.render import files as export
from opsg_metrics.render.charts import views
from opsg_metrics.store import parse

info, version = ui.page_start("Trends")
notes.flash()  # what a write on this page said, before it ran the page again


@ui.cache_resource(show_spinner=False, max_entries=8)  # read-only: no copy per rerun
def _context(version):
    return requests.trends_context(ui.cursor())


@ui.cache_resource(show_spinner="Drawing the chart…", max_entries=32)
def _view(version, measure, providers, start, end, window, incidents, annotations, y_scale):
    return views.trend_view(
        ui.cursor(),
        measure,
        list(providers),
        parse.parse_month(start),
        parse.parse_month(end),
        window=window,
        show_incidents=incidents,
        show_annotations=annotations,
        y_scale=y_scale,
    )


@ui.cache_resource(show_spinner="Working out the process limits…", max_entries=32)
def _spc_view(version, measure, providers, start, end, baseline, rebases):
    return views.spc_view(
        ui.cursor(),
        measure,
        list(providers),
        parse.parse_month(start),
        parse.parse_month(end),
        baseline=baseline or None,
        use_rebases=rebases,
    )


@ui.cache_data(show_spinner=False, max_entries=64)
def _spc_export(version, measure, providers, start, end, baseline, rebases, fmt, layout, signed):
    view = _spc_view(version, measure, providers, start, end, baseline, rebases)
    return export.export_spc_view(view, fmt, exported_by=signed[0], layout=layout)[1]


@ui.cache_data(show_spinner=False, max_entries=64)
def _export(version, measure, providers, start, end, window, incidents, annotations, y_scale, fmt, layout, signed):
    view = _view(version, measure, providers, start, end, window, incidents, annotations, y_scale)
    return export.export_view(view, fmt, exported_by=signed[0], layout=layout)[1]


@ui.cache_resource(show_spinner=False, max_entries=16)  # read-only: no copy per rerun
def _notes(version, month_key):
    return record.month_notes(ui.cursor(), parse.parse_month(month_key))


context = _context(version)
request, warnings = requests.read_trends(ui.url_params(), context)
ui.warnings(warnings)
shown = screen.choices(request, context)
st.query_params.from_dict(requests.trends_params(shown))

if not shown.measures or not shown.providers:
    st.info("Choose at least one measure and one provider.")
    st.stop()

shown_for = screen.shown_for(shown, context)
signed = ui.signed()  # who exports, and when: named on exports above WHITE
if shown.spc:
    screen.spc_charts(version, shown, shown_for, _spc_view, lambda *key: _spc_export(*key, signed))
else:
    screen.trend_charts(version, shown, shown_for, _view, lambda *key: _export(*key, signed))

screen.commentary(shown, context, ui.person(), lambda month_key: _notes(version, month_key))
st.divider()
screen.month_pack(list(context.months))
