"""The Alerts page's layout: its choices, the volumes by code, the alerts per 1,000 hubs, and alerts beside a
measure, each chart with its provenance, its table and its downloads."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from opsg_metrics.app import ui
from opsg_metrics.app.requests import AlertsContext, AlertsRequest
from opsg_metrics.queries import alerts, operations
from opsg_metrics.queries.beside import BesideView
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.render import files as export
from opsg_metrics.render.charts import beside as beside_charts
from opsg_metrics.render.charts import context as context_charts
from opsg_metrics.store import parse

REGIONS_HELP = "CSP C&S is CSP C + CSP S; All CSPs is N + C + S."


def choices(request: AlertsRequest, context: AlertsContext) -> AlertsRequest:
    """The regions, codes and months, set from the request: what the volumes and rates now show."""
    left, right = st.columns(2)
    with left:
        regions = st.multiselect("Regions", list(operations.REGIONS), default=list(request.regions), help=REGIONS_HELP)
    with right:
        codes = st.multiselect("Alert codes", list(context.codes), default=list(request.codes))
    start, end = ui.month_slider(list(context.months), request.start, request.end)
    return replace(request, regions=tuple(regions), codes=tuple(codes), start=start, end=end)


def beside_choices(request: AlertsRequest, context: AlertsContext) -> AlertsRequest:
    """The alert code, region and basis, and the measure and its provider, beside each other."""
    code_options = [alerts.ALL_CODES, *context.codes]
    row1 = st.columns([1, 1, 2])
    with row1[0]:
        code = st.selectbox(
            "Alert code",
            code_options,
            index=code_options.index(request.beside_code),
            format_func=lambda c: "All codes" if c == alerts.ALL_CODES else c,
        )
    with row1[1]:
        region = st.selectbox(
            "Alert region", list(operations.REGIONS), index=list(operations.REGIONS).index(request.beside_region)
        )
    with row1[2]:
        basis = st.radio(
            "Alerts as",
            list(alerts.BASES),
            index=list(alerts.BASES).index(request.basis),
            format_func=alerts.BASES.get,
            horizontal=True,
        )
    row2 = st.columns([2, 1])
    names = context.measure_names
    with row2[0]:
        measure = st.selectbox("Measure", list(names), index=list(names).index(request.measure), format_func=names.get)
    with row2[1]:
        reporting = context.catalogue.providers_reporting([measure])
        provider = st.selectbox(
            "Measure provider",
            reporting,
            index=reporting.index(request.measure_provider) if request.measure_provider in reporting else 0,
        )
    return replace(
        request, beside_code=code, beside_region=region, basis=basis, measure=measure, measure_provider=provider
    )


def _period(request: AlertsRequest) -> tuple:
    return request.regions, request.codes, request.start, request.end


def volumes(
    version: tuple, request: AlertsRequest, frame: pd.DataFrame, table: pd.DataFrame, origin: Provenance
) -> None:
    """The volumes by code (`frame`: alerts.volumes, not empty) as stacked bars and as a table."""
    start, end = parse.parse_month(request.start), parse.parse_month(request.end)
    shown = [r for r in request.regions if r in set(frame["region"])]
    chart = ui.altair(
        ("alert-volumes", version, *_period(request)),
        lambda: context_charts.alert_volume_chart(
            frame, regions=shown, codes=list(request.codes), start=start, end=end
        ),
        width="stretch",
    )
    ui.chart_with_provenance("alert-volumes", f"alert-volumes_{request.start}_to_{request.end}", chart, origin, end)
    with st.expander("Volumes, devices, first-time devices, share and month-on-month change", expanded=True):
        st.caption(
            "Share: the code's part of every alert of the region that month (whatever codes are selected). "
            "Change: on the previous month; no percentage from zero or from a month without a figure."
        )
        ui.number_table(table)
        ui.csv_download(
            "Download these rows (CSV)",
            table,
            f"alert-volumes-{request.start}_to_{request.end}.csv",
            "csv-volumes",
            origin.classification,
        )


def rates(version: tuple, request: AlertsRequest, frame: pd.DataFrame, table: pd.DataFrame, origin: Provenance) -> None:
    """Alerts per 1,000 installed hubs (`frame`: alerts.per_thousand_hubs), its gaps said, and as a table."""
    start, end = parse.parse_month(request.start), parse.parse_month(request.end)
    st.subheader("Alerts per 1,000 installed Communications Hubs")
    st.caption(
        "Alerts of the selected codes in the month ÷ Communications Hubs installed at the end of the month "
        "× 1,000. CSP C&S = (alerts of C + S) ÷ (CHs of C + S); All CSPs likewise over N, C and S. "
        "A missing or zero hub figure gives no rate (a gap), never a zero."
    )
    chart = ui.altair(
        ("alert-rates", version, *_period(request)),
        lambda: context_charts.normalised_chart(frame, regions=list(request.regions), start=start, end=end),
        width="stretch",
    )
    ui.chart_with_provenance(
        "alerts-per-hub",
        f"alerts-per-1000-CHs_{request.start}_to_{request.end}",
        chart,
        origin,
        end,
        operations.gap_notes(frame, "per_1000_chs"),
    )
    gaps = alerts.rate_gaps(frame)
    if gaps:
        st.info(ui.md_escape(gaps))
    with st.expander("Alerts, CHs installed and the rate, month by month"):
        ui.number_table(table)
        ui.csv_download(
            "Download these rows (CSV)",
            table,
            f"alerts-per-1000-CHs-{request.start}_to_{request.end}.csv",
            "csv-rates",
            origin.classification,
        )


def beside(
    version: tuple, request: AlertsRequest, view: BesideView, table: pd.DataFrame, finding: str, origin: Provenance
) -> None:
    """The alert series above the measure on one time axis, what they come to, and the two as a table."""
    end = parse.parse_month(request.end)
    chart = ui.altair(
        (
            "alert-beside",
            version,
            request.beside_region,
            request.measure,
            request.measure_provider,
            request.start,
            request.end,
            request.beside_code,
            request.basis,
        ),
        lambda: beside_charts.beside_chart(view),
        width="stretch",
    )
    st.info(ui.md_escape(finding))
    ui.chart_with_provenance(
        "alerts-beside",
        f"alerts-beside-{request.measure}_{request.start}_to_{request.end}",
        chart,
        origin,
        end,
        operations.gap_notes(view.alerts.assign(region=request.beside_region), "value"),
    )
    with st.expander("The two series month by month"):
        ui.number_table(table)
        ui.csv_download(
            "Download these rows (CSV)",
            table,
            f"alerts-beside-{request.measure}-{export.slug(request.measure_provider)}-"
            f"{request.start}_to_{request.end}.csv",
            "csv-beside",
            origin.classification,
        )
