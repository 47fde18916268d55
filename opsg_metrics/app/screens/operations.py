"""The Operations page's layout: its choices, the last month at a glance, and each chart with its table."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from opsg_metrics.app import ui
from opsg_metrics.app.requests import OperationsContext, OperationsRequest
from opsg_metrics.queries import operations
from opsg_metrics.queries.operations import Card

REGIONS_HELP = "CSP C&S is CSP C + CSP S; All CSPs is N + C + S."


def choices(request: OperationsRequest, context: OperationsContext) -> OperationsRequest:
    """The regions and months, set from the request: what the page now shows."""
    left, right = st.columns(2)
    with left:
        regions = st.multiselect("Regions", list(operations.REGIONS), default=list(request.regions), help=REGIONS_HELP)
    with right:
        start, end = ui.month_slider(list(context.months), request.start, request.end)
    return replace(request, regions=tuple(regions), start=start, end=end)


def glance(title: str, dcc: list[Card], regions: list[Card]) -> None:
    """The last month's figures (operations.glance): the DCC's, then each region's exceptions."""
    st.subheader(title)
    for column, card in zip(st.columns(3), dcc):
        column.metric(card.label, card.value, delta=card.delta, delta_color="off")
    for column, card in zip(st.columns(max(3, len(regions))), regions):
        column.metric(card.label, card.value, help=ui.md_escape(card.note))
