"""Writing the review record: meetings, actions (their target dates and statuses), decisions and commentary
(schema.sql, migration 11). Nothing is updated or deleted: every write adds rows, and the latest is current.

Every write is one transaction with its entry in the audit log: a write that dies half-way leaves nothing.
An edit names the version its writer opened (`based_on`, the record id `version_of` gave): when someone
else saved since, the write is refused with a `RecordConflict` that holds both texts, and nothing changes.
The check and the write hold one lock, so two saves of one process (the app's sessions) cannot both pass it.

The checks of each value are here, once: a file's rows (ingest/record.py) and the app's forms pass them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from opsg_metrics.store import people
from opsg_metrics.store.batch import Batch, insert, one_write, write_row
from opsg_metrics.store.classification import ORDER as CLASSIFICATIONS
from opsg_metrics.store.clearance import admitted, level_of
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.parse import latest_figure_month
from opsg_metrics.store.text import (
    direction_control_problem,
    identifier_problem,
    person_name,
    printable,
    quote,
    unprintable_problem,
)

MEETING_KINDS = ("main", "reporting")
STATUSES = ("open", "closed", "reopened")
VERBS = ("AGREED", "NOTED", "DISCUSSED", "IDENTIFIED", "APPROVED")
MAX_ID = 40
MAX_LINE = 500  # an owner, an item, a reason
MAX_TEXT = 5_000  # an action's, a decision's or a commentary's words


class RecordConflict(OpsgError):
    """A save refused: someone saved the same record since its writer opened it."""

    def __init__(self, who: str, when: datetime, theirs: str, yours: str) -> None:
        self.who, self.when, self.theirs, self.yours = who, when, theirs, yours
        super().__init__(
            f"changed by {who or 'someone'} at {when:%H:%M on %d %b %Y} since you opened it; "
            "nothing was saved: read their text beside yours and save again"
        )


def identifier(value: str, what: str) -> str:
    """An id (a meeting's, an action's): printable ASCII on one line, at most MAX_ID characters."""
    value = (value or "").strip()
    if not value:
        raise OpsgError(f"{what} is empty")
    if problem := identifier_problem(value, what):
        raise OpsgError(problem)
    if "\t" in value or len(value) > MAX_ID:
        raise OpsgError(f"{what} {quote(value)} must be one line of at most {MAX_ID} characters")
    return value


def words_of(value: str, what: str, *, limit: int = MAX_TEXT, lines: bool = True, empty: bool = False) -> str:
    """Text someone wrote: printable (line breaks only where `lines`), trimmed, within `limit`."""
    value = (value or "").replace("\r\n", "\n").strip()
    if not value and not empty:
        raise OpsgError(f"{what} is empty")
    if problem := unprintable_problem(value):
        raise OpsgError(f"{what}: {problem}")
    if problem := direction_control_problem(value, what):
        raise OpsgError(problem)
    if not lines and any(c in value for c in "\n\r\t"):
        raise OpsgError(f"{what} holds a line break or a tab; give it on one line")
    if len(value) > limit:
        raise OpsgError(f"{what} is {len(value):,} characters; at most {limit:,}")
    return printable(value)


def choice(value: str, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise OpsgError(f"unknown {what} {quote(str(value))} (use {', '.join(allowed)})")
    return value


def marking(con: duckdb.DuckDBPyConnection, classification: str, level: str | None = None) -> str:
    """The marking a row is written with: a known one the writer's connection admits (a person cannot write
    what they could not read back); `level`: the connection's, when known."""
    choice(classification, CLASSIFICATIONS, "classification")
    level = level or level_of(con)
    if classification not in admitted(level):
        raise OpsgError(f"cannot write a record marked {classification}: it is above your clearance ({level})")
    return classification


@dataclass(frozen=True)
class Written:
    """What a write did: 'saved' (rows added) or 'unchanged' (the record already said it)."""

    outcome: str
    record_id: int | None = None
    rows: int = 0


UNCHANGED = Written("unchanged")


def version_of(con: duckdb.DuckDBPyConnection, table: str, key: dict) -> int | None:
    """The latest record id of one record as the connection's level sees it (None: none yet); an action's
    takes in its target dates and statuses. An edit passes it back as `based_on`."""
    if table == "actions":
        rows = con.execute(
            """SELECT max(record_id) FROM (SELECT record_id, action_id FROM actions UNION ALL
               SELECT record_id, action_id FROM action_targets UNION ALL
               SELECT record_id, action_id FROM action_statuses) WHERE action_id = ?""",
            [key["action_id"]],
        ).fetchall()
    else:
        where = " AND ".join(f"{k} IS NOT DISTINCT FROM ?" for k in key)
        rows = con.execute(f"SELECT max(record_id) FROM {table} WHERE {where}", list(key.values())).fetchall()
    return rows[0][0]


def _check_version(con: duckdb.DuckDBPyConnection, table: str, key: dict, based_on: int | None, yours: str) -> None:
    latest = version_of(con, table, key)
    if latest == based_on:
        return
    source = "commentary" if table == "commentary" else "actions"
    rows = con.execute(
        f"""SELECT coalesce(nullif(written_by, ''), {"author" if table == "commentary" else "owner"}), written_at,
                   text FROM {source} WHERE {
            "action_id = ?" if table == "actions" else " AND ".join(f"{k} IS NOT DISTINCT FROM ?" for k in key)
        }
            ORDER BY record_id DESC LIMIT 1""",
        [key["action_id"]] if table == "actions" else list(key.values()),
    ).fetchall()
    changed = con.execute(
        """SELECT written_by, written_at FROM (SELECT record_id, action_id, written_by, written_at FROM actions
           UNION ALL SELECT record_id, action_id, written_by, written_at FROM action_targets UNION ALL
           SELECT record_id, action_id, written_by, written_at FROM action_statuses) WHERE record_id = ?""",
        [latest],
    ).fetchall()
    who, when, theirs = rows[0] if rows else ("", datetime.now(), "")
    if table == "actions" and changed:
        who, when = changed[0]
    raise RecordConflict(who, when, theirs, yours)


# ------------------------------------------------------------------ meetings


@one_write
def add_meeting(
    con: duckdb.DuckDBPyConnection,
    meeting_id: str,
    *,
    on: date,
    kind: str,
    pmr_month: date,
    classification: str,
    by: str,
    source: tuple[int, int] | None = None,
    audit: bool = True,
) -> Written:
    """Record a meeting (or a change to one: a new row); unchanged when the record already says it."""
    meeting_id = identifier(meeting_id, "a meeting id")
    choice(kind, MEETING_KINDS, "meeting kind")
    marking(con, classification)
    pmr_month = pmr_month.replace(day=1)
    if pmr_month > on:
        raise OpsgError(
            f"meeting {meeting_id} on {on:%d %b %Y} cannot review the PMR of {pmr_month:%B %Y}, a later month"
        )
    same = con.execute(
        "SELECT count(*) FROM current_meetings WHERE meeting_id = ? AND date = ? AND kind = ? AND pmr_month = ?"
        " AND classification = ?",
        [meeting_id, on, kind, pmr_month, classification],
    ).fetchall()[0][0]
    if same:
        return UNCHANGED
    row = {"meeting_id": meeting_id, "date": on, "kind": kind, "pmr_month": pmr_month}
    record_id = insert(con, "meetings", row | _by(by, classification, source))
    if audit:
        people.record(con, by, "record", f"meeting {meeting_id}", month=pmr_month, classification=classification)
    return Written("saved", record_id, 1)


def _by(by: str, classification: str, source: tuple[int, int] | None) -> dict:
    row = {"classification": classification, "written_by": person_name(by)}
    if source:
        row |= {"source_id": source[0], "source_row": source[1]}
    return row


# ------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Action:
    """What an action says (its words, owner and links); its target dates and statuses are kept apart."""

    action_id: str
    text: str
    owner: str
    raised_meeting: str
    raised_on: date
    measures: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    incidents: tuple[str, ...] = ()
    note: str = ""

    def checked(self) -> Action:
        return Action(
            identifier(self.action_id, "an action id"),
            words_of(self.text, "the action's text"),
            words_of(self.owner, "the owner", limit=MAX_LINE, lines=False),
            identifier(self.raised_meeting, "the meeting it was raised at"),
            self.raised_on,
            tuple(dict.fromkeys(identifier(m, "a measure") for m in self.measures)),
            tuple(dict.fromkeys(identifier(p, "a provider") for p in self.providers)),
            tuple(dict.fromkeys(identifier(i, "an incident id") for i in self.incidents)),
            words_of(self.note, "the note", empty=True),
        )


def current_state(con: duckdb.DuckDBPyConnection, action_id: str) -> tuple[tuple | None, list, list]:
    """An action as the record holds it: (its current row's words, links and marking; its target dates and
    its statuses, each as (value, marking), oldest first); None and empty lists for an action not held."""
    # One query for the words (a file's load reads every action's state at once instead: store/batch.py).
    found = con.execute(
        """SELECT (SELECT [text, owner, raised_meeting, raised_on::VARCHAR, classification, note]
                   FROM actions WHERE action_id = $id ORDER BY record_id DESC LIMIT 1),
                  (SELECT [measures::VARCHAR[], providers, incidents] FROM actions WHERE action_id = $id
                   ORDER BY record_id DESC LIMIT 1),
                  (SELECT list((target_date, classification) ORDER BY record_id) FROM action_targets
                   WHERE action_id = $id),
                  (SELECT list((status, classification) ORDER BY record_id) FROM action_statuses
                   WHERE action_id = $id)""",
        {"id": action_id},
    ).fetchall()[0]
    words, links, targets, statuses = found
    targets = [tuple(t.values()) if isinstance(t, dict) else tuple(t) for t in targets or []]
    statuses = [tuple(t.values()) if isinstance(t, dict) else tuple(t) for t in statuses or []]
    if words is None:
        return None, targets, statuses
    text, owner, meeting, raised_on, classification, note = words
    return (text, owner, meeting, date.fromisoformat(raised_on), *links, note, classification), targets, statuses


def latest_seen(history: list[tuple], classification: str) -> object:
    """The latest value of a history of (value, marking) that a level admitting `classification` sees: a
    row written at that marking must differ from it to be news to them (so a WHITE restatement of an AMBER
    revision is written, and a WHITE reader sees it)."""
    seen = [value for value, mark in history if mark in admitted(classification)]
    return seen[-1] if seen else None


@one_write
def save_action(
    con: duckdb.DuckDBPyConnection,
    action: Action,
    *,
    target_date: date | None = None,
    status: str | None = None,
    on: date | None = None,
    why: str = "",
    closed_on: date | None = None,
    classification: str,
    by: str,
    based_on: int | None = None,
    check_version: bool = True,
    source: tuple[int, int] | None = None,
    audit: bool = True,
    batch: Batch | None = None,
) -> Written:
    """Record an action, or what changed in one: its words and links (a new row), a target date other than
    its latest (a revision, with `why`, set `on`), a status other than its latest (open after closed is
    'reopened'; closed on `closed_on`). Unchanged when the record already says all of it. `based_on` is the
    version the writer opened (None for a new action); another is a RecordConflict."""
    action = action.checked()
    marking(con, classification, batch.level if batch else None)
    for what, day in (("target date", target_date), ("closing day", closed_on if status == "closed" else None)):
        if day is not None and day < action.raised_on:
            raise OpsgError(
                f"action {action.action_id}: its {what} ({day:%d %b %Y}) is before the day it was raised "
                f"({action.raised_on:%d %b %Y})"
            )
    if action.raised_on > date.today():
        raise OpsgError(f"action {action.action_id}: raised on {action.raised_on:%d %b %Y}, a day still to come")
    why = words_of(why, "the reason", limit=MAX_LINE, lines=False, empty=True)
    on = on or date.today()
    if status is not None:
        choice(status, STATUSES, "status")
    if check_version:
        _check_version(con, "actions", {"action_id": action.action_id}, based_on, action.text)
    held, targets, statuses = (
        batch.actions.get(action.action_id, (None, [], [])) if batch else current_state(con, action.action_id)
    )
    latest_target, latest_status = latest_seen(targets, classification), latest_seen(statuses, classification)
    if held is None and target_date is None:
        raise OpsgError(f"action {action.action_id} is new: give its target date")
    rows, first = 0, None
    words = (
        action.text,
        action.owner,
        action.raised_meeting,
        action.raised_on,
        list(action.measures),
        list(action.providers),
        list(action.incidents),
        action.note,
        classification,
    )
    if held is None or tuple(held[:4]) + tuple(list(x) for x in held[4:7]) + tuple(held[7:]) != words:
        row = {
            "action_id": action.action_id,
            "text": action.text,
            "owner": action.owner,
            "raised_meeting": action.raised_meeting,
            "raised_on": action.raised_on,
            "measures": list(action.measures),
            "providers": list(action.providers),
            "incidents": list(action.incidents),
            "note": action.note,
        }
        first = write_row(con, batch, "actions", row | _by(by, classification, source))
        rows += 1
    if target_date is not None and target_date != latest_target:
        set_on = action.raised_on if latest_target is None else on
        reason = why or ("as raised" if latest_target is None else "")
        row = {"action_id": action.action_id, "target_date": target_date, "set_on": set_on, "why": reason}
        record_id = write_row(con, batch, "action_targets", row | _by(by, classification, source))
        targets = [*targets, (target_date, classification)]
        first = first or record_id
        rows += 1
    if latest_status is None and status is None:
        status = "open"
    if status is not None:
        was_closed = latest_status == "closed"
        wanted = "closed" if status == "closed" else ("reopened" if was_closed else "open")
        if latest_status is None or (wanted == "closed") != was_closed:
            changed_on = (
                (closed_on or on) if wanted == "closed" else (action.raised_on if latest_status is None else on)
            )
            reason = why if latest_status is not None else ""
            row = {"action_id": action.action_id, "status": wanted, "changed_on": changed_on, "why": reason}
            record_id = write_row(con, batch, "action_statuses", row | _by(by, classification, source))
            statuses = [*statuses, (wanted, classification)]
            first = first or record_id
            rows += 1
    if batch is not None:
        batch.actions[action.action_id] = (words, targets, statuses)
    if not rows:
        return UNCHANGED
    if audit:
        people.record(
            con,
            by,
            "record",
            f"action {action.action_id}: {rows} change{'s' if rows != 1 else ''}",
            classification=classification,
        )
    return Written("saved", first, rows)


# ------------------------------------------------------------------ decisions


@one_write
def add_decision(
    con: duckdb.DuckDBPyConnection,
    meeting_id: str,
    item: str,
    verb: str,
    text: str,
    *,
    measure: str | None = None,
    provider: str | None = None,
    action_id: str | None = None,
    classification: str,
    by: str,
    source: tuple[int, int] | None = None,
    audit: bool = True,
) -> Written:
    """Record what a meeting decided on an agenda item; unchanged when it is recorded already."""
    meeting_id = identifier(meeting_id, "a meeting id")
    item = words_of(item, "the agenda item", limit=MAX_ID, lines=False)
    verb = choice((verb or "").strip().upper(), VERBS, "verb")
    text = words_of(text, "the decision's text")
    measure = identifier(measure, "a measure") if measure else None
    provider = identifier(provider, "a provider") if provider else None
    action_id = identifier(action_id, "an action id") if action_id else None
    marking(con, classification)
    same = con.execute(  # recorded already, where a level admitting this marking sees it
        "SELECT count(*) FROM decisions WHERE meeting_id = ? AND item = ? AND verb = ? AND text = ?"
        " AND list_contains(?, classification)",
        [meeting_id, item, verb, text, list(admitted(classification))],
    ).fetchall()[0][0]
    if same:
        return UNCHANGED
    row = {"meeting_id": meeting_id, "item": item, "verb": verb, "text": text}
    row |= {"measure": measure, "provider": provider, "action_id": action_id}
    record_id = insert(con, "decisions", row | _by(by, classification, source))
    if audit:
        people.record(con, by, "record", f"decision {meeting_id} item {item}: {verb}", classification=classification)
    return Written("saved", record_id, 1)


# ------------------------------------------------------------------ commentary


@one_write
def save_commentary(
    con: duckdb.DuckDBPyConnection,
    month: date,
    text: str,
    *,
    measure: str | None = None,
    provider: str | None = None,
    author: str,
    classification: str,
    by: str,
    based_on: int | None = None,
    check_version: bool = True,
    source: tuple[int, int] | None = None,
    audit: bool = True,
    batch: Batch | None = None,
) -> Written:
    """A new version of the commentary on a PMR month (overall, or one measure and provider's): never an
    overwrite. Unchanged when it says what the current version says; a RecordConflict when someone saved
    since the writer opened version `based_on`."""
    month = month.replace(day=1)
    text = words_of(text, "the commentary")
    measure = identifier(measure, "a measure") if measure else None
    provider = identifier(provider, "a provider") if provider else None
    if provider and not measure:
        raise OpsgError("commentary on a provider needs its measure too")
    author = person_name(author) or person_name(by)
    if not author:
        raise OpsgError("the commentary's author is empty")
    marking(con, classification, batch.level if batch else None)
    if month > latest_figure_month():
        raise OpsgError(f"commentary on {month:%B %Y}: no PMR of that month can have been published yet")
    if (
        measure
        and not con.execute(
            "SELECT count(*) FROM main.measures WHERE measure = ? AND (? IS NULL OR provider = ?)",
            [measure, provider, provider],
        ).fetchall()[0][0]
    ):
        about = f"{measure} for {provider}" if provider else measure
        raise OpsgError(f"commentary on {about}: not a measure of the catalogue")
    key = {"month": month, "measure": measure, "provider": provider}
    if check_version:
        _check_version(con, "commentary", key, based_on, text)
    if batch is not None:
        current = (
            [batch.commentary[(month, measure, provider)]] if (month, measure, provider) in batch.commentary else []
        )
    else:
        current = con.execute(
            "SELECT text, classification FROM current_commentary WHERE month = ? "
            "AND measure IS NOT DISTINCT FROM ? AND provider IS NOT DISTINCT FROM ?",
            [month, measure, provider],
        ).fetchall()
    if current and tuple(current[0]) == (text, classification):
        return UNCHANGED
    row = key | {"text": text, "author": author} | _by(by, classification, source)
    record_id = write_row(con, batch, "commentary", row)
    if batch is not None:
        batch.commentary[(month, measure, provider)] = (text, classification)
    if audit:
        about = f"{measure} {provider or ''}".strip() if measure else "the month overall"
        people.record(con, by, "record", f"commentary on {about}", month=month, classification=classification)
    return Written("saved", record_id, 1)
