"""The commands that make and fill the database, and read its status: init, ingest, status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from opsg_metrics import words
from opsg_metrics.cli.options import (
    EXIT_ERROR,
    EXIT_OK,
    clearance,
    day,
    err,
    month_and_window,
    operator,
    output_file,
    read,
)
from opsg_metrics.ingest.bootstrap import initialise
from opsg_metrics.ingest.formats import CLASSIFICATIONS, FILE_KINDS
from opsg_metrics.ingest.load import ingest_file
from opsg_metrics.rules.status import latest_month, status_for_month, to_records
from opsg_metrics.store import people, snapshots
from opsg_metrics.store.connect import resolve_db_path
from opsg_metrics.store.errors import OpsgError


def add_parsers(commands: argparse._SubParsersAction) -> dict:
    init = commands.add_parser(
        "init",
        help="create or upgrade the database",
        description="Create the database (or upgrade its schema), load the providers and the measure catalogue, "
        "and with --sample the illustrative sample data. Safe to repeat.",
    )
    choice = init.add_mutually_exclusive_group()
    choice.add_argument("--sample", action="store_true", help="also load the illustrative sample data")
    choice.add_argument("--empty", action="store_true", help="schema and catalogue only (the default)")

    ingest = commands.add_parser(
        "ingest",
        help="load CSV/XLSX files",
        description="Load measures, incidents, alerts, ops or catalogue files. A file with any problem is "
        "rejected whole and every problem is listed as file:row:column: message.",
    )
    ingest.add_argument("files", nargs="+", metavar="FILE", help="CSV or XLSX files")
    ingest.add_argument("--kind", choices=FILE_KINDS, help="the kind of file (default: detected from the header)")
    ingest.add_argument("--source", metavar="LABEL", help="name of the source document (default: the file name)")
    ingest.add_argument(
        "--classification",
        choices=CLASSIFICATIONS,
        default="white",
        help="classification of the source (default: white)",
    )
    ingest.add_argument("--issued", type=day, metavar="DATE", help="issue date of the source, YYYY-MM-DD")

    status = commands.add_parser(
        "status",
        help="status, runs and window counts for a month",
        description="Status of every measure and provider for a PMR month against the service levels in force, "
        "with consecutive months below target or minimum and the misses in a rolling window.",
    )
    month_and_window(status)
    status.add_argument("--measure", metavar="M", help="only this measure, e.g. CPM1")
    status.add_argument("--provider", metavar="P", help="only this provider, e.g. 'CSP N'")
    status.add_argument("--json", action="store_true", help="print a JSON list for programs")
    clearance(status)
    backup = commands.add_parser(
        "backup",
        help="copy the working database to a file, whole, while the app serves",
        description="Copy the working database to FILE under the folder's write lock (no write is half in "
        "it), then check the copy opens. The snapshots need no backup: they are made again from it.",
    )
    backup.add_argument("file", metavar="FILE", help="the backup to write")
    restore = commands.add_parser(
        "restore",
        help="put a backup in place of the working database, and publish it",
        description="Check FILE (an OPSG Metrics database; an older schema is upgraded), put it in place of "
        "the working database under the write lock, and publish it: every reader moves to it at its next "
        "rerun. Nothing is replaced when FILE cannot be restored.",
    )
    restore.add_argument("file", metavar="FILE", help="the backup to restore")
    return {"init": cmd_init, "ingest": cmd_ingest, "status": cmd_status, "backup": cmd_backup, "restore": cmd_restore}


def cmd_backup(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise OpsgError(f"{path}: no database here to back up")
    target = snapshots.backup(path, output_file(args.file, path))
    print(f"Backed up {path} to {target} ({target.stat().st_size:,} bytes)")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    published = snapshots.restore(path, args.file)
    print(f"Restored {args.file} as {path}; published as {published.path.name}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    existed = path.exists()

    def progress(number: int, total: int, result: object) -> None:
        print(f"  [{number}/{total}] {result.file}: {result.message}", flush=True)

    print(f"{'Updating' if existed else 'Creating'} {path}")
    with snapshots.writing(path) as con:  # then published: what the app and the read-only commands read
        results = initialise(con, sample=args.sample, progress=progress if args.sample else None)
    print(f"  catalogue: {results[0].message}")
    loaded = sum(1 for r in results if r.outcome == "loaded")
    print(f"Done: {loaded} file{'s' if loaded != 1 else ''} loaded, {len(results) - loaded} unchanged.")
    return EXIT_OK


def _show(value: float | None) -> str:
    return "null" if value is None else f"{value:g}"


def cmd_ingest(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise OpsgError(
            f"{path}: no database here; create it first with "
            f"'python -m opsg_metrics --db {path} init' (add --sample for the sample data)"
        )
    with snapshots.writing(path, publish_after=False) as con:
        has_catalogue = con.execute("SELECT count(*) FROM providers").fetchall()[0][0]
    if not has_catalogue:
        raise OpsgError(
            f"{path}: the database has no providers or catalogue; run 'python -m opsg_metrics --db {path} init'"
        )
    failed = 0
    for file_name in args.files:
        # Each file its own write (the lock held, then published): the app and the read-only commands see
        # each file's data as soon as it is loaded, and another writer may go between two files.
        try:
            with snapshots.writing(path) as con:
                result = ingest_file(
                    con,
                    file_name,
                    kind=args.kind,
                    source=args.source,
                    classification=args.classification,
                    issued=args.issued,
                )
                if result.outcome == "loaded":
                    people.record(
                        con, operator(), "load", result.file, classification=args.classification, detail=result.message
                    )
        except OpsgError as exc:  # the database itself (full disk, damaged, a write lock not freed): the next
            failed += 1
            err(f"{Path(file_name).name}: {exc}")
            continue
        for note in result.notes:
            print(f"  note: {note}")
        if result.ok:
            print(f"{result.file}: {result.message}")
            for revision in result.revisions[:20]:
                print(
                    f"  revised {revision['measure']} ({revision['provider']}) "
                    f"{words.month_key(revision['month'])}: {_show(revision['old_value'])} "
                    f"({revision['old_status']}, {revision['old_source']}) -> "
                    f"{_show(revision['new_value'])} ({revision['new_status']})"
                )
            if len(result.revisions) > 20:
                print(f"  ... and {len(result.revisions) - 20} more revisions")
        else:
            failed += 1
            for problem in result.problems:
                print(problem, file=sys.stderr)
            print(f"{result.file}: {result.message}", file=sys.stderr)
    if failed:
        err(f"{failed} of {len(args.files)} file{'s' if len(args.files) != 1 else ''} rejected")
        return EXIT_ERROR
    return EXIT_OK


def format_table(records: list[dict]) -> str:
    """The status records as a plain text table for people."""
    headers = ("Measure", "Provider", "Value", "Target", "Minimum", "Status", "Run", "Since", "Window")
    lines = []
    for r in records:
        value = "—" if r["value"] is None else f"{r['value']:.2f}"
        if r["unreliable"]:
            value += " (unreliable)"
        if r.get("inferred"):
            value += " (inferred)"
        run = str(r["run_below_target"]) if r["run_below_target"] else ""
        if r["run_below_target"] and r["run_gap_months"]:
            run += f" (+{r['run_gap_months']} gap)"
        lines.append(
            (
                r["measure"],
                r["provider"],
                value,
                "" if r["target"] is None else f"{r['target']:g}",
                "" if r["minimum"] is None else f"{r['minimum']:g}",
                words.STATUS_LABELS.get(r["status"], r["status"]),
                run,
                r["run_start"] or "",
                f"{r['misses_in_window']}/{r['window_months']}",
            )
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    return "\n".join(out)


def cmd_status(args: argparse.Namespace) -> int:
    con = read(args.db, args.clearance)
    try:
        frame = status_for_month(con, args.month, window=args.window, measure=args.measure, provider=args.provider)
        latest = latest_month(con)
    finally:
        con.close()
    records = to_records(frame)
    if args.json:
        print(json.dumps(records, indent=2))
        return EXIT_OK
    if latest is None:
        print("No figures loaded yet: load a PMR with 'python -m opsg_metrics ingest FILE'.")
    elif args.month > latest:
        print(f"Note: {words.month_label(args.month)} is after the latest month loaded ({words.month_label(latest)}).")
    elif frame.empty or (frame["status"] == "no_data").all():
        print(f"Note: no figures are loaded for {words.month_label(args.month)}.")
    print(f"PMR {words.month_label(args.month)}; window {args.window} months (misses/months with data)")
    print(format_table(records))
    return EXIT_OK
