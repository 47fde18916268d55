"""Reading the review record (store/record.py writes it): meetings, the actions with their history as at a
day, the actions outstanding at a meeting as SECAS tabulates them, decisions, commentary and its versions,
and the remediation plans a measure's trend draws. Every read is the connection's level's (clearance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.errors import OpsgError


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    date: date
    kind: str
    pmr_month: date
    classification: str

    @property
    def label(self) -> str:
        """'OPSG_33 (9 Jun 2020, PMR April 2020)'."""
        kind = ", reporting" if self.kind == "reporting" else ""
        return f"{self.meeting_id} ({words.day_label(self.date)}{kind}; PMR {words.month_label(self.pmr_month)})"


def meetings(con: duckdb.DuckDBPyConnection) -> list[Meeting]:
    """Every meeting held in the record, newest first."""
    rows = con.execute(
        "SELECT meeting_id, date, kind, pmr_month, classification FROM current_meetings ORDER BY date DESC, meeting_id"
    ).fetchall()
    return [Meeting(*row) for row in rows]


def meeting(con: duckdb.DuckDBPyConnection, meeting_id: str) -> Meeting:
    """One meeting; OpsgError naming those held for an unknown id."""
    found = [m for m in meetings(con) if m.meeting_id == meeting_id]
    if not found:
        held = ", ".join(m.meeting_id for m in meetings(con)[:8]) or "none yet"
        raise OpsgError(f"no meeting {meeting_id!r} in the record (held: {held})")
    return found[0]


def previous_meeting(con: duckdb.DuckDBPyConnection, of: Meeting) -> Meeting | None:
    """The meeting before one: the latest of its kind held before its day (else of any kind)."""
    before = [m for m in meetings(con) if m.date < of.date]
    same = [m for m in before if m.kind == of.kind]
    return (same or before or [None])[0]


@dataclass(frozen=True)
class ActionRecord:
    """An action as the record held it on a day: its words, its target dates and statuses to that day."""

    action_id: str
    text: str
    owner: str
    raised_meeting: str
    raised_on: date
    measures: tuple[str, ...]
    providers: tuple[str, ...]
    incidents: tuple[str, ...]
    note: str
    target_dates: tuple[tuple[date, date, str], ...]  # (target date, set on, why), oldest first
    statuses: tuple[tuple[str, date, str], ...]  # (status, changed on, why), oldest first
    classification: str  # the most restrictive of its rows
    source_ids: tuple[int, ...]
    version: int  # the latest record id of its rows: an edit names it (store/record.py)
    at: date

    @property
    def status(self) -> str:
        return self.statuses[-1][0] if self.statuses else "open"

    @property
    def closed(self) -> bool:
        return self.status == "closed"

    @property
    def target_date(self) -> date | None:
        return self.target_dates[-1][0] if self.target_dates else None

    @property
    def last_target_date(self) -> date | None:
        """SECAS's 'Last Target Date': the one before the latest revision (the first, if never revised)."""
        return self.target_dates[-2][0] if len(self.target_dates) > 1 else self.target_date

    @property
    def revised_target_date(self) -> date | None:
        """SECAS's 'Revised Target Date': the latest, when the target date was ever revised."""
        return self.target_date if len(self.target_dates) > 1 else None

    @property
    def overdue(self) -> bool:
        """Not closed and its latest target date before the day it is seen at."""
        return not self.closed and self.target_date is not None and self.target_date < self.at

    @property
    def slips(self) -> int:
        return max(len(self.target_dates) - 1, 0)

    def history(self) -> str:
        """Its target dates in words: '31 Mar 2020 (set 10 Dec 2019); 30 Jun 2020 (set 14 Apr 2020: plan awaited)'."""
        return "; ".join(
            f"{words.day_label(t)} (set {words.day_label(s)}{': ' + why if why and why != 'as raised' else ''})"
            for t, s, why in self.target_dates
        )

    def as_json(self) -> dict:
        return {
            "action_id": self.action_id,
            "text": self.text,
            "owner": self.owner,
            "status": self.status,
            "raised_meeting": self.raised_meeting,
            "raised_on": self.raised_on.isoformat(),
            "target_date": self.target_date.isoformat() if self.target_date else None,
            "target_dates": [
                {"target_date": t.isoformat(), "set_on": s.isoformat(), "why": why} for t, s, why in self.target_dates
            ],
            "statuses": [{"status": st, "changed_on": on.isoformat(), "why": why} for st, on, why in self.statuses],
            "overdue": self.overdue,
            "overdue_at": self.at.isoformat(),
            "measures": list(self.measures),
            "providers": list(self.providers),
            "incidents": list(self.incidents),
            "note": self.note,
            "classification": self.classification,
        }


def actions(
    con: duckdb.DuckDBPyConnection,
    *,
    at: date | None = None,
    raised_by: date | None = None,
    open_only: bool = False,
    action_id: str | None = None,
) -> list[ActionRecord]:
    """The actions as the record held them on `at` (default today): target dates set and statuses changed by
    then; only those raised by `raised_by` (default: any); only those not closed with `open_only`."""
    at = at or date.today()
    # Its words as they stood on the day: the latest row written (or issued, for a file's) by then, else
    # its first.
    held = con.execute(
        """SELECT a.action_id, a.text, a.owner, a.raised_meeting, a.raised_on, a.measures, a.providers,
                  a.incidents, a.note, a.classification, a.source_id, a.record_id
           FROM actions AS a LEFT JOIN sources AS s USING (source_id)
           WHERE (? IS NULL OR a.raised_on <= ?) AND (? IS NULL OR a.action_id = ?)
           QUALIFY row_number() OVER (PARTITION BY a.action_id
                   ORDER BY coalesce(s.issued_on, a.written_at::DATE) <= ? DESC, a.record_id DESC) = 1
           ORDER BY a.raised_on, a.action_id""",
        [raised_by, raised_by, action_id, action_id, at],
    ).fetchall()
    targets = con.execute(
        """SELECT action_id, target_date, set_on, why, classification, source_id, record_id FROM action_targets
           WHERE set_on <= ? ORDER BY record_id""",
        [at],
    ).fetchall()
    statuses = con.execute(
        """SELECT action_id, status, changed_on, why, classification, source_id, record_id FROM action_statuses
           WHERE changed_on <= ? ORDER BY record_id""",
        [at],
    ).fetchall()
    by_action: dict[str, tuple[list, list]] = {}
    for t in targets:
        by_action.setdefault(t[0], ([], []))[0].append(t)
    for st in statuses:
        by_action.setdefault(st[0], ([], []))[1].append(st)
    out = []
    for row in held:
        its_targets, its_statuses = by_action.get(row[0], ([], []))
        # A row restating the one before (the same date or status again, as a less restrictive marking
        # needs it: store/record.py) is no change at a level that sees both.
        its_targets = [t for i, t in enumerate(its_targets) if i == 0 or t[1] != its_targets[i - 1][1]]
        its_statuses = [s for i, s in enumerate(its_statuses) if i == 0 or s[1] != its_statuses[i - 1][1]]
        marks = [row[9], *(t[4] for t in its_targets), *(s[4] for s in its_statuses)]
        sources = {row[10], *(t[5] for t in its_targets), *(s[5] for s in its_statuses)} - {None}
        found = ActionRecord(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            tuple(row[5]),
            tuple(row[6]),
            tuple(row[7]),
            row[8],
            tuple((t[1], t[2], t[3]) for t in its_targets),
            tuple((s[1], s[2], s[3]) for s in its_statuses),
            most_restrictive(marks),
            tuple(sorted(sources)),
            max([row[11], *(t[6] for t in its_targets), *(s[6] for s in its_statuses)]),
            at,
        )
        if not (open_only and found.closed):
            out.append(found)
    return out


def outstanding(con: duckdb.DuckDBPyConnection, of: Meeting) -> list[ActionRecord]:
    """The actions outstanding at a meeting: raised by its day and not closed on it (overdue against it)."""
    return actions(con, at=of.date, raised_by=of.date, open_only=True)


ACTION_COLUMNS = ("ID", "Action", "Raised", "Last Target Date", "Revised Target Date", "Owner", "Status")


def actions_table(found: list[ActionRecord], *, history: bool = True) -> pd.DataFrame:
    """The "Actions outstanding" table as SECAS tabulates it, with a column of target-date history."""
    rows = []
    for a in found:
        status = a.status.capitalize() + (" (overdue)" if a.overdue else "")
        row = {
            "ID": a.action_id,
            "Action": a.text,
            "Raised": f"{a.raised_meeting} ({words.day_label(a.raised_on)})",
            "Last Target Date": words.day_label(a.last_target_date) if a.last_target_date else None,
            "Revised Target Date": words.day_label(a.revised_target_date) if a.revised_target_date else None,
            "Owner": a.owner,
            "Status": status,
        }
        if history:
            row["Target dates"] = a.history()
        rows.append(row)
    columns = [*ACTION_COLUMNS, *(["Target dates"] if history else [])]
    return pd.DataFrame(rows, columns=columns)


def decisions(con: duckdb.DuckDBPyConnection, meeting_id: str) -> pd.DataFrame:
    """What a meeting decided, by agenda item, in the order recorded."""
    return con.execute(
        """SELECT item, verb, text, measure, provider, action_id, classification, source_id, record_id
           FROM decisions WHERE meeting_id = ?
           QUALIFY row_number() OVER (PARTITION BY item, verb, text ORDER BY record_id) = 1
           ORDER BY item, record_id""",
        [meeting_id],
    ).df()


def decision_lines(frame: pd.DataFrame) -> list[str]:
    """Each decision as the minutes put it: 'Item 4: OPSG AGREED DCC to bring ... (action OPSG 28/04).'"""
    lines = []
    for row in frame.itertuples(index=False):
        linked = f" (action {row.action_id})" if isinstance(row.action_id, str) and row.action_id else ""
        text = row.text.rstrip(".")
        lines.append(f"Item {row.item}: OPSG {row.verb} {text}{linked}.")
    return lines


def decided(con: duckdb.DuckDBPyConnection, meeting_id: str) -> list[tuple[Meeting, list[str]]]:
    """A meeting and the one before it, each with its decisions as the minutes put them (this one first)."""
    this = meeting(con, meeting_id)
    shown = [m for m in (this, previous_meeting(con, this)) if m is not None]
    return [(m, decision_lines(decisions(con, m.meeting_id))) for m in shown]


@dataclass(frozen=True)
class Commentary:
    month: date
    measure: str | None
    provider: str | None
    text: str
    author: str
    written_at: datetime
    classification: str
    record_id: int
    source_id: int | None
    versions: int

    @property
    def about(self) -> str:
        """'the month overall', 'CPM1 overall', 'PM2 in CSP N', 'CPM1, every provider'."""
        if self.measure and self.provider:
            return words.who(self.measure, self.provider)
        return f"{self.measure}, every provider" if self.measure else "the month overall"

    @property
    def signed(self) -> str:
        """'SECAS, 3 Jun 2020 14:05'."""
        return f"{self.author}, {words.day_label(self.written_at.date())} {self.written_at:%H:%M}"


def commentary(
    con: duckdb.DuckDBPyConnection,
    month: date,
    measure: str | None = None,
    provider: str | None = None,
    *,
    every: bool = True,
) -> list[Commentary]:
    """The current commentary of a PMR month: all of it (`every`), or that on one measure and provider (or
    the month overall, when both are None). Overall first, then by measure and provider."""
    rows = con.execute(
        """SELECT c.month, c.measure, c.provider, c.text, c.author, c.written_at, c.classification, c.record_id,
                  c.source_id,
                  (SELECT count(*) FROM commentary AS v WHERE v.month = c.month
                     AND v.measure IS NOT DISTINCT FROM c.measure AND v.provider IS NOT DISTINCT FROM c.provider)
           FROM current_commentary AS c
           WHERE c.month = ? AND (? OR (c.measure IS NOT DISTINCT FROM ? AND c.provider IS NOT DISTINCT FROM ?))
           ORDER BY c.measure NULLS FIRST, c.provider NULLS FIRST""",
        [month.replace(day=1), every, measure, provider],
    ).fetchall()
    return [Commentary(*row) for row in rows]


def current(
    con: duckdb.DuckDBPyConnection, month: date, measure: str | None, provider: str | None
) -> Commentary | None:
    found = commentary(con, month, measure, provider, every=False)
    return found[0] if found else None


def versions(con: duckdb.DuckDBPyConnection, month: date, measure: str | None, provider: str | None) -> pd.DataFrame:
    """Every version of one commentary, newest first: when, who, the text."""
    return con.execute(
        """SELECT strftime(written_at, '%Y-%m-%d %H:%M') AS "written", author, text, classification
           FROM commentary WHERE month = ? AND measure IS NOT DISTINCT FROM ? AND provider IS NOT DISTINCT FROM ?
           ORDER BY record_id DESC""",
        [month.replace(day=1), measure, provider],
    ).df()


def commented(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """The months, measures and providers with current commentary between two months (the Overview's and the
    trends' markers): month, measure, provider, text, author, classification, source_id."""
    return con.execute(
        """SELECT month, measure, provider, text, author, classification, source_id FROM current_commentary
           WHERE month BETWEEN ? AND ? AND measure IS NOT NULL ORDER BY month, measure, provider""",
        [start, end],
    ).df()


def plans(con: duckdb.DuckDBPyConnection, measure: str, providers: list[str]) -> pd.DataFrame:
    """The remediation plans a measure's trend draws: every target date of the actions linked to the measure
    (and to one of the providers, or to none), with whether a later date replaced it (a slip): action_id,
    provider (None: every panel), target_date, set_on, why, slipped, status, classification."""
    return con.execute(
        """WITH linked AS (
               SELECT action_id, providers FROM current_actions WHERE list_contains(measures, ?)
           ), latest_status AS (
               SELECT action_id, status FROM action_statuses
               QUALIFY row_number() OVER (PARTITION BY action_id ORDER BY record_id DESC) = 1
           )
           SELECT t.action_id, p.provider, t.target_date, t.set_on, t.why,
                  row_number() OVER (PARTITION BY t.action_id, p.provider ORDER BY t.record_id DESC) > 1 AS slipped,
                  coalesce(s.status, 'open') AS status, t.classification, t.source_id
           FROM action_targets AS t JOIN linked AS l USING (action_id)
           LEFT JOIN latest_status AS s USING (action_id)
           CROSS JOIN (SELECT unnest(CASE WHEN len(l2.providers) = 0 THEN [NULL::VARCHAR] ELSE l2.providers END)
                       AS provider FROM linked AS l2 WHERE l2.action_id = t.action_id) AS p
           WHERE p.provider IS NULL OR list_contains(?, p.provider)
           ORDER BY t.action_id, t.record_id""",
        [measure, list(providers)],
    ).df()


@dataclass(frozen=True)
class MonthNotes:
    """A month's commentary as a page shows it, read once (the page caches it by data version): the current
    version of each (by measure and provider; (None, None) the month overall), last month's, and every
    version of the month's."""

    month: date
    now: dict
    before: dict
    versions: pd.DataFrame
    markings: dict  # (measure, provider) -> the marking of its figure that month (a commentary's default)

    def history(self, measure: str | None, provider: str | None) -> pd.DataFrame:
        """Every version of one commentary, newest first."""
        frame = self.versions
        keep = frame["measure"].isna() if measure is None else frame["measure"] == measure
        keep &= frame["provider"].isna() if provider is None else frame["provider"] == provider
        return frame[keep].drop(columns=["measure", "provider"]).reset_index(drop=True)


def month_notes(con: duckdb.DuckDBPyConnection, month: date) -> MonthNotes:
    """The month's commentary, last month's, the month's versions and its figures' markings, in four queries."""
    month = month.replace(day=1)
    versions = con.execute(
        """SELECT measure, provider, strftime(written_at, '%Y-%m-%d %H:%M') AS "written", author, text, classification
           FROM commentary WHERE month = ? ORDER BY record_id DESC""",
        [month],
    ).df()
    now = {(c.measure, c.provider): c for c in commentary(con, month)}
    before = {(c.measure, c.provider): c for c in commentary(con, words.previous_month(month))}
    markings = {
        (m, p): mark
        for m, p, mark in con.execute(
            """SELECT v.measure, v.provider, s.classification FROM current_measure_values AS v
               JOIN sources AS s USING (source_id) WHERE v.month = ?""",
            [month],
        ).fetchall()
    }
    return MonthNotes(month, now, before, versions, markings)
