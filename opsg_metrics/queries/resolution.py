"""Time to resolve incidents, against CPM4 and CPM5: the share of each category resolved within its Target
Resolution Time (placeholders to verify: data/catalogue/resolution_times.csv), beside the reported CPMs.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from opsg_metrics.queries.incidents import (
    CPM_CATEGORIES,
    CPM_PROVIDER,
    IncidentFilter,
    aged_open,
    incident_where,
    month_condition,
    resolution_times,
)
from opsg_metrics.rules.status import latest_month, status_table


def _resolved_in_period(con, f: IncidentFilter, *, use_filters: bool) -> pd.DataFrame:
    """Incidents resolved in the period's (restricted) months, with hours taken and the category's TRT."""
    where, params = incident_where(f) if use_filters else incident_where(IncidentFilter(f.start, f.end, f.providers))
    months_sql, month_params = month_condition(f, "date_trunc('month', i.resolved)::DATE")
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
        rows.append(
            {
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
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "category",
            "measure",
            "target_hours",
            "verified",
            "resolved",
            "within_trt",
            "share_within",
            "median_hours",
            "max_hours",
            "open_at_end",
            "open_past_trt",
        ],
    )


def resolution_against_cpm(
    con: duckdb.DuckDBPyConnection, f: IncidentFilter, *, table: pd.DataFrame | None = None
) -> pd.DataFrame:
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
        table = status_table(
            con, until=max(f.end, latest_month(con) or f.end), measures=list(CPM_CATEGORIES), providers=[CPM_PROVIDER]
        )
    figures = table[table["measure"].isin(list(CPM_CATEGORIES)) & (table["provider"] == CPM_PROVIDER)]
    figures = figures.assign(month_date=pd.to_datetime(figures["month"]).dt.date).set_index(["measure", "month_date"])
    rows = []
    for month in f.period_months():
        in_month = resolved[pd.to_datetime(resolved["month"]).dt.date == month] if len(resolved) else resolved
        for measure, categories in CPM_CATEGORIES.items():
            part = in_month[in_month["category"].isin(categories)] if len(in_month) else in_month
            count = len(part)
            figure = figures.loc[(measure, month)] if (measure, month) in figures.index else None
            rows.append(
                {
                    "month": month,
                    "measure": measure,
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
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "month",
            "measure",
            "categories",
            "resolved",
            "within_trt",
            "share_within",
            "reported",
            "target",
            "minimum",
            "status",
            "source",
            "classification",
        ],
    )


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
