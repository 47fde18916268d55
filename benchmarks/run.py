"""Benchmarks of OPSG Metrics against the floors of the parts it is built on.

    python -m benchmarks.run                     # sample + stress databases, writes benchmarks/RESULTS.md
    python -m benchmarks.run --stress-db PATH    # reuse a stress database built by benchmarks.stress
    python -m benchmarks.run --scaling           # also build three stress sizes and measure how cost grows
    python -m benchmarks.run --smoke --out F     # a tiny run that checks the runner works (make test)

Every figure is a median of several repetitions, with the min-max; the machine is shared and noisy, so
compare ratios measured in the same run, not seconds across runs. Not part of `make test` (only --smoke).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opsg_metrics import words
from opsg_metrics.ingest import bootstrap
from opsg_metrics.queries import spc as spc_readings  # noqa: E402
from opsg_metrics.render import files as export
from opsg_metrics.render.documents import build  # noqa: E402
from opsg_metrics.rules import status
from opsg_metrics.store import connect as db

from . import pages as page_bench  # noqa: E402
from . import pandas_status, stress  # noqa: E402
from .timing import Timing, timed  # noqa: E402

TARGETS = {
    "page_sample": 2.0,
    "page_stress": 3.0,
    "status": 20.0,
    "ingest": 0.5,
    "export": 1.2,
    "pack": 0.6,
    "rss_mb": 300.0,
}


@dataclass
class Report:
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    verdicts: list[tuple[str, str, str, str]] = field(default_factory=list)  # what, measured, target, verdict

    def add(self, title: str, lines: list[str]) -> None:
        self.sections.append((title, lines))
        print(f"\n## {title}\n" + "\n".join(lines), flush=True)

    def verdict(self, what: str, measured: float, target: float, *, higher_is_better: bool, unit: str = "×") -> None:
        ok = measured >= target if higher_is_better else measured <= target
        sign = "≥" if higher_is_better else "≤"
        self.verdicts.append((what, f"{measured:,.2f}{unit}", f"{sign} {target:g}{unit}", "met" if ok else "NOT MET"))


# ----------------------------------------------------------------------------------------------- machine


def machine() -> list[str]:
    import altair
    import duckdb
    import pandas
    import pyarrow
    import streamlit
    import vl_convert

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(
            next(
                line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
            ).split()[1]
        )
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()
    return [
        f"- Date: {datetime.now():%Y-%m-%d %H:%M}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs ({cpu}){memory}; {platform.platform()}",
        f"- Load average at start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (shared machine)",
        f"- Python {platform.python_version()}; duckdb {duckdb.__version__}, streamlit {streamlit.__version__}, "
        f"altair {altair.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, "
        f"vl-convert {vl_convert.__version__}",
    ]


def sample_database(folder: Path) -> Path:
    path = folder / "sample.duckdb"
    con = db.connect(path)
    bootstrap.initialise(con, sample=True)
    con.close()
    return path


def copy_db(path: Path, folder: Path, name: str) -> Path:
    target = folder / name
    shutil.copy(path, target)
    return target


# ------------------------------------------------------------------------------------------------- pages


def bench_pages(report: Report, label: str, db_path: Path, repeats: int, pages, target: float) -> list[dict]:
    rows = page_bench.page_times(db_path, pages=pages, repeats=repeats)
    lines = [
        "| page | widgets | elements | first render | rerun (median, min–max) | floor rerun | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['page']} | {r['widgets']} | {r['elements']} | {r['cold_s'] * 1000:,.0f} ms | "
            f"{r['rerun_median_s'] * 1000:,.0f} ms ({r['rerun_min_s'] * 1000:,.0f}–{r['rerun_max_s'] * 1000:,.0f}) | "
            f"{r['floor_median_s'] * 1000:,.0f} ms | {r['ratio']:.2f}× |"
        )
        report.verdict(f"{r['page']} page rerun ÷ floor, {label}", r["ratio"], target, higher_is_better=False)
    report.add(f"Page reruns, {label} database ({repeats} reruns each)", lines)
    return rows


# ---------------------------------------------------------------------------------------------- status


def bench_status(report: Report, label: str, db_path: Path, repeats: int) -> dict:
    con = db.connect(db_path, read_only=True)
    try:
        sql_t, sql = timed(lambda: status.status_table(con, live=True), repeats)
        pan_t, pan = timed(lambda: pandas_status.pandas_status_table(pandas_status.load_inputs(con)), repeats)
        cached_t, cached = timed(lambda: status.status_table(con), repeats)
        month = status.latest_month(con)
        month_t, _ = timed(lambda: status.status_for_month(con, month), repeats)
        differences = pandas_status.compare(sql, pan) + pandas_status.compare(sql, cached)
        series = con.execute("SELECT count(*) FROM measures").fetchall()[0][0]
    finally:
        con.close()
    ratio = pan_t.median / sql_t.median
    report.add(
        f"Status engine, {label} database (all series, all history, window 12; {repeats} runs)",
        [
            f"- {len(sql):,} rows, {series} series",
            f"- SQL (status.sql, one query): {sql_t.text('ms')}",
            f"- pandas (groupby + loop, benchmarks/pandas_status.py): {pan_t.text('ms')}",
            f"- the precomputed table (status.sql's result, made at each load): all rows {cached_t.text('ms')} "
            f"({pan_t.median / cached_t.median:.1f}× faster than pandas); one month, as the overview asks, "
            f"{month_t.text('ms')}",
            f"- ratio pandas ÷ SQL computing: **{ratio:.1f}×**; results of SQL, pandas and the precomputed table "
            + (
                "**identical** (every rule column of every row)"
                if not differences
                else f"**differ** in {len(differences)} ways: " + "; ".join(differences[:3])
            ),
        ],
    )
    report.verdict(
        f"status engine (computing) speed-up over pandas, {label}", ratio, TARGETS["status"], higher_is_better=True
    )
    report.verdict(
        f"precomputed status table read, speed-up over pandas, {label}",
        pan_t.median / cached_t.median,
        TARGETS["status"],
        higher_is_better=True,
    )
    return {
        "rows": len(sql),
        "sql": sql_t.median,
        "pandas": pan_t.median,
        "ratio": ratio,
        "cached": cached_t.median,
        "identical": not differences,
    }


# ------------------------------------------------------------------------------------------- clearance


def restate_for_levels(db_path: Path) -> int:
    """Give the database restatements across markings, so that every level below the owner's has work to
    do: an AMBER reissue of the latest month (every figure 0.5 points lower) and a GREEN one of the month
    before. Returns the figures restated."""
    from opsg_metrics.ingest.load import ingest_bytes

    con = db.connect(db_path)
    try:
        restated = 0
        months = [
            m
            for (m,) in con.execute(
                "SELECT DISTINCT month FROM current_measure_values ORDER BY month DESC LIMIT 2"
            ).fetchall()
        ]
        for month, level in zip(months, ("amber", "green"), strict=False):
            rows = con.execute(
                "SELECT measure, provider, value FROM current_measure_values WHERE month = ? AND value IS NOT NULL",
                [month],
            ).fetchall()
            text = "month,measure,provider,value,status\n" + "".join(
                f"{month:%Y-%m},{m},{p},{max(0.0, v - 0.5):.2f},reported\n" for m, p, v in rows
            )
            result = ingest_bytes(
                con, text.encode(), f"reissue-{level}.csv", source=f"{level} reissue", classification=level
            )
            assert result.ok, result.problems
            restated += len(rows)
    finally:
        con.close()
    return restated


def bench_clearance(report: Report, label: str, db_path: Path, repeats: int) -> dict:
    """Status for each clearance level, computed live from the level's views, against the owner's
    precomputed table and the owner's live computation: what precomputing per level would save a reader,
    and what it would cost every load."""
    from opsg_metrics.store import clearance

    restated = restate_for_levels(db_path)
    con = db.connect(db_path, read_only=True)
    results = {}
    try:
        clearance.scope(con, clearance.ALL_DATA)
        month = status.latest_month(con)
        owner_table, _ = timed(lambda: status.status_table(con), repeats)
        owner_month, _ = timed(lambda: status.status_for_month(con, month), repeats)
        owner_live, _ = timed(lambda: status.status_table(con, live=True), repeats)
        owner_live_month, _ = timed(lambda: status.status_table(con, month=month, live=True), repeats)
        for level in clearance.ORDER[:-1]:
            clearance.scope(con, level)
            table_t, table = timed(lambda: status.status_table(con), repeats)
            month_t, _ = timed(lambda: status.status_for_month(con, status.latest_month(con)), repeats)
            results[level] = (table_t, month_t, len(table))
        clearance.scope(con, clearance.ALL_DATA)
    finally:
        con.close()
    lines = [
        f"- {restated:,} figures restated across markings (an AMBER reissue of the latest month, a GREEN one "
        "of the month before), so every level below RED has restated rows to weigh",
        f"- owner (RED): precomputed table, all rows {owner_table.text('ms')}, one month {owner_month.text('ms')}; "
        f"computed live, all rows {owner_live.text('ms')}, one month {owner_live_month.text('ms')}",
        "",
        "| level | status, all rows (live) | ÷ owner live | one month (live) | ÷ owner precomputed month | rows |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for level, (table_t, month_t, rows) in results.items():
        lines.append(
            f"| {level} | {table_t.text('ms')} | {table_t.median / owner_live.median:.2f}× | {month_t.text('ms')} "
            f"| {month_t.median / owner_month.median:.1f}× | {rows:,} |"
        )
    worst_month = max(month_t.median for _, month_t, _ in results.values())
    lines.append(
        f"- precomputing a table per level would save a reader at most {worst_month * 1000:,.0f} ms per uncached "
        f"overview, and would add about {len(results)} × {owner_live.text('ms')} to every load (one table per "
        "level below RED, each recomputed because a load can change what any level sees)"
    )
    report.add(f"Status by clearance level, {label} database ({repeats} runs)", lines)
    return {"owner_live": owner_live.median, "owner_month": owner_month.median, "levels": results}


# ---------------------------------------------------------------------------------------------- ingest


def bench_ingest(report: Report, alerts_path: Path, folder: Path, repeats: int) -> dict:
    import duckdb

    rows = sum(1 for _ in open(alerts_path, encoding="utf-8")) - 1
    size_mb = alerts_path.stat().st_size / 1e6

    def ours():
        path = folder / "ingest-ours.duckdb"
        for p in (path, Path(f"{path}.wal")):
            p.unlink(missing_ok=True)
        con = db.connect(path)
        bootstrap.load_reference_data(con)
        start = time.perf_counter()
        result = export_module_ingest(con, alerts_path)
        seconds = time.perf_counter() - start
        con.close()
        if result.outcome != "loaded":
            raise RuntimeError(f"the alerts file was not loaded: {result.problems[:3]}")
        return seconds

    def plain(primary_key: bool):
        path = folder / "ingest-plain.duckdb"
        for p in (path, Path(f"{path}.wal")):
            p.unlink(missing_ok=True)
        con = duckdb.connect(str(path), config=db.CONNECTION_CONFIG)
        start = time.perf_counter()
        if primary_key:
            con.execute(
                "CREATE TABLE a (month DATE, alert_code VARCHAR, provider VARCHAR, volume BIGINT, devices BIGINT,"
                " first_time_devices BIGINT, PRIMARY KEY (month, alert_code, provider))"
            )
            con.execute(
                f"INSERT INTO a SELECT strptime(month, '%Y-%m')::DATE, alert_code, provider, volume, devices,"
                f" first_time_devices FROM read_csv('{alerts_path}', all_varchar=false,"
                f" types={{'month': 'VARCHAR'}})"
            )
        else:
            con.execute(f"CREATE TABLE a AS SELECT * FROM read_csv('{alerts_path}')")
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - start
        con.close()
        return seconds

    ours_t = Timing([ours() for _ in range(repeats)])
    plain_t = Timing([plain(False) for _ in range(max(3, repeats))])
    keyed_t = Timing([plain(True) for _ in range(max(3, repeats))])
    ratio = plain_t.median / ours_t.median
    report.add(
        f"Ingest throughput: {rows:,}-row alerts file ({size_mb:.1f} MB)",
        [
            f"- OPSG Metrics ingest (full validation, revision detection, keys, log; into a database with the "
            f"catalogue): {ours_t.text()} = **{rows / ours_t.median:,.0f} rows/s**",
            f"- DuckDB `read_csv` into a new table (no validation, no keys): {plain_t.text()} = "
            f"{rows / plain_t.median:,.0f} rows/s",
            f"- DuckDB `read_csv` into a table with the alerts primary key (a floor with keys, still no "
            f"validation): {keyed_t.text()} = {rows / keyed_t.median:,.0f} rows/s",
            f"- ratio of throughputs, ours ÷ plain `read_csv`: **{ratio:.3f}×**; ours ÷ keyed `read_csv`: "
            f"{keyed_t.median / ours_t.median:.3f}×",
        ],
    )
    report.verdict("ingest throughput ÷ plain read_csv", ratio, TARGETS["ingest"], higher_is_better=True)
    return {"rows": rows, "ours": ours_t.median, "plain": plain_t.median, "keyed": keyed_t.median, "ratio": ratio}


def export_module_ingest(con, path: Path):
    from opsg_metrics.ingest.load import ingest_file

    return ingest_file(con, path)


# ---------------------------------------------------------------------------------------------- export


def bench_export(report: Report, db_path: Path, repeats: int, pack_month: date | None) -> dict:
    import vl_convert as vlc

    from opsg_metrics.render.charts import views
    from opsg_metrics.render.draw import PNG_PPI
    from opsg_metrics.render.draw import workers as draw_workers

    def bare_vl_convert(spec: dict, fmt: str) -> bytes:
        """The floor: vl-convert itself, in this process, on the same spec."""
        return vlc.vegalite_to_png(spec, ppi=PNG_PPI) if fmt == "png" else vlc.vegalite_to_svg(spec).encode()

    con = db.connect(db_path, read_only=True)
    out = {}
    try:
        end = status.latest_month(con)
        start = (datetime(end.year, end.month, 1).replace(year=end.year - 3)).date()
        view = views.trend_view(con, "CPM1", ["DCC", "CSP N", "CSP C&S"], start, end)
        lines = [f"Chart: CPM1 for DCC, CSP N and CSP C&S, {words.month_label(start)} to {words.month_label(end)}."]
        for fmt in ("png", "svg"):
            spec = export.export_spec(view)

            def fresh(fmt=fmt):
                # A chart object never drawn before: its spec is made (Altair to_dict) as part of the export.
                again = views.trend_view(con, "CPM1", ["DCC", "CSP N", "CSP C&S"], start, end)
                begin = time.perf_counter()
                export.export_view(again, fmt)
                return time.perf_counter() - begin

            bare_vl_convert(spec, fmt)  # warm: vl-convert's first call of a format starts it
            export.export_view(view, fmt)  # warm: the worker's first call too
            bare_t, _ = timed(lambda spec=spec, fmt=fmt: bare_vl_convert(spec, fmt), repeats)
            ours_t, _ = timed(lambda fmt=fmt: export.export_view(view, fmt), repeats)
            fresh_t = Timing([fresh() for _ in range(repeats)])
            out[fmt] = (bare_t.median, ours_t.median, fresh_t.median)
            lines += [
                f"- {fmt.upper()}: vl-convert on the spec {bare_t.text('ms')}; our export of the chart "
                f"{ours_t.text('ms')} → **{ours_t.median / bare_t.median:.2f}×**; of a chart object never drawn "
                f"before (its spec made during the export) {fresh_t.text('ms')} → "
                f"{fresh_t.median / bare_t.median:.2f}×",
            ]
            report.verdict(
                f"{fmt.upper()} export ÷ vl-convert (chart as drawn)",
                ours_t.median / bare_t.median,
                TARGETS["export"],
                higher_is_better=False,
            )
            report.verdict(
                f"{fmt.upper()} export ÷ vl-convert (chart never drawn)",
                fresh_t.median / bare_t.median,
                TARGETS["export"],
                higher_is_better=False,
            )
        if pack_month is not None:
            runs = max(1, min(3, repeats))
            for fmt in ("png", "svg"):
                specs = [c.spec for c in export.pack_charts(con, pack_month, fmt)]  # the same specs, made once
                bare_vl_convert(specs[0], fmt)

                def one_after_another(specs=specs, fmt=fmt):
                    for spec in specs:
                        bare_vl_convert(spec, fmt)

                floor_t, _ = timed(one_after_another, runs)
                pack_t, made = timed(lambda fmt=fmt: export.month_pack(con, pack_month, fmt), runs)
                _, content, entries = made
                ratio = pack_t.median / floor_t.median
                out[f"pack_{fmt}"] = ratio
                lines.append(
                    f"- Month pack, {words.month_label(pack_month)}, {fmt.upper()}: {len(entries)} charts in "
                    f"{pack_t.text('s')} (queries, print layouts, drawing in {draw_workers()} worker processes, "
                    f"the zip), {len(content) / 1e6:.1f} MB; vl-convert drawing the same specs one after another "
                    f"in this process {floor_t.text('s')} → **{ratio:.2f}×**"
                )
                report.verdict(
                    f"month pack ({fmt.upper()}) ÷ vl-convert one after another",
                    ratio,
                    TARGETS["pack"],
                    higher_is_better=False,
                )
    finally:
        con.close()
    report.add("Chart export", lines)
    return out


def bench_summary(report: Report, db_path: Path, month: date, repeats: int) -> dict:
    con = db.connect(db_path, read_only=True)
    try:
        md_t, _ = timed(lambda: build.summary_document(con, month, "md"), repeats)
        docx_t, (_, docx, _) = timed(lambda: build.summary_document(con, month, "docx"), repeats)
    finally:
        con.close()
    report.add(
        f"PMR summary, {words.month_label(month)} ({repeats} runs)",
        [
            f"- Markdown: {md_t.text('ms')}",
            f"- Word with the charts of the misses: {docx_t.text('ms')} ({len(docx) / 1e3:,.0f} kB)",
        ],
    )
    return {"md": md_t.median, "docx": docx_t.median}


def minutes_page(con, words_wanted: int = 2000) -> str:
    """About `words_wanted` words of minutes-like text: the sample's generated April 2020 summary (as the
    secretariat would draft from it) as plain text, repeated to length."""
    text = build.summary_document(con, date(2020, 4, 1), "txt")[1].decode("utf-8")
    body = text.split("Every measure and provider")[0].split()
    return " ".join((body * (words_wanted // len(body) + 1))[:words_wanted])


def bench_minutes(report: Report, db_path: Path, repeats: int) -> dict:
    """The minutes check of a 2,000-word page, against the floor of the status table it reads for one month
    (the least a check of runs and windows can cost)."""
    from opsg_metrics.queries.claims.check import check_text

    con = db.connect(db_path, read_only=True)
    try:
        text = minutes_page(con)
        month = date(2020, 4, 1)
        floor, _ = timed(lambda: status.status_table(con, window=status.DEFAULT_WINDOW, month=month), repeats)
        check, checked = timed(lambda: check_text(con, text, month), repeats)
    finally:
        con.close()
    counts = checked.counts()
    report.add(
        f"Minutes check of a page of {len(text.split()):,} words ({repeats} runs)",
        [
            f"- Check (read every claim, judge each): {check.text('ms')}; {len(checked.verdicts)} claims "
            f"({counts['agrees']} agree, {counts['disagrees']} disagree, {counts['cannot check']} cannot be checked)",
            f"- Floor, the status table of one month: {floor.text('ms')}",
            f"- Ratio: {check.median / floor.median:.1f}x the floor; target under 1 s for the page "
            f"({'met' if check.median < 1.0 else 'NOT MET'})",
        ],
    )
    return {"check": check.median, "floor": floor.median}


def bench_record(report: Report, db_path: Path, folder: Path, repeats: int, rows: int = 500) -> dict:
    """The review record: an actions file of `rows` actions loaded (against the floor of an annotations file
    of as many rows through the figures' loader, on a copy each run), a commentary version saved (against the
    floor of one audit entry), and a meeting pack in Word (against the floor of the month's summary in Word,
    which it holds)."""
    from opsg_metrics.ingest.load import ingest_bytes
    from opsg_metrics.render.documents import pack
    from opsg_metrics.store import people
    from opsg_metrics.store import record as writes

    header = "action_id,text,owner,raised_meeting,raised_on,target_date,status,measure\n"
    actions = header + "".join(
        f"BENCH {i:05d},Action {i},DCC,OPSG_90,2022-01-10,2022-03-01,open,CPM1\n" for i in range(rows)
    )
    notes = "date,text,scope\n" + "".join(f"2022-01-{1 + i % 28:02d},Note {i},all\n" for i in range(rows))

    def load(text: str, name: str, n: int) -> float:
        con = db.connect(copy_db(db_path, folder, f"record-{name}-{n}.duckdb"))
        try:
            start = time.perf_counter()
            result = ingest_bytes(con, text.encode("utf-8"), f"{name}.csv")
            seconds = time.perf_counter() - start
            assert result.outcome == "loaded", result.problems
            return seconds
        finally:
            con.close()

    floor = Timing([load(notes, "annotations", n) for n in range(repeats)])
    loaded = Timing([load(actions, "actions", n) for n in range(repeats)])
    con = db.connect(copy_db(db_path, folder, "record-writes.duckdb"))
    try:
        month = date(2020, 4, 1)

        def save() -> None:
            opened = writes.version_of(con, "commentary", {"month": month, "measure": None, "provider": None})
            writes.save_commentary(
                con,
                month,
                f"Commentary {time.perf_counter()}",
                author="Bench",
                classification="white",
                by="Bench",
                based_on=opened,
            )

        audit_floor, _ = timed(lambda: people.record(con, "Bench", "export", "floor"), repeats * 4)
        saved, _ = timed(save, repeats * 4)
        summary_t, _ = timed(lambda: build.summary_document(con, month, "docx", window=17), repeats)
        pack_t, (_, content, _) = timed(lambda: pack.meeting_pack(con, "OPSG_33xx", "docx", window=17), repeats)
    finally:
        con.close()
    report.add(
        f"Review record ({repeats} runs; saves {repeats * 4})",
        [
            f"- Load of an actions file of {rows} actions: {loaded.text('ms')}; floor, an annotations file of "
            f"{rows} rows: {floor.text('ms')}; ratio {loaded.median / floor.median:.1f}x",
            f"- A commentary version saved (version check, row, audit entry, one transaction): {saved.text('ms')}; "
            f"floor, one audit entry: {audit_floor.text('ms')}; ratio {saved.median / audit_floor.median:.1f}x",
            f"- Meeting pack OPSG_33xx in Word: {pack_t.text('ms')} ({len(content) / 1e3:,.0f} kB); floor, the "
            f"April 2020 summary in Word: {summary_t.text('ms')}; ratio {pack_t.median / summary_t.median:.2f}x",
        ],
    )
    return {"load": loaded.median, "save": saved.median, "pack": pack_t.median}


# ----------------------------------------------------------------------------------------------- memory


def _status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def bench_rss(report: Report, label: str, db_path: Path, pages) -> dict:
    """Peak RSS of `streamlit run app.py` serving the database while a real browser opens every page."""
    import socket

    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OPSG_DB": str(db_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    visited = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the app did not start within 90 s") from None
                time.sleep(0.3)
        idle = _status_kb(proc.pid, "VmRSS")
        # RSS counts the pages of the shared libraries a process has touched (file-backed: shared with every
        # other process using them, and dropped by the kernel when memory is short) as well as its own
        # (anonymous) memory; a sampler records the largest of each while the pages open.
        largest = {"RssAnon": 0, "RssFile": 0}
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                try:
                    for key in largest:
                        largest[key] = max(largest[key], _status_kb(proc.pid, key))
                except OSError:
                    return
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page()
            for name in pages:
                begin = time.perf_counter()
                page.goto(f"{url}/{'' if name == 'overview' else name}", timeout=180_000)
                page.wait_for_selector("h1", timeout=180_000)
                # The page's script has finished (Streamlit marks the app's root): the status widget can be
                # absent while the script still runs, which read the summary page as ready before its
                # downloads were made.
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
                visited.append((name, time.perf_counter() - begin, _status_kb(proc.pid, "VmRSS")))
            browser.close()
        peak = _status_kb(proc.pid, "VmHWM")
        now = _status_kb(proc.pid, "VmRSS")
        sampling.set()
        sampler.join(timeout=5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    lines = [
        f"- App process idle after start: {idle / 1024:,.0f} MB",
        *(
            f"- after opening {name}: {rss / 1024:,.0f} MB (page ready in {seconds:.1f} s)"
            for name, seconds, rss in visited
        ),
        f"- **peak RSS {peak / 1024:,.0f} MB** (VmHWM), {now / 1024:,.0f} MB at the end",
        f"- of which, at most (sampled every 20 ms): the process's own memory (RssAnon) "
        f"{largest['RssAnon'] / 1024:,.0f} MB; shared library pages it had touched (RssFile) "
        f"{largest['RssFile'] / 1024:,.0f} MB",
    ]
    report.add(f"Memory of the app serving the {label} database (a browser opens every page)", lines)
    report.verdict(f"app peak RSS, {label}", peak / 1024, TARGETS["rss_mb"], higher_is_better=False, unit=" MB")
    return {
        "peak_mb": peak / 1024,
        "idle_mb": idle / 1024,
        "anon_mb": largest["RssAnon"] / 1024,
        "file_mb": largest["RssFile"] / 1024,
    }


# ---------------------------------------------------------------------------------------------- scaling


def monthly_load(path: Path, repeats: int) -> Timing:
    """One more month's PMR (a figure for every series) loaded into the database, then reissued with
    other values (repeats - 1 times): what the secretariat's monthly load costs at this size. Each load
    also remakes the precomputed status table over all history, in its transaction."""
    from opsg_metrics.ingest.load import ingest_bytes

    con = db.connect(path)
    try:
        series = con.execute("SELECT measure, provider FROM measures ORDER BY sort_order").fetchall()
        latest = status.latest_month(con)
        month = words.month_key(date(latest.year + latest.month // 12, latest.month % 12 + 1, 1))
        seconds = []
        for n in range(max(repeats, 1)):
            text = "month,measure,provider,value,status\n" + "".join(f"{month},{m},{p},{90 + n},\n" for m, p in series)
            begin = time.perf_counter()
            result = ingest_bytes(con, text.encode(), f"pmr-{month}-issue-{n + 1}.csv")
            seconds.append(time.perf_counter() - begin)
            if result.outcome != "loaded":
                raise RuntimeError(f"the monthly load was not loaded: {result.message} {result.problems[:3]}")
    finally:
        con.close()
    return Timing(seconds)


def bench_scaling(report: Report, folder: Path, scales: list[float], repeats: int) -> list[dict]:
    rows = []
    for scale in scales:
        out_dir, path = folder / f"scale-{scale}", folder / f"scale-{scale}.duckdb"
        built = stress.build(out_dir, path, scale=scale, progress=None, replace=True)
        con = db.connect(path, read_only=True)
        try:
            status_t, table = timed(lambda con=con: status.status_table(con, live=True), repeats)  # computing
            spc_t, _ = timed(lambda con=con: spc_readings.readings_for_month(con, status.latest_month(con)), repeats)
        finally:
            con.close()
        overview = page_bench.page_times(path, pages=("overview",), repeats=repeats)[0]
        month_t = monthly_load(path, repeats)  # last: it adds a month to the database
        counts = built["counts"]
        rows.append(
            {
                "scale": scale,
                "months": counts["months"],
                "series": counts["series"],
                "figures": counts["figures"],
                "alert_rows": counts["alert_rows"],
                "incidents": counts["incidents"],
                "db_mb": path.stat().st_size / 1e6,
                "alerts_ingest": built["seconds"]["ingest"].get("alerts", 0.0),
                "build": built["seconds"]["total"],
                "status": status_t.median,
                "status_rows": len(table),
                "spc": spc_t.median,
                "overview_rerun": overview["rerun_median_s"],
                "overview_cold": overview["cold_s"],
                "monthly_load": month_t.median,
            }
        )
    base = rows[0]
    lines = [
        "| scale | months | figures | alert rows | DB | build | one month's PMR load | alerts ingest | "
        "status engine (computing) | SPC readings | overview first / rerun |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']:g} | {r['months']} | {r['figures']:,} | {r['alert_rows']:,} | {r['db_mb']:.0f} MB | "
            f"{r['build']:.1f} s | {r['monthly_load'] * 1000:,.0f} ms | {r['alerts_ingest']:.1f} s | "
            f"{r['status'] * 1000:,.0f} ms | {r['spc'] * 1000:,.0f} ms | "
            f"{r['overview_cold'] * 1000:,.0f} / {r['overview_rerun'] * 1000:,.0f} ms |"
        )
    lines.append("")
    lines.append("Growth relative to the smallest size (cost ratio ÷ data ratio; ≤ 1 means no worse than linear):")
    for r in rows[1:]:
        data_ratio = r["figures"] / base["figures"]
        alert_ratio = r["alert_rows"] / base["alert_rows"]
        lines.append(
            f"- scale {r['scale']:g}: figures ×{data_ratio:.1f}, status engine ×{r['status'] / base['status']:.1f} "
            f"(→ {r['status'] / base['status'] / data_ratio:.2f}); alert rows ×{alert_ratio:.1f}, alerts ingest "
            f"×{r['alerts_ingest'] / base['alerts_ingest']:.1f} (→ {r['alerts_ingest'] / base['alerts_ingest'] / alert_ratio:.2f}); "
            f"SPC readings ×{r['spc'] / base['spc']:.1f} (→ {r['spc'] / base['spc'] / data_ratio:.2f}); "
            f"one month's PMR load ×{r['monthly_load'] / base['monthly_load']:.1f} "
            f"(→ {r['monthly_load'] / base['monthly_load'] / data_ratio:.2f})"
        )
    lines.append("")
    lines.append(
        "The build loads every month's PMR one after another, each remaking the precomputed status table "
        "over the history loaded so far; so its total grows faster than the months (towards their square: "
        "the sum of loads that each grow with the history), while one month's load grows linearly (above)."
    )
    report.add("Scaling: three stress sizes", lines)
    return rows


# ------------------------------------------------------------------------------------------------ output


def write_results(report: Report, path: Path, header: list[str], notes: list[str]) -> None:
    out = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks.run`. Medians of repeated runs, with min–max.",
        "The machine is shared and noisy: read the ratios (measured in the same run), not absolute times.",
        "",
        *header,
        "",
        "## Targets",
        "",
        "| measure | measured | target | verdict |",
        "|---|---:|---:|---|",
    ]
    out += [f"| {what} | {measured} | {target} | {verdict} |" for what, measured, target, verdict in report.verdicts]
    for title, lines in report.sections:
        out += ["", f"## {title}", "", *lines]
    if notes:
        out += ["", "## Notes", "", *notes]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--stress-db", type=Path, help="an existing stress database (else one is built)")
    parser.add_argument("--stress-files", type=Path, help="the folder of the stress files (for the alerts file)")
    parser.add_argument("--work", type=Path, help="where databases and files go (default: a temporary folder)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scaling", action="store_true", help="build three stress sizes and measure growth")
    parser.add_argument("--scales", default="0.1,0.3,1.0")
    parser.add_argument("--no-rss", action="store_true", help="skip the browser memory measurement")
    parser.add_argument("--no-capacity", action="store_true", help="skip the concurrent-sessions measurement")
    parser.add_argument("--no-events", action="store_true", help="skip the request records (benchmarks/events.py)")
    parser.add_argument("--events-rows", default="100M", help="rows of the request records' big month (default 100M)")
    parser.add_argument("--smoke", action="store_true", help="tiny data, one repetition: checks the runner works")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="opsg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report = Report()
    repeats = 1 if args.smoke else args.repeats
    header = machine()
    print("\n".join(header), flush=True)
    sample = sample_database(work)
    all_pages = ("overview", "trends") if args.smoke else page_bench.PAGES

    if args.stress_db:
        stress_db, stress_files = args.stress_db, args.stress_files
    else:
        stress_files, stress_db = work / "stress-files", work / "stress.duckdb"
        built = stress.build(stress_files, stress_db, scale=0.01 if args.smoke else 1.0, progress=None, replace=True)
        report.add(
            "Stress database",
            [
                f"- scale {built['scale']:g}: "
                + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in built["counts"].items() if isinstance(v, int)),
                f"- built through the normal ingest in {built['seconds']['total']:.1f} s "
                f"(alerts {built['seconds']['ingest'].get('alerts', 0):.1f} s); peak RSS of the build "
                f"{built.get('peak_rss_mb', 0):,.0f} MB; database {stress_db.stat().st_size / 1e6:.0f} MB",
            ],
        )

    # Each measurement on its own copy: the app (AppTest) holds a database read-write in this process.
    bench_pages(
        report, "sample", copy_db(sample, work, "pages-sample.duckdb"), repeats, all_pages, TARGETS["page_sample"]
    )
    bench_pages(
        report, "stress", copy_db(stress_db, work, "pages-stress.duckdb"), repeats, all_pages, TARGETS["page_stress"]
    )
    for label, path in (("sample", sample), ("stress", stress_db)):
        bench_status(report, label, copy_db(path, work, f"status-{label}.duckdb"), repeats)
    for label, path in (("sample", sample), ("stress", stress_db)):
        bench_clearance(report, label, copy_db(path, work, f"clearance-{label}.duckdb"), repeats)

    alerts = None
    if stress_files:
        candidates = sorted(Path(stress_files).glob("alerts*.csv"))
        alerts = candidates[0] if candidates else None
    if alerts is not None:
        bench_ingest(report, alerts, work, 1 if args.smoke else min(3, repeats))
    bench_export(report, copy_db(sample, work, "export.duckdb"), repeats, None if args.smoke else date(2020, 4, 1))
    bench_summary(report, copy_db(sample, work, "summary.duckdb"), date(2020, 4, 1), repeats)
    bench_minutes(report, copy_db(sample, work, "minutes.duckdb"), repeats)
    bench_record(report, sample, work, repeats, rows=20 if args.smoke else 500)
    if not args.no_rss:
        bench_rss(report, "stress", copy_db(stress_db, work, "rss-stress.duckdb"), all_pages)
    if not args.no_capacity and not args.smoke:
        from . import capacity

        counts = [1, 5, 10, 20]
        results = capacity.run(work, counts)
        report.add(
            "Capacity: one server core, sessions opening every page while a monthly load runs",
            [
                "The production server pinned to one core, the clients (Debian's chromium, loopback) to the "
                "other; a view is a fresh load of a page (Overview, Trends, PMR summary, Meetings and actions, "
                "Incidents, Alerts, Operations), caches warm; the floor is a bare page (a title and a line) on "
                "the same server under the same loads.",
                "",
                *capacity.lines(results),
            ],
        )
    if not args.no_events:
        from opsg_metrics.sample_events import parse_scale

        from . import events as event_bench

        rows = 200_000 if args.smoke else parse_scale(args.events_rows)
        found = event_bench.run(work / "events", sample, rows=rows, repeats=repeats, spark=not args.smoke)
        report.add(
            f"Request records: the load, the waterfall, DuckDB and Spark ({rows:,} rows a month)",
            [
                "Synthetic request records (`python -m opsg_metrics.sample --events`); each step in its own process, "
                "its peak memory its process tree's (Spark's Java process too). A billion rows are the big month's "
                "files read ten times over (the disk then read from the page cache).",
                "",
                *event_bench.lines(found),
            ],
        )
        report.verdict(
            "request records: load / DuckDB's plain read",
            found["load"]["ratio"],
            event_bench.LOAD_AIM,
            higher_is_better=True,
        )
        report.verdict(
            "request records: waterfall / plain aggregate",
            found["waterfall"]["ratio"],
            event_bench.WATERFALL_AIM,
            higher_is_better=False,
        )
    if args.scaling and not args.smoke:
        bench_scaling(report, work / "scaling", [float(s) for s in args.scales.split(",")], min(3, repeats))

    notes = [] if not args.smoke else ["Smoke run: tiny data, one repetition; the figures mean nothing."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_results(report, args.out, header, notes)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
