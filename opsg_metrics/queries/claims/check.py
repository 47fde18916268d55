"""The minutes check as one call: a text and (optionally) its PMR month in, every claim with its verdict out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from opsg_metrics import words
from opsg_metrics.queries.claims.judge import AGREES, CANNOT, DISAGREES, Judge, Verdict
from opsg_metrics.queries.claims.read import pmr_month_of, read_claims
from opsg_metrics.queries.claims.vocabulary import Vocabulary
from opsg_metrics.store.errors import OpsgError

VERDICTS = (AGREES, DISAGREES, CANNOT)


@dataclass(frozen=True)
class Checked:
    month: date
    verdicts: tuple[Verdict, ...]

    @property
    def disagrees(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == DISAGREES]

    def counts(self) -> dict[str, int]:
        return {name: sum(v.verdict == name for v in self.verdicts) for name in VERDICTS}


def check_text(con: duckdb.DuckDBPyConnection, text: str, month: date | None = None) -> Checked:
    """Every checkable claim of `text`, judged against the record. The PMR month is `month`, else the one
    the text names ("the April 2020 PMR"); without either, an OpsgError says so."""
    month = month or pmr_month_of(text)
    if month is None:
        raise OpsgError("choose the PMR month (or name it in the text, e.g. 'the April 2020 PMR')")
    judge = Judge(con)
    claims = read_claims(text, Vocabulary.from_db(con), month)
    return Checked(month, tuple(judge.judge(c) for c in claims))


def as_records(checked: Checked) -> list[dict]:
    """The verdicts as the command's --json gives them: sentence, span, measure, provider, month, quantity,
    claimed, recorded, verdict, source (and said, comparison, window)."""

    def plain(value: object) -> object:
        if isinstance(value, date):
            return words.month_key(value)
        if hasattr(value, "item"):
            return value.item()
        return value

    return [
        {
            "sentence": v.claim.sentence,
            "span": list(v.claim.span),
            "claim": v.claim.text,
            "measure": v.claim.measure,
            "provider": v.claim.provider,
            "month": words.month_key(v.claim.month),
            "quantity": v.claim.quantity,
            "claimed": plain(v.claim.claimed),
            "comparison": v.claim.comparison,
            "window": v.claim.window,
            "recorded": plain(v.recorded),
            "verdict": v.verdict,
            "said": v.said,
            "source": v.source,
        }
        for v in checked.verdicts
    ]
