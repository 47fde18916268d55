"""Measures recomputed from request records, reconciled with the PMR (README, "Request records").

`measures` gives, per month and series, the waterfall (received, excluded by reason, in scope, within,
value), the value with every exclusion a failure, the PMR figure beside it and the difference, on DuckDB
or Spark (the same definition: rules/events.sql). `events_view` is the Events page's whole bundle: the
month's waterfall, the sensitivity to each exclusion reason, the response times against the target, the
exclusion rate month by month (for its SPC chart), and the days of the month; each carries the most
restrictive marking of exactly the rows it used (the request records' loads and the PMR figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from opsg_metrics.rules import events as rule
from opsg_metrics.rules import spc
from opsg_metrics.store import events as kept
from opsg_metrics.store import spark
from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.errors import OpsgError

ENGINES = ("duckdb", "spark")


def _run(con: duckdb.DuckDBPyConnection, selection: kept.Selection, name: str, period: str, engine: str) -> list[dict]:
    if engine == "duckdb":
        return rule.run(con, name, kept.parquet_source(selection), period)
    if engine == "spark":
        return spark.run(selection.files, rule.spark_sql(name, period), str(selection.root))
    raise OpsgError(f"unknown engine {engine!r} (use {', '.join(ENGINES)})")


def _pmr(con: duckdb.DuckDBPyConnection, months: list[date]) -> dict[tuple, tuple[float | None, str, int]]:
    """The PMR figure current for each (month, measure, provider) asked for, with its source's marking and id."""
    rows = con.execute(
        """SELECT strftime(v.month, '%Y-%m'), v.measure, v.provider, v.value, s.classification, s.source_id
           FROM current_measure_values AS v JOIN sources AS s USING (source_id)
           WHERE v.month IN (SELECT unnest(?::DATE[]))""",
        [months],
    ).fetchall()
    return {(m, me, p): (value, marking, source) for m, me, p, value, marking, source in rows}


def _month_of(period: str) -> date:
    return date.fromisoformat(period[:7] + "-01")


def reconcile(row: dict, pmr: tuple[float | None, str, int] | None) -> dict:
    """A waterfall row with the PMR figure beside it, the difference (recomputed minus PMR, percentage
    points) and whether it is flagged (more than rule.TOLERANCE apart)."""
    pmr_value = pmr[0] if pmr else None
    difference = None if pmr_value is None or row["value"] is None else row["value"] - pmr_value
    return {
        **row,
        "pmr_value": pmr_value,
        "difference": difference,
        "flagged": rule.flagged(difference),
        "pmr_source_id": pmr[2] if pmr else None,
    }


def measures(
    con: duckdb.DuckDBPyConnection,
    month: date,
    measure: str | None = None,
    provider: str | None = None,
    *,
    engine: str = "duckdb",
) -> tuple[list[dict], str]:
    """Each series's measure of the month from its request records, reconciled with the PMR: rows of
    month, measure, provider, received, excluded (by reason), in_scope, within, value,
    value_exclusions_as_failures, pmr_value, difference, flagged; and the marking of the rows used."""
    selection = kept.select(con, [month], measure, provider)
    if selection.empty:
        return [], "white"
    waterfall = _run(con, selection, "waterfall", "month", engine)
    reasons = _run(con, selection, "sensitivity", "month", engine)
    by_series: dict[tuple, dict[str, int]] = {}
    for r in reasons:
        by_series.setdefault((r["period"], r["measure"], r["provider"]), {})[r["reason"]] = r["excluded"]
    pmr = _pmr(con, [month])
    rows = []
    for w in waterfall:
        key = (w["period"], w["measure"], w["provider"])
        rows.append(
            reconcile(
                {
                    "month": w["period"],
                    "measure": w["measure"],
                    "provider": w["provider"],
                    "received": w["received"],
                    "excluded": dict(sorted(by_series.get(key, {}).items())),
                    "in_scope": w["in_scope"],
                    "within": w["within"],
                    "value": w["value"],
                    "value_exclusions_as_failures": w["value_exclusions_as_failures"],
                },
                pmr.get(key),
            )
        )
    used = [
        selection.classification,
        *(pmr[k][1] for k in pmr if k in {(r["month"], r["measure"], r["provider"]) for r in rows}),
    ]
    return rows, most_restrictive(used)


@dataclass(frozen=True)
class EventsView:
    """What the Events page shows of one series and month."""

    month: date
    measure: str
    provider: str
    waterfall: dict | None  # the month's row of `measures`
    sensitivity: list[dict]  # each reason: excluded, value_if_failures
    distribution: dict | None  # shares within 0.5x..5x of the target, percentiles (seconds)
    days: list[dict]  # the month's days: the waterfall row of each
    day: dict | None  # the day asked for: its waterfall, sensitivity and distribution
    exclusion_rate: list[dict] = field(default_factory=list)  # month, excluded %, every month loaded
    spc_result: spc.SpcResult | None = None
    classification: str = "white"  # of everything the view shows
    source_ids: tuple[int, ...] = ()  # the sources of the month's figures: its request records and PMR figure
    history_source_ids: tuple[int, ...] = ()  # the sources of the exclusion rate: every month's records


def _distribution(row: dict | None) -> dict | None:
    if row is None or not row["in_scope"]:
        return None
    scope = row["in_scope"]
    return {
        "in_scope": scope,
        "answered": row["answered"],
        "target_seconds": row["target_seconds"],
        "shares": {
            label: 100.0 * row[column] / scope
            for label, column in (
                ("0.5x", "within_half"),
                ("1x", "within_1x"),
                ("2x", "within_2x"),
                ("5x", "within_5x"),
            )
        },
        "percentiles": {
            label: None if row[column] is None else row[column] / 1e6
            for label, column in (
                ("p50", "p50_us"),
                ("p90", "p90_us"),
                ("p99", "p99_us"),
                ("p99.9", "p999_us"),
                ("max", "max_us"),
            )
        },
    }


def events_view(
    con: duckdb.DuckDBPyConnection, month: date, measure: str, provider: str, day: date | None = None
) -> EventsView | None:
    """The Events page's bundle of one series and month (None when no records of it are loaded)."""
    selection = kept.select(con, [month], measure, provider)
    if selection.empty:
        return None
    rows, marking = measures(con, month, measure, provider)
    sensitivity = [
        {"reason": r["reason"], "excluded": r["excluded"], "value_if_failures": r["value_if_failures"]}
        for r in _run(con, selection, "sensitivity", "month", "duckdb")
    ]
    distribution = _run(con, selection, "distribution", "month", "duckdb")
    days = _run(con, selection, "waterfall", "day", "duckdb")
    chosen = None
    if day is not None:
        iso = day.isoformat()
        chosen = {
            "waterfall": next((d for d in days if d["period"] == iso), None),
            "sensitivity": [r for r in _run(con, selection, "sensitivity", "day", "duckdb") if r["period"] == iso],
            "distribution": _distribution(
                next((d for d in _run(con, selection, "distribution", "day", "duckdb") if d["period"] == iso), None)
            ),
        }
    every = kept.select(con, None, measure, provider)
    rate = [
        {
            "month": _month_of(r["period"]),
            "excluded_percent": 100.0 * r["excluded"] / r["received"] if r["received"] else None,
            "received": r["received"],
        }
        for r in _run(con, every, "waterfall", "month", "duckdb")
    ]
    result = (
        spc.analyse([r["excluded_percent"] for r in rate], [r["month"] for r in rate], direction="lower")
        if len(rate) >= 2
        else None
    )
    return EventsView(
        month=month,
        measure=measure,
        provider=provider,
        waterfall=rows[0] if rows else None,
        sensitivity=sensitivity,
        distribution=_distribution(distribution[0] if distribution else None),
        days=days,
        day=chosen,
        exclusion_rate=rate,
        spc_result=result,
        classification=most_restrictive([marking, every.classification]),
        source_ids=tuple(sorted({*selection.source_ids, *(r["pmr_source_id"] for r in rows if r["pmr_source_id"])})),
        history_source_ids=every.source_ids,
    )


def flagged(con: duckdb.DuckDBPyConnection, month: date) -> tuple[list[dict], set[int]]:
    """The series of a month whose recomputed figure differs from the PMR's by more than the tolerance, and
    the sources they rest on (the month's request records, the PMR figures); none when the records'
    files cannot be read (the Events page says why)."""
    try:
        rows, _ = measures(con, month)
        sources = set(kept.select(con, [month]).source_ids)
    except OpsgError:
        return [], set()
    chosen = [r for r in rows if r["flagged"]]
    return chosen, (sources | {r["pmr_source_id"] for r in chosen if r["pmr_source_id"]}) if chosen else set()


def loaded(con: duckdb.DuckDBPyConnection) -> list[tuple[date, str, str, int]]:
    """Every month and series with request records loaded (as the clearance admits them)."""
    return kept.series_loaded(con)
