"""The benchmark runner works end to end on tiny data (the real run is `python -m benchmarks.run`)."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import REPO


def test_the_benchmark_runner_writes_every_section_with_numbers(tmp_path):
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--smoke",
            "--no-rss",
            "--no-capacity",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    for section in (
        "## Targets",
        "## Page reruns, sample database",
        "## Page reruns, stress database",
        "## Status engine, sample database",
        "## Status engine, stress database",
        "## Ingest throughput",
        "## Chart export",
        "## PMR summary",
        "## Review record",
        "## Request records: the load, the waterfall, DuckDB and Spark",
    ):
        assert section in text, section
    # Every target row carries a measured number and a verdict.
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.endswith(("| met |", "| NOT MET |"))]
    assert len(rows) >= 2 * 2 + 2 * 2 + 1 + 4, rows  # pages (2 x 2), status (2 x 2), ingest, export (4)
    assert all(re.search(r"\| [\d,]+\.\d\d", row) for row in rows)
    # The status engines (SQL, pandas, the precomputed table) agree on the data they were run on.
    assert text.count("precomputed table **identical**") == 2
    assert "Python 3." in text and "duckdb " in text
