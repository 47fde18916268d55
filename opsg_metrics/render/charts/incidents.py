"""Altair charts of incidents: pure functions from the frames of `incidents` to charts.

Same theme as every other chart (importing `charts` registers it) and the same print
rules: categories in a sequential palette ordered by severity (ColorBrewer YlOrRd: the most severe the
darkest red, the least a light yellow-orange that still shows on white; colour-blind-safe and still
ordered in greyscale), stacked in category order so the
most severe is always at the bottom; series told apart by shape and dash as well as
colour; target solid and minimum dashed as on the trend charts. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt
import pandas as pd

from opsg_metrics import words
from opsg_metrics.render.charts.spec import enable, iso, month_axis
from opsg_metrics.render.charts.theme import LEVEL_DASHES, LEVEL_DOMAIN, OKABE_ITO, PANEL_HEIGHT, WIDTH

CATEGORY_DOMAIN = ["Cat 1", "Cat 2", "Cat 3", "Cat 4", "Cat 5"]
# ColorBrewer YlOrRd, five steps from its darkest (Category 1, most severe) without its near-white end:
# warmer and darker with severity, monotonic in lightness.
CATEGORY_COLOURS = ["#BD0026", "#F03B20", "#FD8D3C", "#FEB24C", "#FED976"]
RESOLVED_LABEL = "Resolved in month"
SHARE_LABEL = "Resolved within TRT (incident log)"
RDP_SERIES = {"opened": "Opened", "resolved_in_month": "Resolved in month", "still_open": "Still open at month end"}
RDP_SHAPES = ["circle", "square", "triangle-up"]
RDP_DASHES = [[1, 0], [6, 3], [2, 2]]


def _month_axis(months: Sequence[date], field: str = "month_iso") -> alt.X:
    """A time axis from the first of the months given to the end of the last."""
    first, last = min(months), max(months)
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return alt.X(f"{field}:T", scale=alt.Scale(domain=[iso(first), iso(end)]), axis=month_axis(first, last))


def _mid_month(day) -> str:
    return (pd.Timestamp(day).to_period("M").to_timestamp() + pd.Timedelta(days=14)).strftime("%Y-%m-%d")


def _month_end(day) -> str:
    return iso(words.next_month(pd.Timestamp(day).date()))


def opened_chart(
    counts: pd.DataFrame,
    months: Sequence[date],
    *,
    by: str = "category",
    providers: Sequence[str] = (),
    title: str = "Incidents opened per month",
    subtitle: str = "",
) -> alt.LayerChart:
    """Stacked bars of incidents opened per month by category (or by provider), with the
    number resolved in each month as a black line of diamonds.

    `counts` is incidents.monthly_counts; `months` the months the chart covers (the axis
    spans them all, so a month without incidents shows as an empty month). Each bar spans
    its month; the most severe category (or the first provider) is at the bottom."""
    enable()
    if by not in ("category", "provider"):
        raise ValueError("by is 'category' or 'provider'")
    months = list(months) or [date.today().replace(day=1)]
    x = _month_axis(months)
    frame = counts.assign(
        month_iso=[iso(m) for m in counts["month"]],
        month_label=[pd.Timestamp(m).strftime("%B %Y") for m in counts["month"]],
        category_label=[f"Cat {c}" for c in counts["category"]],
    )
    if by == "category":
        key, domain, colours, word = "category_label", CATEGORY_DOMAIN, CATEGORY_COLOURS, "Category"
        order_field = "category"
    else:
        domain = list(providers) or list(dict.fromkeys(frame["provider"]))
        key, colours, word, order_field = "provider", OKABE_ITO[: len(domain)], "Provider", "provider_order"
        frame = frame.assign(
            provider_order=[domain.index(p) if p in domain else len(domain) for p in frame["provider"]]
        )
    columns = ["month_iso", "month_label", key, order_field]
    stacked = (
        frame.groupby(columns, as_index=False)["opened"].sum()
        if len(frame)
        else pd.DataFrame(columns=[*columns, "opened"])
    )
    # Stacked here, not by Vega-Lite (which does not stack bars spanning x to x2): the most
    # severe category, or the first provider, at the bottom of every bar.
    stacked = stacked.astype({"opened": int})
    stacked = stacked[stacked["opened"] > 0].sort_values(["month_iso", order_field]).reset_index(drop=True)
    stacked["top"] = stacked.groupby("month_iso")["opened"].cumsum()
    stacked["bottom"] = stacked["top"] - stacked["opened"]
    stacked["month_end"] = [_month_end(m) for m in stacked["month_iso"]]
    stacked = stacked[["month_iso", "month_end", "month_label", key, "opened", "bottom", "top"]]
    bars = (
        alt.Chart(stacked, name="opened_bars")
        .mark_bar(stroke="white", strokeWidth=0.8)
        .encode(
            x=x,
            x2="month_end:T",
            y=alt.Y("top:Q", title="Incidents", scale=alt.Scale(zero=True)),
            y2="bottom:Q",
            color=alt.Color(
                f"{key}:N",
                scale=alt.Scale(domain=domain, range=colours),
                legend=alt.Legend(title=f"Opened, by {word.lower()}"),
            ),
            tooltip=[
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip(f"{key}:N", title=word),
                alt.Tooltip("opened:Q", title="Opened"),
            ],
        )
    )
    # Resolved in every month shown (a month with none is a zero: these are counts of the log).
    totals = frame.groupby("month_iso")["resolved"].sum().to_dict() if len(frame) else {}
    shown = sorted(months)
    resolved = pd.DataFrame(
        {
            "month_iso": [iso(m) for m in shown],
            "month_label": [pd.Timestamp(m).strftime("%B %Y") for m in shown],
            "resolved": [int(totals.get(iso(m), 0)) for m in shown],
            "segment": _segments(shown, pd.Series([0.0] * len(shown))),
        }
    )
    resolved = resolved.assign(series=RESOLVED_LABEL, month_mid=[_mid_month(m) for m in resolved["month_iso"]])
    mid = _month_axis(months, "month_mid")
    line = (
        alt.Chart(resolved, name="resolved_line")
        .mark_line(color="#000000", strokeWidth=1.2)
        .encode(x=mid, y=alt.Y("resolved:Q"), detail="segment:N")
    )
    points = (
        alt.Chart(resolved, name="resolved_points")
        .mark_point(color="#000000", filled=True, size=45, opacity=1)
        .encode(
            x=mid,
            y=alt.Y("resolved:Q"),
            shape=alt.Shape(
                "series:N", scale=alt.Scale(domain=[RESOLVED_LABEL], range=["diamond"]), legend=alt.Legend(title=None)
            ),
            tooltip=[alt.Tooltip("month_label:N", title="Month"), alt.Tooltip("resolved:Q", title="Resolved")],
        )
    )
    return alt.layer(bars, line, points).properties(
        width=WIDTH, height=PANEL_HEIGHT + 60, title=alt.TitleParams(title, subtitle=subtitle or alt.Undefined)
    )


def _segments(months: Sequence, values: pd.Series) -> list[int]:
    """A line breaks where a value is missing or a month is skipped (the views restricted to
    some months): each stretch of consecutive months with values is its own segment."""
    segments, number, previous = [], 0, None
    for month, value in zip(months, values):
        month = pd.Timestamp(month).to_period("M")
        if pd.isna(value) or (previous is not None and month != previous + 1):
            number += 1
        segments.append(number)
        previous = month
    return segments


def resolution_chart(frame: pd.DataFrame, *, subtitle: str = "") -> alt.VConcatChart:
    """Per band (CPM4: Category 1-2, CPM5: Category 3-5), the share of incidents resolved within
    their Target Resolution Time each month, beside the reported CPM figure, against the
    CPM's target (solid) and minimum (dashed).

    `frame` is queries.resolution.resolution_against_cpm. A month with no incident of the band
    resolved has no share (a gap), never 0 or 100."""
    enable()
    months = [pd.Timestamp(m).date() for m in frame["month"]] or [date.today().replace(day=1)]
    x = _month_axis(months)
    values = pd.concat([frame["share_within"], frame["reported"], frame["minimum"]]).dropna()
    low = max(0.0, (float(values.min()) // 10) * 10 - 5) if len(values) else 0.0
    y_scale = alt.Scale(domain=[low, 100], nice=False, zero=False)
    panels = []
    for measure, part in frame.groupby("measure", sort=False):
        part = part.sort_values("month").reset_index(drop=True)
        categories = part["categories"].iloc[0]
        base = part.assign(
            month_iso=[iso(m) for m in part["month"]],
            month_label=[pd.Timestamp(m).strftime("%B %Y") for m in part["month"]],
        )
        reported_name = f"{measure} reported (DCC)"
        long = pd.concat(
            [
                base.assign(
                    series=SHARE_LABEL,
                    value=base["share_within"],
                    segment=_segments(base["month"], base["share_within"]),
                ),
                base.assign(
                    series=reported_name, value=base["reported"], segment=_segments(base["month"], base["reported"])
                ),
            ],
            ignore_index=True,
        )
        long = long[long["value"].notna()]
        long = long.assign(
            series_segment=long["series"] + "/" + long["segment"].astype(str),
            counts_text=[f"{w} of {r}" for w, r in zip(long["within_trt"], long["resolved"])],
        )
        series_domain = [SHARE_LABEL, "CPM reported (DCC)"]
        long["series_key"] = [SHARE_LABEL if s == SHARE_LABEL else "CPM reported (DCC)" for s in long["series"]]
        # Only what the marks and tooltips use is embedded.
        long = long[["month_iso", "month_label", "series", "series_key", "series_segment", "value", "counts_text"]]
        legend = alt.Legend(title=None, labelLimit=0)
        colour = alt.Color(
            "series_key:N", scale=alt.Scale(domain=series_domain, range=["#0072B2", "#D55E00"]), legend=legend
        )
        shape = alt.Shape(
            "series_key:N", scale=alt.Scale(domain=series_domain, range=["circle", "square"]), legend=legend
        )
        tips = [
            alt.Tooltip("month_label:N", title="Month"),
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("value:Q", title="Value (%)", format=".2f"),
            alt.Tooltip("counts_text:N", title="Within TRT / resolved"),
        ]
        layers = []
        levels = base[base["target"].notna()]
        if not levels.empty:
            last = levels.iloc[[-1]].copy()
            last["month_iso"] = iso(words.next_month(pd.Timestamp(last["month"].iloc[0]).date()))
            steps = pd.concat([levels, last], ignore_index=True)
            level_rows = pd.concat(
                [
                    steps.assign(level_name="Target", level=steps["target"]),
                    steps.assign(level_name="Minimum", level=steps["minimum"]),
                ],
                ignore_index=True,
            )[["month_iso", "level_name", "level"]]
            layers.append(
                alt.Chart(level_rows, name="levels")
                .mark_line(interpolate="step-after", color="#333333", strokeWidth=1.4)
                .encode(
                    x=x,
                    y=alt.Y("level:Q", scale=y_scale, title="Resolved within TRT (%)"),
                    strokeDash=alt.StrokeDash(
                        "level_name:N",
                        scale=alt.Scale(domain=LEVEL_DOMAIN, range=LEVEL_DASHES),
                        legend=alt.Legend(title=None),
                    ),
                    detail="level_name:N",
                )
            )
        # The reported figure first, the computed share over it: where both are 100 the share shows.
        for name, rows in (
            ("reported", long[long["series_key"] != SHARE_LABEL]),
            ("share", long[long["series_key"] == SHARE_LABEL]),
        ):
            layers.append(
                alt.Chart(rows, name=f"{name}_line")
                .mark_line(strokeWidth=1.6)
                .encode(
                    x=x,
                    y=alt.Y("value:Q", scale=y_scale, title="Resolved within TRT (%)"),
                    color=colour,
                    detail="series_segment:N",
                )
            )
            layers.append(
                alt.Chart(rows, name=f"{name}_points")
                .mark_point(filled=True, size=50, opacity=1)
                .encode(x=x, y=alt.Y("value:Q", scale=y_scale), color=colour, shape=shape, tooltip=tips)
            )
        panels.append(
            alt.layer(
                *layers,
                title=alt.TitleParams(
                    f"{measure}: Category {categories.replace('-', '–')} incidents", fontSize=12, anchor="start"
                ),
            ).properties(width=WIDTH, height=PANEL_HEIGHT)
        )
    return alt.vconcat(
        *panels,
        spacing=18,
        title=alt.TitleParams(
            "Incidents resolved within their Target Resolution Time",
            subtitle=subtitle
            or "CPM target (solid line) and minimum (dashed); the reported figure beside the "
            "share computed from the incident log",
        ),
    ).resolve_scale(color="shared", shape="shared", strokeDash="shared")


def rdp_chart(frame: pd.DataFrame, *, subtitle: str = "") -> alt.LayerChart:
    """RDP incidents per month: opened, resolved in month and still open at month end, each a
    line with its own shape and dash (readable in greyscale). `frame` is incidents.rdp_incidents."""
    enable()
    months = [pd.Timestamp(m).date() for m in frame["month"]] or [date.today().replace(day=1)]
    x = _month_axis(months)
    domain = list(RDP_SERIES.values())
    rows = []
    for column, name in RDP_SERIES.items():
        values = frame[column].astype("Float64") if len(frame) else pd.Series(dtype="Float64")
        segments = _segments(frame["month"], values)
        for month, value, segment in zip(frame["month"], values, segments):
            if pd.notna(value):
                rows.append(
                    {
                        "month_iso": iso(month),
                        "month_label": pd.Timestamp(month).strftime("%B %Y"),
                        "series": name,
                        "value": float(value),
                        "segment": f"{name}/{segment}",
                    }
                )
    long = pd.DataFrame(rows, columns=["month_iso", "month_label", "series", "value", "segment"])
    colour = alt.Color("series:N", scale=alt.Scale(domain=domain, range=OKABE_ITO[:3]), legend=alt.Legend(title=None))
    # One line layer per series with its colour and dash fixed, so the one legend (colour and
    # shape, from the points) is not drawn with dashed symbols.
    lines = [
        alt.Chart(long[long["series"] == name], name=f"rdp_line_{column}")
        .mark_line(strokeWidth=1.6, color=OKABE_ITO[number], strokeDash=RDP_DASHES[number])
        .encode(x=x, y=alt.Y("value:Q", title="RDP incidents"), detail="segment:N")
        for number, (column, name) in enumerate(RDP_SERIES.items())
    ]
    points = (
        alt.Chart(long, name="rdp_points")
        .mark_point(filled=True, size=45, opacity=1)
        .encode(
            x=x,
            y=alt.Y("value:Q"),
            color=colour,
            shape=alt.Shape(
                "series:N", scale=alt.Scale(domain=domain, range=RDP_SHAPES), legend=alt.Legend(title=None)
            ),
            tooltip=[
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip("series:N", title="Figure"),
                alt.Tooltip("value:Q", title="Incidents", format=",.0f"),
            ],
        )
    )
    return alt.layer(*lines, points).properties(
        width=WIDTH,
        height=PANEL_HEIGHT + 40,
        title=alt.TitleParams(
            "Registration Data Provider (RDP) incidents",
            subtitle=subtitle or "From the operational figures DCC reports each month",
        ),
    )
