"""The overview's data: cells, the text matrix and the HTML matrix, without Streamlit."""

from datetime import date

from opsg_metrics.app.requests import series_trend_link
from opsg_metrics.queries import overview
from opsg_metrics.render import overview as matrix_view

from .conftest import load_text


def test_cells_text_and_tooltip(fresh_db):
    load_text(
        fresh_db,
        """\
        month,measure,provider,value,status,note
        2018-01,M1,CSP N,97,,
        2018-02,M1,CSP N,95.5,unreliable,tool fault
        2018-02,L1,DSP,25,,
        """,
    )
    cells = overview.matrix_cells(fresh_db, date(2018, 2, 1), window=12).set_index(["measure", "provider"])
    assert cells.loc[("M1", "CSP N"), "cell"] == "✖ Below minimum 95.50% · 2 mo · ⚠ unreliable"
    assert cells.loc[("L1", "DSP"), "cell"] == "✖ Below minimum 25"
    assert cells.loc[("M1", "DCC"), "cell"] == "○ No data"
    tooltip = cells.loc[("M1", "CSP N"), "tooltip"].split("\n")
    assert tooltip == [
        "Target 99.00%, minimum 96.00%",
        "2 consecutive months below target since January 2018, this month below minimum",
        "2 of 2 months with data below target in the last 12",
        "SPC (36 months): No SPC reading: only 2 figures; process limits need at least 12.",
        "Note: tool fault",
        "Source: test.csv",
    ]


def test_text_matrix_layout(fresh_db):
    load_text(fresh_db, "month,measure,provider,value\n2018-01,M1,DCC,99.5\n2018-01,L1,DSP,5\n")
    cells = overview.matrix_cells(fresh_db, date(2018, 1, 1), window=12)
    table = overview.matrix(cells, overview.provider_order(fresh_db))
    assert list(table.index) == ["M1", "L1"]
    assert list(table.columns) == ["Name", "DCC", "DSP", "CSP N"]
    assert table.loc["M1", "DCC"] == "✔ Met 99.50%"
    assert table.loc["M1", "DSP"] == ""  # M1 is not a DSP measure
    assert table.loc["L1", "DSP"] == "✔ Met 5"


def test_html_matrix_escapes_text_from_the_data(fresh_db):
    load_text(fresh_db, 'month,measure,provider,value,note\n2018-01,M1,DCC,97,"<script>alert(1)</script> & ""x"""\n')
    cells = overview.matrix_cells(fresh_db, date(2018, 1, 1), window=12)
    page = matrix_view.matrix_html(cells, overview.provider_order(fresh_db), series_trend_link)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in page
    assert '<td class="below_target"' in page and "▼ Below target" in page


def test_dataset_info_reports_classification_and_sample(fresh_db):
    load_text(fresh_db, "month,measure,provider,value\n2018-01,M1,DCC,97\n", "a.csv", classification="amber")
    info = overview.dataset_info(fresh_db)
    assert info.classification == "amber" and not info.has_sample
    assert info.latest_month == date(2018, 1, 1) and info.figures == 1


def test_an_inferred_figure_is_marked_and_its_tooltip_says_so(fresh_db):
    result = load_text(
        fresh_db,
        """\
        month,measure,provider,value,status,note
        2018-01,M1,CSP N,97,,
        2018-02,M1,CSP N,97,,
        2018-03,M1,CSP N,95.5,inferred,OPSG minutes: below minimum in March
        2018-03,M1,DCC,97,,
        """,
    )
    assert result.ok, result.problems
    cells = overview.matrix_cells(fresh_db, date(2018, 3, 1), window=12).set_index(["measure", "provider"])
    # Its status comes from its value; its run is the reported run in progress (March is not counted).
    assert cells.loc[("M1", "CSP N"), "cell"] == "✖ Below minimum 95.50% · 2 mo · inferred"
    assert cells.loc[("M1", "DCC"), "cell"] == "▼ Below target 97.00%"
    assert cells.loc[("M1", "CSP N"), "tooltip"].split("\n") == [
        "Inferred figure, not reported (see the note for how it was inferred); "
        "runs and windows count it as not reported",
        "Target 99.00%, minimum 96.00%",
        "2 consecutive months below target since January 2018 (1 month not reported)",
        "2 of 2 months with data below target in the last 12",
        "SPC (36 months): No SPC reading: only 2 figures; process limits need at least 12.",
        "Note: OPSG minutes: below minimum in March",
        "Source: test.csv",
    ]
    assert "Inferred" not in cells.loc[("M1", "DCC"), "tooltip"]
    page = matrix_view.matrix_html(cells.reset_index(), overview.provider_order(fresh_db), series_trend_link)
    assert '<span class="marks">2 mo · inferred</span>' in page
    assert 'title="Inferred figure, not reported' in page


def test_spc_readings_are_in_words_and_never_in_a_cell_without_a_figure():
    import pandas as pd

    base = {
        "status": "met",
        "value": 99.1,
        "unit": "percent",
        "level_missing": False,
        "figure_status": "reported",
        "run_below_target": 0,
        "unreliable": False,
        "inferred": False,
        "revised": False,
        "spc_variation": "concern",
        "spc_badge_variation": "L",
        "spc_badge_target": "?",
        "spc_badge_minimum": "P",
    }
    met = pd.Series(base)
    assert overview.spc_words(met) == "SPC ⇩ concern · target hit and miss · minimum passes"
    assert overview.cell_text(met).endswith(" · SPC ⇩ concern · target hit and miss · minimum passes")
    no_data = pd.Series({**base, "status": "no_data", "value": None, "figure_status": "null"})
    assert "SPC" not in overview.cell_text(no_data)
    no_reading = pd.Series({**base, "spc_variation": None, "spc_badge_variation": "–"})
    assert overview.spc_words(no_reading) == "" and "SPC" not in overview.cell_text(no_reading)
