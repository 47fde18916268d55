"""How the review record is written (store/record.py decides what): one transaction under one lock per
write, re-entrant so that a file's load is one transaction for all its rows; each row inserted at once, or,
for a file, collected in a `Batch` (the actions' and commentary's current state read once and kept as the
rows are decided) and inserted together."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from opsg_metrics.store.clearance import level_of

_LOCK = threading.RLock()
_HELD = threading.local()  # how deep this thread is in a write of the record


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One write of the record: the lock held, one transaction, rolled back on any error. Inside another
    (a file's load writes many rows in one), it is that one."""
    with _LOCK:
        depth = getattr(_HELD, "depth", 0)
        if depth:
            _HELD.depth = depth + 1
            try:
                yield
            finally:
                _HELD.depth = depth
            return
        con.execute("BEGIN TRANSACTION")
        _HELD.depth = 1
        try:
            yield
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            _HELD.depth = 0


def one_write(write: Callable[..., Any]) -> Callable[..., Any]:
    """A write of the record as one transaction (see `transaction`)."""

    @functools.wraps(write)
    def written(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> Any:
        with transaction(con):
            return write(con, *args, **kwargs)

    return written


def insert(con: duckdb.DuckDBPyConnection, table: str, row: dict) -> int:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return con.execute(
        f"INSERT INTO main.{table} ({names}) VALUES ({marks}) RETURNING record_id", list(row.values())
    ).fetchall()[0][0]


class Batch:
    """A file's many writes of actions and commentary at once (ingest/record.py): their current state read
    once, kept as the rows are written, and the rows inserted together by `flush`, in the load's
    transaction. Each row is decided by the same write functions as a single save."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.level = con, level_of(con)
        self.rows: dict[str, list[dict]] = {}
        words = con.execute(
            """SELECT action_id, text, owner, raised_meeting, raised_on, measures, providers, incidents, note,
                      classification FROM actions
               QUALIFY row_number() OVER (PARTITION BY action_id ORDER BY record_id DESC) = 1"""
        ).fetchall()
        histories: dict[str, dict[str, list]] = {}
        for table, column in (("action_targets", "target_date"), ("action_statuses", "status")):
            rows = con.execute(f"SELECT action_id, {column}, classification FROM {table} ORDER BY record_id")
            for action_id, value, mark in rows.fetchall():
                histories.setdefault(table, {}).setdefault(action_id, []).append((value, mark))
        held = {row[0]: row[1:] for row in words}
        targets, statuses = histories.get("action_targets", {}), histories.get("action_statuses", {})
        # action id -> (its current words, its target dates and its statuses as (value, marking), oldest first)
        self.actions = {a: (held.get(a), targets.get(a, []), statuses.get(a, [])) for a in {*held, *targets, *statuses}}
        self.commentary = {
            (m, me, p): (t, c)
            for m, me, p, t, c in con.execute(
                "SELECT month, measure, provider, text, classification FROM current_commentary"
            ).fetchall()
        }

    def add(self, table: str, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)

    def flush(self) -> None:
        """Insert the rows collected, each table's in the order they were written."""
        import pyarrow as pa

        for table, rows in self.rows.items():
            names = list(dict.fromkeys(name for row in rows for name in row))
            frame = pa.Table.from_pylist([{name: row.get(name) for name in names} for row in rows])
            self.con.register("record_batch_rows", frame)
            try:
                columns = ", ".join(names)
                self.con.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM record_batch_rows")
            finally:
                self.con.unregister("record_batch_rows")
        self.rows = {}


def write_row(con: duckdb.DuckDBPyConnection, batch: Batch | None, table: str, row: dict) -> int | None:
    """Insert one row now (its record id), or add it to a file's batch (None)."""
    if batch is None:
        return insert(con, table, row)
    batch.add(table, row)
    return None
