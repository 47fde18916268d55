"""What OPSG said in its minutes holds on the sample data, through ingest and the status engine."""

from datetime import date

from opsg_metrics.rules import status


def cpm1(con, month, window=12):
    frame = status.status_for_month(con, month, window=window, measure="CPM1", provider="DCC")
    assert len(frame) == 1
    return frame.iloc[0]


def test_october_2019_is_the_tenth_month_in_succession_below_target(sample_db):
    row = cpm1(sample_db, date(2019, 10, 1))
    assert row.status in ("below_target", "below_minimum")
    assert row.run_below_target == 10
    assert row.run_start.date() == date(2019, 1, 1)
    assert row.run_gap_months == 0


def test_april_2020_is_the_16th_instance_below_target_in_17_months(sample_db):
    row = cpm1(sample_db, date(2020, 4, 1), window=17)
    assert row.run_below_target == 16
    assert (row.misses_in_window, row.window_months) == (16, 17)
    assert "16 consecutive months below target since January 2019; 16 of the last 17" in status.flag_text(row)


def test_cpm1_met_in_december_2018(sample_db):
    row = cpm1(sample_db, date(2018, 12, 1))
    assert row.status == "met" and row.run_below_target == 0


def test_pm2_csp_n_april_2020_is_below_minimum_at_54_80_and_unreliable(sample_db):
    frame = status.status_for_month(sample_db, date(2020, 4, 1), measure="PM2", provider="CSP N")
    row = frame.iloc[0]
    assert row.value == 54.80 and row.status == "below_minimum" and bool(row.unreliable)
    assert row.note.startswith("Reported figure: OPSG_33xx minutes (22 Jun 2020)")


def test_pm2_csp_n_july_2021_is_71_01(sample_db):
    row = status.status_for_month(sample_db, date(2021, 7, 1), measure="PM2", provider="CSP N").iloc[0]
    assert row.value == 71.01 and row.status == "below_minimum"


def test_april_2020_was_reissued_and_the_reissue_is_current(sample_db):
    revised = sample_db.execute(
        """SELECT count(*), count(DISTINCT s.label) FROM current_measure_values v
           JOIN sources s USING (source_id)
           WHERE v.month = DATE '2020-04-01' AND v.revision_count > 1 AND s.label = 'PMR April 2020 issue 2'"""
    ).fetchone()
    assert revised[0] > 0 and revised[1] == 1
    history = sample_db.execute(
        "SELECT count(*) FROM measure_values WHERE month = DATE '2020-04-01' AND provider = 'CSP N' AND measure = 'PM3.1'"
    ).fetchone()[0]
    assert history == 2


def test_sample_has_null_and_unreliable_figures_and_is_flagged_as_sample(sample_db):
    nulls, unreliable = sample_db.execute(
        "SELECT count(*) FILTER (WHERE status = 'null'), count(*) FILTER (WHERE status = 'unreliable') FROM current_measure_values"
    ).fetchone()
    assert nulls >= 3 and unreliable >= 2
    assert sample_db.execute("SELECT bool_and(is_sample) FROM sources WHERE kind <> 'catalogue'").fetchone()[0]


def test_category_2_major_incidents_in_august_2021(sample_db):
    count = sample_db.execute(
        """SELECT count(*) FROM current_incidents WHERE major AND category = 2
           AND date_trunc('month', opened) = DATE '2021-08-01'"""
    ).fetchone()[0]
    assert count == 5


def test_rdp_incident_figures(sample_db):
    rows = dict(
        (f"{m:%Y-%m} {metric}", value)
        for m, metric, value in sample_db.execute(
            "SELECT month, metric, value FROM current_ops_figures WHERE provider = 'RDP'"
        ).fetchall()
    )
    assert rows["2019-11 RDP incidents resolved"] == 9 and rows["2019-11 RDP incidents still open"] == 6
    assert (
        rows["2020-05 RDP incidents opened"],
        rows["2020-05 RDP incidents resolved"],
        rows["2020-05 RDP incidents still open"],
    ) == (5, 3, 5)
