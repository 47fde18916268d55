"""The columnar reader of plain alerts CSVs (ingest.read_alerts_columnar) against the row-by-row check.

Its contract: it never accepts a file the row-by-row check would reject, and a file it accepts loads
exactly the rows the row-by-row check would load. Every test here loads the same bytes twice, into
two fresh databases: once as ingest does (the columnar reader first), once with the columnar reader
forced off, and compares the results, the rows and the bookkeeping.
"""

from __future__ import annotations

import contextlib
import functools
import io
import tempfile
import textwrap
from dataclasses import dataclass
from datetime import date
from unittest import mock

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest import load as ingest
from opsg_metrics.ingest import stage as ingest_stage
from opsg_metrics.ingest.bootstrap import load_reference_data
from opsg_metrics.ingest.load import IngestResult, Prepared
from opsg_metrics.store import connect as db
from opsg_metrics.store.catalogue import Catalogue

ALERT_ROWS = (
    "SELECT month, alert_code, provider, volume, devices, first_time_devices, source_row FROM alerts ORDER BY ALL"
)
FACT_TABLES = ("measure_values", "incidents", "alerts", "ops_figures", "annotations", "measures", "service_levels")
TEMP_TABLES = "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1"
TEMP_VIEWS = "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal ORDER BY 1"


def fresh_db():
    con = db.connect(":memory:")
    load_reference_data(con)
    return con


def state(con) -> dict:
    """Everything a load may change, without the clock (loaded_at) and the user (loaded_by)."""
    found = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in FACT_TABLES}
    found["sources"] = con.execute(
        "SELECT source_id, label, kind, classification, issued_on, file_name, sha256, is_sample "
        "FROM sources ORDER BY source_id"
    ).fetchall()
    found["ingest_log"] = con.execute(
        "SELECT ingest_id, file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome, message "
        "FROM ingest_log ORDER BY ingest_id"
    ).fetchall()
    return found


def leftovers(con) -> list:
    """Temp tables and views (registered Arrow tables show as temp views) still on the connection."""
    return con.execute(TEMP_TABLES).fetchall() + con.execute(TEMP_VIEWS).fetchall()


@contextlib.contextmanager
def columnar_reader(fast: bool, returned: list):
    """ingest.read_alerts_columnar as is (fast) or forced to decline, recording what it returned."""
    real = ingest.read_alerts_columnar

    def spy(*args, **kwargs):
        value = real(*args, **kwargs) if fast else None
        returned.append(value)
        return value

    with mock.patch.object(ingest, "read_alerts_columnar", spy):
        yield


@dataclass
class Load:
    result: IngestResult
    alerts: list  # ALERT_ROWS after the load
    state: dict  # state() after the load
    unchanged: bool  # state() is the same as before the load
    columnar: list  # what read_alerts_columnar returned (one entry per call)
    leftovers: list


def load(raw: bytes, name: str = "alerts.csv", *, fast: bool, con=None, **options) -> Load:
    """Ingest raw into a fresh database (or con), with the columnar reader on (fast) or forced off."""
    own = con is None
    con = fresh_db() if own else con
    try:
        before = state(con)
        returned: list = []
        with columnar_reader(fast, returned):
            result = ingest.ingest_bytes(con, raw, name, **options)
        after = state(con)
        return Load(result, con.execute(ALERT_ROWS).fetchall(), after, after == before, returned, leftovers(con))
    finally:
        if own:
            con.close()


def load_both(raw: bytes, name: str = "alerts.csv", **options) -> tuple[Load, Load]:
    """The same bytes loaded the normal way and row by row; asserts they agree in every respect."""
    fast, slow = load(raw, name, fast=True, **options), load(raw, name, fast=False, **options)
    # prepare() asked the columnar reader once (unless the kind was not even a kind) and was told no.
    assert slow.columnar == [None] or (slow.columnar == fast.columnar == [] and slow.result.outcome == "rejected")
    assert fast.result == slow.result, (str_problems(fast.result), str_problems(slow.result))
    assert fast.alerts == slow.alerts
    assert fast.state == slow.state
    assert fast.leftovers == [] and slow.leftovers == []
    if slow.result.outcome == "rejected":
        # Never accepted when the row-by-row check rejects; and a rejection writes nothing.
        assert fast.columnar in ([None], [])
        assert fast.unchanged and slow.unchanged
        assert slow.result.problems
    return fast, slow


def str_problems(result: IngestResult) -> list[str]:
    return [str(p) for p in result.problems]


def as_text(rows: list) -> list[tuple]:
    """Alerts rows with the month as YYYY-MM, for readable expectations."""
    return [(m.strftime("%Y-%m"), *rest) for m, *rest in rows]


@functools.cache
def reader_db():
    """One database for direct calls of the reader: they write nothing but temp tables, checked gone after each."""
    return fresh_db()


def read_columnar(raw: bytes, label: str = "alerts.csv", kind: str | None = None):
    """read_alerts_columnar called directly: (Prepared or None, the rows of its table, leftovers)."""
    con = reader_db()
    part = ingest.read_alerts_columnar(con, raw, label, Catalogue.from_db(con), kind)
    rows = None
    if part is not None:
        rows = con.execute(
            "SELECT month, alert_code, provider, volume, devices, first_time_devices, source_row "
            f"FROM {part.table} ORDER BY source_row"
        ).fetchall()
        con.execute(f"DROP TABLE {part.table}")
    return part, rows, leftovers(con)


def row_by_row_records(raw: bytes, label: str = "alerts.csv", kind: str | None = None):
    """What prepare() without a connection (the row-by-row check) makes of the file."""
    prepared, problems = ingest.prepare(raw, label, Catalogue.from_db(reader_db()), kind)
    rows = sorted(
        (
            (
                r["month"],
                r["alert_code"],
                r["provider"],
                r["volume"],
                r["devices"],
                r["first_time_devices"],
                r["source_row"],
            )
            for part in prepared
            for r in part.records
        ),
        key=lambda r: r[-1],
    )
    return prepared, problems, rows


def text(body: str, *, newline: str = "\n", final: bool = True, bom: bool = False) -> bytes:
    """CSV bytes from dedented lines, with the line ends, final line end and BOM asked for."""
    lines = textwrap.dedent(body).strip("\n").split("\n")
    raw = newline.join(lines) + (newline if final else "")
    return (b"\xef\xbb\xbf" if bom else b"") + raw.encode("utf-8")


# ------------------------------------------------------------------ 1. files the columnar reader accepts

REQUIRED_ONLY = """
month,alert_code,provider,volume
2020-04,8F3E,CSP N,10
2020-05,8014,DSP,0
2020-05,8F3E,CSP N,7
"""
REQUIRED_ONLY_ROWS = [
    ("2020-04", "8F3E", "CSP N", 10, None, None, 2),
    ("2020-05", "8014", "DSP", 0, None, None, 3),
    ("2020-05", "8F3E", "CSP N", 7, None, None, 4),
]

ACCEPTED = {
    "required_columns_only": (text(REQUIRED_ONLY), REQUIRED_ONLY_ROWS),
    "both_optional_columns": (
        text("""
        month,alert_code,provider,volume,devices,first_time_devices
        2020-04,8F3E,CSP N,10,7,3
        2020-04,8F3E,DSP,5,5,5
        2020-05,8F3E,CSP N,4,,
        2020-06,8F3E,CSP N,4,2,
        2020-07,8F3E,CSP N,0,0,0
        """),
        [
            ("2020-04", "8F3E", "CSP N", 10, 7, 3, 2),
            ("2020-04", "8F3E", "DSP", 5, 5, 5, 3),
            ("2020-05", "8F3E", "CSP N", 4, None, None, 4),
            ("2020-06", "8F3E", "CSP N", 4, 2, None, 5),
            ("2020-07", "8F3E", "CSP N", 0, 0, 0, 6),
        ],
    ),
    "devices_only": (
        text("month,alert_code,provider,volume,devices\n2020-04,8F3E,CSP N,10,7\n2020-05,8F3E,CSP N,10,\n"),
        [("2020-04", "8F3E", "CSP N", 10, 7, None, 2), ("2020-05", "8F3E", "CSP N", 10, None, None, 3)],
    ),
    # Without a devices column nothing bounds first_time_devices but itself.
    "first_time_devices_only": (
        text("month,alert_code,provider,volume,first_time_devices\n2020-04,8F3E,CSP N,10,50\n"),
        [("2020-04", "8F3E", "CSP N", 10, None, 50, 2)],
    ),
    "x_columns_anywhere_and_never_read": (
        text(
            "month,x_comment,alert_code,provider,volume,X_Source\n"
            "2020-04,anything: 2020-13 -1 Mars,8F3E,CSP N,10,\n"
            "2020-05,,8F3E,CSP N,11,pmr\n"
        ),
        [("2020-04", "8F3E", "CSP N", 10, None, None, 2), ("2020-05", "8F3E", "CSP N", 11, None, None, 3)],
    ),
    "utf8_bom": (text(REQUIRED_ONLY, bom=True), REQUIRED_ONLY_ROWS),
    "crlf_line_ends": (text(REQUIRED_ONLY, newline="\r\n"), REQUIRED_ONLY_ROWS),
    "no_final_newline": (text(REQUIRED_ONLY, final=False), REQUIRED_ONLY_ROWS),
    "crlf_bom_and_no_final_newline": (text(REQUIRED_ONLY, newline="\r\n", final=False, bom=True), REQUIRED_ONLY_ROWS),
    "spaces_and_tabs_around_cells": (
        text(
            "month , alert_code,provider ,volume,devices\n"
            "  2020-04 ,\t8f3e ,  CSP North  , 10 , 3 \n"
            "2020-05\t,8014,\tDSP , 0,\t\n"
        ),
        [("2020-04", "8F3E", "CSP N", 10, 3, None, 2), ("2020-05", "8014", "DSP", 0, None, None, 3)],
    ),
    "provider_names_and_aliases": (
        text(
            "month,alert_code,provider,volume\n"
            "2020-04,8F3E,CSP North,1\n2020-05,8F3E,north,2\n2020-06,8F3E,CSPN,3\n2020-07,8F3E,csp-n,4\n"
            "2020-04,8F3E,South,5\n2020-04,8F3E,csp central & south,6\n2020-04,8F3E,Data Service Provider,7\n"
            "2020-04,8F3E,dcc,8\n"
        ),
        [
            ("2020-04", "8F3E", "CSP C&S", 6, None, None, 7),
            ("2020-04", "8F3E", "CSP N", 1, None, None, 2),
            ("2020-04", "8F3E", "CSP S", 5, None, None, 6),
            ("2020-04", "8F3E", "DCC", 8, None, None, 9),
            ("2020-04", "8F3E", "DSP", 7, None, None, 8),
            ("2020-05", "8F3E", "CSP N", 2, None, None, 3),
            ("2020-06", "8F3E", "CSP N", 3, None, None, 4),
            ("2020-07", "8F3E", "CSP N", 4, None, None, 5),
        ],
    ),
    "lower_case_codes_and_0x_prefix": (
        text(
            "month,alert_code,provider,volume\n"
            "2020-04,8f3e,CSP N,1\n2020-04,0x8014,CSP N,2\n2020-04,0X00ff,CSP N,3\n2020-04,0xAbCd,CSP N,4\n"
        ),
        [
            ("2020-04", "00FF", "CSP N", 3, None, None, 4),
            ("2020-04", "8014", "CSP N", 2, None, None, 3),
            ("2020-04", "8F3E", "CSP N", 1, None, None, 2),
            ("2020-04", "ABCD", "CSP N", 4, None, None, 5),
        ],
    ),
    "month_formats": (
        text(
            "month,alert_code,provider,volume\n"
            "2020-04,8F3E,CSP N,1\nApr 2021,8F3E,CSP N,2\n04/2022,8F3E,CSP N,3\n2023-04-01,8F3E,CSP N,4\n"
            "August 2020,8F3E,CSP N,5\n9/2020,8F3E,CSP N,6\nOct. 2020,8F3E,CSP N,7\n2020-11-01 00:00,8F3E,CSP N,8\n"
            "2020-1,8F3E,CSP N,9\n"
        ),
        [
            ("2020-01", "8F3E", "CSP N", 9, None, None, 10),
            ("2020-04", "8F3E", "CSP N", 1, None, None, 2),
            ("2020-08", "8F3E", "CSP N", 5, None, None, 6),
            ("2020-09", "8F3E", "CSP N", 6, None, None, 7),
            ("2020-10", "8F3E", "CSP N", 7, None, None, 8),
            ("2020-11", "8F3E", "CSP N", 8, None, None, 9),
            ("2021-04", "8F3E", "CSP N", 2, None, None, 3),
            ("2022-04", "8F3E", "CSP N", 3, None, None, 4),
            ("2023-04", "8F3E", "CSP N", 4, None, None, 5),
        ],
    ),
    "header_case_spaces_hyphens_and_order": (
        text("Volume,First-Time Devices, Alert Code ,PROVIDER,DEVICES,Month\n12,2,8F3E,CSP N,4,2020-04\n"),
        [("2020-04", "8F3E", "CSP N", 12, 4, 2, 2)],
    ),
    "counts_written_otherwise": (
        text("month,alert_code,provider,volume,devices\n2020-04,8F3E,CSP N,007,5e0\n2020-05,8F3E,CSP N,12.0,+3\n"),
        [("2020-04", "8F3E", "CSP N", 7, 5, None, 2), ("2020-05", "8F3E", "CSP N", 12, 3, None, 3)],
    ),
    "single_row": (
        text("month,alert_code,provider,volume\n2020-04,8F3E,CSP N,1"),
        [("2020-04", "8F3E", "CSP N", 1, None, None, 2)],
    ),
}


@pytest.mark.parametrize("raw, expected", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_columnar_reader_accepts_a_plain_valid_file_and_reads_what_the_row_by_row_check_reads(raw, expected):
    part, table_rows, left = read_columnar(raw)
    assert isinstance(part, Prepared) and part.table, "the columnar reader declined a plain valid alerts file"
    assert (part.kind, part.label, part.records, part.rows_read) == ("alerts", "alerts.csv", [], len(expected))
    assert left == []  # only its result table was left, and the caller dropped it
    prepared, problems, records = row_by_row_records(raw)
    assert problems == [] and [p.rows_read for p in prepared] == [len(expected)]
    assert table_rows == records
    assert sorted(as_text(table_rows)) == sorted(expected)


@pytest.mark.parametrize("raw, expected", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_file_loaded_through_the_columnar_reader_is_loaded_as_row_by_row(raw, expected):
    fast, slow = load_both(raw)
    assert len(fast.columnar) == 1 and isinstance(fast.columnar[0], Prepared)
    result = fast.result
    assert result.outcome == "loaded" and result.kinds == ["alerts"]
    assert (result.rows_read, result.new, result.revised, result.unchanged) == (len(expected), len(expected), 0, 0)
    assert (
        result.message
        == f"loaded {len(expected)} rows as source 'alerts.csv' ({len(expected)} new, 0 revised, 0 unchanged)"
    )
    assert as_text(fast.alerts) == sorted(expected)
    assert fast.state["ingest_log"][-1][5:8] == (len(expected), len(expected), "loaded")


def test_revisions_through_the_columnar_reader_count_as_row_by_row():
    # With and without the optional columns: a column left out is NULL, and NULL against a number is a change.
    files = [
        text(REQUIRED_ONLY),
        text(
            "month,alert_code,provider,volume,devices\n"
            "2020-04,8F3E,CSP N,10,\n2020-05,8014,DSP,3,1\n2020-06,8F3E,CSP N,1,\n"
        ),
        text(
            "month,alert_code,provider,volume,first_time_devices\n"
            "2020-04,8F3E,CSP N,10,\n2020-05,8014,DSP,3,\n2020-06,8F3E,CSP N,1,1\n"
        ),
    ]
    loads = {}
    for fast in (True, False):
        con = fresh_db()
        try:
            loads[fast] = [
                load(raw, f"{i}.csv", fast=fast, con=con, source=f"issue {i}") for i, raw in enumerate(files)
            ]
        finally:
            con.close()
    assert [isinstance(one.columnar[0], Prepared) for one in loads[True]] == [True, True, True]
    assert [one.result for one in loads[True]] == [one.result for one in loads[False]]
    assert loads[True][-1].state == loads[False][-1].state
    assert [(r.new, r.revised, r.unchanged) for r in (one.result for one in loads[True])] == [
        (3, 0, 0),
        (1, 1, 1),
        (0, 2, 1),
    ]


def test_a_dry_run_through_the_columnar_reader_matches_row_by_row_and_writes_nothing():
    fast, slow = load_both(text(REQUIRED_ONLY), dry_run=True)
    assert isinstance(fast.columnar[0], Prepared)
    assert fast.result.outcome == "checked" and fast.result.new == 3
    assert fast.unchanged and slow.unchanged


# ------------------------------------------------------------------ 2. files it must decline

H4 = "month,alert_code,provider,volume\n"
H6 = "month,alert_code,provider,volume,devices,first_time_devices\n"
GOOD = "2020-04,8F3E,CSP N,10\n"


def many_good_rows(n: int) -> str:
    return "".join(f"2020-04,{i:04X},CSP N,{i}\n" for i in range(n))


def xlsx_alerts() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "alerts"
    sheet.append(["month", "alert_code", "provider", "volume"])
    sheet.append(["2020-04", "8F3E", "CSP N", 12])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# name -> (bytes, kind, file name, expected: ('loaded', row count) or ('rejected', {(row, column), ...}))
DECLINED = {
    # --- valid files, but not plain: the row-by-row check reads them
    "quoted_cells": ((H4 + '2020-04,8F3E,"CSP N","12,500"\n').encode(), None, "a.csv", ("loaded", 1)),
    "quoted_header": (('"month","alert_code",provider,volume\n' + GOOD).encode(), None, "a.csv", ("loaded", 1)),
    "quoted_bad_cell": ((H4 + '2020-04,8F3E,CSP N,"1,5"\n').encode(), None, "a.csv", ("rejected", {(2, "volume")})),
    "blank_line_in_the_middle": ((H4 + GOOD + "\n2020-05,8F3E,CSP N,11\n").encode(), None, "a.csv", ("loaded", 2)),
    "blank_line_then_bad_cell": (
        (H4 + GOOD + "\n2020-05,8F3E,CSP N,x\n").encode(),
        None,
        "a.csv",
        ("rejected", {(4, "volume")}),
    ),
    "blank_crlf_lines_then_bad_cells": (
        (H4 + GOOD + "\n\n2020-13,8F3E,CSP N,1\n2020-05,8G3E,CSP N,1\n").replace("\n", "\r\n").encode(),
        None,
        "a.csv",
        ("rejected", {(5, "month"), (6, "alert_code")}),
    ),
    "blank_lines_at_the_end": ((H4 + GOOD + "\n\n").encode(), None, "a.csv", ("loaded", 1)),
    "blank_line_before_the_header": (("\n" + H4 + GOOD).encode(), None, "a.csv", ("loaded", 1)),
    "spaces_line_before_the_header": ((" \n" + H4 + GOOD).encode(), None, "a.csv", ("loaded", 1)),
    "line_of_only_commas": ((H4 + ",,,\n" + GOOD).encode(), None, "a.csv", ("loaded", 1)),
    "line_of_only_commas_then_bad_cell": (
        (H4 + ",,,\n2020-05,8F3E,CSP N,-1\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "volume")}),
    ),
    "line_of_blank_cells": ((H4 + " ,\t, ,  \n" + GOOD).encode(), None, "a.csv", ("loaded", 1)),
    "lone_cr_line_ends": (
        (H4 + GOOD + "2020-05,8F3E,CSP N,11\n").replace("\n", "\r").encode(),
        None,
        "a.csv",
        ("loaded", 2),
    ),
    "lone_cr_among_crlf": (
        (H4.replace("\n", "\r\n") + GOOD.replace("\n", "\r") + "2020-05,8F3E,CSP N,11\r\n").encode(),
        None,
        "a.csv",
        ("loaded", 2),
    ),
    # A lone CR inside a line ends the row for the row-by-row reader (and so for Excel), never a cell's text.
    "lone_cr_inside_a_row": (
        (H4.rstrip("\n") + ",x_a\n2020-04,8F3E,CSP N,1\r,x\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month"), (3, "alert_code"), (3, "provider"), (3, "volume")}),
    ),
    "lone_cr_inside_an_x_cell": (
        (H4.rstrip("\n") + ",x_a\n2020-04,8F3E,CSP N,1,a\rb\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month"), (3, "alert_code"), (3, "provider"), (3, "volume")}),
    ),
    "lone_cr_then_duplicate": (
        (H4 + GOOD + GOOD).replace("\n", "\r").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month")}),
    ),
    "row_with_too_many_cells": (
        (H4 + "2020-04,8F3E,CSP N,10,9\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "column 5")}),
    ),
    "row_with_too_many_cells_late": (
        (H4 + many_good_rows(3000) + "2020-05,8F3E,CSP N,10,9\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3002, "column 5")}),
    ),
    "row_with_too_few_cells_optional_missing": (
        (H6 + "2020-04,8F3E,CSP N,10\n2020-05,8F3E,CSP N,10,3\n").encode(),
        None,
        "a.csv",
        ("loaded", 2),
    ),
    "row_with_too_few_cells_required_missing": (
        (H4 + GOOD + "2020-05,8F3E,CSP N\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "volume")}),
    ),
    # --- every kind of bad cell
    "month_13": ((H4 + "2020-13,8F3E,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(2, "month")})),
    "month_not_its_first_day": (
        (H4 + "2020-04-02,8F3E,CSP N,1\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "month")}),
    ),
    "month_year_out_of_range": ((H4 + "1999-12,8F3E,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(2, "month")})),
    "month_unknown_name": ((H4 + "Foo 2020,8F3E,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(2, "month")})),
    "code_not_hex": ((H4 + "2020-04,8G3E,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(2, "alert_code")})),
    "code_too_short": ((H4 + "2020-04,8F3,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(2, "alert_code")})),
    "code_too_long_after_0x": (
        (H4 + "2020-04,0x8F3E1,CSP N,1\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "alert_code")}),
    ),
    "unknown_provider": ((H4 + "2020-04,8F3E,Mars,1\n").encode(), None, "a.csv", ("rejected", {(2, "provider")})),
    "negative_volume": ((H4 + "2020-04,8F3E,CSP N,-1\n").encode(), None, "a.csv", ("rejected", {(2, "volume")})),
    "fractional_volume": ((H4 + "2020-04,8F3E,CSP N,1.5\n").encode(), None, "a.csv", ("rejected", {(2, "volume")})),
    "word_volume": ((H4 + "2020-04,8F3E,CSP N,ten\n").encode(), None, "a.csv", ("rejected", {(2, "volume")})),
    "huge_volume": (
        (H4 + "2020-04,8F3E,CSP N,99999999999999999999\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "volume")}),
    ),
    "NULL_written_as_a_count": (
        (H6 + "2020-04,8F3E,CSP N,10,NULL,\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "devices")}),
    ),
    "backslash_N_as_a_count": (
        (H6 + "2020-04,8F3E,CSP N,10,,\\N\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "first_time_devices")}),
    ),
    "negative_devices": ((H6 + "2020-04,8F3E,CSP N,10,-2,\n").encode(), None, "a.csv", ("rejected", {(2, "devices")})),
    "fractional_first_time_devices": (
        (H6 + "2020-04,8F3E,CSP N,10,5,2.5\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "first_time_devices")}),
    ),
    "empty_month": ((H4 + GOOD + ",8F3E,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(3, "month")})),
    "empty_code": ((H4 + GOOD + "2020-05,,CSP N,1\n").encode(), None, "a.csv", ("rejected", {(3, "alert_code")})),
    "blank_provider": ((H4 + GOOD + "2020-05,8F3E,  ,1\n").encode(), None, "a.csv", ("rejected", {(3, "provider")})),
    "empty_volume": ((H4 + GOOD + "2020-05,8F3E,CSP N,\n").encode(), None, "a.csv", ("rejected", {(3, "volume")})),
    "every_cell_bad": (
        (H6 + "2020-13,8G3E,Mars,-1,x,y\n").encode(),
        None,
        "a.csv",
        (
            "rejected",
            {
                (2, "month"),
                (2, "alert_code"),
                (2, "provider"),
                (2, "volume"),
                (2, "devices"),
                (2, "first_time_devices"),
            },
        ),
    ),
    "bad_cell_deep_in_a_big_file": (
        (H4 + many_good_rows(5000) + "2020-05,8F3E,CSP N,1.5\n").encode(),
        None,
        "a.csv",
        ("rejected", {(5002, "volume")}),
    ),
    # --- duplicate keys, as written and as read
    "duplicate_rows": ((H4 + GOOD + GOOD).encode(), None, "a.csv", ("rejected", {(3, "month")})),
    "duplicate_month_written_two_ways": (
        (H4 + GOOD + "Apr 2020,8F3E,CSP N,11\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month")}),
    ),
    "duplicate_month_04_2020_and_first_day": (
        (H4 + "04/2020,8F3E,CSP N,1\n2020-04-01,8F3E,CSP N,2\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month")}),
    ),
    "duplicate_code_written_two_ways": (
        (H4 + GOOD + "2020-04,0x8f3e,CSP N,11\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month")}),
    ),
    "duplicate_provider_written_two_ways": (
        (H4 + GOOD + "2020-04,8F3E,North,11\n").encode(),
        None,
        "a.csv",
        ("rejected", {(3, "month")}),
    ),
    "duplicate_far_apart": (
        (H4 + GOOD + many_good_rows(3000) + GOOD).encode(),
        None,
        "a.csv",
        ("rejected", {(3003, "month")}),
    ),
    # --- rules across the cells of a row
    "devices_more_than_volume": (
        (H6 + "2020-04,8F3E,CSP N,10,11,\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "devices")}),
    ),
    "first_time_devices_more_than_devices": (
        (H6 + "2020-04,8F3E,CSP N,10,5,6\n").encode(),
        None,
        "a.csv",
        ("rejected", {(2, "first_time_devices")}),
    ),
    # --- encodings
    "windows_1252_in_an_x_column": (
        (H4.rstrip("\n") + ",x_note\n2020-04,8F3E,CSP N,10,café\n").encode("cp1252"),
        None,
        "a.csv",
        ("loaded", 1),
    ),
    # A no-break space is not trimmed away (it would fold a look-alike into the id): refused by name.
    "windows_1252_no_break_space_after_a_provider": (
        (H4 + "2020-04,8F3E,North\xa0,10\n").encode("cp1252"),
        None,
        "a.csv",
        ("rejected", {(2, "provider")}),
    ),
    "windows_1252_unknown_provider": (
        (H4 + "2020-04,8F3E,Noré,10\n").encode("cp1252"),
        None,
        "a.csv",
        ("rejected", {(2, "provider")}),
    ),
    "utf8_bom_then_windows_1252": (
        b"\xef\xbb\xbf" + (H4.rstrip("\n") + ",x_note\n2020-04,8F3E,CSP N,10,café\n").encode("cp1252"),
        None,
        "a.csv",
        ("rejected", {(1, "header")}),
    ),
    "utf8_bom_then_windows_1252_deep_in_the_file": (
        b"\xef\xbb\xbf"
        + (
            H4.rstrip("\n") + ",x_note\n" + many_good_rows(5000).replace("\n", ",\n") + "2020-05,8F3E,CSP N,10,café\n"
        ).encode("cp1252"),
        None,
        "a.csv",
        ("rejected", {(1, "header")}),
    ),
    "invalid_in_utf8_and_windows_1252": (
        (H4.rstrip("\n") + ",x_note\n2020-04,8F3E,CSP N,10,").encode() + b"\x81\n",
        None,
        "a.csv",
        ("rejected", {(1, "header")}),
    ),
    "utf8_surrogate_in_an_x_column": (
        (H4.rstrip("\n") + ",x_note\n2020-04,8F3E,CSP N,10,").encode() + b"\xed\xa0\x80\n",
        None,
        "a.csv",
        ("loaded", 1),
    ),
    # --- headers
    "empty_column_name_without_data": (
        (b"month,,alert_code,provider,volume\n2020-04,,8F3E,CSP N,1\n"),
        None,
        "a.csv",
        ("loaded", 1),
    ),
    "empty_column_name_with_data": (
        (b"month,,alert_code,provider,volume\n2020-04,zz,8F3E,CSP N,1\n"),
        None,
        "a.csv",
        ("rejected", {(1, "column 2")}),
    ),
    "header_with_a_trailing_comma": (
        (H4.rstrip("\n") + ",\n" + GOOD.rstrip("\n") + ",\n").encode(),
        None,
        "a.csv",
        ("loaded", 1),
    ),
    "duplicate_column": (
        (b"month,alert_code,provider,volume,Volume\n2020-04,8F3E,CSP N,1,2\n"),
        None,
        "a.csv",
        ("rejected", {(1, "volume")}),
    ),
    "unknown_column": (
        (b"month,alert_code,provider,volume,colour\n2020-04,8F3E,CSP N,1,red\n"),
        None,
        "a.csv",
        ("rejected", {(1, "colour")}),
    ),
    "missing_volume_column": (
        (b"month,alert_code,provider\n2020-04,8F3E,CSP N\n"),
        None,
        "a.csv",
        ("rejected", {(1, "volume")}),
    ),
    "header_only": (H4.encode(), None, "a.csv", ("rejected", {(2, "-")})),
    "header_only_crlf": (H4.replace("\n", "\r\n").encode(), None, "a.csv", ("rejected", {(2, "-")})),
    "empty_file": (b"", None, "a.csv", ("rejected", {(1, "header")})),
    "nul_byte": ((H4 + "2020-04,8F3E,CSP N,1\x00\n").encode(), None, "a.csv", ("rejected", {(1, "header")})),
    # --- kinds
    "kind_measures_forced_on_an_alerts_file": (
        (H4 + GOOD).encode(),
        "measures",
        "a.csv",
        ("rejected", {(1, "header"), (1, "measure"), (1, "value"), (1, "alert_code"), (1, "volume")}),
    ),
    "kind_alerts_forced_on_a_measures_file": (
        b"month,measure,provider,value\n2020-04,CPM1,DCC,97\n",
        "alerts",
        "a.csv",
        ("rejected", {(1, "header"), (1, "alert_code"), (1, "volume"), (1, "measure"), (1, "value")}),
    ),
    "measures_header_with_no_kind": (
        b"month,measure,provider,value\n2020-04,CPM1,DCC,97\n",
        None,
        "a.csv",
        ("loaded", 1),
    ),
    "ops_header_with_no_kind": (
        b"month,metric,provider,value,unit\n2021-08,changes implemented,DCC,211,count\n",
        None,
        "a.csv",
        ("loaded", 1),
    ),
    "unknown_kind_name": ((H4 + GOOD).encode(), "alert", "a.csv", ("rejected", {(1, "header")})),
    "xlsx_workbook": (xlsx_alerts(), None, "a.xlsx", ("loaded", 1)),
    "alerts_csv_named_xlsx": ((H4 + GOOD).encode(), None, "a.xlsx", ("rejected", {(1, "header")})),
}


@pytest.mark.parametrize("raw, kind, name, expected", DECLINED.values(), ids=DECLINED.keys())
def test_the_columnar_reader_declines_and_the_row_by_row_check_decides(raw, kind, name, expected):
    part, _, left = read_columnar(raw, name, kind)
    assert part is None
    assert left == []
    fast, slow = load_both(raw, name, kind=kind)
    assert fast.columnar == ([] if kind == "alert" else [None])
    outcome, detail = expected
    assert fast.result.outcome == outcome, str_problems(fast.result)
    if outcome == "rejected":
        assert {(p.row, p.column) for p in fast.result.problems} == detail, str_problems(fast.result)
        assert all(p.file == name for p in fast.result.problems)
        assert fast.unchanged
    else:
        assert fast.result.rows_read == detail and fast.result.new == detail


def test_rows_after_blank_and_comma_only_lines_keep_their_line_numbers():
    raw = (H4 + GOOD + "\n,,,\n \n2020-05,8F3E,CSP N,11\r\n").encode()
    assert read_columnar(raw)[0] is None
    fast, _ = load_both(raw)
    assert fast.result.outcome == "loaded"
    assert as_text(fast.alerts) == [
        ("2020-04", "8F3E", "CSP N", 10, None, None, 2),
        ("2020-05", "8F3E", "CSP N", 11, None, None, 6),
    ]


# Files where it does not matter which way they are read, only that both agree.
EITHER_WAY = {
    "mixed_line_ends": (H4 + GOOD + "2020-05,8F3E,CSP N,11\r\n2020-06,8F3E,CSP N,12\n").encode(),
    "mixed_line_ends_crlf_header": (H4.replace("\n", "\r\n") + GOOD + "2020-05,8F3E,CSP N,11\r\n").encode(),
    # Line ends that change after DuckDB's sample of the first 20,480 rows.
    "crlf_then_lf_beyond_the_sample": (
        H4.replace("\n", "\r\n")
        + many_good_rows(21_000).replace("\n", "\r\n")
        + "2020-05,8F3E,CSP N,1\n2020-06,8F3E,CSP N,2\n"
    ).encode(),
    "lf_then_crlf_beyond_the_sample": (
        H4 + many_good_rows(21_000) + "2020-05,8F3E,CSP N,1\r\n2020-06,8F3E,CSP N,\r\n"
    ).encode(),
    "trailing_comma_on_a_row": (H4 + "2020-04,8F3E,CSP N,10,\n2020-05,8F3E,CSP N,11\n").encode(),
    "trailing_comma_and_space": (H4 + "2020-04,8F3E,CSP N,10, \n").encode(),
    "trailing_comma_fills_optional": (H6 + "2020-04,8F3E,CSP N,10,\n").encode(),
    "two_trailing_commas": (H6 + "2020-04,8F3E,CSP N,10,5,1,,\n").encode(),
    "short_row_then_trailing_comma": (H4 + "2020-04,8F3E,CSP N,,\n").encode(),
    "unicode_no_break_space_in_provider": (H4 + "2020-04,8F3E,CSP\u00a0N,5\n").encode(),
    "unicode_spaces_around_cells": (H4 + "\u20032020-04\u00a0,8F3E\u2028,\u0085CSP N,5\u3000\n").encode(),
    "ascii_separators_around_a_count": (H4 + "2020-04,8F3E,CSP N,1\x1c\n2020-05,8F3E,CSP N,\x1f2\n").encode(),
    "vertical_tab_and_form_feed": (H4 + "2020-04,8F3E,CSP N,1\x0b\n2020-05,8F3E,CSP N,\x0c2\n").encode(),
    "control_character_inside_a_count": (H4 + "2020-04,8F3E,CSP N,1\x1a2\n").encode(),
    "bom_inside_a_cell": (H4 + "\ufeff2020-04,8F3E,CSP N,5\n").encode(),
    "two_boms": ("\ufeff\ufeff" + H4 + GOOD).encode(),
    "arabic_indic_digit": (H4 + "2020-04,8F3E,CSP N,\u0665\n").encode(),
    "count_just_above_2_to_53": (H4 + "2020-04,8F3E,CSP N,9007199254740993\n").encode(),
    "count_2_to_53": (H4 + "2020-04,8F3E,CSP N,9007199254740992\n").encode(),
    "hash_line_is_not_a_comment": (H4 + "#2020-04,8F3E,CSP N,5\n").encode(),
    "hash_cell_in_x_column": (H4.rstrip("\n") + ",x_note\n2020-04,8F3E,CSP N,5,#not a comment\n").encode(),
    "backslash_at_the_end_of_a_cell": (
        H4.rstrip("\n") + ",x_a\n2020-04,8F3E,CSP N,5,a\\\n2020-05,8F3E,CSP N,5,b\n"
    ).encode(),
    "single_quotes": (H4 + "2020-04,8F3E,CSP N,'5'\n").encode(),
    "semicolon_separated": b"month;alert_code;provider;volume\n2020-04;8F3E;CSP N;5\n",
    "tab_in_header_names": b"month\t,alert_code,provider,volume\n2020-04\t,8F3E,CSP N,5\n",
    "ctrl_z_at_the_end": (H4 + GOOD + "\x1a").encode(),
    "only_a_header_and_spaces": (H4 + "   \n").encode(),
    "header_of_spaces_then_header": (" , , , \n" + H4 + GOOD).encode(),
    "x_column_with_commas_only_rows": (H4.rstrip("\n") + ",x_a\n" + GOOD.rstrip("\n") + ",\n,,,,\n").encode(),
}


@pytest.mark.parametrize("raw", EITHER_WAY.values(), ids=EITHER_WAY.keys())
def test_odd_files_load_the_same_whichever_way_they_are_read(raw):
    fast, _ = load_both(raw)
    if fast.columnar[0] is not None:
        assert fast.result.outcome == "loaded"
        _, table_rows, _ = read_columnar(raw)
        assert table_rows == row_by_row_records(raw)[2]


# ------------------------------------------------------------------ 3. property: both ways always agree

COLUMN_NAMES = {
    "month": ["month", "Month", " MONTH "],
    "alert_code": ["alert_code", "Alert Code", "alert-code"],
    "provider": ["provider", "Provider "],
    "volume": ["volume", "VOLUME"],
    "devices": ["devices", "Devices"],
    "first_time_devices": ["first_time_devices", "First-Time Devices"],
    "x_note": ["x_note", "X_Note"],
}
# Valid texts with what they mean, so that a "clean" file can be made with unique keys and counts in order.
MONTHS = {"2020-04": 4, "Apr 2020": 4, "04/2020": 4, "2020-04-01": 4, "2020-05": 5, " May 2020 ": 5, "2020-06": 6}
CODES = {"8F3E": "8F3E", "8f3e": "8F3E", "0x8F3E": "8F3E", "8014": "8014", "0X8014": "8014", " 00ff ": "00FF"}
PROVIDERS = {"CSP N": "CSP N", "North": "CSP N", "csp north": "CSP N", "DSP": "DSP", "DCC": "DCC", "South": "CSP S"}
COUNTS = {"0": 0, "2": 2, "3": 3, "10": 10, " 12 ": 12, "1e2": 100, "10.0": 10}
NOTES = ["", "note", "café", "2020-13", " ", "-1"]
# Bad texts, and odd ones that are valid once stripped of Unicode and ASCII-separator whitespace.
UNUSUAL = {
    "month": ["", "2020-13", "2020-04-02", "1999-12", "Foo 2020", "NULL", "2020-04\u00a0", "\x1c2020-05"],
    "alert_code": ["", "8G3E", "8F3", "0x8F3E1", "8F3E\u3000", "#8F3E"],
    "provider": ["", "Mars", "CSP", " ", "North\x1f", "\\N"],
    "volume": ["", "-1", "1.5", "ten", "NULL", "99999999999999999999", " 5\x0b", "\u0665", "1,000"],
    "devices": ["-2", "0.5", "NULL", "x", "\u2028"],
    "first_time_devices": ["-1", "2.5", "\\N", "nan"],
    "x_note": NOTES + ["#x", "a\\", "\u00a0"],
}


@st.composite
def alerts_files(draw) -> tuple[bytes, bool]:
    """(bytes of an alerts CSV, whether it is 'clean': plain, valid, unique keys, so the fast path's to read)."""
    clean = draw(st.booleans())
    columns = ["month", "alert_code", "provider", "volume"]
    columns += [c for c in ("devices", "first_time_devices", "x_note") if draw(st.booleans())]
    columns = draw(st.permutations(columns))
    header = [draw(st.sampled_from(COLUMN_NAMES[c])) for c in columns]
    if not clean and draw(st.integers(0, 5)) == 0:
        change = draw(st.sampled_from(["drop", "unknown", "twice", "unnamed"]))
        if change == "drop":
            header.pop(draw(st.integers(0, len(header) - 1)))
        else:
            header.insert(
                draw(st.integers(0, len(header))), {"unknown": "colour", "twice": "volume", "unnamed": ""}[change]
            )
    lines: list[str] = []
    seen: set[tuple] = set()
    for _ in range(draw(st.integers(1 if clean else 0, 6))):
        volume_text = draw(st.sampled_from(sorted(COUNTS)))
        volume = COUNTS[volume_text]
        devices_text = draw(st.sampled_from([""] + sorted(t for t, v in COUNTS.items() if v <= volume)))
        devices = COUNTS.get(devices_text) if "devices" in columns else None
        first_choices = [t for t, v in COUNTS.items() if devices is None or v <= devices]
        first_text = draw(st.sampled_from([""] + sorted(first_choices)))
        cells = {
            "month": draw(st.sampled_from(sorted(MONTHS))),
            "alert_code": draw(st.sampled_from(sorted(CODES))),
            "provider": draw(st.sampled_from(sorted(PROVIDERS))),
            "volume": volume_text,
            "devices": devices_text,
            "first_time_devices": first_text,
            "x_note": draw(st.sampled_from(NOTES)),
        }
        if clean:
            key = (MONTHS[cells["month"]], CODES[cells["alert_code"]], PROVIDERS[cells["provider"]])
            if key in seen:
                continue
            seen.add(key)
        else:
            for column in columns:
                if draw(st.integers(0, 12)) == 0:
                    cells[column] = draw(st.sampled_from(UNUSUAL[column]))
        row = [cells[c] for c in columns]
        if len(header) > len(columns):  # a header change added a column: give it a cell
            row.append(draw(st.sampled_from(["", "zz", "5"])))
        if not clean and draw(st.integers(0, 8)) == 0:
            how = draw(st.sampled_from(["extra", "empty_extra", "short", "quoted"]))
            if how == "extra":
                row.append("9")
            elif how == "empty_extra":
                row.append("")
            elif how == "short":
                row.pop()
            else:
                i = draw(st.integers(0, len(row) - 1))
                row[i] = f'"{row[i]}"'
        lines.append(",".join(row))
        if not clean and draw(st.integers(0, 10)) == 0:
            lines.append(draw(st.sampled_from(["", ",,,", " ", ",".join(" " for _ in header)])))
    if not clean and draw(st.integers(0, 10)) == 0:
        lines.insert(0, draw(st.sampled_from(["", " "])))
        lines.insert(1, ",".join(header))
    else:
        lines.insert(0, ",".join(header))
    endings = ["\n", "\r\n"] if clean else ["\n", "\r\n", "mixed", "\r"]
    ending = draw(st.sampled_from(endings))
    if ending == "mixed":
        raw = "".join(line + draw(st.sampled_from(["\n", "\r\n"])) for line in lines)
    else:
        raw = ending.join(lines) + ending
    if not draw(st.booleans()):
        raw = raw.rstrip("\r\n")
    encoding = "utf-8" if clean else draw(st.sampled_from(["utf-8", "cp1252"]))
    data = raw.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data, clean


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=alerts_files())
def test_property_both_ways_agree_and_the_fast_way_never_accepts_a_rejected_file(case):
    raw, clean = case
    fast, slow = load_both(raw)  # same result, problems, rows, bookkeeping; None when rejected
    accepted = fast.columnar[0] is not None
    event(f"clean={clean} fast={accepted} outcome={slow.result.outcome}")
    if slow.result.outcome == "rejected":
        assert not accepted
    if accepted:
        assert slow.result.outcome == "loaded"
    if clean:
        # A plain, valid file with unique keys is what the fast way is for.
        assert accepted and fast.result.outcome == "loaded", (raw, str_problems(slow.result))


# ------------------------------------------------------------------ 4. order in a file of several row groups

BIG_CODES = 2000


def big_alerts_file(rows: int) -> bytes:
    """rows alerts rows with distinct keys where the volume is the row's line number (2, 3, ...)."""
    out = ["month,alert_code,provider,volume"]
    for i in range(rows):
        month = i // BIG_CODES
        out.append(f"{2000 + month // 12}-{month % 12 + 1:02d},{i % BIG_CODES:04X},CSP N,{i + 2}")
    return ("\n".join(out) + "\n").encode()


def test_source_row_is_the_line_number_in_a_file_bigger_than_a_row_group():
    rows = 250_000  # about two row groups (122,880 rows each)
    raw = big_alerts_file(rows)
    con = fresh_db()
    try:
        con.execute("SET threads = 8")  # the CSV reader and the joins run in parallel
        loaded = load(raw, "big.csv", fast=True, con=con)
        assert isinstance(loaded.columnar[0], Prepared)
        assert loaded.result.outcome == "loaded" and loaded.result.new == rows and loaded.result.rows_read == rows
        checks = con.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE volume <> source_row),
                       count(*) FILTER (WHERE alert_code <> printf('%04X', (source_row - 2) % {BIG_CODES})),
                       count(*) FILTER (WHERE month <> DATE '2000-01-01'
                                                  + to_months(((source_row - 2) // {BIG_CODES})::INTEGER)),
                       min(source_row), max(source_row), count(DISTINCT source_row)
                FROM alerts"""
        ).fetchall()[0]
        assert checks == (rows, 0, 0, 0, 2, rows + 1, rows)
        assert loaded.leftovers == []
    finally:
        con.close()


def staged_kind_seen(monkeypatch) -> list:
    """Records, at each load's insert, whether its staged alerts were a view (the prepared table itself)
    or a table (joined to the current data), and the staged rows' change counts."""
    seen = []
    real = ingest_stage.insert_facts

    def spy(con, kind, source_id):
        views = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?", [f"staged_{kind}"]
        ).fetchall()[0][0]
        counts = dict(con.execute(f"SELECT change, count(*) FROM staged_{kind} GROUP BY ALL").fetchall())
        seen.append(("view" if views else "table", counts))
        return real(con, kind, source_id)

    monkeypatch.setattr(ingest_stage, "insert_facts", spy)
    return seen


def test_a_new_month_is_staged_without_a_copy_and_a_month_already_loaded_is_compared(monkeypatch):
    seen = staged_kind_seen(monkeypatch)
    rows = 130_000  # more than two slices, more than a row group
    months = rows // BIG_CODES + 1
    first = big_alerts_file(rows)
    # The next file: the same rows with every tenth volume changed, plus rows for later months.
    lines = first.decode().splitlines()
    changed = [lines[0]] + [
        (line.rsplit(",", 1)[0] + f",{int(line.rsplit(',', 1)[1]) + 1}") if n % 10 == 0 else line
        for n, line in enumerate(lines[1:])
    ]
    later = [f"{2000 + (months + m) // 12}-{(months + m) % 12 + 1:02d},0001,CSP N,5" for m in range(3)]
    second = ("\n".join(changed + later) + "\n").encode()
    con = fresh_db()
    try:
        one = load(first, "first.csv", fast=True, con=con)
        assert isinstance(one.columnar[0], Prepared) and one.result.new == rows and one.leftovers == []
        two = load(second, "second.csv", fast=True, con=con)
        assert isinstance(two.columnar[0], Prepared) and two.leftovers == []
        revised = len(range(0, rows, 10))
        assert (two.result.new, two.result.revised, two.result.unchanged) == (3, revised, rows - revised)
        assert seen == [("view", {"new": rows}), ("table", {"new": 3, "revised": revised, "unchanged": rows - revised})]
        current = con.execute(
            "SELECT count(*), sum(volume), count(DISTINCT (month, alert_code, provider)) FROM current_alerts"
        ).fetchall()[0]
        expected_sum = sum(i + 2 for i in range(rows)) + revised + 15
        assert current == (rows + 3, expected_sum, rows + 3)
        assert con.execute("SELECT count(*) FROM alerts").fetchall()[0][0] == rows + revised + 3
    finally:
        con.close()
    # Row by row, the same two loads leave the same data.
    slow_con = fresh_db()
    try:
        load(first, "first.csv", fast=False, con=slow_con)
        load(second, "second.csv", fast=False, con=slow_con)
        fast_con = fresh_db()
        try:
            load(first, "first.csv", fast=True, con=fast_con)
            load(second, "second.csv", fast=True, con=fast_con)
            assert fast_con.execute(ALERT_ROWS).fetchall() == slow_con.execute(ALERT_ROWS).fetchall()
        finally:
            fast_con.close()
    finally:
        slow_con.close()


def test_a_big_file_with_one_bad_cell_at_the_end_is_declined_and_located():
    rows = 130_000
    raw = big_alerts_file(rows).rstrip(b"\n") + b"\n2026-01,8F3E,CSP N,x\n"
    part, _, left = read_columnar(raw)
    assert part is None and left == []
    result = load(raw, "big.csv", fast=True)
    assert result.columnar == [None] and result.unchanged and result.leftovers == []
    assert str_problems(result.result) == [f"big.csv:{rows + 2}:volume: 'x' is not a number"]


# ------------------------------------------------------------------ 5. nothing left behind


def test_no_temp_tables_views_or_files_are_left_behind(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the columnar reader writes its copy
    con = fresh_db()
    try:
        assert leftovers(con) == []
        files = {
            "loaded": (text(REQUIRED_ONLY), {}),
            "already loaded": (text(REQUIRED_ONLY), {}),
            "nothing new": (text(REQUIRED_ONLY, newline="\r\n"), {}),
            "dry run": (text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N,10\n"), {"dry_run": True}),
            "declined, bad cell": (text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N,x\n"), {}),
            "declined, duplicate": (
                text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N,1\n2021-04,8F3E,CSP N,2\n"),
                {},
            ),
            "declined, devices > volume": (
                text("month,alert_code,provider,volume,devices\n2021-04,8F3E,CSP N,1,2\n"),
                {},
            ),
            "declined, row count": (b"month,alert_code,provider,volume\n2021-04,8F3E,CSP N,1\n\n", {}),
            "declined, ragged": (text("month,alert_code,provider,volume\n2021-05,8F3E,CSP N,1,2\n"), {}),
            "declined, quoted": (b'month,alert_code,provider,volume\n2021-06,8F3E,"CSP N",1\n', {}),
            "revision": (text("month,alert_code,provider,volume\n2020-04,8F3E,CSP N,99\n"), {}),
            "measures": (b"month,measure,provider,value\n2020-04,CPM1,DCC,97\n", {}),
        }
        outcomes = {}
        for what, (raw, options) in files.items():
            loaded = load(raw, f"{len(outcomes)}.csv", fast=True, con=con, **options)
            outcomes[what] = loaded.result.outcome
            assert loaded.leftovers == [], what
            assert con.execute(TEMP_VIEWS).fetchall() == [], what
            assert list(tmp_path.iterdir()) == [], what
        assert outcomes == {
            "loaded": "loaded",
            "already loaded": "unchanged",
            "nothing new": "unchanged",
            "dry run": "checked",
            "declined, bad cell": "rejected",
            "declined, duplicate": "rejected",
            "declined, devices > volume": "rejected",
            "declined, row count": "loaded",
            "declined, ragged": "rejected",
            "declined, quoted": "loaded",
            "revision": "loaded",
            "measures": "loaded",
        }
    finally:
        con.close()


@pytest.mark.parametrize(
    "raw",
    [
        text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N,x\n"),
        text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N,1\n2021-04,8F3E,North,2\n"),
        text("month,alert_code,provider,volume,devices,first_time_devices\n2021-04,8F3E,CSP N,5,4,5\n"),
        text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N,1\n\n2021-05,8F3E,CSP N,1\n"),
        text("month,alert_code,provider,volume\n2021-04,8F3E,CSP N\n"),
    ],
    ids=["bad_cell", "duplicate", "first_time_more_than_devices", "blank_line", "short_row"],
)
def test_a_direct_call_that_declines_leaves_nothing_behind(raw, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    part, _, left = read_columnar(raw)
    assert part is None and left == [] and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ 6. integrity without the alerts table's keys

ORIGINAL = (
    "month,alert_code,provider,volume,devices\n"
    "2020-04,8F3E,CSP N,10,5\n2020-04,8014,CSP N,20,\n2020-04,8F3E,DSP,30,3\n"
    "2020-05,8F3E,CSP N,11,5\n2020-05,8014,CSP N,21,\n2020-05,8F3E,DSP,31,3\n"
)
REVISION = (
    "month,alert_code,provider,volume,devices\n"
    "2020-04,8F3E,CSP N,10,5\n2020-04,8014,CSP N,25,\nApr 2020,8f3e,DSP,35,3\n"
    "2020-05,8F3E,CSP N,11,6\n2020-05,8014,north,21,\n2020-05,8F3E,DSP,36,\n2020-06,8F3E,DSP,1,1\n"
)


@pytest.mark.parametrize("fast", [True, False], ids=["columnar", "row_by_row"])
def test_revisions_keep_keys_unique_per_source_and_every_source_known(fast):
    con = fresh_db()
    try:
        assert con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'alerts' "
            "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')"
        ).fetchall() == [(0,)]
        first = load(ORIGINAL.encode(), "issue1.csv", fast=fast, con=con)
        second = load(REVISION.encode(), "issue2.csv", fast=fast, con=con)
        again = load(REVISION.encode(), "issue2-again.csv", fast=fast, con=con)
        same_rows = load(REVISION.replace("\n", "\r\n").encode(), "issue2-crlf.csv", fast=fast, con=con)
        duplicated = load((REVISION + "2020-06,8F3E,DSP,2,1\n").encode(), "bad.csv", fast=fast, con=con)
        accepted = [isinstance(r.columnar[0], Prepared) for r in (first, second, again, same_rows, duplicated)]
        assert accepted == ([True, True, True, True, False] if fast else [False] * 5)
        assert (first.result.outcome, first.result.new) == ("loaded", 6)
        assert (second.result.outcome, second.result.new, second.result.revised, second.result.unchanged) == (
            "loaded",
            1,
            4,
            2,
        )
        assert again.result.outcome == "unchanged" and "already loaded" in again.result.message and again.unchanged
        assert same_rows.result.outcome == "unchanged" and "nothing new" in same_rows.result.message
        assert same_rows.unchanged
        assert duplicated.result.outcome == "rejected" and duplicated.unchanged
        assert [(p.row, p.column) for p in duplicated.result.problems] == [(9, "month")]

        assert con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM alerts GROUP BY month, alert_code, provider, source_id "
            "HAVING count(*) > 1)"
        ).fetchall() == [(0,)]
        assert con.execute(
            "SELECT count(*) FROM alerts AS a LEFT JOIN sources AS s ON s.source_id = a.source_id "
            "WHERE s.source_id IS NULL"
        ).fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM alerts").fetchall() == [(6 + 5,)]
        assert con.execute("SELECT count(DISTINCT source_id) FROM alerts").fetchall() == [(2,)]
        current = con.execute(
            "SELECT strftime(month, '%Y-%m'), alert_code, provider, volume, devices, source_id, source_row "
            "FROM current_alerts ORDER BY ALL"
        ).fetchall()
        s1, s2 = first.result.source_id, second.result.source_id
        assert s2 > s1
        assert current == [
            ("2020-04", "8014", "CSP N", 25, None, s2, 3),
            ("2020-04", "8F3E", "CSP N", 10, 5, s1, 2),
            ("2020-04", "8F3E", "DSP", 35, 3, s2, 4),
            ("2020-05", "8014", "CSP N", 21, None, s1, 6),
            ("2020-05", "8F3E", "CSP N", 11, 6, s2, 5),
            ("2020-05", "8F3E", "DSP", 36, None, s2, 7),
            ("2020-06", "8F3E", "DSP", 1, 1, s2, 8),
        ]
    finally:
        con.close()


def test_revisions_load_the_same_whichever_way_they_are_read():
    states = []
    for fast in (True, False):
        con = fresh_db()
        try:
            results = [
                load(raw.encode(), name, fast=fast, con=con).result
                for name, raw in (("issue1.csv", ORIGINAL), ("issue2.csv", REVISION), ("again.csv", REVISION))
            ]
            states.append((results, state(con)))
        finally:
            con.close()
    assert states[0] == states[1]


def test_month_values_are_dates_on_the_first_of_the_month():
    fast, _ = load_both(text("month,alert_code,provider,volume\nApr 2020,8F3E,CSP N,1\n"))
    assert fast.alerts[0][0] == date(2020, 4, 1)
