"""The commands that manage who may use the app and show what they did: people, audit."""

from __future__ import annotations

import argparse
import json

from opsg_metrics.cli.options import EXIT_OK, day, operator, read
from opsg_metrics.store import people, snapshots
from opsg_metrics.store.classification import ORDER
from opsg_metrics.store.connect import resolve_db_path
from opsg_metrics.store.errors import OpsgError


def add_parsers(commands: argparse._SubParsersAction) -> dict:
    manage = commands.add_parser(
        "people",
        help="who may use the app: add, list, set, remove",
        description="People who may sign in to the app in team mode, with their role (viewer: read and export; "
        "secretariat: also load files; admin: also manage people and the catalogue) and their clearance (the "
        "most restrictive marking they may see).",
    )
    verbs = manage.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = verbs.add_parser("add", help="add a person")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--role", choices=people.ROLES, required=True)
    add.add_argument("--clearance", choices=ORDER, required=True)
    add.add_argument("--name", default="", help="the person's name, as exports show it")
    listing = verbs.add_parser("list", help="everyone, with role and clearance")
    listing.add_argument("--json", action="store_true", help="print a JSON list for programs")
    change = verbs.add_parser("set", help="change a person's role, clearance or name")
    change.add_argument("email", metavar="EMAIL")
    change.add_argument("--role", choices=people.ROLES)
    change.add_argument("--clearance", choices=ORDER)
    change.add_argument("--name")
    remove = verbs.add_parser("remove", help="remove a person")
    remove.add_argument("email", metavar="EMAIL")

    log = commands.add_parser(
        "audit",
        help="the audit log: sign-ins, refusals, loads, exports, changes to people",
        description="The audit log, newest first: who did what, when, for which month and classification.",
    )
    log.add_argument("--since", type=day, metavar="DATE", help="only entries from this day, YYYY-MM-DD")
    log.add_argument("--json", action="store_true", help="print a JSON list for programs")
    return {"people": cmd_people, "audit": cmd_audit}


def _needs_database(args: argparse.Namespace) -> None:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise OpsgError(f"{path}: no database here; create it first with 'python -m opsg_metrics --db {path} init'")


def cmd_people(args: argparse.Namespace) -> int:
    _needs_database(args)
    if args.verb == "list":
        con = read(args.db)
        try:
            frame = people.listing(con)
        finally:
            con.close()
        if args.json:
            print(json.dumps(frame.to_dict(orient="records"), indent=2))
        elif frame.empty:
            print("No people yet: add one with 'python -m opsg_metrics people add EMAIL --role R --clearance C'.")
        else:
            print(frame.to_string(index=False))
        return EXIT_OK
    if args.verb == "set" and args.role is None and args.clearance is None and args.name is None:
        raise OpsgError("nothing to change: give --role, --clearance or --name")
    with snapshots.writing(args.db) as con:  # published: the app looks people up in the snapshot it serves
        if args.verb == "add":
            person = people.add(
                con, args.email, role=args.role, clearance=args.clearance, name=args.name, by=operator()
            )
            print(f"Added {person.email}: {person.role}, cleared {person.clearance}.")
        elif args.verb == "set":
            person = people.set_person(
                con, args.email, role=args.role, clearance=args.clearance, name=args.name, by=operator()
            )
            print(f"{person.email}: {person.role}, cleared {person.clearance}.")
        else:
            people.remove(con, args.email, by=operator())
            print(f"Removed {args.email.strip().lower()}.")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    _needs_database(args)
    with snapshots.reading_working(args.db) as con:  # the log is written without publishing: read it as it is
        frame = people.audit(con, args.since)
    if args.json:
        print(json.dumps(frame.where(frame.notna(), None).to_dict(orient="records"), indent=2))
    elif frame.empty:
        print("The audit log is empty" + (f" since {args.since}" if args.since else "") + ".")
    else:
        print(frame.to_string(index=False))
    return EXIT_OK
