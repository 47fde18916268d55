"""The Events page and what leaves it: its URL contract, its charts (valid Vega-Lite, drawn by vl-convert,
carrying the marking of exactly the rows they use), the page under AppTest, and the PMR summary's flag."""

from __future__ import annotations

import shutil
from datetime import date

import altair as alt
import pytest

from opsg_metrics.app.event_requests import EventsRequest, events_link, events_params, read_events
from opsg_metrics.ingest.events import load_events
from opsg_metrics.queries import events, provenance, summary
from opsg_metrics.render import files
from opsg_metrics.render.charts import events as charts
from opsg_metrics.store import snapshots

LOADED = [
    (date(2020, 3, 1), "PM2", "CSP N", 10),
    (date(2020, 4, 1), "PM2", "CSP N", 10),
    (date(2020, 4, 1), "PM4.3", "CSP C", 10),
]


def test_a_link_reads_and_writes_the_same_request():
    request, warnings = read_events({"measure": ["PM4.3"], "provider": ["CSP C"], "month": ["2020-04"]}, LOADED)
    assert warnings == [] and request == EventsRequest("PM4.3", "CSP C", "2020-04")
    day = EventsRequest("PM2", "CSP N", "2020-04", "2020-04-14")
    assert read_events({k: [v] for k, v in events_params(day).items()}, LOADED) == (day, [])
    assert events_link(day) == "events?measure=PM2&provider=CSP+N&month=2020-04&day=2020-04-14"


@pytest.mark.parametrize(
    ("params", "shown", "warned"),
    [
        ({}, EventsRequest("PM2", "CSP N", "2020-04"), ""),
        ({"measure": ["CPM9"]}, EventsRequest("PM2", "CSP N", "2020-04"), "CPM9"),
        ({"month": ["2019-01"]}, EventsRequest("PM2", "CSP N", "2020-04"), "no request records"),
        ({"month": ["2020-03"], "day": ["2020-04-02"]}, EventsRequest("PM2", "CSP N", "2020-03"), "not in 2020-03"),
        ({"day": ["2020-04-31"]}, EventsRequest("PM2", "CSP N", "2020-04"), "no day"),
        ({"measure": ["<b>x</b>"]}, EventsRequest("PM2", "CSP N", "2020-04"), "\\<b\\>"),
    ],
)
def test_a_link_to_nothing_loaded_is_explained_and_the_rest_shown(params, shown, warned):
    request, warnings = read_events(params, LOADED)
    assert request == shown
    assert (warned in " ".join(warnings)) if warned else warnings == []


def test_nothing_loaded_is_no_request():
    assert read_events({"measure": ["PM2"]}, []) == (None, [])


@pytest.fixture(scope="module")
def view(events_db_path):
    con, _ = snapshots.reader(events_db_path)
    with con:
        found = events.events_view(con, date(2020, 4, 1), "PM2", "CSP N", date(2020, 4, 14))
        yield found, provenance.provenance(con, found.source_ids), provenance.provenance(con, found.history_source_ids)


def test_each_chart_is_valid_vega_lite_and_draws(view):
    found, month, history = view
    built = {
        "waterfall": charts.waterfall_chart(found),
        "times": charts.distribution_chart(found),
        "days": charts.days_chart(found, "2020-04-14"),
        "spc": charts.exclusion_spc_chart(found),
    }
    for name, chart in built.items():
        chart.to_dict(validate=True)
        assert isinstance(chart, alt.VConcatChart), name  # drawn at its own size in the app
        png = files.export_chart(chart, history if name == "spc" else month, "png", pmr_month=found.month)
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, name


def test_the_waterfall_adds_up(view):
    found, _, _ = view
    steps = charts.waterfall_rows(found.waterfall)
    assert steps["count"].iloc[0] == found.waterfall["received"]
    excluded = steps[steps["kind"] == "Excluded"]
    assert excluded["count"].sum() == sum(found.waterfall["excluded"].values())
    assert steps["end"].iloc[-1] == found.waterfall["within"]
    # each exclusion starts where the one before it ended
    assert (excluded["end"].iloc[1:].to_numpy() == excluded["start"].iloc[:-1].to_numpy()).all()


def test_each_chart_carries_the_marking_of_exactly_its_rows(view):
    found, month, history = view
    assert month.classification == history.classification == "amber"
    assert len(found.source_ids) == 2  # the month's request records and its PMR figure
    month_records = set(found.source_ids) & set(found.history_source_ids)
    assert len(found.history_source_ids) == 48 and len(month_records) == 1  # every month's; this month's one
    assert "PMR April 2020" in " ".join(month.footer_lines(found.month))


def test_a_figure_the_records_do_not_give_is_flagged_in_the_summary(sample_db_path, tmp_path):
    path = tmp_path / "opsg.duckdb"
    shutil.copy(sample_db_path, path)
    rows = [
        f"R{i},PM2,CSP N,2020-04-0{1 + i % 9}T09:00:00Z,2020-04-0{1 + i % 9}T09:10:00Z,3600,completed,"
        for i in range(90)
    ] + [f"F{i},PM2,CSP N,2020-04-02T09:00:00Z,,3600,timed_out," for i in range(10)]
    file = tmp_path / "april.csv"
    file.write_text(
        "request_id,measure,provider,received_at,completed_at,target_seconds,outcome,exclusion\n"
        + "\n".join(rows)
        + "\n"
    )
    con, _ = snapshots.reader(path)
    with con:
        before = summary.build_summary(con, date(2020, 4, 1))
    assert load_events(path, file).outcome == "loaded"
    con, _ = snapshots.reader(path)
    with con:
        built = summary.build_summary(con, date(2020, 4, 1))
    said = [f for _, found in built.sections for f in found if f.key.startswith("events:")]
    assert [f.key for f in said] == ["events:PM2:CSP N"]
    assert "recomputed from its request records at 90.00%, against the PMR's 54.80%" in said[0].text
    assert built.provenance.classification == "amber" and before.provenance.classification != "amber"
    assert not any(f.key.startswith("events:") for _, found in before.sections for f in found)


def test_the_page_shows_a_month_and_a_day(events_db_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .conftest import REPO

    monkeypatch.setenv("OPSG_DB", str(events_db_path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for key, value in {"measure": "PM4.3", "provider": "CSP N", "month": "2019-11", "day": "2019-11-05"}.items():
        at.query_params[key] = value
    at.run()
    at = at.switch_page("pages/events.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("the PMR says 100.00%" in s.value for s in at.success)
    assert any("counted as failures, the figure would be" in m.value for m in at.markdown)
    assert any("5 November 2019" in m.value for m in at.markdown)
    headers = [h.value for h in at.subheader]
    assert headers[:2] == ["From requests received to requests within the target", "What each exclusion hides"]
    assert "The exclusion rate, month by month" in headers
