"""The measures of request records on Apache Spark (local mode, Debian's Java) give DuckDB's results
exactly: one definition (rules/events.sql), transpiled by sqlglot."""

from __future__ import annotations

from datetime import date

import pytest

from opsg_metrics.queries import events
from opsg_metrics.rules import events as rule
from opsg_metrics.store import events as kept
from opsg_metrics.store import snapshots, spark

# months of different mixes: early (no firmware jobs dropped), 2019-11 (15% of PM4.3's test messages
# excluded), 2020-04 (PM2 CSP N below minimum, 12% dropped), 2021-07
MONTHS = [date(2019, 1, 1), date(2019, 11, 1), date(2020, 4, 1), date(2021, 7, 1)]


@pytest.fixture(scope="module")
def selection(events_db_path):
    con, _ = snapshots.reader(events_db_path)
    with con:
        yield con, kept.select(con, MONTHS)


def test_spark_runs_on_debians_java():
    home = spark.java_home()
    assert home is not None
    session = spark.session()
    assert session.sparkContext.master.startswith("local")
    assert session.range(3).count() == 3


@pytest.mark.parametrize("period", ["month", "day"])
@pytest.mark.parametrize("name", rule.QUERIES)
def test_each_query_gives_duckdbs_rows_on_spark(selection, name, period):
    con, chosen = selection
    duck = rule.run(con, name, kept.parquet_source(chosen), period)
    on_spark = spark.run(chosen.files, rule.spark_sql(name, period))
    assert len(duck) > 0
    if name == "by_reason":  # a building block of the others, in no order: the same rows, in any order
        duck, on_spark = (sorted(rows, key=lambda r: tuple(map(str, r.values()))) for rows in (duck, on_spark))
    assert on_spark == duck  # the same rows (in the same order), the same numbers to the last bit


def test_the_command_gives_the_same_json_on_both_engines(events_db_path):
    con, _ = snapshots.reader(events_db_path)
    with con:
        for month in MONTHS:
            duck = events.measures(con, month, engine="duckdb")
            assert events.measures(con, month, engine="spark") == duck
            assert len(duck[0]) == 6


def test_the_spark_query_is_spark_sql_not_duckdbs():
    text = rule.spark_sql("distribution")
    assert "PERCENTILE_DISC(0.99) WITHIN GROUP" in text and "PERCENTILE_APPROX" not in text
    assert "read_parquet" not in text and " events" in text


def test_a_cluster_reads_the_same_files_under_the_events_url(monkeypatch):
    files = ("/data/opsg.duckdb.events/month=2020-04/measure=PM2/provider=CSP%20N/source-7-0.parquet",)
    assert spark.located(files, "/data/opsg.duckdb.events") == files
    monkeypatch.setenv(spark.EVENTS_URL_ENV, "s3a://panel-data/opsg.duckdb.events/")
    assert spark.located(files, "/data/opsg.duckdb.events") == (
        "s3a://panel-data/opsg.duckdb.events/month=2020-04/measure=PM2/provider=CSP%20N/source-7-0.parquet",
    )
