"""The rules a file of request records is checked by (README, "Measures from request records"): the header,
each cell (as SQL over all its rows in one pass), and a request counted twice, in a file or across the
files of a delivery. Each cell rule gives the message of a `file:row:column: message` problem, or NULL;
ingest/events.py runs them before anything is stored.

Every name that reaches SQL is either one of ours or an `x_` column name of ASCII letters, digits and `_`
(checked first, and quoted by `ident` besides): no text of a file is ever SQL.
"""

from __future__ import annotations

import re

import duckdb

from opsg_metrics.ingest.formats import MAX_FIELD_CHARS, Problem
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
MAX_TARGET_SECONDS = 31 * 86_400  # a Target Response Time of more than a month is no Target Response Time
YEARS = (2000, 2100)  # the years a request may be received or completed in (as `events measure --month`)
EXTRA = re.compile(r"x_[A-Za-z0-9_]{1,60}")  # an extra column's name
# x_ columns whose name says they identify a device or a premises: pseudonymised like request_id.
IDENTIFIER = re.compile(r"device|guid|eui|mpan|mprn|mpxn|serial|hub_id|meter_id", re.IGNORECASE)
# ISO 8601 with a UTC offset (Z, or +hh:mm, +hhmm, +hh from -14:00 to +14:00): a time without one is refused.
ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)$"
TIMESTAMP_TYPES = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS WITH TIME ZONE", "TIMESTAMPTZ_NS")
TEXT_TYPES = ("VARCHAR",)
# What no cell may hold (store/text.py's UNPRINTABLE, as a DuckDB regular expression).
UNPRINTABLE_SQL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\x{fdd0}-\\x{fdef}\\x{fffe}\\x{ffff}]"


def ident(name: str) -> str:
    """A column name as a SQL identifier, quoted (a double quote in it doubled)."""
    return '"' + name.replace('"', '""') + '"'


def text(column: str, kind: str) -> str:
    return column if kind in TEXT_TYPES else f"CAST({column} AS VARCHAR)"


def _quoted(value: str) -> str:
    """A cell as a message quotes it: its first 40 characters."""
    return f"left({value}, 40)"


def _time_rules(name: str, kind: str, column: str, required: bool) -> tuple[str, list[str]]:
    """A time column's typed expression and its rules."""
    if kind in TIMESTAMP_TYPES:
        typed = f"CAST({column} AS TIMESTAMPTZ)"
        rules = [f"CASE WHEN {column} IS NULL THEN '{name}\tempty: the time it was received' END"] if required else []
    elif kind in TEXT_TYPES:
        value = f"nullif(trim({column}), '')"
        typed = f"try_cast({value} AS TIMESTAMPTZ)"
        empty = f"WHEN {value} IS NULL THEN '{name}\tempty: the time it was received' " if required else ""
        rules = [
            f"CASE {empty}WHEN {value} IS NOT NULL AND (NOT regexp_matches({value}, '{ISO_WITH_OFFSET}') "
            f"OR {typed} IS NULL) THEN '{name}\t' || {_quoted(value)} || "
            "' is not a time in ISO 8601 with a UTC offset (2020-04-01T09:30:00+01:00 or ...Z)' END"
        ]
    else:
        return "NULL", [
            f"'{name}\ta {kind.lower()} column: give times as ISO 8601 text with a UTC offset, or as "
            "timestamps adjusted to UTC'"
        ]
    first, last = YEARS
    rules.append(
        f"CASE WHEN year({typed}) NOT BETWEEN {first} AND {last} THEN '{name}\tin ' || year({typed}) || "
        f"', not between {first} and {last}' END"
    )
    return typed, rules


def cell_rules(
    types: dict[str, str], series: list[tuple[str, str]], codes: list[str]
) -> tuple[list[str], dict[str, str]]:
    """One SQL expression per cell rule (the message, or NULL), and the typed expressions the write uses."""
    q = {name: ident(name) for name in types}
    rules: list[str] = []
    typed: dict[str, str] = {}
    rid = text(q["request_id"], types["request_id"])
    rules.append(
        f"CASE WHEN {rid} IS NULL OR trim({rid}) = '' THEN 'request_id\tempty: every request needs its id' "
        f"WHEN length({rid}) > {MAX_ID_CHARS} THEN 'request_id\tlonger than {MAX_ID_CHARS} characters' "
        f"WHEN regexp_matches({rid}, '{UNPRINTABLE_SQL}') THEN 'request_id\tholds a character that cannot be printed' END"
    )
    pairs = ", ".join(f"{kept.sql_string(m + chr(9) + p)}" for m, p in series) or "''"
    measure, provider = text(q["measure"], types["measure"]), text(q["provider"], types["provider"])
    rules.append(
        f"CASE WHEN coalesce({measure}, '') = '' THEN 'measure\tempty' "
        f"WHEN coalesce({provider}, '') = '' THEN 'provider\tempty' "
        f"WHEN ({measure} || chr(9) || {provider}) NOT IN ({pairs}) THEN 'measure\t' || {_quoted(measure)} || ' / ' "
        f"|| {_quoted(provider)} || ' is not a series of the catalogue' || "
        f"CASE WHEN regexp_matches({measure} || {provider}, '[^\\x20-\\x7e]') "
        "THEN ' (it holds a character that is not plain ASCII: a look-alike letter or an invisible space?)' "
        "ELSE '' END END"
    )
    for name, required in (("received_at", True), ("completed_at", False)):
        typed[name], more = _time_rules(name, types[name], q[name], required)
        rules += more
    rules.append(
        f"CASE WHEN {typed['completed_at']} < {typed['received_at']} THEN 'completed_at\tbefore received_at' "
        f"WHEN {typed['received_at']} > now() + INTERVAL 1 DAY THEN 'received_at\tin the future' END"
    )
    target = text(q["target_seconds"], types["target_seconds"])
    number = f"try_cast(trim({target}) AS DOUBLE)"
    typed["target_seconds"] = number
    rules.append(
        f"CASE WHEN coalesce(trim({target}), '') = '' THEN 'target_seconds\tempty: its Target Response Time' "
        f"WHEN {number} IS NULL OR NOT isfinite({number}) OR {number} <= 0 OR {number} > {MAX_TARGET_SECONDS} "
        f"THEN 'target_seconds\t' || {_quoted(target)} || ' is not a number of seconds above 0 and at most "
        f"{MAX_TARGET_SECONDS:,} (31 days)' END"
    )
    outcome = text(q["outcome"], types["outcome"])
    allowed = ", ".join(f"'{o}'" for o in kept.OUTCOMES)
    completed_raw = (
        q["completed_at"]
        if types["completed_at"] in TIMESTAMP_TYPES
        else f"nullif(trim({text(q['completed_at'], types['completed_at'])}), '')"
    )
    rules.append(
        f"CASE WHEN coalesce({outcome}, '') NOT IN ({allowed}) THEN 'outcome\t' || "
        f"CASE WHEN coalesce({outcome}, '') = '' THEN 'empty' ELSE {_quoted(outcome)} || ' is not' END || "
        f"' one of {', '.join(kept.OUTCOMES)}' "
        f"WHEN {outcome} = 'completed' AND {completed_raw} IS NULL THEN "
        "'completed_at\tempty, but the outcome is completed' END"
    )
    exclusion = text(q["exclusion"], types["exclusion"])
    known = ", ".join(kept.sql_string(c) for c in codes)
    rules.append(
        f"CASE WHEN coalesce(trim({exclusion}), '') <> '' AND trim({exclusion}) NOT IN ({known}) THEN 'exclusion\t' || "
        f"{_quoted(exclusion)} || ' is not a reason of data/catalogue/exclusions.csv ({', '.join(codes)})' END"
    )
    for name in types:
        if name.startswith("x_"):
            cell = text(q[name], types[name])
            rules.append(
                f"CASE WHEN length({cell}) > {MAX_FIELD_CHARS} THEN '{name}\tlonger than {MAX_FIELD_CHARS:,} characters' "
                f"WHEN regexp_matches({cell}, '{UNPRINTABLE_SQL}') THEN '{name}\tholds a character that cannot be "
                "printed (a control character or a non-character)' END"
            )
    typed.update(
        request_id=rid,
        measure=measure,
        provider=provider,
        outcome=outcome,
        exclusion=f"nullif(trim({exclusion}), '')",
    )
    return rules, typed


def header_problems(label: str, header: list[str]) -> list[Problem]:
    """The header's problems: a column twice (in any case), one that is no column of request records or
    no `x_` name of letters, digits and `_`, a required one missing."""
    problems = []
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            problems.append(Problem(label, 1, name, "this column appears twice (names are read in any case)"))
        seen.add(name.lower())
        if name in REQUIRED:
            continue
        if name.startswith("x_") and not EXTRA.fullmatch(name):
            problems.append(
                Problem(label, 1, name, "an extra column's name is x_ then up to 60 ASCII letters, digits and _")
            )
        elif not name.startswith("x_"):
            problems.append(Problem(label, 1, name or "-", "not a column of request records (name extra ones x_...)"))
    for name in REQUIRED:
        if name not in header:
            problems.append(Problem(label, 1, name, "missing: request records need " + ", ".join(REQUIRED)))
    return problems


def _listed(rows: list[tuple[int, str]], total: int, label: str) -> list[Problem]:
    problems = []
    for row, found in rows[:MAX_PROBLEMS]:
        column, _, message = found.partition("\t")
        problems.append(Problem(label, int(row), column, message))
    if total > MAX_PROBLEMS:
        problems.append(Problem(label, 0, "-", f"{total - MAX_PROBLEMS:,} more problems not listed"))
    return problems


def cell_problems(
    con: duckdb.DuckDBPyConnection, relation: str, rules: list[str], label: str
) -> tuple[list[Problem], int]:
    """The first MAX_PROBLEMS problems of the cells (by row), and how many there are in all."""
    listed = f"list_filter([{', '.join(rules)}], lambda x: x IS NOT NULL)"
    found = con.execute(
        f"""SELECT source_row, unnest(problems) FROM (
              SELECT source_row, {listed} AS problems FROM {relation}) WHERE len(problems) > 0
            ORDER BY source_row LIMIT {MAX_PROBLEMS + 1}"""
    ).fetchall()
    total = len(found)
    if total > MAX_PROBLEMS:
        total = con.execute(f"SELECT sum(len({listed})) FROM {relation} WHERE len({listed}) > 0").fetchall()[0][0]
    return _listed(found, total, label), int(total)


def duplicate_problems(
    con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]], typed: list[dict], limit: int = MAX_PROBLEMS
) -> tuple[list[Problem], int]:
    """Every request (its id, measure and provider) given again, in one file or another of the delivery:
    each repeat at its row, with where it was first (`relations`: each file's label and relation).

    In two passes, so that memory stays small at any size: the hashes of the keys given more than once
    (a hash table of 8-byte numbers), then, only when there are any, the rows of those hashes."""
    hashes = " UNION ALL ".join(
        f"SELECT hash({t['request_id']}, {t['measure']}, {t['provider']}) AS h FROM {relation}"
        for (_, relation), t in zip(relations, typed, strict=True)
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE twice AS SELECT h FROM ({hashes}) GROUP BY h HAVING count(*) > 1")
    if not con.execute("SELECT count(*) FROM twice").fetchall()[0][0]:
        return [], 0
    keyed = " UNION ALL ".join(
        f"SELECT * FROM (SELECT {kept.sql_string(label)} AS file, {i} AS f, source_row, {t['request_id']} AS id, "
        f"{t['measure']} AS m, {t['provider']} AS p, hash({t['request_id']}, {t['measure']}, {t['provider']}) AS h "
        f"FROM {relation}) WHERE h IN (SELECT h FROM twice)"
        for i, ((label, relation), t) in enumerate(zip(relations, typed, strict=True))
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE repeats AS
        SELECT file, f, source_row, left(id, 40) AS id, m, p,
               first_value(file) OVER (PARTITION BY id, m, p ORDER BY f, source_row) AS first_file,
               first_value(source_row) OVER (PARTITION BY id, m, p ORDER BY f, source_row) AS first_row,
               row_number() OVER (PARTITION BY id, m, p ORDER BY f, source_row) AS n
        FROM ({keyed})"""
    )
    total = con.execute("SELECT count(*) FROM repeats WHERE n > 1").fetchall()[0][0]
    found = con.execute(
        f"SELECT file, source_row, id, m, p, first_file, first_row FROM repeats WHERE n > 1 "
        f"ORDER BY f, source_row LIMIT {limit}"
    ).fetchall()
    problems = [
        Problem(
            file,
            int(row),
            "request_id",
            f"{rid!r} ({m} / {p}) again: first at row {first_row}" + ("" if first == file else f" of {first}"),
        )
        for file, row, rid, m, p, first, first_row in found
    ]
    if total > limit:
        problems.append(Problem(relations[0][0], 0, "-", f"{total - limit:,} more requests given again, not listed"))
    return problems, int(total)
