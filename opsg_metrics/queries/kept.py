"""Statements kept: what the minutes (or anyone) stated about the figures, saved from the Minutes check page
or loaded from a statements file (ingest/statements.py), set beside the figures they speak of.

Each kept statement is a claim (queries/claims) judged again against the record as it now stands, so a
figure revised since says so; those the record does not bear out are shown in the summary's Data quality,
the trend of their measure (caption and export footer) and the Overview cell, with where they were stated.
A connection scoped to a clearance reads only the statements of the sources it admits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.claims.grammar import Claim
from opsg_metrics.queries.claims.judge import DISAGREES, Judge
from opsg_metrics.store import parse


@dataclass(frozen=True)
class Said:
    """A kept statement the record does not bear out."""

    statement_id: int
    measure: str
    provider: str | None
    month: date
    text: str  # 'The OPSG_33xx minutes of 22 Jun 2020 said “...” of CPM1 overall in April 2020; the record has ...'
    sources: tuple[str, ...]  # where it was stated, and the source it was kept from
    source_id: int


def kept(
    con: duckdb.DuckDBPyConnection,
    *,
    month: date | None = None,
    measures: list[str] | None = None,
    providers: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """The kept statements (of the month, or the measures, providers and months given), oldest first."""
    where, params = [], []
    for column, value in (("month", month), ("month >=", start), ("month <=", end)):
        if value is not None:
            where.append(f"{column if ' ' in column else column + ' ='} ?")
            params.append(value)
    if measures is not None:
        where.append(f"measure IN ({', '.join('?' for _ in measures) or 'NULL'})")
        params += measures
    if providers is not None:
        where.append(f"(provider IS NULL OR provider IN ({', '.join('?' for _ in providers) or 'NULL'}))")
        params += providers
    return con.execute(
        f"""SELECT t.*, s.label AS kept_from FROM statements AS t JOIN sources AS s USING (source_id)
            {"WHERE " + " AND ".join(where) if where else ""} ORDER BY t.month, t.statement_id""",
        params,
    ).df()


def claim_of(row: pd.Series) -> Claim:
    """A kept statement as the claim it was read as."""
    quantity, text = row["quantity"], str(row["claimed"])
    if quantity in ("run_start", "previous_miss"):
        claimed: object = parse.parse_month(text)
    elif quantity in ("run", "run_minimum", "window"):
        claimed = int(text)
    elif quantity in ("value", "target", "minimum", "count"):
        claimed = float(text)
    else:
        claimed = text
    tolerance = None
    if quantity in ("value", "count"):
        digits = len(text.partition(".")[2])
        tolerance = 1.0 if row["comparison"] == "~" else (0.5 * 10 ** (-digits) if quantity == "value" else 0.0)
    sentence, words_ = str(row["sentence"]), str(row["claim"] or "")
    at = sentence.find(words_) if words_ else -1
    span = (at, at + len(words_)) if at >= 0 and words_ else (0, len(sentence))
    window = None if pd.isna(row["window_months"]) else int(row["window_months"])
    detail = {"feeder_provider": row["feeder_provider"]} if isinstance(row.get("feeder_provider"), str) else {}
    return Claim(
        sentence,
        span,
        quantity,
        claimed,
        pd.Timestamp(row["month"]).date(),
        row["measure"],
        row["provider"] if isinstance(row["provider"], str) else None,
        row["comparison"],
        window,
        tolerance,
        detail,
    )


def said(con: duckdb.DuckDBPyConnection, **which: object) -> list[Said]:
    """The kept statements (as `kept` selects them) the record does not bear out, in words."""
    rows = kept(con, **which)
    if rows.empty:
        return []
    judge = Judge(con)
    out = []
    for _, row in rows.iterrows():
        claim = claim_of(row)
        verdict = judge.judge(claim)
        if verdict.verdict != DISAGREES:
            continue
        where = words.minutes_of(str(row["said_in"]))
        who = words.who(claim.measure, claim.provider) if claim.provider else claim.measure
        text = (
            f"{where[0].upper()}{where[1:]} said “{claim.text}” of {who} in {words.month_label(claim.month)}; "
            f"{verdict.said}."
        )
        out.append(
            Said(
                int(row["statement_id"]),
                claim.measure,
                claim.provider,
                claim.month,
                text,
                (str(row["said_in"]), str(row["kept_from"])),
                int(row["source_id"]),
            )
        )
    return out


COLUMNS = (
    "month",
    "measure",
    "provider",
    "quantity",
    "claimed",
    "comparison",
    "window",
    "sentence",
    "claim",
    "feeder_provider",
    "source",
)


def statement_records(verdicts: list, said_in: str) -> list[dict]:
    """A checked paragraph's claims as the rows of a statements file (ingest/statements.py), to keep them."""
    out = []
    for v in verdicts:
        c = v.claim
        claimed = words.month_key(c.claimed) if isinstance(c.claimed, date) else c.claimed
        out.append(
            dict(
                zip(
                    COLUMNS,
                    (
                        words.month_key(c.month),
                        c.measure,
                        c.provider or "",
                        c.quantity,
                        str(claimed),
                        c.comparison,
                        str(c.window or ""),
                        c.sentence,
                        c.text,
                        c.detail.get("feeder_provider", ""),
                        said_in,
                    ),
                )
            )
        )
    return out
