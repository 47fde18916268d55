"""Creating a database: schema, reference data and (optionally) the illustrative sample.

`init --empty` gives the schema, the providers and the measure catalogue;
`init --sample` adds the sample files listed in data/sample/manifest.csv,
loaded through the normal ingest so they meet the same checks as real files.
Both are safe to repeat: an identical file loads as a no-op.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import duckdb

from opsg_metrics.ingest.load import IngestResult, ingest_file
from opsg_metrics.rules import status
from opsg_metrics.store import parse
from opsg_metrics.store.catalogue import MEASURES_FILE, load_providers
from opsg_metrics.store.connect import REPO_ROOT
from opsg_metrics.store.errors import OpsgError

SAMPLE_DIR = REPO_ROOT / "data" / "sample"
CATALOGUE_SOURCE = "OPSG Metrics measure catalogue"


def load_reference_data(con: duckdb.DuckDBPyConnection) -> list[IngestResult]:
    """Providers and the bundled measure catalogue."""
    load_providers(con)
    result = ingest_file(con, MEASURES_FILE, kind="catalogue", source=CATALOGUE_SOURCE)
    if not result.ok:
        raise OpsgError("the bundled catalogue is invalid:\n" + "\n".join(map(str, result.problems)))
    return [result]


def sample_manifest(sample_dir: Path = SAMPLE_DIR) -> list[dict]:
    with open(sample_dir / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_sample(
    con: duckdb.DuckDBPyConnection,
    sample_dir: Path = SAMPLE_DIR,
    progress: Callable[[int, int, IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Every sample file, in manifest order, flagged as sample data."""
    entries = sample_manifest(sample_dir)
    results = []
    for number, entry in enumerate(entries, start=1):
        result = ingest_file(
            con,
            sample_dir / entry["file"],
            kind=entry["kind"],
            source=entry["source"],
            classification=entry["classification"],
            issued=parse.parse_date(entry["issued"]) if entry["issued"] else None,
            is_sample=True,
        )
        if not result.ok:
            raise OpsgError(f"sample file {entry['file']} is invalid:\n" + "\n".join(map(str, result.problems)))
        results.append(result)
        if progress:
            progress(number, len(entries), result)
    return results


def initialise(
    con: duckdb.DuckDBPyConnection, *, sample: bool, progress: Callable[[int, int, IngestResult], None] | None = None
) -> list[IngestResult]:
    results = load_reference_data(con)
    if sample:
        results += load_sample(con, progress=progress)
    status.ensure_cache(con)  # a file made by an older version: its status table is remade
    return results
