"""Claims read from text: a grammar over the vocabulary (vocabulary.py), precision before recall.

The text is cut into sentences (markdown bullets and headings stripped, table rows skipped) and each
sentence into clauses (at ';'). What is not the writer's own claim is masked first: quoted words, the
minutes' reported speech ("the minutes ... stated ..."), identifiers (incident numbers, action numbers
like "OPSG 28/04", meeting names), day dates ("7 January 2020"), process limits, movements in percentage
points and "from X% to Y%" revisions. Then each recogniser reads its kind of claim, and the measure,
provider and month it speaks of are taken from the mentions around it: the measure last named before it
(or, for "It" and "This", the previous sentence's), the provider named just after it ("54.80% in CSP N")
or last before it, "overall" for a CPM named without one, and the month named in its clause (else the PMR
month). A claim whose subject cannot be told is left out, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from opsg_metrics.queries.claims.vocabulary import (
    MONTH,
    MONTH_MENTION,
    Vocabulary,
    resolve_month,
)

DECIMAL = r"\d{1,3}(?:\.\d+)?"
MAX_SENTENCE = 2_000  # characters: no sentence of minutes is longer; a longer run of text is not read
APPROXIMATELY = ("approximately", "around", "about", "nearly", "roughly", "circa", "some")
BOUND = {
    "up to": "<=", "at most": "<=", "no more than": "<=", "over": ">", "above": ">", "more than": ">",
    "at least": ">=", "under": "<", "less than": "<", "below": "<", "short of": "<", "exceeded": ">",
    "exceeding": ">", "exceeds": ">",
}  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """One checkable claim: where it is, and what it was read as."""

    sentence: str
    span: tuple[int, int]  # characters of the sentence the claim was read from
    quantity: str  # value, target, minimum, status, run, run_minimum, run_start, previous_miss, window,
    #                count, direction, cause
    claimed: object  # a number, a status, a month (date), a direction, the feeding measure
    month: date
    measure: str | None = None  # a catalogue id; for a count or a direction, what is counted
    provider: str | None = None
    comparison: str = "="  # =, ~ (approximately), <=, <, >=, >
    window: int | None = None  # the window of a 'window' claim
    tolerance: float | None = None  # a value's: half the last digit written, or 1 point when approximate
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return self.sentence[self.span[0] : self.span[1]]


# ------------------------------------------------------------------ sentences and masks

_BULLET = re.compile(r"^\s*(?:#{1,6}\s+|[-*•]\s+|\d+[.)]\s+|>\s*)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[A-Z“\"(])")
_MASKS = [
    re.compile(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’"),  # quoted words are someone else's
    re.compile(r"\([^()]*\b(?:reported in|named in|issued|see )[^()]*\)", re.IGNORECASE),
    re.compile(r"\b(?:INC|SAMPLE-?)\d{4,}\b", re.IGNORECASE),
    re.compile(r"\bOPSG[\s_]*\w*(?:\s*\d+\w*/\d+\w*)?", re.IGNORECASE),
    re.compile(r"\b\d+[a-z]*/\d+\b", re.IGNORECASE),
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}\.?(?:\s+\d{{4}})?\b", re.IGNORECASE),  # a day's date
    re.compile(rf"\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,\s+\d{{4}}\b", re.IGNORECASE),
    re.compile(r"(?:(?:upper|lower)\s+)?process limits?\s*(?:is|of|at)?\s*\(?[^;)]*\)?", re.IGNORECASE),
    re.compile(rf"[+\-−]?{DECIMAL}\s*percentage points?", re.IGNORECASE),
    re.compile(rf"\(?\b(?:from\s+)?{DECIMAL}%\s+to\s+{DECIMAL}%\)?", re.IGNORECASE),
    re.compile(r"\bissue\s+\d+\b", re.IGNORECASE),
    re.compile(rf"\bbetween\s+{DECIMAL}\s?%?\s+and\s+{DECIMAL}\s?%", re.IGNORECASE),  # a range is no figure
    re.compile(rf"\b{DECIMAL}\s?%?\s?-\s?{DECIMAL}\s?%"),
    re.compile(r",\s*which\s+(?:feeds|is|was|covers|measures)\b[^,;]*,", re.IGNORECASE),  # an aside
    re.compile(r"\bPage\s+\d+(?:\s+of\s+\d+)?\b", re.IGNORECASE),
    re.compile(r"\b(?:Category|Cat)\s+\d\s+firmware\b", re.IGNORECASE),
]
# Words that put a figure in some part of the service the catalogue has no provider for ("CPM1 for SMETS2
# devices", "excluding CSP N", "the northern region"): such a claim cannot be read as the overall figure.
SCOPED = re.compile(
    r"\b(?:excluding|except|without|region|regions|regional|northern|southern|central|SMETS\s?[12]|Arqiva|"
    r"Telef\w+|adjusted|exclusions?|suppliers?|users?|devices?|for\s+(?=\w*[A-Za-z])(?=\w*\d)\w+|"
    r"for\s+(?!the\b|its\b|each\b|all\b|every\b|a\b|an\b)[A-Z][a-z]+)\b"
)
_REPORTED_SPEECH = re.compile(r"\bminutes\b[^;]*\b(?:stated|said|say|says|recorded|noted)\b", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    """The sentences of a text (plain, Markdown or a Word document's text), each on one line."""
    out = []
    text = re.sub(r"[ \t\u00a0]{2,}", " ", text.replace("\r", ""))  # runs of spaces (linear, before the rest)
    text = re.sub("[\u2010-\u2015\u2212]", "-", text)  # every dash and the minus sign Word types
    text = re.sub("[\u200b-\u200d\u2060\ufeff]", "", text)  # zero-width characters
    text = re.sub(r" ?• ?", "\n• ", text)  # bullets run into one line
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•#>]|\d+[.)])\s)", text):
        lines = [line for line in paragraph.split("\n") if not line.lstrip().startswith("|")]
        flat = " ".join(_BULLET.sub("", line).strip() for line in lines)
        flat = re.sub(r"[*_`]{1,3}(?=\w)|(?<=\w)[*_`]{1,3}", "", flat)  # emphasis markers
        flat = " ".join(flat.replace("\\", "").split())
        out += [s for s in _SENTENCE_END.split(flat) if s.strip() and len(s) <= MAX_SENTENCE]
    return out


def masked(sentence: str) -> str:
    """The sentence with what is not a claim of its writer blanked out (same length, so spans hold)."""
    out = sentence
    for pattern in _MASKS:
        out = pattern.sub(lambda m: " " * len(m.group(0)), out)
    # Reported speech: the clause says what the minutes stated, not what the writer claims.
    parts = re.split(r"(;)", out)
    return "".join(" " * len(p) if _REPORTED_SPEECH.search(p) else p for p in parts)


# ------------------------------------------------------------------ mentions


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    value: object


def _mentions(pattern: re.Pattern, text: str, read) -> list[Mention]:
    found = []
    for m in pattern.finditer(text):
        value = read(m)
        if value is not None:
            found.append(Mention(m.start(), m.end(), value))
    return found


@dataclass
class Context:
    """The mentions of one sentence and what a claim in it speaks of."""

    text: str  # masked
    pmr_month: date
    vocabulary: Vocabulary
    previous: tuple[str | None, tuple[str, ...]]  # the previous sentence's measure and providers ("It", "This")
    measures: list[Mention] = field(default_factory=list)
    providers: list[Mention] = field(default_factory=list)
    months: list[Mention] = field(default_factory=list)

    def __post_init__(self) -> None:
        v = self.vocabulary
        self.measures = _mentions(v.measure_pattern, self.text, lambda m: v.measure(m.group(0)))
        self.providers = _mentions(v.provider_pattern, self.text, lambda m: v.provider(m.group(0)))
        self.months = _mentions(MONTH_MENTION, self.text, lambda m: resolve_month(m["name"], m["year"], self.pmr_month))
        # A provider named inside a measure mention ('DSP' of 'DSP1.2') is not a provider mention.
        self.providers = [p for p in self.providers if not any(m.start <= p.start < m.end for m in self.measures)]

    def clause(self, pos: int) -> tuple[int, int]:
        start = self.text.rfind(";", 0, pos) + 1
        end = self.text.find(";", pos)
        return start, len(self.text) if end < 0 else end

    def measure_at(self, pos: int, *, sentence_wide: bool = True) -> str | None:
        start, _ = self.clause(pos)
        before = [m for m in self.measures if m.start < pos and (sentence_wide or m.start >= start)]
        if before:
            return before[-1].value
        if re.match(r"\s*(?:It|This|That|The figure|The measure)\b", self.text) and self.previous[0]:
            return self.previous[0]
        return None

    def provider_at(self, pos: int, end: int, measure: str | None) -> str | None:
        """The provider just after the claim ('54.80% in CSP N'), else the last named between the measure
        and the claim, else the only one the measure is reported for, else 'overall' for a CPM."""
        start, stop = self.clause(pos)
        after = re.match(
            r"\s*(?:\([^)]*\)\s*)?(?:(?:target\s+|service\s+)?level\s+)?(?:of\s+\d[\d.]*%\s*)?(?:in|for|at)?\s*",
            self.text[end:stop],
            re.IGNORECASE,
        )
        following = [p for p in self.providers if after and p.start == end + after.end()]
        if following:
            return following[0].value
        anchor = max([m.start for m in self.measures if m.start < pos] or [start])
        before = [p for p in self.providers if max(anchor, start) <= p.start < pos]
        if before:
            if re.search(
                r"\b(?:excluding|outside|except|without|beyond|other than)\s+$", self.text[: before[-1].start], re.I
            ):
                return None  # "CPM1 excluding CSP N": not CSP N's figure
            return before[-1].value
        if measure is None:
            return None
        # "held below target by PM2, ..." / "impacted by the failure of PM2": the CPM's own region.
        if re.search(r"\bby\s+(?:the\s+)?(?:(?:failure|performance)\s+of\s+)?$", self.text[:anchor]):
            named = [p for p in self.providers if p.start < anchor]
            region = named[-1].value if named else (self.previous[1][0] if len(self.previous[1]) == 1 else None)
            if region in self.vocabulary.providers_of.get(measure, ()):
                return region
        if measure == self.previous[0] and not [m for m in self.measures if m.start < pos]:
            return self.previous[1][0] if len(self.previous[1]) == 1 else None
        reported = self.vocabulary.providers_of.get(measure, ())
        named_in_clause = [p for p in self.providers if start <= p.start < stop]
        clause = re.sub(
            r"\b(?:across\s+|in\s+)?(?:all|every|each)\s+(?:CSP\s+)?regions?\b", " ", self.text[start:stop], flags=re.I
        )
        if named_in_clause or SCOPED.search(clause):
            return None  # a provider named, or a part of the service, but not where the claim is: cannot tell
        if len(reported) == 1:
            return reported[0]
        return "DCC" if "DCC" in reported else None

    def month_at(self, pos: int, end: int) -> date:
        """The month the claim names: one just after it with no other figure between ("57.42% in March"), or
        one before it in its clause with no other figure between ("In April 2020 CPM1 was ... (98.32%)");
        never a month a run starts in, a range's end or a PMR's name; else the PMR month."""
        start, stop = self.clause(pos)
        usable = [
            m
            for m in self.months
            if start <= m.start < stop
            and not re.search(r"\b(?:since|from|to|until|by)\s*$", self.text[max(start, m.start - 8) : m.start], re.I)
            and not re.match(r"\s*PMR\b", self.text[m.end : m.end + 6])
        ]
        after = [
            m
            for m in usable
            if m.start >= end
            and not re.search(r"%|\d\s*(?:changes|incidents)", self.text[end : m.start], re.I)
            and m.start - end <= 40
        ]
        if after:
            return after[0].value
        before = [
            m
            for m in usable
            if m.end <= pos
            and "%" not in self.text[m.end : pos]
            and not re.match(r"\s*(?:to|from)\b", self.text[m.end : pos], re.I)
            and pos - m.end <= 90
        ]
        if before:
            return before[-1].value
        return self.pmr_month

    def subjects(self, pos: int, end: int) -> list[tuple[str, str]]:
        """'in each' / 'in both': every (measure, provider) named in the clause; else the one subject."""
        measure = self.measure_at(pos)
        if measure is None:
            return []
        start, stop = self.clause(pos)
        if re.search(r"\bin (?:each|both)\b", self.text[end : min(stop, end + 20)]):
            named = list(dict.fromkeys(p.value for p in self.providers if start <= p.start < stop))
            if named:
                return [(measure, p) for p in named]
        provider = self.provider_at(pos, end, measure)
        return [(measure, provider)] if provider else []
