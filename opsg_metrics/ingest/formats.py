"""The file formats: the kinds of file, the columns of each, their keys, the limits a file must keep within,
and the shapes a load passes along (Problem, Sheet, Prepared, IngestResult). The README's "File formats"
section is these, in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from opsg_metrics.store import text as text_rules
from opsg_metrics.store.classification import ORDER as CLASSIFICATIONS
from opsg_metrics.store.clearance import FACTS
from opsg_metrics.store.clearance import NULLABLE_KEYS as FACT_NULLABLE_KEYS

__all__ = ["CLASSIFICATIONS"]


KINDS = ("measures", "incidents", "alerts", "ops", "catalogue", "annotations")
STATEMENTS = "statements"  # not a fact kind: ingest/statements.py loads them (what the minutes stated)
# The review record's files (ingest/record.py): kind -> (required columns, optional columns).
RECORD_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meetings": (("meeting_id", "date", "kind", "pmr_month"), ("classification",)),
    "actions": (
        ("action_id", "text", "owner", "raised_meeting", "raised_on", "target_date", "status"),
        ("closed_on", "measure", "provider", "incident", "note", "classification"),
    ),
    "decisions": (("meeting_id", "item", "verb", "text"), ("measure", "provider", "action_id", "classification")),
    "commentary": (("month", "text"), ("measure", "provider", "author", "classification")),
}
RECORD_KINDS = tuple(RECORD_COLUMNS)
FILE_KINDS = (*KINDS, STATEMENTS, *RECORD_KINDS)  # every kind of file a load takes


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
KIND_ORDER = {kind: i for i, kind in enumerate(("catalogue", "measures", "incidents", "alerts", "ops", "annotations"))}


# kind -> key columns that may be empty: an annotation of scope 'all' has no measure and no provider.
# An empty cell there is part of the key (NULL in the database, matched with IS NOT DISTINCT FROM);
# a cell that is filled in but could not be read leaves the key incomplete, as in any other column.
NULLABLE_KEYS = FACT_NULLABLE_KEYS  # key columns that may be empty (store/clearance.py)


# scope -> (needs a measure, needs a provider, what it means)
SCOPE_COLUMNS = {
    "all": (False, False, "every chart"),
    "measure": (True, False, "every provider of one measure"),
    "provider": (False, True, "every measure of one provider"),
    "series": (True, True, "one measure of one provider"),
}


OPS_UNITS = {
    "%": "percent",
    "percent": "percent",
    "pct": "percent",
    "count": "count",
    "number": "count",
    "minutes": "minutes",
    "hours": "hours",
    "days": "days",
    "gbp": "GBP",
    "£": "GBP",
}


# Limits on what one file may make the reader hold: a hostile or damaged file is refused with a message
# before it exhausts memory. A spreadsheet cell holds at most 32,767 characters (Excel's own limit).
MAX_FILE_BYTES = 512 * 1024 * 1024  # a file on disk (the Data page takes 50 MB)


MAX_XLSX_EXPANDED_BYTES = 400 * 1024 * 1024  # a workbook's parts, uncompressed


MAX_CELLS = 12_000_000  # cells in one file (two million rows of six columns)


MAX_CELL_CHARS = 32_767


MAX_FIELD_CHARS = 10_000


MAX_LABEL_CHARS = 200


def display_name(name: str) -> str:
    """A file or sheet name as messages show it: on one line (text.one_line), at most 120 characters."""
    shown = text_rules.one_line(name)
    return shown if len(shown) <= 120 else shown[:119] + "…"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located by file, row and column."""

    file: str
    row: int
    column: str
    message: str

    def __post_init__(self) -> None:
        # A message quotes what the file holds: shown everywhere as one line, it must itself be printable.
        for name in ("file", "column", "message"):
            value = getattr(self, name)
            shown = display_name(value) if name != "message" else text_rules.one_line(value)
            if shown != value:
                object.__setattr__(self, name, shown)

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


@dataclass
class Sheet:
    """The cells of one CSV file or one worksheet, as text."""

    label: str  # how problems name it: 'pmr.csv' or 'book.xlsx[measures]'
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)
    kind_from_name: str | None = None  # the sheet is named after a kind


@dataclass
class Prepared:
    """The validated rows of one sheet, ready to stage."""

    kind: str
    label: str
    records: list[dict]
    rows_read: int
    table: str | None = None  # the rows are in this temp table instead (a big file)


@dataclass
class IngestResult:
    """What happened to one file."""

    file: str
    outcome: str  # 'loaded', 'unchanged' or 'rejected' ('checked' for a dry run)
    kinds: list[str] = field(default_factory=list)
    rows_read: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    replaced: int = 0
    restated: int = 0  # unchanged for the owner, kept for the less restrictive levels they are news to
    source_id: int | None = None
    source_label: str = ""
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    revisions: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the person loading: encoding used, sheets not read

    @property
    def ok(self) -> bool:
        return self.outcome != "rejected"

    @property
    def rows_loaded(self) -> int:
        return self.new + self.revised


# The arrow schema each kind of fact is read into.
FACT_SCHEMAS = {
    "measures": pa.schema(
        [
            ("month", pa.date32()),
            ("measure", pa.string()),
            ("provider", pa.string()),
            ("value", pa.float64()),
            ("status", pa.string()),
            ("numerator", pa.float64()),
            ("denominator", pa.float64()),
            ("note", pa.string()),
            ("source_row", pa.int32()),
        ]
    ),
    "incidents": pa.schema(
        [
            ("incident_id", pa.string()),
            ("opened", pa.timestamp("us")),
            ("resolved", pa.timestamp("us")),
            ("category", pa.int32()),
            ("provider", pa.string()),
            ("major", pa.bool_()),
            ("title", pa.string()),
            ("root_cause", pa.string()),
            ("source_row", pa.int32()),
        ]
    ),
    "alerts": pa.schema(
        [
            ("month", pa.date32()),
            ("alert_code", pa.string()),
            ("provider", pa.string()),
            ("volume", pa.int64()),
            ("devices", pa.int64()),
            ("first_time_devices", pa.int64()),
            ("source_row", pa.int32()),
        ]
    ),
    "ops": pa.schema(
        [
            ("month", pa.date32()),
            ("metric", pa.string()),
            ("provider", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("note", pa.string()),
            ("source_row", pa.int32()),
        ]
    ),
    "annotations": pa.schema(
        [
            ("date", pa.date32()),
            ("text", pa.string()),
            ("scope", pa.string()),
            ("measure", pa.string()),
            ("provider", pa.string()),
            ("kind", pa.string()),
            ("source_row", pa.int32()),
        ]
    ),
}
# kind -> (table, current view, key columns, value columns, arrow schema); the tables, keys and values are
# store/clearance.py's (the clearance views compare rows by the same ones).
FACT_TABLES = {
    "measures": ("measure_values", *FACTS["measure_values"], FACT_SCHEMAS["measures"]),
    "incidents": ("incidents", *FACTS["incidents"], FACT_SCHEMAS["incidents"]),
    "alerts": ("alerts", *FACTS["alerts"], FACT_SCHEMAS["alerts"]),
    "ops": ("ops_figures", *FACTS["ops_figures"], FACT_SCHEMAS["ops"]),
    "annotations": ("annotations", *FACTS["annotations"], FACT_SCHEMAS["annotations"]),
}

# kind -> key columns: two rows of one file with the same key are a mistake
KEYS = {
    **{kind: table[2] for kind, table in FACT_TABLES.items()},
    "catalogue": ("measure", "provider", "effective_from"),
}


CATALOGUE_SCHEMA = pa.schema(
    [
        ("measure", pa.string()),
        ("provider", pa.string()),
        ("name", pa.string()),
        ("unit", pa.string()),
        ("direction", pa.string()),
        ("target", pa.float64()),
        ("minimum", pa.float64()),
        ("effective_from", pa.date32()),
        ("effective_to", pa.date32()),
        ("source", pa.string()),
        ("verified", pa.bool_()),
        ("description", pa.string()),
        ("feeds", pa.string()),
        ("source_row", pa.int32()),
    ]
)


def describe_key(kind: str) -> str:
    names = KEYS[kind]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
