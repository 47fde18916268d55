"""A summary document: the built summary, the charts it carries and the provenance of everything in it
(the summary's rows and its charts' rows), with the secretariat's commentary. The renderers
(markdown.py, html.py, word.py) lay one out; none reaches back into the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Number
from types import MappingProxyType

import pandas as pd

from opsg_metrics.queries.findings import Summary
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.store.classification import LABELS
from opsg_metrics.store.text import printable
from opsg_metrics.words import MISSING


def cell(value: object) -> str:
    """A table cell as every document shows it: thousands separators in numbers (two decimals for a
    fraction), "—" for a missing value, text as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Number):
        number = float(value)
        if math.isnan(number):
            return MISSING
        return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"
    text = str(value)
    return MISSING if text in ("", "None", "nan", "NaN", "<NA>", "NaT") else text


@dataclass(frozen=True)
class Part:
    """A part of a document after the summary's sections (a meeting pack's actions outstanding, the previous
    meeting's decisions): a heading, a line of introduction, bullets, a table."""

    heading: str
    intro: str = ""
    lines: tuple[str, ...] = ()  # after the table, when there is one
    table: pd.DataFrame | None = None
    widths: tuple[float, ...] = ()  # the table's columns' relative widths (Word), when not equal

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "widths", tuple(self.widths))


@dataclass(frozen=True)
class Document:
    summary: Summary
    provenance: Provenance  # the summary's rows and its charts' (and, in a pack, the record's)
    charts: tuple[tuple[str, bytes, str], ...] = ()  # (caption, PNG or SVG, alt text) of the measures below target
    commentary: Mapping[str, str] = field(default_factory=dict)
    exported_by: str | None = None  # named on a document above WHITE
    parts: tuple[Part, ...] = ()  # after the summary's sections, before its charts
    heading: str = ""  # the title, when not the summary's (a meeting pack's)

    def __post_init__(self) -> None:
        object.__setattr__(self, "charts", tuple(self.charts))
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "commentary", MappingProxyType(dict(self.commentary or {})))

    @property
    def title(self) -> str:
        return self.heading or self.summary.title

    @classmethod
    def of(cls, summary: Summary, commentary: Mapping[str, str] | None = None) -> Document:
        """A document of the summary alone (no charts): its provenance is the summary's."""
        return cls(summary, summary.provenance, (), commentary or {})

    @property
    def classification(self) -> str:
        return self.provenance.classification

    def footer_lines(self) -> list[str]:
        return self.summary.footer_lines(self.provenance, self.exported_by)

    @property
    def marking(self) -> str:
        """The classification as the top and bottom of every page say it, in capitals."""
        return LABELS[self.classification].upper()

    def note(self, key: str) -> str:
        """The secretariat's commentary on a finding, printable and trimmed ('' for none)."""
        return printable(self.commentary.get(key) or "").strip()
