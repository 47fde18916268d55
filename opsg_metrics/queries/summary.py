"""The secretariat's monthly PMR summary, as findings: built once from the figures, their status, runs,
windows, SPC readings, revisions and the month's context, then laid out by render/documents.

Every statement is a Finding (the sentence, and the figures and sources behind it), so every sentence in
every format has a finding behind it, and the same data always gives the same text. The sentences follow
how OPSG minutes put things: "CPM1 was below its Target Service Level (99%) at 96.40%. It has been below
target for 16 consecutive months, since January 2019, and in 16 of the last 17 months."
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import minutes
from opsg_metrics.queries import spc as spc_readings
from opsg_metrics.queries.context import context_findings, source_ids_of
from opsg_metrics.queries.findings import Finding, Summary
from opsg_metrics.queries.provenance import history_source_ids, provenance
from opsg_metrics.queries.sentences import (
    figures_of,
    inferred_mark,
    issued_text,
    miss_sentences,
    revision_value,
    sources_of,
    spc_figures,
    spc_sentence,
    who,
)
from opsg_metrics.rules import spc
from opsg_metrics.rules.status import DEFAULT_WINDOW, check_window, last_reported_before, latest_month, status_table
from opsg_metrics.store.errors import OpsgError

MOVEMENTS_SHOWN = 5


# ---------------------------------------------------------------- wording


# ---------------------------------------------------------------- building


def _headline(now: pd.DataFrame, month: date) -> list[Finding]:
    findings = []
    groups = [
        ("Code Performance Measures", now[now["measure"].str.startswith("CPM")]),
        ("Service Provider measures", now[~now["measure"].str.startswith("CPM")]),
    ]
    for label, part in groups:
        if part.empty:
            continue
        counts = part["status"].value_counts()
        met, below_t, below_m, no_data = (
            int(counts.get(s, 0)) for s in ("met", "below_target", "below_minimum", "no_data")
        )
        text = (
            f"{label}, {words.month_label(month)}: {met} of {len(part)} figures met target, "
            f"{below_t} {'was' if below_t == 1 else 'were'} below target and {below_m} below minimum"
        )
        text += f"; {no_data} not reported." if no_data else "."
        inferred = int(part["inferred"].sum())
        if inferred:
            text += (
                f" {inferred} of these figures {'is' if inferred == 1 else 'are'} inferred, "
                "not reported (see Data quality)."
            )
        findings.append(
            Finding(
                f"headline:{label}",
                "Headline",
                text,
                figures={
                    "met": met,
                    "below_target": below_t,
                    "below_minimum": below_m,
                    "not_reported": no_data,
                    "inferred": inferred,
                    "figures": len(part),
                },
            )
        )
    order = {p: i for i, p in enumerate(now.sort_values("provider_order")["provider"].drop_duplicates())}
    for provider, part in sorted(now.groupby("provider", sort=False), key=lambda item: order[item[0]]):
        counts = part["status"].value_counts()
        misses = part[part["status"].isin(["below_target", "below_minimum"])]
        text = f"{provider}: {int(counts.get('met', 0))} met"
        if not misses.empty:
            text += ", below target: " + ", ".join(
                f"{m}{' (below minimum)' if s == 'below_minimum' else ''}"
                for m, s in zip(misses["measure"], misses["status"])
            )
        if counts.get("no_data", 0):
            text += f", not reported: {int(counts['no_data'])}"
        if part["inferred"].any():
            text += ", inferred (not reported): " + ", ".join(part.loc[part["inferred"].astype(bool), "measure"])
        findings.append(
            Finding(
                f"headline:{provider}",
                "Headline",
                text + ".",
                provider=provider,
                figures={s: int(counts.get(s, 0)) for s in words.STATUS_LABELS},
            )
        )
    return findings


def _changes(now: pd.DataFrame, before: pd.DataFrame, month: date) -> list[Finding]:
    """Status changes and movements against each series' last reported month before this one."""
    section = "Changes since the previous month"
    if before.empty:
        return [
            Finding("changes:none", section, f"There are no figures before {words.month_label(month)} to compare with.")
        ]
    merged = now.merge(
        before[["measure", "provider", "month", "value", "status", "run_below_target"]],
        on=["measure", "provider"],
        suffixes=("", "_before"),
    )
    previous = words.previous_month(month)

    def when(row) -> str:
        earlier = pd.Timestamp(row["month_before"]).date()
        return (
            "the month before" if earlier == previous else f"in {words.month_label(earlier)} (the last month reported)"
        )

    misses = ("below_target", "below_minimum")
    findings = []
    back = merged[(merged["status"] == "met") & merged["status_before"].isin(misses)]
    for _, r in back.iterrows():
        findings.append(
            Finding(
                f"changes:back:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} returned to target at {words.value_text(r['value'], r['unit'])}{inferred_mark(r)}, after "
                f"{words.months(int(r['run_below_target_before']))} below.",
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                sources_of(r),
            )
        )
    new = merged[merged["status"].isin(misses) & (merged["status_before"] == "met")]
    for _, r in new.iterrows():
        findings.append(
            Finding(
                f"changes:new:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} fell below {'its minimum' if r['status'] == 'below_minimum' else 'target'} at "
                f"{words.value_text(r['value'], r['unit'])}{inferred_mark(r)}, from {words.value_text(r['value_before'], r['unit'])} (met) {when(r)}.",
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                sources_of(r),
            )
        )
    # Movements in percentage points, for percentage measures only (counts are not comparable with them).
    moved = merged[(merged["unit"] == "percent") & (merged["month_before"].dt.date == previous)]
    moved = moved.dropna(subset=["value", "value_before"]).assign(movement=lambda f: f["value"] - f["value_before"])
    moved = moved.reindex(moved["movement"].abs().sort_values(ascending=False).index).head(MOVEMENTS_SHOWN)
    moved = moved[moved["movement"].abs() >= 0.01]
    if not moved.empty:
        parts = [
            f"{who(r)} {r['movement']:+.2f} points ({words.value_text(r['value_before'], r['unit'])} to "
            f"{words.value_text(r['value'], r['unit'])}{', inferred' if r.get('inferred', False) else ''})"
            for _, r in moved.iterrows()
        ]
        findings.append(
            Finding(
                "changes:movements",
                section,
                "Largest movements: " + "; ".join(parts) + ".",
                figures={
                    f"{r['measure']} {r['provider']}": round(float(r["movement"]), 4) for _, r in moved.iterrows()
                },
            )
        )
    if not findings:
        findings.append(Finding("changes:none", section, "No measure changed status since the previous month."))
    return findings


def revisions(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Figures of the month with more than one revision: first issue and current, with both sources."""
    return con.execute(
        """WITH history AS (
               SELECT v.measure, v.provider, v.value, v.status, s.label, s.issued_on, v.source_id,
                      row_number() OVER (PARTITION BY v.measure, v.provider ORDER BY v.source_id) AS first_rank,
                      row_number() OVER (PARTITION BY v.measure, v.provider ORDER BY v.source_id DESC) AS last_rank,
                      count(*) OVER (PARTITION BY v.measure, v.provider) AS revisions
               FROM measure_values AS v JOIN sources AS s USING (source_id)
               WHERE v.month = ?)
           SELECT f.measure, f.provider, f.value AS first_value, f.status AS first_status, f.label AS first_source,
                  f.issued_on AS first_issued, l.value AS current_value, l.status AS current_status,
                  l.label AS current_source, l.issued_on AS current_issued, f.revisions,
                  f.source_id AS first_source_id, l.source_id AS current_source_id
           FROM history AS f JOIN history AS l USING (measure, provider)
           JOIN measures AS m USING (measure, provider)
           WHERE f.first_rank = 1 AND l.last_rank = 1 AND f.revisions > 1
           ORDER BY m.sort_order""",
        [month],
    ).df()


def _quality(now: pd.DataFrame, revised: pd.DataFrame) -> list[Finding]:
    section = "Data quality"
    findings = []
    for _, r in now[now["figure_status"] == "null"].iterrows():
        findings.append(
            Finding(
                f"quality:null:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} was not reported" + (f": {r['note']}." if r["note"] else "."),
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                sources_of(r),
            )
        )
    for _, r in now[now["figure_status"] == "absent"].iterrows():
        findings.append(
            Finding(
                f"quality:absent:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} has no figure loaded for the month.",
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                [],
            )
        )
    for _, r in now[now["unreliable"]].iterrows():
        findings.append(
            Finding(
                f"quality:unreliable:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} at {words.value_text(r['value'], r['unit'])} is flagged as unreliable"
                + (f": {r['note']}." if r["note"] else "."),
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                sources_of(r),
            )
        )
    for _, r in now[now["inferred"].astype(bool)].iterrows():
        findings.append(
            Finding(
                f"quality:inferred:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} at {words.value_text(r['value'], r['unit'])} is inferred, not reported"
                + (f": {r['note']}." if r["note"] else "."),
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                sources_of(r),
            )
        )
    for _, r in revised.iterrows():
        findings.append(
            Finding(
                f"quality:revised:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} was revised from {revision_value(r['first_value'], r['first_status'])} "
                f"({issued_text(r['first_source'], r['first_issued'])}) to {revision_value(r['current_value'], r['current_status'])} "
                f"({issued_text(r['current_source'], r['current_issued'])}).",
                r["measure"],
                r["provider"],
                None,
                {
                    "first_value": None if pd.isna(r["first_value"]) else float(r["first_value"]),
                    "current_value": None if pd.isna(r["current_value"]) else float(r["current_value"]),
                    "revisions": int(r["revisions"]),
                },
                [
                    issued_text(r["first_source"], r["first_issued"]),
                    issued_text(r["current_source"], r["current_issued"]),
                ],
            )
        )
    if not findings:
        findings.append(
            Finding(
                "quality:clean",
                section,
                "Every figure for the month was reported, none is flagged unreliable and none was revised.",
            )
        )
    return findings


def _status_table(now: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Measure": now["measure"],
            "Provider": now["provider"],
            "Value": [("" if pd.isna(v) else words.value_text(v, u)) for v, u in zip(now["value"], now["unit"])],
            "Target": [words.level_text(t, u) if pd.notna(t) else "" for t, u in zip(now["target"], now["unit"])],
            "Minimum": [words.level_text(m, u) if pd.notna(m) else "" for m, u in zip(now["minimum"], now["unit"])],
            "Status": [
                words.STATUS_LABELS[s] + (" (unreliable)" if u else "") + (" (inferred)" if i else "")
                for s, u, i in zip(now["status"], now["unreliable"], now["inferred"])
            ],
            "Run": [str(int(r)) if r else "" for r in now["run_below_target"]],
        }
    ).reset_index(drop=True)


def build_summary(con: duckdb.DuckDBPyConnection, month: date, *, window: int = DEFAULT_WINDOW) -> Summary:
    """Everything the summary for a PMR month says, as findings and tables."""
    check_window(window)
    latest = latest_month(con)
    if latest is None:
        raise OpsgError("no figures are loaded at all: load a PMR first")
    until = max(month, latest)
    providers = {
        p: i for i, (p,) in enumerate(con.execute("SELECT provider FROM providers ORDER BY sort_order").fetchall())
    }
    now = status_table(con, window=window, until=until, month=month)
    now = now.assign(provider_order=now["provider"].map(providers)).sort_values("sort_order").reset_index(drop=True)
    # Each series' last reported month before this one (a null month in between hides nothing;
    # an inferred month is not a reported one).
    before = last_reported_before(con, month, window=window, until=until)
    if now.empty or (now["figure_status"] == "absent").all():
        raise OpsgError(
            f"no figures are loaded for {words.month_label(month)} (latest month loaded: {words.month_label(latest)})"
        )
    misses = now[now["status"].isin(["below_target", "below_minimum"])]
    readings = (
        spc_readings.readings_for_month(con, month).set_index(["measure", "provider"]) if not misses.empty else None
    )
    below = [
        Finding(
            f"below:{r['measure']}:{r['provider']}",
            "Measures below target" if r["measure"].startswith("CPM") else "Service Provider measures below target",
            miss_sentences(r) + spc_sentence(readings, r, month),
            r["measure"],
            r["provider"],
            r["status"],
            figures_of(r) | spc_figures(readings, r),
            sources_of(r),
        )
        for _, r in misses.iterrows()
    ]
    cpm_below = [f for f in below if f.section == "Measures below target"]
    sp_below = [f for f in below if f.section != "Measures below target"]
    cpms = now[now["measure"].str.startswith("CPM")]
    if not cpm_below and not cpms.empty:
        unreported = int((cpms["status"] == "no_data").sum())
        # A null is never a pass: only say "every CPM met" when every CPM figure is there and met.
        # Nor is an inferred figure a reported one: say how many there are.
        inferred = int(cpms["inferred"].sum())
        inferred_text = (
            f"; {inferred} of the CPM figures {'is' if inferred == 1 else 'are'} inferred, not reported"
            if inferred
            else ""
        )
        if unreported == 0:
            text = "Every Code Performance Measure met its target" + (
                f"{inferred_text} (see Data quality)." if inferred else "."
            )
        else:
            text = (
                f"No Code Performance Measure reported was below target; {unreported} of {len(cpms)} "
                f"CPM figures {'was' if unreported == 1 else 'were'} not reported{inferred_text} (see Data quality)."
            )
        cpm_below = [
            Finding(
                "below:cpm:none",
                "Measures below target",
                text,
                figures={"cpm_figures": len(cpms), "not_reported": unreported},
            )
        ]
    revised = revisions(con, month)
    context_items, incident_table, alert_table, context_ids = context_findings(con, month)
    sections = [("Headline", _headline(now, month))]
    if cpm_below:
        sections.append(("Measures below target", cpm_below))
    if sp_below:
        sections.append(("Service Provider measures below target", sp_below))
    said = [
        Finding(
            f"minutes:{d.statement.measure}:{d.statement.provider}:{d.statement.quantity}",
            "Data quality",
            d.text,
            d.statement.measure,
            d.statement.provider,
            figures={"stated in the minutes": d.statement.stated, "in the record": d.recorded},
            sources=d.sources,
        )
        for d in minutes.differences_in(con, month)
    ]
    sections += [
        ("Changes since the previous month", _changes(now, before, month)),
        ("Data quality", _quality(now, revised) + said),
        ("Context", context_items),
    ]
    # Provenance, by source id: the month's current figures, the first issue of each revised one (Data
    # quality names both), the earlier figures compared under Changes, and the context rows used. Charts
    # added to a document add their own (render/documents/build.py).
    # The runs (in the table, for every series) and the windows and SPC readings (of the misses) reach back.
    used = (
        source_ids_of(now, before)
        | source_ids_of(revised["first_source_id"].dropna(), revised["current_source_id"].dropna())
        | context_ids
        | history_source_ids(con, now.assign(window=1, previous_miss_month=None))
        | history_source_ids(con, misses, spc_months=spc.DEFAULT_MONTHS)
    )
    charts = [(measure, list(group["provider"])) for measure, group in misses.groupby("measure", sort=False)]
    return Summary(
        month=month,
        window=window,
        sections=sections,
        table=_status_table(now),
        incident_table=incident_table,
        alert_table=alert_table,
        provenance=provenance(con, used),
        charts=charts,
    )
