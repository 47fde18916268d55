"""What each page shows, read from its URL and written back: one contract for the pages and the links between them.

A page's URL holds its view (`trends?measure=PM2&provider=CSP+N&from=2019-01`). `read_<page>(params, context)`
turns what the URL holds (`params`: each name with every value given, as `st.query_params` has them) into a
frozen request of what the page shows, checked against what is loaded (`context`, from `<page>_context`), and
the warnings to show: a link asking for something that is not there is explained, never a traceback, and the
rest of it is shown. `<page>_params(request)` writes a request back as URL parameters, so a page's own URL and
the links other pages make to it (`trends_link`) are read and written by the same code.

Warnings are Markdown, ready to show: text from the link is escaped in them (the checks every link shares
are app/params). No Streamlit here. The Data page keeps nothing in its URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

import duckdb

from opsg_metrics import words
from opsg_metrics.app.markup import md_escape
from opsg_metrics.app.params import LinkReader, Params, last_months
from opsg_metrics.queries import alerts, beside, incidents, operations
from opsg_metrics.queries.incident_views import BY_WORDS, LEVEL_WORDS
from opsg_metrics.render.charts.trend import Y_SCALES
from opsg_metrics.rules import status
from opsg_metrics.store.catalogue import Catalogue, measure_options

URLParams = dict[str, "str | list[str]"]  # what a request writes back (st.query_params.from_dict takes it)

WINDOW_RANGE = (1, 120)  # a rolling window, in months
BASELINE_RANGE = (0, 120)  # an SPC baseline, in figures (0: all)
DEFAULT_REGIONS = ("CSP N", "CSP C", "CSP S")
EVERY_MONTH = ""  # the Incidents page's measure when no measure restricts its months
TRENDS_LINK_MONTHS = 36  # how far back the Overview's links to a series' trend reach
DEFAULT_MEASURE = "CPM1"  # the Trends page's measure when a link names none it knows


# ------------------------------------------------------------------ Overview and PMR summary


@dataclass(frozen=True)
class OverviewRequest:
    """The Overview: one PMR month (YYYY-MM) and the rolling window its counts look back over."""

    month: str
    window: int = status.DEFAULT_WINDOW


@dataclass(frozen=True)
class SummaryRequest:
    """The PMR summary: one PMR month (YYYY-MM) and the rolling window its findings count over."""

    month: str
    window: int = status.DEFAULT_WINDOW


def _month_and_window(params: Params, months: Sequence[str]) -> tuple[str, int, list[str]]:
    link = LinkReader(params)
    month = link.choice("month", list(months), max(months))
    return month, link.integer("window", *WINDOW_RANGE, status.DEFAULT_WINDOW), link.warnings


def read_overview(params: Params, months: Sequence[str]) -> tuple[OverviewRequest, list[str]]:
    """The Overview a link asks for; `months`: the PMR months with figures (YYYY-MM, any order, at least one).
    By default the latest month."""
    month, window, warnings = _month_and_window(params, months)
    return OverviewRequest(month, window), warnings


def overview_params(request: OverviewRequest) -> URLParams:
    """The request as a link writes it."""
    return {"month": request.month, "window": str(request.window)}


def read_summary(params: Params, months: Sequence[str]) -> tuple[SummaryRequest, list[str]]:
    """The PMR summary a link asks for, as read_overview."""
    month, window, warnings = _month_and_window(params, months)
    return SummaryRequest(month, window), warnings


def summary_params(request: SummaryRequest) -> URLParams:
    """The request as a link writes it."""
    return {"month": request.month, "window": str(request.window)}


@dataclass(frozen=True)
class MinutesRequest:
    """The minutes check: the PMR month the text is checked against ('' for the one the text names)."""

    month: str = ""


def read_minutes(params: Params, months: Sequence[str]) -> tuple[MinutesRequest, list[str]]:
    """The minutes check a link asks for (`?pmr=YYYY-MM`): a PMR month with figures, or none (the text
    names it)."""
    link = LinkReader(params)
    month = link.get("pmr")  # not `month`: the other pages' month is no choice of the text's PMR
    if month is not None and month not in months:
        link.warn(
            f"The link asks for PMR month '{md_escape(month)}', which has no figures here; the month the text "
            "names is used instead."
        )
        month = None
    return MinutesRequest(month or ""), link.warnings


def minutes_params(request: MinutesRequest) -> URLParams:
    """The request as a link writes it (nothing for the month the text names)."""
    return {"pmr": request.month} if request.month else {}


@dataclass(frozen=True)
class RecordRequest:
    meeting: str = ""  # Meetings and actions: one meeting of the record ('' when none is held)


def read_record(params: Params, meetings: Sequence[str]) -> tuple[RecordRequest, list[str]]:
    """The meeting a link asks for (`?meeting=OPSG_33xx`): one held, else the latest (`meetings`: newest first)."""
    link = LinkReader(params)
    meeting = link.get("meeting")
    if meeting is not None and meeting not in meetings:
        link.warn(f"The link asks for meeting '{md_escape(meeting)}', which is not in the record; the latest is shown.")
        meeting = None
    return RecordRequest(meeting or (meetings[0] if meetings else "")), link.warnings


def record_params(request: RecordRequest) -> URLParams:
    return {"meeting": request.meeting} if request.meeting else {}


# ------------------------------------------------------------------ Trends


@dataclass(frozen=True)
class TrendsRequest:
    """Trends: measures and providers over a period, either as trends (rolling window, incidents and
    annotations drawn or not) or as SPC charts (rebased at annotations or not, limits from a baseline)."""

    measures: tuple[str, ...]
    providers: tuple[str, ...]
    start: str  # YYYY-MM
    end: str
    window: int = status.DEFAULT_WINDOW
    incidents: bool = True
    annotations: bool = True
    spc: bool = False
    rebase: bool = True
    baseline: int = 0  # the first N figures of each segment; 0: all
    y_scale: str = "independent"  # each provider's panel its own y range, or "shared"


@dataclass(frozen=True)
class TrendsContext:
    """What a Trends link is checked against: the months with figures (oldest first), the catalogue."""

    months: tuple[str, ...]
    catalogue: Catalogue = field(compare=False)
    measure_names: Mapping[str, str] = field(default_factory=dict, compare=False)  # id -> 'CPM1: …'


def trends_context(con: duckdb.DuckDBPyConnection) -> TrendsContext:
    """What Trends links are checked against, read from the database (cached per data version by the page)."""
    return TrendsContext(
        tuple(words.month_key(m) for m in reversed(status.available_months(con))),
        Catalogue.from_db(con),
        measure_options(con),
    )


def read_trends(params: Params, context: TrendsContext) -> tuple[TrendsRequest, list[str]]:
    """The Trends view a link asks for. By default CPM1, for the first provider reporting it, over the
    last 36 months; a provider that does not report the measures is left out (or replaced by the first
    that does)."""
    link = LinkReader(params)
    measures, providers, problems = context.catalogue.select(
        link.all("measure") or [DEFAULT_MEASURE], link.all("provider")
    )
    link.problems(problems)
    measures = measures or [DEFAULT_MEASURE]
    available = context.catalogue.providers_reporting(measures)
    reported = [p for p in providers if p in available]
    not_reported = [p for p in providers if p not in available]
    if not_reported:
        link.warn(
            f"{', '.join(measures)} {'is' if len(measures) == 1 else 'are'} not reported for "
            f"{md_escape(', '.join(not_reported))}" + ("." if reported else f"; showing {available[0]} instead.")
        )
    start, end = link.period(context.months, last_months(context.months, 36))
    return TrendsRequest(
        tuple(measures),
        tuple(reported or available[:1]),
        start,
        end,
        spc=link.get("view") == "spc",
        rebase=link.flag("rebase", True),
        baseline=link.integer("baseline", *BASELINE_RANGE, 0),
        incidents=link.flag("incidents", True),
        annotations=link.flag("annotations", True),
        window=link.integer("window", *WINDOW_RANGE, status.DEFAULT_WINDOW),
        y_scale=link.choice("y", Y_SCALES, "independent"),
    ), link.warnings


def trends_params(request: TrendsRequest) -> URLParams:
    """The request as a link writes it; what is as by default is left out (the window always written)."""
    return {
        "measure": list(request.measures),
        "provider": list(request.providers),
        "from": request.start,
        "to": request.end,
        **({} if request.incidents else {"incidents": "0"}),
        **({} if request.annotations else {"annotations": "0"}),
        "window": str(request.window),
        **({"view": "spc"} if request.spc else {}),
        **({} if request.rebase else {"rebase": "0"}),
        **({"baseline": str(request.baseline)} if request.baseline else {}),
        **({} if request.y_scale == "independent" else {"y": request.y_scale}),
    }


def trends_link(request: TrendsRequest) -> str:
    """The Trends page showing `request`, as a link relative to the app."""
    return "trends?" + urlencode(trends_params(request), doseq=True)


def series_trend_link(measure: str, provider: str, month: date, window: int) -> str:
    """The Overview's link from a cell: the series' trend over the 36 months to `month`, with its window."""
    start = words.months_back(month, TRENDS_LINK_MONTHS - 1)
    return trends_link(
        TrendsRequest((measure,), (provider,), words.month_key(start), words.month_key(month), window=window)
    )


# ------------------------------------------------------------------ Incidents


@dataclass(frozen=True)
class IncidentsRequest:
    """Incidents: a period, providers and categories (none: all), a search, optionally only the months a
    measure (for a provider) was below a level, and what the opened bars are coloured by."""

    start: str
    end: str
    providers: tuple[str, ...] = ()
    categories: tuple[int, ...] = ()
    search: str = ""
    measure: str = EVERY_MONTH
    measure_provider: str | None = None
    below: str = "target"  # a key of LEVEL_WORDS
    by: str = "category"  # a key of BY_WORDS


@dataclass(frozen=True)
class IncidentsContext:
    """What an Incidents link is checked against: the months of the incident log (oldest first), the
    providers with incidents, the catalogue."""

    months: tuple[str, ...]
    providers: tuple[str, ...]
    catalogue: Catalogue = field(compare=False)
    measure_names: Mapping[str, str] = field(default_factory=dict, compare=False)


def incidents_context(con: duckdb.DuckDBPyConnection) -> IncidentsContext:
    """What Incidents links are checked against, read from the database."""
    return IncidentsContext(
        tuple(words.month_key(m) for m in incidents.incident_months(con)),
        tuple(incidents.incident_providers(con)),
        Catalogue.from_db(con),
        measure_options(con),
    )


def read_incidents(params: Params, context: IncidentsContext) -> tuple[IncidentsRequest, list[str]]:
    """The Incidents view a link asks for (`context.months` not empty). By default the last 12 months,
    every provider and category, every month."""
    link = LinkReader(params)
    start, end = link.period(context.months, last_months(context.months, 12))
    _, named, problems = context.catalogue.select((), link.all("provider"))
    link.problems(problems)
    for provider in [p for p in named if p not in context.providers]:
        link.warn(f"No incidents are recorded for provider '{md_escape(provider)}'; it is left out.")
    categories = []
    for text in link.all("category"):
        if text.strip() in {str(c) for c in incidents.CATEGORIES}:
            categories.append(int(text))
        else:
            link.warn(
                f"The link asks for category '{md_escape(text)}', which is not an incident category "
                "(1 to 5); it is left out."
            )
    measure, measure_provider = _restriction(link, context.catalogue)
    below = link.choice("below", list(LEVEL_WORDS), "target")
    by = link.choice("by", list(BY_WORDS), "category")
    return IncidentsRequest(
        start,
        end,
        tuple(p for p in named if p in context.providers),
        tuple(sorted(set(categories))),
        (link.get("q") or "").strip(),
        measure,
        measure_provider,
        below if measure else "target",
        by,  # no level without a measure
    ), link.warnings


def _restriction(link: LinkReader, catalogue: Catalogue) -> tuple[str, str | None]:
    """The measure (and its provider) whose missed months a link restricts the view to; every month if none."""
    asked = link.get("measure")
    if not asked:
        return EVERY_MONTH, None
    found, _, problems = catalogue.select((asked,), ())
    if problems or not found:
        link.warn(f"{md_escape(problems[0]) if problems else 'Unknown measure'}; showing every month instead.")
        return EVERY_MONTH, None
    measure = found[0]
    series_providers = catalogue.providers_reporting([measure])
    asked_provider = link.get("measure_provider")
    _, named, problems = catalogue.select((), (asked_provider,)) if asked_provider else ((), [], [])
    if problems or (named and named[0] not in series_providers):
        problem = problems[0] if problems else f"{measure} is not reported for {named[0]}"
        link.warn(f"{md_escape(problem)}; showing {md_escape(measure)} ({md_escape(series_providers[0])}) instead.")
        named = []
    return measure, named[0] if named else series_providers[0]


def incidents_params(request: IncidentsRequest) -> URLParams:
    """The request as a link writes it; the search and the months a measure missed only when there are some."""
    state: URLParams = {
        "from": request.start,
        "to": request.end,
        "provider": list(request.providers),
        "category": [str(c) for c in request.categories],
        "by": request.by,
    }
    if request.search:
        state["q"] = request.search
    if request.measure:
        state.update({"measure": request.measure, "measure_provider": request.measure_provider, "below": request.below})
    return state


# ------------------------------------------------------------------ Alerts


@dataclass(frozen=True)
class AlertsRequest:
    """Alerts: regions and alert codes over a period, and one alert series beside a measure."""

    regions: tuple[str, ...]
    codes: tuple[str, ...]
    start: str
    end: str
    beside_code: str = alerts.ALL_CODES
    beside_region: str = "CSP N"
    basis: str = "per1000"  # a key of alerts.BASES
    measure: str = "PM2"
    measure_provider: str = "CSP N"
    default_codes: tuple[str, ...] = ()  # the codes shown when a link names none (never written to it)


@dataclass(frozen=True)
class AlertsContext:
    """What an Alerts link is checked against: the months with alerts (oldest first), the codes loaded, the
    codes shown by default (the largest by volume), the catalogue."""

    months: tuple[str, ...]
    codes: tuple[str, ...]
    default_codes: tuple[str, ...]
    catalogue: Catalogue = field(compare=False)
    measure_names: Mapping[str, str] = field(default_factory=dict, compare=False)


def alerts_context(con: duckdb.DuckDBPyConnection) -> AlertsContext:
    """What Alerts links are checked against, read from the database."""
    return AlertsContext(
        tuple(words.month_key(m) for m in alerts.alert_months(con)),
        tuple(alerts.alert_codes(con)),
        tuple(alerts.top_codes(con)),
        Catalogue.from_db(con),
        measure_options(con),
    )


def read_alerts(params: Params, context: AlertsContext) -> tuple[AlertsRequest, list[str]]:
    """The Alerts view a link asks for (`context.months` not empty). By default the three CSP regions, the
    largest codes, the last 60 months, and all alerts per 1,000 hubs beside PM2 for CSP N."""
    link = LinkReader(params)
    regions, problems = operations.regions_from(context.catalogue, link.all("provider"))
    codes, code_problems = alerts.resolve_codes(list(context.codes), link.all("code"))
    link.problems(problems + code_problems)
    start, end = link.period(context.months, last_months(context.months, 60))
    measure, measure_provider = _beside_measure(link, context)
    region = beside.regions_for_measure_provider(measure_provider)
    region_texts = link.all("region")
    if region_texts:
        chosen, region_problems = operations.regions_from(context.catalogue, region_texts[:1])
        for problem in region_problems:
            link.warn(f"{md_escape(problem)}; showing {region}.")
        region = chosen[0] if chosen else region
    code = link.get("beside_code", alerts.ALL_CODES)
    code = alerts.ALL_CODES if code.lower() == alerts.ALL_CODES else code
    if code != alerts.ALL_CODES:
        found, bad = alerts.resolve_codes(list(context.codes), [code])
        for problem in bad:
            link.warn(f"{md_escape(problem)}; showing all codes beside the measure.")
        code = found[0] if found else alerts.ALL_CODES
    basis = link.choice("basis", list(alerts.BASES), "per1000")
    return AlertsRequest(
        tuple(regions or DEFAULT_REGIONS),
        tuple(codes or context.default_codes),
        start,
        end,
        code,
        region,
        basis,
        measure,
        measure_provider,
        context.default_codes,
    ), link.warnings


def _beside_measure(link: LinkReader, context: AlertsContext) -> tuple[str, str]:
    """The measure and provider a link sets beside the alerts: PM2 for CSP N unless it says otherwise."""
    asked_provider = link.get("measure_provider")
    found, found_providers, problems = context.catalogue.select(
        [link.get("measure", "PM2")], [asked_provider] if asked_provider else []
    )
    link.problems(problems)
    names = context.measure_names
    measure = found[0] if found else "PM2" if "PM2" in names else next(iter(names))
    reported = context.catalogue.providers_reporting([measure])
    provider = found_providers[0] if found_providers else None
    if provider not in reported:
        fallback = "CSP N" if "CSP N" in reported else reported[0]
        if provider is not None:
            link.warn(f"{measure} is not reported for {md_escape(provider)}; showing {fallback}.")
        provider = fallback
    return measure, provider


def alerts_params(request: AlertsRequest) -> URLParams:
    """The request as a link writes it; the codes left out when they are the default ones."""
    return {
        "provider": list(request.regions),
        "code": list(request.codes) if request.codes != request.default_codes else [],
        "from": request.start,
        "to": request.end,
        "beside_code": request.beside_code,
        "region": request.beside_region,
        "basis": request.basis,
        "measure": request.measure,
        "measure_provider": request.measure_provider,
    }


# ------------------------------------------------------------------ Operations


@dataclass(frozen=True)
class OperationsRequest:
    """Operations: regions over a period."""

    regions: tuple[str, ...]
    start: str
    end: str


@dataclass(frozen=True)
class OperationsContext:
    """What an Operations link is checked against: the months with ops figures (oldest first), the
    providers' names and aliases."""

    months: tuple[str, ...]
    catalogue: Catalogue = field(compare=False)


def operations_context(con: duckdb.DuckDBPyConnection) -> OperationsContext:
    """What Operations links are checked against, read from the database."""
    return OperationsContext(tuple(words.month_key(m) for m in operations.ops_months(con)), Catalogue.from_db(con))


def read_operations(params: Params, context: OperationsContext) -> tuple[OperationsRequest, list[str]]:
    """The Operations view a link asks for (`context.months` not empty). By default the three CSP regions
    over the last 36 months."""
    link = LinkReader(params)
    regions, problems = operations.regions_from(context.catalogue, link.all("provider"))
    link.problems(problems)
    start, end = link.period(context.months, last_months(context.months, 36))
    return OperationsRequest(tuple(regions or DEFAULT_REGIONS), start, end), link.warnings


def operations_params(request: OperationsRequest) -> URLParams:
    """The request as a link writes it."""
    return {"provider": list(request.regions), "from": request.start, "to": request.end}
