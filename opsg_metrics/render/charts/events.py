"""The Events page's charts, from queries/events.EventsView: the waterfall from requests received to requests
within the target, the response times against the target, the month's days, and the exclusion rate
month by month as an SPC chart.

Each chart is a one-panel vertical concatenation, as the other pages' charts are: the app shows a chart
at its natural size only when its top level gives none (Streamlit fits a top-level height to the whole
chart, title and axes included). A waterfall step is a bar from where the count stood to where it stands after it (an exclusion or the
failures take requests away; a total is a bar from zero), labelled with its count, so the eye reads what
a Green figure left out. Colours are the theme's (Okabe-Ito); each kind of step has its own pattern of
colour and label, so a greyscale print still tells them apart.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.events import EventsView
from opsg_metrics.render.charts import spc as spc_charts
from opsg_metrics.render.charts.spec import enable
from opsg_metrics.render.charts.theme import PANEL_HEIGHT, WIDTH

STEP_KINDS = ["Received", "Excluded", "In scope", "Not within target", "Within target"]
STEP_COLOURS = ["#555555", "#E69F00", "#0072B2", "#D55E00", "#009E73"]
REASON_WORDS = {
    "planned_maintenance": "planned maintenance",
    "allowed_exception": "allowed exceptions",
    "timed_out_test_message": "timed-out test messages",
    "dropped_from_queue": "dropped from the queue",
}


def reason_words(code: str) -> str:
    """An exclusion reason as the page says it ('dropped from the queue')."""
    return REASON_WORDS.get(code, code.replace("_", " "))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


ZERO_LABEL = "datum.value == 0 ? '0' : datum.label"
LINES = "split(datum.label, '|')"  # an axis label's lines, '|' between them


def _lines(text: str, width: int = 14) -> str:
    """A label broken into lines of about `width` characters, '|' between them."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "|".join([*lines, line])


def waterfall_rows(row: dict) -> pd.DataFrame:
    """The waterfall's steps: label (its lines split by '|'), kind, start, end, count."""
    steps = [("Received", "Received", 0, row["received"], row["received"])]
    level = row["received"]
    for reason, count in row["excluded"].items():
        steps.append((_lines(f"− {reason_words(reason)}"), "Excluded", level - count, level, count))
        level -= count
    steps.append(("In scope", "In scope", 0, row["in_scope"], row["in_scope"]))
    failed = row["in_scope"] - row["within"]
    steps.append((_lines("− not within the target"), "Not within target", row["within"], row["in_scope"], failed))
    steps.append(("Within target", "Within target", 0, row["within"], row["within"]))
    frame = pd.DataFrame(steps, columns=["step", "kind", "start", "end", "count"])
    frame["order"] = range(len(frame))
    frame["count_label"] = [words.count(c) for c in frame["count"]]
    frame["share"] = [
        f"{100 * c / row['received']:.2f}% of received" if row["received"] else "" for c in frame["count"]
    ]
    return frame


def waterfall_chart(view: EventsView) -> alt.VConcatChart:
    """From the requests received to those within the target: each exclusion reason and the failures
    taken away in turn, labelled with their counts."""
    enable()
    row = view.waterfall
    frame = waterfall_rows(row)
    x = alt.X("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=0, labelExpr=LINES))
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=STEP_KINDS, range=STEP_COLOURS),
        legend=alt.Legend(title=None, orient="top"),
    )
    tips = [
        alt.Tooltip("step:N", title="Step"),
        alt.Tooltip("count:Q", title="Requests", format=","),
        alt.Tooltip("share:N", title="Share"),
    ]
    base = alt.Chart(frame)
    top = max(row["received"], 1) * 1.12  # room for the first bar's label
    y = alt.Y(
        "start:Q", title="Requests", scale=alt.Scale(domain=[0, top]), axis=alt.Axis(format="~s", labelExpr=ZERO_LABEL)
    )
    bars = base.mark_bar(size=44).encode(x=x, y=y, y2="end:Q", color=colour, tooltip=tips)
    labels = base.mark_text(dy=-6, baseline="bottom", fontSize=11).encode(x=x, y="end:Q", text="count_label:N")
    pmr = "no PMR figure" if row["pmr_value"] is None else f"PMR {_pct(row['pmr_value'])}"
    difference = "" if row["difference"] is None else f" (difference {row['difference']:+.3f} points)"
    return alt.vconcat(
        alt.layer(bars, labels, width=WIDTH, height=PANEL_HEIGHT + 90),
        title=alt.TitleParams(
            f"{view.measure} {view.provider}, {words.month_label(view.month)}: {_pct(row['value'])} of the "
            "requests in scope within the target",
            subtitle=[
                f"From the request records: {pmr}{difference}; with every exclusion counted as a failure "
                f"{_pct(row['value_exclusions_as_failures'])}",
            ],
        ),
    )


def distribution_rows(distribution: dict) -> pd.DataFrame:
    shares = distribution["shares"]
    return pd.DataFrame(
        {
            "multiple": list(shares),
            "share": list(shares.values()),
            "label": [f"{v:.2f}%" for v in shares.values()],
            "order": range(len(shares)),
            "within_target": ["At the target" if k == "1x" else "Other multiples" for k in shares],
        }
    )


def distribution_chart(view: EventsView) -> alt.VConcatChart:
    """The share of the in-scope requests completed within 0.5, 1, 2 and 5 times their target."""
    enable()
    distribution = view.distribution
    frame = distribution_rows(distribution)
    target = distribution["target_seconds"]
    x = alt.X(
        "multiple:N",
        sort=alt.SortField("order"),
        title=f"Completed within this multiple of the target ({words.count(target) if target >= 10 else target} s)",
        axis=alt.Axis(labelAngle=0),
    )
    y = alt.Y("share:Q", title="Share of requests in scope (%)", scale=alt.Scale(domain=[0, 100]))
    colour = alt.Color(
        "within_target:N",
        scale=alt.Scale(domain=["At the target", "Other multiples"], range=["#009E73", "#56B4E9"]),
        legend=alt.Legend(title=None),
    )
    base = alt.Chart(frame)
    bars = base.mark_bar(size=56).encode(
        x=x, y=y, color=colour, tooltip=["multiple:N", alt.Tooltip("label:N", title="Share")]
    )
    labels = base.mark_text(dy=-4, baseline="bottom").encode(x=x, y=y, text="label:N")
    p = distribution["percentiles"]
    slowest = ", ".join(f"{k} {seconds_text(v)}" for k, v in p.items())
    return alt.vconcat(
        alt.layer(bars, labels, width=WIDTH, height=PANEL_HEIGHT + 40),
        title=alt.TitleParams(
            f"{view.measure} {view.provider}, {words.month_label(view.month)}: response times against the target",
            subtitle=[f"Of {words.count(distribution['in_scope'])} requests in scope; the slowest answered: {slowest}"],
        ),
    )


def seconds_text(value: float | None) -> str:
    """A response time as people say it: '25.0 s', '49.6 min', '4.0 h'."""
    if value is None:
        return "—"
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s"


def days_chart(view: EventsView, chosen: str | None = None) -> alt.VConcatChart:
    """The month's days: each day's value (line and points) and its excluded share (bars)."""
    enable()
    frame = pd.DataFrame(view.days)
    frame["day"] = pd.to_datetime(frame["period"])
    frame["excluded_share"] = [100 * e / r if r else None for e, r in zip(frame["excluded"], frame["received"])]
    frame["chosen"] = ["The day shown" if p == chosen else "Other days" for p in frame["period"]]
    x = alt.X("day:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0))
    tips = [
        alt.Tooltip("day:T", title="Day", format="%d %B %Y"),
        alt.Tooltip("value:Q", title="Within target (%)", format=".2f"),
        alt.Tooltip("excluded_share:Q", title="Excluded (%)", format=".2f"),
        alt.Tooltip("received:Q", title="Received", format=","),
    ]
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#E69F00", opacity=0.7)
        .encode(x=x, y=alt.Y("excluded_share:Q", title="Excluded (% of received)"), tooltip=tips)
    )
    line = (
        alt.Chart(frame)
        .mark_line(point=True, color="#0072B2")
        .encode(x=x, y=alt.Y("value:Q", title="Within target (% of in scope)"), tooltip=tips)
    )
    mark = (
        alt.Chart(frame[frame["chosen"] == "The day shown"]).mark_rule(color="#000000", strokeDash=[4, 3]).encode(x=x)
    )
    return alt.vconcat(
        alt.layer(bars, line, mark, width=WIDTH, height=PANEL_HEIGHT).resolve_scale(y="independent"),
        title=alt.TitleParams(
            f"{view.measure} {view.provider}, {words.month_label(view.month)}, day by day",
            subtitle=[
                "Within target, % of in scope (blue line, right axis); excluded, % of received (bars, left axis)"
            ],
        ),
    )


def exclusion_spc_chart(view: EventsView) -> alt.VConcatChart:
    """The share of requests excluded, month by month, as an XmR chart (lower is better: a Green
    figure resting on more exclusions shows as a special cause)."""
    return spc_charts.spc_chart(
        {view.provider: view.spc_result},
        unit="percent",
        title=f"{view.measure} {view.provider}: requests excluded, % of received",
        subtitle="SPC (XmR) view of the exclusion rate, every month with request records loaded",
    )
