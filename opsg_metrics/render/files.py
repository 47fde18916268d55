"""Print-quality chart files through vl-convert (offline, data embedded), and month packs.

Every exported chart carries a footer with its sources, the PMR month, the
sample-data notice when it applies and the most restrictive classification of
what it shows. File names say what they are: 2020-04_CPM1_DCC.png.
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, partial
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd

from opsg_metrics import words
from opsg_metrics.queries.provenance import Provenance
from opsg_metrics.queries.trends import TrendData, annotation_lines, trend_data
from opsg_metrics.render.charts.spec import spec_of
from opsg_metrics.render.charts.views import SpcView, TrendView, view_of
from opsg_metrics.render.csv import csv_bytes
from opsg_metrics.render.draw import FORMATS, render, render_many
from opsg_metrics.render.layout import DEFAULT_PRESET, Heading, heading_of, preset, print_spec
from opsg_metrics.rules.status import DEFAULT_WINDOW, status_for_month, status_table
from opsg_metrics.store.classification import LABELS, check_restricted, most_restrictive
from opsg_metrics.store.errors import OpsgError

PACK_MONTHS = 24
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "zip": "application/zip"}


def chart_spec(
    chart: alt.TopLevelMixin,
    provenance: Provenance,
    pmr_month: date | None = None,
    notes: list[str] | None = None,
    exported_by: str | None = None,
    *,
    layout: str = DEFAULT_PRESET,
    heading: Heading | None = None,
) -> dict:
    """Any chart laid out for print at the preset `layout` (render/layout.py): its heading (by default its
    own title), its provenance footer (notes, sources, PMR month, sample notice, classification), as the
    Vega-Lite spec that gets rendered."""
    # Composed as specs from the chart's own (made once per chart, unvalidated: the test suite validates
    # these charts): an export of a chart already drawn costs little more than vl-convert itself.
    spec = spec_of(chart)
    return print_spec(
        spec,
        preset(layout),
        heading or heading_of(spec),
        provenance.footer_lines(pmr_month, notes, exported_by),
        provenance.classification,
    )


def export_chart(
    chart: alt.TopLevelMixin,
    provenance: Provenance,
    fmt: str,
    *,
    pmr_month: date | None = None,
    notes: list[str] | None = None,
    exported_by: str | None = None,
    layout: str = DEFAULT_PRESET,
    heading: Heading | None = None,
) -> bytes:
    """Any chart as a PNG/SVG/PDF file laid out for print at `layout`, carrying its provenance footer (and,
    above WHITE, who exported it)."""
    return render(chart_spec(chart, provenance, pmr_month, notes, exported_by, layout=layout, heading=heading), fmt)


def levels_notes(rows: pd.DataFrame) -> list[str]:
    """The footer's note that the service levels drawn are not yet verified, when any is not."""
    if "level_verified" not in rows.columns or "target" not in rows.columns:
        return []
    drawn = rows[rows["target"].notna()]
    return [words.LEVELS_UNVERIFIED] if len(drawn) and not drawn["level_verified"].astype(bool).all() else []


def trend_heading(view: TrendView) -> Heading:
    """What a printed trend chart says at its top: the message of each provider's latest figure, then the
    measure, the providers and the period."""
    rows = view.rows
    latest = []
    for provider in view.data.providers:
        reported = rows[(rows["provider"] == provider) & (rows["status"] != "no_data")]
        if reported.empty:
            continue
        last = reported.sort_values("month").iloc[-1]
        latest.append(
            (
                provider,
                str(last["status"]),
                int(last.get("run_below_target") or 0),
                int(last.get("run_below_minimum") or 0),
            )
        )
    first, month = rows["month"].min().date(), rows["month"].max().date()
    unit = " (%)" if view.data.unit == "percent" else ""
    return Heading(
        words.trend_title(view.measure, latest, month),
        f"{view.data.title}, {words.providers_text(view.data.providers)}, {words.period_text(first, month)}{unit}",
    )


def export_spec(view: TrendView, exported_by: str | None = None, layout: str = DEFAULT_PRESET) -> dict:
    """A trend view laid out for print: its heading, its provenance footer (its numbered annotations, and
    whether its levels are verified)."""
    notes = (
        annotation_lines(view.data.annotations)
        + levels_notes(view.rows)
        + list(view.source.said)  # where the minutes said otherwise
    )
    return chart_spec(
        view.chart, view.provenance, view.pmr_month, notes, exported_by, layout=layout, heading=trend_heading(view)
    )


def slug(provider: str) -> str:
    """A provider as a file-name part: 'CSP C&S' -> 'CSP-CandS'."""
    return provider.replace("&", "and").replace(" ", "-")


def _span(first: date, last: date) -> str:
    return words.month_key(last) if first == last else f"{words.month_key(first)}_to_{words.month_key(last)}"


def file_stem(view: TrendView) -> str:
    """A trend chart's file name without its format: '2019-01_to_2020-04_PM2_CSP-N_CSP-CandS'."""
    providers = "_".join(slug(p) for p in view.data.providers)
    months = view.rows["month"].dt.date
    return f"{_span(months.min(), months.max())}_{view.measure}_{providers}"


def file_name(view: TrendView, fmt: str) -> str:
    return f"{file_stem(view)}.{fmt}"


def export_view(
    view: TrendView, fmt: str, exported_by: str | None = None, layout: str = DEFAULT_PRESET
) -> tuple[str, bytes]:
    return file_name(view, fmt), render(export_spec(view, exported_by, layout), fmt)


def spc_file_stem(view: SpcView) -> str:
    """An SPC chart's file name without its format: '2018-01_to_2021-12_CPM1_DCC_SPC'."""
    providers = "_".join(slug(p) for p in view.results)
    months = [m for r in view.results.values() for m in r.points["month"]]
    first, last = (min(months), max(months)) if months else (view.pmr_month, view.pmr_month)
    return f"{words.month_key(first)}_to_{words.month_key(last)}_{view.measure}_{providers}_SPC"


def spc_heading(view: SpcView) -> Heading:
    """What a printed SPC chart says at its top."""
    providers = list(view.results)
    months = [m for r in view.results.values() for m in r.points["month"]]
    first, last = (min(months), max(months)) if months else (view.pmr_month, view.pmr_month)
    return Heading(
        f"{view.measure} in {words.providers_text(providers)}: variation and assurance (XmR chart)",
        f"{view.measure}: {view.source.name}, {words.period_text(pd.Timestamp(first).date(), pd.Timestamp(last).date())}"
        + (" (%)" if view.unit == "percent" else ""),
    )


def export_spc_view(
    view: SpcView, fmt: str, exported_by: str | None = None, layout: str = DEFAULT_PRESET
) -> tuple[str, bytes]:
    """An SPC view as a file laid out for print: its chart with the provenance footer (rebases and the
    method noted)."""
    return (
        f"{spc_file_stem(view)}.{fmt}",
        export_chart(
            view.chart,
            view.provenance,
            fmt,
            pmr_month=view.pmr_month,
            notes=view.rebase_notes,
            exported_by=exported_by,
            layout=layout,
            heading=spc_heading(view),
        ),
    )


@dataclass(frozen=True)
class PackEntry:
    file: str
    measure: str
    provider: str
    classification: str
    sources: str


@dataclass(frozen=True)
class PackChart:
    """One chart of a month pack: its manifest entry (and so its classification, known from its data before
    anything is drawn) and its spec, laid out for print when first asked for. A pack's specs are made as
    the renderer takes them (`drawn`), so that making the next ones overlaps drawing the ones before."""

    entry: PackEntry
    make: Callable[[], dict] = field(repr=False, compare=False)

    @cached_property
    def spec(self) -> dict:
        return self.make()


def series_with_data(con: duckdb.DuckDBPyConnection, month: date, measure: str | None = None) -> list[tuple[str, str]]:
    """(measure, provider) pairs with a figure in the month, in catalogue order."""
    frame = status_for_month(con, month, measure=measure)
    frame = frame[frame["value"].notna()]
    return list(zip(frame["measure"], frame["provider"]))


def pack_charts(
    con: duckdb.DuckDBPyConnection,
    month: date,
    fmt: str,
    *,
    measure: str | None = None,
    window: int = DEFAULT_WINDOW,
    exported_by: str | None = None,
    layout: str = DEFAULT_PRESET,
) -> list[PackChart]:
    """One chart per measure and provider with data in the month, over the PACK_MONTHS months to it, as
    specs laid out for print at `layout` (nothing drawn yet): the pack's classification and its gate come
    from exactly these charts."""
    preset(layout)  # an unknown layout refused before any work
    if fmt not in FORMATS:
        raise OpsgError(f"unknown format '{fmt}' (use {', '.join(FORMATS)})")
    series = series_with_data(con, month, measure)
    if not series:
        raise OpsgError(f"no figures for {words.month_label(month)}" + (f" for {measure}" if measure else ""))
    start = words.months_back(month, PACK_MONTHS - 1)
    table = status_table(con, window=window, until=month)  # once for the whole pack
    out = []
    for series_measure, provider in series:
        found = trend_data(con, series_measure, [provider], start, month, window=window, table=table)
        name = f"{words.month_key(month)}_{series_measure}_{slug(provider)}.{fmt}"
        entry = PackEntry(
            name,
            series_measure,
            provider,
            found.provenance.classification,
            "; ".join(label for label, *_ in found.provenance.sources),
        )
        out.append(PackChart(entry, partial(_pack_spec, found, exported_by, layout)))
    return out


def _pack_spec(found: TrendData, exported_by: str | None, layout: str) -> dict:
    return export_spec(view_of(found), exported_by, layout)


def pack_classification(charts: list[PackChart]) -> str:
    """The most restrictive classification of a pack's charts (each chart's own is on it)."""
    return most_restrictive(chart.entry.classification for chart in charts)


def drawn(
    charts: list[PackChart], fmt: str, progress: Callable[[int, int, str], None] | None = None
) -> Iterator[tuple[PackEntry, bytes]]:
    """Each chart of a pack drawn (in parallel, one per core), in order, reporting progress as each is ready."""
    for number, (chart, content) in enumerate(zip(charts, render_many((c.spec for c in charts), fmt)), start=1):
        if progress:
            progress(number, len(charts), chart.entry.file)
        yield chart.entry, content


def month_pack(
    con: duckdb.DuckDBPyConnection,
    month: date,
    fmt: str = "png",
    *,
    allow_restricted: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    **options: object,
) -> tuple[str, bytes, list[PackEntry]]:
    """A zip of every chart of the month, with a manifest; named with the most restrictive classification.

    allow_restricted=False refuses (before drawing anything) a pack that would be AMBER or RED."""
    charts = pack_charts(con, month, fmt, **options)
    classification = pack_classification(charts)
    check_restricted(classification, allow_restricted)
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for entry, content in drawn(charts, fmt, progress):
            pack.writestr(entry.file, content)
            entries.append(entry)
        pack.writestr("manifest.csv", manifest_csv(entries))
        pack.writestr("README.txt", _readme(month, entries, classification))
    name = f"opsg-charts-{words.month_key(month)}-{classification}.zip"
    return name, buffer.getvalue(), entries


def write_file(path: Path, content: bytes) -> None:
    """Write a file whole or not at all: under a temporary name in its folder, then renamed into place (so
    a pipe or a device at `path` is replaced, never opened, and a failure leaves what was there)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OpsgError(f"{path}: cannot write the file ({exc.strerror or exc}); nothing was written") from None


def write_month_charts(
    charts: list[PackChart], out_dir: Path, fmt: str, progress: Callable[[int, int, str], None] | None = None
) -> list[PackEntry]:
    """A pack's charts as files in a folder, with manifest.csv (the folder must exist)."""
    entries = []
    for entry, content in drawn(charts, fmt, progress):
        write_file(out_dir / entry.file, content)
        entries.append(entry)
    write_file(out_dir / "manifest.csv", manifest_csv(entries))
    return entries


def manifest_csv(entries: list[PackEntry]) -> bytes:
    """The pack's manifest (file, measure, provider, classification, sources), through the one CSV writer."""
    frame = pd.DataFrame(
        [vars(e) for e in entries], columns=["file", "measure", "provider", "classification", "sources"]
    )
    return csv_bytes(frame, most_restrictive(e.classification for e in entries))


def _readme(month: date, entries: list[PackEntry], classification: str) -> str:
    return (
        f"OPSG Metrics chart pack for the PMR of {words.month_label(month)}\n"
        f"{len(entries)} charts, one per measure and provider with a figure that month, each covering the "
        f"{PACK_MONTHS} months to {words.month_label(month)}.\n"
        f"Classification of this pack: {LABELS[classification]} (the most restrictive of its charts; "
        "each chart's own is in manifest.csv and on the chart).\n"
    )
