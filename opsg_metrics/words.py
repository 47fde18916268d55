"""One OPSG voice: how months, counts, values, statuses, runs and windows are written, in one place.

Every page, chart, document and command says these things in these words, and nothing else in the
package spells them out. Uses nothing of the package (every layer may use it).
"""

from __future__ import annotations

import math
from datetime import date

# ------------------------------------------------------------------ months

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip


def month_label(day: date) -> str:
    """'January 2019', as OPSG writes a month."""
    return day.strftime("%B %Y")


def month_short(day: date) -> str:
    """'Jan 2019', where space is short (chart subtitles and axes)."""
    return day.strftime("%b %Y")


def month_key(day: date) -> str:
    """'2019-01', the month as the file formats and links write it."""
    return day.strftime("%Y-%m")


def day_label(day: date) -> str:
    """'8 July 2020', as OPSG writes a date."""
    return f"{day.day} {day.strftime('%B %Y')}"


def next_month(month: date) -> date:
    """The first day of the month after `month`'s."""
    return date(month.year + (month.month == 12), 1 if month.month == 12 else month.month + 1, 1)


def previous_month(month: date) -> date:
    """The first day of the month before `month`'s."""
    return date(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1, 1)


def months_back(month: date, count: int) -> date:
    """The first day of the month `count` months before `month`'s (0: its own)."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


# ------------------------------------------------------------------ counts and numbers

NUMBER_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)
ORDINAL_WORDS = (
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
)


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 month', '16 months' ('1 was', '2 were' with `many`)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def months(count: int) -> str:
    return plural(count, "month")


def ordinal(n: int) -> str:
    """'1st', '2nd', '16th', '22nd', '111th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def number_word(n: int) -> str:
    """'ten' for 10 (to twenty), else the digits."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def ordinal_word(n: int) -> str:
    """'tenth' for 10 and below, '16th' above, as the minutes write them ("the tenth month in succession",
    "the 16th instance")."""
    return ORDINAL_WORDS[n] if 0 <= n <= 10 else ordinal(n)


def count(value: float | None) -> str:
    """A whole number with thousands separators ('1,256,881'); '' for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}"


# ------------------------------------------------------------------ values and levels

MISSING = "—"


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def value_text(value: float | None, unit: str = "percent") -> str:
    """A figure as OPSG writes it: '54.80%' for a percentage, '1,234' or '1,234.50' otherwise, '—' if missing."""
    if _missing(value):
        return MISSING
    if unit == "percent":
        return f"{value:.2f}%"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{text} minutes" if unit == "minutes" else text


def level_text(value: float | None, unit: str = "percent") -> str:
    """A service level as OPSG writes it: '99%', '99.5%', '10 minutes'; '' if missing."""
    if _missing(value):
        return ""
    if unit == "percent":
        return f"{value:g}%"
    return f"{value:g} minutes" if unit == "minutes" else f"{value:g}"


# ------------------------------------------------------------------ statuses

STATUS_LABELS = {
    "met": "Met",
    "below_target": "Below target",
    "below_minimum": "Below minimum",
    "no_data": "No data",
}
# A shape and a word for every status, so status never rests on colour alone.
# Plain Unicode shapes (in every common font), not emoji that print as boxes without an emoji font.
STATUS_ICONS = {
    "met": "✔",
    "below_target": "▼",
    "below_minimum": "✖",
    "no_data": "○",
}


# ------------------------------------------------------------------ runs and windows


def run_phrase(run: int, start: date | None, gaps: int = 0, below_minimum: int = 0, *, compact: bool = False) -> str:
    """A run below target as OPSG words it: '16 consecutive months below target since January 2019 (2 months not
    reported), the last 3 months below minimum'; compact (a chart's subtitle): '16 months below target since
    Jan 2019 (2 not reported)'. No run: 'not below target' ('' when compact)."""
    if run == 0 or start is None:
        return "" if compact else "not below target"
    if compact:
        text = f"{months(run)} below target since {month_short(start)}"
        return text + (f" ({gaps} not reported)" if gaps else "")
    text = f"{run} consecutive {'month' if run == 1 else 'months'} below target since {month_label(start)}"
    if gaps:
        text += f" ({months(gaps)} not reported)"
    if below_minimum:
        text += (
            f", the last {months(below_minimum)} below minimum" if below_minimum > 1 else ", this month below minimum"
        )
    return text


def providers_text(providers: list[str]) -> str:
    """'CSP N', 'CSP N and CSP C&S', 'DSP, CSP N and CSP C&S'."""
    names = list(providers)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def period_text(start: date, end: date) -> str:
    """'January 2019 to April 2020' ('April 2020' for one month)."""
    return month_label(end) if start == end else f"{month_label(start)} to {month_label(end)}"


def trend_title(measure: str, latest: list[tuple[str, str, int, int]], month: date) -> str:
    """A trend chart's title saying what it shows, from each provider's latest figure (provider, status,
    months below target in a row, months below minimum in a row): 'PM2 below minimum in CSP N for 4
    months', 'CPM1 below target in CSP N and CSP C&S since ...', 'CPM1 met its target in every region
    in April 2020'."""
    below_min = [(p, m) for p, status, _, m in latest if status == "below_minimum"]
    below = [(p, r) for p, status, r, _ in latest if status in ("below_target", "below_minimum")]
    if below_min:
        run = max(m for _, m in below_min)
        how = f"for {months(run)}" if run > 1 else f"in {month_label(month)}"
        return f"{measure} below minimum {places([p for p, _ in below_min])} {how}"
    if below:
        run = max(r for _, r in below)
        how = f"for {months(run)}" if run > 1 else f"in {month_label(month)}"
        return f"{measure} below target {places([p for p, _ in below])} {how}"
    if latest and all(status == "met" for _, status, _, _ in latest):
        where = "in every region shown" if len(latest) > 1 else places([latest[0][0]])
        return f"{measure} met its target {where} in {month_label(month)}"
    return f"{measure} {places([p for p, *_ in latest])}"


def places(providers: list[str]) -> str:
    """Where figures are, as OPSG says it: 'overall', 'in CSP N', 'overall and in CSP N and CSP C&S'."""
    names = list(dict.fromkeys(providers))
    rest = [p for p in names if p != "DCC"]
    said = (["overall"] if "DCC" in names else []) + ([f"in {providers_text(rest)}"] if rest else [])
    return " and ".join(said)


def recomputed_differs(
    measure: str, provider: str, value: float, pmr: float, difference: float, tolerance: float
) -> str:
    """A figure recomputed from its request records that the PMR's does not match, as the summary says it."""
    return (
        f"{who(measure, provider)}: recomputed from its request records at {value:.2f}%, against the PMR's "
        f"{pmr:.2f}%, a difference of {difference:+.2f} percentage points (more than the {tolerance} allowed "
        "for rounding): the PMR figure is not what its request records give."
    )


def who(measure: str, provider: str) -> str:
    """A measure's figure as OPSG names it: 'CPM1 overall', 'DSP1.2 (DSP)' (the id already names its
    provider), 'PM2 in CSP N'."""
    if provider == "DCC":
        return f"{measure} overall"
    if measure.upper().startswith(provider.upper()):
        return f"{measure} ({provider})"
    return f"{measure} in {provider}"


def where(measure: str, providers: list[str]) -> str:
    """One measure in several places: 'PM4.2 in CSP S and CSP C&S', 'CPM1 overall and in CSP N',
    'DSP1.2 (DSP)'."""
    names = list(dict.fromkeys(providers))
    if len(names) == 1:
        return who(measure, names[0])
    overall = "DCC" in names
    rest = [p for p in names if p != "DCC"]
    own = [p for p in rest if measure.upper().startswith(p.upper())]
    places = (["overall"] if overall else []) + [f"({p})" for p in own]
    others = [p for p in rest if p not in own]
    if others:
        places.append("in " + providers_text(others))
    return f"{measure} " + (" and ".join(places) if len(places) <= 2 else ", ".join(places[:-1]) + " and " + places[-1])


def listing(items: list[str], most: int | None = None) -> str:
    """'a', 'a and b', 'a, b and c'; past `most` items, 'a, b and 3 more'."""
    items = list(items)
    if most is not None and len(items) > most:
        items = items[:most] + [f"{len(items) - most} more"]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def in_succession(run: int, reported: bool = False) -> str:
    """'the 16th month in succession' (OPSG's words for a run; words to 'tenth'); with `reported`, when some
    months inside the run were not reported: 'the 20th reported month in succession'."""
    return f"the {ordinal_word(run)}{' reported' if reported else ''} month in succession"


def window_phrase(misses: int, window_months: int, window: int) -> str:
    """'16 of the last 17'; says so when some months of the window had no figure."""
    if window_months == window:
        return f"{misses} of the last {window}"
    return f"{misses} of {window_months} reported in the last {months(window)}"


# ------------------------------------------------------------------ notices


# A figure that repeats one the minutes report carries, in its note, "Reported figure: <the minutes>" first.
REPORTED_PREFIX = "Reported figure: "


def reported_note(source: str, note: str = "") -> str:
    """The note of a figure that repeats one the minutes report: 'Reported figure: <source>; <note>'."""
    return f"{REPORTED_PREFIX}{source}" + (f"; {note}" if note else "")


def split_reported(note: str | None) -> tuple[str | None, str]:
    """A figure's note as (the minutes that report it, or None; the rest of the note)."""
    text = (note or "").strip()
    if not text.startswith(REPORTED_PREFIX.strip()):
        return None, text
    source, _, rest = text[len(REPORTED_PREFIX.strip()) :].strip().partition(";")
    return source.strip() or None, rest.strip()


def minutes_of(source: str) -> str:
    """'the OPSG_33xx minutes of 22 Jun 2020' from 'OPSG_33xx minutes (22 Jun 2020)' (else the source)."""
    head, paren, rest = source.strip().partition(" (")
    if paren and rest.endswith(")") and head.endswith("minutes"):
        return f"the {head} of {rest[:-1]}"
    return source.strip()


def reported_mark(note: str | None) -> str:
    """Beside a value that repeats a reported figure: ' (reported in the OPSG_33xx minutes of 22 Jun 2020)';
    '' for any other."""
    source, _ = split_reported(note)
    return f" (reported in {minutes_of(source)})" if source else ""


def quoted_note(note: str, source: str | None = None) -> str:
    """A note quoted as a note, with where it comes from: 'Note (PMR April 2020 issue 1): “...”.' ('' for a
    note with no words)."""
    text = " ".join(note.split()).rstrip(".").strip()
    return f"Note{f' ({source})' if source else ''}: “{text}”." if text else ""


def restated(count: int) -> str:
    """What a load says of rows it keeps although the owner's figures already hold them."""
    return f"{count} of the unchanged kept for the less restrictive markings they are new to"


def exported_by(name: str, day: date) -> str:
    """'Exported by Jo Bloggs on 1 December 2026' (on every export of content above WHITE)."""
    return f"Exported by {name} on {day_label(day)}"


MISSING = "—"  # a missing value in a table or a cell
LEVELS_UNVERIFIED = "Service levels not yet verified against the SEC (see the catalogue's sources)"
SAMPLE_NOTICE = "Illustrative sample data: not DCC's figures, except those marked as reported in OPSG minutes"
SAMPLE_BANNER = (
    "**Illustrative sample data.** The figures shown are generated for demonstration and are not "
    "DCC's. Figures that repeat one reported in OPSG minutes say where (\"reported in the OPSG_56 minutes "
    'of 7 Sep 2021").'
)
