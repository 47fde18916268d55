"""The summary's sentences, as OPSG minutes put them: a figure below target with its run, window, minimum and
reliability; its SPC reading; the figures and sources a finding rests on.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from opsg_metrics import words
from opsg_metrics.rules import spc


def who(row: pd.Series) -> str:
    """'CPM1' for the overall figure, 'PM2 in CSP N' for a provider's."""
    return row["measure"] if row["provider"] == "DCC" else f"{row['measure']} in {row['provider']}"


def month_words(value: object) -> str:
    return words.month_label(pd.Timestamp(value).date())


def miss_sentences(row: pd.Series) -> str:
    """The sentences for a figure below target: level, value, inferred or not, run, window, minimum, reliability.

    An inferred figure is never worded as reported: the sentence after the first says it is inferred and
    how, and the run and window that follow count reported months only (this month is not one of them)."""
    unit = row["unit"]
    inferred = bool(row.get("inferred", False))
    below_minimum = row["status"] == "below_minimum"
    # "Below" is OPSG's word for a miss; for a lower-is-better measure the figure is above the level.
    missed = "was below its" if row["direction"] == "higher" else "did not meet its"
    lower = "" if row["direction"] == "higher" else ", lower is better"
    if below_minimum:
        text = (
            f"{who(row)} {missed} Minimum Service Level ({words.level_text(row['minimum'], unit)}{lower}) "
            f"at {words.value_text(row['value'], unit)}, against a Target Service Level of {words.level_text(row['target'], unit)}."
        )
    else:
        text = (
            f"{who(row)} {missed} Target Service Level ({words.level_text(row['target'], unit)}{lower}) "
            f"at {words.value_text(row['value'], unit)}."
        )
    if inferred:
        text += " The figure is inferred, not reported" + (f": {row['note']}." if row["note"] else ".")
    run, gaps = int(row["run_below_target"]), int(row["run_gap_months"])
    window, window_months, misses = int(row["window"]), int(row["window_months"]), int(row["misses_in_window"])
    if window_months == window:
        in_window = f"in {misses} of the last {window} months"
    else:
        in_window = f"in {misses} of the {window_months} months reported in the last {window}"
    if inferred and run == 0:
        if pd.notna(row["previous_miss_month"]):
            text += f" The last reported month below target was {month_words(row['previous_miss_month'])}"
        else:
            text += " No reported month in the figures loaded was below target"
        text += f"; it has been below target {in_window}." if misses else "."
    elif inferred and run == 1:
        # The run's one miss is the last reported month: a met month would have ended the run.
        text += f" The last reported month, {month_words(row['run_start'])}, was below target too"
        text += f"; it has been below target {in_window}." if misses else "."
    elif run == 1:
        if pd.notna(row["previous_miss_month"]):
            text += f" This is the first month below target since {month_words(row['previous_miss_month'])}"
        else:
            text += " This is the first month below target in the figures loaded"
        text += f"; it has been below target {in_window}." if misses > 1 else "."
    else:
        reported = "consecutive reported months" if gaps else "consecutive months"
        text += f" It has been below target for {run} {reported}, since {month_words(row['run_start'])}"
        if gaps:
            text += f" ({words.months(gaps)} in that time {'were' if gaps != 1 else 'was'} not reported)"
        text += f", and {in_window}."
    below_min_run = int(row["run_below_minimum"])
    if below_minimum and inferred and below_min_run:
        text += (
            " The last reported month was below its minimum too."
            if below_min_run == 1
            else f" The last {below_min_run} reported months were below its minimum too."
        )
    elif below_minimum and below_min_run > 1:
        text += f" It has been below its minimum for {below_min_run} consecutive months."
    if row["unreliable"]:
        text += " The figure is flagged as unreliable" + (f": {row['note']}." if row["note"] else ".")
    return text


def spc_sentence(readings: pd.DataFrame | None, row: pd.Series, month: date) -> str:
    """' SPC, 36 months to April 2020: the process is stable but cannot consistently meet its target: ...'"""
    key = (row["measure"], row["provider"])
    if readings is None or key not in readings.index:
        return ""
    sentence = readings.loc[key, "sentence"]
    return f" SPC, {spc.DEFAULT_MONTHS} months to {words.month_label(month)}: {sentence[0].lower()}{sentence[1:]}"


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
    issued = row.get("source_issued_on")
    return [f"{row['source']}" + (f" (issued {pd.Timestamp(issued):%d %B %Y})" if pd.notna(issued) else "")]


def revision_value(value: float | None, status: str) -> str:
    if value is None or pd.isna(value):
        return "null"
    return f"{value:.2f}" + (f" ({status})" if status in ("unreliable", "inferred") else "")


def inferred_mark(row: pd.Series) -> str:
    """Beside a value: says when it is inferred, not reported."""
    return " (inferred, not reported)" if row.get("inferred", False) else ""


def issued_text(label: str, issued: object) -> str:
    return f"{label}, issued {pd.Timestamp(issued):%d %B %Y}" if pd.notna(issued) else label
