"""The secretariat's monthly PMR summary: findings as data first, then Markdown, HTML and Word.

`build_summary` gathers every statement the summary makes as a Finding: the
sentence, and the figures and sources behind it. The renderers only lay
findings out (plus the tables and the footer), so every sentence in every
format has a finding behind it, and the same data always gives the same text.
The sentences follow how OPSG minutes put things: "CPM1 was below its Target
Service Level (99%) at 96.40%. It has been below target for 16 consecutive
months, since January 2019, and in 16 of the last 17 months."
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics.queries import context
from opsg_metrics.store import parse
from opsg_metrics.rules import spc
from opsg_metrics.store.classification import LABELS, most_restrictive
from opsg_metrics.store.text import printable
from opsg_metrics.store.connect import OpsgError
from opsg_metrics.rules.status import DEFAULT_WINDOW, STATUS_LABELS, check_window, last_reported_before, latest_month, status_table

MOVEMENTS_SHOWN = 5


@dataclass
class Finding:
    """One statement of the summary and what it rests on."""

    key: str                          # stable id, e.g. 'below:CPM1:DCC' (commentary is keyed on it)
    section: str
    text: str
    measure: str | None = None
    provider: str | None = None
    status: str | None = None
    figures: dict = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


@dataclass
class Summary:
    month: date
    window: int
    sections: list[tuple[str, list[Finding]]]
    table: pd.DataFrame
    incident_table: pd.DataFrame
    alert_table: pd.DataFrame
    classification: str
    sample: bool
    sources: list[tuple[str, date | None]]
    charts: list[tuple[str, list[str]]]          # (measure, providers below target) to draw
    source_ids: tuple[int, ...] = ()             # exactly the sources of the rows the summary states

    @property
    def title(self) -> str:
        return f"PMR summary: {parse.month_label(self.month)}"

    @property
    def findings(self) -> list[Finding]:
        return [f for _, found in self.sections for f in found]

    def footer_lines(self) -> list[str]:
        lines = [f"PMR month: {parse.month_label(self.month)}. Rolling window: {self.window} months."]
        if self.sources:
            lines.append("Sources: " + "; ".join(
                f"{label} (issued {issued:%d %B %Y})" if issued else label for label, issued in self.sources) + ".")
        lines.append(f"Classification: {LABELS[self.classification]}.")
        if self.sample:
            lines.append("Illustrative sample data: the figures are not DCC's, except those noted as reported figures.")
        return lines


# ---------------------------------------------------------------- wording


def _pct(value: float, unit: str = "percent") -> str:
    if unit == "percent":
        return f"{value:.2f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _level(value: float, unit: str) -> str:
    """Service levels as OPSG writes them: 99%, 99.5%."""
    if unit == "percent":
        return f"{value:g}%"
    return f"{value:g}"


def _months(n: int) -> str:
    return f"{n} month{'s' if n != 1 else ''}"


def _who(row) -> str:
    """'CPM1' for the overall figure, 'PM2 in CSP N' for a provider's."""
    return row["measure"] if row["provider"] == "DCC" else f"{row['measure']} in {row['provider']}"


def _month(value) -> str:
    return parse.month_label(pd.Timestamp(value).date())


def miss_sentences(row) -> str:
    """The sentences for a figure below target: level, value, inferred or not, run, window, minimum, reliability.

    An inferred figure is never worded as reported: the sentence after the first says it is inferred and
    how, and the run and window that follow count reported months only (this month is not one of them)."""
    unit = row["unit"]
    inferred = bool(row.get("inferred", False))
    below_minimum = row["status"] == "below_minimum"
    # "Below" is OPSG's word for a miss; for a lower-is-better measure the figure is above the level.
    missed = "was below its" if row["direction"] == "higher" else "did not meet its"
    lower = "" if row["direction"] == "higher" else ", lower is better"
    if below_minimum:
        text = (f"{_who(row)} {missed} Minimum Service Level ({_level(row['minimum'], unit)}{lower}) "
                f"at {_pct(row['value'], unit)}, against a Target Service Level of {_level(row['target'], unit)}.")
    else:
        text = (f"{_who(row)} {missed} Target Service Level ({_level(row['target'], unit)}{lower}) "
                f"at {_pct(row['value'], unit)}.")
    if inferred:
        text += " The figure is inferred, not reported" + (f": {row['note']}." if row["note"] else ".")
    run, gaps = int(row["run_below_target"]), int(row["run_gap_months"])
    window, window_months, misses = int(row["window"]), int(row["window_months"]), int(row["misses_in_window"])
    if window_months == window:
        in_window = f"in {misses} of the last {window} months"
    else:
        in_window = f"in {misses} of the {window_months} months reported in the last {window}"
    if inferred and run == 0:
        if pd.notna(row["previous_miss_month"]):
            text += f" The last reported month below target was {_month(row['previous_miss_month'])}"
        else:
            text += " No reported month in the figures loaded was below target"
        text += f"; it has been below target {in_window}." if misses else "."
    elif inferred and run == 1:
        # The run's one miss is the last reported month: a met month would have ended the run.
        text += f" The last reported month, {_month(row['run_start'])}, was below target too"
        text += f"; it has been below target {in_window}." if misses else "."
    elif run == 1:
        if pd.notna(row["previous_miss_month"]):
            text += f" This is the first month below target since {_month(row['previous_miss_month'])}"
        else:
            text += " This is the first month below target in the figures loaded"
        text += f"; it has been below target {in_window}." if misses > 1 else "."
    else:
        reported = "consecutive reported months" if gaps else "consecutive months"
        text += f" It has been below target for {run} {reported}, since {_month(row['run_start'])}"
        if gaps:
            text += f" ({_months(gaps)} in that time {'were' if gaps != 1 else 'was'} not reported)"
        text += f", and {in_window}."
    below_min_run = int(row["run_below_minimum"])
    if below_minimum and inferred and below_min_run:
        text += (" The last reported month was below its minimum too." if below_min_run == 1 else
                 f" The last {below_min_run} reported months were below its minimum too.")
    elif below_minimum and below_min_run > 1:
        text += f" It has been below its minimum for {below_min_run} consecutive months."
    if row["unreliable"]:
        text += " The figure is flagged as unreliable" + (f": {row['note']}." if row["note"] else ".")
    return text


def spc_sentence(readings: pd.DataFrame | None, row, month: date) -> str:
    """' SPC, 36 months to April 2020: the process is stable but cannot consistently meet its target: ...'"""
    key = (row["measure"], row["provider"])
    if readings is None or key not in readings.index:
        return ""
    sentence = readings.loc[key, "sentence"]
    return f" SPC, {spc.DEFAULT_MONTHS} months to {parse.month_label(month)}: {sentence[0].lower()}{sentence[1:]}"


def spc_figures(readings: pd.DataFrame | None, row) -> dict:
    key = (row["measure"], row["provider"])
    if readings is None or key not in readings.index:
        return {}
    found = readings.loc[key]
    return {f"spc_{name}": found[name] for name in ("variation", "assurance_target", "assurance_minimum")
            if isinstance(found[name], str)}


def _figures(row) -> dict:
    keep = ("value", "target", "minimum", "status", "numerator", "denominator", "run_below_target", "run_start",
            "run_gap_months", "run_below_minimum", "misses_in_window", "window_months", "figure_status", "note")
    out = {}
    for name in keep:
        value = row.get(name)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if isinstance(value, pd.Timestamp):
            value = parse.month_key(value.date())
        elif hasattr(value, "item"):
            value = value.item()
        out[name] = value
    return out


def _source(row) -> list[str]:
    if row.get("source") is None or pd.isna(row.get("source")):
        return []
    issued = row.get("source_issued_on")
    return [f"{row['source']}" + (f" (issued {pd.Timestamp(issued):%d %B %Y})" if pd.notna(issued) else "")]


# ---------------------------------------------------------------- building


def _headline(now: pd.DataFrame, month: date) -> list[Finding]:
    findings = []
    groups = [("Code Performance Measures", now[now["measure"].str.startswith("CPM")]),
              ("Service Provider measures", now[~now["measure"].str.startswith("CPM")])]
    for label, part in groups:
        if part.empty:
            continue
        counts = part["status"].value_counts()
        met, below_t, below_m, no_data = (int(counts.get(s, 0)) for s in ("met", "below_target", "below_minimum", "no_data"))
        text = (f"{label}, {parse.month_label(month)}: {met} of {len(part)} figures met target, "
                f"{below_t} {'was' if below_t == 1 else 'were'} below target and {below_m} below minimum")
        text += f"; {no_data} not reported." if no_data else "."
        inferred = int(part["inferred"].sum())
        if inferred:
            text += (f" {inferred} of these figures {'is' if inferred == 1 else 'are'} inferred, "
                     "not reported (see Data quality).")
        findings.append(Finding(f"headline:{label}", "Headline", text,
                                figures={"met": met, "below_target": below_t, "below_minimum": below_m,
                                         "not_reported": no_data, "inferred": inferred, "figures": len(part)}))
    order = {p: i for i, p in enumerate(now.sort_values("provider_order")["provider"].drop_duplicates())}
    for provider, part in sorted(now.groupby("provider", sort=False), key=lambda item: order[item[0]]):
        counts = part["status"].value_counts()
        misses = part[part["status"].isin(["below_target", "below_minimum"])]
        text = f"{provider}: {int(counts.get('met', 0))} met"
        if not misses.empty:
            text += ", below target: " + ", ".join(
                f"{m}{' (below minimum)' if s == 'below_minimum' else ''}" for m, s in zip(misses["measure"], misses["status"]))
        if counts.get("no_data", 0):
            text += f", not reported: {int(counts['no_data'])}"
        if part["inferred"].any():
            text += ", inferred (not reported): " + ", ".join(part.loc[part["inferred"].astype(bool), "measure"])
        findings.append(Finding(f"headline:{provider}", "Headline", text + ".", provider=provider,
                                figures={s: int(counts.get(s, 0)) for s in STATUS_LABELS}))
    return findings


def _changes(now: pd.DataFrame, before: pd.DataFrame, month: date) -> list[Finding]:
    """Status changes and movements against each series' last reported month before this one."""
    section = "Changes since the previous month"
    if before.empty:
        return [Finding("changes:none", section,
                        f"There are no figures before {parse.month_label(month)} to compare with.")]
    merged = now.merge(before[["measure", "provider", "month", "value", "status", "run_below_target"]],
                       on=["measure", "provider"], suffixes=("", "_before"))
    previous = context.previous_month(month)

    def when(row) -> str:
        earlier = pd.Timestamp(row["month_before"]).date()
        return "the month before" if earlier == previous else f"in {parse.month_label(earlier)} (the last month reported)"

    misses = ("below_target", "below_minimum")
    findings = []
    back = merged[(merged["status"] == "met") & merged["status_before"].isin(misses)]
    for _, r in back.iterrows():
        findings.append(Finding(
            f"changes:back:{r['measure']}:{r['provider']}", section,
            f"{_who(r)} returned to target at {_pct(r['value'], r['unit'])}{_inferred_mark(r)}, after "
            f"{_months(int(r['run_below_target_before']))} below.",
            r["measure"], r["provider"], r["status"], _figures(r), _source(r)))
    new = merged[merged["status"].isin(misses) & (merged["status_before"] == "met")]
    for _, r in new.iterrows():
        findings.append(Finding(
            f"changes:new:{r['measure']}:{r['provider']}", section,
            f"{_who(r)} fell below {'its minimum' if r['status'] == 'below_minimum' else 'target'} at "
            f"{_pct(r['value'], r['unit'])}{_inferred_mark(r)}, from {_pct(r['value_before'], r['unit'])} (met) {when(r)}.",
            r["measure"], r["provider"], r["status"], _figures(r), _source(r)))
    # Movements in percentage points, for percentage measures only (counts are not comparable with them).
    moved = merged[(merged["unit"] == "percent") & (merged["month_before"].dt.date == previous)]
    moved = moved.dropna(subset=["value", "value_before"]).assign(movement=lambda f: f["value"] - f["value_before"])
    moved = moved.reindex(moved["movement"].abs().sort_values(ascending=False).index).head(MOVEMENTS_SHOWN)
    moved = moved[moved["movement"].abs() >= 0.01]
    if not moved.empty:
        parts = [f"{_who(r)} {r['movement']:+.2f} points ({_pct(r['value_before'], r['unit'])} to "
                 f"{_pct(r['value'], r['unit'])}{', inferred' if r.get('inferred', False) else ''})"
                 for _, r in moved.iterrows()]
        findings.append(Finding("changes:movements", section, "Largest movements: " + "; ".join(parts) + ".",
                                figures={f"{r['measure']} {r['provider']}": round(float(r["movement"]), 4)
                                         for _, r in moved.iterrows()}))
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


def _value_text(value, status) -> str:
    if value is None or pd.isna(value):
        return "null"
    return f"{value:.2f}" + (f" ({status})" if status in ("unreliable", "inferred") else "")


def _inferred_mark(row) -> str:
    """Beside a value: says when it is inferred, not reported."""
    return " (inferred, not reported)" if row.get("inferred", False) else ""


def _issued(label, issued) -> str:
    return f"{label}, issued {pd.Timestamp(issued):%d %B %Y}" if pd.notna(issued) else label


def _quality(now: pd.DataFrame, revised: pd.DataFrame) -> list[Finding]:
    section = "Data quality"
    findings = []
    for _, r in now[now["figure_status"] == "null"].iterrows():
        findings.append(Finding(f"quality:null:{r['measure']}:{r['provider']}", section,
                                f"{_who(r)} was not reported" + (f": {r['note']}." if r["note"] else "."),
                                r["measure"], r["provider"], r["status"], _figures(r), _source(r)))
    for _, r in now[now["figure_status"] == "absent"].iterrows():
        findings.append(Finding(f"quality:absent:{r['measure']}:{r['provider']}", section,
                                f"{_who(r)} has no figure loaded for the month.",
                                r["measure"], r["provider"], r["status"], _figures(r), []))
    for _, r in now[now["unreliable"]].iterrows():
        findings.append(Finding(f"quality:unreliable:{r['measure']}:{r['provider']}", section,
                                f"{_who(r)} at {_pct(r['value'], r['unit'])} is flagged as unreliable"
                                + (f": {r['note']}." if r["note"] else "."),
                                r["measure"], r["provider"], r["status"], _figures(r), _source(r)))
    for _, r in now[now["inferred"].astype(bool)].iterrows():
        findings.append(Finding(f"quality:inferred:{r['measure']}:{r['provider']}", section,
                                f"{_who(r)} at {_pct(r['value'], r['unit'])} is inferred, not reported"
                                + (f": {r['note']}." if r["note"] else "."),
                                r["measure"], r["provider"], r["status"], _figures(r), _source(r)))
    for _, r in revised.iterrows():
        findings.append(Finding(
            f"quality:revised:{r['measure']}:{r['provider']}", section,
            f"{_who(r)} was revised from {_value_text(r['first_value'], r['first_status'])} "
            f"({_issued(r['first_source'], r['first_issued'])}) to {_value_text(r['current_value'], r['current_status'])} "
            f"({_issued(r['current_source'], r['current_issued'])}).",
            r["measure"], r["provider"], None,
            {"first_value": None if pd.isna(r["first_value"]) else float(r["first_value"]),
             "current_value": None if pd.isna(r["current_value"]) else float(r["current_value"]),
             "revisions": int(r["revisions"])},
            [_issued(r["first_source"], r["first_issued"]), _issued(r["current_source"], r["current_issued"])]))
    if not findings:
        findings.append(Finding("quality:clean", section,
                                "Every figure for the month was reported, none is flagged unreliable and none was revised."))
    return findings


def _ops_value(ops: pd.DataFrame, metric: str, provider: str):
    match = ops[(ops["metric"] == metric) & (ops["provider"] == provider)]
    return None if match.empty else match.iloc[0]


def _ids(*values) -> set[int]:
    """Source ids from ids, rows (their source_id and previous_source_id) and frames of rows."""
    out: set[int] = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, pd.DataFrame):
            for column in ("source_id", "previous_source_id"):
                if column in value:
                    out |= {int(i) for i in value[column].dropna()}
        elif isinstance(value, pd.Series):
            out |= {int(value[c]) for c in ("source_id", "previous_source_id") if c in value and pd.notna(value[c])}
        else:
            out |= {int(i) for i in value}
    return out


def _context(con, month: date) -> tuple[list[Finding], pd.DataFrame, pd.DataFrame, set[int]]:
    """The month's context findings and tables, and the ids of the sources of exactly the rows they use
    (the previous month's too, where a change on it is stated)."""
    section = "Context"
    findings = []
    used: set[int] = set()
    majors = context.incidents_opened(con, month, major_only=True)
    used |= _ids(majors)
    if majors.empty:
        findings.append(Finding("context:majors", section, "No major incidents (Category 1–2) were opened in the month."))
    else:
        by_category = majors["category"].value_counts().sort_index()
        counts = " and ".join(f"{n} Category {c}" for c, n in by_category.items())
        listing = "; ".join(f"{r.incident_id} ({r.provider}, Category {r.category}): {r.title}" for r in majors.itertuples())
        findings.append(Finding("context:majors", section,
                                f"{len(majors)} major incident{'s were' if len(majors) != 1 else ' was'} opened "
                                f"({counts}): {listing}.",
                                figures={"major_incidents": len(majors),
                                         **{f"category_{c}": int(n) for c, n in by_category.items()}},
                                sources=sorted(set(majors["source"]))))
    incident_table = context.incident_counts(con, month)
    if not incident_table.empty:
        used |= _ids(context.incident_source_ids(con, month))
        total = int(incident_table.loc["All", "Total"])
        findings.append(Finding("context:incidents", section,
                                f"{total} incident{'s were' if total != 1 else ' was'} opened in the month "
                                "(by provider and category in the table below).",
                                figures={"incidents_opened": total}))
    ops = context.ops_figures(con, month)
    rdp = [(_ops_value(ops, f"RDP incidents {what}", "RDP"), what) for what in ("opened", "resolved", "still open")]
    used |= _ids(*(r for r, _ in rdp))
    if any(r is not None for r, _ in rdp):
        parts = [f"{int(r['value'])} {what}{' in month' if what == 'resolved' else ''}" for r, what in rdp if r is not None]
        findings.append(Finding("context:rdp", section, "RDP incidents: " + ", ".join(parts) + ".",
                                provider="RDP", figures={what: float(r["value"]) for r, what in rdp if r is not None},
                                sources=sorted({r["source"] for r, _ in rdp if r is not None})))
    changes, success = _ops_value(ops, "changes implemented", "DCC"), _ops_value(ops, "change success rate", "DCC")
    used |= {int(r["source_id"]) for r in (changes, success) if r is not None}
    if changes is not None:
        text = f"{int(changes['value'])} changes were implemented"
        text += f", {success['value']:.1f}% successfully." if success is not None else "."
        findings.append(Finding("context:changes", section, text,
                                figures={"changes": float(changes["value"]),
                                         **({"success_rate": float(success["value"])} if success is not None else {})},
                                sources=[changes["source"]]))
    problems = _ops_value(ops, "open problem tickets", "DCC")
    if problems is not None:
        used.add(int(problems["source_id"]))
        findings.append(Finding("context:problems", section, f"{int(problems['value'])} problem tickets were open"
                                + (f" ({problems['note']})." if problems["note"] else "."),
                                figures={"open_problems": float(problems["value"])}, sources=[problems["source"]]))
    installs = ops[ops["metric"] == "installations"]
    used |= _ids(installs)
    if not installs.empty:
        parts = []
        for r in installs.itertuples():
            change = f" ({r.change_pct:+.1f}% on the previous month)" if r.change_pct is not None and pd.notna(r.change_pct) else ""
            parts.append(f"{r.provider} {r.value:,.0f}{change}")
        findings.append(Finding("context:installations", section, "Installations: " + "; ".join(parts) + ".",
                                figures={r.provider: float(r.value) for r in installs.itertuples()},
                                sources=sorted(set(installs["source"]))))
    alerts = context.alert_volumes(con, month)
    used |= _ids(alerts)
    alert_table = pd.DataFrame()
    if not alerts.empty:
        by_code = alerts.groupby("alert_code", sort=True).agg(volume=("volume", "sum"), previous=("previous", "sum"))
        by_code["change_pct"] = [context.percent_change(v, p) for v, p in zip(by_code["volume"], by_code["previous"])]
        top = by_code.sort_values("volume", ascending=False).head(3)
        parts = [f"{code} {int(r.volume):,}" + (f" ({r.change_pct:+.0f}%)" if r.change_pct is not None and pd.notna(r.change_pct) else "")
                 for code, r in top.iterrows()]
        findings.append(Finding("context:alerts", section,
                                f"{int(by_code['volume'].sum()):,} alerts in the month; the most frequent: "
                                + ", ".join(parts) + " (change on the previous month).",
                                figures={code: int(r.volume) for code, r in by_code.iterrows()},
                                sources=sorted(set(alerts["source"]))))
        alert_table = alerts.pivot_table(index="alert_code", columns="provider", values="volume", aggfunc="sum",
                                         sort=False).fillna(0).astype(int)
        alert_table["Total"] = alert_table.sum(axis=1)
        alert_table["Change on previous month"] = [
            "" if c is None or pd.isna(c) else f"{c:+.1f}%" for c in by_code.reindex(alert_table.index)["change_pct"]]
        alert_table.index.name = "Alert code"
    if not findings:
        findings.append(Finding("context:none", section, "No incidents, alerts or operational figures are loaded for the month."))
    return findings, incident_table, alert_table, used


def _status_table(now: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Measure": now["measure"],
        "Provider": now["provider"],
        "Value": [("" if pd.isna(v) else _pct(v, u)) for v, u in zip(now["value"], now["unit"])],
        "Target": [_level(t, u) if pd.notna(t) else "" for t, u in zip(now["target"], now["unit"])],
        "Minimum": [_level(m, u) if pd.notna(m) else "" for m, u in zip(now["minimum"], now["unit"])],
        "Status": [STATUS_LABELS[s] + (" (unreliable)" if u else "") + (" (inferred)" if i else "")
                   for s, u, i in zip(now["status"], now["unreliable"], now["inferred"])],
        "Run": [str(int(r)) if r else "" for r in now["run_below_target"]],
    }).reset_index(drop=True)


def build_summary(con: duckdb.DuckDBPyConnection, month: date, *, window: int = DEFAULT_WINDOW) -> Summary:
    """Everything the summary for a PMR month says, as findings and tables."""
    check_window(window)
    latest = latest_month(con)
    if latest is None:
        raise OpsgError("no figures are loaded at all: load a PMR first")
    until = max(month, latest)
    providers = {p: i for i, (p,) in enumerate(con.execute("SELECT provider FROM providers ORDER BY sort_order").fetchall())}
    now = status_table(con, window=window, until=until, month=month)
    now = now.assign(provider_order=now["provider"].map(providers)).sort_values("sort_order").reset_index(drop=True)
    # Each series' last reported month before this one (a null month in between hides nothing;
    # an inferred month is not a reported one).
    before = last_reported_before(con, month, window=window, until=until)
    if now.empty or (now["figure_status"] == "absent").all():
        raise OpsgError(f"no figures are loaded for {parse.month_label(month)} (latest month loaded: "
                        f"{parse.month_label(latest)})")
    misses = now[now["status"].isin(["below_target", "below_minimum"])]
    readings = spc.readings_for_month(con, month).set_index(["measure", "provider"]) if not misses.empty else None
    below = [Finding(f"below:{r['measure']}:{r['provider']}",
                     "Measures below target" if r["measure"].startswith("CPM") else "Service Provider measures below target",
                     miss_sentences(r) + spc_sentence(readings, r, month), r["measure"], r["provider"], r["status"],
                     _figures(r) | spc_figures(readings, r), _source(r))
             for _, r in misses.iterrows()]
    cpm_below = [f for f in below if f.section == "Measures below target"]
    sp_below = [f for f in below if f.section != "Measures below target"]
    cpms = now[now["measure"].str.startswith("CPM")]
    if not cpm_below and not cpms.empty:
        unreported = int((cpms["status"] == "no_data").sum())
        # A null is never a pass: only say "every CPM met" when every CPM figure is there and met.
        # Nor is an inferred figure a reported one: say how many there are.
        inferred = int(cpms["inferred"].sum())
        inferred_text = (f"; {inferred} of the CPM figures {'is' if inferred == 1 else 'are'} inferred, not reported"
                         if inferred else "")
        if unreported == 0:
            text = ("Every Code Performance Measure met its target"
                    + (f"{inferred_text} (see Data quality)." if inferred else "."))
        else:
            text = (f"No Code Performance Measure reported was below target; {unreported} of {len(cpms)} "
                    f"CPM figures {'was' if unreported == 1 else 'were'} not reported{inferred_text} (see Data quality).")
        cpm_below = [Finding("below:cpm:none", "Measures below target", text,
                             figures={"cpm_figures": len(cpms), "not_reported": unreported})]
    revised = revisions(con, month)
    context_findings, incident_table, alert_table, context_ids = _context(con, month)
    sections = [("Headline", _headline(now, month))]
    if cpm_below:
        sections.append(("Measures below target", cpm_below))
    if sp_below:
        sections.append(("Service Provider measures below target", sp_below))
    sections += [
        ("Changes since the previous month", _changes(now, before, month)),
        ("Data quality", _quality(now, revised)),
        ("Context", context_findings),
    ]
    # Provenance, by source id: the month's current figures, the first issue of each revised one (Data
    # quality names both), the earlier figures compared under Changes, and the context rows used. Charts
    # added to a document add their own (export.summary_document).
    used = (_ids(now, before) | _ids(revised["first_source_id"].dropna(), revised["current_source_id"].dropna())
            | context_ids)
    source_rows = con.execute(
        """SELECT s.label, s.issued_on, s.classification, s.is_sample, s.source_id
           FROM sources AS s WHERE s.source_id IN (SELECT unnest(?::INTEGER[]))
           ORDER BY s.issued_on NULLS LAST, s.source_id""",
        [sorted(used)],
    ).fetchall()
    charts = [(measure, list(group["provider"])) for measure, group in misses.groupby("measure", sort=False)]
    return Summary(
        month=month, window=window, sections=sections, table=_status_table(now),
        incident_table=incident_table, alert_table=alert_table,
        classification=most_restrictive(r[2] for r in source_rows), sample=any(r[3] for r in source_rows),
        sources=list(dict.fromkeys((r[0], r[1]) for r in source_rows)), charts=charts,
        source_ids=tuple(sorted(used)),
    )


# ---------------------------------------------------------------- rendering


def _commentary(commentary: dict | None, key: str) -> str:
    return printable(((commentary or {}).get(key) or "")).strip()


_MD_SPECIALS = "\\`*_[]<>|#"


def md_inline(text: str) -> str:
    """Data or commentary as one line of Markdown text: no line breaks, no markup."""
    flat = " ".join(str(text).split())
    return "".join("\\" + c if c in _MD_SPECIALS else c for c in flat)


def _md_table(frame: pd.DataFrame, index_name: str | None = None) -> list[str]:
    frame = frame.reset_index() if index_name else frame
    columns = [str(c) for c in frame.columns]
    cell = md_inline
    lines = ["| " + " | ".join(md_inline(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def to_markdown(summary: Summary, commentary: dict | None = None) -> str:
    lines = [f"# {summary.title}", ""]
    if summary.sample:
        lines += ["> Illustrative sample data.", ""]
    for heading, findings in summary.sections:
        lines += [f"## {heading}", ""]
        for f in findings:
            lines.append(f"- {md_inline(f.text)}")
            note = _commentary(commentary, f.key)
            if note:
                lines.append(f"  - *Secretariat commentary:* {md_inline(note)}")
        lines.append("")
        if heading == "Context":
            if not summary.incident_table.empty:
                lines += ["### Incidents opened, by provider and category", ""] + _md_table(summary.incident_table, "Provider") + [""]
            if not summary.alert_table.empty:
                lines += ["### Alert volumes by code and region", ""] + _md_table(summary.alert_table, "Alert code") + [""]
    lines += ["## Every measure and provider", ""] + _md_table(summary.table) + [""]
    lines += ["---", ""] + [f"{md_inline(line)}  " for line in summary.footer_lines()]
    return printable("\n".join(lines).rstrip() + "\n")


HTML_STYLE = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 58rem; margin: 2rem auto; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 1.6rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; } th { background: #eef2f6; }
.commentary { color: #0b4f82; } .banner { background: #fff3cd; padding: 0.5rem 0.8rem; }
footer { margin-top: 2rem; font-size: 0.85rem; color: #333; border-top: 1px solid #ccc; padding-top: 0.6rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
"""


def _html_table(frame: pd.DataFrame, index_name: str | None = None) -> str:
    frame = frame.reset_index() if index_name else frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(summary: Summary, commentary: dict | None = None, charts_svg: list[tuple[str, str]] | None = None) -> str:
    """A standalone HTML page: every text escaped; charts (if given) as inline SVG."""
    esc = html.escape
    # Well-formed as XML too (void elements closed), so it survives strict tools and checks.
    parts = ["<!DOCTYPE html>", '<html xmlns="http://www.w3.org/1999/xhtml" lang="en-GB"><head><meta charset="utf-8"/>',
             f"<title>{esc(summary.title)}</title><style>{HTML_STYLE}</style></head><body>",
             f"<h1>{esc(summary.title)}</h1>"]
    if summary.sample:
        parts.append('<p class="banner">Illustrative sample data.</p>')
    for heading, findings in summary.sections:
        parts.append(f"<h2>{esc(heading)}</h2><ul>")
        for f in findings:
            note = _commentary(commentary, f.key)
            parts.append(f"<li>{esc(f.text)}" + (f'<br/><span class="commentary"><em>Secretariat commentary:</em> '
                                                   f"{esc(note)}</span>" if note else "") + "</li>")
        parts.append("</ul>")
        if heading == "Context":
            if not summary.incident_table.empty:
                parts.append("<h3>Incidents opened, by provider and category</h3>" + _html_table(summary.incident_table, "Provider"))
            if not summary.alert_table.empty:
                parts.append("<h3>Alert volumes by code and region</h3>" + _html_table(summary.alert_table, "Alert code"))
    for caption, svg in charts_svg or []:
        parts.append(f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("<h2>Every measure and provider</h2>" + _html_table(summary.table))
    parts.append("<footer>" + "<br/>".join(esc(line) for line in summary.footer_lines()) + "</footer></body></html>")
    return printable("\n".join(parts) + "\n")


def to_docx(summary: Summary, commentary: dict | None = None, charts_png: list[tuple[str, bytes]] | None = None) -> bytes:
    """A Word document: real headings, a styled table, the charts of the measures below target."""
    from docx import Document
    from docx.shared import Cm, Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(10.5)
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2)
    header = section.header.paragraphs[0]
    header.text = f"{LABELS[summary.classification]}"
    document.add_heading(summary.title, level=0)
    if summary.sample:
        document.add_paragraph("Illustrative sample data.").runs[0].italic = True

    def add_table(frame: pd.DataFrame, index_name: str | None = None):
        frame = frame.reset_index() if index_name else frame
        table = document.add_table(rows=1, cols=len(frame.columns))
        table.style = "Light Grid Accent 1"
        for cell, name in zip(table.rows[0].cells, frame.columns):
            cell.text = printable(str(name))
        for row in frame.itertuples(index=False):
            cells = table.add_row().cells
            for cell, value in zip(cells, row):
                cell.text = printable(str(value))
        return table

    for heading, findings in summary.sections:
        document.add_heading(printable(heading), level=1)
        for f in findings:
            document.add_paragraph(printable(f.text), style="List Bullet")
            note = _commentary(commentary, f.key)
            if note:
                paragraph = document.add_paragraph(style="List Bullet 2")
                paragraph.add_run("Secretariat commentary: ").italic = True
                paragraph.add_run(note)
        if heading == "Context":
            if not summary.incident_table.empty:
                document.add_heading("Incidents opened, by provider and category", level=2)
                add_table(summary.incident_table, "Provider")
            if not summary.alert_table.empty:
                document.add_heading("Alert volumes by code and region", level=2)
                add_table(summary.alert_table, "Alert code")
    if charts_png:
        document.add_heading("Charts of the measures below target", level=1)
        for caption, png in charts_png:
            document.add_picture(io.BytesIO(png), width=Cm(16.5))
            document.add_paragraph(printable(caption), style="Caption")
    document.add_heading("Every measure and provider", level=1)
    add_table(summary.table)
    document.add_paragraph()
    for line in summary.footer_lines():
        document.add_paragraph(printable(line)).runs[0].font.size = Pt(9)
    buffer = io.BytesIO()
    try:
        document.save(buffer)
    except (ValueError, OSError) as exc:
        raise OpsgError(f"the Word document could not be written: {str(exc)[:200]}") from None
    return buffer.getvalue()
