"""The commands that write what people take away: summary and export-charts. Each is gated on the
classification of exactly the rows it writes, names who exported it when above WHITE, and is recorded in the
audit log."""

from __future__ import annotations

import argparse
import sys

from opsg_metrics import words
from opsg_metrics.cli.options import (
    EXIT_OK,
    audit,
    clearance,
    month_and_window,
    operator,
    output_file,
    output_folder,
    read,
    write_output,
)
from opsg_metrics.render.layout import DEFAULT_PRESET, PRESETS
from opsg_metrics.store.classification import LABELS, check_restricted
from opsg_metrics.store.connect import resolve_db_path
from opsg_metrics.store.errors import OpsgError

SUMMARY_FORMATS = ("md", "docx", "html", "txt")  # render/documents/build.py's (a test keeps them the same)


def add_parsers(commands: argparse._SubParsersAction) -> dict:
    summary = commands.add_parser(
        "summary",
        help="the monthly PMR summary for the Operations Group",
        description="The secretariat's PMR summary for a month: headline, every measure below target in OPSG's "
        "words, changes, data quality, context and the full table, with sources and classification. "
        "Markdown goes to standard output unless -o is given; Word needs -o.",
    )
    month_and_window(summary)
    summary.add_argument(
        "--format", choices=SUMMARY_FORMATS, default="md", help="output format (default md; txt: plain text)"
    )
    summary.add_argument("-o", dest="output", metavar="FILE", help="write to FILE instead of standard output")
    summary.add_argument(
        "--allow-restricted", action="store_true", help="allow output classified AMBER or RED (refused otherwise)"
    )
    clearance(summary)

    export = commands.add_parser(
        "export-charts",
        help="print-quality charts of a PMR month for Panel papers",
        description="Write one chart per measure and provider with a figure in the month (the 24 months to it), "
        "named like 2020-04_CPM1_DCC.png, each with its sources, PMR month and classification on it, "
        "and a manifest.csv.",
    )
    month_and_window(export)
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if needed)")
    export.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="file format (default png)")
    export.add_argument("--measure", metavar="M", help="only this measure")
    export.add_argument(
        "--layout",
        choices=tuple(PRESETS),
        default=DEFAULT_PRESET,
        help="the print layout the charts are laid out for: "
        + "; ".join(f"{key}: {p.label}" for key, p in PRESETS.items())
        + f" (default {DEFAULT_PRESET})",
    )
    export.add_argument(
        "--allow-restricted", action="store_true", help="allow charts classified AMBER or RED (refused otherwise)"
    )
    clearance(export)
    return {"summary": cmd_summary, "export-charts": cmd_export_charts}


def cmd_export_charts(args: argparse.Namespace) -> int:
    from opsg_metrics.render.files import pack_charts, pack_classification, write_month_charts
    from opsg_metrics.rules.status import status_for_month

    con = read(args.db, args.clearance)
    try:
        if args.measure:
            status_for_month(con, args.month, measure=args.measure)  # a clear error for an unknown measure
        charts = pack_charts(
            con,
            args.month,
            args.format,
            measure=args.measure,
            window=args.window,
            exported_by=operator(),
            layout=args.layout,
        )
    finally:
        con.close()
    # The gate and the marking both come from exactly the charts about to be written.
    classification = pack_classification(charts)
    check_restricted(classification, args.allow_restricted)
    out = output_folder(args.out)

    def progress(number: int, total: int, name: str) -> None:
        print(f"  [{number}/{total}] {name}", flush=True)

    print(f"Charts for the PMR of {words.month_label(args.month)} into {out}/")
    entries = write_month_charts(charts, out, args.format, progress)
    print(
        f"Done: {len(entries)} charts and manifest.csv; classification "
        f"{classification.upper()} (most restrictive of them)."
    )
    audit(
        args.db,
        "export",
        f"month pack ({len(entries)} charts, {args.format}) into {out}",
        month=args.month,
        classification=classification,
    )
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from opsg_metrics.render.documents.build import summary_document

    if args.format == "docx" and not args.output:
        raise OpsgError("a Word document needs a file: add -o FILE.docx")
    output = output_file(args.output, resolve_db_path(args.db)) if args.output else None
    con = read(args.db, args.clearance)
    try:
        name, content, classification = summary_document(
            con, args.month, args.format, window=args.window, exported_by=operator()
        )
    finally:
        con.close()
    check_restricted(classification, args.allow_restricted)
    if output:
        write_output(output, content)
        print(f"Wrote {output} ({len(content):,} bytes; classification {LABELS[classification]})")
    else:
        sys.stdout.write(content.decode("utf-8"))
    audit(
        args.db,
        "export",
        f"summary ({args.format})" + (f" to {output}" if output else ""),
        month=args.month,
        classification=classification,
    )
    return EXIT_OK
