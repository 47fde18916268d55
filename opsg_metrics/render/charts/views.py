"""A chart with everything behind it: the queries' data (queries/trends.py) drawn as the trend or SPC chart
the pages show and the exports print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import altair as alt
import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.queries.trends import SpcData, TrendData, spc_data, trend_data
from opsg_metrics.render.charts import spc as spc_charts
from opsg_metrics.render.charts import trend as charts
from opsg_metrics.rules.status import DEFAULT_WINDOW


@dataclass(frozen=True)
class TrendView:
    """One measure's trend chart with everything behind it."""

    source: TrendData
    chart: alt.VConcatChart
    data: charts.Annotated

    @property
    def measure(self) -> str:
        return self.source.measure

    @property
    def rows(self) -> pd.DataFrame:
        return self.source.rows

    @property
    def provenance(self) -> Provenance:
        return self.source.provenance

    @property
    def pmr_month(self) -> date:
        return self.source.pmr_month


def trend_view(
    con: duckdb.DuckDBPyConnection,
    measure: str,
    providers: list[str],
    start: date,
    end: date,
    *,
    window: int = DEFAULT_WINDOW,
    show_incidents: bool = True,
    show_annotations: bool = True,
    table: pd.DataFrame | None = None,
    y_scale: str = "independent",
) -> TrendView | None:
    """The chart of one measure for some providers over a range, or None when nothing is there; each
    provider's panel on its own y range unless `y_scale` is 'shared'."""
    found = trend_data(
        con,
        measure,
        providers,
        start,
        end,
        window=window,
        show_incidents=show_incidents,
        show_annotations=show_annotations,
        table=table,
    )
    return None if found is None else view_of(found, y_scale)


def view_of(found: TrendData, y_scale: str = "independent") -> TrendView:
    """A trend's data drawn as its chart."""
    data = charts.trend_layers_data(
        found.rows,
        incidents=found.incidents,
        annotations=found.annotations,
        said_at=found.said_at + found.commentary_at,
    )
    return TrendView(found, charts.trend_chart(data, y_scale=y_scale), data)


@dataclass(frozen=True)
class SpcView:
    """One measure's SPC (XmR) chart for some providers, with its readings and provenance."""

    source: SpcData
    chart: alt.VConcatChart

    @property
    def measure(self) -> str:
        return self.source.measure

    @property
    def unit(self) -> str:
        return self.source.unit

    @property
    def results(self) -> dict:
        return self.source.results

    @property
    def provenance(self) -> Provenance:
        return self.source.provenance

    @property
    def pmr_month(self) -> date:
        return self.source.pmr_month

    @property
    def rebase_notes(self) -> list[str]:
        return self.source.rebase_notes


def spc_view(
    con: duckdb.DuckDBPyConnection,
    measure: str,
    providers: list[str],
    start: date,
    end: date,
    *,
    baseline: int | None = None,
    use_rebases: bool = True,
) -> SpcView | None:
    """The SPC chart of one measure over start..end (the months shown), or None when nothing is there."""
    found = spc_data(con, measure, providers, start, end, baseline=baseline, use_rebases=use_rebases)
    if found is None:
        return None
    chart = spc_charts.spc_chart(
        found.results,
        unit=found.unit,
        title=f"{measure}: {found.name}",
        subtitle=f"SPC (XmR) view, {words.month_label(start)} to {words.month_label(end)}",
    )
    return SpcView(found, chart)
