"""The Trends page's layout: its choices, the trend or SPC charts of each measure, and the month pack."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.app.requests import BASELINE_RANGE, WINDOW_RANGE, TrendsContext, TrendsRequest
from opsg_metrics.app.screens import commentary as notes
from opsg_metrics.queries import record, trends
from opsg_metrics.render import files as export
from opsg_metrics.render import layout
from opsg_metrics.rules import spc
from opsg_metrics.store import classification, parse
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person


def choices(request: TrendsRequest, context: TrendsContext) -> TrendsRequest:
    """The measures, providers, months and view, set from the request: what the page now shows."""
    names = context.measure_names
    left, right = st.columns(2)
    with left:
        measures = st.multiselect("Measures", list(names), default=list(request.measures), format_func=names.get)
    with right:
        available = context.catalogue.providers_reporting(measures)
        providers = st.multiselect("Providers", available, default=[p for p in request.providers if p in available])
    start, end = ui.month_slider(list(context.months), request.start, request.end)
    spc_mode = st.toggle(
        "SPC view",
        value=request.spc,
        help="Statistical process control (XmR): is a miss noise, a signal, or a process that cannot "
        "meet its target? Limits are computed over the months shown.",
    )
    toggles = st.columns(4)
    rebase, baseline = request.rebase, request.baseline
    incidents, annotations, window = request.incidents, request.annotations, request.window
    y_scale = request.y_scale
    if spc_mode:
        with toggles[0]:
            rebase = st.toggle(
                "Rebase at annotations",
                value=request.rebase,
                help="Recompute the limits from each annotation of kind 'rebase' "
                "(a methodology change, a fix deployed).",
            )
        with toggles[1]:
            baseline = st.number_input(
                "Baseline (first N figures of each segment; 0 = all)",
                *BASELINE_RANGE,
                request.baseline,
                help=f"Hold the limits computed from the first N figures (at least {spc.MIN_POINTS}).",
            )
    else:
        with toggles[0]:
            incidents = st.toggle("Major incidents", value=request.incidents)
        with toggles[1]:
            annotations = st.toggle("Annotations", value=request.annotations)
        with toggles[2]:
            shared = st.toggle(
                "One y axis for all",
                value=request.y_scale == "shared",
                help="Off: each provider's panel spans its own figures, so one near 100% is not flattened beside "
                "one at 55%. On: every panel on one scale, to compare their levels.",
            )
            y_scale = "shared" if shared else "independent"
        with toggles[3]:
            window = st.number_input("Rolling window (months)", *WINDOW_RANGE, request.window)
    return TrendsRequest(
        tuple(measures),
        tuple(providers),
        start,
        end,
        int(window),
        bool(incidents),
        bool(annotations),
        bool(spc_mode),
        bool(rebase),
        int(baseline),
        y_scale,
    )


def shown_for(request: TrendsRequest, context: TrendsContext) -> dict[str, tuple[str, ...]]:
    """Each measure's providers among those chosen (saying so for a measure none of them reports)."""
    shown = {}
    for measure in request.measures:
        reporting = context.catalogue.providers_reporting([measure])
        shown[measure] = tuple(p for p in request.providers if p in reporting)
        if not shown[measure]:
            st.info(f"{context.measure_names[measure]} is not reported for {', '.join(request.providers)}.")
    return shown


def spc_charts(
    version: tuple, request: TrendsRequest, shown: dict[str, tuple[str, ...]], view_of: Callable, export_of: Callable
) -> None:
    """Each measure's SPC chart with its readings, then every reading in one table.

    `view_of(*key)` is the cached SPC view and `export_of(*key, fmt, layout)` its export, key being (version,
    measure, providers, start, end, baseline, rebase)."""
    readings, shown_classes = [], []
    for measure in request.measures:
        if not shown[measure]:
            continue
        key = (version, measure, shown[measure], request.start, request.end, request.baseline, request.rebase)
        view = view_of(*key)
        if view is None:
            st.info(f"No figures for {measure} in this range.")
            continue
        ui.altair(("spc", *key), lambda view=view: view.chart)
        for provider, result in view.results.items():
            st.markdown(
                f"**{ui.md_escape(measure)} · {ui.md_escape(provider)}** `{spc.badge_text(spc.badges(result))}` "
                f"{ui.md_escape(spc.reading(result, view.unit))}"
            )
        st.caption(ui.md_escape(" · ".join(view.provenance.footer_lines(view.pmr_month, view.rebase_notes))))
        ui.chart_downloads(
            f"download-spc-{measure}",
            f"{request.start}_to_{request.end}_{measure}_SPC",
            lambda fmt, layout, key=key: export_of(*key, fmt, layout),
            view.provenance.classification,
        )
        readings.append(trends.spc_table(view).assign(Measure=measure))
        shown_classes.append(view.provenance.classification)
    if readings:
        st.subheader("The SPC readings")
        st.caption(
            "~ common cause · H / L special cause high / low · T target, M minimum: P consistently met, "
            "F consistently missed, ? hit and miss. Method and its differences from the reference: docs/spc.md."
        )
        table = pd.concat(readings, ignore_index=True)
        ui.table(table, width="stretch", hide_index=True)
        ui.csv_download(
            "Download the readings (CSV)",
            table,
            f"opsg-spc-{request.start}_to_{request.end}.csv",
            "spc-csv",
            classification.most_restrictive(shown_classes),
        )


def trend_charts(
    version: tuple, request: TrendsRequest, shown: dict[str, tuple[str, ...]], view_of: Callable, export_of: Callable
) -> None:
    """Each measure's trend chart, then the figures behind them in one table.

    `view_of(*key)` is the cached trend view and `export_of(*key, fmt, layout)` its export, key being (version,
    measure, providers, start, end, window, incidents, annotations, y_scale)."""
    tables, shown_classes = [], []
    for measure in request.measures:
        if not shown[measure]:
            continue
        key = (
            version,
            measure,
            shown[measure],
            request.start,
            request.end,
            request.window,
            request.incidents,
            request.annotations,
            request.y_scale,
        )
        view = view_of(*key)
        if view is None:
            st.info(f"No figures for {measure} in this range.")
            continue
        ui.altair(("trend", *key), lambda view=view: view.chart)
        st.caption(ui.md_escape(" · ".join(view.provenance.footer_lines(view.pmr_month))))
        for said in view.source.said:  # where the minutes said otherwise than the record
            st.caption(ui.md_escape(said))
        key_lines = trends.annotation_lines(view.data.annotations)  # the key to the numbers above the plot
        if key_lines:
            st.caption("  \n".join(ui.md_escape(line) for line in key_lines))
        ui.chart_downloads(
            f"download-{measure}",
            export.file_stem(view),
            lambda fmt, layout, key=key: export_of(*key, fmt, layout),
            view.provenance.classification,
        )
        tables.append(trends.figures_table(view.rows))
        shown_classes.append(view.provenance.classification)
    if tables:
        table = pd.concat(tables, ignore_index=True)
        st.subheader("The figures behind the charts")
        ui.table(table, width="stretch", hide_index=True)
        ui.csv_download(
            "Download these rows (CSV)",
            table,
            f"opsg-figures-{request.start}_to_{request.end}.csv",
            "figures-csv",
            classification.most_restrictive(shown_classes),
        )


def month_pack(months: list[str]) -> None:
    """The month pack: every measure × provider with a figure in the chosen month, in one zip."""
    st.subheader("Month pack")
    st.caption("Every measure × provider with a figure in the month, each over the 24 months to it, in one zip.")
    pack_cols = st.columns([2, 1, 1.5, 1])
    with pack_cols[0]:
        pack_month = st.selectbox(
            "PMR month",
            list(reversed(months)),
            format_func=lambda m: words.month_label(parse.parse_month(m)),
            key="pack-month",
        )
    with pack_cols[1]:
        pack_format = st.selectbox("Format", export.FORMATS, key="pack-format")
    with pack_cols[2]:
        pack_layout = st.selectbox(
            "Print layout",
            list(layout.PRESETS),
            index=list(layout.PRESETS).index(layout.DEFAULT_PRESET),
            format_func=lambda k: layout.PRESETS[k].label,
            key="pack-layout",
        )
    with pack_cols[3]:
        st.write("")
        build = st.button("Build month pack", type="primary", key="pack-build")
    if build:
        progress = st.progress(0.0, text="Starting…")

        def report(number, total, name):
            progress.progress(number / total, text=f"{number} of {total}: {name}")

        try:
            name, content, entries = export.month_pack(
                ui.cursor(),
                parse.parse_month(pack_month),
                pack_format,
                progress=report,
                exported_by=ui.exporter(),
                layout=pack_layout,
            )
        except OpsgError as exc:
            progress.empty()
            st.warning(f"No month pack: {exc}.")
        else:
            progress.progress(1.0, text=f"Done: {len(entries)} charts")
            st.session_state["month_pack"] = (
                ui.person(),
                pack_month,
                name,
                content,
                len(entries),
                classification.most_restrictive(e.classification for e in entries),
            )
    built = st.session_state.get("month_pack")
    if built is not None and built[0] == ui.person():  # made for this person (and their clearance)
        _, made_for, name, content, count, pack_class = built
        if ui.restricted_confirmed(pack_class, "pack"):
            st.download_button(
                f"Download {name} ({count} charts, {len(content) / 1e6:.1f} MB)",
                data=ui.export_made(lambda: content, name, pack_class, parse.parse_month(made_for)),
                file_name=name,
                mime="application/zip",
                on_click="ignore",
            )


def commentary(
    shown: TrendsRequest, context: TrendsContext, who: Person, notes_of: Callable[[str], record.MonthNotes]
) -> None:
    """The secretariat's commentary on one of the series shown, for one month of the range (the last by
    default): read, last month's beside it, and written as a new version."""
    with st.expander("Secretariat commentary"):
        months = [m for m in context.months if shown.start <= m <= shown.end]
        left, middle, right = st.columns(3)
        with left:
            measure = st.selectbox("Measure", list(shown.measures), key="trend-commentary-measure")
        with middle:
            providers = [p for p in shown.providers if p in context.catalogue.providers_reporting([measure])]
            provider = st.selectbox("Provider", providers, key="trend-commentary-provider")
        with right:
            month = st.selectbox(
                "PMR month",
                months[::-1],
                format_func=lambda key: words.month_label(parse.parse_month(key)),
                key="trend-commentary-month",
            )
        if provider and month:
            found = notes_of(month)  # the month's commentary, read once a data version
            marking = found.markings.get((measure, provider), "white")
            notes.editor(found, measure, provider, who, marking)
