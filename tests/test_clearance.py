"""The clearance contract: a person cleared to level L sees exactly what the app would show had only the
sources marked L or less restrictive ever been loaded (store/clearance.py).

The property test loads random sets of sources with random markings (reissues across markings, figures of
earlier months restated, the same figure restated at another marking, incidents, alerts, operations
figures and annotations revised), then for every level compares `status`, `summary` and the chart pack
with `--clearance L` on the full database against the same commands on a database built from only the
sources at L or below.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsg_metrics.ingest.load import ingest_bytes
from opsg_metrics.render.files import pack_charts
from opsg_metrics.store import clearance
from opsg_metrics.store.classification import ORDER
from opsg_metrics.store.connect import connect
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.parse import parse_month

from .conftest import cli_here

MONTH = "2021-12"
MONTHS = ("2021-10", "2021-11", "2021-12")
SERIES = (("CPM1", "DCC"), ("CPM2", "DCC"))
VALUES = (96.5, 98.0, 99.5)

HEADERS = {
    "measures": "month,measure,provider,value,status",
    "incidents": "incident_id,opened,resolved,category,provider,major,title,root_cause",
    "alerts": "month,alert_code,provider,volume,devices,first_time_devices",
    "ops": "month,metric,provider,value,unit,note",
    "annotations": "date,text,scope,measure,provider,kind",
}

measure_rows = st.dictionaries(
    st.tuples(st.sampled_from(MONTHS), st.sampled_from(SERIES)),
    st.tuples(st.sampled_from(VALUES), st.sampled_from(("reported", "reported", "unreliable"))),
    min_size=1,
    max_size=6,
).map(
    lambda rows: [
        f"{month},{measure},{provider},{value},{status}"
        for (month, (measure, provider)), (value, status) in sorted(rows.items())
    ]
)
incident_rows = st.dictionaries(
    st.sampled_from(("INC1", "INC2")),
    st.tuples(st.sampled_from((1, 2)), st.booleans(), st.sampled_from(("Outage of DSP", "Slow responses"))),
    min_size=1,
).map(
    lambda rows: [
        f"{key},2021-12-0{i + 1} 10:00,2021-12-0{i + 2} 09:00,{category},DSP,{str(major).lower()},{title},"
        for i, (key, (category, major, title)) in enumerate(sorted(rows.items()))
    ]
)
alert_rows = st.sampled_from((1500, 2500)).map(lambda volume: [f"2021-12,8F3E,CSP N,{volume},600,200"])
ops_rows = st.sampled_from((180000, 190000)).map(lambda value: [f"2021-12,installations,CSP N,{value},count,"])
annotation_rows = st.sampled_from(("event", "planned")).map(
    lambda kind: [f"2021-11-15,CPM1 fix deployed,series,CPM1,DCC,{kind}"]
)
source = st.tuples(
    st.sampled_from(ORDER),
    st.one_of(
        measure_rows.map(lambda rows: ("measures", rows)),
        measure_rows.map(lambda rows: ("measures", rows)),
        incident_rows.map(lambda rows: ("incidents", rows)),
        alert_rows.map(lambda rows: ("alerts", rows)),
        ops_rows.map(lambda rows: ("ops", rows)),
        annotation_rows.map(lambda rows: ("annotations", rows)),
    ),
)
sources = st.lists(source, min_size=1, max_size=6)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A database with the schema and the catalogue, copied for every database of the test."""
    path = tmp_path_factory.mktemp("clearance") / "template.duckdb"
    cli_here("--db", path, "init", check=0)
    return path


def build(template: Path, folder: Path, name: str, loads: list) -> Path:
    """A database of `loads` (classification, (kind, rows)), loaded in order as the command line would."""
    path = folder / f"{name}.duckdb"
    shutil.copy(template, path)
    con = connect(path)
    try:
        for number, (level, (kind, rows)) in loads:
            text = "\n".join([HEADERS[kind], *rows]) + "\n"
            result = ingest_bytes(
                con, text.encode(), f"s{number}.csv", kind=kind, source=f"Source {number}", classification=level
            )
            assert result.ok, result.problems
    finally:
        con.close()
    return path


def outputs(path: Path, level: str | None) -> dict:
    """What a person cleared to `level` (None: the database's owner) is shown: status, summary, pack."""
    asked = ["--clearance", level] if level else []
    status = cli_here("--db", path, "status", "--month", MONTH, "--json", *asked)
    summary = cli_here("--db", path, "summary", "--month", MONTH, "--allow-restricted", *asked)
    con = clearance.scope(duckdb.connect(str(path), read_only=True), level or clearance.ALL_DATA)
    try:
        pack = [
            (chart.entry, json.dumps(chart.spec, sort_keys=True, default=str))
            for chart in pack_charts(con, parse_month(MONTH), "svg", exported_by="Jo Bloggs")
        ]
    except OpsgError as exc:
        pack = str(exc)
    finally:
        con.close()
    return {
        "status": (status.returncode, status.stdout, status.stderr),
        "summary": (summary.returncode, summary.stdout, summary.stderr),
        "pack": pack,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loads=sources)
@example(  # an AMBER reissue of a WHITE figure, then a WHITE reissue back to the AMBER value
    loads=[
        ("white", ("measures", ["2021-12,CPM1,DCC,99.5,reported", "2021-11,CPM1,DCC,98.0,reported"])),
        ("amber", ("measures", ["2021-12,CPM1,DCC,96.5,reported", "2021-11,CPM1,DCC,96.5,reported"])),
        ("white", ("measures", ["2021-12,CPM1,DCC,96.5,reported"])),
        ("green", ("measures", ["2021-12,CPM1,DCC,99.5,reported"])),
    ]
)
@example(  # a RED incident revised by a WHITE one, and a WHITE annotation restated at AMBER
    loads=[
        ("white", ("measures", ["2021-12,CPM1,DCC,99.5,reported"])),
        ("red", ("incidents", ["INC1,2021-12-01 10:00,,1,DSP,true,Outage of DSP,"])),
        ("white", ("incidents", ["INC1,2021-12-01 10:00,2021-12-02 09:00,2,DSP,false,Slow responses,"])),
        ("amber", ("annotations", ["2021-11-15,CPM1 fix deployed,series,CPM1,DCC,event"])),
        ("white", ("annotations", ["2021-11-15,CPM1 fix deployed,series,CPM1,DCC,event"])),
    ]
)
def test_a_level_sees_what_its_sources_alone_would_show(template, tmp_path_factory, loads):
    folder = tmp_path_factory.mktemp("levels")
    numbered = list(enumerate(loads, start=1))
    full = build(template, folder, "full", numbered)
    built: dict[tuple, dict] = {}
    for level in ORDER:
        admitted = tuple(n for n, (marking, _) in numbered if marking in clearance.admitted(level))
        if admitted not in built:
            only = build(template, folder, f"only-{level}", [(n, load) for n, load in numbered if n in admitted])
            built[admitted] = outputs(only, None)
        assert outputs(full, level) == built[admitted], level


def test_every_table_of_a_source_is_read_through_each_level(template):
    """Every main table or view holding a source's rows has a view of the same name at each level (or is
    the people and audit tables, which hold none): a query of the package cannot reach an unfiltered one."""
    con = duckdb.connect(str(template), read_only=True)
    try:
        holding = {
            name
            for (name,) in con.execute(
                "SELECT DISTINCT table_name FROM information_schema.columns "
                "WHERE table_schema = 'main' AND column_name IN ('source_id', 'classification')"
            ).fetchall()
        }
        assert {"measure_values", "sources", "current_alerts", "annotation_scope", "ingest_log"} <= holding
        for level in ORDER[:-1]:
            schema = clearance.schema_of(level)
            shadowed = {
                name
                for (name,) in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
                ).fetchall()
            }
            restated = {name for name in holding if name.startswith("restated_")}
            assert holding - shadowed - restated == {"audit_log"}, level
    finally:
        con.close()


def test_the_owner_reads_the_main_tables_and_every_other_level_its_schema(template):
    con = duckdb.connect(str(template), read_only=True)
    try:
        for level in ORDER:
            assert clearance.level_of(clearance.scope(con, level)) == level
        assert clearance.schema_of("red") == "main"
    finally:
        con.close()
    with pytest.raises(ValueError, match="unknown clearance 'secret'"):
        clearance.admitted("secret")


def test_the_command_line_refuses_an_unknown_clearance(template):
    result = cli_here("--db", template, "status", "--month", MONTH, "--clearance", "secret")
    assert result.returncode == 2 and "secret" in result.stderr and "amber" in result.stderr
