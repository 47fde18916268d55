"""Widgets every page shares: its tables (numbers with thousands separators that still sort as numbers,
"—" for a missing text) and the month range slider. Pages reach them through ui."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.store import parse


def table(frame: Any, **options: Any) -> None:
    """Every table of the app: numbers with thousands separators (still sorting as numbers), "—" for a
    missing text, the rest as st.dataframe takes it (`options`)."""
    if not isinstance(frame, pd.DataFrame):
        st.dataframe(frame, **options)
        return
    shown = frame.copy()
    numbers = {}
    for column in shown.columns:
        values = shown[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers[column] = st.column_config.NumberColumn(format="localized")
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            shown[column] = values.astype(object).where(values.notna() & (values.astype(str) != "None"), "—")
    st.dataframe(shown, column_config={**numbers, **options.pop("column_config", {})}, **options)


def number_table(frame: pd.DataFrame, height: int = 300) -> None:
    """A table of figures filling the width (see `table`)."""
    table(frame, hide_index=True, width="stretch", height=height)


def month_slider(months: list[str], start: str, end: str, label: str = "Months") -> tuple[str, str]:
    """A range slider over YYYY-MM keys, labelled 'January 2019'."""
    return st.select_slider(
        label, options=months, value=(start, end), format_func=lambda m: words.month_label(parse.parse_month(m))
    )
