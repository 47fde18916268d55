"""Readers and writers together: the working database and the snapshots it publishes.

DuckDB lets one process hold a database file read-write, or many processes hold it read-only, never both.
So the data folder holds two kinds of file:

- the **working database** (`opsg.duckdb`): written only inside `writing`, which takes the folder's write
  lock (`opsg.duckdb.lock`; writers wait for one another, bounded by `OPSG_WRITE_WAIT` seconds, then are
  refused with a clear message), opens the file read-write, commits, checkpoints, closes it and publishes;
- **snapshots** (`opsg.duckdb.snapshots/snapshot-N.duckdb`): read-only copies, each published whole (copied
  under a temporary name, fsynced, renamed), then named in `CURRENT` (written the same way), which readers
  read. A reader (the app, every read-only command) opens the newest snapshot read-only and holds a shared
  lock on it; the app looks at `CURRENT` at every rerun and moves to a newer one. A snapshot no reader holds
  and not the newest is removed at the next publish.

A process killed at any moment leaves both whole: the working database by DuckDB's write-ahead log, the
published snapshot because it is only ever replaced by a rename. A write committed but not yet published (a
process killed between the two) is published by the next writer, or by the next reader that finds the
working database newer than the snapshot and the lock free.

Reading the audit log reads the working database itself (`reading_working`, under the lock shared): the
log's entries (a sign-in, an export) are written without publishing a snapshot each.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from opsg_metrics.store.connect import connect, resolve_db_path
from opsg_metrics.store.errors import OpsgError

DEFAULT_WAIT = 60.0  # seconds a writer waits for another to finish (OPSG_WRITE_WAIT)
KEEP = 2  # snapshots kept however old, besides those readers hold: the newest and the one before


class WriteInProgress(OpsgError):
    """The folder's write lock was not free within the wait."""


def folder_of(db: Path) -> Path:
    return Path(str(db) + ".snapshots")


def lock_of(db: Path) -> Path:
    return Path(str(db) + ".lock")


def write_wait() -> float:
    """How long a writer waits for another (seconds): OPSG_WRITE_WAIT, else DEFAULT_WAIT."""
    try:
        return max(0.0, float(os.environ.get("OPSG_WRITE_WAIT", DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


@dataclass(frozen=True)
class Published:
    """What CURRENT says: the newest snapshot, when, and the working database's file it was made from."""

    path: Path
    published_at: str
    source_mtime_ns: int
    source_size: int
    number: int


def current(db: str | os.PathLike | None = None) -> Published | None:
    """The newest published snapshot (None: none yet, or CURRENT unreadable)."""
    path = resolve_db_path(db)
    try:
        said = json.loads((folder_of(path) / "CURRENT").read_text(encoding="utf-8"))
        return Published(
            folder_of(path) / said["snapshot"],
            said["published_at"],
            int(said["source_mtime_ns"]),
            int(said["source_size"]),
            int(said["number"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stale(db: Path, published: Published | None) -> bool:
    """Whether the working database changed after the snapshot was made from it (a write not published)."""
    try:
        info = os.stat(db)
    except OSError:
        return False
    return published is None or (info.st_mtime_ns, info.st_size) != (
        published.source_mtime_ns,
        published.source_size,
    )


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def publish(db: str | os.PathLike | None = None) -> Published:
    """Publish the working database as the newest snapshot (the caller holds the write lock and has closed
    it, checkpointed): copied whole under a temporary name, fsynced, renamed, then named in CURRENT."""
    path = resolve_db_path(db)
    folder = folder_of(path)
    folder.mkdir(parents=True, exist_ok=True)
    before = current(path)
    number = (before.number + 1) if before else 1
    info = os.stat(path)
    target = folder / f"snapshot-{number}.duckdb"
    temporary = folder / f".snapshot-{number}.duckdb.tmp"
    with open(path, "rb") as source, open(temporary, "wb") as copy:
        shutil.copyfileobj(source, copy, 1 << 20)
        copy.flush()
        os.fsync(copy.fileno())
    os.replace(temporary, target)
    _fsync_dir(folder)
    _name(path, target.name, number, datetime.now().isoformat(timespec="seconds"), info)
    prune(path)
    return current(path)


def _name(db: Path, snapshot: str, number: int, published_at: str, info: os.stat_result | None = None) -> None:
    """Write CURRENT: the newest snapshot, and the working database's file (size, time) it stands for."""
    info = info or os.stat(db)
    said = {
        "snapshot": snapshot,
        "number": number,
        "published_at": published_at,
        "source_mtime_ns": info.st_mtime_ns,
        "source_size": info.st_size,
    }
    _write_atomically(folder_of(db) / "CURRENT", json.dumps(said).encode("utf-8"))


def prune(db: Path) -> list[str]:
    """Remove the snapshots no reader holds, but the newest KEEP, and temporary files left by a crash."""
    folder = folder_of(db)
    newest = current(db)
    removed = []
    snapshots = sorted(folder.glob("snapshot-*.duckdb"), key=lambda p: int(p.stem.split("-")[1]))
    for old in snapshots[:-KEEP]:
        if newest and old == newest.path:
            continue
        try:
            fd = os.open(old, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no reader holds it
        except OSError:
            os.close(fd)
            continue
        try:
            for part in (old, Path(str(old) + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
            removed.append(old.name)
        finally:
            os.close(fd)
    for left in folder.glob(".snapshot-*.tmp"):
        if newest is None or left.name != f".snapshot-{newest.number + 1}.duckdb.tmp":
            with contextlib.suppress(OSError):
                left.unlink()
    return removed


@contextlib.contextmanager
def _locked(db: Path, kind: int, wait: float | None) -> Iterator[None]:
    lock = lock_of(db)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + (write_wait() if wait is None else wait)
        while True:
            try:
                fcntl.flock(fd, kind | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    waited = write_wait() if wait is None else wait
                    raise WriteInProgress(
                        f"{db}: another write is in progress (a load, or someone saving); waited {waited:.0f} s "
                        "for it to finish. Try again in a moment (OPSG_WRITE_WAIT sets how long to wait)"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def writing(
    db: str | os.PathLike | None = None, *, publish_after: bool = True, wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The working database, read-write, for one write: the folder's write lock held (waiting at most
    `wait` seconds, default OPSG_WRITE_WAIT), the file opened (created and migrated if need be), then
    checkpointed, closed and, with `publish_after`, published as the newest snapshot. An error leaves the
    snapshot as it was (what the write committed before it is published by the next writer)."""
    path = resolve_db_path(db)
    with _locked(path, fcntl.LOCK_EX, wait):
        published = current(path)
        was_current = published is not None and not stale(path, published)
        con = connect(path)
        try:
            yield con
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if publish_after and str(path) != ":memory:":
            publish(path)
        elif was_current:
            # An entry of the audit log only (read from the working database itself): the snapshot still
            # holds everything else, so it is marked as made from the file as it now is.
            _name(path, published.path.name, published.number, published.published_at)


@contextlib.contextmanager
def reading_working(db: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The working database itself, read-only, for a read that must not wait for a snapshot (the audit
    log): the write lock shared while it is open (a write in progress is waited for)."""
    path = resolve_db_path(db)
    with _locked(path, fcntl.LOCK_SH, None):
        con = connect(path, read_only=True)
        try:
            yield con
        finally:
            con.close()


def _hold(con: duckdb.DuckDBPyConnection, snapshot: Path) -> None:
    """Hold a shared lock on the snapshot for as long as the connection lives (prune leaves it alone)."""
    fd = os.open(snapshot, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    weakref.finalize(con, os.close, fd)


def ensure_published(db: str | os.PathLike | None = None) -> Published | None:
    """Publish the working database when no snapshot is, or the newest is older than it (a write not yet
    published), if no write is in progress; the newest snapshot then."""
    path = resolve_db_path(db)
    published = current(path)
    if not path.exists() or not stale(path, published):
        return published
    try:
        with _locked(path, fcntl.LOCK_EX, 0.0):
            published = current(path)
            if stale(path, published):
                # What a read-only command would refuse (another program's file, another schema version) is
                # refused here too: the file is opened read-only first, and only then folded (what DuckDB
                # left in a write-ahead log, by a writer killed after its commit) and copied.
                connect(path, read_only=True).close()
                if Path(str(path) + ".wal").exists():
                    with contextlib.closing(connect(path)) as con:
                        con.execute("CHECKPOINT")
                published = publish(path)
    except WriteInProgress:  # a write is in progress: it publishes when it is done
        pass
    return current(path)


def reader(db: str | os.PathLike | None = None) -> tuple[duckdb.DuckDBPyConnection, Published]:
    """A read-only connection to the newest snapshot (published first if the working database has none or
    is newer), and which snapshot it is. A snapshot that cannot be opened (missing, damaged, of another
    schema version) is an OpsgError saying so."""
    path = resolve_db_path(db)
    if not path.exists() and current(path) is None:
        raise OpsgError(
            f"{path}: no database here; create it with 'python -m opsg_metrics --db {path} init --sample' "
            "(or 'make run')"
        )
    published = ensure_published(path)
    if published is None:
        raise OpsgError(f"{path}: no snapshot of the database is published yet and none could be made")
    try:
        con = connect(published.path, read_only=True)
    except OpsgError as exc:
        raise OpsgError(f"the published snapshot {published.path.name} cannot be read: {exc}") from None
    _hold(con, published.path)
    return con, published


def last_good(db: str | os.PathLike | None = None) -> tuple[duckdb.DuckDBPyConnection, Published, str]:
    """When the newest snapshot cannot be read: the newest older one that can, and a warning saying so
    (what a server starting then serves meanwhile). OpsgError when none can."""
    path = resolve_db_path(db)
    newest = current(path)
    older = sorted(folder_of(path).glob("snapshot-*.duckdb"), key=lambda p: int(p.stem.split("-")[1]), reverse=True)
    for candidate in older:
        if newest is not None and candidate == newest.path:
            continue
        try:
            con = connect(candidate, read_only=True)
        except OpsgError:
            continue
        _hold(con, candidate)
        number = int(candidate.stem.split("-")[1])
        when = datetime.fromtimestamp(candidate.stat().st_mtime).isoformat(timespec="seconds")
        named = newest.path.name if newest else "the newest snapshot"
        return con, Published(candidate, when, 0, 0, number), f"{named} cannot be read; {candidate.name} is served"
    raise OpsgError(f"{path}: no published snapshot of the database can be read")


def _copy_whole(source: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    with open(source, "rb") as reading, open(temporary, "wb") as copy:
        shutil.copyfileobj(reading, copy, 1 << 20)
        copy.flush()
        os.fsync(copy.fileno())
    os.replace(temporary, target)
    _fsync_dir(target.parent)


def backup(db: str | os.PathLike | None, target: str | os.PathLike) -> Path:
    """Copy the working database, whole, to `target` (under the write lock, so no write is half in it; what
    DuckDB keeps in its log folded in first); checked by opening the copy. The snapshots need no backup:
    they are made again from it."""
    path, target = resolve_db_path(db), Path(target)
    with _locked(path, fcntl.LOCK_EX, None):
        if Path(str(path) + ".wal").exists():
            with contextlib.closing(connect(path)) as con:
                con.execute("CHECKPOINT")
        _copy_whole(path, target)
    connect(target, read_only=True).close()
    return target


def restore(db: str | os.PathLike | None, source: str | os.PathLike) -> Published:
    """Put a backup in place of the working database (under the write lock): the backup checked and brought
    to this version's schema on a copy first, then renamed into place, and published; the data folder's
    earlier state is replaced whole or not at all."""
    path, source = resolve_db_path(db), Path(source)
    if not source.is_file():
        raise OpsgError(f"{source}: no backup file here")
    with _locked(path, fcntl.LOCK_EX, None):
        staged = path.with_name(f".{path.name}.restoring")
        for left in (staged, Path(str(staged) + ".wal")):
            left.unlink(missing_ok=True)
        _copy_whole(source, staged)
        try:
            with contextlib.closing(connect(staged)) as con:  # another program's file refused; migrations run
                con.execute("CHECKPOINT")
        except OpsgError as exc:
            staged.unlink(missing_ok=True)
            said = str(exc).replace(f"{staged}: ", "")
            raise OpsgError(f"{source}: not a backup that can be restored: {said}") from None
        Path(str(path) + ".wal").unlink(missing_ok=True)
        os.replace(staged, path)
        _fsync_dir(path.parent)
        return publish(path)
