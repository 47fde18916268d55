"""Alert volumes by code and region, normalised by installed Communications Hubs, and beside a measure.

Plain query functions returning data frames (no Streamlit); the Alerts page
calls them. Regions are those of `operations` (CSP N, CSP C, CSP S, and the
combinations CSP C&S and All CSPs, summed over their parts by one rule).

**Normalisation** (`per_thousand_hubs`): the alerts of region r in month t
(the selected codes summed) divided by the `CHs installed` figure of the same
region and month (cumulative: the hubs installed at the end of month t), times
1,000. CSP C&S is (alerts of CSP C + CSP S) / (CHs of CSP C + CSP S), and All
CSPs likewise over the three regions. A missing or zero denominator (or no
alerts loaded for the region and month) gives no figure (None) with a note
saying which figure is missing: never a division by zero, never a zero.

Month-on-month change is context.percent_change: a change from zero (or from
a month without a figure) is no percentage (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics.queries.context import percent_change
from opsg_metrics.queries.operations import (
    COMBINED,
    HUBS,
    join_notes,
    missing_parts,
    month_range,
    providers_of,
    regional,
    regional_metric,
)
from opsg_metrics.store import connect as db
from opsg_metrics.words import previous_month

PER_HUBS = 1000
ALL_CODES = "all"
BASES = {"volume": "Alert volume", "per1000": "Alerts per 1,000 CHs installed"}
COUNT_COLUMNS = ["volume", "devices", "first_time_devices"]


def alert_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every month from the first to the last alert figure loaded, oldest first."""
    first, last = con.execute("SELECT min(month), max(month) FROM current_alerts").fetchall()[0]
    return month_range(first, last) if first else []


def alert_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every alert code loaded, in code order."""
    return [r[0] for r in con.execute("SELECT DISTINCT alert_code FROM current_alerts ORDER BY alert_code").fetchall()]


DEFAULT_CODES = 8  # codes shown when a link names none: the largest by volume


def top_codes(con: duckdb.DuckDBPyConnection, n: int = DEFAULT_CODES) -> list[str]:
    """The n codes with the most alerts over everything loaded, in code order (a readable default
    where hundreds of codes are loaded)."""
    rows = con.execute(
        "SELECT alert_code FROM current_alerts GROUP BY alert_code ORDER BY sum(volume) DESC, alert_code LIMIT ?", [n]
    ).fetchall()
    return sorted(r[0] for r in rows)


def resolve_codes(codes_loaded: list[str], texts: list[str]) -> tuple[list[str], list[str]]:
    """The codes asked for (case ignored: '8f3e' -> '8F3E') that are loaded, and a message for each other."""
    known = {c.upper(): c for c in codes_loaded}
    good, problems = [], []
    for text in texts:
        code = known.get(text.strip().upper())
        if code:
            good.append(code)
        else:
            problems.append(f"Unknown alert code '{text.strip()}' (no alerts loaded with that code)")
    return list(dict.fromkeys(good)), problems


def _selected(providers: list[str], start: date, end: date, codes: list[str] | None) -> tuple[str, dict]:
    """The WHERE clause (and its parameters) choosing current alerts of some providers (and codes; None
    means every code) from start to end."""
    where = "provider IN (SELECT unnest($providers::VARCHAR[])) AND month BETWEEN $start AND $end"
    params = {"providers": list(providers), "start": start, "end": end}
    if codes is not None:
        where += " AND alert_code IN (SELECT unnest($codes::VARCHAR[]))"
        params["codes"] = list(codes)
    return where, params


def _alert_rows(con, providers: list[str], start: date, end: date, codes: list[str] | None = None) -> pd.DataFrame:
    """Current alert rows of some providers (and codes) from start to end, counts as floats (missing: NaN)."""
    where, params = _selected(providers, start, end, codes)
    frame = con.execute(
        f"""SELECT month, alert_code, provider, volume, devices, first_time_devices, source_id
            FROM current_alerts WHERE {where} ORDER BY month, alert_code, provider""",
        params,
    ).df()
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame


def volumes(
    con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date, *, codes: list[str] | None = None
) -> pd.DataFrame:
    """Alert volume per month, code and region over a period, with what OPSG asks of it.

    One row per month, code and region with a figure: volume, devices and first_time_devices (NaN
    where not given), month_total (every code of the region that month, whatever the code filter),
    share_pct (volume / month_total * 100), previous (the previous month's volume of the same code and
    region, even before the period), change (volume - previous) and change_pct (None from zero or from
    a month without a figure), source_ids. `codes` None means every code."""
    regions = list(regions)
    # Only the codes asked for leave the database (a code's figures and its previous month depend on
    # that code alone); the month totals over every code are summed there (month_totals).
    rows = _alert_rows(con, providers_of(regions), previous_month(start), end, codes)
    frame = regional(rows, ["month", "alert_code"], COUNT_COLUMNS, regions)
    columns = [
        "month",
        "alert_code",
        "region",
        *COUNT_COLUMNS,
        "month_total",
        "share_pct",
        "previous",
        "change",
        "change_pct",
        "source_ids",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    before = (
        frame[["month", "alert_code", "region", "volume"]]
        .assign(month=frame["month"] + pd.DateOffset(months=1))
        .rename(columns={"volume": "previous"})
    )
    frame = frame.merge(before, on=["month", "alert_code", "region"], how="left")
    frame = frame[frame["month"] >= pd.Timestamp(start)].reset_index(drop=True)
    frame = frame.merge(month_totals(con, regions, start, end), on=["month", "region"], how="left")
    frame["share_pct"] = [v / t * 100 if t else None for v, t in zip(frame["volume"], frame["month_total"])]
    frame["share_pct"] = frame["share_pct"].astype("float64")
    frame["change"] = frame["volume"] - frame["previous"]
    frame["change_pct"] = pd.Series(
        [percent_change(v, p) for v, p in zip(frame["volume"], frame["previous"])], dtype="float64"
    )
    return frame[columns]


def month_totals(con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """Alerts of every code per region and month (month, region, month_total), summed in the database.

    The total of a region's rows as regional() makes them: for a combination, a code counts in a month
    where every part has it (summed over the parts), and CSP C&S's own row counts for a code the parts
    do not all have. tests/test_alerts_ops.py checks it against regional() over every code."""
    frames = []
    for region in regions:
        parts = list(COMBINED.get(region, (region,)))
        frames.append(
            db.frame(
                con,
                """
            WITH common AS (
                SELECT month, alert_code, sum(volume) AS volume FROM current_alerts
                WHERE provider IN (SELECT unnest($parts::VARCHAR[])) AND month BETWEEN $start AND $end
                GROUP BY month, alert_code HAVING count(*) = $n),
            own AS (
                SELECT month, alert_code, volume FROM current_alerts
                WHERE provider = $region AND month BETWEEN $start AND $end)
            SELECT month, $region AS region, sum(volume)::DOUBLE AS month_total
            FROM (SELECT * FROM common UNION ALL SELECT o.* FROM own AS o ANTI JOIN common USING (month, alert_code))
            GROUP BY month""",
                {"parts": parts, "n": len(parts), "region": region, "start": start, "end": end},
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["month", "region", "month_total"])


def _provider_month_totals(
    con, providers: list[str], start: date, end: date, codes: list[str] | None = None
) -> pd.DataFrame:
    """Per month and provider with alerts (of the codes; None means every code): value (their volumes
    summed), source_id (the latest source among them) and source_ids (all of them, in order)."""
    where, params = _selected(providers, start, end, codes)
    return db.frame(
        con,
        f"""
        SELECT month, provider, sum(volume)::DOUBLE AS value, max(source_id) AS source_id,
               list(DISTINCT source_id ORDER BY source_id) AS source_ids
        FROM current_alerts WHERE {where}
        GROUP BY month, provider ORDER BY month, provider""",
        params,
    )


def region_alerts(
    con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date, *, codes: list[str] | None = None
) -> pd.DataFrame:
    """Alerts per region and month (the codes summed; None means every code), a row for every month:
    month, region, value (None without any alert figure), missing (why), source_ids."""
    regions = list(regions)
    # The codes summed per provider and month in the database (every code of a region is ~200,000 rows
    # over five years at the stress size); the regions are made of them as for any figure (regional).
    totals = _provider_month_totals(con, providers_of(regions), start, end, codes)
    by_provider = totals[["month", "provider", "value", "source_id"]]
    # regional() carries one source id per row; a region's figure sums codes that may come from several
    # sources, so every one of them replaces it below.
    ids = {
        (m, p): tuple(int(i) for i in s) for m, p, s in zip(totals["month"], totals["provider"], totals["source_ids"])
    }
    figures = regional(by_provider, ["month"], ["value"], regions)
    if not figures.empty:
        figures["source_ids"] = [
            tuple(sorted({i for p in (COMBINED.get(r, ()) + (r,)) for i in ids.get((m, p), ())}))
            for m, r in zip(figures["month"], figures["region"])
        ]
    what = "alert" if codes is None else f"{', '.join(codes)} alert"
    grid = pd.DataFrame(
        [(pd.Timestamp(m), r) for r in regions for m in month_range(start, end)], columns=["month", "region"]
    )
    out = grid.merge(figures, on=["month", "region"], how="left")
    out["source_ids"] = [s if isinstance(s, tuple) else () for s in out["source_ids"]]
    out["missing"] = [
        "" if pd.notna(v) else missing_parts(by_provider, r, m.date(), what)
        for v, r, m in zip(out["value"], out["region"], out["month"])
    ]
    return out


def per_thousand_hubs(
    con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date, *, codes: list[str] | None = None
) -> pd.DataFrame:
    """Alerts per 1,000 installed Communications Hubs per region and month (see the module docstring).

    A row for every region and month: month, region, alerts, chs_installed, per_1000_chs (None when
    there is no figure), note (why there is none: which figure is missing, or a zero denominator),
    source_ids (of the alerts and the hub figures)."""
    regions = list(regions)
    alerts = region_alerts(con, regions, start, end, codes=codes)
    hubs = regional_metric(con, HUBS, regions, start, end)
    out = alerts.merge(hubs, on=["month", "region"], suffixes=("", "_hubs"))
    rates, notes = [], []
    for r in out.itertuples():
        why = [r.missing, r.missing_hubs]
        if pd.notna(r.value_hubs) and r.value_hubs == 0:
            why.append(f"{HUBS} is 0 for {r.region}: no rate")
        reason = join_notes(*why)
        rates.append(None if reason or pd.isna(r.value) else float(r.value) / float(r.value_hubs) * PER_HUBS)
        notes.append(reason)
    return pd.DataFrame(
        {
            "month": out["month"],
            "region": out["region"],
            "alerts": out["value"],
            "chs_installed": out["value_hubs"],
            "per_1000_chs": pd.Series(rates, dtype="float64"),
            "note": notes,
            "source_ids": [tuple(sorted(set(a) | set(b))) for a, b in zip(out["source_ids"], out["source_ids_hubs"])],
        }
    )


# ---------------------------------------------------------------------------
# Alerts beside a measure


# ---------------------------------------------------------------------------
# Tables as people read them


def month_text(frame: pd.DataFrame) -> pd.Series:
    return frame["month"].dt.strftime("%Y-%m")


def volumes_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The volumes behind the stacked bars: one row per month, region and code."""
    return pd.DataFrame(
        {
            "Month": month_text(frame),
            "Region": frame["region"],
            "Alert code": frame["alert_code"],
            "Volume": frame["volume"],
            "Devices": frame["devices"],
            "First-time devices": frame["first_time_devices"],
            "Share of month (%)": frame["share_pct"].round(2),
            "Previous month": frame["previous"],
            "Change": frame["change"],
            "Change (%)": frame["change_pct"].round(1),
        }
    ).reset_index(drop=True)


def normalised_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The normalised figures: alerts, CHs installed and the rate, with the note where there is none."""
    return pd.DataFrame(
        {
            "Month": month_text(frame),
            "Region": frame["region"],
            "Alerts": frame["alerts"],
            "CHs installed": frame["chs_installed"],
            "Alerts per 1,000 CHs": frame["per_1000_chs"].round(3),
            "Note": frame["note"],
        }
    ).reset_index(drop=True)


def rate_gaps(rates: pd.DataFrame, *, limit: int = 6) -> str | None:
    """'2 region-months have no rate: CSP N: no CHs installed figure for CSP N; …' for the region-months of
    a per_thousand_hubs frame without a rate (at most `limit` reasons); None when every one has a rate."""
    gaps = rates[rates["per_1000_chs"].isna()]
    if gaps.empty:
        return None
    reasons = sorted(set(gaps["region"] + ": " + gaps["note"]))
    return (
        f"{len(gaps)} region-month{'s have' if len(gaps) != 1 else ' has'} no rate: "
        + "; ".join(reasons[:limit])
        + (" …" if len(reasons) > limit else "")
    )
