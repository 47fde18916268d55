"""What has been loaded and how figures changed: sources, the ingest log, revisions, source diffs.

The Data page shows these; nothing here writes.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd


def source_list(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every source loaded, newest first, with its classification and how many figures it brought."""
    return con.execute(
        """SELECT s.source_id AS id, s.label AS source, s.kind, s.classification,
                  strftime(s.issued_on, '%Y-%m-%d') AS issued, s.file_name AS file,
                  (SELECT count(*) FROM measure_values v WHERE v.source_id = s.source_id) AS figures,
                  s.is_sample AS sample, strftime(s.loaded_at, '%Y-%m-%d %H:%M') AS loaded, s.sha256
           FROM sources AS s ORDER BY s.source_id DESC"""
    ).df()


def ingest_log(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each load: file, source, classification, issue date, sha256, rows, outcome, message, who and when."""
    return con.execute(
        """SELECT strftime(l.loaded_at, '%Y-%m-%d %H:%M') AS "when", l.loaded_by AS who, l.file_name AS file,
                  s.label AS source, s.classification, strftime(s.issued_on, '%Y-%m-%d') AS issued,
                  l.kind, l.rows_read, l.rows_loaded, l.outcome, l.message, l.sha256
           FROM ingest_log AS l LEFT JOIN sources AS s USING (source_id)
           ORDER BY l.ingest_id DESC"""
    ).df()


def revision_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Months with at least one figure loaded more than once, newest first."""
    rows = con.execute(
        """SELECT DISTINCT month FROM current_measure_values WHERE revision_count > 1 ORDER BY month DESC"""
    ).fetchall()
    return [r[0] for r in rows]


def revisions(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Every revision of every figure of the month that has more than one, oldest first within a figure."""
    return con.execute(
        """WITH revised AS (SELECT measure, provider FROM current_measure_values
                            WHERE month = ? AND revision_count > 1)
           SELECT v.measure, v.provider,
                  row_number() OVER (PARTITION BY v.measure, v.provider ORDER BY v.source_id) AS revision,
                  v.value, v.status, v.note, s.label AS source, s.source_id, strftime(s.issued_on, '%Y-%m-%d') AS issued,
                  s.classification,
                  v.source_id = max(v.source_id) OVER (PARTITION BY v.measure, v.provider) AS current
           FROM measure_values AS v JOIN revised USING (measure, provider)
           JOIN sources AS s USING (source_id) JOIN measures AS m USING (measure, provider)
           WHERE v.month = ? ORDER BY m.sort_order, v.source_id""",
        [month, month],
    ).df()


def diff_sources(con: duckdb.DuckDBPyConnection, first: int, second: int) -> pd.DataFrame:
    """Figures on which two sources differ: a changed value or status, or a figure only one of them has.

    Compares what each source itself stored: a later source stores only the figures it changed or
    added, so a figure of the first that the second does not store was restated unchanged or left out."""
    return con.execute(
        """WITH a AS (SELECT month, measure, provider, value, status FROM measure_values WHERE source_id = ?),
                b AS (SELECT month, measure, provider, value, status FROM measure_values WHERE source_id = ?)
           SELECT strftime(coalesce(a.month, b.month), '%Y-%m') AS month,
                  coalesce(a.measure, b.measure) AS measure, coalesce(a.provider, b.provider) AS provider,
                  a.value AS first_value, a.status AS first_status, b.value AS second_value, b.status AS second_status,
                  CASE WHEN a.measure IS NULL THEN 'only in the second'
                       WHEN b.measure IS NULL THEN 'not restated by the second (unchanged, or absent)'
                       ELSE 'changed' END AS difference
           FROM a FULL JOIN b USING (month, measure, provider)
           WHERE a.value IS DISTINCT FROM b.value OR a.status IS DISTINCT FROM b.status
           ORDER BY month, measure, provider""",
        [first, second],
    ).df()
