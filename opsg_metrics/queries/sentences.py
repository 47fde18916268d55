"""The summary's sentences, as OPSG minutes put them: a figure below target with its run, window, minimum and
reliability; its SPC reading; the figures and sources a finding rests on.
"""

from __future__ import annotations

import pandas as pd

from opsg_metrics import words
from opsg_metrics.rules import spc


def who(row: pd.Series) -> str:
    """'CPM1 overall', 'DSP1.2 (DSP)', 'PM2 in CSP N' (words.who)."""
    return words.who(row["measure"], row["provider"])


def month_words(value: object) -> str:
    return words.month_label(pd.Timestamp(value).date())


def value_marks(row: pd.Series, *, flagged: bool = False) -> list[str]:
    """What goes beside a figure's value: where the minutes reported it; with `flagged`, that it is flagged
    as unreliable or inferred."""
    source, _ = words.split_reported(row.get("note"))
    marks = [f"reported in {words.minutes_of(source)}"] if source else []
    if flagged and row.get("unreliable", False):
        marks.append("flagged as unreliable")
    if flagged and row.get("inferred", False):
        marks.append("inferred, not reported")
    return marks


def value_of(row: pd.Series, *, flagged: bool = False) -> str:
    """A figure's value with its unit and, when it repeats a figure reported in the minutes, where:
    '54.80% (reported in the OPSG_33xx minutes of 22 Jun 2020)'; `flagged`: say too when it is flagged as
    unreliable (or inferred), in the same brackets."""
    marks = value_marks(row, flagged=flagged)
    return words.value_text(row["value"], row["unit"]) + (f" ({'; '.join(marks)})" if marks else "")


def _window_clause(row: pd.Series, run: int) -> str:
    """'the 5th month below target in the last 12': only when the window says more than the run (it holds
    misses from before the run). For an inferred figure (not one of the months counted): 'below target
    in 2 of the 3 months reported in the last 12'."""
    window, window_months, misses = int(row["window"]), int(row["window_months"]), int(row["misses_in_window"])
    known = run
    if run == 1 and not row.get("inferred", False) and pd.notna(row.get("previous_miss_month")):
        # "the first month below target since May 2018" already counts May 2018 when it is in the window
        start = words.months_back(pd.Timestamp(row["month"]).date(), window - 1)
        known += pd.Timestamp(row["previous_miss_month"]).date() >= start
    if misses <= known:
        return ""
    if row.get("inferred", False):
        return f"it was below target in {misses} of the {window_months} months reported in the last {window}"
    within = f"the last {window}" + ("" if window_months == window else f" ({words.months(window_months)} reported)")
    return f"the {words.ordinal_word(misses)} month below target in {within}"


def run_clause(row: pd.Series) -> str:
    """The run and window of a figure below target, in OPSG's words: 'below target for the 16th month in
    succession (since January 2019)', 'the first month below target since October 2018, and the 3rd in
    the last 12'. An inferred figure's run counts reported months only (this month is not one)."""
    inferred = bool(row.get("inferred", False))
    run, gaps = int(row["run_below_target"]), int(row["run_gap_months"])
    if inferred:
        if run == 0:
            if pd.notna(row["previous_miss_month"]):
                text = f"the last reported month below target was {month_words(row['previous_miss_month'])}"
            else:
                text = "no reported month in the figures loaded was below target"
        else:
            text = (
                f"the last reported month, {month_words(row['run_start'])}, was below target too"
                if run == 1
                else f"the last {run} reported months were below target too, since {month_words(row['run_start'])}"
            )
        window = _window_clause(row, run)
        return text + (f"; {window}" if window else "")
    if run == 1:
        text = (
            f"the first month below target since {month_words(row['previous_miss_month'])}"
            if pd.notna(row["previous_miss_month"])
            else "the first month below target in the figures loaded"
        )
    else:
        reported = " reported" if gaps else ""
        text = f"below target for the {words.ordinal_word(run)}{reported} month in succession (since {month_words(row['run_start'])}"
        if gaps:
            text += f"; {words.months(gaps)} in that time {'were' if gaps != 1 else 'was'} not reported"
        text += ")"
    window = _window_clause(row, run)
    return text + (f", and {window}" if window else "")


def minimum_clause(row: pd.Series) -> str:
    """', and below its minimum for the 18th' when a figure below its minimum has been so for months (for
    an inferred figure: '; the last reported month was below its minimum too')."""
    below_min_run = int(row["run_below_minimum"])
    if row["status"] != "below_minimum":
        return ""
    if row.get("inferred", False):
        if not below_min_run:
            return ""
        return (
            "; the last reported month was below its minimum too"
            if below_min_run == 1
            else f"; the last {below_min_run} reported months were below its minimum too"
        )
    return f", and below its minimum for the {words.ordinal_word(below_min_run)}" if below_min_run > 1 else ""


def level_clause(row: pd.Series) -> str:
    """'below its Target Service Level (99%)', 'below its Minimum Service Level (96%)' (for a lower-is-better
    measure: 'did not meet its ... (10, lower is better)')."""
    unit = row["unit"]
    missed = "below its" if row["direction"] == "higher" else "did not meet its"
    lower = "" if row["direction"] == "higher" else ", lower is better"
    if row["status"] == "below_minimum":
        return f"{missed} Minimum Service Level ({words.level_text(row['minimum'], unit)}{lower})"
    return f"{missed} Target Service Level ({words.level_text(row['target'], unit)}{lower})"


def miss_sentences(row: pd.Series, feeders: list[pd.Series] = ()) -> str:
    """A figure below target, in OPSG's words: level and value, run and (when it adds) window, minimum,
    what held it down (for a CPM, the provider measures feeding it that missed too), reliability.

    'CPM1 in CSP N was below its Target Service Level (99%) at 97.03%, below target for the 16th month in
    succession (since January 2019). It was held below target by PM2, Category 1 firmware payloads within
    TRT, at 54.80%, below its minimum.'"""
    unit = row["unit"]
    inferred = bool(row.get("inferred", False))
    was = "was" if row["direction"] == "higher" else ""
    text = f"{who(row)} {was + ' ' if was else ''}{level_clause(row)} at {value_of(row)}"
    if row["status"] == "below_minimum":
        text += f", against a Target Service Level of {words.level_text(row['target'], unit)}"
    if inferred:
        text += (
            ". The figure is inferred, not reported (see Data quality); " + run_clause(row) + minimum_clause(row) + "."
        )
    else:
        run = run_clause(row)
        joiner = ": " if row["status"] == "below_minimum" else ", "
        text += joiner + run + minimum_clause(row) + "."
    if feeders:
        text += f" It was held below target by {feeders_text(feeders, row)}."
    if row["unreliable"]:
        text += " The figure is flagged as unreliable (see Data quality)."
    return text


def feeders_text(feeders: list[pd.Series], cpm: pd.Series | None) -> str:
    """What held a CPM down: one feeder with its name ('PM2, Category 1 firmware payloads within TRT, at
    54.80%, below its minimum'), several by id and value ('DSP1.4 (DSP) at 93.83% and PM2 in CSP N at
    59.82%, both below their minimum'). The region is left out where it is the CPM's own."""

    def name(f: pd.Series) -> str:
        return f["measure"] if cpm is not None and f["provider"] == cpm["provider"] else who(f)

    def level(f: pd.Series) -> str:
        return "its minimum" if f["status"] == "below_minimum" else "target"

    if len(feeders) == 1:
        f = feeders[0]
        name_ = f["name"] if isinstance(f.get("name"), str) else ""
        name_ = name_.removesuffix(f" ({f['provider']})").strip()  # 'service requests within TRT (DSP)'
        described = f", {name_}," if name_ else ""
        return f"{name(f)}{described} at {value_of(f, flagged=True)}, below {level(f)}"
    items = words.listing([f"{name(f)} at {value_of(f, flagged=True)}" for f in feeders])
    levels = {level(f) for f in feeders}
    if len(levels) == 1:
        both = "both" if len(feeders) == 2 else "all"
        return f"{items}, {both} below {'their minimum' if levels == {'its minimum'} else 'target'}"
    return words.listing([f"{name(f)} at {value_of(f, flagged=True)} (below {level(f)})" for f in feeders])


def spc_clause(readings: pd.DataFrame | None, row: pd.Series) -> str:
    """At most one plain sentence of SPC, only where it adds to the run and never against it, saying the
    months it rests on and when the latest point is a figure flagged as unreliable ('' otherwise).

    What adds: the latest figure outside the process limits (a sudden change), a trend, or 2 of 3 points
    near a limit; a shift only when the run is shorter than the shift rule's; a process that cannot meet
    its target (or minimum) without a change. What would contradict a run of misses ("will meet and miss
    its target by chance" beside months of misses) is left out; for a single miss it says the miss may be
    ordinary variation."""
    key = (row["measure"], row["provider"])
    if readings is None or key not in readings.index:
        return ""
    found = readings.loc[key]
    if not isinstance(found["variation"], str) or not found["months"]:
        return ""
    unit = row["unit"]
    run = int(row["run_below_target"])
    latest = month_words(found["last_month"])
    parts = []
    if found["variation"] == spc.CONCERN and (found["rule"] != "shift" or run < spc.RUN):
        if found["rule"] == "outside":
            side, limit = (
                ("below the lower", found["lpl"]) if row["direction"] == "higher" else ("above the upper", found["upl"])
            )
            parts.append(
                f"the {latest} figure lies {side} process limit ({words.value_text(limit, unit)}), a special "
                "cause of concern rather than ordinary variation"
            )
        else:
            parts.append(f"the {latest} figure is a special cause of concern ({spc.RULE_TEXT[found['rule']]})")
    cannot = [
        which
        for which, verdict in (("target", found["assurance_target"]), ("minimum", found["assurance_minimum"]))
        if verdict == spc.FAIL and (which == "target" or row["status"] == "below_minimum")
    ]
    if cannot:
        limit = found["upl"] if row["direction"] == "higher" else found["lpl"]
        bound = "upper" if row["direction"] == "higher" else "lower"
        parts.append(
            f"the process cannot meet its {' or its '.join(cannot)} without a change (its {bound} process limit is "
            f"{words.value_text(limit, unit)})"
        )
    elif run == 1 and found["variation"] == spc.COMMON and found["assurance_target"] == spc.HIT_AND_MISS:
        parts.append("the miss is ordinary variation, as the process meets and misses its target by chance")
    if not parts:
        return ""
    first, last = pd.Timestamp(found["first_month"]).date(), pd.Timestamp(found["last_month"]).date()
    span = f"{words.month_label(first)} to {words.month_label(last)}"
    text = f" SPC on the {words.months(int(found['months']))} from {span}: " + ", and ".join(parts)
    if row["unreliable"] and pd.Timestamp(found["last_month"]).date() == pd.Timestamp(row["month"]).date():
        text += f"; the {latest} figure it rests on is flagged as unreliable"
    return text + "."


def spc_figures(readings: pd.DataFrame | None, row: pd.Series) -> dict:
    key = (row["measure"], row["provider"])
    if readings is None or key not in readings.index:
        return {}
    found = readings.loc[key]
    return {
        f"spc_{name}": found[name]
        for name in ("variation", "assurance_target", "assurance_minimum")
        if isinstance(found[name], str)
    }


def figures_of(row: pd.Series) -> dict:
    keep = (
        "value",
        "target",
        "minimum",
        "status",
        "numerator",
        "denominator",
        "run_below_target",
        "run_start",
        "run_gap_months",
        "run_below_minimum",
        "misses_in_window",
        "window_months",
        "figure_status",
        "note",
    )
    out = {}
    for name in keep:
        value = row.get(name)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if isinstance(value, pd.Timestamp):
            value = words.month_key(value.date())
        elif hasattr(value, "item"):
            value = value.item()
        out[name] = value
    return out


def sources_of(row: pd.Series) -> list[str]:
    if row.get("source") is None or pd.isna(row.get("source")):
        return []
    return [issued_text(row["source"], row.get("source_issued_on"))]


def revision_value(value: float | None, status: str, unit: str = "percent") -> str:
    """A revised figure with its unit: '96.76%', 'not reported'."""
    if value is None or pd.isna(value):
        return "not reported"
    return words.value_text(value, unit)


def inferred_mark(row: pd.Series) -> str:
    """Beside a value: says when it is inferred, not reported."""
    return " (inferred, not reported)" if row.get("inferred", False) else ""


def issued_text(label: str, issued: object) -> str:
    """'PMR April 2020 issue 2 (issued 8 July 2020)'."""
    return f"{label} (issued {words.day_label(pd.Timestamp(issued).date())})" if pd.notna(issued) else label
