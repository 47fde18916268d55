"""The recognisers: each reads one kind of claim, in the ways OPSG writes it (grammar.py gives the
sentences, masks and mentions). `read_claims` runs them all over a text; where two would read the same
words, the first in RECOGNISERS wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

from opsg_metrics import words
from opsg_metrics.queries.claims.doubt import doubted
from opsg_metrics.queries.claims.grammar import APPROXIMATELY, BOUND, DECIMAL, Claim, Context, masked, sentences
from opsg_metrics.queries.claims.vocabulary import MONTH, NUMBER, ORDINAL, Vocabulary, number_value, resolve_month

IC = re.IGNORECASE
_PMR_MONTH = re.compile(
    rf"\b(?:the\s+)?(?P<name>{MONTH})\s+(?P<year>\d{{4}})\s+PMR\b|\bPMR\s+(?:for\s+)?(?P<name2>{MONTH})\s+(?P<year2>\d{{4}})\b",
    IC,
)


def pmr_month_of(text: str) -> date | None:
    """The PMR month a text names ("the April 2020 PMR", "PMR for April 2020"), if it names one."""
    found = _PMR_MONTH.search(text)
    if not found:
        return None
    name, year = (found["name"], found["year"]) if found["name"] else (found["name2"], found["year2"])
    return resolve_month(name, year, date(int(year), 1, 1))


def _claim(
    ctx: Context,
    sentence: str,
    m: re.Match,
    quantity: str,
    claimed,
    *,
    group: int | str = 0,
    measure: str | None = None,
    provider: str | None = None,
    month: date | None = None,
    **extra,
) -> Claim:
    start, end = m.span(group)
    return Claim(
        sentence,
        (start, end),
        quantity,
        claimed,
        month or ctx.month_at(start, end),
        measure,
        provider,
        **extra,
    )


def _for_subjects(ctx, sentence, m, quantity, claimed, **extra) -> Iterator[Claim]:
    """The claim for each subject of its clause; for a measure named without a provider that can be told,
    one claim with none (judged "cannot check", never guessed)."""
    subjects = ctx.subjects(m.start(), m.end())
    if not subjects and (measure := ctx.measure_at(m.start())) is not None:
        subjects = [(measure, None)]
    for measure, provider in subjects:
        yield _claim(ctx, sentence, m, quantity, claimed, measure=measure, provider=provider, **extra)


def _which_level(ctx: Context, m: re.Match) -> str:
    """'run_minimum' when the clause up to a run's number speaks of the minimum last, else 'run'."""
    start, _ = ctx.clause(m.start())
    before = ctx.text[start : m.start("n")].lower()
    return "run_minimum" if before.rfind("minimum") > before.rfind("target") else "run"


# ------------------------------------------------------------------ recognisers


def windows(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'the 16th instance it has been below in 17 months', 'in 16 of the last 17 months', 'the fourth month
    below target in the last 12'."""
    patterns = (
        rf"\bthe\s+(?P<misses>{ORDINAL})\s+(?:instance|time|occasion|month)\b[^;.]{{0,45}}?\bbelow\b[^;.]{{0,25}}?"
        rf"\bin\s+(?:the\s+last\s+)?(?P<window>{NUMBER})(?:\s+months)?\b",
        rf"\bin\s+(?P<misses>{NUMBER})\s+of\s+the\s+(?:last|past)\s+(?P<window>{NUMBER})\s+months\b",
    )
    for pattern in patterns:
        for m in re.finditer(pattern, ctx.text, IC):
            misses, window = number_value(m["misses"]), number_value(m["window"])
            if misses and window and misses <= window:
                yield from _for_subjects(ctx, sentence, m, "window", misses, window=window)


def runs(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'for the tenth month in succession', 'for the last ten months', '10 consecutive months', 'below its
    minimum for the 18th'; 'since January 2019' beside a run."""
    patterns = (
        rf"\bthe\s+(?P<n>{ORDINAL})\s+(?:reported\s+|consecutive\s+|successive\s+)?month\s+(?:in\s+succession|in\s+a\s+row|running)\b",
        rf"\bfor\s+the\s+(?:last|past)\s+(?P<n>{NUMBER})\s+(?:consecutive\s+)?months\b",
        rf"\b(?P<n>{NUMBER})\s+(?:consecutive|successive)\s+(?:reported\s+)?months\b",
        rf"\b(?P<n>{NUMBER})\s+months\s+in\s+(?:a\s+row|succession)\b",
        rf"\bbelow\s+(?:its\s+)?minimum\s+for\s+the\s+(?P<n>{ORDINAL})\b(?!\s+(?:instance|time))",
    )
    for pattern in patterns:
        for m in re.finditer(pattern, ctx.text, IC):
            n = number_value(m["n"])
            if n:
                yield from _for_subjects(ctx, sentence, m, _which_level(ctx, m), n)
    for m in re.finditer(rf"\bsince\s+(?P<name>{MONTH})\s+(?P<year>\d{{4}})\b", ctx.text, IC):
        start, _ = ctx.clause(m.start())
        before = ctx.text[start : m.start()].lower()
        if "first month below" in before or "below" not in before:
            continue
        level = "run_minimum_start" if before.rfind("minimum") > before.rfind("target") else "run_start"
        yield from _for_subjects(ctx, sentence, m, level, resolve_month(m["name"], m["year"], ctx.pmr_month))


def previous_misses(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'the first month below target since October 2018'."""
    pattern = (
        rf"\b(?:for\s+)?the\s+first\s+(?:month|time)\s+(?:below\s+(?:its\s+)?target\s+)?since\s+(?P<name>{MONTH})\s+"
        rf"(?P<year>\d{{4}})\b"
    )
    for m in re.finditer(pattern, ctx.text, IC):
        start, _ = ctx.clause(m.start())
        if "below" not in ctx.text[start : m.end()].lower():
            continue
        yield from _for_subjects(ctx, sentence, m, "previous_miss", resolve_month(m["name"], m["year"], ctx.pmr_month))


def causes(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'CPM1 ... impacted by the failure of PM2 ... in CSP N', 'held below target by PM2 in CSP N'."""
    pattern = r"\b(?:impacted|affected|caused|driven|held\s+(?:below\s+target|down|back))\s+by\s+(?:the\s+)?(?:(?:failure|performance)\s+of\s+)?"
    for m in re.finditer(pattern, ctx.text, IC):
        feeder = next((x for x in ctx.measures if x.start == m.end()), None)
        if feeder is None:
            continue
        cpm = ctx.measure_at(m.start())
        if cpm is None or not cpm.startswith("CPM"):
            continue
        cpm_providers = [p for _, p in ctx.subjects(m.start(), m.start())] or list(ctx.previous[1])
        # The feeder's region: named after it in the sentence ("PM2 ... 54.80% in CSP N"), else where it is.
        later = [
            p.value
            for p in ctx.providers
            if p.start >= feeder.end and p.value in ctx.vocabulary.providers_of.get(feeder.value, ())
        ]
        region = later[0] if later else ctx.provider_at(feeder.start, feeder.end, feeder.value)
        if region is None:
            continue
        for cpm_provider in cpm_providers or ["DCC"]:
            claim = _claim(ctx, sentence, m, "cause", feeder.value, measure=cpm, provider=cpm_provider)
            yield Claim(
                claim.sentence,
                (m.start(), feeder.end),
                "cause",
                feeder.value,
                claim.month,
                cpm,
                cpm_provider,
                detail={"feeder_provider": region},
            )


def levels(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'its Target Service Level (99%)', 'against a Target Service Level of 99%', 'against a target of 99%',
    'a minimum of 96%'."""
    pattern = rf"\b(?P<level>Target|Minimum)(?:\s+Service\s+Level)?\s*(?:level\s*)?(?:\(|of\s+)(?P<value>{DECIMAL})\s?%"
    for m in re.finditer(pattern, ctx.text, IC):
        if re.search(r"\b(?:below|above)\s+(?:its\s+|the\s+)?(?:minimum\s+)?$", ctx.text[: m.start()], IC) or (
            m.group(0).rstrip().endswith("%")
            and "(" in m.group(0)
            and re.search(r"\bbelow\s+(?:its\s+|the\s+)?$", ctx.text[max(0, m.start() - 12) : m.start()], IC)
        ):
            continue  # "below minimum target level of 54.80%": the figure, not the level
        quantity = m["level"].lower()
        yield from _for_subjects(ctx, sentence, m, quantity, float(m["value"]))


def values(ctx: Context, sentence: str) -> Iterator[Claim]:
    """A measure's figure: '54.80% in CSP N', 'at 98.32%', 'approximately 76%', 'up to 25%'; 'from 99.47%
    (met) the month before' is the month before's."""
    bounds = "|".join(sorted(list(BOUND) + list(APPROXIMATELY), key=len, reverse=True))
    pattern = rf"(?:\b(?P<how>{bounds})\s+)?(?<![\d,.])(?P<value>{DECIMAL})\s?%"
    for m in re.finditer(pattern, ctx.text, IC):
        before = ctx.text[max(0, m.start() - 40) : m.start()].lower()
        after = ctx.text[m.end() : m.end() + 25].lower()
        # A level's figure ("a target of 99%") is the levels' claim, unless it says the figure was below it
        # ("below minimum target level of 54.80%"); a success rate or a share is not a measure's figure.
        level = re.search(r"(service level|targets?|minimum|level)\s*[(:]?\s*(of\s+)?$", before)
        if (
            (
                level
                and not re.search(
                    r"\bbelow\s+(?:its\s+|the\s+)?minimum\s+(?:target\s+|service\s+)?level\s+of\s*$", before
                )
            )
            or re.search(r"(success rate|share|successfully)\s*[(:]?\s*(of\s+)?$", before)
            or re.match(r"\s*(success|successfully|of\b|share)", after)
            # a level written before its word ("its 99% target"), a gap ("0.68% below target"), a level said
            # with "is" ("the Target Service Level for CPM1 is 99%")
            or re.match(r"\s*(target|minimum|service level|level|below|above|short|higher|lower|points?)\b", after)
            or re.search(r"(target|minimum)(\s+service\s+level)?(\s+for\s+\S+)?\s+(is|was|of)\s*$", before)
            # a movement, not a figure ("an improvement of 0.2%", "fell by 0.3%")
            or re.search(
                r"\b(?:improvement|increase|decrease|fall|rise|drop|change|gain|loss|up|down|by)\s+(?:of\s+)?$", before
            )
        ):
            continue
        measure = ctx.measure_at(m.start(), sentence_wide=False)
        if measure is None:
            continue
        how = (m["how"] or "").lower()
        comparison = "~" if how in APPROXIMATELY else BOUND.get(how, "=")
        digits = len(m["value"].partition(".")[2])
        tolerance = 1.0 if comparison == "~" else 0.5 * 10 ** (-digits)
        month = ctx.month_at(m.start(), m.end())
        if re.match(r"\s*(?:\(met\)\s*)?the month before", after):
            month = words.previous_month(month)
        provider = ctx.provider_at(m.start("value"), m.end(), measure)  # None: judged "cannot check"
        if True:
            yield _claim(
                ctx,
                sentence,
                m,
                "value",
                float(m["value"]),
                measure=measure,
                provider=provider,
                month=month,
                comparison=comparison,
                tolerance=tolerance,
            )


STATUS_WORDS = (
    (
        r"\b(?:met|meets|achieved|achieves)\s+(?:its|the)\s+(?:Target\s+Service\s+Level|target)\b|\breturned\s+to\s+target\b|\bat\s+a\s+Green\s+status\b",
        "met",
    ),
    (
        r"\bbelow\s+(?:its\s+|the\s+)?(?:Minimum\s+Service\s+Level|minimum(?:\s+(?:target|service))?(?:\s+level)?)\b",
        "below_minimum",
    ),
    (
        r"\b(?:below|missed|did\s+not\s+meet)\s+(?:its\s+|the\s+)?(?:Target\s+Service\s+Level|target)\b|\bat\s+a\s+Red\s+status\b",
        "below_target",
    ),
)


def statuses(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'met its target', 'at a Green status', 'returned to target'; 'below minimum target level', 'below
    its Minimum Service Level'; 'below target' (a figure below its minimum is below target too)."""
    for pattern, status in STATUS_WORDS:
        for m in re.finditer(pattern, ctx.text, IC):
            if re.search(
                r"\b(?:not|never|fail(?:ed|ure)?\s+to)\s+(?:\w+\s+){0,2}$",
                ctx.text[max(0, m.start() - 25) : m.start()],
                IC,
            ):
                continue
            if re.match(
                r"\s+in\s+\S+\s+of\s+the\s+(?:last|past)\b|\s+in\s+(?:each|every|all)\b", ctx.text[m.end() :], IC
            ):
                continue  # "below target in 1 of the last 12 months": the window's verb, not this month's status
            yield from _for_subjects(ctx, sentence, m, "status", status)


COUNTS = (
    (
        r"(?<!Category )(?<!Cat )\b(?P<n>{N})\s+(?:new\s+)?(?:Category\s+(?P<cat>[1-5])\s+)?Major\s+Incidents?\b",
        "major incidents",
    ),
    (
        r"(?<!Category )(?<!Cat )\b(?P<n>{N})\s+(?:RDP\s+)?Incidents?\s+(?:were\s+|had\s+been\s+|have\s+been\s+)?(?:raised|opened)\b"
        r"|\b(?P<n2>{N})\s+opened\b",
        "incidents opened",
    ),
    (
        r"\b(?P<n>{N})\s+(?:(?:RDP\s+)?Incidents?\s+)?(?:were\s+|had\s+been\s+|have\s+been\s+)?resolved\b",
        "incidents resolved",
    ),
    (
        r"\b(?P<n>{N})\s+(?:(?:RDP\s+)?Incidents?\s+)?(?:remain(?:s|ed)?|still|are\s+still)\s+open\b",
        "incidents still open",
    ),
    (
        r"(?<!the )(?<!of )\b(?P<n>{N})\s+changes\b(?!\s+(?:to|of|in\s+the|for\s+the|requested|proposed|planned)\b)",
        "changes implemented",
    ),
    (r"\b(?P<v>\d{{1,3}}(?:\.\d+)?)%\s+(?:success\s+rate|successfully)\b", "change success rate"),
    (
        r"\b(?P<n>{N})\s+(?:open|outstanding)\s+Problem\s+tickets?\b|\b(?P<n2>{N})\s+(?:open|outstanding)\s+Problems\b"
        r"|\b(?P<n3>{N})\s+Problem\s+tickets?\s+(?:were|are|remain(?:ed)?)\s+(?:open|outstanding)\b",
        "open problem tickets",
    ),
)


def counts(ctx: Context, sentence: str) -> Iterator[Claim]:
    """Context figures: 'nine RDP Incidents ... resolved in November, and six remain open', 'five Category 2
    Major Incidents in August', '211 changes ... 96.7% success rate', '90 open Problem tickets'."""
    for pattern, what in COUNTS:
        for m in re.finditer(pattern.format(N=NUMBER), ctx.text, IC):
            start, stop = ctx.clause(m.start())
            rdp = re.search(r"\bRDP\b", ctx.text[start:stop]) is not None  # the clause speaks of RDP
            if what == "change success rate":
                claimed, tolerance = float(m["v"]), 0.5 * 10 ** (-len(m["v"].partition(".")[2]))
            else:
                claimed, tolerance = (
                    number_value(m.groupdict().get("n") or m.groupdict().get("n2") or m.groupdict().get("n3") or ""),
                    0.0,
                )
            if claimed is None:
                continue
            if what.startswith("incidents") and not rdp and what != "incidents opened":
                continue  # resolved / still open are counted for RDP incidents only
            metric = f"RDP {what}" if what.startswith("incidents") and rdp else what
            provider = "RDP" if metric.startswith("RDP") else "DCC"
            detail = {"category": int(m["cat"])} if m.groupdict().get("cat") else {}
            yield _claim(
                ctx,
                sentence,
                m,
                "count",
                claimed,
                measure=metric,
                provider=provider,
                tolerance=tolerance,
                detail=detail,
            )


DIRECTIONS = {
    "lower": "lower",
    "fewer": "lower",
    "reduced": "lower",
    "reduction": "lower",
    "decreased": "lower",
    "fell": "lower",
    "fallen": "lower",
    "higher": "higher",
    "increase": "higher",
    "increased": "higher",
    "increasing": "higher",
    "rose": "higher",
    "risen": "higher",
    "stable": "stable",
    "steady": "stable",
    "unchanged": "stable",
    "spike": "spike",
}
SUBJECTS = (
    (r"\bRDP\s+Incidents?\b", "RDP incidents opened"),
    (r"\bMajor\s+Incidents?\b", "major incidents"),
    (r"\bincidents?\b", "incidents opened"),
    (r"\binstallations?\b", "installations in month"),
    (r"\b(?:volume\s+of\s+)?changes?\b", "changes implemented"),
    (r"\b(?:outstanding\s+|open\s+)?problems?\b", "open problem tickets"),
    (r"\balerts?\b", "alerts in month"),
    (r"\bdevices?\s+(?:being\s+)?decommissioned\b", "devices decommissioned"),
)


def directions(ctx: Context, sentence: str) -> Iterator[Claim]:
    """'the volume of installations was lower in August than the previous month', 'the volume of change has
    reduced', 'an increase in Alerts', 'stable', 'a spike in RDP Incidents in September 2019': a direction
    said of installations, changes, problems, incidents, alerts or decommissioned devices, the subject
    before its verb ("... was lower") or after "in"/"of" ("an increase in ...")."""
    said = "|".join(DIRECTIONS)
    seen: set[tuple[int, int]] = set()  # the first subject that fits a direction word takes it
    verbs = r"(?:was|were|is|are|has|have|had|been|being|appeared\s+to\s+be|appears\s+to\s+be|remained|remains)"
    for subject_pattern, metric in SUBJECTS:
        patterns = (
            rf"(?P<subject>{subject_pattern})[^;.]{{0,40}}?\b{verbs}\s+(?:\w+\s+){{0,2}}?(?P<way>{said})\b",
            rf"\b(?P<way>{said})\s+in\s+(?:the\s+(?:number|volume|frequency)\s+of\s+)?(?:\w+\s+){{0,2}}?(?P<subject>{subject_pattern})",
        )
        for pattern in patterns:
            for m in re.finditer(pattern, ctx.text, IC):
                start, stop = ctx.clause(m.start())
                clause = ctx.text[start:stop]
                if m.span("way") in seen:
                    continue
                seen.add(m.span("way"))
                detail: dict = {}
                since = re.search(
                    rf"\b(?:since|than)\s+(?:(?:a|the)\s+\w+\s+)?(?:in\s+)?(?P<name>{MONTH})\s+(?P<year>\d{{4}})",
                    clause,
                    IC,
                )
                if re.search(
                    r"\bin comparison with\b|\bcompared (?:with|to)\b(?! the previous month)|\bthan (?:the )?(?:levels?|end)\b",
                    clause,
                    IC,
                ):
                    detail["unread"] = "the comparison is with a period the check does not read"
                elif since and DIRECTIONS[m["way"].lower()] != "spike":
                    detail["against"] = resolve_month(since["name"], since["year"], ctx.pmr_month)
                yield _claim(
                    ctx,
                    sentence,
                    m,
                    "direction",
                    DIRECTIONS[m["way"].lower()],
                    group="way",
                    measure=metric,
                    provider="DCC",
                    month=ctx.pmr_month if detail.get("against") else None,
                    detail=detail,
                )
    # "a spike in September 2019", its subject named in the clause
    for m in re.finditer(rf"\bspike\s+in\s+(?P<name>{MONTH})\s+(?P<year>\d{{4}})\b", ctx.text, IC):
        start, stop = ctx.clause(m.start())
        metric = next((metric for pattern, metric in SUBJECTS if re.search(pattern, ctx.text[start:stop], IC)), None)
        if metric and m.span() not in seen:
            spiked = resolve_month(m["name"], m["year"], ctx.pmr_month)
            yield _claim(ctx, sentence, m, "direction", "spike", measure=metric, provider="DCC", month=spiked)


RECOGNISERS: tuple[Callable[[Context, str], Iterator[Claim]], ...] = (
    windows,
    previous_misses,
    runs,
    causes,
    levels,
    counts,
    values,
    statuses,
    directions,
)


def read_claims(text: str, vocabulary: Vocabulary, pmr_month: date) -> list[Claim]:
    """Every checkable claim of a text, in the order written."""
    out: list[Claim] = []
    previous: tuple[str | None, tuple[str, ...]] = (None, ())
    for sentence in sentences(text):
        ctx = Context(masked(sentence), pmr_month, vocabulary, previous)
        taken: list[tuple[int, int]] = []
        found = []
        for recogniser in RECOGNISERS:
            for claim in recogniser(ctx, sentence):
                s, e = claim.span
                if any(s < te and ts < e for ts, te in taken if (ts, te) != (s, e)):
                    continue
                found.append(claim)
                taken.append((s, e))
        out += sorted((doubted(ctx, c) for c in dict.fromkeys(found)), key=lambda c: c.span)
        if ctx.measures:
            first = ctx.measures[0].value
            providers = tuple(dict.fromkeys(c.provider for c in found if c.measure == first and c.provider))
            previous = (first, providers)
    return out
