"""The app's data: it serves the newest published snapshot of the database, read-only (store/snapshots.py),
so the command line, other app processes and the app's own writes can use the data folder while it serves;
every write the app makes (a load, the review record, people, the audit log) is a short write of the
working database that publishes a new snapshot, and every session moves to it at its next rerun. No
Streamlit here: app/ui.py shows what goes wrong.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

from opsg_metrics.store import clearance, people, snapshots
from opsg_metrics.store.connect import resolve_db_path
from opsg_metrics.store.errors import OpsgError

_LOCK = threading.Lock()
# database path -> (the snapshot served, its read-only connection): the newest this process opened. A
# connection left behind is closed by the garbage collector once the last run using it ends, and with it
# its hold on its snapshot.
_SERVED: dict[str, tuple[snapshots.Published, duckdb.DuckDBPyConnection]] = {}


def served(db: str | Path | None = None) -> tuple[duckdb.DuckDBPyConnection, snapshots.Published, str | None]:
    """The connection to the newest snapshot (opened when a newer one was published, or the working
    database changed without one), which it is, and a warning when it is not the newest because the
    newest cannot be read (the last good one is served). OpsgError when there is none to serve."""
    path = str(resolve_db_path(db))
    newest = snapshots.ensure_published(path)
    with _LOCK:
        held = _SERVED.get(path)
        if held is not None and newest is not None and held[0].path == newest.path:
            return held[1], held[0], None
        try:
            con, published = snapshots.reader(path)
        except OpsgError as exc:
            if held is not None:
                return held[1], held[0], f"{exc}; the snapshot published {held[0].published_at} is shown meanwhile"
            try:
                con, published, warning = snapshots.last_good(path)
            except OpsgError:
                raise exc from None
            _SERVED[path] = (published, con)
            return con, published, f"{exc}; {warning} meanwhile"
        _SERVED[path] = (published, con)
        return con, published, None


def health(db: str | Path | None = None) -> dict:
    """What the health endpoint says: whether the data is readable, which snapshot is served and which is
    the newest, and why not when it is not ('ok', 'degraded': an older snapshot served, 'unavailable')."""
    path = resolve_db_path(db)
    newest = snapshots.current(path)
    try:
        con, published, warning = served(path)
        cursor = con.cursor()
        try:
            sources = cursor.execute("SELECT count(*) FROM sources").fetchall()[0][0]
            version = cursor.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
        finally:
            cursor.close()
    except (OpsgError, duckdb.Error) as exc:
        return {
            "status": "unavailable",
            "readable": False,
            "error": str(exc)[:500],
            "newest": newest.path.name if newest else None,
        }
    return {
        "status": "degraded" if warning else "ok",
        "readable": True,
        "snapshot": published.path.name,
        "published_at": published.published_at,
        "newest": newest.path.name if newest else None,
        "schema_version": version,
        "sources": sources,
        "warning": warning,
    }


@contextlib.contextmanager
def writing(level: str | None = None, *, publish: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """One write of the working database (the folder's write lock held; then published), its connection
    scoped to a clearance `level` when given (what the writer reads is what they may see)."""
    with snapshots.writing(resolve_db_path(None), publish_after=publish) as con:
        yield clearance.scope(con, level) if level else con


def record(
    who: str,
    action: str,
    what: str = "",
    *,
    month: date | None = None,
    classification: str | None = None,
    detail: str = "",
) -> None:
    """One entry of the audit log (written to the working database; no snapshot is published for it)."""
    with writing(publish=False) as con:
        people.record(con, who, action, what, month=month, classification=classification, detail=detail)


@contextlib.contextmanager
def audit_log() -> Iterator[duckdb.DuckDBPyConnection]:
    """The working database, read-only, to read the audit log as it is (its entries publish no snapshot)."""
    with snapshots.reading_working(resolve_db_path(None)) as con:
        yield con
