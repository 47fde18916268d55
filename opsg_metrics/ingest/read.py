"""Reading a file into sheets of text cells: CSV (UTF-8, Windows-1252, UTF-16; comma or tab separated) or
XLSX (the sheets named after a kind, or the first), with the cell-level rules every column shares (text
that cannot be printed, cells too long, formulas without saved values, the size limits), and the header
(which kind, which columns).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime

from opsg_metrics.ingest.formats import (
    KINDS,
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_XLSX_EXPANDED_BYTES,
    RECORD_KINDS,
    Problem,
    Sheet,
    display_name,
)
from opsg_metrics.ingest.header import detect_kind, normalise_header, record_kind
from opsg_metrics.store import text as text_rules

SHEET_KINDS = (*KINDS, *RECORD_KINDS)  # the names of the sheets a workbook's load reads


@dataclass
class Reading:
    """What reading a file gave: its sheets, its problems and notes for the person loading it."""

    sheets: list[Sheet] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# A valid UTF-8 sequence of two or more bytes: beside a byte that is not UTF-8, the file mixes encodings.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _row_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def decode(raw: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in: UTF-8 (with or without a BOM), UTF-16 with a BOM
    (Excel's "Unicode text"), or Windows-1252 (Excel's "CSV" on Windows) when no byte is UTF-8.

    A file mixing UTF-8 and Windows-1252 bytes (two files pasted together) is refused, with a row of each."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ValueError(f"the file starts as UTF-16 text but is damaged at byte {exc.start:,}") from None
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    if raw.startswith(codecs.BOM_UTF8):
        raise ValueError(
            f"the file starts with a UTF-8 byte-order mark, but row {_row_of(raw, bad_at)} is not UTF-8 (byte "
            f"0x{raw[bad_at]:02X}): it mixes encodings; save the whole file as UTF-8 CSV"
        )
    multibyte = _UTF8_MULTIBYTE.search(raw)
    if multibyte is not None:
        raise ValueError(
            f"the file mixes encodings: row {_row_of(raw, multibyte.start())} is UTF-8 but row "
            f"{_row_of(raw, bad_at)} is not (byte 0x{raw[bad_at]:02X}); save the whole file as UTF-8 CSV"
        )
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the file is not text in UTF-8 or Windows-1252 encoding (byte 0x{raw[exc.start]:02X} on row "
            f"{_row_of(raw, exc.start)}); save it as UTF-8 CSV"
        ) from None


def _looks_utf16_without_bom(raw: bytes) -> bool:
    """Every other byte NUL at the start: UTF-16 text saved without its byte-order mark."""
    head = raw[:400]
    return len(head) >= 8 and (
        head[1::2].count(0) > 0.9 * len(head[1::2]) or head[0::2].count(0) > 0.9 * len(head[0::2])
    )


def field_separator(text: str) -> str:
    """',' unless the first line has tabs and no commas (Excel's "Unicode text" and other tab-separated files)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return "\t" if "\t" in first and "," not in first else ","


def read_csv_sheet(raw: bytes, label: str) -> Reading:
    reading = Reading()

    def refuse(message: str, row: int = 1, column: str = "header") -> Reading:
        reading.problems.append(Problem(label, row, column, message))
        return reading

    if not raw.strip():
        return refuse("the file is empty: expected a header row and data rows")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        pass
    elif _looks_utf16_without_bom(raw):
        return refuse(
            "the file looks like UTF-16 text without its byte-order mark; save it as UTF-8 CSV "
            '(or as Excel\'s "Unicode Text", which has the mark)'
        )
    elif b"\x00" in raw:
        return refuse("the file is binary, not CSV text (did you mean an .xlsx file?)")
    try:
        text, encoding = decode(raw)
    except ValueError as exc:
        return refuse(str(exc))
    if encoding != "UTF-8":
        reading.notes.append(f"{label}: read as {encoding} text")
    delimiter = field_separator(text)
    if delimiter == "\t":
        reading.notes.append(f"{label}: read as tab-separated text")
    records: list[tuple[int, list[str]]] = []
    cells = 0
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            cells += len(row)
            if cells > MAX_CELLS:
                return refuse(
                    f"the file has more than {MAX_CELLS:,} cells, more than one load may hold; "
                    "split it into smaller files",
                    number,
                    "-",
                )
            records.append((number, row))
    except csv.Error as exc:
        row = len(records) + 1
        if "field larger than field limit" in str(exc):
            return refuse(
                f"a cell is longer than {csv.field_size_limit():,} characters (a spreadsheet cell "
                f"holds at most {MAX_CELL_CHARS:,}; check the quoting)",
                row,
                "-",
            )
        return refuse(f"the CSV cannot be read here: {exc} (check the quoting)", row, "-")
    scan = text_rules.UNPRINTABLE.search(text) is not None or len(text) > MAX_CELL_CHARS
    sheet, problems = _sheet_from_records(records, label, None, scan=scan)
    reading.problems += problems
    if sheet:
        reading.sheets.append(sheet)
    return reading


def _cell_problems(records: list[tuple[int, list[str]]], label: str, header: list[str]) -> list[Problem]:
    """Cells holding a character that cannot be printed, or longer than a spreadsheet cell: one rule for
    every column of every kind (free text, ids, names), read before any column is looked at."""
    names = [normalise_header(h) for h in header]
    problems = []
    for number, row in records:
        joined = "".join(row)
        if len(joined) <= MAX_CELL_CHARS and not text_rules.UNPRINTABLE.search(joined):
            continue
        for index, cell in enumerate(row):
            column = (
                "header"
                if row is header
                else (names[index] if index < len(names) and names[index] else f"column {index + 1}")
            )
            if len(cell) > MAX_CELL_CHARS:
                problems.append(
                    Problem(
                        label,
                        number,
                        column,
                        f"a cell of {len(cell):,} characters is longer than a spreadsheet cell holds "
                        f"({MAX_CELL_CHARS:,}): {text_rules.quote(cell)}",
                    )
                )
            elif (problem := text_rules.unprintable_problem(cell)) is not None:
                problems.append(Problem(label, number, column, problem))
    return problems


def _sheet_from_records(
    records: list[tuple[int, list[str]]], label: str, kind_from_name: str | None, *, scan: bool = True
) -> tuple[Sheet | None, list[Problem]]:
    # A row with any non-blank cell (joined: one C-level strip instead of one per cell).
    non_blank = [(n, cells) for n, cells in records if "".join(cells).strip()]
    if not non_blank:
        return None, [Problem(label, 1, "header", "the file is empty: expected a header row and data rows")]
    header_row, header = non_blank[0]
    rows = [(n, cells) for n, cells in non_blank[1:]]
    problems = _cell_problems(non_blank, label, header) if scan else []
    return Sheet(label, header, rows, kind_from_name), problems


def _is_percent_format(number_format: str) -> bool:
    """True if Excel scales the value by 100 for display: a bare % outside quotes and escapes.

    In '0.00%' the cell holds 0.548 for 54.80%; in '0.00"%"' or '0.00\\%' the % is literal text."""
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", number_format)
    return "%" in bare


def _cell_text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            return str(value)
        if _is_percent_format(getattr(cell, "number_format", "") or ""):
            # A cell formatted as a percentage holds a fraction: 0.548 shows as 54.80%.
            number *= 100
            number = round(number, 10)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


class _WorkbookDamaged(Exception):
    """A workbook part that cannot be read (raised inside the reader, reported as a problem)."""


# A formula element, with or without a namespace prefix and whatever white space follows its name.
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384  # a worksheet's own limits (Excel's XFD1048576)


def _workbook_parts(raw: bytes, label: str) -> tuple[dict[str, bytes] | None, list[Problem]]:
    """The workbook's worksheet parts that hold formulas (name -> XML), after checking its size: a small
    file that would expand past MAX_XLSX_EXPANDED_BYTES (a "zip bomb") is refused before it is opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            expanded = sum(info.file_size for info in infos)
            if expanded > MAX_XLSX_EXPANDED_BYTES:
                return None, [
                    Problem(
                        label,
                        1,
                        "-",
                        f"the workbook expands to {expanded / 1e6:,.0f} MB, more than the "
                        f"{MAX_XLSX_EXPANDED_BYTES / 1e6:,.0f} MB a load may read; split it into smaller files",
                    )
                ]
            formulas = {}
            for info in infos:
                # Any part, wherever it is stored: a worksheet's place is named by the workbook's relations.
                if info.filename.lower().endswith(".xml"):
                    part = archive.read(info)
                    if _FORMULA.search(part):
                        formulas[info.filename] = part
            return formulas, []
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        RuntimeError,
        ValueError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        return None, [Problem(label, 1, "header", f"not a readable XLSX workbook: {reason(exc)}")]


def reason(exc: BaseException) -> str:
    """An exception as a short reason for a message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}" + (f" ({message[:160]})" if message else "")


def _sheet_records(ws, label: str, budget: list[int]) -> list[tuple[int, list[str]]]:
    """The rows of a worksheet that hold any cell, numbered as a spreadsheet shows them. A row number or a
    row longer than a worksheet can have, or more cells than a load may hold, is refused as it is met (the
    reader makes an empty row for every row number skipped: a row numbered 50,000,000 would take gigabytes)."""
    records = []
    # Some exporters write a wrong <dimension>; read-only mode trusts it and drops cells.
    ws.reset_dimensions()
    for number, row in enumerate(ws.iter_rows(), start=1):
        if number > MAX_ROWS:
            raise _WorkbookDamaged(
                f"sheet '{display_name(ws.title)}' has a row past row {MAX_ROWS:,}, the last a "
                "worksheet can have: the workbook is damaged"
            )
        if len(row) > MAX_COLUMNS:
            raise _WorkbookDamaged(
                f"sheet '{display_name(ws.title)}' row {number:,} has {len(row):,} cells, more "
                f"than the {MAX_COLUMNS:,} columns a worksheet can have: the workbook is damaged"
            )
        budget[0] -= max(1, len(row))
        if budget[0] < 0:
            raise _WorkbookDamaged(
                f"the workbook has more than {MAX_CELLS:,} cells, more than one load may hold; "
                "split it into smaller files"
            )
        if row:
            cells = [_cell_text(c) for c in row]
            if any(cells):
                records.append((number, cells))
    return records


def _unsaved_formulas(formula_book, index: int, records, label: str) -> list[Problem]:
    """Formula cells without a value saved with them: openpyxl reads them as empty, which would load a
    figure as missing. Such a workbook was written by a program that does not calculate (a script)."""
    problems = []
    ws = formula_book.worksheets[index]
    ws.reset_dimensions()
    values = dict(records)
    header = next((cells for _, cells in records if "".join(cells).strip()), [])
    names = [normalise_header(h) for h in header]
    for number, row in enumerate(ws.iter_rows(), start=1):
        for index, cell in enumerate(row):
            if getattr(cell, "data_type", None) == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                saved = values.get(number, [])
                if index >= len(saved) or saved[index] == "":
                    column = names[index] if index < len(names) and names[index] else f"column {index + 1}"
                    problems.append(
                        Problem(label, number, column, "formula without a saved value: open and save the file in Excel")
                    )
    return problems


def read_xlsx_sheets(raw: bytes, label: str) -> Reading:
    """The sheets of a workbook: every sheet named after a kind (all sheets of one kind are one table:
    prepare() checks them together), or the first sheet when none is. Damaged parts, sizes past the
    limits and formulas without saved values are problems, never a traceback."""
    import openpyxl

    reading = Reading()
    formulas, problems = _workbook_parts(raw, label)
    if problems:
        reading.problems += problems
        return reading
    books = []
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        books.append(book)
        formula_book = None
        if formulas:
            formula_book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
            books.append(formula_book)
        # By position, not by title: a crafted workbook may give two sheets one name.
        sheets = list(enumerate(book.worksheets))
        named = [(i, ws) for i, ws in sheets if ws.title.strip().lower() in SHEET_KINDS]
        visible = [(i, ws) for i, ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"]
        chosen = named or visible[:1]
        # The kinds a message names: a workbook of the review record's, or of figures.
        family = RECORD_KINDS if named and all(ws.title.strip().lower() in RECORD_KINDS for _, ws in named) else KINDS
        budget = [MAX_CELLS]
        seen_titles: set[str] = set()
        for index, ws in chosen:
            if ws.title in seen_titles:
                raise _WorkbookDamaged(f"two sheets are named '{display_name(ws.title)}': the workbook is damaged")
            seen_titles.add(ws.title)
            kind = ws.title.strip().lower() if named else None
            sheet_label = f"{label}[{display_name(ws.title)}]" if named else label
            records = _sheet_records(ws, sheet_label, budget)
            sheet, sheet_problems = _sheet_from_records(records, sheet_label, kind)
            reading.problems += sheet_problems
            if formula_book is not None:
                reading.problems += _unsaved_formulas(formula_book, index, records, sheet_label)
            if sheet:
                reading.sheets.append(sheet)
        chosen_indexes = {i for i, _ in chosen}
        for index, ws in sheets:
            if index in chosen_indexes:
                continue
            title_label = f"{label}[{display_name(ws.title)}]"
            records = _sheet_records(ws, title_label, budget)
            sheet, _ = _sheet_from_records(records, title_label, None, scan=False)
            columns = {normalise_header(h) for h in sheet.header} if sheet else set()
            looks_like = (detect_kind(columns) or record_kind(columns)) if sheet else None
            if named and looks_like:
                reading.problems.append(
                    Problem(
                        title_label,
                        1,
                        "header",
                        f"this sheet holds {looks_like} rows, but only sheets named after a kind are read "
                        f"({', '.join(family)}): name it {text_rules.quote(looks_like)} to load it, or remove it",
                    )
                )
            elif sheet:
                why = (
                    f"its name is not a kind: {', '.join(family)}"
                    if named
                    else "with no sheet named after a kind, only the first visible sheet is read"
                )
                hidden = "" if getattr(ws, "sheet_state", "visible") == "visible" else "hidden "
                reading.notes.append(f"{label}: {hidden}sheet '{display_name(ws.title)}' was not read ({why})")
    except _WorkbookDamaged as exc:
        reading.problems.append(Problem(label, 1, "-", str(exc)))
    except Exception as exc:  # noqa: BLE001 - openpyxl and the XML parser raise many kinds of error for damaged files
        reading.problems.append(Problem(label, 1, "-", f"the workbook is damaged and cannot be read: {reason(exc)}"))
    finally:
        for opened in books:
            with contextlib.suppress(Exception):
                opened.close()
    return reading


def is_workbook(raw: bytes, label: str) -> bool:
    return raw[:4] == b"PK\x03\x04" or label.lower().endswith((".xlsx", ".xlsm"))


def read_sheets(raw: bytes, label: str) -> Reading:
    """The sheets of a file: an .xlsx workbook (by its content) or CSV text."""
    if is_workbook(raw, label):
        return read_xlsx_sheets(raw, label)
    return read_csv_sheet(raw, label)
