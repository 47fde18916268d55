"""Clearance: a person cleared to a level sees exactly what the app would show if only the sources marked
at that level or less restrictive had ever been loaded.

The rule is enforced where the data is read. For each level below the most restrictive, the database holds
a schema (`cleared_white`, `cleared_white_no_publish`, `cleared_green`, `cleared_amber`) of views with the
names of the main tables and views; a connection `scope`d to a level looks names up in its schema first,
so every query of the package reads, unchanged, only what the level admits. The most restrictive level
(red, the owner's) reads the main tables.

What a level's views hold is what a database loaded with only its sources would have stored:

- a fact table's view holds the rows of the admitted sources that changed something at that level: a row
  equal to the admitted row before it (by load order) is a restatement, which such a database would not
  have stored, and is left out; so an AMBER reissue of a WHITE figure is invisible to a person cleared
  WHITE, the WHITE original stays current for them, and a later WHITE reissue is a revision to them;
- the current views, the annotation scope and the revision counts are made from those rows;
- the sources are the admitted ones that changed something at the level (or loaded the catalogue), the
  ingest log is theirs;
- the status table is never precomputed (status is computed live over the admitted figures, so a hidden
  month cannot be inferred from a run).

A load stores a row the main tables would not (it restates the figure current for the owner) in
`restated_<table>` when a less restrictive level needs it: `restated_rule` decides it, from the same
views (see ingest/stage.py).

`admitted(level)` is the one place that decides which classifications a level admits.
"""

from __future__ import annotations

import duckdb

from opsg_metrics.store.classification import ORDER

ALL_DATA = ORDER[-1]  # cleared to the most restrictive marking: every source (the main schema)

# fact table -> (its current view, its key, its value columns): the current revision is the latest admitted
# source's row per key; a row whose values equal the one before it is a restatement.
FACTS = {
    "measure_values": (
        "current_measure_values",
        ("month", "measure", "provider"),
        ("value", "status", "numerator", "denominator", "note"),
    ),
    "incidents": (
        "current_incidents",
        ("incident_id",),
        ("opened", "resolved", "category", "provider", "major", "title", "root_cause"),
    ),
    "alerts": ("current_alerts", ("month", "alert_code", "provider"), ("volume", "devices", "first_time_devices")),
    "ops_figures": ("current_ops_figures", ("month", "metric", "provider"), ("value", "unit", "note")),
    "annotations": ("current_annotations", ("date", "scope", "measure", "provider", "text"), ("kind",)),
}
# Key columns that may be NULL (an annotation for every measure has none): compared as NOT DISTINCT.
NULLABLE_KEYS = {"annotations": ("measure", "provider")}
# Fact tables whose main current view filters a `superseded` flag (schema.sql, migrations 4 and 5).
FLAGGED = ("incidents", "alerts")
# Tables and views of the main schema that hold no source's data (the catalogue loads as white only) and
# so are read as they are at every level.
UNFILTERED = ("providers", "measures", "service_levels", "service_levels_in_force", "schema_migrations")
# Kinds of source whose rows are not in the fact tables (admitted whenever their marking is).
CATALOGUE_KIND = "catalogue"
STATEMENTS_KIND = "statements"
EVENTS_KIND = "events"  # request records: their rows are Parquet files, the manifest `event_partitions`
# The review record (schema.sql, migration 11): each row carries its own marking. table -> the key of its
# current view (the latest row per key is current), or None for a table whose every row stands.
RECORD = {
    "meetings": ("meeting_id",),
    "actions": ("action_id",),
    "action_targets": None,
    "action_statuses": None,
    "decisions": None,
    "commentary": ("month", "measure", "provider"),
}


def admitted(level: str) -> tuple[str, ...]:
    """The classifications a person cleared to `level` may see: it and every less restrictive one."""
    if level not in ORDER:
        raise ValueError(f"unknown clearance {level!r} (use {', '.join(ORDER)})")
    return ORDER[: ORDER.index(level) + 1]


def schema_of(level: str) -> str:
    """The schema a level reads through ('main' for every source)."""
    admitted(level)
    return "main" if level == ALL_DATA else "cleared_" + level.replace("-", "_")


def level_of(con: duckdb.DuckDBPyConnection) -> str:
    """The level a connection reads at (its search path's first schema)."""
    first = con.execute("SELECT current_setting('search_path')").fetchall()[0][0].split(",")[0].strip()
    return next((level for level in ORDER if schema_of(level) == first), ALL_DATA)


def same_key(table: str, left: str, right: str) -> str:
    """SQL: rows `left` and `right` of a fact table have the same key."""
    nullable = NULLABLE_KEYS.get(table, ())
    return " AND ".join(
        f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" if k in nullable else f"{left}.{k} = {right}.{k}"
        for k in FACTS[table][1]
    )


def same_values(table: str, left: str, right: str) -> str:
    """SQL: rows `left` and `right` of a fact table have the same values."""
    return " AND ".join(f"{left}.{v} IS NOT DISTINCT FROM {right}.{v}" for v in FACTS[table][2])


def restated_rule(table: str, staged: str, classification: str) -> str:
    """SQL (over the staged rows `staged` of a load marked `classification`): the row must be kept although
    the owner's current figure equals it, because it is not the current figure at a level that admits
    it. Empty when no such level can differ from the owner's."""
    view = FACTS[table][0]
    levels = [level for level in ORDER[ORDER.index(classification) : -1]]
    return " OR ".join(
        f"NOT EXISTS (SELECT 1 FROM {schema_of(level)}.{view} AS c WHERE {same_key(table, staged, 'c')} "
        f"AND {same_values(table, staged, 'c')})"
        for level in levels
    )


def _fact_view(schema: str, table: str, admitted_ids: str) -> str:
    """The rows of a fact table that changed something at a level: admitted, and unlike the row before."""
    _, key, values = FACTS[table]
    columns = "* EXCLUDE (superseded)" if table in FLAGGED else "*"
    values_of = "(" + ", ".join(values) + ",)"  # a struct of the values, NULLs compared as values
    return f"""CREATE OR REPLACE VIEW {schema}.{table} AS
SELECT * EXCLUDE (previous_values) FROM (
    SELECT *, lag({values_of}) OVER (PARTITION BY {", ".join(key)} ORDER BY source_id, source_row) AS previous_values
    FROM (SELECT {columns} FROM main.{table} WHERE source_id IN {admitted_ids}
          UNION ALL BY NAME
          SELECT * FROM main.restated_{table} WHERE source_id IN {admitted_ids})
) WHERE previous_values IS DISTINCT FROM {values_of};"""


def annotation_scope_sql(schema: str) -> str:
    """The annotation-scope rule (rules/annotations.py reads it): which series (measure and provider of the
    catalogue) each current annotation applies to. 'all': every series; 'measure': every provider of its
    measure; 'provider': every measure of its provider; 'series': its own measure and provider."""
    return f"""CREATE OR REPLACE VIEW {schema}.annotation_scope AS
SELECT a.date, a.text, a.scope, a.measure, a.provider, a.kind, a.source_id,
       s.measure AS series_measure, s.provider AS series_provider
FROM {schema}.current_annotations AS a
JOIN main.measures AS s
  ON a.scope = 'all'
  OR (a.scope = 'measure' AND a.measure = s.measure)
  OR (a.scope = 'provider' AND a.provider = s.provider)
  OR (a.scope = 'series' AND a.measure = s.measure AND a.provider = s.provider);"""


def _sources_view(level: str, record: bool = False, events: bool = False) -> str:
    """A level's sources: the admitted ones that changed something at it, loaded the catalogue or stated
    (and, once the review record exists, gave rows of it the level admits; once events exist, loaded
    request records)."""
    schema = schema_of(level)
    marks = ", ".join(f"'{c}'" for c in admitted(level))
    tables = [*FACTS, *(RECORD if record else ())]
    changed = " UNION ".join(f"SELECT DISTINCT source_id FROM {schema}.{table}" for table in tables)
    return f"""CREATE OR REPLACE VIEW {schema}.sources AS
SELECT * FROM main.sources
WHERE classification IN ({marks})
  AND (kind LIKE '%{CATALOGUE_KIND}%' OR kind = '{STATEMENTS_KIND}'{f" OR kind = '{EVENTS_KIND}'" if events else ""}
       OR source_id IN ({changed}));"""


def statements_sql() -> str:
    """Each level's view of the kept statements (those of the sources it admits) and its sources view
    again, admitting the sources of statements (a migration runs it; safe to run again)."""
    sql = []
    for level in ORDER[:-1]:
        schema = schema_of(level)
        marks = ", ".join(f"'{c}'" for c in admitted(level))
        sql.append(
            f"CREATE OR REPLACE VIEW {schema}.statements AS SELECT * FROM main.statements "
            f"WHERE source_id IN (SELECT source_id FROM main.sources WHERE classification IN ({marks}));"
        )
        sql.append(_sources_view(level))
    return "\n".join(sql)


def _record_current(schema: str) -> list[str]:
    """The current views of the review record in a schema: the latest row (by record_id) per key."""
    return [
        f"CREATE OR REPLACE VIEW {schema}.current_{table} AS SELECT * FROM {schema}.{table} "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(key)} ORDER BY record_id DESC) = 1;"
        for table, key in RECORD.items()
        if key
    ]


def record_sql() -> str:
    """Each level's view of the review record (the rows marked at what it admits), the current views of
    every schema, and each level's sources view again, admitting the record's files (a migration runs it;
    safe to run again)."""
    sql = _record_current("main")
    for level in ORDER[:-1]:
        schema = schema_of(level)
        marks = ", ".join(f"'{c}'" for c in admitted(level))
        sql += [
            f"CREATE OR REPLACE VIEW {schema}.{table} AS SELECT * FROM main.{table} WHERE classification IN ({marks});"
            for table in RECORD
        ]
        sql += _record_current(schema)
        sql.append(_sources_view(level, record=True))
    return "\n".join(sql)


def events_sql() -> str:
    """Each level's view of the event partitions (the files of the sources it admits) and the current ones
    among them (the latest admitted source per month and series), and its sources view again, admitting
    the loads of request records (a migration runs it; safe to run again)."""
    sql = []
    for level in ORDER[:-1]:
        schema = schema_of(level)
        marks = ", ".join(f"'{c}'" for c in admitted(level))
        sql += [
            f"CREATE OR REPLACE VIEW {schema}.event_partitions AS SELECT * FROM main.event_partitions "
            f"WHERE source_id IN (SELECT source_id FROM main.sources WHERE classification IN ({marks}));",
            f"CREATE OR REPLACE VIEW {schema}.current_event_partitions AS SELECT * FROM {schema}.event_partitions "
            "QUALIFY source_id = max(source_id) OVER (PARTITION BY month, measure, provider);",
            _sources_view(level, record=True, events=True),
        ]
    return "\n".join(sql)


def _level_sql(level: str) -> str:
    schema = schema_of(level)
    marks = ", ".join(f"'{c}'" for c in admitted(level))
    marked = f"(SELECT source_id FROM main.sources WHERE classification IN ({marks}))"
    sql = [f"CREATE SCHEMA IF NOT EXISTS {schema};"]
    for table, (current, key, _) in FACTS.items():
        sql.append(_fact_view(schema, table, marked))
        latest = f"row_number() OVER (PARTITION BY {', '.join(key)} ORDER BY source_id DESC) = 1"
        counted = ", count(*) OVER (PARTITION BY month, measure, provider) AS revision_count"
        sql.append(
            f"CREATE OR REPLACE VIEW {schema}.{current} AS SELECT *{counted if table == 'measure_values' else ''} "
            f"FROM {schema}.{table} QUALIFY {latest};"
        )
    sql.append(_sources_view(level))
    sql.append(annotation_scope_sql(schema))
    sql.append(
        f"CREATE OR REPLACE VIEW {schema}.ingest_log AS SELECT * FROM main.ingest_log "
        f"WHERE source_id IN (SELECT source_id FROM {schema}.sources);"
    )
    # No precomputed status at this level: no record of one having been made (rules/status then computes
    # live over this level's figures), and a table in the main one's place that holds nothing (a read of it
    # would fail rather than show another level's rows).
    sql.append(
        f"CREATE OR REPLACE TABLE {schema}.status_cache_meta (sql_hash VARCHAR, window_months INTEGER, until DATE);"
    )
    sql.append(f"CREATE OR REPLACE TABLE {schema}.status_cache (not_precomputed_at_this_level INTEGER);")
    return "\n".join(sql)


def schema_sql() -> str:
    """The restated rows' tables and the views of every level below the most restrictive (a migration runs
    it; safe to run again)."""
    restated = [
        f"CREATE TABLE IF NOT EXISTS main.restated_{table} AS SELECT * "
        f"{'EXCLUDE (superseded) ' if table in FLAGGED else ''}FROM main.{table} WITH NO DATA;"
        for table in FACTS
    ]
    return "\n".join([*restated, annotation_scope_sql("main"), *(_level_sql(level) for level in ORDER[:-1])])


def scope(con: duckdb.DuckDBPyConnection, level: str) -> duckdb.DuckDBPyConnection:
    """The connection (or cursor), reading from now on only what a person cleared to `level` may see."""
    schema = schema_of(level)
    con.execute("SET search_path = 'main'" if schema == "main" else f"SET search_path = '{schema},main'")
    return con
