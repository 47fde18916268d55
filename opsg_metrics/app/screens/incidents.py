"""The Incidents page's layout: its choices, headline figures, and each view's chart, table and downloads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.app.requests import EVERY_MONTH, IncidentsContext, IncidentsRequest
from opsg_metrics.queries import incident_views as views
from opsg_metrics.queries.incidents import CATEGORIES, IncidentFilter
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.render.charts import incidents as incident_charts

DATETIME = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")


def choices(request: IncidentsRequest, context: IncidentsContext) -> IncidentsRequest:
    """The period, providers, categories, search and the months a measure missed, set from the request:
    what the page now shows."""
    start, end = ui.month_slider(list(context.months), request.start, request.end, "Period")
    left, middle, right = st.columns([2, 2, 2])
    with left:
        providers = st.multiselect(
            "Providers", list(context.providers), default=list(request.providers), placeholder="All providers"
        )
    with middle:
        categories = st.multiselect(
            "Categories",
            list(CATEGORIES),
            default=list(request.categories),
            format_func=lambda c: f"Category {c}" + (" (major)" if c <= 2 else ""),
            placeholder="All categories",
        )
    with right:
        search = st.text_input("Search id or title", value=request.search, placeholder="e.g. INC000000526144, firmware")
    names = context.measure_names
    measure, provider, level = request.measure, request.measure_provider, request.below
    with st.expander("Only the months when a measure missed its level", expanded=bool(measure)):
        columns = st.columns([3, 2, 2])
        with columns[0]:
            options = [EVERY_MONTH, *names]
            measure = st.selectbox(
                "Only months when",
                options,
                index=options.index(measure),
                format_func=lambda m: "(every month)" if m == EVERY_MONTH else names[m],
            )
        if measure:
            series_providers = context.catalogue.providers_reporting([measure])
            with columns[1]:
                provider = st.selectbox(
                    "for provider",
                    series_providers,
                    index=series_providers.index(provider) if provider in series_providers else 0,
                )
            with columns[2]:
                level = st.radio(
                    "was",
                    list(views.LEVEL_WORDS),
                    index=list(views.LEVEL_WORDS).index(level),
                    format_func=views.LEVEL_WORDS.get,
                    horizontal=True,
                )
    return IncidentsRequest(
        start,
        end,
        tuple(providers),
        tuple(categories),
        search.strip(),
        measure,
        provider if measure else None,
        level if measure else "target",
        request.by,
    )


@dataclass(frozen=True)
class Views:
    """How the page shows its views of one filter: `chart(view, by, subtitle)` builds a view's chart,
    `export(view, by, subtitle, fmt)` exports it, `provenance(view)` says where its figures came from.
    `key` (the filter, in month keys) and `version` name them in the chart cache."""

    version: tuple
    key: tuple
    chart: Callable[[str, str, str], object]
    export: Callable[[str, str, str, str, str], bytes]
    provenance: Callable[[str], Provenance]

    def show_chart(self, view: str, by: str, subtitle: str, stem: str) -> None:
        """A view's chart, its provenance as a caption, and its PNG/SVG/PDF buttons (files named `stem`)."""
        ui.altair(("incidents", self.version, self.key, view, by, subtitle), lambda: self.chart(view, by, subtitle))
        st.caption(ui.md_escape(" · ".join(self.provenance(view).footer_lines(None))))
        ui.chart_downloads(
            f"download-{view}",
            f"{stem}_{self.key[0]}_to_{self.key[1]}",
            lambda fmt, layout: self.export(view, by, subtitle, fmt, layout),
            self.provenance(view).classification,
        )

    def table(self, table: pd.DataFrame, name: str, view: str, **options: Any) -> None:
        """The table, and its rows as CSV marked with the classification of the view they come from."""
        ui.table(table, hide_index=True, width="stretch", **options)
        ui.csv_download(
            "Download CSV",
            table,
            f"opsg-{name}_{self.key[0]}_to_{self.key[1]}.csv",
            f"csv-{name}",
            self.provenance(view).classification,
        )


def chart(
    shown: views.IncidentViews, f: IncidentFilter, view: str, by: str, providers: Sequence[str], subtitle: str
) -> alt.TopLevelMixin:
    """The chart of one of the page's views: 'opened' (coloured by category or provider), 'resolution' or 'rdp'."""
    if view == "opened":
        return incident_charts.opened_chart(
            shown.counts,
            f.period_months(),
            by=by,
            providers=list(providers),
            title="Incidents opened per month, and resolved",
            subtitle=subtitle,
        )
    if view == "resolution":
        return incident_charts.resolution_chart(shown.against, subtitle=subtitle)
    return incident_charts.rdp_chart(shown.rdp, subtitle=subtitle)


def headline(figures: list[tuple[str, str]], sentence: str | None) -> None:
    """The headline figures, and what the months a measure missed come to."""
    columns = st.columns(len(figures))
    for column, (label, value) in zip(columns, figures):
        column.metric(label, value)
    if sentence:
        st.markdown(ui.md_escape(sentence))


def opened(shown: Views, tables: views.IncidentTables, by: str, subtitle: str) -> str:
    """Incidents opened and resolved per month, per month and per provider; returns what the bars are coloured by."""
    st.subheader("Incidents opened and resolved per month")
    by = st.radio(
        "Colour the bars by",
        list(views.BY_WORDS),
        index=list(views.BY_WORDS).index(by),
        format_func=views.BY_WORDS.get,
        horizontal=True,
    )
    shown.show_chart("opened", by, subtitle, "incidents-opened")
    per_month, per_provider = st.tabs(["Per month", "Per provider"])
    with per_month:
        shown.table(tables.months, "incidents-per-month", "opened")
    with per_provider:
        shown.table(tables.providers, "incidents-per-provider", "opened")
    return by


def majors(shown: Views, tables: views.IncidentTables) -> None:
    """The major incidents opened in the period, with their durations."""
    st.subheader("Major incidents (Category 1–2)")
    st.caption(
        "Opened in the period. Durations run to the resolution, or to the end of the period for an incident "
        "still open then."
    )
    if tables.majors.empty:
        st.info("No major incidents in this view.")
    else:
        shown.table(
            tables.majors,
            "major-incidents",
            "majors",
            column_config={
                "Opened": DATETIME,
                "Resolved": DATETIME,
                "Duration (hours)": st.column_config.NumberColumn(format="%.1f"),
                "Duration (days)": st.column_config.NumberColumn(format="%.2f"),
            },
        )


def resolution(
    shown: Views, tables: views.IncidentTables, unverified: str, providers: Sequence[str], by: str, subtitle: str
) -> None:
    """Time to resolve by category and against CPM4 and CPM5; `unverified`: the TRTs still to verify."""
    st.subheader("Time to resolve, against CPM4 and CPM5")
    if unverified:
        st.warning(
            "The Target Resolution Times used here are **placeholders** to verify against SEC Section H: "
            + ui.md_escape(unverified)
            + ". The shares computed from the incident log count elapsed hours; DCC's CPM4 and CPM5 are the reported "
            "figures.",
            icon=":material/rule:",
        )
    shown.table(tables.by_category, "time-to-resolve-by-category", "resolution")
    if providers:
        st.caption(ui.md_escape(f"The shares count {', '.join(providers)} only; CPM4 and CPM5 cover every provider."))
    shown.show_chart("resolution", by, subtitle, "incidents-resolution")
    shown.table(tables.resolution, "resolution-vs-cpm4-cpm5", "resolution")


def aged(shown: Views, tables: views.IncidentTables, f: IncidentFilter) -> None:
    """The incidents still open at the end of the period, oldest first."""
    st.subheader("Open at the end of the period")
    st.caption(f"Incidents still open at the end of {words.month_label(f.end)}, oldest first, however long ago opened.")
    if tables.aged.empty:
        st.info("No incident in this view was open at the end of the period.")
    else:
        shown.table(tables.aged, "open-incidents", "aged", column_config={"Opened": DATETIME})


def rdp(shown: Views, tables: views.IncidentTables, by: str, months: str) -> None:
    """RDP incidents over the months described by `months` (incidents.months_description)."""
    st.subheader("Registration Data Provider (RDP) incidents")
    if tables.rdp is None:
        st.info("No RDP incident figures for these months.")
    else:
        shown.show_chart("rdp", by, f"From the operational figures DCC reports each month · {months}", "rdp-incidents")
        shown.table(tables.rdp, "rdp-incidents", "rdp")
