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
    assert [h.value for h in at.subheader[:2]] == ["December 2021 at a glance", "Measures by provider, December 2021"]


def test_overview_headline_counts_and_lists_what_needs_attention(app, sample_db):
    at = app(month="2020-04", window="17")
    from datetime import date

    from opsg_metrics.rules.status import status_for_month

    rows = status_for_month(sample_db, date(2020, 4, 1), window=17)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "✔ Met": f"{(rows['status'] == 'met').sum():,}",
        "▼ Below target": f"{(rows['status'] == 'below_target').sum():,}",
        "✖ Below minimum": f"{(rows['status'] == 'below_minimum').sum():,}",
        "○ No data": f"{(rows['status'] == 'no_data').sum():,}",
    }
    import html as html_lib
    import re

    listing = next(h.value for h in at.html if "opsg-attention" in h.value)
    items = [html_lib.unescape(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r"<li\b.*?</li>", listing)]
    links = re.findall(r'<a href="([^"]+)" target="_self">', listing)
    missed = rows[rows["status"].isin(["below_target", "below_minimum"])]
    assert len(items) == len(links) >= len(missed)  # every miss, one-month misses included, and figures in doubt
    assert items[0].startswith("PM2 in CSP N: 54.80%, below minimum — ")  # below minimum first
    assert html_lib.unescape(links[0]).startswith("trends?measure=PM2&provider=CSP+N")
    assert "figure flagged unreliable" in items[0]
    assert all("below minimum —" in line for line in items[: (rows["status"] == "below_minimum").sum()])
    cpm1 = next(line for line in items if line.startswith("CPM1 in DCC: "))
    assert "16 consecutive months below target since January 2019; 16 of the last 17" in cpm1  # OPSG's words
    new = rows[(rows["run_below_target"] == 1)]
    assert len(new) >= 1
    for _, row in new.iterrows():
        assert any(
            line.startswith(f"{row['measure']} in {row['provider']}: ") and "new this month" in line for line in items
        )


def test_overview_matrix_shows_value_status_word_run_and_spc_in_words(app, sample_db):
    at = app(month="2020-04", window="17")
    matrix_html = next(h.value for h in at.html if 'opsg-matrix">' in h.value)
    from datetime import date

    from opsg_metrics.queries import spc as spc_readings
    from opsg_metrics.rules import spc

    reading = (
        spc_readings.readings_for_month(sample_db, date(2020, 4, 1))
        .set_index(["measure", "provider"])
        .loc[("PM2", "CSP N")]
    )
    assert reading["variation"] == spc.CONCERN and reading["assurance_target"] == spc.FAIL
    assert '✖ Below minimum <span class="value">54.80%</span>' in matrix_html
    assert "SPC ⇩ concern · target fails · minimum fails</span>" in matrix_html
    assert "SPC ~" not in matrix_html and "T:F" not in matrix_html  # no cryptic letters
    assert "docs/spc.md" not in markdown(at) + " ".join(c.value for c in at.caption)
    assert "Reported figure: OPSG_33xx minutes (22 Jun 2020)" in matrix_html  # in the tooltip
    key = markdown(at)
    assert "hit and miss" in key and "⇧ improving: a special cause in the better direction" in key  # the key
    table = at.dataframe[0].value
    assert table["Value"].dtype.kind == "f"  # sorts by value, not text
    pm2 = table[(table["Measure"] == "PM2") & (table["Provider"] == "CSP N")].iloc[0]
    assert pm2["Value"] == 54.8 and pm2["Status"] == "Below minimum" and "⚠ unreliable" in pm2["Flags"]


def test_choosing_a_month_updates_the_view_and_the_url(app):
    at = app()
    at.selectbox[0].set_value("2019-10").run()
    assert at.subheader[1].value == "Measures by provider, October 2019"
    assert any("10 consecutive months below target since January 2019" in h.value for h in at.html)  # headline
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
    assert any('<table class="opsg-matrix">' in h.value for h in at.html)
    assert at.subheader[1].value == f"Measures by provider, {at.selectbox[0].format_func(at.selectbox[0].value)}"
