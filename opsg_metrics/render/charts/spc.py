"""SPC charts: "Making Data Count" XmR charts of rules.spc results, one panel per provider.

The analysis is all in rules/spc.py; `spc_layers_data` turns results into the frames each layer draws and
`spc_chart` maps them to marks. Print rules as for trends: a point's type is told by shape as well as
colour; the lines by dash (mean solid, process limits dashed, 2-sigma dotted, target dash-dot, minimum
dash-dot-dot) and the levels are labelled.
"""

from __future__ import annotations

import math
from datetime import date

import altair as alt
import pandas as pd

from opsg_metrics import words
from opsg_metrics.render.charts.spec import enable, iso, month_axis, value_format
from opsg_metrics.render.charts.theme import PANEL_HEIGHT, WIDTH
from opsg_metrics.render.charts.trend import PANEL_RESOLVE, value_domain
from opsg_metrics.rules import spc

SPC_POINT_DOMAIN = ["Improvement", "Concern", "Neutral (high)", "Neutral (low)", "Common cause", "No limits"]
# A point in a segment without limits is a ring (an SVG path: a circle with a hole), hollow in the legend too.
RING = "M0,-1A1,1 0 1,1 0,1A1,1 0 1,1 0,-1ZM0,-0.55A0.55,0.55 0 1,0 0,0.55A0.55,0.55 0 1,0 0,-0.55Z"
SPC_POINT_SHAPES = ["square", "diamond", "triangle-up", "triangle-down", "circle", RING]
SPC_POINT_COLOURS = ["#0072B2", "#E69F00", "#CC79A7", "#CC79A7", "#8C8C8C", "#8C8C8C"]
SPC_POINT_LABELS = {
    spc.IMPROVEMENT: "Improvement",
    spc.CONCERN: "Concern",
    spc.NEUTRAL_HIGH: "Neutral (high)",
    spc.NEUTRAL_LOW: "Neutral (low)",
    spc.COMMON: "Common cause",
}
NO_LIMITS = "No limits"
SPC_LINE_DOMAIN = ["Mean", "Process limits", "2 sigma", "Target", "Minimum"]
SPC_LINE_DASHES = [[1, 0], [6, 4], [1, 3], [10, 3, 2, 3], [10, 3, 2, 3, 2, 3]]
SPC_LINE_STYLE = {  # colour, width, opacity
    "Mean": ("#000000", 1.3, 1.0),
    "Process limits": ("#555555", 1.2, 1.0),
    "2 sigma": ("#777777", 1.0, 0.6),
}
SPC_LEVEL_COLOUR = "#009E73"
SPC_VALUE_LINE = "#7F7F7F"
SPC_REBASE_COLOUR = "#56B4E9"
SPC_NOTE_COLOUR = "#A0430A"
SPC_BOUNDS = (
    ("Mean", "mean", "mean"),
    ("Process limits", "lpl", "lower process limit"),
    ("Process limits", "upl", "upper process limit"),
    ("2 sigma", "lower_near", "lower 2-sigma line"),
    ("2 sigma", "upper_near", "upper 2-sigma line"),
)
SPC_POINT_COLUMNS = [
    "panel",
    "month_iso",
    "month_label",
    "value",
    "segment",
    "stretch",
    "mean",
    "lpl",
    "upl",
    "lower_near",
    "upper_near",
    "moving_range",
    "rule",
    "rule_text",
    "point_type",
    "point_label",
    "type_text",
]
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
        for row in frame.itertuples(index=False):
            month = _spc_month(row.month)
            kind = row.point_type if isinstance(row.point_type, str) else None
            rule = row.rule if isinstance(row.rule, str) else None
            segment = result.segments[int(row.segment)]
            if kind is None:
                type_text = f"no process limits ({segment.reason})" if segment.reason else "no process limits"
            else:
                type_text = spc.VARIATION_TEXT[kind]
            points.append(
                {
                    "panel": panel,
                    "month_iso": iso(month),
                    "month_label": month.strftime("%B %Y"),
                    "value": float(row.value),
                    "segment": int(row.segment),
                    "stretch": f"{int(row.segment)}-{sum(1 for s in skipped if s < month)}",
                    **{
                        name: (None if _missing(getattr(row, name)) else float(getattr(row, name)))
                        for name in ("mean", "lpl", "upl", "lower_near", "upper_near", "moving_range")
                    },
                    "rule": rule,
                    "rule_text": spc.RULE_TEXT[rule] if rule else "",
                    "point_type": kind,
                    "point_label": SPC_POINT_LABELS[kind] if kind else NO_LIMITS,
                    "type_text": type_text,
                }
            )
        for number, segment in enumerate(result.segments):
            first, last = _spc_month(segment.first_month), _spc_month(segment.last_month)
            span = f"{first.strftime('%b %Y')} to {last.strftime('%b %Y')}"
            if number > 0:
                rebases.append(
                    {
                        "panel": panel,
                        "segment": number,
                        "month_iso": iso(first),
                        "month_label": first.strftime("%B %Y"),
                        "label": "Rebase",
                        "text": f"limits recomputed from {first.strftime('%B %Y')}",
                    }
                )
            if not segment.has_limits:
                continue
            for line, bound, bound_text in SPC_BOUNDS:
                lines.append(
                    {
                        "panel": panel,
                        "segment": number,
                        "line": line,
                        "bound": bound,
                        "bound_text": bound_text,
                        "value": float(getattr(segment, bound)),
                        "start_iso": iso(first),
                        "end_iso": iso(last),
                        "months_text": span,
                    }
                )
        if not frame.empty:
            start, end = iso(_spc_month(frame["month"].min())), iso(_spc_month(frame["month"].max()))
            for line, level in (("Target", result.target), ("Minimum", result.minimum)):
                if not _missing(level):
                    levels.append(
                        {
                            "panel": panel,
                            "line": line,
                            "value": float(level),
                            "label": f"{line} {_spc_value_text(float(level), unit)}",
                            "start_iso": start,
                            "end_iso": end,
                        }
                    )
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
    if points.empty:  # no panel has a figure: only notes are drawn, and they use no x scale
        return y_domain, ("2000-01-01", "2000-02-01")
    first = pd.Timestamp(points["month_iso"].min()).date()
    last = pd.Timestamp(points["month_iso"].max()).date()
    return y_domain, (iso(first), iso(words.next_month(last)))


def _spc_panel(
    provider: str,
    result: spc.SpcResult,
    layers: dict[str, pd.DataFrame],
    unit: str,
    y_domain: tuple[float, float],
    x_domain: tuple[str, str],
) -> alt.LayerChart:
    def mine(name: str) -> pd.DataFrame:
        frame = layers[name]
        return frame[frame["panel"] == provider]

    x_scale = alt.Scale(domain=list(x_domain))
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False, clamp=True)
    last = words.previous_month(pd.Timestamp(x_domain[1]).date())  # the domain ends at the month after the last
    x = alt.X("month_iso:T", title=None, scale=x_scale, axis=month_axis(pd.Timestamp(x_domain[0]).date(), last))
    y_title = "Value (%)" if unit == "percent" else "Value"
    y = alt.Y("value:Q", scale=y_scale, title=y_title)
    fmt = value_format(unit)
    legend = alt.Legend(title=None, columns=3)
    # Long legend symbols, so each dash pattern shows whole.
    dash_legend = alt.Legend(title=None, columns=3, symbolSize=500, symbolStrokeWidth=1.6)
    dash = alt.StrokeDash("line:N", scale=alt.Scale(domain=SPC_LINE_DOMAIN, range=SPC_LINE_DASHES), legend=dash_legend)
    layers_out = []

    lines = mine("lines")
    for line, (colour, width, opacity) in SPC_LINE_STYLE.items():
        part = lines[lines["line"] == line]
        if part.empty:
            continue
        name = {"Mean": "spc_mean", "Process limits": "spc_limits", "2 sigma": "spc_near"}[line]
        layers_out.append(
            alt.Chart(part, name=name)
            .mark_rule(color=colour, strokeWidth=width, opacity=opacity)
            .encode(
                x=alt.X("start_iso:T", scale=x_scale),
                x2="end_iso:T",
                y=y,
                strokeDash=dash,
                tooltip=[
                    alt.Tooltip("bound_text:N", title="Line"),
                    alt.Tooltip("value:Q", title="Value", format=fmt),
                    alt.Tooltip("months_text:N", title="Months"),
                ],
            )
        )
    levels = mine("levels")
    if not levels.empty:
        layers_out.append(
            alt.Chart(levels, name="spc_levels")
            .mark_rule(color=SPC_LEVEL_COLOUR, strokeWidth=1.6)
            .encode(
                x=alt.X("start_iso:T", scale=x_scale),
                x2="end_iso:T",
                y=y,
                strokeDash=dash,
                tooltip=[alt.Tooltip("line:N", title="Level"), alt.Tooltip("value:Q", title="Value", format=fmt)],
            )
        )
        # Labels at the left end: the target's above its line, the minimum's below (they are often close).
        for line, baseline, dy, name in (
            ("Target", "bottom", -2, "spc_target_label"),
            ("Minimum", "top", 2, "spc_minimum_label"),
        ):
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
            alt.Chart(rebases, name="spc_rebases")
            .mark_rule(color=SPC_REBASE_COLOUR, strokeWidth=1.4)
            .encode(
                x=rule_x, tooltip=[alt.Tooltip("month_label:N", title="Rebase"), alt.Tooltip("text:N", title="Why")]
            )
        )
        layers_out.append(
            alt.Chart(rebases.assign(y=y_domain[1]), name="spc_rebase_labels")
            .mark_text(align="left", baseline="top", dx=3, dy=3, fontSize=9, color="#1F5F85")
            .encode(x=rule_x, y=alt.Y("y:Q", scale=y_scale), text="label:N")
        )
    points = mine("points")
    if not points.empty:
        layers_out.append(
            alt.Chart(points, name="spc_value_line")
            .mark_line(color=SPC_VALUE_LINE, strokeWidth=1.5)
            .encode(x=x, y=y, detail="stretch:N")
        )
        tooltip = [
            alt.Tooltip("month_label:N", title="Month"),
            alt.Tooltip("panel:N", title="Provider"),
            alt.Tooltip("value:Q", title="Value", format=fmt),
            alt.Tooltip("type_text:N", title="Variation"),
            alt.Tooltip("rule_text:N", title="Rule"),
            alt.Tooltip("mean:Q", title="Mean", format=fmt),
            alt.Tooltip("lpl:Q", title="Lower process limit", format=fmt),
            alt.Tooltip("upl:Q", title="Upper process limit", format=fmt),
            alt.Tooltip("moving_range:Q", title="Moving range", format=fmt),
        ]
        shape = alt.Shape(
            "point_label:N", scale=alt.Scale(domain=SPC_POINT_DOMAIN, range=SPC_POINT_SHAPES), legend=legend
        )
        colour = alt.Color(
            "point_label:N", scale=alt.Scale(domain=SPC_POINT_DOMAIN, range=SPC_POINT_COLOURS), legend=legend
        )
        # Special causes a little larger than common cause, so they stand out in print as well.
        size = alt.condition(
            "datum.point_type == 'common_cause' || datum.point_type == null", alt.value(40), alt.value(80)
        )
        layers_out.append(
            alt.Chart(points, name="spc_points")
            .mark_point(filled=True, opacity=1)
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
        subtitle = (
            f"{'Since the rebase' if len(result.segments) > 1 else 'Limits'} "
            f"({first.strftime('%b %Y')} to {end.strftime('%b %Y')}): mean {_spc_value_text(last.mean, unit)}, "
            f"process limits {_spc_value_text(last.lpl, unit)} to {_spc_value_text(last.upl, unit)}"
        )
    title = alt.TitleParams(
        spc_panel_title(provider, result),
        subtitle=subtitle,
        fontSize=12,
        anchor="start",
        subtitleColor="#444444",
        subtitleFontSize=10,
    )
    return alt.layer(*layers_out, title=title, width=WIDTH, height=PANEL_HEIGHT)


def spc_chart(
    results: dict[str, spc.SpcResult], *, unit: str, title: str | None = None, subtitle: str | None = None
) -> alt.VConcatChart:
    """XmR charts, one panel per provider (the results' keys, in order), on the same x scale and each on its
    own y range (a panel's limits and levels set its range: a provider near 100% is not flattened): figures
    coloured and shaped by point type, each segment's mean and limits, target and minimum, rebases; a panel
    without limits says why. Each panel's title gives the variation and assurance in words (the badges), its
    subtitle the latest segment's mean and process limits."""
    if not results:
        raise ValueError("no SPC results to chart")
    enable()
    layers = spc_layers_data(results, unit)
    y_domain, x_domain = _spc_domains(layers, unit)

    def own_range(provider: str) -> tuple[float, float]:
        mine = {
            name: frame[frame["panel"] == provider] if "panel" in frame.columns else frame
            for name, frame in layers.items()
        }
        return _spc_domains(mine, unit)[0] if not mine["points"].empty else y_domain

    panels = [
        _spc_panel(provider, result, layers, unit, own_range(provider), x_domain)
        for provider, result in results.items()
    ]
    title = title or "Statistical process control (XmR chart)"
    subtitle = subtitle or (
        "Each segment's mean (solid), process limits (dashed) and 2-sigma lines (dotted), recomputed at each rebase"
    )
    return alt.vconcat(*panels, spacing=18, title=alt.TitleParams(title, subtitle=subtitle), resolve=PANEL_RESOLVE)
