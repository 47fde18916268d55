"""The stress data generator and build (benchmarks/stress.py) at a tiny scale: every file loads through the
normal ingest, and the database holds what was written, with revisions, nulls and misses the status engine sees."""

from __future__ import annotations

import csv

import pytest

from benchmarks import stress
from opsg_metrics.rules import status
from opsg_metrics.store import connect as db

SCALE = 0.01  # 3 months, 500 incidents, 10,000 alert rows; the 113 series stay


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("stress")
    lines: list[str] = []
    report = stress.build(root / "files", root / "stress.duckdb", scale=SCALE, progress=lines.append)
    return root, report, lines


@pytest.fixture
def con(built):
    root, _, _ = built
    connection = db.connect(root / "stress.duckdb", read_only=True)
    yield connection
    connection.close()


def test_every_file_in_the_manifest_loaded(built, con):
    root, report, lines = built
    manifest = stress.read_manifest(root / "files")
    assert len(manifest) == report["generated"]["files"] == len(report["per_file"])
    assert [f["outcome"] for f in report["per_file"]] == ["loaded"] * len(manifest)
    assert [f["file"] for f in report["per_file"]] == [entry["file"] for entry in manifest]
    # every kind is exercised, and each file's progress line names it with its rows and seconds
    assert {entry["kind"] for entry in manifest} == set(stress.KINDS)
    for entry in manifest:
        assert any(
            line.split("] ", 1)[-1].startswith(f"{entry['file']} ({entry['kind']}): {entry['rows']} rows, ")
            for line in lines
        ), entry
    log = con.execute("SELECT outcome, count(*) FROM ingest_log GROUP BY ALL").fetchall()
    assert log == [("loaded", len(manifest) + 1)]  # + the bundled catalogue
    assert con.execute("SELECT count(*) FROM sources").fetchall()[0][0] == len(manifest) + 1
    assert set(report["seconds"]["ingest"]) == set(stress.KINDS)


def test_series_and_months(built, con):
    _, report, _ = built
    assert report["generated"]["months"] == 3
    series = con.execute("SELECT count(*) FROM measures").fetchall()[0][0]
    assert series >= 100
    assert (
        con.execute("SELECT count(*) FROM (SELECT DISTINCT measure, provider FROM measure_values)").fetchall()[0][0]
        == series
    )
    # each month has one figure for every series in its issue 1
    per_month = con.execute("SELECT count(*) FROM current_measure_values GROUP BY month").fetchall()
    assert [n for (n,) in per_month] == [series] * 3


def test_alert_rows_are_exactly_those_written(built, con):
    root, report, _ = built
    written = 0
    for entry in stress.read_manifest(root / "files"):
        if entry["kind"] == "alerts":
            with open(root / "files" / entry["file"], newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            written += len(rows)
            for row in rows[:2000]:
                if row["devices"]:
                    assert int(row["first_time_devices"]) <= int(row["devices"]) <= int(row["volume"])
    assert written == report["generated"]["alert_rows"] == round(1_000_000 * SCALE)
    assert con.execute("SELECT count(*) FROM current_alerts").fetchall()[0][0] == written
    assert con.execute("SELECT count(*) FROM current_incidents").fetchall()[0][0] == round(50_000 * SCALE)


def test_revisions_and_nulls(built, con):
    revised = con.execute(
        """SELECT count(*) FROM (SELECT month, measure, provider FROM measure_values
                                 GROUP BY ALL HAVING count(*) > 1)"""
    ).fetchall()[0][0]
    assert revised > 0
    # a revision is stored beside the figure it revises, from a separate "issue 2" source
    labels = con.execute(
        """SELECT DISTINCT s.label FROM current_measure_values AS c JOIN sources AS s USING (source_id)
           WHERE c.revision_count > 1"""
    ).fetchall()
    assert labels and all(label.endswith("issue 2") for (label,) in labels)
    nulls = con.execute("SELECT count(*) FROM measure_values WHERE status = 'null' AND value IS NULL").fetchall()[0][0]
    assert nulls > 0
    assert (
        con.execute("SELECT count(*) FROM measure_values WHERE status = 'null' AND value IS NOT NULL").fetchall()[0][0]
        == 0
    )


def test_status_engine_judges_every_series(con):
    table = status.status_table(con)
    judged = table[~table["level_missing"].astype(bool)]
    assert judged.groupby(["measure", "provider"]).ngroups >= 100
    # the back-dated and synthetic levels cover every stress month: no figure is left unjudged
    assert not table["target"].isna().any()
    below = table[table["status"].isin(["below_target", "below_minimum"])]
    assert len(below) > 0
    assert (table["status"] == "met").sum() > len(below)


def test_generation_is_deterministic(tmp_path, built):
    root, _, _ = built
    stress.generate(tmp_path, SCALE)
    for entry in stress.read_manifest(root / "files"):
        assert (tmp_path / entry["file"]).read_bytes() == (root / "files" / entry["file"]).read_bytes(), entry["file"]


def test_an_existing_database_is_not_overwritten_without_replace(tmp_path):
    path = tmp_path / "taken.duckdb"
    path.write_bytes(b"keep me")
    with pytest.raises(stress.StressError, match="exists"):
        stress.build(tmp_path / "files", path, scale=SCALE, progress=None)
    assert path.read_bytes() == b"keep me"


def test_a_rejected_file_stops_the_load_with_its_problems(tmp_path):
    stress.generate(tmp_path / "files", SCALE)
    pmr = tmp_path / "files" / "pmr" / "pmr-2001-02.csv"
    lines = pmr.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("CPM2", "CPM99", 1)
    pmr.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(stress.StressError) as failure:
        stress.load(tmp_path / "files", tmp_path / "stress.duckdb", progress=None)
    assert "pmr-2001-02.csv was rejected" in str(failure.value)
    assert "pmr-2001-02.csv:3:measure: unknown measure 'CPM99'" in str(failure.value)
