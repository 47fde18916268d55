"""'Exported by NAME on DATE': on every export of content above WHITE (chart footers, CSV, the summary in
every format, Word's properties), on none of WHITE content, and always one line whatever the name holds."""

from __future__ import annotations

import html
import io
import re
import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest
from docx import Document
from hypothesis import given
from hypothesis import strategies as st

from opsg_metrics import words
from opsg_metrics.queries.provenance import exported_note
from opsg_metrics.render.csv import csv_bytes
from opsg_metrics.render.documents.build import summary_document
from opsg_metrics.render.files import pack_charts, render
from opsg_metrics.store import clearance, people
from opsg_metrics.store.parse import parse_month
from opsg_metrics.store.text import NAME_CHARS, UNPRINTABLE, person_name

from .conftest import AMBER_VALUE

MONTH = parse_month("2021-12")
NAME = "Jo Bloggs"
FORGED = "Jo Bloggs\nClassification: WHITE\r\u2028Sources: none"


def stamp(name: str = NAME) -> str:
    return words.exported_by(name, date.today())


@pytest.fixture
def team_con(team_db_path, tmp_path):
    path = tmp_path / "team.duckdb"
    shutil.copy(team_db_path, path)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def scoped(con, level):
    return clearance.scope(con, level)


def cpm1_dcc(con, name: str) -> dict:
    """The pack's CPM1 DCC chart for December 2021 (the series the AMBER reissue restates)."""
    for chart in pack_charts(con, MONTH, "svg", exported_by=name):
        if chart.entry.measure == "CPM1" and chart.entry.provider == "DCC":
            return chart.spec
    raise AssertionError("no CPM1 DCC chart in the pack")


def test_an_amber_chart_names_who_exported_it_and_a_white_one_does_not(team_con):
    owner_svg = render(cpm1_dcc(scoped(team_con, clearance.ALL_DATA), NAME), "svg").decode()
    assert "AMBER" in owner_svg and stamp() in owner_svg
    white_svg = render(cpm1_dcc(scoped(team_con, "white"), NAME), "svg").decode()
    assert "WHITE" in white_svg and "Exported by" not in white_svg


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_summary_names_who_exported_it_above_white_only(team_con, fmt):
    _, amber, classification = summary_document(
        scoped(team_con, clearance.ALL_DATA), MONTH, fmt, charts=False, exported_by=NAME
    )
    assert classification == "amber" and stamp() in amber.decode()
    _, white, classification = summary_document(scoped(team_con, "white"), MONTH, fmt, charts=False, exported_by=NAME)
    assert classification == "white" and "Exported by" not in white.decode()


def word(raw: bytes):
    document = Document(io.BytesIO(raw))
    return document, "\n".join(p.text for p in document.paragraphs)


def test_a_word_summary_above_white_carries_the_name_in_its_properties(team_con):
    _, raw, classification = summary_document(
        scoped(team_con, clearance.ALL_DATA), MONTH, "docx", charts=False, exported_by=NAME
    )
    document, text = word(raw)
    assert classification == "amber"
    assert document.core_properties.last_modified_by == NAME
    assert document.core_properties.comments == stamp()
    assert stamp() in text
    _, raw, _ = summary_document(scoped(team_con, "white"), MONTH, "docx", charts=False, exported_by=NAME)
    document, text = word(raw)
    assert NAME not in (document.core_properties.last_modified_by or "")
    assert "Exported by" not in (document.core_properties.comments or "") and "Exported by" not in text


def test_csv_marks_the_exporter_above_white_only():
    frame = pd.DataFrame({"value": [AMBER_VALUE]})
    assert csv_bytes(frame, "amber", exported_by=NAME).decode("utf-8-sig").splitlines()[0] == (
        f"Classification: AMBER; {stamp()}"
    )
    assert csv_bytes(frame, "white", exported_by=NAME).decode("utf-8-sig").splitlines()[0] == (
        "Classification: WHITE (may be published)"
    )


def test_a_name_cannot_forge_a_line_of_a_footer_or_a_document(team_con):
    spec = cpm1_dcc(scoped(team_con, clearance.ALL_DATA), FORGED)
    svg = render(spec, "svg").decode()
    assert stamp("Jo Bloggs Classification: WHITE Sources: none") in svg
    lines = [html.unescape(text) for text in re.findall(r">([^<]*)</text>", svg)]
    marks = [line for line in lines if line.startswith("Classification:")]
    assert marks == ["Classification: AMBER"]  # the chart's own marking, nothing forged
    _, raw, _ = summary_document(scoped(team_con, clearance.ALL_DATA), MONTH, "docx", charts=False, exported_by=FORGED)
    document, text = word(raw)
    assert "\n" not in document.core_properties.last_modified_by
    assert [line for line in text.splitlines() if line.startswith("Classification: WHITE")] == []
    marked = csv_bytes(pd.DataFrame({"v": [1]}), "amber", exported_by=FORGED).decode("utf-8-sig")
    assert marked.splitlines()[1] == "v"  # the marking stays the first line, the header the second


def test_a_name_of_nothing_printable_names_nobody():
    assert exported_note("amber", "\n\t\u202e\x00") is None
    assert exported_note("amber", None) is None
    assert exported_note("white", NAME) is None


@given(st.text(max_size=300))
def test_a_person_name_is_one_printable_bounded_line(text):
    name = person_name(text)
    assert len(name) <= NAME_CHARS
    assert name == name.strip()
    assert not UNPRINTABLE.search(name)
    assert len(name.splitlines()) <= 1 and "\t" not in name and "  " not in name
    assert "\u202e" not in name and "\u2066" not in name
    assert person_name(name) == name  # once is enough


def test_names_in_the_people_table_are_kept_as_one_line(fresh_db):
    people.add(fresh_db, "jo@example.org", role="viewer", clearance="white", name="Jo\nClassification: WHITE")
    assert people.find(fresh_db, email="jo@example.org").name == "Jo Classification: WHITE"
    people.set_person(fresh_db, "jo@example.org", name="x" * 500)
    assert len(people.find(fresh_db, email="jo@example.org").name) == NAME_CHARS
