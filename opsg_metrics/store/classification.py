"""Classification of sources under the Panel Information Policy, least to most restrictive.

Anything shown or exported carries the most restrictive classification of the
sources behind it.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsg_metrics.store.errors import OpsgError

ORDER = ("white", "white-no-publish", "green", "amber", "red")
# Exporting data marked with one of these needs an explicit confirmation (the page) or --allow-restricted.
RESTRICTED = ("amber", "red")
LABELS = {
    "white": "WHITE (may be published)",
    "white-no-publish": "WHITE (shared with SEC Parties, not published online)",
    "green": "GREEN",
    "amber": "AMBER",
    "red": "RED",
}


def most_restrictive(classifications: Iterable[str | None]) -> str:
    """The most restrictive of the given classifications; 'white' when there are none."""
    ranks = [ORDER.index(c) for c in classifications if c in ORDER]
    return ORDER[max(ranks)] if ranks else "white"


def check_restricted(classification: str, allowed: bool) -> None:
    """Refuse to export AMBER or RED data unless the caller has explicitly allowed it."""
    if classification in RESTRICTED and not allowed:
        raise OpsgError(
            f"the output would be classified {classification.upper()} under the Panel Information "
            "Policy; add --allow-restricted to export it (the marking is printed on it)"
        )
