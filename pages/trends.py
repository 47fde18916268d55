"""Trends: measures over time against their target and minimum, region by region, with exports."""

from datetime import date

import streamlit as st

from opsg_metrics.store import classification
from opsg_metrics.store import connect as db
from opsg_metrics.render import files as export
from opsg_metrics.store import parse
from opsg_metrics.rules import spc
from opsg_metrics.rules import status
from opsg_metrics.queries import trends
from opsg_metrics.store import catalogue
from opsg_metrics.render.charts import views
from opsg_metrics.app import ui
from opsg_metrics import words

info, version = ui.page_start("Trends")


@ui.cache_data(show_spinner=False, max_entries=8)
def _options(version):
    cur = ui.cursor()
    return catalogue.measure_options(cur), [words.month_key(m) for m in reversed(status.available_months(cur))]


@ui.cache_data(show_spinner=False, max_entries=64)
def _providers_for(version, measures):
    return catalogue.providers_for(ui.cursor(), list(measures))


@ui.cache_data(show_spinner=False, max_entries=64)
def _resolve(version, measures, providers):
    return catalogue.resolve_selection(ui.cursor(), list(measures), list(providers))


@ui.cache_resource(show_spinner="Drawing the chart…", max_entries=32)
def _view(version, measure, providers, start, end, window, incidents, annotations):
    return views.trend_view(ui.cursor(), measure, list(providers), parse.parse_month(start), parse.parse_month(end),
                             window=window, show_incidents=incidents, show_annotations=annotations)


@ui.cache_resource(show_spinner="Working out the process limits…", max_entries=32)
def _spc_view(version, measure, providers, start, end, baseline, rebases):
    return views.spc_view(ui.cursor(), measure, list(providers), parse.parse_month(start), parse.parse_month(end),
                           baseline=baseline or None, use_rebases=rebases)


@ui.cache_data(show_spinner=False, max_entries=64)
def _spc_export(version, measure, providers, start, end, baseline, rebases, fmt):
    return export.export_spc_view(_spc_view(version, measure, providers, start, end, baseline, rebases), fmt)[1]


@ui.cache_data(show_spinner=False, max_entries=64)
def _export(version, measure, providers, start, end, window, incidents, annotations, fmt):
    view = _view(version, measure, providers, start, end, window, incidents, annotations)
    return export.export_view(view, fmt)[1]


measure_names, months = _options(version)
query = st.query_params

# --- the view asked for by the link, checked before the widgets use it
asked_measures = query.get_all("measure") or ["CPM1"]
asked_providers = query.get_all("provider")
measures, providers, problems = _resolve(version, tuple(asked_measures), tuple(asked_providers))
for problem in problems:
    st.warning(f"{ui.md_escape(problem)}. The rest of the link is shown.")
measures = measures or ["CPM1"]
available = _providers_for(version, tuple(measures))
not_reported = [p for p in providers if p not in available]
if not_reported:
    st.warning(f"{', '.join(measures)} {'is' if len(measures) == 1 else 'are'} not reported for "
               f"{ui.md_escape(', '.join(not_reported))}" + ("." if [p for p in providers if p in available] else
                                                            f"; showing {available[0]} instead."))
providers = [p for p in providers if p in available] or available[:1]
default_start = months[max(0, len(months) - 36)]
start_key, end_key = ui.query_range(months, default_start)

left, right = st.columns(2)
with left:
    measures = st.multiselect("Measures", list(measure_names), default=measures, format_func=measure_names.get)
with right:
    available = _providers_for(version, tuple(measures))
    providers = st.multiselect("Providers", available, default=[p for p in providers if p in available])
start_key, end_key = ui.month_slider(months, start_key, end_key)
spc_mode = st.toggle("SPC view", value=query.get("view") == "spc",
                     help="Statistical process control (XmR): is a miss noise, a signal, or a process that cannot "
                          "meet its target? Limits are computed over the months shown.")
toggles = st.columns(3)
if spc_mode:
    with toggles[0]:
        use_rebases = st.toggle("Rebase at annotations", value=query.get("rebase", "1") != "0",
                                help="Recompute the limits from each annotation of kind 'rebase' "
                                     "(a methodology change, a fix deployed).")
    with toggles[1]:
        baseline = st.number_input(
            "Baseline (first N figures of each segment; 0 = all)", 0, 120, ui.query_int("baseline", 0, 120, 0),
            help=f"Hold the limits computed from the first N figures (at least {spc.MIN_POINTS}).")
    show_incidents = query.get("incidents", "1") != "0"
    show_annotations = query.get("annotations", "1") != "0"
    window = ui.query_int("window", 1, 120, status.DEFAULT_WINDOW)
else:
    use_rebases, baseline = query.get("rebase", "1") != "0", ui.query_int("baseline", 0, 120, 0)
    with toggles[0]:
        show_incidents = st.toggle("Major incidents", value=query.get("incidents", "1") != "0")
    with toggles[1]:
        show_annotations = st.toggle("Annotations", value=query.get("annotations", "1") != "0")
    with toggles[2]:
        window = st.number_input("Rolling window (months)", 1, 120,
                                 ui.query_int("window", 1, 120, status.DEFAULT_WINDOW))

st.query_params.from_dict({
    "measure": measures, "provider": providers, "from": start_key, "to": end_key,
    "incidents": "1" if show_incidents else "0", "annotations": "1" if show_annotations else "0",
    "window": str(window), **({"view": "spc"} if spc_mode else {}),
    **({"rebase": "0"} if not use_rebases else {}), **({"baseline": str(baseline)} if baseline else {}),
})

if not measures or not providers:
    st.info("Choose at least one measure and one provider.")
    st.stop()

shown_for = {}
for measure in measures:
    shown_for[measure] = tuple(p for p in providers if p in _providers_for(version, (measure,)))
    if not shown_for[measure]:
        st.info(f"{measure_names[measure]} is not reported for {', '.join(providers)}.")

if spc_mode:
    readings, shown_classes = [], []
    for measure in measures:
        shown = shown_for[measure]
        if not shown:
            continue
        key = (version, measure, shown, start_key, end_key, int(baseline), bool(use_rebases))
        view = _spc_view(*key)
        if view is None:
            st.info(f"No figures for {measure} in this range.")
            continue
        ui.altair(("spc", *key), lambda: view.chart)
        for provider, result in view.results.items():
            st.markdown(f"**{ui.md_escape(measure)} · {ui.md_escape(provider)}** `{spc.badge_text(spc.badges(result))}` "
                        f"{ui.md_escape(spc.reading(result, view.unit))}")
        st.caption(ui.md_escape(" · ".join(view.provenance.footer_lines(view.pmr_month, view.rebase_notes))))
        ui.chart_downloads(f"download-spc-{measure}", f"{start_key}_to_{end_key}_{measure}_SPC",
                           lambda fmt, key=key: _spc_export(*key, fmt), view.provenance.classification)
        readings.append(trends.spc_table(view).assign(Measure=measure))
        shown_classes.append(view.provenance.classification)
    if readings:
        import pandas as pd

        st.subheader("The SPC readings")
        st.caption("~ common cause · H / L special cause high / low · T target, M minimum: P consistently met, "
                   "F consistently missed, ? hit and miss. Method and its differences from the reference: docs/spc.md.")
        table = pd.concat(readings, ignore_index=True)
        st.dataframe(table, width="stretch", hide_index=True)
        ui.csv_download("Download the readings (CSV)", table, f"opsg-spc-{start_key}_to_{end_key}.csv",
                        "spc-csv", classification.most_restrictive(shown_classes))

else:
    tables, shown_classes = [], []
    for measure in measures:
        shown = shown_for[measure]
        if not shown:
            continue
        key = (version, measure, shown, start_key, end_key, int(window), show_incidents, show_annotations)
        view = _view(*key)
        if view is None:
            st.info(f"No figures for {measure} in this range.")
            continue
        ui.altair(("trend", *key), lambda: view.chart)
        st.caption(ui.md_escape(" · ".join(view.provenance.footer_lines(view.pmr_month))))
        ui.chart_downloads(f"download-{measure}", export.file_stem(view),
                           lambda fmt, key=key: _export(*key, fmt), view.provenance.classification)
        tables.append(trends.figures_table(view.rows))
        shown_classes.append(view.provenance.classification)

    if tables:
        import pandas as pd

        table = pd.concat(tables, ignore_index=True)
        st.subheader("The figures behind the charts")
        st.dataframe(table, width="stretch", hide_index=True)
        ui.csv_download("Download these rows (CSV)", table, f"opsg-figures-{start_key}_to_{end_key}.csv",
                        "figures-csv", classification.most_restrictive(shown_classes))

st.divider()
st.subheader("Month pack")
st.caption("Every measure × provider with a figure in the month, each over the 24 months to it, in one zip.")
pack_cols = st.columns([2, 1, 1])
with pack_cols[0]:
    pack_month = st.selectbox("PMR month", list(reversed(months)),
                              format_func=lambda m: words.month_label(parse.parse_month(m)), key="pack-month")
with pack_cols[1]:
    pack_format = st.selectbox("Format", export.FORMATS, key="pack-format")
with pack_cols[2]:
    st.write("")
    build = st.button("Build month pack", type="primary")
if build:
    progress = st.progress(0.0, text="Starting…")

    def report(number, total, name):
        progress.progress(number / total, text=f"{number} of {total}: {name}")

    try:
        name, content, entries = export.month_pack(ui.cursor(), parse.parse_month(pack_month), pack_format,
                                                   progress=report)
    except db.OpsgError as exc:
        progress.empty()
        st.warning(f"No month pack: {exc}.")
    else:
        progress.progress(1.0, text=f"Done: {len(entries)} charts")
        st.session_state["month_pack"] = (name, content, len(entries),
                                          classification.most_restrictive(e.classification for e in entries))
if "month_pack" in st.session_state:
    name, content, count, pack_class = st.session_state["month_pack"]
    if ui.restricted_confirmed(pack_class, "pack"):
        st.download_button(f"Download {name} ({count} charts, {len(content) / 1e6:.1f} MB)", data=content,
                           file_name=name, mime="application/zip", on_click="ignore")
