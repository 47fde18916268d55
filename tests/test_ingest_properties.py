"""Property: whatever bytes arrive, ingest answers with a result (never an exception), a rejected file
leaves the database exactly as it was, and nothing that cannot be printed, and no identifier that is not
ASCII, is ever stored.

The generated files include the classes of the hostile-input review: characters XML cannot carry in every
text column, look-alike identifiers, workbooks with two sheets of one kind, damaged archives."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest.bootstrap import load_reference_data
from opsg_metrics.ingest.load import ingest_bytes
from opsg_metrics.store import connect as db
from opsg_metrics.store import text

from .conftest import snapshot, xlsx_bytes

HEADERS = [
    "month",
    "measure",
    "provider",
    "value",
    "status",
    "numerator",
    "denominator",
    "note",
    "incident_id",
    "alert_code",
    "volume",
    "metric",
    "unit",
    "x_extra",
    "",
    "Month",
    "VALUE",
]
TOKENS = [
    "2020-04",
    "2020-13",
    "Apr 2020",
    "CPM1",
    "PM2",
    "CSP N",
    "North",
    "DCC",
    "Mars",
    "54.80%",
    "n/a",
    "1e400",
    "-1",
    "null",
    "unreliable",
    "=1+1",
    "@SUM(A1)",
    "<script>x</script>",
    "\ufeff",
    "é£",
    "\x00",
    '"',
    "8F3E",
    "9" * 30,
    "",
    " ",
    "true",
    "0x10",
    # characters XML 1.0 cannot carry, and look-alike identifiers
    "note\uffff",
    "a\x0bb",
    "\x85",
    "\ufdd0",
    "x\x1fy",
    "\x7f",
    "\u0421PM1",
    "CSP \u039d",
    "CPM\u200b1",
    "DS\u00df1.1",
    "8F3\u0415",
    "\u0663\u0664",
    "INC\u041e1",
]


@st.composite
def hostile_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=9), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = text.replace('"', "", draw(st.integers(0, 2)))  # break some quoting
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    raw = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=16))
    return raw


@pytest.fixture(scope="module")
def con():
    connection = db.connect(":memory:")
    load_reference_data(connection)
    ingest_bytes(connection, b"month,measure,provider,value\n2019-01,CPM1,DCC,97\n", "seed.csv")
    yield connection
    connection.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(raw=hostile_files(), as_xlsx_name=st.booleans())
def test_hostile_files_never_raise_and_never_half_write(con, raw, as_xlsx_name):
    check_one_load(con, raw, "hostile.xlsx" if as_xlsx_name else "hostile.csv")


# kind -> column -> good values: most cells are good, some hostile, so that some workbooks load.
KIND_COLUMNS = {
    "measures": {
        "month": ["2020-04", "2020-05", "Apr 2020"],
        "measure": ["CPM1", "PM2", "cpm 2"],
        "provider": ["DCC", "CSP N", "North"],
        "value": [54.8, 97.03, "99%"],
        "status": ["", "reported"],
        "note": ["", "reissued", "a note"],
    },
    "alerts": {
        "month": ["2020-04", "2020-05"],
        "alert_code": ["8F3E", "8014", "0x8F12"],
        "provider": ["CSP N", "CSP C"],
        "volume": [12, 3400, "1,200"],
    },
    "annotations": {
        "date": ["2020-04-10", "2020-05"],
        "text": ["fix deployed", "tool corrected"],
        "scope": ["all"],
        "measure": [""],
        "provider": [""],
    },
    "incidents": {
        "incident_id": ["INC000000526144", "INC1"],
        "opened": ["2020-04-01 10:00"],
        "resolved": ["", "2020-04-02"],
        "category": [2, 3],
        "provider": ["DSP", "CSP N"],
        "major": ["false"],
        "title": ["outage", "slow"],
        "root_cause": ["", "a change"],
    },
    "ops": {
        "month": ["2020-04"],
        "metric": ["installations", "changes implemented"],
        "provider": ["DCC", "CSP N"],
        "value": [211, 5.5],
        "unit": ["count"],
        "note": ["", "x"],
    },
}
KIND_HEADERS = {kind: list(columns) for kind, columns in KIND_COLUMNS.items()}


@st.composite
def hostile_workbooks(draw) -> bytes:
    """Workbooks of one or more sheets, some named after a kind twice ('alerts' and 'Alerts '), some
    named after none; then, sometimes, damaged: truncated, a byte flipped, a part dropped."""
    import zipfile

    sheets = {}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(sorted(KIND_HEADERS)))
        title = draw(st.sampled_from([kind, kind, kind.title() + " ", f"{kind} (2)", "Notes"]))
        if title in sheets:
            continue
        header = KIND_HEADERS[kind]
        # A cell is hostile about one time in fifteen.
        cell = {
            column: st.one_of(*[st.sampled_from(values)] * 14, st.sampled_from(TOKENS))
            for column, values in KIND_COLUMNS[kind].items()
        }
        rows = draw(st.lists(st.tuples(*(cell[c] for c in header)).map(list), min_size=1, max_size=4))
        sheets[title] = [header] + [[c.replace("\x00", "") if isinstance(c, str) else c for c in row] for row in rows]
    try:
        raw = xlsx_bytes(sheets)
    except Exception:  # openpyxl refuses to write some characters: write the sheets without them
        raw = xlsx_bytes(
            {
                t: [[text.printable(c) if isinstance(c, str) else c for c in r] for r in rows]
                for t, rows in sheets.items()
            }
        )
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "flip", "drop"]))
    # Where to damage, as a fraction: a workbook's length varies with the time it was written.
    where = draw(st.floats(0, 1, exclude_max=True))
    at = int(len(raw) * where)
    if damage == "truncate":
        raw = raw[:at]
    elif damage == "flip":
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    elif damage == "drop":
        source = zipfile.ZipFile(io.BytesIO(raw))
        names = sorted(source.namelist())
        dropped = names[int(len(names) * where)]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for name in names:
                if name != dropped:
                    target.writestr(name, source.read(name))
        raw = out.getvalue()
    return raw


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(raw=hostile_workbooks())
def test_hostile_workbooks_never_raise_and_never_half_write(con, raw):
    check_one_load(con, raw, "hostile.xlsx")


STORED_TEXT = {
    "measure_values": ["measure", "provider", "note"],
    "incidents": ["incident_id", "provider", "title", "root_cause"],
    "alerts": ["alert_code", "provider"],
    "ops_figures": ["metric", "provider", "note"],
    "annotations": ["text", "measure", "provider"],
    "sources": ["label", "file_name"],
}
IDENTIFIERS = {"measure", "provider", "incident_id", "alert_code", "metric"}


def check_stored_text(con) -> None:
    """Nothing stored holds a character that cannot be printed; no identifier holds one that is not ASCII."""
    for table, columns in STORED_TEXT.items():
        for column in columns:
            for (value,) in con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall():
                assert text.first_unprintable(value) is None, (table, column, value)
                if column in IDENTIFIERS:
                    assert value.isascii(), (table, column, value)


def check_one_load(con, raw: bytes, name: str) -> None:
    before = snapshot(con)
    result = ingest_bytes(con, raw, name)
    assert result.outcome in ("loaded", "unchanged", "rejected")
    if result.outcome == "rejected":
        assert result.problems and all(str(p).startswith(f"{name}") for p in result.problems)
        assert snapshot(con) == before
    elif result.outcome == "unchanged":
        assert snapshot(con) == before
    else:
        # A hostile file that happens to be valid loads whole: one source, one log entry.
        after = snapshot(con)
        assert len(after["sources"]) == len(before["sources"]) + 1
        assert len(after["ingest_log"]) == len(before["ingest_log"]) + 1
    assert text.first_unprintable(result.message) is None
    assert all(text.first_unprintable(str(p)) is None and len(p.message) < 1000 for p in result.problems)
    check_stored_text(con)
