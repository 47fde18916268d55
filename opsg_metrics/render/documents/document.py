"""A summary document: the built summary, the charts it carries and the provenance of everything in it
(the summary's rows and its charts' rows), with the secretariat's commentary. The renderers
(markdown.py, html.py, word.py) lay one out; none reaches back into the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from opsg_metrics.queries.findings import Summary
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.store.text import printable


@dataclass(frozen=True)
class Document:
    summary: Summary
    provenance: Provenance  # the summary's rows and its charts'
    charts: tuple[tuple[str, bytes], ...] = ()  # (caption, PNG or SVG) of the measures below target
    commentary: Mapping[str, str] = field(default_factory=dict)
    exported_by: str | None = None  # named on a document above WHITE

    def __post_init__(self) -> None:
        object.__setattr__(self, "charts", tuple(self.charts))
        object.__setattr__(self, "commentary", MappingProxyType(dict(self.commentary or {})))

    @classmethod
    def of(cls, summary: Summary, commentary: Mapping[str, str] | None = None) -> Document:
        """A document of the summary alone (no charts): its provenance is the summary's."""
        return cls(summary, summary.provenance, (), commentary or {})

    @property
    def classification(self) -> str:
        return self.provenance.classification

    def footer_lines(self) -> list[str]:
        return self.summary.footer_lines(self.provenance, self.exported_by)

    def note(self, key: str) -> str:
        """The secretariat's commentary on a finding, printable and trimmed ('' for none)."""
        return printable(self.commentary.get(key) or "").strip()
