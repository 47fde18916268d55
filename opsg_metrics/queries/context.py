"""Context OPSG reads beside the measures: incidents, alerts and operational figures for a month.

Plain query functions returning data frames; the summary, the pages and the
command line use them. Month-on-month changes are computed here, once: a change
from zero is no percentage (None), never a division by zero.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd


from opsg_metrics.store.parse import previous_month


def percent_change(new: float | None, old: float | None) -> float | None:
    """(new - old) / old in percent; None when either is missing or old is zero."""
    if new is None or old is None or pd.isna(new) or pd.isna(old) or old == 0:
        return None
    return (new - old) / old * 100


def incidents_opened(con: duckdb.DuckDBPyConnection, month: date, *, major_only: bool = False) -> pd.DataFrame:
    """Incidents opened in the month (current revision), oldest first."""
    return con.execute(
        f"""SELECT i.incident_id, i.opened, i.resolved, i.category, i.provider, i.major, i.title, i.root_cause,
                   s.label AS source, i.source_id
            FROM current_incidents AS i JOIN sources AS s USING (source_id)
            WHERE i.opened >= ? AND i.opened < ?::DATE + INTERVAL 1 MONTH {"AND i.major" if major_only else ""}
            ORDER BY i.opened, i.incident_id""",
        [month, month],
    ).df()


def incident_counts(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Incidents opened in the month: providers (rows, provider order) by category 1-5 (columns), with totals."""
    rows = con.execute(
        """SELECT i.provider, i.category, count(*) AS n
           FROM current_incidents AS i JOIN providers AS p USING (provider)
           WHERE i.opened >= ? AND i.opened < ?::DATE + INTERVAL 1 MONTH
           GROUP BY i.provider, i.category, p.sort_order ORDER BY p.sort_order""",
        [month, month],
    ).df()
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(index="provider", columns="category", values="n", aggfunc="sum", fill_value=0, sort=False)
    table = table.reindex(columns=range(1, 6), fill_value=0)
    table.columns = [f"Cat {c}" for c in table.columns]
    table["Total"] = table.sum(axis=1)
    table.loc["All"] = table.sum(axis=0)
    table.index.name = "Provider"
    return table.astype(int)


def _with_previous(con, view: str, keys: tuple[str, ...], value: str, columns: str, month: date) -> pd.DataFrame:
    """A month's rows of a current_* view, with the previous month's value of the same key and the change."""
    join = " AND ".join(f"p.{k} = c.{k}" for k in keys)
    frame = con.execute(
        f"""SELECT {", ".join(f"c.{k}" for k in keys)}, {columns}, s.label AS source, c.source_id,
                   p.{value} AS previous, p.source_id AS previous_source_id
            FROM {view} AS c JOIN sources AS s USING (source_id)
            LEFT JOIN {view} AS p ON {join} AND p.month = ?
            JOIN providers AS pr ON pr.provider = c.provider
            WHERE c.month = ? ORDER BY c.{keys[0]}, pr.sort_order""",
        [previous_month(month), month],
    ).df()
    frame["change_pct"] = [percent_change(v, p) for v, p in zip(frame[value], frame["previous"])]
    return frame


def ops_figures(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Every operational figure of the month with the previous month's and the change."""
    return _with_previous(con, "current_ops_figures", ("metric", "provider"), "value", "c.value, c.unit, c.note", month)


def alert_volumes(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Alert volume by code and provider for the month, the previous month's, and the change."""
    return _with_previous(con, "current_alerts", ("alert_code", "provider"), "volume",
                          "c.volume, c.devices, c.first_time_devices", month)


def incident_source_ids(con: duckdb.DuckDBPyConnection, month: date) -> list[int]:
    """Source ids of the incidents opened in a month (what incident_counts counts)."""
    rows = con.execute(
        """SELECT DISTINCT source_id FROM current_incidents WHERE opened >= ? AND opened < ?::DATE + INTERVAL 1 MONTH""",
        [month, month],
    ).fetchall()
    return sorted(r[0] for r in rows)
