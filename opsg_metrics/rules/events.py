"""The measures of request records: the queries of events.sql, made for DuckDB or for Spark.

events.sql is the one definition (the waterfall, the sensitivity to each exclusion reason, the response
times against the target). DuckDB runs it as written; for Spark it is transpiled by sqlglot from DuckDB's
dialect, so the two engines run the same definition, and tests/test_events_spark.py holds them to the
same results. Nothing here reads files or starts an engine: the caller says where the records are.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import duckdb

from opsg_metrics.store.spark import VIEW

SQL_FILE = Path(__file__).with_name("events.sql")
PERIODS = {"month": "month", "day": "day"}
QUERIES = ("by_reason", "waterfall", "sensitivity", "distribution")
SPARK_VIEW = VIEW  # the name the Spark engine gives the records
# A recomputed figure further than this from the PMR's (percentage points) is flagged: the PMR publishes
# two decimals, so a difference within rounding of a figure made from the same requests is never flagged.
TOLERANCE = 0.05


def flagged(difference: float | None) -> bool:
    """Whether a recomputed figure's difference from the PMR's is flagged (over TOLERANCE points; the
    difference rounded to 1e-9 first, so 0.05 made by floating point as 0.0500000001 is not)."""
    return difference is not None and round(abs(difference), 9) > TOLERANCE


@functools.cache
def blocks() -> dict[str, str]:
    """events.sql's queries by name, comments dropped, in the file's order."""
    text = SQL_FILE.read_text(encoding="utf-8")
    marks = list(re.finditer(r"^-- query: (\w+)\s*$", text, re.MULTILINE))
    found = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = "\n".join(line for line in text[mark.end() : end].splitlines() if not line.lstrip().startswith("--"))
        found[mark.group(1)] = body.strip()
    if tuple(found) != QUERIES:
        raise RuntimeError(f"events.sql must hold the queries {QUERIES}; found {tuple(found)}")
    return found


def sql(name: str, events: str, period: str = "month") -> str:
    """A query of events.sql in DuckDB's dialect, over the table expression `events`, per `period`."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r} (use {', '.join(PERIODS)})")
    made = {}
    for block, text in blocks().items():
        made[block] = text.format(events=events, period=PERIODS[period], **made)
        if block == name:
            return made[block]
    raise ValueError(f"unknown query {name!r} (use {', '.join(QUERIES)})")


@functools.cache
def _spark_dialect() -> type:
    """Spark's dialect of sqlglot, but keeping an exact discrete percentile exact: sqlglot writes
    `percentile_disc(q) WITHIN GROUP (ORDER BY x)` for Spark as PERCENTILE_APPROX, which Spark computes
    approximately; Spark 3.3 and later have the exact one, in the standard's syntax."""
    from sqlglot import exp
    from sqlglot.dialects.spark import Spark
    from sqlglot.generator import Generator

    class ExactSpark(Spark):
        class Generator(Spark.Generator):
            TRANSFORMS = {
                **Spark.Generator.TRANSFORMS,
                exp.WithinGroup: Generator.withingroup_sql,
                exp.PercentileDisc: lambda self, e: self.func("PERCENTILE_DISC", e.this),
            }

    return ExactSpark


@functools.cache
def spark_sql(name: str, period: str = "month") -> str:
    """The same query transpiled to Spark SQL, over the view `events`."""
    import sqlglot

    return sqlglot.transpile(sql(name, SPARK_VIEW, period), read="duckdb", write=_spark_dialect())[0]


def run(con: duckdb.DuckDBPyConnection, name: str, events: str, period: str = "month") -> list[dict]:
    """A query run on DuckDB: its rows as dicts."""
    cursor = con.execute(sql(name, events, period))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
