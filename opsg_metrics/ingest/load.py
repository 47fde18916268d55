"""Loading files into the store: read CSV/XLSX, validate every row, load in one transaction.

The rules are the file formats of DESIGN.md section 3. A file with any
problem is rejected whole: nothing is written and every problem is listed as
`file:row:column: message`. A valid file is loaded in one transaction that
also records its source and an ingest-log entry. A figure whose key was
loaded before from another source is a revision: it is added beside the
earlier one and becomes current; a row identical to the current figure is
counted as unchanged and not stored again. Loading a file already loaded
(same sha256) changes nothing and says so.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import gc
import getpass
import hashlib
import io
import math
import os
import re
import stat
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from opsg_metrics.store import parse
from opsg_metrics.store import text as text_rules
from opsg_metrics.store.classification import ORDER as CLASSIFICATIONS
from opsg_metrics.store.catalogue import Catalogue, MeasureDef, normalise_key, normalise_measure_id
from opsg_metrics.store.connect import database_path, explain_database_error

KINDS = ("measures", "incidents", "alerts", "ops", "catalogue", "annotations")
# inferred: a value deduced (say from minutes), never shown as reported; its note says how.
MEASURE_STATUSES = ("reported", "null", "unreliable", "inferred")
ANNOTATION_SCOPES = ("all", "measure", "provider", "series")
ANNOTATION_KINDS = ("event", "planned", "rebase")

# kind -> (required columns, optional columns)
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # value may be left out only by a file whose every row has status=null (see prepare()).
    "measures": (("month", "measure", "provider"), ("value", "status", "numerator", "denominator", "note")),
    "incidents": (
        ("incident_id", "opened", "resolved", "category", "provider", "major", "title"),
        ("root_cause",),
    ),
    "alerts": (("month", "alert_code", "provider", "volume"), ("devices", "first_time_devices")),
    "ops": (("month", "metric", "provider", "value", "unit"), ("note",)),
    "catalogue": (
        ("measure", "provider", "name", "unit", "direction", "target", "minimum", "effective_from"),
        ("effective_to", "source", "verified", "description", "feeds"),
    ),
    "annotations": (("date", "text", "scope"), ("measure", "provider", "kind")),
}

# Loading order inside one workbook: the catalogue first, so that measure
# values in the same workbook can use measures it defines.
KIND_ORDER = {
    kind: i for i, kind in enumerate(("catalogue", "measures", "incidents", "alerts", "ops", "annotations"))
}

MAX_FIELD_CHARS = 10_000


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located by file, row and column."""

    file: str
    row: int
    column: str
    message: str

    def __post_init__(self) -> None:
        # A message quotes what the file holds: shown everywhere, it must itself be printable.
        for name in ("file", "column", "message"):
            value = getattr(self, name)
            if text_rules.UNPRINTABLE.search(value):
                object.__setattr__(self, name, display_name(value) if name != "message" else
                                   text_rules.UNPRINTABLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", value))

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


@dataclass
class Sheet:
    """The cells of one CSV file or one worksheet, as text."""

    label: str                                  # how problems name it: 'pmr.csv' or 'book.xlsx[measures]'
    header: list[str]
    rows: list[tuple[int, list[str]]]           # (row number as a spreadsheet shows it, cells)
    kind_from_name: str | None = None           # the sheet is named after a kind


@dataclass
class Prepared:
    """The validated rows of one sheet, ready to stage."""

    kind: str
    label: str
    records: list[dict]
    rows_read: int
    table: str | None = None                    # the rows are in this temp table instead (a big file)


@dataclass
class IngestResult:
    """What happened to one file."""

    file: str
    outcome: str                                # 'loaded', 'unchanged' or 'rejected' ('checked' for a dry run)
    kinds: list[str] = field(default_factory=list)
    rows_read: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    replaced: int = 0
    source_id: int | None = None
    source_label: str = ""
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    revisions: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)     # for the person loading: encoding used, sheets not read

    @property
    def ok(self) -> bool:
        return self.outcome != "rejected"

    @property
    def rows_loaded(self) -> int:
        return self.new + self.revised


# ---------------------------------------------------------------- reading

# Limits on what one file may make the reader hold: a hostile or damaged file is refused with a message
# before it exhausts memory. A spreadsheet cell holds at most 32,767 characters (Excel's own limit).
MAX_FILE_BYTES = 512 * 1024 * 1024           # a file on disk (the Data page takes 50 MB)
MAX_XLSX_EXPANDED_BYTES = 400 * 1024 * 1024  # a workbook's parts, uncompressed
MAX_CELLS = 12_000_000                       # cells in one file (two million rows of six columns)
MAX_CELL_CHARS = 32_767


@dataclass
class Reading:
    """What reading a file gave: its sheets, its problems and notes for the person loading it."""

    sheets: list[Sheet] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def display_name(name: str) -> str:
    """A file or sheet name as messages show it: characters that cannot be printed as their code points,
    at most 120 characters."""
    shown = text_rules.UNPRINTABLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", name)
    return shown if len(shown) <= 120 else shown[:119] + "…"


def _normalise_header(name: str) -> str:
    return "_".join(name.replace("\ufeff", "").strip().lower().replace("-", " ").split())


# A valid UTF-8 sequence of two or more bytes: beside a byte that is not UTF-8, the file mixes encodings.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _row_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _decode(raw: bytes) -> tuple[str, str]:
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
    return len(head) >= 8 and (head[1::2].count(0) > 0.9 * len(head[1::2]) or head[0::2].count(0) > 0.9 * len(head[0::2]))


def _delimiter(text: str) -> str:
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
        return refuse("the file looks like UTF-16 text without its byte-order mark; save it as UTF-8 CSV "
                      "(or as Excel's \"Unicode Text\", which has the mark)")
    elif b"\x00" in raw:
        return refuse("the file is binary, not CSV text (did you mean an .xlsx file?)")
    try:
        text, encoding = _decode(raw)
    except ValueError as exc:
        return refuse(str(exc))
    if encoding != "UTF-8":
        reading.notes.append(f"{label}: read as {encoding} text")
    delimiter = _delimiter(text)
    if delimiter == "\t":
        reading.notes.append(f"{label}: read as tab-separated text")
    records: list[tuple[int, list[str]]] = []
    cells = 0
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            cells += len(row)
            if cells > MAX_CELLS:
                return refuse(f"the file has more than {MAX_CELLS:,} cells, more than one load may hold; "
                              "split it into smaller files", number, "-")
            records.append((number, row))
    except csv.Error as exc:
        row = len(records) + 1
        if "field larger than field limit" in str(exc):
            return refuse(f"a cell is longer than {csv.field_size_limit():,} characters (a spreadsheet cell "
                          f"holds at most {MAX_CELL_CHARS:,}; check the quoting)", row, "-")
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
    names = [_normalise_header(h) for h in header]
    problems = []
    for number, row in records:
        joined = "".join(row)
        if len(joined) <= MAX_CELL_CHARS and not text_rules.UNPRINTABLE.search(joined):
            continue
        for index, cell in enumerate(row):
            column = "header" if row is header else (names[index] if index < len(names) and names[index]
                                                       else f"column {index + 1}")
            if len(cell) > MAX_CELL_CHARS:
                problems.append(Problem(label, number, column,
                                        f"a cell of {len(cell):,} characters is longer than a spreadsheet cell holds "
                                        f"({MAX_CELL_CHARS:,}): {text_rules.quote(cell)}"))
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


def _workbook_parts(raw: bytes, label: str) -> tuple[dict[str, bytes] | None, list[Problem]]:
    """The workbook's worksheet parts that hold formulas (name -> XML), after checking its size: a small
    file that would expand past MAX_XLSX_EXPANDED_BYTES (a "zip bomb") is refused before it is opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            expanded = sum(info.file_size for info in infos)
            if expanded > MAX_XLSX_EXPANDED_BYTES:
                return None, [Problem(label, 1, "-",
                                      f"the workbook expands to {expanded / 1e6:,.0f} MB, more than the "
                                      f"{MAX_XLSX_EXPANDED_BYTES / 1e6:,.0f} MB a load may read; split it into smaller files")]
            formulas = {}
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    part = archive.read(info)
                    if b"<f>" in part or b"<f " in part or b":f>" in part or b":f " in part:
                        formulas[info.filename] = part
            return formulas, []
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError,
            NotImplementedError, zlib.error) as exc:
        return None, [Problem(label, 1, "header", f"not a readable XLSX workbook: {_reason(exc)}")]


def _reason(exc: BaseException) -> str:
    """An exception as a short reason for a message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}" + (f" ({message[:160]})" if message else "")


def _sheet_records(ws, label: str, budget: list[int]) -> list[tuple[int, list[str]]]:
    records = []
    # Some exporters write a wrong <dimension>; read-only mode trusts it and drops cells.
    ws.reset_dimensions()
    for number, row in enumerate(ws.iter_rows(), start=1):
        budget[0] -= len(row)
        if budget[0] < 0:
            raise _WorkbookDamaged(f"the workbook has more than {MAX_CELLS:,} cells, more than one load may hold; "
                                   "split it into smaller files")
        records.append((number, [_cell_text(c) for c in row]))
    return records


def _unsaved_formulas(formula_book, title: str, records, label: str) -> list[Problem]:
    """Formula cells without a value saved with them: openpyxl reads them as empty, which would load a
    figure as missing. Such a workbook was written by a program that does not calculate (a script)."""
    problems = []
    ws = formula_book[title]
    ws.reset_dimensions()
    values = dict(records)
    header = next((cells for _, cells in records if "".join(cells).strip()), [])
    names = [_normalise_header(h) for h in header]
    for number, row in enumerate(ws.iter_rows(), start=1):
        for index, cell in enumerate(row):
            if getattr(cell, "data_type", None) == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                saved = values.get(number, [])
                if index >= len(saved) or saved[index] == "":
                    column = names[index] if index < len(names) and names[index] else f"column {index + 1}"
                    problems.append(Problem(label, number, column,
                                            "formula without a saved value: open and save the file in Excel"))
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
        titles = [ws.title for ws in book.worksheets]
        named = [t for t in titles if t.strip().lower() in KINDS]
        budget = [MAX_CELLS]
        for title in (named or titles[:1]):
            kind = title.strip().lower() if named else None
            sheet_label = f"{label}[{display_name(title)}]" if named else label
            records = _sheet_records(book[title], sheet_label, budget)
            sheet, sheet_problems = _sheet_from_records(records, sheet_label, kind)
            reading.problems += sheet_problems
            if formula_book is not None:
                reading.problems += _unsaved_formulas(formula_book, title, records, sheet_label)
            if sheet:
                reading.sheets.append(sheet)
        for title in titles:
            if not named or title in named:
                continue
            records = _sheet_records(book[title], f"{label}[{display_name(title)}]", budget)
            sheet, _ = _sheet_from_records(records, f"{label}[{display_name(title)}]", None, scan=False)
            looks_like = detect_kind({_normalise_header(h) for h in sheet.header}) if sheet else None
            if looks_like:
                reading.problems.append(Problem(
                    f"{label}[{display_name(title)}]", 1, "header",
                    f"this sheet holds {looks_like} rows, but only sheets named after a kind are read "
                    f"({', '.join(KINDS)}): name it {text_rules.quote(looks_like)} to load it, or remove it"))
            elif sheet:
                reading.notes.append(f"{label}: sheet '{display_name(title)}' was not read (its name is not a kind: "
                                     f"{', '.join(KINDS)})")
    except _WorkbookDamaged as exc:
        reading.problems.append(Problem(label, 1, "-", str(exc)))
    except Exception as exc:  # noqa: BLE001 - openpyxl and the XML parser raise many kinds of error for damaged files
        reading.problems.append(Problem(label, 1, "-", f"the workbook is damaged and cannot be read: {_reason(exc)}"))
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


# ---------------------------------------------------------------- kind and header


def detect_kind(columns: set[str]) -> str | None:
    """The file kind its header shows, by the columns only that kind has."""
    if {"target", "minimum", "effective_from"} <= columns:
        return "catalogue"
    if "incident_id" in columns:
        return "incidents"
    if "alert_code" in columns:
        return "alerts"
    if "metric" in columns:
        return "ops"
    if {"date", "text", "scope"} <= columns:
        return "annotations"
    if {"month", "measure"} <= columns:
        return "measures"
    return None


def check_header(sheet: Sheet, kind: str | None) -> tuple[str | None, dict[str, int], list[Problem]]:
    """Resolve the kind and map column names to positions; list every header problem."""
    problems: list[Problem] = []
    names = [_normalise_header(h) for h in sheet.header]
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            if any(index < len(cells) and cells[index].strip() for _, cells in sheet.rows):
                problems.append(Problem(sheet.label, 1, f"column {index + 1}", "this column has data but no name"))
            continue
        if name in positions:
            problems.append(Problem(sheet.label, 1, name, f"column {text_rules.quote(name)} appears twice"))
            continue
        positions[name] = index
    detected = detect_kind(set(positions))
    chosen = kind or sheet.kind_from_name or detected
    if chosen is None:
        hint = ""
        if len(sheet.header) == 1 and (";" in sheet.header[0] or "\t" in sheet.header[0]):
            hint = "; the header looks separated by ';' or tabs: save the file as comma-separated CSV"
        problems.append(
            Problem(
                sheet.label, 1, "header",
                f"cannot tell the kind of file from its header (columns: {', '.join(n for n in names if n) or 'none'})"
                f"{hint}; name it with --kind ({', '.join(KINDS)})",
            )
        )
        return None, positions, problems
    if kind and detected and detected != kind:
        problems.append(
            Problem(sheet.label, 1, "header", f"the header is that of a {text_rules.quote(detected)} file, but the kind asked for is {text_rules.quote(kind)}")
        )
    required, optional = COLUMNS[chosen]
    for name in required:
        if name not in positions:
            problems.append(Problem(sheet.label, 1, name, f"required column {text_rules.quote(name)} is missing for a {text_rules.quote(chosen)} file"))
    allowed = set(required) | set(optional)
    for name in positions:
        if name not in allowed and not name.startswith("x_"):
            problems.append(
                Problem(
                    sheet.label, 1, name,
                    f"unknown column {text_rules.quote(name)} for a {text_rules.quote(chosen)} file (extra columns must start with x_)",
                )
            )
    return chosen, positions, problems


# ---------------------------------------------------------------- row validation


class RowCheck:
    """Reads one row's cells by column name and collects its problems."""

    def __init__(self, label: str, row: int, cells: list[str], positions: dict[str, int]):
        self.label, self.row, self.cells, self.positions = label, row, cells, positions
        self.problems: list[Problem] = []

    def text(self, column: str) -> str:
        index = self.positions.get(column)
        if index is None or index >= len(self.cells):
            return ""
        return text_rules.trim(self.cells[index])

    def problem(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.label, self.row, column, message))

    def get(self, column: str, parser: Callable, *, required: bool = True, **kwargs):
        """Parse a cell; record a problem and return None when it is missing or bad."""
        text = self.text(column)
        if not text:
            if required:
                self.problem(column, f"{column} is required")
            return None
        try:
            return parser(text, **kwargs)
        except ValueError as exc:
            self.problem(column, str(exc))
            return None

    def free_text(self, column: str, *, required: bool = False) -> str | None:
        """A free-text cell (characters that cannot be printed were refused when the file was read)."""
        text = self.text(column)
        if required and not text:
            self.problem(column, f"{column} is required")
            return None
        if len(text) > MAX_FIELD_CHARS:
            self.problem(column, f"text of {len(text):,} characters is longer than the {MAX_FIELD_CHARS:,} allowed")
            return None
        return text


def _percent_range(check: RowCheck, column: str, value: float | None, unit: str) -> None:
    if value is None:
        return
    written = check.text(column)         # as written: 100.0000001 is not "100"
    if unit == "percent" and not 0 <= value <= 100:
        check.problem(column, f"{written} is out of range: a percentage is between 0 and 100")
    elif unit != "percent" and value < 0:
        check.problem(column, f"{written} is out of range: a {unit} value cannot be negative")


def validate_measures_row(check: RowCheck, catalogue: Catalogue) -> dict:
    month = check.get("month", parse.parse_figure_month)
    definition: MeasureDef | None = None
    measure_text, provider_text = check.text("measure"), check.text("provider")
    measure = provider = None
    try:
        measure = catalogue.resolve_measure(measure_text)
    except ValueError as exc:
        check.problem("measure", str(exc))
    try:
        provider = catalogue.resolve_provider(provider_text)
    except ValueError as exc:
        check.problem("provider", str(exc))
    if measure and provider:
        try:
            definition = catalogue.resolve_series(measure, provider)
        except ValueError as exc:
            check.problem("provider", str(exc))
    status = check.text("status").lower() or "reported"
    if status not in MEASURE_STATUSES:
        check.problem("status", f"{text_rules.quote(check.text('status'))} is not a status (use {', '.join(MEASURE_STATUSES)})")
        status = None
    unit = definition.unit if definition else "percent"
    value_text = check.text("value")
    value = None
    if status == "null":
        if value_text:
            check.problem(
                "value",
                f"a null figure has no value, but {text_rules.quote(value_text)} is given "
                "(leave value empty, or use status=unreliable to keep a doubtful value)",
            )
    elif not value_text:
        check.problem("value", "value is required (use status=null for a missing figure)")
    else:
        try:
            value = parse.parse_number(value_text, allow_percent=True)
        except ValueError as exc:
            check.problem("value", f"{exc} (use status=null for a missing figure)")
        _percent_range(check, "value", value, unit)
    numerator = check.get("numerator", parse.parse_number, required=False)
    denominator = check.get("denominator", parse.parse_number, required=False)
    for column, count in (("numerator", numerator), ("denominator", denominator)):
        if count is not None and count < 0:
            check.problem(column, f"{check.text(column)} is negative; an event count is zero or more")
    if numerator is not None and denominator is not None and numerator >= 0 and denominator >= 0:
        if unit != "percent":
            check.problem("numerator", f"numerator and denominator apply to percentage measures; {measure} is a {unit} measure")
        elif denominator == 0:
            check.problem("denominator", "denominator is 0: no events, so no percentage (use status=null)")
        elif numerator > denominator:
            check.problem("numerator", f"numerator {check.text('numerator')} is greater than denominator "
                                       f"{check.text('denominator')}")
        elif value is not None and abs(numerator / denominator * 100 - value) > 0.01 + 1e-9:
            check.problem(
                "value",
                f"{check.text('value')} does not agree with numerator/denominator "
                f"{check.text('numerator')}/{check.text('denominator')} = {numerator / denominator * 100:.4f}% "
                "(allowed difference 0.01)",
            )
    note = check.free_text("note")
    if status == "inferred" and not check.text("note"):
        check.problem("note", "an inferred figure must say how it was inferred: give a note "
                              "(for example the minutes it was deduced from)")
    return {
        "month": month, "measure": measure, "provider": provider,
        "value": value, "status": status, "numerator": numerator, "denominator": denominator,
        "note": note or "",
    }


def validate_incidents_row(check: RowCheck, catalogue: Catalogue) -> dict:
    incident_id = check.text("incident_id").upper()
    if not incident_id:
        check.problem("incident_id", "incident_id is required")
    elif (problem := text_rules.identifier_problem(check.text("incident_id"), "an incident id")) is not None:
        check.problem("incident_id", problem)
    elif not (incident_id.replace("-", "").replace("_", "").isalnum() and len(incident_id) <= 40):
        check.problem("incident_id", f"{text_rules.quote(incident_id)} is not an incident id (letters and digits, such as INC000000526144)")
    opened = check.get("opened", parse.parse_datetime)
    resolved = check.get("resolved", parse.parse_datetime, required=False)
    if opened and resolved and resolved < opened:
        check.problem("resolved", f"resolved {resolved:%Y-%m-%d %H:%M} is before opened {opened:%Y-%m-%d %H:%M}")
    category = check.get("category", parse.parse_count)
    if category is not None and not 1 <= category <= 5:
        check.problem("category", f"category {category} is out of range: categories are 1 (most severe) to 5")
    provider = check.get("provider", catalogue.resolve_provider)
    major = check.get("major", parse.parse_bool)
    if major and category is not None and category > 2:
        check.problem("major", f"a major incident is Category 1 or 2, but this one is Category {category}")
    title = check.free_text("title", required=True)
    root_cause = check.free_text("root_cause")
    return {
        "incident_id": incident_id, "opened": opened, "resolved": resolved, "category": category,
        "provider": provider, "major": major, "title": title, "root_cause": root_cause or "",
    }


@functools.lru_cache(maxsize=65536)
def _alert_code(text: str) -> str:
    if (problem := text_rules.identifier_problem(text_rules.trim(text), "an alert code")) is not None:
        raise ValueError(problem)
    code = text.strip().upper()
    if code.startswith("0X"):
        code = code[2:]
    if len(code) != 4 or any(c not in "0123456789ABCDEF" for c in code):
        raise ValueError(f"{text_rules.quote(text.strip())} is not an alert code (4 hexadecimal digits, such as 8F3E)")
    return code


def alerts_columns(catalogue: Catalogue) -> tuple[tuple[str, Callable, bool], ...]:
    """(column, parser, required) of an alerts file: each cell is read on its own. The row-by-row
    check and the columnar reader of big files (read_alerts_columnar) both read cells with these."""
    return (
        ("month", parse.parse_figure_month, True),
        ("alert_code", _alert_code, True),
        ("provider", catalogue.resolve_provider, True),
        ("volume", parse.parse_count, True),
        ("devices", parse.parse_count, False),
        ("first_time_devices", parse.parse_count, False),
    )


# The rules across the cells of one alerts row, as SQL over the parsed columns: the columnar reader
# hands a file that breaks one to the row-by-row check, whose messages are these rules in words.
ALERTS_ROW_RULES_SQL = "devices > volume OR first_time_devices > devices"


def validate_alerts_row(check: RowCheck, catalogue: Catalogue) -> dict:
    record = {name: check.get(name, parser, required=required) for name, parser, required in alerts_columns(catalogue)}
    volume, devices, first_time = record["volume"], record["devices"], record["first_time_devices"]
    if devices is not None and volume is not None and devices > volume:
        check.problem("devices", f"{devices} devices is more than the {volume} alerts they raised")
    if first_time is not None and devices is not None and first_time > devices:
        check.problem("first_time_devices", f"{first_time} first-time devices is more than the {devices} devices")
    return record


OPS_UNITS = {"%": "percent", "percent": "percent", "pct": "percent", "count": "count", "number": "count",
             "minutes": "minutes", "hours": "hours", "days": "days", "gbp": "GBP", "£": "GBP"}


def validate_ops_row(check: RowCheck, catalogue: Catalogue) -> dict:
    month = check.get("month", parse.parse_figure_month)
    metric = " ".join(check.text("metric").split())
    if not metric:
        check.problem("metric", "metric is required")
    elif (problem := text_rules.identifier_problem(metric, "a metric name")) is not None:
        check.problem("metric", problem)
    elif len(metric) > 200:
        check.problem("metric", "metric name is longer than 200 characters")
    provider = check.get("provider", catalogue.resolve_provider)
    unit_text = check.text("unit")
    unit = OPS_UNITS.get(unit_text.lower())
    if not unit_text:
        check.problem("unit", "unit is required")
    elif unit is None:
        check.problem("unit", f"{text_rules.quote(unit_text)} is not a unit (use {', '.join(sorted(set(OPS_UNITS.values())))})")
    value = check.get("value", parse.parse_number, allow_percent=True)
    if unit:
        _percent_range(check, "value", value, unit)
    note = check.free_text("note")
    return {"month": month, "metric": metric, "provider": provider, "value": value, "unit": unit, "note": note or ""}


def _level_date(text: str) -> date:
    return parse.parse_date(text)


def validate_catalogue_row(check: RowCheck, catalogue: Catalogue) -> dict:
    measure = normalise_measure_id(check.text("measure"))
    if not measure:
        check.problem("measure", "measure is required")
    elif (problem := text_rules.identifier_problem(check.text("measure"), "a measure id")) is not None:
        check.problem("measure", problem)
    elif not all(c.isalnum() or c in ".-" for c in measure) or len(measure) > 40:
        check.problem("measure", f"{text_rules.quote(measure)} is not a measure id (letters, digits, '.' and '-', such as PM4.3)")
    provider = check.get("provider", catalogue.resolve_provider)
    name = check.free_text("name", required=True)
    unit = check.text("unit").lower()
    if unit not in ("percent", "count", "minutes"):
        check.problem("unit", f"{text_rules.quote(check.text('unit'))} is not a unit (use percent, count or minutes)")
        unit = None
    direction = check.text("direction").lower()
    if direction not in ("higher", "lower"):
        check.problem("direction", f"{text_rules.quote(check.text('direction'))} is not a direction (use higher or lower: which is better)")
        direction = None
    target = check.get("target", parse.parse_number, allow_percent=True)
    minimum = check.get("minimum", parse.parse_number, allow_percent=True)
    if unit:
        _percent_range(check, "target", target, unit)
        _percent_range(check, "minimum", minimum, unit)
    if direction and target is not None and minimum is not None:
        if direction == "higher" and minimum > target:
            check.problem("minimum", f"minimum {check.text('minimum')} is above target {check.text('target')} for a higher-is-better measure")
        if direction == "lower" and minimum < target:
            check.problem("minimum", f"minimum {check.text('minimum')} is below target {check.text('target')} for a lower-is-better measure")
    effective_from = check.get("effective_from", _level_date)
    effective_to = check.get("effective_to", _level_date, required=False)
    if effective_from and effective_to and effective_to <= effective_from:
        check.problem("effective_to", f"effective_to {effective_to} is not after effective_from {effective_from}")
    verified = check.get("verified", parse.parse_bool, required=False)
    source = check.free_text("source")
    description = check.free_text("description")
    feeds = check.free_text("feeds")
    return {
        "measure": measure, "provider": provider, "name": name, "unit": unit, "direction": direction,
        "target": target, "minimum": minimum, "effective_from": effective_from, "effective_to": effective_to,
        "source": source or "", "verified": bool(verified), "description": description or "", "feeds": feeds or "",
    }


# scope -> (needs a measure, needs a provider, what it means)
SCOPE_COLUMNS = {
    "all": (False, False, "every chart"),
    "measure": (True, False, "every provider of one measure"),
    "provider": (False, True, "every measure of one provider"),
    "series": (True, True, "one measure of one provider"),
}


def _scope_mismatch(scope: str, given: dict[str, str]) -> str | None:
    """Why the measure and provider cells given do not fit the scope, or None if they do."""
    needs_measure, needs_provider, meaning = SCOPE_COLUMNS[scope]
    wanted = f"{'a' if needs_measure else 'no'} measure and {'a' if needs_provider else 'no'} provider"
    faults = []
    for column, needed in (("measure", needs_measure), ("provider", needs_provider)):
        if needed and not given[column]:
            faults.append(f"{column} is missing")
        elif not needed and given[column]:
            faults.append(f"{column} {text_rules.quote(given[column])} is given")
    if not faults:
        return None
    return f"scope {text_rules.quote(scope)} ({meaning}) needs {wanted}, but {' and '.join(faults)}"


def validate_annotations_row(check: RowCheck, catalogue: Catalogue) -> dict:
    day = check.get("date", parse.parse_date)
    text = check.free_text("text", required=True)
    given = {"measure": check.text("measure"), "provider": check.text("provider")}
    measure = provider = None
    if given["measure"]:
        try:
            measure = catalogue.resolve_measure(given["measure"])
        except ValueError as exc:
            check.problem("measure", str(exc))
    if given["provider"]:
        try:
            provider = catalogue.resolve_provider(given["provider"])
        except ValueError as exc:
            check.problem("provider", str(exc))
    scope = check.text("scope").lower()
    if not scope:
        check.problem("scope", f"scope is required (use {', '.join(ANNOTATION_SCOPES)})")
        scope = None
    elif scope not in ANNOTATION_SCOPES:
        check.problem("scope", f"{text_rules.quote(check.text('scope'))} is not a scope (use {', '.join(ANNOTATION_SCOPES)})")
        scope = None
    elif mismatch := _scope_mismatch(scope, given):
        check.problem("scope", mismatch)
    elif scope == "series" and measure and provider:
        try:
            catalogue.resolve_series(measure, provider)
        except ValueError as exc:
            check.problem("provider", str(exc))
    kind = check.text("kind").lower() or "event"
    if kind not in ANNOTATION_KINDS:
        check.problem(
            "kind",
            f"{text_rules.quote(check.text('kind'))} is not an annotation kind (use event: something that happened, "
            "planned: a promised date, or rebase: SPC limits are recomputed from this date)",
        )
        kind = None
    return {"date": day, "text": text, "scope": scope, "measure": measure, "provider": provider, "kind": kind}


VALIDATORS = {
    "measures": validate_measures_row,
    "incidents": validate_incidents_row,
    "alerts": validate_alerts_row,
    "ops": validate_ops_row,
    "catalogue": validate_catalogue_row,
    "annotations": validate_annotations_row,
}

# kind -> key columns: two rows of one file with the same key are a mistake
KEYS = {
    "measures": ("month", "measure", "provider"),
    "incidents": ("incident_id",),
    "alerts": ("month", "alert_code", "provider"),
    "ops": ("month", "metric", "provider"),
    "catalogue": ("measure", "provider", "effective_from"),
    "annotations": ("date", "scope", "measure", "provider", "text"),
}

# kind -> key columns that may be empty: an annotation of scope 'all' has no measure and no provider.
# An empty cell there is part of the key (NULL in the database, matched with IS NOT DISTINCT FROM);
# a cell that is filled in but could not be read leaves the key incomplete, as in any other column.
NULLABLE_KEYS = {
    "annotations": ("measure", "provider"),
}


def _describe_key(kind: str) -> str:
    names = KEYS[kind]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def validate_sheets(
    sheets: list[tuple[Sheet, dict[str, int]]], kind: str, catalogue: Catalogue
) -> tuple[Prepared, list[Problem]]:
    """The rows of every sheet of one kind (a CSV file is one sheet; a workbook may have several sheets of
    a kind, as one table), each checked, and every key checked across them all."""
    validator = VALIDATORS[kind]
    records, problems = [], []
    seen: dict[tuple, tuple[str, int]] = {}
    first_definition: dict[tuple, tuple[int, tuple]] = {}
    nullable = NULLABLE_KEYS.get(kind, ())
    for sheet, positions in sheets:
        width = len(sheet.header)
        for row_number, cells in sheet.rows:
            check = RowCheck(sheet.label, row_number, cells, positions)
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                check.problem(f"column {width + 1}", f"the row has {len(cells)} cells but the header only {width} columns")
            # A validator always returns what it could parse; the row is kept only without problems,
            # but its key still counts, so a duplicate is found even beside a faulty twin.
            record = validator(check, catalogue)
            problems += check.problems
            # An empty cell in a column of NULLABLE_KEYS is part of the key ("" here); one filled in
            # but unreadable (None) leaves the key incomplete, and an incomplete key is not compared.
            key = tuple(
                "" if k in nullable and record[k] is None and not check.text(k) else record[k] for k in KEYS[kind]
            )
            if all(v is not None and (v != "" or k in nullable) for k, v in zip(KEYS[kind], key)):
                if key in seen:
                    where_label, where_row = seen[key]
                    where = f"row {where_row}" if where_label == sheet.label else f"{where_label} row {where_row}"
                    problems.append(
                        Problem(sheet.label, row_number, KEYS[kind][0],
                                f"duplicate of {where}: the same {_describe_key(kind)} appear twice in one file")
                    )
                    continue
                seen[key] = (sheet.label, row_number)
            if check.problems:
                continue
            if kind == "catalogue":
                series = (record["measure"], record["provider"])
                definition = (record["name"], record["unit"], record["direction"])
                if series in first_definition and first_definition[series][1] != definition:
                    problems.append(
                        Problem(sheet.label, row_number, "name",
                                f"{series[0]} ({series[1]}) has a different name, unit or direction "
                                f"than in row {first_definition[series][0]}")
                    )
                    continue
                first_definition.setdefault(series, (row_number, definition))
            record["source_row"] = row_number
            records.append(record)
        if not sheet.rows:
            problems.append(Problem(sheet.label, 2, "-", "the file has a header but no data rows"))
    label = " + ".join(sheet.label for sheet, _ in sheets)
    return Prepared(kind, label, records, sum(len(sheet.rows) for sheet, _ in sheets)), problems


def prepare(
    raw: bytes, label: str, catalogue: Catalogue, kind: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None, notes: list[str] | None = None,
) -> tuple[list[Prepared], list[Problem]]:
    """Read and validate a whole file; every problem in it, or its rows ready to load.

    Given a connection, a plain alerts CSV is first read by DuckDB (read_alerts_columnar); a file
    that reader cannot vouch for is read row by row, which words every problem. Notes for the person
    loading the file (the encoding used, sheets not read) are added to `notes`."""
    if kind is not None and kind not in KINDS:
        return [], [Problem(label, 1, "header", f"unknown kind {text_rules.quote(kind)} (use {', '.join(KINDS)})")]
    if con is not None:
        columnar = read_alerts_columnar(con, raw, label, catalogue, kind)
        if columnar is not None:
            return [columnar], []
    reading = read_sheets(raw, label)
    problems = list(reading.problems)
    # A cell refused as it was read (cannot be printed, too long, a formula without a value) is not
    # also refused again by its column's rule.
    refused_cells = {(p.file, p.row, p.column) for p in reading.problems}
    if notes is not None:
        notes += reading.notes
    by_kind: dict[str, list[tuple[Sheet, dict[str, int]]]] = {}
    for sheet in reading.sheets:
        sheet_kind, positions, header_problems = check_header(sheet, kind)
        problems += header_problems
        if sheet_kind:
            by_kind.setdefault(sheet_kind, []).append((sheet, positions))
    prepared: list[Prepared] = []
    # The catalogue sheets first: the measures in this file may use measures they define.
    for sheet_kind in sorted(by_kind, key=KIND_ORDER.get):
        part, part_problems = validate_sheets(by_kind[sheet_kind], sheet_kind, catalogue)
        # A missing column is reported once, on the header, not again on every row.
        for sheet, positions in by_kind[sheet_kind]:
            missing = set(COLUMNS[sheet_kind][0]) - set(positions)
            mine = [p for p in part_problems if p.file == sheet.label and (p.file, p.row, p.column) not in refused_cells]
            if sheet_kind == "measures" and "value" not in positions and any(p.column == "value" for p in mine):
                missing.add("value")
                problems.append(Problem(sheet.label, 1, "value",
                                        "required column 'value' is missing (only a file whose every row has "
                                        "status=null may leave it out)"))
            problems += [p for p in mine if p.column not in missing]
        prepared.append(part)
        if sheet_kind == "catalogue":
            for record in part.records:
                key = (record["measure"], record["provider"])
                catalogue.measures[key] = MeasureDef(record["measure"], record["provider"], record["unit"], record["direction"])
    if not problems and not any(part.rows_read for part in prepared):
        problems.append(Problem(label, 2, "-", "no rows could be read from the file"))
    return prepared, sorted(set(problems), key=lambda p: (p.file, p.row, p.column, p.message))


# ---------------------------------------------------------------- columnar reading of big alerts files

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
        header_line = raw[:raw.find(b"\n")].rstrip(b"\r").decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    header = header_line.split(",")
    sheet_kind, positions, header_problems = check_header(Sheet(label, header, []), kind)
    if sheet_kind != "alerts" or header_problems or not all(_normalise_header(h) for h in header):
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
        count, first_rowid, last_rowid = con.execute(
            "SELECT count(*), min(rowid), max(rowid) FROM columnar_raw").fetchall()[0]
        if count != lines - 1 or last_rowid - first_rowid != count - 1:
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
            con.register(view, pa.table({"text": pa.array(mapped[0], pa.string()),
                                         "value": pa.array(mapped[1], FACT_TABLES["alerts"][4].field(name).type)}))
            registered.append(view)
            selects.append(f"{view}.value AS {name}")
            joins.append(f"JOIN {view} ON coalesce(r.{cell}, '') = {view}.text")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {COLUMNAR_TABLE} AS
                SELECT {', '.join(selects)}, (r.rowid - {first_rowid} + 2)::INTEGER AS source_row
                FROM columnar_raw AS r {' '.join(joins)}"""
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


# ---------------------------------------------------------------- loading

FACT_TABLES = {
    # kind -> (table, current view, key columns, value columns, arrow schema)
    "measures": (
        "measure_values", "current_measure_values", ("month", "measure", "provider"),
        ("value", "status", "numerator", "denominator", "note"),
        pa.schema([("month", pa.date32()), ("measure", pa.string()), ("provider", pa.string()),
                   ("value", pa.float64()), ("status", pa.string()), ("numerator", pa.float64()),
                   ("denominator", pa.float64()), ("note", pa.string()), ("source_row", pa.int32())]),
    ),
    "incidents": (
        "incidents", "current_incidents", ("incident_id",),
        ("opened", "resolved", "category", "provider", "major", "title", "root_cause"),
        pa.schema([("incident_id", pa.string()), ("opened", pa.timestamp("us")), ("resolved", pa.timestamp("us")),
                   ("category", pa.int32()), ("provider", pa.string()), ("major", pa.bool_()),
                   ("title", pa.string()), ("root_cause", pa.string()), ("source_row", pa.int32())]),
    ),
    "alerts": (
        "alerts", "current_alerts", ("month", "alert_code", "provider"),
        ("volume", "devices", "first_time_devices"),
        pa.schema([("month", pa.date32()), ("alert_code", pa.string()), ("provider", pa.string()),
                   ("volume", pa.int64()), ("devices", pa.int64()), ("first_time_devices", pa.int64()),
                   ("source_row", pa.int32())]),
    ),
    "ops": (
        "ops_figures", "current_ops_figures", ("month", "metric", "provider"),
        ("value", "unit", "note"),
        pa.schema([("month", pa.date32()), ("metric", pa.string()), ("provider", pa.string()),
                   ("value", pa.float64()), ("unit", pa.string()), ("note", pa.string()), ("source_row", pa.int32())]),
    ),
    "annotations": (
        "annotations", "current_annotations", ("date", "scope", "measure", "provider", "text"),
        ("kind",),
        pa.schema([("date", pa.date32()), ("text", pa.string()), ("scope", pa.string()), ("measure", pa.string()),
                   ("provider", pa.string()), ("kind", pa.string()), ("source_row", pa.int32())]),
    ),
}

CATALOGUE_SCHEMA = pa.schema([
    ("measure", pa.string()), ("provider", pa.string()), ("name", pa.string()), ("unit", pa.string()),
    ("direction", pa.string()), ("target", pa.float64()), ("minimum", pa.float64()),
    ("effective_from", pa.date32()), ("effective_to", pa.date32()), ("source", pa.string()),
    ("verified", pa.bool_()), ("description", pa.string()), ("feeds", pa.string()), ("source_row", pa.int32()),
])


def _stage_facts(con: duckdb.DuckDBPyConnection, part: Prepared) -> dict:
    """Stage one sheet's rows, marking each new, revised or unchanged against the current data."""
    table, view, keys, values, schema = FACT_TABLES[part.kind]
    if part.table is not None and not con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {keys[0]} IN (SELECT {keys[0]} FROM {part.table}))"
    ).fetchall()[0][0]:
        # Nothing loaded shares a month with the file (a new month of alerts): every row is new, and the
        # staged rows are the prepared table itself rather than a copy joined to the current data
        # (a quarter of a second for a million rows). source_row is unique in a file: it orders the slices.
        con.execute(f"CREATE OR REPLACE TEMP VIEW staged_{part.kind} AS "
                    f"SELECT *, 'new' AS change, source_row AS staged_seq FROM {part.table}")
        new = con.execute(f"SELECT count(*) FROM {part.table}").fetchall()[0][0]
        return {"new": new, "revised": 0, "unchanged": 0}
    if part.table is None:
        con.register("staged_input", pa.Table.from_pylist(part.records, schema=schema))
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW staged_input AS SELECT * FROM {part.table}")
    nullable = NULLABLE_KEYS.get(part.kind, ())
    join = " AND ".join(f"s.{k} IS NOT DISTINCT FROM c.{k}" if k in nullable else f"s.{k} = c.{k}" for k in keys)
    same = " AND ".join(f"s.{v} IS NOT DISTINCT FROM c.{v}" for v in values)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE staged_{part.kind} AS
            SELECT s.*,
                   CASE WHEN c.{keys[0]} IS NULL THEN 'new' WHEN {same} THEN 'unchanged' ELSE 'revised' END AS change,
                   row_number() OVER () - 1 AS staged_seq
            FROM staged_input AS s LEFT JOIN {view} AS c ON {join}"""
    )
    if part.table is None:
        con.unregister("staged_input")
    else:
        con.execute("DROP VIEW staged_input")
    counts = dict(con.execute(f"SELECT change, count(*) FROM staged_{part.kind} GROUP BY change").fetchall())
    return {"new": counts.get("new", 0), "revised": counts.get("revised", 0), "unchanged": counts.get("unchanged", 0)}


# Rows per INSERT statement when a load's facts are written. DuckDB 2.0.0 has a defect: while one
# cursor commits an INSERT ... SELECT of a full row group (122,880 rows) or more, another cursor of
# the same connection can see the new rows of that table but not the rest of the same transaction
# (a torn read; reproduced outside OPSG Metrics in 3 of 3 runs of eight loads). Appending the same
# rows in statements of half a row group, inside the same transaction, showed no torn read in any
# trial (see the README's reliability section), and tests/test_reliability.py checks it every run.
INSERT_SLICE_ROWS = 60_000


# Fact tables whose current view is a filter on a `superseded` flag rather than a window over every
# row (schema.sql, migrations 4 and 5): a load marks the rows its revisions replace.
SUPERSEDED_FLAG = {"alerts", "incidents"}


def _insert_facts(con: duckdb.DuckDBPyConnection, kind: str, source_id: int) -> None:
    table, _, keys, values, schema = FACT_TABLES[kind]
    columns = [f.name for f in schema]
    # staged_seq numbers the staged rows 0, 1, 2, ... or by their line in the file (rowid does not: rows
    # made inside a transaction are numbered from 2**62); the slices cover its whole range.
    low, high = con.execute(f"SELECT min(staged_seq), max(staged_seq) FROM staged_{kind}").fetchall()[0]
    for start in range(low or 0, (high or 0) + 1, INSERT_SLICE_ROWS):
        con.execute(
            f"INSERT INTO {table} ({', '.join(columns)}, source_id) "
            f"SELECT {', '.join(columns)}, ? FROM staged_{kind} "
            f"WHERE change <> 'unchanged' AND staged_seq >= ? AND staged_seq < ?",
            [source_id, start, start + INSERT_SLICE_ROWS],
        )
    if kind in SUPERSEDED_FLAG:
        same_key = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        con.execute(
            f"""UPDATE {table} AS t SET superseded = true FROM staged_{kind} AS s
                WHERE s.change = 'revised' AND {same_key} AND t.source_id <> ? AND NOT t.superseded""",
            [source_id],
        )


def _measure_revisions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        """SELECT s.month, s.measure, s.provider, c.value AS old_value, c.status AS old_status,
                  s.value AS new_value, s.status AS new_status, src.label AS old_source
           FROM staged_measures AS s
           JOIN current_measure_values AS c USING (month, measure, provider)
           JOIN sources AS src ON src.source_id = c.source_id
           WHERE s.change = 'revised' ORDER BY s.month, s.measure, s.provider"""
    ).fetchall()
    names = ("month", "measure", "provider", "old_value", "old_status", "new_value", "new_status", "old_source")
    return [dict(zip(names, row)) for row in rows]


def _stage_catalogue(con: duckdb.DuckDBPyConnection, part: Prepared) -> dict:
    con.register("staged_input", pa.Table.from_pylist(part.records, schema=CATALOGUE_SCHEMA))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE staged_catalogue AS
           SELECT s.*,
                  CASE WHEN m.measure IS NULL THEN 'new'
                       WHEN m.name = s.name AND m.unit = s.unit AND m.direction = s.direction
                            AND m.description = s.description AND m.feeds = s.feeds THEN 'unchanged'
                       ELSE 'revised' END AS measure_change,
                  CASE WHEN l.measure IS NULL THEN 'new'
                       WHEN l.target = s.target AND l.minimum = s.minimum
                            AND l.effective_to IS NOT DISTINCT FROM s.effective_to
                            AND l.source = s.source AND l.verified = s.verified THEN 'unchanged'
                       ELSE 'replaced' END AS level_change
           FROM staged_input AS s
           LEFT JOIN measures AS m USING (measure, provider)
           LEFT JOIN service_levels AS l USING (measure, provider, effective_from)"""
    )
    con.unregister("staged_input")
    counts = dict(con.execute("SELECT level_change, count(*) FROM staged_catalogue GROUP BY ALL").fetchall())
    measure_changes = con.execute(
        "SELECT count(DISTINCT (measure, provider)) FROM staged_catalogue WHERE measure_change = 'revised'"
    ).fetchall()[0][0]
    return {
        "new": counts.get("new", 0), "replaced": counts.get("replaced", 0),
        "unchanged": counts.get("unchanged", 0), "measure_changes": measure_changes,
    }


def _apply_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """INSERT INTO measures (measure, provider, name, unit, direction, description, feeds, sort_order)
           SELECT measure, provider, any_value(name), any_value(unit), any_value(direction),
                  any_value(description), any_value(feeds),
                  (SELECT coalesce(max(sort_order), 0) FROM measures) + min(source_row)
           FROM staged_catalogue WHERE measure_change <> 'unchanged'
           GROUP BY measure, provider
           ON CONFLICT (measure, provider) DO UPDATE SET
               name = excluded.name, unit = excluded.unit, direction = excluded.direction,
               description = excluded.description, feeds = excluded.feeds"""
    )
    con.execute(
        """INSERT INTO service_levels (measure, provider, target, minimum, effective_from, effective_to, source, verified)
           SELECT measure, provider, target, minimum, effective_from, effective_to, source, verified
           FROM staged_catalogue WHERE level_change <> 'unchanged'
           ON CONFLICT (measure, provider, effective_from) DO UPDATE SET
               target = excluded.target, minimum = excluded.minimum, effective_to = excluded.effective_to,
               source = excluded.source, verified = excluded.verified"""
    )


def _already_loaded(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple | None:
    rows = con.execute(
        """SELECT l.file_name, s.label, strftime(l.loaded_at, '%Y-%m-%d %H:%M')
           FROM ingest_log AS l JOIN sources AS s USING (source_id)
           WHERE l.sha256 = ? AND l.outcome = 'loaded' ORDER BY l.ingest_id LIMIT 1""",
        [sha256],
    ).fetchall()
    return rows[0] if rows else None


def _counts_message(result: IngestResult) -> str:
    parts = [f"{result.new} new", f"{result.revised} revised"]
    if result.replaced:
        parts.append(f"{result.replaced} service levels replaced")
    parts.append(f"{result.unchanged} unchanged")
    return ", ".join(parts)


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for a load: reading a big file makes millions of small
    objects, and the collector scanning them again and again took 45% of a 1,000,000-row load and made
    its time grow faster than the file (they hold no cycles; it runs again at the end)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


MAX_LABEL_CHARS = 200


def check_names(file_name: str, source: str | None) -> list[Problem]:
    """The file name and the source label, checked as text: both are printed on every chart footer and
    document that shows the file's data, so a character that cannot be printed is refused here."""
    label = display_name(Path(file_name).name)
    problems = []
    for what, value, limit in (("the file name", Path(file_name).name, 255), ("the source label", source, MAX_LABEL_CHARS)):
        if value is None:
            continue
        if (problem := text_rules.unprintable_problem(value)) is not None:
            problems.append(Problem(label, 1, "-", f"{what} {problem.removeprefix('text ')}"))
        elif len(value) > limit:
            problems.append(Problem(label, 1, "-", f"{what} is {len(value):,} characters long; at most {limit} are allowed"))
        elif what == "the source label" and not value.strip():
            problems.append(Problem(label, 1, "-", "the source label is empty"))
    return problems


def ingest_bytes(
    con: duckdb.DuckDBPyConnection,
    raw: bytes,
    file_name: str,
    *,
    kind: str | None = None,
    source: str | None = None,
    classification: str = "white",
    issued: date | None = None,
    is_sample: bool = False,
    dry_run: bool = False,
) -> IngestResult:
    """Validate and load one file's bytes; see the module docstring for the rules.

    kind: the file's kind (default: detected from its header); source: the source document's label
    (default: the file name); classification: the source's marking; issued: its issue date;
    is_sample: the file is illustrative sample data; dry_run: carry the whole load out inside the
    transaction and roll it back, so the counts are exactly what a real load would do.
    """
    with _collector_paused():
        label = display_name(Path(file_name).name)
        result = IngestResult(file=label, outcome="rejected")
        problems = check_names(file_name, source)
        if classification not in CLASSIFICATIONS:
            problems.append(Problem(label, 1, "-", f"unknown classification {text_rules.quote(classification)} "
                                                   f"(use {', '.join(CLASSIFICATIONS)})"))
        if problems:
            return _rejected(result, problems)
        sha256 = hashlib.sha256(raw).hexdigest()
        catalogue = Catalogue.from_db(con)
        prepared: list[Prepared] = []
        try:
            prepared, problems = prepare(raw, label, catalogue, kind, con, notes=result.notes)
            if problems:
                result.kinds = [p.kind for p in prepared]
                result.rows_read = sum(p.rows_read for p in prepared)
                return _rejected(result, problems)
            return _load_prepared(con, result, prepared, _Load(sha256, label, source or label, classification,
                                                               issued, is_sample, dry_run))
        except (RecursionError, MemoryError) as exc:
            return _rejected(result, [Problem(label, 1, "-", f"the file cannot be read: {_reason(exc)}")])
        finally:
            for part in prepared:
                if part.table:
                    con.execute(f"DROP TABLE IF EXISTS {part.table}")


def _rejected(result: IngestResult, problems: list[Problem]) -> IngestResult:
    result.problems = problems
    result.message = f"rejected: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was loaded"
    return result


@dataclass(frozen=True)
class _Load:
    """What a load records beside its rows."""

    sha256: str
    file: str
    source: str
    classification: str
    issued: date | None
    is_sample: bool
    dry_run: bool


def _load_prepared(
    con: duckdb.DuckDBPyConnection, result: IngestResult, prepared: list[Prepared], load: _Load
) -> IngestResult:
    result.kinds = [p.kind for p in prepared]
    result.rows_read = sum(p.rows_read for p in prepared)
    previous = _already_loaded(con, load.sha256)
    if previous:
        result.outcome = "unchanged"
        result.unchanged = result.rows_read
        result.message = (
            f"already loaded: identical to '{previous[0]}' loaded {previous[2]} as source '{previous[1]}'; nothing changed"
        )
        return result
    con.execute("BEGIN TRANSACTION")
    try:
        for part in prepared:
            if part.kind == "catalogue":
                counts = _stage_catalogue(con, part)
                result.new += counts["new"]
                result.replaced += counts["replaced"]
                result.unchanged += counts["unchanged"]
                result.revised += counts["measure_changes"]
            else:
                counts = _stage_facts(con, part)
                result.new += counts["new"]
                result.revised += counts["revised"]
                result.unchanged += counts["unchanged"]
                if part.kind == "measures":
                    result.revisions = _measure_revisions(con)
        if result.new + result.revised + result.replaced == 0:
            con.execute("ROLLBACK")
            result.outcome = "unchanged"
            result.message = f"nothing new: all {result.rows_read} rows match the data already loaded; nothing changed"
            return result
        source_id = con.execute(
            """INSERT INTO sources (label, kind, classification, issued_on, file_name, sha256, is_sample)
               VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING source_id""",
            [load.source, "+".join(sorted(set(result.kinds), key=KIND_ORDER.get)), load.classification, load.issued,
             load.file, load.sha256, load.is_sample],
        ).fetchall()[0][0]
        for part in prepared:
            if part.kind == "catalogue":
                _apply_catalogue(con)
            else:
                _insert_facts(con, part.kind, source_id)
        result.source_id, result.source_label = source_id, load.source
        result.message = f"loaded {result.rows_read} rows as source '{load.source}' ({_counts_message(result)})"
        con.execute(
            """INSERT INTO ingest_log (file_name, sha256, kind, source_id, rows_read, rows_loaded, outcome, message, loaded_by)
               VALUES (?, ?, ?, ?, ?, ?, 'loaded', ?, ?)""",
            [load.file, load.sha256, "+".join(result.kinds), source_id, result.rows_read,
             result.rows_loaded + result.replaced, result.message, _user()],
        )
        if load.dry_run:
            con.execute("ROLLBACK")
            result.outcome = "checked"
            result.source_id = None
            result.message = f"check only: would load {result.rows_read} rows ({_counts_message(result)})"
        else:
            if any(part.kind in ("measures", "catalogue") for part in prepared):
                from opsg_metrics.rules import status as status_rules

                status_rules.refresh_cache(con)     # in this transaction: figures and status commit together
            con.execute("COMMIT")
            result.outcome = "loaded"
    except BaseException as exc:
        _roll_back(con)
        if isinstance(exc, duckdb.Error):
            raise explain_database_error(exc, database_path(con), writing=True) from None
        raise
    finally:
        for part in prepared:
            with contextlib.suppress(duckdb.Error):
                _drop_staged(con, part.kind)
    return result


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the load's transaction back; a commit that failed has already ended it (DuckDB then says
    'no transaction is active', which must not hide the reason the commit failed)."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _drop_staged(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Drop a load's staged rows: a temp table, or a temp view of the prepared table (_stage_facts)."""
    is_view = con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?",
                          [f"staged_{kind}"]).fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS staged_{kind}")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return ""


def read_file_bytes(path: str | Path) -> bytes:
    """A file's bytes, if it is a regular file of at most MAX_FILE_BYTES; ValueError saying why not.

    A FIFO would wait for ever and a device such as /dev/zero would never end: only regular files."""
    file_path = Path(path)
    try:
        if stat.S_ISDIR(os.stat(file_path).st_mode):
            raise ValueError("this is a folder, not a file")
        # Non-blocking: a FIFO put in the file's place after the check still cannot make the open wait.
        with open(file_path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("this is not a regular file (a pipe, socket or device); save the data to a file first")
            if info.st_size > MAX_FILE_BYTES:
                raise ValueError(f"the file is {info.st_size / 1e6:,.0f} MB, more than the {MAX_FILE_BYTES / 1e6:,.0f} MB "
                                 "one load may read; split it into smaller files")
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read the file: {exc.strerror or exc}") from None


def ingest_file(con: duckdb.DuckDBPyConnection, path: str | Path, **options) -> IngestResult:
    """Load one file from disk (the options are ingest_bytes's)."""
    file_path = Path(path)
    try:
        raw = read_file_bytes(file_path)
    except ValueError as exc:
        result = IngestResult(file=display_name(file_path.name), outcome="rejected")
        return _rejected(result, [Problem(result.file, 1, "-", str(exc))])
    return ingest_bytes(con, raw, file_path.name, **options)
