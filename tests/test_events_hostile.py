"""Hostile and damaged files of request records: each rejected whole with `file:row:column` problems and
nothing stored (or, where the contract allows it, loaded exactly), never a traceback; no text of a file
reaching SQL; generated names and cells (hypothesis) held to the same."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest.event_checks import IDENTIFIER, MAX_PROBLEMS
from opsg_metrics.ingest.event_read import physical_rows
from opsg_metrics.ingest.events import load_events
from opsg_metrics.store import snapshots

from .conftest import cli_here

HEADER = "request_id,measure,provider,received_at,completed_at,target_seconds,outcome,exclusion"
ROW = "R1,PM2,CSP N,2020-04-01T09:00:00+01:00,2020-04-01T09:30:00+01:00,3600,completed,"


@pytest.fixture
def base(sample_db_path) -> Path:
    return sample_db_path


@pytest.fixture
def db(own_sample_db) -> Path:
    return own_sample_db


def stored(db: Path) -> list[Path]:
    root = db.with_name(db.name + ".events")
    return sorted(p for p in root.rglob("*") if p.is_file() and ".loading" not in p.parts and p.name != "KEY")


def sources(db: Path) -> int:
    con, _ = snapshots.reader(db)
    with con:
        return con.execute("SELECT count(*) FROM sources").fetchall()[0][0]


def rejected(db: Path, file: Path, expected: str) -> str:
    before = sources(db)
    result = load_events(db, file)
    text = "\n".join(map(str, result.problems))
    assert result.outcome == "rejected", (result.message, text)
    assert expected in text, text
    assert stored(db) == [] and sources(db) == before
    return text


def csv(tmp_path: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- no text of a file is SQL


INJECTIONS = [
    'x_a" AS VARCHAR) AS "x_a", (SELECT content FROM read_text(\'/etc/passwd\')) AS "x_key" --',
    "x_a'); DROP TABLE sources; --",
    "x_a\"; COPY (SELECT 1) TO '/tmp/pwned.txt'; --",
    "x_{events}",
    "x_%s",
    "x_" + "a" * 61,
    "x_",
    "x_device id",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_an_extra_columns_name_is_never_sql(db, tmp_path, name):
    header = HEADER + "," + ('"' + name.replace('"', '""') + '"')
    rejected(db, csv(tmp_path, "inject.csv", [ROW + ",1"], header), "an extra column's name is x_ then")
    assert not Path("/tmp/pwned.txt").exists()


def test_names_differing_only_in_case_are_the_same_column(db, tmp_path):
    rejected(db, csv(tmp_path, "case.csv", [ROW + ",1,2"], HEADER + ",x_a,x_A"), "x_A: this column appears twice")


def test_a_parquet_file_with_a_column_twice_is_refused(db, tmp_path):
    table = pa.table({n: [v] for n, v in zip(HEADER.split(","), ROW.split(","), strict=True)})
    table = table.append_column("x_a", pa.array(["1"])).append_column("x_a", pa.array(["2"]))
    pq.write_table(table, tmp_path / "twice.parquet")
    rejected(db, tmp_path / "twice.parquet", "x_a: this column appears twice")


def test_a_file_name_is_no_pattern(db, tmp_path):
    csv(tmp_path, "starX.csv", [ROW.replace("R1", "R2")])
    star = csv(tmp_path, "star*.csv", [ROW])
    result = load_events(db, star)
    assert result.outcome == "loaded" and result.rows == 1  # starX.csv beside it is not read


def test_a_database_path_that_reads_as_a_pattern_is_refused_in_words(base, tmp_path):
    odd = tmp_path / "db[1].duckdb"
    shutil.copy(base, odd)
    out = cli_here("--db", odd, "events", "load", csv(tmp_path, "a.csv", [ROW]), check=1)
    assert "give the database a plain path" in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------- cells that cannot be


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("0001-01-01T00:00:00Z", "in 1, not between 2000 and 2100"),
        ("0000-01-01T00:00:00Z", "received_at:"),
        ("2020-04-01T09:00:00+99:99", "is not a time in ISO 8601"),
        ("2020-04-01T09:00:00+24:00", "is not a time in ISO 8601"),
        ("2020-04-01T09:00:00+00:60", "is not a time in ISO 8601"),
        ("2020-04-01T09:00:00+0160", "is not a time in ISO 8601"),
    ],
)
def test_a_time_that_cannot_be_is_refused(db, tmp_path, cell, expected):
    row = ROW.replace("2020-04-01T09:00:00+01:00", cell, 1).replace("2020-04-01T09:30:00+01:00", "", 1)
    rejected(db, csv(tmp_path, "time.csv", [row.replace("completed,", "timed_out,")]), expected)


@pytest.mark.parametrize(
    ("lines", "header", "expected"),
    [
        ([ROW.replace(",3600,", ",1e308,")], HEADER, "2:target_seconds: 1e308 is not a number of seconds"),
        ([ROW + ",a\x00b"], HEADER + ",x_note", "2:x_note: holds a character that cannot be printed"),
        ([ROW + ",a\x1bb"], HEADER + ",x_note", "2:x_note: holds a character that cannot be printed"),
        ([ROW + ",a\uffffb"], HEADER + ",x_note", "2:x_note: holds a character that cannot be printed"),
        ([ROW + "," + "n" * 20_000], HEADER + ",x_note", "2:x_note: longer than 10,000 characters"),
        ([ROW.replace("R1", "R\x07")], HEADER, "2:request_id: holds a character that cannot be printed"),
        ([ROW.replace("PM2", "РM2")], HEADER, "not plain ASCII: a look-alike letter"),
        ([], HEADER, "no request records in the file"),
    ],
)
def test_a_cell_the_readme_refuses_is_refused(db, tmp_path, lines, header, expected):
    rejected(db, csv(tmp_path, "cells.csv", lines, header), expected)


def test_a_bad_completion_time_is_one_problem_not_two(db, tmp_path):
    text = rejected(
        db, csv(tmp_path, "done.csv", [ROW.replace("09:30:00+01:00", "9.30am")]), "completed_at: 2020-04-01T"
    )
    assert "empty, but the outcome is completed" not in text


# ---------------------------------------------------------------- rows where they are


def test_rows_are_numbered_as_the_file_has_them(db, tmp_path):
    lines = [ROW, ROW.replace("R1", "R2") + ",extra", "", ROW.replace("R1", "R3").replace("completed", "done")]
    text = rejected(db, csv(tmp_path, "rows.csv", lines), "3:-: 9 cells where the header has 8")
    assert "rows.csv:4:request_id: empty" in text  # the empty line, at its own row
    assert "rows.csv:5:outcome: done is not one of" in text  # after the skipped rows, still its own row


def test_physical_rows_skip_what_was_not_read():
    assert physical_rows(0, 3, []) == [2, 3, 4]
    assert physical_rows(0, 3, [3]) == [2, 4, 5]
    assert physical_rows(2, 2, [3, 4]) == [6, 7]


def test_every_repeat_is_a_problem_and_repeats_across_files_too(db, tmp_path):
    thrice = [ROW, ROW, ROW]
    text = rejected(db, csv(tmp_path, "thrice.csv", thrice), "thrice.csv:3:request_id: 'R1' (PM2 / CSP N) again")
    assert "thrice.csv:4:request_id" in text
    many = [ROW.replace("R1", f"R{i}") for i in range(MAX_PROBLEMS + 50)] * 2
    text = rejected(db, csv(tmp_path, "many.csv", many), "50 more requests given again, not listed")
    first = csv(tmp_path, "split1.csv", [ROW])
    second = csv(tmp_path, "split2.csv", [ROW.replace("completed", "failed")])
    before = sources(db)
    result = load_events(db, [first, second])
    assert result.outcome == "rejected" and stored(db) == [] and sources(db) == before
    assert "split2.csv:2:request_id: 'R1' (PM2 / CSP N) again: first at row 2 of split1.csv" in str(result.problems[0])


def test_a_request_given_twice_is_said_beside_the_cells_problems(db, tmp_path):
    text = rejected(db, csv(tmp_path, "both.csv", [ROW, ROW.replace(",3600,", ",0,")]), "3:target_seconds")
    assert "3:request_id: 'R1'" in text


# ---------------------------------------------------------------- damaged files


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (("\ufeff\ufeff" + HEADER + "\n" + ROW + "\n").encode(), "\ufeffrequest_id: not a column"),
        ((HEADER + "\nR1,caf\xe9\n").encode("latin-1"), "cannot be read as UTF-8 CSV"),
        (b"\x00" * 70_000, "the first line is longer than 65,536 bytes"),
        ((HEADER.replace("request_id", "caf\xe9") + "\n").encode("latin-1"), "the header is not UTF-8 text"),
    ],
)
def test_a_damaged_csv_is_refused_in_words_without_a_traceback(db, tmp_path, content, expected, capsys):
    (tmp_path / "damaged.csv").write_bytes(content)
    rejected(db, tmp_path / "damaged.csv", expected)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_a_symlink_loop_is_refused(db, tmp_path):
    os.symlink(tmp_path / "loop.csv", tmp_path / "loop.csv")
    out = cli_here("--db", db, "events", "load", tmp_path / "loop.csv", check=1)
    assert "loop.csv:0:-: cannot read the file" in out.stderr and "internal error" not in out.stderr


def test_an_empty_device_identifier_stays_empty(db, tmp_path):
    assert load_events(
        db, csv(tmp_path, "eui.csv", [ROW + ",", ROW.replace("R1", "R2") + ",E-1"], HEADER + ",x_EUI")
    ).ok
    [path] = stored(db)
    values = [r["x_EUI"] for r in pq.read_table(path).to_pylist()]
    assert values[0] == "" and len(values[1]) == 32 and values[1] != "E-1"


def test_nanosecond_utc_timestamps_load(db, tmp_path):
    table = pa.table(
        {
            "request_id": ["R1"],
            "measure": ["PM4.3"],
            "provider": ["CSP S"],
            "received_at": pa.array([1_617_267_600_000_000_000], pa.timestamp("ns", tz="UTC")),
            "completed_at": pa.array([1_617_267_610_000_000_000], pa.timestamp("ns", tz="UTC")),
            "target_seconds": [25.0],
            "outcome": ["completed"],
            "exclusion": [None],
        }
    )
    pq.write_table(table, tmp_path / "ns.parquet")
    result = load_events(db, tmp_path / "ns.parquet")
    assert result.outcome == "loaded" and result.months == ["2021-04"], result.problems


# ---------------------------------------------------------------- generated names and cells


names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)
cells = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, value=cells)
def test_any_extra_column_and_cell_is_loaded_as_given_or_refused_in_words(base, tmp_path, name, value):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    db = folder / "opsg.duckdb"
    shutil.copy(base, db)
    header = HEADER + "," + '"x_' + name.replace('"', '""') + '"'
    line = ROW + "," + '"' + value.replace('"', '""') + '"'
    file = folder / "gen.csv"
    file.write_text(header + "\n" + line + "\n", encoding="utf-8")
    result = load_events(db, file)
    if result.outcome == "loaded":
        [path] = stored(db)
        [row] = pq.read_table(path).to_pylist()
        if IDENTIFIER.search("x_" + name) and value:  # a device identifier: its pseudonym, never itself
            assert row["x_" + name] != value and len(row["x_" + name]) == 32
        else:
            assert row["x_" + name] == value  # kept exactly as given (an empty cell stays empty)
    else:
        assert result.problems and all(str(p).startswith("gen.csv:") for p in result.problems)
        assert stored(db) == []
