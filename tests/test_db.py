"""Migrations are numbered, recorded and checked; the read-only app gets clear errors."""

from datetime import datetime

import duckdb
import pytest

from opsg_metrics.store import connect as db
from opsg_metrics.store.errors import OpsgError


def test_new_database_records_every_migration(tmp_path):
    path = tmp_path / "x.duckdb"
    con = db.connect(path)
    versions = [v for (v,) in con.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]
    assert versions == list(range(1, db.SCHEMA_VERSION + 1))
    assert db.migrate(con) == []  # nothing left to apply
    con.close()


def test_migrations_are_applied_in_order_from_the_recorded_version():
    con = duckdb.connect(":memory:")
    text = "-- migration: 1 first\nCREATE TABLE a (x INTEGER);\n-- migration: 2 second\nCREATE TABLE b (y INTEGER);\n"
    migrations = db.load_migrations(text)
    assert [(m.number, m.name) for m in migrations] == [(1, "first"), (2, "second")]
    assert db.migrate(con, migrations[:1]) == [1]  # a database at version 1 ...
    con.execute("INSERT INTO a VALUES (42)")
    assert db.migrate(con, migrations) == [2]  # ... is upgraded by the one it lacks
    assert db.schema_version(con) == 2
    assert con.execute("SELECT x FROM a").fetchall() == [(42,)]  # keeping its data
    assert con.execute("SELECT count(*) FROM b").fetchone()[0] == 0
    with pytest.raises(RuntimeError, match="numbered"):
        db.load_migrations("-- migration: 2 skipped\nSELECT 1;\n")


def test_a_version_1_database_with_an_annotation_upgrades_keeping_it(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    assert db.migrate(con, db.MIGRATIONS[:1]) == [1]
    con.execute(
        "INSERT INTO sources (label, kind, classification, file_name, sha256) "
        "VALUES ('minutes', 'manual', 'white', 'notes.txt', 'x')"
    )
    con.execute(
        "INSERT INTO annotations (date, text, scope, source_id) VALUES ('2020-07-08', 'PMR reissued', 'all', 1)"
    )
    con.close()
    con = db.connect(path)  # the CLI's writable open applies migration 2
    assert db.schema_version(con) == db.SCHEMA_VERSION >= 2
    assert con.execute(
        "SELECT annotation_id, strftime(date, '%Y-%m-%d'), text, scope, measure, provider, kind, source_id, source_row"
        " FROM current_annotations"
    ).fetchall() == [(1, "2020-07-08", "PMR reissued", "all", None, None, "event", 1, None)]
    con.close()
    db.connect(path, read_only=True).close()  # and the app accepts it


def test_a_version_2_database_with_figures_upgrades_keeping_every_row(tmp_path):
    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    assert db.migrate(con, db.MIGRATIONS[:2]) == [1, 2]
    for label in ("PMR April 2020 issue 1", "PMR April 2020 issue 2"):
        con.execute(
            "INSERT INTO sources (label, kind, classification, file_name, sha256) "
            "VALUES (?, 'measures', 'white', 'pmr.csv', ?)",
            [label, label],
        )
    con.execute("""INSERT INTO measure_values VALUES
        ('2020-04-01', 'PM2', 'CSP N', 54.8, 'unreliable', NULL, NULL, 'reporting tool', 1, 2),
        ('2020-04-01', 'CPM1', 'DCC', 98.32, 'reported', 9832, 10000, '', 1, 3),
        ('2020-04-01', 'CPM2', 'DCC', NULL, 'null', NULL, NULL, 'withdrawn', 1, 4),
        ('2020-04-01', 'PM2', 'CSP N', 61.2, 'reported', NULL, NULL, 'reissued', 2, 2)""")
    rows = sorted(con.execute("SELECT * FROM measure_values").fetchall())
    current = sorted(con.execute("SELECT * FROM current_measure_values").fetchall())
    con.close()

    con = db.connect(path)  # the CLI's writable open applies migration 3
    assert db.schema_version(con) == db.SCHEMA_VERSION >= 3
    assert sorted(con.execute("SELECT * FROM measure_values").fetchall()) == rows
    assert sorted(con.execute("SELECT * FROM current_measure_values").fetchall()) == current
    assert len(rows) == 4 and len(current) == 3
    assert ("PM2", 61.2, 2) in [(r[1], r[3], r[-1]) for r in current]  # the revision is still current, counted twice
    # The view is recreated exactly as a new database has it.
    view = "SELECT sql FROM duckdb_views() WHERE view_name = 'current_measure_values'"
    fresh = db.connect(":memory:")
    assert con.execute(view).fetchall() == fresh.execute(view).fetchall()
    fresh.close()
    # Keys and references survive the rebuild; the new status is accepted.
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO measure_values VALUES ('2020-04-01', 'CPM1', 'DCC', 97, 'reported', NULL, NULL, '', 1, 9)"
        )
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO measure_values VALUES ('2020-05-01', 'CPM1', 'DCC', 97, 'reported', NULL, NULL, '', 99, 9)"
        )
    con.execute(
        "INSERT INTO measure_values VALUES ('2020-05-01', 'CPM1', 'DCC', 97, 'inferred', NULL, NULL, "
        "'OPSG minutes', 2, 5)"
    )
    assert con.execute("SELECT status FROM current_measure_values WHERE month = '2020-05-01'").fetchall() == [
        ("inferred",)
    ]
    con.close()
    db.connect(path, read_only=True).close()  # and the app accepts it


def test_the_status_check_refuses_an_unknown_status():
    con = db.connect(":memory:")
    con.execute(
        "INSERT INTO sources (label, kind, classification, file_name, sha256) "
        "VALUES ('minutes', 'measures', 'white', 'm.csv', 'x')"
    )
    for status in ("reported", "unreliable", "inferred"):
        con.execute(
            "INSERT INTO measure_values (month, measure, provider, value, status, source_id, source_row) "
            "VALUES ('2020-04-01', 'CPM1', 'DCC', 97, ?, 1, 2)",
            [status],
        )
        con.execute("DELETE FROM measure_values")
    with pytest.raises(duckdb.ConstraintException, match="CHECK"):
        con.execute(
            "INSERT INTO measure_values (month, measure, provider, value, status, source_id, source_row) "
            "VALUES ('2020-04-01', 'CPM1', 'DCC', 97, 'guessed', 1, 2)"
        )
    assert con.execute("SELECT count(*) FROM measure_values").fetchall() == [(0,)]
    con.close()


def test_a_failing_migration_is_rolled_back_whole():
    con = duckdb.connect(":memory:")
    migrations = db.load_migrations("-- migration: 1 broken\nCREATE TABLE a (x INTEGER);\nSELECT * FROM nowhere;\n")
    with pytest.raises(duckdb.Error):
        db.migrate(con, migrations)
    assert db.schema_version(con) == 0
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'a'").fetchone()[0] == 0


def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("month,measure\n2020-04,CPM1\n")
    with pytest.raises(OpsgError, match="OPSG Metrics database"):
        db.connect(path, read_only=True)
    with pytest.raises(OpsgError, match="OPSG Metrics database"):
        db.connect(path)


def test_read_only_open_of_a_missing_file_explains_what_to_do(tmp_path):
    with pytest.raises(OpsgError, match="init --sample"):
        db.connect(tmp_path / "none.duckdb", read_only=True)


def test_read_only_open_of_an_older_schema_says_so(tmp_path):
    path = tmp_path / "old.duckdb"
    con = db.connect(path)
    con.execute("DELETE FROM schema_migrations WHERE version = ?", [db.SCHEMA_VERSION])
    con.close()
    with pytest.raises(db.SchemaVersionError, match="older"):
        db.connect(path, read_only=True)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, 'future')", [db.SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(db.SchemaVersionError, match="newer"):
        db.connect(path, read_only=True)
    with pytest.raises(db.SchemaVersionError, match="newer"):
        db.connect(path)


def test_db_path_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("OPSG_DB", raising=False)
    assert db.resolve_db_path() == db.DEFAULT_DB_PATH
    monkeypatch.setenv("OPSG_DB", str(tmp_path / "env.duckdb"))
    assert db.resolve_db_path() == tmp_path / "env.duckdb"
    assert db.resolve_db_path(tmp_path / "arg.duckdb") == tmp_path / "arg.duckdb"


def test_a_second_writer_gets_a_clear_message(tmp_path):
    path = tmp_path / "locked.duckdb"
    db.connect(path).close()
    import subprocess
    import sys
    import textwrap

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print('ready', flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(OpsgError, match="in use by another process"):
            db.connect(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def _die_after(code: str, path) -> None:
    """Run `code` in a child process that then dies without closing or checkpointing the database."""
    import subprocess
    import sys
    import textwrap

    script = (
        textwrap.dedent(f"""
        import os, duckdb
        from opsg_metrics.store import connect as db
        from opsg_metrics.ingest import bootstrap
        path = {str(path)!r}
    """)
        + textwrap.dedent(code)
        + "\nos._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=db.REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_connections_never_download_extensions(tmp_path):
    con = db.connect(tmp_path / "offline.duckdb")
    assert con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchall()[0][0] is False
    con.close()


def test_a_migration_is_checkpointed_before_connect_returns(tmp_path):
    path = tmp_path / "migrated.duckdb"
    _die_after("con = db.connect(path)", path)  # held: a dropped connection would close cleanly
    wal = path.with_name(path.name + ".wal")
    assert not wal.exists() or wal.stat().st_size == 0
    con = db.connect(path, read_only=True)
    assert db.schema_version(con) == db.SCHEMA_VERSION
    con.close()


def test_a_migration_left_in_the_log_by_a_dead_process_replays_offline(tmp_path):
    # Replaying migration 3 (which drops and remakes a table whose default is current_localtimestamp())
    # made DuckDB fetch the `icu` extension: an offline machine could not open the file at all.
    path = tmp_path / "mid-migration.duckdb"
    _die_after("con = duckdb.connect(path)\ndb.migrate(con)\nbootstrap.load_reference_data(con)", path)
    assert path.with_name(path.name + ".wal").stat().st_size > 0  # the next open has a log to replay
    con = db.connect(path)
    assert db.schema_version(con) == db.SCHEMA_VERSION
    assert con.execute("SELECT count(*) FROM measures").fetchall()[0][0] > 0
    con.close()


def test_a_version_3_database_with_alerts_upgrades_keeping_every_row(tmp_path):
    from opsg_metrics.ingest.load import ingest_bytes
    from opsg_metrics.store.catalogue import load_providers

    path = tmp_path / "v3.duckdb"
    con = duckdb.connect(str(path))
    assert db.migrate(con, db.MIGRATIONS[:3]) == [1, 2, 3]
    load_providers(con)
    for label in ("alerts April 2020", "alerts April 2020 reissued"):
        con.execute(
            "INSERT INTO sources (label, kind, classification, file_name, sha256) "
            "VALUES (?, 'alerts', 'white', 'alerts.csv', ?)",
            [label, label],
        )
    con.execute("""INSERT INTO alerts VALUES
        ('2020-04-01', '8F3E', 'CSP N', 120, 40, 5, 1, 2),
        ('2020-04-01', '8014', 'CSP N', 30, NULL, NULL, 1, 3),
        ('2020-05-01', '8F3E', 'DSP', 7, 7, 0, 1, 4),
        ('2020-04-01', '8F3E', 'CSP N', 150, 44, NULL, 2, 2)""")
    with pytest.raises(duckdb.ConstraintException):  # version 3 still has the key migration 4 drops
        con.execute("INSERT INTO alerts VALUES ('2020-04-01', '8014', 'CSP N', 1, NULL, NULL, 1, 9)")
    alerts_columns = "month, alert_code, provider, volume, devices, first_time_devices, source_id, source_row"
    rows = sorted(con.execute(f"SELECT {alerts_columns} FROM alerts").fetchall())
    current = sorted(con.execute(f"SELECT {alerts_columns} FROM current_alerts").fetchall())
    con.close()

    con = db.connect(path)  # the CLI's writable open applies migration 4
    assert db.schema_version(con) == db.SCHEMA_VERSION >= 4
    assert sorted(con.execute(f"SELECT {alerts_columns} FROM alerts").fetchall()) == rows
    assert sorted(con.execute(f"SELECT {alerts_columns} FROM current_alerts").fetchall()) == current
    assert len(rows) == 4 and len(current) == 3
    assert ("8F3E", "CSP N", 150, 2) in [(r[1], r[2], r[3], r[6]) for r in current]  # the revision is still current
    # The table and its view are as a new database has them: same columns, no key, same view.
    fresh = db.connect(":memory:")
    for query in (
        "SELECT sql FROM duckdb_views() WHERE view_name = 'current_alerts'",
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'alerts' ORDER BY ordinal_position",
        "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'alerts' ORDER BY ALL",
    ):
        assert con.execute(query).fetchall() == fresh.execute(query).fetchall(), query
    fresh.close()
    assert con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'alerts' "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
    ).fetchall() == [(0,)]
    # And it takes a further revision through ingest like any database.
    result = ingest_bytes(
        con, b"month,alert_code,provider,volume\n2020-05,8F3E,DSP,9\n2020-04,8014,CSP N,30\n", "reissue.csv"
    )
    assert (result.outcome, result.new, result.revised, result.unchanged) == ("loaded", 0, 1, 1), result.problems
    assert con.execute(
        "SELECT volume, source_id FROM current_alerts WHERE alert_code = '8F3E' AND provider = 'DSP'"
    ).fetchall() == [(9, result.source_id)]
    assert con.execute("SELECT count(*) FROM alerts").fetchall() == [(5,)]
    con.close()
    db.connect(path, read_only=True).close()  # and the app accepts it


def test_a_version_4_database_with_incidents_upgrades_keeping_every_row(tmp_path):
    from opsg_metrics.ingest.load import ingest_bytes
    from opsg_metrics.store.catalogue import load_providers

    path = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(path))
    assert db.migrate(con, db.MIGRATIONS[:4]) == [1, 2, 3, 4]
    load_providers(con)
    for label in ("incidents April 2020", "incidents April 2020 reissued"):
        con.execute(
            "INSERT INTO sources (label, kind, classification, file_name, sha256) "
            "VALUES (?, 'incidents', 'white', 'incidents.csv', ?)",
            [label, label],
        )
    con.execute("""INSERT INTO incidents VALUES
        ('INC1', '2020-04-02 09:00', NULL, 2, 'CSP N', true, 'Hub outage', '', 1, 2),
        ('INC2', '2020-04-03 10:00', '2020-04-04 10:00', 4, 'DSP', false, 'Slow responses', 'config', 1, 3),
        ('INC1', '2020-04-02 09:00', '2020-04-05 12:00', 1, 'CSP N', true, 'Hub outage (reclassified)', 'power', 2, 2)""")
    columns = "incident_id, opened, resolved, category, provider, major, title, root_cause, source_id, source_row"
    rows = con.execute(f"SELECT {columns} FROM incidents ORDER BY incident_id, source_id").fetchall()
    current = con.execute(f"SELECT {columns} FROM current_incidents ORDER BY incident_id, source_id").fetchall()
    con.close()

    con = db.connect(path)  # the CLI's writable open applies migration 5
    assert db.schema_version(con) == db.SCHEMA_VERSION >= 5
    assert con.execute(f"SELECT {columns} FROM incidents ORDER BY incident_id, source_id").fetchall() == rows
    assert con.execute(f"SELECT {columns} FROM current_incidents ORDER BY incident_id, source_id").fetchall() == current
    assert len(rows) == 3 and [(r[0], r[8]) for r in current] == [("INC1", 2), ("INC2", 1)]
    assert con.execute("SELECT incident_id, source_id FROM incidents WHERE superseded").fetchall() == [("INC1", 1)]
    fresh = db.connect(":memory:")
    for query in (
        "SELECT sql FROM duckdb_views() WHERE view_name = 'current_incidents'",
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_name = 'incidents' ORDER BY ordinal_position",
        "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'incidents' ORDER BY ALL",
    ):
        assert con.execute(query).fetchall() == fresh.execute(query).fetchall(), query
    fresh.close()
    # The key still holds, and a further revision through ingest marks the row it replaces.
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO incidents (incident_id, opened, category, provider, major, title, source_id, "
            "source_row) VALUES ('INC2', '2020-04-03', 4, 'DSP', false, 'again', 1, 9)"
        )
    header = "incident_id,opened,resolved,category,provider,major,title,root_cause\n"
    result = ingest_bytes(
        con,
        (
            header + "INC2,2020-04-03 10:00,2020-04-06 10:00,4,DSP,false,Slow responses,config\n"
            "INC1,2020-04-02 09:00,2020-04-05 12:00,1,CSP N,true,Hub outage (reclassified),power\n"
        ).encode(),
        "reissue.csv",
    )
    assert (result.outcome, result.new, result.revised, result.unchanged) == ("loaded", 0, 1, 1), result.problems
    assert con.execute("SELECT incident_id, source_id FROM incidents WHERE superseded ORDER BY ALL").fetchall() == [
        ("INC1", 1),
        ("INC2", 1),
    ]
    assert con.execute("SELECT incident_id, source_id, resolved FROM current_incidents ORDER BY ALL").fetchall() == [
        ("INC1", 2, datetime(2020, 4, 5, 12)),
        ("INC2", result.source_id, datetime(2020, 4, 6, 10)),
    ]
    # The flag agrees with the rule it stands for: the latest source of each incident is current.
    assert con.execute(
        "SELECT count(*) FILTER (WHERE superseded = (source_id <> latest)), count(*) FROM "
        "(SELECT *, max(source_id) OVER (PARTITION BY incident_id) AS latest FROM incidents)"
    ).fetchall() == [(4, 4)]
    con.close()
    db.connect(path, read_only=True).close()  # and the app accepts it
