"""Queries behind the trends view and chart export: figures, incidents, annotations, sources.

Everything a trend chart or its footer needs, as data frames and plain values;
the page and the CLI call these, never SQL of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics.store import parse
from opsg_metrics.store.catalogue import Catalogue
from opsg_metrics.store.classification import LABELS, most_restrictive
from opsg_metrics.store.connect import OpsgError
from opsg_metrics.rules.status import DEFAULT_WINDOW, latest_month, status_table

# Which incidents belong on which provider's panel: the overall (DCC) figure is hit by every
# provider's incidents; CSP C&S by Central's and South's.
PANEL_INCIDENT_PROVIDERS = {"DCC": None, "CSP C&S": ("CSP C", "CSP S", "CSP C&S")}


@dataclass
class TrendSelection:
    measures: list[str]
    providers: list[str]
    start: date
    end: date


def measure_options(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Measure id -> 'CPM1: On-demand Service Responses ...' in catalogue order."""
    rows = con.execute(
        "SELECT measure, any_value(name ORDER BY sort_order), min(sort_order) AS o FROM measures GROUP BY measure ORDER BY o"
    ).fetchall()
    return {m: f"{m}: {n.split(' (CSP')[0]}" for m, n, _ in rows}


def providers_for(con: duckdb.DuckDBPyConnection, measures: list[str]) -> list[str]:
    """Providers any of the measures is defined for, in provider order."""
    if not measures:
        return []
    rows = con.execute(
        """SELECT DISTINCT p.provider, p.sort_order FROM measures m JOIN providers p USING (provider)
           WHERE m.measure IN (SELECT unnest(?::VARCHAR[])) ORDER BY p.sort_order""",
        [measures],
    ).fetchall()
    return [p for p, _ in rows]


def resolve_selection(con, measures: list[str], providers: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Catalogue ids for what a link or a person asked for, and a message for each thing not understood."""
    catalogue = Catalogue.from_db(con)
    problems, good_measures, good_providers = [], [], []
    for text in measures:
        try:
            good_measures.append(catalogue.resolve_measure(text))
        except ValueError as exc:
            problems.append(str(exc).replace("unknown measure", "Unknown measure"))
    for text in providers:
        try:
            good_providers.append(catalogue.resolve_provider(text))
        except ValueError as exc:
            problems.append(str(exc).replace("unknown provider", "Unknown provider"))
    return list(dict.fromkeys(good_measures)), list(dict.fromkeys(good_providers)), problems


def figures(con, selection: TrendSelection, *, window: int = DEFAULT_WINDOW,
            table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Status rows for the selected measures and providers over the selected months.

    `table` is a status_table already computed (by a caller drawing many charts); else it is computed."""
    if table is None:
        until = max(selection.end, latest_month(con) or selection.end)
        table = status_table(con, window=window, until=until, measures=selection.measures,
                             providers=selection.providers, start=selection.start, end=selection.end)
    frame = table
    months = frame["month"].dt.date
    keep = (
        frame["measure"].isin(selection.measures)
        & frame["provider"].isin(selection.providers)
        & (months >= selection.start) & (months <= selection.end)
    )
    return frame[keep].reset_index(drop=True)


def major_incidents(con, providers: list[str], start: date, end: date) -> pd.DataFrame:
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


def annotations(con, measure: str, providers: list[str], start: date, end: date) -> pd.DataFrame:
    """Annotations in the range that apply to a measure's panels, one row per panel."""
    rows = con.execute(
        """SELECT date, text, scope, measure, provider, kind, source_id FROM current_annotations
           WHERE date >= ? AND date < ? + INTERVAL 1 MONTH ORDER BY date, text""",
        [start, end],
    ).df()
    panels = []
    for panel in providers:
        applies = (
            (rows["scope"] == "all")
            | ((rows["scope"] == "measure") & (rows["measure"] == measure))
            | ((rows["scope"] == "provider") & (rows["provider"] == panel))
            | ((rows["scope"] == "series") & (rows["measure"] == measure) & (rows["provider"] == panel))
        )
        panels.append(rows[applies].assign(panel=panel))
    result = pd.concat(panels, ignore_index=True) if panels else rows.assign(panel=[])
    result["date_iso"] = pd.to_datetime(result["date"]).dt.strftime("%Y-%m-%d")
    result["date_text"] = pd.to_datetime(result["date"]).dt.strftime("%d %b %Y")
    # Numbered by date, the same number on every panel: the label on the chart, the text in the
    # tooltip and (for print) in the footer.
    order = result.sort_values(["date_iso", "text"]).drop_duplicates(["date_iso", "text"]).reset_index(drop=True)
    numbers = {(r.date_iso, r.text): i for i, r in enumerate(order.itertuples(), start=1)}
    result["number"] = [numbers[(d, t)] for d, t in zip(result["date_iso"], result["text"])]
    result["label"] = result["number"].astype(str)
    return result


def annotation_lines(notes: pd.DataFrame) -> list[str]:
    """'[1] 10 Feb 2020 (event): CSP C&S fix deployed' for each numbered annotation."""
    if notes.empty:
        return []
    unique = notes.drop_duplicates("number").sort_values("number")
    return [f"[{r.number}] {r.date_text} ({r.kind}): {r.text}" for r in unique.itertuples()]


@dataclass
class Provenance:
    """Where a chart's data came from: what its footer says."""

    sources: list[tuple[str, date | None, str]]      # label, issue date, kind of document
    classification: str
    sample: bool
    source_ids: tuple[int, ...] = ()                 # exactly the sources of the rows shown

    def footer_lines(self, pmr_month: date | None, notes: list[str] | None = None) -> list[str]:
        lines = list(notes or [])
        if self.sources:
            def named(label, issued):
                return f"{label} (issued {issued:%d %b %Y})" if issued else label

            pmrs = [(label, issued) for label, issued, kind in self.sources if kind == "measures"]
            others = [(label, issued) for label, issued, kind in self.sources if kind != "measures"]
            parts = []
            if len(pmrs) > 3:
                # Many monthly PMRs: the series they form, with the span of their issue dates.
                dates = [d for _, d in pmrs if d]
                span = f", issued {min(dates):%d %b %Y} to {max(dates):%d %b %Y}" if dates else ""
                parts.append(f"{len(pmrs)} PMR documents from {pmrs[0][0]} to {pmrs[-1][0]}{span}")
            else:
                parts += [named(*p) for p in pmrs]
            parts += [named(*o) for o in others]
            lines.append("Sources: " + "; ".join(parts))
        if pmr_month:
            lines.append(f"PMR month: {parse.month_label(pmr_month)}")
        if self.sample:
            lines.append("Illustrative sample data: not DCC's figures, except those noted as reported figures")
        lines.append(f"Classification: {LABELS[self.classification]}")
        return lines


def provenance(con, source_ids) -> Provenance:
    """The sources whose rows an output shows (by id: two sources may share a label), in issue order; the
    most restrictive of their classifications; whether any is sample data."""
    ids = sorted({int(i) for i in source_ids if i is not None and not pd.isna(i)})
    rows = con.execute(
        """SELECT label, issued_on, classification, is_sample, kind FROM sources
           WHERE source_id IN (SELECT unnest(?::INTEGER[]))
           ORDER BY issued_on NULLS LAST, label, source_id""",
        [ids],
    ).fetchall()
    return Provenance(
        sources=list(dict.fromkeys((label, issued, kind) for label, issued, _, _, kind in rows)),
        classification=most_restrictive(row[2] for row in rows),
        sample=any(row[3] for row in rows),
        source_ids=tuple(ids),
    )


def frame_source_ids(*frames: pd.DataFrame) -> list[int]:
    """The source ids of the rows of some frames: a `source_id` column, or a `source_ids` column of tuples."""
    ids: set[int] = set()
    for frame in frames:
        if frame is None or frame.empty:
            continue
        if "source_id" in frame:
            ids |= {int(i) for i in frame["source_id"].dropna()}
        if "source_ids" in frame:
            ids |= {int(i) for row in frame["source_ids"] for i in (row if isinstance(row, (list, tuple)) else ())}
    return sorted(ids)


def check_range(start: date, end: date) -> None:
    if start > end:
        raise OpsgError(f"the range starts ({parse.month_key(start)}) after it ends ({parse.month_key(end)})")


@dataclass
class TrendView:
    """One measure's chart with everything behind it."""

    measure: str
    rows: pd.DataFrame
    chart: "alt.VConcatChart"
    data: "charts.Annotated"
    provenance: Provenance
    pmr_month: date


def trend_view(
    con,
    measure: str,
    providers: list[str],
    start: date,
    end: date,
    *,
    window: int = DEFAULT_WINDOW,
    show_incidents: bool = True,
    show_annotations: bool = True,
    table: pd.DataFrame | None = None,
) -> TrendView | None:
    """The chart of one measure for some providers over a range, or None when nothing is there."""
    from opsg_metrics.render.charts import trend as charts

    check_range(start, end)
    rows = figures(con, TrendSelection([measure], providers, start, end), window=window, table=table)
    if rows.empty:
        return None
    shown = list(dict.fromkeys(rows.sort_values("sort_order")["provider"]))
    incidents = major_incidents(con, shown, start, end) if show_incidents else pd.DataFrame()
    notes = annotations(con, measure, shown, start, end) if show_annotations else pd.DataFrame()
    data = charts.trend_layers_data(rows, incidents=incidents, annotations=notes)
    origin = provenance(con, frame_source_ids(rows, incidents, notes))
    return TrendView(measure, rows, charts.trend_chart(data), data, origin, end)


def figures_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The figures behind a chart as people read them: one row per measure, provider and month."""
    from opsg_metrics.rules.status import STATUS_LABELS

    table = pd.DataFrame({
        "Month": rows["month"].dt.strftime("%Y-%m"),
        "Measure": rows["measure"],
        "Provider": rows["provider"],
        "Value": rows["value"],
        "Target": rows["target"],
        "Minimum": rows["minimum"],
        "Status": [STATUS_LABELS[s] for s in rows["status"]],
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
    })
    return table.reset_index(drop=True)


# ------------------------------------------------------------------------------------------- SPC view

@dataclass
class SpcView:
    """One measure's SPC (XmR) chart for some providers, with its readings and provenance."""

    measure: str
    name: str
    unit: str
    results: dict            # provider -> spc.SpcResult, in catalogue order
    chart: "alt.VConcatChart"
    provenance: Provenance
    pmr_month: date
    rebase_notes: list[str]  # the rebase annotations used, for the footer


def spc_view(con, measure: str, providers: list[str], start: date, end: date, *, baseline: int | None = None,
             use_rebases: bool = True) -> SpcView | None:
    """The SPC view of one measure over start..end (the months shown), or None when nothing is there."""
    from opsg_metrics.render.charts import trend as charts
    from opsg_metrics.rules import spc

    check_range(start, end)
    found = spc.readings(con, start, end, measure=measure, baseline=baseline, use_rebases=use_rebases)
    results = {p: found[(measure, p)] for p in providers if (measure, p) in found}
    if not results:
        return None
    name, unit = con.execute("SELECT any_value(name), any_value(unit) FROM measures WHERE measure = ?",
                             [measure]).fetchall()[0]
    figure_ids = [i for (i,) in con.execute(
        """SELECT DISTINCT v.source_id FROM current_measure_values AS v
           WHERE v.measure = ? AND v.provider IN (SELECT unnest(?::VARCHAR[])) AND v.month BETWEEN ? AND ?""",
        [measure, list(results), start, end]).fetchall()]
    rebase_rows = con.execute(
        """SELECT DISTINCT a.date, a.text, a.source_id FROM current_annotations AS a
           WHERE a.kind = 'rebase' AND a.date > ? AND a.date <= ?
             AND (a.scope = 'all' OR (a.scope = 'measure' AND a.measure = ?)
                  OR (a.scope IN ('provider', 'series') AND a.provider IN (SELECT unnest(?::VARCHAR[]))
                      AND (a.scope = 'provider' OR a.measure = ?)))
           ORDER BY a.date""",
        [start, end, measure, list(results), measure]).fetchall() if use_rebases else []
    origin = provenance(con, figure_ids + [r[2] for r in rebase_rows])
    notes = [f"Rebase {pd.Timestamp(d):%d %b %Y}: {text}" for d, text, _ in rebase_rows]
    method = (f"Limits: mean ± 2.66 × average moving range per segment"
              + (f", from the first {baseline} figures of each" if baseline else "")
              + "; null and inferred months left out (method: docs/spc.md)")
    chart = charts.spc_chart(
        results, unit=unit, title=f"{measure}: {name}",
        subtitle=f"SPC (XmR) view, {parse.month_label(start)} to {parse.month_label(end)}")
    return SpcView(measure, name, unit, results, chart, origin, end, notes + [method])


def spc_table(view: SpcView) -> pd.DataFrame:
    """Each provider's SPC reading as people read it: one row per provider."""
    from opsg_metrics.rules import spc

    rows = []
    for provider, result in view.results.items():
        last = result.last_segment
        has = last is not None and last.has_limits
        rows.append({
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
            "Months left out": ", ".join(parse.month_key(m) for m in result.skipped),
        })
    return pd.DataFrame(rows)
