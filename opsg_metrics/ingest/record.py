"""Files of the review record: meetings, actions, decisions and commentary (CSV or XLSX; a workbook's sheets
named after the kinds). The columns are RECORD_COLUMNS (README, *File formats*).

Each row is checked by the rules the app's forms use (store/record.py) and the catalogue; a file with any
problem is rejected whole, every problem a `file:row:column: message`. A valid file is one transaction: its
source, its rows, the ingest log. A row for an action already held with another target date or status is a
revision of it (kept in its history, set on the file's issue date, else today); a commentary other than the
current one for its month, measure and provider is a new version; a row the record already says changes
nothing, so loading one file twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import date

import duckdb

from opsg_metrics import words
from opsg_metrics.ingest.formats import RECORD_COLUMNS, RECORD_KINDS, IngestResult, Problem, Sheet, display_name
from opsg_metrics.ingest.header import normalise_header, record_kind
from opsg_metrics.ingest.read import decode, field_separator, is_workbook, read_sheets
from opsg_metrics.store import parse, record
from opsg_metrics.store.batch import Batch, transaction
from opsg_metrics.store.catalogue import Catalogue
from opsg_metrics.store.classification import ORDER as CLASSIFICATIONS
from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.text import quote

ORDER = ("meetings", "actions", "decisions", "commentary")  # a workbook's sheets are loaded in this order
MAX_ROWS = 10_000
LIST_SEPARATOR = ";"  # an action's measures, providers or incidents: 'CPM1; CPM2'


def _headers(raw: bytes, label: str) -> list[set[str]]:
    """The header of each sheet (a workbook's) or of the text (its first line, however it is encoded and
    separated, as read.py reads it)."""
    if is_workbook(raw, label):
        return [{normalise_header(h) for h in sheet.header} for sheet in read_sheets(raw, label).sheets]
    head = raw[:65536]
    newline = {b"\xff\xfe": b"\n\x00", b"\xfe\xff": b"\x00\n"}.get(raw[:2], b"\n")  # UTF-16's, or one byte
    end = head.find(newline)
    head = head[: end + len(newline)] if end > 0 else head
    try:
        text, _ = decode(head)
    except ValueError:
        return []
    lines = text.splitlines()[:1]  # any line end: a lone carriage return too
    try:
        first = next(csv.reader(lines, delimiter=field_separator(text)), [])
    except csv.Error:
        return []
    return [{normalise_header(c) for c in first}]


def is_record(raw: bytes, label: str) -> bool:
    """Whether a file is one of the review record's (by its header, or its sheets' names)."""
    if is_workbook(raw, label):
        sheets = read_sheets(raw, label).sheets
        return bool(sheets) and all(
            (s.kind_from_name or "") in RECORD_KINDS or record_kind({normalise_header(h) for h in s.header})
            for s in sheets
        )
    return any(record_kind(h) for h in _headers(raw, label))


def _kind_of(sheet: Sheet, kind: str | None) -> str | None:
    title = sheet.label.rsplit("[", 1)[-1].rstrip("]").strip().lower() if sheet.label.endswith("]") else ""
    return (
        kind or (title if title in RECORD_KINDS else None) or record_kind({normalise_header(h) for h in sheet.header})
    )


def _listed(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(LIST_SEPARATOR) if part.strip())


class _Row:
    """One row's cells by column name, with the problems of reading them."""

    def __init__(self, sheet: Sheet, number: int, cells: list[str], positions: dict[str, int]) -> None:
        self.sheet, self.number, self.problems = sheet, number, []
        self.cells = {name: (cells[i].strip() if i < len(cells) else "") for name, i in positions.items()}

    def bad(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.sheet.label, self.number, column, message))

    def get(self, column: str, read=None):
        value = self.cells.get(column, "")
        if not value or read is None:
            return value
        try:
            return read(value)
        except (ValueError, OpsgError) as exc:
            self.bad(column, str(exc))
            return None


def _measure(row: _Row, catalogue: Catalogue, column: str = "measure") -> tuple[str, ...]:
    known = {m for m, _ in catalogue.measures}
    found = []
    for measure in _listed(row.get(column)):
        if measure not in known:
            row.bad(column, f"unknown measure {quote(measure)} (not in the catalogue)")
        found.append(measure)
    return tuple(found)


def _provider(row: _Row, catalogue: Catalogue, column: str = "provider") -> tuple[str, ...]:
    found = []
    for provider in _listed(row.get(column)):
        try:
            found.append(catalogue.resolve_provider(provider))
        except ValueError as exc:
            row.bad(column, str(exc))
    return tuple(found)


def _one(row: _Row, values: tuple[str, ...], column: str) -> str | None:
    if len(values) > 1:
        row.bad(column, "give one, not a list")
    return values[0] if values else None


def _check_words(row: _Row, column: str, **rules) -> str:
    try:
        return record.words_of(row.get(column), f"the {column.replace('_', ' ')}", **rules)
    except OpsgError as exc:
        row.bad(column, str(exc))
        return ""


def _check_id(row: _Row, column: str) -> str:
    try:
        return record.identifier(row.get(column), f"the {column.replace('_', ' ')}")
    except OpsgError as exc:
        row.bad(column, str(exc))
        return ""


def _check_choice(row: _Row, column: str, allowed: tuple[str, ...], upper: bool = False) -> str:
    value = row.get(column)
    value = value.upper() if upper else value.lower()
    if value not in allowed:
        row.bad(column, f"unknown {column} {quote(value)} (use {', '.join(allowed)})")
    return value


def _marking(row: _Row, file_marking: str) -> str:
    value = row.get("classification").lower()
    if value and value not in CLASSIFICATIONS:
        row.bad("classification", f"unknown classification {quote(value)} (use {', '.join(CLASSIFICATIONS)})")
        return file_marking
    return most_restrictive([file_marking, value or file_marking])  # a row is never marked below its file


def _checked(kind: str, row: _Row, catalogue: Catalogue, marking: str) -> dict:
    """One row as the keyword arguments of its write (store/record.py), its problems noted on `row`."""
    marked = _marking(row, marking)
    if kind == "meetings":
        return {
            "meeting_id": _check_id(row, "meeting_id"),
            "on": row.get("date", parse.parse_date),
            "kind": _check_choice(row, "kind", record.MEETING_KINDS),
            "pmr_month": row.get("pmr_month", parse.parse_month),
            "classification": marked,
        }
    if kind == "actions":
        action = record.Action(
            _check_id(row, "action_id"),
            _check_words(row, "text"),
            _check_words(row, "owner", limit=record.MAX_LINE, lines=False),
            _check_id(row, "raised_meeting"),
            row.get("raised_on", parse.parse_date),
            _measure(row, catalogue),
            _provider(row, catalogue),
            _listed(row.get("incident")),
            _check_words(row, "note", empty=True),
        )
        return {
            "action": action,
            "target_date": row.get("target_date", parse.parse_date),
            "status": _check_choice(row, "status", record.STATUSES),
            "closed_on": row.get("closed_on", parse.parse_date) or None,
            "why": " ".join(action.note.split())[: record.MAX_LINE],
            "classification": marked,
        }
    if kind == "decisions":
        return {
            "meeting_id": _check_id(row, "meeting_id"),
            "item": _check_words(row, "item", limit=record.MAX_ID, lines=False),
            "verb": _check_choice(row, "verb", record.VERBS, upper=True),
            "text": _check_words(row, "text"),
            "measure": _one(row, _measure(row, catalogue), "measure"),
            "provider": _one(row, _provider(row, catalogue), "provider"),
            "action_id": row.get("action_id", lambda v: record.identifier(v, "the action id")) or None,
            "classification": marked,
        }
    measure = _one(row, _measure(row, catalogue), "measure")
    provider = _one(row, _provider(row, catalogue), "provider")
    if provider and not measure:
        row.bad("provider", "commentary on a provider needs its measure too")
    return {
        "month": row.get("month", parse.parse_month),
        "text": _check_words(row, "text"),
        "measure": measure,
        "provider": provider,
        "author": row.get("author", record.person_name),
        "classification": marked,
    }


def _key(kind: str, checked: dict) -> tuple:
    """What one row of a kind is about: one file may say it once (a second row for it would be a history
    with no dates to order it by)."""
    if kind == "meetings":
        return (checked["meeting_id"],)
    if kind == "actions":
        return (checked["action"].action_id,)
    if kind == "decisions":
        return (checked["meeting_id"], checked["item"], checked["verb"], checked["text"])
    return (checked["month"], checked["measure"], checked["provider"])


WHAT = {
    "meetings": "meeting",
    "actions": "action",
    "decisions": "decision",
    "commentary": "month, measure and provider",
}


def _duplicates(kind: str, label: str, number: int, checked: dict, seen: dict, problems: list[Problem]) -> None:
    key = (kind, *_key(kind, checked))
    if key in seen:
        first_label, first_row = seen[key]
        where = f"row {first_row}" if first_label == label else f"{first_label} row {first_row}"
        column = {"meetings": "meeting_id", "actions": "action_id", "decisions": "text", "commentary": "month"}[kind]
        problems.append(
            Problem(label, number, column, f"duplicate of {where}: the same {WHAT[kind]} twice in one file")
        )
    else:
        seen[key] = (label, number)


def _read(raw: bytes, label: str, kind: str | None, catalogue: Catalogue, marking: str):
    reading = read_sheets(raw, label)
    problems = list(reading.problems)
    refused = {(p.file, p.row, p.column) for p in reading.problems}
    seen: dict[tuple, tuple[str, int]] = {}
    rows: list[tuple[str, int, dict]] = []
    for sheet in reading.sheets:
        sheet_kind = _kind_of(sheet, kind)
        if sheet_kind not in RECORD_COLUMNS:
            problems.append(Problem(sheet.label, 1, "header", "cannot tell which record this sheet holds"))
            continue
        required, optional = RECORD_COLUMNS[sheet_kind]
        positions: dict[str, int] = {}
        for index, name in enumerate(normalise_header(h) for h in sheet.header):
            if name in positions:
                problems.append(Problem(sheet.label, 1, name, f"column {quote(name)} appears twice"))
            elif name:
                positions[name] = index
        for column in required:
            if column not in positions:
                problems.append(Problem(sheet.label, 1, column, f"required column {quote(column)} is missing"))
        for column in list(positions):
            if column.startswith("x_"):  # a column of the sender's own, ignored as in every other file
                del positions[column]
            elif column not in required + optional:
                columns = ", ".join(required + optional)
                problems.append(
                    Problem(sheet.label, 1, column, f"unknown column {quote(column)} ({sheet_kind}: {columns})")
                )
        if any(p.file == sheet.label and p.row == 1 and p.column in required for p in problems):
            continue
        if len(sheet.rows) > MAX_ROWS:
            problems.append(Problem(sheet.label, MAX_ROWS + 2, "-", f"more than {MAX_ROWS:,} rows in one sheet"))
            continue
        for number, cells in sheet.rows:
            row = _Row(sheet, number, cells, positions)
            if any(c.strip() for c in cells[len(sheet.header) :]):
                row.bad("-", f"has {len(cells)} cells but the header only {len(sheet.header)}")
            checked = _checked(sheet_kind, row, catalogue, marking)
            said = {p.column for p in row.problems}
            for column in required:
                if column not in said and not row.get(column):
                    row.bad(column, "is empty")
            # A cell refused as it was read (cannot be printed, too long, a formula without a value) is not
            # refused again by its column's rule.
            problems += [p for p in row.problems if (p.file, p.row, p.column) not in refused]
            rows.append((sheet_kind, number, checked))
            _duplicates(sheet_kind, sheet.label, number, checked, seen, problems)
    if not problems and not rows:
        problems.append(Problem(label, 2, "-", "no rows could be read from the file"))
    return reading, rows, sorted(set(problems), key=lambda p: (p.file, p.row, p.column, p.message))


WRITES = {
    "meetings": record.add_meeting,
    "actions": record.save_action,
    "decisions": record.add_decision,
    "commentary": record.save_commentary,
}


def load_record(
    con: duckdb.DuckDBPyConnection,
    raw: bytes,
    file_name: str,
    *,
    kind: str | None = None,
    source: str | None = None,
    classification: str = "white",
    issued: date | None = None,
    loaded_by: str = "",
    is_sample: bool = False,
    dry_run: bool = False,
) -> IngestResult:
    """Check and load a file of the review record (see the module's notes)."""
    label = display_name(file_name)
    result = IngestResult(file=label, outcome="rejected")
    reading, rows, problems = _read(raw, label, kind, Catalogue.from_db(con), classification)
    result.notes += reading.notes
    result.kinds = sorted({k for k, _, _ in rows}, key=ORDER.index)
    result.rows_read = len(rows)
    if not problems:
        try:
            record.marking(con, classification)
        except OpsgError as exc:
            problems = [Problem(label, 1, "-", str(exc))]
    if problems:
        result.problems = problems
        result.message = f"rejected: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was loaded"
        return result
    sha256 = hashlib.sha256(raw).hexdigest()
    before = con.execute(
        """SELECT l.file_name, strftime(l.loaded_at, '%Y-%m-%d %H:%M') FROM main.ingest_log AS l
           WHERE l.sha256 = ? AND l.outcome = 'loaded' ORDER BY l.ingest_id LIMIT 1""",
        [sha256],
    ).fetchall()
    if before:  # an old file loaded again would move the record back: it is the record already
        result.outcome, result.unchanged = "unchanged", result.rows_read
        result.message = f"already loaded: identical to '{before[0][0]}' loaded {before[0][1]}; nothing changed"
        return result
    try:
        return _write(
            con,
            rows,
            result,
            _Load(source or label, classification, issued, label, sha256, loaded_by, is_sample, dry_run),
        )
    except _RolledBack as rolled_back:
        return rolled_back.result


class _RolledBack(Exception):
    """A load that wrote nothing in the end (nothing new, a check only, a row the record refused)."""

    def __init__(self, result: IngestResult) -> None:
        self.result = result


@dataclass(frozen=True)
class _Load:
    source: str
    classification: str
    issued: date | None
    label: str
    sha256: str
    loaded_by: str
    is_sample: bool
    dry_run: bool


def _write(con: duckdb.DuckDBPyConnection, rows: list, result: IngestResult, load: _Load) -> IngestResult:
    problems: list[Problem] = []
    on = load.issued or date.today()
    with transaction(con):
        source_id = con.execute(
            """INSERT INTO main.sources (label, kind, classification, issued_on, file_name, sha256, is_sample)
               VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING source_id""",
            [
                load.source,
                "+".join(result.kinds),
                load.classification,
                load.issued,
                load.label,
                load.sha256,
                load.is_sample,
            ],
        ).fetchall()[0][0]
        changes = 0
        batch = Batch(con)  # the actions' and commentary's rows, inserted together below
        for row_kind, number, arguments in sorted(rows, key=lambda r: ORDER.index(r[0])):
            options = {"by": load.loaded_by, "source": (source_id, number), "audit": False}
            if row_kind == "actions":
                options |= {"on": on, "check_version": False, "batch": batch}
            if row_kind == "commentary":
                author = arguments["author"] or load.loaded_by or "secretariat"
                options |= {"check_version": False, "author": author, "batch": batch}
            try:
                written = WRITES[row_kind](con, **(arguments | options))
            except OpsgError as exc:
                problems.append(Problem(load.label, number, "-", str(exc)))
                continue
            changes += written.rows
            result.new += written.outcome == "saved"
            result.unchanged += written.outcome == "unchanged"
        batch.flush()
        if problems:
            result.problems = problems
            result.message = f"rejected: {len(problems)} problems; nothing was loaded"
            raise _RolledBack(result)
        if not changes:
            result.outcome = "unchanged"
            result.message = f"nothing new: all {result.rows_read} rows are in the record already; nothing changed"
            raise _RolledBack(result)
        result.source_id, result.source_label = source_id, load.source
        result.message = (
            f"loaded {words.plural(result.rows_read, 'row')} as source '{load.source}' "
            f"({result.new} new to the record, {result.unchanged} already in it)"
        )
        con.execute(
            """INSERT INTO main.ingest_log (file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome,
                   message, loaded_by) VALUES (?, ?, ?, ?, ?, ?, 'loaded', ?, ?)""",
            [
                load.label,
                load.sha256,
                "+".join(result.kinds),
                source_id,
                result.rows_read,
                result.new,
                result.message,
                load.loaded_by,
            ],
        )
        if load.dry_run:
            result.outcome, result.source_id = "checked", None
            result.message = f"check only: would load {result.rows_read} rows ({result.new} new to the record)"
            raise _RolledBack(result)
        result.outcome = "loaded"
    return result
