"""What the minutes said, beside what the record holds.

The statements OPSG minutes make about runs and windows (`data/reference/reported-figures.csv`, kind
`statement`: "again below target for the tenth month in succession") are data. The record follows the
figures; where a statement of the minutes gives another number than the figures do, the summary, the trend
and the Overview cell say so, with the sources of both (`differences`). No conflict is written as prose in
code: a new statement in the file is checked the same way.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from opsg_metrics import words

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference" / "reported-figures.csv"

# metric of a statement -> (measure, what it counts); the window's length is in the metric's last word
_RUN = re.compile(r"^(?P<measure>\S+) months in succession below target$")
_WINDOW = re.compile(r"^(?P<measure>\S+) months below target in last (?P<window>\d+)$")


@dataclass(frozen=True)
class Statement:
    """A number the minutes stated about a series in a month."""

    month: date
    measure: str
    provider: str
    quantity: str  # "run" (months in succession below target) or "window" (months below target in the last N)
    window: int | None
    stated: int
    quote: str
    source: str


@dataclass(frozen=True)
class Difference:
    """A statement of the minutes whose number the record does not bear out."""

    statement: Statement
    recorded: int
    supported_by: tuple[Statement, ...]  # other statements of the minutes that agree with the record

    @property
    def text(self) -> str:
        """'The OPSG_33xx minutes (22 Jun 2020) stated ten months ("…"); the record has 16 consecutive months
        below target, since January 2019, as the OPSG_28 minutes (7 Jan 2020) imply ("…").'"""
        s = self.statement
        text = (
            f"{words.minutes_of(s.source)[0].upper()}{words.minutes_of(s.source)[1:]} stated {self._what} for "
            f"{words.who(s.measure, s.provider)} in {words.month_label(s.month)} ({s.quote}); the record has "
            f"{self.recorded}"
        )
        if self.supported_by:
            other = self.supported_by[0]
            text += f", as {words.minutes_of(other.source)} imply ({other.quote} in {words.month_label(other.month)})"
        return text + "."

    @property
    def _what(self) -> str:
        s = self.statement
        what = "months in succession" if s.quantity == "run" else f"months below target in the last {s.window}"
        return f"{words.number_word(s.stated)} {what}"

    @property
    def short(self) -> str:
        """'the OPSG_33xx minutes of 22 Jun 2020 stated ten months in succession for CPM1 overall, the figures
        give 16' (the headline's caveat)."""
        s = self.statement
        return (
            f"{words.minutes_of(s.source)} stated {self._what} for {words.who(s.measure, s.provider)}, "
            f"the figures give {self.recorded}"
        )

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.statement.source, *(o.source for o in self.supported_by))


@lru_cache(maxsize=4)
def statements(path: Path = REFERENCE) -> tuple[Statement, ...]:
    """The run and window statements of the minutes in the reference file ('at least 10' read as 10)."""
    if not path.exists():
        return ()
    out = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("kind") != "statement" or not row.get("month"):
                continue
            number = re.search(r"\d+", row["value"] or "")
            run, window = _RUN.match(row["metric"]), _WINDOW.match(row["metric"])
            if number is None or not (run or window):
                continue
            year, month = (int(p) for p in row["month"].split("-"))
            out.append(
                Statement(
                    date(year, month, 1),
                    (run or window)["measure"],
                    row["provider"],
                    "run" if run else "window",
                    int(window["window"]) if window else None,
                    int(number.group()),
                    row["note"],
                    row["source"],
                )
            )
    return tuple(out)


def _recorded(rows: pd.DataFrame, statement: Statement) -> int | None:
    """The record's number for a statement, from status rows of its series (run_below_target at its month;
    for a window, the months below target among the `window` months to it); None without the figures."""
    series = rows[(rows["measure"] == statement.measure) & (rows["provider"] == statement.provider)]
    months = series["month"].dt.date if len(series) else pd.Series(dtype=object)
    at = series[months == statement.month]
    if at.empty:
        return None
    if statement.quantity == "run":
        return int(at["run_below_target"].iloc[0])
    first = words.months_back(statement.month, statement.window - 1)
    inside = series[(months >= first) & (months <= statement.month)]
    if len(inside) < statement.window:
        return None
    return int(inside["status"].isin(["below_target", "below_minimum"]).sum())


def differences(rows: pd.DataFrame, month: date | None = None) -> list[Difference]:
    """The statements of the minutes the record does not bear out, for the series and months in `rows`
    (status rows: status.status_table's columns), those of `month` only when given."""
    if rows.empty:
        return []
    found = []
    known = statements()
    for statement in known:
        if month is not None and statement.month != month:
            continue
        recorded = _recorded(rows, statement)
        if recorded is None or recorded == statement.stated:
            continue
        agreeing = tuple(
            other
            for other in known
            if other is not statement
            and (other.measure, other.provider, other.quantity) == (statement.measure, statement.provider, "run")
            and _recorded(rows, other) == other.stated
        )
        found.append(Difference(statement, recorded, agreeing))
    return found


def differences_in(
    con: duckdb.DuckDBPyConnection,
    month: date | None = None,
    *,
    measure: str | None = None,
    provider: str | None = None,
) -> list[Difference]:
    """`differences` read from the database: the status of the series the statements are about (those of
    `measure` and `provider` when given), over all their months."""
    from opsg_metrics.rules.status import status_table

    wanted = [
        s
        for s in statements()
        if (month is None or s.month == month)
        and (measure is None or s.measure == measure)
        and (provider is None or s.provider == provider)
    ]
    if not wanted:
        return []
    series = {
        (s.measure, s.provider)
        for s in statements()
        if (s.measure, s.provider) in {(w.measure, w.provider) for w in wanted}
    }
    rows = status_table(con, measures=sorted({m for m, _ in series}), providers=sorted({p for _, p in series}))
    return [d for d in differences(rows) if d.statement in wanted]
