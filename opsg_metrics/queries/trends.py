"""The data behind a trend chart and its exports: a measure's figures for some providers over some months,
the major incidents and annotations drawn on its panels, and the provenance of exactly those rows; the
same for the SPC view. Charts are drawn from these by render/charts (views.py); nothing here draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import kept, minutes, record
from opsg_metrics.queries import spc as spc_readings
from opsg_metrics.queries.provenance import Provenance, frame_source_ids, history_source_ids, joined, provenance
from opsg_metrics.rules import annotations as annotation_rules
from opsg_metrics.rules import spc
from opsg_metrics.rules.status import DEFAULT_WINDOW, latest_month, status_table
from opsg_metrics.store.errors import OpsgError

# Which incidents belong on which provider's panel: the overall (DCC) figure is hit by every
# provider's incidents; CSP C&S by Central's and South's.
PANEL_INCIDENT_PROVIDERS = {"DCC": None, "CSP C&S": ("CSP C", "CSP S", "CSP C&S")}


@dataclass(frozen=True)
class TrendSelection:
    measures: list[str]
    providers: list[str]
    start: date
    end: date


def figures(
    con: duckdb.DuckDBPyConnection,
    selection: TrendSelection,
    *,
    window: int = DEFAULT_WINDOW,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Status rows for the selected measures and providers over the selected months.

    `table` is a status_table already computed (by a caller drawing many charts); else it is computed."""
    if table is None:
        until = max(selection.end, latest_month(con) or selection.end)
        table = status_table(
            con,
            window=window,
            until=until,
            measures=selection.measures,
            providers=selection.providers,
            start=selection.start,
            end=selection.end,
        )
    frame = table
    months = frame["month"].dt.date
    keep = (
        frame["measure"].isin(selection.measures)
        & frame["provider"].isin(selection.providers)
        & (months >= selection.start)
        & (months <= selection.end)
    )
    return frame[keep].reset_index(drop=True)


def major_incidents(con: duckdb.DuckDBPyConnection, providers: list[str], start: date, end: date) -> pd.DataFrame:
    """Major (Category 1-2) incidents opened in the range, one row per panel they belong on."""
    rows = con.execute(
        """SELECT incident_id, opened, category, provider, title, root_cause, source_id
           FROM current_incidents
           WHERE major AND opened >= ? AND opened < ? + INTERVAL 1 MONTH ORDER BY opened""",
        [start, end],
    ).df()
    panels = []
    for panel in providers:
        wanted = PANEL_INCIDENT_PROVIDERS.get(panel, (panel,))
        part = rows if wanted is None else rows[rows["provider"].isin(wanted)]
        panels.append(part.assign(panel=panel))
    result = pd.concat(panels, ignore_index=True) if panels else rows.assign(panel=[])
    result["opened_iso"] = result["opened"].dt.strftime("%Y-%m-%d")
    result["opened_text"] = result["opened"].dt.strftime("%d %b %Y %H:%M")
    return result


def annotations(
    con: duckdb.DuckDBPyConnection, measure: str, providers: list[str], start: date, end: date
) -> pd.DataFrame:
    """Annotations in the range that apply to a measure's panels (rules/annotations.py), one row per panel,
    numbered by date: the same number on every panel (the label on the chart, the text in the tooltip and,
    for print, in the footer)."""
    rows = annotation_rules.applying(con, measure, providers, start, end)
    result = rows.rename(columns={"series_provider": "panel"}).drop(columns=["series_measure"])
    result = pd.concat([result, plan_annotations(con, measure, providers, start, end)], ignore_index=True)
    order = {p: i for i, p in enumerate(providers)}
    result = result.sort_values(["panel", "date", "text"], key=lambda c: c.map(order) if c.name == "panel" else c)
    result = result.reset_index(drop=True)
    result["date_iso"] = pd.to_datetime(result["date"]).dt.strftime("%Y-%m-%d")
    result["date_text"] = pd.to_datetime(result["date"]).dt.strftime("%d %b %Y")
    order_by_date = result.sort_values(["date_iso", "text"]).drop_duplicates(["date_iso", "text"])
    numbers = {(r.date_iso, r.text): i for i, r in enumerate(order_by_date.itertuples(), start=1)}
    result["number"] = [numbers[(d, t)] for d, t in zip(result["date_iso"], result["text"])]
    result["label"] = result["number"].astype(str)
    return result


def plan_annotations(
    con: duckdb.DuckDBPyConnection, measure: str, providers: list[str], start: date, end: date
) -> pd.DataFrame:
    """The remediation plans of the actions linked to a measure, as annotations of its panels: each action's
    latest target date 'planned', every date it replaced 'slipped' (saying when it moved, to what and why)."""
    plans = record.plans(con, measure, providers)
    columns = ["date", "text", "kind", "source_id", "classification", "panel"]
    out = []
    for (action_id, provider), dates in plans.groupby(["action_id", "provider"], dropna=False, sort=False):
        dates = dates.reset_index(drop=True)
        for i, plan in dates.iterrows():
            if plan.slipped:
                later = dates.iloc[i + 1]
                why = f" ({later.why})" if later.why else ""
                text = (
                    f"Action {action_id}: target date {words.day_label(plan.target_date)}, moved on "
                    f"{words.day_label(later.set_on)} to {words.day_label(later.target_date)}{why}"
                )
            else:
                moved = f", moved {words.plural(i, 'time')}" if i else ""
                text = f"Action {action_id}: target date ({plan.status}{moved})"
            panels = providers if pd.isna(provider) else [provider]
            out += [
                [
                    plan.target_date,
                    text,
                    "slipped" if plan.slipped else "planned",
                    plan.source_id,
                    plan.classification,
                    p,
                ]
                for p in panels
            ]
    frame = pd.DataFrame(out, columns=columns)
    dates = pd.to_datetime(frame["date"])
    return frame[(dates >= pd.Timestamp(start)) & (dates < pd.Timestamp(words.next_month(end)))]


def annotation_lines(notes: pd.DataFrame) -> list[str]:
    """'[1] 10 Feb 2020 (event): CSP C&S fix deployed' for each numbered annotation."""
    if notes.empty:
        return []
    unique = notes.drop_duplicates("number").sort_values("number")
    return [f"[{r.number}] {r.date_text} ({r.kind}): {r.text}" for r in unique.itertuples()]


def check_range(start: date, end: date) -> None:
    if start > end:
        raise OpsgError(f"the range starts ({words.month_key(start)}) after it ends ({words.month_key(end)})")


@dataclass(frozen=True)
class TrendData:
    """What one measure's trend chart shows, and where it came from."""

    measure: str
    rows: pd.DataFrame  # status rows (rules/status.sql columns) of the providers and months shown
    incidents: pd.DataFrame  # major incidents, one row per panel
    annotations: pd.DataFrame  # annotations, one row per panel, numbered
    provenance: Provenance
    pmr_month: date
    said: tuple[str, ...] = ()  # where the minutes said otherwise than the record (queries/minutes, kept)
    said_at: tuple[tuple[str, date, str], ...] = ()  # the same, by (provider, month): the points' tooltips
    commentary_at: tuple[tuple[str, date, str], ...] = ()  # the secretariat's, by (provider, month): tooltips

    @property
    def providers(self) -> list[str]:
        return list(dict.fromkeys(self.rows.sort_values("sort_order")["provider"]))


def trend_data(
    con: duckdb.DuckDBPyConnection,
    measure: str,
    providers: list[str],
    start: date,
    end: date,
    *,
    window: int = DEFAULT_WINDOW,
    show_incidents: bool = True,
    show_annotations: bool = True,
    table: pd.DataFrame | None = None,
) -> TrendData | None:
    """One measure's figures for some providers over start..end, with what is drawn beside them; None
    when there is no figure. `table`: a status table already computed (a caller drawing many charts)."""
    check_range(start, end)
    rows = figures(con, TrendSelection([measure], providers, start, end), window=window, table=table)
    if rows.empty:
        return None
    shown = list(dict.fromkeys(rows.sort_values("sort_order")["provider"]))
    incidents = major_incidents(con, shown, start, end) if show_incidents else pd.DataFrame()
    notes = annotations(con, measure, shown, start, end) if show_annotations else pd.DataFrame()
    # The tooltips and subtitles state each figure's run and window, which reach back before `start`.
    # Where the minutes said otherwise: the reference statements, and those kept, of these series and months.
    stated = kept.said(con, measures=[measure], providers=shown, start=start, end=end)
    differences = minutes.differences(rows)
    said = tuple(d.text for d in differences) + tuple(k.text for k in stated)
    said_at = tuple((d.statement.provider, d.statement.month, d.text) for d in differences) + tuple(
        (k.provider, k.month, k.text) for k in stated if k.provider
    )
    origin = provenance(
        con,
        set(frame_source_ids(rows, incidents, notes)) | history_source_ids(con, rows) | {k.source_id for k in stated},
    )
    # The secretariat's commentary on these series and months, in the points' notes (and so in the marking).
    noted = record.commented(con, start, end)
    noted = noted[(noted["measure"] == measure) & (noted["provider"].isin(shown) | noted["provider"].isna())]
    commentary_at = tuple(
        (panel, pd.Timestamp(c.month).date(), f"Commentary ({c.author}): {c.text}")
        for c in noted.itertuples()
        for panel in ([c.provider] if isinstance(c.provider, str) else shown)  # none: on every provider's
    )
    planned = notes[notes["classification"].notna()] if "classification" in notes else notes.iloc[0:0]
    if commentary_at or not planned.empty:
        marks = [*noted["classification"], *planned["classification"]]
        origin = joined(con, origin, [*noted["source_id"].dropna(), *planned["source_id"].dropna()], marks)
    return TrendData(measure, rows, incidents, notes, origin, end, said, said_at, commentary_at)


def figures_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The figures behind a chart as people read them: one row per measure, provider and month."""
    table = pd.DataFrame(
        {
            "Month": rows["month"].dt.strftime("%Y-%m"),
            "Measure": rows["measure"],
            "Provider": rows["provider"],
            "Value": rows["value"],
            "Target": rows["target"],
            "Minimum": rows["minimum"],
            "Status": [words.STATUS_LABELS[s] for s in rows["status"]],
            "Figure": rows["figure_status"],
            "Revised": rows["revised"],
            "Run below target": rows["run_below_target"],
            "Run since": rows["run_start"].dt.strftime("%Y-%m"),
            "Below target in window": [f"{m} of {w}" for m, w in zip(rows["misses_in_window"], rows["window_months"])],
            "Window (months)": rows["window"],
            "Numerator": rows["numerator"],
            "Denominator": rows["denominator"],
            "Source": rows["source"],
            "Note": rows["note"],
        }
    )
    return table.reset_index(drop=True)


# ------------------------------------------------------------------------------------------- SPC view


@dataclass(frozen=True)
class SpcData:
    """What one measure's SPC (XmR) chart shows for some providers: readings, provenance, footer notes."""

    measure: str
    name: str
    unit: str
    results: dict  # provider -> spc.SpcResult, in catalogue order
    provenance: Provenance
    pmr_month: date
    start: date
    rebase_notes: list[str]  # the rebase annotations used and the method, for the footer


def spc_data(
    con: duckdb.DuckDBPyConnection,
    measure: str,
    providers: list[str],
    start: date,
    end: date,
    *,
    baseline: int | None = None,
    use_rebases: bool = True,
) -> SpcData | None:
    """The SPC readings of one measure over start..end (the months shown), or None when nothing is there."""
    check_range(start, end)
    found = spc_readings.readings(con, start, end, measure=measure, baseline=baseline, use_rebases=use_rebases)
    results = {p: found[(measure, p)] for p in providers if (measure, p) in found}
    if not results:
        return None
    name, unit = con.execute(
        "SELECT any_value(name), any_value(unit) FROM measures WHERE measure = ?", [measure]
    ).fetchall()[0]
    figure_ids = [
        i
        for (i,) in con.execute(
            """SELECT DISTINCT v.source_id FROM current_measure_values AS v
           WHERE v.measure = ? AND v.provider IN (SELECT unnest(?::VARCHAR[])) AND v.month BETWEEN ? AND ?""",
            [measure, list(results), start, end],
        ).fetchall()
    ]
    rebases = (
        annotation_rules.applying(
            con, measure, list(results), start, end, kinds=("rebase",), after_start=True, through_end_month=False
        ).drop_duplicates(["date", "text", "source_id"])
        if use_rebases
        else pd.DataFrame()
    )
    origin = provenance(con, figure_ids + ([] if rebases.empty else list(rebases["source_id"])))
    notes = (
        []
        if rebases.empty
        else [f"Rebase {pd.Timestamp(d):%d %b %Y}: {text}" for d, text in zip(rebases["date"], rebases["text"])]
    )
    method = (
        f"Limits: mean ± {spc.LIMIT} × average moving range per segment"
        + (f", from the first {baseline} figures of each" if baseline else "")
        + "; null and inferred months left out (method: docs/spc.md)"
    )
    return SpcData(measure, name, unit, results, origin, end, start, notes + [method])


def spc_table(view: SpcData) -> pd.DataFrame:
    """Each provider's SPC reading as people read it: one row per provider."""
    rows = []
    for provider, result in view.results.items():
        last = result.last_segment
        has = last is not None and last.has_limits
        rows.append(
            {
                "Provider": provider,
                "Reading": spc.reading(result, view.unit),
                "Variation (latest)": spc.VARIATION_TEXT.get(result.variation, "no reading"),
                "Target": spc.ASSURANCE_TEXT.get(result.assurance_target, "—"),
                "Minimum": spc.ASSURANCE_TEXT.get(result.assurance_minimum, "—"),
                "Figures": len(result.points),
                "Segments": len(result.segments),
                "Mean": last.mean if has else None,
                "Lower limit": last.lpl if has else None,
                "Upper limit": last.upl if has else None,
                "Special causes (latest segment)": result.special_causes,
                "Months left out": ", ".join(words.month_key(m) for m in result.skipped),
            }
        )
    return pd.DataFrame(rows)
