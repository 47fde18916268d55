"""SPC (XmR) chart specs, asserted on chart.to_dict() and on what vl-convert renders from them.

Three constructed series: DCC is noise around 95 with one figure far below (a concern outside the limits);
CSP N steps down from 97 to 92 with a rebase at the step; CSP S has five figures (and a null month), too few
for limits."""

from __future__ import annotations

import re
from datetime import date

import pytest

from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.render import files as export
from opsg_metrics.render.charts import spc as charts
from opsg_metrics.rules import spc

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def months(n: int, first: date = date(2020, 1, 1)) -> list[date]:
    return [date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def noise(n: int, centre: float, amplitude: float) -> list[float]:
    """centre + a, centre - a, ...: no trend, no run, every moving range 2a."""
    return [centre + amplitude * (-1) ** i for i in range(n)]


def panel_layers(spec: dict, panel: int) -> dict[str, dict]:
    """A panel's layers by name (Altair numbers names repeated across panels: spc_points_0, ...)."""
    return {re.sub(r"_\d+$", "", layer["name"]): layer for layer in spec["vconcat"][panel]["layer"]}


def data_of(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


@pytest.fixture(scope="module")
def results() -> dict[str, spc.SpcResult]:
    dcc = noise(24, 95, 0.5)
    dcc[15] = 90.0  # April 2021
    csp_n = noise(14, 97, 0.4) + noise(14, 92, 0.4)
    return {
        "DCC": spc.analyse(dcc, months(24), direction="higher", target=96, minimum=94),
        "CSP N": spc.analyse(csp_n, months(28), direction="higher", target=95, minimum=90, rebase=[date(2021, 3, 1)]),
        "CSP S": spc.analyse([95, 96, 94, None, 95, 97], months(6), direction="higher", target=95, minimum=90),
    }


@pytest.fixture(scope="module")
def spec(results) -> dict:
    return charts.spc_chart(results, unit="percent", title="M1: Higher is better").to_dict()


def test_one_panel_per_provider_titled_with_the_badges_in_words(spec):
    assert spec["title"]["text"] == "M1: Higher is better"
    assert [p["title"]["text"] for p in spec["vconcat"]] == [
        "DCC · common cause · target: hit and miss · minimum: hit and miss",
        "CSP N · common cause · target: consistently missed · minimum: hit and miss",
        "CSP S · no SPC reading",
    ]
    assert spec["vconcat"][1]["title"]["subtitle"] == (
        "Since the rebase (Mar 2021 to Apr 2022): mean 92.00%, process limits 89.87% to 94.13%"
    )
    assert spec["vconcat"][0]["title"]["subtitle"] == (
        "Limits (Jan 2020 to Dec 2021): mean 94.81%, process limits 92.15% to 97.47%"
    )


def test_limit_values_of_each_segment_are_in_the_chart_data(spec, results):
    def drawn(panel: int) -> dict[tuple[int, str], dict]:
        layers = panel_layers(spec, panel)
        rows = [r for name in ("spc_mean", "spc_limits", "spc_near") for r in data_of(spec, layers[name])]
        return {(r["segment"], r["bound"]): r for r in rows}

    dcc = drawn(0)
    # By hand: mean 95 - 4.5/24; the two moving ranges of 5.5 around April 2021 are screened out, so AMR = 1.
    assert dcc[(0, "mean")]["value"] == pytest.approx(94.8125)
    assert dcc[(0, "lpl")]["value"] == pytest.approx(94.8125 - 2.66)
    assert dcc[(0, "upl")]["value"] == pytest.approx(94.8125 + 2.66)
    assert dcc[(0, "lower_near")]["value"] == pytest.approx(94.8125 - 2 * 2.66 / 3)
    assert dcc[(0, "upper_near")]["line"] == "2 sigma" and dcc[(0, "upl")]["line"] == "Process limits"
    assert (dcc[(0, "mean")]["start_iso"], dcc[(0, "mean")]["end_iso"]) == ("2020-01-01", "2021-12-01")

    csp_n = drawn(1)
    assert len(csp_n) == 10  # two segments, five lines each
    assert csp_n[(0, "mean")]["value"] == pytest.approx(97.0) and csp_n[(1, "mean")]["value"] == pytest.approx(92.0)
    assert csp_n[(1, "lpl")]["value"] == pytest.approx(92 - 2.66 * 0.8)
    assert csp_n[(1, "upl")]["value"] == pytest.approx(92 + 2.66 * 0.8)
    assert (csp_n[(0, "upl")]["start_iso"], csp_n[(0, "upl")]["end_iso"]) == ("2020-01-01", "2021-02-01")
    assert (csp_n[(1, "upl")]["start_iso"], csp_n[(1, "upl")]["end_iso"]) == ("2021-03-01", "2022-04-01")
    for number, segment in enumerate(results["CSP N"].segments):
        for bound in ("mean", "lpl", "upl", "lower_near", "upper_near"):
            assert csp_n[(number, bound)]["value"] == pytest.approx(getattr(segment, bound))

    # Mean solid, limits dashed, 2-sigma dotted and faint; one dash scale for lines and levels.
    layers = panel_layers(spec, 1)
    dash = layers["spc_mean"]["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["Mean", "Process limits", "2 sigma", "Target", "Minimum"]
    assert dash["range"][0] == [1, 0] and dash["range"][1] == [6, 4] and dash["range"][2] == [1, 3]
    assert len({tuple(d) for d in dash["range"]}) == 5
    assert layers["spc_near"]["mark"]["opacity"] < 1 == layers["spc_mean"]["mark"]["opacity"]
    assert layers["spc_mean"]["mark"]["type"] == "rule" and layers["spc_mean"]["encoding"]["x2"]["field"] == "end_iso"


def test_flagged_points_carry_their_point_types(spec):
    layer = panel_layers(spec, 0)["spc_points"]
    points = {r["month_iso"]: r for r in data_of(spec, layer)}
    assert len(points) == 24
    concern = points["2021-04-01"]
    assert concern["value"] == 90.0
    assert (concern["point_type"], concern["point_label"], concern["rule"]) == ("concern", "Concern", "outside")
    assert concern["rule_text"] == "outside the process limits"
    assert concern["type_text"] == "special cause: concern"
    assert concern["lpl"] == pytest.approx(92.1525) and concern["upl"] == pytest.approx(97.4725)
    others = {r["point_type"] for m, r in points.items() if m != "2021-04-01"}
    assert others == {"common_cause"}
    assert points["2020-01-01"]["rule_text"] == "" and points["2020-01-01"]["moving_range"] is None
    assert points["2020-02-01"]["moving_range"] == pytest.approx(1.0)

    # Type by colour and shape both, so greyscale print still tells them apart.
    shape = layer["encoding"]["shape"]["scale"]
    colour = layer["encoding"]["color"]["scale"]
    assert layer["encoding"]["shape"]["field"] == layer["encoding"]["color"]["field"] == "point_label"
    kinds = dict(zip(colour["domain"], zip(colour["range"], shape["range"])))
    assert kinds["Improvement"][0] == "#0072B2" and kinds["Concern"][0] == "#E69F00"
    assert kinds["Neutral (high)"][0] == kinds["Neutral (low)"][0] == "#CC79A7"
    assert kinds["Common cause"][0] == "#8C8C8C"
    assert len({s for s in shape["range"]}) == len(shape["range"]) == 6
    tips = [t["field"] for t in layer["encoding"]["tooltip"]]
    assert {"month_label", "value", "type_text", "rule_text", "mean", "lpl", "upl"} <= set(tips)
    # Special causes drawn larger than common cause.
    assert layer["encoding"]["size"]["condition"]["value"] == 40 and layer["encoding"]["size"]["value"] == 80


def test_a_lower_is_better_low_point_is_an_improvement():
    values = noise(20, 10, 1)
    values[12] = 2.0
    layers = charts.spc_layers_data({"DSP": spc.analyse(values, months(20), direction="lower")}, "minutes")
    flagged = layers["points"][layers["points"]["point_type"] != "common_cause"]
    assert flagged[["month_iso", "point_label", "rule"]].values.tolist() == [["2021-01-01", "Improvement", "outside"]]
    assert set(layers["points"]["panel"]) == {"DSP"} and layers["levels"].empty and layers["notes"].empty


def test_a_rebase_is_a_rule_at_its_month_and_the_line_breaks_there(spec):
    layers = panel_layers(spec, 1)
    rebases = data_of(spec, layers["spc_rebases"])
    assert [(r["month_iso"], r["label"], r["segment"]) for r in rebases] == [("2021-03-01", "Rebase", 1)]
    assert layers["spc_rebases"]["mark"]["type"] == "rule"
    assert layers["spc_rebases"]["encoding"]["x"]["field"] == "month_iso"
    assert "y" not in layers["spc_rebases"]["encoding"]  # full height
    assert [r["label"] for r in data_of(spec, layers["spc_rebase_labels"])] == ["Rebase"]
    assert "spc_rebases" not in panel_layers(spec, 0)

    line = layers["spc_value_line"]
    assert line["encoding"]["detail"]["field"] == "stretch"
    stretch = {r["month_iso"]: r["stretch"] for r in data_of(spec, line)}
    assert stretch["2021-02-01"] != stretch["2021-03-01"] == stretch["2022-04-01"]
    # CSP S: the line also breaks at the null month (April 2020), which the analysis skips.
    stretch = {r["month_iso"]: r["stretch"] for r in data_of(spec, panel_layers(spec, 2)["spc_value_line"])}
    assert "2020-04-01" not in stretch and stretch["2020-03-01"] != stretch["2020-05-01"]


def test_a_panel_without_limits_says_why(spec):
    layers = panel_layers(spec, 2)
    notes = data_of(spec, layers["spc_note"])
    assert [n["text"] for n in notes] == ["No process limits: only 5 figures; process limits need at least 12"]
    assert layers["spc_note"]["mark"]["type"] == "text"
    assert not {"spc_mean", "spc_limits", "spc_near"} & set(layers)
    points = data_of(spec, layers["spc_points"])
    assert {p["point_label"] for p in points} == {"No limits"} and {p["point_type"] for p in points} == {None}
    assert points[0]["type_text"] == "no process limits (only 5 figures; process limits need at least 12)"
    assert "spc_note" not in panel_layers(spec, 0) and "spc_note" not in panel_layers(spec, 1)


def test_target_and_minimum_are_drawn_and_labelled(spec):
    for panel, target, minimum, first, last in (
        (0, 96, 94, "2020-01-01", "2021-12-01"),
        (1, 95, 90, "2020-01-01", "2022-04-01"),
        (2, 95, 90, "2020-01-01", "2020-06-01"),
    ):
        layers = panel_layers(spec, panel)
        levels = {r["line"]: r for r in data_of(spec, layers["spc_levels"])}
        assert (levels["Target"]["value"], levels["Minimum"]["value"]) == (target, minimum)
        assert (levels["Target"]["start_iso"], levels["Target"]["end_iso"]) == (first, last)
        assert [r["label"] for r in data_of(spec, layers["spc_target_label"])] == [f"Target {target:.2f}%"]
        assert [r["label"] for r in data_of(spec, layers["spc_minimum_label"])] == [f"Minimum {minimum:.2f}%"]
        assert layers["spc_levels"]["encoding"]["strokeDash"]["field"] == "line"


def test_each_panel_has_a_y_range_holding_its_figures_and_limits(spec, results):
    domains = [tuple(p["layer"][0]["encoding"]["y"]["scale"]["domain"]) for p in spec["vconcat"]]
    assert len(set(domains)) > 1  # not one range for all: a provider near 100% is not flattened
    for (low, high), result in zip(domains, results.values()):
        values = result.points["value"]
        assert low <= values.min() and min(100, values.max()) <= high <= 100
        for segment in result.segments:
            if segment.has_limits:
                assert low <= max(0, segment.lpl) and min(100, segment.upl) <= high
    assert spec["resolve"]["scale"] == {
        "shape": "shared",
        "color": "shared",
        "strokeDash": "shared",
        "y": "independent",
    }


def test_renders_to_svg_and_png_with_vl_convert(spec, results):
    svg = export.render(spec, "svg").decode("utf-8")
    assert svg.startswith("<svg")
    for text in (
        "DCC · common cause · target: hit and miss",
        "CSP N · common cause · target: consistently missed",
        "Rebase",
        "No process limits: only 5 figures",
        "Target 96.00%",
        "Minimum 90.00%",
        "Concern",
    ):
        assert text in svg, text
    provenance = Provenance(
        sources=[("PMR January 2022", date(2022, 2, 10), "measures")], classification="green", sample=False
    )
    png = export.export_chart(charts.spc_chart(results, unit="percent"), provenance, "png")
    assert png[:8] == PNG_MAGIC and len(png) > 20_000
    footed = export.export_chart(charts.spc_chart(results, unit="percent"), provenance, "svg").decode("utf-8")
    assert "Classification: GREEN" in footed and "PMR January 2022 (issued 10 Feb 2022)" in footed


def test_a_series_without_figures_and_without_months():
    empty = spc.analyse([None, None], months(2))
    layers = charts.spc_layers_data({"X": empty})
    assert layers["points"].empty and layers["notes"]["text"].tolist() == ["No process limits: no reported figures"]
    assert (
        "no reported figures" in export.render(charts.spc_chart({"X": empty}, unit="percent").to_dict(), "svg").decode()
    )
    with pytest.raises(ValueError, match="month"):
        charts.spc_layers_data({"X": spc.analyse(noise(12, 5, 1))})
    with pytest.raises(ValueError):
        charts.spc_chart({}, unit="percent")
