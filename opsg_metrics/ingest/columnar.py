"""The columnar reader of big alerts files: a plain alerts CSV read by DuckDB column by column, each column's
distinct texts through the same parsers as the row-by-row check (validate.alerts_columns), the row and key
rules as SQL. A file it cannot vouch for is left to the row-by-row check, which words every problem.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from opsg_metrics.ingest.formats import FACT_TABLES, MAX_CELL_CHARS, MAX_CELLS, Prepared, Sheet
from opsg_metrics.ingest.header import check_header, normalise_header
from opsg_metrics.ingest.validate import ALERTS_ROW_RULES_SQL, alerts_columns
from opsg_metrics.store import text as text_rules
from opsg_metrics.store.catalogue import Catalogue

COLUMNAR_TABLE = "columnar_alerts"


def _plain_csv_lines(raw: bytes) -> int | None:
    """The number of lines of a CSV that DuckDB and Python's csv module read alike, or None.

    Alike: no quotes (so no quoted commas or line breaks), no NUL, and line ends of \n or \r\n only.
    Then line n of the file is row n as the row-by-row reader numbers it, provided DuckDB reads one
    row a line: the caller checks the count (a blank line, which the row-by-row reader skips but
    counts, makes it differ)."""
    if not raw or b'"' in raw or b"\x00" in raw or raw[:1] in (b"\n", b"\r"):
        return None
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None
    return raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)


def _map_column(texts: list, parser: Callable, required: bool) -> tuple[list, list] | None:
    """Each distinct text of a column read as the row-by-row check reads a cell; None if one fails."""
    keys, values = [], []
    for text in texts:
        cell = text_rules.trim(text or "")
        if not cell:
            if required:
                return None
            value = None
        else:
            try:
                value = parser(cell)
            except ValueError:
                return None
        keys.append(text or "")
        values.append(value)
    return keys, values


def read_alerts_columnar(
    con: duckdb.DuckDBPyConnection, raw: bytes, label: str, catalogue: Catalogue, kind: str | None
) -> Prepared | None:
    """A valid alerts CSV read by DuckDB into a temp table, or None to read the file row by row.

    A million-row alerts file took ~9 s and ~1.4 GB row by row. Here DuckDB's CSV reader splits the
    cells; each column's distinct texts (a few hundred months, codes and providers; the counts) go
    through the same parsers as the row-by-row check (alerts_columns), and joins put the values back.
    The cross-cell rules and the duplicate-key rule run as SQL. Whenever a file is not plain CSV
    (quotes, blank lines, XLSX, another encoding, a ragged row) or has any problem at all, this
    returns None and the row-by-row check reads it: that check is the one that words the problems,
    so a file is never accepted here that the row-by-row check would refuse, and the same rows load.
    """
    if kind not in (None, "alerts") or raw[:4] == b"PK\x03\x04" or label.lower().endswith((".xlsx", ".xlsm")):
        return None
    lines = _plain_csv_lines(raw)
    if lines is None or lines < 2 or text_rules.UNPRINTABLE_UTF8.search(raw):
        return None
    try:
        header_line = raw[: raw.find(b"\n")].rstrip(b"\r").decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    header = header_line.split(",")
    sheet_kind, positions, header_problems = check_header(Sheet(label, header, []), kind)
    if sheet_kind != "alerts" or header_problems or not all(normalise_header(h) for h in header):
        return None
    names = [f"c{i}" for i in range(len(header))]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    folder = tempfile.mkdtemp(prefix="opsg-ingest-")
    path = Path(folder) / "alerts.csv"
    registered: list[str] = []
    try:
        path.write_bytes(raw)
        try:
            # The table keeps the file's order (DuckDB's preserve_insertion_order, on by default), so a
            # row's rowid, counted from the first row's, is its place in the file. (row_number() OVER ()
            # gave the same numbers but took as long as reading the file: a window over every row.)
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE columnar_raw AS
                    SELECT *
                    FROM read_csv(?, header = false, skip = 1, delim = ',', quote = '"', escape = '"',
                                  auto_detect = false, columns = {columns}, strict_mode = true,
                                  null_padding = false, encoding = 'utf-8')""",
                [str(path)],
            )
        except duckdb.Error:
            return None
        longest = ", ".join(f"max(length({n}))" for n in names)
        count, first_rowid, last_rowid, *lengths = con.execute(
            f"SELECT count(*), min(rowid), max(rowid), {longest} FROM columnar_raw"
        ).fetchall()[0]
        if count != lines - 1 or last_rowid - first_rowid != count - 1:
            return None
        # The limits the row-by-row reader keeps (every column, the ignored x_ ones too): past one, that
        # reader decides, and words the problem.
        if lines * len(names) > MAX_CELLS or any((n or 0) > MAX_CELL_CHARS for n in lengths):
            return None
        selects, joins = [], []
        for name, parser, required in alerts_columns(catalogue):
            if name not in positions:
                selects.append(f"NULL AS {name}")
                continue
            cell = names[positions[name]]
            texts = [row[0] for row in con.execute(f"SELECT DISTINCT {cell} FROM columnar_raw").fetchall()]
            mapped = _map_column(texts, parser, required)
            if mapped is None:
                return None
            view = f"columnar_map_{name}"
            con.register(
                view,
                pa.table(
                    {
                        "text": pa.array(mapped[0], pa.string()),
                        "value": pa.array(mapped[1], FACT_TABLES["alerts"][4].field(name).type),
                    }
                ),
            )
            registered.append(view)
            selects.append(f"{view}.value AS {name}")
            joins.append(f"JOIN {view} ON coalesce(r.{cell}, '') = {view}.text")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {COLUMNAR_TABLE} AS
                SELECT {", ".join(selects)}, (r.rowid - {first_rowid} + 2)::INTEGER AS source_row
                FROM columnar_raw AS r {" ".join(joins)}"""
        )
        broken, duplicated = con.execute(
            f"""SELECT (SELECT count(*) FROM {COLUMNAR_TABLE} WHERE {ALERTS_ROW_RULES_SQL}),
                       (SELECT count(*) FROM (SELECT 1 FROM {COLUMNAR_TABLE}
                                              GROUP BY month, alert_code, provider HAVING count(*) > 1))"""
        ).fetchall()[0]
        if broken or duplicated:
            con.execute(f"DROP TABLE {COLUMNAR_TABLE}")
            return None
        return Prepared("alerts", label, [], lines - 1, table=COLUMNAR_TABLE)
    finally:
        for view in registered:
            con.unregister(view)
        con.execute("DROP TABLE IF EXISTS columnar_raw")
        shutil.rmtree(folder, ignore_errors=True)
