"""Incidents beside the measures: counts, durations, time to resolve against CPM4/CPM5, aged
open incidents, Registration Data Provider (RDP) incidents, and the months a measure missed.

Plain query functions (SQL on `current_incidents`, `current_ops_figures` and the status
table) returning data frames; the Incidents page and the tests call them. No Streamlit.

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
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

import duckdb
import pandas as pd

from opsg_metrics.store import parse
from opsg_metrics.store.catalogue import CATALOGUE_DIR, Catalogue
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.rules.status import status_table
from opsg_metrics.queries.trends import Provenance, provenance as sources_provenance
from opsg_metrics import words

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


def _incident_where(f: IncidentFilter, alias: str = "i") -> tuple[str, list]:
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
        conditions.append(f"(contains(lower({alias}.incident_id), lower(?))"
                          f" OR contains(lower({alias}.title), lower(?)))")
        params += [f.search, f.search]
    return (" AND ".join(conditions) or "TRUE"), params


def _month_condition(f: IncidentFilter, column: str) -> tuple[str, list]:
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
    where, params = _incident_where(f)
    months_sql, month_params = _month_condition(f, "e.month")
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


def monthly_table(counts: pd.DataFrame, months: Sequence[date]) -> pd.DataFrame:
    """Counts as people read them: one row per month (every month given, zeros included),
    incidents opened by category, opened in all, major (Category 1-2) opened, and resolved."""
    keys = [words.month_key(m) for m in months]
    table = pd.DataFrame({"Month": keys})
    frame = counts.assign(month_key=pd.to_datetime(counts["month"]).dt.strftime("%Y-%m")) if len(counts) else None
    for category in CATEGORIES:
        if frame is None:
            values = {}
        else:
            values = frame[frame["category"] == category].groupby("month_key")["opened"].sum().to_dict()
        table[f"Cat {category}"] = [int(values.get(k, 0)) for k in keys]
    table["Opened"] = table[[f"Cat {c}" for c in CATEGORIES]].sum(axis=1).astype(int)
    table["Major opened (Cat 1-2)"] = (table["Cat 1"] + table["Cat 2"]).astype(int)
    resolved = {} if frame is None else frame.groupby("month_key")["resolved"].sum().to_dict()
    table["Resolved"] = [int(resolved.get(k, 0)) for k in keys]
    return table


def provider_table(counts: pd.DataFrame, providers: Sequence[str]) -> pd.DataFrame:
    """Incidents opened in the period: one row per provider (in the order given) by category,
    with totals, resolved in the period, and an 'All' row."""
    columns = [f"Cat {c}" for c in CATEGORIES]
    rows = []
    for provider in providers:
        part = counts[counts["provider"] == provider] if len(counts) else counts
        opened = part.groupby("category")["opened"].sum().to_dict() if len(part) else {}
        rows.append({"Provider": provider, **{f"Cat {c}": int(opened.get(c, 0)) for c in CATEGORIES},
                     "Resolved": int(part["resolved"].sum()) if len(part) else 0})
    table = pd.DataFrame(rows, columns=["Provider", *columns, "Resolved"])
    table.insert(len(columns) + 1, "Opened", table[columns].sum(axis=1).astype(int))
    total = {"Provider": "All", **{c: int(table[c].sum()) for c in [*columns, "Opened", "Resolved"]}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


# --- lists and durations -----------------------------------------------------------------


def incident_list(con: duckdb.DuckDBPyConnection, f: IncidentFilter, *, major_only: bool = False) -> pd.DataFrame:
    """Incidents opened in the period (or the restricted months), with their duration as of
    the end of the period, oldest first.

    Columns: incident_id, opened, resolved (empty if not resolved by the end of the period),
    open_at_end, duration_hours, duration_days (to `resolved`, or to the end of the period
    for an incident still open then), category, provider, major, title, root_cause,
    source_id. `major_only` keeps the incidents flagged major (Category 1-2)."""
    where, params = _incident_where(f)
    months_sql, month_params = _month_condition(f, "date_trunc('month', i.opened)::DATE")
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
    where, params = _incident_where(f)
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
    return frame[["incident_id", "opened", "age_days", "category", "provider", "major", "title", "root_cause",
                  "target_hours", "past_trt", "source_id"]]


def incident_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An incident_list frame as the page and its CSV show it (column names people read)."""
    return pd.DataFrame({
        "Incident": frame["incident_id"],
        "Opened": frame["opened"],
        "Resolved": frame["resolved"],
        "Open at end of period": frame["open_at_end"].astype(bool),
        "Duration (hours)": frame["duration_hours"].astype(float),
        "Duration (days)": frame["duration_days"].astype(float),
        "Category": frame["category"].astype(int),
        "Provider": frame["provider"],
        "Title": frame["title"],
        "Root cause": frame["root_cause"],
    })


def aged_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An aged_open frame as the page and its CSV show it."""
    return pd.DataFrame({
        "Incident": frame["incident_id"],
        "Opened": frame["opened"],
        "Age (days)": frame["age_days"].astype(float),
        "Category": frame["category"].astype(int),
        "Provider": frame["provider"],
        "Past its TRT": frame["past_trt"].astype(bool),
        "Title": frame["title"],
        "Root cause": frame["root_cause"],
    })


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
        records.append({"category": category, "target_hours": hours, "source": row["source"].strip(),
                        "verified": verified})
    found = sorted(r["category"] for r in records)
    if not problems and found != list(CATEGORIES):
        problems.append(f"{Path(path).name}: every category 1-5 exactly once (found {found})")
    if problems:
        raise OpsgError("; ".join(problems))
    return pd.DataFrame(records).sort_values("category").reset_index(drop=True)


def _resolved_in_period(con, f: IncidentFilter, *, use_filters: bool) -> pd.DataFrame:
    """Incidents resolved in the period's (restricted) months, with hours taken and the category's TRT."""
    where, params = _incident_where(f) if use_filters else _incident_where(IncidentFilter(f.start, f.end, f.providers))
    months_sql, month_params = _month_condition(f, "date_trunc('month', i.resolved)::DATE")
    # The TRT of category c is element c of the list (resolution_times has each of 1-5 once).
    hours = [float(h) for h in resolution_times().sort_values("category")["target_hours"]]
    return con.execute(
        f"""SELECT date_trunc('month', i.resolved)::DATE AS month, i.category, i.provider, i.source_id,
                   date_diff('second', i.opened, i.resolved) / 3600.0 AS hours,
                   list_extract(?::DOUBLE[], i.category) AS target_hours,
                   date_diff('second', i.opened, i.resolved) / 3600.0 <= list_extract(?::DOUBLE[], i.category)
                       AS within_trt
            FROM current_incidents AS i
            WHERE i.resolved IS NOT NULL AND {where} AND {months_sql}""",
        [hours, hours, *params, *month_params],
    ).df()


def resolution_by_category(con: duckdb.DuckDBPyConnection, f: IncidentFilter) -> pd.DataFrame:
    """Time to resolve per category, over incidents resolved in the period (or restricted months).

    Columns: category, measure (CPM4 or CPM5), target_hours, verified, resolved,
    within_trt, share_within (percent; missing when none were resolved), median_hours,
    max_hours, open_at_end, open_past_trt (still open at the end of the period and older
    than the TRT). The filters apply (only the chosen categories are listed)."""
    resolved = _resolved_in_period(con, f, use_filters=True)
    aged = aged_open(con, f)
    times = resolution_times()
    rows = []
    for t in times.itertuples():
        if f.categories and t.category not in f.categories:
            continue
        part = resolved[resolved["category"] == t.category]
        still = aged[aged["category"] == t.category]
        count = len(part)
        rows.append({
            "category": int(t.category),
            "measure": next(m for m, cats in CPM_CATEGORIES.items() if t.category in cats),
            "target_hours": float(t.target_hours),
            "verified": bool(t.verified),
            "resolved": count,
            "within_trt": int(part["within_trt"].sum()),
            "share_within": round(float(part["within_trt"].mean()) * 100, 2) if count else None,
            "median_hours": round(float(part["hours"].median()), 2) if count else None,
            "max_hours": round(float(part["hours"].max()), 2) if count else None,
            "open_at_end": len(still),
            "open_past_trt": int(still["past_trt"].sum()),
        })
    return pd.DataFrame(rows, columns=["category", "measure", "target_hours", "verified", "resolved", "within_trt",
                                       "share_within", "median_hours", "max_hours", "open_at_end", "open_past_trt"])


def resolution_against_cpm(con: duckdb.DuckDBPyConnection, f: IncidentFilter,
                           *, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per month and band, the share of incidents resolved within their TRT beside the reported figure.

    For each month of the period (or restricted months) and each of CPM4 (Category 1-2) and
    CPM5 (Category 3-5): `resolved` (incidents of the band resolved in the month), `within_trt`,
    `share_within` (percent; missing (NaN) when none were resolved: no figure, never 0 or 100), and the
    reported DCC figure of the measure for the month with its level and status: `reported`,
    `target`, `minimum`, `status`, `source` (label) and `classification`. The provider filter
    applies to the incident counts (the CPMs themselves cover every provider); the category
    and search filters do not (each band is the categories its CPM counts).

    `table` is a status_table already computed; else it is computed."""
    resolved = _resolved_in_period(con, f, use_filters=False)
    if table is None:
        table = status_table(con, until=max(f.end, _latest_month(con) or f.end), measures=list(CPM_CATEGORIES),
                             providers=[CPM_PROVIDER])
    figures = table[table["measure"].isin(list(CPM_CATEGORIES)) & (table["provider"] == CPM_PROVIDER)]
    figures = figures.assign(month_date=pd.to_datetime(figures["month"]).dt.date).set_index(["measure", "month_date"])
    rows = []
    for month in f.period_months():
        in_month = resolved[pd.to_datetime(resolved["month"]).dt.date == month] if len(resolved) else resolved
        for measure, categories in CPM_CATEGORIES.items():
            part = in_month[in_month["category"].isin(categories)] if len(in_month) else in_month
            count = len(part)
            figure = figures.loc[(measure, month)] if (measure, month) in figures.index else None
            rows.append({
                "month": month, "measure": measure,
                "categories": f"{categories[0]}-{categories[-1]}",
                "resolved": count,
                "within_trt": int(part["within_trt"].sum()) if count else 0,
                "share_within": round(float(part["within_trt"].mean()) * 100, 2) if count else None,
                "reported": _float(figure["value"]) if figure is not None else None,
                "target": _float(figure["target"]) if figure is not None else None,
                "minimum": _float(figure["minimum"]) if figure is not None else None,
                "status": figure["status"] if figure is not None else "no_data",
                "source": figure["source"] if figure is not None and isinstance(figure["source"], str) else None,
                "classification": figure["classification"] if figure is not None else None,
            })
    return pd.DataFrame(rows, columns=["month", "measure", "categories", "resolved", "within_trt", "share_within",
                                       "reported", "target", "minimum", "status", "source", "classification"])


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _latest_month(con) -> date | None:
    return con.execute("SELECT max(month) FROM measure_values").fetchall()[0][0]


def resolution_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A resolution_against_cpm frame as the page and its CSV show it."""
    return pd.DataFrame({
        "Month": [words.month_key(m) for m in frame["month"]],
        "Measure": frame["measure"],
        "Categories": frame["categories"],
        "Resolved": frame["resolved"].astype(int),
        "Within TRT": frame["within_trt"].astype(int),
        "Within TRT (%)": frame["share_within"].astype(float),
        "Reported (%)": frame["reported"].astype(float),
        "Target (%)": frame["target"].astype(float),
        "Minimum (%)": frame["minimum"].astype(float),
        "Reported status": [words.STATUS_LABELS.get(s, s) for s in frame["status"]],
    })


# --- RDP -------------------------------------------------------------------------------


def rdp_incidents(con: duckdb.DuckDBPyConnection, f: IncidentFilter) -> pd.DataFrame:
    """RDP incidents per month from the ops figures: opened, resolved in month, still open.

    One row per month of the period (or restricted months) with any of the three figures;
    a figure not given is missing (NA), never zero. Columns: month, opened,
    resolved_in_month, still_open, source_ids (list). Provider, category and search
    filters do not apply (RDP figures are counts, not incidents)."""
    months_sql, month_params = _month_condition(f, "o.month")
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


def rdp_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An rdp_incidents frame as the page and its CSV show it."""
    return pd.DataFrame({
        "Month": [words.month_key(m) for m in frame["month"]],
        "Opened": frame["opened"],
        "Resolved in month": frame["resolved_in_month"],
        "Still open": frame["still_open"],
    })


# --- months a measure missed ---------------------------------------------------------------


def months_below(con: duckdb.DuckDBPyConnection, measure: str, provider: str, level: str,
                 start: date, end: date, *, table: pd.DataFrame | None = None) -> list[date]:
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
        table = status_table(con, until=max(end, _latest_month(con) or end), measures=[series.measure],
                             providers=[series.provider], start=start, end=end)
    wanted = ("below_target", "below_minimum") if level == "target" else ("below_minimum",)
    months = pd.to_datetime(table["month"]).dt.date
    rows = table[(table["measure"] == series.measure) & (table["provider"] == series.provider)
                 & table["status"].isin(wanted) & (months >= start) & (months <= end)]
    return sorted(pd.to_datetime(rows["month"]).dt.date)


def month_ranges(months: Iterable[date]) -> str:
    """'Aug 2018 – Sep 2021, Nov 2021': consecutive months as ranges."""
    months = sorted(set(months))
    parts, run = [], []
    for month in months:
        if run and words.next_month(run[-1]) != month:
            parts.append(run)
            run = []
        run.append(month)
    if run:
        parts.append(run)
    text = [f"{r[0]:%b %Y}" if len(r) == 1 else f"{r[0]:%b %Y} – {r[-1]:%b %Y}" for r in parts]
    return ", ".join(text)


# --- where it came from ----------------------------------------------------------------------


def source_ids(con: duckdb.DuckDBPyConnection, f: IncidentFilter, *, incidents: bool = True, aged: bool = False,
               rdp: bool = False, measures: Sequence[tuple[str, str]] = ()) -> list[int]:
    """Ids of the sources behind what is shown, for the provenance and classification of exports.

    incidents: the incidents opened or resolved in the period's (restricted) months under
    the filters (what the counts, lists and resolution shares use); aged: those still open
    at the end of the period; rdp: the RDP ops figures of those months; measures: (measure,
    provider) pairs whose current figures in those months are shown."""
    ids: set[int] = set()
    if incidents:
        where, params = _incident_where(f)
        opened_sql, opened_params = _month_condition(f, "date_trunc('month', i.opened)::DATE")
        resolved_sql, resolved_params = _month_condition(f, "date_trunc('month', i.resolved)::DATE")
        ids |= {r[0] for r in con.execute(
            f"""SELECT DISTINCT i.source_id FROM current_incidents AS i
                WHERE {where} AND (({opened_sql}) OR (i.resolved IS NOT NULL AND {resolved_sql}))""",
            [*params, *opened_params, *resolved_params]).fetchall()}
    if aged:
        ids |= {int(s) for s in aged_open(con, f)["source_id"]}
    if rdp:
        ids |= {s for row in rdp_incidents(con, f)["source_ids"] for s in row}
    for measure, provider in measures:
        months_sql, month_params = _month_condition(f, "v.month")
        ids |= {r[0] for r in con.execute(
            f"""SELECT DISTINCT v.source_id FROM current_measure_values AS v
                WHERE v.measure = ? AND v.provider = ? AND {months_sql}""",
            [measure, provider, *month_params]).fetchall()}
    return sorted(ids)


def provenance(con: duckdb.DuckDBPyConnection, f: IncidentFilter, **parts) -> Provenance:
    """The provenance (sources, most restrictive classification, sample flag) of a view:
    `parts` as for source_ids."""
    return sources_provenance(con, source_ids(con, f, **parts))


VIEWS = ("opened", "majors", "resolution", "aged", "rdp")


def view_provenance(con: duckdb.DuckDBPyConnection, f: IncidentFilter, view: str) -> Provenance:
    """The provenance of one of the page's views (what its export footer says):

    'opened' (counts) and 'majors' (the list): the incidents under the filters; 'resolution':
    the incidents of every category resolved in the period under the provider filter, and
    the CPM4/CPM5 figures of those months; 'aged': the incidents open at the end of the
    period; 'rdp': the RDP ops figures."""
    if view in ("opened", "majors"):
        return provenance(con, f)
    if view == "resolution":
        bands = IncidentFilter(f.start, f.end, f.providers, months=f.months)
        return provenance(con, bands, measures=[(m, CPM_PROVIDER) for m in CPM_CATEGORIES])
    if view == "aged":
        return provenance(con, f, incidents=False, aged=True)
    if view == "rdp":
        return provenance(con, f, incidents=False, rdp=True)
    raise OpsgError(f"unknown view {view!r} (one of {', '.join(VIEWS)})")


def filter_description(f: IncidentFilter, *, every_provider: Sequence[str] = (), restriction: str = "") -> str:
    """The filters in words, for a chart's subtitle: 'CSP N · Category 1-2 · title or id contains
    "firmware" · months when PM2 (CSP N) was below minimum'."""
    parts = []
    if f.providers and set(f.providers) != set(every_provider):
        parts.append(", ".join(f.providers))
    else:
        parts.append("All providers")
    if f.categories and f.categories != CATEGORIES:
        parts.append(("Category " if len(f.categories) == 1 else "Categories ") + ", ".join(map(str, f.categories)))
    if f.search:
        parts.append(f'id or title contains "{f.search}"')
    if restriction:
        parts.append(restriction)
    parts.append(f"{words.month_label(f.start)} to {words.month_label(f.end)}" if f.start != f.end
                 else words.month_label(f.start))
    return " · ".join(parts)
