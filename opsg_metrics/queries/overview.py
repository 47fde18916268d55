"""What the Overview page shows, as plain data: the dataset's state and the month's matrix.

The page only lays these out; every figure, label and ordering is decided here
so it can be tested without Streamlit. The matrix as HTML is render/overview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries import kept, minutes, record
from opsg_metrics.queries import spc as spc_readings
from opsg_metrics.rules import spc
from opsg_metrics.rules.status import latest_month, run_of, status_for_month
from opsg_metrics.store.classification import most_restrictive
from opsg_metrics.store.connect import schema_version
from opsg_metrics.words import STATUS_ICONS, STATUS_LABELS


@dataclass
class DatasetInfo:
    latest_month: date | None
    sources: int
    sample_sources: int
    classification: str
    figures: int
    schema_version: int
    unverified_levels: int
    levels: int

    @property
    def has_sample(self) -> bool:
        return self.sample_sources > 0


def dataset_info(con: duckdb.DuckDBPyConnection) -> DatasetInfo:
    sources, sample_sources = con.execute("SELECT count(*), count(*) FILTER (WHERE is_sample) FROM sources").fetchall()[
        0
    ]
    classes = [row[0] for row in con.execute("SELECT DISTINCT classification FROM sources").fetchall()]
    figures = con.execute("SELECT count(*) FROM measure_values").fetchall()[0][0]
    levels, unverified = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT verified) FROM service_levels"
    ).fetchall()[0]
    return DatasetInfo(
        latest_month=latest_month(con),
        sources=sources,
        sample_sources=sample_sources,
        classification=most_restrictive(classes),
        figures=figures,
        schema_version=schema_version(con),
        unverified_levels=unverified,
        levels=levels,
    )


def format_value(value: float | None, unit: str) -> str:
    if value is None or pd.isna(value):
        return words.MISSING
    if unit == "percent":
        return f"{value:.2f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _status_word(row: pd.Series) -> str:
    if row["status"] == "no_data":
        if row["level_missing"]:
            return "No service level"
        return "Not reported" if row["figure_status"] == "null" else "No data"
    return STATUS_LABELS[row["status"]]


COMMENTARY_MARK = "✎ commentary"


def cell_marks(row: pd.Series) -> list[str]:
    """A cell's marks: its run below target ('16 mo', from two months), then its figure's flags, then
    whether the secretariat commented on it."""
    run = [f"{row['run_below_target']} mo"] if row["run_below_target"] >= 2 else []
    commented = isinstance(row.get("commentary"), str) and bool(row.get("commentary"))
    return run + figure_flags(row) + ([COMMENTARY_MARK] if commented else [])


def figure_flags(row: pd.Series) -> list[str]:
    """What is said of the figure itself: unreliable, inferred, revised."""
    marks = []
    if row["unreliable"]:
        marks.append("⚠ unreliable")
    if row.get("inferred", False):
        marks.append("inferred")
    if row["revised"]:
        marks.append("revised")
    return marks


def cell_text(row: pd.Series) -> str:
    """One matrix cell as text: shape, status word, value, run; marks for unreliable, inferred and revised;
    the SPC reading in words (none in a cell without a figure)."""
    text = f"{STATUS_ICONS[row['status']]} {_status_word(row)}"
    if row["status"] != "no_data" or row["level_missing"]:
        text += f" {format_value(row['value'], row['unit'])}"
    reading = spc_words(row) if row["status"] != "no_data" else ""
    return " · ".join([text, *cell_marks(row), *([reading] if reading else [])])


def cell_tooltip(row: pd.Series) -> str:
    """What a cell's tooltip says: inferred or not, levels in force, run, window count, note and source."""
    parts = []
    if row.get("inferred", False):
        # Never shown as reported: say so first, and that runs and windows leave it out.
        parts.append(
            "Inferred figure, not reported (see the note for how it was inferred); "
            "runs and windows count it as not reported"
        )
    if row["target"] is not None and not pd.isna(row["target"]):
        unverified = "" if row["level_verified"] else " (level not yet verified)"
        parts.append(
            f"Target {format_value(row['target'], row['unit'])}, "
            f"minimum {format_value(row['minimum'], row['unit'])}{unverified}"
        )
    if row["run_below_target"]:
        parts.append(run_of(row))
    parts.append(
        f"{row['misses_in_window']} of {row['window_months']} months with data below target in the last {row['window']}"
    )
    sentence = row.get("spc_sentence")
    if isinstance(sentence, str) and sentence:
        parts.append(f"SPC ({spc.DEFAULT_MONTHS} months): {sentence}")
    if row["note"]:
        parts.append(f"Note: {row['note']}")
    if row["source"] is not None and not pd.isna(row["source"]):
        parts.append(f"Source: {row['source']}")
    return "\n".join(parts)


SPC_COLUMNS = (
    "variation",
    "badge_variation",
    "badge_target",
    "badge_minimum",
    "variation_title",
    "target_title",
    "minimum_title",
    "sentence",
)


# The SPC reading in words, each part with its icon (the key on the Overview lists them all).
SPC_VARIATION_WORDS = {
    "common": ("◦", "common cause", "only common-cause variation: the process is stable"),
    "improvement": ("⇧", "improving", "a special cause in the better direction"),
    "concern": ("⇩", "concern", "a special cause in the worse direction"),
    "neutral": ("◇", "special cause", "a special cause in a measure without a better direction"),
}
SPC_ASSURANCE_WORDS = {"P": "passes", "F": "fails", "?": "hit and miss"}


def spc_words(row: pd.Series) -> str:
    """'SPC ⇩ concern · target fails · minimum passes'; '' without a reading."""
    kind = spc_kind(row)
    if kind == "none" or row.get("spc_badge_variation") in (None, "–") or pd.isna(row.get("spc_badge_variation")):
        return ""
    icon, variation, _ = SPC_VARIATION_WORDS[kind]
    parts = [f"SPC {icon} {variation}"]
    for which in ("target", "minimum"):
        letter = row.get(f"spc_badge_{which}")
        if isinstance(letter, str) and letter in SPC_ASSURANCE_WORDS:
            parts.append(f"{which} {SPC_ASSURANCE_WORDS[letter]}")
    return " · ".join(parts)


def spc_key() -> list[str]:
    """The key to the SPC readings, as the Overview shows it."""
    return [
        *(f"{icon} {short}: {meaning}" for icon, short, meaning in SPC_VARIATION_WORDS.values()),
        f"variation over the {spc.DEFAULT_MONTHS} months to the month (XmR limits: a point outside them, or a run "
        "or trend, is a special cause; improving or of concern by the measure's direction)",
        "assurance against the target and the minimum: passes (the limits lie on the right side of the level: "
        "it will be met month after month), fails (on the wrong side: it will be missed), hit and miss (the "
        "level lies within the limits: it will be met and missed by chance)",
        "no reading: fewer than 12 figures since the last rebase (hover a cell for why)",
    ]


def spc_kind(row: pd.Series) -> str:
    """CSS class of the badge: improvement, concern, neutral, common or none (no reading)."""
    variation = row.get("spc_variation")
    if not isinstance(variation, str):
        return "none"
    return {spc.COMMON: "common", spc.IMPROVEMENT: "improvement", spc.CONCERN: "concern"}.get(variation, "neutral")


def matrix_cells(con: duckdb.DuckDBPyConnection, month: date, *, window: int) -> pd.DataFrame:
    """The month's status rows with their display texts and SPC readings: the data behind the matrix."""
    frame = status_for_month(con, month, window=window)
    if frame.empty:
        return frame
    readings = spc_readings.readings_for_month(con, month)[["measure", "provider", *SPC_COLUMNS]]
    frame = frame.merge(
        readings.rename(columns={c: f"spc_{c}" for c in SPC_COLUMNS}), on=["measure", "provider"], how="left"
    )
    rows = [row for _, row in frame.iterrows()]
    said = {(d.statement.measure, d.statement.provider): d.text for d in minutes.differences_in(con, month)}
    for k in kept.said(con, month=month):  # statements kept from the minutes that the record does not bear out
        said[(k.measure, k.provider)] = " ".join(t for t in (said.get((k.measure, k.provider)), k.text) if t)
    noted = {(c.measure, c.provider): f"Commentary ({c.signed}): {c.text}" for c in record.commentary(con, month)}
    for r in rows:  # commentary on a measure with no provider: on each of its cells
        key = (r["measure"], r["provider"])
        if key not in noted and (r["measure"], None) in noted:
            noted[key] = noted[(r["measure"], None)]
    return frame.assign(
        cell=[cell_text(r) for r in rows],
        commentary=[noted.get((r["measure"], r["provider"]), "") for r in rows],
        tooltip=[
            cell_tooltip(r)
            + (f"\n{said[(r['measure'], r['provider'])]}" if (r["measure"], r["provider"]) in said else "")
            + (f"\n{noted[(r['measure'], r['provider'])]}" if (r["measure"], r["provider"]) in noted else "")
            for r in rows
        ],
        status_word=[_status_word(r) for r in rows],
    )


def provider_order(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [p for (p,) in con.execute("SELECT provider FROM providers ORDER BY sort_order").fetchall()]


def layout(cells: pd.DataFrame, providers: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """The matrix's rows (measures, in catalogue order), its columns (the providers with a cell, in provider
    order), and each measure's name without its provider."""
    measures = list(cells.groupby("measure", sort=False)["sort_order"].min().sort_values().index)
    present = set(cells["provider"])
    columns = [p for p in providers if p in present]
    names = cells.drop_duplicates("measure").set_index("measure")["name"]
    names = names.str.replace(r" \((CSP|DSP)[^)]*\)$", "", regex=True).to_dict()
    return measures, columns, names


def matrix(cells: pd.DataFrame, providers: list[str]) -> pd.DataFrame:
    """Measures (rows, catalogue order) by providers (columns) as cell texts;
    empty where a measure is not defined for a provider."""
    if cells.empty:
        return pd.DataFrame()
    measures, columns, names = layout(cells, providers)
    table = cells.pivot(index="measure", columns="provider", values="cell").reindex(measures)
    table = table[columns].fillna("")
    table.insert(0, "Name", [names[m] for m in measures])
    table.index.name = "Measure"
    table.columns.name = None
    return table


@dataclass(frozen=True)
class Attention:
    """A figure of the month that needs attention, and why."""

    measure: str
    provider: str
    status: str  # below_minimum, below_target, met, no_data
    text: str  # 'PM2 in CSP N: 54.80%, below minimum'
    reasons: tuple[str, ...]  # 'new this month', '4 months below target in a row', 'figure flagged unreliable'


@dataclass(frozen=True)
class Headline:
    """What is wrong this month, at a glance: the count of each status, and every figure needing attention."""

    month: date
    counts: dict  # status -> count, in STATUS_LABELS order
    attention: tuple[Attention, ...]

    @property
    def summary(self) -> str:
        """'63 figures: 56 met, 5 below target, 2 below minimum, 0 no data'."""
        total = sum(self.counts.values())
        parts = [f"{n} {STATUS_LABELS[s].lower()}" for s, n in self.counts.items()]
        return f"{total} figures: " + ", ".join(parts)


RUN_TO_FLAG = 3  # a run below target of this many months or more is named in the headline


def headline(cells: pd.DataFrame, month: date) -> Headline:
    """The month's headline from its matrix cells (matrix_cells): every figure below target or minimum this
    month (one-month misses included), new misses, runs of RUN_TO_FLAG months or more, and unreliable and
    inferred figures; below minimum first, then below target, then figures met but in doubt."""
    counts = {s: int((cells["status"] == s).sum()) if len(cells) else 0 for s in STATUS_LABELS}
    items = []
    order = {"below_minimum": 0, "below_target": 1}
    for _, row in cells.sort_values("sort_order").iterrows() if len(cells) else []:
        reasons = []
        missed = row["status"] in order
        if missed:
            run = int(row["run_below_target"] or 0)
            if run == 1:
                reasons.append("new this month")
            elif run >= RUN_TO_FLAG:  # as OPSG words it: the run, and the window
                window = words.window_phrase(
                    int(row["misses_in_window"]), int(row["window_months"]), int(row["window"])
                )
                reasons.append(f"{run_of(row)}; {window}")
        if row["unreliable"]:
            reasons.append("figure flagged unreliable")
        if row.get("inferred", False):
            reasons.append("inferred, not reported")
        if not missed and not reasons:
            continue
        value = format_value(row["value"], row["unit"])
        items.append(
            (
                order.get(row["status"], 2),
                Attention(
                    row["measure"],
                    row["provider"],
                    row["status"],
                    f"{row['measure']} in {row['provider']}: {value}, {_status_word(row).lower()}",
                    tuple(reasons),
                ),
            )
        )
    items.sort(key=lambda pair: pair[0])  # stable: catalogue order within each group
    return Headline(month, counts, tuple(item for _, item in items))


def value_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The month as a table that sorts by value: one row per measure and provider with a figure or a level."""
    if cells.empty:
        return pd.DataFrame()
    frame = cells.sort_values("sort_order")
    return pd.DataFrame(
        {
            "Measure": frame["measure"].to_numpy(),
            "Provider": frame["provider"].to_numpy(),
            "Value": pd.to_numeric(frame["value"], errors="coerce").to_numpy(),
            "Unit": ["%" if u == "percent" else u for u in frame["unit"]],
            "Target": pd.to_numeric(frame["target"], errors="coerce").to_numpy(),
            "Minimum": pd.to_numeric(frame["minimum"], errors="coerce").to_numpy(),
            "Status": [_status_word(r) for _, r in frame.iterrows()],
            "Months below target": frame["run_below_target"].fillna(0).astype(int).to_numpy(),
            "SPC": [spc_words(r) if r["status"] != "no_data" else "" for _, r in frame.iterrows()],
            "Flags": [", ".join(figure_flags(r)) for _, r in frame.iterrows()],
        }
    )


def month_options(months: list[date]) -> dict[str, str]:
    """YYYY-MM key -> 'January 2019' label, newest first, for a month picker."""
    return {words.month_key(m): words.month_label(m) for m in months}
