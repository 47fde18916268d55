"""The summary's Data quality: figures not reported, absent, flagged as unreliable or inferred (each with
its note quoted as a note, with its source), and the month's revisions grouped by the reissue that made
them (a figure revised twice under each of its reissues), every value with its unit.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import sentences
from opsg_metrics.queries.findings import Finding
from opsg_metrics.queries.sentences import figures_of, issued_text, revision_value, sources_of, who

SECTION = "Data quality"


def revisions(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """Every revision of the month's figures: each loaded issue of a figure beside the issue it revised (the
    one loaded before it), with both sources; a figure revised twice gives two rows, each under the reissue
    that made it. Columns first_* are the revised issue's, current_* the revising one's."""
    return con.execute(
        """WITH history AS (
               SELECT v.measure, v.provider, v.value, v.status, s.label, s.issued_on, v.source_id,
                      lag(v.value) OVER w AS prior_value, lag(v.status) OVER w AS prior_status,
                      lag(s.label) OVER w AS prior_label, lag(s.issued_on) OVER w AS prior_issued,
                      lag(v.source_id) OVER w AS prior_source_id, row_number() OVER w AS issue_rank
               FROM measure_values AS v JOIN sources AS s USING (source_id)
               WHERE v.month = ?
               WINDOW w AS (PARTITION BY v.measure, v.provider ORDER BY v.source_id))
           SELECT h.measure, h.provider, h.prior_value AS first_value, h.prior_status AS first_status,
                  h.prior_label AS first_source, h.prior_issued AS first_issued, h.value AS current_value,
                  h.status AS current_status, h.label AS current_source, h.issued_on AS current_issued,
                  h.prior_source_id AS first_source_id, h.source_id AS current_source_id
           FROM history AS h JOIN measures AS m USING (measure, provider)
           WHERE h.issue_rank > 1
           ORDER BY h.source_id, m.sort_order""",
        [month],
    ).df()


def reissues(revised: pd.DataFrame, units: dict) -> list[dict]:
    """The revisions of the month grouped by the reissue that made them: how many figures, where ('13 CSP N
    figures', '2 figures (1 overall, 1 in CSP N)'), from which issue, and the largest changes."""
    groups = []
    for (label, issued), part in revised.groupby(["current_source", "current_issued"], sort=False, dropna=False):
        providers = part["provider"].value_counts(sort=False)
        what = (
            f"{words.plural(len(part), (providers.index[0] + ' ' if providers.index[0] != 'DCC' else '') + 'figure')}"
            + (" overall" if providers.index[0] == "DCC" else "")
            if len(providers) == 1
            else f"{words.plural(len(part), 'figure')} ("
            + ", ".join(f"{n} {'overall' if p == 'DCC' else 'in ' + p}" for p, n in providers.items())
            + ")"
        )
        groups.append(
            {
                "source": label,
                "issued": None if pd.isna(issued) else pd.Timestamp(issued).date(),
                "what": what,
                "rows": part,
                "units": units,
            }
        )
    return groups


def _reissue_finding(group: dict) -> Finding:
    part, units = group["rows"], group["units"]
    firsts = list(dict.fromkeys(issued_text(s, i) for s, i in zip(part["first_source"], part["first_issued"])))
    text = f"{issued_text(group['source'], group['issued'])} revised {group['what']} given in {words.listing(firsts)}"
    flagged = part["first_status"].isin(["unreliable"])
    if flagged.all():
        text += f", where {'it was' if len(part) == 1 else 'all were'} flagged as unreliable"
    elif flagged.any():
        text += f", where {int(flagged.sum())} {'was' if flagged.sum() == 1 else 'were'} flagged as unreliable"

    def unit(r) -> str:
        return units.get((r["measure"], r["provider"]), "percent")

    def change(r) -> str:
        before = revision_value(r["first_value"], r["first_status"], unit(r))
        after = revision_value(r["current_value"], r["current_status"], unit(r))
        text = f"{who(r)} from {before} to {after}"
        if pd.notna(r["first_value"]) and pd.notna(r["current_value"]):
            points = "percentage points" if unit(r) == "percent" else ""
            text += f" ({r['current_value'] - r['first_value']:+.2f}{' ' + points if points else ''})"
        return text

    size = (part["current_value"] - part["first_value"]).abs().fillna(float("inf"))
    largest = part.loc[size.sort_values(ascending=False).index].head(3)
    if len(part) == 1:
        text += f": {change(largest.iloc[0])}."
    else:
        text += "; the largest: " + "; ".join(change(r) for _, r in largest.iterrows()) + "."
    return Finding(
        f"quality:revised:{group['source']}",
        SECTION,
        text,
        figures={
            who(r): f"{revision_value(r['first_value'], r['first_status'], unit(r))} → "
            f"{revision_value(r['current_value'], r['current_status'], unit(r))}"
            for _, r in part.iterrows()
        },
        sources=[*firsts, issued_text(group["source"], group["issued"])],
    )


def _noted(row: pd.Series, text: str) -> str:
    """A statement about a figure, then its note quoted as a note with its source (the minutes that report
    the figure are said beside its value, not again in the note)."""
    _, rest = words.split_reported(row["note"])
    quoted = words.quoted_note(rest, row["source"] if isinstance(row["source"], str) else None) if rest else ""
    if quoted:
        text += " " + quoted
    return text


def quality_findings(now: pd.DataFrame, groups: list[dict]) -> list[Finding]:
    section = SECTION
    findings = []
    for kind, chosen, says in (
        ("null", now[now["figure_status"] == "null"], "was not reported."),
        ("absent", now[now["figure_status"] == "absent"], "has no figure loaded for the month."),
    ):
        for _, r in chosen.iterrows():
            findings.append(
                Finding(
                    f"quality:{kind}:{r['measure']}:{r['provider']}",
                    section,
                    _noted(r, f"{who(r)} {says}") if kind == "null" else f"{who(r)} {says}",
                    r["measure"],
                    r["provider"],
                    r["status"],
                    figures_of(r),
                    sources_of(r) if kind == "null" else [],
                )
            )
    for kind, chosen, says in (
        ("unreliable", now[now["unreliable"].astype(bool)], "is flagged as unreliable."),
        ("inferred", now[now["inferred"].astype(bool)], "is inferred, not reported."),
    ):
        for _, r in chosen.iterrows():
            findings.append(
                Finding(
                    f"quality:{kind}:{r['measure']}:{r['provider']}",
                    section,
                    _noted(r, f"{who(r)} at {sentences.value_of(r)} {says}"),
                    r["measure"],
                    r["provider"],
                    r["status"],
                    figures_of(r),
                    sources_of(r),
                )
            )
    findings += [_reissue_finding(g) for g in groups]
    if not findings:
        findings.append(
            Finding(
                "quality:clean",
                section,
                "Every figure for the month was reported, none is flagged unreliable and none was revised.",
            )
        )
    return findings
