"""The secretariat's monthly PMR summary, as findings: built once from the figures, their status, runs,
windows, SPC readings, revisions and the month's context, then laid out by render/documents.

Every statement is a Finding (the sentence, and the figures and sources behind it), so every sentence in
every format has a finding behind it, and the same data always gives the same text. The headline paragraph
is queries/headline.py's, Data quality queries/quality.py's, the sentences queries/sentences.py's, in OPSG's
words: "CPM1 in CSP N was below its Target Service Level (99%) at 97.03%, below target for the 16th month
in succession (since January 2019). It was held below target by PM2, ..."
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import events, headline, kept, minutes, quality, sentences
from opsg_metrics.queries import spc as spc_readings
from opsg_metrics.queries.context import context_findings, source_ids_of
from opsg_metrics.queries.findings import HEADLINE, Finding, Summary
from opsg_metrics.queries.provenance import history_source_ids, provenance
from opsg_metrics.queries.sentences import (
    figures_of,
    inferred_mark,
    miss_sentences,
    sources_of,
    spc_clause,
    spc_figures,
    who,
)
from opsg_metrics.rules import spc
from opsg_metrics.rules.events import TOLERANCE
from opsg_metrics.rules.status import DEFAULT_WINDOW, check_window, last_reported_before, latest_month, status_table
from opsg_metrics.store.errors import OpsgError

CPM_SECTION = "Code Performance Measures below target"
SP_SECTION = "Service Provider measures below target"
MOVEMENTS_SHOWN = 5


def _changes(merged: pd.DataFrame, before: pd.DataFrame, month: date) -> list[Finding]:
    """Status changes and movements against each series' last reported month before this one."""
    section = "Changes since the previous month"
    if before.empty:
        return [
            Finding("changes:none", section, f"There are no figures before {words.month_label(month)} to compare with.")
        ]
    previous = words.previous_month(month)

    def when(row) -> str:
        earlier = pd.Timestamp(row["month_before"]).date()
        return (
            "the month before" if earlier == previous else f"in {words.month_label(earlier)} (the last month reported)"
        )

    findings = []
    for _, r in headline.returned(merged).iterrows():
        findings.append(
            Finding(
                f"changes:back:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} returned to target at {sentences.value_of(r)}{inferred_mark(r)}, after "
                f"{words.months(int(r['run_below_target_before']))} below.",
                r["measure"],
                r["provider"],
                r["status"],
                figures_of(r),
                sources_of(r),
            )
        )
    for _, r in headline.fell(merged).iterrows():
        findings.append(
            Finding(
                f"changes:new:{r['measure']}:{r['provider']}",
                section,
                f"{who(r)} {'fell below' if r['direction'] == 'higher' else 'missed'} "
                f"{'its minimum' if r['status'] == 'below_minimum' else 'target'} at "
                f"{sentences.value_of(r)}{inferred_mark(r)}, from {words.value_text(r['value_before'], r['unit'])} (met) {when(r)}.",
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

        def moved_text(r) -> str:
            before, after = words.value_text(r["value_before"], r["unit"]), words.value_text(r["value"], r["unit"])
            marks = [
                f"{shown} {mark}"
                for shown, note in ((before, r.get("note_before")), (after, r.get("note")))
                for mark in sentences.value_marks(pd.Series({"note": note}))
            ]
            marks += ["inferred"] if r.get("inferred", False) else []
            return (
                f"{who(r)}, {r['movement']:+.2f} percentage points ({before} to {after}"
                + (f"; {'; '.join(marks)}" if marks else "")
                + ")"
            )

        parts = [moved_text(r) for _, r in moved.iterrows()]
        findings.append(
            Finding(
                "changes:movements",
                section,
                "Largest movements on the month before: " + "; ".join(parts) + ".",
                figures={
                    f"{r['measure']} {r['provider']}": round(float(r["movement"]), 4) for _, r in moved.iterrows()
                },
            )
        )
    if not findings:
        findings.append(Finding("changes:none", section, "No measure changed status since the previous month."))
    return findings


def _status_table(now: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Measure": now["measure"],
            "Provider": now["provider"],
            # A value that repeats a figure of the minutes says where, in the table as in the sentences.
            "Value": [
                "" if pd.isna(v) else words.value_text(v, u) + words.reported_mark(n)
                for v, u, n in zip(now["value"], now["unit"], now["note"])
            ],
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
    misses = now[now["status"].isin(headline.MISSES)]
    readings = (
        spc_readings.readings_for_month(con, month).set_index(["measure", "provider"]) if not misses.empty else None
    )
    feeders = headline.feeders_of(con, now)
    below = [
        Finding(
            f"below:{r['measure']}:{r['provider']}",
            CPM_SECTION if r["measure"].startswith("CPM") else SP_SECTION,
            miss_sentences(r, feeders.get((r["measure"], r["provider"]), [])) + spc_clause(readings, r),
            r["measure"],
            r["provider"],
            r["status"],
            figures_of(r) | spc_figures(readings, r),
            sources_of(r),
        )
        for _, r in misses.iterrows()
    ]
    cpm_below = [f for f in below if f.section == CPM_SECTION]
    sp_below = [f for f in below if f.section == SP_SECTION]
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
                CPM_SECTION,
                text,
                figures={"cpm_figures": len(cpms), "not_reported": unreported},
            )
        ]
    revised = quality.revisions(con, month)
    units = {(m, p): u for m, p, u in con.execute("SELECT measure, provider, unit FROM measures").fetchall()}
    groups = quality.reissues(revised, units)
    context_items, incident_table, alert_table, context_ids = context_findings(con, month)
    differences = minutes.differences_in(con, month)
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
        for d in differences
    ]
    stated = kept.said(con, month=month)  # statements kept from the minutes that the record does not bear out
    said += [
        Finding(
            f"kept:{k.statement_id}",
            "Data quality",
            k.text,
            k.measure,
            k.provider,
            sources=k.sources,
        )
        for k in stated
    ]
    recomputed, recomputed_ids = events.flagged(con, month)  # request records that do not give the PMR figure
    said += [
        Finding(
            f"events:{r['measure']}:{r['provider']}",
            "Data quality",
            words.recomputed_differs(
                r["measure"], r["provider"], r["value"], r["pmr_value"], r["difference"], TOLERANCE
            ),
            r["measure"],
            r["provider"],
            figures={
                "recomputed": round(r["value"], 3),
                "PMR": r["pmr_value"],
                "difference": round(r["difference"], 3),
            },
        )
        for r in recomputed
    ]
    merged = headline.compared(now, before)
    sections = [(HEADLINE, headline.headline(now, merged, month, feeders, groups, differences))]
    if cpm_below:
        sections.append((CPM_SECTION, cpm_below))
    if sp_below:
        sections.append((SP_SECTION, sp_below))
    sections += [
        ("Changes since the previous month", _changes(merged, before, month)),
        ("Data quality", quality.quality_findings(now, groups) + said),
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
        | {k.source_id for k in stated}
        | recomputed_ids
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
