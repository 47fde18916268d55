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

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics.store import connect as db
from opsg_metrics.store import parse
from opsg_metrics.store.catalogue import Catalogue
from opsg_metrics.queries.context import percent_change
from opsg_metrics.words import previous_month
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.queries.operations import (ALL_CSPS, COMBINED, HUBS, REGIONS, join_notes, month_range, missing_parts, providers_of,
                         regional, regional_metric, shown_source_ids)
from opsg_metrics.rules.status import latest_month, status_table
from opsg_metrics import words

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


DEFAULT_CODES = 8      # codes shown when a link names none: the largest by volume


def top_codes(con: duckdb.DuckDBPyConnection, n: int = DEFAULT_CODES) -> list[str]:
    """The n codes with the most alerts over everything loaded, in code order (a readable default
    where hundreds of codes are loaded)."""
    rows = con.execute(
        "SELECT alert_code FROM current_alerts GROUP BY alert_code ORDER BY sum(volume) DESC, alert_code LIMIT ?",
        [n]).fetchall()
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
            FROM current_alerts WHERE {where} ORDER BY month, alert_code, provider""", params).df()
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame


def volumes(con: duckdb.DuckDBPyConnection, regions, start: date, end: date, *,
            codes: list[str] | None = None) -> pd.DataFrame:
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
    columns = ["month", "alert_code", "region", *COUNT_COLUMNS, "month_total", "share_pct", "previous", "change",
               "change_pct", "source_ids"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    before = frame[["month", "alert_code", "region", "volume"]].assign(
        month=frame["month"] + pd.DateOffset(months=1)).rename(columns={"volume": "previous"})
    frame = frame.merge(before, on=["month", "alert_code", "region"], how="left")
    frame = frame[frame["month"] >= pd.Timestamp(start)].reset_index(drop=True)
    frame = frame.merge(month_totals(con, regions, start, end), on=["month", "region"], how="left")
    frame["share_pct"] = [v / t * 100 if t else None for v, t in zip(frame["volume"], frame["month_total"])]
    frame["share_pct"] = frame["share_pct"].astype("float64")
    frame["change"] = frame["volume"] - frame["previous"]
    frame["change_pct"] = pd.Series([percent_change(v, p) for v, p in zip(frame["volume"], frame["previous"])],
                                    dtype="float64")
    return frame[columns]


def month_totals(con: duckdb.DuckDBPyConnection, regions, start: date, end: date) -> pd.DataFrame:
    """Alerts of every code per region and month (month, region, month_total), summed in the database.

    The total of a region's rows as regional() makes them: for a combination, a code counts in a month
    where every part has it (summed over the parts), and CSP C&S's own row counts for a code the parts
    do not all have. tests/test_alerts_ops.py checks it against regional() over every code."""
    frames = []
    for region in regions:
        parts = list(COMBINED.get(region, (region,)))
        frames.append(db.frame(con, """
            WITH common AS (
                SELECT month, alert_code, sum(volume) AS volume FROM current_alerts
                WHERE provider IN (SELECT unnest($parts::VARCHAR[])) AND month BETWEEN $start AND $end
                GROUP BY month, alert_code HAVING count(*) = $n),
            own AS (
                SELECT month, alert_code, volume FROM current_alerts
                WHERE provider = $region AND month BETWEEN $start AND $end)
            SELECT month, $region AS region, sum(volume)::DOUBLE AS month_total
            FROM (SELECT * FROM common UNION ALL SELECT o.* FROM own AS o ANTI JOIN common USING (month, alert_code))
            GROUP BY month""", {"parts": parts, "n": len(parts), "region": region, "start": start, "end": end}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["month", "region", "month_total"])


def _provider_month_totals(con, providers: list[str], start: date, end: date,
                           codes: list[str] | None = None) -> pd.DataFrame:
    """Per month and provider with alerts (of the codes; None means every code): value (their volumes
    summed), source_id (the latest source among them) and source_ids (all of them, in order)."""
    where, params = _selected(providers, start, end, codes)
    return db.frame(con, f"""
        SELECT month, provider, sum(volume)::DOUBLE AS value, max(source_id) AS source_id,
               list(DISTINCT source_id ORDER BY source_id) AS source_ids
        FROM current_alerts WHERE {where}
        GROUP BY month, provider ORDER BY month, provider""", params)


def region_alerts(con: duckdb.DuckDBPyConnection, regions, start: date, end: date, *,
                  codes: list[str] | None = None) -> pd.DataFrame:
    """Alerts per region and month (the codes summed; None means every code), a row for every month:
    month, region, value (None without any alert figure), missing (why), source_ids."""
    regions = list(regions)
    # The codes summed per provider and month in the database (every code of a region is ~200,000 rows
    # over five years at the stress size); the regions are made of them as for any figure (regional).
    totals = _provider_month_totals(con, providers_of(regions), start, end, codes)
    by_provider = totals[["month", "provider", "value", "source_id"]]
    # regional() carries one source id per row; a region's figure sums codes that may come from several
    # sources, so every one of them replaces it below.
    ids = {(m, p): tuple(int(i) for i in s) for m, p, s in zip(totals["month"], totals["provider"], totals["source_ids"])}
    figures = regional(by_provider, ["month"], ["value"], regions)
    if not figures.empty:
        figures["source_ids"] = [
            tuple(sorted({i for p in (COMBINED.get(r, ()) + (r,)) for i in ids.get((m, p), ())}))
            for m, r in zip(figures["month"], figures["region"])
        ]
    what = "alert" if codes is None else f"{', '.join(codes)} alert"
    grid = pd.DataFrame([(pd.Timestamp(m), r) for r in regions for m in month_range(start, end)],
                        columns=["month", "region"])
    out = grid.merge(figures, on=["month", "region"], how="left")
    out["source_ids"] = [s if isinstance(s, tuple) else () for s in out["source_ids"]]
    out["missing"] = ["" if pd.notna(v) else missing_parts(by_provider, r, m.date(), what)
                      for v, r, m in zip(out["value"], out["region"], out["month"])]
    return out


def per_thousand_hubs(con: duckdb.DuckDBPyConnection, regions, start: date, end: date, *,
                      codes: list[str] | None = None) -> pd.DataFrame:
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
    return pd.DataFrame({
        "month": out["month"], "region": out["region"], "alerts": out["value"], "chs_installed": out["value_hubs"],
        "per_1000_chs": pd.Series(rates, dtype="float64"), "note": notes,
        "source_ids": [tuple(sorted(set(a) | set(b))) for a, b in zip(out["source_ids"], out["source_ids_hubs"])],
    })


# ---------------------------------------------------------------------------
# Alerts beside a measure


@dataclass
class BesideView:
    """An alert series for a region beside a measure's figures for a provider, over the same months."""

    alerts: pd.DataFrame      # month, value (None: no figure), note, source_ids
    measure: pd.DataFrame     # month, value, target, minimum, status, figure_status, unreliable, note, source
    code: str                 # an alert code, or ALL_CODES
    basis: str                # a key of BASES
    region: str
    measure_id: str
    measure_provider: str
    measure_name: str
    unit: str
    start: date
    end: date
    measure_source_ids: list[int] = field(default_factory=list)

    @property
    def alert_label(self) -> str:
        """'All alerts per 1,000 CHs installed, CSP N' / '8F3E alert volume, CSP N'."""
        what = "All alerts" if self.code == ALL_CODES else f"{self.code} alerts"
        return f"{what} per 1,000 CHs installed, {self.region}" if self.basis == "per1000" \
            else f"{what}, {self.region}"

    @property
    def measure_label(self) -> str:
        return f"{self.measure_id} ({self.measure_provider}): {self.measure_name}"

    def source_ids(self) -> list[int]:
        """The sources of the alert figures and of the measure's figures shown beside them."""
        return sorted(set(shown_source_ids(self.alerts)) | set(self.measure_source_ids))

    def below_minimum_months(self) -> list[date]:
        return [m.date() for m in self.measure.loc[self.measure["status"] == "below_minimum", "month"]]


def beside_measure(
    con: duckdb.DuckDBPyConnection,
    *,
    region: str,
    measure: str,
    measure_provider: str,
    start: date,
    end: date,
    code: str = ALL_CODES,
    basis: str = "volume",
    table: pd.DataFrame | None = None,
) -> BesideView:
    """An alert code's volume (or all codes', raw or per 1,000 CHs installed) for a region, beside a
    measure's value, target, minimum and status for a provider, month by month from start to end.

    `table` is a status.status_table already computed; else it is computed. Raises OpsgError for a
    measure and provider the catalogue does not have, or an unknown basis or region."""
    if basis not in BASES:
        raise OpsgError(f"unknown basis '{basis}' (use {', '.join(BASES)})")
    if region not in REGIONS:
        raise OpsgError(f"unknown region '{region}' (use {', '.join(REGIONS)})")
    if start > end:
        raise OpsgError(f"the range starts ({words.month_key(start)}) after it ends ({words.month_key(end)})")
    try:
        definition = Catalogue.from_db(con).resolve_series(measure, measure_provider)
    except ValueError as exc:
        raise OpsgError(str(exc)) from None
    measure, measure_provider = definition.measure, definition.provider
    codes = None if code == ALL_CODES else [code]
    if basis == "per1000":
        frame = per_thousand_hubs(con, [region], start, end, codes=codes)
        alerts = frame.rename(columns={"per_1000_chs": "value"})[["month", "value", "note", "source_ids"]]
    else:
        frame = region_alerts(con, [region], start, end, codes=codes)
        alerts = frame.rename(columns={"missing": "note"})[["month", "value", "note", "source_ids"]]
    if table is None:
        latest = latest_month(con)
        table = status_table(con, until=max(end, latest) if latest else end, measures=[measure],
                             providers=[measure_provider], start=start, end=end)
    months = table["month"]
    rows = table[(table["measure"] == measure) & (table["provider"] == measure_provider)
                 & (months >= pd.Timestamp(start)) & (months <= pd.Timestamp(end))]
    grid = pd.DataFrame({"month": [pd.Timestamp(m) for m in month_range(start, end)]})
    columns = ["month", "value", "target", "minimum", "status", "figure_status", "unreliable", "note", "source"]
    measure_rows = grid.merge(rows[columns], on="month", how="left")
    measure_rows["status"] = measure_rows["status"].fillna("no_data")
    measure_rows["note"] = measure_rows["note"].fillna("")
    name = con.execute("SELECT name FROM measures WHERE measure = ? AND provider = ?",
                       [definition.measure, definition.provider]).fetchall()[0][0].split(" (CSP")[0]
    unit = definition.unit
    return BesideView(
        alerts=alerts.reset_index(drop=True), measure=measure_rows, code=code, basis=basis, region=region,
        measure_id=measure, measure_provider=measure_provider, measure_name=name, unit=unit, start=start, end=end,
        measure_source_ids=sorted({int(i) for i in rows["source_id"].dropna()}),
    )


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def beside_finding(view: BesideView) -> str:
    """One sentence comparing the alert series in the months the measure was below minimum with the
    other months with a figure: the question OPSG asks of the view."""
    merged = view.alerts.merge(view.measure[["month", "status"]], on="month")
    below = merged[merged["status"] == "below_minimum"]
    others = merged[merged["status"].isin(["met", "below_target"])]
    measure = f"{view.measure_id} ({view.measure_provider})"
    if below.empty:
        return f"{measure} was not below its minimum in any month of the period."
    what = "alerts per 1,000 CHs installed" if view.basis == "per1000" else "alerts"
    what = what if view.code == ALL_CODES else f"{view.code} {what}"
    fmt = "{:,.1f}" if view.basis == "per1000" else "{:,.0f}"
    in_below, in_others = _mean(below["value"]), _mean(others["value"])
    n = len(below)
    text = f"{measure} was below its minimum in {n} month{'s' if n != 1 else ''} of the period"
    if in_below is None:
        return text + f"; there is no {what} figure for {view.region} in those months."
    text += f"; {view.region} averaged {fmt.format(in_below)} {what} a month in those months"
    if in_others is None:
        return text + " (no other month with both figures to compare)."
    change = percent_change(in_below, in_others)
    if change is None:
        comparison = " against"
    elif round(change) == 0:
        comparison = ", about the same as"
    else:
        comparison = f", {abs(change):.0f}% {'more' if change > 0 else 'fewer'} than"
    return text + f"{comparison} {fmt.format(in_others)} in the other months with a figure."


# ---------------------------------------------------------------------------
# Tables as people read them


def _month_text(frame: pd.DataFrame) -> pd.Series:
    return frame["month"].dt.strftime("%Y-%m")


def volumes_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The volumes behind the stacked bars: one row per month, region and code."""
    return pd.DataFrame({
        "Month": _month_text(frame), "Region": frame["region"], "Alert code": frame["alert_code"],
        "Volume": frame["volume"], "Devices": frame["devices"], "First-time devices": frame["first_time_devices"],
        "Share of month (%)": frame["share_pct"].round(2), "Previous month": frame["previous"],
        "Change": frame["change"], "Change (%)": frame["change_pct"].round(1),
    }).reset_index(drop=True)


def normalised_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The normalised figures: alerts, CHs installed and the rate, with the note where there is none."""
    return pd.DataFrame({
        "Month": _month_text(frame), "Region": frame["region"], "Alerts": frame["alerts"],
        "CHs installed": frame["chs_installed"], "Alerts per 1,000 CHs": frame["per_1000_chs"].round(3),
        "Note": frame["note"],
    }).reset_index(drop=True)


def beside_table(view: BesideView) -> pd.DataFrame:
    """The two series of the beside view month by month."""
    merged = view.alerts.merge(view.measure, on="month", suffixes=("_alerts", ""))
    label = BASES[view.basis] + ("" if view.code == ALL_CODES else f" ({view.code})")
    return pd.DataFrame({
        "Month": _month_text(merged),
        f"{label}, {view.region}": merged["value_alerts"].round(3),
        "Alert note": merged["note_alerts"],
        f"{view.measure_id} ({view.measure_provider})": merged["value"],
        "Target": merged["target"], "Minimum": merged["minimum"],
        "Status": [words.STATUS_LABELS[s] for s in merged["status"]],
        "Measure note": merged["note"],
    }).reset_index(drop=True)


def regions_for_measure_provider(provider: str) -> str:
    """The alert region that goes with a measure's provider by default: itself if a region, else All CSPs."""
    return provider if provider in REGIONS else ALL_CSPS
