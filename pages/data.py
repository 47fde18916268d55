"""Data: load PMR files from the browser with a check first, see revisions and what was loaded."""

import hashlib

import pandas as pd
import streamlit as st

from opsg_metrics.store import classification
from opsg_metrics.store import connect as db
from opsg_metrics.ingest import load as ingest
from opsg_metrics.store import parse
from opsg_metrics.store import sources
from opsg_metrics.app import ui
from opsg_metrics import words

MAX_UPLOAD_MB = 50

ui.ensure_app_navigation()
version = ui.db_version()


@ui.cache_data(show_spinner=False, max_entries=16)
def _check(version, name, digest, raw_size, kind, source, level, issued, _raw):
    # A file is checked once per data version and options, not again on every rerun of the page (a big
    # file takes seconds). The digest names the content; _raw is not hashed.
    try:
        return ingest.ingest_bytes(ui.cursor(), _raw, name, dry_run=True, kind=kind, source=source,
                                   classification=level, issued=issued)
    except db.OpsgError as exc:        # the database itself (a full disk, a damaged file), not the upload
        return _refused(name, str(exc))


def _refused(name, message):
    result = ingest.IngestResult(file=name, outcome="rejected", message=f"rejected: {message}")
    result.problems = [ingest.Problem(ingest.display_name(name), 1, "-", message)]
    return result


# Read-only results (cache_resource: no copy per rerun), in the form the page shows them.
@ui.cache_resource(show_spinner=False, max_entries=8)
def _revision_months(version):
    return sources.revision_months(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=32)
def _revisions(version, month):
    history = sources.revisions(ui.cursor(), month)
    return history, history.drop(columns=["source_id"])


@ui.cache_resource(show_spinner=False, max_entries=8)
def _source_list(version):
    return sources.source_list(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=8)
def _measure_sources(version):
    listed = _source_list(version)
    return listed[listed["kind"].str.contains("measures")]


@ui.cache_resource(show_spinner=False, max_entries=8)
def _ingest_log(version):
    return sources.ingest_log(ui.cursor())


@ui.cache_resource(show_spinner=False, max_entries=32)
def _diff(version, first, second):
    """The comparison, and the rows the second source changed or added."""
    diff = sources.diff_sources(ui.cursor(), first, second)
    return diff, diff[diff["difference"] != "not restated by the second (unchanged, or absent)"]


st.title("Data")
st.caption("Load a PMR (or incidents, alerts, ops, catalogue, annotations) from CSV or XLSX. Every file is "
           "checked first; nothing is written until you confirm, and a file with any problem is not loaded.")
load, revisions_tab, log_tab = st.tabs(["Load files", "Revisions", "Sources and ingest log"])

with load:
    files = st.file_uploader("Files", type=["csv", "xlsx", "txt", "tsv"], accept_multiple_files=True,
                             help=f"Up to {MAX_UPLOAD_MB} MB a file.")
    left, middle, right = st.columns(3)
    with left:
        kind = st.selectbox("Kind", ["detect from the header", *ingest.KINDS])
        source_label = st.text_input("Source", placeholder="default: the file name",
                                     help="The document the figures come from, e.g. 'PMR May 2022 issue 1'.")
    with middle:
        level = st.selectbox("Classification", classification.ORDER, format_func=classification.LABELS.get)
    with right:
        issued = st.date_input("Issued on", value=None, format="YYYY-MM-DD")
    options = dict(kind=None if kind.startswith("detect") else kind, source=source_label.strip() or None,
                   classification=level, issued=issued)

    too_big = [f.name for f in files or [] if f.size > MAX_UPLOAD_MB * 1024 * 1024]
    for name in too_big:
        st.error(f"{name} is larger than {MAX_UPLOAD_MB} MB and is not loaded: split it, or load it with "
                 f"'python -m opsg_metrics ingest' while the app is stopped.")
    files = [f for f in files or [] if f.name not in too_big]
    if files:
        checks = []
        with st.spinner("Checking…"):
            for upload in files:
                raw = upload.getvalue()
                digest = hashlib.sha256(raw).hexdigest()
                checks.append((upload.name, raw, _check(version, upload.name, digest, len(raw), options["kind"],
                                                        options["source"], level, issued, raw)))
        st.subheader("Check")
        summary = pd.DataFrame([{
            "File": name, "Kind": "+".join(result.kinds) or "?", "Rows read": result.rows_read,
            "New": result.new, "Revised": result.revised, "Unchanged": result.unchanged,
            "Problems": len(result.problems), "Outcome": result.message,
        } for name, _, result in checks])
        st.dataframe(summary, hide_index=True, width="stretch")
        for note in (n for _, _, result in checks for n in result.notes):
            st.info(ui.md_escape(note))
        problems = [str(p) for _, _, result in checks for p in result.problems]
        if problems:
            st.error(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}: correct the files and upload "
                     "them again. Nothing has been loaded.")
            st.dataframe(pd.DataFrame({"Problem (file:row:column: message)": problems}), hide_index=True,
                         width="stretch")
        revised = [dict(r, file=name) for name, _, result in checks for r in result.revisions]
        if revised:
            st.markdown(f"**Revisions this load would make ({len(revised)})**")
            frame = pd.DataFrame(revised)
            frame["month"] = [words.month_key(m) for m in frame["month"]]
            st.dataframe(frame[["file", "month", "measure", "provider", "old_value", "old_status", "old_source",
                                "new_value", "new_status"]], hide_index=True, width="stretch")
        to_load = [(name, raw) for name, raw, result in checks if result.outcome == "checked"]
        if st.button(f"Load {len(to_load)} file{'s' if len(to_load) != 1 else ''}", type="primary",
                     disabled=bool(problems) or not to_load):
            progress = st.progress(0.0, text="Loading…")
            for number, (name, raw) in enumerate(to_load, start=1):
                progress.progress((number - 1) / len(to_load), text=f"Loading {name} ({number} of {len(to_load)})")
                try:
                    result = ingest.ingest_bytes(ui.cursor(), raw, name, **options)
                except db.OpsgError as exc:
                    result = _refused(name, str(exc))
                if result.ok:
                    st.success(f"{name}: {result.message}")
                else:
                    st.error(f"{name}: {result.message}")
                    for problem in result.problems:
                        st.text(str(problem))
            progress.progress(1.0, text="Done")
            st.caption("Every page shows the new data from now on.")

with revisions_tab:
    months = _revision_months(version)
    history = None
    if not months:
        st.info("No figure has been revised yet.")
    else:
        month = st.selectbox("Month", months, format_func=words.month_label)
        history, shown = _revisions(version, month)
        st.dataframe(shown, hide_index=True, width="stretch")
    measures = _measure_sources(version)
    if len(measures) >= 2:
        st.subheader("Compare two sources")
        labels = dict(zip(measures["id"], measures["source"]))
        ids = list(labels)
        # By default the month's reissue against the issue it revised; else the two latest sources.
        first_id, second_id = ids[min(1, len(ids) - 1)], ids[0]
        if history is not None and not history.empty:
            first_id, second_id = int(history["source_id"].min()), int(history["source_id"].max())
        a, b = st.columns(2)
        with a:
            first = st.selectbox("First", ids, index=ids.index(first_id), format_func=labels.get)
        with b:
            second = st.selectbox("Second", ids, index=ids.index(second_id), format_func=labels.get)
        diff, changed = _diff(version, int(first), int(second))
        st.caption(f"{len(changed)} figure{'s' if len(changed) != 1 else ''} changed or added by "
                   f"{ui.md_escape(labels[second])}; {len(diff) - len(changed)} of the first's not restated "
                   "(a later source stores only what it changes).")
        st.dataframe(changed, hide_index=True, width="stretch")

with log_tab:
    st.subheader("Sources")
    st.dataframe(_source_list(version), hide_index=True, width="stretch")
    st.subheader("Ingest log")
    st.dataframe(_ingest_log(version), hide_index=True, width="stretch")
