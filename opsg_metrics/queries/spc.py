"""SPC readings from the database: every series' figures, levels and rebases, analysed by rules.spc.

The maths is in rules/spc.py (no SQL there); this reads what it needs. Null and inferred months are
skipped; levels are those in force in the last month; rebases are the annotations of kind `rebase`
that apply to the series (rules/annotations.py).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.rules import annotations
from opsg_metrics.rules.spc import DEFAULT_MONTHS, SpcResult, analyse, badges, reading

SERIES_SQL = """
SELECT v.month, v.measure, v.provider,
       CASE WHEN v.status IN ('reported', 'unreliable') THEN v.value END AS value
FROM current_measure_values AS v
WHERE v.month BETWEEN ? AND ? {where}
ORDER BY v.measure, v.provider, v.month
"""

LEVELS_SQL = """
SELECT m.measure, m.provider, m.direction, m.unit, l.target, l.minimum
FROM measures AS m
LEFT JOIN service_levels_in_force AS l
       ON l.measure = m.measure AND l.provider = m.provider
      AND l.effective_from <= ? AND ? < l.effective_until
{where}
"""


def _query(con, sql: str, params: list, measure: str | None, provider: str | None, prefix: str) -> pd.DataFrame:
    clauses, extra = [], []
    if measure is not None:
        clauses.append(f"{prefix}.measure = ?")
        extra.append(measure)
    if provider is not None:
        clauses.append(f"{prefix}.provider = ?")
        extra.append(provider)
    lead = "AND " if "WHERE" in sql.split("{where}")[0] else "WHERE "
    where = (lead + " AND ".join(clauses)) if clauses else ""
    return con.execute(sql.format(where=where), params + extra).df()


def readings(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    *,
    measure: str | None = None,
    provider: str | None = None,
    baseline: int | None = None,
    use_rebases: bool = True,
) -> dict[tuple[str, str], SpcResult]:
    """The SPC analysis of every series (or one measure / provider) over the months start..end."""
    figures = _query(con, SERIES_SQL, [start, end], measure, provider, "v")
    levels = _query(con, LEVELS_SQL, [end, end], measure, provider, "m")
    rebase_by: dict[tuple[str, str], list] = {}
    if use_rebases:
        rebases = annotations.applying(con, measure, None if provider is None else [provider], kinds=("rebase",))
        for (m, p), group in rebases.groupby(["series_measure", "series_provider"]):
            rebase_by[(m, p)] = sorted(group["date"])
    level_by = {(r.measure, r.provider): r for r in levels.itertuples()}
    out = {}
    for (m, p), group in figures.groupby(["measure", "provider"], sort=False):
        level = level_by.get((m, p))
        if level is None:
            continue
        target = None if pd.isna(level.target) else float(level.target)
        minimum = None if pd.isna(level.minimum) else float(level.minimum)
        out[(m, p)] = analyse(
            [None if pd.isna(v) else v for v in group["value"]],
            list(group["month"]),
            direction=level.direction,
            target=target,
            minimum=minimum,
            rebase=rebase_by.get((m, p), []),
            baseline=baseline,
        )
    return out


READING_COLUMNS = [
    "measure",
    "provider",
    "variation",
    "assurance_target",
    "assurance_minimum",
    "special_causes",
    "reason",
    "sentence",
    "badge_variation",
    "badge_target",
    "badge_minimum",
    "variation_title",
    "target_title",
    "minimum_title",
    "rule",
    "months",
    "first_month",
    "last_month",
    "lpl",
    "upl",
]


def readings_for_month(con: duckdb.DuckDBPyConnection, month: date, *, months: int = DEFAULT_MONTHS) -> pd.DataFrame:
    """One row per series with figures in the `months` months to `month`: its SPC reading as the overview
    and the summary show it (point type of the latest figure, assurance, badges and their meanings, the
    sentence)."""
    results = readings(con, words.months_back(month, months - 1), month)
    units = dict(con.execute("SELECT measure || '|' || provider, unit FROM measures").fetchall())
    rows = []
    for (m, p), result in results.items():
        badge = badges(result)
        seg = result.last_segment if result.has_limits else None
        rows.append(
            {
                "measure": m,
                "provider": p,
                "variation": result.variation,
                "assurance_target": result.assurance_target,
                "assurance_minimum": result.assurance_minimum,
                "special_causes": result.special_causes,
                "reason": result.reason,
                "sentence": reading(result, units.get(f"{m}|{p}", "percent")),
                "badge_variation": badge["variation"],
                "badge_target": badge["target"],
                "badge_minimum": badge["minimum"],
                "variation_title": badge["variation_title"],
                "target_title": badge["target_title"],
                "minimum_title": badge["minimum_title"],
                # What the reading rests on: the latest point's rule, the figures of the last segment.
                "rule": result.points["rule"].iloc[-1] if seg is not None else None,
                "months": seg.n if seg is not None else 0,
                "first_month": seg.first_month if seg is not None else None,
                "last_month": seg.last_month if seg is not None else None,
                "lpl": seg.lpl if seg is not None else None,
                "upl": seg.upl if seg is not None else None,
            }
        )
    return pd.DataFrame(rows, columns=READING_COLUMNS)
