"""A straightforward pandas implementation of the status rules, to compare with status.sql.

The status engine (opsg_metrics/status.sql) computes status, runs and rolling windows for
every series and month in one SQL query of window functions (gaps and islands). This module
does the same thing the plain way -- the raw inputs read with plain SELECTs, then a groupby per
(measure, provider) and a Python loop over its months, keeping the run in progress as it goes --
so that the two can be timed against each other and their results compared. It follows the
rules as README.md ("Status, runs and windows") states them, not the SQL's formulation:
no islands here, just a running state.

    python -m benchmarks.pandas_status [DB] [--repeat 5] [--window 12]

times both on a database (the sample database built in memory when no path is given) and
prints the medians, the ratio and whether the two agree.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from datetime import date

import pandas as pd

# The raw inputs status.sql reads, each with a plain SELECT (no rule logic). status.sql also
# reads measure_values for each series' first month and the earliest month overall; every
# (month, measure, provider) of measure_values is in current_measure_values exactly once, so
# those months are taken from current_measure_values below. `sources` gives only labels
# (source, source_issued_on, classification), which are not rule outputs.
INPUT_QUERIES = {
    "measures": "SELECT measure, provider, direction, sort_order FROM measures",
    "values": (
        "SELECT month, measure, provider, value, status, numerator, denominator, note, revision_count "
        "FROM current_measure_values"
    ),
    "levels": (
        "SELECT measure, provider, target, minimum, effective_from, effective_until, source, verified "
        "FROM service_levels_in_force"
    ),
}

KEY = ["month", "measure", "provider"]

# The columns both implementations produce and compare() checks (every output of status.sql
# except names, units and source labels).
RULE_COLUMNS = [
    "month",
    "measure",
    "provider",
    "direction",
    "value",
    "numerator",
    "denominator",
    "target",
    "minimum",
    "level_verified",
    "level_source",
    "status",
    "figure_status",
    "unreliable",
    "inferred",
    "level_missing",
    "revised",
    "revision_count",
    "note",
    "run_below_target",
    "run_start",
    "run_gap_months",
    "run_below_minimum",
    "run_below_minimum_start",
    "misses_in_window",
    "window_months",
    "previous_miss_month",
    "sort_order",
    "window",
]
DATE_COLUMNS = ["month", "run_start", "run_below_minimum_start", "previous_miss_month"]
MISSES = ("below_target", "below_minimum")


def load_inputs(con) -> dict[str, pd.DataFrame]:
    """The raw inputs of the status rules, read with plain SELECTs."""
    return {name: con.execute(sql).df() for name, sql in INPUT_QUERIES.items()}


def _to_date(value) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _months_from(first: date, until: date):
    """Every first-of-month from `first` up to and including `until`."""
    year, month = first.year, first.month
    while date(year, month, 1) <= until:
        yield date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _classify(value, target, minimum, direction) -> str:
    if value is None or pd.isna(value) or target is None or pd.isna(target):
        return "no_data"
    if direction == "higher":
        if value >= target:
            return "met"
        return "below_target" if value >= minimum else "below_minimum"
    if value <= target:
        return "met"
    return "below_target" if value <= minimum else "below_minimum"


def _none_if_na(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def pandas_status_table(inputs: dict[str, pd.DataFrame], window: int = 12, until: date | None = None) -> pd.DataFrame:
    """Status, runs and window counts for every series and month, like status.status_table."""
    measures, values, levels = inputs["measures"], inputs["values"], inputs["levels"]
    if until is None:
        # The latest month any figure has been loaded for.
        if values.empty:
            return pd.DataFrame(columns=RULE_COLUMNS)
        until = values["month"].max()
    until = _to_date(until)
    # A series without any figure starts at the earliest month of any figure (or at `until`).
    earliest = _to_date(values["month"].min()) if len(values) else until

    figures_by_series = {key: group for key, group in values.groupby(["measure", "provider"])}
    levels_by_series = {key: group for key, group in levels.groupby(["measure", "provider"])}

    rows = []
    for series in measures.itertuples(index=False):
        key = (series.measure, series.provider)
        figures = {}
        first = earliest
        if key in figures_by_series:
            group = figures_by_series[key]
            for figure in group.to_dict(orient="records"):
                figures[_to_date(figure["month"])] = figure
            first = min(figures)
        series_levels = []
        if key in levels_by_series:
            for level in levels_by_series[key].to_dict(orient="records"):
                level["effective_from"] = _to_date(level["effective_from"])
                level["effective_until"] = _to_date(level["effective_until"])
                series_levels.append(level)

        # The state carried from month to month.
        run_below_target, run_start = 0, None
        run_below_minimum, run_below_minimum_start = 0, None
        last_miss = None
        recent = deque(maxlen=window)  # (is_miss, has_data) of the last `window` months

        for month in _months_from(first, until):
            figure = figures.get(month)
            level = None
            for candidate in series_levels:
                if candidate["effective_from"] <= month < candidate["effective_until"]:
                    level = candidate
                    break
            value = _none_if_na(figure["value"]) if figure else None
            figure_status = figure["status"] if figure else "absent"
            target = level["target"] if level else None
            minimum = level["minimum"] if level else None

            status = _classify(value, target, minimum, series.direction)
            # For runs and windows an inferred figure is not reported: it counts as no data.
            counted = "no_data" if figure_status == "inferred" else status

            previous_miss_month = last_miss
            if counted == "met":
                run_below_target, run_start = 0, None
                run_below_minimum, run_below_minimum_start = 0, None
            elif counted == "below_target":
                run_below_target += 1
                run_start = run_start or month
                run_below_minimum, run_below_minimum_start = 0, None
            elif counted == "below_minimum":
                run_below_target += 1
                run_start = run_start or month
                run_below_minimum += 1
                run_below_minimum_start = run_below_minimum_start or month
            # no_data: the run in progress is neither extended nor ended.
            if counted in MISSES:
                last_miss = month
            recent.append((counted in MISSES, counted != "no_data"))

            revision_count = int(figure["revision_count"]) if figure else 0
            rows.append(
                {
                    "month": month,
                    "measure": series.measure,
                    "provider": series.provider,
                    "direction": series.direction,
                    "value": value,
                    "numerator": _none_if_na(figure["numerator"]) if figure else None,
                    "denominator": _none_if_na(figure["denominator"]) if figure else None,
                    "target": target,
                    "minimum": minimum,
                    "level_verified": bool(level["verified"]) if level else False,
                    "level_source": level["source"] if level else None,
                    "status": status,
                    "figure_status": figure_status,
                    "unreliable": figure_status == "unreliable",
                    "inferred": figure_status == "inferred",
                    "level_missing": value is not None and target is None,
                    "revised": revision_count > 1,
                    "revision_count": revision_count,
                    "note": (_none_if_na(figure["note"]) or "") if figure else "",
                    "run_below_target": run_below_target,
                    "run_start": run_start,
                    "run_gap_months": (_months_between(run_start, month) + 1 - run_below_target)
                    if run_below_target
                    else 0,
                    "run_below_minimum": run_below_minimum,
                    "run_below_minimum_start": run_below_minimum_start,
                    "misses_in_window": sum(miss for miss, _ in recent),
                    "window_months": sum(has_data for _, has_data in recent),
                    "previous_miss_month": previous_miss_month,
                    "sort_order": series.sort_order,
                    "window": window,
                }
            )

    frame = pd.DataFrame(rows, columns=RULE_COLUMNS)
    for column in DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column])
    for column in ("value", "numerator", "denominator", "target", "minimum"):
        frame[column] = frame[column].astype("float64")
    return frame.sort_values(["sort_order", "month"], kind="stable").reset_index(drop=True)


# --- comparison ------------------------------------------------------------------------------


def _normalise(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame[columns].copy()
    for column in columns:
        if column in DATE_COLUMNS:
            frame[column] = pd.to_datetime(frame[column]).dt.normalize().astype("datetime64[ns]")
        elif column in ("measure", "provider"):
            frame[column] = frame[column].astype(str)
    return frame


def _same(a, b) -> bool:
    a_missing = a is None or (not isinstance(a, str) and pd.isna(a))
    b_missing = b is None or (not isinstance(b, str) and pd.isna(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    if isinstance(a, pd.Timestamp) or isinstance(b, pd.Timestamp):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return a == b  # numbers and booleans, exactly (both read the same doubles)


def _show(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return repr(value.item() if hasattr(value, "item") else value)


def compare(sql: pd.DataFrame, pan: pd.DataFrame, *, columns: list[str] | None = None, examples: int = 5) -> list[str]:
    """The differences between two status tables (row order ignored); empty when they agree.

    Rows are matched on (month, measure, provider); every rule column is compared, missing
    values equal to missing values, dates as dates.
    """
    columns = columns or RULE_COLUMNS
    differences = []
    for name, frame in (("sql", sql), ("pandas", pan)):
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            differences.append(f"{name} lacks columns {absent}")
    shared = [c for c in columns if c in sql.columns and c in pan.columns]
    if not all(k in shared for k in KEY):
        return differences
    a, b = _normalise(sql, shared), _normalise(pan, shared)
    for name, frame in (("sql", a), ("pandas", b)):
        duplicated = frame[frame.duplicated(KEY, keep=False)]
        if len(duplicated):
            differences.append(f"{name} has {len(duplicated)} rows with a duplicated (month, measure, provider)")

    merged = a.merge(b, on=KEY, how="outer", suffixes=("_sql", "_pandas"), indicator=True)
    for side, label in (("left_only", "only in sql"), ("right_only", "only in pandas")):
        extra = merged[merged["_merge"] == side]
        if len(extra):
            shown = ", ".join(f"{r.month:%Y-%m} {r.measure}/{r.provider}" for r in extra.head(examples).itertuples())
            differences.append(f"{len(extra)} rows {label}: {shown}")
    both = merged[merged["_merge"] == "both"]
    for column in shared:
        if column in KEY:
            continue
        left, right = both[f"{column}_sql"].tolist(), both[f"{column}_pandas"].tolist()
        bad = [i for i, (x, y) in enumerate(zip(left, right)) if not _same(x, y)]
        if bad:
            shown = "; ".join(
                f"{both['month'].iloc[i]:%Y-%m} {both['measure'].iloc[i]}/{both['provider'].iloc[i]}: "
                f"sql {_show(left[i])} pandas {_show(right[i])}"
                for i in bad[:examples]
            )
            differences.append(f"{column}: {len(bad)} rows differ, e.g. {shown}")
    return differences


def benchmark(con, *, window: int = 12, until: date | None = None, repeat: int = 5) -> dict:
    """Median seconds of status.status_table and of load_inputs + pandas_status_table, and the differences."""
    from opsg_metrics.rules import status

    from .timing import timed

    # live: the engine computing, not the precomputed table it keeps.
    sql_t, sql = timed(lambda: status.status_table(con, window=window, until=until, live=True), repeat)
    pan_t, pan = timed(lambda: pandas_status_table(load_inputs(con), window=window, until=until), repeat)
    sql_seconds, pandas_seconds = sql_t.median, pan_t.median
    return {
        "rows": len(sql),
        "series": con.execute("SELECT count(*) FROM measures").fetchall()[0][0],
        "sql_seconds": sql_seconds,
        "pandas_seconds": pandas_seconds,
        "ratio": pandas_seconds / sql_seconds,
        "differences": compare(sql, pan),
    }


def main(argv: list[str] | None = None) -> int:
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.store import connect as db

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", help="database file, opened read-only (default: the sample, in memory)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--window", type=int, default=12)
    args = parser.parse_args(argv)
    if args.db:
        con = db.connect(args.db, read_only=True)
    else:
        con = db.connect(":memory:")
        bootstrap.initialise(con, sample=True)
    result = benchmark(con, window=args.window, repeat=args.repeat)
    print(f"{result['series']} series, {result['rows']} rows, window {args.window}, median of {args.repeat}")
    print(f"  SQL (status.status_table):                  {result['sql_seconds'] * 1000:10.1f} ms")
    print(f"  pandas (load_inputs + pandas_status_table): {result['pandas_seconds'] * 1000:10.1f} ms")
    print(f"  ratio pandas / SQL: {result['ratio']:.1f}")
    if result["differences"]:
        print("DISAGREE:")
        for line in result["differences"]:
            print("  " + line)
        return 1
    print("  results agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
