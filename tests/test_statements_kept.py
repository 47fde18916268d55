"""Statements kept: a checked paragraph saved (or a statements file loaded), judged again as the record
stands, and shown beside the figures it speaks of with its marking; bad files rejected whole; the upgrade."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from opsg_metrics.ingest.load import ingest_bytes
from opsg_metrics.ingest.statements import load_statement_rows
from opsg_metrics.queries import kept, overview
from opsg_metrics.queries.claims.check import check_text
from opsg_metrics.queries.summary import build_summary
from opsg_metrics.queries.trends import trend_data
from opsg_metrics.store import clearance
from opsg_metrics.store import connect as db

APRIL = date(2020, 4, 1)
PARAGRAPH = (
    "CPM1 has been below Target Service Level for the last ten months; with this being the 16th instance it has "
    "been below in 17 months. This was impacted by the failure of PM2 to meet its Service Level, which was below "
    "minimum target level of 54.80% in CSP N."
)
SAID_IN = "OPSG_33xx minutes (22 Jun 2020)"


@pytest.fixture
def con(sample_db_path, tmp_path):
    path = tmp_path / "kept.duckdb"
    shutil.copy(sample_db_path, path)
    connection = db.connect(path)
    yield connection
    connection.close()


def keep(con, text=PARAGRAPH, level="white", month=APRIL):
    checked = check_text(con, text, month)
    records = kept.statement_records(list(checked.verdicts), SAID_IN)
    result = load_statement_rows(con, list(kept.COLUMNS), records, "statements", classification=level, source=SAID_IN)
    assert result.outcome == "loaded", result.problems
    return checked, result


def test_a_checked_paragraph_is_kept_as_the_claims_it_was_read_as(con):
    checked, result = keep(con)
    assert result.kinds == ["statements"] and result.new == len(checked.verdicts) == 6
    rows = kept.kept(con, month=APRIL)
    again = [kept.claim_of(r) for _, r in rows.iterrows()]
    fields = ("quantity", "measure", "provider", "month", "claimed", "comparison", "window", "text")
    assert [tuple(getattr(c, f) for f in fields) for c in again] == [
        tuple(getattr(v.claim, f) for f in fields) for v in checked.verdicts
    ]
    assert again[[c.quantity for c in again].index("cause")].detail == {"feeder_provider": "CSP N"}


def test_kept_statements_the_record_does_not_bear_out_are_shown_beside_their_figures(con):
    keep(con)
    (said,) = kept.said(con, month=APRIL)  # of six, only the run of ten months is not borne out
    assert said.text == (
        "The OPSG_33xx minutes of 22 Jun 2020 said “for the last ten months” of CPM1 overall in April 2020; the "
        "record has 16 consecutive months below target since January 2019 for CPM1 overall (April 2020)."
    )
    summary = build_summary(con, APRIL)
    quality = [f.text for f in dict(summary.sections)["Data quality"]]
    assert said.text in quality
    trend = trend_data(con, "CPM1", ["DCC"], date(2019, 5, 1), APRIL)
    assert said.text in trend.said
    from opsg_metrics.render.charts.views import view_of

    points = view_of(trend).data.figures.set_index(["provider", "month_iso"])
    assert said.text in points.loc[("DCC", "2020-04-01"), "note_text"]  # the April 2020 point's tooltip
    cells = overview.matrix_cells(con, APRIL, window=12).set_index(["measure", "provider"])
    assert said.text in cells.loc[("CPM1", "DCC"), "tooltip"]


def test_the_marking_of_kept_statements_travels_and_hides_them_below_it(con):
    keep(con, level="amber")
    assert build_summary(con, APRIL).classification == "amber"
    assert trend_data(con, "CPM1", ["DCC"], date(2019, 5, 1), APRIL).provenance.classification == "amber"
    white = clearance.scope(con.cursor(), "white")
    assert kept.kept(white, month=APRIL).empty and kept.said(white, month=APRIL) == []
    assert build_summary(white, APRIL).classification != "amber"
    green = clearance.scope(con.cursor(), "amber")
    assert len(kept.said(green, month=APRIL)) == 1


def test_a_revised_figure_is_judged_again(con):
    keep(con, "PM2 in CSP N was 54.80% in April 2020.")
    assert kept.said(con, month=APRIL) == []
    revised = ingest_bytes(
        con, b"month,measure,provider,value,status\n2020-04,PM2,CSP N,55.10,\n", "pmr-2020-04-issue3.csv"
    )
    assert revised.ok, revised.problems
    (said,) = kept.said(con, month=APRIL)
    assert "the record has 55.10% for PM2 in CSP N in April 2020" in said.text


def test_a_bad_statements_file_is_rejected_whole_and_changes_nothing(con):
    before = con.execute("SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM statements)").fetchone()
    raw = (
        b"month,measure,provider,quantity,claimed,sentence,source,window\n"
        b"2020-04,CPM1,DCC,run,10,ok,OPSG_33xx minutes (22 Jun 2020),\n"
        b"2020-13,CPMX,Nowhere,run,ten,,,\n"
        b"2020-04,CPM1,DCC,window,16,s,m,\n"
        b"2020-04,CPM1,DCC,status,green,s,m,\n"
    )
    result = ingest_bytes(con, raw, "bad.csv")
    assert result.outcome == "rejected"
    said = [str(p) for p in result.problems]
    assert "bad.csv:3:month: '2020-13' is not a valid month: month 13 does not exist" in said
    assert "bad.csv:3:measure: unknown measure 'CPMX' (not in the catalogue)" in said
    assert "bad.csv:3:claimed: 'ten' is not a whole number of months" in said
    assert "bad.csv:3:sentence: is empty" in said and "bad.csv:3:source: is empty" in said
    assert "bad.csv:4:window: a window claim needs its window (months)" in said
    assert any(p.startswith("bad.csv:5:claimed: unknown status 'green'") for p in said)
    assert not [p for p in said if p.startswith("bad.csv:2:")]
    after = con.execute("SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM statements)").fetchone()
    assert after == before
    missing = ingest_bytes(con, b"month,measure,provider,quantity,claimed,sentence\n", "x.csv", kind="statements")
    assert [str(p) for p in missing.problems] == ["x.csv:1:header: missing column 'source'"]


def test_the_same_statements_file_twice_changes_nothing(con):
    checked = check_text(con, PARAGRAPH, APRIL)
    records = kept.statement_records(list(checked.verdicts), SAID_IN)
    cells = [[str(v).replace('"', '""') for v in r.values()] for r in records]
    raw = "\n".join([",".join(kept.COLUMNS)] + [",".join(f'"{v}"' for v in row) for row in cells]) + "\n"
    raw = raw.encode("utf-8")
    assert ingest_bytes(con, raw, "s.csv").outcome == "loaded"
    assert ingest_bytes(con, raw, "s.csv").outcome == "unchanged"
    assert len(kept.kept(con, month=APRIL)) == len(checked.verdicts)


def test_a_version_8_database_upgrades_to_keep_statements(tmp_path):
    path = tmp_path / "v8.duckdb"
    connection = duckdb.connect(str(path))
    assert db.migrate(connection, db.MIGRATIONS[:8]) == list(range(1, 9))
    connection.close()
    connection = db.connect(path)
    try:
        assert db.schema_version(connection) == db.SCHEMA_VERSION >= 10
        for level in ("white", "green", "amber"):
            assert clearance.scope(connection.cursor(), level).execute(
                "SELECT count(*) FROM statements"
            ).fetchone() == (0,)
    finally:
        connection.close()


def test_the_minutes_page_keeps_a_paragraph_for_the_summary(open_app):
    at = open_app("pages/minutes.py")
    assert not at.exception
    at.selectbox[0].set_value("2020-04").run()
    at.text_input[0].input(SAID_IN).run()
    (button,) = [b for b in at.button if b.label == "Keep the statements"]
    button.click().run()
    assert any("loaded 6 statements" in s.value for s in at.success), [e.value for e in at.error]
    summary = at.switch_page("pages/summary.py").run()
    summary.selectbox[0].set_value("2020-04").run()
    assert any("said “for the last ten months” of CPM1 overall" in m.value for m in summary.markdown)
