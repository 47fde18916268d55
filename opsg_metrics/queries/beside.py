"""Alerts beside a measure: one alert code (or all), raw or per 1,000 Communications Hubs, for a region, beside a
measure's figures, target, minimum and status for a provider, month by month on one time axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.alerts import ALL_CODES, BASES, month_text, per_thousand_hubs, region_alerts
from opsg_metrics.queries.context import percent_change
from opsg_metrics.queries.operations import (
    ALL_CSPS,
    REGIONS,
    month_range,
)
from opsg_metrics.queries.provenance import frame_source_ids
from opsg_metrics.rules.status import latest_month, status_table
from opsg_metrics.store.catalogue import Catalogue
from opsg_metrics.store.errors import OpsgError


@dataclass
class BesideView:
    """An alert series for a region beside a measure's figures for a provider, over the same months."""

    alerts: pd.DataFrame  # month, value (None: no figure), note, source_ids
    measure: pd.DataFrame  # month, value, target, minimum, status, figure_status, unreliable, note, source
    code: str  # an alert code, or ALL_CODES
    basis: str  # a key of BASES
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
        return f"{what} per 1,000 CHs installed, {self.region}" if self.basis == "per1000" else f"{what}, {self.region}"

    @property
    def measure_label(self) -> str:
        return f"{self.measure_id} ({self.measure_provider}): {self.measure_name}"

    def source_ids(self) -> list[int]:
        """The sources of the alert figures and of the measure's figures shown beside them."""
        return sorted(set(frame_source_ids(self.alerts)) | set(self.measure_source_ids))

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
        table = status_table(
            con,
            until=max(end, latest) if latest else end,
            measures=[measure],
            providers=[measure_provider],
            start=start,
            end=end,
        )
    months = table["month"]
    rows = table[
        (table["measure"] == measure)
        & (table["provider"] == measure_provider)
        & (months >= pd.Timestamp(start))
        & (months <= pd.Timestamp(end))
    ]
    grid = pd.DataFrame({"month": [pd.Timestamp(m) for m in month_range(start, end)]})
    columns = ["month", "value", "target", "minimum", "status", "figure_status", "unreliable", "note", "source"]
    measure_rows = grid.merge(rows[columns], on="month", how="left")
    measure_rows["status"] = measure_rows["status"].fillna("no_data")
    measure_rows["note"] = measure_rows["note"].fillna("")
    name = (
        con.execute(
            "SELECT name FROM measures WHERE measure = ? AND provider = ?", [definition.measure, definition.provider]
        )
        .fetchall()[0][0]
        .split(" (CSP")[0]
    )
    unit = definition.unit
    return BesideView(
        alerts=alerts.reset_index(drop=True),
        measure=measure_rows,
        code=code,
        basis=basis,
        region=region,
        measure_id=measure,
        measure_provider=measure_provider,
        measure_name=name,
        unit=unit,
        start=start,
        end=end,
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


def beside_table(view: BesideView) -> pd.DataFrame:
    """The two series of the beside view month by month."""
    merged = view.alerts.merge(view.measure, on="month", suffixes=("_alerts", ""))
    label = BASES[view.basis] + ("" if view.code == ALL_CODES else f" ({view.code})")
    return pd.DataFrame(
        {
            "Month": month_text(merged),
            f"{label}, {view.region}": merged["value_alerts"].round(3),
            "Alert note": merged["note_alerts"],
            f"{view.measure_id} ({view.measure_provider})": merged["value"],
            "Target": merged["target"],
            "Minimum": merged["minimum"],
            "Status": [words.STATUS_LABELS[s] for s in merged["status"]],
            "Measure note": merged["note"],
        }
    ).reset_index(drop=True)


def regions_for_measure_provider(provider: str) -> str:
    """The alert region that goes with a measure's provider by default: itself if a region, else All CSPs."""
    return provider if provider in REGIONS else ALL_CSPS
