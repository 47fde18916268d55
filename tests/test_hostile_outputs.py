"""What goes out, whatever came in: renderers that never die, every CSV neutralised and marked, markings
and gates from exactly the rows an output used, and clear errors for the surroundings (damaged or foreign
database files, a database in use, a full disk, bad output paths)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest

from opsg_metrics.ingest import bootstrap
from opsg_metrics.ingest.load import ingest_bytes
from opsg_metrics.queries import summary
from opsg_metrics.render import draw as renderer
from opsg_metrics.render import files as export
from opsg_metrics.render.charts import views
from opsg_metrics.render.documents import build
from opsg_metrics.store import connect as db
from opsg_metrics.store import text
from opsg_metrics.store.errors import OpsgError

from .conftest import REPO, load_text, read_marked_csv, run_cli, snapshot

BAD = "\uffff\x0b\x85\ufdd0"


# ------------------------------------------------------------------ renderers


def _spec(title: str) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title,
        "data": {"values": [{"x": 1, "note": title}]},
        "mark": "point",
        "encoding": {"x": {"field": "x"}, "tooltip": {"field": "note"}},
    }


@pytest.mark.parametrize("fmt", renderer.FORMATS)
def test_text_that_cannot_be_printed_never_reaches_vl_convert(fmt):
    out = renderer.render(_spec(f"a{BAD}b"), fmt)
    assert out[:4] in (b"\x89PNG", b"%PDF", b"<svg")
    if fmt == "svg":
        assert text.first_unprintable(out.decode("utf-8")) is None and text.REPLACEMENT in out.decode("utf-8")


def test_a_renderer_that_dies_is_an_error_message_and_the_next_chart_still_draws():
    raw = json.dumps(_spec("dies\uffff"), ensure_ascii=False)  # bypasses the check, as a defect would
    with pytest.raises(OpsgError, match=r"the renderer stopped unexpectedly \(it ended with signal 6\)"):
        renderer._POOL.draw(raw, "svg", renderer.PNG_PPI)
    assert renderer.render(_spec("after"), "svg").startswith(b"<svg")


def test_a_spec_vl_convert_refuses_is_an_error_message():
    with pytest.raises(OpsgError, match="the chart could not be drawn"):
        renderer.render({"mark": "no such mark", "data": {"values": []}}, "svg")


def test_many_charts_draw_in_order_in_parallel():
    titles = [f"chart {i}" for i in range(7)]
    svgs = list(renderer.render_many([_spec(t) for t in titles], "svg"))
    assert [re.search(r"chart \d", s.decode()).group() for s in svgs] == titles


@pytest.fixture
def poisoned(sample_db_path, tmp_path):
    """The sample with text that cannot be printed written straight into the database (as a file loaded
    before the rule, or a defect, would leave it): an annotation, a note, an incident title, a source."""
    path = tmp_path / "poisoned.duckdb"
    path.write_bytes(Path(sample_db_path).read_bytes())
    con = db.connect(path)
    con.execute(f"UPDATE annotations SET text = text || '{BAD}'")
    con.execute(f"UPDATE measure_values SET note = 'bad{BAD}note' WHERE month = DATE '2020-04-01'")
    con.execute(f"UPDATE incidents SET title = title || '{BAD}'")
    con.execute(f"UPDATE sources SET label = label || '{BAD}' WHERE kind = 'measures'")
    con.close()
    return path


@pytest.mark.parametrize("fmt", renderer.FORMATS)
def test_charts_of_poisoned_data_export(poisoned, fmt):
    con = db.connect(poisoned, read_only=True)
    view = views.trend_view(con, "CPM1", ["DCC", "CSP C&S"], date(2019, 1, 1), date(2020, 4, 1))
    name, content = export.export_view(view, fmt)
    con.close()
    assert content[:4] in (b"\x89PNG", b"%PDF", b"<svg")
    if fmt == "svg":
        assert text.first_unprintable(content.decode()) is None


@pytest.mark.parametrize("fmt", ["docx", "html", "md"])
def test_the_summary_of_poisoned_data_is_written(poisoned, fmt):
    con = db.connect(poisoned, read_only=True)
    name, content, _ = build.summary_document(con, date(2020, 4, 1), fmt)
    con.close()
    if fmt == "docx":
        document = docx.Document(io.BytesIO(content))
        body = "\n".join(p.text for p in document.paragraphs)
        assert text.REPLACEMENT in body and text.first_unprintable(body) is None
    else:
        assert text.first_unprintable(content.decode()) is None and text.REPLACEMENT in content.decode()


def test_the_month_pack_of_poisoned_data_is_written_by_the_command_line(poisoned, tmp_path):
    code, out, err = run_cli(
        "--db",
        poisoned,
        "export-charts",
        "--month",
        "2020-04",
        "--out",
        tmp_path / "pack",
        "--format",
        "svg",
        "--measure",
        "CPM1",
    )
    assert code == 0, err
    marking, rows = read_marked_csv((tmp_path / "pack" / "manifest.csv").read_bytes())
    assert len(rows) == 3 and all(text.first_unprintable(r["sources"]) is None for r in rows)


# ------------------------------------------------------------------ 5. every CSV neutralised and marked


def test_the_manifest_is_neutralised_and_marked(catalogue_db):
    load_text(
        catalogue_db,
        "month,measure,provider,value\n2020-04,CPM1,DCC,97\n",
        "a.csv",
        source='=HYPERLINK("http://x","click")',
        classification="green",
    )
    name, content, entries = export.month_pack(catalogue_db, date(2020, 4, 1), "svg")
    with zipfile.ZipFile(io.BytesIO(content)) as pack:
        marking, rows = read_marked_csv(pack.read("manifest.csv"))
    assert marking == "Classification: GREEN"
    assert rows[0]["sources"].startswith("'=HYPERLINK")


def test_tables_offer_no_download_of_their_own():
    config = (REPO / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^\s*disableDataExport\s*=\s*true\s*$", config, re.M)
    assert 'st.set_option("client.disableDataExport", True)' in (REPO / "app.py").read_text()


def test_every_csv_is_written_by_the_one_neutralising_writer():
    """No module or page writes CSV but export.csv_bytes (the sample generator writes the sample's files)."""
    writers = []
    for path in list((REPO / "opsg_metrics").rglob("*.py")) + list((REPO / "pages").glob("*.py")) + [REPO / "app.py"]:
        source = path.read_text()
        for pattern in (r"\.to_csv\(", r"csv\.writer\(", r"csv\.DictWriter\(", r'mime="text/csv"'):
            for _ in re.finditer(pattern, source):
                writers.append(f"{path.relative_to(REPO)}: {pattern}")
    assert sorted(writers) == [
        'opsg_metrics/app/ui.py: mime="text/csv"',
        "opsg_metrics/render/csv.py: \\.to_csv\\(",
        "opsg_metrics/sample.py: csv\\.writer\\(",
    ]


# ------------------------------------------------------------------ 6. marking from exactly the rows used

MONTHS = """\
month,measure,provider,value
{month},CPM1,DCC,{value}
{month},CPM2,DCC,99.5
"""
OPS = """\
month,metric,provider,value,unit
{month},installations,CSP N,{value},count
"""
ALERTS = """\
month,alert_code,provider,volume
{month},8F3E,CSP N,{value}
"""


def _two_months(con, earlier: str, later: str = "white", *, kinds=("measures", "ops", "alerts")):
    for month, value, marking in (("2020-03", 1, earlier), ("2020-04", 2, later)):
        if "measures" in kinds:
            load_text(con, MONTHS.format(month=month, value=96 + value), f"pmr-{month}.csv", classification=marking)
        if "ops" in kinds:
            load_text(con, OPS.format(month=month, value=1000 * value), f"ops-{month}.csv", classification=marking)
        if "alerts" in kinds:
            load_text(con, ALERTS.format(month=month, value=10 * value), f"alerts-{month}.csv", classification=marking)


@pytest.mark.parametrize("kind", ["measures", "ops", "alerts"])
def test_the_summary_is_marked_by_the_previous_months_rows_it_uses(catalogue_db, kind):
    """Changes on the previous month (figures, installation growth, alert change) use its rows."""
    _two_months(catalogue_db, "amber", kinds=("measures", kind) if kind != "measures" else ("measures",))
    if kind != "measures":
        catalogue_db.execute("UPDATE sources SET classification = 'white' WHERE label = 'pmr-2020-03.csv'")
    built = summary.build_summary(catalogue_db, date(2020, 4, 1))
    assert built.classification == "amber"
    name, content, marking = build.summary_document(catalogue_db, date(2020, 4, 1), "md")
    assert marking == "amber" and "Classification: AMBER" in content.decode()


def test_the_summary_is_not_marked_by_rows_it_does_not_use(catalogue_db):
    _two_months(catalogue_db, "white")
    load_text(
        catalogue_db,
        "month,metric,provider,value,unit\n2020-02,installations,CSP S,5,count\n",
        "old.csv",
        classification="red",
    )  # two months back: not compared with
    assert summary.build_summary(catalogue_db, date(2020, 4, 1)).classification == "white"


def test_the_command_line_gate_uses_the_same_rows_as_the_marking(tmp_path):
    path = tmp_path / "x.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    _two_months(con, "amber", kinds=("measures", "ops"))
    con.execute("UPDATE sources SET classification = 'white' WHERE label LIKE 'pmr-%'")
    con.close()
    code, out, err = run_cli("--db", path, "summary", "--month", "2020-04")
    assert code == 1 and "classified AMBER" in err and out == ""
    code, out, err = run_cli("--db", path, "summary", "--month", "2020-04", "--allow-restricted", check=0)
    assert "Classification: AMBER" in out


def test_two_sources_with_one_label_are_told_apart_by_id(catalogue_db):
    load_text(catalogue_db, "month,measure,provider,value\n2020-04,CPM1,DCC,97\n", "a.csv", source="PMR April 2020")
    load_text(
        catalogue_db,
        "month,measure,provider,value\n2019-01,PM2,CSP N,50\n",
        "b.csv",
        source="PMR April 2020",
        classification="amber",
    )
    view = views.trend_view(catalogue_db, "CPM1", ["DCC"], date(2020, 1, 1), date(2020, 4, 1))
    assert view.provenance.classification == "white"
    charts = export.pack_charts(catalogue_db, date(2020, 4, 1), "svg", measure="CPM1")
    assert export.pack_classification(charts) == "white"
    export.check_restricted(export.pack_classification(charts), False)  # the gate agrees: no refusal


def test_a_word_summary_is_marked_by_what_its_charts_draw(catalogue_db):
    """Word and HTML draw the 24 months to the month: an AMBER major incident a year back marks them (it is on
    the chart of the miss), not Markdown (which states only the month's incidents)."""
    load_text(
        catalogue_db,
        "incident_id,opened,resolved,category,provider,major,title\n"
        "INC7,2019-05-02 10:00,2019-05-02 11:00,2,DSP,true,slow responses\n",
        "old.csv",
        classification="amber",
    )
    load_text(catalogue_db, "month,measure,provider,value\n2020-03,CPM1,DCC,95\n2020-04,CPM1,DCC,96\n", "new.csv")
    assert build.summary_document(catalogue_db, date(2020, 4, 1), "md")[2] == "white"
    assert build.summary_document(catalogue_db, date(2020, 4, 1), "html")[2] == "amber"
    name, content, marking = build.summary_document(catalogue_db, date(2020, 4, 1), "docx")
    assert marking == "amber" and name.endswith("-amber.docx")


def test_a_restricted_figure_a_run_rests_on_marks_the_summary_and_the_chart(catalogue_db):
    """The hostile-input review's case: a RED figure from long ago changes the run stated ("since ..."), so
    the summary and the month's charts are RED, and the command line gate refuses them."""
    load_text(catalogue_db, "month,measure,provider,value\n2018-06,CPM1,DCC,97\n", "red.csv", classification="red")
    load_text(catalogue_db, "month,measure,provider,value\n2018-09,CPM1,DCC,97\n2020-04,CPM1,DCC,96\n", "new.csv")
    built = summary.build_summary(catalogue_db, date(2020, 4, 1))
    assert any("since June 2018" in f.text for f in built.findings)
    assert built.classification == "red"
    charts = export.pack_charts(catalogue_db, date(2020, 4, 1), "svg", measure="CPM1")
    assert export.pack_classification(charts) == "red"  # the chart's subtitle states the same run


# ------------------------------------------------------------------ 7. the surroundings


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "opsg.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    load_text(con, "month,measure,provider,value\n2020-04,CPM1,DCC,97\n", "a.csv")
    con.close()
    return path


def test_a_damaged_database_file_is_called_damaged_not_in_use(db_file):
    raw = db_file.read_bytes()
    db_file.write_bytes(raw[:8192] + b"\0" * 65536 + raw[8192 + 65536 :])
    for args in (
        ("status", "--month", "2020-04"),
        ("summary", "--month", "2020-04"),
        ("ingest", str(db_file.parent / "x.csv")),
    ):
        code, out, err = run_cli("--db", db_file, *args)
        assert code == 1 and "the database file is damaged" in err and "in use" not in err, err
        assert str(db_file) in err and "Traceback" not in err


def test_a_database_in_use_by_another_process_says_so(db_file):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db_file)!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code, out, err = run_cli("--db", db_file, "status", "--month", "2020-04")
        assert code == 1 and "the database is in use by another process" in err
    finally:
        holder.kill()
        holder.wait()


def test_a_full_disk_says_so_and_keeps_the_database_as_it_was(db_file, tmp_path):
    """The write-ahead log on /dev/full: every write to it fails with ENOSPC, as on a full disk."""
    con = db.connect(db_file)
    before = snapshot(con)
    wal = Path(str(db_file) + ".wal")
    assert not wal.exists()
    wal.symlink_to("/dev/full")
    try:
        with pytest.raises(OpsgError) as caught:
            ingest_bytes(con, b"month,measure,provider,value\n2020-05,CPM1,DCC,98\n", "may.csv")
        assert str(caught.value) == (
            f"{db_file}: the disk is full. Nothing was loaded; the database is as it was. "
            "Free some space and try again."
        )
    finally:
        con.close()
        wal.unlink()
    reopened = db.connect(db_file)
    assert snapshot(reopened) == before
    assert ingest_bytes(reopened, b"month,measure,provider,value\n2020-05,CPM1,DCC,98\n", "may.csv").outcome == "loaded"
    reopened.close()


def test_the_command_line_says_the_disk_is_full(db_file, tmp_path):
    (tmp_path / "may.csv").write_bytes(b"month,measure,provider,value\n2020-05,CPM1,DCC,98\n")
    script = (
        f"import os, sys; sys.path.insert(0, {str(REPO)!r}); from opsg_metrics import cli; from opsg_metrics.store import connect as db; "
        f"con = db.connect({str(db_file)!r}); con.close(); os.symlink('/dev/full', {str(db_file) + '.wal'!r}); "
        f"sys.exit(cli.main(['--db', {str(db_file)!r}, 'ingest', {str(tmp_path / 'may.csv')!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    os.unlink(str(db_file) + ".wal")
    assert proc.returncode == 1 and "the disk is full" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_foreign_duckdb_file_is_refused_before_anything_is_written(tmp_path):
    import duckdb

    path = tmp_path / "theirs.duckdb"
    theirs = duckdb.connect(str(path))
    theirs.execute("CREATE TABLE orders (id INTEGER, total DOUBLE)")
    theirs.execute("INSERT INTO orders VALUES (1, 9.5)")
    theirs.close()
    before = path.read_bytes()
    for args in (("init",), ("status", "--month", "2020-04"), ("ingest", str(tmp_path / "x.csv"))):
        code, out, err = run_cli("--db", path, *args)
        assert code == 1 and "belongs to another program" in err, (args, err)
    check = duckdb.connect(str(path), read_only=True)
    assert check.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("orders",)]
    check.close()
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "where, words",
    [
        ("missing/summary.md", "does not exist; create it first"),
        (".", "is a folder; give a file name"),
        ("a-file/summary.md", "is a file, not a folder"),
        ("/proc/opsg-summary.md", "cannot write the file"),
    ],
)
def test_bad_summary_output_paths_are_errors(sample_db_path, tmp_path, where, words):
    (tmp_path / "a-file").write_text("x")
    target = where if where.startswith("/") else str(tmp_path / where)
    code, out, err = run_cli("--db", sample_db_path, "summary", "--month", "2020-04", "-o", target)
    assert code == 1 and words in err and err.startswith("error: ") and "Traceback" not in err, err


@pytest.mark.parametrize(
    "where, words",
    [
        ("a-file", "is a file, not a folder"),
        ("/proc/opsg-charts", "cannot create the folder"),
    ],
)
def test_bad_chart_folders_are_errors(sample_db_path, tmp_path, where, words):
    (tmp_path / "a-file").write_text("x")
    target = where if where.startswith("/") else str(tmp_path / where)
    code, out, err = run_cli(
        "--db", sample_db_path, "export-charts", "--month", "2020-04", "--measure", "CPM1", "--out", target
    )
    assert code == 1 and words in err and "Traceback" not in err, err


def test_an_unforeseen_error_is_one_line_not_a_traceback(sample_db_path, monkeypatch):
    from opsg_metrics import cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setitem(cli.COMMANDS, "status", broken)
    code, out, err = run_cli("--db", sample_db_path, "status", "--month", "2020-04")
    assert code == 1 and err.startswith("error: internal error (KeyError") and "Traceback" not in err


# ------------------------------------------------------------------ found by a second hostile reading


def test_an_output_path_that_is_a_database_is_refused(db_file, tmp_path):
    before = db_file.read_bytes()
    link = tmp_path / "link.md"
    link.symlink_to(db_file)
    other = tmp_path / "other.duckdb"
    other.write_bytes(before)
    for target in (db_file, link, other):
        code, out, err = run_cli("--db", db_file, "summary", "--month", "2020-04", "-o", target)
        assert code == 1 and "this is a database file; writing here would destroy it" in err, err
    assert db_file.read_bytes() == before


def test_a_pipe_as_the_database_or_the_output_is_refused_not_waited_on(db_file, tmp_path):
    pipe = tmp_path / "pipe.duckdb"
    os.mkfifo(pipe)
    for args in (
        ("--db", pipe, "status", "--month", "2020-04"),
        ("--db", pipe, "init"),
        ("--db", db_file, "summary", "--month", "2020-04", "-o", pipe),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "opsg_metrics", *map(str, args)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1 and ("pipe" in proc.stderr), proc.stderr


def test_a_chart_file_in_the_way_is_replaced_whole(sample_db_path, tmp_path):
    out = tmp_path / "charts"
    out.mkdir()
    os.mkfifo(out / "2020-04_CPM1_DCC.svg")
    code, _, err = run_cli(
        "--db",
        sample_db_path,
        "export-charts",
        "--month",
        "2020-04",
        "--measure",
        "CPM1",
        "--out",
        out,
        "--format",
        "svg",
    )
    assert code == 0, err
    assert (out / "2020-04_CPM1_DCC.svg").is_file() and (out / "2020-04_CPM1_DCC.svg").read_bytes().startswith(b"<svg")
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]


def test_a_line_break_in_a_title_never_forges_a_line_in_word(catalogue_db):
    load_text(catalogue_db, "month,measure,provider,value\n2021-12,CPM1,DCC,96\n", "pmr.csv")
    load_text(
        catalogue_db,
        "incident_id,opened,resolved,category,provider,major,title\n"
        'INCNL1,2021-12-03 10:00,2021-12-04 10:00,1,DCC,true,"Outage\n\nClassification: WHITE '
        '(may be published)."\n',
        "inc.csv",
        classification="red",
    )
    name, content, marking = build.summary_document(catalogue_db, date(2021, 12, 1), "docx", charts=False)
    document = docx.Document(io.BytesIO(content))
    lines = [line for p in document.paragraphs for line in p.text.split("\n")]
    assert marking == "red"
    assert not any(line.startswith("Classification: WHITE") for line in lines), lines
    assert "<w:br/>" not in zipfile.ZipFile(io.BytesIO(content)).read("word/document.xml").decode()


def test_a_chart_of_figures_too_large_to_scale_still_draws(catalogue_db):
    """Figures are bounded at ingest; a database written before that (or by hand) still exports."""
    load_text(
        catalogue_db,
        "measure,provider,name,unit,direction,target,minimum,effective_from\n"
        "HUGE,DCC,Huge count,count,higher,1000,10,2018-01\n",
        "cat.csv",
        kind="catalogue",
    )
    load_text(catalogue_db, "month,measure,provider,value\n2021-11,HUGE,DCC,5\n2021-12,HUGE,DCC,6\n", "h.csv")
    catalogue_db.execute("UPDATE measure_values SET value = 1.7976931348623157e308 WHERE month = DATE '2021-12-01'")
    view = views.trend_view(catalogue_db, "HUGE", ["DCC"], date(2021, 1, 1), date(2021, 12, 1))
    assert export.export_view(view, "svg")[1].startswith(b"<svg")


def test_a_chart_that_takes_too_long_is_stopped_with_a_message(monkeypatch, tmp_path):
    slow = tmp_path / "slow_worker.py"
    slow.write_text("import sys, time\nsys.stdin.buffer.read(4)\ntime.sleep(600)\n")
    pool = renderer._Pool()
    monkeypatch.setattr(renderer, "WORKER_SCRIPT", slow)
    monkeypatch.setattr(renderer, "TIMEOUT_SECONDS", 2)
    with pytest.raises(OpsgError, match=r"took longer than 2 s"):
        pool.draw(renderer.spec_json(_spec("slow")), "svg", renderer.PNG_PPI)
    pool.shutdown()
