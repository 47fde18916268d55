"""Proof that nothing is lost (issue 6): a crash test and a concurrency test.

* Crash: the command `python -m opsg_metrics --db COPY ingest BIG.csv` (its main() in a process of its
  own, with markers printed as the load passes validation and its commit) killed with SIGKILL at random
  moments; the copy is then opened as the next command would open it (read-write: DuckDB replays the
  write-ahead log the killed process left) and must hold exactly the state before the load or the state
  after it, never anything between.
* Concurrency: one read-write connection shared by the process (as the app holds it, a cursor per query);
  readers in threads while a writer thread loads the same large file through its own cursor. Every read
  must see the data before the load or after it, never a mix.

Both tests print their figures (run with -s) and leave them in FIGURES for the README's reliability
section.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opsg_metrics.ingest import bootstrap
from opsg_metrics.ingest import load as ingest
from opsg_metrics.ingest import stage as ingest_stage
from opsg_metrics.ingest.load import ingest_bytes, ingest_file
from opsg_metrics.store import connect as db

REPO = Path(__file__).resolve().parent.parent

# Two large alerts files. Under one DuckDB row group (122,880 rows) a load reaches the database file
# through the write-ahead log at its commit; over one, DuckDB may write full row groups straight into
# the database file before the commit ("optimistic write") and the rest through the log. The command
# takes about 2 s and 3.5 s on a 2-core machine, most of it reading and validating the file in Python.
CRASH_FILES = {"wal": 60_000, "rowgroup": 125_000}
BIG_ROWS = CRASH_FILES["rowgroup"]  # the load the concurrency test runs
BIG_MONTHS = 120
PROVIDERS = ("CSP N", "CSP C", "CSP S")
# (file, where the kill is aimed, trials): "anywhere" from the start of the command, "writing" from the
# end of its validation, "closing" from its commit (the close that checkpoints the log into the file).
CRASH_PLAN = (("wal", "anywhere", 6), ("wal", "writing", 7), ("wal", "closing", 3), ("rowgroup", "writing", 4))
CRASH_WORKERS = 2  # trials run two at a time
CRASH_SEED = 20240606
READERS = 10  # single-query reader threads, plus one reader using explicit transactions
MIN_MID_LOAD_KILLS = 3

FIGURES: dict[str, dict] = {}

# A little data besides the catalogue: two measure figures and alerts for the first two months of the
# big file, with other volumes, so that the big load revises some figures as well as adding new ones.
SMALL_MEASURES = b"month,measure,provider,value\n2019-01,CPM1,DCC,97\n2019-02,CPM1,DCC,98.5\n"
# Loaded after each crash trial's checks: the database takes the next load.
NEXT_LOAD = b"month,alert_code,provider,volume\n2026-01,8F3E,CSP N,5\n"


def _month(index: int) -> str:
    return f"{2012 + index // 12}-{index % 12 + 1:02d}"


def _small_alerts() -> bytes:
    lines = ["month,alert_code,provider,volume,devices,first_time_devices"]
    for m in range(2):
        for code in range(5):
            for provider in PROVIDERS:
                lines.append(f"{_month(m)},{0x8F00 + code:04X},{provider},{7 + code},3,1")
    return ("\n".join(lines) + "\n").encode()


def write_big_alerts(path: Path, rows: int = BIG_ROWS, seed: int = 1) -> None:
    """An alerts CSV: every month x code x provider, volumes drawn from a seeded generator."""
    rng = random.Random(seed)
    codes_per_month = -(-rows // (BIG_MONTHS * len(PROVIDERS)))
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["month", "alert_code", "provider", "volume", "devices", "first_time_devices"])
        for m in range(BIG_MONTHS):
            for code in range(codes_per_month):
                for provider in PROVIDERS:
                    if written == rows:
                        return
                    volume = rng.randint(0, 20_000)
                    devices = rng.randint(0, volume)
                    writer.writerow(
                        [_month(m), f"{0x8F00 + code:04X}", provider, volume, devices, rng.randint(0, devices)]
                    )
                    written += 1


def state(con) -> dict:
    """What a load changes: the row counts the issue names, plus a fingerprint of the alerts."""
    ((alerts, volume, sources, log, current, version),) = con.execute(
        "SELECT (SELECT count(*) FROM alerts), (SELECT coalesce(sum(volume), 0) FROM alerts),"
        " (SELECT count(*) FROM sources), (SELECT count(*) FROM ingest_log),"
        " (SELECT count(*) FROM current_alerts), (SELECT max(version) FROM schema_migrations)"
    ).fetchall()
    return {
        "alerts": alerts,
        "sources": sources,
        "ingest_log": log,
        "alert_volume": int(volume),
        "current_alerts": current,
        "schema_version": version,
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The base database (catalogue + a little data, checkpointed, no WAL) and the large alerts files."""
    folder = tmp_path_factory.mktemp("reliability")
    base = folder / "base.duckdb"
    con = db.connect(base)
    bootstrap.load_reference_data(con)
    for raw, name in ((SMALL_MEASURES, "pmr-small.csv"), (_small_alerts(), "alerts-small.csv")):
        result = ingest_bytes(con, raw, name)
        assert result.outcome == "loaded", result.problems
    con.close()
    assert not Path(f"{base}.wal").exists()
    paths = {"folder": folder, "base": base}
    for key, rows in CRASH_FILES.items():
        paths[key] = folder / f"alerts-{rows}.csv"
        write_big_alerts(paths[key], rows)
    paths["big"] = paths["rowgroup"]
    return paths


def fresh_copy(base: Path, path: Path) -> Path:
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(base, path)
    return path


# ---------------------------------------------------------------------------------------------- crash

# The command under test: the CLI's own main() with the argv of `python -m opsg_metrics --db COPY ingest
# FILE`, in a process of its own. Two functions the load goes through are wrapped to print a marker
# (flushed before the load goes on), so each kill is placed exactly: before the write (start-up,
# reading, validation), in the write transaction, after the commit (closing, checkpoint), or after exit.
COMMAND = """\
import sys
from opsg_metrics import cli
from opsg_metrics.ingest import load as ingest
from opsg_metrics.ingest import stage as ingest_stage
def mark(name):
    print("MARK", name, flush=True)
prepare, ingest_bytes = ingest.prepare, ingest.ingest_bytes
def marked_prepare(*args, **kwargs):
    result = prepare(*args, **kwargs)
    mark("validated")
    return result
def marked_ingest_bytes(*args, **kwargs):
    result = ingest_bytes(*args, **kwargs)
    mark("committed")
    return result
ingest.prepare, ingest.ingest_bytes = marked_prepare, marked_ingest_bytes
code = cli.main(sys.argv[1:])
mark("exited")
sys.exit(code)
"""

PHASES = ("before the write", "in the write transaction", "after commit, before exit", "after exit")


def child_env() -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("OPSG_DB", None)
    return env


class Child:
    """The ingest command in its own process, with the time each marker arrived."""

    def __init__(self, db_path: Path, csv_path: Path):
        self.marks: dict[str, float] = {}
        self.output: list[str] = []
        self.seen = {name: threading.Event() for name in ("validated", "committed", "exited")}
        self.started = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-c", COMMAND, "--db", str(db_path), "ingest", str(csv_path)],
            cwd=REPO,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("MARK "):
                name = line.split()[1]
                self.marks[name] = time.time() - self.started
                self.seen[name].set()
            else:
                self.output.append(line)

    def finish(self, timeout: float = 240) -> tuple[int, str]:
        """Wait for the exit; every marker printed before it has been read when this returns."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.reader.join(timeout=30)
        return self.process.returncode, self.process.stderr.read()


def calibrate(files, key: str) -> dict:
    """Run the load to completion on a copy: the completed state and when its phases fall."""
    path = fresh_copy(files["base"], files["folder"] / f"completed-{key}.duckdb")
    child = Child(path, files[key])
    code, stderr = child.finish()
    assert code == 0, stderr
    assert set(child.marks) == {"validated", "committed", "exited"}, (child.marks, child.output)
    assert any(" loaded " in line for line in child.output), child.output
    con = db.connect(path)
    completed = state(con)
    con.close()
    return {"completed": completed, "wall": time.time() - child.started, **child.marks}


def crash_trial(files, trial: dict, calibration: dict) -> dict:
    """Start the command, SIGKILL it at the drawn moment, then reopen the copy and check it."""
    path = fresh_copy(files["base"], files["folder"] / f"trial-{trial['number']:02d}.duckdb")
    child = Child(path, files[trial["file"]])
    if trial["aim"] == "anywhere":  # from the start of the command
        kill_at = child.started + trial["delay"]
    else:  # from the end of validation, or from the commit
        marker = child.seen["validated" if trial["aim"] == "writing" else "committed"]
        while not marker.wait(timeout=0.01) and child.process.poll() is None:
            pass
        kill_at = time.time() + trial["delay"]
    while child.process.poll() is None and time.time() < kill_at:
        time.sleep(0.001)
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGKILL)  # not yet waited for, so the pid is still the child's
    code, stderr = child.finish()
    if code == 0:
        phase = "after exit"
    elif code != -signal.SIGKILL:
        raise AssertionError(f"the ingest command failed by itself (exit {code}): {stderr}")
    elif "committed" in child.marks:
        phase = "after commit, before exit"
    elif "validated" in child.marks:
        phase = "in the write transaction"
    else:
        phase = "before the write"
    wal = Path(f"{path}.wal")
    wal_left = wal.exists()

    # The next command opens the file read-write: DuckDB replays (or discards) what the killed process
    # left in the write-ahead log, and the migrations find the schema current.
    con = db.connect(path)
    try:
        found = state(con)
        assert db.schema_version(con) == db.SCHEMA_VERSION
        # Queries over the whole alerts table (every column) and the view over it.
        con.execute(
            "SELECT count(*), sum(hash(month, alert_code, provider, volume, devices, first_time_devices,"
            " source_id, source_row)) FROM alerts"
        ).fetchall()
        con.execute("SELECT count(*), sum(volume) FROM current_alerts").fetchall()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    # A kill while the commit was writing the log leaves a torn log: DuckDB replays none of it (the state
    # before) and keeps the file through a checkpoint and a clean close, as nothing changed; harmless,
    # as the next write and close show below.
    torn_wal_kept = wal.exists()
    # ... the app's read-only open finds the same state ...
    con = db.connect(path, read_only=True)
    try:
        assert state(con) == found
    finally:
        con.close()
    # ... and the next load works, and its clean close leaves no log behind.
    con = db.connect(path)
    try:
        result = ingest_bytes(con, NEXT_LOAD, "next-load.csv")
        assert result.outcome == "loaded", result.problems
        assert state(con)["alerts"] == found["alerts"] + 1
    finally:
        con.close()
    assert not wal.exists(), f"a write-ahead log survived a load and a clean close after recovery: {trial}, {phase}"
    return {
        **trial,
        "phase": phase,
        "state": found,
        "killed_after": round(time.time() - child.started, 3),
        "wal_left": wal_left,
        "torn_wal_kept": torn_wal_kept,
    }


def test_killed_ingest_leaves_the_state_before_or_after_the_load(files):
    t0 = time.time()
    con = db.connect(fresh_copy(files["base"], files["folder"] / "check-base.duckdb"))
    before = state(con)
    con.close()
    calibrations = {key: calibrate(files, key) for key in CRASH_FILES}
    for key, rows in CRASH_FILES.items():
        after = calibrations[key]["completed"]
        assert (after["alerts"], after["sources"], after["ingest_log"]) == (
            before["alerts"] + rows,
            before["sources"] + 1,
            before["ingest_log"] + 1,
        )

    # Kill moments, seeded: "anywhere" from the start of the command to a little past its measured
    # duration; "writing" from the end of validation, "closing" from the commit, to a little past the
    # measured exit.
    rng = random.Random(CRASH_SEED)
    trials = []
    for key, aim, count in CRASH_PLAN:
        cal = calibrations[key]
        start = {"anywhere": 0, "writing": cal["validated"], "closing": cal["committed"]}[aim]
        span = (cal["exited"] - start) * (1.1 if aim == "anywhere" else 1.2)
        trials += [{"file": key, "aim": aim, "delay": rng.uniform(0, span)} for _ in range(count)]
    rng.shuffle(trials)
    for number, trial in enumerate(trials):
        trial["number"] = number
    with ThreadPoolExecutor(max_workers=CRASH_WORKERS) as pool:
        results = list(pool.map(lambda trial: crash_trial(files, trial, calibrations[trial["file"]]), trials))

    outcomes = {phase: {"before": 0, "after": 0, "between": 0} for phase in PHASES}
    for result in results:
        after = calibrations[result["file"]]["completed"]
        result["outcome"] = (
            "before" if result["state"] == before else "after" if result["state"] == after else "between"
        )
        outcomes[result["phase"]][result["outcome"]] += 1
    landed = {phase: sum(counts.values()) for phase, counts in outcomes.items()}
    by_file = {
        key: {phase: sum(1 for r in results if r["file"] == key and r["phase"] == phase) for phase in PHASES}
        for key in CRASH_FILES
    }
    elapsed = time.time() - t0
    FIGURES["crash"] = {
        "trials": len(results),
        "plan": CRASH_PLAN,
        "rows": dict(CRASH_FILES),
        "outcomes": outcomes,
        "landed": landed,
        "landed_by_file": by_file,
        "wal_left_by_kill": sum(r["wal_left"] for r in results),
        "torn_wal_kept": sum(r["torn_wal_kept"] for r in results),
        "load_seconds": {key: round(cal["exited"], 2) for key, cal in calibrations.items()},
        "write_seconds": {key: round(cal["committed"] - cal["validated"], 2) for key, cal in calibrations.items()},
        "seconds": round(elapsed, 1),
    }
    figures = FIGURES["crash"]
    print(f"\ncrash test: {len(results)} kills, {elapsed:.1f} s in all")
    for key, rows in CRASH_FILES.items():
        planned = ", ".join(f"{count} aimed {aim}" for k, aim, count in CRASH_PLAN if k == key)
        print(
            f"  {rows:,}-row alerts file ({planned}): load {figures['load_seconds'][key]} s to exit, "
            f"{figures['write_seconds'][key]} s in the write transaction; kills landed "
            + ", ".join(f"{by_file[key][phase]} {phase}" for phase in PHASES)
        )
    for phase in PHASES:
        counts = outcomes[phase]
        print(
            f"  killed {phase:26} {landed[phase]:3}: reopened with {counts['before']} the state before, "
            f"{counts['after']} the state after, {counts['between']} anything else"
        )
    print(
        f"  {figures['wal_left_by_kill']} kills left a write-ahead log ({figures['torn_wal_kept']} torn, kept until "
        f"the next write); every copy reopened read-write (replaying it), read in full, checkpointed, reopened "
        f"read-only, then took a further load and closed without a log"
    )

    between = [r for r in results if r["outcome"] == "between"]
    assert not between, f"database between the two states after a kill: {between}"
    # Nothing is written before the write; a commit that was reported survives the kill.
    assert outcomes["before the write"]["after"] == 0
    assert outcomes["after commit, before exit"]["before"] == 0
    assert outcomes["after exit"]["before"] == 0
    # Otherwise the test proves nothing: enough kills must land inside the load's write transaction.
    assert landed["in the write transaction"] >= MIN_MID_LOAD_KILLS, landed


# ----------------------------------------------------------------------------------------- concurrency

SINGLE_QUERY = (
    "SELECT (SELECT count(*) FROM current_alerts), (SELECT count(*) FROM sources), (SELECT count(*) FROM ingest_log)"
)


def test_concurrent_readers_see_the_data_before_or_after_a_load(files, monkeypatch):
    t0 = time.time()
    path = fresh_copy(files["base"], files["folder"] / "concurrent.duckdb")
    con = db.connect(path)  # one read-write connection for the process, a cursor per query
    try:
        _run_concurrency(con, files, monkeypatch, t0)
    finally:
        con.close()


def _run_concurrency(con, files, monkeypatch, t0):
    before = tuple(con.cursor().execute(SINGLE_QUERY).fetchall()[0])
    stop = threading.Event()
    writer_times: dict[str, float] = {}
    observations: list[tuple[str, float, float, tuple]] = []  # (reader, started, ended, values)
    spanning: list[tuple] = []  # transactions open across the writer's commit
    errors: list[tuple[str, BaseException]] = []
    lock = threading.Lock()

    prepare = ingest.prepare

    def timed_prepare(*args, **kwargs):
        result = prepare(*args, **kwargs)
        writer_times["validated"] = time.time()
        return result

    monkeypatch.setattr(ingest, "prepare", timed_prepare)
    insert_facts = ingest_stage.insert_facts

    def timed_insert_facts(*args, **kwargs):
        result = insert_facts(*args, **kwargs)
        writer_times["inserted"] = time.time()  # what is left: the ingest-log row and the COMMIT
        return result

    monkeypatch.setattr(ingest_stage, "insert_facts", timed_insert_facts)

    def single_query_reader(name: str) -> None:
        rng = random.Random(name)
        try:
            while not stop.is_set():
                started = time.time()
                cursor = con.cursor()
                try:
                    values = tuple(cursor.execute(SINGLE_QUERY).fetchall()[0])
                finally:
                    cursor.close()
                with lock:
                    observations.append((name, started, time.time(), values))
                time.sleep(rng.uniform(0.005, 0.02))
        except BaseException as exc:  # noqa: BLE001 - any failure in a reader is a finding
            errors.append((name, exc))

    def transaction_reader(name: str) -> None:
        rng = random.Random(name)
        try:
            while not stop.is_set():
                cursor = con.cursor()
                try:
                    started = time.time()
                    cursor.execute("BEGIN TRANSACTION")
                    alerts = cursor.execute("SELECT count(*) FROM current_alerts").fetchall()[0][0]
                    first_done = time.time()
                    time.sleep(rng.uniform(0.05, 0.25))  # hold the snapshot while the writer works
                    second_started = time.time()
                    sources = cursor.execute("SELECT count(*) FROM sources").fetchall()[0][0]
                    log = cursor.execute("SELECT count(*) FROM ingest_log").fetchall()[0][0]
                    cursor.execute("COMMIT")
                finally:
                    cursor.close()
                values = (alerts, sources, log)
                with lock:
                    observations.append((name, started, time.time(), values))
                    done = writer_times.get("done")
                    if values == before and done is not None and second_started > done:
                        spanning.append((first_done, second_started))
        except BaseException as exc:  # noqa: BLE001
            errors.append((name, exc))

    def writer() -> None:
        cursor = con.cursor()
        try:
            writer_times["start"] = time.time()
            writer_times["result"] = ingest_file(cursor, files["big"])
            writer_times["done"] = time.time()
        except BaseException as exc:  # noqa: BLE001
            errors.append(("writer", exc))
        finally:
            cursor.close()

    readers = [threading.Thread(target=single_query_reader, args=(f"reader-{i:02d}",)) for i in range(READERS)]
    readers.append(threading.Thread(target=transaction_reader, args=("transaction-reader",)))
    for thread in readers:
        thread.start()
    time.sleep(0.3)
    write = threading.Thread(target=writer)
    write.start()
    write.join(timeout=300)
    time.sleep(0.5)
    stop.set()
    for thread in readers:
        thread.join(timeout=60)
    assert not write.is_alive() and not any(t.is_alive() for t in readers), "a thread did not finish"
    assert not errors, errors

    result = writer_times["result"]
    assert result.outcome == "loaded", result.problems
    after = tuple(con.cursor().execute(SINGLE_QUERY).fetchall()[0])
    assert after[1:] == (before[1] + 1, before[2] + 1)
    assert after[0] == before[0] + result.new

    start, validated, done = writer_times["start"], writer_times["validated"], writer_times["done"]
    seen_before = [o for o in observations if o[3] == before]
    seen_after = [o for o in observations if o[3] == after]
    mixed = [o for o in observations if o[3] not in (before, after)]
    during_load = [o for o in observations if o[1] >= start and o[2] <= done]
    during_write = [o for o in observations if o[2] >= validated and o[1] <= done]
    inserted = writer_times["inserted"]
    during_commit = [o for o in observations if o[2] >= inserted and o[1] <= done]
    went_back = []
    last: dict[str, tuple] = {}
    for name, started, _ended, values in sorted(observations, key=lambda o: o[1]):
        if last.get(name) == after and values == before:
            went_back.append((name, started))
        last[name] = values
    elapsed = time.time() - t0
    FIGURES["concurrency"] = {
        "readers": READERS + 1,
        "reads": len(observations),
        "seen_before": len(seen_before),
        "seen_after": len(seen_after),
        "mixed": len(mixed),
        "reads_during_load": len(during_load),
        "reads_during_write": len(during_write),
        "reads_during_commit": len(during_commit),
        "mixed_during_commit": sum(1 for o in mixed if o[2] >= inserted and o[1] <= done),
        "transactions_across_commit": len(spanning),
        "rows": BIG_ROWS,
        "load_seconds": round(done - start, 2),
        "write_seconds": round(done - validated, 2),
        "seconds": round(elapsed, 1),
    }
    figures = FIGURES["concurrency"]
    print(
        f"\nconcurrency test: {figures['readers']} readers ({READERS} single-query + 1 in explicit "
        f"transactions) on one connection, {figures['reads']} reads while a {BIG_ROWS:,}-row load ran "
        f"({figures['load_seconds']} s, of which {figures['write_seconds']} s writing); {elapsed:.1f} s in all"
    )
    print(
        f"  {figures['seen_before']} reads saw the data before, {figures['seen_after']} after, "
        f"{figures['mixed']} anything else; {figures['reads_during_load']} reads ran inside the load, "
        f"{figures['reads_during_write']} overlapped its write transaction, {figures['reads_during_commit']} "
        f"its commit ({figures['mixed_during_commit']} of the mixed reads fell there); "
        f"{figures['transactions_across_commit']} transactions held their snapshot across the commit"
    )

    assert not mixed, f"torn reads (reader, started, ended, values): {mixed[:5]}; before {before}, after {after}"
    assert not went_back, f"a reader saw the load and then the data before it: {went_back[:5]}"
    assert seen_before and seen_after
    assert during_load, "no read ran while the writer was loading"
    assert during_write, "no read overlapped the write transaction"
