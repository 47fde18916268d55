"""Parsing of the text values the file formats accept: months, dates, numbers, booleans.

Each parser returns the parsed value or raises ValueError with a message fit
to show the user after "file:row:column: ". Kept apart from ingest so the
command line and the pages parse a month typed by a person the same way.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from datetime import date, datetime

from opsg_metrics.store.text import ASCII_SPACE, char_name, quote
from opsg_metrics.words import month_label, next_month

MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_YEAR_MIN, _YEAR_MAX = 2000, 2100


def _check_year_month(text: str, year: int, month: int) -> date:
    if not 1 <= month <= 12:
        raise ValueError(f"{quote(text)} is not a valid month: month {month} does not exist")
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        raise ValueError(f"{quote(text)} is out of range: year {year} is not between {_YEAR_MIN} and {_YEAR_MAX}")
    return date(year, month, 1)


def _ascii(value: str) -> None:
    """Numbers, months and dates are written with ASCII digits: '١٢' (Arabic-Indic) or a full-width '２' is
    refused by name rather than read as a digit, as Python's own parsers would."""
    if not value.isascii():
        char = next(c for c in value if not c.isascii())
        raise ValueError(
            f"{quote(value)} holds {char_name(char)}; write numbers and dates with ASCII digits and letters"
        )


@functools.lru_cache(maxsize=4096)
def parse_month(text: str) -> date:
    """A calendar month: YYYY-MM, YYYY-MM-01, 'Mon YYYY' or MM/YYYY -> first day.

    Memoised (a big file repeats a few hundred months a million times); a bad month still raises."""
    value = text.strip(ASCII_SPACE)
    if not value:
        raise ValueError("month is empty")
    _ascii(value)
    if m := re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", value):
        return _check_year_month(value, int(m.group(1)), int(m.group(2)))
    if m := re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]00:00(?::00)?)?", value):
        first = _check_year_month(value, int(m.group(1)), int(m.group(2)))
        if int(m.group(3)) != 1:
            raise ValueError(f"{quote(value)} is not the first day of a month (use YYYY-MM for a month)")
        return first
    if m := re.fullmatch(r"([A-Za-z]{3,9})\.?[ -]([0-9]{4})", value):
        number = MONTH_NAMES.get(m.group(1).lower())
        if number is None:
            raise ValueError(f"{quote(value)} is not a month: unknown month name {quote(m.group(1))}")
        return _check_year_month(value, int(m.group(2)), number)
    if m := re.fullmatch(r"([0-9]{1,2})/([0-9]{4})", value):
        return _check_year_month(value, int(m.group(2)), int(m.group(1)))
    raise ValueError(f"{quote(value)} is not a month (use YYYY-MM, YYYY-MM-01, 'Mon YYYY' or MM/YYYY)")


def _first_format(value: str, formats: tuple[str, ...]) -> datetime | None:
    """The value read with the first format that fits, checked for a sensible year; None if none fits."""
    for fmt in formats:
        try:
            moment = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if not _YEAR_MIN <= moment.year <= _YEAR_MAX:
            raise ValueError(
                f"{quote(value)} is out of range: year {moment.year} is not between {_YEAR_MIN} and {_YEAR_MAX}"
            )
        return moment
    return None


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d 00:00:00", "%Y-%m-%d 00:00")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
)


def latest_figure_month(today: date | None = None) -> date:
    """The latest month a figure may be for: the month after today's (a PMR is never for a later month)."""
    return next_month(today or date.today())


def parse_figure_month(text: str) -> date:
    """The month of a figure (measures, alerts, ops): a month no later than the month after today's."""
    month = parse_month(text)
    limit = latest_figure_month()
    if month > limit:
        raise ValueError(
            f"{quote(text.strip(ASCII_SPACE))} is in the future: figures can be for months up to {month_label(limit)}"
        )
    return month


def parse_date(text: str) -> date:
    """A day: YYYY-MM-DD or DD/MM/YYYY; a bare month YYYY-MM means its first day."""
    value = text.strip(ASCII_SPACE)
    _ascii(value)
    if re.fullmatch(r"[0-9]{4}-[0-9]{1,2}", value):
        return parse_month(value)
    moment = _first_format(value, DATE_FORMATS)
    if moment is None:
        raise ValueError(f"{quote(value)} is not a date (use YYYY-MM-DD)")
    return moment.date()


def parse_datetime(text: str) -> datetime:
    """A moment: YYYY-MM-DD[ HH:MM[:SS]] (or T instead of the space), or DD/MM/YYYY[ HH:MM]."""
    value = text.strip(ASCII_SPACE)
    _ascii(value)
    moment = _first_format(value, DATETIME_FORMATS)
    if moment is None:
        raise ValueError(f"{quote(value)} is not a date and time (use YYYY-MM-DD HH:MM)")
    return moment


_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")


# The largest magnitude a figure may have: far beyond any percentage, count or duration a PMR reports, and
# small enough that every sum, range and chart scale of such figures stays finite.
MAX_MAGNITUDE = 1e15


def parse_number(text: str, *, allow_percent: bool = False) -> float:
    """A finite decimal number of at most MAX_MAGNITUDE; '1,234' thousands separators; a trailing % if allowed."""
    value = text.strip(ASCII_SPACE)
    _ascii(value)
    if allow_percent and value.endswith("%"):
        value = value[:-1].strip(ASCII_SPACE)
    if _GROUPED.fullmatch(value):
        value = value.replace(",", "")
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"{quote(text.strip(ASCII_SPACE))} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{quote(text.strip(ASCII_SPACE))} is not a finite number")
    if abs(number) > MAX_MAGNITUDE:
        raise ValueError(f"{quote(text.strip(ASCII_SPACE))} is too large (at most {MAX_MAGNITUDE:,.0f})")
    return number + 0.0  # -0 is 0


# The largest count in one cell: a trillion. Summed over a million rows it still fits the database's and
# pandas' 64-bit integers (an alert total of every code and region, say).
MAX_COUNT = 10**12
_WHOLE = re.compile(r"[+]?[0-9]+|[+]?[0-9]{1,3}(,[0-9]{3})+")


def parse_count(text: str) -> int:
    """A whole number of things, zero to MAX_COUNT, read exactly (never through a float: '4.9999999999999999'
    is not 5)."""
    value = text.strip(ASCII_SPACE)
    _ascii(value)
    if _WHOLE.fullmatch(value):
        number = int(value.replace(",", "").lstrip("+"))
    else:
        try:
            exact = decimal.Decimal(value.replace(",", "") if _GROUPED.fullmatch(value) else value)
        except decimal.InvalidOperation:
            raise ValueError(f"{quote(value)} is not a number") from None
        if not _NUMBER.fullmatch(value) and not _GROUPED.fullmatch(value) or not exact.is_finite():
            raise ValueError(f"{quote(value)} is not a number")
        if exact < 0:
            raise ValueError(f"{quote(value)} is negative; a count is zero or more")
        if exact != exact.to_integral_value():
            raise ValueError(f"{quote(value)} is not a whole number")
        number = int(exact)
    if number < 0:
        raise ValueError(f"{quote(value)} is negative; a count is zero or more")
    if number > MAX_COUNT:
        raise ValueError(f"{quote(value)} is too large for a count (at most {MAX_COUNT:,})")
    return number


TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}


def parse_bool(text: str) -> bool:
    value = text.strip(ASCII_SPACE).lower()
    _ascii(value)
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"{quote(text.strip(ASCII_SPACE))} is not true or false")
