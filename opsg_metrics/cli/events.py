"""Request records on the command line: `events load FILE...` (check, pseudonymise and keep them),
`events measure --month M` (recompute the month's measures from them, reconciled with the PMR, on DuckDB
or Spark) and `events list` (what is loaded)."""

from __future__ import annotations

import argparse
import json
import sys

from opsg_metrics import words
from opsg_metrics.cli.options import EXIT_ERROR, EXIT_OK, clearance, err, month, read
from opsg_metrics.ingest.formats import CLASSIFICATIONS
from opsg_metrics.store.classification import LABELS, check_restricted
from opsg_metrics.store.connect import resolve_db_path
from opsg_metrics.store.errors import OpsgError

JSON_FIELDS = (
    "month",
    "measure",
    "provider",
    "received",
    "excluded",
    "in_scope",
    "within",
    "value",
    "value_exclusions_as_failures",
    "pmr_value",
    "difference",
    "flagged",
    "classification",
)


def add_parsers(commands: argparse._SubParsersAction) -> dict:
    from opsg_metrics.ingest.events import DEFAULT_CLASSIFICATION
    from opsg_metrics.queries.events import ENGINES

    events = commands.add_parser(
        "events",
        help="request records: load them, recompute a month's measures from them (README, Request records)",
        description="Request records behind the PMR percentages: load files of them (pseudonymised, kept as "
        "month-partitioned Parquet), and recompute a month's measures with what was excluded, reconciled "
        "with the PMR figure.",
    )
    verbs = events.add_subparsers(dest="events_command", metavar="ACTION", required=True)
    load = verbs.add_parser(
        "load",
        help="check and keep a delivery of request records (CSV or Parquet files)",
        description="Check every file of one delivery whole (any problem in any file: all rejected, every "
        "problem listed as file:row:column, nothing stored), pseudonymise request ids and device identifiers, "
        "and keep the records as month-partitioned Parquet. The files given are one delivery: give every "
        "file of a month split in several in one command. The same files again change nothing; a later "
        "delivery holding a month and series loaded before is its revision (the earlier kept beside it).",
    )
    load.add_argument("files", nargs="+", metavar="FILE", help="CSV or Parquet files of request records")
    load.add_argument(
        "--classification",
        choices=CLASSIFICATIONS,
        default=DEFAULT_CLASSIFICATION,
        metavar="C",
        help=f"the files' marking ({', '.join(CLASSIFICATIONS)}; default {DEFAULT_CLASSIFICATION}: request "
        "records identify devices)",
    )
    load.add_argument("--source", metavar="LABEL", help="the source label (default: the file name)")
    load.add_argument("--check", action="store_true", help="check the files only; store nothing")

    measure = verbs.add_parser(
        "measure",
        help="a month's measures recomputed from its request records, beside the PMR figure",
        description="Recompute a month's measures from the request records: the waterfall (received, "
        "excluded by reason, in scope, within, value), the value with exclusions as failures, the PMR "
        "figure and the difference (flagged over 0.05 percentage points).",
    )
    measure.add_argument("--month", type=month, required=True, metavar="YYYY-MM", help="the month")
    measure.add_argument("--measure", metavar="M", help="only this measure (e.g. PM2)")
    measure.add_argument("--provider", metavar="P", help="only this provider (e.g. 'CSP N')")
    measure.add_argument("--engine", choices=ENGINES, default="duckdb", help="the engine (default duckdb)")
    measure.add_argument("--json", action="store_true", help="a JSON list instead of text")
    measure.add_argument("--allow-restricted", action="store_true", help="allow output classified AMBER or RED")
    clearance(measure)

    listed = verbs.add_parser("list", help="the months and series with request records loaded")
    listed.add_argument("--json", action="store_true", help="a JSON list instead of text")
    clearance(listed)
    return {"events": cmd_events}


def cmd_events(args: argparse.Namespace) -> int:
    return {"load": _load, "measure": _measure, "list": _list}[args.events_command](args)


def _load(args: argparse.Namespace) -> int:
    from opsg_metrics.ingest.events import load_events

    path = resolve_db_path(args.db)
    if not path.exists():
        raise OpsgError(f"{path}: no database here; create it first with 'python -m opsg_metrics --db {path} init'")
    # The files given are one delivery: checked together, stored together or not at all.
    result = load_events(
        path,
        args.files,
        classification=args.classification,
        source=args.source,
        dry_run=args.check,
        progress=lambda message: print(f"  {message}", file=sys.stderr),
    )
    if result.ok:
        print(f"{result.file}: {result.message}")
        return EXIT_OK
    for problem in result.problems:
        print(problem, file=sys.stderr)
    print(f"{result.file}: {result.message}", file=sys.stderr)
    err(f"{words.plural(len(args.files), 'file')} rejected together (one delivery); nothing was stored")
    return EXIT_ERROR


def _show(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _measure(args: argparse.Namespace) -> int:
    from opsg_metrics.queries import events

    con = read(args.db, args.clearance)
    try:
        rows, classification = events.measures(con, args.month, args.measure, args.provider, engine=args.engine)
    finally:
        con.close()
    if not rows:
        raise OpsgError(f"no request records loaded for {words.month_label(args.month)} of what was asked")
    check_restricted(classification, args.allow_restricted)
    if args.json:
        print(
            json.dumps([{k: ({**r, "classification": classification})[k] for k in JSON_FIELDS} for r in rows], indent=2)
        )
        return EXIT_OK
    print(f"Measures from request records, {words.month_label(args.month)} ({args.engine})")
    print(f"Classification: {LABELS[classification]}")
    for r in rows:
        flag = "  FLAGGED: differs from the PMR by more than 0.05 points" if r["flagged"] else ""
        excluded = ", ".join(f"{k} {v:,}" for k, v in r["excluded"].items()) or "none"
        print(
            f"{r['measure']} {r['provider']}: {_show(r['value'], 3)}% of {r['in_scope']:,} in scope "
            f"({r['within']:,} within); PMR {_show(r['pmr_value'])}%, difference {_show(r['difference'], 3)}{flag}"
        )
        print(
            f"  received {r['received']:,}; excluded {sum(r['excluded'].values()):,} ({excluded}); "
            f"with exclusions as failures {_show(r['value_exclusions_as_failures'], 3)}%"
        )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from opsg_metrics.queries import events

    con = read(args.db, args.clearance)
    try:
        found = events.loaded(con)
    finally:
        con.close()
    if args.json:
        print(
            json.dumps(
                [{"month": f"{m:%Y-%m}", "measure": me, "provider": p, "rows": n} for m, me, p, n in found], indent=2
            )
        )
    else:
        for m, me, p, n in found:
            print(f"{m:%Y-%m}  {me:<8} {p:<8} {n:>14,} requests")
        if not found:
            print("No request records loaded.")
    return EXIT_OK
