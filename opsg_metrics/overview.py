"""What the Overview page shows, as plain data: the dataset's state and the month's matrix.

The page only lays these out; every figure, label and ordering is decided here
so it can be tested without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from . import parse
from .classification import most_restrictive
from .db import schema_version
from .status import STATUS_ICONS, STATUS_LABELS, latest_month, status_for_month


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
    sources, sample_sources = con.execute("SELECT count(*), count(*) FILTER (WHERE is_sample) FROM sources").fetchone()
    classes = [row[0] for row in con.execute("SELECT DISTINCT classification FROM sources").fetchall()]
    figures = con.execute("SELECT count(*) FROM measure_values").fetchone()[0]
    levels, unverified = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT verified) FROM service_levels").fetchone()
    return DatasetInfo(
        latest_month=latest_month(con), sources=sources, sample_sources=sample_sources,
        classification=most_restrictive(classes), figures=figures, schema_version=schema_version(con),
        unverified_levels=unverified, levels=levels,
    )


def format_value(value: float | None, unit: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if unit == "percent":
        return f"{value:.2f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def cell_text(row) -> str:
    """One matrix cell: icon, status word, value, run; marks for unreliable and revised figures."""
    status = row["status"]
    if status == "no_data":
        reason = "Not reported" if row["figure_status"] == "null" else "No data"
        text = f"{STATUS_ICONS[status]} {reason}"
    else:
        text = f"{STATUS_ICONS[status]} {STATUS_LABELS[status]} {format_value(row['value'], row['unit'])}"
    if row["run_below_target"] >= 2:
        text += f" · {row['run_below_target']} mo"
    if row["unreliable"]:
        text += " · ⚠ unreliable"
    if row["revised"]:
        text += " · revised"
    return text


def matrix(con: duckdb.DuckDBPyConnection, month: date, *, window: int) -> pd.DataFrame:
    """Measures (rows, catalogue order) by providers (columns) for a month, as cell texts.

    A measure not defined for a provider shows an empty cell."""
    frame = status_for_month(con, month, window=window)
    if frame.empty:
        return pd.DataFrame()
    providers = [p for (p,) in con.execute("SELECT provider FROM providers ORDER BY sort_order").fetchall()]
    frame = frame.assign(cell=[cell_text(row) for _, row in frame.iterrows()])
    order = frame.groupby("measure", sort=False)["sort_order"].min().sort_values().index
    table = frame.pivot(index="measure", columns="provider", values="cell").reindex(order)
    table = table[[p for p in providers if p in table.columns]].fillna("")
    names = frame.drop_duplicates("measure").set_index("measure")["name"]
    table.insert(0, "Name", names.reindex(table.index).str.replace(r" \((CSP|DSP)[^)]*\)$", "", regex=True))
    table.index.name = "Measure"
    return table


def month_options(months: list[date]) -> dict[str, str]:
    """YYYY-MM key -> 'January 2019' label, newest first, for a month picker."""
    return {parse.month_key(m): parse.month_label(m) for m in months}
