"""Loading files into the store: read, validate, and load in one transaction.

A file with any problem is rejected whole: nothing is written and every problem is listed as
`file:row:column: message`. A valid file is loaded in one transaction that also records its source and an
ingest-log entry. A figure whose key was loaded before from another source is a revision: it is added
beside the earlier one and becomes current; a row identical to the current figure is counted as unchanged
and not stored again. Loading a file already loaded (same sha256) changes nothing and says so. The
formats are in formats.py, reading in read.py, the row rules in validate.py, the fast path for big alerts
files in columnar.py.
"""

from __future__ import annotations

import contextlib
import gc
import getpass
import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from opsg_metrics import words
from opsg_metrics.ingest import stage
from opsg_metrics.ingest.columnar import read_alerts_columnar
from opsg_metrics.ingest.formats import (
    CLASSIFICATIONS,
    COLUMNS,
    KIND_ORDER,
    KINDS,
    MAX_FILE_BYTES,
    MAX_LABEL_CHARS,
    RECORD_KINDS,
    STATEMENTS,
    IngestResult,
    Prepared,
    Problem,
    Sheet,
    display_name,
)
from opsg_metrics.ingest.header import check_header
from opsg_metrics.ingest.read import read_sheets, reason
from opsg_metrics.ingest.record import is_record, load_record
from opsg_metrics.ingest.statements import is_statements, load_statements
from opsg_metrics.ingest.validate import validate_sheets
from opsg_metrics.rules import status as status_rules
from opsg_metrics.store import clearance as cleared
from opsg_metrics.store import text as text_rules
from opsg_metrics.store.catalogue import Catalogue, MeasureDef
from opsg_metrics.store.connect import database_path, explain_database_error


def prepare(
    raw: bytes,
    label: str,
    catalogue: Catalogue,
    kind: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    notes: list[str] | None = None,
) -> tuple[list[Prepared], list[Problem]]:
    """Read and validate a whole file; every problem in it, or its rows ready to load.

    Given a connection, a plain alerts CSV is first read by DuckDB (read_alerts_columnar); a file
    that reader cannot vouch for is read row by row, which words every problem. Notes for the person
    loading the file (the encoding used, sheets not read) are added to `notes`."""
    if kind is not None and kind not in KINDS:
        return [], [Problem(label, 1, "header", f"unknown kind {text_rules.quote(kind)} (use {', '.join(KINDS)})")]
    if con is not None:
        columnar = read_alerts_columnar(con, raw, label, catalogue, kind)
        if columnar is not None:
            return [columnar], []
    reading = read_sheets(raw, label)
    problems = list(reading.problems)
    # A cell refused as it was read (cannot be printed, too long, a formula without a value) is not
    # also refused again by its column's rule.
    refused_cells = {(p.file, p.row, p.column) for p in reading.problems}
    if notes is not None:
        notes += reading.notes
    by_kind: dict[str, list[tuple[Sheet, dict[str, int]]]] = {}
    for sheet in reading.sheets:
        if sheet.kind_from_name in RECORD_KINDS:
            problems.append(
                Problem(
                    sheet.label,
                    1,
                    "header",
                    "a sheet of the review record cannot be loaded with figures: load the record's sheets "
                    f"({', '.join(RECORD_KINDS)}) as a workbook of their own",
                )
            )
            continue
        sheet_kind, positions, header_problems = check_header(sheet, kind)
        problems += header_problems
        if sheet_kind:
            by_kind.setdefault(sheet_kind, []).append((sheet, positions))
    prepared: list[Prepared] = []
    # The catalogue sheets first: the measures in this file may use measures they define.
    for sheet_kind in sorted(by_kind, key=KIND_ORDER.get):
        part, part_problems = validate_sheets(by_kind[sheet_kind], sheet_kind, catalogue)
        # A missing column is reported once, on the header, not again on every row.
        for sheet, positions in by_kind[sheet_kind]:
            missing = set(COLUMNS[sheet_kind][0]) - set(positions)
            mine = [
                p for p in part_problems if p.file == sheet.label and (p.file, p.row, p.column) not in refused_cells
            ]
            if sheet_kind == "measures" and "value" not in positions and any(p.column == "value" for p in mine):
                missing.add("value")
                problems.append(
                    Problem(
                        sheet.label,
                        1,
                        "value",
                        "required column 'value' is missing (only a file whose every row has "
                        "status=null may leave it out)",
                    )
                )
            problems += [p for p in mine if p.column not in missing]
        prepared.append(part)
        if sheet_kind == "catalogue":
            for record in part.records:
                key = (record["measure"], record["provider"])
                catalogue.measures[key] = MeasureDef(
                    record["measure"], record["provider"], record["unit"], record["direction"]
                )
    if not problems and not any(part.rows_read for part in prepared):
        problems.append(Problem(label, 2, "-", "no rows could be read from the file"))
    return prepared, sorted(set(problems), key=lambda p: (p.file, p.row, p.column, p.message))


def already_loaded(con: duckdb.DuckDBPyConnection, sha256: str, classification: str) -> tuple | None:
    """The load of the same file before, at this marking or a less restrictive one (the same file loaded
    before at a more restrictive marking is new to the people its new marking admits)."""
    rows = con.execute(
        """SELECT l.file_name, s.label, strftime(l.loaded_at, '%Y-%m-%d %H:%M')
           FROM ingest_log AS l JOIN sources AS s USING (source_id)
           WHERE l.sha256 = ? AND l.outcome = 'loaded' AND s.classification IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY l.ingest_id LIMIT 1""",
        [sha256, list(cleared.admitted(classification))],
    ).fetchall()
    return rows[0] if rows else None


def _counts_message(con: duckdb.DuckDBPyConnection, result: IngestResult) -> str:
    parts = [f"{result.new} new", f"{result.revised} revised"]
    if result.replaced:
        parts.append(f"{result.replaced} service levels replaced")
    parts.append(f"{result.unchanged} unchanged")
    if result.restated and cleared.level_of(con) == cleared.ALL_DATA:
        parts.append(words.restated(result.restated))
    return ", ".join(parts)


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for a load: reading a big file makes millions of small
    objects, and the collector scanning them again and again took 45% of a 1,000,000-row load and made
    its time grow faster than the file (they hold no cycles; it runs again at the end)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_names(file_name: str, source: str | None) -> list[Problem]:
    """The file name and the source label, checked as text: both are printed on every chart footer and
    document that shows the file's data, so a character that cannot be printed is refused here."""
    label = display_name(Path(file_name).name)
    problems = []
    for what, value, limit in (
        ("the file name", Path(file_name).name, 255),
        ("the source label", source, MAX_LABEL_CHARS),
    ):
        if value is None:
            continue
        if (problem := text_rules.unprintable_problem(value)) is not None:
            problems.append(Problem(label, 1, "-", f"{what} {problem.removeprefix('text ')}"))
        elif any(c in value for c in "\t\n\r"):
            # One line on every footer, message and document: a line break could forge a line of its own
            # ("Classification: WHITE") beneath it.
            problems.append(Problem(label, 1, "-", f"{what} holds a line break or a tab; give it on one line"))
        elif len(value) > limit:
            problems.append(
                Problem(label, 1, "-", f"{what} is {len(value):,} characters long; at most {limit} are allowed")
            )
        elif what == "the source label" and not value.strip():
            problems.append(Problem(label, 1, "-", "the source label is empty"))
    return problems


def ingest_bytes(
    con: duckdb.DuckDBPyConnection,
    raw: bytes,
    file_name: str,
    *,
    kind: str | None = None,
    source: str | None = None,
    classification: str = "white",
    issued: date | None = None,
    is_sample: bool = False,
    dry_run: bool = False,
) -> IngestResult:
    """Validate and load one file's bytes; see the module docstring for the rules.

    kind: the file's kind (default: detected from its header); source: the source document's label
    (default: the file name); classification: the source's marking; issued: its issue date;
    is_sample: the file is illustrative sample data; dry_run: carry the whole load out inside the
    transaction and roll it back, so the counts are exactly what a real load would do.
    """
    with _collector_paused():
        label = display_name(Path(file_name).name)
        result = IngestResult(file=label, outcome="rejected")
        problems = check_names(file_name, source)
        if (
            not problems
            and classification in CLASSIFICATIONS
            and (kind in RECORD_KINDS or (kind is None and is_record(raw, label)))
        ):
            return load_record(
                con,
                raw,
                Path(file_name).name,
                kind=kind,
                source=source,
                classification=classification,
                issued=issued,
                loaded_by=user_name(),
                is_sample=is_sample,
                dry_run=dry_run,
            )
        if (
            not problems
            and classification in CLASSIFICATIONS
            and (kind == STATEMENTS or (kind is None and is_statements(raw)))
        ):
            return load_statements(
                con,
                raw,
                Path(file_name).name,
                source=source,
                classification=classification,
                issued=issued,
                loaded_by=user_name(),
                dry_run=dry_run,
            )
        if classification not in CLASSIFICATIONS:
            problems.append(
                Problem(
                    label,
                    1,
                    "-",
                    f"unknown classification {text_rules.quote(classification)} (use {', '.join(CLASSIFICATIONS)})",
                )
            )
        if problems:
            return _rejected(result, problems)
        sha256 = hashlib.sha256(raw).hexdigest()
        catalogue = Catalogue.from_db(con)
        prepared: list[Prepared] = []
        try:
            prepared, problems = prepare(raw, label, catalogue, kind, con, notes=result.notes)
            if not problems and classification != "white" and any(p.kind == "catalogue" for p in prepared):
                # The catalogue's names and levels are drawn on every chart and stated in every summary,
                # which carry the marking of their figures' sources only: the catalogue must be publishable.
                problems = [
                    Problem(
                        label,
                        1,
                        "-",
                        f"a catalogue is reference data shown on every chart and summary, "
                        f"so it loads as white only, not {classification} (each level "
                        "names its own source document)",
                    )
                ]
            if problems:
                result.kinds = [p.kind for p in prepared]
                result.rows_read = sum(p.rows_read for p in prepared)
                return _rejected(result, problems)
            return _load_prepared(
                con, result, prepared, _Load(sha256, label, source or label, classification, issued, is_sample, dry_run)
            )
        except (RecursionError, MemoryError) as exc:
            return _rejected(result, [Problem(label, 1, "-", f"the file cannot be read: {reason(exc)}")])
        finally:
            for part in prepared:
                if part.table:
                    con.execute(f"DROP TABLE IF EXISTS {part.table}")


def _rejected(result: IngestResult, problems: list[Problem]) -> IngestResult:
    result.problems = problems
    result.message = f"rejected: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was loaded"
    return result


@dataclass(frozen=True)
class _Load:
    """What a load records beside its rows."""

    sha256: str
    file: str
    source: str
    classification: str
    issued: date | None
    is_sample: bool
    dry_run: bool


def _load_prepared(
    con: duckdb.DuckDBPyConnection, result: IngestResult, prepared: list[Prepared], load: _Load
) -> IngestResult:
    result.kinds = [p.kind for p in prepared]
    result.rows_read = sum(p.rows_read for p in prepared)
    previous = already_loaded(con, load.sha256, load.classification)
    if previous:
        result.outcome = "unchanged"
        result.unchanged = result.rows_read
        result.message = f"already loaded: identical to '{previous[0]}' loaded {previous[2]} as source '{previous[1]}'; nothing changed"
        return result
    con.execute("BEGIN TRANSACTION")
    stored = 0  # fact rows the load writes (a restatement a less restrictive level needs is one)
    try:
        for part in prepared:
            if part.kind == "catalogue":
                counts = stage.stage_catalogue(con, part)
                result.new += counts["new"]
                result.replaced += counts["replaced"]
                result.unchanged += counts["unchanged"]
                result.revised += counts["measure_changes"]
            else:
                counts = stage.stage_facts(con, part, load.classification)
                stored += counts["stored"]
                result.restated += counts["restated"]
                result.new += counts["new"]
                result.revised += counts["revised"]
                result.unchanged += counts["unchanged"]
                if part.kind == "measures":
                    result.revisions = stage.measure_revisions(con)
        if stored + result.new + result.revised + result.replaced == 0:
            con.execute("ROLLBACK")
            result.outcome = "unchanged"
            result.message = f"nothing new: all {result.rows_read} rows match the data already loaded; nothing changed"
            return result
        source_id = con.execute(
            """INSERT INTO main.sources (label, kind, classification, issued_on, file_name, sha256, is_sample)
               VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING source_id""",
            [
                load.source,
                "+".join(sorted(set(result.kinds), key=KIND_ORDER.get)),
                load.classification,
                load.issued,
                load.file,
                load.sha256,
                load.is_sample,
            ],
        ).fetchall()[0][0]
        for part in prepared:
            if part.kind == "catalogue":
                stage.apply_catalogue(con)
            else:
                stage.insert_facts(con, part.kind, source_id)
        result.source_id, result.source_label = source_id, load.source
        result.message = f"loaded {result.rows_read} rows as source '{load.source}' ({_counts_message(con, result)})"
        con.execute(
            """INSERT INTO main.ingest_log (file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome, message, loaded_by)
               VALUES (?, ?, ?, ?, ?, ?, 'loaded', ?, ?)""",
            [
                load.file,
                load.sha256,
                "+".join(result.kinds),
                source_id,
                result.rows_read,
                result.rows_loaded + result.replaced,
                result.message,
                user_name(),
            ],
        )
        if load.dry_run:
            con.execute("ROLLBACK")
            result.outcome = "checked"
            result.source_id = None
            result.message = f"check only: would load {result.rows_read} rows ({_counts_message(con, result)})"
        else:
            if any(part.kind in ("measures", "catalogue") for part in prepared):
                status_rules.refresh_cache(con)  # in this transaction: figures and status commit together
            con.execute("COMMIT")
            result.outcome = "loaded"
    except BaseException as exc:
        _roll_back(con)
        if isinstance(exc, duckdb.Error):
            raise explain_database_error(exc, database_path(con), writing=True) from None
        raise
    finally:
        for part in prepared:
            with contextlib.suppress(duckdb.Error):
                stage.drop_staged(con, part.kind)
    return result


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the load's transaction back; a commit that failed has already ended it (DuckDB then says
    'no transaction is active', which must not hide the reason the commit failed)."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return ""


def read_file_bytes(path: str | Path) -> bytes:
    """A file's bytes, if it is a regular file of at most MAX_FILE_BYTES; ValueError saying why not.

    A FIFO would wait for ever and a device such as /dev/zero would never end: only regular files."""
    file_path = Path(path)
    try:
        if stat.S_ISDIR(os.stat(file_path).st_mode):
            raise ValueError("this is a folder, not a file")
        # Non-blocking: a FIFO put in the file's place after the check still cannot make the open wait.
        with open(file_path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("this is not a regular file (a pipe, socket or device); save the data to a file first")
            if info.st_size > MAX_FILE_BYTES:
                raise ValueError(
                    f"the file is {info.st_size / 1e6:,.0f} MB, more than the {MAX_FILE_BYTES / 1e6:,.0f} MB "
                    "one load may read; split it into smaller files"
                )
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read the file: {exc.strerror or exc}") from None


def ingest_file(con: duckdb.DuckDBPyConnection, path: str | Path, **options: object) -> IngestResult:
    """Load one file from disk (the options are ingest_bytes's)."""
    file_path = Path(path)
    try:
        raw = read_file_bytes(file_path)
    except ValueError as exc:
        result = IngestResult(file=display_name(file_path.name), outcome="rejected")
        return _rejected(result, [Problem(result.file, 1, "-", str(exc))])
    return ingest_bytes(con, raw, file_path.name, **options)


def ingest_seen_by(
    con: duckdb.DuckDBPyConnection,
    raw: bytes,
    file_name: str,
    *,
    clearance: str,
    dry_run: bool = False,
    **options: object,
) -> IngestResult:
    """ingest_bytes on `con` (which reads every source), reported as a person cleared to `clearance` sees it.

    The check, its counts, its revisions and its messages are made against only the sources the level
    admits (store/clearance.py), so loading a file tells nobody about a source they may not see: a
    restated AMBER figure is "new" to a person cleared WHITE, as it would be had the AMBER source never
    been loaded. The load itself is made on `con`, with every source (a revision of a hidden figure is
    still recorded as one). The options are ingest_bytes's."""
    if clearance == cleared.ALL_DATA:
        return ingest_bytes(con, raw, file_name, dry_run=dry_run, **options)
    seen = ingest_bytes(cleared.scope(con.cursor(), clearance), raw, file_name, dry_run=True, **options)
    if dry_run or seen.outcome != "checked":
        return seen
    done = ingest_bytes(con, raw, file_name, **options)
    if done.outcome == "rejected":
        return done
    seen.outcome, seen.source_id, seen.source_label = done.outcome, done.source_id, done.source_label
    if done.outcome == "loaded":
        seen.message = f"loaded {seen.rows_read} rows as source '{done.source_label}' ({_counts_message(con, seen)})"
    else:
        seen.message = "nothing changed: the database already holds these rows"
    return seen
