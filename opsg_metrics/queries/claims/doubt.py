"""Doubt: what makes the writer's words no plain statement of the record, so that a claim read from them
is judged "cannot check" (saying why) rather than risk a false "disagrees": a question, a condition, a
negation, a forecast or plan (an approximate forecast is still checked, with its tolerance), a month said
relative to another, an average or a revision, figures given "respectively", several measures named
together, a count of some of them or of one region or alert code the check does not count.
"""

from __future__ import annotations

import re

from opsg_metrics.queries.claims.grammar import Claim, Context

IC = re.IGNORECASE

# What makes the writer's words no plain statement of the record: a question, a condition, a negation, a
# forecast or plan (an approximate forecast is still checked, with its tolerance), a month said relative to
# another, figures given "respectively", several measures named together, a count said of a region or an
# alert code the check does not count.
MOOD = re.compile(
    r"\b(?:whether|if|unless|would|could|might|should|expect(?:s|ed)?|planned|forecast|will|neither|nor|"
    r"no|not|never|aims?|hopes?|intends?|likely|unlikely)\b",
    IC,
)
NOT_MOOD = re.compile(r"\bdid not meet\b|\bnot reported\b|\bnot yet verified\b|\bcannot\b|\bno longer\b", IC)
RELATIVE = re.compile(
    r"\b(?:last|previous|prior)\s+(?:month|year|PMR|quarter)\b|\b(?:a\s+year|\w+\s+months?)\s+(?:ago|earlier)\b|"
    r"\baverag\w*|\byear[- ]to[- ]date\b|\bYTD\b|\brevised\b|\breissued?\b|\boriginally\b|\bpreviously\s+reported\b",
    IC,
)


def doubted(ctx: Context, claim: Claim) -> Claim:
    """The claim, marked unread (judged "cannot check", saying why) when its clause is not a plain statement."""
    start, stop = ctx.clause(claim.span[0])
    clause = ctx.text[start:stop]
    reason = None
    if MOOD.search(NOT_MOOD.sub(" ", clause)) and not (
        claim.comparison == "~" and re.search(r"forecast|expect", clause, IC)
    ):
        reason = "the sentence asks, supposes, denies or forecasts rather than states"
    elif claim.quantity != "direction" and RELATIVE.search(clause):
        reason = "a month said relative to another"
    elif re.search(r"\brespectively\b", clause, IC):
        reason = "figures given respectively: which figure is whose is not read"
    elif claim.quantity in ("value", "status") and re.search(
        r"(?:CPM|PM|DSP|CH)\s?[\d.]+\w*\s*(?:,|and|or|&)\s*(?:CPM|PM|DSP|CH)\s?[\d.]+", clause, IC
    ):
        reason = "several measures named together: which the figure is of is not read"
    elif claim.quantity == "count" and re.match(
        r"[^;.]{0,12}?\b(?:from|since|of which|out of)\b", ctx.text[claim.span[1] :], IC
    ):
        reason = "a count of some of them (from, since, of which), which the check does not count"
    elif claim.quantity in ("count", "direction") and (
        any(start <= p.start < claim.span[1] + 25 and p.value not in ("DCC", "RDP") for p in ctx.providers)
        or re.search(r"\b[0-9A-F]{4}\s+Alerts?\b", ctx.text[start : claim.span[0]])
    ):
        reason = "a count of one region or one alert code, which the check does not count"
    if reason is None:
        return claim
    return Claim(
        claim.sentence,
        claim.span,
        claim.quantity,
        claim.claimed,
        claim.month,
        claim.measure,
        claim.provider,
        claim.comparison,
        claim.window,
        claim.tolerance,
        {**claim.detail, "unread": reason},
    )
