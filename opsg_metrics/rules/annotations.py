"""Which annotations apply to which series: the rule is the `annotation_scope` view (made by
store/clearance.annotation_scope_sql for the main schema and each clearance level); these read it, for the trend charts, the SPC rebases and the exports alike."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd


def applying(
    con: duckdb.DuckDBPyConnection,
    measure: str | None,
    providers: list[str] | None,
    start: date | None = None,
    end: date | None = None,
    *,
    kinds: tuple[str, ...] | None = None,
    after_start: bool = False,
    through_end_month: bool = True,
) -> pd.DataFrame:
    """The current annotations that apply to the series of `measure` (every measure if None) and
    `providers` (every provider if None), dated from `start` to the end of `end`'s month (to `end`
    itself with through_end_month=False); `after_start` leaves out those dated on `start` itself. One row
    per annotation and series it applies to: date, text, scope, measure, provider, kind, source_id,
    series_measure, series_provider."""
    clauses, params = [], []
    if measure is not None:
        clauses.append("series_measure = ?")
        params.append(measure)
    if providers is not None:
        clauses.append("series_provider IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(providers))
    if start is not None:
        clauses.append("date > ?" if after_start else "date >= ?")
        params.append(start)
    if end is not None:
        clauses.append("date < ?::DATE + INTERVAL 1 MONTH" if through_end_month else "date <= ?")
        params.append(end)
    if kinds is not None:
        clauses.append("kind IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(kinds))
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return con.execute(
        f"SELECT * FROM annotation_scope {where} ORDER BY date, text, series_measure, series_provider", params
    ).df()
