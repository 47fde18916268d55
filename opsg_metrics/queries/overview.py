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
        return "—"
    if unit == "percent":
        return f"{value:.2f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _status_word(row: pd.Series) -> str:
    if row["status"] == "no_data":
        if row["level_missing"]:
            return "No service level"
        return "Not reported" if row["figure_status"] == "null" else "No data"
    return STATUS_LABELS[row["status"]]


def cell_marks(row: pd.Series) -> list[str]:
    """A cell's marks: its run below target ('16 mo', from two months), unreliable, inferred, revised."""
    marks = []
    if row["run_below_target"] >= 2:
        marks.append(f"{row['run_below_target']} mo")
    if row["unreliable"]:
        marks.append("⚠ unreliable")
    if row.get("inferred", False):
        marks.append("inferred")
    if row["revised"]:
        marks.append("revised")
    return marks


def cell_text(row: pd.Series) -> str:
    """One matrix cell as text: shape, status word, value, run; marks for unreliable, inferred and revised;
    the SPC badge."""
    text = f"{STATUS_ICONS[row['status']]} {_status_word(row)}"
    if row["status"] != "no_data" or row["level_missing"]:
        text += f" {format_value(row['value'], row['unit'])}"
    badge = spc_badge(row)
    return " · ".join([text, *cell_marks(row), *([badge] if badge else [])])


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


def spc_badge(row: pd.Series) -> str:
    """'SPC ~ T:F M:P': the series' variation and assurance letters (see spc.badges); '' without a reading."""
    letters = {which: row.get(f"spc_badge_{which}") for which in ("variation", "target", "minimum")}
    return spc.badge_text({k: v for k, v in letters.items() if isinstance(v, str)})


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
    return frame.assign(
        cell=[cell_text(r) for r in rows],
        tooltip=[cell_tooltip(r) for r in rows],
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


SPC_LEGEND = (
    f"SPC over the {spc.DEFAULT_MONTHS} months to the month: ~ common cause; H / L special cause high / low "
    "(blue: improvement, orange: concern); T target and M minimum: P consistently met, F consistently "
    "missed, ? hit and miss; – no reading (fewer than 12 figures since the last rebase: hover for why)"
)


def month_options(months: list[date]) -> dict[str, str]:
    """YYYY-MM key -> 'January 2019' label, newest first, for a month picker."""
    return {words.month_key(m): words.month_label(m) for m in months}
