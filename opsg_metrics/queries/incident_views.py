"""What the Incidents page shows, as plain data: its views of the incident log under one filter, the tables
people read (and download), the headline figures and sentences, and where each view's figures came from.

The page only lays these out; the queries themselves are `incidents`. No Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import incidents, resolution
from opsg_metrics.queries.incidents import CATEGORIES, CPM_CATEGORIES, CPM_PROVIDER, IncidentFilter, provenance
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.store import parse
from opsg_metrics.store.errors import OpsgError

# How the page words a level (the keys are incidents.LEVELS) and what its bars are coloured by.
LEVEL_WORDS = {"target": "below target", "minimum": "below minimum"}
BY_WORDS = {"category": "Category", "provider": "Provider"}


# --- the views of one filter ------------------------------------------------------------------


def incident_filter(
    start: str,
    end: str,
    providers: Sequence[str] = (),
    categories: Sequence[int] = (),
    search: str = "",
    months: Sequence[str] | None = None,
) -> IncidentFilter:
    """The filter of a view from month keys ('2021-08'), as the page's links and caches hold them."""
    return IncidentFilter(
        parse.parse_month(start),
        parse.parse_month(end),
        tuple(providers),
        tuple(categories),
        search,
        None if months is None else tuple(parse.parse_month(m) for m in months),
    )


@dataclass(frozen=True, eq=False)
class IncidentViews:
    """Every view the page shows of one filter, as the frames of `incidents` give them."""

    counts: pd.DataFrame  # monthly_counts
    majors: pd.DataFrame  # incident_list of the major incidents
    aged: pd.DataFrame  # aged_open
    by_category: pd.DataFrame  # resolution_by_category
    against: pd.DataFrame  # resolution_against_cpm
    rdp: pd.DataFrame  # rdp_incidents
    times: pd.DataFrame  # resolution_times


def incident_views(con: duckdb.DuckDBPyConnection, f: IncidentFilter) -> IncidentViews:
    """Every view of the filter, queried once."""
    return IncidentViews(
        counts=incidents.monthly_counts(con, f),
        majors=incidents.incident_list(con, f, major_only=True),
        aged=incidents.aged_open(con, f),
        by_category=resolution.resolution_by_category(con, f),
        against=resolution.resolution_against_cpm(con, f),
        rdp=incidents.rdp_incidents(con, f),
        times=incidents.resolution_times(),
    )


@dataclass(frozen=True, eq=False)
class IncidentTables:
    """The views as people read them, on the page and in its CSVs."""

    months: pd.DataFrame  # per month
    providers: pd.DataFrame  # per provider, with an 'All' row
    majors: pd.DataFrame
    by_category: pd.DataFrame  # time to resolve per category
    resolution: pd.DataFrame  # against CPM4 and CPM5
    aged: pd.DataFrame
    rdp: pd.DataFrame | None  # None without RDP figures


def incident_tables(shown: IncidentViews, f: IncidentFilter, providers: Sequence[str]) -> IncidentTables:
    """The tables of the views; `providers` are the rows of the per-provider table, in order."""
    return IncidentTables(
        months=monthly_table(shown.counts, f.period_months()),
        providers=provider_table(shown.counts, list(providers)),
        majors=incident_table(shown.majors),
        by_category=by_category_table(shown.by_category),
        resolution=resolution_table(shown.against),
        aged=aged_table(shown.aged),
        rdp=rdp_table(shown.rdp) if not shown.rdp.empty else None,
    )


def headline(shown: IncidentViews, tables: IncidentTables) -> list[tuple[str, str]]:
    """The page's headline figures: (label, value as text)."""
    return [
        ("Incidents opened", f"{int(tables.months['Opened'].sum()):,}"),
        ("Major incidents opened (Cat 1–2)", f"{len(shown.majors):,}"),
        ("Incidents resolved", f"{int(tables.months['Resolved'].sum()):,}"),
        ("Open at the end of the period", f"{len(shown.aged):,}"),
    ]


# --- tables as people read them -----------------------------------------------------------------


def monthly_table(counts: pd.DataFrame, months: Sequence[date]) -> pd.DataFrame:
    """Counts as people read them: one row per month (every month given, zeros included),
    incidents opened by category, opened in all, major (Category 1-2) opened, and resolved."""
    keys = [words.month_key(m) for m in months]
    table = pd.DataFrame({"Month": keys})
    frame = counts.assign(month_key=pd.to_datetime(counts["month"]).dt.strftime("%Y-%m")) if len(counts) else None
    for category in CATEGORIES:
        if frame is None:
            values = {}
        else:
            values = frame[frame["category"] == category].groupby("month_key")["opened"].sum().to_dict()
        table[f"Cat {category}"] = [int(values.get(k, 0)) for k in keys]
    table["Opened"] = table[[f"Cat {c}" for c in CATEGORIES]].sum(axis=1).astype(int)
    table["Major opened (Cat 1-2)"] = (table["Cat 1"] + table["Cat 2"]).astype(int)
    resolved = {} if frame is None else frame.groupby("month_key")["resolved"].sum().to_dict()
    table["Resolved"] = [int(resolved.get(k, 0)) for k in keys]
    return table


def provider_table(counts: pd.DataFrame, providers: Sequence[str]) -> pd.DataFrame:
    """Incidents opened in the period: one row per provider (in the order given) by category,
    with totals, resolved in the period, and an 'All' row."""
    columns = [f"Cat {c}" for c in CATEGORIES]
    rows = []
    for provider in providers:
        part = counts[counts["provider"] == provider] if len(counts) else counts
        opened = part.groupby("category")["opened"].sum().to_dict() if len(part) else {}
        rows.append(
            {
                "Provider": provider,
                **{f"Cat {c}": int(opened.get(c, 0)) for c in CATEGORIES},
                "Resolved": int(part["resolved"].sum()) if len(part) else 0,
            }
        )
    table = pd.DataFrame(rows, columns=["Provider", *columns, "Resolved"])
    table.insert(len(columns) + 1, "Opened", table[columns].sum(axis=1).astype(int))
    total = {"Provider": "All", **{c: int(table[c].sum()) for c in [*columns, "Opened", "Resolved"]}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def incident_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An incident_list frame as the page and its CSV show it (column names people read)."""
    return pd.DataFrame(
        {
            "Incident": frame["incident_id"],
            "Opened": frame["opened"],
            "Resolved": frame["resolved"],
            "Open at end of period": frame["open_at_end"].astype(bool),
            "Duration (hours)": frame["duration_hours"].astype(float),
            "Duration (days)": frame["duration_days"].astype(float),
            "Category": frame["category"].astype(int),
            "Provider": frame["provider"],
            "Title": frame["title"],
            "Root cause": frame["root_cause"],
        }
    )


def aged_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An aged_open frame as the page and its CSV show it."""
    return pd.DataFrame(
        {
            "Incident": frame["incident_id"],
            "Opened": frame["opened"],
            "Age (days)": frame["age_days"].astype(float),
            "Category": frame["category"].astype(int),
            "Provider": frame["provider"],
            "Past its TRT": frame["past_trt"].astype(bool),
            "Title": frame["title"],
            "Root cause": frame["root_cause"],
        }
    )


def resolution_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A resolution_against_cpm frame as the page and its CSV show it."""
    return pd.DataFrame(
        {
            "Month": [words.month_key(m) for m in frame["month"]],
            "Measure": frame["measure"],
            "Categories": frame["categories"],
            "Resolved": frame["resolved"].astype(int),
            "Within TRT": frame["within_trt"].astype(int),
            "Within TRT (%)": frame["share_within"].astype(float),
            "Reported (%)": frame["reported"].astype(float),
            "Target (%)": frame["target"].astype(float),
            "Minimum (%)": frame["minimum"].astype(float),
            "Reported status": [words.STATUS_LABELS.get(s, s) for s in frame["status"]],
        }
    )


def rdp_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An rdp_incidents frame as the page and its CSV show it."""
    return pd.DataFrame(
        {
            "Month": [words.month_key(m) for m in frame["month"]],
            "Opened": frame["opened"],
            "Resolved in month": frame["resolved_in_month"],
            "Still open": frame["still_open"],
        }
    )


BY_CATEGORY_COLUMNS = {
    "category": "Category",
    "measure": "Measure",
    "target_hours": "TRT (hours)",
    "verified": "TRT verified",
    "resolved": "Resolved",
    "within_trt": "Within TRT",
    "share_within": "Within TRT (%)",
    "median_hours": "Median hours",
    "max_hours": "Longest (hours)",
    "open_at_end": "Open at end",
    "open_past_trt": "Open past TRT",
}


def by_category_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A resolution_by_category frame as the page and its CSV show it."""
    return frame.rename(columns=BY_CATEGORY_COLUMNS)


# --- the page's words ---------------------------------------------------------------------------


def month_ranges(months: Iterable[date]) -> str:
    """'Aug 2018 – Sep 2021, Nov 2021': consecutive months as ranges."""
    months = sorted(set(months))
    parts, run = [], []
    for month in months:
        if run and words.next_month(run[-1]) != month:
            parts.append(run)
            run = []
        run.append(month)
    if run:
        parts.append(run)
    return ", ".join(
        words.month_short(r[0]) if len(r) == 1 else f"{words.month_short(r[0])} – {words.month_short(r[-1])}"
        for r in parts
    )


def restriction_text(measure: str, provider: str, level: str) -> str:
    """'months when PM2 (CSP N) was below minimum': the restriction to the months a measure missed."""
    return f"months when {measure} ({provider}) was {LEVEL_WORDS[level]}"


def never_below(measure: str, provider: str, level: str, start: date, end: date) -> str:
    """Why a view restricted to the months a measure missed shows nothing."""
    return (
        f"{measure} ({provider}) was never {LEVEL_WORDS[level]} from {words.month_label(start)} to "
        f"{words.month_label(end)}, so there is nothing to show. Choose another period or level."
    )


def majors_sentence(
    majors: int, providers: Sequence[str], months: Sequence[date], measure: str, provider: str, level: str
) -> str:
    """'5 major incidents (Category 1–2) opened in CSP N in the 14 months PM2 (CSP N) was below minimum: …'."""
    shown = f"in {', '.join(providers)}" if providers else "across all providers"
    return (
        f"{words.plural(majors, 'major incident')} (Category 1–2) opened {shown} in the "
        f"{words.months(len(months))} {measure} ({provider}) was {LEVEL_WORDS[level]}: {month_ranges(months)}."
    )


def unverified_times(times: pd.DataFrame) -> str:
    """'Category 1: 4 h, Category 2: 8 h' for the Target Resolution Times not yet verified; '' when all are."""
    return ", ".join(f"Category {int(t.category)}: {t.target_hours:g} h" for t in times.itertuples() if not t.verified)


def months_description(f: IncidentFilter, restriction: str = "") -> str:
    """The months of a view in words: 'months when PM2 (CSP N) was below minimum · August 2021 to September 2021'."""
    period = (
        f"{words.month_label(f.start)} to {words.month_label(f.end)}"
        if f.start != f.end
        else words.month_label(f.start)
    )
    return " · ".join([restriction, period] if restriction else [period])


def filter_description(f: IncidentFilter, *, every_provider: Sequence[str] = (), restriction: str = "") -> str:
    """The filters in words, for a chart's subtitle: 'CSP N · Category 1-2 · title or id contains
    "firmware" · months when PM2 (CSP N) was below minimum'."""
    parts = []
    if f.providers and set(f.providers) != set(every_provider):
        parts.append(", ".join(f.providers))
    else:
        parts.append("All providers")
    if f.categories and f.categories != CATEGORIES:
        parts.append(("Category " if len(f.categories) == 1 else "Categories ") + ", ".join(map(str, f.categories)))
    if f.search:
        parts.append(f'id or title contains "{f.search}"')
    parts.append(months_description(f, restriction))
    return " · ".join(parts)


# --- where each view's figures came from ----------------------------------------------------------


VIEWS = ("opened", "majors", "resolution", "aged", "rdp")


def view_provenance(con: duckdb.DuckDBPyConnection, f: IncidentFilter, view: str) -> Provenance:
    """The provenance of one of the page's views (what its export footer says):

    'opened' (counts) and 'majors' (the list): the incidents under the filters; 'resolution':
    the incidents of every category resolved in the period under the provider filter, and
    the CPM4/CPM5 figures of those months; 'aged': the incidents open at the end of the
    period; 'rdp': the RDP ops figures."""
    if view in ("opened", "majors"):
        return provenance(con, f)
    if view == "resolution":
        bands = IncidentFilter(f.start, f.end, f.providers, months=f.months)
        return provenance(con, bands, measures=[(m, CPM_PROVIDER) for m in CPM_CATEGORIES])
    if view == "aged":
        return provenance(con, f, incidents=False, aged=True)
    if view == "rdp":
        return provenance(con, f, incidents=False, rdp=True)
    raise OpsgError(f"unknown view {view!r} (one of {', '.join(VIEWS)})")
