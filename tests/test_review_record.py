"""The review record (issue 20): meetings, actions with every target date and status kept, decisions and
commentary, written in the app or loaded from files, read as they stood on a day, carried into documents
and the meeting pack with their marking; versions kept, conflicting edits refused, nothing lost on a
reload, a restart or a crash."""

from __future__ import annotations

import io
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from docx import Document as WordDocument
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest.load import ingest_bytes
from opsg_metrics.queries import overview, record
from opsg_metrics.queries.summary import build_summary
from opsg_metrics.queries.trends import trend_data
from opsg_metrics.render.documents import build, pack
from opsg_metrics.store import clearance
from opsg_metrics.store import connect as db
from opsg_metrics.store import record as writes
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person, owner
from tests.conftest import REPO, cli_here, read_marked_csv, snapshot, xlsx_bytes

APRIL = date(2020, 4, 1)
ACTIONS = "action_id,text,owner,raised_meeting,raised_on,target_date,status,closed_on,measure,provider,note\n"


def _copy(sample_db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "record.duckdb"
    shutil.copy(sample_db_path, path)
    return path


@pytest.fixture
def writable(sample_db_path, tmp_path):
    """A writable copy of the sample database (its review record included)."""
    con = db.connect(_copy(sample_db_path, tmp_path))
    yield con
    con.close()


def _load(con, text: str, name: str, **options):
    return ingest_bytes(con, text.encode("utf-8"), name, **options)


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM main.{table}").fetchall()[0][0]


# ------------------------------------------------------------------ the sample record


def test_the_sample_record_is_loaded_as_illustrative_with_its_history(sample_db):
    held = {m.meeting_id: m for m in record.meetings(sample_db)}
    assert set(held) == {"OPSG_25", "OPSG_28", "OPSG_28x", "OPSG_33xx", "OPSG_56"}
    assert held["OPSG_33xx"].pmr_month == APRIL and held["OPSG_33xx"].kind == "reporting"
    found = {a.action_id: a for a in record.outstanding(sample_db, held["OPSG_33xx"])}
    assert set(found) == {"OPSG 28/04", "OPSG 28x/05", "OPSG 33xx/03", "OPSG 33xx/04"}
    plan = found["OPSG 28/04"]
    # Listed at OPSG_28 with 3 March 2020, moved at OPSG_33xx (the file issued on its day) to 28 July.
    assert [(t, s) for t, s, _ in plan.target_dates] == [
        (date(2020, 3, 3), date(2020, 1, 7)),
        (date(2020, 7, 28), date(2020, 6, 22)),
    ]
    assert plan.last_target_date == date(2020, 3, 3) and plan.revised_target_date == date(2020, 7, 28)
    assert not plan.overdue  # its revised date is after the meeting
    # Closed at OPSG_28x, so not outstanding at OPSG_33xx; outstanding (and overdue) at OPSG_28x's day - 1.
    closed = record.actions(sample_db, at=date(2020, 1, 27), action_id="OPSG 28/03")[0]
    assert closed.closed and closed.statuses[-1][1] == date(2020, 1, 27)
    earlier = record.actions(sample_db, at=date(2020, 1, 26), action_id="OPSG 28/03")[0]
    assert not earlier.closed and not earlier.overdue
    sources = sample_db.execute(
        "SELECT DISTINCT s.is_sample, s.label FROM sources s JOIN meetings m USING (source_id)"
    ).fetchall()
    assert sources == [(True, "OPSG meetings (illustrative)")]


def test_the_sample_record_quotes_the_minutes_it_cites(sample_db):
    """Every decision citing minutes quotes words the reference file holds for that meeting, or says it
    is illustrative."""
    shared = REPO.parent / "shared" / "domain"
    files = [REPO / "data" / "reference" / "reported-figures.csv", *sorted(shared.glob("*.csv")), shared / "PRIMER.md"]
    reference = "\n".join(f.read_text(encoding="utf-8") for f in files if f.exists())
    for (text,) in sample_db.execute("SELECT text FROM decisions").fetchall():
        if "illustrative" in text:
            continue
        quoted = text.rsplit(" (OPSG_", 1)[0]
        words = [w for w in quoted.replace(";", " ").split() if len(w) > 5]
        assert words and all(w in reference for w in words[:6]), text


# ------------------------------------------------------------------ commentary: versions and conflicts


def test_commentary_keeps_every_version_and_the_latest_is_current(writable):
    first = writes.save_commentary(
        writable, APRIL, "One", author="Jo", classification="white", by="Jo", measure="CPM1", provider="DCC"
    )
    second = writes.save_commentary(
        writable,
        APRIL,
        "Two",
        author="Al",
        classification="white",
        by="Al",
        measure="CPM1",
        provider="DCC",
        based_on=first.record_id,
    )
    assert second.outcome == "saved" and second.record_id > first.record_id
    current = record.current(writable, APRIL, "CPM1", "DCC")
    assert (current.text, current.author, current.versions) == ("Two", "Al", 2)
    assert list(record.versions(writable, APRIL, "CPM1", "DCC")["text"]) == ["Two", "One"]
    again = writes.save_commentary(
        writable,
        APRIL,
        "Two",
        author="Al",
        classification="white",
        by="Al",
        measure="CPM1",
        provider="DCC",
        based_on=second.record_id,
    )
    assert again.outcome == "unchanged" and record.current(writable, APRIL, "CPM1", "DCC").versions == 2


def test_a_second_save_of_the_same_commentary_is_refused_with_both_texts(writable):
    opened = record.current(writable, APRIL, None, None).record_id  # both open the month's overall one
    writes.save_commentary(
        writable, APRIL, "Bea's words", author="Bea", classification="white", by="Bea", based_on=opened
    )
    rows, audit = _count(writable, "commentary"), _count(writable, "audit_log")
    with pytest.raises(writes.RecordConflict) as refused:
        writes.save_commentary(
            writable, APRIL, "Cal's words", author="Cal", classification="white", by="Cal", based_on=opened
        )
    message = str(refused.value)
    assert message.startswith("changed by Bea at ") and "since you opened it" in message
    assert (refused.value.theirs, refused.value.yours) == ("Bea's words", "Cal's words")
    assert (_count(writable, "commentary"), _count(writable, "audit_log")) == (rows, audit)
    assert record.current(writable, APRIL, None, None).text == "Bea's words"


def test_the_conflict_check_holds_under_threads(writable):
    """Eight sessions of one process open the same version and save at once: one is saved, the rest refused."""
    from concurrent.futures import ThreadPoolExecutor

    opened = record.current(writable, APRIL, None, None).record_id
    path = db.database_path(writable)
    assert path

    def save(n: int) -> str:
        cursor = writable.cursor()
        try:
            writes.save_commentary(
                cursor, APRIL, f"text {n}", author=f"P{n}", classification="white", by=f"P{n}", based_on=opened
            )
            return "saved"
        except writes.RecordConflict:
            return "refused"
        finally:
            cursor.close()

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(save, range(8)))
    assert sorted(outcomes) == ["refused"] * 7 + ["saved"]


def test_a_writer_cannot_mark_a_record_above_their_clearance(writable):
    white = clearance.scope(writable.cursor(), "white")
    with pytest.raises(OpsgError, match="above your clearance"):
        writes.save_commentary(white, APRIL, "x", author="W", classification="amber", by="W")


def test_amber_commentary_is_invisible_below_amber_and_marks_what_shows_it(writable):
    writes.save_commentary(
        writable,
        APRIL,
        "Restricted remark",
        measure="PM2",
        provider="CSP N",
        author="S",
        classification="amber",
        by="S",
        based_on=record.current(writable, APRIL, "PM2", "CSP N").record_id,
    )
    white = clearance.scope(writable.cursor(), "white")
    assert "Restricted remark" not in [c.text for c in record.commentary(white, APRIL)]
    _, text_white, marking_white = build.summary_document(white, APRIL, "txt", window=17)
    assert b"Restricted remark" not in text_white and marking_white != "amber"
    _, text_all, marking_all = build.summary_document(writable, APRIL, "txt", window=17)
    assert b"Restricted remark (S, " in text_all and marking_all == "amber"
    assert build.document_classifications(writable, build_summary(writable, APRIL, window=17))["md"] == "amber"
    # The Overview cell and the trend's tooltip show it at AMBER, and the trend carries the marking.
    cells = overview.matrix_cells(writable, APRIL, window=12)
    cell = cells[(cells["measure"] == "PM2") & (cells["provider"] == "CSP N")].iloc[0]
    assert "Restricted remark" in cell["tooltip"] and overview.COMMENTARY_MARK in overview.cell_marks(cell)
    found = trend_data(writable, "PM2", ["CSP N"], date(2020, 1, 1), date(2020, 6, 1))
    assert any("Restricted remark" in text for _, _, text in found.commentary_at)
    assert found.provenance.classification == "amber"
    white_cells = overview.matrix_cells(white, APRIL, window=12)
    assert not white_cells["tooltip"].str.contains("Restricted remark").any()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_is_saved_exactly_or_refused_with_a_reason(writable, text):
    before = _count(writable, "commentary")
    opened = writes.version_of(writable, "commentary", {"month": APRIL, "measure": "CPM2", "provider": "DCC"})
    try:
        written = writes.save_commentary(
            writable,
            APRIL,
            text,
            measure="CPM2",
            provider="DCC",
            author="H",
            classification="white",
            by="H",
            based_on=opened,
        )
    except OpsgError as exc:
        assert str(exc) and _count(writable, "commentary") == before
        return
    current = record.current(writable, APRIL, "CPM2", "DCC")
    assert current.text == text.replace("\r\n", "\n").strip()
    assert _count(writable, "commentary") == before + (written.outcome == "saved")


# ------------------------------------------------------------------ actions


def test_an_action_keeps_every_target_date_and_status_with_when_and_why(writable):
    action = writes.Action(
        "OPSG 40/01", "DCC to bring the CPM2 plan", "DCC", "OPSG_40", date(2022, 1, 10), ("CPM2",), ("DCC",)
    )
    first = writes.save_action(writable, action, target_date=date(2022, 2, 1), classification="white", by="S")
    version = record.actions(writable, action_id="OPSG 40/01")[0].version
    writes.save_action(
        writable,
        action,
        target_date=date(2022, 4, 1),
        on=date(2022, 2, 8),
        why="awaiting CSP",
        classification="white",
        by="S",
        based_on=version,
    )
    version = record.actions(writable, action_id="OPSG 40/01")[0].version
    writes.save_action(
        writable,
        action,
        status="closed",
        on=date(2022, 4, 5),
        closed_on=date(2022, 4, 5),
        why="plan presented",
        classification="white",
        by="S",
        based_on=version,
    )
    version = record.actions(writable, action_id="OPSG 40/01")[0].version
    writes.save_action(
        writable,
        action,
        status="open",
        on=date(2022, 5, 3),
        why="plan withdrawn",
        classification="white",
        by="S",
        based_on=version,
    )
    assert first.rows == 3  # its words, its first target date, its opening
    now = record.actions(writable, at=date(2022, 6, 1), action_id="OPSG 40/01")[0]
    assert [(t, s, w) for t, s, w in now.target_dates] == [
        (date(2022, 2, 1), date(2022, 1, 10), "as raised"),
        (date(2022, 4, 1), date(2022, 2, 8), "awaiting CSP"),
    ]
    assert [s for s, _, _ in now.statuses] == ["open", "closed", "reopened"] and now.status == "reopened"
    assert now.overdue  # reopened, its target date passed
    at_march = record.actions(writable, at=date(2022, 3, 1), action_id="OPSG 40/01")[0]
    assert at_march.target_date == date(2022, 4, 1) and not at_march.overdue
    at_april = record.actions(writable, at=date(2022, 4, 20), action_id="OPSG 40/01")[0]
    assert at_april.closed and not at_april.overdue
    audit = writable.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'record' AND what LIKE 'action OPSG 40/01%'"
    )
    assert audit.fetchall()[0][0] == 4


def test_an_edit_of_an_action_changed_since_it_was_opened_is_refused(writable):
    opened = record.actions(writable, action_id="OPSG 28/04")[0]
    action = writes.Action(
        opened.action_id, opened.text, opened.owner, opened.raised_meeting, opened.raised_on, opened.measures
    )
    writes.save_action(
        writable,
        action,
        target_date=date(2022, 3, 1),
        why="first",
        classification="white",
        by="Bea",
        based_on=opened.version,
    )
    with pytest.raises(writes.RecordConflict, match="^changed by Bea at "):
        writes.save_action(
            writable,
            action,
            target_date=date(2022, 9, 1),
            why="second",
            classification="white",
            by="Cal",
            based_on=opened.version,
        )
    assert record.actions(writable, action_id="OPSG 28/04")[0].target_date == date(2022, 3, 1)


def test_actions_json_gives_the_fields_the_issue_names(sample_db_path, tmp_path):
    path = _copy(sample_db_path, tmp_path)
    out = cli_here("--db", path, "actions", "--open", "--overdue-at", "2021-01-01", "--json", check=0).stdout
    found = {a["action_id"]: a for a in json.loads(out)}
    plan = found["OPSG 28/04"]
    for field in ("action_id", "text", "owner", "status", "raised_on", "target_date", "target_dates", "overdue"):
        assert field in plan
    assert plan["target_date"] == "2020-07-28" and plan["overdue"] is True
    assert [t["target_date"] for t in plan["target_dates"]] == ["2020-03-03", "2020-07-28"]
    assert plan["target_dates"][1]["set_on"] == "2020-06-22" and plan["measures"] == ["CPM1"]
    assert "OPSG 28/03" not in found  # closed
    at_meeting = json.loads(cli_here("--db", path, "actions", "--meeting", "OPSG_33xx", "--json", check=0).stdout)
    assert {a["action_id"] for a in at_meeting} == {"OPSG 28/04", "OPSG 28x/05", "OPSG 33xx/03", "OPSG 33xx/04"}
    assert all(a["overdue_at"] == "2020-06-22" for a in at_meeting)
    text = cli_here("--db", path, "actions", "--meeting", "OPSG_33xx", check=0).stdout
    assert "OPSG 28/04  [open]" in text and "28 July 2020 (set 22 June 2020" in text
    refused = cli_here("--db", path, "actions", "--meeting", "OPSG_99", check=1)
    assert "no meeting 'OPSG_99' in the record" in refused.stderr and "Traceback" not in refused.stderr


def test_commentary_command(sample_db_path, tmp_path):
    path = _copy(sample_db_path, tmp_path)
    found = json.loads(cli_here("--db", path, "commentary", "--month", "2020-04", "--json", check=0).stdout)
    assert [(c["measure"], c["provider"]) for c in found] == [(None, None), ("PM2", "CSP N")]
    assert {"month", "text", "author", "written_at", "versions", "classification"} <= set(found[0])
    text = cli_here("--db", path, "commentary", "--month", "2020-04", check=0).stdout
    assert "The month overall (SECAS (illustrative)" in text and "PM2 in CSP N (" in text
    assert "No commentary" in cli_here("--db", path, "commentary", "--month", "2018-01", check=0).stdout


# ------------------------------------------------------------------ files


def test_loading_a_record_file_twice_changes_nothing_and_a_new_date_is_a_revision(writable):
    text = ACTIONS + "OPSG 41/01,DCC to fix it,DCC,OPSG_41,2022-02-01,2022-03-01,open,,CPM1,CSP N,\n"
    assert _load(writable, text, "a.csv").outcome == "loaded"
    before = snapshot(writable)
    again = _load(writable, text, "a.csv")
    assert again.outcome == "unchanged" and snapshot(writable) == before
    same_rows = _load(writable, text + "\n", "a-copy.csv")  # another file, the same rows
    assert same_rows.outcome == "unchanged" and "nothing new" in same_rows.message and snapshot(writable) == before
    moved = text.replace("2022-03-01,open,,", "2022-05-01,open,,").replace(",CPM1,CSP N,", ",CPM1,CSP N,slipped")
    result = _load(writable, moved, "b.csv", issued=date(2022, 3, 8))
    assert result.outcome == "loaded", result.problems
    held = record.actions(writable, action_id="OPSG 41/01")[0]
    assert [(t, s, w) for t, s, w in held.target_dates] == [
        (date(2022, 3, 1), date(2022, 2, 1), "as raised"),
        (date(2022, 5, 1), date(2022, 3, 8), "slipped"),
    ]
    assert held.providers == ("CSP N",) and held.measures == ("CPM1",)


def test_a_damaged_record_file_is_rejected_whole_with_every_problem(writable):
    before = snapshot(writable)
    bad = (
        ACTIONS
        + "OPSG 42/01,fine,DCC,OPSG_42,2022-02-01,2022-03-01,open,,CPM1,,\n"
        + ",no id,DCC,OPSG_42,2022-13-01,soon,maybe,,CPMX,CSP West,\n"
        + "СPM 42/03,look-alike id,DCC,OPSG_42,2022-02-01,2022-03-01,open,,,,\n"
        + 'OPSG 42/04,bad owner,"D\nCC",OPSG_42,2022-02-01,2022-03-01,open,,,,\n'
    )
    result = _load(writable, bad, "actions.csv")
    assert result.outcome == "rejected" and snapshot(writable) == before
    said = {(p.row, p.column) for p in result.problems}
    assert {
        (3, "action_id"),
        (3, "raised_on"),
        (3, "target_date"),
        (3, "status"),
        (3, "measure"),
        (3, "provider"),
        (4, "action_id"),
        (5, "owner"),
    } <= said
    assert all(str(p).startswith(f"actions.csv:{p.row}:{p.column}: ") for p in result.problems)
    assert "fine" not in [a.text for a in record.actions(writable)]
    unknown = _load(writable, "meeting_id,date,kind,pmr_month,colour\nOPSG_9,2022-01-01,main,2021-12,red\n", "m.csv")
    assert [str(p) for p in unknown.problems][0].startswith("m.csv:1:colour: unknown column 'colour'")


def test_a_workbook_of_the_record_loads_its_sheets_and_one_mixed_with_figures_is_refused(writable):
    book = xlsx_bytes(
        {
            "Meetings": [["meeting_id", "date", "kind", "pmr_month"], ["OPSG_43", "2022-03-08", "main", "2022-01"]],
            "decisions": [["meeting_id", "item", "verb", "text"], ["OPSG_43", "5", "agreed", "DCC to report in April"]],
        }
    )
    result = ingest_bytes(writable, book, "record.xlsx")
    assert result.outcome == "loaded", result.problems
    assert result.kinds == ["meetings", "decisions"]
    assert record.decision_lines(record.decisions(writable, "OPSG_43")) == [
        "Item 5: OPSG AGREED DCC to report in April."
    ]
    before = snapshot(writable)
    mixed = xlsx_bytes(
        {
            "measures": [["month", "measure", "provider", "value"], ["2022-01", "CPM1", "DCC", "99.5"]],
            "actions": [
                ACTIONS.strip().split(","),
                ["OPSG 43/01", "x", "DCC", "OPSG_43", "2022-03-08", "2022-04-01", "open", "", "", "", ""],
            ],
        }
    )
    refused = ingest_bytes(writable, mixed, "mixed.xlsx")
    assert refused.outcome == "rejected" and snapshot(writable) == before
    assert any("cannot be loaded with figures" in p.message for p in refused.problems)


def test_a_record_row_is_never_marked_below_its_file(writable):
    text = "month,text,measure,provider,author,classification\n2020-05,Noted,,,S,white\n2020-05,Kept close,CPM1,DCC,S,red\n"
    assert _load(writable, text, "c.csv", classification="amber").outcome == "loaded"
    marks = dict(writable.execute("SELECT text, classification FROM commentary WHERE month = '2020-05-01'").fetchall())
    assert marks == {"Noted": "amber", "Kept close": "red"}


CELL = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(["", "2022-01-01", "open", "CPM1", "x;y"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELL, min_size=11, max_size=11), min_size=1, max_size=4))
def test_any_actions_file_is_loaded_or_rejected_with_located_problems(writable, rows):
    import csv

    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(ACTIONS.strip().split(","))
    out.writerows(rows)
    before = snapshot(writable)
    result = ingest_bytes(writable, buffer.getvalue().encode("utf-8"), "gen.csv")
    assert result.outcome in ("loaded", "rejected", "unchanged")
    if result.outcome == "rejected":
        assert result.problems and snapshot(writable) == before
        assert all(str(p).startswith("gen.csv:") for p in result.problems)


# ------------------------------------------------------------------ restart and crash


def test_the_record_survives_a_restart(sample_db_path, tmp_path):
    path = _copy(sample_db_path, tmp_path)
    con = db.connect(path)
    opened = record.current(con, APRIL, "CPM1", "CSP N")
    writes.save_commentary(
        con,
        APRIL,
        "Kept across a restart",
        measure="CPM1",
        provider="CSP N",
        author="S",
        classification="white",
        by="S",
        based_on=opened.record_id if opened else None,
    )
    con.close()
    again = db.connect(path, read_only=True)
    try:
        assert record.current(again, APRIL, "CPM1", "CSP N").text == "Kept across a restart"
    finally:
        again.close()


WRITER = """
import sys
from datetime import date
from opsg_metrics.store import connect as db, record as writes
con = db.connect(sys.argv[1])
n = 0
while True:
    n += 1
    opened = writes.version_of(con, "commentary", {"month": date(2020, 4, 1), "measure": "CPM3", "provider": "DCC"})
    writes.save_commentary(con, date(2020, 4, 1), f"version {n} " + "x" * 2000, measure="CPM3", provider="DCC",
                           author="K", classification="white", by="K", based_on=opened)
    print("SAVED", n, flush=True)
"""


def test_a_crash_during_saves_leaves_every_save_whole_or_absent(sample_db_path, tmp_path):
    """A process saving commentary versions in a loop, killed with SIGKILL at random moments: reopened, the
    record holds every save it said was committed, each whole with its audit entry, and nothing half-made."""
    rng = random.Random(20261201)
    for trial in range(4):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        path = _copy(sample_db_path, folder)
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        time.sleep(1.5 + rng.random() * 2)
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate(timeout=60)
        said = [int(line.split()[1]) for line in output.splitlines() if line.startswith("SAVED")]
        con = db.connect(path)
        try:
            rows = con.execute(
                "SELECT text FROM commentary WHERE measure = 'CPM3' AND provider = 'DCC' ORDER BY record_id"
            ).fetchall()
            audits = con.execute(
                "SELECT count(*) FROM audit_log WHERE action = 'record' AND what = 'commentary on CPM3 DCC'"
            ).fetchall()[0][0]
        finally:
            con.close()
        numbers = [int(text.split()[1]) for (text,) in rows]
        assert numbers == list(range(1, len(numbers) + 1))  # no gap, no half-made version
        assert all(text.endswith("x" * 2000) for (text,) in rows)
        assert len(numbers) >= len(said) and len(numbers) <= len(said) + 1  # at most the one in flight
        assert audits == len(numbers)


# ------------------------------------------------------------------ documents and the pack


def test_the_meeting_pack_holds_the_summary_commentary_actions_decisions_and_charts(writable):
    # An AMBER decision of the previous meeting makes the whole pack AMBER.
    writes.add_decision(writable, "OPSG_28x", "PMR", "NOTED", "a restricted point", classification="amber", by="S")
    name, content, marking = pack.meeting_pack(writable, "OPSG_33xx", "docx", window=17)
    assert marking == "amber" and name == "meeting-pack-OPSG_33xx-amber.docx"
    assert pack.pack_classification(writable, "OPSG_33xx", window=17) == "amber"
    word = WordDocument(io.BytesIO(content))
    paragraphs = [p.text for p in word.paragraphs]
    assert paragraphs[0] == "AMBER" and paragraphs[1] == "OPSG_33xx meeting pack: PMR April 2020"
    headings = [p.text for p in word.paragraphs if p.style.name.startswith("Heading")]
    assert headings.index("Actions outstanding") < headings.index("Decisions of OPSG_28x")
    assert headings.index("Decisions of OPSG_28x") < headings.index("Charts of the measures below target")
    assert any(p.startswith("Secretariat commentary: CPM1 below target again.") for p in paragraphs)
    assert "Item PMR: OPSG NOTED a restricted point." in paragraphs
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert {"OPSG 28/04", "OPSG 28x/05", "OPSG 33xx/03", "OPSG 33xx/04"} <= set(cells)
    assert "OPSG 28/03" not in cells  # closed before the meeting
    assert len(word.inline_shapes) >= 1  # the charts of the measures below target
    assert any("Classification: AMBER" in p for p in paragraphs)
    white = clearance.scope(writable.cursor(), "white")
    _, shown, white_marking = pack.meeting_pack(white, "OPSG_33xx", "md", window=17, charts=False)
    assert b"a restricted point" not in shown and white_marking != "amber"


def test_the_actions_outstanding_table_as_files(sample_db):
    name, raw, marking = pack.actions_file(sample_db, "csv", meeting_id="OPSG_33xx")
    assert name == "actions-outstanding-OPSG_33xx-white.csv"
    line, rows = read_marked_csv(raw)
    assert line == "Classification: WHITE (may be published)"
    assert [r["ID"] for r in rows] == ["OPSG 28/04", "OPSG 28x/05", "OPSG 33xx/03", "OPSG 33xx/04"]
    assert rows[0]["Last Target Date"] == "3 March 2020" and rows[0]["Revised Target Date"] == "28 July 2020"
    _, md, _ = pack.actions_file(sample_db, "md", meeting_id="OPSG_33xx")
    assert b"| ID | Action | Raised | Last Target Date | Revised Target Date | Owner | Status |" in md
    assert b"PMR month" not in md and b"Every measure and provider" not in md
    _, docx, _ = pack.actions_file(sample_db, "docx", meeting_id="OPSG_33xx")
    assert WordDocument(io.BytesIO(docx)).tables[0].rows[0].cells[0].text == "ID"


def test_the_pack_command_writes_one_file(sample_db_path, tmp_path):
    path = _copy(sample_db_path, tmp_path)
    out = tmp_path / "pack.md"
    said = cli_here("--db", path, "pack", "--meeting", "OPSG_33xx", "--format", "md", "-o", out, check=0).stdout
    assert "Wrote" in said and out.read_text(encoding="utf-8").startswith("**WHITE")


def test_remediation_plans_are_drawn_on_the_trend_with_their_slips(sample_db):
    found = trend_data(sample_db, "CPM1", ["DCC", "CSP N"], date(2019, 6, 1), date(2021, 12, 1))
    plans = found.annotations[found.annotations["text"].str.startswith("Action OPSG 28/04")]
    assert set(plans["panel"]) == {"DCC", "CSP N"}  # an action naming no provider: every panel
    kinds = plans.drop_duplicates("date_iso").set_index("date_iso")["kind"].to_dict()
    assert kinds == {"2020-03-03": "slipped", "2020-07-28": "slipped", "2021-12-07": "planned"}
    slipped = plans[plans["date_iso"] == "2020-03-03"]["text"].iloc[0]
    assert "moved on 22 June 2020 to 28 July 2020" in slipped
    from opsg_metrics.render.charts.views import view_of

    spec = view_of(found).chart.to_dict()
    assert "slipped" in json.dumps(spec)


def test_person_roles_decide_who_may_write_the_record():
    assert owner("Me").may("write_record")
    assert Person("s@x.org", "S", "secretariat", "amber").may("write_record")
    assert not Person("v@x.org", "V", "viewer", "red").may("write_record")


def test_the_record_page_shows_the_meeting_and_a_commentary_saved_on_the_summary_is_kept(
    sample_db_path, tmp_path, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    path = _copy(sample_db_path, tmp_path)
    monkeypatch.setenv("OPSG_DB", str(path))

    def session(page: str, **query) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        return at.switch_page(page).run()

    page = session("pages/record.py", meeting="OPSG_33xx")
    assert not page.exception
    assert any("4 actions raised by 22 June 2020" in c.value for c in page.caption)
    first = session("pages/summary.py", month="2020-04", window="17")
    second = session("pages/summary.py", month="2020-04", window="17")
    key = "commentary:2020-04::"
    first.text_area(key=key + ":text").input("First writer's words").run()
    first.button(key=key + ":save").click().run()
    assert not first.exception
    second.text_area(key=key + ":text").input("Second writer's words").run()
    second.button(key=key + ":save").click().run()
    assert any("since you opened it" in e.value for e in second.error)
    con = db.connect(path)  # the app in this process holds the file read-write: so does this reader
    try:
        assert record.current(con, APRIL, None, None).text == "First writer's words"
    finally:
        con.close()


# ------------------------------------------------------------------ a hostile reading (issue 20's review)


def test_commentary_on_a_measure_with_no_provider_is_carried_everywhere(writable, tmp_path):
    assert _load(writable, "month,text,measure\n2020-04,Across every region,CPM1\n", "c.csv").outcome == "loaded"
    found = {c.about: c for c in record.commentary(writable, APRIL)}
    assert "CPM1, every provider" in found
    for fmt in ("md", "txt", "html", "docx"):
        _, content, _ = build.summary_document(writable, APRIL, fmt, window=17, charts=False)
        assert content
    _, text, _ = build.summary_document(writable, APRIL, "txt", window=17)
    assert b"Secretariat commentary: Across every region (" in text
    cells = overview.matrix_cells(writable, APRIL, window=12)
    assert cells[cells["measure"] == "CPM1"]["tooltip"].str.contains("Across every region").all()
    trend = trend_data(writable, "CPM1", ["DCC", "CSP N"], date(2020, 1, 1), date(2020, 6, 1))
    assert {p for p, _, t in trend.commentary_at if "Across every region" in t} == {"DCC", "CSP N"}
    assert pack.meeting_pack(writable, "OPSG_33xx", "txt", window=17, charts=False)[1]


def test_the_pack_carries_the_marking_of_the_previous_meeting_it_names(writable):
    text = "meeting_id,date,kind,pmr_month\nSECRET_M,2021-08-01,main,2021-06\n"
    assert _load(writable, text, "m.csv", classification="amber").outcome == "loaded"
    name, content, marking = pack.meeting_pack(writable, "OPSG_56", "md", window=12, charts=False)
    assert b"## Decisions of SECRET\\_M" in content and marking == "amber"
    assert pack.pack_classification(writable, "OPSG_56", window=12) == "amber"


def test_rows_restated_at_a_lower_marking_are_seen_at_that_level(writable):
    action = ACTIONS + "SEC2,A restricted action,DCC,OPSG_56,2021-09-07,2021-12-01,open,,,,\n"
    decision = "meeting_id,item,verb,text\nOPSG_28x,PMR,NOTED,a point first made in confidence\n"
    assert _load(writable, action, "a.csv", classification="amber").outcome == "loaded"
    assert _load(writable, decision, "d.csv", classification="amber").outcome == "loaded"
    assert _load(writable, action + "\n", "a-white.csv", classification="white").outcome == "loaded"
    assert _load(writable, decision + "\n", "d-white.csv", classification="white").outcome == "loaded"
    white = clearance.scope(writable.cursor(), "white")
    seen = record.actions(white, at=date(2022, 1, 1), action_id="SEC2")[0]
    assert seen.target_date == date(2021, 12, 1) and seen.status == "open" and seen.overdue
    every = record.actions(writable, at=date(2022, 1, 1), action_id="SEC2")[0]
    assert len(every.target_dates) == 1 and len(every.statuses) == 1  # one history at the owner's level too
    assert "OPSG NOTED a point first made in confidence" in " ".join(
        record.decision_lines(record.decisions(white, "OPSG_28x"))
    )
    assert len(record.decisions(writable, "OPSG_28x")) == 2  # the sample's, and this one once


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16"),
        lambda t: t.replace(",", "\t").encode("utf-8"),
        lambda t: t.replace("action_id,text", '"action_id","text"').encode("utf-8"),
        lambda t: t.encode("utf-8-sig"),
    ],
    ids=["utf-16", "tabs", "quoted-header", "bom"],
)
def test_a_record_file_is_recognised_however_it_is_saved(writable, encode):
    text = ACTIONS + "OPSG 50/01,Saved oddly,DCC,OPSG_50,2022-01-10,2022-02-01,open,,CPM1,,\n"
    result = ingest_bytes(writable, encode(text), "odd.csv")
    assert result.outcome == "loaded", result.problems
    assert record.actions(writable, action_id="OPSG 50/01")[0].text == "Saved oddly"


def test_a_second_row_for_the_same_thing_in_one_load_is_refused(writable):
    before = snapshot(writable)
    twice = ACTIONS + "".join(
        f"OPSG 51/01,Twice,DCC,OPSG_51,2022-01-10,{day},open,,,,\n" for day in ("2022-02-01", "2022-05-01")
    )
    result = _load(writable, twice, "twice.csv")
    assert [str(p) for p in result.problems] == [
        "twice.csv:3:action_id: duplicate of row 2: the same action twice in one file"
    ]
    header = ACTIONS.strip().split(",")
    row = ["OPSG 51/02", "x", "DCC", "OPSG_51", "2022-01-10", "2022-02-01", "open", "", "", "", ""]
    book = xlsx_bytes({"actions": [header, row], " Actions": [header, row]})
    refused = ingest_bytes(writable, book, "book.xlsx")
    assert refused.outcome == "rejected" and any("duplicate of book.xlsx[" in p.message for p in refused.problems)
    comments = "month,text\n2020-05,one\n2020-05,two\n"
    assert _load(writable, comments, "c.csv").outcome == "rejected"
    assert snapshot(writable) == before


def test_cells_and_columns_the_record_does_not_take(writable):
    extra = ACTIONS + "OPSG 52/01,x,DCC,OPSG_52,2022-01-10,2022-02-01,open,,,,,EXTRA\n"
    assert [str(p) for p in _load(writable, extra, "e.csv").problems] == [
        "e.csv:2:-: has 12 cells but the header only 11"
    ]
    ignored = "meeting_id,date,kind,pmr_month,x_notes\nOPSG_52,2022-01-10,main,2021-11,our own column\n"
    assert _load(writable, ignored, "x.csv").outcome == "loaded"
    header = ACTIONS.strip().split(",")
    row = ["OPSG 52/02", "x", "DCC", "OPSG_52", "2022-01-10", "2022-02-01", "open", "", "", "", ""]
    book = xlsx_bytes({"actions": [header, row], "Sheet2": [header, row[:0] + ["OPSG 52/03", *row[1:]]]})
    refused = ingest_bytes(writable, book, "b.xlsx")
    assert refused.outcome == "rejected"
    assert "this sheet holds actions rows" in refused.problems[0].message


@pytest.mark.parametrize(
    "text, said",
    [
        (ACTIONS + "OPSG 53/01,x,DCC,OPSG_53,2022-03-01,2022-02-01,open,,,,\n", "is before the day it was raised"),
        (ACTIONS + "OPSG 53/02,x,DCC,OPSG_53,2022-03-01,2022-04-01,closed,2019-01-01,,,\n", "closing day"),
        (ACTIONS + "OPSG 53/03,x,DCC,OPSG_53,2099-03-01,2099-04-01,open,,,,\n", "a day still to come"),
        ("meeting_id,date,kind,pmr_month\nOPSG_53,2020-01-10,main,2020-06\n", "a later month"),
        ("month,text\n2099-01,x\n", "no PMR of that month can have been published yet"),
        ("month,text,measure,provider\n2020-04,x,DSP1.2,CSP N\n", "not a measure of the catalogue"),
        ("month,text\n2020-04,x \u202eevil\n", "direction control character"),
        (ACTIONS + 'OPSG 53/04,x,"D\u2066C",OPSG_53,2022-03-01,2022-04-01,open,,,,\n', "direction control"),
    ],
    ids=[
        "target-before-raised",
        "closed-before-raised",
        "raised-later",
        "later-pmr",
        "future-month",
        "unknown-series",
        "bidi-commentary",
        "bidi-owner",
    ],
)
def test_dates_and_links_that_cannot_be_are_refused(writable, text, said):
    before = snapshot(writable)
    result = _load(writable, text, "bad.csv")
    assert result.outcome == "rejected" and any(said in p.message for p in result.problems), result.problems
    assert snapshot(writable) == before


def test_a_refused_cell_is_refused_once(writable):
    text = ACTIONS + "OPSG 54/01," + "x" * 40_000 + ",DCC,OPSG_54,2022-03-01,2022-04-01,open,,,,\n"
    result = _load(writable, text, "long.csv")
    assert [p.column for p in result.problems] == ["text"]


def test_text_cannot_forge_lines_or_columns_in_plain_output(writable, tmp_path):
    text = (
        ACTIONS
        + 'OPSG 55/01,"first line\nOPSG 99/99  [closed]",Owner | fake | col,OPSG_55,2022-03-01,2022-04-01,open,,,,\n'
    )
    assert _load(writable, text, "f.csv").outcome == "loaded"
    path = db.database_path(writable)
    writable.close()
    shown = cli_here("--db", path, "actions", check=0).stdout
    assert "\nOPSG 99/99" not in shown and "first line OPSG 99/99 [closed]" in shown
    out = tmp_path / "a.txt"
    cli_here("--db", path, "actions", "--format", "txt", "-o", out, check=0)
    row = next(line for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("OPSG 55/01"))
    assert row.count(" | ") == 6 and "Owner ¦ fake ¦ col" in row
    wal = cli_here("--db", path, "actions", "--format", "csv", "-o", f"{path}.wal", check=1)
    assert "this is a database file" in wal.stderr and not Path(f"{path}.wal").exists()


def test_the_command_stops_quietly_when_its_reader_does(sample_db_path, tmp_path):
    path = _copy(sample_db_path, tmp_path)
    many = tmp_path / "many.csv"  # a listing far longer than a pipe holds, so the write meets a closed pipe
    many.write_text(
        ACTIONS
        + "".join(f"OPSG 96/{i:04d},Action {i},DCC,OPSG_96,2022-01-10,2022-03-01,open,,,,\n" for i in range(3000)),
        encoding="utf-8",
    )
    cli_here("--db", path, "ingest", many, check=0)
    done = subprocess.run(
        f"{sys.executable} -m opsg_metrics --db {path} actions --json | head -c 5",
        shell=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "[\n  {" and "error" not in done.stderr and "Traceback" not in done.stderr
