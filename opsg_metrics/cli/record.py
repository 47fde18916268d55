"""The review record on the command line: `actions` (the actions, their target dates and statuses, overdue
at a day), `commentary` (a PMR month's) and `pack` (a meeting's pack as one file). The record is written
by `ingest` (the meetings, actions, decisions and commentary kinds) and on the app's pages."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from opsg_metrics import words
from opsg_metrics.cli.options import (
    EXIT_OK,
    audit,
    clearance,
    day,
    month,
    operator,
    output_file,
    read,
    window,
    write_output,
)
from opsg_metrics.rules.status import DEFAULT_WINDOW
from opsg_metrics.store.classification import LABELS, check_restricted, most_restrictive
from opsg_metrics.store.connect import resolve_db_path
from opsg_metrics.store.errors import OpsgError


def add_parsers(commands: argparse._SubParsersAction) -> dict:
    from opsg_metrics.render.documents.pack import ACTION_FORMATS, PACK_FORMATS

    actions = commands.add_parser(
        "actions",
        help="list the actions: target dates with every revision, status, overdue",
        description="List the actions of the review record as they stood on a day: each with its latest "
        "target date and every earlier one (when set and why), its status history and whether it is overdue. "
        "With --meeting, the actions outstanding at that meeting (raised by its day, not closed on it, overdue "
        "against it). With --format, the 'Actions outstanding' table as a file.",
    )
    actions.add_argument("--meeting", metavar="M", help="the actions outstanding at meeting M (e.g. OPSG_33xx)")
    actions.add_argument("--open", action="store_true", help="only actions not closed")
    actions.add_argument(
        "--overdue-at", type=day, metavar="DATE", help="the day the actions are seen at (default: today)"
    )
    actions.add_argument("--json", action="store_true", help="a JSON list instead of text")
    actions.add_argument("--format", choices=ACTION_FORMATS, help="the table as a document or CSV (with -o)")
    actions.add_argument("-o", "--output", metavar="FILE", help="write the table here (default: standard output)")
    actions.add_argument("--allow-restricted", action="store_true", help="allow output classified AMBER or RED")
    clearance(actions)

    commentary = commands.add_parser(
        "commentary",
        help="show a PMR month's commentary (current versions, with who and when)",
        description="Show the secretariat's commentary on a PMR month: on the month overall and on each "
        "measure and provider, the current version with its author, time and how many versions it has.",
    )
    commentary.add_argument("--month", type=month, required=True, metavar="YYYY-MM", help="the PMR month")
    commentary.add_argument("--json", action="store_true", help="a JSON list instead of text")
    clearance(commentary)

    pack = commands.add_parser(
        "pack",
        help="write a meeting's pack: summary with commentary, actions, decisions, charts",
        description="Write one file for a meeting: the summary of its PMR month with the commentary, the "
        "actions outstanding at it, the decisions of the previous meeting and (Word, HTML) the charts of "
        "the measures below target, marked with the most restrictive marking of everything in it.",
    )
    pack.add_argument("--meeting", required=True, metavar="M", help="the meeting (e.g. OPSG_33xx)")
    pack.add_argument("--format", choices=PACK_FORMATS, default="docx", help="the file's format (default docx)")
    pack.add_argument("-o", "--output", metavar="FILE", required=True, help="the file to write")
    pack.add_argument("--window", type=window, default=DEFAULT_WINDOW, metavar="N", help="rolling window in months")
    pack.add_argument("--allow-restricted", action="store_true", help="allow a pack classified AMBER or RED")
    clearance(pack)
    return {"actions": cmd_actions, "commentary": cmd_commentary, "pack": cmd_pack}


def _one(text: str) -> str:
    """A text as one line of the terminal's output (its line breaks and tabs as spaces): no text of the
    record can start a line that looks like another action."""
    return " ".join(str(text).split())


def _text(found: list, heading: str) -> str:
    lines = [heading, ""]
    for a in found:
        flag = " OVERDUE" if a.overdue else ""
        lines.append(
            f"{a.action_id}  [{a.status}{flag}]  owner {_one(a.owner)}; raised {a.raised_meeting} "
            f"({words.day_label(a.raised_on)})"
        )
        lines.append(f"  {_one(a.text)}")
        lines.append(f"  target dates: {_one(a.history()) or 'none'}")
        links = [*a.measures, *a.providers, *a.incidents]
        if links:
            lines.append(f"  links: {', '.join(links)}")
    if not found:
        lines.append("No actions.")
    return "\n".join(lines) + "\n"


def cmd_actions(args: argparse.Namespace) -> int:
    from opsg_metrics.queries import record
    from opsg_metrics.render.documents.pack import actions_file

    if args.format and args.format == "docx" and not args.output:
        raise OpsgError("a Word document needs a file: add -o FILE.docx")
    output = output_file(args.output, resolve_db_path(args.db)) if args.output else None
    con = read(args.db, args.clearance)
    try:
        if args.format:
            _, content, classification = actions_file(
                con, args.format, meeting_id=args.meeting, at=args.overdue_at, exported_by=operator()
            )
        else:
            meeting = record.meeting(con, args.meeting) if args.meeting else None
            at = args.overdue_at or (meeting.date if meeting else date.today())
            found = record.actions(
                con, at=at, raised_by=meeting.date if meeting else None, open_only=args.open or bool(meeting)
            )
            classification = most_restrictive(
                [a.classification for a in found] + ([meeting.classification] if meeting else [])
            )
            heading = (f"Actions outstanding at {meeting.label}" if meeting else "Actions") + (
                f", seen on {words.day_label(at)}"
            )
            text = json.dumps([a.as_json() for a in found], indent=2) + "\n" if args.json else _text(found, heading)
            content = text.encode("utf-8")
    finally:
        con.close()
    check_restricted(classification, args.allow_restricted)
    if output:
        write_output(output, content)
        print(f"Wrote {output} ({len(content):,} bytes; classification {LABELS[classification]})")
    else:
        sys.stdout.write(content.decode("utf-8-sig"))
        if not args.json and not args.format:
            print(f"Classification: {LABELS[classification]}")
    if args.format:
        audit(
            args.db,
            "export",
            f"actions ({args.format})" + (f" to {output}" if output else ""),
            classification=classification,
        )
    return EXIT_OK


def cmd_commentary(args: argparse.Namespace) -> int:
    from opsg_metrics.queries import record

    con = read(args.db, args.clearance)
    try:
        found = record.commentary(con, args.month)
    finally:
        con.close()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "month": words.month_key(c.month),
                        "measure": c.measure,
                        "provider": c.provider,
                        "text": c.text,
                        "author": c.author,
                        "written_at": c.written_at.isoformat(timespec="seconds"),
                        "versions": c.versions,
                        "classification": c.classification,
                    }
                    for c in found
                ],
                indent=2,
            )
        )
        return EXIT_OK
    print(f"Commentary on the PMR of {words.month_label(args.month)}")
    for c in found:
        versions = f"; {words.plural(c.versions, 'version')}" if c.versions > 1 else ""
        print(f"\n{c.about[0].upper() + c.about[1:]} ({c.signed}{versions}; {LABELS[c.classification]}):")
        print(f"  {_one(c.text)}")
    if not found:
        print("\nNo commentary for this month.")
    return EXIT_OK


def cmd_pack(args: argparse.Namespace) -> int:
    from opsg_metrics.render.documents.pack import meeting_pack

    output = output_file(args.output, resolve_db_path(args.db))
    con = read(args.db, args.clearance)
    try:
        _, content, classification = meeting_pack(
            con, args.meeting, args.format, window=args.window, exported_by=operator()
        )
    finally:
        con.close()
    check_restricted(classification, args.allow_restricted)
    write_output(output, content)
    print(f"Wrote {output} ({len(content):,} bytes; classification {LABELS[classification]})")
    audit(args.db, "export", f"meeting pack {args.meeting} ({args.format}) to {output}", classification=classification)
    return EXIT_OK
