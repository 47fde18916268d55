"""The summary as plain data: every statement it makes (a Finding: the sentence, and the figures and sources
behind it), grouped in sections, with its tables and the provenance of exactly the rows it states.

Built once (queries/summary.py) and never changed after; render/documents lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.provenance import Provenance, exported_note
from opsg_metrics.store.classification import LABELS

HEADLINE = "Headline"  # the section laid out as one paragraph (the others as a list)


@dataclass(frozen=True)
class Finding:
    """One statement of the summary and what it rests on."""

    key: str  # stable id, e.g. 'below:CPM1:DCC' (commentary is keyed on it)
    section: str
    text: str
    measure: str | None = None
    provider: str | None = None
    status: str | None = None
    figures: Mapping = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "figures", MappingProxyType(dict(self.figures)))
        object.__setattr__(self, "sources", tuple(self.sources))


@dataclass(frozen=True)
class Summary:
    month: date
    window: int
    sections: tuple[tuple[str, tuple[Finding, ...]], ...]
    table: pd.DataFrame
    incident_table: pd.DataFrame
    alert_table: pd.DataFrame
    provenance: Provenance  # exactly the sources of the rows the summary states
    charts: tuple[tuple[str, tuple[str, ...]], ...]  # (measure, providers below target) to draw

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", tuple((h, tuple(f)) for h, f in self.sections))
        object.__setattr__(self, "charts", tuple((m, tuple(p)) for m, p in self.charts))

    @property
    def title(self) -> str:
        return f"PMR summary: {words.month_label(self.month)}"

    @property
    def findings(self) -> list[Finding]:
        return [f for _, found in self.sections for f in found]

    @property
    def classification(self) -> str:
        return self.provenance.classification

    @property
    def sample(self) -> bool:
        return self.provenance.sample

    def footer_lines(self, provenance: Provenance | None = None, exported_by: str | None = None) -> list[str]:
        """The footer: PMR month and window, sources, classification, sample notice; of `provenance` (a
        document's, which adds its charts' rows) or the summary's own; above WHITE, who exported it."""
        origin = provenance or self.provenance
        # A document of the record alone (an actions list) states no figures: no PMR month, no window.
        lines = [f"PMR month: {words.month_label(self.month)}. Rolling window: {words.months(self.window)}."]
        lines = lines if self.sections else []
        if origin.sources:
            lines.append(
                "Sources: "
                + "; ".join(
                    f"{label} (issued {words.day_label(issued)})" if issued else label
                    for label, issued in dict.fromkeys((label, issued) for label, issued, _ in origin.sources)
                )
                + "."
            )
        lines.append(f"Classification: {LABELS[origin.classification]}.")
        if origin.sample:
            lines.append(words.SAMPLE_NOTICE + ".")
        if note := exported_note(origin.classification, exported_by):
            lines.append(note + ".")
        return lines
