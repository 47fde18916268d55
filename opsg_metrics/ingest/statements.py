"""Statements files: what the minutes (or anyone) stated about the figures, kept as checkable claims.

Columns (a header row; CSV, UTF-8): `month` (YYYY-MM), `measure` (a catalogue id, or what a count or a
direction counts: see queries/claims/read.py), `provider`, `quantity` (value, target, minimum, status, run,
run_minimum, run_start, previous_miss, window, count, direction, cause), `claimed`, `sentence`, `source`
(where it was stated: "OPSG_33xx minutes (22 Jun 2020)"), and optionally `comparison` (=, ~, <=, <, >=,
>), `window` (a window claim's months), `claim` (the words the claim was read from) and `feeder_provider`
(a cause's region). The Minutes check page writes the same file when it keeps a checked paragraph.

A file with any problem is rejected whole, every problem listed as `file:row:column: message`; a valid one
is loaded in one transaction with its source (its marking, which travels with every statement shown).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date

import duckdb

from opsg_metrics.ingest.formats import IngestResult, Problem, display_name
from opsg_metrics.store import parse
from opsg_metrics.store import text as text_rules
from opsg_metrics.store.catalogue import Catalogue

KIND = "statements"
REQUIRED = ("month", "measure", "provider", "quantity", "claimed", "sentence", "source")
OPTIONAL = ("comparison", "window", "claim", "feeder_provider")
QUANTITIES = (
    "value",
    "target",
    "minimum",
    "status",
    "run",
    "run_minimum",
    "run_start",
    "previous_miss",
    "window",
    "count",
    "direction",
    "cause",
)
COMPARISONS = ("=", "~", "<=", "<", ">=", ">")
STATUSES = ("met", "below_target", "below_minimum")
DIRECTIONS = ("lower", "higher", "stable", "spike")
MAX_ROWS = 10_000
MAX_TEXT = 2_000


def is_statements(raw: bytes) -> bool:
    """Whether a file's header is a statements file's."""
    first = raw[:2000].decode("utf-8-sig", errors="replace").splitlines()[:1]
    names = {c.strip().lower() for c in first[0].split(",")} if first else set()
    return set(REQUIRED) <= names


def _check_row(row: dict, number: int, label: str, catalogue: Catalogue) -> tuple[dict | None, list[Problem]]:
    problems = []

    def bad(column: str, message: str) -> None:
        problems.append(Problem(label, number, column, message))

    out: dict = {}
    for column in (*REQUIRED, *OPTIONAL):
        value = (row.get(column) or "").strip()
        if len(value) > MAX_TEXT:
            bad(column, f"is {len(value):,} characters; at most {MAX_TEXT:,}")
        elif problem := (
            text_rules.identifier_problem(value, f"a {column}") if column in ("measure", "provider") and value else None
        ):
            bad(column, problem)
        out[column] = text_rules.printable(value)
    for column in REQUIRED:
        if not out[column] and column != "provider":
            bad(column, "is empty")
    try:
        out["month"] = parse.parse_month(out["month"]) if out["month"] else None
    except ValueError as exc:
        bad("month", str(exc))
    quantity = out["quantity"]
    if quantity and quantity not in QUANTITIES:
        bad("quantity", f"unknown quantity {text_rules.quote(quantity)} (use {', '.join(QUANTITIES)})")
    if out["provider"]:
        try:
            out["provider"] = catalogue.resolve_provider(out["provider"])
        except ValueError as exc:
            bad("provider", str(exc))
    if quantity not in ("count", "direction") and out["measure"] and out["provider"]:
        if not any(m == out["measure"] for m, _ in catalogue.measures):
            bad("measure", f"unknown measure {text_rules.quote(out['measure'])} (not in the catalogue)")
    claimed = out["claimed"]
    if claimed and quantity in ("value", "target", "minimum", "count"):
        try:
            float(claimed)
        except ValueError:
            bad("claimed", f"{text_rules.quote(claimed)} is not a number")
    elif claimed and quantity in ("run", "run_minimum", "window") and not claimed.isdigit():
        bad("claimed", f"{text_rules.quote(claimed)} is not a whole number of months")
    elif claimed and quantity in ("run_start", "previous_miss"):
        try:
            parse.parse_month(claimed)
        except ValueError as exc:
            bad("claimed", str(exc))
    elif claimed and quantity == "status" and claimed not in STATUSES:
        bad("claimed", f"unknown status {text_rules.quote(claimed)} (use {', '.join(STATUSES)})")
    elif claimed and quantity == "direction" and claimed not in DIRECTIONS:
        bad("claimed", f"unknown direction {text_rules.quote(claimed)} (use {', '.join(DIRECTIONS)})")
    out["comparison"] = out["comparison"] or "="
    if out["comparison"] not in COMPARISONS:
        bad("comparison", f"unknown comparison {text_rules.quote(out['comparison'])} (use {' '.join(COMPARISONS)})")
    if out["window"]:
        if not out["window"].isdigit() or not 1 <= int(out["window"]) <= 600:
            bad("window", "is not a whole number of months from 1 to 600")
    elif quantity == "window":
        bad("window", "a window claim needs its window (months)")
    return (None if problems else out), problems


def load_statements(
    con: duckdb.DuckDBPyConnection,
    raw: bytes,
    file_name: str,
    *,
    source: str | None = None,
    classification: str = "white",
    issued: date | None = None,
    loaded_by: str = "",
    dry_run: bool = False,
) -> IngestResult:
    """Check and load a statements file (see the module's notes)."""
    label = display_name(file_name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result = IngestResult(file=label, outcome="rejected", kinds=[KIND])
        result.problems = [Problem(label, 1, "-", f"is not UTF-8 text (byte {exc.start + 1})")]
        result.message = "rejected: 1 problem; nothing was loaded"
        return result
    reader = csv.DictReader(io.StringIO(text))
    header = [c.strip().lower() for c in reader.fieldnames or []]
    reader.fieldnames = header
    return load_statement_rows(
        con,
        header,
        list(reader),
        file_name,
        sha256=hashlib.sha256(raw).hexdigest(),
        source=source,
        classification=classification,
        issued=issued,
        loaded_by=loaded_by,
        dry_run=dry_run,
    )


def load_statement_rows(
    con: duckdb.DuckDBPyConnection,
    header: list[str],
    records: list[dict],
    file_name: str,
    *,
    sha256: str | None = None,
    source: str | None = None,
    classification: str = "white",
    issued: date | None = None,
    loaded_by: str = "",
    dry_run: bool = False,
) -> IngestResult:
    """Check and load statements given as rows (a file's, or a checked paragraph's: the Minutes check page
    keeps its claims this way), by the same rules as a file; row numbers count the header as row 1."""
    label = display_name(file_name)
    result = IngestResult(file=label, outcome="rejected", kinds=[KIND])
    missing = [c for c in REQUIRED if c not in header]
    problems = [Problem(label, 1, "header", f"missing column {text_rules.quote(c)}") for c in missing]
    rows: list[dict] = []
    if not missing:
        catalogue = Catalogue.from_db(con)
        for number, row in enumerate(records, start=2):
            if number - 1 > MAX_ROWS:
                problems.append(Problem(label, number, "-", f"more than {MAX_ROWS:,} statements in one file"))
                break
            if None in row:
                problems.append(Problem(label, number, "-", "has more cells than the header has columns"))
                continue
            checked, found = _check_row(row, number, label, catalogue)
            problems += found
            if checked:
                rows.append(checked | {"source_row": number})
    result.rows_read = len(records)
    if problems:
        result.problems = problems
        result.message = f"rejected: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was loaded"
        return result
    if not rows:
        result.outcome, result.message = "unchanged", "no statements given; nothing changed"
        return result
    sha256 = sha256 or hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()
    if con.execute(
        "SELECT count(*) FROM main.sources WHERE sha256 = ? AND classification = ?", [sha256, classification]
    ).fetchone()[0]:
        result.outcome, result.unchanged = "unchanged", len(rows)
        result.message = "already kept: the same statements; nothing changed"
        return result
    con.execute("BEGIN TRANSACTION")
    try:
        source_id = con.execute(
            """INSERT INTO main.sources (label, kind, classification, issued_on, file_name, sha256, is_sample)
               VALUES (?, ?, ?, ?, ?, ?, false) RETURNING source_id""",
            [source or label, KIND, classification, issued, label, sha256],
        ).fetchone()[0]
        con.executemany(
            """INSERT INTO main.statements (month, measure, provider, quantity, claimed, comparison, window_months,
                   sentence, claim, feeder_provider, said_in, source_id, source_row)
               VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?)""",
            [
                [
                    r["month"],
                    r["measure"],
                    r["provider"],
                    r["quantity"],
                    r["claimed"],
                    r["comparison"],
                    int(r["window"]) if r["window"] else None,
                    r["sentence"],
                    r["claim"],
                    r["feeder_provider"],
                    r["source"],
                    source_id,
                    r["source_row"],
                ]
                for r in rows
            ],
        )
        result.new, result.source_id, result.source_label = len(rows), source_id, source or label
        result.message = f"loaded {len(rows)} statements as source '{source or label}'"
        con.execute(
            """INSERT INTO main.ingest_log (file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome, message, loaded_by)
               VALUES (?, ?, ?, ?, ?, ?, 'loaded', ?, ?)""",
            [label, sha256, KIND, source_id, len(rows), len(rows), result.message, loaded_by],
        )
        if dry_run:
            con.execute("ROLLBACK")
            result.outcome, result.source_id = "checked", None
            result.message = f"check only: would load {len(rows)} statements"
        else:
            con.execute("COMMIT")
            result.outcome = "loaded"
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
