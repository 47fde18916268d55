"""The command line: `python -m opsg_metrics [--db PATH] COMMAND ...` (README "Command line").

A thin front end over the library, as the pages are: each command parses its arguments, calls the library
and prints. User mistakes print a message to stderr and exit non-zero, never a traceback. The commands:
data.py (init, ingest, status), exports.py (summary, export-charts), minutes.py (check-minutes),
people.py (people, audit); what they share, options.py.
"""

from __future__ import annotations

import argparse
import os
import sys

import duckdb

from opsg_metrics.cli import data, events, exports, minutes, record
from opsg_metrics.cli import people as people_commands
from opsg_metrics.cli.options import EXIT_ERROR, EXIT_OK, EXIT_USAGE, err, output_file, output_folder
from opsg_metrics.store.connect import explain_database_error, resolve_db_path
from opsg_metrics.store.errors import OpsgError

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main", "output_file", "output_folder"]


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser of every command, and the function each command runs."""
    parser = argparse.ArgumentParser(
        prog="python -m opsg_metrics",
        description="OPSG Metrics: load DCC Performance Measurement Report data and report status and runs.",
    )
    parser.add_argument("--db", metavar="PATH", help="DuckDB file to use (default: $OPSG_DB, else data/opsg.duckdb)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = {}
    for module in (data, exports, minutes, record, events, people_commands):
        run.update(module.add_parsers(commands))
    return parser, run


COMMANDS = build_parser()[1]


def main(argv: list[str] | None = None) -> int:
    args = build_parser()[0].parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except OpsgError as exc:
        err(str(exc))
        return EXIT_ERROR
    except duckdb.Error as exc:
        # Not a user mistake we foresaw, but still no traceback: say what the database means.
        err(str(explain_database_error(exc, resolve_db_path(args.db))))
        return EXIT_ERROR
    except BrokenPipeError:  # the output's reader stopped (`| head`): nothing more to say, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        err("interrupted; nothing half-written is kept (each file loads in one transaction)")
        return 130
    except Exception as exc:  # noqa: BLE001 - a defect, still said in one line: never a traceback
        err(
            f"internal error ({exc.__class__.__name__}: {str(exc)[:300]}); nothing was changed. "
            "Please report this with the command you ran."
        )
        return EXIT_ERROR
