"""What the grammar reads: measure ids as OPSG writes them ("CPM1", "CPM 1", "DSP 1.2"), provider aliases
("CSP N", "CSP North", "North", "overall"), numbers and ordinals in digits or words ("ten", "tenth", "16th",
"sixteenth"), and months ("April 2020", "April", "Jan 2019") resolved against the PMR month.

Plain data made once from the catalogue; grammar.py matches against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb

from opsg_metrics import words
from opsg_metrics.store.catalogue import Catalogue

UNITS = {w: n for n, w in enumerate(words.NUMBER_WORDS)}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORDINALS = {w: n for n, w in enumerate(words.ORDINAL_WORDS)}
ORDINALS.update({"thirtieth": 30, "fortieth": 40})
NUMBER_WORD = "|".join(sorted(set(UNITS) | set(TENS), key=len, reverse=True))
ORDINAL_WORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
# A cardinal: digits (with thousands separators) or a word ("twenty-one" too); an ordinal: 16th or sixteenth.
NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+|(?:{NUMBER_WORD})(?:-(?:{NUMBER_WORD}))?)"
ORDINAL = rf"(?:\d+(?:st|nd|rd|th)|(?:(?:{NUMBER_WORD})-)?(?:{ORDINAL_WORD}))"

MONTH_NAMES = {m.lower(): i for i, m in enumerate(words.MONTH_NAMES, start=1)}
MONTH_NAMES.update({name[:3]: i for name, i in list(MONTH_NAMES.items())})
MONTH_NAMES["sept"] = 9
MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
# A month of figures: "April 2020", "April" - never a day's date ("7 January 2020", "22 Jun 2020").
MONTH_MENTION = re.compile(rf"(?<![\d\w])(?<!\d )(?P<name>{MONTH})\b\.?(?:\s+(?P<year>(?:19|20)\d\d))?", re.IGNORECASE)


def number_value(text: str) -> int | None:
    """10 for '10', 'ten', 'tenth', '10th'; 21 for 'twenty-one'; None for anything else."""
    t = text.strip().lower().replace(",", "")
    t = re.sub(r"(?<=\d)(st|nd|rd|th)$", "", t)
    if t.isdigit():
        return int(t) if len(t) <= 9 else None  # no run, window or count has more digits
    if t in UNITS:
        return UNITS[t]
    if t in TENS:
        return TENS[t]
    if t in ORDINALS:
        return ORDINALS[t]
    head, _, tail = t.partition("-")
    if tail and head in TENS and (tail in UNITS or tail in ORDINALS):
        return TENS[head] + (UNITS.get(tail) or ORDINALS[tail])
    return None


def resolve_month(name: str, year: str | None, pmr_month: date) -> date:
    """A month named in the text: with its year as written; without, the one of that name nearest the PMR
    month (minutes reviewing the October 2019 PMR speak of "November" 2019, and "January" 2019 too)."""
    number = MONTH_NAMES[name.lower().rstrip(".")[:4] if name.lower().startswith("sept") else name.lower()[:3]]
    if year:
        return date(int(year), number, 1)
    candidates = [date(pmr_month.year + offset, number, 1) for offset in (-1, 0, 1)]
    return min(
        candidates, key=lambda d: (abs((d.year - pmr_month.year) * 12 + d.month - pmr_month.month), d > pmr_month)
    )


@dataclass(frozen=True)
class Vocabulary:
    """The catalogue as the grammar reads it."""

    measures: dict[str, str]  # normalised id ('cpm1', 'dsp1.2') -> catalogue id
    measure_pattern: re.Pattern
    providers: dict[str, str]  # normalised alias -> provider id
    provider_pattern: re.Pattern
    providers_of: dict[str, tuple[str, ...]]  # measure -> providers it is reported for
    feeds: dict[tuple[str, str], frozenset[str]]  # (measure, provider) -> the CPMs it feeds

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> Vocabulary:
        catalogue = Catalogue.from_db(con)
        ids = sorted({m for m, _ in catalogue.measures}, key=len, reverse=True)
        measures = {_measure_key(m): m for m in ids}
        # 'CPM1', 'CPM 1', 'cpm1'; 'DSP1.2', 'DSP 1.2'; never inside a longer token ('CPM12', 'OPSG_28').
        alternatives = "|".join(
            r"\s?".join(re.escape(part) for part in re.findall(r"[A-Za-z-]+|[\d.]+", m)) for m in ids
        )
        measure_pattern = re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w]|\.\d)", re.IGNORECASE)
        providers: dict[str, str] = {}
        for provider in catalogue.providers:
            providers[_provider_key(provider)] = provider
        for alias, provider in catalogue.aliases.items():
            providers.setdefault(alias, provider)
        names = con.execute("SELECT provider, name, aliases FROM providers").fetchall()
        spelled = (
            {p for p, *_ in names}
            | {n for _, n, _ in names}
            | {a.strip() for *_, text in names for a in text.split("|") if a.strip()}
        )
        spelled |= {"overall"}
        providers["overall"] = "DCC"
        # 'CSP C&S' before 'CSP C': longest first.
        alternatives = "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in sorted(spelled, key=len, reverse=True))
        provider_pattern = re.compile(rf"(?<![\w&])(?:{alternatives})(?![\w&])", re.IGNORECASE)
        providers_of: dict[str, list[str]] = {}
        for m, p in catalogue.measures:
            providers_of.setdefault(m, []).append(p)
        feeds = {
            (m, p): frozenset(f.strip() for f in text.replace("|", ",").split(",") if f.strip())
            for m, p, text in con.execute("SELECT measure, provider, feeds FROM measures").fetchall()
        }
        return cls(
            measures,
            measure_pattern,
            providers,
            provider_pattern,
            {m: tuple(p) for m, p in providers_of.items()},
            feeds,
        )

    def measure(self, text: str) -> str | None:
        return self.measures.get(_measure_key(text))

    def provider(self, text: str) -> str | None:
        key = _provider_key(text)
        return self.providers.get(key) or self.providers.get(re.sub(r"[\s\-_]+", "", key))


def _measure_key(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def _provider_key(text: str) -> str:
    return re.sub(r"[\s\-_]+", "", text.strip().lower())
