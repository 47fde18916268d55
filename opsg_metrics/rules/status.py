"""RAG status, runs below target or minimum, and rolling-window counts.

The rules are SQL (status.sql), computed by DuckDB for every series at once;
this module runs that SQL, filters its result and words it the way OPSG
talks ("16 consecutive months below target since January 2019; 16 of the
last 17"). Nothing here loops over months in Python.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.store import connect as db
from opsg_metrics.store.catalogue import Catalogue
from opsg_metrics.store.errors import OpsgError

STATUS_SQL = (Path(__file__).resolve().parent / "status.sql").read_text(encoding="utf-8")
DEFAULT_WINDOW = 12
MAX_WINDOW = 600

JSON_FIELDS = (
    "month",
    "measure",
    "provider",
    "value",
    "target",
    "minimum",
    "status",
    "unreliable",
    "inferred",
    "run_below_target",
    "run_start",
    "run_gap_months",
    "run_below_minimum",
    "misses_in_window",
    "window_months",
    "window",
    "figure_status",
    "revised",
    "numerator",
    "denominator",
    "level_verified",
    "level_missing",
    "note",
    "source",
)


def check_window(window: int) -> int:
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW:
        raise OpsgError(f"window must be a whole number of months from 1 to {MAX_WINDOW}, not {window!r}")
    return window


def latest_month(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest month any figure has been loaded for."""
    return con.execute("SELECT max(month) FROM measure_values").fetchall()[0][0]


def available_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every month from the first to the latest figure, newest first."""
    first, last = con.execute("SELECT min(month), max(month) FROM measure_values").fetchall()[0]
    if first is None:
        return []
    rows = con.execute(
        "SELECT unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 MONTH))::DATE AS m ORDER BY m DESC",
        [first, last],
    ).fetchall()
    return [row[0] for row in rows]


# The precomputed status table: status.sql's result for the default window up to the latest month,
# refreshed by every load that can change it (figures, catalogue), in the load's own transaction. Pages
# read a month of it instead of running the window functions over all history (each run held ~110 MB for
# a 25-year, 113-series dataset). It is used only while it was made by this very status.sql, for this
# window and up to this month; anything else is computed as before.
CACHE_WINDOW = DEFAULT_WINDOW
CACHE_LAYOUT = "rows in sort_order, month order"  # part of the hash: a table stored otherwise is not used
SQL_HASH = hashlib.sha256((STATUS_SQL + CACHE_LAYOUT).encode("utf-8")).hexdigest()[:16]


def _sql(window: int) -> str:
    return STATUS_SQL.replace("{window_rows}", str(window - 1))


def refresh_cache(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the precomputed status table (call inside the transaction that changed the data)."""
    until = latest_month(con)
    con.execute("DROP TABLE IF EXISTS status_cache_meta")
    if until is None:
        con.execute("DROP TABLE IF EXISTS status_cache")
        return
    # Stored in the order status_table returns it: a scan keeps insertion order (DuckDB's
    # preserve_insertion_order, on by default), so reading it needs no sort.
    con.execute(
        f"CREATE OR REPLACE TABLE status_cache AS SELECT * FROM ({_sql(CACHE_WINDOW)}) ORDER BY sort_order, month",
        {"until": until},
    )
    con.execute(
        "CREATE TABLE status_cache_meta AS SELECT ?::VARCHAR AS sql_hash, ?::INTEGER AS window_months,"
        " ?::DATE AS until",
        [SQL_HASH, CACHE_WINDOW, until],
    )


def ensure_cache(con: duckdb.DuckDBPyConnection) -> bool:
    """Remake the precomputed status table if it was made by other rules or is missing (a database
    from an older OPSG Metrics); True if it was remade. `init` calls it, so upgrading a file with
    `init` leaves the app reading the table again rather than computing status on every page."""
    until = latest_month(con)
    if until is None or _cache_usable(con, CACHE_WINDOW, until):
        return False
    con.execute("BEGIN TRANSACTION")
    try:
        refresh_cache(con)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return True


def _cache_usable(con: duckdb.DuckDBPyConnection, window: int, until: date) -> bool:
    return window == CACHE_WINDOW and _cache_meta(con) == [(SQL_HASH, CACHE_WINDOW, until)]


def _cache_meta(con: duckdb.DuckDBPyConnection) -> list[tuple] | None:
    try:
        return con.execute("SELECT sql_hash, window_months, until FROM status_cache_meta").fetchall()
    except duckdb.CatalogException:
        return None


def _latest_and_meta(con: duckdb.DuckDBPyConnection) -> tuple[date | None, list[tuple] | None]:
    """The latest month and the precomputed table's description, in one query (a page asks every rerun)."""
    try:
        latest, meta = con.execute(
            "SELECT (SELECT max(month) FROM measure_values),"
            " (SELECT list((sql_hash, window_months, until)) FROM status_cache_meta)"
        ).fetchall()[0]
    except duckdb.CatalogException:
        return latest_month(con), None
    return latest, [tuple(m.values()) if isinstance(m, dict) else tuple(m) for m in meta or []]


def status_table(
    con: duckdb.DuckDBPyConnection,
    *,
    window: int = DEFAULT_WINDOW,
    until: date | None = None,
    month: date | None = None,
    live: bool = False,
    measures: list[str] | None = None,
    providers: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Status, runs and window counts for every series and month up to `until` (default: latest),
    computed over all history; only the rows of `month`, of `measures`, of `providers`, or from `start`
    to `end` if given (the rest stays in the database: all of it is ~34,000 rows x 33 columns on the
    stress data). From the precomputed table when it holds exactly this (unless `live`)."""
    filters, params = [], {}
    if month is not None:
        filters.append("month = $month")
        params["month"] = month
    if measures is not None:
        filters.append("list_contains($measures, measure)")
        params["measures"] = list(measures)
    if providers is not None:
        filters.append("list_contains($providers, provider)")
        params["providers"] = list(providers)
    if start is not None:
        filters.append("month >= $start")
        params["start"] = start
    if end is not None:
        filters.append("month <= $end")
        params["end"] = end
    return _status_rows(con, window, until, live, " AND ".join(filters), params)


def last_reported_before(
    con: duckdb.DuckDBPyConnection, month: date, *, window: int = DEFAULT_WINDOW, until: date | None = None
) -> pd.DataFrame:
    """Each series' last reported month before `month` (its status_table row): a month with a figure
    judged against a level (not no_data) and reported rather than inferred. A null month in between
    hides nothing."""
    return _status_rows(
        con,
        window,
        until,
        False,
        "month < $before AND status <> 'no_data' AND NOT inferred",
        {"before": month},
        qualify="QUALIFY row_number() OVER (PARTITION BY measure, provider ORDER BY month DESC) = 1",
    )


def _status_rows(
    con: duckdb.DuckDBPyConnection,
    window: int,
    until: date | None,
    live: bool,
    where: str,
    params: dict,
    qualify: str = "",
) -> pd.DataFrame:
    check_window(window)
    latest, meta = _latest_and_meta(con)
    until = until or latest
    if until is None:
        return pd.DataFrame(columns=[*JSON_FIELDS, "name", "unit", "direction", "sort_order"])
    where = f"WHERE {where}" if where else ""
    if not live and window == CACHE_WINDOW and meta == [(SQL_HASH, CACHE_WINDOW, until)]:
        # Stored in sort_order, month order; a QUALIFY may reorder, so say the order then.
        order = "ORDER BY sort_order, month" if qualify else ""
        return db.frame(con, f"SELECT *, {window} AS window FROM status_cache {where} {qualify} {order}", params)
    return db.frame(
        con,
        f"SELECT *, {window} AS window FROM ({_sql(window)}) {where} {qualify} ORDER BY sort_order, month",
        {"until": until, **params},
    )


def status_for_month(
    con: duckdb.DuckDBPyConnection,
    month: date,
    *,
    window: int = DEFAULT_WINDOW,
    measure: str | None = None,
    provider: str | None = None,
) -> pd.DataFrame:
    """One row per series for `month`, optionally for one measure and/or provider.

    measure and provider may be written as a person would ("cpm 1", "CSP North").
    """
    catalogue = Catalogue.from_db(con)
    try:
        measure_id = catalogue.resolve_measure(measure) if measure else None
        provider_id = catalogue.resolve_provider(provider) if provider else None
        if measure_id and provider_id:
            catalogue.resolve_series(measure_id, provider_id)
    except ValueError as exc:
        raise OpsgError(str(exc)) from None
    latest = latest_month(con)
    until = max(month, latest) if latest else month
    frame = status_table(con, window=window, until=until, month=month)
    selected = frame["month"].dt.date == month if len(frame) else pd.Series(dtype=bool)
    if measure_id:
        selected &= frame["measure"] == measure_id
    if provider_id:
        selected &= frame["provider"] == provider_id
    return frame[selected].reset_index(drop=True)


def run_of(row: pd.Series, *, compact: bool = False) -> str:
    """A status row's run below target in OPSG's words (words.run_phrase)."""
    run = int(row["run_below_target"])
    start = pd.Timestamp(row["run_start"]).date() if run and pd.notna(row["run_start"]) else None
    return words.run_phrase(
        run, start, int(row["run_gap_months"]), int(row.get("run_below_minimum", 0) or 0), compact=compact
    )


def flag_text(row: pd.Series) -> str:
    """OPSG's sentence for an active flag, e.g.
    'CPM1 (DCC): 16 consecutive months below target since January 2019; 16 of the last 17'."""
    return (
        f"{row['measure']} ({row['provider']}): {run_of(row)}; "
        f"{words.window_phrase(int(row['misses_in_window']), int(row['window_months']), int(row['window']))}"
    )


def active_flags(
    con: duckdb.DuckDBPyConnection, month: date, *, window: int = DEFAULT_WINDOW, min_run: int = 3
) -> pd.DataFrame:
    """Series whose run below target at `month` is at least `min_run`, longest first, with their text."""
    frame = status_for_month(con, month, window=window)
    flags = frame[frame["run_below_target"] >= min_run].copy()
    flags = flags.sort_values(["run_below_target", "sort_order"], ascending=[False, True]).reset_index(drop=True)
    flags["text"] = [flag_text(row) for _, row in flags.iterrows()]
    return flags


def to_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: months as YYYY-MM, missing numbers as null."""
    records = []
    for row in frame.to_dict(orient="records"):
        record = {}
        for name in JSON_FIELDS:
            value = row.get(name)
            if name in ("month", "run_start") and value is not None and not pd.isna(value):
                value = words.month_key(pd.Timestamp(value).date())
            elif value is None or (not isinstance(value, str) and pd.isna(value)):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            record[name] = value
        records.append(record)
    return records
