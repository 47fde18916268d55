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
import pyarrow as pa

from opsg_metrics.ingest.columnar import read_alerts_columnar
from opsg_metrics.ingest.formats import (
    CATALOGUE_SCHEMA, CLASSIFICATIONS, COLUMNS, FACT_TABLES, KIND_ORDER, KINDS, MAX_FILE_BYTES, MAX_LABEL_CHARS,
    NULLABLE_KEYS, IngestResult, Prepared, Problem, Sheet, display_name,
)
from opsg_metrics.ingest.read import check_header, read_sheets, reason
from opsg_metrics.ingest.validate import validate_sheets
from opsg_metrics.rules import status as status_rules
from opsg_metrics.store import text as text_rules
from opsg_metrics.store.catalogue import Catalogue, MeasureDef
from opsg_metrics.store.connect import database_path, explain_database_error


def prepare(
    raw: bytes, label: str, catalogue: Catalogue, kind: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None, notes: list[str] | None = None,
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
            mine = [p for p in part_problems if p.file == sheet.label and (p.file, p.row, p.column) not in refused_cells]
            if sheet_kind == "measures" and "value" not in positions and any(p.column == "value" for p in mine):
                missing.add("value")
                problems.append(Problem(sheet.label, 1, "value",
                                        "required column 'value' is missing (only a file whose every row has "
                                        "status=null may leave it out)"))
            problems += [p for p in mine if p.column not in missing]
        prepared.append(part)
        if sheet_kind == "catalogue":
            for record in part.records:
                key = (record["measure"], record["provider"])
                catalogue.measures[key] = MeasureDef(record["measure"], record["provider"], record["unit"], record["direction"])
    if not problems and not any(part.rows_read for part in prepared):
        problems.append(Problem(label, 2, "-", "no rows could be read from the file"))
    return prepared, sorted(set(problems), key=lambda p: (p.file, p.row, p.column, p.message))


def _stage_facts(con: duckdb.DuckDBPyConnection, part: Prepared) -> dict:
    """Stage one sheet's rows, marking each new, revised or unchanged against the current data."""
    table, view, keys, values, schema = FACT_TABLES[part.kind]
    if part.table is not None and not con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {keys[0]} IN (SELECT {keys[0]} FROM {part.table}))"
    ).fetchall()[0][0]:
        # Nothing loaded shares a month with the file (a new month of alerts): every row is new, and the
        # staged rows are the prepared table itself rather than a copy joined to the current data
        # (a quarter of a second for a million rows). source_row is unique in a file: it orders the slices.
        con.execute(f"CREATE OR REPLACE TEMP VIEW staged_{part.kind} AS "
                    f"SELECT *, 'new' AS change, source_row AS staged_seq FROM {part.table}")
        new = con.execute(f"SELECT count(*) FROM {part.table}").fetchall()[0][0]
        return {"new": new, "revised": 0, "unchanged": 0}
    if part.table is None:
        con.register("staged_input", pa.Table.from_pylist(part.records, schema=schema))
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW staged_input AS SELECT * FROM {part.table}")
    nullable = NULLABLE_KEYS.get(part.kind, ())
    join = " AND ".join(f"s.{k} IS NOT DISTINCT FROM c.{k}" if k in nullable else f"s.{k} = c.{k}" for k in keys)
    same = " AND ".join(f"s.{v} IS NOT DISTINCT FROM c.{v}" for v in values)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE staged_{part.kind} AS
            SELECT s.*,
                   CASE WHEN c.{keys[0]} IS NULL THEN 'new' WHEN {same} THEN 'unchanged' ELSE 'revised' END AS change,
                   row_number() OVER () - 1 AS staged_seq
            FROM staged_input AS s LEFT JOIN {view} AS c ON {join}"""
    )
    if part.table is None:
        con.unregister("staged_input")
    else:
        con.execute("DROP VIEW staged_input")
    counts = dict(con.execute(f"SELECT change, count(*) FROM staged_{part.kind} GROUP BY change").fetchall())
    return {"new": counts.get("new", 0), "revised": counts.get("revised", 0), "unchanged": counts.get("unchanged", 0)}


# Rows per INSERT statement when a load's facts are written. DuckDB 2.0.0 has a defect: while one
# cursor commits an INSERT ... SELECT of a full row group (122,880 rows) or more, another cursor of
# the same connection can see the new rows of that table but not the rest of the same transaction
# (a torn read; reproduced outside OPSG Metrics in 3 of 3 runs of eight loads). Appending the same
# rows in statements of half a row group, inside the same transaction, showed no torn read in any
# trial (see the README's reliability section), and tests/test_reliability.py checks it every run.
INSERT_SLICE_ROWS = 60_000


# Fact tables whose current view is a filter on a `superseded` flag rather than a window over every
# row (schema.sql, migrations 4 and 5): a load marks the rows its revisions replace.
SUPERSEDED_FLAG = {"alerts", "incidents"}


def _insert_facts(con: duckdb.DuckDBPyConnection, kind: str, source_id: int) -> None:
    table, _, keys, values, schema = FACT_TABLES[kind]
    columns = [f.name for f in schema]
    # staged_seq numbers the staged rows 0, 1, 2, ... or by their line in the file (rowid does not: rows
    # made inside a transaction are numbered from 2**62); the slices cover its whole range.
    low, high = con.execute(f"SELECT min(staged_seq), max(staged_seq) FROM staged_{kind}").fetchall()[0]
    for start in range(low or 0, (high or 0) + 1, INSERT_SLICE_ROWS):
        con.execute(
            f"INSERT INTO {table} ({', '.join(columns)}, source_id) "
            f"SELECT {', '.join(columns)}, ? FROM staged_{kind} "
            f"WHERE change <> 'unchanged' AND staged_seq >= ? AND staged_seq < ?",
            [source_id, start, start + INSERT_SLICE_ROWS],
        )
    if kind in SUPERSEDED_FLAG:
        same_key = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        con.execute(
            f"""UPDATE {table} AS t SET superseded = true FROM staged_{kind} AS s
                WHERE s.change = 'revised' AND {same_key} AND t.source_id <> ? AND NOT t.superseded""",
            [source_id],
        )


def _measure_revisions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        """SELECT s.month, s.measure, s.provider, c.value AS old_value, c.status AS old_status,
                  s.value AS new_value, s.status AS new_status, src.label AS old_source
           FROM staged_measures AS s
           JOIN current_measure_values AS c USING (month, measure, provider)
           JOIN sources AS src ON src.source_id = c.source_id
           WHERE s.change = 'revised' ORDER BY s.month, s.measure, s.provider"""
    ).fetchall()
    names = ("month", "measure", "provider", "old_value", "old_status", "new_value", "new_status", "old_source")
    return [dict(zip(names, row)) for row in rows]


def _stage_catalogue(con: duckdb.DuckDBPyConnection, part: Prepared) -> dict:
    con.register("staged_input", pa.Table.from_pylist(part.records, schema=CATALOGUE_SCHEMA))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE staged_catalogue AS
           SELECT s.*,
                  CASE WHEN m.measure IS NULL THEN 'new'
                       WHEN m.name = s.name AND m.unit = s.unit AND m.direction = s.direction
                            AND m.description = s.description AND m.feeds = s.feeds THEN 'unchanged'
                       ELSE 'revised' END AS measure_change,
                  CASE WHEN l.measure IS NULL THEN 'new'
                       WHEN l.target = s.target AND l.minimum = s.minimum
                            AND l.effective_to IS NOT DISTINCT FROM s.effective_to
                            AND l.source = s.source AND l.verified = s.verified THEN 'unchanged'
                       ELSE 'replaced' END AS level_change
           FROM staged_input AS s
           LEFT JOIN measures AS m USING (measure, provider)
           LEFT JOIN service_levels AS l USING (measure, provider, effective_from)"""
    )
    con.unregister("staged_input")
    counts = dict(con.execute("SELECT level_change, count(*) FROM staged_catalogue GROUP BY ALL").fetchall())
    measure_changes = con.execute(
        "SELECT count(DISTINCT (measure, provider)) FROM staged_catalogue WHERE measure_change = 'revised'"
    ).fetchall()[0][0]
    return {
        "new": counts.get("new", 0), "replaced": counts.get("replaced", 0),
        "unchanged": counts.get("unchanged", 0), "measure_changes": measure_changes,
    }


def _apply_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """INSERT INTO measures (measure, provider, name, unit, direction, description, feeds, sort_order)
           SELECT measure, provider, any_value(name), any_value(unit), any_value(direction),
                  any_value(description), any_value(feeds),
                  (SELECT coalesce(max(sort_order), 0) FROM measures) + min(source_row)
           FROM staged_catalogue WHERE measure_change <> 'unchanged'
           GROUP BY measure, provider
           ON CONFLICT (measure, provider) DO UPDATE SET
               name = excluded.name, unit = excluded.unit, direction = excluded.direction,
               description = excluded.description, feeds = excluded.feeds"""
    )
    con.execute(
        """INSERT INTO service_levels (measure, provider, target, minimum, effective_from, effective_to, source, verified)
           SELECT measure, provider, target, minimum, effective_from, effective_to, source, verified
           FROM staged_catalogue WHERE level_change <> 'unchanged'
           ON CONFLICT (measure, provider, effective_from) DO UPDATE SET
               target = excluded.target, minimum = excluded.minimum, effective_to = excluded.effective_to,
               source = excluded.source, verified = excluded.verified"""
    )


def _already_loaded(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple | None:
    rows = con.execute(
        """SELECT l.file_name, s.label, strftime(l.loaded_at, '%Y-%m-%d %H:%M')
           FROM ingest_log AS l JOIN sources AS s USING (source_id)
           WHERE l.sha256 = ? AND l.outcome = 'loaded' ORDER BY l.ingest_id LIMIT 1""",
        [sha256],
    ).fetchall()
    return rows[0] if rows else None


def _counts_message(result: IngestResult) -> str:
    parts = [f"{result.new} new", f"{result.revised} revised"]
    if result.replaced:
        parts.append(f"{result.replaced} service levels replaced")
    parts.append(f"{result.unchanged} unchanged")
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
    for what, value, limit in (("the file name", Path(file_name).name, 255), ("the source label", source, MAX_LABEL_CHARS)):
        if value is None:
            continue
        if (problem := text_rules.unprintable_problem(value)) is not None:
            problems.append(Problem(label, 1, "-", f"{what} {problem.removeprefix('text ')}"))
        elif any(c in value for c in "\t\n\r"):
            # One line on every footer, message and document: a line break could forge a line of its own
            # ("Classification: WHITE") beneath it.
            problems.append(Problem(label, 1, "-", f"{what} holds a line break or a tab; give it on one line"))
        elif len(value) > limit:
            problems.append(Problem(label, 1, "-", f"{what} is {len(value):,} characters long; at most {limit} are allowed"))
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
        if classification not in CLASSIFICATIONS:
            problems.append(Problem(label, 1, "-", f"unknown classification {text_rules.quote(classification)} "
                                                   f"(use {', '.join(CLASSIFICATIONS)})"))
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
                problems = [Problem(label, 1, "-", f"a catalogue is reference data shown on every chart and summary, "
                                                   f"so it loads as white only, not {classification} (each level "
                                                   "names its own source document)")]
            if problems:
                result.kinds = [p.kind for p in prepared]
                result.rows_read = sum(p.rows_read for p in prepared)
                return _rejected(result, problems)
            return _load_prepared(con, result, prepared, _Load(sha256, label, source or label, classification,
                                                               issued, is_sample, dry_run))
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
    previous = _already_loaded(con, load.sha256)
    if previous:
        result.outcome = "unchanged"
        result.unchanged = result.rows_read
        result.message = (
            f"already loaded: identical to '{previous[0]}' loaded {previous[2]} as source '{previous[1]}'; nothing changed"
        )
        return result
    con.execute("BEGIN TRANSACTION")
    try:
        for part in prepared:
            if part.kind == "catalogue":
                counts = _stage_catalogue(con, part)
                result.new += counts["new"]
                result.replaced += counts["replaced"]
                result.unchanged += counts["unchanged"]
                result.revised += counts["measure_changes"]
            else:
                counts = _stage_facts(con, part)
                result.new += counts["new"]
                result.revised += counts["revised"]
                result.unchanged += counts["unchanged"]
                if part.kind == "measures":
                    result.revisions = _measure_revisions(con)
        if result.new + result.revised + result.replaced == 0:
            con.execute("ROLLBACK")
            result.outcome = "unchanged"
            result.message = f"nothing new: all {result.rows_read} rows match the data already loaded; nothing changed"
            return result
        source_id = con.execute(
            """INSERT INTO sources (label, kind, classification, issued_on, file_name, sha256, is_sample)
               VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING source_id""",
            [load.source, "+".join(sorted(set(result.kinds), key=KIND_ORDER.get)), load.classification, load.issued,
             load.file, load.sha256, load.is_sample],
        ).fetchall()[0][0]
        for part in prepared:
            if part.kind == "catalogue":
                _apply_catalogue(con)
            else:
                _insert_facts(con, part.kind, source_id)
        result.source_id, result.source_label = source_id, load.source
        result.message = f"loaded {result.rows_read} rows as source '{load.source}' ({_counts_message(result)})"
        con.execute(
            """INSERT INTO ingest_log (file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome, message, loaded_by)
               VALUES (?, ?, ?, ?, ?, ?, 'loaded', ?, ?)""",
            [load.file, load.sha256, "+".join(result.kinds), source_id, result.rows_read,
             result.rows_loaded + result.replaced, result.message, _user()],
        )
        if load.dry_run:
            con.execute("ROLLBACK")
            result.outcome = "checked"
            result.source_id = None
            result.message = f"check only: would load {result.rows_read} rows ({_counts_message(result)})"
        else:
            if any(part.kind in ("measures", "catalogue") for part in prepared):
                status_rules.refresh_cache(con)     # in this transaction: figures and status commit together
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
                _drop_staged(con, part.kind)
    return result


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the load's transaction back; a commit that failed has already ended it (DuckDB then says
    'no transaction is active', which must not hide the reason the commit failed)."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _drop_staged(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Drop a load's staged rows: a temp table, or a temp view of the prepared table (_stage_facts)."""
    is_view = con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?",
                          [f"staged_{kind}"]).fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS staged_{kind}")


def _user() -> str:
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
                raise ValueError(f"the file is {info.st_size / 1e6:,.0f} MB, more than the {MAX_FILE_BYTES / 1e6:,.0f} MB "
                                 "one load may read; split it into smaller files")
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
