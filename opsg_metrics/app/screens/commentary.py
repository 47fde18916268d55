"""The secretariat's commentary, written beside the figures (the Summary and Trends pages): the current
version with who wrote it and when, last month's beside it, the earlier versions, and the box to write
a new version. A save names the version its writer opened: when someone else saved since, it is refused
with both texts shown (store/record.RecordConflict) and the writer chooses; nothing is overwritten."""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from opsg_metrics import words
from opsg_metrics.app import ui
from opsg_metrics.queries import record
from opsg_metrics.store import classification, clearance
from opsg_metrics.store import record as writes
from opsg_metrics.store.errors import OpsgError
from opsg_metrics.store.people import Person

FLASH = "record-flash"  # a message to show after the rerun a write makes


def flash() -> None:
    """The message a write left before the page ran again (shown once)."""
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(ui.md_escape(message))


def saved(message: str) -> None:
    """After a write: say so on the next run, and run the page again so every part shows the new record."""
    st.session_state[FLASH] = message
    st.rerun()


def may_write(who: Person) -> bool:
    """Whether the person may write the review record; says why not when they may not."""
    if who.may("write_record"):
        return True
    st.caption(f"Writing the record needs the secretariat or admin role; you are a {who.role}.")
    return False


def marking_choice(who: Person, default: str, key: str) -> str:
    """The marking a write carries: one the writer is cleared for, the data's by default."""
    levels = list(clearance.admitted(who.clearance))
    index = levels.index(default) if default in levels else len(levels) - 1
    return st.selectbox(
        "Classification",
        levels,
        index=index,
        format_func=classification.LABELS.get,
        key=key,
        help="The marking the commentary carries into every output that shows it (at least the data's).",
    )


def _base(month: date, measure: str | None, provider: str | None) -> str:
    return f"commentary:{words.month_key(month)}:{measure or ''}:{provider or ''}"


def _keep_theirs(base: str, theirs: str, latest: int | None) -> None:
    st.session_state[base + ":text"] = theirs
    st.session_state[base + ":opened"] = latest
    st.session_state.pop(base + ":conflict", None)


def _save_mine(base: str, latest: int | None) -> None:
    st.session_state[base + ":opened"] = latest
    st.session_state.pop(base + ":conflict", None)


def both_texts(message: str, who: str, when: datetime, theirs: str, yours: str) -> tuple:
    """A refused save: why, and the two texts side by side (theirs, saved since, and the writer's own); the
    two columns, for the choices to go under them."""
    st.error(ui.md_escape(message))
    left, right = st.columns(2)
    left.markdown(f"**Their text** ({ui.md_escape(who)}, {when:%H:%M on %d %b %Y})")
    left.text(theirs)
    right.markdown("**Your text**")
    right.text(yours)
    return left, right


def _conflict(base: str) -> None:
    found = st.session_state.get(base + ":conflict")
    if not found:
        return
    message, who, when, theirs, yours, latest = found
    left, right = both_texts(message, who, when, theirs, yours)
    left.button("Start again from their text", key=base + ":theirs", on_click=_keep_theirs, args=(base, theirs, latest))
    right.button("Save mine as the next version", key=base + ":mine", on_click=_save_mine, args=(base, latest))


def editor(
    notes: record.MonthNotes, measure: str | None, provider: str | None, who: Person, default_marking: str
) -> None:
    """The commentary on one PMR month (overall, or one measure and provider's): read (from the month's
    notes, read once a data version), and written."""
    month = notes.month
    current, before = notes.now.get((measure, provider)), notes.before.get((measure, provider))
    base = _base(month, measure, provider)
    if current:
        st.markdown(f"**Current** ({ui.md_escape(current.signed)}; {classification.LABELS[current.classification]})")
        st.markdown(ui.md_escape(current.text))
    if before:
        st.caption(
            f"Last month ({words.month_label(before.month)}, {ui.md_escape(before.signed)}): "
            + ui.md_escape(before.text)
        )
    if current and current.versions > 1:
        with st.expander(f"Earlier versions ({current.versions - 1})"):
            ui.table(notes.history(measure, provider).iloc[1:], hide_index=True, width="stretch")
    if not may_write(who):
        return
    if base + ":opened" not in st.session_state:  # the version this person opened: a save names it
        st.session_state[base + ":opened"] = current.record_id if current else None
        st.session_state[base + ":text"] = current.text if current else ""
    _conflict(base)
    text = st.text_area("Commentary", key=base + ":text", height=90)
    marking = marking_choice(who, max_marking(default_marking, current), base + ":marking")
    if st.button("Save commentary", key=base + ":save", disabled=not text.strip()):
        _save(base, month, measure, provider, text, who, marking)


def max_marking(default: str, current: record.Commentary | None) -> str:
    return classification.most_restrictive([default, current.classification if current else default])


def _save(base: str, month: date, measure, provider, text: str, who: Person, marking: str) -> None:
    key = {"month": month, "measure": measure, "provider": provider}
    try:
        with ui.writing(who.clearance) as con:  # the working database, then published
            try:
                written = writes.save_commentary(
                    con,
                    month,
                    text,
                    measure=measure,
                    provider=provider,
                    author=who.shown_name,
                    classification=marking,
                    by=who.shown_name,
                    based_on=st.session_state.get(base + ":opened"),
                )
            except writes.RecordConflict as conflict:
                latest = writes.version_of(con, "commentary", key)
                refused = (str(conflict), conflict.who, conflict.when, conflict.theirs, conflict.yours, latest)
                written = None
            versions = record.current(con, month, measure, provider)
    except OpsgError as exc:
        st.error(ui.md_escape(str(exc)))
        return
    if written is None:
        st.session_state[base + ":conflict"] = refused
        st.rerun()
    if written.outcome == "unchanged":
        st.info("The commentary already says this; nothing was saved.")
        return
    st.session_state[base + ":opened"] = written.record_id
    saved(f"Commentary saved: version {versions.versions if versions else 1}.")
