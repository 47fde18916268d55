"""Print-quality chart files through vl-convert (offline, data embedded), and month packs.

Every exported chart carries a footer with its sources, the PMR month, the
sample-data notice when it applies and the most restrictive classification of
what it shows. File names say what they are: 2020-04_CPM1_DCC.png.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pandas as pd
import vl_convert as vlc

from . import charts, parse
from .classification import LABELS, most_restrictive
from .db import OpsgError
from .status import DEFAULT_WINDOW, status_for_month, status_table
from .trends import Provenance, TrendView, annotation_lines, trend_view

FORMATS = ("png", "svg", "pdf")
PNG_PPI = 200
PACK_MONTHS = 24
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "zip": "application/zip"}

for _fonts in (Path("/usr/share/fonts"),):
    if _fonts.is_dir():
        vlc.register_font_directory(str(_fonts))


def render(spec: dict, fmt: str) -> bytes:
    """A Vega-Lite spec as PNG (at PNG_PPI), SVG or PDF bytes."""
    if fmt == "png":
        return vlc.vegalite_to_png(spec, ppi=PNG_PPI)
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    if fmt == "pdf":
        return vlc.vegalite_to_pdf(spec)
    raise OpsgError(f"unknown format '{fmt}' (use {', '.join(FORMATS)})")


def chart_spec(chart, provenance: Provenance, pmr_month: date | None = None, notes: list[str] | None = None) -> dict:
    """Any chart with its provenance footer (notes, sources, PMR month, sample notice, classification),
    as the Vega-Lite spec that gets rendered."""
    # Composed as specs from the chart's own (made once per chart, unvalidated: the test suite validates
    # these charts): an export of a chart already drawn costs little more than vl-convert itself.
    return charts.spec_with_footer(charts.spec_of(chart), provenance.footer_lines(pmr_month, notes))


def export_chart(chart, provenance: Provenance, fmt: str, *, pmr_month: date | None = None,
                 notes: list[str] | None = None) -> bytes:
    """Any chart as a PNG/SVG/PDF file carrying its provenance footer."""
    return render(chart_spec(chart, provenance, pmr_month, notes), fmt)


def export_spec(view: TrendView) -> dict:
    """A trend view with its provenance footer (and its numbered annotations)."""
    return chart_spec(view.chart, view.provenance, view.pmr_month, annotation_lines(view.data.annotations))


def slug(provider: str) -> str:
    """A provider as a file-name part: 'CSP C&S' -> 'CSP-CandS'."""
    return provider.replace("&", "and").replace(" ", "-")


def file_name(view: TrendView, fmt: str) -> str:
    providers = "_".join(slug(p) for p in view.data.providers)
    months = view.rows["month"].dt.date
    first, last = months.min(), months.max()
    when = parse.month_key(last) if first == last else f"{parse.month_key(first)}_to_{parse.month_key(last)}"
    return f"{when}_{view.measure}_{providers}.{fmt}"


def export_view(view: TrendView, fmt: str) -> tuple[str, bytes]:
    return file_name(view, fmt), render(export_spec(view), fmt)


def export_spc_view(view, fmt: str) -> tuple[str, bytes]:
    """An SPC view as a file: its chart with the provenance footer (rebases and the method noted)."""
    providers = "_".join(slug(p) for p in view.results)
    months = [m for r in view.results.values() for m in r.points["month"]]
    first, last = (min(months), max(months)) if months else (view.pmr_month, view.pmr_month)
    name = f"{parse.month_key(first)}_to_{parse.month_key(last)}_{view.measure}_{providers}_SPC.{fmt}"
    return name, export_chart(view.chart, view.provenance, fmt, pmr_month=view.pmr_month, notes=view.rebase_notes)


@dataclass
class PackEntry:
    file: str
    measure: str
    provider: str
    classification: str
    sources: str


def series_with_data(con, month: date, measure: str | None = None) -> list[tuple[str, str]]:
    """(measure, provider) pairs with a figure in the month, in catalogue order."""
    frame = status_for_month(con, month, measure=measure)
    frame = frame[frame["value"].notna()]
    return list(zip(frame["measure"], frame["provider"]))


def month_charts(
    con: duckdb.DuckDBPyConnection,
    month: date,
    fmt: str,
    *,
    measure: str | None = None,
    window: int = DEFAULT_WINDOW,
    progress: Callable[[int, int, str], None] | None = None,
) -> Iterator[tuple[PackEntry, bytes]]:
    """One chart per measure and provider with data in the month, over the PACK_MONTHS months to it."""
    if fmt not in FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(FORMATS)})")
    series = series_with_data(con, month, measure)
    if not series:
        raise OpsgError(f"no figures for {parse.month_label(month)}" + (f" for {measure}" if measure else ""))
    start = (pd.Timestamp(month) - pd.DateOffset(months=PACK_MONTHS - 1)).date()
    table = status_table(con, window=window, until=month)      # once for the whole pack
    for number, (series_measure, provider) in enumerate(series, start=1):
        view = trend_view(con, series_measure, [provider], start, month, window=window, table=table)
        name = f"{parse.month_key(month)}_{series_measure}_{slug(provider)}.{fmt}"
        if progress:
            progress(number, len(series), name)
        entry = PackEntry(name, series_measure, provider, view.provenance.classification,
                          "; ".join(label for label, *_ in view.provenance.sources))
        yield entry, render(export_spec(view), fmt)


def month_classification(con, month: date, measure: str | None = None) -> str:
    """The most restrictive classification a month's charts would carry: the sources of the PACK_MONTHS
    of figures to the month, and of the incidents and annotations drawn on them."""
    start = (pd.Timestamp(month) - pd.DateOffset(months=PACK_MONTHS - 1)).date()
    rows = con.execute(
        """SELECT DISTINCT s.classification FROM sources AS s WHERE s.source_id IN (
               SELECT source_id FROM current_measure_values
               WHERE month BETWEEN ? AND ? AND (? IS NULL OR measure = ?)
               UNION SELECT source_id FROM current_incidents
               WHERE major AND opened >= ? AND opened < ?::DATE + INTERVAL 1 MONTH
               UNION SELECT source_id FROM current_annotations WHERE date >= ? AND date < ?::DATE + INTERVAL 1 MONTH)""",
        [start, month, measure, measure, start, month, start, month],
    ).fetchall()
    return most_restrictive(r[0] for r in rows)


def month_pack(con, month: date, fmt: str = "png", **options) -> tuple[str, bytes, list[PackEntry]]:
    """A zip of every chart of the month, with a manifest; named with the most restrictive classification."""
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for entry, content in month_charts(con, month, fmt, **options):
            pack.writestr(entry.file, content)
            entries.append(entry)
        classification = most_restrictive(e.classification for e in entries)
        pack.writestr("manifest.csv", _manifest(entries))
        pack.writestr("README.txt", _readme(month, entries, classification))
    name = f"opsg-charts-{parse.month_key(month)}-{classification}.zip"
    return name, buffer.getvalue(), entries


def write_month_charts(con, month: date, out_dir: Path, fmt: str, **options) -> list[PackEntry]:
    """The month's charts as files in a folder, with manifest.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for entry, content in month_charts(con, month, fmt, **options):
        (out_dir / entry.file).write_bytes(content)
        entries.append(entry)
    (out_dir / "manifest.csv").write_text(_manifest(entries), encoding="utf-8")
    return entries


def _manifest(entries: list[PackEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "measure", "provider", "classification", "sources"])
    for e in entries:
        writer.writerow([e.file, e.measure, e.provider, e.classification, e.sources])
    return out.getvalue()


def _readme(month: date, entries: list[PackEntry], classification: str) -> str:
    return (
        f"OPSG Metrics chart pack for the PMR of {parse.month_label(month)}\n"
        f"{len(entries)} charts, one per measure and provider with a figure that month, each covering the "
        f"{PACK_MONTHS} months to {parse.month_label(month)}.\n"
        f"Classification of this pack: {LABELS[classification]} (the most restrictive of its charts; "
        "each chart's own is in manifest.csv and on the chart).\n"
    )


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice for CSV injection); numbers, including negative ones, are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame, classification: str) -> bytes:
    """The frame as UTF-8 CSV (with a BOM, so Excel reads it right), formula-like text neutralised,
    its classification marked on the first line."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    marking = f"Classification: {LABELS[classification]}\n"
    return (marking + safe.to_csv(index=False)).encode("utf-8-sig")


def check_restricted(classification: str, allowed: bool) -> None:
    """Refuse to export AMBER or RED data unless the caller has explicitly allowed it."""
    if classification in ("amber", "red") and not allowed:
        raise OpsgError(f"the output would be classified {classification.upper()} under the Panel Information "
                        "Policy; add --allow-restricted to export it (the marking is printed on it)")


SUMMARY_FORMATS = ("md", "docx", "html")


def summary_charts(con, summary, fmt: str) -> list[tuple[str, bytes]]:
    """One chart per measure below target (its providers below target), over the PACK_MONTHS to the month.

    The charts show earlier months too: their sources join the summary's (classification and sample flag)."""
    start = (pd.Timestamp(summary.month) - pd.DateOffset(months=PACK_MONTHS - 1)).date()
    table = status_table(con, window=summary.window, until=summary.month)
    out = []
    for measure, providers in summary.charts:
        view = trend_view(con, measure, providers, start, summary.month, window=summary.window, table=table)
        if view is None:
            continue
        caption = f"{measure}, {', '.join(providers)}: the {PACK_MONTHS} months to {parse.month_label(summary.month)}"
        out.append((caption, render(export_spec(view), fmt)))
        summary.classification = most_restrictive([summary.classification, view.provenance.classification])
        summary.sample = summary.sample or view.provenance.sample
    return out


def summary_document(con, month: date, fmt: str, *, window: int = DEFAULT_WINDOW, commentary: dict | None = None,
                     charts: bool = True) -> tuple[str, bytes, str]:
    """The month's summary as a file: (file name, bytes, classification). Word and HTML carry the
    charts of the misses."""
    from . import summary as summaries

    if fmt not in SUMMARY_FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(SUMMARY_FORMATS)})")
    built = summaries.build_summary(con, month, window=window)
    # Charts first: what they show can raise the document's classification.
    rendered = summary_charts(con, built, "png" if fmt == "docx" else "svg") if charts and fmt != "md" else []
    name = f"pmr-summary-{parse.month_key(month)}-{built.classification}.{fmt}"
    if fmt == "md":
        content = summaries.to_markdown(built, commentary).encode("utf-8")
    elif fmt == "html":
        content = summaries.to_html(built, commentary, [(c, svg.decode("utf-8")) for c, svg in rendered]).encode("utf-8")
    else:
        content = summaries.to_docx(built, commentary, rendered)
    return name, content, built.classification
