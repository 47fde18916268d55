"""Alerts and operational context: the query functions on tiny fixtures, the charts' specs, and the
Alerts and Operations pages under AppTest on the sample data."""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import date

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from opsg_metrics.ingest import bootstrap
from opsg_metrics.queries import alerts, beside, operations, provenance
from opsg_metrics.render.charts import beside as beside_charts
from opsg_metrics.render.charts import context as context_charts
from opsg_metrics.store import connect as db
from opsg_metrics.store.errors import OpsgError

from .conftest import REPO, load_text

JAN, FEB, MAR = date(2021, 1, 1), date(2021, 2, 1), date(2021, 3, 1)

ALERTS = """\
    month,alert_code,provider,volume,devices,first_time_devices
    2021-01,8F3E,CSP N,0,0,0
    2021-02,8F3E,CSP N,50,20,5
    2021-03,8F3E,CSP N,75,30,10
    2021-01,8014,CSP N,100,40,10
    2021-02,8014,CSP N,150,60,20
    2021-03,8014,CSP N,150,60,20
    2021-01,8F3E,CSP C,10,,
    2021-02,8F3E,CSP C,20,,
    2021-03,8F3E,CSP C,30,,
    2021-01,8F3E,CSP S,5,,
    2021-02,8F3E,CSP S,6,,
    2021-03,8F3E,CSP S,7,,
    """

# CHs installed: CSP N has none for March; CSP S starts from 0 hubs and has none for March.
# Installations (cumulative): CSP N does not rise in March. Exceptions: CSP C has none for March.
OPS = """\
    month,metric,provider,value,unit,note
    2021-01,CHs installed,CSP N,1000,count,
    2021-02,CHs installed,CSP N,2000,count,
    2021-01,CHs installed,CSP C,500,count,
    2021-02,CHs installed,CSP C,600,count,
    2021-03,CHs installed,CSP C,700,count,
    2021-01,CHs installed,CSP S,0,count,
    2021-02,CHs installed,CSP S,400,count,
    2021-01,installations,CSP N,10000,count,
    2021-02,installations,CSP N,10500,count,
    2021-03,installations,CSP N,10500,count,installations paused
    2021-01,installations,CSP C,2000,count,
    2021-02,installations,CSP C,2300,count,
    2021-03,installations,CSP C,2600,count,
    2021-01,installations,CSP S,1000,count,
    2021-02,installations,CSP S,1100,count,
    2021-03,installations,CSP S,1250,count,
    2021-01,exceptions,CSP N,5,count,
    2021-02,exceptions,CSP N,10,count,
    2021-03,exceptions,CSP N,3,count,
    2021-01,exceptions,CSP C,1,count,
    2021-02,exceptions,CSP C,6,count,
    2021-01,exceptions,CSP S,2,count,
    2021-02,exceptions,CSP S,2,count,
    2021-03,exceptions,CSP S,3,count,
    2021-02,changes implemented,DCC,211,count,one with adverse impact
    2021-02,change success rate,DCC,96.7,percent,
    2021-03,open problem tickets,DCC,90,count,
    """

# PM2 (CSP N) against its catalogue levels (target 99, minimum 96): met, below minimum, below target.
MEASURES = """\
    month,measure,provider,value
    2021-01,PM2,CSP N,99.5
    2021-02,PM2,CSP N,90
    2021-03,PM2,CSP N,97
    """


@pytest.fixture
def context_db(catalogue_db):
    for text, name in ((ALERTS, "alerts.csv"), (OPS, "ops.csv"), (MEASURES, "pmr.csv")):
        result = load_text(catalogue_db, text, name)
        assert result.outcome == "loaded", result.problems
    return catalogue_db


def row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == (pd.Timestamp(value) if isinstance(value, date) else value)
    matches = frame[mask]
    assert len(matches) == 1, f"{len(matches)} rows for {where}"
    return matches.iloc[0]


# ---------------------------------------------------------------------------
# Alert volumes: shares and month-on-month change


def test_shares_are_of_every_code_of_the_region_and_month(context_db):
    frame = alerts.volumes(context_db, ["CSP N"], JAN, MAR, codes=["8F3E"])
    assert set(frame["alert_code"]) == {"8F3E"}  # the filter keeps 8F3E rows only ...
    feb = row(frame, month=FEB, region="CSP N")
    assert feb["month_total"] == 200 and feb["share_pct"] == pytest.approx(25.0)  # ... shares are of all codes
    everything = alerts.volumes(context_db, ["CSP N"], JAN, MAR)
    for month in (JAN, FEB, MAR):
        assert everything[everything["month"] == pd.Timestamp(month)]["share_pct"].sum() == pytest.approx(100)


def test_month_totals_in_the_database_follow_the_regional_rule_over_every_code(catalogue_db):
    # Codes the parts do not all have, and CSP C&S's own rows: the totals summed in SQL are the
    # totals of the rows regional() makes from every code, region by region.
    load_text(
        catalogue_db,
        """\
        month,alert_code,provider,volume
        2021-01,8F3E,CSP C,10
        2021-01,8F3E,CSP S,5
        2021-01,8014,CSP C,7
        2021-01,8014,CSP C&S,40
        2021-01,8F3E,CSP C&S,1000
        2021-01,8001,CSP N,3
        2021-02,8F3E,CSP C,20
        2021-02,8F3E,CSP S,6
        2021-02,8F3E,CSP N,9
        2021-02,8002,CSP S,4
        """,
        "alerts.csv",
    )
    regions = list(operations.REGIONS)
    rows = catalogue_db.execute(
        "SELECT month, alert_code, provider, volume, devices, first_time_devices, source_id FROM current_alerts"
    ).df()
    expected = (
        operations.regional(rows, ["month", "alert_code"], ["volume"], regions)
        .groupby(["month", "region"], as_index=False)["volume"]
        .sum()
    )
    got = alerts.month_totals(catalogue_db, regions, JAN, FEB)
    merged = expected.merge(got, on=["month", "region"], how="outer")
    assert len(merged) == len(expected) == len(got) == 9
    assert (merged["volume"] == merged["month_total"]).all()
    by = {(m.month, r): v for m, r, v in zip(got["month"], got["region"], got["month_total"])}
    assert by[(1, "CSP C&S")] == 15 + 40  # 8F3E of C and S (not its own 1,000), its own 8014
    assert by[(2, "CSP C&S")] == 26 and by[(1, "CSP C")] == 17 and by[(2, "CSP S")] == 10
    assert by[(2, "All CSPs")] == 35 and (1, "All CSPs") not in by  # January: no code in all three
    # And volumes() shares are of those totals, whichever codes are shown.
    shown = alerts.volumes(catalogue_db, ["CSP C&S"], JAN, JAN, codes=["8F3E"])
    assert shown["month_total"].tolist() == [55.0] and shown["share_pct"].tolist() == [pytest.approx(15 / 55 * 100)]


def test_month_on_month_change_from_zero_is_no_percentage(context_db):
    frame = alerts.volumes(context_db, ["CSP N"], JAN, MAR)
    jan = row(frame, month=JAN, region="CSP N", alert_code="8F3E")
    assert pd.isna(jan["previous"]) and pd.isna(jan["change_pct"])  # nothing before January
    feb = row(frame, month=FEB, region="CSP N", alert_code="8F3E")
    assert feb["previous"] == 0 and feb["change"] == 50 and pd.isna(feb["change_pct"])  # from zero: None
    mar = row(frame, month=MAR, region="CSP N", alert_code="8F3E")
    assert mar["change_pct"] == pytest.approx(50.0)
    assert row(frame, month=FEB, region="CSP N", alert_code="8014")["change_pct"] == pytest.approx(50.0)
    assert row(frame, month=MAR, region="CSP N", alert_code="8014")["change_pct"] == pytest.approx(0.0)


def test_the_change_of_the_first_month_shown_uses_the_month_before_the_period(context_db):
    frame = alerts.volumes(context_db, ["CSP N"], MAR, MAR, codes=["8F3E"])
    assert len(frame) == 1 and frame["previous"].iloc[0] == 50 and frame["change_pct"].iloc[0] == pytest.approx(50)


def test_csp_c_and_s_volumes_are_the_sum_of_central_and_south(context_db):
    frame = alerts.volumes(context_db, ["CSP C&S", "All CSPs"], JAN, MAR, codes=["8F3E"])
    assert row(frame, month=FEB, region="CSP C&S")["volume"] == 26
    assert pd.isna(row(frame, month=FEB, region="CSP C&S")["devices"])  # not given for C and S
    assert row(frame, month=FEB, region="All CSPs")["volume"] == 76
    assert provenance.frame_source_ids(frame) == [
        context_db.execute("SELECT source_id FROM sources WHERE label = 'alerts.csv'").fetchall()[0][0]
    ]


# ---------------------------------------------------------------------------
# Normalisation: alerts per 1,000 CHs installed


def test_alerts_per_thousand_hubs(context_db):
    rates = alerts.per_thousand_hubs(context_db, ["CSP N", "CSP C"], JAN, MAR)
    assert row(rates, month=JAN, region="CSP N")["per_1000_chs"] == pytest.approx(100 / 1000 * 1000)
    assert row(rates, month=FEB, region="CSP N")["per_1000_chs"] == pytest.approx(200 / 2000 * 1000)
    assert row(rates, month=MAR, region="CSP C")["per_1000_chs"] == pytest.approx(30 / 700 * 1000)
    only = alerts.per_thousand_hubs(context_db, ["CSP N"], FEB, FEB, codes=["8F3E"])
    assert only["per_1000_chs"].iloc[0] == pytest.approx(50 / 2000 * 1000)


def test_a_missing_denominator_gives_no_figure_and_says_which(context_db):
    rates = alerts.per_thousand_hubs(context_db, ["CSP N"], JAN, MAR)
    march = row(rates, month=MAR, region="CSP N")
    assert pd.isna(march["per_1000_chs"]) and march["alerts"] == 225  # the alerts are there ...
    assert march["note"] == "no CHs installed figure for CSP N"  # ... the hubs are not


def test_a_zero_denominator_gives_no_figure_never_a_division_by_zero(context_db):
    rates = alerts.per_thousand_hubs(context_db, ["CSP S"], JAN, FEB)
    jan = row(rates, month=JAN, region="CSP S")
    assert pd.isna(jan["per_1000_chs"]) and jan["chs_installed"] == 0
    assert "CHs installed is 0 for CSP S" in jan["note"]
    assert row(rates, month=FEB, region="CSP S")["per_1000_chs"] == pytest.approx(6 / 400 * 1000)


def test_csp_c_and_s_divides_the_sum_of_alerts_by_the_sum_of_hubs(context_db):
    rates = alerts.per_thousand_hubs(context_db, ["CSP C&S"], JAN, MAR)
    # January: South has 0 hubs, but the combination has 500: (10 + 5) / (500 + 0).
    assert row(rates, month=JAN, region="CSP C&S")["per_1000_chs"] == pytest.approx(15 / 500 * 1000)
    assert row(rates, month=FEB, region="CSP C&S")["per_1000_chs"] == pytest.approx(26 / 1000 * 1000)
    march = row(rates, month=MAR, region="CSP C&S")
    assert pd.isna(march["per_1000_chs"]) and march["note"] == "no CHs installed figure for CSP S"
    assert pd.isna(march["chs_installed"])  # never Central's 700 passed off as the pair's


def test_months_without_alerts_have_no_rate_rather_than_zero(context_db):
    rates = alerts.per_thousand_hubs(context_db, ["CSP N"], date(2020, 12, 1), JAN)
    december = row(rates, month=date(2020, 12, 1), region="CSP N")
    assert pd.isna(december["per_1000_chs"]) and "no alert figure for CSP N" in december["note"]


# ---------------------------------------------------------------------------
# Operations: exceptions as a proportion of installations, changes and problems


def test_exceptions_as_a_proportion_of_installations_made_in_the_month(context_db):
    frame = operations.exceptions_proportion(context_db, ["CSP N", "CSP S", "CSP C&S"], JAN, MAR)
    feb = row(frame, month=FEB, region="CSP N")
    assert feb["installed_in_month"] == 500 and feb["exceptions_pct"] == pytest.approx(10 / 500 * 100)
    assert row(frame, month=MAR, region="CSP S")["exceptions_pct"] == pytest.approx(3 / 150 * 100)
    # CSP C&S: (6 + 2) / ((2300 - 2000) + (1100 - 1000))
    assert row(frame, month=FEB, region="CSP C&S")["exceptions_pct"] == pytest.approx(8 / 400 * 100)


def test_exceptions_proportion_without_a_denominator_is_no_figure_with_a_note(context_db):
    frame = operations.exceptions_proportion(context_db, ["CSP N", "CSP C&S"], JAN, MAR)
    jan = row(frame, month=JAN, region="CSP N")  # no December figure to take the rise from
    assert pd.isna(jan["exceptions_pct"]) and "no installations figure for CSP N the month before" in jan["note"]
    mar = row(frame, month=MAR, region="CSP N")  # the installed base did not rise: zero
    assert pd.isna(mar["exceptions_pct"]) and mar["installed_in_month"] == 0
    assert "nothing installed in the month" in mar["note"] and "installations paused" in mar["note"]
    pair = row(frame, month=MAR, region="CSP C&S")  # Central's exceptions are missing
    assert pd.isna(pair["exceptions_pct"]) and "no exceptions figure for CSP C" in pair["note"]


def test_installations_and_hubs_by_region(context_db):
    frame = operations.installations(context_db, ["CSP N", "CSP C&S"], JAN, MAR)
    feb = row(frame, month=FEB, region="CSP C&S")
    assert feb["installations"] == 3400 and feb["installed_in_month"] == 400 and feb["chs_installed"] == 1000
    mar = row(frame, month=MAR, region="CSP N")
    assert pd.isna(mar["chs_installed"]) and "no CHs installed figure for CSP N" in mar["note"]


def test_dcc_changes_and_problems(context_db):
    frame = operations.dcc_figures(context_db, JAN, MAR)
    feb = row(frame, month=FEB)
    assert feb["changes_implemented"] == 211 and feb["change_success_rate"] == 96.7
    assert pd.isna(feb["open_problem_tickets"]) and "no open problem tickets figure" in feb["note"]
    assert "changes implemented: one with adverse impact" in feb["note"]
    assert pd.isna(row(frame, month=JAN)["changes_implemented"])


def test_regions_from_links(context_db):
    regions, problems = operations.resolve_regions(context_db, ["CSP North", "all csps", "CSPC/S", "DCC", "Mars"])
    assert regions == ["CSP N", "All CSPs", "CSP C&S"]
    assert problems == [
        "Unknown region 'DCC' (expected one of CSP N, CSP C&S, CSP C, CSP S, All CSPs)",
        "Unknown region 'Mars' (expected one of CSP N, CSP C&S, CSP C, CSP S, All CSPs)",
    ]
    assert alerts.resolve_codes(["8014", "8F3E"], ["8f3e", "ZZZZ"]) == (
        ["8F3E"],
        ["Unknown alert code 'ZZZZ' (no alerts loaded with that code)"],
    )


# ---------------------------------------------------------------------------
# Alerts beside a measure


def test_beside_a_measure_lines_up_the_months_and_marks_the_misses(context_db):
    view = beside.beside_measure(
        context_db, region="CSP N", measure="pm 2", measure_provider="CSP North", start=JAN, end=MAR, basis="per1000"
    )
    assert view.measure_id == "PM2" and view.measure_provider == "CSP N"
    assert list(view.alerts["month"].dt.date) == list(view.measure["month"].dt.date) == [JAN, FEB, MAR]
    assert view.alerts["value"].iloc[:2].tolist() == pytest.approx([100.0, 100.0])
    assert pd.isna(view.alerts["value"].iloc[2]) and view.alerts["note"].iloc[2] == "no CHs installed figure for CSP N"
    assert list(view.measure["status"]) == ["met", "below_minimum", "below_target"]
    assert view.below_minimum_months() == [FEB]
    assert view.alert_label == "All alerts per 1,000 CHs installed, CSP N"
    assert beside.beside_finding(view) == (
        "PM2 (CSP N) was below its minimum in 1 month of the period; CSP N averaged 100.0 alerts per 1,000 CHs "
        "installed a month in those months, about the same as 100.0 in the other months with a figure."
    )
    raw = beside.beside_measure(
        context_db, region="CSP N", measure="PM2", measure_provider="CSP N", start=JAN, end=MAR, code="8F3E"
    )
    assert raw.alerts["value"].tolist() == [0, 50, 75]
    assert beside.beside_finding(raw).endswith(
        "averaged 50 8F3E alerts a month in those months, 33% more than 38 in the other months with a figure."
    )
    table = beside.beside_table(raw)
    assert table.columns[1] == "Alert volume (8F3E), CSP N" and list(table["Status"]) == [
        "Met",
        "Below minimum",
        "Below target",
    ]


def test_beside_a_measure_refuses_what_the_catalogue_does_not_have(context_db):
    with pytest.raises(OpsgError, match="not defined for provider 'DCC'"):
        beside.beside_measure(context_db, region="CSP N", measure="PM2", measure_provider="DCC", start=JAN, end=MAR)
    with pytest.raises(OpsgError, match="unknown basis"):
        beside.beside_measure(
            context_db, region="CSP N", measure="PM2", measure_provider="CSP N", start=JAN, end=MAR, basis="per-meter"
        )


# ---------------------------------------------------------------------------
# Charts


def layers_by_name(spec: dict) -> dict[str, dict]:
    """A layered chart's layers by name (Altair numbers names repeated in a chart: alert_bars_0, ...)."""
    return {re.sub(r"_\d+$", "", layer["name"]): layer for layer in spec.get("layer", [])}


def test_beside_chart_shares_the_time_axis_and_marks_the_misses(context_db):
    view = beside.beside_measure(
        context_db, region="CSP N", measure="PM2", measure_provider="CSP N", start=JAN, end=MAR, basis="per1000"
    )
    spec = beside_charts.beside_chart(view).to_dict()
    assert spec["resolve"]["scale"]["x"] == "shared" and len(spec["vconcat"]) == 2
    top, bottom = (layers_by_name(panel) for panel in spec["vconcat"])
    assert {"below_minimum_alerts", "no_alert_figure", "alert_bars"} <= set(top)
    assert {"below_minimum_measure", "levels", "measure_line", "status_points"} <= set(bottom)
    shaded = spec["datasets"][bottom["below_minimum_measure"]["data"]["name"]]
    assert [r["start_iso"] for r in shaded] == ["2021-02-01"]
    dash = bottom["levels"]["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["Target", "Minimum"] and dash["range"][0] == [1, 0] and dash["range"][1] != [1, 0]
    bars = spec["datasets"][top["alert_bars"]["data"]["name"]]
    assert {r["start_iso"]: r["bar_kind"] for r in bars} == {
        "2021-01-01": "Other months",
        "2021-02-01": "PM2 below minimum",
    }
    gap = spec["datasets"][top["no_alert_figure"]["data"]["name"]]
    assert gap == [{**gap[0], "start_iso": "2021-03-01", "note": "no CHs installed figure for CSP N"}]
    x_domains = {
        json.dumps(layer["encoding"]["x"]["scale"]["domain"])
        for panel in (top, bottom)
        for layer in panel.values()
        if "scale" in layer["encoding"]["x"]
    }
    assert x_domains == {'["2021-01-01", "2021-04-01"]'}


def test_normalised_chart_draws_gaps_not_zeros_and_tells_regions_apart_without_colour(context_db):
    rates = alerts.per_thousand_hubs(context_db, ["CSP N", "CSP C&S", "CSP S"], JAN, MAR)
    spec = context_charts.normalised_chart(rates, regions=["CSP N", "CSP C&S", "CSP S"], start=JAN, end=MAR).to_dict()
    layers = layers_by_name(spec["vconcat"][0])
    drawn = spec["datasets"][layers["rate_lines"]["data"]["name"]]
    assert all(r["per_1000_chs"] is not None and not math.isnan(r["per_1000_chs"]) for r in drawn)
    assert ("CSP N", "2021-03-01") not in {(r["series"], r["start_iso"]) for r in drawn}
    marks = spec["datasets"][layers["rate_no_figure"]["data"]["name"]]
    gaps = {(r["series"], r["month_label"]): r["note"] for r in marks}
    assert gaps[("CSP N", "March 2021")] == "no CHs installed figure for CSP N"
    assert gaps[("CSP S", "January 2021")].startswith("CHs installed is 0")
    assert layers["rate_no_figure"]["encoding"]["y"] == {"value": 5}  # along the top, not at zero
    band = spec["datasets"][layers["rate_no_figure_band"]["data"]["name"]]  # no region has a March figure
    assert [r["start_iso"] for r in band] == ["2021-03-01"] and "for CSP S" in band[0]["note"]
    dashes = layers["rate_lines"]["encoding"]["strokeDash"]["scale"]["range"]
    shapes = layers["rate_points"]["encoding"]["shape"]["scale"]["range"]
    assert len({json.dumps(d) for d in dashes}) == 3 and len(set(shapes)) == 3


def test_an_exported_chart_carries_its_gaps_sources_and_the_most_restrictive_classification(catalogue_db):
    from opsg_metrics.queries import provenance
    from opsg_metrics.render import files as export

    load_text(catalogue_db, ALERTS, "alerts.csv", classification="amber")
    load_text(catalogue_db, OPS, "ops.csv")
    load_text(catalogue_db, MEASURES, "pmr.csv", classification="green")
    view = beside.beside_measure(
        catalogue_db, region="CSP N", measure="PM2", measure_provider="CSP N", start=JAN, end=MAR, basis="per1000"
    )
    origin = provenance.provenance(catalogue_db, view.source_ids())
    assert origin.classification == "amber"
    notes = operations.gap_notes(view.alerts.assign(region="CSP N"), "value")
    assert notes == ["No figure for CSP N, March 2021: no CHs installed figure for CSP N"]
    from opsg_metrics.render.layout import printed_text

    spec = export.chart_spec(beside_charts.beside_chart(view), origin, MAR, notes)
    footer = printed_text(spec, "footer")
    assert " ".join(footer).startswith(notes[0]) and footer[-2:] == ["Classification: AMBER", "AMBER"]
    text = " ".join(footer)
    assert "alerts.csv" in text and "ops.csv" in text and "pmr.csv" in text
    rates = alerts.per_thousand_hubs(catalogue_db, ["CSP N"], date(2020, 1, 1), MAR)
    assert operations.gap_notes(rates, "per_1000_chs", limit=2)[-1].startswith("… and 11 more months")


def test_volume_chart_stacks_codes_in_a_colour_blind_safe_palette(context_db):
    frame = alerts.volumes(context_db, ["CSP N"], JAN, MAR)
    spec = context_charts.alert_volume_chart(
        frame, regions=["CSP N"], codes=["8014", "8F3E"], start=JAN, end=MAR
    ).to_dict()
    panel = spec["vconcat"][0]
    rows = spec["datasets"][(panel.get("data") or spec["data"])["name"]]  # one panel: Altair lifts its data
    feb = sorted((r for r in rows if r["start_iso"] == "2021-02-01"), key=lambda r: r["y0"])
    assert [(r["alert_code"], r["y0"], r["y1"]) for r in feb] == [("8014", 0, 150), ("8F3E", 150, 200)]
    colour = panel["encoding"]["color"]["scale"]
    assert colour["domain"] == ["8014", "8F3E"] and colour["range"] == context_charts.OKABE_ITO[:2]


def test_operations_small_multiples_one_panel_per_figure(context_db):
    view = operations.operations_view(context_db, ["CSP N", "CSP C&S"], JAN, MAR)
    series = operations.series(view)
    spec = context_charts.small_multiples(
        series, panels=["Exceptions as % of installations in the month", "Changes implemented"], start=JAN, end=MAR
    ).to_dict()
    assert [p["title"]["text"] for p in spec["concat"]] == [
        "Exceptions as % of installations in the month",
        "Changes implemented",
    ]
    assert spec["resolve"]["scale"]["y"] == "independent"


# ---------------------------------------------------------------------------
# The pages on the sample data


def sample_csv(name: str) -> list[dict]:
    with open(REPO / "data" / "sample" / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sample_figures():
    return sample_csv("alerts.csv"), sample_csv("ops.csv")


@pytest.fixture
def alerts_page(open_app):
    return lambda **query: open_app("pages/alerts.py", **query)


def table_with(at, column: str) -> pd.DataFrame:
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def test_alerts_page_shows_the_volumes_of_the_csv(alerts_page, sample_figures):
    at = alerts_page()
    assert not at.exception and not at.main.warning
    alerts_csv, _ = sample_figures
    expected = next(
        int(r["volume"])
        for r in alerts_csv
        if (r["month"], r["alert_code"], r["provider"]) == ("2019-12", "8F3E", "CSP N")
    )
    table = table_with(at, "Alert code")
    shown = table[(table["Month"] == "2019-12") & (table["Alert code"] == "8F3E") & (table["Region"] == "CSP N")]
    assert shown["Volume"].tolist() == [expected]
    total = sum(int(r["volume"]) for r in alerts_csv if (r["month"], r["provider"]) == ("2019-12", "CSP N"))
    assert shown["Share of month (%)"].iloc[0] == pytest.approx(round(expected / total * 100, 2))
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("Download PNG") == 3 and labels.count("Download these rows (CSV)") == 3
    assert any(
        "Classification: WHITE \\(shared with SEC Parties, not published online\\)" in c.value for c in at.caption
    )


def test_alerts_page_per_thousand_hubs_agrees_with_the_csvs(alerts_page, sample_figures):
    at = alerts_page(provider=["CSP N", "CSP C&S"], **{"from": "2019-06", "to": "2020-06"})
    assert not at.exception
    alerts_csv, ops_csv = sample_figures
    volume = sum(
        int(r["volume"]) for r in alerts_csv if r["month"] == "2019-12" and r["provider"] in ("CSP C", "CSP S")
    )
    hubs = sum(
        float(r["value"])
        for r in ops_csv
        if (r["month"], r["metric"]) == ("2019-12", "CHs installed") and r["provider"] in ("CSP C", "CSP S")
    )
    table = table_with(at, "Alerts per 1,000 CHs")
    shown = table[(table["Month"] == "2019-12") & (table["Region"] == "CSP C&S")]
    assert shown["Alerts per 1,000 CHs"].iloc[0] == pytest.approx(volume / hubs * 1000, abs=0.001)
    assert set(table["Region"]) == {"CSP N", "CSP C&S"} and table["Month"].min() == "2019-06"


def test_alerts_page_answers_the_done_when_question(alerts_page, sample_db):
    from opsg_metrics.rules.status import status_table

    at = alerts_page()
    statuses = status_table(sample_db)
    pm2 = statuses[(statuses["measure"] == "PM2") & (statuses["provider"] == "CSP N")]
    misses = int((pm2["status"] == "below_minimum").sum())
    finding = next(i.value for i in at.info if i.value.startswith("PM2 \\(CSP N\\) was below its minimum"))
    assert (
        f"in {misses} months of the period; CSP N averaged" in finding and "alerts per 1,000 CHs installed" in finding
    )
    table = table_with(at, "Alerts per 1,000 CHs installed, CSP N")
    april = table[table["Month"] == "2020-04"].iloc[0]
    assert (
        april["Status"] == "Below minimum"
        and april["PM2 (CSP N)"] == pm2[pm2["month"] == "2020-04-01"]["value"].iloc[0]
    )
    spec = json.loads(at.get("vega_lite_chart")[2].proto.spec)
    assert len(spec["vconcat"]) == 2 and spec["resolve"]["scale"]["x"] == "shared"
    assert at.query_params["measure"] == "PM2" and at.query_params["measure_provider"] == "CSP N"


def test_alerts_page_bad_links_warn_and_show_the_rest(alerts_page):
    at = alerts_page(
        provider=["CSP N", "Atlantis"],
        code=["8F3E", "ZZZZ"],
        measure="PM99",
        measure_provider="DCC",
        basis="per-meter",
        region="Mars",
        beside_code="QQQQ",
        **{"from": "someday"},
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.main.warning)
    for text in ("Atlantis", "ZZZZ", "PM99", "Mars", "QQQQ", "per\\-meter", "someday"):
        assert text in warnings, text
    assert at.multiselect[0].value == ["CSP N"] and at.multiselect[1].value == ["8F3E"]
    table = table_with(at, "Alert code")
    assert set(table["Alert code"]) == {"8F3E"} and set(table["Region"]) == {"CSP N"}


def test_changing_the_selection_updates_the_url(alerts_page):
    at = alerts_page(provider=["CSP N"])
    at.multiselect[1].set_value(["8F3E", "8F12"]).run()
    assert not at.exception
    assert at.query_params["code"] == ["8F3E", "8F12"] and at.query_params["provider"] == "CSP N"
    basis = at.radio[0]
    basis.set_value("volume").run()
    assert at.query_params["basis"] == "volume"


def test_operations_page_shows_the_reported_august_2021_figures(open_app):
    at = open_app("pages/operations.py", to="2021-08")
    assert not at.exception and not at.main.warning
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Changes implemented"] == "211" and metrics["Change success rate"] == "96.7%"
    table = table_with(at, "Changes implemented")
    august = table[table["Month"] == "2021-08"].iloc[0]
    assert august["Changes implemented"] == 211 and august["Change success rate (%)"] == 96.7
    assert august["Open problem tickets"] == 90 and "77 pending" in august["Note"]
    regions = table_with(at, "Exceptions % of installed in month")
    assert set(regions["Region"]) == {"CSP N", "CSP C", "CSP S"} and regions["Month"].max() == "2021-08"
    assert len(at.get("vega_lite_chart")) == 3


def test_operations_page_bad_links_warn(open_app):
    at = open_app("pages/operations.py", provider=["Atlantis", "CSP C&S"], **{"from": "2021-13"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.main.warning)
    assert "Unknown region 'Atlantis'" in warnings and "2021\\-13" in warnings
    assert at.multiselect[0].value == ["CSP C&S"]


def test_notes_from_the_data_are_shown_as_text_not_markup(tmp_path, monkeypatch):
    path = tmp_path / "notes.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    load_text(con, MEASURES, "pmr.csv")
    load_text(con, ALERTS, "alerts.csv")
    note = "<b>bold</b> <script>alert(1)</script> [link](http://x)"
    load_text(con, OPS.replace("installations paused", note.replace(",", " ")), "ops.csv")
    con.close()
    monkeypatch.setenv("OPSG_DB", str(path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["from"] = "2021-01"
    at.query_params["provider"] = ["CSP N"]
    at.run()
    at.switch_page("pages/operations.py").run()
    assert not at.exception
    table = table_with(at, "Exceptions % of installed in month")
    assert note in table[table["Month"] == "2021-03"]["Note"].iloc[0]
    assert not any("<script>" in m.value for m in at.markdown)
    assert not any(note in (m.help or "") for m in at.metric)  # escaped where markdown would read it
    assert any("\\<script\\>" in (m.help or "") for m in at.metric)


def test_many_codes_are_folded_into_one_band_beyond_twelve():
    import pandas as pd

    from opsg_metrics.render.charts import context as context_charts

    codes = [f"{0x8F00 + i:04X}" for i in range(15)]
    rows = [
        {
            "month": pd.Timestamp("2020-01-01"),
            "region": "CSP N",
            "alert_code": code,
            "volume": 100 + i,
            "devices": 10,
            "first_time_devices": 1,
            "share_pct": 1.0,
            "change_pct": 5.0,
        }
        for i, code in enumerate(codes)
    ]
    folded, shown = context_charts.fold_codes(pd.DataFrame(rows), codes)
    # The 11 largest one by one (in code order), the other 4 summed.
    assert shown[:-1] == codes[4:] and shown[-1] == "Other 4 codes"
    other = folded[folded["alert_code"] == "Other 4 codes"].iloc[0]
    assert other["volume"] == 100 + 101 + 102 + 103 and other["devices"] == 40 and other["share_pct"] == 4.0
    assert pd.isna(other["change_pct"])
    assert folded["volume"].sum() == sum(100 + i for i in range(15))
    same, kept = context_charts.fold_codes(pd.DataFrame(rows[:12]), codes[:12])
    assert kept == codes[:12] and len(same) == 12


def test_the_default_codes_are_the_largest_by_volume(sample_db):
    from opsg_metrics.queries import alerts

    top = alerts.top_codes(sample_db, 2)
    totals = sample_db.execute(
        "SELECT alert_code FROM current_alerts GROUP BY 1 ORDER BY sum(volume) DESC LIMIT 2"
    ).fetchall()
    assert top == sorted(r[0] for r in totals) and len(top) == 2
