"""Where what is shown came from: the sources of exactly the rows an output uses, their most restrictive
classification, and the footer lines every chart and export carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.store.classification import LABELS, most_restrictive


@dataclass(frozen=True)
class Provenance:
    """Where a chart's or a document's data came from: what its footer says."""

    sources: tuple[tuple[str, date | None, str], ...]   # label, issue date, kind of document
    classification: str
    sample: bool
    source_ids: tuple[int, ...] = ()                     # exactly the sources of the rows shown

    def footer_lines(self, pmr_month: date | None, notes: list[str] | None = None) -> list[str]:
        lines = list(notes or [])
        if self.sources:
            def named(label, issued):
                return f"{label} (issued {issued:%d %b %Y})" if issued else label

            pmrs = [(label, issued) for label, issued, kind in self.sources if kind == "measures"]
            others = [(label, issued) for label, issued, kind in self.sources if kind != "measures"]
            parts = []
            if len(pmrs) > 3:
                # Many monthly PMRs: the series they form, with the span of their issue dates.
                dates = [d for _, d in pmrs if d]
                span = f", issued {min(dates):%d %b %Y} to {max(dates):%d %b %Y}" if dates else ""
                parts.append(f"{len(pmrs)} PMR documents from {pmrs[0][0]} to {pmrs[-1][0]}{span}")
            else:
                parts += [named(*p) for p in pmrs]
            parts += [named(*o) for o in others]
            lines.append("Sources: " + "; ".join(parts))
        if pmr_month:
            lines.append(f"PMR month: {words.month_label(pmr_month)}")
        if self.sample:
            lines.append(words.SAMPLE_NOTICE)
        lines.append(f"Classification: {LABELS[self.classification]}")
        return lines


def provenance(con: duckdb.DuckDBPyConnection, source_ids: Iterable) -> Provenance:
    """The sources whose rows an output shows (by id: two sources may share a label), in issue order; the
    most restrictive of their classifications; whether any is sample data."""
    ids = sorted({int(i) for i in source_ids if i is not None and not pd.isna(i)})
    rows = con.execute(
        """SELECT label, issued_on, classification, is_sample, kind FROM sources
           WHERE source_id IN (SELECT unnest(?::INTEGER[]))
           ORDER BY issued_on NULLS LAST, label, source_id""",
        [ids],
    ).fetchall()
    return Provenance(
        sources=tuple(dict.fromkeys((label, issued, kind) for label, issued, _, _, kind in rows)),
        classification=most_restrictive(row[2] for row in rows),
        sample=any(row[3] for row in rows),
        source_ids=tuple(ids),
    )


def frame_source_ids(*frames: pd.DataFrame | None) -> list[int]:
    """The source ids of the rows of some frames: a `source_id` column, or a `source_ids` column of tuples."""
    ids: set[int] = set()
    for frame in frames:
        if frame is None or frame.empty:
            continue
        if "source_id" in frame:
            ids |= {int(i) for i in frame["source_id"].dropna()}
        if "source_ids" in frame:
            ids |= {int(i) for row in frame["source_ids"] for i in (row if isinstance(row, (list, tuple)) else ())}
    return sorted(ids)
