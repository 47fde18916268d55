"""Each page's URL contract, without Streamlit: what a link's parameters ask for (the request and the
warnings reading them gives), and that a request written back as a link reads as the same request."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from opsg_metrics.app import requests
from opsg_metrics.app.requests import (
    AlertsContext,
    AlertsRequest,
    IncidentsContext,
    IncidentsRequest,
    OperationsContext,
    OperationsRequest,
    OverviewRequest,
    SummaryRequest,
    TrendsContext,
    TrendsRequest,
)
from opsg_metrics.store import catalogue as store_catalogue
from opsg_metrics.store.catalogue import Catalogue

from .conftest import REPO

MONTHS = tuple(f"{year}-{month:02d}" for year in range(2018, 2022) for month in range(1, 13))  # 2018-01 .. 2021-12
NEWEST_FIRST = tuple(reversed(MONTHS))
REGIONS_EXPECTED = "expected one of CSP N, CSP C&S, CSP C, CSP S, All CSPs"
CODES = ("8001", "8014", "8F12", "8F3E")
DEFAULT_CODES = ("8014", "8F3E")


def link(params: dict) -> dict[str, list[str]]:
    """Parameters as a URL carries them: written with every value, read back as lists."""
    return parse_qs(urlencode(params, doseq=True), keep_blank_values=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The bundled catalogue: its providers and aliases, and the measures' names."""
    from opsg_metrics.ingest import bootstrap
    from opsg_metrics.store import connect as db

    con = db.connect(":memory:")
    bootstrap.load_reference_data(con)
    yield Catalogue.from_db(con), store_catalogue.measure_options(con), con
    con.close()


@pytest.fixture(scope="module")
def contexts(reference):
    catalogue, names, _ = reference
    return {
        "overview": NEWEST_FIRST,
        "summary": NEWEST_FIRST,
        "trends": TrendsContext(MONTHS, catalogue, names),
        "incidents": IncidentsContext(MONTHS, ("DCC", "DSP", "CSP N", "CSP C", "CSP S"), catalogue, names),
        "alerts": AlertsContext(MONTHS, CODES, DEFAULT_CODES, catalogue, names),
        "operations": OperationsContext(MONTHS, catalogue),
    }


READ = {
    "overview": requests.read_overview,
    "summary": requests.read_summary,
    "trends": requests.read_trends,
    "incidents": requests.read_incidents,
    "alerts": requests.read_alerts,
    "operations": requests.read_operations,
}
WRITE = {
    "overview": requests.overview_params,
    "summary": requests.summary_params,
    "trends": requests.trends_params,
    "incidents": requests.incidents_params,
    "alerts": requests.alerts_params,
    "operations": requests.operations_params,
}

ALERTS_DEFAULT = AlertsRequest(
    ("CSP N", "CSP C", "CSP S"), DEFAULT_CODES, "2018-01", "2021-12", default_codes=DEFAULT_CODES
)

# (page, URL parameters, the request they ask for, the warnings: each exact, or "...text" for one containing it)
CASES = [
    # --- Overview and PMR summary: a month (the latest by default) and a window
    ("overview", {}, OverviewRequest("2021-12", 12), []),
    ("overview", {"month": "2020-04", "window": "17"}, OverviewRequest("2020-04", 17), []),
    ("overview", {"month": ["2019-01", "2020-04"]}, OverviewRequest("2020-04"), []),  # the last value counts
    (
        "overview",
        {"month": "1999-01"},
        OverviewRequest("2021-12"),
        ["The link asks for month '1999\\-01', which is not available here; showing 2021\\-12 instead."],
    ),
    (
        "overview",
        {"window": "0"},
        OverviewRequest("2021-12"),
        ["The link asks for window '0', which is not a number from 1 to 120; using 12."],
    ),
    (
        "overview",
        {"window": "twelve"},
        OverviewRequest("2021-12"),
        ["The link asks for window 'twelve', which is not a number from 1 to 120; using 12."],
    ),
    ("summary", {"month": "2020-04", "window": "17"}, SummaryRequest("2020-04", 17), []),
    (
        "summary",
        {"month": "2031-01", "window": "121"},
        SummaryRequest("2021-12"),
        [
            "The link asks for month '2031\\-01', which is not available here; showing 2021\\-12 instead.",
            "The link asks for window '121', which is not a number from 1 to 120; using 12.",
        ],
    ),
    # --- Trends
    ("trends", {}, TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12"), []),
    (
        "trends",
        {"measure": ["PM2"], "provider": ["CSP N", "CSP C&S"], "from": "2019-01", "to": "2021-12"},
        TrendsRequest(("PM2",), ("CSP N", "CSP C&S"), "2019-01", "2021-12"),
        [],
    ),
    (
        "trends",
        {"measure": ["cpm 1", "PM2"], "provider": ["CSP North"]},
        TrendsRequest(("CPM1", "PM2"), ("CSP N",), "2019-01", "2021-12"),
        [],
    ),
    (
        "trends",
        {"measure": "PM99", "provider": "Atlantis"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12"),
        ["...Unknown measure 'PM99'", "...Unknown provider 'Atlantis'"],
    ),
    (
        "trends",
        {"measure": "PM2", "provider": "DCC"},
        TrendsRequest(("PM2",), ("CSP N",), "2019-01", "2021-12"),
        ["PM2 is not reported for DCC; showing CSP N instead."],
    ),
    (
        "trends",
        {"measure": "PM2", "provider": ["DCC", "CSP S"]},
        TrendsRequest(("PM2",), ("CSP S",), "2019-01", "2021-12"),
        ["PM2 is not reported for DCC."],
    ),
    (
        "trends",
        {"measure": ["CPM4", "PM2"], "provider": ["DSP"]},
        TrendsRequest(("CPM4", "PM2"), ("DCC",), "2019-01", "2021-12"),
        ["CPM4, PM2 are not reported for DSP; showing DCC instead."],
    ),
    (
        "trends",
        {"from": "2021-06", "to": "2019-01"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-06"),
        ["The link's range starts after it ends; showing it the right way round."],
    ),
    (
        "trends",
        {"from": "someday"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12"),
        ["...The link asks for from 'someday': "],
    ),
    # A real month outside the data is clamped to it quietly: the Overview's links reach back 36 months.
    ("trends", {"from": "2017-05", "to": "2030-01"}, TrendsRequest(("CPM1",), ("DCC",), "2018-01", "2021-12"), []),
    (
        "trends",
        {"from": "2010-01", "to": "2012-01"},
        TrendsRequest(("CPM1",), ("DCC",), "2018-01", "2018-01"),
        ["The link asks for to 2012-01, outside the months loaded (2018-01 to 2021-12); showing 2018-01."],
    ),
    (
        "trends",
        {"view": "spc", "rebase": "0", "baseline": "24"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12", spc=True, rebase=False, baseline=24),
        [],
    ),
    (
        "trends",
        {"incidents": "0", "annotations": "0", "window": "6"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12", window=6, incidents=False, annotations=False),
        [],
    ),
    (
        "trends",
        {"baseline": "500", "window": "-1"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12"),
        [
            "The link asks for baseline '500', which is not a number from 0 to 120; using 0.",
            "The link asks for window '\\-1', which is not a number from 1 to 120; using 12.",
        ],
    ),
    (
        "trends",
        {"measure": "[Sign in](https://evil.example/login)", "from": "![x](https://evil.example/x.png)"},
        TrendsRequest(("CPM1",), ("DCC",), "2019-01", "2021-12"),
        ["...\\[Sign in\\]\\(https://evil", "...\\!\\[x\\]"],
    ),
    # --- Incidents
    ("incidents", {}, IncidentsRequest("2021-01", "2021-12"), []),
    (
        "incidents",
        {
            "provider": ["Atlantis", "CSP N"],
            "category": ["9", "2"],
            "measure": "PM99",
            "below": "sideways",
            "from": "someday",
            "to": "2021-12",
        },
        IncidentsRequest("2021-01", "2021-12", ("CSP N",), (2,)),
        [
            "...from 'someday'",
            "...Unknown provider 'Atlantis'",
            "The link asks for category '9', which is not an incident category (1 to 5); it is left out.",
            "...Unknown measure 'PM99'",
            "...below 'sideways'",
        ],
    ),
    (
        "incidents",
        {"provider": ["CSP North", "RDP"], "category": ["3", " 1", "3"]},
        IncidentsRequest("2021-01", "2021-12", ("CSP N",), (1, 3)),
        ["No incidents are recorded for provider 'RDP'; it is left out."],
    ),
    (
        "incidents",
        {"measure": "pm 2", "measure_provider": "CSP North", "below": "minimum", "from": "2018-01"},
        IncidentsRequest("2018-01", "2021-12", measure="PM2", measure_provider="CSP N", below="minimum"),
        [],
    ),
    (
        "incidents",
        {"measure": "PM2"},
        IncidentsRequest("2021-01", "2021-12", measure="PM2", measure_provider="CSP N"),
        [],
    ),
    (
        "incidents",
        {"measure": "PM2", "measure_provider": "DSP"},
        IncidentsRequest("2021-01", "2021-12", measure="PM2", measure_provider="CSP N"),
        ["PM2 is not reported for DSP; showing PM2 (CSP N) instead."],
    ),
    (
        "incidents",
        {"measure": "PM2", "measure_provider": "Mars"},
        IncidentsRequest("2021-01", "2021-12", measure="PM2", measure_provider="CSP N"),
        ["...Unknown provider 'Mars'"],
    ),
    # No level without a measure to be below it; the search is trimmed; the bars' colouring is a choice.
    (
        "incidents",
        {"below": "minimum", "q": "  firmware ", "by": "provider"},
        IncidentsRequest("2021-01", "2021-12", search="firmware", by="provider"),
        [],
    ),
    (
        "incidents",
        {"by": "colour"},
        IncidentsRequest("2021-01", "2021-12"),
        ["The link asks for by 'colour', which is not available here; showing category instead."],
    ),
    # --- Alerts
    ("alerts", {}, ALERTS_DEFAULT, []),
    (
        "alerts",
        {
            "provider": ["CSP N", "Atlantis"],
            "code": ["8F3E", "ZZZZ"],
            "measure": "PM99",
            "measure_provider": "DCC",
            "basis": "per-meter",
            "region": "Mars",
            "beside_code": "QQQQ",
            "from": "someday",
        },
        AlertsRequest(("CSP N",), ("8F3E",), "2018-01", "2021-12", default_codes=DEFAULT_CODES),
        [
            f"Unknown region 'Atlantis' \\({REGIONS_EXPECTED}\\). The rest of the link is shown.",
            "Unknown alert code 'ZZZZ' \\(no alerts loaded with that code\\). The rest of the link is shown.",
            "...from 'someday'",
            "...Unknown measure 'PM99'",
            "PM2 is not reported for DCC; showing CSP N.",
            f"Unknown region 'Mars' \\({REGIONS_EXPECTED}\\); showing CSP N.",
            "Unknown alert code 'QQQQ' \\(no alerts loaded with that code\\); showing all codes beside the measure.",
            "The link asks for basis 'per\\-meter', which is not available here; showing per1000 instead.",
        ],
    ),
    (
        "alerts",
        {"provider": ["all csps"], "code": ["8f12"], "from": "2020-01", "to": "2020-06"},
        AlertsRequest(("All CSPs",), ("8F12",), "2020-01", "2020-06", default_codes=DEFAULT_CODES),
        [],
    ),
    # A measure only the DCC reports: beside the alerts of every CSP.
    (
        "alerts",
        {"measure": "CPM4"},
        AlertsRequest(
            ALERTS_DEFAULT.regions,
            DEFAULT_CODES,
            "2018-01",
            "2021-12",
            beside_region="All CSPs",
            measure="CPM4",
            measure_provider="DCC",
            default_codes=DEFAULT_CODES,
        ),
        [],
    ),
    (
        "alerts",
        {
            "measure": "PM2",
            "measure_provider": "CSP C&S",
            "region": "CSP North",
            "beside_code": "8f3e",
            "basis": "volume",
        },
        AlertsRequest(
            ALERTS_DEFAULT.regions,
            DEFAULT_CODES,
            "2018-01",
            "2021-12",
            beside_code="8F3E",
            beside_region="CSP N",
            basis="volume",
            measure="PM2",
            measure_provider="CSP C&S",
            default_codes=DEFAULT_CODES,
        ),
        [],
    ),
    (
        "alerts",
        {"beside_code": "ALL", "measure_provider": "CSP S"},
        AlertsRequest(
            ALERTS_DEFAULT.regions,
            DEFAULT_CODES,
            "2018-01",
            "2021-12",
            beside_region="CSP S",
            measure_provider="CSP S",
            default_codes=DEFAULT_CODES,
        ),
        [],
    ),
    # --- Operations
    ("operations", {}, OperationsRequest(("CSP N", "CSP C", "CSP S"), "2019-01", "2021-12"), []),
    (
        "operations",
        {"provider": ["Atlantis", "CSP C&S"], "from": "2021-13"},
        OperationsRequest(("CSP C&S",), "2019-01", "2021-12"),
        [
            f"Unknown region 'Atlantis' \\({REGIONS_EXPECTED}\\). The rest of the link is shown.",
            "...The link asks for from '2021\\-13': ",
        ],
    ),
    (
        "operations",
        {"provider": ["all csps", "CSP North", "CSP N"], "to": "2021-08"},
        OperationsRequest(("All CSPs", "CSP N"), "2019-01", "2021-08"),
        [],
    ),
]


def case_id(case) -> str:
    page, params = case[0], case[1]
    return f"{page}:" + ("&".join(f"{k}={v}" for k, v in params.items()) or "no parameters")


def assert_warnings(found: list[str], expected: list[str]) -> None:
    assert len(found) == len(expected), found
    for text, wanted in zip(found, expected):
        if wanted.startswith("..."):
            assert wanted[3:] in text, (text, wanted)
        else:
            assert text == wanted


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_link_reads_as_its_request_with_its_warnings(case, contexts):
    page, params, expected, warnings = case
    request, found = READ[page](link(params), contexts[page])
    assert request == expected
    assert_warnings(found, warnings)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_request_written_as_a_link_reads_as_the_same_request(case, contexts):
    page, params, _, _ = case
    request, _ = READ[page](link(params), contexts[page])
    again, warnings = READ[page](link(WRITE[page](request)), contexts[page])
    assert again == request and warnings == []


def test_what_is_as_by_default_is_left_out_of_a_trends_link():
    request = TrendsRequest(("PM2",), ("CSP N", "CSP C&S"), "2019-01", "2021-12")
    assert requests.trends_params(request) == {
        "measure": ["PM2"],
        "provider": ["CSP N", "CSP C&S"],
        "from": "2019-01",
        "to": "2021-12",
        "window": "12",
    }
    spc = TrendsRequest(
        ("CPM1",),
        ("DCC",),
        "2019-01",
        "2021-12",
        window=6,
        incidents=False,
        annotations=False,
        spc=True,
        rebase=False,
        baseline=24,
    )
    assert requests.trends_params(spc) == {
        "measure": ["CPM1"],
        "provider": ["DCC"],
        "from": "2019-01",
        "to": "2021-12",
        "incidents": "0",
        "annotations": "0",
        "window": "6",
        "view": "spc",
        "rebase": "0",
        "baseline": "24",
    }


def test_the_overview_links_a_cell_to_its_trend_over_36_months(contexts):
    href = requests.series_trend_link("PM2", "CSP N", date(2020, 4, 1), 12)
    assert href == "trends?measure=PM2&provider=CSP+N&from=2017-05&to=2020-04&window=12"
    url = urlsplit(href)
    assert url.path == "trends"
    # Read by the Trends page: the months before the data are clamped to it, quietly.
    request, warnings = requests.read_trends(parse_qs(url.query), contexts["trends"])
    assert request == TrendsRequest(("PM2",), ("CSP N",), "2018-01", "2020-04") and warnings == []
    assert requests.trends_link(request) == "trends?measure=PM2&provider=CSP+N&from=2018-01&to=2020-04&window=12"


def test_alert_codes_as_by_default_are_left_out_of_the_link(contexts):
    request, _ = requests.read_alerts({}, contexts["alerts"])
    assert requests.alerts_params(request)["code"] == []
    chosen = AlertsRequest(request.regions, ("8F3E", "8014"), request.start, request.end, default_codes=DEFAULT_CODES)
    assert requests.alerts_params(chosen)["code"] == ["8F3E", "8014"]  # another order is another choice


def test_incidents_write_their_restriction_only_with_a_measure():
    plain = IncidentsRequest("2021-01", "2021-12", ("CSP N",), (1, 2), "firmware")
    assert requests.incidents_params(plain) == {
        "from": "2021-01",
        "to": "2021-12",
        "provider": ["CSP N"],
        "category": ["1", "2"],
        "by": "category",
        "q": "firmware",
    }
    restricted = IncidentsRequest("2021-01", "2021-12", measure="PM2", measure_provider="CSP N", below="minimum")
    params = requests.incidents_params(restricted)
    assert (params["measure"], params["measure_provider"], params["below"]) == ("PM2", "CSP N", "minimum")
    assert "q" not in params


def test_the_providers_reporting_a_measure_are_the_catalogues(reference):
    """Catalogue.providers_reporting against the catalogue's tables read directly."""
    catalogue, names, con = reference

    def from_sql(measures):
        rows = con.execute(
            """SELECT DISTINCT p.provider, p.sort_order FROM measures m JOIN providers p USING (provider)
               WHERE m.measure IN (SELECT unnest(?::VARCHAR[])) ORDER BY p.sort_order""",
            [list(measures)],
        ).fetchall()
        return [provider for provider, _ in rows]

    for measure in names:
        assert catalogue.providers_reporting([measure]) == from_sql([measure])
        assert store_catalogue.providers_for(con, [measure]) == from_sql([measure])
    assert catalogue.providers_reporting(["CPM4", "PM2"]) == from_sql(["CPM4", "PM2"])
    assert catalogue.providers_reporting([]) == []


def test_reading_a_link_needs_no_streamlit():
    code = "import sys, opsg_metrics.app.requests; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
