"""Altair charts of the context pages (Alerts, Operations): pure functions from data frames to charts.

The registered theme of `charts` (white background, DejaVu Sans, Okabe-Ito) is
used; this module only maps prepared frames to marks. Every month is drawn as
a band from its first day to the next month's (bars as rectangles, points at
mid-month), so the panels of a chart share one time axis exactly. Regions are
told apart by colour *and* by dash and point shape, so a greyscale print still
separates them. A month without a figure is never drawn as a zero: the line
breaks, a hollow mark in the series' colour and shape sits along the top edge
(a grey band when no series has a figure, or on one-series panels), and the
reason is in the tooltip (and in the export's footer, given as notes).
"""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

from opsg_metrics import words
from opsg_metrics.render.charts.spec import enable, iso, month_axis
from opsg_metrics.render.charts.theme import FONT, OKABE_ITO, PANEL_HEIGHT, WIDTH

# Region -> colour, dash, point shape: three cues, so colour is never the only one.
REGION_STYLES = {
    "CSP N": ("#0072B2", [1, 0], "circle"),
    "CSP C&S": ("#E69F00", [7, 3], "square"),
    "CSP C": ("#009E73", [2, 2], "triangle-up"),
    "CSP S": ("#CC79A7", [9, 3, 2, 3], "diamond"),
    "All CSPs": ("#000000", [12, 4], "cross"),
    "DCC": ("#555555", [1, 0], "circle"),
}
EXTRA_COLOURS = ["#8C8C8C", "#1F5F85", "#A0430A", "#5E3C99"]
GAP_FILL = "#D9D9D9"
BELOW_MINIMUM_FILL = "#F4C7A9"
BELOW_MINIMUM = "#D55E00"
OTHER_MONTHS = "#0072B2"
STATUS_DOMAIN = ["Met", "Below target", "Below minimum"]
STATUS_SHAPES = ["circle", "triangle-down", "cross"]
STATUS_COLOURS = ["#009E73", "#E69F00", "#D55E00"]
COMPACT_WIDTH = 420  # two side by side fill a page's width
COMPACT_HEIGHT = 120
# d3's SI format labels the zero tick '0k' when its neighbours are thousands: say 0.
ZERO_LABEL = "datum.value == 0 ? '0' : datum.label"


def month_after(day: object) -> date:
    return words.next_month(pd.Timestamp(day).date())


def with_month_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the band each month is drawn in: start_iso, end_iso, mid_iso (points) and month_label."""
    months = pd.to_datetime(frame["month"])
    return frame.assign(
        start_iso=[iso(m) for m in months],
        end_iso=[iso(month_after(m)) for m in months],
        mid_iso=[iso(m + pd.Timedelta(days=14)) for m in months],
        month_label=[m.strftime("%B %Y") for m in months],
    )


def time_axis(start: date, end: date, *, labels: bool = True, field: str = "start_iso", most_ticks: int = 8) -> alt.X:
    """The x encoding every context chart uses: the months from start to the end of `end`."""
    scale = alt.Scale(domain=[iso(start), iso(month_after(end))])
    return alt.X(f"{field}:T", scale=scale, axis=month_axis(start, end, most=most_ticks, labels=labels))


def x2(field: str = "end_iso") -> alt.X2:
    return alt.X2(f"{field}:T")


def region_scales(regions: list[str]) -> tuple[alt.Scale, alt.Scale, alt.Scale]:
    """Colour, dash and shape scales for the regions (or series) of a chart."""
    colours, dashes, shapes = [], [], []
    for i, region in enumerate(regions):
        colour, dash, shape = REGION_STYLES.get(region, (EXTRA_COLOURS[i % len(EXTRA_COLOURS)], [1, 0], "circle"))
        colours.append(colour)
        dashes.append(dash)
        shapes.append(shape)
    return (
        alt.Scale(domain=regions, range=colours),
        alt.Scale(domain=regions, range=dashes),
        alt.Scale(domain=regions, range=shapes),
    )


def code_colours(codes: list[str]) -> alt.Scale:
    """A colour-blind-safe colour per alert code (Okabe-Ito, then a few more for long lists)."""
    palette = OKABE_ITO + EXTRA_COLOURS
    return alt.Scale(domain=codes, range=[palette[i % len(palette)] for i in range(len(codes))])


def _segments(frame: pd.DataFrame, by: str, value: str) -> pd.Series:
    """A segment number per row: a line breaks where a value is missing."""
    return frame.groupby(by, sort=False)[value].transform(lambda v: v.isna().cumsum())


def gap_band(frame: pd.DataFrame, x: alt.X, name: str = "no_figure") -> alt.Chart:
    """Grey bands over months without a figure; the reason is in the tooltip."""
    return (
        alt.Chart(frame, name=name)
        .mark_rect(color=GAP_FILL, opacity=0.6)
        .encode(
            x=x,
            x2=x2(),
            tooltip=[
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip("series:N", title="Region"),
                alt.Tooltip("note:N", title="Why no figure"),
            ],
        )
    )


def _gap_layers(
    gaps: pd.DataFrame, series_shown: int, start: date, end: date, colour: alt.Scale, shape: alt.Scale, name: str
) -> list[alt.Chart]:
    """Months without a figure on a chart of several series: a hollow mark in the series' colour and
    shape along the top edge (never at zero) with the reason in its tooltip, and a grey band over the
    months where no series has a figure."""
    if gaps.empty:
        return []
    layers = []
    counts = gaps.groupby("start_iso")["series"].nunique()
    empty_months = counts[counts >= series_shown].index
    if len(empty_months):
        band = (
            gaps[gaps["start_iso"].isin(empty_months)]
            .groupby(["start_iso", "end_iso", "month_label"], as_index=False)
            .agg(note=("note", lambda notes: "; ".join(dict.fromkeys(notes))))
            .assign(series="every one shown")
        )
        layers.append(gap_band(band, time_axis(start, end), f"{name}_no_figure_band"))
    layers.append(
        alt.Chart(gaps[["series", "mid_iso", "month_label", "note"]], name=f"{name}_no_figure")
        .mark_point(filled=False, size=45, strokeWidth=1.5, opacity=1)
        .encode(
            x=time_axis(start, end, field="mid_iso"),
            y=alt.value(5),
            color=alt.Color("series:N", scale=colour, legend=None),
            shape=alt.Shape("series:N", scale=shape, legend=None),
            tooltip=[
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip("series:N", title="Region"),
                alt.Tooltip("note:N", title="Why no figure"),
            ],
        )
    )
    return layers


# ---------------------------------------------------------------------------
# Alerts


MAX_CODES = 12  # codes drawn one by one; the others of the selection are summed as one band


def fold_codes(volumes: pd.DataFrame, codes: list[str], limit: int = MAX_CODES) -> tuple[pd.DataFrame, list[str]]:
    """At most `limit` bands: the largest codes (by volume over the period) one by one, and the rest of the
    selection summed per month and region as 'Other N codes' (share summed; no month-on-month change)."""
    if len(codes) <= limit:
        return volumes, codes
    totals = volumes.groupby("alert_code")["volume"].sum()
    kept = sorted(totals.sort_values(ascending=False, kind="stable").index[: limit - 1])
    other = f"Other {len(codes) - len(kept)} codes"
    rest = volumes[~volumes["alert_code"].isin(kept)]
    summed = rest.groupby(["month", "region"], as_index=False).agg(
        volume=("volume", "sum"),
        devices=("devices", "sum"),
        first_time_devices=("first_time_devices", "sum"),
        share_pct=("share_pct", "sum"),
    )
    summed["alert_code"] = other
    summed["change_pct"] = float("nan")
    folded = pd.concat([volumes[volumes["alert_code"].isin(kept)], summed], ignore_index=True)
    return folded, [*kept, other]


def alert_volume_chart(
    volumes: pd.DataFrame,
    *,
    regions: list[str],
    codes: list[str],
    start: date,
    end: date,
    title: str = "Alert volumes by code",
) -> alt.VConcatChart:
    """Stacked bars of alert volume by code per month, one panel per region, one legend of codes.

    `volumes` is alerts.volumes(...) (month, alert_code, region, volume, devices, first_time_devices,
    share_pct, change_pct). Each region has its own y scale: the normalised chart compares regions."""
    enable()
    volumes, codes = fold_codes(volumes[volumes["alert_code"].isin(codes)], codes)
    order = {c: i for i, c in enumerate(codes)}
    frame = volumes.copy()
    frame["code_order"] = frame["alert_code"].map(order)
    frame = frame.sort_values(["region", "month", "code_order"])
    frame["y1"] = frame.groupby(["region", "month"])["volume"].cumsum()
    frame["y0"] = frame["y1"] - frame["volume"]
    frame = with_month_bands(frame)
    frame["share_text"] = [f"{v:.1f}%" if pd.notna(v) else "" for v in frame["share_pct"]]
    frame["change_text"] = [
        f"{v:+.1f}%" if pd.notna(v) else "no percentage (no or zero previous figure)" for v in frame["change_pct"]
    ]
    frame = frame[
        [
            "region",
            "alert_code",
            "start_iso",
            "end_iso",
            "month_label",
            "volume",
            "devices",
            "first_time_devices",
            "share_text",
            "change_text",
            "y0",
            "y1",
        ]
    ]
    x = time_axis(start, end)
    colour = alt.Color(
        "alert_code:N",
        scale=code_colours(codes),
        title="Alert code",
        sort=codes,
        legend=alt.Legend(title="Alert code", columns=min(len(codes), 10)),
    )
    tooltip = [
        alt.Tooltip("month_label:N", title="Month"),
        alt.Tooltip("region:N", title="Region"),
        alt.Tooltip("alert_code:N", title="Code"),
        alt.Tooltip("volume:Q", title="Volume", format=","),
        alt.Tooltip("devices:Q", title="Devices", format=","),
        alt.Tooltip("first_time_devices:Q", title="First-time devices", format=","),
        alt.Tooltip("share_text:N", title="Share of the month"),
        alt.Tooltip("change_text:N", title="Change on previous month"),
    ]
    panels = []
    for number, region in enumerate(regions):
        part = frame[frame["region"] == region]
        bars = (
            alt.Chart(part, name=f"volume_bars_{number}")
            .mark_rect(stroke="white", strokeWidth=0.4)
            .encode(
                x=x,
                x2=x2(),
                y=alt.Y("y0:Q", title="Alerts", axis=alt.Axis(format="~s", labelExpr=ZERO_LABEL)),
                y2="y1:Q",
                color=colour,
                order=alt.Order("y0:Q"),
                tooltip=tooltip,
            )
        )
        panels.append(
            bars.properties(
                width=WIDTH, height=PANEL_HEIGHT, title=alt.TitleParams(region, fontSize=12, anchor="start")
            )
        )
    subtitle = f"{', '.join(codes) if len(codes) <= 8 else f'{len(codes)} codes'}; each region on its own scale"
    return alt.vconcat(*panels, spacing=16, title=alt.TitleParams(title, subtitle=subtitle)).resolve_scale(
        color="shared", y="independent"
    )


def region_lines(
    frame: pd.DataFrame,
    *,
    value: str,
    regions: list[str],
    start: date,
    end: date,
    title: str,
    subtitle: str,
    y_title: str,
    value_format: str = ",.1f",
    extra_tooltip: list[alt.Tooltip] | None = None,
    name: str = "rate",
) -> alt.VConcatChart:
    """One line per region of a rate (`value`, None where there is no figure) month by month; a month
    without a figure breaks the line and is a grey band with the frame's `note` (why) in its tooltip.

    `frame` has month, region, the value column, note and the columns `extra_tooltip` names."""
    enable()
    frame = with_month_bands(frame.rename(columns={"region": "series"}))
    frame["segment"] = _segments(frame, "series", value)
    extra_tooltip = extra_tooltip or []
    extra_fields = [t.to_dict()["field"] for t in extra_tooltip]
    frame = frame[["series", "start_iso", "end_iso", "mid_iso", "month_label", value, "note", "segment", *extra_fields]]
    figures = frame[frame[value].notna()]
    gaps = frame[frame[value].isna()]
    colour, dash, shape = region_scales(regions)
    legend = alt.Legend(title="Region")
    x_line = time_axis(start, end, field="mid_iso")
    y = alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=True), axis=alt.Axis(labelExpr=ZERO_LABEL))
    tooltip = [
        alt.Tooltip("month_label:N", title="Month"),
        alt.Tooltip("series:N", title="Region"),
        alt.Tooltip(f"{value}:Q", title=y_title, format=value_format),
        *extra_tooltip,
    ]
    layers = _gap_layers(gaps, frame["series"].nunique(), start, end, colour, shape, name)
    layers += _region_layers(
        figures,
        x_line,
        y,
        colour,
        dash,
        shape,
        legend,
        tooltip,
        names=(f"{name}_lines", f"{name}_points"),
        stroke=1.8,
        size=28,
    )
    chart = alt.layer(*layers).properties(width=WIDTH, height=PANEL_HEIGHT + 40)
    # A one-panel vconcat: drawn at its own size on the page (Streamlit stretches single views to fit),
    # the same as exported.
    return alt.vconcat(chart, title=alt.TitleParams(title, subtitle=subtitle))


def normalised_chart(
    rates: pd.DataFrame,
    *,
    regions: list[str],
    start: date,
    end: date,
    title: str = "Alerts per 1,000 installed Communications Hubs",
    subtitle: str | None = None,
) -> alt.VConcatChart:
    """One line per region of alerts per 1,000 CHs installed (`rates` is alerts.per_thousand_hubs(...));
    months without a figure are gaps with a grey band saying why."""
    enable()
    subtitle = subtitle or (
        "Alerts in the month ÷ CHs installed at its end × 1,000; C&S = (C + S) ÷ (C + S); "
        "hollow marks along the top: no figure (hover for why)"
    )
    return region_lines(
        rates,
        value="per_1000_chs",
        regions=regions,
        start=start,
        end=end,
        title=title,
        subtitle=subtitle,
        y_title="Alerts per 1,000 CHs",
        name="rate",
        extra_tooltip=[
            alt.Tooltip("alerts:Q", title="Alerts", format=","),
            alt.Tooltip("chs_installed:Q", title="CHs installed", format=","),
        ],
    )


def exceptions_chart(exceptions: pd.DataFrame, *, regions: list[str], start: date, end: date) -> alt.VConcatChart:
    """Exceptions as a percentage of the installations made in the month, one line per region
    (`exceptions` is operations.exceptions_proportion(...))."""
    enable()
    return region_lines(
        exceptions,
        value="exceptions_pct",
        regions=regions,
        start=start,
        end=end,
        title="Exceptions as a proportion of installations",
        subtitle="Exceptions ÷ installations made in the month × 100; hollow marks along the top: no figure",
        y_title="Exceptions (% of installed)",
        value_format=".2f",
        name="exceptions",
        extra_tooltip=[
            alt.Tooltip("exceptions:Q", title="Exceptions", format=","),
            alt.Tooltip("installed_in_month:Q", title="Installed in the month", format=","),
        ],
    )


# ---------------------------------------------------------------------------
# Operations


def small_multiples(
    series: pd.DataFrame,
    *,
    panels: list[str],
    start: date,
    end: date,
    columns: int = 2,
    title: str | None = None,
    subtitle: str | None = None,
    width: int = COMPACT_WIDTH,
) -> alt.ConcatChart:
    """Compact trends, one panel per name in `panels` (in that order), one line per series in each.

    `series` has panel, series, month, value, note, unit (operations.series(...)). Panels share the time
    axis and the series' colours, dashes and shapes; each has its own y scale. A month without a figure
    is a grey band with the note in its tooltip."""
    enable()
    series_names = list(dict.fromkeys(series.loc[series["panel"].isin(panels), "series"]))
    colour, dash, shape = region_scales(series_names)
    legend = alt.Legend(title=None) if len(series_names) > 1 else None  # one series: the titles say it
    charts_ = []
    for number, panel in enumerate(panels):
        part = with_month_bands(series[series["panel"] == panel].reset_index(drop=True))
        if part.empty:
            continue
        percent = (part["unit"] == "percent").all()
        part["segment"] = _segments(part, "series", "value")
        part = part[["series", "start_iso", "end_iso", "mid_iso", "month_label", "value", "note", "segment"]]
        x = time_axis(start, end, field="mid_iso", most_ticks=max(3, width // 90))  # no collisions in a narrow panel
        y = alt.Y(
            "value:Q",
            title=None,
            scale=alt.Scale(zero=not percent),
            axis=alt.Axis(format=".1f" if percent else "~s", tickCount=4, labelExpr=ZERO_LABEL),
        )
        figures = part[part["value"].notna()]
        gaps = part[part["value"].isna()]
        layers = _gap_layers(gaps, part["series"].nunique(), start, end, colour, shape, f"panel_{number}")
        layers += _region_layers(
            figures,
            x,
            y,
            colour,
            dash,
            shape,
            legend,
            [
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip("series:N", title="Region"),
                alt.Tooltip("value:Q", title=panel, format=".2f" if percent else ",.0f"),
                alt.Tooltip("note:N", title="Note"),
            ],
            names=(f"lines_{number}", f"points_{number}"),
            stroke=1.5,
            size=14,
        )
        charts_.append(
            alt.layer(*layers).properties(
                width=width, height=COMPACT_HEIGHT, title=alt.TitleParams(panel, fontSize=12, anchor="start", font=FONT)
            )
        )
    chart = alt.concat(*charts_, columns=columns, spacing=18)
    if title:
        chart = chart.properties(title=alt.TitleParams(title, subtitle=subtitle or ""))
    return chart.resolve_scale(y="independent", color="shared", strokeDash="shared", shape="shared")


def _region_layers(figures, x, y, colour, dash, shape, legend, tooltip, *, names, stroke, size) -> list:
    """A line per region (colour and dash) and its points (colour and shape): regions stay apart in greyscale."""
    lines_name, points_name = names
    return [
        alt.Chart(figures, name=lines_name)
        .mark_line(strokeWidth=stroke)
        .encode(
            x=x,
            y=y,
            color=alt.Color("series:N", scale=colour, legend=legend),
            strokeDash=alt.StrokeDash("series:N", scale=dash, legend=legend),
            detail="segment:N",
        ),
        alt.Chart(figures, name=points_name)
        .mark_point(filled=True, size=size, opacity=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color("series:N", scale=colour, legend=legend),
            shape=alt.Shape("series:N", scale=shape, legend=legend),
            tooltip=tooltip,
        ),
    ]
