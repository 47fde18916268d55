"""The Data page's layout: loading files with a check first, and comparing two sources."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pandas as pd
import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.ingest import load as ingest
from opsg_metrics.ingest.formats import FILE_KINDS
from opsg_metrics.store import classification, clearance
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person

MAX_UPLOAD_MB = 50


def refused(name: str, message: str) -> ingest.IngestResult:
    """The result of a file the database refused (a full disk, a damaged file), as a check's or a load's."""
    result = ingest.IngestResult(file=name, outcome="rejected", message=f"rejected: {message}")
    result.problems = [ingest.Problem(ingest.display_name(name), 1, "-", message)]
    return result


def load_files(check: Callable, who: Person) -> None:
    """Files uploaded, checked (`check(name, digest, size, kind, source, level, issued, raw)`, cached), shown
    with their problems and revisions, and loaded when none has a problem and the user says so. Only a
    secretariat member or an administrator may load; only an administrator a catalogue; nobody a file marked
    above their own clearance (they could not see it)."""
    if not who.may("load"):
        if not st.session_state.get("load-refusal-recorded"):
            ui.record_refusal("load files")
            st.session_state["load-refusal-recorded"] = True
        st.info(
            f"Loading files needs the secretariat or admin role; you are a {who.role}. "
            "Ask an administrator if you should load PMRs."
        )
        return
    files = st.file_uploader(
        "Files",
        type=["csv", "xlsx", "txt", "tsv"],
        accept_multiple_files=True,
        help=f"Up to {MAX_UPLOAD_MB} MB a file.",
    )
    left, middle, right = st.columns(3)
    with left:
        kind = st.selectbox("Kind", ["detect from the header", *FILE_KINDS])
        source_label = st.text_input(
            "Source",
            placeholder="default: the file name",
            help="The document the figures come from, e.g. 'PMR May 2022 issue 1'.",
        )
    with middle:
        level = st.selectbox(
            "Classification",
            clearance.admitted(who.clearance),
            format_func=classification.LABELS.get,
            help="The source's marking under the Panel Information Policy (up to your own clearance).",
        )
    with right:
        issued = st.date_input("Issued on", value=None, format="YYYY-MM-DD")
    options = dict(
        kind=None if kind.startswith("detect") else kind,
        source=source_label.strip() or None,
        classification=level,
        issued=issued,
    )

    too_big = [f.name for f in files or [] if f.size > MAX_UPLOAD_MB * 1024 * 1024]
    for name in too_big:
        st.error(
            f"{name} is larger than {MAX_UPLOAD_MB} MB and is not loaded: split it, or load it with "
            f"'python -m opsg_metrics ingest' while the app is stopped."
        )
    files = [f for f in files or [] if f.name not in too_big]
    if not files:
        return
    checks = []
    with st.spinner("Checking…"):
        for upload in files:
            raw = upload.getvalue()
            digest = hashlib.sha256(raw).hexdigest()
            checks.append(
                (
                    upload.name,
                    raw,
                    check(upload.name, digest, len(raw), options["kind"], options["source"], level, issued, raw),
                )
            )
    problems = _checked(checks)
    catalogues = [name for name, _, result in checks if "catalogue" in result.kinds]
    if catalogues and not who.may("load_catalogue"):
        ui.record_refusal(f"load the catalogue ({', '.join(catalogues)})")
        st.error(
            f"{', '.join(map(ui.md_escape, catalogues))}: the measure catalogue is managed by administrators; "
            "ask one to load it."
        )
        return
    to_load = [(name, raw) for name, raw, result in checks if result.outcome == "checked"]
    if st.button(f"Load {words.plural(len(to_load), 'file')}", type="primary", disabled=bool(problems) or not to_load):
        _load(to_load, options, who)


def _checked(checks: list) -> list[str]:
    """What the check found, file by file: counts, notes, problems and the revisions a load would make."""
    st.subheader("Check")
    summary = pd.DataFrame(
        [
            {
                "File": name,
                "Kind": "+".join(result.kinds) or "?",
                "Rows read": result.rows_read,
                "New": result.new,
                "Revised": result.revised,
                "Unchanged": result.unchanged,
                "Problems": len(result.problems),
                "Outcome": result.message,
            }
            for name, _, result in checks
        ]
    )
    ui.table(summary, hide_index=True, width="stretch")
    for note in (n for _, _, result in checks for n in result.notes):
        st.info(ui.md_escape(note))
    problems = [str(p) for _, _, result in checks for p in result.problems]
    if problems:
        st.error(
            f"{words.plural(len(problems), 'problem')}: correct the files and upload them again. "
            "Nothing has been loaded."
        )
        ui.table(pd.DataFrame({"Problem (file:row:column: message)": problems}), hide_index=True, width="stretch")
    revised = [dict(r, file=name) for name, _, result in checks for r in result.revisions]
    if revised:
        st.markdown(f"**Revisions this load would make ({len(revised)})**")
        frame = pd.DataFrame(revised)
        frame["month"] = [words.month_key(m) for m in frame["month"]]
        ui.table(
            frame[
                [
                    "file",
                    "month",
                    "measure",
                    "provider",
                    "old_value",
                    "old_status",
                    "old_source",
                    "new_value",
                    "new_status",
                ]
            ],
            hide_index=True,
            width="stretch",
        )
    return problems


def _load(to_load: list[tuple[str, bytes]], options: dict, who: Person) -> None:
    progress = st.progress(0.0, text="Loading…")
    for number, (name, raw) in enumerate(to_load, start=1):
        progress.progress((number - 1) / len(to_load), text=f"Loading {name} ({number} of {len(to_load)})")
        try:
            with ui.writing() as con:  # the working database, then published: every page shows it next rerun
                result = ingest.ingest_seen_by(con, raw, name, clearance=who.clearance, **options)
        except OpsgError as exc:
            result = refused(name, str(exc))
        ui.record_load(result, options["classification"])
        if result.ok:
            st.success(f"{name}: {result.message}")
        else:
            st.error(f"{name}: {result.message}")
            for problem in result.problems:
                st.text(str(problem))
    progress.progress(1.0, text="Done")
    st.caption("Every page shows the new data from now on.")


def compare(measures: pd.DataFrame, history: pd.DataFrame | None, diff_of: Callable) -> None:
    """Two measure sources compared (`diff_of(first, second)`: the comparison and the rows the second changed
    or added); by default the month's reissue against the issue it revised, else the two latest sources."""
    st.subheader("Compare two sources")
    labels = dict(zip(measures["id"], measures["source"]))
    ids = list(labels)
    first_id, second_id = ids[min(1, len(ids) - 1)], ids[0]
    if history is not None and not history.empty:
        first_id, second_id = int(history["source_id"].min()), int(history["source_id"].max())
    a, b = st.columns(2)
    with a:
        first = st.selectbox("First", ids, index=ids.index(first_id), format_func=labels.get)
    with b:
        second = st.selectbox("Second", ids, index=ids.index(second_id), format_func=labels.get)
    diff, changed = diff_of(int(first), int(second))
    st.caption(
        f"{words.plural(len(changed), 'figure')} changed or added by {ui.md_escape(labels[second])}; "
        f"{len(diff) - len(changed)} of the first's not restated (a later source stores only what it changes)."
    )
    ui.table(changed, hide_index=True, width="stretch")
