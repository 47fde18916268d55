"""Request records at scale: the load against DuckDB's plain read of the same file, the waterfall of one
month against DuckDB's plain aggregate of the same columns, and DuckDB against Spark at 10 million, 100
million and a billion rows (docs/scale.md).

    python -m benchmarks.events --work DIR [--rows 100M] [--repeats 3] [--no-spark] [--out FILE]

Every step runs in its own process, so its peak memory (the process and its children: Spark's Java
process too) is its own, sampled from /proc every 50 ms. Times are medians of the repeats, with the
min-max; ratios are taken against floors measured in the same run.

A billion rows are the 100-million-row month's files read ten times over (the same files listed ten
times): the engines scan a billion rows, but the disk is read from the page cache after the first pass,
and this machine's disk could not hold a billion pseudonymised rows besides.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LOAD_AIM = 0.5  # the load at least half as fast as DuckDB's plain read of the file
WATERFALL_AIM = 2.0  # the waterfall at most twice DuckDB's plain aggregate of the same columns


def _tree_rss(pid: int) -> int:
    """The resident memory of a process and its descendants, in bytes."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as handle:
                todo += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return total


def measured(code: str, *args: str) -> dict:
    """Run `python -c code args...` (it prints one JSON object), with its wall time and peak tree RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed ({proc.returncode}): {err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall=time.perf_counter() - start, peak_mb=peak[0] / 1e6)
    return result


# Each step: a small program run in its own process, printing {"seconds": the step's own time, ...}.
LOAD = """
import json, sys, time
from opsg_metrics.ingest.events import load_events
start = time.perf_counter()
result = load_events(sys.argv[1], sys.argv[2:])  # one delivery: every file given
assert result.outcome == "loaded", result.problems[:3]
print(json.dumps({"seconds": time.perf_counter() - start, "rows": result.rows}))
"""
READ = """
import duckdb, json, sys, time
con = duckdb.connect()
start = time.perf_counter()
row = con.execute("SELECT count(*), count(request_id), count(measure), count(provider), max(received_at)::VARCHAR, "
                  "max(completed_at)::VARCHAR, sum(target_seconds), count(outcome), count(exclusion), count(x_device_id) "
                  "FROM read_parquet(?)", [sys.argv[1]]).fetchall()[0]
print(json.dumps({"seconds": time.perf_counter() - start, "rows": row[0]}))
"""
REWRITE = """
import duckdb, json, sys, time
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
start = time.perf_counter()
con.execute("COPY (SELECT * FROM read_parquet(?)) TO '" + sys.argv[2] + "' (FORMAT parquet, COMPRESSION zstd)", [sys.argv[1]])
print(json.dumps({"seconds": time.perf_counter() - start}))
"""
FILES = """
import json, sys
from opsg_metrics.store import events, snapshots
con, _ = snapshots.reader(sys.argv[1])
sel = events.select(con, [__import__("datetime").date.fromisoformat(sys.argv[2])])
print(json.dumps({"seconds": 0, "files": list(sel.files), "rows": sel.rows}))
"""
FLOOR = """
import duckdb, json, sys, time
files = json.loads(open(sys.argv[1]).read()) * int(sys.argv[2])
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
start = time.perf_counter()
rows = con.execute("SELECT month, measure, provider, exclusion, count(*), sum(response_us), sum(target_seconds), "
                   "count(outcome) FROM read_parquet(?, union_by_name = true) GROUP BY ALL", [files]).fetchall()
print(json.dumps({"seconds": time.perf_counter() - start, "rows": sum(r[4] for r in rows)}))
"""
WATERFALL = """
import duckdb, json, sys, time
from opsg_metrics.rules import events as rule
files = json.loads(open(sys.argv[1]).read()) * int(sys.argv[2])
engine = sys.argv[3]
if engine == "duckdb":
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    source = "read_parquet([" + ", ".join("'" + f + "'" for f in files) + "], union_by_name = true)"
    start = time.perf_counter()
    rows = rule.run(con, "waterfall", source)
else:
    from opsg_metrics.store import spark
    spark.session().range(1).count()  # the session started before the clock: Spark's start-up is its own line
    start = time.perf_counter()
    rows = spark.run(tuple(files), rule.spark_sql("waterfall"))
print(json.dumps({"seconds": time.perf_counter() - start, "rows": sum(r["received"] for r in rows)}))
"""
SPARK_START = """
import json, time
start = time.perf_counter()
from opsg_metrics.store import spark
spark.session().range(1).count()
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def _median(runs: list[dict], key: str = "seconds") -> tuple[float, float, float]:
    values = [r[key] for r in runs]
    return statistics.median(values), min(values), max(values)


def _text(t: tuple[float, float, float]) -> str:
    return f"{t[0]:,.2f} s ({t[1]:,.2f}–{t[2]:,.2f})"


def prepare(work: Path, sample_db: Path, rows: int, month: str) -> tuple[Path, list[Path]]:
    """Files of one month of synthetic records (made once, kept in `work`) and a database to load into."""
    out = work / f"events-{month}-{rows}"
    if not (out / "README.md").exists():
        subprocess.run(
            [sys.executable, "-m", "opsg_metrics.sample", "--events", "--scale", str(rows), "--months",
             f"{month}..{month}", "--db", str(sample_db), "--out", str(out)],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
    return out, sorted(out.glob("events-*.parquet"))


def fresh_db(sample_db: Path, target: Path) -> Path:
    for stale in (target, Path(f"{target}.events"), Path(f"{target}.snapshots")):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    shutil.copy(sample_db, target)
    return target


def run(work: Path, sample_db: Path, *, rows: int = 100_000_000, repeats: int = 3, spark: bool = True) -> dict:
    """Every measurement of request records (see the module's docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    found: dict = {"rows": rows}
    small_rows = min(10_000_000, rows // 10)
    # 1. the load of one file against DuckDB's plain read of it
    _, small = prepare(work, sample_db, small_rows, "2020-05")
    one = small[0]
    reads = [measured(READ, str(one)) for _ in range(repeats)]
    rewrites = [measured(REWRITE, str(one), str(work / "rewritten.parquet")) for _ in range(repeats)]
    loads = [measured(LOAD, str(fresh_db(sample_db, work / "load.duckdb")), str(one)) for _ in range(repeats)]
    found["load"] = {"file_rows": reads[0]["rows"], "read": _median(reads), "load": _median(loads),
                     "rewrite": _median(rewrites), "load_peak_mb": max(r["peak_mb"] for r in loads)}  # fmt: skip
    found["load"]["ratio"] = found["load"]["read"][0] / found["load"]["load"][0]
    # 2. the month loaded whole (10M and `rows`), then measured
    months = {}
    for count, month in ((small_rows, "2020-05"), (rows, "2020-04")):
        _, files = prepare(work, sample_db, count, month)
        db = fresh_db(sample_db, work / f"month-{count}.duckdb")
        start = time.perf_counter()
        peak = measured(LOAD, str(db), *map(str, files))["peak_mb"]
        months[count] = {
            "db": db,
            "load_seconds": time.perf_counter() - start,
            "load_peak_mb": peak,
            "file_count": len(files),
        }
        listed = measured(FILES, str(db), f"{month}-01")
        months[count]["files"] = work / f"files-{count}.json"
        months[count]["files"].write_text(json.dumps(listed["files"]))
        months[count]["stored_rows"] = listed["rows"]
    found["months"] = {k: {n: v for n, v in m.items() if n in ("load_seconds", "load_peak_mb", "stored_rows", "file_count")}
                       for k, m in months.items()}  # fmt: skip
    # 3. the waterfall of the big month against the plain aggregate of the same columns
    big = months[rows]["files"]
    floors = [measured(FLOOR, str(big), "1") for _ in range(repeats)]
    waterfalls = [measured(WATERFALL, str(big), "1", "duckdb") for _ in range(repeats)]
    found["waterfall"] = {"floor": _median(floors), "duckdb": _median(waterfalls)}
    found["waterfall"]["ratio"] = found["waterfall"]["duckdb"][0] / found["waterfall"]["floor"][0]
    # 4. the engines at 10M, 100M, 1B rows
    scale = []
    sizes = [(months[small_rows]["files"], 1), (big, 1), (big, 10)]
    for files, times in sizes:
        for engine in ("duckdb", *(("spark",) if spark else ())):
            runs = [measured(WATERFALL, str(files), str(times), engine) for _ in range(1 if times > 1 else repeats)]
            seconds = _median(runs)
            scale.append({"engine": engine, "rows": runs[0]["rows"], "seconds": seconds,
                          "rate": runs[0]["rows"] / seconds[0], "peak_mb": max(r["peak_mb"] for r in runs)})  # fmt: skip
    found["scale"] = scale
    if spark:
        found["spark_start"] = _median([measured(SPARK_START) for _ in range(repeats)])
    return found


def lines(found: dict) -> list[str]:
    """The measurements as Markdown lines for RESULTS.md and docs/scale.md."""
    load, waterfall = found["load"], found["waterfall"]
    out = [
        f"- **Load** of one file of {load['file_rows']:,} request records (Parquet, zstd): DuckDB's plain read "
        f"of every column {_text(load['read'])}; `events load` {_text(load['load'])} (checked, pseudonymised, "
        f"partitioned, entered in the manifest; peak memory {load['load_peak_mb']:,.0f} MB): "
        f"**{load['ratio']:.2f}×** the floor's speed (aim ≥ {LOAD_AIM}×). Beside it, DuckDB rewriting the same "
        f"file as one Parquet file, unchecked: {_text(load['rewrite'])} "
        f"({load['rewrite'][0] / load['load'][0]:.2f}× the load's time).",
        f"- **Waterfall** of one month of {found['rows']:,} rows: DuckDB's plain aggregate of the same columns "
        f"{_text(waterfall['floor'])}; the waterfall {_text(waterfall['duckdb'])}: **{waterfall['ratio']:.2f}×** "
        f"the floor (aim ≤ {WATERFALL_AIM}×).",
    ]
    for count, month in sorted(found["months"].items()):
        out.append(
            f"- A month of {count:,} rows ({month['file_count']} files, one delivery) loaded in {month['load_seconds']:,.1f} s "
            f"({count / month['load_seconds']:,.0f} rows/s; peak memory {month['load_peak_mb']:,.0f} MB)."
        )
    out += ["", "| engine | rows | waterfall | rows per second | peak memory |", "|---|---:|---:|---:|---:|"]
    for s in found["scale"]:
        out.append(
            f"| {s['engine']} | {s['rows']:,} | {_text(s['seconds'])} | {s['rate']:,.0f} | {s['peak_mb']:,.0f} MB |"
        )
    if "spark_start" in found:
        out += [
            "",
            f"Spark's own start-up (a local session on Debian's Java 17), not in the times above: {_text(found['spark_start'])}.",
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    from opsg_metrics.sample_events import parse_scale

    parser = argparse.ArgumentParser(prog="python -m benchmarks.events", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="where files and databases go (kept between runs)")
    parser.add_argument("--sample-db", type=Path, help="a sample database (default: built in --work)")
    parser.add_argument("--rows", default="100M", help="rows of the big month (default 100M)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON here")
    args = parser.parse_args(argv)
    sample_db = args.sample_db
    if sample_db is None:
        sample_db = args.work / "sample.duckdb"
        if not sample_db.exists():
            args.work.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "opsg_metrics", "--db", str(sample_db), "init", "--sample"],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
    found = run(args.work, sample_db, rows=parse_scale(args.rows), repeats=args.repeats, spark=not args.no_spark)
    if args.json:
        args.json.write_text(json.dumps(found, indent=2, default=str))
    print("\n".join(lines(found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
