"""Hostile and damaged input: every class of the hostile-input review, each rejected (or loaded correctly)
with a message naming the file, row and column, and the database left exactly as it was.

The classes: text the renderers cannot carry; two sheets of one kind; damaged workbooks; resource limits;
look-alike identifiers and silent changes (encodings, formulas, future months, values as written). The
outputs' side (CSV neutralisation, classification of exactly the rows used, the surroundings: damaged or
foreign database files, a full disk, bad output paths) is in test_hostile_outputs.py.
"""

from __future__ import annotations

import io
import os
import re
import threading
import unicodedata
import zipfile
from datetime import date

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest import load as ingest
from opsg_metrics.ingest import read as ingest_read
from opsg_metrics.ingest.load import ingest_bytes, ingest_file
from opsg_metrics.store import text

from .conftest import load_text, run_cli, snapshot, xlsx_bytes

# Characters XML 1.0 cannot carry, one of each kind the rule names (lone surrogates come in through
# names and labels, which are Python text; a UTF-8 file cannot hold one).
UNPRINTABLE = [
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x80",
    "\x85",
    "\x9f",
    "\ufdd0",
    "\ufdef",
    "\ufffe",
    "\uffff",
    "\U0001fffe",
    "\U0010ffff",
]
FILE_SAFE = [c for c in UNPRINTABLE if c != "\x00"]  # a NUL makes any CSV "binary" (refused as such)

# kind -> (header, a good row, the free-text columns): every text column of every kind gets each character.
GOOD_ROWS = {
    "measures": (
        "month,measure,provider,value,status,note",
        ["2020-04", "PM2", "CSP N", "54.80", "reported", "ok"],
        ["note"],
    ),
    "incidents": (
        "incident_id,opened,resolved,category,provider,major,title,root_cause",
        ["INC1", "2020-04-01 10:00", "2020-04-02 10:00", "2", "CSP N", "true", "outage", "a change"],
        ["title", "root_cause"],
    ),
    "ops": (
        "month,metric,provider,value,unit,note",
        ["2020-04", "changes implemented", "DCC", "211", "count", "ok"],
        ["note"],
    ),
    "annotations": (
        "date,text,scope,measure,provider,kind",
        ["2020-04-10", "fix deployed", "series", "PM2", "CSP N", "event"],
        ["text"],
    ),
    "catalogue": (
        "measure,provider,name,unit,direction,target,minimum,effective_from,source,description,feeds",
        ["X9", "DSP", "A test", "percent", "higher", "99", "96", "2018-01", "src", "desc", "CPM1"],
        ["name", "source", "description", "feeds"],
    ),
}


def csv_text(header: str, row: list[str]) -> str:
    import csv

    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def assert_rejected_unchanged(con, before, result, name, expected: set[tuple[int, str]] | None = None):
    assert result.outcome == "rejected", (result.message, result.problems)
    assert result.problems and all(p.file.startswith(name) for p in result.problems), result.problems
    if expected is not None:
        assert {(p.row, p.column) for p in result.problems} == expected, [str(p) for p in result.problems]
    assert snapshot(con) == before


# ------------------------------------------------------------------ 1. text the renderers cannot carry


@pytest.mark.parametrize("char", FILE_SAFE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("kind", GOOD_ROWS)
def test_every_text_column_refuses_every_character_that_cannot_be_printed(catalogue_db, kind, char):
    header, good, text_columns = GOOD_ROWS[kind]
    names = header.split(",")
    for column in text_columns:
        row = list(good)
        row[names.index(column)] = f"before{char}after"
        before = snapshot(catalogue_db)
        result = ingest_bytes(catalogue_db, csv_text(header, row).encode("utf-8"), f"{kind}.csv", kind=kind)
        assert_rejected_unchanged(catalogue_db, before, result, f"{kind}.csv", {(2, column)})
        assert str(result.problems[0]) == (
            f"{kind}.csv:2:{column}: text holds {text.char_name(char)}, which cannot be printed (remove it)"
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(GOOD_ROWS)), data=st.data())
def test_generated_bad_text_in_any_cell_is_refused_where_it_is(catalogue_db, kind, data):
    """Any column (ids, numbers, dates too) holding one such character, anywhere in the cell."""
    header, good, _ = GOOD_ROWS[kind]
    names = header.split(",")
    column = data.draw(st.sampled_from(names))
    char = data.draw(st.sampled_from(FILE_SAFE))
    row = list(good)
    cell = row[names.index(column)]
    at = data.draw(st.integers(0, len(cell)))
    row[names.index(column)] = cell[:at] + char + cell[at:]
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, csv_text(header, row).encode("utf-8"), "gen.csv", kind=kind)
    assert_rejected_unchanged(catalogue_db, before, result, "gen.csv")
    assert f"gen.csv:2:{column}: text holds {text.char_name(char)}, which cannot be printed (remove it)" in [
        str(p) for p in result.problems
    ]


def test_a_header_cell_that_cannot_be_printed_is_refused(catalogue_db):
    before = snapshot(catalogue_db)
    result = load_text(catalogue_db, "month,measure,provider,value,x_\uffff\n2020-04,PM2,CSP N,54.8,\n", "h.csv")
    assert_rejected_unchanged(catalogue_db, before, result, "h.csv", {(1, "header")})


def test_an_xlsx_cell_is_read_as_written_and_a_character_reference_xml_forbids_is_refused(catalogue_db):
    """Excel's _x000B_ escape stays the text it is (never decoded into a control character); a sheet whose
    XML holds a character reference XML 1.0 forbids is a damaged workbook."""
    literal = _book([["date", "text", "scope"], ["2020-04-10", "fix _x000B_ deployed", "all"]], sheet="annotations")
    assert ingest_bytes(catalogue_db, literal, "literal.xlsx").outcome == "loaded"
    assert catalogue_db.execute("SELECT text FROM annotations").fetchall() == [("fix _x000B_ deployed",)]
    forbidden = _book([["date", "text", "scope"], ["2020-04-11", "fix &#11; deployed", "all"]], sheet="annotations")
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, forbidden, "ref.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "ref.xlsx", {(1, "-")})
    assert result.problems[0].message.startswith("the workbook is damaged and cannot be read")


@pytest.mark.parametrize(
    "char", ["\x00", "\x0b", "\x85", "\ud800", "\udfff", "\ufffe", "\uffff"], ids=lambda c: f"U+{ord(c):04X}"
)
def test_source_labels_and_file_names_are_checked_by_the_same_rule(catalogue_db, char):
    good = b"month,measure,provider,value\n2020-04,PM2,CSP N,54.8\n"
    before = snapshot(catalogue_db)
    by_label = ingest_bytes(catalogue_db, good, "pmr.csv", source=f"PMR April{char} 2020")
    assert_rejected_unchanged(catalogue_db, before, by_label, "pmr.csv", {(1, "-")})
    assert (
        by_label.problems[0].message
        == f"the source label holds {text.char_name(char)}, which cannot be printed (remove it)"
    )
    by_name = ingest_bytes(catalogue_db, good, f"pmr{char}.csv")
    assert_rejected_unchanged(catalogue_db, before, by_name, "pmr")
    assert (
        by_name.problems[0].message
        == f"the file name holds {text.char_name(char)}, which cannot be printed (remove it)"
    )
    # The name in the message shows the character as its code point, so the message itself can be printed.
    assert text.first_unprintable(str(by_name.problems[0])) is None
    assert f"<U+{ord(char):04X}>" in by_name.problems[0].file


def test_long_or_empty_source_labels_and_unknown_classifications_are_refused(catalogue_db):
    good = b"month,measure,provider,value\n2020-04,PM2,CSP N,54.8\n"
    before = snapshot(catalogue_db)
    for options, words in (
        ({"source": "x" * 201}, "at most 200"),
        ({"source": "  "}, "empty"),
        ({"classification": "secret\uffff" + "x" * 200}, "unknown classification"),
    ):
        result = ingest_bytes(catalogue_db, good, "pmr.csv", **options)
        assert_rejected_unchanged(catalogue_db, before, result, "pmr.csv")
        assert words in result.problems[0].message and len(str(result.problems[0])) < 200


def test_the_cli_refuses_a_source_label_that_cannot_be_printed(tmp_path):
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.store import connect as db

    path = tmp_path / "x.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    con.close()
    pmr = tmp_path / "pmr.csv"
    pmr.write_bytes(b"month,measure,provider,value\n2020-04,PM2,CSP N,54.8\n")
    code, out, err = run_cli("--db", path, "ingest", pmr, "--source", "PMR\x0b April")
    assert code == 1 and "pmr.csv:1:-: the source label holds U+000B" in err and "Traceback" not in err


# ------------------------------------------------------------------ 2. two sheets of one kind


ALERTS_HEADER = ["month", "alert_code", "provider", "volume"]


def test_two_sheets_of_one_kind_load_as_one_table(catalogue_db):
    raw = xlsx_bytes(
        {
            "alerts": [ALERTS_HEADER, ["2020-04", "8F3E", "CSP N", 10], ["2020-04", "8014", "CSP N", 11]],
            "Alerts ": [ALERTS_HEADER, ["2020-05", "8F3E", "CSP N", 12]],
        }
    )
    result = ingest_bytes(catalogue_db, raw, "two.xlsx")
    assert result.outcome == "loaded", result.problems
    assert result.rows_read == 3 and result.new == 3
    rows = catalogue_db.execute("SELECT month, alert_code, volume FROM alerts ORDER BY month, alert_code").fetchall()
    assert [(r[1], r[2]) for r in rows] == [("8014", 11), ("8F3E", 10), ("8F3E", 12)]


def test_a_duplicate_across_two_sheets_of_one_kind_names_both(catalogue_db):
    raw = xlsx_bytes(
        {
            "measures": [["month", "measure", "provider", "value"], ["2020-04", "PM2", "CSP N", 54.8]],
            "measures ": [
                ["month", "measure", "provider", "value"],
                ["2020-03", "PM2", "CSP N", 60],
                ["2020-04", "PM2", "CSP N", 55],
            ],
        }
    )
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "dup.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "dup.xlsx", {(3, "month")})
    assert str(result.problems[0]) == (
        "dup.xlsx[measures ]:3:month: duplicate of dup.xlsx[measures] row 2: the same "
        "month, measure and provider appear twice in one file"
    )


def test_a_sheet_holding_a_kind_under_another_name_is_refused_and_an_idle_sheet_is_noted(catalogue_db):
    rows = [ALERTS_HEADER, ["2020-04", "8F3E", "CSP N", 10]]
    before = snapshot(catalogue_db)
    result = ingest_bytes(
        catalogue_db,
        xlsx_bytes({"alerts": rows, "alerts (May)": rows[:1] + [["2020-05", "8F3E", "CSP N", 12]]}),
        "named.xlsx",
    )
    assert_rejected_unchanged(catalogue_db, before, result, "named.xlsx[alerts (May)]", {(1, "header")})
    assert "this sheet holds alerts rows" in result.problems[0].message
    noted = ingest_bytes(
        catalogue_db, xlsx_bytes({"alerts": rows, "Read me": [["About this file"], ["Made by SECAS"]]}), "noted.xlsx"
    )
    assert noted.outcome == "loaded" and noted.new == 1
    assert noted.notes == [
        "noted.xlsx: sheet 'Read me' was not read (its name is not a kind: measures, incidents, "
        "alerts, ops, catalogue, annotations)"
    ]


# ------------------------------------------------------------------ 3. damaged workbooks


def _book(rows: list[list], sheet: str = "alerts") -> bytes:
    """A workbook written by hand as Excel writes one: text in the shared-strings part, numbers inline."""
    strings: list[str] = []
    cells_xml = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, str):
                if value not in strings:
                    strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{strings.index(value)}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        cells_xml.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>{"".join(cells_xml)}</sheetData>'
            "</worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            + "".join(f"<si><t>{s}</t></si>" for s in strings)
            + "</sst>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, xml in parts.items():
            book.writestr(name, xml.encode("utf-8"))
    return out.getvalue()


def _good_book() -> bytes:
    return _book([ALERTS_HEADER, ["2020-04", "8F3E", "CSP N", 10]])


def _rewrite(raw: bytes, change) -> bytes:
    """The workbook with its parts passed through change(name, data) -> data (None drops the part)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                target.writestr(info.filename, data)
    return out.getvalue()


def _shared_strings_out_of_range(name, data):
    if name == "xl/worksheets/sheet1.xml":
        changed = re.sub(rb'(<c r="A2" t="s"><v>)\d+', rb"\g<1>9999", data)
        assert changed != data
        return changed
    return data


DAMAGED = {
    "malformed sheet XML": lambda n, d: d[: len(d) // 2] if n == "xl/worksheets/sheet1.xml" else d,
    "sheet XML that is not XML": lambda n, d: b"\x00\x01garbage" if n == "xl/worksheets/sheet1.xml" else d,
    "shared string index out of range": _shared_strings_out_of_range,
    "sheet part missing": lambda n, d: None if n == "xl/worksheets/sheet1.xml" else d,
    "workbook part missing": lambda n, d: None if n == "xl/workbook.xml" else d,
    "shared strings missing": lambda n, d: None if n == "xl/sharedStrings.xml" else d,
    "content types missing": lambda n, d: None if n == "[Content_Types].xml" else d,
}


def test_the_good_workbook_the_damaged_ones_start_from_loads(catalogue_db):
    assert ingest_bytes(catalogue_db, _good_book(), "good.xlsx").outcome == "loaded"


@pytest.mark.parametrize("damage", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_workbook_is_a_clear_error_never_a_traceback_or_nothing_new(catalogue_db, damage):
    raw = _rewrite(_good_book(), damage)
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "broken.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "broken.xlsx")
    assert "nothing new" not in result.message


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
def test_a_truncated_workbook_is_refused(catalogue_db, cut):
    raw = _good_book()
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw[: int(len(raw) * cut)], "cut.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "cut.xlsx", {(1, "header")} if cut < 0.9 else None)


def test_a_workbook_with_a_flipped_byte_is_refused_or_loads_whole(catalogue_db):
    raw = bytearray(_good_book())
    for at in range(40, len(raw), max(1, len(raw) // 60)):
        broken = bytes(raw[:at]) + bytes([raw[at] ^ 0xFF]) + bytes(raw[at + 1 :])
        before = snapshot(catalogue_db)
        result = ingest_bytes(catalogue_db, broken, "flip.xlsx")
        assert result.outcome in ("rejected", "loaded", "unchanged"), result
        if result.outcome == "rejected":
            assert all(p.file.startswith("flip.xlsx") for p in result.problems)
            assert snapshot(catalogue_db) == before


def test_an_empty_workbook_is_never_nothing_new(catalogue_db):
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, xlsx_bytes({"alerts": []}), "empty.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "empty.xlsx")
    assert "nothing new" not in result.message and "empty" in result.problems[0].message


def test_the_command_line_loads_the_files_after_a_damaged_one(tmp_path):
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.store import connect as db

    path = tmp_path / "x.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    con.close()
    files = []
    for name, raw in (
        ("a.csv", b"month,alert_code,provider,volume\n2020-04,8F3E,CSP N,1\n"),
        ("broken.xlsx", _rewrite(_good_book(), DAMAGED["malformed sheet XML"])),
        ("c.csv", b"month,alert_code,provider,volume\n2020-05,8F3E,CSP N,2\n"),
    ):
        (tmp_path / name).write_bytes(raw)
        files.append(tmp_path / name)
    code, out, err = run_cli("--db", path, "ingest", *files)
    assert code == 1 and "1 of 3 files rejected" in err and "Traceback" not in err
    assert "a.csv: loaded" in out and "c.csv: loaded" in out
    assert re.search(r"broken\.xlsx:1:-: the workbook is damaged and cannot be read", err)


# ------------------------------------------------------------------ 4. resource limits


def test_a_zip_bomb_is_refused_before_it_is_read(catalogue_db):
    """A ~0.5 MB workbook whose sheet expands to 450 MB of XML: refused from its declared sizes."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        with zipfile.ZipFile(io.BytesIO(_good_book())) as good:
            for info in good.infolist():
                if info.filename != "xl/worksheets/sheet1.xml":
                    book.writestr(info.filename, good.read(info))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (8 << 20)
            for _ in range(450 // 8):
                sheet.write(chunk)
    assert len(raw.getvalue()) < 3_000_000
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw.getvalue(), "bomb.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "bomb.xlsx", {(1, "-")})
    assert "expands to 470 MB, more than the 419 MB" in result.problems[0].message


def test_a_huge_csv_cell_is_refused_and_quoted_short(catalogue_db):
    before = snapshot(catalogue_db)
    big = "x" * 40_000
    for raw, column in (
        ((f"month,measure,provider,value,note\n2020-04,PM2,CSP N,54.8,{big}\n").encode(), "note"),
        ((f"month,measure,provider,value\n2020-04,PM2,CSP N,{big}\n").encode(), "value"),
    ):
        result = ingest_bytes(catalogue_db, raw, "big.csv")
        assert_rejected_unchanged(catalogue_db, before, result, "big.csv", {(2, column)})
        assert "longer than a spreadsheet cell holds (32,767)" in result.problems[0].message
        assert len(str(result.problems[0])) < 250 and "(40,000 characters)" in str(result.problems[0])
    huge = b'month,measure,provider,value,note\n2020-04,PM2,CSP N,54.8,"' + b"y" * (100 << 20) + b'"\n'
    result = ingest_bytes(catalogue_db, huge, "huge.csv")
    assert_rejected_unchanged(catalogue_db, before, result, "huge.csv", {(2, "-")})
    assert len(str(result.problems[0])) < 250


def test_a_long_value_is_quoted_in_at_most_80_characters_in_every_message(catalogue_db):
    long = "9" * 5000 + "x"
    for header, row in (
        ("month,measure,provider,value", f"{long},PM2,CSP N,54.8"),
        ("month,measure,provider,value", f"2020-04,{long},CSP N,54.8"),
        ("month,measure,provider,value", f"2020-04,PM2,{long},54.8"),
        ("month,measure,provider,value", f"2020-04,PM2,CSP N,{long}"),
        ("month,alert_code,provider,volume", f"2020-04,{long},CSP N,1"),
    ):
        result = load_text(catalogue_db, f"{header}\n{row}\n", "long.csv")
        assert result.outcome == "rejected"
        for problem in result.problems:
            quoted = re.findall(r"'([^']*)'", problem.message)
            assert all(len(q) <= 81 for q in quoted), problem.message
            assert len(str(problem)) < 400


def test_a_workbook_past_the_cell_limit_is_refused(catalogue_db, monkeypatch):
    monkeypatch.setattr(ingest_read, "MAX_CELLS", 50)
    raw = xlsx_bytes({"alerts": [ALERTS_HEADER] + [["2020-04", f"{i:04X}", "CSP N", i] for i in range(30)]})
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "many.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "many.xlsx", {(1, "-")})
    assert "more than 50 cells" in result.problems[0].message


def test_only_regular_files_are_read(catalogue_db, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.setdefault("result", ingest_file(catalogue_db, fifo)), daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "reading a FIFO hung"
    result = outcome["result"]
    assert result.outcome == "rejected" and "not a regular file" in result.problems[0].message
    for path, words in (
        ("/dev/zero", "not a regular file"),
        (str(tmp_path), "a folder"),
        (str(tmp_path / "missing.csv"), "cannot read the file"),
    ):
        result = ingest_file(catalogue_db, path)
        assert result.outcome == "rejected" and words in result.problems[0].message, result.problems


def test_a_file_past_the_size_limit_is_refused_unread(catalogue_db, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_bytes(b"month,measure,provider,value\n" + b"2020-04,PM2,CSP N,54.8\n" * 100)
    result = ingest_file(catalogue_db, path)
    assert result.outcome == "rejected" and "more than the 0 MB one load may read" in result.problems[0].message


# ------------------------------------------------------------------ 8. look-alikes and silent changes

LOOK_ALIKES = {
    # column -> (a row with a look-alike, the character named)
    "measure": ("2020-04,\u0421PM1,DCC,97", "U+0421 CYRILLIC CAPITAL LETTER ES"),
    "provider": ("2020-04,PM2,CSP \u039d,54.8", "U+039D GREEK CAPITAL LETTER NU"),
    "zero width": ("2020-04,CPM\u200b1,DCC,97", "U+200B ZERO WIDTH SPACE"),
    "no-break space": ("2020-04,PM2,CSP\u00a0N,54.8", "U+00A0 NO-BREAK SPACE"),
    "sharp s": ("2020-04,DS\u00df1.1,DSP,97", "U+00DF LATIN SMALL LETTER SHARP S"),
    "full-width digit": ("2020-04,CPM\uff11,DCC,97", "U+FF11 FULLWIDTH DIGIT ONE"),
}


@pytest.mark.parametrize("row, named", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alike_identifiers_are_refused_naming_the_character(catalogue_db, row, named):
    before = snapshot(catalogue_db)
    result = load_text(catalogue_db, f"month,measure,provider,value\n{row}\n", "look.csv")
    assert_rejected_unchanged(catalogue_db, before, result, "look.csv")
    assert any(named in p.message and p.row == 2 for p in result.problems), [str(p) for p in result.problems]


@pytest.mark.parametrize(
    "header, row, column",
    [
        (
            "incident_id,opened,resolved,category,provider,major,title",
            "INC\u041e01,2020-04-01,,2,DSP,true,x",
            "incident_id",
        ),
        ("month,alert_code,provider,volume", "2020-04,8F3\u0415,CSP N,1", "alert_code"),
        ("month,metric,provider,value,unit", "2020-04,ch\u0430nges implemented,DCC,1,count", "metric"),
        (
            "measure,provider,name,unit,direction,target,minimum,effective_from",
            "\u0421PM9,DCC,x,percent,higher,99,96,2018-01",
            "measure",
        ),
    ],
)
def test_look_alikes_in_every_kind_of_identifier(catalogue_db, header, row, column):
    before = snapshot(catalogue_db)
    result = load_text(catalogue_db, f"{header}\n{row}\n", "ids.csv")
    assert_rejected_unchanged(catalogue_db, before, result, "ids.csv")
    assert any(p.column == column and "CYRILLIC" in p.message for p in result.problems), [
        str(p) for p in result.problems
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    char=st.characters(min_codepoint=0xA0, max_codepoint=0x2FFFF, blacklist_categories=("Cs", "Co", "Cn")).filter(
        lambda c: not text.first_unprintable(c)
    ),
    column=st.sampled_from(["measure", "provider"]),
    at=st.integers(0, 5),
)
def test_generated_non_ascii_characters_in_ids_are_refused_by_name(catalogue_db, char, column, at):
    cells = {"measure": "CPM1", "provider": "DCC"}
    cells[column] = cells[column][:at] + char + cells[column][at:]
    before = snapshot(catalogue_db)
    result = load_text(
        catalogue_db, f"month,measure,provider,value\n2020-04,{cells['measure']},{cells['provider']},97\n", "gen.csv"
    )
    assert_rejected_unchanged(catalogue_db, before, result, "gen.csv")
    assert any(text.char_name(char) in p.message for p in result.problems), [str(p) for p in result.problems]


def test_mixed_encodings_are_refused_naming_a_row_of_each(catalogue_db):
    raw = (
        "month,measure,provider,value,note\n2020-04,PM2,CSP N,54.8,café\n".encode()
        + "2020-05,PM2,CSP N,55.1,déjà vu\n".encode("cp1252")
    )
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "mixed.csv")
    assert_rejected_unchanged(catalogue_db, before, result, "mixed.csv", {(1, "header")})
    assert result.problems[0].message.startswith(
        "the file mixes encodings: row 2 is UTF-8 but row 3 is not (byte 0xE9)"
    )


def test_windows_1252_alone_loads_and_says_so(catalogue_db):
    raw = "month,measure,provider,value,note\n2020-04,PM2,CSP N,54.8,café – £5\n".encode("cp1252")
    result = ingest_bytes(catalogue_db, raw, "win.csv")
    assert result.outcome == "loaded" and result.notes == ["win.csv: read as Windows-1252 text"]
    assert catalogue_db.execute("SELECT note FROM measure_values").fetchall() == [("café – £5",)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_read(catalogue_db, encoding):
    """Excel's "Unicode Text": UTF-16 with a byte-order mark, tab-separated."""
    body = "month\tmeasure\tprovider\tvalue\tnote\r\n2020-04\tPM2\tCSP N\t54.8\tnaïve, with a comma\r\n"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    result = ingest_bytes(catalogue_db, bom + body.encode(encoding), "unicode.txt")
    assert result.outcome == "loaded", result.problems
    assert result.notes == ["unicode.txt: read as UTF-16 text", "unicode.txt: read as tab-separated text"]
    assert catalogue_db.execute("SELECT value, note FROM measure_values").fetchall() == [(54.8, "naïve, with a comma")]


def test_utf16_without_its_mark_says_what_it_is(catalogue_db):
    before = snapshot(catalogue_db)
    result = ingest_bytes(
        catalogue_db, "month,measure,provider,value\n2020-04,PM2,CSP N,54.8\n".encode("utf-16-le"), "nobom.csv"
    )
    assert_rejected_unchanged(catalogue_db, before, result, "nobom.csv", {(1, "header")})
    assert "UTF-16 text without its byte-order mark" in result.problems[0].message


def test_a_formula_without_a_saved_value_is_refused(catalogue_db):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "measures"
    sheet.append(["month", "measure", "provider", "value", "note"])
    sheet.append(["2020-04", "PM2", "CSP N", "=A9*2", "=B9"])
    sheet.append(["2020-05", "PM2", "CSP N", 55.1, "fine"])
    buffer = io.BytesIO()
    book.save(buffer)  # openpyxl saves formulas without their values (it does not calculate)
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, buffer.getvalue(), "formulas.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "formulas.xlsx[measures]", {(2, "value"), (2, "note")})
    assert {p.message for p in result.problems} == {"formula without a saved value: open and save the file in Excel"}


def test_months_after_the_month_following_today_are_refused(catalogue_db):
    today = date.today()
    allowed = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    too_late = date(allowed.year + (allowed.month == 12), allowed.month % 12 + 1, 1)
    ok = load_text(catalogue_db, f"month,measure,provider,value\n{allowed:%Y-%m},PM2,CSP N,54.8\n", "next.csv")
    assert ok.outcome == "loaded", ok.problems
    before = snapshot(catalogue_db)
    for header, row in (
        ("month,measure,provider,value", f"{too_late:%Y-%m},PM2,CSP N,54.8"),
        ("month,alert_code,provider,volume", f"{too_late:%Y-%m},8F3E,CSP N,1"),
        ("month,metric,provider,value,unit", f"{too_late:%Y-%m},installations,CSP N,1,count"),
    ):
        result = load_text(catalogue_db, f"{header}\n{row}\n", "future.csv")
        assert_rejected_unchanged(catalogue_db, before, result, "future.csv", {(2, "month")})
        assert result.problems[0].message == (
            f"'{too_late:%Y-%m}' is in the future: figures can be for months up to {allowed:%B %Y}"
        )


@pytest.mark.parametrize("written", ["100.0000001", "-0.0000001", "1e3", "100.00000000000001"])
def test_a_value_out_of_range_is_printed_as_written(catalogue_db, written):
    result = load_text(catalogue_db, f"month,measure,provider,value\n2020-04,PM2,CSP N,{written}\n", "range.csv")
    assert [str(p) for p in result.problems] == [
        f"range.csv:2:value: {written} is out of range: a percentage is between 0 and 100"
    ]


@pytest.mark.parametrize(
    "digits", ["\u0663\u0664", "\uff15\uff14", "\u0968"], ids=["arabic-indic", "full-width", "devanagari"]
)
def test_digits_other_than_ascii_are_refused_by_name(catalogue_db, digits):
    for header, row in (
        ("month,measure,provider,value", f"2020-04,PM2,CSP N,{digits}"),
        ("month,alert_code,provider,volume", f"2020-04,8F3E,CSP N,{digits}"),
        ("month,measure,provider,value", f"20{digits}-04,PM2,CSP N,1"),
    ):
        result = load_text(catalogue_db, f"{header}\n{row}\n", "digits.csv")
        assert result.outcome == "rejected"
        assert unicodedata.name(digits[0]) in result.problems[0].message


# ------------------------------------------------------------------ found by a second hostile reading


def _with_sheet_xml(raw: bytes, change) -> bytes:
    return _rewrite(raw, lambda n, d: change(d.decode()).encode() if n == "xl/worksheets/sheet1.xml" else d)


@pytest.mark.parametrize("row_number", [1_048_577, 50_000_000, 10**12])
def test_a_row_numbered_past_the_last_a_worksheet_has_is_refused_at_once(catalogue_db, row_number):
    """openpyxl makes an empty row for every row number skipped: one row numbered 50,000,000 took 8 GB."""
    raw = _with_sheet_xml(
        _good_book(),
        lambda x: (
            x.replace('<row r="2">', f'<row r="{row_number}">')
            .replace('r="A2"', f'r="A{row_number}"')
            .replace('r="B2"', f'r="B{row_number}"')
            .replace('r="C2"', f'r="C{row_number}"')
            .replace('r="D2"', f'r="D{row_number}"')
        ),
    )
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "sparse.xlsx")
    assert_rejected_unchanged(catalogue_db, before, result, "sparse.xlsx", {(1, "-")})
    assert "past row 1,048,576" in result.problems[0].message


def test_a_far_row_within_the_limit_loads_without_holding_the_empty_rows(catalogue_db):
    raw = _with_sheet_xml(
        _good_book(),
        lambda x: (
            x.replace('<row r="2">', '<row r="1000000">')
            .replace('r="A2"', 'r="A1000000"')
            .replace('r="B2"', 'r="B1000000"')
            .replace('r="C2"', 'r="C1000000"')
            .replace('r="D2"', 'r="D1000000"')
        ),
    )
    result = ingest_bytes(catalogue_db, raw, "far.xlsx")
    assert result.outcome == "loaded" and result.rows_read == 1


def test_a_row_wider_than_a_worksheet_is_refused(catalogue_db):
    raw = _with_sheet_xml(
        _good_book(), lambda x: x.replace("</row></sheetData>", '<c r="ZZZ2"><v>1</v></c></row></sheetData>')
    )
    result = ingest_bytes(catalogue_db, raw, "wide.xlsx")
    assert result.outcome == "rejected" and "more than the 16,384 columns" in result.problems[0].message


@pytest.mark.parametrize("element", ["<f\n>D2*2</f>", "<f\t>D2*2</f>", "<x:f>D2*2</x:f>", '<f t="shared" si="0"/>'])
def test_a_formula_without_a_value_is_found_however_it_is_written(catalogue_db, element):
    book = _book([["month", "alert_code", "provider", "volume", "devices"], ["2020-04", "8F3E", "CSP N", 10, 5]])
    raw = _with_sheet_xml(book, lambda x: x.replace('<c r="E2"><v>5</v></c>', f'<c r="E2">{element}</c>'))
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "formula.xlsx")
    if result.outcome == "rejected" and result.problems[0].message.startswith("the workbook is damaged"):
        return  # a namespace prefix openpyxl cannot read at all: refused as damaged, also fine
    assert_rejected_unchanged(catalogue_db, before, result, "formula.xlsx", {(2, "devices")})
    assert result.problems[0].message == "formula without a saved value: open and save the file in Excel"


def test_the_first_visible_sheet_is_read_and_hidden_or_unread_sheets_are_named(catalogue_db):
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old"
    old.append(["month", "measure", "provider", "value"])
    old.append(["2020-04", "CPM1", "DCC", 11])
    old.sheet_state = "hidden"
    current = book.create_sheet("Current")
    current.append(["month", "measure", "provider", "value"])
    current.append(["2020-04", "CPM1", "DCC", 99.9])
    book.active = 1
    spare = book.create_sheet("Spare")
    spare.append(["notes"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = ingest_bytes(catalogue_db, buffer.getvalue(), "hidden.xlsx")
    assert result.outcome == "loaded", result.problems
    assert catalogue_db.execute("SELECT value FROM measure_values").fetchall() == [(99.9,)]
    assert result.notes == [
        "hidden.xlsx: hidden sheet 'Old' was not read (with no sheet named after a kind, only the first visible "
        "sheet is read)",
        "hidden.xlsx: sheet 'Spare' was not read (with no sheet named after a kind, only the first visible sheet "
        "is read)",
    ]


def test_two_sheets_with_one_name_are_refused_as_damaged(catalogue_db):
    raw = _book([ALERTS_HEADER, ["2020-04", "8F3E", "CSP N", 10]])

    def twice(name, data):
        if name == "xl/workbook.xml":
            return data.replace(
                b'<sheet name="alerts" sheetId="1" r:id="rId1"/>',
                b'<sheet name="alerts" sheetId="1" r:id="rId1"/><sheet name="alerts" sheetId="2" r:id="rId1"/>',
            )
        return data

    result = ingest_bytes(catalogue_db, _rewrite(raw, twice), "dup.xlsx")
    assert result.outcome == "rejected" and "two sheets are named 'alerts'" in result.problems[0].message


def test_the_fast_reader_keeps_the_limits_of_the_row_by_row_reader(catalogue_db, monkeypatch):
    """An ignored x_ cell past a spreadsheet cell's length, or a file past the cell limit, is refused whichever
    reader reads it (the fast one hands it to the row-by-row one, which words the problem)."""
    header = b"month,alert_code,provider,volume,x_note\n"
    long_cell = header + b"2020-01,8F3E,CSP N,5," + b"a" * 40_000 + b"\n"
    for raw in (long_cell, long_cell.replace(b"x_note", b'"x_note"')):
        result = ingest_bytes(catalogue_db, raw, "long.csv")
        assert result.outcome == "rejected" and "longer than a spreadsheet cell holds" in result.problems[0].message
    monkeypatch.setattr(ingest_read, "MAX_CELLS", 40)
    from opsg_metrics.ingest import columnar

    monkeypatch.setattr(columnar, "MAX_CELLS", 40)
    many = header + b"".join(b"2020-01,%04X,CSP N,5,\n" % i for i in range(10))
    for raw in (many, many.replace(b"x_note", b'"x_note"')):
        result = ingest_bytes(catalogue_db, raw, "many.csv")
        assert result.outcome == "rejected" and "more than 40 cells" in result.problems[0].message


@pytest.mark.parametrize("label", ["PMR Dec 2021 issue 2\nClassification: WHITE (may be published)", "a\tb", "x\r"])
def test_a_line_break_or_tab_in_a_source_label_or_file_name_is_refused(catalogue_db, label):
    good = b"month,measure,provider,value\n2020-04,PM2,CSP N,54.8\n"
    before = snapshot(catalogue_db)
    for result in (
        ingest_bytes(catalogue_db, good, "pmr.csv", source=label),
        ingest_bytes(catalogue_db, good, label.replace("\n", "x\n") + ".csv"),
    ):
        assert result.outcome == "rejected" and "holds a line break or a tab" in result.problems[0].message
        assert "\n" not in str(result.problems[0])
    assert snapshot(catalogue_db) == before


def test_a_catalogue_loads_as_white_only(catalogue_db):
    raw = (
        b"measure,provider,name,unit,direction,target,minimum,effective_from\n"
        b"CPM1,DCC,RED SECRET NAME,percent,higher,99.7,97.3,2020-01\n"
    )
    before = snapshot(catalogue_db)
    result = ingest_bytes(catalogue_db, raw, "redcat.csv", classification="red")
    assert_rejected_unchanged(catalogue_db, before, result, "redcat.csv", {(1, "-")})
    assert "loads as white only, not red" in result.problems[0].message
    assert ingest_bytes(catalogue_db, raw, "redcat.csv").outcome == "loaded"


@pytest.mark.parametrize("value", ["1.7976931348623157e308", "1e16", "-2e15"])
def test_values_too_large_for_any_scale_are_refused(catalogue_db, value):
    for header, row, column in (
        ("month,metric,provider,value,unit", f"2020-04,installations,CSP N,{value},count", "value"),
        ("month,measure,provider,value,numerator,denominator", f"2020-04,PM2,CSP N,50,{value},2", "numerator"),
    ):
        result = load_text(catalogue_db, f"{header}\n{row}\n", "huge.csv")
        assert result.outcome == "rejected" and any(
            p.column == column and "too large" in p.message for p in result.problems
        ), result.problems


def test_counts_are_bounded_so_that_every_total_fits(catalogue_db):
    from opsg_metrics.store.parse import MAX_COUNT

    rows = "".join(f"2021-12,{c:04X},CSP N,{MAX_COUNT}\n" for c in range(0x1000, 0x1000 + 1100))
    result = load_text(catalogue_db, "month,alert_code,provider,volume\n" + rows, "big.csv")
    assert result.outcome == "loaded"
    (total,) = catalogue_db.execute("SELECT sum(volume) FROM alerts").fetchone()
    assert total == 1100 * MAX_COUNT
    from opsg_metrics.queries import context
    from opsg_metrics.queries.findings import Finding  # noqa: F401  (the summary states this total)

    findings, *_ = context.context_findings(catalogue_db, date(2021, 12, 1))
    assert any(f"{1100 * MAX_COUNT:,} alerts in the month" in f.text for f in findings)
    too_big = load_text(
        catalogue_db, f"month,alert_code,provider,volume\n2021-11,8F3E,CSP N,{MAX_COUNT + 1}\n", "x.csv"
    )
    assert too_big.outcome == "rejected" and "too large for a count" in too_big.problems[0].message


@pytest.mark.parametrize("cell", ["2020-01\u00a0", "\u20072020-01", "2020-01\u3000"])
def test_unicode_spaces_around_a_month_are_named_not_trimmed(catalogue_db, cell):
    result = load_text(catalogue_db, f"month,measure,provider,value\n{cell},PM2,CSP N,54.8\n", "space.csv")
    assert result.outcome == "rejected" and result.problems[0].column == "month"
    assert unicodedata.name(next(c for c in cell if not c.isascii())) in result.problems[0].message
