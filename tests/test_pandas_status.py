"""The SQL status engine agrees with a plain pandas implementation of the same rules.

benchmarks/pandas_status.py computes status, runs and windows the straightforward way (a loop
over each series' months, keeping the run in progress); status.sql does it with window functions
(gaps and islands). Each is an independent check of the other, on the sample database and on
small databases built to exercise the tricky rules.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.pandas_status import RULE_COLUMNS, compare, load_inputs, pandas_status_table
from opsg_metrics.rules import status
from opsg_metrics.store import connect as db
from opsg_metrics.store.catalogue import load_providers

from .conftest import TEST_CATALOGUE, load_text

MINUTES = "OPSG minutes: inferred"


def both(con, window=12, until=None):
    sql = status.status_table(con, window=window, until=until)
    pan = pandas_status_table(load_inputs(con), window=window, until=until)
    return sql, pan


def assert_agree(con, window=12, until=None):
    sql, pan = both(con, window, until)
    assert compare(sql, pan) == []
    return sql


def load_values(con, rows: list[tuple], name="values.csv"):
    """rows: (month, measure, provider, value) with value a number, None (status null),
    ('unreliable', number) or ('inferred', number)."""
    lines = ["month,measure,provider,value,status,note"]
    for month, measure, provider, value in rows:
        if value is None:
            lines.append(f"{month},{measure},{provider},,null,")
        elif isinstance(value, tuple):
            note = MINUTES if value[0] == "inferred" else ""
            lines.append(f"{month},{measure},{provider},{value[1]},{value[0]},{note}")
        else:
            lines.append(f"{month},{measure},{provider},{value},,")
    result = load_text(con, "\n".join(lines) + "\n", name)
    assert result.outcome == "loaded", result.problems


def new_db():
    """Like the fresh_db fixture, for tests that build many databases."""
    con = db.connect(":memory:")
    load_providers(con)
    result = load_text(con, TEST_CATALOGUE, "catalogue.csv", kind="catalogue")
    assert result.outcome == "loaded", result.problems
    return con


# --- compare() itself -------------------------------------------------------------------------


def test_compare_reports_differences_in_rows_and_columns(sample_db):
    sql, pan = both(sample_db)
    assert compare(sql, pan) == []
    changed = pan.copy()
    in_run = changed.index[changed.run_start.notna()]
    changed.loc[in_run[0], "run_below_target"] += 1
    changed.loc[in_run[1], "run_start"] = None
    changed.loc[in_run[2], "status"] = "met" if changed.loc[in_run[2], "status"] != "met" else "no_data"
    problems = compare(sql, changed.drop(index=in_run[3]))
    assert [p.split(":")[0].split(" rows ")[-1] for p in problems] == [
        "only in sql",
        "status",
        "run_below_target",
        "run_start",
    ]
    assert compare(sql, pan.drop(columns="window_months")) == ["pandas lacks columns ['window_months']"]


def test_compare_ignores_row_order_and_date_types(sample_db):
    sql, pan = both(sample_db)
    shuffled = pan.sample(frac=1, random_state=1)
    shuffled["month"] = shuffled["month"].dt.date
    assert compare(sql, shuffled) == []


# --- the sample database ----------------------------------------------------------------------


@pytest.mark.parametrize("window", [12, 17])
@pytest.mark.parametrize("until", [None, date(2019, 6, 1), date(2019, 6, 15), date(2022, 3, 1)])
def test_sample_database_agrees(sample_db, window, until):
    sql = assert_agree(sample_db, window, until)
    assert len(sql) > 0


@pytest.mark.parametrize("window", [1, 2, 600])
def test_sample_database_agrees_at_extreme_windows(sample_db, window):
    assert_agree(sample_db, window)


# --- small constructed databases --------------------------------------------------------------

TRICKY_CATALOGUE = """\
measure,provider,name,unit,direction,target,minimum,effective_from,effective_to,source,verified,description
M2,DCC,Levels with holes,percent,higher,98,95,2018-04,2018-08,test fixture,true,level ends early
M2,DCC,Levels with holes,percent,higher,97,94,2018-11,,test fixture,false,level resumes later
L2,DSP,Lower with a change,minutes,lower,10,20,2018-01,,test fixture,true,lower is better
L2,DSP,Lower with a change,minutes,lower,15,25,2018-07,,test fixture,true,lower is better
M3,CSP N,Never reported,percent,higher,99,96,2018-01,,test fixture,true,no figure at all
"""


def m(year, month):
    return f"{year}-{month:02d}"


def nth(k):
    """The k-th month after January 2018 (0 is January 2018)."""
    return m(2018 + k // 12, k % 12 + 1)


@pytest.fixture
def tricky_db(fresh_db):
    """Every rule in one database: M1 (CSP N, 99/96) with nulls, absent, inferred and unreliable
    months inside runs, below minimum and below target; M1 (DCC) across its level change; L1 (DSP)
    lower-is-better with values exactly at target and minimum; M2 (DCC) with months outside any
    level; L2 (DSP) lower-is-better with a level change; series starting late; M3 (CSP N) with no data."""
    load_text(fresh_db, TRICKY_CATALOGUE, "tricky-catalogue.csv", kind="catalogue")
    csp = [
        97,
        95,
        None,
        94,
        ("inferred", 99.5),
        93,
        ("unreliable", 95.5),
        99,
        None,
        97,
        ("inferred", 90),
        96,
        95.99,
        None,
        None,
        99,
        99.5,
        ("inferred", 97),
        97,
        ("unreliable", 99.2),
        94,
        94,
        96.5,
        100,
    ]
    rows = [(nth(i), "M1", "CSP N", v) for i, v in enumerate(csp)]
    # Absent months (no row at all) in the middle of a run: 2020-02 and 2020-03.
    rows += [(m(2020, 1), "M1", "CSP N", 95), (m(2020, 4), "M1", "CSP N", 94), (m(2020, 5), "M1", "CSP N", 99)]
    # M1 (DCC): 99/96 in 2018, 95/90 from 2019; it starts in June 2018.
    dcc = {
        m(2018, 6): 97,
        m(2018, 7): 99,
        m(2018, 8): 96,
        m(2018, 9): 95,
        m(2018, 10): None,
        m(2018, 11): 97,
        m(2018, 12): 97,
        m(2019, 1): 97,
        m(2019, 2): 94,
        m(2019, 3): 89,
        m(2019, 4): ("inferred", 80),
        m(2019, 5): 95,
        m(2019, 7): 90,
        m(2019, 8): 89.99,
    }
    rows += [(month, "M1", "DCC", v) for month, v in dcc.items()]
    # L1 (DSP) lower-is-better 10/20: exactly at target, exactly at minimum, just over.
    dsp = [10, 15, 20, 20.01, 9, None, 25, ("inferred", 5), 30, ("unreliable", 10), 21, 10.5]
    rows += [(nth(2 + i), "L1", "DSP", v) for i, v in enumerate(dsp)]
    # M2 (DCC): values before, inside, between and after its two levels.
    m2 = {
        m(2018, 2): 50,
        m(2018, 3): 96,
        m(2018, 4): 96,
        m(2018, 5): 94,
        m(2018, 7): 99,
        m(2018, 8): 93,
        m(2018, 9): 93,
        m(2018, 10): ("inferred", 93),
        m(2018, 11): 95,
        m(2018, 12): 93,
        m(2019, 1): 93,
    }
    rows += [(month, "M2", "DCC", v) for month, v in m2.items()]
    # L2 (DSP): 10/20 to June 2018, 15/25 from July.
    l2 = {m(2018, 5): 12, m(2018, 6): 21, m(2018, 7): 12, m(2018, 8): 21, m(2018, 9): 26, m(2018, 10): 15}
    rows += [(month, "L2", "DSP", v) for month, v in l2.items()]
    load_values(fresh_db, rows, "first-issue.csv")
    # Revisions: a later issue changes some months (a met month becomes a miss, and back).
    load_values(
        fresh_db,
        [
            (m(2018, 8), "M1", "CSP N", 97),
            (m(2019, 4), "M1", "CSP N", 99.9),
            (m(2018, 7), "M1", "DCC", None),
            (m(2019, 7), "M1", "DCC", ("inferred", 91)),
        ],
        "second-issue.csv",
    )
    return fresh_db


@pytest.mark.parametrize("window", [12, 17])
@pytest.mark.parametrize(
    "until",
    [
        None,  # the latest month: May 2020
        date(2018, 9, 1),  # mid-history
        date(2018, 9, 20),  # a day inside a month
        date(2018, 5, 1),  # before M1 (DCC) and L2 (DSP) start
        date(2017, 6, 1),  # before any figure
        date(2021, 3, 1),  # months after the latest figure
    ],
)
def test_tricky_rules_agree(tricky_db, window, until):
    assert_agree(tricky_db, window, until)


@pytest.mark.parametrize("window", [1, 3, 6, 600])
def test_tricky_rules_agree_at_other_windows(tricky_db, window):
    assert_agree(tricky_db, window)


def test_tricky_database_exercises_every_rule(tricky_db):
    """Agreement means something only if the database holds the cases it is meant to."""
    sql = status.status_table(tricky_db, window=12)
    assert set(sql.status) == {"met", "below_target", "below_minimum", "no_data"}
    assert set(sql.figure_status) == {"reported", "null", "absent", "unreliable", "inferred"}
    assert sql.level_missing.any() and sql.inferred.any() and sql.unreliable.any() and sql.revised.any()
    assert (sql.run_gap_months > 0).any() and (sql.run_below_minimum > 1).any()
    assert (sql.misses_in_window < sql.window_months).any() and (sql.window_months < 12).any()
    # An inferred miss inside a run: the run goes on, neither extended nor ended.
    assert ((sql.inferred) & (sql.status != "met") & (sql.run_below_target > 0)).any()
    # A series without any figure has every month from the earliest figure of any series.
    never = sql[(sql.measure == "M3") & (sql.provider == "CSP N")]
    assert never.month.min() == sql.month.min() and set(never.status) == {"no_data"}
    # A series starting late starts at its first figure.
    assert sql[(sql.measure == "M1") & (sql.provider == "DCC")].month.min() == pd.Timestamp("2018-06-01")
    assert set(sql.direction) == {"higher", "lower"}


def test_empty_database_agrees(fresh_db):
    sql, pan = both(fresh_db)
    assert len(sql) == len(pan) == 0
    # (status_table's empty frame has only some of the columns of a full one.)
    assert compare(sql, pan, columns=[c for c in RULE_COLUMNS if c in sql.columns]) == []
    # With an explicit month there is one row per series, at that month.
    sql = assert_agree(fresh_db, 12, date(2019, 1, 1))
    assert len(sql) == fresh_db.execute("SELECT count(*) FROM measures").fetchone()[0] == 3


@pytest.mark.parametrize("window", [12, 17])
def test_real_catalogue_with_few_figures_agrees(catalogue_db, window):
    """The bundled catalogue: dozens of series, nearly all without a figure, one starting late."""
    series = catalogue_db.execute("SELECT measure, provider FROM measures ORDER BY sort_order LIMIT 2").fetchall()
    (m1, p1), (m2, p2) = series
    rows = [(m(2019, k), m1, p1, v) for k, v in zip(range(1, 13), [99, 90, None, 85, 99.9, 50] * 2)]
    rows += [(m(2020, 6), m2, p2, 80)]
    load_values(catalogue_db, rows)
    assert_agree(catalogue_db, window)
    assert_agree(catalogue_db, window, date(2019, 7, 1))


# --- random series ----------------------------------------------------------------------------

# Values around the thresholds of each test series: exactly at target and minimum, between, beyond.
CHOICES = {
    ("M1", "CSP N"): [99, 99.5, 98.99, 97, 96, 95.99, 50],
    ("M1", "DCC"): [99, 97, 96, 95, 92, 90, 89.99],  # 99/96 in 2018, 95/90 from 2019
    ("L1", "DSP"): [5, 10, 10.01, 15, 20, 20.01, 40],  # lower is better, 10/20
}
MONTH = st.one_of(
    st.just("absent"),
    st.just(None),
    st.tuples(st.sampled_from(["reported", "unreliable", "inferred"]), st.integers(0, 6)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(st.tuples(st.integers(0, 14), st.lists(MONTH, max_size=30)), min_size=3, max_size=3),
    window=st.sampled_from([1, 2, 5, 12, 17, 40]),
    until_offset=st.one_of(st.none(), st.integers(-3, 48)),
)
def test_random_series_agree(histories, window, until_offset):
    con = new_db()
    try:
        rows = []
        for (series, choices), (start, months) in zip(CHOICES.items(), histories):
            for k, month in enumerate(months, start=start):
                if month == "absent":
                    continue
                if month is not None:
                    kind, index = month
                    month = choices[index] if kind == "reported" else (kind, choices[index])
                rows.append((nth(k), *series, month))
        if rows:
            load_values(con, rows)
        until = None if until_offset is None else date(2018 + until_offset // 12, until_offset % 12 + 1, 1)
        if until is None and not rows:
            sql, pan = both(con, window)
            assert len(sql) == len(pan) == 0
            assert compare(sql, pan, columns=[c for c in RULE_COLUMNS if c in sql.columns]) == []
        else:
            assert_agree(con, window, until)
    finally:
        con.close()


def test_rule_columns_cover_every_rule_output_of_status_sql(sample_db):
    """Every column status.sql returns is compared, except names, units and source labels."""
    sql = status.status_table(sample_db)
    not_rules = {"name", "unit", "source", "source_issued_on", "classification", "source_id"}
    assert set(sql.columns) - not_rules == set(RULE_COLUMNS)
