"""Chart specs, asserted on chart.to_dict(): the layers, levels that step, gaps, shape and colour."""

from __future__ import annotations

import re
from datetime import date

import altair as alt
import pytest

from opsg_metrics.queries import trends
from opsg_metrics.render.charts import theme, views
from opsg_metrics.render.charts import trend as charts

from .conftest import load_text


def panel_layers(spec: dict, panel: int = 0) -> dict[str, dict]:
    """A panel's layers by name (Altair numbers names repeated across panels: value_line_0, ...)."""
    return {re.sub(r"_\d+$", "", layer["name"]): layer for layer in spec["vconcat"][panel]["layer"]}


def data_of(spec: dict, layer: dict) -> list[dict]:
    """The rows a layer draws (Altair moves inline data into top-level datasets)."""
    return spec["datasets"][layer["data"]["name"]]


@pytest.fixture
def m1(fresh_db):
    """M1 (DCC): levels 99/96 in 2018 and 95/90 from 2019; a null, an unreliable and a revised month."""
    load_text(
        fresh_db,
        """\
        month,measure,provider,value,status,note
        2018-10,M1,DCC,97,,
        2018-11,M1,DCC,,null,withdrawn by DCC
        2018-12,M1,DCC,95.5,unreliable,tool fault
        2019-01,M1,DCC,94,,
        2019-02,M1,DCC,89,,
        2018-10,M1,CSP N,99.5,,
        2018-11,M1,CSP N,99.2,,
        2018-12,M1,CSP N,98,,
        2019-01,M1,CSP N,97,,
        2019-02,M1,CSP N,96.5,,
        """,
        "issue1.csv",
    )
    load_text(fresh_db, "month,measure,provider,value\n2019-01,M1,DCC,94.5\n", "issue2.csv")
    view = views.trend_view(fresh_db, "M1", ["DCC", "CSP N"], date(2018, 10, 1), date(2019, 2, 1))
    return view, view.chart.to_dict()


def test_every_layer_is_there(m1):
    _, spec = m1
    assert set(panel_layers(spec)) == {"level_band", "levels", "value_line", "status_points", "flag_marks", "gap_marks"}
    assert [p["title"]["text"] for p in spec["vconcat"]] == ["DCC", "CSP N"]
    assert spec["title"]["text"] == "M1: Higher is better"


def test_levels_step_with_the_level_in_force(m1):
    _, spec = m1
    levels = data_of(spec, panel_layers(spec)["levels"])
    targets = {row["month_iso"]: row["level"] for row in levels if row["level_name"] == "Target"}
    minimums = {row["month_iso"]: row["level"] for row in levels if row["level_name"] == "Minimum"}
    assert targets["2018-12-01"] == 99 and targets["2019-01-01"] == 95
    assert minimums["2018-12-01"] == 96 and minimums["2019-01-01"] == 90
    assert targets["2019-03-01"] == 95  # the closing step after the last month
    layer = panel_layers(spec)["levels"]
    assert layer["mark"]["interpolate"] == "step-after"
    dash = layer["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["Target", "Minimum"] and dash["range"][0] == [1, 0] and dash["range"][1] != [1, 0]
    band = panel_layers(spec)["level_band"]
    assert band["encoding"]["y"]["field"] == "minimum" and band["encoding"]["y2"]["field"] == "target"


def test_null_month_is_a_gap_with_its_reason_not_a_point_on_the_line(m1):
    _, spec = m1
    layers = panel_layers(spec)
    line_months = [row["month_iso"] for row in data_of(spec, layers["value_line"])]
    assert "2018-11-01" not in line_months and "2018-10-01" in line_months
    segments = {row["month_iso"]: row["segment"] for row in data_of(spec, layers["value_line"])}
    assert segments["2018-10-01"] != segments["2018-12-01"]  # the line breaks at the gap
    assert layers["value_line"]["encoding"]["detail"]["field"] == "segment"
    gaps = data_of(spec, layers["gap_marks"])
    assert [(g["month_iso"], g["reason"]) for g in gaps] == [("2018-11-01", "Not reported: withdrawn by DCC")]


def test_status_is_encoded_by_shape_and_colour(m1):
    _, spec = m1
    points = panel_layers(spec)["status_points"]
    assert points["encoding"]["shape"]["field"] == "mark" and points["encoding"]["color"]["field"] == "mark"
    shapes = dict(zip(points["encoding"]["shape"]["scale"]["domain"], points["encoding"]["shape"]["scale"]["range"]))
    assert len(set(shapes[s] for s in ("Met", "Below target", "Below minimum"))) == 3
    marks = {row["month_iso"]: row["mark"] for row in data_of(spec, points)}
    # 94.5 in January 2019 is below the new target of 95 but above its minimum of 90.
    assert marks == {
        "2018-10-01": "Below target",
        "2018-12-01": "Below minimum",
        "2019-01-01": "Below target",
        "2019-02-01": "Below minimum",
    }


def test_unreliable_and_revised_figures_are_marked(m1):
    _, spec = m1
    flags = data_of(spec, panel_layers(spec)["flag_marks"])
    assert sorted((f["month_iso"], f["mark"]) for f in flags) == [
        ("2018-12-01", "Unreliable figure"),
        ("2019-01-01", "Revised figure"),
    ]


def test_tooltips_give_value_counts_status_run_source_and_note(m1):
    _, spec = m1
    titles = [t["title"] for t in panel_layers(spec)["status_points"]["encoding"]["tooltip"]]
    for wanted in ("Value", "Numerator", "Denominator", "Status", "Run", "Source", "Note"):
        assert wanted in titles
    row = next(r for r in data_of(spec, panel_layers(spec)["status_points"]) if r["month_iso"] == "2019-01-01")
    assert row["source_text"] == "issue2.csv" and row["value"] == 94.5


def test_current_run_is_annotated_on_each_panel(m1):
    _, spec = m1
    subtitles = [p["title"].get("subtitle", "") for p in spec["vconcat"]]
    # DCC: October to February, November not reported. CSP N keeps 99/96: December to February.
    assert subtitles == [
        "4 months below target since Oct 2018 (1 not reported)",
        "3 months below target since Dec 2018",
    ]


def test_panels_share_their_x_scale_and_each_has_its_own_y_range(m1):
    _, spec = m1
    domains = [panel_layers(spec, i)["status_points"]["encoding"]["y"]["scale"]["domain"] for i in range(2)]
    assert domains[0][0] <= 89 and domains[0][1] >= 97  # DCC: 89 to 97
    assert domains[1][0] > 89 and domains[1][1] >= 99.5  # CSP N: its own figures, not flattened by DCC's
    assert spec["resolve"]["scale"]["y"] == "independent"


def test_a_shared_y_scale_on_request(fresh_db, m1):
    view = views.trend_view(fresh_db, "M1", ["DCC", "CSP N"], date(2018, 10, 1), date(2019, 2, 1), y_scale="shared")
    spec = view.chart.to_dict()
    domains = [panel_layers(spec, i)["status_points"]["encoding"]["y"]["scale"]["domain"] for i in range(2)]
    assert domains[0] == domains[1] and domains[0][0] <= 89 and domains[0][1] >= 99.5
    x_domains = [panel_layers(spec, i)["value_line"]["encoding"]["x"]["scale"]["domain"] for i in range(2)]
    assert x_domains[0] == x_domains[1] == ["2018-10-01", "2019-03-01"]


def test_one_theme_for_screen_and_print(m1):
    view, _ = m1
    assert alt.theme.active == "opsg"
    config = alt.theme.get()()["config"]
    assert config["background"] == "white" and config["font"] == "DejaVu Sans"
    assert config["range"]["category"] == theme.OKABE_ITO
    spec = view.chart.to_dict()
    assert spec["config"]["font"] == "DejaVu Sans"


def test_incidents_and_annotations_are_drawn_on_the_right_panels(fresh_db):
    load_text(fresh_db, "month,measure,provider,value\n2019-01,M1,DCC,94\n2019-01,M1,CSP N,97\n2019-02,M1,CSP N,97\n")
    load_text(
        fresh_db,
        """\
        incident_id,opened,resolved,category,provider,major,title
        INC1,2019-01-10 02:00,2019-01-10 09:00,1,CSP N,true,North outage
        INC2,2019-02-10 02:00,,2,DSP,true,DSP outage
        INC3,2019-02-11 02:00,,4,CSP N,false,Minor
        """,
        "incidents.csv",
    )
    load_text(
        fresh_db,
        """\
        date,text,scope,measure,provider,kind
        2019-01-15,Fix deployed in the North,series,M1,CSP N,event
        2019-02-01,Green promised,measure,M1,,planned
        2019-02-03,Unrelated measure,measure,L1,,event
        """,
        "notes.csv",
    )
    view = views.trend_view(fresh_db, "M1", ["DCC", "CSP N"], date(2019, 1, 1), date(2019, 2, 1))
    spec = view.chart.to_dict()
    dcc, north = panel_layers(spec, 0), panel_layers(spec, 1)
    assert sorted(r["incident_id"] for r in data_of(spec, dcc["major_incidents"])) == ["INC1", "INC2"]
    assert [r["incident_id"] for r in data_of(spec, north["major_incidents"])] == ["INC1"]
    assert [r["text"] for r in data_of(spec, dcc["annotations"])] == ["Green promised"]
    assert sorted(r["text"] for r in data_of(spec, north["annotations"])) == [
        "Fix deployed in the North",
        "Green promised",
    ]
    assert trends.annotation_lines(view.data.annotations) == [
        "[1] 15 Jan 2019 (event): Fix deployed in the North",
        "[2] 01 Feb 2019 (planned): Green promised",
    ]
    hidden = views.trend_view(
        fresh_db, "M1", ["DCC"], date(2019, 1, 1), date(2019, 2, 1), show_incidents=False, show_annotations=False
    ).chart.to_dict()
    assert "major_incidents" not in panel_layers(hidden) and "annotations" not in panel_layers(hidden)


def test_spec_validates_against_the_vega_lite_schema(m1):
    view, _ = m1
    view.chart.to_dict(validate=True)  # raises on an invalid spec
    import altair as alt

    from opsg_metrics.render import files, layout

    for key in layout.PRESETS:
        printed = files.export_spec(view, layout=key)
        alt.VConcatChart.from_dict(printed, validate=True)  # the print layout is valid Vega-Lite too
        assert len(printed["vconcat"]) == 3  # heading, the chart, footer


def test_an_inferred_figure_is_ringed_in_its_own_shape_and_colour(fresh_db):
    result = load_text(
        fresh_db,
        """\
        month,measure,provider,value,status,note
        2018-10,M1,DCC,97,,
        2018-11,M1,DCC,96.5,inferred,OPSG minutes: below target in November
        2018-12,M1,DCC,97,,
        """,
    )
    assert result.ok, result.problems
    view = views.trend_view(fresh_db, "M1", ["DCC"], date(2018, 10, 1), date(2018, 12, 1))
    spec = view.chart.to_dict(validate=True)
    layers = panel_layers(spec)
    flags = data_of(spec, layers["flag_marks"])
    assert [(f["month_iso"], f["mark"]) for f in flags] == [("2018-11-01", "Inferred figure")]
    assert layers["flag_marks"]["mark"]["filled"] is False  # hollow, like the other flags
    # The point keeps the status of its value; its tooltip never gives it as reported.
    points = {r["month_iso"]: r for r in data_of(spec, layers["status_points"])}
    assert points["2018-11-01"]["mark"] == "Below target"
    assert points["2018-11-01"]["status_text"] == "Below target (inferred, not reported)"
    assert points["2018-10-01"]["status_text"] == "Below target"
    tooltip = {t["title"]: t["field"] for t in layers["status_points"]["encoding"]["tooltip"]}
    assert tooltip["Status"] == "status_text"
    # One shared legend: the inferred flag has a shape and a colour no other mark has, from Okabe-Ito.
    scale = layers["flag_marks"]["encoding"]["shape"]["scale"]
    shapes = dict(zip(scale["domain"], scale["range"]))
    colours = dict(zip(charts.MARK_DOMAIN, charts.MARK_COLOURS))
    assert shapes["Inferred figure"] not in [s for m, s in shapes.items() if m != "Inferred figure"]
    assert colours["Inferred figure"] not in [c for m, c in colours.items() if m != "Inferred figure"]
    assert colours["Inferred figure"] in theme.OKABE_ITO
    assert len(charts.MARK_DOMAIN) == len(charts.MARK_SHAPES) == len(charts.MARK_COLOURS)
    # The figures table says what kind of figure each is.
    table = trends.figures_table(view.rows).set_index("Month")
    assert list(table["Figure"]) == ["reported", "inferred", "reported"]
    assert table.loc["2018-11", "Status"] == "Below target" and table.loc["2018-12", "Run below target"] == 2
