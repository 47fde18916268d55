"""Context OPSG reads beside the measures: incidents, alerts and operational figures for a month.

Plain query functions returning data frames; the summary, the pages and the
command line use them. Month-on-month changes are computed here, once: a change
from zero is no percentage (None), never a division by zero.
"""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.findings import Finding
from opsg_metrics.store.catalogue import counted_once
from opsg_metrics.words import previous_month


def percent_change(new: float | None, old: float | None) -> float | None:
    """(new - old) / old in percent; None when either is missing or old is zero."""
    if new is None or old is None or pd.isna(new) or pd.isna(old) or old == 0:
        return None
    return (new - old) / old * 100


def incidents_opened(con: duckdb.DuckDBPyConnection, month: date, *, major_only: bool = False) -> pd.DataFrame:
    """Incidents opened in the month (current revision), oldest first."""
    return con.execute(
        f"""SELECT i.incident_id, i.opened, i.resolved, i.category, i.provider, i.major, i.title, i.root_cause,
                   s.label AS source, i.source_id
            FROM current_incidents AS i JOIN sources AS s USING (source_id)
            WHERE i.opened >= ? AND i.opened < ?::DATE + INTERVAL 1 MONTH {"AND i.major" if major_only else ""}
            ORDER BY i.opened, i.incident_id""",
        [month, month],
    ).df()


def incident_counts(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Incidents opened in the month: providers (rows, provider order) by category 1-5 (columns), with totals."""
    rows = con.execute(
        """SELECT i.provider, i.category, count(*) AS n
           FROM current_incidents AS i JOIN providers AS p USING (provider)
           WHERE i.opened >= ? AND i.opened < ?::DATE + INTERVAL 1 MONTH
           GROUP BY i.provider, i.category, p.sort_order ORDER BY p.sort_order""",
        [month, month],
    ).df()
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(index="provider", columns="category", values="n", aggfunc="sum", fill_value=0, sort=False)
    table = table.reindex(columns=range(1, 6), fill_value=0)
    table.columns = [f"Cat {c}" for c in table.columns]
    table["Total"] = table.sum(axis=1)
    table.loc["All"] = table.sum(axis=0)
    table.index.name = "Provider"
    return table.astype(int)


def _with_previous(con, view: str, keys: tuple[str, ...], value: str, columns: str, month: date) -> pd.DataFrame:
    """A month's rows of a current_* view, with the previous month's value of the same key and the change."""
    join = " AND ".join(f"p.{k} = c.{k}" for k in keys)
    frame = con.execute(
        f"""SELECT {", ".join(f"c.{k}" for k in keys)}, {columns}, s.label AS source, c.source_id,
                   p.{value} AS previous, p.source_id AS previous_source_id
            FROM {view} AS c JOIN sources AS s USING (source_id)
            LEFT JOIN {view} AS p ON {join} AND p.month = ?
            JOIN providers AS pr ON pr.provider = c.provider
            WHERE c.month = ? ORDER BY c.{keys[0]}, pr.sort_order""",
        [previous_month(month), month],
    ).df()
    frame["change_pct"] = [percent_change(v, p) for v, p in zip(frame[value], frame["previous"])]
    return frame


def ops_figures(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Every operational figure of the month with the previous month's and the change."""
    return _with_previous(con, "current_ops_figures", ("metric", "provider"), "value", "c.value, c.unit, c.note", month)


def alert_volumes(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Alert volume by code and provider for the month, the previous month's, and the change."""
    return _with_previous(
        con, "current_alerts", ("alert_code", "provider"), "volume", "c.volume, c.devices, c.first_time_devices", month
    )


def incident_source_ids(con: duckdb.DuckDBPyConnection, month: date) -> list[int]:
    """Source ids of the incidents opened in a month (what incident_counts counts)."""
    rows = con.execute(
        """SELECT DISTINCT source_id FROM current_incidents WHERE opened >= ? AND opened < ?::DATE + INTERVAL 1 MONTH""",
        [month, month],
    ).fetchall()
    return sorted(r[0] for r in rows)


# ---------------------------------------------------------------- the month's context, as findings


def _ops_value(ops: pd.DataFrame, metric: str, provider: str):
    match = ops[(ops["metric"] == metric) & (ops["provider"] == provider)]
    return None if match.empty else match.iloc[0]


def reported(rows: list) -> tuple[list[str], str]:
    """Marks for the values of one sentence that repeat figures reported in the minutes: one at the end when
    they all come from the same minutes ("([both] reported in the OPSG_56 minutes of 7 Sep 2021)"), else one
    beside each. Returns (the mark beside each value, the mark for the end)."""
    sources = [words.split_reported(r["note"])[0] if r is not None else None for r in rows]
    if sources and None not in sources and len(set(sources)) == 1:
        lead = "" if len(rows) == 1 else ("both " if len(rows) == 2 else "all ")
        return [""] * len(rows), f" ({lead}reported in {words.minutes_of(sources[0])})"
    return [f" (reported in {words.minutes_of(s)})" if s else "" for s in sources], ""


_NAMED_IN = re.compile(r"Source: (?P<minutes>[^;]*minutes \([^)]*\))\.?$")


def named_in(root_cause: object) -> str:
    """' (named in the OPSG_28 minutes of 7 Jan 2020)' for an incident whose record cites the minutes."""
    found = _NAMED_IN.search(str(root_cause or "").strip())
    return f" (named in {words.minutes_of(found['minutes'])})" if found else ""


def _notes(rows: list, source_label: str | None = None) -> str:
    """The notes of a sentence's rows (other than where they were reported), each once, quoted as notes."""
    notes = list(dict.fromkeys(words.split_reported(r["note"])[1] for r in rows if r is not None))
    quoted = [words.quoted_note(n, source_label) for n in notes if n]
    return "".join(" " + q for q in quoted if q)


def source_ids_of(*values: object) -> set[int]:
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


def context_findings(
    con: duckdb.DuckDBPyConnection, month: date
) -> tuple[list[Finding], pd.DataFrame, pd.DataFrame, set[int]]:
    """The month's context findings and tables, and the ids of the sources of exactly the rows they use
    (the previous month's too, where a change on it is stated)."""
    section = "Context"
    findings = []
    used: set[int] = set()
    majors = incidents_opened(con, month, major_only=True)
    used |= source_ids_of(majors)
    if majors.empty:
        findings.append(
            Finding("context:majors", section, "No major incidents (Category 1–2) were opened in the month.")
        )
    else:
        by_category = majors["category"].value_counts().sort_index()
        counts = " and ".join(f"{n} Category {c}" for c, n in by_category.items())
        listing = "; ".join(
            f"{r.incident_id} ({r.provider}, Category {r.category}): {r.title}{named_in(r.root_cause)}"
            for r in majors.itertuples()
        )
        findings.append(
            Finding(
                "context:majors",
                section,
                f"{len(majors)} major incident{'s were' if len(majors) != 1 else ' was'} opened ({counts}): {listing}.",
                figures={"major_incidents": len(majors), **{f"category_{c}": int(n) for c, n in by_category.items()}},
                sources=sorted(set(majors["source"])),
            )
        )
    incident_table = incident_counts(con, month)
    if not incident_table.empty:
        used |= source_ids_of(incident_source_ids(con, month))
        total = int(incident_table.loc["All", "Total"])
        findings.append(
            Finding(
                "context:incidents",
                section,
                f"{total} incident{'s were' if total != 1 else ' was'} opened in the month "
                "(by provider and category in the table below).",
                figures={"incidents_opened": total},
            )
        )
    ops = ops_figures(con, month)
    rdp = [(_ops_value(ops, f"RDP incidents {what}", "RDP"), what) for what in ("opened", "resolved", "still open")]
    rdp = [(r, what) for r, what in rdp if r is not None]
    used |= source_ids_of(*(r for r, _ in rdp))
    if rdp:
        beside, end = reported([r for r, _ in rdp])
        parts = [
            f"{int(r['value'])} {what}{' in month' if what == 'resolved' else ''}{mark}"
            for (r, what), mark in zip(rdp, beside)
        ]
        findings.append(
            Finding(
                "context:rdp",
                section,
                "RDP incidents: " + ", ".join(parts) + end + "." + _notes([r for r, _ in rdp], rdp[0][0]["source"]),
                provider="RDP",
                figures={what: float(r["value"]) for r, what in rdp},
                sources=sorted({r["source"] for r, _ in rdp}),
            )
        )
    changes, success = _ops_value(ops, "changes implemented", "DCC"), _ops_value(ops, "change success rate", "DCC")
    used |= {int(r["source_id"]) for r in (changes, success) if r is not None}
    if changes is not None:
        beside, end = reported([changes] + ([success] if success is not None else []))
        text = f"{int(changes['value'])} changes were implemented{beside[0]}"
        text += f", {success['value']:.1f}% successfully{beside[1]}" if success is not None else ""
        findings.append(
            Finding(
                "context:changes",
                section,
                text + end + "." + _notes([changes, success], changes["source"]),
                figures={
                    "changes": float(changes["value"]),
                    **({"success_rate": float(success["value"])} if success is not None else {}),
                },
                sources=[changes["source"]],
            )
        )
    problems = _ops_value(ops, "open problem tickets", "DCC")
    if problems is not None:
        used.add(int(problems["source_id"]))
        _, end = reported([problems])
        findings.append(
            Finding(
                "context:problems",
                section,
                f"{int(problems['value'])} problem tickets were open{end}." + _notes([problems], problems["source"]),
                figures={"open_problems": float(problems["value"])},
                sources=[problems["source"]],
            )
        )
    installs = ops[ops["metric"] == "installations"]
    used |= source_ids_of(installs)
    if not installs.empty:
        # The installations figure is cumulative (the installed base at the end of the month): the month's
        # installations are the rise on the month before, where there is a figure for it.
        made = [
            f"{r.provider} {r.value - r.previous:,.0f}"
            for r in installs.itertuples()
            if r.previous is not None and pd.notna(r.previous)
        ]
        base = words.listing([f"{r.provider} {r.value:,.0f}" for r in installs.itertuples()])
        text = f"Installations in the month: {words.listing(made)}; " if made else ""
        text += f"installed base at the end of the month (cumulative): {base}."
        used |= source_ids_of(installs[["previous_source_id"]].rename(columns={"previous_source_id": "source_id"}))
        findings.append(
            Finding(
                "context:installations",
                section,
                text[0].upper() + text[1:] + _notes([r for _, r in installs.iterrows()], installs["source"].iloc[0]),
                figures={f"{r.provider} installed base": float(r.value) for r in installs.itertuples()}
                | {
                    f"{r.provider} installed in the month": float(r.value - r.previous)
                    for r in installs.itertuples()
                    if r.previous is not None and pd.notna(r.previous)
                },
                sources=sorted(set(installs["source"])),
            )
        )
    alerts = alert_volumes(con, month)
    alerts = alerts[alerts["provider"].isin(counted_once(list(alerts["provider"].drop_duplicates())))]
    used |= source_ids_of(alerts)
    alert_table = pd.DataFrame()
    if not alerts.empty:
        by_code = alerts.groupby("alert_code", sort=True).agg(volume=("volume", "sum"), previous=("previous", "sum"))
        by_code["change_pct"] = [percent_change(v, p) for v, p in zip(by_code["volume"], by_code["previous"])]
        top = by_code.sort_values("volume", ascending=False).head(3)
        parts = [
            f"{code} {int(r.volume):,}"
            + (f" ({r.change_pct:+.0f}%)" if r.change_pct is not None and pd.notna(r.change_pct) else "")
            for code, r in top.iterrows()
        ]
        regions = words.listing(list(alerts["provider"].drop_duplicates()))
        changed = any(r.change_pct is not None and pd.notna(r.change_pct) for _, r in top.iterrows())
        findings.append(
            Finding(
                "context:alerts",
                section,
                f"{int(by_code['volume'].sum()):,} alerts in the month ({regions}); the most frequent: "
                + ", ".join(parts)
                + (" (change on the previous month)." if changed else "."),
                figures={code: int(r.volume) for code, r in by_code.iterrows()},
                sources=sorted(set(alerts["source"])),
            )
        )
        alert_table = (
            alerts.pivot_table(index="alert_code", columns="provider", values="volume", aggfunc="sum", sort=False)
            .fillna(0)
            .astype(int)
        )
        alert_table["Total"] = alert_table.sum(axis=1)
        alert_table["Change on previous month"] = [
            "" if c is None or pd.isna(c) else f"{c:+.1f}%" for c in by_code.reindex(alert_table.index)["change_pct"]
        ]
        alert_table.index.name = "Alert code"
    if not findings:
        findings.append(
            Finding("context:none", section, "No incidents, alerts or operational figures are loaded for the month.")
        )
    return findings, incident_table, alert_table, used
