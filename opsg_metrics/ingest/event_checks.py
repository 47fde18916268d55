"""The rules a file of request records is checked by, as SQL over all its rows in one pass (README,
"Request records"): the header, each cell, and a request counted twice. Each rule gives the message of
a `file:row:column: message` problem, or NULL; ingest/events.py runs them before anything is stored."""

from __future__ import annotations

import re

import duckdb

from opsg_metrics.ingest.formats import Problem
from opsg_metrics.store import events as kept

REQUIRED = (
    "request_id",
    "measure",
    "provider",
    "received_at",
    "completed_at",
    "target_seconds",
    "outcome",
    "exclusion",
)
MAX_PROBLEMS = 200
MAX_ID_CHARS = 200
# x_ columns whose name says they identify a device or a premises: pseudonymised like request_id.
IDENTIFIER = re.compile(r"device|guid|eui|mpan|mprn|mpxn|serial|hub_id|meter_id", re.IGNORECASE)
# ISO 8601 with a UTC offset (Z or +hh:mm / +hhmm / +hh): a time with no offset is refused.
ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
TIMESTAMP_TYPES = ("TIMESTAMP WITH TIME ZONE",)
TEXT_TYPES = ("VARCHAR",)


def text(column: str, kind: str) -> str:
    return column if kind in TEXT_TYPES else f"CAST({column} AS VARCHAR)"


def cell_rules(types: dict[str, str], series: list[tuple[str, str]], codes: list[str]) -> tuple[list[str], dict]:
    """One SQL expression per cell rule (the message, or NULL), and the typed expressions the write uses."""
    q = {name: f'"{name}"' for name in types}
    checks = []
    typed = {}
    rid = text(q["request_id"], types["request_id"])
    checks.append(
        f"CASE WHEN {rid} IS NULL OR trim({rid}) = '' THEN 'request_id\tempty: every request needs its id' "
        f"WHEN length({rid}) > {MAX_ID_CHARS} THEN 'request_id\tlonger than {MAX_ID_CHARS} characters' END"
    )
    pairs = ", ".join(f"{kept.sql_string(m + chr(9) + p)}" for m, p in series) or "''"
    measure, provider = text(q["measure"], types["measure"]), text(q["provider"], types["provider"])
    checks.append(
        f"CASE WHEN coalesce({measure}, '') = '' THEN 'measure\tempty' "
        f"WHEN coalesce({provider}, '') = '' THEN 'provider\tempty' "
        f"WHEN ({measure} || chr(9) || {provider}) NOT IN ({pairs}) THEN 'measure\t' || left({measure}, 40) || ' / ' "
        f"|| left({provider}, 40) || ' is not a series of the catalogue' END"
    )
    for column, required in (("received_at", True), ("completed_at", False)):
        kind = types[column]
        if kind in TIMESTAMP_TYPES:
            typed[column] = q[column]
            if required:
                checks.append(f"CASE WHEN {q[column]} IS NULL THEN '{column}\tempty: the time it was received' END")
        elif kind in TEXT_TYPES:
            value = f"nullif(trim({q[column]}), '')"
            typed[column] = f"try_cast({value} AS TIMESTAMPTZ)"
            empty = f"WHEN {value} IS NULL THEN '{column}\tempty: the time it was received' " if required else ""
            checks.append(
                f"CASE {empty}WHEN {value} IS NOT NULL AND (NOT regexp_matches({value}, '{ISO_WITH_OFFSET}') "
                f"OR try_cast({value} AS TIMESTAMPTZ) IS NULL) THEN '{column}\t' || left({value}, 40) || "
                "' is not a time in ISO 8601 with a UTC offset (2020-04-01T09:30:00+01:00 or ...Z)' END"
            )
        else:
            typed[column] = "NULL"
            checks.append(
                f"'{column}\ta {kind.lower()} column: give times as ISO 8601 text with a UTC offset, or as "
                "timestamps adjusted to UTC'"
            )
    checks.append(
        f"CASE WHEN {typed['completed_at']} < {typed['received_at']} THEN 'completed_at\tbefore received_at' "
        f"WHEN {typed['received_at']} > now() + INTERVAL 1 DAY THEN 'received_at\tin the future' END"
    )
    target = text(q["target_seconds"], types["target_seconds"])
    typed["target_seconds"] = f"try_cast({target} AS DOUBLE)"
    checks.append(
        f"CASE WHEN coalesce(trim({target}), '') = '' THEN 'target_seconds\tempty: its Target Response Time' "
        f"WHEN NOT isfinite(try_cast({target} AS DOUBLE)) OR try_cast({target} AS DOUBLE) IS NULL "
        f"OR try_cast({target} AS DOUBLE) <= 0 THEN 'target_seconds\t' || left({target}, 40) || "
        "' is not a number of seconds above 0' END"
    )
    outcome = text(q["outcome"], types["outcome"])
    allowed = ", ".join(f"'{o}'" for o in kept.OUTCOMES)
    checks.append(
        f"CASE WHEN coalesce({outcome}, '') NOT IN ({allowed}) THEN 'outcome\t' || "
        f"CASE WHEN coalesce({outcome}, '') = '' THEN 'empty' ELSE left({outcome}, 40) || ' is not' END || "
        f"' one of {', '.join(kept.OUTCOMES)}' "
        f"WHEN {outcome} = 'completed' AND {typed['completed_at']} IS NULL THEN "
        "'completed_at\tempty, but the outcome is completed' END"
    )
    exclusion = text(q["exclusion"], types["exclusion"])
    known = ", ".join(kept.sql_string(c) for c in codes)
    checks.append(
        f"CASE WHEN coalesce(trim({exclusion}), '') <> '' AND trim({exclusion}) NOT IN ({known}) THEN 'exclusion\t' || "
        f"left({exclusion}, 40) || ' is not a reason of data/catalogue/exclusions.csv ({', '.join(codes)})' END"
    )
    typed.update(
        request_id=rid,
        measure=measure,
        provider=provider,
        outcome=outcome,
        exclusion=f"nullif(trim({exclusion}), '')",
    )
    return checks, typed


def header_problems(label: str, header: list[str]) -> list[Problem]:
    problems = []
    seen = set()
    for name in header:
        if name in seen:
            problems.append(Problem(label, 1, name, "this column appears twice"))
        seen.add(name)
        if name not in REQUIRED and not name.startswith("x_"):
            problems.append(Problem(label, 1, name or "-", "not a column of request records (name extra ones x_...)"))
    for name in REQUIRED:
        if name not in header:
            problems.append(Problem(label, 1, name, "missing: request records need " + ", ".join(REQUIRED)))
    return problems


def cell_problems(con: duckdb.DuckDBPyConnection, relation: str, checks: list[str], label: str) -> list[Problem]:
    listed = f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)"
    found = con.execute(
        f"""SELECT source_row, unnest(problems) FROM (
              SELECT source_row, {listed} AS problems FROM {relation}) WHERE len(problems) > 0
            ORDER BY source_row LIMIT {MAX_PROBLEMS + 1}"""
    ).fetchall()
    problems = []
    for row, text in found[:MAX_PROBLEMS]:
        column, _, message = text.partition("\t")
        problems.append(Problem(label, int(row), column, message))
    if len(found) > MAX_PROBLEMS:
        total = con.execute(f"SELECT sum(len({listed})) FROM {relation} WHERE len({listed}) > 0").fetchall()[0][0]
        problems.append(Problem(label, 0, "-", f"{total - MAX_PROBLEMS:,} more problems not listed"))
    return problems


def duplicate_problems(con: duckdb.DuckDBPyConnection, relation: str, typed: dict, label: str) -> list[Problem]:
    """A request counted twice in one file (by its id and series): the rows of the first few."""
    found = con.execute(
        f"""WITH keyed AS (SELECT source_row, {typed["request_id"]} AS id, {typed["measure"]} AS m,
                                  {typed["provider"]} AS p, hash({typed["request_id"]}, {typed["measure"]},
                                  {typed["provider"]}) AS h FROM {relation}),
                 twice AS (SELECT h FROM keyed GROUP BY h HAVING count(*) > 1)
            SELECT id, m, p, list(source_row ORDER BY source_row) AS rows FROM keyed WHERE h IN (SELECT h FROM twice)
            GROUP BY id, m, p HAVING count(*) > 1 ORDER BY min(source_row) LIMIT 20"""
    ).fetchall()
    return [
        Problem(label, rows[1], "request_id", f"{str(rid)[:40]!r} ({m} / {p}) again: first at row {rows[0]}")
        for rid, m, p, rows in found
    ]
