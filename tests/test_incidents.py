"""Incidents: counts, durations as of the end of the period, search, time to resolve against
CPM4/CPM5, aged open incidents, RDP figures, the months a measure missed; the charts; and the
Incidents page under AppTest (shown values, links, text from the data shown as text)."""

from __future__ import annotations

import csv
import textwrap
from datetime import date, datetime

import pandas as pd
import pytest

from opsg_metrics.ingest import bootstrap
from opsg_metrics.queries import incident_views as views
from opsg_metrics.queries import incidents as inc
from opsg_metrics.queries import resolution
from opsg_metrics.render.charts import incidents as incident_charts
from opsg_metrics.store import connect as db
from opsg_metrics.store.errors import OpsgError

from .conftest import REPO, load_text

AUG, SEP = date(2021, 8, 1), date(2021, 9, 1)

# Category TRTs (placeholders) are 4, 8, 24, 120 and 240 hours.
INCIDENTS = """\
incident_id,opened,resolved,category,provider,major,title,root_cause
INC1,2021-07-30 22:00,2021-08-02 10:00,2,CSP N,true,Firmware payloads stuck,Queue full
INC2,2021-08-03 08:00,2021-08-03 11:00,1,DSP,true,DSP outage,Disk failure
INC3,2021-08-10 09:00,2021-08-11 09:00,2,DCC,true,SMETS1 service requests failing,
INC4,2021-08-15 12:00,,4,CSP N,false,WAN coverage lost in the North,
INC5,2021-08-25 00:00,2021-09-05 00:00,5,CSP C,false,Firmware deliveries delayed,
INC9,2021-08-25 00:00,2021-08-25 08:00,2,DCC,true,Tariff updates not applied,
INC6,2021-09-01 06:00,2021-09-01 12:00,3,DSP,false,Self-Service Interface slow,
INC7,2021-06-01 00:00,,3,CSP S,false,Old stuck ticket,
"""

OPS = """\
month,metric,provider,value,unit
2021-08,RDP incidents opened,RDP,5,count
2021-08,RDP incidents resolved,RDP,3,count
2021-08,RDP incidents still open,RDP,5,count
2021-09,RDP incidents opened,RDP,4,count
2021-08,installations,CSP N,1000,count
"""


@pytest.fixture
def incident_db(fresh_db):
    result = load_text(fresh_db, INCIDENTS, "incidents.csv", source="Incident log", classification="amber")
    assert result.outcome == "loaded", result.problems
    result = load_text(fresh_db, OPS, "ops.csv", source="Ops figures")
    assert result.outcome == "loaded", result.problems
    return fresh_db


def period(start=AUG, end=AUG, **options) -> inc.IncidentFilter:
    return inc.IncidentFilter(start, end, **options)


# --- counts ------------------------------------------------------------------------------


def test_counts_by_month_category_and_provider(incident_db):
    counts = inc.monthly_counts(incident_db, period())
    rows = [(r.month, r.category, r.provider, r.opened, r.resolved) for r in counts.itertuples()]
    assert rows == [
        (AUG, 1, "DSP", 1, 1),
        (AUG, 2, "DCC", 2, 2),
        (AUG, 2, "CSP N", 0, 1),  # opened in July, resolved in August
        (AUG, 4, "CSP N", 1, 0),
        (AUG, 5, "CSP C", 1, 0),  # resolved in September
    ]
    table = views.monthly_table(inc.monthly_counts(incident_db, period(date(2021, 7, 1), AUG)), [date(2021, 7, 1), AUG])
    assert table.to_dict("records")[0] == {
        "Month": "2021-07",
        "Cat 1": 0,
        "Cat 2": 1,
        "Cat 3": 0,
        "Cat 4": 0,
        "Cat 5": 0,
        "Opened": 1,
        "Major opened (Cat 1-2)": 1,
        "Resolved": 0,
    }
    assert table.to_dict("records")[1] == {
        "Month": "2021-08",
        "Cat 1": 1,
        "Cat 2": 2,
        "Cat 3": 0,
        "Cat 4": 1,
        "Cat 5": 1,
        "Opened": 5,
        "Major opened (Cat 1-2)": 3,
        "Resolved": 4,
    }
    by_provider = views.provider_table(counts, ["DCC", "DSP", "CSP N", "CSP C"]).set_index("Provider")
    assert by_provider.loc["CSP N", "Opened"] == 1 and by_provider.loc["CSP N", "Resolved"] == 1
    assert by_provider.loc["All", "Cat 2"] == 2 and by_provider.loc["All", "Opened"] == 5


def test_provider_and_category_filters(incident_db):
    only_north = inc.monthly_counts(incident_db, period(providers=("CSP N",)))
    assert list(zip(only_north["category"], only_north["opened"], only_north["resolved"])) == [(2, 0, 1), (4, 1, 0)]
    cat_2 = inc.monthly_counts(incident_db, period(categories=(2,)))
    assert list(zip(cat_2["provider"], cat_2["opened"])) == [("DCC", 2), ("CSP N", 0)]
    two_months = inc.monthly_counts(incident_db, period(date(2021, 7, 1), SEP))
    assert int(two_months["opened"].sum()) == 7 and int(two_months["resolved"].sum()) == 6


def test_search_on_id_and_title_is_case_insensitive_and_literal(incident_db):
    found = inc.incident_list(incident_db, period(date(2021, 6, 1), SEP, search="FIRMWARE"))
    assert list(found["incident_id"]) == ["INC1", "INC5"]
    assert list(inc.incident_list(incident_db, period(search="inc3"))["incident_id"]) == ["INC3"]
    assert inc.incident_list(incident_db, period(search="%")).empty  # no wildcards
    assert int(inc.monthly_counts(incident_db, period(search="firmware"))["opened"].sum()) == 1


def test_filter_is_checked_up_front():
    with pytest.raises(OpsgError, match="starts"):
        inc.IncidentFilter(SEP, AUG)
    with pytest.raises(OpsgError, match="categories are 1 to 5"):
        inc.IncidentFilter(AUG, AUG, categories=(7,))
    restricted = inc.IncidentFilter(AUG, SEP, months=(date(2021, 9, 14), date(2022, 1, 1)))
    assert restricted.months == (SEP,) and restricted.period_end == datetime(2021, 10, 1)


# --- durations and open incidents ----------------------------------------------------------


def test_durations_run_to_the_end_of_the_period_for_open_incidents(incident_db):
    august = inc.incident_list(incident_db, period()).set_index("incident_id")
    assert list(august.index) == ["INC2", "INC3", "INC4", "INC5", "INC9"]  # opened in August
    assert august.loc["INC3", "duration_hours"] == 24 and not august.loc["INC3", "open_at_end"]
    # Still open: to the end of August (1 Sep 00:00).
    assert august.loc["INC4", "open_at_end"] and august.loc["INC4", "duration_days"] == 16.5
    assert pd.isna(august.loc["INC4", "resolved"])
    # Resolved in September, so open at the end of August: no resolution yet, 7 days so far.
    assert august.loc["INC5", "open_at_end"] and pd.isna(august.loc["INC5", "resolved"])
    assert august.loc["INC5", "duration_hours"] == 168
    both = inc.incident_list(incident_db, period(AUG, SEP)).set_index("incident_id")
    assert not both.loc["INC5", "open_at_end"] and both.loc["INC5", "duration_days"] == 11
    assert both.loc["INC4", "duration_days"] == 46.5
    majors = inc.incident_list(incident_db, period(), major_only=True)
    assert list(majors["incident_id"]) == ["INC2", "INC3", "INC9"]
    table = views.incident_table(majors)
    assert list(table.columns[:3]) == ["Incident", "Opened", "Resolved"] and "Root cause" in table.columns


def test_aged_open_incidents_at_the_end_of_the_period(incident_db):
    aged = inc.aged_open(incident_db, period())
    assert list(aged["incident_id"]) == ["INC7", "INC4", "INC5"]  # oldest first
    assert list(aged["age_days"]) == [92.0, 16.5, 7.0]
    assert list(aged["past_trt"]) == [True, True, False]  # 7 days is inside Category 5's 240 hours
    assert list(inc.aged_open(incident_db, period(AUG, SEP))["incident_id"]) == ["INC7", "INC4"]
    assert list(inc.aged_open(incident_db, period(providers=("CSP N",)))["incident_id"]) == ["INC4"]


# --- time to resolve -----------------------------------------------------------------------


def test_share_resolved_within_trt_per_band_and_month(incident_db):
    frame = resolution.resolution_against_cpm(incident_db, period(AUG, SEP)).set_index(["month", "measure"])
    # August, Category 1-2: INC1 (60 h > 8), INC2 (3 h <= 4), INC3 (24 h > 8), INC9 (8 h: exactly the TRT).
    assert frame.loc[(AUG, "CPM4"), ["resolved", "within_trt", "share_within"]].tolist() == [4, 2, 50.0]
    # August, Category 3-5: nothing resolved: no share at all, never 0% or 100%.
    assert frame.loc[(AUG, "CPM5"), "resolved"] == 0 and pd.isna(frame.loc[(AUG, "CPM5"), "share_within"])
    # September: INC6 (6 h <= 24) within, INC5 (264 h > 240) not.
    assert frame.loc[(SEP, "CPM5"), ["resolved", "within_trt", "share_within"]].tolist() == [2, 1, 50.0]
    # The test catalogue has no CPM4: nothing reported, not a pass.
    assert pd.isna(frame.loc[(AUG, "CPM4"), "reported"]) and frame.loc[(AUG, "CPM4"), "status"] == "no_data"
    # The provider filter applies to the shares; categories do not (each band is its CPM's).
    north = resolution.resolution_against_cpm(incident_db, period(providers=("CSP N",), categories=(4,)))
    assert north.set_index("measure").loc["CPM4", "resolved"] == 1


@pytest.fixture
def cpm_db(catalogue_db):
    """The real catalogue (CPM4 100/85, CPM5 90/80), the incidents and two months of CPM4/CPM5."""
    assert load_text(catalogue_db, INCIDENTS, "incidents.csv").outcome == "loaded"
    assert (
        load_text(
            catalogue_db,
            """\
        month,measure,provider,value
        2021-08,CPM4,DCC,90
        2021-08,CPM5,DCC,95
        2021-09,CPM4,DCC,100
        2021-09,CPM5,DCC,70
        """,
            "pmr.csv",
        ).outcome
        == "loaded"
    )
    return catalogue_db


def test_reported_cpm_figures_beside_the_shares(cpm_db):
    frame = resolution.resolution_against_cpm(cpm_db, period()).set_index("measure")
    cpm4 = frame.loc["CPM4", ["reported", "target", "minimum", "status"]].tolist()
    assert cpm4 == [90.0, 100.0, 85.0, "below_target"]
    assert frame.loc["CPM5", ["reported", "status", "source"]].tolist() == [95.0, "met", "pmr.csv"]
    table = views.resolution_table(frame.reset_index())
    assert table.loc[0, "Reported status"] == "Below target" and table.loc[0, "Within TRT (%)"] == 50.0


def test_resolution_by_category(incident_db):
    by_category = resolution.resolution_by_category(incident_db, period()).set_index("category")
    assert by_category.loc[2, ["resolved", "within_trt", "share_within", "target_hours"]].tolist() == [3, 1, 33.33, 8.0]
    assert by_category.loc[2, "max_hours"] == 60 and by_category.loc[1, "median_hours"] == 3
    assert by_category.loc[4, "resolved"] == 0 and pd.isna(by_category.loc[4, "share_within"])
    assert by_category.loc[4, ["open_at_end", "open_past_trt"]].tolist() == [1, 1]
    assert list(resolution.resolution_by_category(incident_db, period(categories=(1, 2)))["category"]) == [1, 2]


def test_resolution_times_reference_file_is_sourced_and_says_what_is_unverified():
    with open(inc.RESOLUTION_TIMES_FILE, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["category"]) for r in rows) == [1, 2, 3, 4, 5]
    for row in rows:
        assert row["source"].strip(), f"category {row['category']} has no source"
        if row["verified"].strip().lower() != "true":
            assert "PLACEHOLDER" in row["source"] and "TO VERIFY" in row["source"], row
            assert "SEC Section H" in row["source"]
    times = inc.resolution_times()
    assert times["target_hours"].is_monotonic_increasing  # less severe, longer to resolve
    assert times.loc[times["category"] <= 2, "target_hours"].max() < 24 <= times.loc[4, "target_hours"]


def test_a_bad_resolution_times_file_is_refused(tmp_path):
    bad = tmp_path / "resolution_times.csv"
    bad.write_text("category,target_hours,source,verified\n1,4,x,false\n2,-8,x,false\n", encoding="utf-8")
    with pytest.raises(OpsgError, match="positive hours"):
        inc.resolution_times(bad)
    bad.write_text("category,target_hours,source,verified\n1,4,x,false\n", encoding="utf-8")
    with pytest.raises(OpsgError, match="every category 1-5"):
        inc.resolution_times(bad)


# --- RDP, months below, provenance -----------------------------------------------------------


def test_rdp_incidents_from_the_ops_figures(incident_db):
    rdp = inc.rdp_incidents(incident_db, period(AUG, SEP))
    assert [r.month for r in rdp.itertuples()] == [AUG, SEP]
    assert rdp.loc[0, ["opened", "resolved_in_month", "still_open"]].tolist() == [5, 3, 5]
    assert rdp.loc[1, "opened"] == 4 and pd.isna(rdp.loc[1, "resolved_in_month"])  # missing, not zero
    assert inc.rdp_incidents(incident_db, period(date(2021, 1, 1), date(2021, 2, 1))).empty


MISSES = """\
month,measure,provider,value,status
2021-01,PM2,CSP N,97,
2021-02,PM2,CSP N,90,
2021-03,PM2,CSP N,,null
2021-04,PM2,CSP N,99.5,
2021-05,PM2,CSP N,50,unreliable
"""

NORTH_MAJORS = """\
incident_id,opened,resolved,category,provider,major,title
INC11,2021-01-05 10:00,2021-01-05 12:00,2,CSP N,true,January major
INC12,2021-02-03 10:00,2021-02-03 12:00,1,CSP N,true,February major one
INC13,2021-02-20 10:00,2021-02-21 12:00,2,CSP N,true,February major two
INC14,2021-03-03 10:00,2021-03-03 12:00,2,CSP N,true,March major
INC15,2021-05-09 10:00,2021-05-09 12:00,2,CSP N,true,May major
INC16,2021-05-10 10:00,2021-05-10 12:00,2,DSP,true,May major elsewhere
INC17,2021-02-10 10:00,2021-02-12 12:00,4,CSP N,false,February minor
"""


def test_months_below_target_or_minimum_restrict_the_views(catalogue_db):
    assert load_text(catalogue_db, MISSES, "pmr.csv").outcome == "loaded"
    assert load_text(catalogue_db, NORTH_MAJORS, "incidents.csv").outcome == "loaded"
    start, end = date(2021, 1, 1), date(2021, 5, 1)
    below_target = inc.months_below(catalogue_db, "PM2", "CSP N", "target", start, end)
    assert below_target == [date(2021, 1, 1), date(2021, 2, 1), date(2021, 5, 1)]  # a null month is no miss
    below_minimum = inc.months_below(catalogue_db, "pm 2", "CSP North", "minimum", start, end)
    assert below_minimum == [date(2021, 2, 1), date(2021, 5, 1)]
    assert inc.months_below(catalogue_db, "PM2", "CSP N", "minimum", date(2021, 3, 1), end) == [date(2021, 5, 1)]
    with pytest.raises(OpsgError, match="level"):
        inc.months_below(catalogue_db, "PM2", "CSP N", "sideways", start, end)
    with pytest.raises(OpsgError):
        inc.months_below(catalogue_db, "PM2", "DSP", "target", start, end)

    f = inc.IncidentFilter(start, end, providers=("CSP N",), months=tuple(below_minimum))
    majors = inc.incident_list(catalogue_db, f, major_only=True)
    assert list(majors["incident_id"]) == ["INC12", "INC13", "INC15"]
    counts = inc.monthly_counts(catalogue_db, f)
    assert sorted(set(counts["month"])) == below_minimum and int(counts["opened"].sum()) == 4
    assert views.month_ranges(below_target) == "Jan 2021 – Feb 2021, May 2021"


def test_sources_and_classification_behind_each_view(incident_db):
    opened = views.view_provenance(incident_db, period(), "opened")
    assert [source[0] for source in opened.sources] == ["Incident log"] and opened.classification == "amber"
    rdp = views.view_provenance(incident_db, period(), "rdp")
    assert [source[0] for source in rdp.sources] == ["Ops figures"] and rdp.classification == "white"
    assert inc.source_ids(incident_db, period(date(2020, 1, 1), date(2020, 2, 1))) == []
    assert "Classification: AMBER" in views.view_provenance(incident_db, period(), "aged").footer_lines(None)
    with pytest.raises(OpsgError):
        views.view_provenance(incident_db, period(), "nothing")


def test_an_exported_chart_carries_its_sources_and_classification(incident_db):
    from opsg_metrics.render import files as export

    f = period(AUG, SEP)
    chart = incident_charts.opened_chart(inc.monthly_counts(incident_db, f), f.period_months())
    svg = export.export_chart(chart, views.view_provenance(incident_db, f, "opened"), "svg", pmr_month=SEP).decode()
    assert "Classification: AMBER" in svg and "Incident log" in svg and "Ops figures" not in svg


# --- charts -----------------------------------------------------------------------------


def _lightness(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_category_colours_are_ordered_in_greyscale_and_stacked_most_severe_first(incident_db):
    lightness = [_lightness(c) for c in incident_charts.CATEGORY_COLOURS]
    assert lightness == sorted(lightness) and min(b - a for a, b in zip(lightness, lightness[1:])) > 20
    f = period(AUG, SEP)
    chart = incident_charts.opened_chart(inc.monthly_counts(incident_db, f), f.period_months())
    spec = chart.to_dict()  # valid Vega-Lite
    bars = chart.layer[0].data
    august = bars[bars["month_iso"] == "2021-08-01"]
    assert list(august["category_label"]) == ["Cat 1", "Cat 2", "Cat 4", "Cat 5"]
    assert list(august["bottom"]) == [0, 1, 3, 4] and list(august["top"]) == [1, 3, 4, 5]
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == incident_charts.CATEGORY_DOMAIN and colour["range"] == incident_charts.CATEGORY_COLOURS
    resolved = chart.layer[2].data
    assert dict(zip(resolved["month_iso"], resolved["resolved"])) == {"2021-08-01": 4, "2021-09-01": 2}
    # Restricted to months that are not consecutive, the line breaks between them.
    jul_sep = period(date(2021, 7, 1), SEP, months=(date(2021, 7, 1), SEP))
    gapped = incident_charts.opened_chart(inc.monthly_counts(incident_db, jul_sep), jul_sep.period_months())
    assert gapped.layer[2].data["resolved"].tolist() == [0, 2] and gapped.layer[2].data["segment"].nunique() == 2
    by_provider = incident_charts.opened_chart(
        inc.monthly_counts(incident_db, f), f.period_months(), by="provider", providers=["DCC", "DSP", "CSP N", "CSP C"]
    )
    assert by_provider.to_dict()["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["DCC", "DSP", "CSP N", "CSP C"]


def test_charts_of_nothing_are_empty_charts_not_errors(fresh_db):
    f = period()
    empty_counts = inc.monthly_counts(fresh_db, f)
    assert empty_counts.empty
    for by in ("category", "provider"):
        chart = incident_charts.opened_chart(empty_counts, f.period_months(), by=by)
        chart.to_dict()
        assert chart.layer[0].data.empty and chart.layer[2].data["resolved"].tolist() == [0]
    incident_charts.resolution_chart(resolution.resolution_against_cpm(fresh_db, f)).to_dict()
    incident_charts.rdp_chart(inc.rdp_incidents(fresh_db, f)).to_dict()


def test_resolution_chart_leaves_a_gap_where_nothing_was_resolved(cpm_db):
    chart = incident_charts.resolution_chart(resolution.resolution_against_cpm(cpm_db, period(AUG, SEP)))
    spec = chart.to_dict()
    titles = [p["title"]["text"] for p in spec["vconcat"]]
    assert titles == ["CPM4: Category 1–2 incidents", "CPM5: Category 3–5 incidents"]
    cpm5_share = chart.vconcat[1].layer[-1].data
    assert list(cpm5_share["month_iso"]) == ["2021-09-01"] and list(cpm5_share["value"]) == [50.0]
    levels = spec["vconcat"][0]["layer"][0]["encoding"]["strokeDash"]["scale"]
    assert levels == {"domain": ["Target", "Minimum"], "range": [[1, 0], [6, 4]]}  # target solid, minimum dashed
    steps = chart.vconcat[1].layer[0].data
    assert steps[steps["level_name"] == "Minimum"]["level"].tolist() == [80.0, 80.0, 80.0]  # Aug, Sep, closing step
    reported = chart.vconcat[1].layer[1].data
    assert reported["value"].tolist() == [95.0, 70.0]


def test_rdp_chart_does_not_draw_a_missing_figure_as_zero(incident_db):
    chart = incident_charts.rdp_chart(inc.rdp_incidents(incident_db, period(AUG, SEP)))
    chart.to_dict()
    points = chart.layer[-1].data
    assert len(points[points["series"] == "Resolved in month"]) == 1
    assert len(points[points["series"] == "Opened"]) == 2


# --- the page ---------------------------------------------------------------------------------


@pytest.fixture
def incidents_page(open_app):
    return lambda **query: open_app("pages/incidents.py", **query)


def frame_with(at, column: str) -> pd.DataFrame:
    """The first dataframe on the page with a column of this name."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def reported_figure(metric_name: str, month: str) -> float:
    with open(REPO / "data" / "reference" / "reported-figures.csv", newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return next(float(r["value"]) for r in rows if r["metric"] == metric_name and r["month"] == month)


def test_category_2_major_incidents_in_august_2021_agree_with_the_reported_figure(incidents_page):
    at = incidents_page(**{"from": "2021-08", "to": "2021-08"})
    assert not at.exception
    reported = reported_figure("Category 2 major incidents", "2021-08")
    assert reported == 5
    by_month = frame_with(at, "Cat 2")
    assert by_month.set_index("Month").loc["2021-08", "Cat 2"] == reported
    majors = frame_with(at, "Root cause")
    assert len(majors) == reported and set(majors["Category"]) == {2}
    assert metric(at, "Major incidents opened (Cat 1–2)") == "5"
    assert [b.label for b in at.get("download_button")][:3] == ["Download PNG", "Download SVG", "Download PDF"]
    captions = " ".join(c.value for c in at.caption)
    assert "Incident log \\(illustrative\\)" in captions and "WHITE \\(shared with SEC Parties" in captions
    assert any("placeholders" in w.value for w in at.warning)  # the TRTs say they are unverified

    at.multiselect[1].set_value([1]).run()  # categories: only Category 1
    assert at.query_params["category"] in ("1", ["1"])
    assert metric(at, "Major incidents opened (Cat 1–2)") == "0"


def test_major_incidents_of_csp_n_in_the_months_pm2_was_below_minimum(incidents_page, sample_db):
    at = incidents_page(
        **{
            "from": "2018-01",
            "to": "2021-12",
            "provider": ["CSP N"],
            "measure": "PM2",
            "measure_provider": "CSP N",
            "below": "minimum",
        }
    )
    assert not at.exception and all("placeholders" in w.value for w in at.warning)  # only the TRT note
    months, expected = sample_db.execute(
        """WITH missed AS (
               SELECT v.month FROM current_measure_values AS v
               JOIN service_levels_in_force AS l
                 ON l.measure = v.measure AND l.provider = v.provider
                AND v.month >= l.effective_from AND v.month < l.effective_until
               WHERE v.measure = 'PM2' AND v.provider = 'CSP N' AND v.status <> 'null' AND v.value < l.minimum)
           SELECT (SELECT count(*) FROM missed),
                  (SELECT count(*) FROM current_incidents
                   WHERE provider = 'CSP N' AND major AND date_trunc('month', opened) IN (SELECT month FROM missed))"""
    ).fetchall()[0]
    assert months > 12 and expected > 0
    assert metric(at, "Major incidents opened (Cat 1–2)") == str(expected)
    assert len(frame_with(at, "Root cause")) == expected
    sentence = " ".join(m.value for m in at.markdown)
    assert f"{expected} major incidents \\(Category 1–2\\) opened in CSP N in the {months} months PM2" in sentence
    assert at.query_params["measure"] == "PM2" and at.query_params["below"] == "minimum"


def test_a_bad_link_is_explained_not_a_traceback(incidents_page):
    at = incidents_page(
        provider=["Atlantis", "CSP N"],
        category=["9", "2"],
        measure="PM99",
        below="sideways",
        **{"from": "someday", "to": "2021-12"},
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for expected in (
        "Unknown provider 'Atlantis'",
        "category '9'",
        "Unknown measure 'PM99'",
        "below 'sideways'",
        "from 'someday'",
    ):
        assert expected in warnings
    assert at.multiselect[0].value == ["CSP N"] and at.multiselect[1].value == [2]
    at = incidents_page(measure="PM2", measure_provider="DSP")
    assert "PM2 is not reported for DSP" in " ".join(w.value for w in at.warning) and not at.exception


SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def hostile_db_path(tmp_path):
    path = tmp_path / "hostile.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    load_text(con, "month,measure,provider,value\n2021-08,CPM4,DCC,100\n", "pmr.csv")
    rows = textwrap.dedent(f"""\
        incident_id,opened,resolved,category,provider,major,title,root_cause
        INC1,2021-08-02 10:00,2021-08-02 12:00,1,DSP,true,{SCRIPT},<img src=x onerror=alert(2)>
        INC2,2021-08-03 10:00,,2,CSP N,true,<b>x</b> **bold** [link](http://example.com),"=cmd|' /C calc'!A0"
        """)
    assert load_text(con, rows, "incidents.csv").outcome == "loaded"
    con.close()
    return path


def test_text_from_the_data_is_shown_literally(hostile_db_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OPSG_DB", str(hostile_db_path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["from"] = "2021-08"
    at.query_params["to"] = "2021-08"
    at.query_params["q"] = "<"
    at.run()
    at.switch_page("pages/incidents.py").run()
    assert not at.exception
    majors = frame_with(at, "Root cause")
    assert list(majors["Title"]) == [SCRIPT, "<b>x</b> **bold** [link](http://example.com)"]
    assert list(majors["Root cause"])[0] == "<img src=x onerror=alert(2)>"
    aged = frame_with(at, "Age (days)")
    assert list(aged["Title"]) == ["<b>x</b> **bold** [link](http://example.com)"]
    rendered = [
        e.value
        for kind in ("markdown", "caption", "warning", "info", "html", "text")
        for e in at.get(kind)
        if isinstance(e.value, str)
    ]
    for value in rendered:
        for raw in ("<script", "<b>", "<img", "**bold**"):
            assert raw not in value, value
    # The CSV of the same rows keeps the text, and neutralises a formula.
    from opsg_metrics.render import files as export

    csv_text = export.csv_bytes(majors, "white").decode("utf-8")
    assert SCRIPT in csv_text and "'=cmd" in csv_text
