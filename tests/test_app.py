"""The app, run headless with Streamlit's AppTest on the sample database."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import REPO


@pytest.fixture
def app(open_app):
    return open_app


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_sidebar_shows_sample_banner_latest_month_and_classification(app):
    at = app()
    assert not at.exception
    assert any("Illustrative sample data" in w.value for w in at.sidebar.warning)
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert "Latest PMR month: **December 2021**" in sidebar
    assert "WHITE (shared with SEC Parties, not published online)" in sidebar


def test_overview_defaults_to_the_latest_month(app):
    at = app()
    assert at.title[0].value == "Overview"
    assert at.selectbox[0].value == "2021-12"
    assert at.subheader[0].value == "Measures by provider, December 2021"


def test_overview_matrix_shows_value_status_word_and_run(app, sample_db):
    at = app(month="2020-04", window="17")
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["Name", "DCC", "DSP", "CSP N"]
    assert table.index[0] == "CPM1"
    cell = table.loc["CPM1", "DCC"]
    assert cell.startswith("▼ Below target ") and "· 16 mo · SPC " in cell
    pm2 = table.loc["PM2", "CSP N"]
    assert pm2.startswith("✖ Below minimum 54.80%") and "⚠ unreliable" in pm2
    assert table.loc["PM2", "DCC"] == ""  # PM2 is not a DCC measure
    matrix_html = at.html[0].value
    # SPC badges: each series' reading over the 36 months to the month, its meaning in the tooltip.
    from datetime import date

    from opsg_metrics.queries import spc as spc_readings
    from opsg_metrics.rules import spc

    reading = (
        spc_readings.readings_for_month(sample_db, date(2020, 4, 1))
        .set_index(["measure", "provider"])
        .loc[("PM2", "CSP N")]
    )
    assert reading["variation"] == spc.CONCERN and reading["assurance_target"] == spc.FAIL
    assert table.loc["PM2", "CSP N"].endswith(f"SPC {reading['badge_variation']} T:F M:F")
    assert (
        '<span class="spc spc-concern" title="SPC: special cause: concern (outside the process limits); '
        'Target: consistently missed; Minimum: consistently missed"'
    ) in matrix_html
    assert any("SPC over the 36 months to the month" in c.value for c in at.caption)
    assert '✖ Below minimum <span class="value">54.80%</span>' in matrix_html
    assert "Reported figure: OPSG_33xx minutes (22 Jun 2020)" in matrix_html  # in the tooltip


def test_overview_flags_use_opsg_wording(app):
    at = app(month="2020-04", window="17")
    text = markdown(at)
    assert "- CPM1 (DCC): 16 consecutive months below target since January 2019; 16 of the last 17" in text
    flags = [line for line in text.splitlines() if line.startswith("- ")]
    runs = [int(line.split(": ")[1].split(" ")[0]) for line in flags]
    assert runs == sorted(runs, reverse=True) and min(runs) >= 3


def test_choosing_a_month_updates_the_view_and_the_url(app):
    at = app()
    at.selectbox[0].set_value("2019-10").run()
    assert at.subheader[0].value == "Measures by provider, October 2019"
    assert "- CPM1 (DCC): 10 consecutive months below target since January 2019" in markdown(at)
    assert at.query_params["month"] == "2019-10"


def test_a_link_with_an_unknown_month_warns_and_falls_back(app):
    at = app(month="1999-01")
    assert not at.exception
    assert any("month '1999-01'" in w.value.replace("\\", "") for w in at.warning)
    assert at.selectbox[0].value == "2021-12"


def test_missing_database_shows_how_to_create_it(monkeypatch, tmp_path):
    monkeypatch.setenv("OPSG_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "init --sample" in at.error[0].value


def test_overview_page_reached_through_navigation_shows_the_matrix(app):
    at = app(month="2019-10")
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert '<table class="opsg-matrix">' in at.html[0].value
    assert at.subheader[0].value == f"Measures by provider, {at.selectbox[0].format_func(at.selectbox[0].value)}"
