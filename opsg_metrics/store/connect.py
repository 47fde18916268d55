"""Opening the OPSG Metrics DuckDB file and keeping its schema current.

The schema lives in schema.sql as numbered migration blocks. A writable
connection applies any missing migrations; a read-only connection (the app)
only checks that the file's schema version is the one this code expects and
says clearly what to do when it is not.

Query results are always drained (fetchall, df): DuckDB 2 keeps a fetchone()
result open and then refuses register() and other work on the connection.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from opsg_metrics.store.errors import OpsgError, SchemaVersionError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent
DEFAULT_DB_PATH = REPO_ROOT / "data" / "opsg.duckdb"
SCHEMA_FILE = PACKAGE_DIR / "schema.sql"


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def load_migrations(schema_text: str | None = None) -> list[Migration]:
    """Split schema.sql into its numbered migration blocks, in order."""
    text = schema_text if schema_text is not None else SCHEMA_FILE.read_text(encoding="utf-8")
    header = re.compile(r"^-- migration: (\d+) (\S+)\s*$", re.MULTILINE)
    marks = list(header.finditer(text))
    migrations = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        migrations.append(Migration(int(mark.group(1)), mark.group(2), text[mark.end() : end]))
    numbers = [m.number for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"schema.sql migrations must be numbered 1, 2, 3, ... in order; found {numbers}")
    return migrations


# Migrations written as functions of the code (their SQL made from the package's own lists): schema.sql
# keeps their numbered place and says so; number -> (name, the function giving its SQL).
def _generated() -> dict[int, tuple[str, object]]:
    from opsg_metrics.store import clearance

    return {
        8: ("clearance_views", clearance.schema_sql),
        10: ("statement_views", clearance.statements_sql),
        12: ("record_views", clearance.record_sql),
        14: ("event_views", clearance.events_sql),
    }


def all_migrations() -> list[Migration]:
    """The numbered migrations, schema.sql's blocks and the generated ones, in order (one list, no gaps)."""
    generated = _generated()
    migrations = [
        Migration(m.number, m.name, generated[m.number][1]()) if m.number in generated else m for m in load_migrations()
    ]
    numbers = [m.number for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, 3, ... in order; found {numbers}")
    return migrations


MIGRATIONS = all_migrations()
SCHEMA_VERSION = MIGRATIONS[-1].number


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """The database to use: an explicit path, else $OPSG_DB, else data/opsg.duckdb."""
    if path:
        return Path(path)
    env = os.environ.get("OPSG_DB")
    if env:
        return Path(env)
    return DEFAULT_DB_PATH


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration recorded in the database (0 for a new file)."""
    has_table = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not has_table:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations the database has not seen; return their numbers."""
    migrations = MIGRATIONS if migrations is None else migrations
    latest = migrations[-1].number if migrations else 0
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp())"
    )
    current = schema_version(con)
    if current > latest:
        raise SchemaVersionError(
            f"the database has schema version {current}, newer than this OPSG Metrics "
            f"(version {latest}); update the code before using it"
        )
    applied = []
    for migration in migrations:
        if migration.number <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [migration.number, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.number)
    return applied


# Never download an extension: the machines that run OPSG Metrics may be offline, and nothing here
# needs one. Without this, DuckDB 2.0 replaying a write-ahead log that drops a table whose default is
# current_localtimestamp() (left by a process that died mid-migration) tries to fetch `icu` and the
# file cannot be opened offline.
#
# allocator_background_threads: DuckDB hands the memory a query used back to the system in the
# background, within seconds; without it a long-running app keeps the peak of every query it ran (the
# status engine over 25 years of a 113-series dataset held ~110 MB after it finished).
CONNECTION_CONFIG = {"autoinstall_known_extensions": False, "allocator_background_threads": True}


def is_duckdb_file(path: Path) -> bool:
    """Whether a regular file at `path` is a DuckDB database (by its header; never blocks on a pipe)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            return handle.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def _check_is_duckdb_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database (DuckDB would open some, such as a CSV, as one), and
    anything that is not a regular file (a pipe would make the open wait for ever)."""
    if str(path) == ":memory:" or not path.exists():
        return
    if not path.is_file():
        raise OpsgError(f"{path}: not a database file (it is a folder, a pipe or a device)")
    if path.stat().st_size == 0:
        return
    if not is_duckdb_file(path):
        raise OpsgError(f"{path}: not an OPSG Metrics database (this file is not a DuckDB database)")


def database_path(con: duckdb.DuckDBPyConnection) -> str:
    """The file a connection has open (':memory:' for none)."""
    try:
        rows = con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchall()
    except duckdb.Error:
        return "the database"
    return rows[0][0] if rows and rows[0][0] else ":memory:"


def explain_database_error(exc: BaseException, path: str | os.PathLike, *, writing: bool = False) -> OpsgError:
    """A DuckDB error as what it means for the person using OPSG Metrics: the file in use, damaged, the
    disk full, or (otherwise) what DuckDB said. One place, so every command and page words them alike."""
    message = str(exc)
    lowered = message.lower()
    if "could not set lock" in lowered or "conflicting lock" in lowered:
        return OpsgError(f"{path}: the database is in use by another process (is the app running?); stop it first")
    if "no space left on device" in lowered or "disk is full" in lowered or "errno 28" in lowered:
        kept = " Nothing was loaded; the database is as it was." if writing else ""
        return OpsgError(f"{path}: the disk is full.{kept} Free some space and try again.")
    if "corrupt database file" in lowered or "checksum" in lowered or "invalidated" in lowered and "fatal" in lowered:
        return OpsgError(
            f"{path}: the database file is damaged ({message.splitlines()[0][:200]}); "
            "restore it from a backup, or rebuild it with 'init'"
        )
    if "permission denied" in lowered or "read-only file system" in lowered:
        return OpsgError(f"{path}: no permission to {'write' if writing else 'read'} the database file")
    return OpsgError(f"{path}: database error: {message.splitlines()[0][:300] if message else exc.__class__.__name__}")


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    _check_is_duckdb_file(path)
    try:
        return duckdb.connect(str(path), read_only=read_only, config=CONNECTION_CONFIG)
    except duckdb.Error as exc:
        error = explain_database_error(exc, path, writing=not read_only)
        if "database error:" in str(error):
            error = OpsgError(f"{path}: cannot open this as an OPSG Metrics database: {exc}")
        raise error from None


_OPSG_TABLES = ("providers", "measures", "sources", "measure_values")


def _check_is_ours(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a DuckDB file made by something else before writing to it: a file with tables but no
    migrations table of ours, or without OPSG's tables, is another program's database."""
    tables = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    if tables and ("schema_migrations" not in tables or not set(_OPSG_TABLES) <= tables):
        raise OpsgError(
            f"{path}: this DuckDB file belongs to another program (it has tables, but not OPSG "
            "Metrics'); nothing was written to it. Use another file for OPSG Metrics."
        )


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database.

    Writable: creates the file (and its folder) if needed and applies missing
    migrations. Read-only: the file must exist with exactly the current schema.
    """
    db_path = resolve_db_path(path)
    if read_only:
        if not db_path.exists():
            raise OpsgError(
                f"{db_path}: no database here; create it with "
                f"'python -m opsg_metrics --db {db_path} init --sample' (or 'make run')"
            )
        con = _open(db_path, read_only=True)
        try:
            _check_is_ours(con, db_path)
            version = schema_version(con)
        except OpsgError:
            con.close()
            raise
        except duckdb.Error as exc:
            con.close()
            raise explain_database_error(exc, db_path) from None
        if version != SCHEMA_VERSION:
            con.close()
            older = version < SCHEMA_VERSION
            raise SchemaVersionError(
                f"{db_path}: the database has schema version {version}, "
                f"{'older' if older else 'newer'} than this OPSG Metrics (version {SCHEMA_VERSION}); "
                + (
                    f"upgrade it with 'python -m opsg_metrics --db {db_path} init' (keeps its data)"
                    if older
                    else "update the code before using it"
                )
            )
        return con
    if str(db_path) != ":memory:":
        db_path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(db_path, read_only=False)
    try:
        _check_is_ours(con, db_path)
        if migrate(con):
            # Fold the schema change into the file now: a process that dies before its first checkpoint
            # would otherwise leave the migration in the write-ahead log for the next open to replay.
            con.execute("CHECKPOINT")
    except OpsgError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise explain_database_error(exc, db_path, writing=True) from None
    return con


def data_version(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """Changes whenever data is loaded or the review record written: a cache key for derived results."""
    record = " UNION ALL ".join(f"SELECT max(record_id) AS r FROM {table}" for table in clearance_record_tables())
    return tuple(
        con.execute(
            "SELECT (SELECT coalesce(max(ingest_id), 0) FROM ingest_log), (SELECT count(*) FROM service_levels), "
            f"(SELECT coalesce(max(r), 0) FROM ({record}))"
        ).fetchall()[0]
    )


def clearance_record_tables() -> tuple[str, ...]:
    """The review record's tables (store/clearance.py keeps the list)."""
    from opsg_metrics.store import clearance

    return tuple(clearance.RECORD)


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> pd.DataFrame:
    """A query's result as a pandas DataFrame, through Arrow.

    DuckDB's own .df() makes a Python string object per text cell; Arrow hands pandas its string
    columns as they are (2-3x faster for the status table's 33,900 rows x 33 columns)."""
    import pyarrow as pa

    table = con.sql(sql, params=params).to_arrow_table()
    # As .df() gives them: dates as datetime64[us], decimals (a literal such as 54.8) as float64; only
    # those columns are cast (casting the whole table took as long as reading it).
    for i, f in enumerate(table.schema):
        if pa.types.is_date(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("us")))
        elif pa.types.is_decimal(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
    return table.to_pandas()
