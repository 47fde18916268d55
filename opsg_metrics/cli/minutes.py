"""`check-minutes`: every checkable claim in minutes or a draft summary, judged against the record."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from opsg_metrics import words
from opsg_metrics.cli.options import EXIT_ERROR, EXIT_OK, EXIT_USAGE, audit, clearance, err, month, read
from opsg_metrics.store.errors import OpsgError

MARK = ("[[", "]]")  # around the claim in its sentence, in the text output


def add_parsers(commands: argparse._SubParsersAction) -> dict:
    check = commands.add_parser(
        "check-minutes",
        help="check the claims in minutes or a draft summary against the record",
        description="Read every checkable claim in the files (plain text, Markdown or Word .docx; '-' reads "
        "standard input) - runs, windows, values, statuses, counts, directions, causes - and say whether "
        "the record agrees, disagrees (and what it has instead) or cannot check it (and why). Exits 0 when "
        "nothing disagrees, 1 when something does, 2 when the files or options cannot be used.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="files to check ('-' for standard input)")
    check.add_argument("--month", type=month, metavar="YYYY-MM", help="the PMR month (default: the one the text names)")
    check.add_argument("--json", action="store_true", help="a JSON list of the claims instead of text")
    clearance(check)
    return {"check-minutes": cmd_check_minutes}


def _read(name: str) -> str:
    from opsg_metrics.ingest.documents import read_document

    if name == "-":
        return read_document("standard input", sys.stdin.buffer.read())
    path = Path(name)
    if path.is_dir():
        raise OpsgError(f"{name}: is a folder; give the files to check")
    if not path.exists():
        raise OpsgError(f"{name}: no such file")
    if not path.is_file():
        raise OpsgError(f"{name}: is not a regular file (a pipe or a device); save the text to a file")
    if path.stat().st_size > 5_000_000:
        raise OpsgError(f"{name}: more than 5,000,000 bytes; a document to check is at most that")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OpsgError(f"{name}: cannot be read ({exc.strerror})") from None
    return read_document(path.name, data)


def cmd_check_minutes(args: argparse.Namespace) -> int:
    """Exit 0 when nothing disagrees, 1 when something does, 2 when it could not be checked (a file or
    option that cannot be used, or a defect: said in one line, never a traceback and never 1)."""
    try:
        return _check_minutes(args)
    except Exception as exc:  # noqa: BLE001 - 1 means "something disagrees": a defect must not say so
        err(f"internal error ({exc.__class__.__name__}: {str(exc)[:300]}); nothing was checked")
        return EXIT_USAGE


def _check_minutes(args: argparse.Namespace) -> int:
    from opsg_metrics.queries.claims.check import as_records, check_text

    try:
        texts = [(name, _read(name)) for name in args.files]
        con = read(args.db, args.clearance)
    except OpsgError as exc:
        err(str(exc))
        return EXIT_USAGE
    try:
        results = []
        for name, text in texts:
            try:
                results.append((name, check_text(con, text, args.month)))
            except OpsgError as exc:
                err(f"{name}: {exc}")
                return EXIT_USAGE
    finally:
        con.close()
    if args.json:
        records = [dict(file=name, **r) for name, checked in results for r in as_records(checked)]
        json.dump(records, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        for name, checked in results:
            _print(name, checked)
    disagree = sum(len(c.disagrees) for _, c in results)
    audit(
        args.db,
        "check",
        f"minutes check of {', '.join(n for n, _ in results)}: {disagree} disagree",
        month=results[0][1].month if results else None,
    )
    return EXIT_ERROR if disagree else EXIT_OK


def _print(name: str, checked) -> None:
    counts = checked.counts()
    print(
        f"{name}: PMR month {words.month_label(checked.month)}; {words.plural(len(checked.verdicts), 'claim')}: "
        f"{counts['agrees']} agree, {counts['disagrees']} disagree, {counts['cannot check']} cannot be checked"
    )
    for v in checked.verdicts:
        s, e = v.claim.span
        marked = v.claim.sentence[:s] + MARK[0] + v.claim.sentence[s:e] + MARK[1] + v.claim.sentence[e:]
        read_as = ", ".join(
            str(x)
            for x in (
                v.claim.measure,
                v.claim.provider,
                words.month_label(v.claim.month),
                v.claim.quantity,
                f"{'' if v.claim.comparison == '=' else v.claim.comparison + ' '}{_shown(v.claim.claimed)}",
            )
            if x
        )
        print(f"  {v.verdict.upper()}: {marked}")
        print(f"    read as: {read_as}")
        print(f"    {v.said}" + (f" ({v.source})" if v.source else ""))


def _shown(value: object) -> str:
    from datetime import date

    return words.month_label(value) if isinstance(value, date) else str(value)
