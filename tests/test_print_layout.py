"""Print layouts (render/layout.py): every exported chart kind at every preset, read back from the files.

From the SVG: its physical width is the preset's; no text prints smaller than 8 pt at that width; the
classification, in capitals, is the first and the last text; every legend entry is something the chart
draws. From the PDF: the page is the preset's (A4 portrait or landscape, a 16:9 slide). From the PNG: as
many pixels as the width at 200 ppi.
"""

from __future__ import annotations

import re
import struct
from datetime import date
from html import unescape

import pytest

from opsg_metrics.app.screens import incidents as incident_screen
from opsg_metrics.queries import alerts, incident_views, operations
from opsg_metrics.queries.provenance import frame_source_ids, provenance
from opsg_metrics.render import files, layout
from opsg_metrics.render.charts import context as context_charts
from opsg_metrics.render.charts import views
from opsg_metrics.render.draw import render
from opsg_metrics.store.classification import LABELS

START, END = date(2019, 1, 1), date(2020, 4, 1)
KINDS = ("trend", "spc", "incidents", "resolution", "alerts", "operations", "pack")


def spec_of_kind(con, kind: str, preset: str) -> dict:
    """The print spec of one chart of `kind`, as its export makes it."""
    if kind == "trend":
        view = views.trend_view(con, "PM2", ["CSP N", "CSP C&S"], START, END)
        return files.export_spec(view, layout=preset)
    if kind == "spc":
        view = views.spc_view(con, "CPM1", ["DCC"], date(2018, 1, 1), END)
        return files.chart_spec(
            view.chart,
            view.provenance,
            view.pmr_month,
            view.rebase_notes,
            layout=preset,
            heading=files.spc_heading(view),
        )
    if kind in ("incidents", "resolution"):
        f = incident_views.incident_filter("2019-01", "2020-04")
        shown = incident_views.incident_views(con, f)
        view = "opened" if kind == "incidents" else "resolution"
        chart = incident_screen.chart(
            shown, f, view, "category", ["DSP", "CSP N", "CSP C&S"], "January 2019 to April 2020"
        )
        return files.chart_spec(chart, incident_views.view_provenance(con, f, view), END, layout=preset)
    if kind == "alerts":
        regions = ["CSP N", "CSP C&S"]
        codes = alerts.top_codes(con, 4)
        frame = alerts.volumes(con, regions, START, END, codes=codes)
        chart = context_charts.alert_volume_chart(frame, regions=regions, codes=codes, start=START, end=END)
        return files.chart_spec(chart, provenance(con, frame_source_ids(frame)), END, layout=preset)
    if kind == "operations":
        view = operations.operations_view(con, ["CSP N", "CSP C&S"], START, END)
        chart = context_charts.small_multiples(
            operations.series(view),
            panels=["Installations (cumulative)", "Installations in the month", "Exceptions"],
            start=START,
            end=END,
            title="Installations and exceptions by region",
        )
        origin = provenance(con, frame_source_ids(view.installations, view.exceptions))
        return files.chart_spec(chart, origin, END, layout=preset)
    charts = files.pack_charts(con, END, "svg", layout=preset)
    return next(c.spec for c in charts if c.entry.measure == "CPM1")


@pytest.fixture(scope="module")
def drawn(sample_db_path):
    """Each kind at each preset as SVG (and its spec), drawn once for the module."""
    import duckdb

    con = duckdb.connect(str(sample_db_path), read_only=True)
    out = {}
    try:
        for kind in KINDS:
            for preset in layout.PRESETS:
                spec = spec_of_kind(con, kind, preset)
                out[kind, preset] = (spec, render(spec, "svg").decode("utf-8"))
    finally:
        con.close()
    return out


CASES = [(kind, preset) for kind in KINDS for preset in layout.PRESETS]
ROOT = re.compile(r'<svg\b[^>]*?width="([\d.]+)cm" height="([\d.]+)cm" viewBox="0 0 ([\d.]+) ([\d.]+)"')
TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")


def texts(svg: str) -> list[tuple[float, str, bool]]:
    """Every text of the drawing: (font size in px, the text, whether it is shown)."""
    out = []
    for attributes, content in TEXT.findall(svg):
        size = re.search(r'font-size="([\d.]+)px"', attributes)
        shown = 'opacity="0"' not in attributes
        out.append((float(size.group(1)) if size else 11.0, unescape(content), shown))
    return out


@pytest.mark.parametrize("kind, preset", CASES, ids=[f"{k}-{p}" for k, p in CASES])
def test_a_printed_chart_has_its_physical_width_and_legible_text(drawn, kind, preset):
    spec, svg = drawn[kind, preset]
    root = ROOT.search(svg)
    assert root, "the SVG carries no physical size"
    width_cm, drawn_px = float(root.group(1)), float(root.group(3))
    assert width_cm == layout.PRESETS[preset].width_cm
    points_per_px = width_cm / 2.54 * 72 / drawn_px
    smallest = min(size for size, text, shown in texts(svg) if shown and text.strip())
    assert smallest * points_per_px >= 8.0, f"text of {smallest * points_per_px:.1f} pt"
    # The plot fills the width: the drawing is laid out within 5% of the preset's width in pixels.
    assert abs(drawn_px - layout.PRESETS[preset].width_px) <= 0.05 * layout.PRESETS[preset].width_px


@pytest.mark.parametrize("kind, preset", CASES, ids=[f"{k}-{p}" for k, p in CASES])
def test_a_printed_chart_is_marked_at_its_top_and_bottom(drawn, kind, preset):
    spec, svg = drawn[kind, preset]
    shown = [text for _, text, visible in texts(svg) if visible and text.strip()]
    classification = next(c for c, label in LABELS.items() if label.upper() == shown[0])
    assert shown[-1] == LABELS[classification].upper()
    assert f"Classification: {LABELS[classification]}" in shown


@pytest.mark.parametrize("kind, preset", CASES, ids=[f"{k}-{p}" for k, p in CASES])
def test_a_printed_legend_lists_only_what_is_drawn(drawn, kind, preset):
    spec, svg = drawn[kind, preset]
    present = {str(v) for values in layout.present_values(spec).values() for v in values}
    labels = re.findall(r'role-legend-label"[^>]*>(.*?)</g>', svg, re.S)
    entries = [unescape(t) for block in labels for t in re.findall(r">([^<]+)</text>", block)]
    for entry in entries:
        assert entry in present, f"the legend lists '{entry}', which the chart does not draw"


def test_the_trend_legend_leaves_out_marks_not_drawn(drawn):
    spec, svg = drawn["trend", "a4"]
    labels = re.findall(r'role-legend-label"[^>]*>(.*?)</g>', svg, re.S)
    entries = {unescape(t) for block in labels for t in re.findall(r">([^<]+)</text>", block)}
    assert {"Met", "Below minimum", "Target", "Minimum"} <= entries
    assert "Inferred figure" not in entries and "Not reported" not in entries  # the sample has none here


def test_the_heading_says_what_the_trend_shows(drawn):
    spec, svg = drawn["trend", "a4"]
    shown = [text for _, text, visible in texts(svg) if visible]
    assert shown[1] == "PM2 below minimum in CSP N for 18 months"  # the run below minimum at April 2020
    assert shown[2].startswith("PM2: ") and "January 2019 to April 2020" in " ".join(shown[2:4])


def test_the_footer_says_the_levels_are_not_verified(drawn):
    spec, svg = drawn["trend", "a4"]
    assert "Service levels not yet verified" in svg


def _pdf_page(content: bytes) -> tuple[float, float]:
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", content)
    return float(box.group(1)), float(box.group(2))


@pytest.mark.parametrize("preset", list(layout.PRESETS))
def test_pdf_pages_and_png_pixels_are_the_presets(drawn, preset):
    spec, _ = drawn["trend", preset]
    page_w, page_h = _pdf_page(render(spec, "pdf"))
    want_w, want_h = (v / 2.54 * 72 for v in layout.PRESETS[preset].page_cm)
    assert abs(page_w - want_w) < 1 and abs(page_h - want_h) < 1
    png = render(spec, "png")
    width_px = struct.unpack(">I", png[16:20])[0]
    assert abs(width_px - layout.PRESETS[preset].width_cm / 2.54 * 200) <= 2


def test_an_unknown_layout_is_refused_by_name(sample_db):
    from opsg_metrics.store.errors import OpsgError

    with pytest.raises(OpsgError, match="unknown print layout 'a5' \\(use a4, a4-landscape, slide\\)"):
        files.pack_charts(sample_db, END, "svg", layout="a5")
