"""Exported charts are real files carrying their provenance; month packs hold every series."""

from __future__ import annotations

import csv
import io
import struct
import zipfile
from datetime import date

import pandas as pd
import pytest

from opsg_metrics.render import draw
from opsg_metrics.render import files as export
from opsg_metrics.render.charts import views

from .conftest import cli_here, load_text, read_marked_csv


def png_ppi(png: bytes) -> float:
    """Pixels per inch from a PNG's pHYs chunk."""
    offset = 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        if kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", png[offset + 8 : offset + 17])
            assert unit == 1
            return x * 0.0254
        offset += 12 + length
    raise AssertionError("no pHYs chunk")


@pytest.fixture
def small(fresh_db):
    load_text(
        fresh_db,
        """\
        month,measure,provider,value,note
        2019-01,M1,DCC,94,
        2019-02,M1,DCC,93,
        2019-02,M1,CSP N,97,
        2019-02,L1,DSP,12,
        """,
        "pmr-public.csv",
        issued=date(2019, 3, 20),
    )
    return fresh_db


def view_of(con, *providers, measure="M1", end=date(2019, 2, 1)):
    return views.trend_view(con, measure, list(providers), date(2019, 1, 1), end)


def test_png_is_real_and_print_resolution(small):
    name, png = export.export_view(view_of(small, "DCC"), "png")
    assert name == "2019-01_to_2019-02_M1_DCC.png"
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert round(png_ppi(png)) == draw.PNG_PPI >= 200
    width = struct.unpack(">I", png[16:20])[0]
    assert abs(width - 16 / 2.54 * 200) <= 2  # the A4 text width (16 cm) at 200 ppi, not screen size


def test_svg_carries_source_month_and_classification(small):
    name, svg = export.export_view(view_of(small, "DCC", "CSP N"), "svg")
    text = svg.decode("utf-8")
    assert name == "2019-01_to_2019-02_M1_DCC_CSP-N.svg"
    assert text.startswith("<svg") and len(text) > 5_000
    assert "Sources: pmr-public.csv (issued 20 Mar 2019)" in text
    assert "PMR month: February 2019" in text
    assert "Classification: WHITE (may be published)" in text
    assert "Illustrative sample data" not in text


def test_pdf_is_real(small):
    _, pdf = export.export_view(view_of(small, "DCC"), "pdf")
    assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000


def test_the_most_restrictive_classification_shown_wins(small):
    load_text(small, "month,measure,provider,value\n2019-01,M1,CSP N,96.5\n", "pmr-amber.csv", classification="amber")
    view = view_of(small, "DCC", "CSP N")
    assert view.provenance.classification == "amber"
    assert "Classification: AMBER" in export.export_view(view, "svg")[1].decode()
    # The DCC panel alone shows nothing from the amber source.
    assert view_of(small, "DCC").provenance.classification == "white"


def test_an_incident_source_counts_for_classification(small):
    load_text(
        small,
        "incident_id,opened,resolved,category,provider,major,title\nINC9,2019-01-05,,1,DSP,true,Outage\n",
        "incidents.csv",
        classification="red",
    )
    view = view_of(small, "DCC")
    assert view.provenance.classification == "red"
    hidden = views.trend_view(small, "M1", ["DCC"], date(2019, 1, 1), date(2019, 2, 1), show_incidents=False)
    assert hidden.provenance.classification == "white"


def test_sample_data_is_labelled_on_the_chart(sample_db):
    view = views.trend_view(sample_db, "PM2", ["CSP N"], date(2020, 1, 1), date(2020, 4, 1))
    svg = export.export_view(view, "svg")[1].decode()
    assert "Illustrative sample data" in svg
    assert "WHITE (shared with SEC Parties, not published online)" in svg  # the incident log's


def test_month_pack_holds_one_chart_per_series_with_data(small):
    name, content, entries = export.month_pack(small, date(2019, 2, 1), "svg")
    assert name == "opsg-charts-2019-02-white.zip"
    with zipfile.ZipFile(io.BytesIO(content)) as pack:
        files = sorted(pack.namelist())
        assert files == [
            "2019-02_L1_DSP.svg",
            "2019-02_M1_CSP-N.svg",
            "2019-02_M1_DCC.svg",
            "README.txt",
            "manifest.csv",
        ]
        marking, manifest = read_marked_csv(pack.read("manifest.csv"))
        assert marking == "Classification: WHITE (may be published)"
        assert {m["file"] for m in manifest} == {e.file for e in entries}
        assert all(m["classification"] == "white" for m in manifest)
        assert b"Classification: WHITE" in pack.read("2019-02_M1_DCC.svg")
    # January has a figure for M1 (DCC) only.
    assert [e.file for e in export.month_pack(small, date(2019, 1, 1), "png")[2]] == ["2019-01_M1_DCC.png"]


def test_month_pack_reports_progress_and_refuses_an_empty_month(small):
    seen = []
    export.month_pack(small, date(2019, 2, 1), "png", progress=lambda n, total, name: seen.append((n, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(export.OpsgError, match="no figures for March 2019"):
        export.month_pack(small, date(2019, 3, 1), "png")


def test_csv_export_neutralises_formulas_but_not_numbers():
    frame = pd.DataFrame(
        {"note": ['=HYPERLINK("x")', "+1", "-cmd", "@SUM(A1)", "\tx", "plain", None], "value": [-1.5, 2, 3, 4, 5, 6, 7]}
    )
    text = export.csv_bytes(frame, "amber").decode("utf-8-sig")
    assert text.splitlines()[0] == "Classification: AMBER"
    rows = list(csv.reader(io.StringIO(text.split("\n", 1)[1])))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("x")', "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "plain", ""]
    assert [r[1] for r in rows[1:]] == ["-1.5", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0"]


def test_cli_export_charts_writes_named_files_with_a_manifest(sample_db_path, tmp_path):
    out = tmp_path / "charts"
    proc = cli_here(
        "--db",
        sample_db_path,
        "export-charts",
        "--month",
        "2020-04",
        "--out",
        out,
        "--format",
        "png",
        "--measure",
        "CPM1",
        check=0,
    )
    files = sorted(p.name for p in out.iterdir())
    assert files == ["2020-04_CPM1_CSP-CandS.png", "2020-04_CPM1_CSP-N.png", "2020-04_CPM1_DCC.png", "manifest.csv"]
    assert all((out / f).read_bytes()[:4] == b"\x89PNG" for f in files if f.endswith(".png"))
    assert "Done: 3 charts" in proc.stdout and "[3/3]" in proc.stdout


def test_cli_export_charts_errors(sample_db_path, tmp_path):
    proc = cli_here(
        "--db", sample_db_path, "export-charts", "--month", "2020-04", "--out", tmp_path, "--measure", "CPM99", check=1
    )
    assert "unknown measure 'CPM99'" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli_here("--db", sample_db_path, "export-charts", "--month", "2030-01", "--out", tmp_path, check=1)
    assert "no figures for January 2030" in proc.stderr


def test_footer_summarises_many_pmrs_and_lists_other_sources(sample_db):
    view = views.trend_view(sample_db, "PM2", ["CSP N"], date(2018, 1, 1), date(2021, 12, 1))
    lines = view.provenance.footer_lines(date(2021, 12, 1))
    sources = next(line for line in lines if line.startswith("Sources: "))
    assert sources.startswith(
        "Sources: 48 PMR documents from PMR January 2018 issue 1 to PMR December 2021 issue 1, "
        "issued 20 Feb 2018 to 20 Jan 2022; "
    )
    assert "Incident log (illustrative) (issued 20 Jan 2022)" in sources


def test_file_names_give_the_range_unless_one_month(small):
    assert export.export_view(view_of(small, "DCC"), "svg")[0] == "2019-01_to_2019-02_M1_DCC.svg"
    one = views.trend_view(small, "M1", ["DCC"], date(2019, 2, 1), date(2019, 2, 1))
    assert export.file_name(one, "png") == "2019-02_M1_DCC.png"


def test_restricted_exports_need_allow_restricted_on_the_cli(tmp_path):
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.ingest.load import ingest_bytes
    from opsg_metrics.store import connect as db

    path = tmp_path / "amber.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    ingest_bytes(
        con,
        b"month,measure,provider,value\n2019-01,CPM1,DCC,97\n2019-02,CPM1,DCC,97\n",
        "a.csv",
        classification="amber",
    )
    con.close()
    out = tmp_path / "charts"
    refused = cli_here("--db", path, "export-charts", "--month", "2019-02", "--out", out, "--format", "svg", check=1)
    assert "classified AMBER" in refused.stderr and "--allow-restricted" in refused.stderr
    assert not out.exists()
    cli_here(
        "--db",
        path,
        "export-charts",
        "--month",
        "2019-02",
        "--out",
        out,
        "--format",
        "svg",
        "--allow-restricted",
        check=0,
    )
    assert "Classification: AMBER" in (out / "2019-02_CPM1_DCC.svg").read_text()
    refused = cli_here("--db", path, "summary", "--month", "2019-02", check=1)
    assert "classified AMBER" in refused.stderr and refused.stdout == ""
    allowed = cli_here("--db", path, "summary", "--month", "2019-02", "--allow-restricted", check=0)
    assert "Classification: AMBER." in allowed.stdout


def test_restricted_downloads_need_a_confirmation_on_the_page(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.ingest.load import ingest_bytes
    from opsg_metrics.store import connect as db

    from .conftest import REPO

    path = tmp_path / "red.duckdb"
    con = db.connect(path)
    bootstrap.load_reference_data(con)
    ingest_bytes(con, b"month,measure,provider,value\n2019-01,CPM1,DCC,97\n", "r.csv", classification="red")
    con.close()
    monkeypatch.setenv("OPSG_DB", str(path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run().switch_page("pages/trends.py").run()
    assert not at.exception
    assert not [b for b in at.get("download_button") if b.label.startswith("Download PNG")]
    assert any("RED" in w.value for w in at.main.warning)
    at.checkbox(key="confirm-download-CPM1").check().run()
    assert [b.label for b in at.get("download_button") if b.label.startswith("Download")][:3] == [
        "Download PNG",
        "Download SVG",
        "Download PDF",
    ]


def test_spc_export_carries_rebases_method_sources_and_classification(sample_db_path, tmp_path):
    import shutil

    from opsg_metrics.store import connect as db

    path = tmp_path / "rebased.duckdb"
    shutil.copy(sample_db_path, path)
    con = db.connect(path)
    # The sample has no rebase (the minutes never say when the CSP C&S fix went in): one is added here.
    load_text(
        con,
        "date,text,scope,measure,provider,kind\n"
        "2020-03-01,CSP C&S CPM1: first full month with the fix,series,CPM1,CSP C&S,rebase\n",
        "rebase.csv",
        kind="annotations",
        source="A rebase for the test",
    )
    view = views.spc_view(con, "CPM1", ["CSP C&S"], date(2018, 1, 1), date(2021, 12, 1))
    name, svg = export.export_spc_view(view, "svg")
    assert name == "2018-01_to_2021-12_CPM1_CSP-CandS_SPC.svg"
    text = svg.decode("utf-8")
    assert "Rebase 01 Mar 2020: CSP C&amp;S CPM1: first full month with the fix" in text
    assert "Limits: mean ± 2.66 × average moving range per segment" in text
    assert "Classification: WHITE" in text and "PMR month: December 2021" in text
    result = view.results["CSP C&S"]
    assert f"{result.last_segment.upl:.2f}%" in text  # the latest limits, in the panel's subtitle
    png = export.export_spc_view(view, "png")[1]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png_ppi(png) == pytest.approx(draw.PNG_PPI, abs=1)
    con.close()


def test_spc_export_takes_the_most_restrictive_classification_shown(small):
    load_text(small, "month,measure,provider,value\n2019-01,M1,CSP N,96.5\n", "pmr-amber.csv", classification="amber")
    both = views.spc_view(small, "M1", ["DCC", "CSP N"], date(2019, 1, 1), date(2019, 2, 1))
    assert both.provenance.classification == "amber"
    assert "Classification: AMBER" in export.export_spc_view(both, "svg")[1].decode()
    assert views.spc_view(small, "M1", ["DCC"], date(2019, 1, 1), date(2019, 2, 1)).provenance.classification == "white"
