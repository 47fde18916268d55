"""The command line (README "Command line"), run as a user would: in this process through `cli.main` (a\nhandful of tests start `python -m opsg_metrics` itself, for the process boundary: exit codes, help)."""

from __future__ import annotations

import json

import pytest

from .conftest import cli, cli_here

JSON_FIELDS = {
    "month",
    "measure",
    "provider",
    "value",
    "target",
    "minimum",
    "status",
    "unreliable",
    "inferred",
    "run_below_target",
    "run_start",
    "run_gap_months",
    "run_below_minimum",
    "misses_in_window",
    "window_months",
}


@pytest.fixture
def empty_db(tmp_path):
    path = tmp_path / "cli.duckdb"
    proc = cli_here("--db", path, "init", "--empty", check=0)
    assert "catalogue: loaded 63 rows" in proc.stdout
    return path


def test_init_empty_loads_schema_and_catalogue_only(empty_db):
    import duckdb

    con = duckdb.connect(str(empty_db), read_only=True)
    assert con.execute("SELECT count(*) FROM measures").fetchone()[0] == 63
    assert con.execute("SELECT count(*) FROM measure_values").fetchone()[0] == 0
    con.close()
    again = cli_here("--db", empty_db, "init", check=0)
    assert "already loaded" in again.stdout


def test_ingest_reports_counts_then_a_no_op(empty_db, tmp_path):
    pmr = tmp_path / "pmr.csv"
    pmr.write_text("month,measure,provider,value\n2020-04,PM2,CSP North,54.80%\n2020-04,CPM1,DCC,97.1\n")
    first = cli_here(
        "--db",
        empty_db,
        "ingest",
        pmr,
        "--source",
        "PMR April 2020",
        "--classification",
        "amber",
        "--issued",
        "2020-05-20",
        check=0,
    )
    assert "pmr.csv: loaded 2 rows as source 'PMR April 2020' (2 new, 0 revised, 0 unchanged)" in first.stdout
    second = cli_here("--db", empty_db, "ingest", pmr, "--classification", "amber", check=0)
    assert "already loaded" in second.stdout and "nothing changed" in second.stdout
    import duckdb

    con = duckdb.connect(str(empty_db), read_only=True)
    assert con.execute(
        "SELECT label, classification, issued_on::VARCHAR FROM sources WHERE kind = 'measures'"
    ).fetchall() == [("PMR April 2020", "amber", "2020-05-20")]
    con.close()
    # The same file marked WHITE is news to the people cleared below AMBER: unchanged for the owner, kept
    # for them (the clearance contract: as if the AMBER load had never been made).
    third = cli_here("--db", empty_db, "ingest", pmr, check=0)
    assert "(0 new, 0 revised, 2 unchanged, 2 of the unchanged kept for the less restrictive" in third.stdout
    import json

    white = cli_here("--db", empty_db, "status", "--month", "2020-04", "--clearance", "white", "--json", check=0)
    assert {(row["measure"], row["value"]) for row in json.loads(white.stdout)} >= {("CPM1", 97.1)}


def test_ingest_of_a_bad_file_lists_problems_on_stderr_and_exits_non_zero(empty_db, tmp_path):
    bad = tmp_path / "pmr.csv"
    bad.write_text("month,measure,provider,value\n2020-04,CPM1,DCC,n/a\n2020-05,CPM1,Nowhere,97\n")
    proc = cli_here("--db", empty_db, "ingest", bad, check=1)
    assert "pmr.csv:2:value: 'n/a' is not a number (use status=null for a missing figure)" in proc.stderr
    assert "pmr.csv:3:provider: unknown provider 'Nowhere'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ingest_revision_is_reported_old_to_new(empty_db, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("month,measure,provider,value\n2020-04,PM3.1,CSP N,97\n")
    two.write_text("month,measure,provider,value\n2020-04,PM3.1,CSP N,98.4\n")
    cli_here("--db", empty_db, "ingest", one, check=0)
    proc = cli_here("--db", empty_db, "ingest", two, check=0)
    assert "1 revised" in proc.stdout
    assert "revised PM3.1 (CSP N) 2020-04: 97 (reported, one.csv) -> 98.4 (reported)" in proc.stdout


def test_ingest_of_several_files_loads_the_good_and_rejects_the_bad(empty_db, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("month,measure,provider,value\n2020-04,CPM1,DCC,97\n")
    bad.write_text("month,measure,provider,value\n2020-04,CPM2,DCC,lots\n")
    proc = cli_here("--db", empty_db, "ingest", good, bad, check=1)
    assert "good.csv: loaded 1 rows" in proc.stdout
    assert "1 of 2 files rejected" in proc.stderr


def cpm1_april_json(db) -> list[dict]:
    """`status --json` for CPM1 (DCC), April 2020, over a 3-month window."""
    proc = cli_here(
        "--db",
        db,
        "status",
        "--month",
        "2020-04",
        "--measure",
        "CPM1",
        "--provider",
        "DCC",
        "--window",
        "3",
        "--json",
        check=0,
    )
    return json.loads(proc.stdout)


def test_status_json_has_the_contract_fields(empty_db, tmp_path):
    pmr = tmp_path / "pmr.csv"
    pmr.write_text(
        "month,measure,provider,value,status\n"
        "2020-02,CPM1,DCC,97,\n2020-03,CPM1,DCC,,null\n2020-04,CPM1,DCC,95,unreliable\n"
    )
    cli_here("--db", empty_db, "ingest", pmr, check=0)
    records = cpm1_april_json(empty_db)
    assert len(records) == 1 and JSON_FIELDS <= set(records[0])
    assert {k: records[0][k] for k in JSON_FIELDS} == {
        "month": "2020-04",
        "measure": "CPM1",
        "provider": "DCC",
        "value": 95.0,
        "target": 99.0,
        "minimum": 96.0,
        "status": "below_minimum",
        "unreliable": True,
        "inferred": False,
        "run_below_target": 2,
        "run_start": "2020-02",
        "run_gap_months": 1,
        "run_below_minimum": 1,
        "misses_in_window": 2,
        "window_months": 2,
    }


def test_status_json_gives_an_inferred_figure_and_leaves_it_out_of_runs(empty_db, tmp_path):
    pmr = tmp_path / "minutes.csv"
    pmr.write_text(
        "month,measure,provider,value,status,note\n"
        "2020-02,CPM1,DCC,97,,\n2020-03,CPM1,DCC,98,,\n"
        "2020-04,CPM1,DCC,99.5,inferred,OPSG minutes: CPM1 met in April\n"
    )
    cli_here("--db", empty_db, "ingest", pmr, check=0)
    [record] = cpm1_april_json(empty_db)
    assert list(record).index("inferred") == list(record).index("unreliable") + 1
    assert {k: record[k] for k in ("value", "status", "figure_status", "unreliable", "inferred", "note")} == {
        "value": 99.5,
        "status": "met",
        "figure_status": "inferred",
        "unreliable": False,
        "inferred": True,
        "note": "OPSG minutes: CPM1 met in April",
    }
    # Met by its value, yet not reported: the run below target goes on, and the window leaves it out.
    assert {
        k: record[k] for k in ("run_below_target", "run_start", "run_gap_months", "misses_in_window", "window_months")
    } == {"run_below_target": 2, "run_start": "2020-02", "run_gap_months": 1, "misses_in_window": 2, "window_months": 2}


def test_status_table_for_people_and_oPSG_DB_variable(empty_db, tmp_path):
    pmr = tmp_path / "pmr.csv"
    pmr.write_text("month,measure,provider,value\n2020-04,CPM1,DCC,97.5\n")
    cli_here("--db", empty_db, "ingest", pmr, check=0)
    proc = cli_here("status", "--month", "Apr 2020", "--measure", "cpm1", env_db=empty_db, check=0)
    lines = proc.stdout.splitlines()
    assert lines[0] == "PMR April 2020; window 12 months (misses/months with data)"
    assert lines[1].split() == ["Measure", "Provider", "Value", "Target", "Minimum", "Status", "Run", "Since", "Window"]
    assert lines[3].split()[:7] == ["CPM1", "DCC", "97.50", "99", "96", "Below", "target"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["status", "--month", "2020-13"], "month 13 does not exist"),
        (["status", "--month", "2020-04", "--provider", "Mars"], "unknown provider 'Mars'"),
        (["status", "--month", "2020-04", "--measure", "CPM99"], "unknown measure 'CPM99'"),
        (["status", "--month", "2020-04", "--window", "0"], "out of range"),
        (["ingest", "/no/such/file.csv"], "cannot read the file"),
    ],
)
def test_user_mistakes_give_a_message_and_no_traceback(empty_db, args, message):
    proc = cli("--db", empty_db, *args)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_on_a_missing_database_says_how_to_create_it(tmp_path):
    proc = cli("--db", tmp_path / "none.duckdb", "status", "--month", "2020-04", check=1)
    assert "init --sample" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["init", "ingest", "status", "summary", "export-charts"])
def test_every_command_has_help(command):
    proc = cli(command, "--help", check=0)
    assert f"usage: python -m opsg_metrics {command}" in proc.stdout


def test_ingest_into_a_database_that_does_not_exist_says_run_init(tmp_path):
    pmr = tmp_path / "pmr.csv"
    pmr.write_text("month,measure,provider,value\n2020-04,CPM1,DCC,97\n")
    target = tmp_path / "new.duckdb"
    proc = cli_here("--db", target, "ingest", pmr, check=1)
    assert "init" in proc.stderr and "Traceback" not in proc.stderr
    assert not target.exists()


def test_a_csv_given_as_the_database_is_refused(tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("month,measure\n2020-04,CPM1\n")
    proc = cli_here("--db", notes, "status", "--month", "2020-04", check=1)
    assert "not an OPSG Metrics database" in proc.stderr and "Traceback" not in proc.stderr
    assert notes.read_text() == "month,measure\n2020-04,CPM1\n"


def test_the_summary_formats_are_the_same_everywhere():
    from opsg_metrics.app.screens.summary import ORDER
    from opsg_metrics.cli.exports import SUMMARY_FORMATS
    from opsg_metrics.render.documents import build

    assert SUMMARY_FORMATS == build.SUMMARY_FORMATS
    assert sorted(ORDER) == sorted(build.SUMMARY_FORMATS) == sorted(build.MEDIA_TYPES) == sorted(build.FORMAT_LABELS)
