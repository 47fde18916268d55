"""What the commands share: argument types, the month and window options, clearance, output paths, the
person running the command, and the audit entry each command leaves."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path

import duckdb

from opsg_metrics.rules.status import DEFAULT_WINDOW
from opsg_metrics.store import parse, people, snapshots
from opsg_metrics.store.classification import ORDER
from opsg_metrics.store.clearance import scope as clearance_scope
from opsg_metrics.store.connect import is_duckdb_file
from opsg_metrics.store.errors import OpsgError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def month(text: str) -> date:
    try:
        return parse.parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def day(text: str) -> date:
    try:
        return parse.parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def window(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of months") from None
    if not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1 to 600 months")
    return value


def month_and_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", type=month, required=True, metavar="YYYY-MM", help="the PMR month")
    parser.add_argument(
        "--window",
        type=window,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"rolling window in months (default {DEFAULT_WINDOW})",
    )


def clearance(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clearance",
        choices=ORDER,
        default=ORDER[-1],
        metavar="LEVEL",
        help=f"show exactly what a person cleared to LEVEL would see ({', '.join(ORDER)}; default: all data, "
        "as the owner of the database file)",
    )


def operator() -> str:
    """Who runs the command: the user the process runs as (the database file's owner's rights)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "command line"


def audit(
    db: str | os.PathLike | None,
    action: str,
    what: str,
    *,
    month: date | None = None,
    classification: str | None = None,
) -> None:
    """Leave an entry in the audit log; said on stderr, not an error, when the database is in use."""
    try:
        with snapshots.writing(db, publish_after=False) as con:
            people.record(
                con, operator(), action, what, month=month, classification=classification, detail="command line"
            )
    except OpsgError as exc:
        print(f"note: not recorded in the audit log ({exc})", file=sys.stderr)


def read(db: str | os.PathLike | None, level: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the newest published snapshot of the database (store/snapshots.py), scoped
    to a clearance level when one is given: what every read-only command reads, while the app serves."""
    con, _ = snapshots.reader(db)
    return clearance_scope(con, level) if level else con


def _is_the_database(path: Path, database: Path | None) -> bool:
    """Whether `path` is the database in use or its write-ahead log (after symbolic links)."""
    if database is None:
        return False
    try:  # the log before it exists (a closed database has none): by name, after symbolic links
        if path.resolve() == Path(str(database.resolve()) + ".wal"):
            return True
    except OSError:
        pass
    for candidate in (database, Path(str(database) + ".wal")):
        try:
            if candidate.exists() and os.path.samefile(path, candidate):
                return True
        except OSError:
            continue
    return False


def output_file(text: str, database: Path | None = None) -> Path:
    """A file to write: its folder must exist and be writable, and it must not be a folder itself.
    Checked before any work is done, so a mistyped path costs nothing."""
    path = Path(text)
    if path.is_dir():
        raise OpsgError(f"{path}: is a folder; give a file name (for example {path / 'summary.docx'})")
    if path.exists() and not path.is_file():
        raise OpsgError(f"{path}: is not a regular file (a pipe or a device); give a file name")
    if (path.exists() and is_duckdb_file(path)) or _is_the_database(path, database):
        raise OpsgError(f"{path}: this is a database file; writing here would destroy it. Give another file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise OpsgError(f"{path}: the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise OpsgError(f"{path}: {folder} is a file, not a folder")
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(folder, os.W_OK | os.X_OK):
        raise OpsgError(f"{path}: no permission to write here")
    return path


def output_folder(text: str) -> Path:
    """A folder to write into, created if needed; a file in its place or no permission is an error."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise OpsgError(f"{path}: is a file, not a folder; give a folder to write the charts into")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OpsgError(f"{path}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OpsgError(f"{path}: no permission to write into this folder")
    return path


def write_output(path: Path, content: bytes) -> None:
    from opsg_metrics.render.files import write_file

    write_file(path, content)
