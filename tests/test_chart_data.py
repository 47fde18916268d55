"""charts.frame_records: a chart's data frame turned into rows column by column, exactly as Altair's own
data transformer (sanitize_pandas_dataframe, then records) would, or not at all."""

from __future__ import annotations

import math
from datetime import date

import altair as alt
import numpy as np
import pandas as pd
import pytest
import streamlit as st
from altair.utils.core import sanitize_pandas_dataframe

from opsg_metrics.render import files as export
from opsg_metrics.render.charts import spec as charts
from opsg_metrics.rules import status

SPEC_OF = charts.spec_of  # the real one (a fixture below spies on it)


def altair_records(frame: pd.DataFrame) -> list[dict]:
    return sanitize_pandas_dataframe(frame).to_dict(orient="records")


def same(a, b) -> bool:
    """Equal values of the same types (1 == 1.0 == True in Python; JSON tells them apart)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


CONVERTED = {
    "floats with gaps and infinities": pd.DataFrame({"value": [99.5, np.nan, np.inf, -np.inf, 0.0, None]}),
    "integers and booleans": pd.DataFrame(
        {
            "run": np.array([0, 3, 16], dtype="int64"),
            "small": np.array([1, 2, 3], dtype="int32"),
            "unsigned": np.array([1, 2, 3], dtype="uint8"),
            "flag": [True, False, True],
        }
    ),
    "months with a missing one": pd.DataFrame({"month": pd.to_datetime(["2020-01-01", None, "2021-12-01"])}),
    "times of day": pd.DataFrame({"at": pd.to_datetime(["2020-01-01 13:45:10", "2020-02-29 00:00:01"])}),
    "microsecond months": pd.DataFrame(
        {"month": pd.Series(pd.to_datetime(["2020-01-01", "2020-02-01"])).astype("datetime64[us]")}
    ),
    "strings with gaps": pd.DataFrame({"provider": ["DCC", None, "CSP N", np.nan]}),
    "pandas string dtype": pd.DataFrame({"label": pd.Series(["a", None, "c"], dtype="string")}),
    "objects of every kind": pd.DataFrame({"mixed": ["x", 1, 2.5, None, date(2020, 1, 1), pd.NaT, True]}),
    "no rows": pd.DataFrame(
        {"month": pd.to_datetime([]), "value": pd.Series([], dtype=float), "text": pd.Series([], dtype=object)}
    ),
    "a filtered frame (index with gaps)": pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]}, index=[10, 3, 7, 8]).iloc[[0, 2]],
    "a chart-like frame": pd.DataFrame(
        {
            "month": pd.date_range("2018-01-01", periods=36, freq="MS"),
            "value": np.linspace(95.0, 100.0, 36),
            "provider": ["CSP N"] * 36,
            "mark": ["Met", "Below target", "Below minimum"] * 12,
            "revised": [False, True] * 18,
            "run": np.arange(36),
            "note": [None, "Reported figure: OPSG minutes"] * 18,
        }
    ),
}


@pytest.mark.parametrize("frame", CONVERTED.values(), ids=CONVERTED.keys())
def test_rows_are_what_altair_makes_of_the_frame(frame):
    ours = charts.frame_records(frame)
    assert ours is not None
    assert same(ours, altair_records(frame))


DECLINED = {
    "time zones": pd.DataFrame({"at": pd.to_datetime(["2020-01-01"]).tz_localize("Europe/London")}),
    "fractions of a second": pd.DataFrame({"at": pd.to_datetime(["2020-01-01 00:00:00.5"])}),
    "categories": pd.DataFrame({"c": pd.Categorical(["a", "b", None])}),
    "nullable integers": pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),
    "nullable booleans": pd.DataFrame({"b": pd.array([True, None], dtype="boolean")}),
    "arrays in cells": pd.DataFrame({"a": [np.array([1, 2]), np.array([3])]}),
    "numbered columns": pd.DataFrame([[1, 2]]),
    "a column not named by a string": pd.DataFrame({1: [1.0]}),
    "two columns of one name": pd.DataFrame([[1.0, 2.0]], columns=["v", "v"]),
    "durations": pd.DataFrame({"d": pd.to_timedelta([1, 2], unit="D")}),
}


@pytest.mark.parametrize("frame", DECLINED.values(), ids=DECLINED.keys())
def test_frames_it_cannot_vouch_for_are_left_to_altair(frame):
    assert charts.frame_records(frame) is None


def test_the_transformer_is_on_and_keeps_altair_s_answer_for_what_it_declines():
    charts.enable()  # what every chart builder calls first (the test passes whichever test ran before it)
    assert alt.data_transformers.active == "opsg"
    frame = pd.DataFrame({"at": pd.to_datetime(["2020-01-01 00:00:00.5"]), "v": [1.0]})
    spec = alt.Chart(frame).mark_point().encode(x="at:T", y="v:Q").to_dict(validate=False)
    (values,) = spec["datasets"].values()
    assert values == [{"at": "2020-01-01T00:00:00.500000", "v": 1.0}]
    big = pd.DataFrame({"v": np.arange(6000, dtype=float)})  # beyond Altair's 5,000-row guard
    (values,) = alt.Chart(big).mark_point().encode(y="v:Q").to_dict(validate=False)["datasets"].values()
    assert len(values) == 6000


def assert_spec_of_is_altairs(chart) -> None:
    """charts.spec_of skips Altair's copies of the composed chart: the spec must be Altair's own, and
    the chart (shared by the pages' caches) must be left as it was."""
    before_type, before_kwds = type(chart), dict(chart._kwds)
    parts = {key: list(chart._kwds[key]) for key in charts._COMPOSED_KEYS if isinstance(chart._get(key), list)}
    fast = charts._composed(chart).to_dict(validate=False)
    assert type(chart) is before_type and type(chart).__module__.startswith("altair.")
    assert chart._kwds == before_kwds and all(chart._kwds[k] == v for k, v in parts.items())
    assert same(fast, chart.to_dict(validate=False))
    assert same(SPEC_OF(chart), fast)


def spec_both_ways(chart) -> tuple[dict, dict]:
    ours = chart.to_dict(validate=False)
    with alt.data_transformers.enable("default", max_rows=None):
        theirs = chart.to_dict(validate=False)
    return ours, theirs


@pytest.fixture
def drawn_charts(monkeypatch):
    """Every chart object the app turns into a spec while the pages run."""
    seen = []
    real = charts.spec_of

    def spy(chart):
        seen.append(chart)
        return real(chart)

    monkeypatch.setattr(charts, "spec_of", spy)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield seen
    st.cache_resource.clear()
    st.cache_data.clear()


def test_every_chart_the_pages_draw_has_the_spec_altair_would_make(open_app, drawn_charts):
    pages = ["pages/trends.py", "pages/incidents.py", "pages/alerts.py", "pages/operations.py"]
    for page in pages:
        at = open_app(page)
        assert not at.exception, page
    at = open_app("pages/trends.py", view="spc")
    assert not at.exception
    assert len(drawn_charts) >= 6
    for chart in drawn_charts:
        ours, theirs = spec_both_ways(chart)
        assert same(ours, theirs)
        assert ours["datasets"], "a chart with data inline"
        assert_spec_of_is_altairs(chart)


def test_the_month_pack_charts_have_the_spec_altair_would_make(sample_db):
    from opsg_metrics.render.charts import views

    month = status.latest_month(sample_db)
    start = (pd.Timestamp(month) - pd.DateOffset(months=export.PACK_MONTHS - 1)).date()
    series = export.series_with_data(sample_db, month)
    assert len(series) >= 12
    for measure, provider in series[:12]:
        view = views.trend_view(sample_db, measure, [provider], start, month)
        ours, theirs = spec_both_ways(view.chart)
        assert same(ours, theirs)
        assert_spec_of_is_altairs(view.chart)
        spc = views.spc_view(sample_db, measure, [provider], start, month)
        assert_spec_of_is_altairs(spc.chart)
