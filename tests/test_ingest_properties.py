"""Property: whatever bytes arrive, ingest answers with a result (never an exception) and a
rejected file leaves the database exactly as it was."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsg_metrics import db
from opsg_metrics.bootstrap import load_reference_data
from opsg_metrics.ingest import ingest_bytes

from .test_ingest import snapshot

HEADERS = ["month", "measure", "provider", "value", "status", "numerator", "denominator", "note",
           "incident_id", "alert_code", "volume", "metric", "unit", "x_extra", "", "Month", "VALUE"]
TOKENS = ["2020-04", "2020-13", "Apr 2020", "CPM1", "PM2", "CSP N", "North", "DCC", "Mars", "54.80%", "n/a",
          "1e400", "-1", "null", "unreliable", "=1+1", "@SUM(A1)", "<script>x</script>", "\ufeff", "é£",
          "\x00", '"', "8F3E", "9" * 30, "", " ", "true", "0x10"]


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
        text = text.replace('"', "", draw(st.integers(0, 2)))   # break some quoting
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(raw=hostile_files(), as_xlsx_name=st.booleans())
def test_hostile_files_never_raise_and_never_half_write(con, raw, as_xlsx_name):
    before = snapshot(con)
    name = "hostile.xlsx" if as_xlsx_name else "hostile.csv"
    result = ingest_bytes(con, raw, name)
    assert result.outcome in ("loaded", "unchanged", "rejected")
    if result.outcome == "rejected":
        assert result.problems and all(str(p).startswith(f"{name}:") for p in result.problems)
        assert snapshot(con) == before
    elif result.outcome == "unchanged":
        assert snapshot(con) == before
    else:
        # A hostile file that happens to be valid loads whole: one source, one log entry.
        after = snapshot(con)
        assert len(after["sources"]) == len(before["sources"]) + 1
        assert len(after["ingest_log"]) == len(before["ingest_log"]) + 1
