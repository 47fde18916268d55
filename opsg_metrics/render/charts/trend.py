"""Altair charts: pure functions from query results to charts, one theme for screen and print.

Compute first, render second: `trend_layers_data` turns the status rows into
the frames each layer draws (line segments, points, levels, gaps, run text);
`trend_chart` only maps them to marks. No Streamlit here.

Print rules: white background, DejaVu Sans (on every machine this runs on,
and what vl-convert renders with), an Okabe-Ito colour-blind-safe palette,
status shown by shape as well as colour, target solid and minimum dashed so a
greyscale print still tells them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import altair as alt
import numpy as np
import pandas as pd

from opsg_metrics.store import parse
from opsg_metrics.rules.status import STATUS_LABELS

FONT = "DejaVu Sans"
WIDTH = 640
PANEL_HEIGHT = 170

# Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

# One legend for what a point means: status by shape and colour, flags by outline shape.
# An inferred figure (deduced, not reported) is ringed with a sky-blue triangle pointing right.
MARK_DOMAIN = ["Met", "Below target", "Below minimum", "Not reported", "Unreliable figure", "Revised figure",
               "Inferred figure", "Major incident"]
MARK_SHAPES = ["circle", "triangle-down", "cross", "circle", "diamond", "square", "triangle-right", "triangle-up"]
MARK_COLOURS = ["#009E73", "#E69F00", "#D55E00", "#8C8C8C", "#000000", "#0072B2", "#56B4E9", "#CC79A7"]
LEVEL_DOMAIN = ["Target", "Minimum"]
INCIDENT_COLUMNS = ["incident_id", "opened_iso", "opened_text", "category", "provider", "title", "panel"]
ANNOTATION_COLUMNS = ["date_iso", "date_text", "kind", "text", "label", "number", "panel"]
LEVEL_DASHES = [[1, 0], [6, 4]]


def frame_records(frame: pd.DataFrame) -> list[dict] | None:
    """A chart's data frame as the rows Altair's own data transformer makes of it (sanitize_pandas_dataframe,
    then to_dict of records: dates as full ISO strings, NaN and infinities as null, NumPy scalars as Python
    ones), made a column at a time; Altair converts cell by cell (~5 ms a frame, 23 frames in a 3-panel
    trend chart, most of the time an export of a chart never drawn took above vl-convert's own).
    None for a frame with anything this does not convert exactly as Altair would; Altair does those."""
    columns = frame.columns
    if isinstance(columns, (pd.RangeIndex, pd.MultiIndex)) or isinstance(frame.index, pd.MultiIndex):
        return None
    if not all(isinstance(name, str) for name in columns) or len(set(columns)) != len(columns):
        return None
    lists = []
    for name in columns:
        col = frame[name]
        kind = col.dtype.kind
        if kind == "M" and getattr(col.dtype, "tz", None) is None:
            stamps = col.to_numpy()
            seconds = stamps.astype("datetime64[s]")
            valid = ~np.isnat(stamps)
            if (stamps[valid] != seconds[valid]).any():          # sub-second times: Altair's isoformat
                return None
            lists.append(["" if text == "NaT" else text for text in np.datetime_as_string(seconds, unit="s").tolist()])
        elif kind == "f" and isinstance(col.dtype, np.dtype):
            values = col.to_numpy()
            good = np.isfinite(values)
            lists.append(values.tolist() if good.all() else [v if ok else None for v, ok in zip(values.tolist(), good.tolist())])
        elif kind in "iub" and isinstance(col.dtype, np.dtype):
            lists.append(col.to_numpy().tolist())
        elif str(col.dtype) in ("str", "string"):
            lists.append(col.to_numpy(dtype=object, na_value=None).tolist())      # missing as None
        elif col.dtype == object:
            values = col.tolist()
            present = col.notna().tolist()
            if any(isinstance(v, np.ndarray) for v in values):
                return None
            lists.append([v if ok else None for v, ok in zip(values, present)])
        else:
            return None
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*lists)] if names else [{} for _ in range(len(frame))]


def _to_values(data):
    """Altair's data transformer, with max rows off: our charts carry their data inline and bound it
    themselves (alert codes folded, ranges chosen), and Altair's 5,000-row guard would refuse a long range
    of a big dataset outright. Pandas frames go through frame_records."""
    if isinstance(data, pd.DataFrame):
        records = frame_records(data)
        if records is not None:
            return {"values": records}
    return alt.vegalite.data.default_data_transformer(data, max_rows=None)


alt.data_transformers.register("opsg", _to_values)
alt.data_transformers.enable("opsg")


@alt.theme.register("opsg", enable=True)
def opsg_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "background": "white",
            "font": FONT,
            "view": {"stroke": "#BDBDBD", "continuousWidth": WIDTH, "continuousHeight": PANEL_HEIGHT},
            "title": {"font": FONT, "fontSize": 15, "fontWeight": "bold", "anchor": "start", "subtitleFontSize": 11,
                      "subtitleColor": "#444444"},
            "axis": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 11,
                     "gridColor": "#E6E6E6", "domainColor": "#777777", "tickColor": "#777777"},
            "legend": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 11,
                       "orient": "top", "direction": "horizontal"},
            "header": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12},
            "text": {"font": FONT, "fontSize": 11},
            "range": {"category": OKABE_ITO},
        }
    }


@dataclass
class Annotated:
    """The frames one trend chart draws, computed from query results."""

    measure: str
    title: str
    unit: str
    figures: pd.DataFrame          # one row per provider and month with a value (line and points)
    gaps: pd.DataFrame             # months with no figure, and why
    flags: pd.DataFrame            # unreliable / revised / inferred markers
    levels: pd.DataFrame           # stepped target and minimum per provider
    runs: pd.DataFrame             # one text per provider: the run at the end of the range
    incidents: pd.DataFrame
    annotations: pd.DataFrame
    y_domain: tuple[float, float]
    x_domain: tuple[str, str]
    providers: list[str]


def _iso(day) -> str:
    return pd.Timestamp(day).strftime("%Y-%m-%d")


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _mark_kind(row) -> str:
    if row["status"] == "no_data":
        return "Not reported"
    return STATUS_LABELS[row["status"]]


def _status_text(row) -> str:
    """The status a tooltip gives: the point's kind, and never an inferred figure as reported."""
    text = _mark_kind(row)
    if row.get("inferred", False):
        text += " (inferred, not reported)"
    return text


def _run_text(row) -> str:
    run = int(row["run_below_target"])
    if run == 0:
        return ""
    start = pd.Timestamp(row["run_start"]).strftime("%b %Y")
    text = f"{run} month{'s' if run != 1 else ''} below target since {start}"
    if int(row["run_gap_months"]):
        text += f" ({int(row['run_gap_months'])} not reported)"
    return text


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}"


def value_domain(figures: pd.DataFrame, levels: pd.DataFrame, unit: str) -> tuple[float, float]:
    """A y range holding every value and level with a margin; within 0-100 for percentages."""
    values = pd.concat([figures["value"], levels["level"]]).dropna()
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
    return (math.floor(low), math.ceil(high))


def trend_layers_data(
    rows: pd.DataFrame,
    *,
    incidents: pd.DataFrame | None = None,
    annotations: pd.DataFrame | None = None,
) -> Annotated:
    """Prepare one measure's chart data from status rows (status.status_table columns) for
    one or more providers over a range of months."""
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
        month_iso=[_iso(m) for m in rows["month"]],
        month_label=[pd.Timestamp(m).strftime("%B %Y") for m in rows["month"]],
        mark=[_mark_kind(r) for _, r in rows.iterrows()],
        status_text=[_status_text(r) for _, r in rows.iterrows()],
        run_text=[_run_text(r) or "not below target" for _, r in rows.iterrows()],
        numerator_text=[_number(v) for v in rows["numerator"]],
        denominator_text=[_number(v) for v in rows["denominator"]],
        source_text=rows["source"].fillna(""),
        note_text=rows["note"].fillna(""),
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
        return r["note_text"] if r["note_text"].lower().startswith("not reported") else f"Not reported: {r['note_text']}"

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
        closing["month_iso"] = _iso(_next_month(pd.Timestamp(last["month"]).date()))
        for _, r in pd.concat([part, closing.to_frame().T]).iterrows():
            for level, value in (("Target", r["target"]), ("Minimum", r["minimum"])):
                level_rows.append({"provider": provider, "month_iso": r["month_iso"], "level_name": level,
                                   "level": float(value), "target": float(r["target"]),
                                   "minimum": float(r["minimum"])})
    levels = pd.DataFrame(level_rows, columns=["provider", "month_iso", "level_name", "level", "target", "minimum"])

    ends = frame.groupby("provider", sort=False).tail(1)
    runs = pd.DataFrame({
        "provider": ends["provider"],
        "text": [_run_text(r) for _, r in ends.iterrows()],
    })
    runs = runs[runs["text"] != ""]

    x_domain = (frame["month_iso"].min(), _iso(_next_month(pd.Timestamp(frame["month"].max()).date())))
    # Only what the marks and tooltips use is embedded: smaller specs render faster and leak nothing else.
    point_columns = ["provider", "month_iso", "month_label", "value", "mark", "status_text", "numerator_text",
                     "denominator_text", "target", "minimum", "run_text", "source_text", "note_text", "segment"]
    incidents = incidents if incidents is not None else pd.DataFrame()
    annotations = annotations if annotations is not None else pd.DataFrame()
    return Annotated(
        measure=measure, title=f"{measure}: {name}", unit=unit,
        figures=figures[point_columns].reset_index(drop=True),
        gaps=gaps[["provider", "month_iso", "month_label", "mark", "reason"]].reset_index(drop=True),
        flags=flags[point_columns].reset_index(drop=True),
        levels=levels, runs=runs,
        incidents=incidents[[c for c in INCIDENT_COLUMNS if c in incidents.columns]],
        annotations=annotations[[c for c in ANNOTATION_COLUMNS if c in annotations.columns]],
        y_domain=value_domain(figures, levels, unit), x_domain=x_domain, providers=providers,
    )


def _value_format(unit: str) -> str:
    return ".2f" if unit == "percent" else ",.0f"


def _panel(data: Annotated, provider: str) -> alt.LayerChart:
    x_scale = alt.Scale(domain=list(data.x_domain))
    y_scale = alt.Scale(domain=list(data.y_domain), nice=False, zero=False, clamp=True)
    months = max(1, round((pd.Timestamp(data.x_domain[1]) - pd.Timestamp(data.x_domain[0])).days / 30.4))
    ticks = {"interval": "month", "step": max(1, math.ceil(months / 8))}
    x = alt.X("month_iso:T", title=None, scale=x_scale, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=ticks))
    y_title = f"{data.measure} (%)" if data.unit == "percent" else data.measure
    legend = alt.Legend(title=None)
    layers = []

    levels = data.levels[data.levels["provider"] == provider]
    if not levels.empty:
        band = levels[levels["level_name"] == "Target"]
        layers.append(
            alt.Chart(band, name="level_band").mark_area(interpolate="step-after", opacity=0.35, color="#D9D9D9")
            .encode(x=x, y=alt.Y("minimum:Q", scale=y_scale, title=y_title), y2="target:Q")
        )
        layers.append(
            alt.Chart(levels, name="levels").mark_line(interpolate="step-after", color="#333333", strokeWidth=1.4)
            .encode(
                x=x, y=alt.Y("level:Q", scale=y_scale, title=y_title),
                strokeDash=alt.StrokeDash("level_name:N", scale=alt.Scale(domain=LEVEL_DOMAIN, range=LEVEL_DASHES),
                                          legend=legend),
                detail="level_name:N",
            )
        )
    tooltip = [
        alt.Tooltip("month_label:N", title="Month"), alt.Tooltip("provider:N", title="Provider"),
        alt.Tooltip("value:Q", title="Value", format=_value_format(data.unit)),
        alt.Tooltip("status_text:N", title="Status"),
        alt.Tooltip("numerator_text:N", title="Numerator"), alt.Tooltip("denominator_text:N", title="Denominator"),
        alt.Tooltip("target:Q", title="Target"), alt.Tooltip("minimum:Q", title="Minimum"),
        alt.Tooltip("run_text:N", title="Run"), alt.Tooltip("source_text:N", title="Source"),
        alt.Tooltip("note_text:N", title="Note"),
    ]
    figures = data.figures[data.figures["provider"] == provider]
    mark_shape = alt.Shape("mark:N", scale=alt.Scale(domain=MARK_DOMAIN, range=MARK_SHAPES), legend=legend)
    mark_colour = alt.Color("mark:N", scale=alt.Scale(domain=MARK_DOMAIN, range=MARK_COLOURS), legend=legend)

    def marked_points(frame, name, y_field, *, filled, size, tips):
        """Points whose shape and colour both say what they mark (one legend for all of them)."""
        return (
            alt.Chart(frame, name=name).mark_point(filled=filled, size=size, strokeWidth=1.5, opacity=1)
            .encode(x=x, y=alt.Y(f"{y_field}:Q", scale=y_scale), shape=mark_shape, color=mark_colour, tooltip=tips)
        )

    if not figures.empty:
        layers.append(
            alt.Chart(figures, name="value_line").mark_line(color="#0072B2", strokeWidth=1.8)
            .encode(x=x, y=alt.Y("value:Q", scale=y_scale, title=y_title), detail="segment:N")
        )
        layers.append(marked_points(figures, "status_points", "value", filled=True, size=60, tips=tooltip))
    flags = data.flags[data.flags["provider"] == provider] if not data.flags.empty else data.flags
    if not flags.empty:
        layers.append(marked_points(flags, "flag_marks", "value", filled=False, size=220, tips=tooltip))
    gaps = data.gaps[data.gaps["provider"] == provider]
    if not gaps.empty:
        gap_tips = [alt.Tooltip("month_label:N", title="Month"), alt.Tooltip("provider:N", title="Provider"),
                    alt.Tooltip("reason:N", title="Why no figure")]
        inside = data.y_domain[0] + (data.y_domain[1] - data.y_domain[0]) * 0.04
        layers.append(marked_points(gaps.assign(y=inside), "gap_marks", "y", filled=False, size=70, tips=gap_tips))
    incidents = data.incidents
    if not incidents.empty:
        top = data.y_domain[1] - (data.y_domain[1] - data.y_domain[0]) * 0.04
        incidents = incidents[incidents["panel"] == provider].assign(y=top, mark="Major incident")
    if not incidents.empty:
        layers.append(
            alt.Chart(incidents, name="major_incidents").mark_point(filled=True, size=70, opacity=0.9)
            .encode(
                x=alt.X("opened_iso:T", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
                shape=mark_shape, color=mark_colour,
                tooltip=[alt.Tooltip("incident_id:N", title="Major incident"), alt.Tooltip("opened_text:N", title="Opened"),
                         alt.Tooltip("category:N", title="Category"), alt.Tooltip("provider:N", title="Provider"),
                         alt.Tooltip("title:N", title="Title")],
            )
        )
    annotations = data.annotations
    if not annotations.empty:
        annotations = annotations[annotations["panel"] == provider]
    if not annotations.empty:
        annotations = annotations.assign(y=data.y_domain[1])
        layers.append(
            alt.Chart(annotations, name="annotations").mark_rule(color="#56B4E9", strokeWidth=1.2)
            .encode(
                x=alt.X("date_iso:T", scale=x_scale),
                strokeDash=alt.condition("datum.kind == 'planned'", alt.value([4, 3]), alt.value([1, 0])),
                tooltip=[alt.Tooltip("date_text:N", title="Date"), alt.Tooltip("kind:N", title="Kind"),
                         alt.Tooltip("text:N", title="Annotation")],
            )
        )
        layers.append(
            alt.Chart(annotations, name="annotation_labels")
            .mark_text(align="left", baseline="top", dx=3, dy=3, fontSize=9, color="#1F5F85")
            .encode(x=alt.X("date_iso:T", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), text="label:N")
        )
    runs = data.runs[data.runs["provider"] == provider]
    run_text = runs["text"].iloc[0] if not runs.empty else ""
    title = alt.TitleParams(provider, subtitle=run_text, fontSize=12, anchor="start", subtitleColor="#A0430A",
                            subtitleFontSize=11, subtitleFontWeight="bold")
    return alt.layer(*layers, title=title).properties(width=WIDTH, height=PANEL_HEIGHT)


def trend_chart(data: Annotated, *, subtitle: str | None = None) -> alt.VConcatChart:
    """Small multiples: one panel per provider, the same x and y scales, one legend."""
    panels = [_panel(data, provider) for provider in data.providers]
    subtitle = subtitle or "Target (solid line) and minimum (dashed) service levels in force each month; shaded between"
    return alt.vconcat(*panels, spacing=18, title=alt.TitleParams(data.title, subtitle=subtitle)).resolve_scale(
        shape="shared", color="shared", strokeDash="shared"
    )


def _footer_chart(lines: list[str]) -> alt.Chart:
    footer = pd.DataFrame({"line": lines, "order": range(len(lines))})
    return (
        alt.Chart(footer, name="footer")
        .mark_text(align="left", baseline="top", fontSize=10, color="#222222")
        .encode(text="line:N", y=alt.Y("order:O", axis=None), x=alt.value(0))
        .properties(width=WIDTH, height=14 * len(lines), view=alt.ViewConfig(stroke=None))
    )


def with_footer(chart: alt.TopLevelMixin, lines: list[str]) -> alt.VConcatChart:
    """The chart with text lines beneath it (sources, PMR month, classification) for export."""
    return alt.vconcat(chart, _footer_chart(lines), spacing=10)


_SPECS: dict[int, tuple] = {}       # id(chart) -> (weak reference to it, its Vega-Lite spec)
TOP_LEVEL_ONLY = ("$schema", "config", "datasets", "autosize", "background", "padding", "usermeta")


_COMPOSED_KEYS = ("vconcat", "hconcat", "concat", "layer")


class _AsBuilt:
    """A composed chart (concat, layer) whose shallow copy keeps its parts as they are.

    Altair's to_dict starts with a shallow copy of each composed chart it meets, and Altair makes a shallow
    copy by running the chart's constructor again, which deep-copies every panel and layer to lift their
    parameters and data (done already when the chart was built): two thirds of the time a 3-panel trend
    chart's spec took. For a chart made by its constructor, running it again changes nothing, so this copy
    takes the parts as they are."""

    def copy(self, deep=True, ignore=None):
        if deep is not False or ignore:
            return super().copy(deep=deep, ignore=ignore)
        return _shell(type(self), self._args, dict(self._kwds))


_AS_BUILT: dict[type, type] = {}


def _shell(cls: type, args: tuple, kwds: dict):
    shell = object.__new__(cls)
    object.__setattr__(shell, "_args", args)     # as SchemaBase.__init__ stores them
    object.__setattr__(shell, "_kwds", kwds)
    return shell


def _composed(chart):
    """The chart's composition (concat and layer charts) as _AsBuilt twins sharing its leaf charts, for
    to_dict; the chart itself (which may be shared) is not changed."""
    if not isinstance(chart, alt.TopLevelMixin) or not any(isinstance(chart._get(k), list) for k in _COMPOSED_KEYS):
        return chart
    cls = type(chart)
    if cls not in _AS_BUILT:
        _AS_BUILT[cls] = type(cls.__name__, (_AsBuilt, cls), {"__module__": cls.__module__})
    kwds = dict(chart._kwds)
    for key in _COMPOSED_KEYS:
        if isinstance(kwds.get(key), list):
            kwds[key] = [_composed(part) for part in kwds[key]]
    return _shell(_AS_BUILT[cls], chart._args, kwds)


def spec_of(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec, exactly Altair's to_dict(validate=False) (unvalidated: the test suite
    validates these charts), made once per chart object and without Altair's copies of the whole chart
    (_composed). The spec is shared: do not change it."""
    import weakref

    found = _SPECS.get(id(chart))
    if found is not None and found[0]() is chart:
        return found[1]
    spec = _composed(chart).to_dict(validate=False)
    key = id(chart)
    _SPECS[key] = (weakref.ref(chart, lambda _ref, key=key: _SPECS.pop(key, None)), spec)
    return spec


def spec_with_footer(spec: dict, lines: list[str]) -> dict:
    """A chart spec with text lines beneath it, composed as specs (the same layout as `with_footer`) so the
    chart is not converted again."""
    footer = _footer_chart(lines).to_dict(validate=False)
    out = {k: spec[k] for k in TOP_LEVEL_ONLY if k in spec and k != "datasets"}
    inner = {k: v for k, v in spec.items() if k not in TOP_LEVEL_ONLY}
    below = {k: v for k, v in footer.items() if k not in TOP_LEVEL_ONLY}
    out.update({"vconcat": [inner, below], "spacing": 10})
    datasets = {**spec.get("datasets", {}), **footer.get("datasets", {})}
    if datasets:
        out["datasets"] = datasets
    return out


def month_label(day) -> str:
    return parse.month_label(pd.Timestamp(day).date())


# ------------------------------------------------------------------------------------ SPC (XmR) charts
#
# "Making Data Count" XmR charts of `spc.analyse` results: one panel per provider. The analysis is all in
# `spc`; `spc_layers_data` turns results into the frames each layer draws and `spc_chart` maps them to marks.
# Print rules as above: a point's type is told by shape as well as colour; the lines by dash (mean solid,
# process limits dashed, 2-sigma dotted, target dash-dot, minimum dash-dot-dot) and the levels are labelled.

from opsg_metrics.rules import spc# noqa: E402  (spc draws nothing and imports nothing of ours)

SPC_POINT_DOMAIN = ["Improvement", "Concern", "Neutral (high)", "Neutral (low)", "Common cause", "No limits"]
# A point in a segment without limits is a ring (an SVG path: a circle with a hole), hollow in the legend too.
RING = "M0,-1A1,1 0 1,1 0,1A1,1 0 1,1 0,-1ZM0,-0.55A0.55,0.55 0 1,0 0,0.55A0.55,0.55 0 1,0 0,-0.55Z"
SPC_POINT_SHAPES = ["square", "diamond", "triangle-up", "triangle-down", "circle", RING]
SPC_POINT_COLOURS = ["#0072B2", "#E69F00", "#CC79A7", "#CC79A7", "#8C8C8C", "#8C8C8C"]
SPC_POINT_LABELS = {spc.IMPROVEMENT: "Improvement", spc.CONCERN: "Concern", spc.NEUTRAL_HIGH: "Neutral (high)",
                    spc.NEUTRAL_LOW: "Neutral (low)", spc.COMMON: "Common cause"}
NO_LIMITS = "No limits"
SPC_LINE_DOMAIN = ["Mean", "Process limits", "2 sigma", "Target", "Minimum"]
SPC_LINE_DASHES = [[1, 0], [6, 4], [1, 3], [10, 3, 2, 3], [10, 3, 2, 3, 2, 3]]
SPC_LINE_STYLE = {          # colour, width, opacity
    "Mean": ("#000000", 1.3, 1.0),
    "Process limits": ("#555555", 1.2, 1.0),
    "2 sigma": ("#777777", 1.0, 0.6),
}
SPC_LEVEL_COLOUR = "#009E73"
SPC_VALUE_LINE = "#7F7F7F"
SPC_REBASE_COLOUR = "#56B4E9"
SPC_NOTE_COLOUR = "#A0430A"
SPC_BOUNDS = (("Mean", "mean", "mean"), ("Process limits", "lpl", "lower process limit"),
              ("Process limits", "upl", "upper process limit"), ("2 sigma", "lower_near", "lower 2-sigma line"),
              ("2 sigma", "upper_near", "upper 2-sigma line"))
SPC_POINT_COLUMNS = ["panel", "month_iso", "month_label", "value", "segment", "stretch", "mean", "lpl", "upl",
                     "lower_near", "upper_near", "moving_range", "rule", "rule_text", "point_type", "point_label",
                     "type_text"]
SPC_LINE_COLUMNS = ["panel", "segment", "line", "bound", "bound_text", "value", "start_iso", "end_iso", "months_text"]
SPC_LEVEL_COLUMNS = ["panel", "line", "value", "label", "start_iso", "end_iso"]
SPC_REBASE_COLUMNS = ["panel", "segment", "month_iso", "month_label", "label", "text"]
SPC_NOTE_COLUMNS = ["panel", "text"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _spc_value_text(value: float, unit: str) -> str:
    return f"{value:.2f}%" if unit == "percent" else f"{value:,.2f}"


def _spc_month(value) -> date:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("an SPC chart needs the month of each figure (analyse(values, months, ...))")
    return pd.Timestamp(value).date()


def spc_layers_data(results: dict[str, spc.SpcResult], unit: str = "percent") -> dict[str, pd.DataFrame]:
    """The frames an SPC chart draws, keyed by layer, each with a `panel` column (the results' key):

    points: one row per figure (its segment, limits, rule and point type, with the texts tooltips show);
        `stretch` numbers the pieces of the value line, which breaks at a rebase and at a skipped month;
    lines: the mean, process limits and 2-sigma lines of each segment with limits, as horizontal
        segments from its first to its last month (`line`: 'Mean', 'Process limits' or '2 sigma');
    levels: the target and minimum across the panel's months;
    rebases: the first month of each segment after the first;
    notes: the reason, for a panel whose last segment has no limits.
    Months are ISO date strings (what vl-convert parses the same everywhere). `unit` only formats labels."""
    points, lines, levels, rebases, notes = [], [], [], [], []
    for panel, result in results.items():
        frame = result.points
        skipped = sorted(_spc_month(m) for m in result.skipped)
        for i, row in enumerate(frame.itertuples(index=False)):
            month = _spc_month(row.month)
            kind = row.point_type if isinstance(row.point_type, str) else None
            rule = row.rule if isinstance(row.rule, str) else None
            segment = result.segments[int(row.segment)]
            if kind is None:
                type_text = f"no process limits ({segment.reason})" if segment.reason else "no process limits"
            else:
                type_text = spc.VARIATION_TEXT[kind]
            points.append({
                "panel": panel, "month_iso": _iso(month), "month_label": month.strftime("%B %Y"),
                "value": float(row.value), "segment": int(row.segment),
                "stretch": f"{int(row.segment)}-{sum(1 for s in skipped if s < month)}",
                **{name: (None if _missing(getattr(row, name)) else float(getattr(row, name)))
                   for name in ("mean", "lpl", "upl", "lower_near", "upper_near", "moving_range")},
                "rule": rule, "rule_text": spc.RULE_TEXT[rule] if rule else "",
                "point_type": kind, "point_label": SPC_POINT_LABELS[kind] if kind else NO_LIMITS,
                "type_text": type_text,
            })
        for number, segment in enumerate(result.segments):
            first, last = _spc_month(segment.first_month), _spc_month(segment.last_month)
            span = f"{first.strftime('%b %Y')} to {last.strftime('%b %Y')}"
            if number > 0:
                rebases.append({"panel": panel, "segment": number, "month_iso": _iso(first),
                                "month_label": first.strftime("%B %Y"), "label": "Rebase",
                                "text": f"limits recomputed from {first.strftime('%B %Y')}"})
            if not segment.has_limits:
                continue
            for line, bound, bound_text in SPC_BOUNDS:
                lines.append({"panel": panel, "segment": number, "line": line, "bound": bound,
                              "bound_text": bound_text, "value": float(getattr(segment, bound)),
                              "start_iso": _iso(first), "end_iso": _iso(last), "months_text": span})
        if not frame.empty:
            start, end = _iso(_spc_month(frame["month"].min())), _iso(_spc_month(frame["month"].max()))
            for line, level in (("Target", result.target), ("Minimum", result.minimum)):
                if not _missing(level):
                    levels.append({"panel": panel, "line": line, "value": float(level),
                                   "label": f"{line} {_spc_value_text(float(level), unit)}",
                                   "start_iso": start, "end_iso": end})
        if not result.has_limits:
            notes.append({"panel": panel, "text": f"No process limits: {result.reason}"})
    return {
        "points": pd.DataFrame(points, columns=SPC_POINT_COLUMNS),
        "lines": pd.DataFrame(lines, columns=SPC_LINE_COLUMNS),
        "levels": pd.DataFrame(levels, columns=SPC_LEVEL_COLUMNS),
        "rebases": pd.DataFrame(rebases, columns=SPC_REBASE_COLUMNS),
        "notes": pd.DataFrame(notes, columns=SPC_NOTE_COLUMNS),
    }


def spc_panel_title(provider: str, result: spc.SpcResult) -> str:
    """'CSP N · common cause · target: consistently missed · minimum: hit and miss' (the badges in words)."""
    if result.variation is None:
        return f"{provider} · no SPC reading"
    parts = [provider, spc.VARIATION_TEXT[result.variation]]
    for which, verdict in (("target", result.assurance_target), ("minimum", result.assurance_minimum)):
        if verdict:
            parts.append(f"{which}: {spc.ASSURANCE_TEXT[verdict]}")
    return " · ".join(parts)


def _spc_domains(layers: dict[str, pd.DataFrame], unit: str) -> tuple[tuple[float, float], tuple[str, str]]:
    points, lines, levels = layers["points"], layers["lines"], layers["levels"]
    # Limits count towards the y range; a percentage stays within 0-100 (a limit beyond is drawn at the edge,
    # as the Making Data Count charts truncate it; its tooltip gives the value).
    figures = pd.DataFrame({"value": pd.concat([points["value"], lines["value"]], ignore_index=True)})
    y_domain = value_domain(figures, levels.rename(columns={"value": "level"}), unit)
    if points.empty:      # no panel has a figure: only notes are drawn, and they use no x scale
        return y_domain, ("2000-01-01", "2000-02-01")
    first = pd.Timestamp(points["month_iso"].min()).date()
    last = pd.Timestamp(points["month_iso"].max()).date()
    return y_domain, (_iso(first), _iso(_next_month(last)))


def _spc_panel(provider: str, result: spc.SpcResult, layers: dict[str, pd.DataFrame], unit: str,
               y_domain: tuple[float, float], x_domain: tuple[str, str]) -> alt.LayerChart:
    def mine(name: str) -> pd.DataFrame:
        frame = layers[name]
        return frame[frame["panel"] == provider]

    x_scale = alt.Scale(domain=list(x_domain))
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False, clamp=True)
    months = max(1, round((pd.Timestamp(x_domain[1]) - pd.Timestamp(x_domain[0])).days / 30.4))
    ticks = {"interval": "month", "step": max(1, math.ceil(months / 8))}
    x = alt.X("month_iso:T", title=None, scale=x_scale, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=ticks))
    y_title = "Value (%)" if unit == "percent" else "Value"
    y = alt.Y("value:Q", scale=y_scale, title=y_title)
    fmt = _value_format(unit)
    legend = alt.Legend(title=None, columns=3)
    # Long legend symbols, so each dash pattern shows whole.
    dash_legend = alt.Legend(title=None, columns=3, symbolSize=500, symbolStrokeWidth=1.6)
    dash = alt.StrokeDash("line:N", scale=alt.Scale(domain=SPC_LINE_DOMAIN, range=SPC_LINE_DASHES),
                          legend=dash_legend)
    layers_out = []

    lines = mine("lines")
    for line, (colour, width, opacity) in SPC_LINE_STYLE.items():
        part = lines[lines["line"] == line]
        if part.empty:
            continue
        name = {"Mean": "spc_mean", "Process limits": "spc_limits", "2 sigma": "spc_near"}[line]
        layers_out.append(
            alt.Chart(part, name=name).mark_rule(color=colour, strokeWidth=width, opacity=opacity)
            .encode(x=alt.X("start_iso:T", scale=x_scale), x2="end_iso:T", y=y, strokeDash=dash,
                    tooltip=[alt.Tooltip("bound_text:N", title="Line"),
                             alt.Tooltip("value:Q", title="Value", format=fmt),
                             alt.Tooltip("months_text:N", title="Months")])
        )
    levels = mine("levels")
    if not levels.empty:
        layers_out.append(
            alt.Chart(levels, name="spc_levels").mark_rule(color=SPC_LEVEL_COLOUR, strokeWidth=1.6)
            .encode(x=alt.X("start_iso:T", scale=x_scale), x2="end_iso:T", y=y, strokeDash=dash,
                    tooltip=[alt.Tooltip("line:N", title="Level"), alt.Tooltip("value:Q", title="Value", format=fmt)])
        )
        # Labels at the left end: the target's above its line, the minimum's below (they are often close).
        for line, baseline, dy, name in (("Target", "bottom", -2, "spc_target_label"),
                                         ("Minimum", "top", 2, "spc_minimum_label")):
            part = levels[levels["line"] == line]
            if part.empty:
                continue
            layers_out.append(
                alt.Chart(part, name=name)
                .mark_text(align="left", baseline=baseline, dx=2, dy=dy, fontSize=9, color="#00664A")
                .encode(x=alt.X("start_iso:T", scale=x_scale), y=y, text="label:N")
            )
    rebases = mine("rebases")
    if not rebases.empty:
        rule_x = alt.X("month_iso:T", scale=x_scale)
        layers_out.append(
            alt.Chart(rebases, name="spc_rebases").mark_rule(color=SPC_REBASE_COLOUR, strokeWidth=1.4)
            .encode(x=rule_x, tooltip=[alt.Tooltip("month_label:N", title="Rebase"),
                                       alt.Tooltip("text:N", title="Why")])
        )
        layers_out.append(
            alt.Chart(rebases.assign(y=y_domain[1]), name="spc_rebase_labels")
            .mark_text(align="left", baseline="top", dx=3, dy=3, fontSize=9, color="#1F5F85")
            .encode(x=rule_x, y=alt.Y("y:Q", scale=y_scale), text="label:N")
        )
    points = mine("points")
    if not points.empty:
        layers_out.append(
            alt.Chart(points, name="spc_value_line").mark_line(color=SPC_VALUE_LINE, strokeWidth=1.5)
            .encode(x=x, y=y, detail="stretch:N")
        )
        tooltip = [
            alt.Tooltip("month_label:N", title="Month"), alt.Tooltip("panel:N", title="Provider"),
            alt.Tooltip("value:Q", title="Value", format=fmt), alt.Tooltip("type_text:N", title="Variation"),
            alt.Tooltip("rule_text:N", title="Rule"), alt.Tooltip("mean:Q", title="Mean", format=fmt),
            alt.Tooltip("lpl:Q", title="Lower process limit", format=fmt),
            alt.Tooltip("upl:Q", title="Upper process limit", format=fmt),
            alt.Tooltip("moving_range:Q", title="Moving range", format=fmt),
        ]
        shape = alt.Shape("point_label:N", scale=alt.Scale(domain=SPC_POINT_DOMAIN, range=SPC_POINT_SHAPES),
                          legend=legend)
        colour = alt.Color("point_label:N", scale=alt.Scale(domain=SPC_POINT_DOMAIN, range=SPC_POINT_COLOURS),
                           legend=legend)
        # Special causes a little larger than common cause, so they stand out in print as well.
        size = alt.condition("datum.point_type == 'common_cause' || datum.point_type == null",
                             alt.value(40), alt.value(80))
        layers_out.append(
            alt.Chart(points, name="spc_points").mark_point(filled=True, opacity=1)
            .encode(x=x, y=y, shape=shape, color=colour, size=size, tooltip=tooltip)
        )
    notes = mine("notes")
    if not notes.empty:
        layers_out.append(
            alt.Chart(notes, name="spc_note")
            .mark_text(align="center", baseline="bottom", fontSize=11, fontStyle="italic", color=SPC_NOTE_COLOUR)
            .encode(x=alt.value(WIDTH / 2), y=alt.value(PANEL_HEIGHT - 8), text="text:N")
        )
    subtitle = ""
    last = result.last_segment
    if last is not None and last.has_limits:
        first, end = _spc_month(last.first_month), _spc_month(last.last_month)
        subtitle = (f"{'Since the rebase' if len(result.segments) > 1 else 'Limits'} "
                    f"({first.strftime('%b %Y')} to {end.strftime('%b %Y')}): mean {_spc_value_text(last.mean, unit)}, "
                    f"process limits {_spc_value_text(last.lpl, unit)} to {_spc_value_text(last.upl, unit)}")
    title = alt.TitleParams(spc_panel_title(provider, result), subtitle=subtitle, fontSize=12, anchor="start",
                            subtitleColor="#444444", subtitleFontSize=10)
    return alt.layer(*layers_out, title=title).properties(width=WIDTH, height=PANEL_HEIGHT)


def spc_chart(results: dict[str, spc.SpcResult], *, unit: str, title: str | None = None,
              subtitle: str | None = None) -> alt.VConcatChart:
    """XmR charts, one panel per provider (the results' keys, in order), on the same x and y scales: figures
    coloured and shaped by point type, each segment's mean and limits, target and minimum, rebases; a panel
    without limits says why. Each panel's title gives the variation and assurance in words (the badges), its
    subtitle the latest segment's mean and process limits."""
    if not results:
        raise ValueError("no SPC results to chart")
    layers = spc_layers_data(results, unit)
    y_domain, x_domain = _spc_domains(layers, unit)
    panels = [_spc_panel(provider, result, layers, unit, y_domain, x_domain) for provider, result in results.items()]
    title = title or "Statistical process control (XmR chart)"
    subtitle = subtitle or ("Each segment's mean (solid), process limits (dashed) and 2-sigma lines (dotted), "
                            "recomputed at each rebase")
    return alt.vconcat(*panels, spacing=18, title=alt.TitleParams(title, subtitle=subtitle)).resolve_scale(
        shape="shared", color="shared", strokeDash="shared"
    )
