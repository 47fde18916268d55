"""Status, runs and windows (README "Status, runs and windows") on small constructed series."""

from datetime import date

import pandas as pd
import pytest

from opsg_metrics.rules import status
from opsg_metrics.store import connect as db
from opsg_metrics.store.errors import OpsgError

from .conftest import load_text


def series(con, measure="M1", provider="DCC", *, window=12, until=None):
    frame = status.status_table(con, window=window, until=until)
    rows = frame[(frame.measure == measure) & (frame.provider == provider)]
    return {row.month.strftime("%Y-%m"): row for row in rows.itertuples()}


def load_values(con, measure, provider, values: dict, name="values.csv"):
    """values: month -> number, None (status null), ('unreliable', number) or ('inferred', number, note)."""
    lines = ["month,measure,provider,value,status,note"]
    for month, value in values.items():
        if value is None:
            lines.append(f"{month},{measure},{provider},,null,")
        elif isinstance(value, tuple):
            note = value[2] if len(value) > 2 else ""
            lines.append(f"{month},{measure},{provider},{value[1]},{value[0]},{note}")
        else:
            lines.append(f"{month},{measure},{provider},{value},,")
    result = load_text(con, "\n".join(lines) + "\n", name)
    assert result.outcome == "loaded", result.problems
    return result


def test_statuses_against_target_and_minimum(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 99, "2018-02": 98.99, "2018-03": 96, "2018-04": 95.99})
    rows = series(fresh_db, "M1", "CSP N")
    assert [rows[m].status for m in ("2018-01", "2018-02", "2018-03", "2018-04")] == [
        "met",
        "below_target",
        "below_target",
        "below_minimum",
    ]
    assert rows["2018-04"].target == 99 and rows["2018-04"].minimum == 96


def test_run_is_ended_by_a_met_month(fresh_db):
    load_values(
        fresh_db,
        "M1",
        "CSP N",
        {"2018-01": 97, "2018-02": 97, "2018-03": 99.5, "2018-04": 97, "2018-05": 95, "2018-06": 97.5},
    )
    rows = series(fresh_db, "M1", "CSP N")
    assert [rows[m].run_below_target for m in sorted(rows)] == [1, 2, 0, 1, 2, 3]
    assert rows["2018-02"].run_start.strftime("%Y-%m") == "2018-01"
    assert rows["2018-06"].run_start.strftime("%Y-%m") == "2018-04"
    assert rows["2018-03"].run_start is None or str(rows["2018-03"].run_start) in ("NaT", "None")


def test_null_month_neither_adds_to_nor_ends_a_run(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97, "2018-02": None, "2018-03": 97, "2018-04": 97})
    rows = series(fresh_db, "M1", "CSP N")
    assert rows["2018-02"].status == "no_data"
    assert rows["2018-02"].figure_status == "null"
    assert rows["2018-02"].run_below_target == 1  # the run in progress, not extended
    assert rows["2018-02"].run_gap_months == 1
    assert rows["2018-03"].run_below_target == 2  # not ended either
    assert rows["2018-04"].run_below_target == 3
    assert rows["2018-04"].run_gap_months == 1
    assert rows["2018-04"].run_start.strftime("%Y-%m") == "2018-01"


def test_absent_month_counts_as_a_gap_like_a_null(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97, "2018-04": 97})
    rows = series(fresh_db, "M1", "CSP N")
    assert rows["2018-02"].status == "no_data" and rows["2018-02"].figure_status == "absent"
    assert rows["2018-04"].run_below_target == 2
    assert rows["2018-04"].run_gap_months == 2
    assert rows["2018-04"].window_months == 2


def test_gap_before_a_met_month_is_not_part_of_the_next_run(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 99.5, "2018-02": None, "2018-03": 97})
    rows = series(fresh_db, "M1", "CSP N")
    assert rows["2018-02"].run_below_target == 0
    assert rows["2018-03"].run_below_target == 1
    assert rows["2018-03"].run_gap_months == 0
    assert rows["2018-03"].run_start.strftime("%Y-%m") == "2018-03"


def test_level_in_force_each_month_applies_across_a_level_change(fresh_db):
    # M1 (DCC): 99/96 during 2018, 95/90 from January 2019.
    load_values(fresh_db, "M1", "DCC", {"2018-11": 97, "2018-12": 97, "2019-01": 97, "2019-02": 94})
    rows = series(fresh_db, "M1", "DCC")
    assert (rows["2018-12"].target, rows["2018-12"].minimum) == (99, 96)
    assert (rows["2019-01"].target, rows["2019-01"].minimum) == (95, 90)
    assert rows["2018-12"].status == "below_target"
    assert rows["2019-01"].status == "met"  # 97 meets the new target of 95: the run ends
    assert rows["2019-01"].run_below_target == 0
    assert rows["2019-02"].status == "below_target"
    assert rows["2019-02"].run_below_target == 1


def test_effective_to_ends_a_level_early(fresh_db):
    result = load_text(
        fresh_db,
        """\
        measure,provider,name,unit,direction,target,minimum,effective_from,effective_to
        M1,CSP N,Higher is better,percent,higher,99,96,2018-01,2018-03
        """,
        "levels.csv",
        kind="catalogue",
    )
    assert result.outcome == "loaded", result.problems
    load_values(fresh_db, "M1", "CSP N", {"2018-02": 97, "2018-03": 97})
    rows = series(fresh_db, "M1", "CSP N")
    assert rows["2018-02"].status == "below_target"
    assert rows["2018-03"].status == "no_data" and rows["2018-03"].level_missing
    assert not rows["2018-02"].level_missing
    assert rows["2018-03"].run_below_target == 1  # no level: neither adds nor ends


def test_below_minimum_runs(fresh_db):
    load_values(
        fresh_db,
        "M1",
        "CSP N",
        {"2018-01": 95, "2018-02": 94, "2018-03": None, "2018-04": 93, "2018-05": 97, "2018-06": 90},
    )
    rows = series(fresh_db, "M1", "CSP N")
    assert [rows[m].run_below_minimum for m in sorted(rows)] == [1, 2, 2, 3, 0, 1]
    # The run below target is not ended by a below-target month.
    assert [rows[m].run_below_target for m in sorted(rows)] == [1, 2, 2, 3, 4, 5]
    assert rows["2018-04"].run_below_minimum_start.strftime("%Y-%m") == "2018-01"


def test_window_counts_at_the_start_of_history(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97, "2018-02": 99.5, "2018-03": 97})
    rows = series(fresh_db, "M1", "CSP N", window=12)
    assert (rows["2018-01"].misses_in_window, rows["2018-01"].window_months) == (1, 1)
    assert (rows["2018-03"].misses_in_window, rows["2018-03"].window_months) == (2, 3)


def test_window_slides_and_skips_months_without_data(fresh_db):
    values = {f"2018-{m:02d}": 97 for m in range(1, 13)}
    values["2018-05"] = 99.5
    values["2018-07"] = None
    load_values(fresh_db, "M1", "CSP N", values)
    rows = series(fresh_db, "M1", "CSP N", window=6)
    # Window of 6 ending December 2018: July (null) to December -> 5 with data, all misses.
    assert (rows["2018-12"].misses_in_window, rows["2018-12"].window_months) == (5, 5)
    # Ending June: January-June, May met.
    assert (rows["2018-06"].misses_in_window, rows["2018-06"].window_months) == (5, 6)


def test_lower_is_better_flips_the_comparisons(fresh_db):
    load_values(fresh_db, "L1", "DSP", {"2018-01": 10, "2018-02": 15, "2018-03": 20, "2018-04": 21, "2018-05": 9})
    rows = series(fresh_db, "L1", "DSP")
    assert [rows[m].status for m in sorted(rows)] == ["met", "below_target", "below_target", "below_minimum", "met"]
    assert [rows[m].run_below_target for m in sorted(rows)] == [0, 1, 2, 3, 0]


def test_unreliable_figure_keeps_its_value_and_status(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": ("unreliable", 54.8)})
    row = series(fresh_db, "M1", "CSP N")["2018-01"]
    assert row.status == "below_minimum" and row.unreliable and row.value == 54.8


MINUTES = "OPSG minutes: below target throughout"


def test_inferred_figure_takes_its_status_from_its_value_and_is_flagged(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97, "2018-02": ("inferred", 95.5, MINUTES)})
    rows = series(fresh_db, "M1", "CSP N")
    inferred = rows["2018-02"]
    assert (inferred.status, inferred.value, inferred.figure_status) == ("below_minimum", 95.5, "inferred")
    assert inferred.inferred and not inferred.unreliable
    assert inferred.note == MINUTES
    assert not rows["2018-01"].inferred and rows["2018-01"].figure_status == "reported"


def test_inferred_month_neither_adds_to_nor_ends_a_run_like_no_data(fresh_db):
    # February is inferred below target, April inferred met: for runs both count as no data.
    load_values(
        fresh_db,
        "M1",
        "CSP N",
        {
            "2018-01": 97,
            "2018-02": ("inferred", 97, MINUTES),
            "2018-03": 97,
            "2018-04": ("inferred", 99.5, MINUTES),
            "2018-05": 97,
        },
    )
    rows = series(fresh_db, "M1", "CSP N")
    assert [rows[m].status for m in sorted(rows)] == [
        "below_target",
        "below_target",
        "below_target",
        "met",
        "below_target",
    ]
    assert [rows[m].run_below_target for m in sorted(rows)] == [1, 1, 2, 2, 3]
    assert [rows[m].run_gap_months for m in sorted(rows)] == [0, 1, 1, 2, 2]
    assert rows["2018-05"].run_start.strftime("%Y-%m") == "2018-01"
    # The last miss before May is March: February was inferred, not reported.
    assert rows["2018-03"].previous_miss_month.strftime("%Y-%m") == "2018-01"
    assert rows["2018-05"].previous_miss_month.strftime("%Y-%m") == "2018-03"


def test_inferred_months_and_null_months_give_the_same_runs_and_windows(fresh_db):
    inferred = {
        "2018-01": ("inferred", 97, MINUTES),
        "2018-02": 95,
        "2018-03": ("inferred", 99.5, MINUTES),
        "2018-04": ("inferred", 94, MINUTES),
        "2018-05": 95,
        "2018-06": 97,
    }
    nulls = {month: None if isinstance(value, tuple) else value for month, value in inferred.items()}
    load_values(fresh_db, "M1", "CSP N", inferred, "inferred.csv")
    load_values(fresh_db, "M1", "DCC", nulls, "nulls.csv")  # the same levels in 2018: 99/96
    a, b = series(fresh_db, "M1", "CSP N", window=4), series(fresh_db, "M1", "DCC", window=4)
    columns = (
        "run_below_target",
        "run_start",
        "run_gap_months",
        "run_below_minimum",
        "run_below_minimum_start",
        "misses_in_window",
        "window_months",
    )
    for month in sorted(a):
        assert [str(getattr(a[month], c)) for c in columns] == [str(getattr(b[month], c)) for c in columns], month
    assert [a[m].run_below_minimum for m in sorted(a)] == [0, 1, 1, 1, 2, 0]
    # A window of 4 ending June holds March to June: two inferred months, May and June reported.
    assert [(a[m].misses_in_window, a[m].window_months) for m in sorted(a)] == [
        (0, 0),
        (1, 1),
        (1, 1),
        (1, 1),
        (2, 2),
        (2, 2),
    ]
    # ... while the inferred months keep the status of their value, and the null months have none.
    assert [a[m].status for m in ("2018-01", "2018-03", "2018-04")] == ["below_target", "met", "below_minimum"]
    assert [b[m].status for m in ("2018-01", "2018-03", "2018-04")] == ["no_data"] * 3


def test_revision_becomes_current_and_is_marked(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97, "2018-02": 97}, "issue1.csv")
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 99.2, "2018-02": 97}, "issue2.csv")
    rows = series(fresh_db, "M1", "CSP N")
    assert rows["2018-01"].value == 99.2 and rows["2018-01"].status == "met" and rows["2018-01"].revised
    assert rows["2018-01"].source == "issue2.csv"
    assert not rows["2018-02"].revised and rows["2018-02"].source == "issue1.csv"
    assert rows["2018-02"].run_below_target == 1


def test_status_for_month_filters_and_resolves_aliases(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97})
    frame = status.status_for_month(fresh_db, date(2018, 1, 1), measure="m1", provider="CSP North")
    assert list(frame.provider) == ["CSP N"] and list(frame.measure) == ["M1"]
    with pytest.raises(OpsgError, match="unknown provider 'Mars'"):
        status.status_for_month(fresh_db, date(2018, 1, 1), provider="Mars")
    with pytest.raises(OpsgError, match="not defined for provider 'DSP'"):
        status.status_for_month(fresh_db, date(2018, 1, 1), measure="M1", provider="DSP")


def test_flag_text_wording(fresh_db):
    values = {f"2018-{m:02d}": 97 for m in range(1, 13)}
    values["2018-03"] = None
    load_values(fresh_db, "M1", "CSP N", values)
    flags = status.active_flags(fresh_db, date(2018, 12, 1), window=12)
    assert list(flags.text) == [
        "M1 (CSP N): 11 consecutive months below target since January 2018 (1 month not reported); "
        "11 of 11 reported in the last 12 months"
    ]


def test_window_must_be_positive(fresh_db):
    with pytest.raises(OpsgError, match="window"):
        status.status_table(fresh_db, window=0)


def test_previous_miss_month_for_a_first_month_below_target(fresh_db):
    load_values(fresh_db, "M1", "CSP N", {"2018-01": 97, "2018-02": 99.5, "2018-03": 99.5, "2018-04": 97})
    rows = series(fresh_db, "M1", "CSP N")
    assert rows["2018-01"].previous_miss_month is None or str(rows["2018-01"].previous_miss_month) == "NaT"
    assert rows["2018-04"].previous_miss_month.strftime("%Y-%m") == "2018-01"
    assert rows["2018-04"].run_below_target == 1


def test_the_precomputed_status_table_is_the_live_result_and_follows_every_load(catalogue_db):
    from benchmarks.pandas_status import compare
    from opsg_metrics.rules import status

    load_text(
        catalogue_db,
        """\
        month,measure,provider,value
        2020-01,CPM1,DCC,98
        2020-02,CPM1,DCC,98.5
        2020-03,CPM1,DCC,99.5
        """,
        "one.csv",
    )
    live = status.status_table(catalogue_db, live=True)
    assert status._cache_usable(catalogue_db, 12, date(2020, 3, 1))
    assert compare(live, status.status_table(catalogue_db)) == []
    # A revision and a later month: the table is made again in the same load.
    load_text(catalogue_db, "month,measure,provider,value\n2020-03,CPM1,DCC,97\n2020-04,CPM1,DCC,96.5\n", "two.csv")
    assert status._cache_usable(catalogue_db, 12, date(2020, 4, 1))
    cached = status.status_table(catalogue_db)
    assert compare(status.status_table(catalogue_db, live=True), cached) == []
    row = cached[(cached["measure"] == "CPM1") & (cached["provider"] == "DCC") & (cached["month"] == "2020-04-01")]
    assert int(row["run_below_target"].iloc[0]) == 4  # March revised from 99.5 (met) to 97
    # One month of it, as the overview asks.
    april = status.status_table(catalogue_db, month=date(2020, 4, 1))
    assert (
        set(april["month"].dt.date) == {date(2020, 4, 1)}
        and len(april) == catalogue_db.execute("SELECT count(*) FROM measures").fetchall()[0][0]
    )
    # Another window, or a table made by other rules, is not used: computed live instead.
    assert not status._cache_usable(catalogue_db, 17, date(2020, 4, 1))
    catalogue_db.execute("UPDATE status_cache_meta SET sql_hash = 'older rules'")
    assert not status._cache_usable(catalogue_db, 12, date(2020, 4, 1))
    catalogue_db.execute("UPDATE status_cache SET run_below_target = 99")  # proves the live path runs
    assert (
        int(
            status.status_table(catalogue_db, month=date(2020, 4, 1))
            .query("measure == 'CPM1' and provider == 'DCC'")["run_below_target"]
            .iloc[0]
        )
        == 4
    )
    # A check-only load changes nothing, the table included.
    before = catalogue_db.execute("SELECT count(*) FROM status_cache WHERE run_below_target = 99").fetchall()
    load_text(catalogue_db, "month,measure,provider,value\n2020-05,CPM1,DCC,99.9\n", "three.csv", dry_run=True)
    assert catalogue_db.execute("SELECT count(*) FROM status_cache WHERE run_below_target = 99").fetchall() == before


def test_the_precomputed_table_is_read_in_order_and_remade_by_init_when_stale(sample_db_path, tmp_path):
    import shutil

    import pandas as pd

    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.rules import status

    path = tmp_path / "copy.duckdb"
    shutil.copy(sample_db_path, path)
    con = db.connect(path)
    live = status.status_table(con, live=True)
    cached = status.status_table(con)
    assert status._cache_usable(con, 12, status.latest_month(con))
    # Read without a sort, it comes back in the live result's order, every column equal.
    pd.testing.assert_frame_equal(cached, live)
    assert list(cached["sort_order"]) == sorted(cached["sort_order"])
    # Made by other rules (an older OPSG Metrics): not used, and init remakes it.
    con.execute("UPDATE status_cache_meta SET sql_hash = 'older rules'")
    con.execute("UPDATE status_cache SET run_below_target = -1")
    assert not status._cache_usable(con, 12, status.latest_month(con))
    assert (status.status_table(con)["run_below_target"] >= 0).all()  # computed live meanwhile
    bootstrap.initialise(con, sample=False)
    assert status._cache_usable(con, 12, status.latest_month(con))
    assert con.execute("SELECT count(*) FROM status_cache WHERE run_below_target < 0").fetchall() == [(0,)]
    assert status.ensure_cache(con) is False  # current: nothing to do
    pd.testing.assert_frame_equal(status.status_table(con), live)
    con.close()


def test_frames_through_arrow_match_duckdbs_own_conversion(catalogue_db):
    import pandas as pd

    sql = (
        "SELECT DATE '2020-04-01' AS month, 'CSP N' AS provider, NULL::VARCHAR AS note, 54.8 AS value,"
        " NULL::DATE AS run_start, 3::INTEGER AS run, true AS flag UNION ALL "
        "SELECT DATE '2020-05-01', 'DCC', 'x', NULL, DATE '2020-01-01', 0, false ORDER BY month"
    )
    ours = db.frame(catalogue_db, sql)
    pd.testing.assert_frame_equal(ours, catalogue_db.execute(sql).df())
    assert str(ours["month"].dtype) == "datetime64[us]" and ours["run_start"].isna().tolist() == [True, False]


FILTERS = {
    "one series over a range": dict(measures=["CPM1"], providers=["DCC"], start=date(2019, 3, 1), end=date(2020, 2, 1)),
    "measures of every provider": dict(measures=["CPM1", "CPM4", "PM2"]),
    "a provider's measures to a month": dict(providers=["CSP N"], end=date(2019, 6, 1)),
    "one month": dict(month=date(2020, 4, 1)),
    "nothing matches": dict(measures=["CPM1"], providers=["no such provider"]),
}


@pytest.mark.parametrize("live", [False, True], ids=["precomputed", "live"])
@pytest.mark.parametrize("options", FILTERS.values(), ids=FILTERS.keys())
def test_a_filtered_status_table_is_the_rows_of_the_whole_one(sample_db, options, live):
    whole = status.status_table(sample_db, live=live)
    part = status.status_table(sample_db, live=live, **options)
    keep = pd.Series(True, index=whole.index)
    if "measures" in options:
        keep &= whole["measure"].isin(options["measures"])
    if "providers" in options:
        keep &= whole["provider"].isin(options["providers"])
    if "start" in options:
        keep &= whole["month"] >= pd.Timestamp(options["start"])
    if "end" in options:
        keep &= whole["month"] <= pd.Timestamp(options["end"])
    if "month" in options:
        keep &= whole["month"] == pd.Timestamp(options["month"])
    expected = whole[keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)
    assert part.empty if options.get("providers") == ["no such provider"] else len(part) > 0


@pytest.mark.parametrize("month", [date(2018, 2, 1), date(2020, 4, 1), date(2021, 12, 1)])
def test_last_reported_before_is_each_series_last_judged_reported_month(sample_db, month):
    whole = status.status_table(sample_db)
    earlier = whole[(whole["month"] < pd.Timestamp(month)) & (whole["status"] != "no_data") & ~whole["inferred"]]
    expected = (
        earlier.sort_values(["sort_order", "month"]).groupby(["measure", "provider"]).tail(1).reset_index(drop=True)
    )
    found = status.last_reported_before(sample_db, month)
    pd.testing.assert_frame_equal(found, expected)
    assert found["month"].lt(pd.Timestamp(month)).all()
    assert not found.duplicated(["measure", "provider"]).any()
    if month > date(2018, 6, 1):
        assert len(found) > 20
