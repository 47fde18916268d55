"""Files of request records (README, "Measures from request records"): read, checked, pseudonymised and
kept as Parquet. A delivery (one `events load`) is one file or several: a month split in files is one.

A file (CSV or Parquet, of any size: it is streamed, never held in memory) is checked whole first, every
cell by the rules below, in one pass of DuckDB over it; any problem and the whole file is rejected with
`file:row:column: message` lines (the first MAX_PROBLEMS, and how many more), nothing stored. A file that
passes is written, pseudonymised, as month-partitioned Parquet in a staging folder (outside the write
lock: the app and other writers go on meanwhile), then moved into the events folder and entered in the
manifest in one short transaction under the write lock (store/events.py). The same delivery loaded again
changes nothing; a later delivery holding a month and series already loaded is its revision, kept beside
the old. A request given twice is looked for across every file of a delivery.

Rows are numbered as problems name them: in a CSV file the header is row 1 and the first record row 2; in
a Parquet file the first row is row 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from opsg_metrics import words
from opsg_metrics.ingest import event_checks as checks
from opsg_metrics.ingest import event_read
from opsg_metrics.ingest.event_checks import IDENTIFIER, ident
from opsg_metrics.ingest.formats import CLASSIFICATIONS, Problem, display_name
from opsg_metrics.ingest.load import already_loaded, check_names, user_name
from opsg_metrics.store import events as kept
from opsg_metrics.store import people, snapshots
from opsg_metrics.store.clearance import EVENTS_KIND
from opsg_metrics.store.connect import CONNECTION_CONFIG

DEFAULT_CLASSIFICATION = "amber"  # request records identify devices


@dataclass
class EventsResult:
    """What a load of request records did."""

    file: str
    outcome: str = "rejected"  # loaded, unchanged, checked or rejected
    rows: int = 0
    partitions: int = 0
    revised: int = 0
    source_id: int | None = None
    classification: str = DEFAULT_CLASSIFICATION
    months: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "rejected"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _regular(path: Path) -> str | None:
    """Why a path cannot be read as a file of records, or None."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode):
        return "this is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "this is not a regular file (a pipe, socket or device); save the data to a file first"
    if path.suffix.lower() not in (".csv", ".parquet"):
        return f"request records are read from .csv or .parquet files, not {path.suffix or 'a file without a suffix'}"
    return None


MEMORY_ENV = "OPSG_EVENTS_MEMORY"  # what a load's DuckDB may hold in memory before it spills to disk
DEFAULT_MEMORY = "4GB"


def _scratch(root: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one load, holding at most $OPSG_EVENTS_MEMORY (4 GB) and spilling the rest
    to the staging folder: a delivery of any size loads in bounded memory."""
    con = duckdb.connect(config=dict(CONNECTION_CONFIG))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = {kept.sql_string(os.environ.get(MEMORY_ENV, DEFAULT_MEMORY))}")
    con.execute(f"SET temp_directory = {kept.sql_string(str(root / kept.STAGING / 'spill'))}")
    return con


def _write(
    con: duckdb.DuckDBPyConnection, relation: str, typed: dict, extra: list[str], secret: bytes, target: Path
) -> None:
    """The records as partition files under `target`, pseudonymised."""
    salt = kept.sql_string(secret.decode("ascii", errors="replace"))

    def hashed(expr: str) -> str:
        # an empty cell stays empty: a pseudonym of nothing would look like an identifier
        return f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN {expr} ELSE left(sha256({salt} || ':' || {expr}), 32) END"

    def key_bytes(expr: str) -> str:  # the request's pseudonym as its 16 bytes (half the size of the hex)
        return f"unhex({hashed(expr)})"

    extras = ", ".join(
        (hashed(f"CAST({ident(c)} AS VARCHAR)") if IDENTIFIER.search(c) else f"CAST({ident(c)} AS VARCHAR)")
        + f" AS {ident(c)}"
        for c in extra
    )
    london = f"timezone('Europe/London', {typed['received_at']})"
    con.execute(
        f"""COPY (
              SELECT strftime({london}, '%Y-%m') AS month, {typed["measure"]} AS measure,
                     {typed["provider"]} AS provider, {key_bytes(typed["request_id"])} AS request_key,
                     {typed["received_at"]} AS received_at, CAST({london} AS DATE) AS day,
                     date_diff('microsecond', {typed["received_at"]}, {typed["completed_at"]}) AS response_us,
                     {typed["target_seconds"]} AS target_seconds, {typed["outcome"]} AS outcome,
                     {typed["exclusion"]} AS exclusion, CAST(source_row AS BIGINT) AS source_row{", " + extras if extras else ""}
              FROM {relation})
            TO {kept.sql_string(str(target))}
            (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month, measure, provider),
             WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'part-{{i}}')"""
    )


def _written(con: duckdb.DuckDBPyConnection, target: Path) -> list[tuple[str, str, str, str, int]]:
    """(relative path, month, measure, provider, rows) of each file written under target."""
    if not any(target.rglob("*.parquet")):
        return []
    rows = con.execute(
        f"""SELECT filename, month, measure, provider, count(*) FROM
            read_parquet({kept.sql_string(str(target / "**" / "*.parquet"))}, filename = true, hive_partitioning = false)
            GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    return [(str(Path(f).relative_to(target)), m, me, p, n) for f, m, me, p, n in rows]


@dataclass
class Staged:
    """One file of a delivery, checked and written: what the delivery's last checks and commit need."""

    label: str
    relation: str  # the file's records as DuckDB reads them (text cells, each with its source_row)
    typed: dict[str, str]
    stage: Path
    written: list[tuple[str, str, str, str, int]]  # path under stage/out, month, measure, provider, rows


GLOB = re.compile(r"[*?\[\]{}]")  # characters DuckDB reads as a pattern in a file name


def _parquet_header(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def check_and_stage(
    path: Path,
    label: str,
    series: list[tuple[str, str]],
    root: Path,
    progress: Callable[[str], None],
) -> tuple[list[Problem], int, Staged | None]:
    """A file read, checked and, when its cells pass, written as partition files in a staging folder:
    its problems (the first MAX_PROBLEMS), how many in all, and what was staged."""
    stage = root / kept.STAGING / uuid.uuid4().hex
    stage.mkdir(parents=True)
    scratch = _scratch(root)
    passed = False
    suffix = path.suffix.lower()
    # DuckDB reads a file name as a pattern: the file is read through a link of a plain name
    source = stage / f"input{suffix}"
    os.symlink(os.path.abspath(path), source)
    try:
        if suffix == ".csv":
            header, problems = event_read.header_line(source, label)
            problems = problems or checks.header_problems(label, header)
            if problems:
                return problems, len(problems), None
            progress("reading the CSV file")
            staged = stage / "raw.parquet"
            try:
                problems = event_read.csv_to_parquet(source, header, staged, label)
            except Exception as exc:  # noqa: BLE001 - pyarrow's errors of a damaged file, said in one line
                said = (str(exc).splitlines() or [exc.__class__.__name__])[0][:300]
                return [Problem(label, 0, "-", f"cannot be read as UTF-8 CSV: {said}")], 1, None
            relation = f"read_parquet({kept.sql_string(str(staged))})"
        else:
            try:
                header = _parquet_header(source)
            except Exception as exc:  # noqa: BLE001 - pyarrow's errors of a damaged file, said in one line
                said = (str(exc).splitlines() or [exc.__class__.__name__])[0][:300]
                return [Problem(label, 0, "-", f"cannot be read as Parquet: {said}")], 1, None
            problems = checks.header_problems(label, header)
            if problems:
                return problems, len(problems), None
            relation = (
                "(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS source_row FROM "
                f"read_parquet({kept.sql_string(str(source))}, file_row_number = true))"
            )
        count = scratch.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
        if count == 0 and not problems:
            return [Problem(label, 2 if suffix == ".csv" else 1, "-", "no request records in the file")], 1, None
        types = dict(
            scratch.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
        )
        rules, typed = checks.cell_rules(types, series, list(kept.exclusions()))
        progress("checking every row")
        cells, total = checks.cell_problems(scratch, relation, rules, label)
        problems, total = problems + cells, total + len(problems)
        passed = True  # the stage is kept for the delivery's check of requests given twice
        if problems:
            return problems, total, Staged(label, relation, typed, stage, [])
        progress("writing month partitions (request ids pseudonymised)")
        extra = [h for h in header if h.startswith("x_")]
        _write(scratch, relation, typed, extra, kept.key(root), stage / "out")
        return [], 0, Staged(label, relation, typed, stage, _written(scratch, stage / "out"))
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0][:300]
        return [Problem(label, 0, "-", f"could not be read: {message}")], 1, None
    finally:
        scratch.close()
        if not passed:
            shutil.rmtree(stage, ignore_errors=True)


def _commit(
    con: duckdb.DuckDBPyConnection,
    result: EventsResult,
    written: list[tuple[Path, str, str, str, str, int]],
    label: str,
    source: str,
    sha: str,
    is_sample: bool,
) -> None:
    """The staged files moved into the events folder and entered in the manifest, in one transaction
    (`written`: each staged file's folder, path under it, month, measure, provider and rows)."""
    root = kept.folder(con)
    moved: list[Path] = []
    con.execute("BEGIN TRANSACTION")
    try:
        source_id = con.execute(
            """INSERT INTO main.sources (label, kind, classification, issued_on, file_name, sha256, is_sample)
               VALUES (?, ?, ?, NULL, ?, ?, ?) RETURNING source_id""",
            [source, EVENTS_KIND, result.classification, label, sha, is_sample],
        ).fetchall()[0][0]
        current = set(
            con.execute(
                "SELECT DISTINCT strftime(month, '%Y-%m'), measure, provider FROM main.current_event_partitions"
            ).fetchall()
        )
        for index, (staged, relative, month, measure, provider, rows) in enumerate(written):
            final = root / Path(relative).parent / f"source-{source_id}-{index}.parquet"
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / relative, final)
            moved.append(final)
            con.execute(
                "INSERT INTO main.event_partitions VALUES (?, CAST(? || '-01' AS DATE), ?, ?, ?, ?)",
                [source_id, month, measure, provider, rows, str(final.relative_to(root))],
            )
        series = {(w[2], w[3], w[4]) for w in written}
        result.revised = len(series & current)
        result.rows = sum(w[5] for w in written)
        result.partitions = len(series)
        result.months = sorted({w[2] for w in written})
        result.source_id = source_id
        result.message = (
            f"loaded {result.rows:,} request records as source '{source}' "
            f"({words.plural(result.partitions, 'month and series', 'months and series')}"
            f"{f', {result.revised} of them revisions: the earlier loads kept' if result.revised else ''})"
        )
        con.execute(
            """INSERT INTO main.ingest_log (file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome, message, loaded_by)
               VALUES (?, ?, ?, ?, ?, ?, 'loaded', ?, ?)""",
            [label, sha, EVENTS_KIND, source_id, result.rows, result.rows, result.message, user_name()],
        )
        con.execute("COMMIT")
        result.outcome = "loaded"
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        for path in moved:
            path.unlink(missing_ok=True)
        raise


SAMPLE_MARK = b"ILLUSTRATIVE"  # how sample_events.py marks its Parquet files (key-value metadata `note`)


def _marked_sample(files: list[Path]) -> bool:
    """Whether every file is one of the synthetic records (its Parquet metadata says so): the load is
    then sample data, and every output of it says illustrative."""
    if any(GLOB.search(str(f)) for f in files):  # DuckDB would read the name as a pattern
        return False
    try:
        con = duckdb.connect()
        marks = [
            con.execute("SELECT value FROM parquet_kv_metadata(?) WHERE key = 'note'", [str(f)]).fetchall()
            for f in files
        ]
        con.close()
    except duckdb.Error:
        return False
    return all(f.suffix.lower() == ".parquet" for f in files) and all(
        m and m[0][0].startswith(SAMPLE_MARK) for m in marks
    )


def _delivery_label(paths: list[Path]) -> str:
    first = display_name(paths[0].name)
    return first if len(paths) == 1 else f"{first} and {words.plural(len(paths) - 1, 'more file')}"


def load_events(
    db: str | os.PathLike | None,
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    classification: str = DEFAULT_CLASSIFICATION,
    source: str | None = None,
    is_sample: bool = False,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> EventsResult:
    """Load one delivery of request records (a file, or every file of it: a month split in several files
    is one delivery) into the database's events folder, or with dry_run only check it. Every problem of
    every file is in the result; nothing is stored unless there is none. A later delivery holding a month
    and series is its revision: it replaces the earlier one's files of it, which are kept."""
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    label = _delivery_label(files) if files else "-"
    result = EventsResult(file=label, classification=classification)
    say = progress or (lambda _message: None)
    if not files:
        result.problems = [Problem("-", 0, "-", "no file given")]
    elif classification not in CLASSIFICATIONS:
        result.problems = [
            Problem(label, 0, "-", f"unknown classification {classification!r} (use {', '.join(CLASSIFICATIONS)})")
        ]
    else:
        for file in files:
            why = _regular(file)
            result.problems += [Problem(display_name(file.name), 0, "-", why)] if why else check_names(file.name, None)
        if source is not None:  # the label's problems (the first file's name is checked above)
            result.problems += [p for p in check_names(files[0].name, source) if "source label" in p.message]
    if len({os.path.realpath(f) for f in files}) < len(files):
        result.problems.append(Problem(label, 0, "-", "a file is given twice"))
    if result.problems:
        result.message = "rejected; nothing was stored"
        return result
    source = source or label
    say("reading the files' checksums")
    shas = [_sha256(f) for f in files]
    sha = shas[0] if len(shas) == 1 else hashlib.sha256(" ".join(sorted(shas)).encode()).hexdigest()
    con, _published = snapshots.reader(db)
    try:
        previous = already_loaded(con, sha, classification)
        series = con.execute("SELECT measure, provider FROM measures ORDER BY ALL").fetchall()
        root = kept.folder(con)
    finally:
        con.close()
    if previous:
        result.outcome = "unchanged"
        result.message = f"already loaded: identical to '{previous[0]}' loaded {previous[2]} as source '{previous[1]}'; nothing changed"
        return result
    root.mkdir(parents=True, exist_ok=True)
    staged: list[Staged] = []
    total = 0
    try:
        for file in files:
            problems, count, done = check_and_stage(file, display_name(file.name), series, root, say)
            result.problems += problems
            total += count
            if done is not None:
                staged.append(done)
        if staged:  # every file whose cells could be read, whatever else is wrong with it
            say("looking for a request given twice")
            scratch = _scratch(root)
            try:
                twice, count = checks.duplicate_problems(
                    scratch, [(d.label, d.relation) for d in staged], [d.typed for d in staged]
                )
            finally:
                scratch.close()
            result.problems += twice
            total += count
        if result.problems:
            result.message = f"rejected ({words.plural(total, 'problem')}); nothing was stored"
            return result
        written = [(d.stage / "out", *w) for d in staged for w in d.written]
        if dry_run:
            result.outcome = "checked"
            result.rows = sum(w[5] for w in written)
            result.partitions = len({w[2:5] for w in written})
            result.message = (
                f"check only: would load {result.rows:,} request records ({result.partitions} months and series)"
            )
            return result
        say("entering the load in the manifest")
        with snapshots.writing(db) as con:
            if (previous := already_loaded(con, sha, classification)) is not None:
                result.outcome = "unchanged"
                result.message = (
                    f"already loaded: identical to '{previous[0]}' as source '{previous[1]}'; nothing changed"
                )
                return result
            _commit(con, result, written, label, source, sha, is_sample or _marked_sample(files))
            people.record(
                con, user_name() or "command line", "load", label, classification=classification, detail=result.message
            )
        return result
    finally:
        for done in staged:
            shutil.rmtree(done.stage, ignore_errors=True)
