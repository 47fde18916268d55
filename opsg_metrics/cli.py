"""The command line: `python -m opsg_metrics [--db PATH] COMMAND ...` (README "Command line").

A thin front end over the library, as the pages are: it parses arguments,
calls one function and prints. User mistakes print a message to stderr and
exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

import duckdb

from opsg_metrics import words
from opsg_metrics.ingest.bootstrap import initialise
from opsg_metrics.ingest.formats import CLASSIFICATIONS, KINDS
from opsg_metrics.ingest.load import ingest_file
from opsg_metrics.rules.status import DEFAULT_WINDOW, latest_month, status_for_month, to_records
from opsg_metrics.store import parse
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.connect import connect, explain_database_error, is_duckdb_file, resolve_db_path
from opsg_metrics.store.errors import OpsgError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _month(text: str) -> date:
    try:
        return parse.parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _day(text: str) -> date:
    try:
        return parse.parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _window(text: str) -> int:
    try:
        window = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of months") from None
    if not 1 <= window <= 600:
        raise argparse.ArgumentTypeError(f"{window} is out of range: use 1 to 600 months")
    return window


def _month_and_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", type=_month, required=True, metavar="YYYY-MM", help="the PMR month")
    parser.add_argument(
        "--window",
        type=_window,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"rolling window in months (default {DEFAULT_WINDOW})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m opsg_metrics",
        description="OPSG Metrics: load DCC Performance Measurement Report data and report status and runs.",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="DuckDB file to use (default: $OPSG_DB, else data/opsg.duckdb)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    ingest.add_argument("--kind", choices=KINDS, help="the kind of file (default: detected from the header)")
    ingest.add_argument("--source", metavar="LABEL", help="name of the source document (default: the file name)")
    ingest.add_argument(
        "--classification",
        choices=CLASSIFICATIONS,
        default="white",
        help="classification of the source (default: white)",
    )
    ingest.add_argument("--issued", type=_day, metavar="DATE", help="issue date of the source, YYYY-MM-DD")

    status = commands.add_parser(
        "status",
        help="status, runs and window counts for a month",
        description="Status of every measure and provider for a PMR month against the service levels in force, "
        "with consecutive months below target or minimum and the misses in a rolling window.",
    )
    _month_and_window(status)
    status.add_argument("--measure", metavar="M", help="only this measure, e.g. CPM1")
    status.add_argument("--provider", metavar="P", help="only this provider, e.g. 'CSP N'")
    status.add_argument("--json", action="store_true", help="print a JSON list for programs")

    summary = commands.add_parser(
        "summary",
        help="the monthly PMR summary for the Operations Group",
        description="The secretariat's PMR summary for a month: headline, every measure below target in OPSG's "
        "words, changes, data quality, context and the full table, with sources and classification. "
        "Markdown goes to standard output unless -o is given; Word needs -o.",
    )
    _month_and_window(summary)
    summary.add_argument("--format", choices=("md", "docx", "html"), default="md", help="output format (default md)")
    summary.add_argument("-o", dest="output", metavar="FILE", help="write to FILE instead of standard output")
    summary.add_argument(
        "--allow-restricted", action="store_true", help="allow output classified AMBER or RED (refused otherwise)"
    )

    export = commands.add_parser(
        "export-charts",
        help="print-quality charts of a PMR month for Panel papers",
        description="Write one chart per measure and provider with a figure in the month (the 24 months to it), "
        "named like 2020-04_CPM1_DCC.png, each with its sources, PMR month and classification on it, "
        "and a manifest.csv.",
    )
    _month_and_window(export)
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if needed)")
    export.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="file format (default png)")
    export.add_argument("--measure", metavar="M", help="only this measure")
    export.add_argument(
        "--allow-restricted", action="store_true", help="allow charts classified AMBER or RED (refused otherwise)"
    )
    return parser


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def output_file(text: str, database: Path | None = None) -> Path:
    """A file to write: its folder must exist and be writable, and it must not be a folder itself.
    Checked before any work is done, so a mistyped path costs nothing."""
    path = Path(text)
    if path.is_dir():
        raise OpsgError(f"{path}: is a folder; give a file name (for example {path / 'summary.docx'})")
    if path.exists() and not path.is_file():
        raise OpsgError(f"{path}: is not a regular file (a pipe or a device); give a file name")
    if path.exists() and (is_duckdb_file(path) or _is_the_database(path, database)):
        raise OpsgError(f"{path}: this is a database file; writing here would destroy it. Give another file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise OpsgError(f"{path}: the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise OpsgError(f"{path}: {folder} is a file, not a folder")
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(folder, os.W_OK | os.X_OK):
        raise OpsgError(f"{path}: no permission to write here")
    return path


def _is_the_database(path: Path, database: Path | None) -> bool:
    """Whether `path` is the database in use or its write-ahead log (after symbolic links)."""
    if database is None:
        return False
    for candidate in (database, Path(str(database) + ".wal")):
        try:
            if candidate.exists() and os.path.samefile(path, candidate):
                return True
        except OSError:
            continue
    return False


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


def cmd_init(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    existed = path.exists()
    con = connect(path)
    try:

        def progress(number, total, result):
            print(f"  [{number}/{total}] {result.file}: {result.message}", flush=True)

        print(f"{'Updating' if existed else 'Creating'} {path}")
        results = initialise(con, sample=args.sample, progress=progress if args.sample else None)
        print(f"  catalogue: {results[0].message}")
        loaded = sum(1 for r in results if r.outcome == "loaded")
        print(f"Done: {loaded} file{'s' if loaded != 1 else ''} loaded, {len(results) - loaded} unchanged.")
    finally:
        con.close()
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise OpsgError(
            f"{path}: no database here; create it first with "
            f"'python -m opsg_metrics --db {path} init' (add --sample for the sample data)"
        )
    con = connect(path)
    if not con.execute("SELECT count(*) FROM providers").fetchall()[0][0]:
        con.close()
        raise OpsgError(
            f"{path}: the database has no providers or catalogue; run 'python -m opsg_metrics --db {path} init'"
        )
    failed = 0
    try:
        for file_name in args.files:
            try:
                result = ingest_file(
                    con,
                    file_name,
                    kind=args.kind,
                    source=args.source,
                    classification=args.classification,
                    issued=args.issued,
                )
            except OpsgError as exc:  # the database itself (full disk, damaged): this file, then the next
                failed += 1
                _err(f"{Path(file_name).name}: {exc}")
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
    finally:
        con.close()
    if failed:
        _err(f"{failed} of {len(args.files)} file{'s' if len(args.files) != 1 else ''} rejected")
        return EXIT_ERROR
    return EXIT_OK


def _show(value) -> str:
    return "null" if value is None else f"{value:g}"


def _format_table(records: list[dict]) -> str:
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
    con = connect(args.db, read_only=True)
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
    print(_format_table(records))
    return EXIT_OK


def cmd_export_charts(args: argparse.Namespace) -> int:
    from opsg_metrics.render.files import pack_charts, pack_classification, write_month_charts
    from opsg_metrics.store.classification import check_restricted

    con = connect(args.db, read_only=True)
    try:
        if args.measure:
            status_for_month(con, args.month, measure=args.measure)  # a clear error for an unknown measure
        charts = pack_charts(con, args.month, args.format, measure=args.measure, window=args.window)
    finally:
        con.close()
    # The gate and the marking both come from exactly the charts about to be written.
    classification = pack_classification(charts)
    check_restricted(classification, args.allow_restricted)
    out = output_folder(args.out)

    def progress(number, total, name):
        print(f"  [{number}/{total}] {name}", flush=True)

    print(f"Charts for the PMR of {words.month_label(args.month)} into {out}/")
    entries = write_month_charts(charts, out, args.format, progress)
    print(
        f"Done: {len(entries)} charts and manifest.csv; classification "
        f"{classification.upper()} (most restrictive of them)."
    )
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from opsg_metrics.render.documents.build import summary_document
    from opsg_metrics.store.classification import check_restricted

    if args.format == "docx" and not args.output:
        raise OpsgError("a Word document needs a file: add -o FILE.docx")
    output = output_file(args.output, resolve_db_path(args.db)) if args.output else None
    con = connect(args.db, read_only=True)
    try:
        name, content, classification = summary_document(con, args.month, args.format, window=args.window)
    finally:
        con.close()
    check_restricted(classification, args.allow_restricted)
    if output:
        write_output(output, content)
        print(f"Wrote {output} ({len(content):,} bytes; classification {LABELS[classification]})")
    else:
        sys.stdout.write(content.decode("utf-8"))
    return EXIT_OK


COMMANDS = {
    "init": cmd_init,
    "ingest": cmd_ingest,
    "status": cmd_status,
    "summary": cmd_summary,
    "export-charts": cmd_export_charts,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except OpsgError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except duckdb.Error as exc:
        # Not a user mistake we foresaw, but still no traceback: say what the database means.
        _err(str(explain_database_error(exc, resolve_db_path(args.db))))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted; nothing half-written is kept (each file loads in one transaction)")
        return 130
    except Exception as exc:  # noqa: BLE001 - a defect, still said in one line: never a traceback
        _err(
            f"internal error ({exc.__class__.__name__}: {str(exc)[:300]}); nothing was changed. "
            "Please report this with the command you ran."
        )
        return EXIT_ERROR
