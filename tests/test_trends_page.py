"""The Trends page under AppTest: links restore the view, bad links explain themselves."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import REPO


@pytest.fixture
def trends_page(open_app):
    return lambda **query: open_app("pages/trends.py", **query)


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def chart_rows(at) -> list[dict]:
    """Every data row of the page's charts (Streamlit sends the datasets beside the spec, as Arrow)."""
    import pyarrow as pa

    rows = []
    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


def test_a_link_restores_the_view(trends_page):
    at = trends_page(measure=["PM2"], provider=["CSP N", "CSP C&S"], **{"from": "2019-01", "to": "2021-12"})
    assert not at.exception
    assert at.multiselect[0].value == ["PM2"] and at.multiselect[1].value == ["CSP N", "CSP C&S"]
    assert at.select_slider[0].value == ("2019-01", "2021-12")
    specs = chart_specs(at)
    assert len(specs) == 1
    assert specs[0]["title"]["text"] == "PM2: Category 1 firmware payloads within TRT"
    assert [p["title"]["text"] for p in specs[0]["vconcat"]] == ["CSP N", "CSP C&S"]
    assert specs[0]["vconcat"][0]["title"]["subtitle"].startswith("41 months below target since Aug 2018")
    table = at.dataframe[0].value
    assert len(table) == 72 and set(table["Provider"]) == {"CSP N", "CSP C&S"}
    row = table[(table["Month"] == "2020-04") & (table["Provider"] == "CSP N")].iloc[0]
    assert row["Value"] == 54.80 and row["Status"] == "Below minimum" and row["Figure"] == "unreliable"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download PNG", "Download SVG", "Download PDF", "Download these rows (CSV)"]
    assert "Classification: WHITE (shared with SEC Parties, not published online)" in at.caption[0].value.replace(
        "\\", ""
    )


def test_unknown_measure_or_provider_in_a_link_is_explained(trends_page):
    at = trends_page(measure=["PM99"], provider=["Atlantis"])
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "Unknown measure 'PM99'" in warnings and "Unknown provider 'Atlantis'" in warnings
    assert at.multiselect[0].value == ["CPM1"]  # falls back to a sensible view
    assert chart_specs(at)


def test_a_reversed_or_unknown_range_is_explained(trends_page):
    at = trends_page(measure=["CPM1"], provider=["DCC"], **{"from": "2021-06", "to": "2019-01"})
    assert "starts after it ends" in " ".join(w.value for w in at.warning)
    assert at.select_slider[0].value == ("2019-01", "2021-06")
    at = trends_page(measure=["CPM1"], provider=["DCC"], **{"from": "someday"})
    assert "from 'someday'" in " ".join(w.value for w in at.warning)
    # A real month outside the data is clamped to it, quietly: links from the overview reach back 36 months.
    at = trends_page(measure=["CPM1"], provider=["DCC"], **{"from": "2017-05", "to": "2030-01"})
    assert not at.main.warning and at.select_slider[0].value == ("2018-01", "2021-12")


def test_changing_the_selection_updates_the_url(trends_page):
    at = trends_page(measure=["CPM1"], provider=["DCC"])
    at.multiselect[1].set_value(["DCC", "CSP N"]).run()
    assert at.query_params["provider"] == ["DCC", "CSP N"]
    assert [p["title"]["text"] for p in chart_specs(at)[0]["vconcat"]] == ["DCC", "CSP N"]
    next(t for t in at.toggle if t.label == "Major incidents").set_value(False).run()
    assert at.query_params["incidents"] == "0"
    assert not any("major_incidents" in layer["name"] for p in chart_specs(at)[0]["vconcat"] for layer in p["layer"])


def test_two_measures_give_two_charts(trends_page):
    at = trends_page(measure=["CPM1", "PM2"], provider=["CSP N"])
    assert [s["title"]["text"].split(":")[0] for s in chart_specs(at)] == ["CPM1", "PM2"]


def test_month_pack_from_the_page(trends_page):
    at = trends_page(measure=["CPM1"], provider=["DCC"])
    at.selectbox(key="pack-month").set_value("2018-01")
    at.selectbox(key="pack-format").set_value("svg")
    at.button(key="pack-build").click().run()
    assert not at.exception
    pack = [b for b in at.get("download_button") if b.label.startswith("Download opsg-charts-2018-01-")]
    assert len(pack) == 1 and "(63 charts" in pack[0].label


def test_overview_cells_link_to_the_trends_view(open_app):
    at = open_app(month="2020-04")
    html = at.html[0].value
    assert 'href="trends?measure=PM2&amp;provider=CSP+N&amp;from=2017-05&amp;to=2020-04&amp;window=12"' in html


def test_a_provider_that_does_not_report_the_measure_is_explained(trends_page):
    at = trends_page(measure=["PM2"], provider=["DCC"])
    assert "PM2 is not reported for DCC; showing CSP N instead." in [w.value for w in at.warning]


def test_link_text_cannot_inject_markdown(trends_page):
    at = trends_page(measure=["[Sign in](https://evil.example/login)"], **{"from": "![x](https://evil.example/x.png)"})
    warnings = " ".join(w.value for w in at.warning)
    assert "\\[Sign in\\]\\(https://evil" in warnings and "\\!\\[x\\]" in warnings


def test_a_range_wholly_before_the_data_is_explained(trends_page):
    at = trends_page(measure=["CPM1"], provider=["DCC"], **{"from": "2010-01", "to": "2012-01"})
    assert any("outside the months loaded" in w.value for w in at.warning)


def test_month_pack_of_a_month_without_figures_warns(tmp_path, monkeypatch):
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.ingest.load import ingest_bytes
    from opsg_metrics.store import connect as db

    path = tmp_path / "nulls.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    ingest_bytes(con, b"month,measure,provider,value,status\n2019-01,CPM1,DCC,97,\n2019-02,CPM1,DCC,,null\n", "p.csv")
    con.close()
    monkeypatch.setenv("OPSG_DB", str(path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run().switch_page("pages/trends.py").run()
    at.selectbox(key="pack-month").set_value("2019-02")
    at.button(key="pack-build").click().run()
    assert not at.exception
    assert "No month pack: no figures for February 2019." in [w.value for w in at.warning]


def test_the_spc_view_shows_limits_flags_and_readings(trends_page, sample_db):
    from datetime import date

    from opsg_metrics.queries import spc as spc_readings
    from opsg_metrics.rules import spc

    query = {"measure": ["CPM1"], "provider": ["CSP N", "CSP C&S"], "from": "2018-01", "to": "2021-12"}
    at = trends_page(**query, view="spc")
    assert not at.exception
    assert at.toggle[0].label == "SPC view" and at.toggle[0].value is True
    # The same analysis, straight from the module: the page must show exactly it.
    expected = spc_readings.readings(sample_db, date(2018, 1, 1), date(2021, 12, 1), measure="CPM1")
    specs = chart_specs(at)
    assert len(specs) == 1
    panels = specs[0]["vconcat"]
    assert [p["title"]["text"].split(" · ")[0] for p in panels] == ["CSP N", "CSP C&S"]
    data = chart_rows(at)
    for provider in ("CSP N", "CSP C&S"):
        result = expected[("CPM1", provider)]
        for segment in result.segments:
            assert any(r.get("panel") == provider and r.get("value") == pytest.approx(segment.upl) for r in data)
        concern = result.points[result.points["point_type"] == spc.CONCERN]
        assert len(concern) > 0
        assert sum(1 for r in data if r.get("panel") == provider and r.get("point_label") == "Concern") == len(concern)
    # The sample has no rebase (the minutes never say when the CSP C&S fix went in): one segment each, no rule.
    assert all(len(expected[("CPM1", p)].segments) == 1 for p in ("CSP N", "CSP C&S"))
    assert not any(r.get("label") == "Rebase" for r in data)
    from opsg_metrics.app.ui import md_escape

    shown = [m.value for m in at.markdown]
    for provider in ("CSP N", "CSP C&S"):
        result = expected[("CPM1", provider)]
        line = (
            f"**CPM1 · {md_escape(provider)}** `{spc.badge_text(spc.badges(result))}` {md_escape(spc.reading(result))}"
        )
        assert line in shown
    footer = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Rebase" not in footer and "Classification: WHITE" in footer
    table = at.dataframe[0].value
    assert list(table["Provider"]) == ["CSP N", "CSP C&S"]
    assert table.loc[1, "Upper limit"] == pytest.approx(expected[("CPM1", "CSP C&S")].last_segment.upl)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download PNG", "Download SVG", "Download PDF", "Download the readings (CSV)"]
    # Switching the toggle off returns to the plain view, and the link follows.
    at.toggle[0].set_value(False).run()
    assert "view" not in at.query_params and chart_specs(at)[0]["vconcat"][0]["title"]["text"] == "CSP N"
    # Rebasing off: the same single segments, and the link says so.
    at = trends_page(**query, view="spc", rebase="0")
    data = chart_rows(at)
    assert data and not any(r.get("label") == "Rebase" for r in data) and at.query_params["rebase"] == "0"
