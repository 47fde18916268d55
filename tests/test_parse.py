"""The value parsers shared by ingest, the command line and the pages."""

from datetime import date, datetime

import pytest

from opsg_metrics.store import parse


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2020-04", date(2020, 4, 1)),
        ("2020-4", date(2020, 4, 1)),
        ("2020-04-01", date(2020, 4, 1)),
        ("Apr 2020", date(2020, 4, 1)),
        ("April 2020", date(2020, 4, 1)),
        ("sept 2019", date(2019, 9, 1)),
        ("04/2020", date(2020, 4, 1)),
        ("2020-04-01 00:00:00", date(2020, 4, 1)),
    ],
)
def test_months(text, expected):
    assert parse.parse_month(text) == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("2020-13", "month 13 does not exist"),
        ("2020-04-15", "not the first day"),
        ("Foo 2020", "unknown month name"),
        ("1890-01", "out of range"),
        ("", "empty"),
        ("April", "is not a month"),
    ],
)
def test_bad_months(text, message):
    with pytest.raises(ValueError, match=message):
        parse.parse_month(text)


def test_dates_and_datetimes():
    assert parse.parse_date("2020-04-15") == date(2020, 4, 15)
    assert parse.parse_date("15/04/2020") == date(2020, 4, 15)
    assert parse.parse_date("2020-04") == date(2020, 4, 1)
    assert parse.parse_datetime("2019-12-03 22:10") == datetime(2019, 12, 3, 22, 10)
    assert parse.parse_datetime("2019-12-03T22:10:05") == datetime(2019, 12, 3, 22, 10, 5)
    assert parse.parse_datetime("03/12/2019 22:10") == datetime(2019, 12, 3, 22, 10)
    with pytest.raises(ValueError, match="out of range"):
        parse.parse_date("3020-01-01")
    with pytest.raises(ValueError, match="not a date and time"):
        parse.parse_datetime("yesterday")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("54.8", 54.8),
        (" 54.80% ", 54.8),
        ("1,234", 1234),
        ("1,234.5", 1234.5),
        ("-0", 0),
        ("1e3", 1000),
        (".5", 0.5),
    ],
)
def test_numbers(text, expected):
    assert parse.parse_number(text, allow_percent=True) == expected


@pytest.mark.parametrize("text", ["n/a", "nan", "inf", "1e400", "12,34", "1.2.3", "5%%", "0x10"])
def test_not_numbers(text):
    with pytest.raises(ValueError):
        parse.parse_number(text, allow_percent=True)


def test_counts_and_booleans():
    assert parse.parse_count("12,500") == 12500
    with pytest.raises(ValueError, match="whole number"):
        parse.parse_count("1.5")
    with pytest.raises(ValueError, match="negative"):
        parse.parse_count("-3")
    assert [parse.parse_bool(t) for t in ("TRUE", "yes", "0", "n")] == [True, True, False, False]
    with pytest.raises(ValueError):
        parse.parse_bool("maybe")


def test_counts_are_read_exactly_and_agree_with_the_number_reading_where_both_apply():
    # Counts are read as whole numbers, never through a float; within the count limit they agree with the
    # number reading.
    from hypothesis import given
    from hypothesis import strategies as st

    from opsg_metrics.store.parse import MAX_COUNT, parse_count, parse_number

    @given(st.integers(0, MAX_COUNT))
    def agree(n):
        assert parse_count(str(n)) == int(parse_number(str(n))) == n
        assert parse_count(f"{n:,}") == n

    agree()
    # Other digits are refused by name on either path (Python's own int() would read them).
    for text in ("٣", "1٣", "²", "１２"):
        with pytest.raises(ValueError, match="ASCII digits"):
            parse_count(text)
        with pytest.raises(ValueError, match="ASCII digits"):
            parse_number(text)
    assert parse_count("1,234") == 1234 and parse_count("0007") == 7 and parse_count("1e3") == 1000
    for text, words in (
        ("99999999999999999999", "too large"),
        ("9007199254740993", "too large"),
        ("4.9999999999999999", "not a whole number"),
        ("1.5", "not a whole number"),
        ("-3", "negative"),
        ("1e400", "too large"),
        ("x1", "not a number"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_count(text)
