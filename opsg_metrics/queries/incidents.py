"""Incidents beside the measures: counts, durations, time to resolve against CPM4/CPM5, aged
open incidents, Registration Data Provider (RDP) incidents, and the months a measure missed.

Plain query functions (SQL on `current_incidents`, `current_ops_figures` and the status
table) returning data frames; the Incidents page and the tests call them. No Streamlit.
What the page shows of them (its tables as people read them, its words, where each view's
figures came from) is `incident_views`.

Conventions every function follows:

- A **period** is whole months, from the first day of `start` up to the **end of the
  period**: the first instant of the month after `end` (`IncidentFilter.period_end`).
- Everything is **as of the end of the period**. An incident resolved after it was still
  open then: it has no `resolved` time here, `open_at_end` is true and its duration runs to
  the end of the period. So a view of a past period is what could have been said then, and
  the same link always shows the same thing.
- **Filters** (`IncidentFilter`): providers and categories (empty means all), a search
  (case-insensitive, a plain substring of the incident id or the title, no wildcards) and
  optionally a set of months inside the period (e.g. the months PM2 in CSP N was below its
  minimum, from `months_below`) to which the month-based views are restricted.
- **Target Resolution Times** per category come from `data/catalogue/resolution_times.csv`.
  They are placeholders until checked against SEC Section H (the file says so, row by row):
  every share "within TRT" computed here inherits that caveat.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.queries.provenance import provenance as sources_provenance
from opsg_metrics.rules.status import status_table
from opsg_metrics.store import parse
from opsg_metrics.store.catalogue import CATALOGUE_DIR, Catalogue
from opsg_metrics.store.errors import OpsgError

RESOLUTION_TIMES_FILE = CATALOGUE_DIR / "resolution_times.csv"
CATEGORIES = (1, 2, 3, 4, 5)
# The incident categories each Code Performance Measure counts (SEC Section H13).
CPM_CATEGORIES = {"CPM4": (1, 2), "CPM5": (3, 4, 5)}
CPM_PROVIDER = "DCC"
RDP_PROVIDER = "RDP"
RDP_METRICS = {
    "RDP incidents opened": "opened",
    "RDP incidents resolved": "resolved_in_month",
    "RDP incidents still open": "still_open",
}
LEVELS = ("target", "minimum")


@dataclass(frozen=True)
class IncidentFilter:
    """What to show: a period of whole months and the filters on it (validated on creation)."""

    start: date
    end: date
    providers: tuple[str, ...] = ()
    categories: tuple[int, ...] = ()
    search: str = ""
    # Restrict the month-based views to these months (None: every month of the period).
    months: tuple[date, ...] | None = None

    def __post_init__(self):
        start, end = _first_of_month(self.start), _first_of_month(self.end)
        if start > end:
            raise OpsgError(f"the period starts ({words.month_key(start)}) after it ends ({words.month_key(end)})")
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad:
            raise OpsgError(f"incident categories are 1 to 5, not {', '.join(map(str, bad))}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "providers", tuple(self.providers))
        object.__setattr__(self, "categories", tuple(sorted(set(int(c) for c in self.categories))))
        object.__setattr__(self, "search", (self.search or "").strip())
        if self.months is not None:
            inside = sorted({_first_of_month(m) for m in self.months if start <= _first_of_month(m) <= end})
            object.__setattr__(self, "months", tuple(inside))

    @property
    def period_end(self) -> datetime:
        """The first instant after the period: what 'at the end of the period' means."""
        return datetime.combine(words.next_month(self.end), datetime.min.time())

    def period_months(self) -> list[date]:
        """The months the month-based views cover, oldest first."""
        if self.months is not None:
            return list(self.months)
        months, month = [], self.start
        while month <= self.end:
            months.append(month)
            month = words.next_month(month)
        return months


def _first_of_month(day) -> date:
    day = pd.Timestamp(day)
    return date(day.year, day.month, 1)


def incident_where(f: IncidentFilter, alias: str = "i") -> tuple[str, list]:
    """The provider, category and search conditions on incidents, as SQL and parameters."""
    conditions, params = [], []
    if f.providers:
        conditions.append(f"list_contains(?::VARCHAR[], {alias}.provider)")
        params.append(list(f.providers))
    if f.categories:
        conditions.append(f"list_contains(?::INTEGER[], {alias}.category)")
        params.append(list(f.categories))
    if f.search:
        # contains(), not LIKE: a '%' or '_' someone types is looked for as itself.
        conditions.append(
            f"(contains(lower({alias}.incident_id), lower(?)) OR contains(lower({alias}.title), lower(?)))"
        )
        params += [f.search, f.search]
    return (" AND ".join(conditions) or "TRUE"), params


def month_condition(f: IncidentFilter, column: str) -> tuple[str, list]:
    """`column` (a DATE month) inside the period, and in the restricted months when there are some."""
    sql, params = f"{column} BETWEEN ? AND ?", [f.start, f.end]
    if f.months is not None:
        sql += f" AND list_contains(?::DATE[], {column})"
        params.append(list(f.months))
    return sql, params


# --- options -----------------------------------------------------------------------------


def incident_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every month from the first incident (or RDP figure, or PMR figure) to the latest, oldest first."""
    first, last = con.execute(
        """SELECT min(m), max(m) FROM (
               SELECT date_trunc('month', opened)::DATE AS m FROM current_incidents
               UNION ALL SELECT date_trunc('month', resolved)::DATE FROM current_incidents
               UNION ALL SELECT month FROM current_ops_figures WHERE provider = ?
               UNION ALL SELECT max(month) FROM measure_values)""",
        [RDP_PROVIDER],
    ).fetchall()[0]
    if first is None:
        return []
    months, month = [], first
    while month <= last:
        months.append(month)
        month = words.next_month(month)
    return months


def incident_providers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Providers with at least one incident, in provider order."""
    rows = con.execute(
        """SELECT p.provider FROM providers AS p
           WHERE p.provider IN (SELECT DISTINCT provider FROM current_incidents) ORDER BY p.sort_order"""
    ).fetchall()
    return [r[0] for r in rows]


# --- counts ------------------------------------------------------------------------------


def monthly_counts(con: duckdb.DuckDBPyConnection, f: IncidentFilter) -> pd.DataFrame:
    """Incidents opened and resolved per month, category and provider.

    One row per month, category and provider with any: `month` (first day), `category`,
    `provider`, `opened` (opened in the month) and `resolved` (resolved in the month,
    whenever opened). The filters apply; months outside the period (or the restricted
    months) are left out. Ordered by month, category and provider order."""
    where, params = incident_where(f)
    months_sql, month_params = month_condition(f, "e.month")
    frame = con.execute(
        f"""WITH chosen AS (SELECT * FROM current_incidents AS i WHERE {where}),
                 events AS (
                     SELECT date_trunc('month', opened)::DATE AS month, category, provider, 1 AS opened, 0 AS resolved
                     FROM chosen
                     UNION ALL
                     SELECT date_trunc('month', resolved)::DATE, category, provider, 0, 1
                     FROM chosen WHERE resolved IS NOT NULL)
            SELECT e.month, e.category, e.provider,
                   sum(e.opened)::INTEGER AS opened, sum(e.resolved)::INTEGER AS resolved
            FROM events AS e LEFT JOIN providers AS p USING (provider)
            WHERE {months_sql}
            GROUP BY e.month, e.category, e.provider, p.sort_order
            ORDER BY e.month, e.category, p.sort_order, e.provider""",
        [*params, *month_params],
    ).df()
    frame["month"] = [pd.Timestamp(m).date() for m in frame["month"]]
    return frame


# --- lists and durations -----------------------------------------------------------------


def incident_list(con: duckdb.DuckDBPyConnection, f: IncidentFilter, *, major_only: bool = False) -> pd.DataFrame:
    """Incidents opened in the period (or the restricted months), with their duration as of
    the end of the period, oldest first.

    Columns: incident_id, opened, resolved (empty if not resolved by the end of the period),
    open_at_end, duration_hours, duration_days (to `resolved`, or to the end of the period
    for an incident still open then), category, provider, major, title, root_cause,
    source_id. `major_only` keeps the incidents flagged major (Category 1-2)."""
    where, params = incident_where(f)
    months_sql, month_params = month_condition(f, "date_trunc('month', i.opened)::DATE")
    end = f.period_end
    return con.execute(
        f"""SELECT i.incident_id, i.opened,
                   CASE WHEN i.resolved <= ?::TIMESTAMP THEN i.resolved END AS resolved,
                   (i.resolved IS NULL OR i.resolved > ?::TIMESTAMP) AS open_at_end,
                   round(date_diff('second', i.opened, least(coalesce(i.resolved, ?::TIMESTAMP), ?::TIMESTAMP))
                         / 3600.0, 2) AS duration_hours,
                   round(date_diff('second', i.opened, least(coalesce(i.resolved, ?::TIMESTAMP), ?::TIMESTAMP))
                         / 86400.0, 2) AS duration_days,
                   i.category, i.provider, i.major, i.title, i.root_cause, i.source_id
            FROM current_incidents AS i
            WHERE {where} AND {months_sql} AND i.opened < ?::TIMESTAMP {"AND i.major" if major_only else ""}
            ORDER BY i.opened, i.incident_id""",
        [end, end, end, end, end, end, *params, *month_params, end],
    ).df()


def aged_open(con: duckdb.DuckDBPyConnection, f: IncidentFilter) -> pd.DataFrame:
    """Incidents still open at the end of the period, oldest first, however long ago opened.

    Columns: incident_id, opened, age_days, category, provider, major, title, root_cause,
    target_hours (the category's Target Resolution Time), past_trt, source_id. Provider,
    category and search filters apply; the restricted months do not (age is at one instant)."""
    where, params = incident_where(f)
    times = resolution_times()
    end = f.period_end
    frame = con.execute(
        f"""SELECT i.incident_id, i.opened,
                   round(date_diff('second', i.opened, ?::TIMESTAMP) / 86400.0, 2) AS age_days,
                   i.category, i.provider, i.major, i.title, i.root_cause, i.source_id
            FROM current_incidents AS i
            WHERE {where} AND i.opened < ?::TIMESTAMP AND (i.resolved IS NULL OR i.resolved > ?::TIMESTAMP)
            ORDER BY i.opened, i.incident_id""",
        [end, *params, end, end],
    ).df()
    hours = dict(zip(times["category"], times["target_hours"]))
    frame["target_hours"] = [float(hours[c]) for c in frame["category"]]
    frame["past_trt"] = frame["age_days"] * 24 > frame["target_hours"]
    return frame[
        [
            "incident_id",
            "opened",
            "age_days",
            "category",
            "provider",
            "major",
            "title",
            "root_cause",
            "target_hours",
            "past_trt",
            "source_id",
        ]
    ]


# --- Target Resolution Times and CPM4/CPM5 -----------------------------------------------


def resolution_times(path: Path | str = RESOLUTION_TIMES_FILE) -> pd.DataFrame:
    """Target Resolution Time per incident category (reference data, with source and verified).

    Columns: category, target_hours, source, verified. Raises OpsgError unless the file gives
    each category 1-5 exactly once with a positive number of hours and a source."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    problems, records = [], []
    for number, row in enumerate(rows, start=2):
        try:
            category = int(row["category"])
            hours = float(row["target_hours"])
            verified = parse.parse_bool(row["verified"])
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{Path(path).name}:{number}: {exc}")
            continue
        if category not in CATEGORIES or hours <= 0 or not (row.get("source") or "").strip():
            problems.append(f"{Path(path).name}:{number}: needs a category 1-5, positive hours and a source")
            continue
        records.append(
            {"category": category, "target_hours": hours, "source": row["source"].strip(), "verified": verified}
        )
    found = sorted(r["category"] for r in records)
    if not problems and found != list(CATEGORIES):
        problems.append(f"{Path(path).name}: every category 1-5 exactly once (found {found})")
    if problems:
        raise OpsgError("; ".join(problems))
    return pd.DataFrame(records).sort_values("category").reset_index(drop=True)


def _latest_month(con) -> date | None:
    return con.execute("SELECT max(month) FROM measure_values").fetchall()[0][0]


# --- RDP -------------------------------------------------------------------------------


def rdp_incidents(con: duckdb.DuckDBPyConnection, f: IncidentFilter) -> pd.DataFrame:
    """RDP incidents per month from the ops figures: opened, resolved in month, still open.

    One row per month of the period (or restricted months) with any of the three figures;
    a figure not given is missing (NA), never zero. Columns: month, opened,
    resolved_in_month, still_open, source_ids (list). Provider, category and search
    filters do not apply (RDP figures are counts, not incidents)."""
    months_sql, month_params = month_condition(f, "o.month")
    rows = con.execute(
        f"""SELECT o.month, o.metric, o.value, o.source_id FROM current_ops_figures AS o
            WHERE o.provider = ? AND list_contains(?::VARCHAR[], o.metric) AND {months_sql}
            ORDER BY o.month""",
        [RDP_PROVIDER, list(RDP_METRICS), *month_params],
    ).df()
    columns = ["month", *RDP_METRICS.values(), "source_ids"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    wide = rows.pivot_table(index="month", columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(columns=list(RDP_METRICS)).rename(columns=RDP_METRICS)
    wide = wide.astype("Float64")
    wide["source_ids"] = rows.groupby("month")["source_id"].apply(lambda s: sorted(set(int(v) for v in s)))
    wide = wide.reset_index()
    wide["month"] = pd.to_datetime(wide["month"]).dt.date
    wide.columns.name = None
    return wide[columns]


# --- months a measure missed ---------------------------------------------------------------


def months_below(
    con: duckdb.DuckDBPyConnection,
    measure: str,
    provider: str,
    level: str,
    start: date,
    end: date,
    *,
    table: pd.DataFrame | None = None,
) -> list[date]:
    """The months from `start` to `end` when a measure for a provider was below `level`.

    `level` is 'target' (below target or below minimum) or 'minimum' (below minimum only),
    by the status rules (status.sql): a month without a figure is never below anything.
    measure and provider may be written as a person would ('pm 2', 'CSP North')."""
    if level not in LEVELS:
        raise OpsgError(f"level must be 'target' or 'minimum', not {level!r}")
    catalogue = Catalogue.from_db(con)
    try:
        series = catalogue.resolve_series(measure, provider)
    except ValueError as exc:
        raise OpsgError(str(exc)) from None
    start, end = _first_of_month(start), _first_of_month(end)
    if table is None:
        table = status_table(
            con,
            until=max(end, _latest_month(con) or end),
            measures=[series.measure],
            providers=[series.provider],
            start=start,
            end=end,
        )
    wanted = ("below_target", "below_minimum") if level == "target" else ("below_minimum",)
    months = pd.to_datetime(table["month"]).dt.date
    rows = table[
        (table["measure"] == series.measure)
        & (table["provider"] == series.provider)
        & table["status"].isin(wanted)
        & (months >= start)
        & (months <= end)
    ]
    return sorted(pd.to_datetime(rows["month"]).dt.date)


# --- where it came from ----------------------------------------------------------------------


def source_ids(
    con: duckdb.DuckDBPyConnection,
    f: IncidentFilter,
    *,
    incidents: bool = True,
    aged: bool = False,
    rdp: bool = False,
    measures: Sequence[tuple[str, str]] = (),
) -> list[int]:
    """Ids of the sources behind what is shown, for the provenance and classification of exports.

    incidents: the incidents opened or resolved in the period's (restricted) months under
    the filters (what the counts, lists and resolution shares use); aged: those still open
    at the end of the period; rdp: the RDP ops figures of those months; measures: (measure,
    provider) pairs whose current figures in those months are shown."""
    ids: set[int] = set()
    if incidents:
        where, params = incident_where(f)
        opened_sql, opened_params = month_condition(f, "date_trunc('month', i.opened)::DATE")
        resolved_sql, resolved_params = month_condition(f, "date_trunc('month', i.resolved)::DATE")
        ids |= {
            r[0]
            for r in con.execute(
                f"""SELECT DISTINCT i.source_id FROM current_incidents AS i
                WHERE {where} AND (({opened_sql}) OR (i.resolved IS NOT NULL AND {resolved_sql}))""",
                [*params, *opened_params, *resolved_params],
            ).fetchall()
        }
    if aged:
        ids |= {int(s) for s in aged_open(con, f)["source_id"]}
    if rdp:
        ids |= {s for row in rdp_incidents(con, f)["source_ids"] for s in row}
    for measure, provider in measures:
        months_sql, month_params = month_condition(f, "v.month")
        ids |= {
            r[0]
            for r in con.execute(
                f"""SELECT DISTINCT v.source_id FROM current_measure_values AS v
                WHERE v.measure = ? AND v.provider = ? AND {months_sql}""",
                [measure, provider, *month_params],
            ).fetchall()
        }
    return sorted(ids)


def provenance(con: duckdb.DuckDBPyConnection, f: IncidentFilter, **parts: Any) -> Provenance:
    """The provenance (sources, most restrictive classification, sample flag) of a view:
    `parts` as for source_ids."""
    return sources_provenance(con, source_ids(con, f, **parts))
