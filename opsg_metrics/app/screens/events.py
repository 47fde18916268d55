"""The Events page's layout: the series, month and day chosen; the figure beside the PMR's (flagged when
they differ); the waterfall; what each exclusion reason hides; the response times; the exclusion rate as
an SPC chart; the days of the month and one of them. Each chart with its provenance and downloads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.app.event_requests import EventsRequest
from opsg_metrics.queries.events import EventsView
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.render.charts import events as charts
from opsg_metrics.rules import events as rule
from opsg_metrics.rules.spc import reading
from opsg_metrics.store.classification import LABELS


def choices(request: EventsRequest, loaded: Sequence[tuple[date, str, str, int]]) -> EventsRequest:
    """The measure, provider, month and day, set from the request."""
    series = list(dict.fromkeys((m, p) for _, m, p, _ in loaded))
    columns = st.columns([1, 1, 1, 1])
    measures = list(dict.fromkeys(m for m, _ in series))
    with columns[0]:
        measure = st.selectbox("Measure", measures, index=measures.index(request.measure))
    providers = [p for m, p in series if m == measure]
    with columns[1]:
        provider = st.selectbox(
            "Provider", providers, index=providers.index(request.provider) if request.provider in providers else 0
        )
    months = [f"{m:%Y-%m}" for m, me, p, _ in loaded if (me, p) == (measure, provider)]
    with columns[2]:
        month = st.selectbox(
            "Month",
            months,
            index=months.index(request.month) if request.month in months else len(months) - 1,
            format_func=lambda k: words.month_label(date.fromisoformat(k + "-01")),
        )
    first = date.fromisoformat(month + "-01")
    days = ["", *[(first.replace(day=d)).isoformat() for d in range(1, _days_in(first) + 1)]]
    with columns[3]:
        day = st.selectbox(
            "Drill down to a day",
            days,
            index=days.index(request.day) if request.day in days else 0,
            format_func=lambda d: "The whole month" if not d else words.day_label(date.fromisoformat(d)),
        )
    return replace(request, measure=measure, provider=provider, month=month, day=day)


def _days_in(first: date) -> int:
    return (words.next_month(first) - first).days


def reconciliation(view: EventsView) -> None:
    """The recomputed figure beside the PMR's, flagged when they differ by more than the tolerance."""
    row = view.waterfall
    st.markdown(f"**Classification: {LABELS[view.classification]}** (the request records' and the PMR figure's)")
    recomputed = f"**{row['value']:.2f}%** from {words.count(row['in_scope'])} requests in scope"
    if row["pmr_value"] is None:
        st.info(f"Recomputed: {recomputed}. The record holds no PMR figure for this month and series.")
    elif row["flagged"]:
        st.error(
            f"Recomputed {recomputed}; the PMR says **{row['pmr_value']:.2f}%**: a difference of "
            f"**{row['difference']:+.3f} percentage points**, more than the {rule.TOLERANCE} allowed for "
            "rounding. The PMR figure is not what its request records give."
        )
    else:
        st.success(
            f"Recomputed {recomputed}; the PMR says {row['pmr_value']:.2f}% (difference "
            f"{row['difference']:+.3f} points, within the {rule.TOLERANCE} allowed for rounding)."
        )
    excluded = sum(row["excluded"].values())
    if excluded:
        st.markdown(
            f"{words.count(excluded)} of {words.count(row['received'])} requests received "
            f"({100 * excluded / row['received']:.2f}%) were excluded; counted as failures, the figure would be "
            f"**{row['value_exclusions_as_failures']:.2f}%**."
        )


def chart(key: tuple, stem: str, build: Callable[[], alt.TopLevelMixin], origin: Provenance, month: date) -> None:
    """A chart, its provenance and its downloads."""
    shown = ui.altair(key, build)
    ui.chart_with_provenance(stem, stem, shown, origin, month)


def sensitivity(rows: list[dict]) -> pd.DataFrame:
    """Each exclusion reason: how many it excluded, and the figure were they failures instead."""
    return pd.DataFrame(
        {
            "Exclusion reason": [charts.reason_words(r["reason"]) for r in rows],
            "Requests excluded": [r["excluded"] for r in rows],
            "Value were they failures (%)": [round(r["value_if_failures"], 3) for r in rows],
        }
    )


def percentiles(view: EventsView) -> pd.DataFrame:
    p = view.distribution["percentiles"]
    return pd.DataFrame(
        {"Percentile": list(p), "Response time (s)": [None if v is None else round(v, 3) for v in p.values()]}
    )


def spc_reading(view: EventsView) -> None:
    if view.spc_result is not None:
        st.caption(ui.md_escape(reading(view.spc_result)))


def day(view: EventsView) -> None:
    """The day drilled into: its waterfall's figures and its exclusions."""
    chosen = view.day
    if not chosen or chosen["waterfall"] is None:
        st.info("No request was received on this day.")
        return
    w = chosen["waterfall"]
    st.markdown(
        f"**{words.day_label(date.fromisoformat(w['period']))}**: {words.count(w['received'])} received, "
        f"{words.count(w['excluded'])} excluded, {words.count(w['in_scope'])} in scope, "
        f"{words.count(w['within'])} within the target: **{w['value']:.2f}%** "
        f"({w['value_exclusions_as_failures']:.2f}% with exclusions as failures)."
    )
    if chosen["sensitivity"]:
        ui.table(sensitivity(chosen["sensitivity"]))
