"""Team deployment (issue 21): the app and the command line on one data folder at once, several app
processes, writers waiting for one another, a crash at any point, the health endpoint and a damaged
snapshot. The app serves a published read-only snapshot (store/snapshots.py, docs/architecture.md)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from opsg_metrics.app import preflight
from opsg_metrics.store import connect as db
from opsg_metrics.store import snapshots

from .conftest import REPO, cli, running_app

NEW_MONTH = "month,measure,provider,value\n2022-01,CPM1,DCC,99.41\n2022-01,CPM2,DCC,99.50\n"
SERVER = REPO / "opsg_metrics" / "app" / "server.py"


@pytest.fixture
def folder(sample_db_path, tmp_path) -> Path:
    """A data folder of its own: a copy of the sample database, published once."""
    path = tmp_path / "data" / "opsg.duckdb"
    path.parent.mkdir()
    shutil.copy(sample_db_path, path)
    snapshots.ensure_published(path)
    return path


def _latest_month(con) -> str:
    return str(con.execute("SELECT max(month) FROM current_measure_values").fetchall()[0][0])


def _state(con) -> tuple:
    return tuple(
        con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        for table in ("measure_values", "sources", "ingest_log", "alerts")
    )


# ------------------------------------------------------------------ the snapshot rules


def test_a_write_publishes_and_readers_hold_their_snapshot_until_they_let_go(folder, tmp_path):
    con, first = snapshots.reader(folder)
    assert _latest_month(con) == "2021-12-01"
    (tmp_path / "new.csv").write_text(NEW_MONTH)
    for n in range(3):  # three more writes: three more snapshots
        month = f"2022-0{n + 1}"
        (tmp_path / f"m{n}.csv").write_text(NEW_MONTH.replace("2022-01", month))
        cli("--db", folder, "ingest", tmp_path / f"m{n}.csv", check=0)
    newest = snapshots.current(folder)
    assert newest.number == first.number + 3
    assert first.path.exists()  # held by the reader above: not removed
    assert _latest_month(con) == "2021-12-01"  # a reader sees its snapshot whole, as it was
    names = sorted(p.name for p in snapshots.folder_of(folder).glob("snapshot-*.duckdb"))
    assert len(names) == 3  # the held one and the newest two
    con.close()
    del con
    import gc

    gc.collect()
    cli("--db", folder, "ingest", tmp_path / "new.csv", check=0)  # nothing new, still a publish
    assert not first.path.exists()
    fresh, published = snapshots.reader(folder)
    assert _latest_month(fresh) == "2022-03-01" and published.path == snapshots.current(folder).path


class SlowWriter:
    """Another writer holding the folder's write lock (in a thread) until it is let go."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.held, self.done = folder, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._write)

    def _write(self) -> None:
        with snapshots.writing(self.folder, publish_after=False):
            self.held.set()
            self.done.wait(timeout=60)

    def __enter__(self) -> SlowWriter:
        self.thread.start()
        self.held.wait(timeout=30)
        return self

    def __exit__(self, *_exc) -> None:
        self.done.set()
        self.thread.join(timeout=30)


def test_writers_wait_for_one_another_for_a_bounded_time(folder):
    with SlowWriter(folder) as other:
        _refused_then_written(other, folder)


def _refused_then_written(other: SlowWriter, folder: Path) -> None:
    started = time.monotonic()
    with pytest.raises(snapshots.WriteInProgress, match=r"another write is in progress .* waited 1 s"):
        with snapshots.writing(folder, wait=1.0):
            pass
    assert 0.9 <= time.monotonic() - started < 5
    threading.Timer(0.5, other.done.set).start()
    with snapshots.writing(folder, wait=20.0) as con:  # waits for the first, then writes
        assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_the_cli_says_when_a_write_waited_too_long(folder, tmp_path):
    (tmp_path / "new.csv").write_text(NEW_MONTH)
    env = {**os.environ, "OPSG_WRITE_WAIT": "1"}
    with SlowWriter(folder):
        proc = subprocess.run(
            [sys.executable, "-m", "opsg_metrics", "--db", str(folder), "ingest", str(tmp_path / "new.csv")],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1 and "another write is in progress" in proc.stderr and "Traceback" not in proc.stderr
    status = cli("--db", folder, "status", "--month", "2021-12", "--measure", "CPM1", check=0)  # reads never wait
    assert "CPM1" in status.stdout


def test_a_missing_snapshot_folder_is_published_again_and_a_foreign_file_is_refused(folder, tmp_path):
    shutil.rmtree(snapshots.folder_of(folder))
    con, published = snapshots.reader(folder)
    assert published.number == 1 and _latest_month(con) == "2021-12-01"
    con.close()
    foreign = tmp_path / "notes.csv"
    foreign.write_text("month,measure\n2020-04,CPM1\n")
    proc = cli("--db", foreign, "status", "--month", "2020-04", check=1)
    assert "not an OPSG Metrics database" in proc.stderr
    older = tmp_path / "old.duckdb"
    shutil.copy(folder, older)
    with db.connect(older) as raw:
        raw.execute(f"DELETE FROM schema_migrations WHERE version = {db.SCHEMA_VERSION}")
    proc = cli("--db", older, "status", "--month", "2020-04", check=1)
    assert "older than this OPSG Metrics" in proc.stderr and "init" in proc.stderr


CHILD = """
import runpy, sys
from opsg_metrics.store import snapshots
original = snapshots.publish
def marked(db=None):
    print("MARK publishing", flush=True)
    found = original(db)
    print("MARK published", flush=True)
    return found
snapshots.publish = marked
sys.argv = ["opsg_metrics", *sys.argv[1:]]
runpy.run_module("opsg_metrics", run_name="__main__")
"""


def test_a_crash_at_any_point_leaves_the_working_database_and_the_snapshot_whole(folder, tmp_path):
    """`ingest` of a 20,000-row alerts file killed with SIGKILL at seeded moments (some while it
    publishes): the working database holds the state before or after the load, the published snapshot
    opens and holds before or after, and the next reader publishes what the working database holds."""
    rows = ["month,alert_code,provider,volume"] + [
        f"{2000 + i // 1200}-{1 + i // 100 % 12:02d},{0x8000 + i % 100:04X},CSP N,{i}" for i in range(20_000)
    ]
    big = tmp_path / "alerts.csv"
    big.write_text("\n".join(rows) + "\n")
    base = tmp_path / "base.duckdb"
    shutil.copy(folder, base)
    before = _state(snapshots.reader(folder)[0])
    rng = random.Random(21)
    phases = []
    for trial in range(6):
        path = tmp_path / f"t{trial}" / "opsg.duckdb"
        path.parent.mkdir()
        shutil.copy(base, path)
        snapshots.ensure_published(path)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, "--db", str(path), "ingest", str(big)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if trial % 2:  # aimed at the publish
            for line in child.stdout:
                if line.startswith("MARK publishing"):
                    time.sleep(rng.random() * 0.05)
                    break
        else:
            time.sleep(0.5 + rng.random() * 3.0)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        published = snapshots.current(path)
        with db.connect(published.path, read_only=True) as snap:
            shown = _state(snap)
        working_con = db.connect(path)
        try:
            working = _state(working_con)
        finally:
            working_con.close()
        after = (before[0], before[1] + 1, before[2] + 1, before[3] + 20_000)
        assert working in (before, after), (trial, working)
        assert shown in (before, after), (trial, shown)
        con, again = snapshots.reader(path)  # the next reader publishes what the working database holds
        assert _state(con) == working
        con.close()
        phases.append((working == after, shown == after))
    assert any(w and not s for w, s in phases) or any(not w for w, _ in phases)  # some kills landed mid-way


# ------------------------------------------------------------------ the app and the command line together


def _page_shows(page, url: str, text: str, seconds: float) -> float:
    """Reload until the page shows `text`; how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        page.goto(url, wait_until="domcontentloaded")
        try:
            page.get_by_text(text).first.wait_for(timeout=2_000)
            return time.monotonic() - started
        except Exception:  # noqa: BLE001 - not yet: reload
            continue
    raise AssertionError(f"{url} did not show {text!r} within {seconds} s")


@pytest.mark.browser
def test_two_app_servers_and_the_command_line_share_one_folder(folder, tmp_path, browser):
    (tmp_path / "new.csv").write_text(NEW_MONTH)
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    with running_app(folder, log=logs[0]) as one, running_app(folder, script=SERVER, log=logs[1]) as two:
        pages = [browser.new_page(viewport={"width": 1400, "height": 900}) for _ in range(2)]
        for page, url in zip(pages, (one, two)):
            page.goto(f"{url}/?month=2021-12", wait_until="domcontentloaded")
            page.get_by_text("Latest PMR month:").first.wait_for(timeout=60_000)
            assert page.get_by_text("December 2021").first.is_visible()
        # The read-only commands and a load, while both serve (the app held the file read-write before).
        cli("--db", folder, "status", "--month", "2021-12", check=0)
        cli("--db", folder, "summary", "--month", "2021-12", "--format", "md", check=0)
        cli(
            "--db", folder, "export-charts", "--month", "2021-12", "--measure", "CPM1", "--out", tmp_path / "p", check=0
        )
        loaded = cli("--db", folder, "ingest", tmp_path / "new.csv", check=0)
        assert " loaded " in loaded.stdout
        took = [_page_shows(page, f"{url}/?month=2022-01", "January 2022", 5.0) for page, url in zip(pages, (one, two))]
        assert all(t < 5.0 for t in took)
        health = json.load(urllib.request.urlopen(f"{two}/healthz", timeout=10))
        assert health["status"] == "ok" and health["snapshot"] == snapshots.current(folder).path.name
        for page in pages:
            page.close()
    for log in logs:
        text = log.read_text(encoding="utf-8")
        assert "Traceback" not in text and " 500 " not in text, text[-2000:]
    assert " GET /healthz 200 " in logs[1].read_text(encoding="utf-8")  # a line per request


@pytest.mark.browser
def test_a_damaged_or_newer_snapshot_keeps_the_last_good_one_served(folder, tmp_path, browser):
    published = snapshots.current(folder)
    damaged = snapshots.folder_of(folder) / f"snapshot-{published.number + 1}.duckdb"
    damaged.write_bytes(published.path.read_bytes()[:4096] + b"\x00" * 8192)  # a torn copy
    snapshots._name(folder, damaged.name, published.number + 1, "2030-01-01T00:00:00")
    with running_app(folder, script=SERVER, log=tmp_path / "s.log") as url:
        health = json.load(urllib.request.urlopen(f"{url}/healthz", timeout=30))
        assert health["status"] == "degraded" and health["snapshot"] == published.path.name
        assert health["newest"] == damaged.name and "cannot be read" in health["warning"]
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/", wait_until="domcontentloaded")
        page.get_by_text("cannot be read").first.wait_for(timeout=60_000)
        assert page.get_by_text("Latest PMR month:").first.is_visible()
        page.close()
    # Nothing to fall back on: a clear page, never a traceback.
    for old in snapshots.folder_of(folder).glob("snapshot-*.duckdb"):
        if old != damaged:
            old.unlink()
    with running_app(folder, script=SERVER, log=tmp_path / "s2.log") as url:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=30)
            raise AssertionError("the health endpoint said ok with no readable snapshot")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and json.load(exc)["status"] == "unavailable"
        page = browser.new_page()
        page.goto(f"{url}/", wait_until="domcontentloaded")
        page.get_by_text("cannot be read").first.wait_for(timeout=60_000)
        assert page.get_by_text("Traceback").count() == 0
        page.close()


def test_make_serve_refuses_local_mode(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("")
    assert preflight.main(["--serve", str(secrets)]) == 1
    assert preflight.main([str(secrets)]) == 0


def test_backup_and_restore_while_a_reader_serves(folder, tmp_path):
    """What docs/deploy.md says: back up the working database while the app serves, restore it, and every
    reader moves to the restored data; a file that is no backup is refused and nothing is replaced."""
    reader, _ = snapshots.reader(folder)  # as the app holds it
    backup = tmp_path / "backup.duckdb"
    done = cli("--db", folder, "backup", backup, check=0)
    assert "Backed up" in done.stdout
    (tmp_path / "new.csv").write_text(NEW_MONTH)
    cli("--db", folder, "ingest", tmp_path / "new.csv", check=0)
    assert _latest_month(snapshots.reader(folder)[0]) == "2022-01-01"
    restored = cli("--db", folder, "restore", backup, check=0)
    assert "Restored" in restored.stdout
    assert _latest_month(snapshots.reader(folder)[0]) == "2021-12-01"
    assert _latest_month(reader) == "2021-12-01"  # the old reader kept its own snapshot, whole
    before = (folder.read_bytes()[:0], snapshots.current(folder).number)
    junk = tmp_path / "junk.duckdb"
    junk.write_text("month,measure\n")
    refused = cli("--db", folder, "restore", junk, check=1)
    assert "not a backup that can be restored" in refused.stderr and str(folder) not in refused.stderr.split(":")[0]
    assert snapshots.current(folder).number == before[1]
    assert cli("--db", folder, "backup", folder, check=1).stderr.count("writing here would destroy it") == 1


def test_a_snapshot_of_a_newer_schema_is_said_and_the_last_good_one_served(folder):
    from opsg_metrics.app import serving

    good = snapshots.current(folder)
    newer = snapshots.folder_of(folder) / f"snapshot-{good.number + 1}.duckdb"
    shutil.copy(good.path, newer)
    with db.connect(newer) as raw:  # as a newer OPSG Metrics would publish it
        raw.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'from_the_future')")
    snapshots._name(folder, newer.name, good.number + 1, "2030-01-01T00:00:00", os.stat(folder))
    said = serving.health(folder)
    assert said["status"] == "degraded" and said["snapshot"] == good.path.name and said["newest"] == newer.name
    assert "newer than this OPSG Metrics" in said["warning"] and said["readable"] is True
