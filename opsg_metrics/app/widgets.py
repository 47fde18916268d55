"""Widgets every page shares: its tables (numbers with thousands separators that still sort as numbers,
"—" for a missing text), the month range slider, the page's URL parameters and the warnings of reading
them. Pages reach them through ui."""

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
    shown, numbers = _prepared(frame)
    st.dataframe(shown, column_config={**numbers, **options.pop("column_config", {})}, **options)


NUMBER_COLUMN = st.column_config.NumberColumn(format="localized")
_PREPARED: dict[int, tuple] = {}  # id(frame) -> (weak reference to it, the frame shown, its column config)


def _prepared(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The frame as shown and its number columns' config, made once per frame object (a page reruns on every
    click, and most tables are cached frames); copied only when a text column has a missing value."""
    import weakref

    found = _PREPARED.get(id(frame))
    if found is not None and found[0]() is frame:
        return found[1], found[2]
    numbers, missing = {}, []
    for column, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            numbers[column] = NUMBER_COLUMN
        elif (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)) and frame[
            column
        ].isna().any():
            missing.append(column)
    shown = frame
    if missing:
        shown = frame.copy()
        for column in missing:
            shown[column] = shown[column].astype(object).where(shown[column].notna(), words.MISSING)
    key = id(frame)
    try:
        _PREPARED[key] = (weakref.ref(frame, lambda _ref, key=key, memo=_PREPARED: memo.pop(key, None)), shown, numbers)
    except TypeError:  # not weakly referable: prepared again next time
        pass
    return shown, numbers


def number_table(frame: pd.DataFrame, height: int = 300) -> None:
    """A table of figures filling the width (see `table`)."""
    table(frame, hide_index=True, width="stretch", height=height)


def month_slider(months: list[str], start: str, end: str, label: str = "Months") -> tuple[str, str]:
    """A range slider over YYYY-MM keys, labelled 'January 2019'."""
    return st.select_slider(
        label, options=months, value=(start, end), format_func=lambda m: words.month_label(parse.parse_month(m))
    )


def url_params() -> dict[str, list[str]]:
    """The page's URL parameters, each name with every value it is given: what `requests.read_*` read."""
    return {name: st.query_params.get_all(name) for name in st.query_params}


def warnings(texts: list[str]) -> None:
    """The warnings of reading a link (Markdown, ready to show), one box each."""
    for text in texts:
        st.warning(text)
