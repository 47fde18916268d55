"""The alerts-beside-a-measure chart: the alert series above the measure on one time axis, the months the
measure was below its minimum shaded in both.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.beside import BesideView
from opsg_metrics.render.charts.context import (
    BELOW_MINIMUM,
    BELOW_MINIMUM_FILL,
    OTHER_MONTHS,
    STATUS_COLOURS,
    STATUS_DOMAIN,
    STATUS_SHAPES,
    ZERO_LABEL,
    gap_band,
    month_after,
    time_axis,
    with_month_bands,
    x2,
)
from opsg_metrics.render.charts.spec import enable, iso
from opsg_metrics.render.charts.theme import LEVEL_DASHES, LEVEL_DOMAIN, PANEL_HEIGHT, WIDTH
from opsg_metrics.render.charts.trend import value_domain


def _level_rows(measure: pd.DataFrame) -> pd.DataFrame:
    """Target and minimum as steps: each month's level from its first day, the last one closed a month on."""
    rows = []
    part = measure[measure["target"].notna()]
    for r in part.itertuples():
        for name, value in (("Target", r.target), ("Minimum", r.minimum)):
            rows.append({"level_name": name, "level": float(value), "at_iso": iso(r.month)})
    if len(part):
        last = part.iloc[-1]
        for name, value in (("Target", last["target"]), ("Minimum", last["minimum"])):
            rows.append({"level_name": name, "level": float(value), "at_iso": iso(month_after(last["month"]))})
    return pd.DataFrame(rows, columns=["level_name", "level", "at_iso"])


def _measure_domain(measure: pd.DataFrame, levels: pd.DataFrame, unit: str) -> tuple[float, float]:
    return value_domain(measure, levels, unit)


def beside_chart(view: BesideView, *, height: int = PANEL_HEIGHT) -> alt.VConcatChart:
    """The alert series (top) above the measure (bottom) on one time axis (`view` is alerts.BesideView).

    The months the measure was below its minimum are shaded in both panels and their alert bars are
    drawn in vermillion, so the eye can run from a miss straight up to the alerts of that month."""
    enable()
    start, end = view.start, view.end
    x = time_axis(start, end)
    x_mid = time_axis(start, end, field="mid_iso")
    measure = with_month_bands(view.measure.assign(series=view.measure_provider))
    measure["status_label"] = [words.STATUS_LABELS[s] for s in measure["status"]]
    below = measure[measure["status"] == "below_minimum"]
    alert_frame = with_month_bands(view.alerts.assign(series=view.region)).merge(
        measure[["start_iso", "status"]], on="start_iso", how="left"
    )
    bar_kind = f"{view.measure_id} below minimum"
    alert_frame["bar_kind"] = [bar_kind if s == "below_minimum" else "Other months" for s in alert_frame["status"]]
    shade_tip = [
        alt.Tooltip("month_label:N", title="Month"),
        alt.Tooltip("value:Q", title=f"{view.measure_id} ({view.measure_provider})", format=".2f"),
        alt.Tooltip("minimum:Q", title="Minimum"),
    ]

    def shading(name: str) -> alt.Chart:
        return (
            alt.Chart(below[["start_iso", "end_iso", "month_label", "value", "minimum"]], name=name)
            .mark_rect(color=BELOW_MINIMUM_FILL, opacity=0.55)
            .encode(x=x, x2=x2(), tooltip=shade_tip)
        )

    # --- top: the alerts
    is_rate = view.basis == "per1000"
    value_format = ",.1f" if is_rate else ","
    figures = alert_frame[alert_frame["value"].notna()].assign(zero=0.0)
    gaps = alert_frame[alert_frame["value"].isna()]
    top_layers = []
    if not below.empty:
        top_layers.append(shading("below_minimum_alerts"))
    if not gaps.empty:
        top_layers.append(
            gap_band(gaps[["start_iso", "end_iso", "month_label", "series", "note"]], x, "no_alert_figure")
        )
    top_layers.append(
        alt.Chart(
            figures[["start_iso", "end_iso", "month_label", "value", "zero", "bar_kind", "series"]], name="alert_bars"
        )
        .mark_rect(stroke="white", strokeWidth=0.6)
        .encode(
            x=x,
            x2=x2(),
            y=alt.Y(
                "zero:Q",
                title="Per 1,000 CHs" if is_rate else "Alerts",
                axis=alt.Axis(format=",.0f" if is_rate else "~s", labelExpr=ZERO_LABEL),
            ),
            y2="value:Q",
            color=alt.Color(
                "bar_kind:N",
                scale=alt.Scale(domain=[bar_kind, "Other months"], range=[BELOW_MINIMUM, OTHER_MONTHS]),
                legend=alt.Legend(title=None),
            ),
            tooltip=[
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip("series:N", title="Region"),
                alt.Tooltip("value:Q", title=view.alert_label, format=value_format),
                alt.Tooltip("bar_kind:N", title="Month kind"),
            ],
        )
    )
    top = alt.layer(*top_layers).properties(
        width=WIDTH, height=height, title=alt.TitleParams(view.alert_label, fontSize=12, anchor="start")
    )

    # --- bottom: the measure
    levels = _level_rows(view.measure)
    y_domain = _measure_domain(view.measure, levels, view.unit)
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False, clamp=True)
    y_title = f"{view.measure_id} (%)" if view.unit == "percent" else view.measure_id
    bottom_layers = []
    if not below.empty:
        bottom_layers.append(shading("below_minimum_measure"))
    if not levels.empty:
        bottom_layers.append(
            alt.Chart(levels, name="levels")
            .mark_line(interpolate="step-after", color="#333333", strokeWidth=1.4)
            .encode(
                x=time_axis(start, end, field="at_iso"),
                y=alt.Y("level:Q", scale=y_scale, title=y_title),
                strokeDash=alt.StrokeDash(
                    "level_name:N",
                    scale=alt.Scale(domain=LEVEL_DOMAIN, range=LEVEL_DASHES),
                    legend=alt.Legend(title=None),
                ),
                detail="level_name:N",
            )
        )
    measure["segment"] = measure["value"].isna().cumsum()
    values = measure[measure["value"].notna()][
        ["mid_iso", "month_label", "value", "target", "minimum", "status_label", "note", "segment"]
    ]
    no_figure = measure[measure["value"].isna()].assign(
        note=lambda f: ["Not reported" + (f": {n}" if n else "") for n in f["note"]]
    )
    if not no_figure.empty:
        bottom_layers.append(
            gap_band(no_figure[["start_iso", "end_iso", "month_label", "series", "note"]], x, "no_measure_figure")
        )
    if not values.empty:
        bottom_layers.append(
            alt.Chart(values, name="measure_line")
            .mark_line(color="#0072B2", strokeWidth=1.6)
            .encode(x=x_mid, y=alt.Y("value:Q", scale=y_scale, title=y_title), detail="segment:N")
        )
        status_legend = alt.Legend(title=None)
        bottom_layers.append(
            alt.Chart(values, name="status_points")
            .mark_point(filled=True, size=55, opacity=1, strokeWidth=1.5)
            .encode(
                x=x_mid,
                y=alt.Y("value:Q", scale=y_scale),
                shape=alt.Shape(
                    "status_label:N", scale=alt.Scale(domain=STATUS_DOMAIN, range=STATUS_SHAPES), legend=status_legend
                ),
                color=alt.Color(
                    "status_label:N", scale=alt.Scale(domain=STATUS_DOMAIN, range=STATUS_COLOURS), legend=status_legend
                ),
                tooltip=[
                    alt.Tooltip("month_label:N", title="Month"),
                    alt.Tooltip("value:Q", title=view.measure_id, format=".2f"),
                    alt.Tooltip("status_label:N", title="Status"),
                    alt.Tooltip("target:Q", title="Target"),
                    alt.Tooltip("minimum:Q", title="Minimum"),
                    alt.Tooltip("note:N", title="Note"),
                ],
            )
        )
    bottom = alt.layer(*bottom_layers).properties(
        width=WIDTH, height=height, title=alt.TitleParams(view.measure_label, fontSize=12, anchor="start")
    )
    subtitle = (
        f"Shaded: months {view.measure_id} ({view.measure_provider}) was below its minimum. "
        "Target solid, minimum dashed; grey: no figure (hover for why)"
    )
    title = alt.TitleParams(f"{view.alert_label} beside {view.measure_id} ({view.measure_provider})", subtitle=subtitle)
    return alt.vconcat(top, bottom, spacing=14, title=title).resolve_scale(
        x="shared", color="independent", shape="independent", strokeDash="independent"
    )
