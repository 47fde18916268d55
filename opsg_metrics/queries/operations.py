"""Operational context by region and month: installations, Communications Hubs, exceptions, changes, problems.

Plain query functions returning data frames (no Streamlit); the Operations and
Alerts pages call them. The regions are the CSP regions as the ops figures give
them (CSP N, CSP C, CSP S) and two combinations worked out here, by one rule
(`regional`): **CSP C&S** is CSP C + CSP S and **All CSPs** is CSP N + CSP C +
CSP S, each only where every part has a figure for the month (a partial sum
would pass for a fall). A figure loaded for CSP C&S itself is used only where
neither CSP C nor CSP S has one.

**Exceptions as a proportion of installations** (`exceptions_proportion`):
the exceptions of region r in month t divided by the installations made in
month t, times 100. The `installations` figure is cumulative (the installed
base at the end of the month), so the installations made in month t are
installations(t) - installations(t - 1). A missing exceptions figure, a missing
installations figure for t or t - 1, or no rise in the installed base (zero or
less installed in the month) gives no figure (None) with a note saying why:
never a division by zero, never a zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics.queries.provenance import frame_source_ids
from opsg_metrics.store.catalogue import PROVIDER_PARTS, Catalogue
from opsg_metrics.words import previous_month

CSP_REGIONS = ("CSP N", "CSP C", "CSP S")
ALL_CSPS = "All CSPs"
# Combined regions: which regions they add up. CSP C&S is also a provider (a figure may be loaded for it).
COMBINED = {**PROVIDER_PARTS, ALL_CSPS: CSP_REGIONS}
REGIONS = ("CSP N", "CSP C&S", "CSP C", "CSP S", ALL_CSPS)  # in the order the PMR lists them

INSTALLATIONS = "installations"
HUBS = "CHs installed"
EXCEPTIONS = "exceptions"
CHANGES = "changes implemented"
CHANGE_SUCCESS = "change success rate"
OPEN_PROBLEMS = "open problem tickets"
DCC_METRICS = (CHANGES, CHANGE_SUCCESS, OPEN_PROBLEMS)
REGIONAL_METRICS = (INSTALLATIONS, HUBS, EXCEPTIONS)


def month_range(start: date, end: date) -> list[date]:
    """Every first-of-month from start to end, inclusive."""
    months, month = [], date(start.year, start.month, 1)
    while month <= end:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def parts_of(region: str) -> tuple[str, ...]:
    """The providers whose rows a region's figures come from (a combination's parts, and itself)."""
    return (*COMBINED[region], region) if region in COMBINED else (region,)


def providers_of(regions: Sequence[str]) -> list[str]:
    """Every provider whose rows the regions need, without repeats."""
    return list(dict.fromkeys(p for r in regions for p in parts_of(r)))


def resolve_regions(con: duckdb.DuckDBPyConnection, texts: list[str]) -> tuple[list[str], list[str]]:
    """Regions for what a link or a person asked for ('CSP North' -> 'CSP N'), and a message for each
    one not understood."""
    return regions_from(Catalogue.from_db(con), texts)


def regions_from(catalogue: Catalogue, texts: list[str]) -> tuple[list[str], list[str]]:
    """resolve_regions with the providers' names and aliases already read (the pages' links)."""
    regions, problems = [], []
    for text in texts:
        if text.strip().lower() == ALL_CSPS.lower():
            regions.append(ALL_CSPS)
            continue
        try:
            provider = catalogue.resolve_provider(text)
        except ValueError:
            provider = None
        if provider in REGIONS:
            regions.append(provider)
        else:
            problems.append(f"Unknown region '{text.strip()}' (expected one of {', '.join(REGIONS)})")
    return list(dict.fromkeys(regions)), problems


def regional(rows: pd.DataFrame, keys: list[str], values: list[str], regions: Sequence[str]) -> pd.DataFrame:
    """Figures by region from rows by provider.

    `rows` has columns provider, *keys, *values and source_id (one row per provider and key). The
    result has region, *keys, *values and source_ids (a tuple) for every key a region has a figure
    for: a plain region's own rows; a combination (COMBINED) the sum of its parts where every part has
    a row for the key (a missing value in any part, such as devices not given, stays missing), else,
    for CSP C&S, its own row where it has one. Keys without a figure have no row."""
    columns = ["region", *keys, *values, "source_ids"]
    frames = []
    for region in regions:
        own = rows[rows["provider"] == region].set_index(keys)
        if region in COMBINED:
            parts = [rows[rows["provider"] == p].set_index(keys) for p in COMBINED[region]]
            common = parts[0].index
            for part in parts[1:]:
                common = common.intersection(part.index)
            summed = None
            if len(common):
                summed = sum(part.loc[common, values].astype("float64") for part in parts)
                ids = zip(*(part.loc[common, "source_id"].astype(int) for part in parts))
                summed["source_ids"] = [tuple(sorted(set(i))) for i in ids]
            own = own[~own.index.isin(common)]
        else:
            summed = None
        own = own[values].astype("float64").assign(source_ids=[(int(s),) for s in own["source_id"]])
        pieces = [f for f in (summed, own) if f is not None and len(f)]
        if pieces:
            frames.append(pd.concat(pieces).reset_index().assign(region=region))
    if not frames:
        empty = pd.DataFrame(columns=columns)
        return empty.astype({k: rows[k].dtype for k in keys} | {v: "float64" for v in values})
    result = pd.concat(frames, ignore_index=True)[columns]
    order = {r: i for i, r in enumerate(regions)}
    return result.sort_values(
        [*keys, "region"], key=lambda s: s.map(order) if s.name == "region" else s, kind="stable"
    ).reset_index(drop=True)


def missing_parts(rows: pd.DataFrame, region: str, month: date, what: str) -> str:
    """Why a region has no figure for a month: 'no installations figure for CSP S'."""
    present = set(rows.loc[rows["month"] == pd.Timestamp(month), "provider"])
    wanted = COMBINED.get(region, (region,))
    absent = [p for p in wanted if p not in present]
    return f"no {what} figure for {', '.join(absent) or region}"


def ops_rows(
    con: duckdb.DuckDBPyConnection, metrics: Sequence[str], providers: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Current ops figures of some metrics and providers from start to end: month (Timestamp), metric,
    provider, value, unit, note, source_id."""
    return con.execute(
        """SELECT month, metric, provider, value, unit, note, source_id FROM current_ops_figures
           WHERE metric IN (SELECT unnest(?::VARCHAR[])) AND provider IN (SELECT unnest(?::VARCHAR[]))
             AND month BETWEEN ? AND ? ORDER BY month, metric, provider""",
        [list(metrics), list(providers), start, end],
    ).df()


def ops_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every month from the first to the last operational figure of the regional or DCC metrics."""
    first, last = con.execute(
        "SELECT min(month), max(month) FROM current_ops_figures WHERE metric IN (SELECT unnest(?::VARCHAR[]))",
        [[*REGIONAL_METRICS, *DCC_METRICS]],
    ).fetchall()[0]
    return month_range(first, last) if first else []


def regional_metric(
    con: duckdb.DuckDBPyConnection, metric: str, regions: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """One metric by region for every month from start to end: month (Timestamp), region, value,
    missing (why there is no figure: 'no installations figure for CSP S'; empty when there is one),
    note (the notes loaded with the figure) and source_ids. A month without a figure has value None."""
    rows = ops_rows(con, [metric], providers_of(regions), start, end)
    return _complete(rows, regional(rows, ["month"], ["value"], regions), regions, start, end, metric)


def _complete(rows, figures, regions, start, end, what) -> pd.DataFrame:
    """A row for every region and month, saying why a figure is missing and what its notes say."""
    grid = pd.DataFrame(
        [(pd.Timestamp(m), r) for r in regions for m in month_range(start, end)], columns=["month", "region"]
    )
    out = grid.merge(figures, on=["month", "region"], how="left")
    out["source_ids"] = [s if isinstance(s, tuple) else () for s in out["source_ids"]]
    noted = {}
    if "note" in rows.columns:
        noted = {(m, p): n for m, p, n in zip(rows["month"], rows["provider"], rows["note"]) if n}
    out["missing"] = [
        "" if pd.notna(v) else missing_parts(rows, r, m.date(), what)
        for v, r, m in zip(out["value"], out["region"], out["month"])
    ]
    out["note"] = [
        _data_note(noted, r, m) if pd.notna(v) else "" for v, r, m in zip(out["value"], out["region"], out["month"])
    ]
    return out


def _data_note(noted: dict, region: str, month: pd.Timestamp) -> str:
    """The notes loaded with a region's figure for a month ('CSP C: …' for a combination's parts)."""
    if region in COMBINED:
        return "; ".join(f"{p}: {noted[(month, p)]}" for p in parts_of(region) if (month, p) in noted)
    return noted.get((month, region), "")


def join_notes(*notes: str) -> str:
    """Notes joined with '; ', empty ones and repeats left out."""
    return "; ".join(dict.fromkeys(n for n in notes if isinstance(n, str) and n))


def installations(con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """Installations and CHs installed (both cumulative, at the end of each month) per region and month,
    with the installations made in the month (None where either month's figure is missing): month,
    region, installations, installed_in_month, chs_installed, note, source_ids."""
    inst = _with_previous(regional_metric(con, INSTALLATIONS, regions, previous_month(start), end), start)
    hubs = regional_metric(con, HUBS, regions, start, end)
    out = inst.merge(hubs, on=["month", "region"], suffixes=("", "_hubs"))
    return pd.DataFrame(
        {
            "month": out["month"],
            "region": out["region"],
            "installations": out["value"],
            "installed_in_month": out["value"] - out["previous"],
            "chs_installed": out["value_hubs"],
            "note": [join_notes(*n) for n in zip(out["missing"], out["missing_hubs"], out["note"], out["note_hubs"])],
            "source_ids": [tuple(sorted(set(a) | set(b))) for a, b in zip(out["source_ids"], out["source_ids_hubs"])],
        }
    ).reset_index(drop=True)


def _with_previous(inst: pd.DataFrame, start: date) -> pd.DataFrame:
    """Installations from the month before start (one row per region and month, months in order within a
    region), with each month's previous figure beside it, from start."""
    inst["previous"] = inst.groupby("region")["value"].shift(1)
    inst["previous_missing"] = inst.groupby("region")["missing"].shift(1).fillna("")
    return inst[inst["month"] >= pd.Timestamp(start)]


def exceptions_proportion(
    con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Exceptions as a percentage of the installations made in the month, per region and month.

    exceptions_pct = exceptions(r, t) / (installations(r, t) - installations(r, t - 1)) * 100, with
    CSP C&S (and All CSPs) summed over their parts in numerator and denominator alike. None, with a
    note saying why, when a figure is missing or nothing was installed in the month. Columns: month,
    region, exceptions, installed_in_month, exceptions_pct, note, source_ids."""
    inst = _with_previous(regional_metric(con, INSTALLATIONS, regions, previous_month(start), end), start)
    exc = regional_metric(con, EXCEPTIONS, regions, start, end)
    out = exc.merge(inst, on=["month", "region"], suffixes=("", "_inst"))
    pct, notes, installed = [], [], []
    for r in out.itertuples():
        why = [r.missing, r.missing_inst]
        rise = None
        if pd.notna(r.value_inst):
            if pd.isna(r.previous):
                why.append(f"{r.previous_missing or 'no installations figure'} the month before")
            else:
                rise = float(r.value_inst - r.previous)
                if rise == 0:
                    why.append("nothing installed in the month (the installed base did not rise)")
                elif rise < 0:
                    why.append(f"the installed base fell by {-rise:,.0f} in the month")
        reason = join_notes(*why)
        installed.append(rise)
        pct.append(None if reason else float(r.value) / rise * 100)
        notes.append(join_notes(reason, r.note, r.note_inst))
    return pd.DataFrame(
        {
            "month": out["month"],
            "region": out["region"],
            "exceptions": out["value"],
            "installed_in_month": pd.Series(installed, dtype="float64"),
            "exceptions_pct": pd.Series(pct, dtype="float64"),
            "note": notes,
            "source_ids": [tuple(sorted(set(a) | set(b))) for a, b in zip(out["source_ids"], out["source_ids_inst"])],
        }
    ).reset_index(drop=True)


def dcc_figures(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """Changes implemented, change success rate (%) and open problem tickets (DCC) per month: month,
    changes_implemented, change_success_rate, open_problem_tickets, note (the figures' notes), source_ids.
    A month without a figure has None (and a note saying which figure is missing)."""
    rows = ops_rows(con, DCC_METRICS, ["DCC"], start, end)
    out = pd.DataFrame({"month": [pd.Timestamp(m) for m in month_range(start, end)]})
    notes = {m: [] for m in out["month"]}
    sources = {m: set() for m in out["month"]}
    for metric in DCC_METRICS:
        part = rows[rows["metric"] == metric].set_index("month")
        out[metric.replace(" ", "_")] = out["month"].map(part["value"]).astype("float64")
        for month in out["month"]:
            if month in part.index:
                sources[month].add(int(part.loc[month, "source_id"]))
                if part.loc[month, "note"]:
                    notes[month].append(f"{metric}: {part.loc[month, 'note']}")
            else:
                notes[month].append(f"no {metric} figure")
    out["note"] = ["; ".join(notes[m]) for m in out["month"]]
    out["source_ids"] = [tuple(sorted(sources[m])) for m in out["month"]]
    return out


@dataclass
class OperationsView:
    """Everything the Operations page shows for a period and some regions."""

    installations: pd.DataFrame
    exceptions: pd.DataFrame
    dcc: pd.DataFrame
    start: date
    end: date
    regions: list[str]

    def source_ids(self) -> list[int]:
        return frame_source_ids(self.installations, self.exceptions, self.dcc)


def operations_view(con: duckdb.DuckDBPyConnection, regions: Sequence[str], start: date, end: date) -> OperationsView:
    """Installations, exceptions and the DCC figures for a period."""
    regions = list(regions)
    return OperationsView(
        installations(con, regions, start, end),
        exceptions_proportion(con, regions, start, end),
        dcc_figures(con, start, end),
        start,
        end,
        regions,
    )


def gap_notes(frame: pd.DataFrame, value: str, *, limit: int = 6) -> list[str]:
    """'No figure for CSP S, January 2021: CHs installed is 0 for CSP S: no rate' for each region and
    month without a `value` (the footer of an exported chart), at most `limit` and then how many more."""
    gaps = frame[frame[value].isna()]
    lines = [
        f"No figure for {r}, {m:%B %Y}" + (f": {n}" if n else "")
        for r, m, n in zip(gaps["region"], gaps["month"], gaps["note"])
    ]
    if len(lines) > limit:
        lines = lines[:limit] + [f"… and {len(lines) - limit} more months without a figure (see the table)"]
    return lines


def series(view: OperationsView) -> pd.DataFrame:
    """The view as one long frame for small multiples: panel, series, month, value, note, unit."""
    parts = []
    for column, panel, unit in (
        ("installations", "Installations (cumulative)", "count"),
        ("chs_installed", "CHs installed (cumulative)", "count"),
        ("installed_in_month", "Installations in the month", "count"),
    ):
        frame = view.installations
        parts.append(
            pd.DataFrame(
                {
                    "panel": panel,
                    "series": frame["region"],
                    "month": frame["month"],
                    "value": frame[column],
                    "note": frame["note"],
                    "unit": unit,
                }
            )
        )
    frame = view.exceptions
    parts.append(
        pd.DataFrame(
            {
                "panel": "Exceptions",
                "series": frame["region"],
                "month": frame["month"],
                "value": frame["exceptions"],
                "note": "",
                "unit": "count",
            }
        )
    )
    parts.append(
        pd.DataFrame(
            {
                "panel": "Exceptions as % of installations in the month",
                "series": frame["region"],
                "month": frame["month"],
                "value": frame["exceptions_pct"],
                "note": frame["note"],
                "unit": "percent",
            }
        )
    )
    frame = view.dcc
    for column, panel, unit in (
        ("changes_implemented", "Changes implemented", "count"),
        ("change_success_rate", "Change success rate (%)", "percent"),
        ("open_problem_tickets", "Open problem tickets", "count"),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "panel": panel,
                    "series": "DCC",
                    "month": frame["month"],
                    "value": frame[column],
                    "note": frame["note"],
                    "unit": unit,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def installations_table(view: OperationsView) -> pd.DataFrame:
    """Installations, CHs and exceptions per region and month as people read them."""
    merged = view.installations.merge(
        view.exceptions.drop(columns=["source_ids", "installed_in_month"]),
        on=["month", "region"],
        suffixes=("", "_exc"),
    )
    return pd.DataFrame(
        {
            "Month": merged["month"].dt.strftime("%Y-%m"),
            "Region": merged["region"],
            "Installations (cumulative)": merged["installations"],
            "Installed in month": merged["installed_in_month"],
            "CHs installed (cumulative)": merged["chs_installed"],
            "Exceptions": merged["exceptions"],
            "Exceptions % of installed in month": merged["exceptions_pct"].round(3),
            "Note": [join_notes(a, b) for a, b in zip(merged["note"], merged["note_exc"])],
        }
    )


def dcc_table(view: OperationsView) -> pd.DataFrame:
    """Changes, change success rate and open problems per month as people read them."""
    frame = view.dcc
    return pd.DataFrame(
        {
            "Month": frame["month"].dt.strftime("%Y-%m"),
            "Changes implemented": frame["changes_implemented"],
            "Change success rate (%)": frame["change_success_rate"],
            "Open problem tickets": frame["open_problem_tickets"],
            "Note": frame["note"],
        }
    )


# ------------------------------------------------------------------ the last month at a glance

GLANCE_DCC = (
    ("Changes implemented", "changes_implemented", "{:,.0f}"),
    ("Change success rate", "change_success_rate", "{:.1f}%"),
    ("Open problem tickets", "open_problem_tickets", "{:,.0f}"),
)


@dataclass(frozen=True)
class Card:
    """One figure at a glance: its label, its value as text, the change on the month before, a note on it."""

    label: str
    value: str
    delta: str | None = None
    note: str = ""


def figure_text(value: float | None, fmt: str = "{:,.0f}") -> str:
    """A figure for a card: formatted, or 'no figure' when there is none."""
    return "no figure" if value is None or pd.isna(value) else fmt.format(value)


def glance(view: OperationsView) -> tuple[list[Card], list[Card]]:
    """The view's last month at a glance: the DCC's figures, each with its change on the month before (where
    both months have one), and each region's exceptions as a proportion of its installations in the month."""
    last = view.dcc.iloc[-1]
    before = view.dcc.iloc[-2] if len(view.dcc) > 1 else None
    dcc = []
    for label, column, fmt in GLANCE_DCC:
        delta = None
        if before is not None and pd.notna(last[column]) and pd.notna(before[column]):
            change = last[column] - before[column]
            delta = f"{change:+,.1f}" if "%" in fmt else f"{change:+,.0f}"
        dcc.append(Card(label, figure_text(last[column], fmt), delta))
    now = view.exceptions[view.exceptions["month"] == pd.Timestamp(view.end)]
    regions = [
        Card(
            f"Exceptions, {row.region}",
            figure_text(row.exceptions_pct, "{:.2f}%"),
            note=f"{figure_text(row.exceptions)} exceptions ÷ {figure_text(row.installed_in_month)} "
            "installed in the month" + (f". {row.note}" if row.note else ""),
        )
        for row in now.itertuples()
    ]
    return dcc, regions
