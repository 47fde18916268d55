"""Request records kept: month-partitioned Parquet files beside the database, and their manifest.

The rows of an events load are not in the DuckDB file (a month of the network's requests is billions of
rows, tens of GB): they are Parquet files in the database's events folder, hive-style,

    <db>.events/month=YYYY-MM/measure=M/provider=P/source-N-I.parquet

and the manifest table `event_partitions` (schema.sql, migration 13) names each file with its source (kind
`events`, its marking), month, series and rows. A file is written once and never changed; a partition
loaded again by a later source is a revision kept beside the old one, and readers take only the files the
manifest names as current (`current_event_partitions`, per clearance level: store/clearance.events_sql).
Readers of a snapshot find the folder from the working database's name, so the app and the commands read
the same files.

Request ids and device identifiers are pseudonymised at load with a keyed hash: the key is `OPSG_EVENTS_KEY`
when set, else a random key made once and kept in the events folder (`KEY`, readable by its owner only).
"""

from __future__ import annotations

import csv
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.connect import REPO_ROOT, database_path
from opsg_metrics.store.errors import OpsgError

EXCLUSIONS_FILE = REPO_ROOT / "data" / "catalogue" / "exclusions.csv"
KEY_ENV = "OPSG_EVENTS_KEY"
KEY_FILE = "KEY"
STAGING = ".loading"  # a load's files are written here first, moved into place in its transaction
OUTCOMES = ("completed", "failed", "timed_out")
# The columns of a stored partition file (ingest/events.py writes them, rules/events.sql reads them).
STORED = ("request_key", "received_at", "day", "response_us", "target_seconds", "outcome", "exclusion", "source_row")
PARTITION = ("month", "measure", "provider")


@dataclass(frozen=True)
class Exclusion:
    code: str
    description: str
    source: str


def exclusions(path: Path = EXCLUSIONS_FILE) -> dict[str, Exclusion]:
    """The exclusion reasons a request may carry (data/catalogue/exclusions.csv), by code."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: Exclusion(row["code"], row["description"], row["source"]) for row in csv.DictReader(handle)
        }


def working_database(con: duckdb.DuckDBPyConnection) -> Path:
    """The working database a connection's file belongs to (a snapshot's, or the file itself)."""
    path = Path(database_path(con))
    if path.parent.name.endswith(".snapshots"):
        return path.parent.with_name(path.parent.name.removesuffix(".snapshots"))
    return path


def folder(con: duckdb.DuckDBPyConnection) -> Path:
    """The events folder of a connection's database."""
    db = working_database(con)
    if str(db) in (":memory:", "the database"):
        raise OpsgError("request records need a database file (an in-memory database has no events folder)")
    root = db.with_name(db.name + ".events")
    if any(c in str(root) for c in "*?[]{}"):
        raise OpsgError(
            f"{root}: request records cannot be kept in a folder whose path holds * ? [ ] {{ or }} "
            "(DuckDB reads them as a pattern); give the database a plain path"
        )
    return root


def key(root: Path) -> bytes:
    """The pseudonymisation key: $OPSG_EVENTS_KEY, else the folder's own (made once, owner-only)."""
    given = os.environ.get(KEY_ENV)
    if given:
        return given.encode("utf-8")
    path = root / KEY_FILE
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode("ascii")


@dataclass(frozen=True)
class Selection:
    """The current files of some months and series, with the sources they came from."""

    root: Path
    files: tuple[str, ...]
    rows: int
    source_ids: tuple[int, ...]
    classification: str

    @property
    def empty(self) -> bool:
        return not self.files


def sql_string(text: str) -> str:
    """A value as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _where(months: list[date] | None, measure: str | None, provider: str | None) -> tuple[str, list]:
    clauses, params = [], []
    if months is not None:
        clauses.append("month IN (SELECT unnest(?::DATE[]))")
        params.append(months)
    if measure is not None:
        clauses.append("measure = ?")
        params.append(measure)
    if provider is not None:
        clauses.append("provider = ?")
        params.append(provider)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def select(
    con: duckdb.DuckDBPyConnection,
    months: list[date] | None = None,
    measure: str | None = None,
    provider: str | None = None,
) -> Selection:
    """The current partition files (as the connection's clearance admits them) of the months and series
    asked for: every month, measure or provider when not given."""
    where, params = _where(months, measure, provider)
    rows = con.execute(
        f"""SELECT p.path, p.rows, p.source_id, s.classification
            FROM current_event_partitions AS p JOIN sources AS s USING (source_id){where.replace("month", "p.month")}
            ORDER BY p.month, p.measure, p.provider, p.path""",
        params,
    ).fetchall()
    root = folder(con)
    files = tuple(str(root / path) for path, *_ in rows)
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise OpsgError(
            f"{len(missing)} of the {len(files)} request-record files the database names are missing from "
            f"{root} (the first: {Path(missing[0]).relative_to(root)}); a copy of the database needs its "
            f"events folder beside it ({root.name})"
        )
    return Selection(
        root=root,
        files=files,
        rows=sum(r[1] for r in rows),
        source_ids=tuple(sorted({r[2] for r in rows})),
        classification=most_restrictive(r[3] for r in rows) if rows else "white",
    )


def series_loaded(con: duckdb.DuckDBPyConnection) -> list[tuple[date, str, str, int]]:
    """(month, measure, provider, rows) of every current partition the clearance admits."""
    return con.execute(
        "SELECT month, measure, provider, sum(rows) FROM current_event_partitions GROUP BY ALL ORDER BY ALL"
    ).fetchall()


def parquet_source(selection: Selection) -> str:
    """The selection's files as a DuckDB table expression (every column, whichever load wrote it)."""
    if selection.empty:
        raise OpsgError("no request records loaded for what was asked")
    files = ", ".join(sql_string(f) for f in selection.files)
    return f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
