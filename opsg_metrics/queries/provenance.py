"""Where what is shown came from: the sources of exactly the rows an output uses, their most restrictive
classification, and the footer lines every chart and export carries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.store.classification import LABELS, most_restrictive
from opsg_metrics.store.text import person_name


def exported_note(classification: str, exported_by: str | None) -> str | None:
    """'Exported by NAME on DATE' for content above WHITE when a name is given (the name as one line,
    store/text.person_name), None otherwise: the one rule every export's footer and properties follow."""
    name = person_name(exported_by or "")
    if not name or classification == "white":
        return None
    return words.exported_by(name, date.today())


@dataclass(frozen=True)
class Provenance:
    """Where a chart's or a document's data came from: what its footer says."""

    sources: tuple[tuple[str, date | None, str], ...]  # label, issue date, kind of document
    classification: str
    sample: bool
    source_ids: tuple[int, ...] = ()  # exactly the sources of the rows shown

    def footer_lines(
        self, pmr_month: date | None, notes: list[str] | None = None, exported_by: str | None = None
    ) -> list[str]:
        """What the footer says: the notes, the sources, the PMR month, the sample notice, the classification,
        and (for content above WHITE, when a name is given) who exported it and when."""
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
        if note := exported_note(self.classification, exported_by):
            lines.append(note)
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


def history_source_ids(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, *, spc_months: int = 0) -> set[int]:
    """The sources of every figure that the runs, windows and (with `spc_months`) SPC readings stated for
    some status rows rest on: each series' figures from the earliest month any of them reaches back to
    (the window's first month, the run's and the minimum run's first months, the last miss before a new
    one, the first of the SPC months) to the row's month, and the figure just before (it is what bounds a
    run); with `spc_months`, also the rebase annotations in those months. A run of 16 months reaches back
    16 months, so a restricted figure that changed it marks whatever states it."""
    if rows is None or rows.empty:
        return set()
    asked = []
    for row in rows.itertuples(index=False):
        month = pd.Timestamp(row.month).date()
        reach = [words.months_back(month, int(getattr(row, "window", 1) or 1) - 1)]
        for column in ("run_start", "run_below_minimum_start", "previous_miss_month"):
            value = getattr(row, column, None)
            if value is not None and not pd.isna(value):
                reach.append(pd.Timestamp(value).date())
        if spc_months:
            reach.append(words.months_back(month, spc_months - 1))
        asked.append((row.measure, row.provider, month, min(reach)))
    frame = pd.DataFrame(asked, columns=["measure", "provider", "month", "earliest"])
    frame = frame.groupby(["measure", "provider"], as_index=False).agg(
        month=("month", "max"), earliest=("earliest", "min")
    )
    params = [list(frame["measure"]), list(frame["provider"]), list(frame["month"]), list(frame["earliest"])]
    asked_sql = """asked AS (SELECT unnest(?::VARCHAR[]) AS measure, unnest(?::VARCHAR[]) AS provider,
                                    unnest(?::DATE[]) AS month, unnest(?::DATE[]) AS earliest)"""
    ids = {
        i
        for (i,) in con.execute(
            f"""WITH {asked_sql}
            SELECT DISTINCT v.source_id FROM current_measure_values AS v JOIN asked AS a USING (measure, provider)
            WHERE v.month BETWEEN a.earliest AND a.month
            UNION
            SELECT arg_max(v.source_id, v.month) FROM current_measure_values AS v JOIN asked AS a USING (measure, provider)
            WHERE v.month < a.earliest GROUP BY a.measure, a.provider""",
            params,
        ).fetchall()
        if i is not None
    }
    if spc_months:
        ids |= {
            i
            for (i,) in con.execute(
                f"""WITH {asked_sql}
                SELECT DISTINCT s.source_id FROM annotation_scope AS s JOIN asked AS a
                  ON s.series_measure = a.measure AND s.series_provider = a.provider
                WHERE s.kind = 'rebase' AND s.date >= a.earliest AND s.date <= a.month""",
                params,
            ).fetchall()
        }
    return ids


def joined(con: duckdb.DuckDBPyConnection, base: Provenance, source_ids: Iterable, marks: Iterable[str]) -> Provenance:
    """An output's provenance with more rows in it (the review record's: a file's rows name their source,
    a row written in the app only its marking): the sources of both, the most restrictive marking of all."""
    more = provenance(con, {*base.source_ids, *source_ids})
    return Provenance(
        sources=more.sources,
        classification=most_restrictive([more.classification, base.classification, *marks]),
        sample=more.sample or base.sample,
        source_ids=more.source_ids,
    )
