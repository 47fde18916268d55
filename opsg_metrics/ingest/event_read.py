"""Reading a CSV file of request records (of any size) for the checks: its header from a bounded first
line, its records streamed by pyarrow into a Parquet file of text cells, each record with its row as the
file has it (the rows pyarrow could not read counted in). ingest/events.py checks and stores what this
reads."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from opsg_metrics.ingest.event_checks import MAX_PROBLEMS
from opsg_metrics.ingest.formats import Problem

MAX_HEADER_BYTES = 65_536  # a first line longer than this is no header


def header_line(path: Path, label: str) -> tuple[list[str], list[Problem]]:
    """A CSV file's header, read from its first line alone (at most MAX_HEADER_BYTES; one byte-order mark
    taken off): its names, or why it has none."""
    with path.open("rb") as handle:
        first = handle.readline(MAX_HEADER_BYTES + 1)
    if len(first) > MAX_HEADER_BYTES:
        return [], [Problem(label, 1, "-", f"the first line is longer than {MAX_HEADER_BYTES:,} bytes: no header")]
    try:
        line = first.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        return [], [Problem(label, 1, "-", "the header is not UTF-8 text (save the file as UTF-8 CSV)")]
    return next(iter(csv.reader([line])), []), []


def physical_rows(first: int, count: int, skipped: list[int]) -> list[int]:
    """The file rows of `count` records read one after another from the `first`-th record read (0-based),
    when the rows `skipped` (file rows, ascending) were not read: each record's row as a spreadsheet
    counts it (the header row 1)."""
    import numpy as np

    logical = np.arange(first, first + count, dtype=np.int64)
    # the record index at which each skipped row falls: its row, less the header's and the skips before it
    at = np.array(skipped, dtype=np.int64) - 2 - np.arange(len(skipped), dtype=np.int64)
    return (logical + 2 + np.searchsorted(at, logical, side="right")).tolist()


def csv_to_parquet(path: Path, header: list[str], target: Path, label: str) -> list[Problem]:
    """A CSV file streamed to Parquet, every column as text, each record with its file row (the header row
    1); a row of another number of cells is a problem (and not read); an empty line is read as a row of
    empty cells (and so refused by the cell rules, at its own row)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    problems: list[Problem] = []
    skipped: list[int] = []

    def bad_row(row: object) -> str:
        # called by pyarrow while it parses: nothing may raise here (it would be printed, not caught)
        try:
            number = int(getattr(row, "number", 0) or 0)
            skipped.append(number)
            if len(problems) < MAX_PROBLEMS:
                cells = getattr(row, "actual_columns", 0)
                problems.append(Problem(label, number, "-", f"{cells} cells where the header has {len(header)}"))
        except Exception:  # noqa: BLE001 - a row pyarrow cannot even describe is still skipped, and said
            problems.append(Problem(label, 0, "-", "a row that cannot be read"))
        return "skip"

    # A row pyarrow cannot even decode fails inside its own call of bad_row, where nothing can catch it:
    # Python would print it as a traceback. It is a problem of the file, said as one. (open_csv already
    # parses the first block.)
    unraisable = sys.unraisablehook
    sys.unraisablehook = lambda _raised: problems.append(Problem(label, 0, "-", "a row that is not UTF-8 text"))
    read = 0
    writer = None
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=16 << 20, use_threads=False),
            parse_options=pacsv.ParseOptions(
                invalid_row_handler=bad_row, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            numbers = pa.array(physical_rows(read, batch.num_rows, sorted(skipped)), type=pa.int64())
            table = pa.Table.from_batches([batch]).append_column("source_row", numbers)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table)
            read += batch.num_rows
    finally:
        sys.unraisablehook = unraisable
        if writer is not None:
            writer.close()
    if writer is None:
        pq.write_table(
            pa.table({**{n: pa.array([], pa.string()) for n in header}, "source_row": pa.array([], pa.int64())}), target
        )
    return problems
