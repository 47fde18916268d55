"""Trend charts: a measure's figures against its levels, one panel per provider (small multiples).

Compute first, render second: `trend_layers_data` turns the status rows into the frames each layer draws
(line segments, points, levels, gaps, run text); `trend_chart` only maps them to marks. Status is shown by
shape as well as colour, target solid and minimum dashed, so a greyscale print still tells them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import altair as alt
import pandas as pd

from opsg_metrics import words
from opsg_metrics.render.charts.spec import enable, iso, month_axis, value_format
from opsg_metrics.render.charts.theme import LEVEL_DASHES, LEVEL_DOMAIN, PANEL_HEIGHT, WIDTH
from opsg_metrics.rules.status import run_of

# One legend for what a point means: status by shape and colour, flags by outline shape.
# An inferred figure (deduced, not reported) is ringed with a sky-blue triangle pointing right.
MARK_DOMAIN = [
    "Met",
    "Below target",
    "Below minimum",
    "Not reported",
    "Unreliable figure",
    "Revised figure",
    "Inferred figure",
    "Major incident",
]
MARK_SHAPES = ["circle", "triangle-down", "cross", "circle", "diamond", "square", "triangle-right", "triangle-up"]
MARK_COLOURS = ["#009E73", "#E69F00", "#D55E00", "#8C8C8C", "#000000", "#0072B2", "#56B4E9", "#CC79A7"]
INCIDENT_COLUMNS = ["incident_id", "opened_iso", "opened_text", "category", "provider", "title", "panel"]
ANNOTATION_COLUMNS = ["date_iso", "date_text", "kind", "text", "label", "number", "panel"]
# kind -> (colour, dash) of its line; slipped: an action's target date since moved (queries/trends.py)
ANNOTATION_STYLES = {
    "event": ("#56B4E9", [1, 0]),
    "rebase": ("#56B4E9", [1, 0]),
    "planned": ("#56B4E9", [4, 3]),
    "slipped": ("#8C8C8C", [1, 3]),
}


@dataclass
class Annotated:
    """The frames one trend chart draws, computed from query results."""

    measure: str
    title: str
    unit: str
    figures: pd.DataFrame  # one row per provider and month with a value (line and points)
    gaps: pd.DataFrame  # months with no figure, and why
    flags: pd.DataFrame  # unreliable / revised / inferred markers
    levels: pd.DataFrame  # stepped target and minimum per provider
    runs: pd.DataFrame  # one text per provider: the run at the end of the range
    incidents: pd.DataFrame
    annotations: pd.DataFrame
    y_domain: tuple[float, float]
    x_domain: tuple[str, str]
    providers: list[str]
    y_domains: dict | None = None  # provider -> its own y range (for independent scales)

    def marks_drawn(self) -> list[str]:
        """The kinds of point the chart draws, in legend order (the legend lists only these)."""
        drawn = set(self.figures["mark"]) | set(self.gaps["mark"])
        if not self.flags.empty:
            drawn |= set(self.flags["mark"])
        if not self.incidents.empty:
            drawn.add("Major incident")
        return [m for m in MARK_DOMAIN if m in drawn]

    def y_range(self, provider: str, scale: str) -> tuple[float, float]:
        """The y range of a provider's panel: its own (`scale` 'independent') or the chart's ('shared')."""
        if scale == "independent" and self.y_domains and provider in self.y_domains:
            return self.y_domains[provider]
        return self.y_domain


def _mark_kind(row) -> str:
    if row["status"] == "no_data":
        return "Not reported"
    return words.STATUS_LABELS[row["status"]]


def _status_text(row) -> str:
    """The status a tooltip gives: the point's kind, and never an inferred figure as reported."""
    text = _mark_kind(row)
    if row.get("inferred", False):
        text += " (inferred, not reported)"
    return text


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}"


def value_domain(figures: pd.DataFrame, levels: pd.DataFrame, unit: str) -> tuple[float, float]:
    """A y range holding every value and level with a margin; within 0-100 for percentages."""
    values = pd.concat([figures["value"], levels["level"]]).dropna()
    values = values[values.map(math.isfinite)]
    if values.empty:
        return (0.0, 100.0)
    low, high = float(values.min()), float(values.max())
    pad = max((high - low) * 0.08, 0.5)
    low, high = low - pad, high + pad
    if unit == "percent":
        high = min(high, 100.0)
        low = max(low, 0.0)
    else:
        low = max(low, 0.0) if float(values.min()) >= 0 else low
    if not (math.isfinite(low) and math.isfinite(high)):  # a figure from before ingest bounded values
        return (0.0, 100.0)
    return (math.floor(low), math.ceil(high))


def trend_layers_data(
    rows: pd.DataFrame,
    *,
    incidents: pd.DataFrame | None = None,
    annotations: pd.DataFrame | None = None,
    said_at: tuple = (),
) -> Annotated:
    """Prepare one measure's chart data from status rows (status.status_table columns) for
    one or more providers over a range of months; `said_at` ((provider, month, text)): where the minutes
    said otherwise, added to that point's note."""
    if rows.empty:
        raise ValueError("no figures to chart")
    if rows["measure"].nunique() != 1:
        raise ValueError("one chart shows one measure")
    rows = rows.sort_values(["sort_order", "month"]).reset_index(drop=True)
    providers = list(dict.fromkeys(rows["provider"]))
    measure = rows["measure"].iloc[0]
    unit = rows["unit"].iloc[0]
    name = rows.sort_values("sort_order")["name"].iloc[0]
    name = name.split(" (CSP")[0]

    frame = rows.assign(
        month_iso=[iso(m) for m in rows["month"]],
        month_label=[pd.Timestamp(m).strftime("%B %Y") for m in rows["month"]],
        mark=[_mark_kind(r) for _, r in rows.iterrows()],
        status_text=[_status_text(r) for _, r in rows.iterrows()],
        run_text=[run_of(r, compact=True) or "not below target" for _, r in rows.iterrows()],
        numerator_text=[_number(v) for v in rows["numerator"]],
        denominator_text=[_number(v) for v in rows["denominator"]],
        source_text=rows["source"].fillna(""),
        note_text=[
            " · ".join(
                t
                for t in (
                    note if isinstance(note, str) else "",
                    *(text for p, m, text in said_at if p == provider and m == pd.Timestamp(month).date()),
                )
                if t
            )
            for note, provider, month in zip(rows["note"], rows["provider"], rows["month"])
        ],
    )
    # A line breaks at a month without a figure: each stretch between gaps is its own segment.
    frame["segment"] = frame.groupby("provider")["value"].transform(lambda v: v.isna().cumsum())
    figures = frame[frame["value"].notna()].copy()
    gaps = frame[frame["value"].isna()].copy()

    def gap_reason(r) -> str:
        if r["figure_status"] != "null":
            return "No figure loaded for this month"
        if not r["note_text"]:
            return "Not reported (null figure)"
        return (
            r["note_text"] if r["note_text"].lower().startswith("not reported") else f"Not reported: {r['note_text']}"
        )

    gaps["reason"] = [gap_reason(r) for _, r in gaps.iterrows()]
    flag_rows = []
    for _, r in figures.iterrows():
        if r["unreliable"]:
            flag_rows.append({**r.to_dict(), "mark": "Unreliable figure"})
        if r["revised"]:
            flag_rows.append({**r.to_dict(), "mark": "Revised figure"})
        if r.get("inferred", False):
            flag_rows.append({**r.to_dict(), "mark": "Inferred figure"})
    flags = pd.DataFrame(flag_rows, columns=[*figures.columns])

    # Levels as steps: each month's level holds until the next month starts, so the last
    # month gets a closing point one month on.
    level_rows = []
    for provider, part in frame.groupby("provider", sort=False):
        part = part[part["target"].notna()]
        if part.empty:
            continue
        last = part.iloc[-1]
        closing = last.copy()
        closing["month_iso"] = iso(words.next_month(pd.Timestamp(last["month"]).date()))
        for _, r in pd.concat([part, closing.to_frame().T]).iterrows():
            for level, value in (("Target", r["target"]), ("Minimum", r["minimum"])):
                level_rows.append(
                    {
                        "provider": provider,
                        "month_iso": r["month_iso"],
                        "level_name": level,
                        "level": float(value),
                        "target": float(r["target"]),
                        "minimum": float(r["minimum"]),
                    }
                )
    levels = pd.DataFrame(level_rows, columns=["provider", "month_iso", "level_name", "level", "target", "minimum"])

    ends = frame.groupby("provider", sort=False).tail(1)
    runs = pd.DataFrame(
        {
            "provider": ends["provider"],
            "text": [run_of(r, compact=True) for _, r in ends.iterrows()],
        }
    )
    runs = runs[runs["text"] != ""]

    x_domain = (frame["month_iso"].min(), iso(words.next_month(pd.Timestamp(frame["month"].max()).date())))
    # Only what the marks and tooltips use is embedded: smaller specs render faster and leak nothing else.
    point_columns = [
        "provider",
        "month_iso",
        "month_label",
        "value",
        "mark",
        "status_text",
        "numerator_text",
        "denominator_text",
        "target",
        "minimum",
        "run_text",
        "source_text",
        "note_text",
        "segment",
    ]
    incidents = incidents if incidents is not None else pd.DataFrame()
    annotations = annotations if annotations is not None else pd.DataFrame()
    return Annotated(
        measure=measure,
        title=f"{measure}: {name}",
        unit=unit,
        figures=figures[point_columns].reset_index(drop=True),
        gaps=gaps[["provider", "month_iso", "month_label", "mark", "reason"]].reset_index(drop=True),
        flags=flags[point_columns].reset_index(drop=True),
        levels=levels,
        runs=runs,
        incidents=incidents[[c for c in INCIDENT_COLUMNS if c in incidents.columns]],
        annotations=annotations[[c for c in ANNOTATION_COLUMNS if c in annotations.columns]],
        y_domain=value_domain(figures, levels, unit),
        x_domain=x_domain,
        providers=providers,
        y_domains={
            p: value_domain(figures[figures["provider"] == p], levels[levels["provider"] == p], unit) for p in providers
        },
    )


Y_SCALES = ("independent", "shared")
# One legend for all panels, each panel its own y scale (given to the constructor: .resolve_scale() would
# copy the whole chart again).
PANEL_RESOLVE = alt.Resolve(
    scale=alt.ScaleResolveMap(shape="shared", color="shared", strokeDash="shared", y="independent")
)
STRIP_ROW = 12.0  # px: one row of the strip above a panel's plot (incidents, or a row of annotation numbers)


def label_rows(dates: list[str], x_domain: tuple[str, str], rows: int = 3) -> list[int]:
    """The strip row of each annotation number (dates in any order): the next row when it would sit within
    3% of the axis of the one before it, so that numbers of close dates never overlap."""
    start, end = (pd.Timestamp(d) for d in x_domain)
    span = max((end - start).days, 1)
    order = sorted(range(len(dates)), key=lambda i: dates[i])
    out, previous = [0] * len(dates), None
    for i in order:
        at = pd.Timestamp(dates[i])
        if previous is not None and (at - previous[0]).days / span < 0.03:
            out[i] = (previous[1] + 1) % rows
        previous = (at, out[i])
    return out


def _panel(data: Annotated, provider: str, y_scale_kind: str = "independent") -> alt.LayerChart:
    x_scale = alt.Scale(domain=list(data.x_domain))
    y_domain = data.y_range(provider, y_scale_kind)
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False, clamp=True)
    last = words.previous_month(pd.Timestamp(data.x_domain[1]).date())  # the domain ends at the month after the last
    x = alt.X("month_iso:T", title=None, scale=x_scale, axis=month_axis(pd.Timestamp(data.x_domain[0]).date(), last))
    y_title = f"{data.measure} (%)" if data.unit == "percent" else data.measure
    legend = alt.Legend(title=None)
    layers = []

    levels = data.levels[data.levels["provider"] == provider]
    if not levels.empty:
        band = levels[levels["level_name"] == "Target"]
        layers.append(
            alt.Chart(band, name="level_band")
            .mark_area(interpolate="step-after", opacity=0.35, color="#D9D9D9")
            .encode(x=x, y=alt.Y("minimum:Q", scale=y_scale, title=y_title), y2="target:Q")
        )
        layers.append(
            alt.Chart(levels, name="levels")
            .mark_line(interpolate="step-after", color="#333333", strokeWidth=1.4)
            .encode(
                x=x,
                y=alt.Y("level:Q", scale=y_scale, title=y_title),
                strokeDash=alt.StrokeDash(
                    "level_name:N", scale=alt.Scale(domain=LEVEL_DOMAIN, range=LEVEL_DASHES), legend=legend
                ),
                detail="level_name:N",
            )
        )
    tooltip = [
        alt.Tooltip("month_label:N", title="Month"),
        alt.Tooltip("provider:N", title="Provider"),
        alt.Tooltip("value:Q", title="Value", format=value_format(data.unit)),
        alt.Tooltip("status_text:N", title="Status"),
        alt.Tooltip("numerator_text:N", title="Numerator"),
        alt.Tooltip("denominator_text:N", title="Denominator"),
        alt.Tooltip("target:Q", title="Target"),
        alt.Tooltip("minimum:Q", title="Minimum"),
        alt.Tooltip("run_text:N", title="Run"),
        alt.Tooltip("source_text:N", title="Source"),
        alt.Tooltip("note_text:N", title="Note"),
    ]
    figures = data.figures[data.figures["provider"] == provider]
    drawn = data.marks_drawn() or MARK_DOMAIN[:1]
    shapes = [MARK_SHAPES[MARK_DOMAIN.index(m)] for m in drawn]
    colours = [MARK_COLOURS[MARK_DOMAIN.index(m)] for m in drawn]
    mark_shape = alt.Shape("mark:N", scale=alt.Scale(domain=drawn, range=shapes), legend=legend)
    mark_colour = alt.Color("mark:N", scale=alt.Scale(domain=drawn, range=colours), legend=legend)

    def marked_points(frame, name, y_field, *, filled, size, tips):
        """Points whose shape and colour both say what they mark (one legend for all of them)."""
        return (
            alt.Chart(frame, name=name)
            .mark_point(filled=filled, size=size, strokeWidth=1.5, opacity=1)
            .encode(x=x, y=alt.Y(f"{y_field}:Q", scale=y_scale), shape=mark_shape, color=mark_colour, tooltip=tips)
        )

    if not figures.empty:
        layers.append(
            alt.Chart(figures, name="value_line")
            .mark_line(color="#0072B2", strokeWidth=1.8)
            .encode(x=x, y=alt.Y("value:Q", scale=y_scale, title=y_title), detail="segment:N")
        )
        layers.append(marked_points(figures, "status_points", "value", filled=True, size=60, tips=tooltip))
    flags = data.flags[data.flags["provider"] == provider] if not data.flags.empty else data.flags
    if not flags.empty:
        layers.append(marked_points(flags, "flag_marks", "value", filled=False, size=220, tips=tooltip))
    gaps = data.gaps[data.gaps["provider"] == provider]
    if not gaps.empty:
        gap_tips = [
            alt.Tooltip("month_label:N", title="Month"),
            alt.Tooltip("provider:N", title="Provider"),
            alt.Tooltip("reason:N", title="Why no figure"),
        ]
        inside = y_domain[0] + (y_domain[1] - y_domain[0]) * 0.04
        layers.append(marked_points(gaps.assign(y=inside), "gap_marks", "y", filled=False, size=70, tips=gap_tips))
    # Above the plot, in a strip of their own (never on the data): major incidents, then the annotations'
    # numbers, staggered in rows so that close dates do not collide.
    incidents = data.incidents
    if not incidents.empty:
        incidents = incidents[incidents["panel"] == provider].assign(mark="Major incident")
    strip = STRIP_ROW if not incidents.empty else 0.0
    if not incidents.empty:
        layers.append(
            alt.Chart(incidents, name="major_incidents")
            .mark_point(filled=True, size=55, opacity=0.9)
            .encode(
                x=alt.X("opened_iso:T", scale=x_scale),
                y=alt.value(-STRIP_ROW / 2 - 2),
                shape=mark_shape,
                color=mark_colour,
                tooltip=[
                    alt.Tooltip("incident_id:N", title="Major incident"),
                    alt.Tooltip("opened_text:N", title="Opened"),
                    alt.Tooltip("category:N", title="Category"),
                    alt.Tooltip("provider:N", title="Provider"),
                    alt.Tooltip("title:N", title="Title"),
                ],
            )
        )
    annotations = data.annotations
    if not annotations.empty:
        annotations = annotations[annotations["panel"] == provider]
    if not annotations.empty:
        rows = label_rows(list(annotations["date_iso"]), data.x_domain)
        annotations = annotations.assign(label_y=[-strip - STRIP_ROW * (row + 0.5) - 2 for row in rows])
        strip += STRIP_ROW * (max(rows) + 1)

        # What happened a solid line, a plan dashed, a plan since moved (slipped) dotted and grey: values
        # chosen by condition (an encoded field would share the figures' colour scale and legend).
        def by_kind(part: int) -> dict:
            tests = [{"test": f"datum.kind == '{k}'", "value": v[part]} for k, v in ANNOTATION_STYLES.items()]
            return {"condition": tests[1:], "value": tests[0]["value"]}

        layers.append(
            alt.Chart(annotations, name="annotations")
            .mark_rule(strokeWidth=1.2)
            .encode(
                x=alt.X("date_iso:T", scale=x_scale),
                color=by_kind(0),
                strokeDash=by_kind(1),
                tooltip=[
                    alt.Tooltip("date_text:N", title="Date"),
                    alt.Tooltip("kind:N", title="Kind"),
                    alt.Tooltip("text:N", title="Annotation"),
                ],
            )
        )
        layers.append(
            alt.Chart(annotations, name="annotation_labels")
            .mark_text(align="center", baseline="middle", fontSize=10, fontWeight="bold", color="#1F5F85")
            .encode(
                x=alt.X("date_iso:T", scale=x_scale),
                y=alt.Y("label_y:Q", scale=None),
                text="label:N",
                tooltip=[
                    alt.Tooltip("date_text:N", title="Date"),
                    alt.Tooltip("kind:N", title="Kind"),
                    alt.Tooltip("text:N", title="Annotation"),
                ],
            )
        )
    runs = data.runs[data.runs["provider"] == provider]
    run_text = runs["text"].iloc[0] if not runs.empty else ""
    title = alt.TitleParams(
        provider,
        subtitle=run_text,
        fontSize=12,
        anchor="start",
        subtitleColor="#A0430A",
        subtitleFontSize=11,
        subtitleFontWeight="bold",
        offset=6,  # above the strip: the title stands on the panel's bounds, which hold the strip
    )
    # Sizes given to the constructor: .properties() would copy the whole layer again.
    return alt.layer(*layers, title=title, width=WIDTH, height=PANEL_HEIGHT)


def trend_chart(data: Annotated, *, subtitle: str | None = None, y_scale: str = "independent") -> alt.VConcatChart:
    """Small multiples: one panel per provider, the same x scale, each its own y range (`y_scale`
    'independent', the default: a provider near 100% is not flattened beside one at 55%) or one for all
    ('shared'), one legend of what is drawn."""
    enable()
    panels = [_panel(data, provider, y_scale) for provider in data.providers]
    subtitle = subtitle or "Target (solid line) and minimum (dashed) service levels in force each month; shaded between"
    return alt.vconcat(*panels, spacing=18, title=alt.TitleParams(data.title, subtitle=subtitle), resolve=PANEL_RESOLVE)
