"""Staging a load inside its transaction: each row marked new, revised or unchanged against the current data,
the facts appended in slices, the rows a revision replaces marked superseded, the catalogue applied.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from opsg_metrics.ingest.formats import CATALOGUE_SCHEMA, FACT_TABLES, Prepared
from opsg_metrics.store import clearance as cleared


def stage_facts(con: duckdb.DuckDBPyConnection, part: Prepared, classification: str) -> dict:
    """Stage one sheet's rows, marking each new, revised or unchanged against the current data the connection
    reads (`change`: what the load reports), against the owner's (`main_change`: what the main tables
    store), and whether a row the main tables need not store is kept for a less restrictive level that
    admits the load (`restated`, store/clearance.py)."""
    table, view, keys, values, schema = FACT_TABLES[part.kind]
    if (
        part.table is not None
        and not con.execute(
            f"SELECT EXISTS (SELECT 1 FROM main.{table} WHERE {keys[0]} IN (SELECT {keys[0]} FROM {part.table}))"
            f" OR EXISTS (SELECT 1 FROM main.restated_{table} WHERE {keys[0]} IN (SELECT {keys[0]} FROM {part.table}))"
        ).fetchall()[0][0]
    ):
        # Nothing loaded shares a month with the file (a new month of alerts): every row is new, and the
        # staged rows are the prepared table itself rather than a copy joined to the current data
        # (a quarter of a second for a million rows). source_row is unique in a file: it orders the slices.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW staged_{part.kind} AS SELECT *, 'new' AS change, 'new' AS main_change, "
            f"false AS restated, source_row AS staged_seq FROM {part.table}"
        )
        new = con.execute(f"SELECT count(*) FROM {part.table}").fetchall()[0][0]
        return {"new": new, "revised": 0, "unchanged": 0, "stored": new, "restated": 0}
    if part.table is None:
        con.register("staged_input", pa.Table.from_pylist(part.records, schema=schema))
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW staged_input AS SELECT * FROM {part.table}")

    def change(c: str) -> str:
        return (
            f"CASE WHEN {c}.{keys[0]} IS NULL THEN 'new' WHEN {cleared.same_values(table, 's', c)} THEN 'unchanged' "
            "ELSE 'revised' END"
        )

    reading_main = cleared.level_of(con) == cleared.ALL_DATA
    hidden_above = con.execute(
        "SELECT EXISTS (SELECT 1 FROM main.sources WHERE classification NOT IN (SELECT unnest(?::VARCHAR[])))",
        [list(cleared.admitted(classification))],
    ).fetchall()[0][0]
    restated = cleared.restated_rule(table, "s", classification) if hidden_above else "false"
    owners = "" if reading_main else f"LEFT JOIN main.{view} AS m ON {cleared.same_key(table, 's', 'm')}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE staged_{part.kind} AS
            SELECT s.*, {change("c")} AS change, {change("c" if reading_main else "m")} AS main_change,
                   {change("c" if reading_main else "m")} = 'unchanged' AND ({restated}) AS restated,
                   row_number() OVER () - 1 AS staged_seq
            FROM staged_input AS s LEFT JOIN {view} AS c ON {cleared.same_key(table, "s", "c")} {owners}"""
    )
    if part.table is None:
        con.unregister("staged_input")
    else:
        con.execute("DROP VIEW staged_input")
    counts = dict(con.execute(f"SELECT change, count(*) FROM staged_{part.kind} GROUP BY change").fetchall())
    stored, restated = con.execute(
        f"SELECT count(*) FILTER (main_change <> 'unchanged' OR restated), count(*) FILTER (restated) "
        f"FROM staged_{part.kind}"
    ).fetchall()[0]
    return {
        "new": counts.get("new", 0),
        "revised": counts.get("revised", 0),
        "unchanged": counts.get("unchanged", 0),
        "stored": stored,
        "restated": restated,
    }


# Rows per INSERT statement when a load's facts are written. DuckDB 2.0.0 has a defect: while one
# cursor commits an INSERT ... SELECT of a full row group (122,880 rows) or more, another cursor of
# the same connection can see the new rows of that table but not the rest of the same transaction
# (a torn read; reproduced outside OPSG Metrics in 3 of 3 runs of eight loads). Appending the same
# rows in statements of half a row group, inside the same transaction, showed no torn read in any
# trial (see the README's reliability section), and tests/test_reliability.py checks it every run.
INSERT_SLICE_ROWS = 60_000


# Fact tables whose current view is a filter on a `superseded` flag rather than a window over every
# row (schema.sql, migrations 4 and 5): a load marks the rows its revisions replace.
SUPERSEDED_FLAG = {"alerts", "incidents"}


def insert_facts(con: duckdb.DuckDBPyConnection, kind: str, source_id: int) -> None:
    """Write a staged load's rows: what changes the owner's data to the main table (marking the rows its
    revisions replace, where the current view is a flag), restatements a less restrictive level needs to
    the table of restated rows."""
    table, _, keys, values, schema = FACT_TABLES[kind]
    columns = [f.name for f in schema]
    # staged_seq numbers the staged rows 0, 1, 2, ... or by their line in the file (rowid does not: rows
    # made inside a transaction are numbered from 2**62); the slices cover its whole range.
    low, high = con.execute(f"SELECT min(staged_seq), max(staged_seq) FROM staged_{kind}").fetchall()[0]
    for target, which in ((table, "main_change <> 'unchanged'"), (f"restated_{table}", "restated")):
        for start in range(low or 0, (high or 0) + 1, INSERT_SLICE_ROWS):
            con.execute(
                f"INSERT INTO main.{target} ({', '.join(columns)}, source_id) "
                f"SELECT {', '.join(columns)}, ? FROM staged_{kind} "
                f"WHERE {which} AND staged_seq >= ? AND staged_seq < ?",
                [source_id, start, start + INSERT_SLICE_ROWS],
            )
    if kind in SUPERSEDED_FLAG:
        same_key = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        con.execute(
            f"""UPDATE main.{table} AS t SET superseded = true FROM staged_{kind} AS s
                WHERE s.main_change = 'revised' AND {same_key} AND t.source_id <> ? AND NOT t.superseded""",
            [source_id],
        )


def measure_revisions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        """SELECT s.month, s.measure, s.provider, c.value AS old_value, c.status AS old_status,
                  s.value AS new_value, s.status AS new_status, src.label AS old_source
           FROM staged_measures AS s
           JOIN current_measure_values AS c USING (month, measure, provider)
           JOIN sources AS src ON src.source_id = c.source_id
           WHERE s.change = 'revised' ORDER BY s.month, s.measure, s.provider"""
    ).fetchall()
    names = ("month", "measure", "provider", "old_value", "old_status", "new_value", "new_status", "old_source")
    return [dict(zip(names, row)) for row in rows]


def stage_catalogue(con: duckdb.DuckDBPyConnection, part: Prepared) -> dict:
    con.register("staged_input", pa.Table.from_pylist(part.records, schema=CATALOGUE_SCHEMA))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE staged_catalogue AS
           SELECT s.*,
                  CASE WHEN m.measure IS NULL THEN 'new'
                       WHEN m.name = s.name AND m.unit = s.unit AND m.direction = s.direction
                            AND m.description = s.description AND m.feeds = s.feeds THEN 'unchanged'
                       ELSE 'revised' END AS measure_change,
                  CASE WHEN l.measure IS NULL THEN 'new'
                       WHEN l.target = s.target AND l.minimum = s.minimum
                            AND l.effective_to IS NOT DISTINCT FROM s.effective_to
                            AND l.source = s.source AND l.verified = s.verified THEN 'unchanged'
                       ELSE 'replaced' END AS level_change
           FROM staged_input AS s
           LEFT JOIN measures AS m USING (measure, provider)
           LEFT JOIN service_levels AS l USING (measure, provider, effective_from)"""
    )
    con.unregister("staged_input")
    counts = dict(con.execute("SELECT level_change, count(*) FROM staged_catalogue GROUP BY ALL").fetchall())
    measure_changes = con.execute(
        "SELECT count(DISTINCT (measure, provider)) FROM staged_catalogue WHERE measure_change = 'revised'"
    ).fetchall()[0][0]
    return {
        "new": counts.get("new", 0),
        "replaced": counts.get("replaced", 0),
        "unchanged": counts.get("unchanged", 0),
        "measure_changes": measure_changes,
    }


def apply_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """INSERT INTO measures (measure, provider, name, unit, direction, description, feeds, sort_order)
           SELECT measure, provider, any_value(name), any_value(unit), any_value(direction),
                  any_value(description), any_value(feeds),
                  (SELECT coalesce(max(sort_order), 0) FROM measures) + min(source_row)
           FROM staged_catalogue WHERE measure_change <> 'unchanged'
           GROUP BY measure, provider
           ON CONFLICT (measure, provider) DO UPDATE SET
               name = excluded.name, unit = excluded.unit, direction = excluded.direction,
               description = excluded.description, feeds = excluded.feeds"""
    )
    con.execute(
        """INSERT INTO service_levels (measure, provider, target, minimum, effective_from, effective_to, source, verified)
           SELECT measure, provider, target, minimum, effective_from, effective_to, source, verified
           FROM staged_catalogue WHERE level_change <> 'unchanged'
           ON CONFLICT (measure, provider, effective_from) DO UPDATE SET
               target = excluded.target, minimum = excluded.minimum, effective_to = excluded.effective_to,
               source = excluded.source, verified = excluded.verified"""
    )


def drop_staged(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Drop a load's staged rows: a temp table, or a temp view of the prepared table (stage_facts)."""
    is_view = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?", [f"staged_{kind}"]
    ).fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS staged_{kind}")
