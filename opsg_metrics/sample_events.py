"""Synthetic request records (ILLUSTRATIVE, made up, deterministic): `python -m opsg_metrics.sample --events`.

For each month and series it covers (PM2 and PM4.3 in CSP N, CSP C and CSP S), requests whose measure,
by the rule of rules/events.sql, gives the PMR figure the database holds for that month and series (to
within half a request: at least 1,000 requests in scope a month and series keep the difference under 0.05
percentage points), with the exclusions the minutes complain of:

- PM2 in CSP N: over-the-air firmware jobs dropped from the queue and excluded (`dropped_from_queue`),
  from 2019-06 on, about 6% of the month's requests (12% in the months PM2 in CSP N was below its minimum);
- PM4.3: test messages that timed out, excluded (`timed_out_test_message`), about 2% a month, and 15% in
  2019-11, the month whose "100% achievement of PM4.3" OPSG queried;
- some planned maintenance and Communications Hub allowed exceptions everywhere.

"About": each month's share is the one given times a factor from 0.7 to 1.3 made from the month, series
and reason (the same every time), so the exclusion rate varies from month to month as a real one does.

Rows are made by DuckDB from `range()` in chunks of at most CHUNK_ROWS, each chunk written as its own file
(`events-YYYY-MM-partNN.parquet` or `.csv`), so memory stays bounded at any scale: 1 million rows for the
tests, 100 million or a billion for the benchmarks. The scale is the total number of rows, shared between
the months and series in proportion.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

SERIES = (
    ("PM2", "CSP N"),
    ("PM2", "CSP C"),
    ("PM2", "CSP S"),
    ("PM4.3", "CSP N"),
    ("PM4.3", "CSP C"),
    ("PM4.3", "CSP S"),
)
TARGET_SECONDS = {"PM2": 3600.0, "PM4.3": 25.0}  # illustrative Target Response Times
CHUNK_ROWS = 10_000_000
MIN_IN_SCOPE = 1_000
MARK = "ILLUSTRATIVE synthetic request records, made up by opsg_metrics.sample --events; not DCC data"


@dataclass(frozen=True)
class Plan:
    """One month and series: how many requests, excluded for what, and how many within the target."""

    month: date
    measure: str
    provider: str
    value: float
    received: int
    excluded: dict[str, int]
    within: int

    @property
    def in_scope(self) -> int:
        return self.received - sum(self.excluded.values())


def parse_scale(text: str) -> int:
    """'1M', '100m', '1B', '250k', '1e6' or '5000' as a number of rows."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kKmMbBgG]?)\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a number of rows (write 1000000, 1M, 100M or 1B)")
    factor = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9}[match.group(2).lower()]
    rows = int(float(match.group(1)) * factor)
    if rows < 1:
        raise ValueError("the scale must be at least one row")
    return rows


def _wobble(month: date, measure: str, provider: str, reason: str) -> float:
    """A factor from 0.7 to 1.3, the same for the same month, series and reason: months differ as real
    ones do, and the tests still know each month's share to within 30%."""
    digest = hashlib.sha256(f"{month}{measure}{provider}{reason}".encode()).digest()
    return 0.7 + 0.6 * digest[0] / 255


def _shares(month: date, measure: str, provider: str, value: float, minimum: float) -> dict[str, float]:
    shares = {"planned_maintenance": 0.004, "allowed_exception": 0.006 if measure == "PM2" else 0.0}
    if measure == "PM2" and provider == "CSP N" and month >= date(2019, 6, 1):
        shares["dropped_from_queue"] = 0.12 if value < minimum else 0.06
    if measure == "PM4.3":
        shares["timed_out_test_message"] = 0.15 if month == date(2019, 11, 1) else 0.02
    return {
        k: v
        if (k, month) == ("timed_out_test_message", date(2019, 11, 1))
        else v * _wobble(month, measure, provider, k)
        for k, v in shares.items()
        if v
    }


def plans(con: duckdb.DuckDBPyConnection, scale: int, months: tuple[date, date] | None = None) -> list[Plan]:
    """What to make: every month and series covered that the database has a figure for, in the rows the
    scale allows (at least enough for the figure to within 0.05 points)."""
    wanted = " OR ".join(f"(v.measure = '{m}' AND v.provider = '{p}')" for m, p in SERIES)
    rows = con.execute(
        f"""SELECT v.month, v.measure, v.provider, v.value, l.minimum
            FROM current_measure_values AS v
            JOIN service_levels_in_force AS l ON l.measure = v.measure AND l.provider = v.provider
             AND v.month >= l.effective_from AND v.month < l.effective_until
            WHERE ({wanted}) AND v.value IS NOT NULL {"AND v.month BETWEEN ? AND ?" if months else ""}
            ORDER BY v.month, v.measure, v.provider""",
        list(months) if months else [],
    ).fetchall()
    if not rows:
        return []
    each = max(scale // len(rows), 1)
    made = []
    for index, (month, measure, provider, value, minimum) in enumerate(rows):
        received = each + (1 if index < scale - each * len(rows) else 0)
        shares = _shares(month, measure, provider, value, minimum)
        excluded = {reason: int(round(received * share)) for reason, share in shares.items()}
        in_scope = received - sum(excluded.values())
        if in_scope < MIN_IN_SCOPE:  # too few to give the figure to 0.05 points: make the fewest that do
            received = math.ceil(MIN_IN_SCOPE / (1 - sum(shares.values())))
            excluded = {reason: int(round(received * share)) for reason, share in shares.items()}
            in_scope = received - sum(excluded.values())
        made.append(Plan(month, measure, provider, value, received, excluded, int(round(value / 100 * in_scope))))
    return made


def _chunk_sql(plan: Plan, start: int, stop: int) -> str:
    """The rows start..stop-1 of a plan, as a query: exclusions first, then the in-scope requests within
    the target, then the failures (late, timed out, failed), every time spread over the UK month."""
    target = TARGET_SECONDS[plan.measure]
    bounds, first = [], 0
    for reason, count in plan.excluded.items():
        bounds.append(f"WHEN i < {first + count} THEN '{reason}'")
        first += count
    reason_case = f"CASE {' '.join(bounds)} ELSE NULL END" if bounds else "NULL"
    within = first + plan.within  # in-scope rows first..within-1 are within the target
    month = plan.month.isoformat()
    code = plan.provider.replace(" ", "").replace("&", "")
    return f"""
WITH base AS (
  SELECT i, {reason_case} AS exclusion,
         hash(i, '{plan.measure}', '{plan.provider}', DATE '{month}') AS h
  FROM range({start}, {stop}) AS r(i)
), timed AS (
  SELECT *, timezone('Europe/London', TIMESTAMP '{month} 00:00:00') AS opens,
         timezone('Europe/London', TIMESTAMP '{month} 00:00:00' + INTERVAL 1 MONTH) AS closes
  FROM base
), made AS (
  SELECT i, exclusion, h,
         opens + to_microseconds(CAST((h % 1000003) / 1000003.0 * (epoch_us(closes) - epoch_us(opens) - 600000000) AS BIGINT)) AS received,
         CASE
           WHEN exclusion = 'dropped_from_queue' OR exclusion = 'timed_out_test_message' THEN 'timed_out'
           WHEN exclusion = 'allowed_exception' THEN 'failed'
           WHEN exclusion IS NOT NULL THEN 'completed'
           WHEN i < {within} THEN 'completed'
           WHEN h % 20 < 12 THEN 'completed'
           WHEN h % 20 < 17 THEN 'timed_out'
           ELSE 'failed' END AS outcome,
         CASE
           WHEN exclusion IS NULL AND i < {within} THEN {target} * (0.05 + 0.95 * ((h >> 20) % 1000) / 1000.0)
           WHEN exclusion IS NULL THEN {target} * (1.001 + 4.0 * ((h >> 20) % 1000) / 1000.0)
           ELSE {target} * (0.2 + 3.0 * ((h >> 20) % 1000) / 1000.0) END AS seconds
  FROM timed
)
SELECT '{plan.measure}-{code}-{plan.month:%Y%m}-' || lpad(CAST(i AS VARCHAR), 10, '0') AS request_id,
       '{plan.measure}' AS measure, '{plan.provider}' AS provider,
       received AS received_at,
       CASE WHEN outcome = 'timed_out' THEN NULL
            ELSE received + to_microseconds(CAST(seconds * 1000000 AS BIGINT)) END AS completed_at,
       {target} AS target_seconds, outcome, exclusion,
       'DEV-' || lpad(CAST((h >> 8) % 5000000 AS VARCHAR), 7, '0') AS x_device_id
FROM made"""


def _csv_select(query: str) -> str:
    """The same rows with times as ISO 8601 text in UTC ('Z') and an empty cell for no exclusion."""
    return f"""SELECT request_id, measure, provider,
       strftime(received_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS received_at,
       coalesce(strftime(completed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), '') AS completed_at,
       target_seconds, outcome, coalesce(exclusion, '') AS exclusion, x_device_id
FROM ({query})"""


def generate(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    scale: int,
    *,
    months: tuple[date, date] | None = None,
    file_format: str = "parquet",
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    """Write the request records (one file a month, a month split in chunks of at most chunk_rows)."""
    made = plans(con, scale, months)
    out.mkdir(parents=True, exist_ok=True)
    writer = duckdb.connect()
    writer.execute("SET enable_progress_bar = false")
    written: list[Path] = []
    by_month: dict[date, list[Plan]] = {}
    for plan in made:
        by_month.setdefault(plan.month, []).append(plan)
    for month, month_plans in by_month.items():
        pieces = [
            (p, s, min(s + chunk_rows, p.received)) for p in month_plans for s in range(0, p.received, chunk_rows)
        ]
        # consecutive pieces joined into files of about chunk_rows rows each
        files: list[list] = [[]]
        for piece in pieces:
            if files[-1] and sum(b - a for _, a, b in files[-1]) + (piece[2] - piece[1]) > chunk_rows:
                files.append([])
            files[-1].append(piece)
        for number, group in enumerate(files, start=1):
            query = " UNION ALL ".join(f"({_chunk_sql(p, a, b)})" for p, a, b in group)
            path = out / f"events-{month:%Y-%m}-part{number:02d}.{file_format}"
            if file_format == "csv":
                writer.execute(f"COPY ({_csv_select(query)}) TO '{path}' (FORMAT csv, HEADER true)")
            else:
                writer.execute(
                    f"COPY ({query}) TO '{path}' (FORMAT parquet, COMPRESSION zstd, KV_METADATA {{note: '{MARK}'}})"
                )
            written.append(path)
        progress(f"  {month:%Y-%m}: {sum(p.received for p in month_plans):,} requests in {len(files)} file(s)")
    writer.close()
    (out / "README.md").write_text(
        f"# {MARK}\n\nMade from the PMR figures of the database, {scale:,} rows asked for: each month and series's "
        "requests give its PMR figure by the rule of rules/events.sql. Load them with\n"
        "`python -m opsg_metrics events load " + str(out) + "/events-*`.\n",
        encoding="utf-8",
    )
    return written
