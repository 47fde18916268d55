"""The Admin page's layout: the people who may use the app (add, change, remove) and the audit log."""

from __future__ import annotations

from datetime import date

import streamlit as st

from opsg_metrics.app import ui
from opsg_metrics.store import people
from opsg_metrics.store.classification import LABELS, ORDER
from opsg_metrics.store.errors import OpsgError


def _done(action) -> None:
    """Carry out a change to the people table (`action(con)`, one write, published: the app looks people up
    in the snapshot it serves); its error, or its outcome, shown above the forms."""
    try:
        with ui.writing() as con:
            st.session_state["admin-outcome"] = ("success", action(con))
    except OpsgError as exc:
        st.session_state["admin-outcome"] = ("error", str(exc))


def outcome() -> None:
    """The outcome of the last change (kept across the rerun a form makes)."""
    kind, text = st.session_state.pop("admin-outcome", (None, ""))
    if kind == "success":
        st.success(ui.md_escape(text))
    elif kind == "error":
        st.error(ui.md_escape(text))


def people_forms(admin: people.Person) -> None:
    """The people table and the forms that change it (each change is recorded in the audit log)."""
    by = admin.email or admin.shown_name
    listing = people.listing(ui.unscoped())
    if listing.empty:
        st.info("Nobody has been added yet. Add the people who may sign in below.")
    else:
        ui.table(listing, hide_index=True, width="stretch")
    add, change, remove = st.tabs(["Add", "Change", "Remove"])
    with add, st.form("add-person", clear_on_submit=True):
        email = st.text_input("Email (as their sign-in gives it)")
        name = st.text_input("Name (as exports show it)")
        left, right = st.columns(2)
        role = left.selectbox(
            "Role",
            people.ROLES,
            help="viewer: read and export; secretariat: also load files; admin: also manage people and the catalogue",
        )
        level = right.selectbox(
            "Clearance", ORDER, format_func=LABELS.get, help="The most restrictive marking they may see."
        )
        if st.form_submit_button("Add person", type="primary"):
            _done(lambda con: _added(people.add(con, email, role=role, clearance=level, name=name, by=by)))
            st.rerun()
    emails = list(listing["email"]) if not listing.empty else []
    with change:
        if emails:
            with st.form("set-person"):
                email = st.selectbox("Person", emails)
                current = listing.set_index("email").loc[email]
                left, right = st.columns(2)
                role = left.selectbox("Role", people.ROLES, index=people.ROLES.index(current["role"]))
                level = right.selectbox(
                    "Clearance", ORDER, index=ORDER.index(current["clearance"]), format_func=LABELS.get
                )
                if st.form_submit_button("Save"):
                    _done(lambda con: _added(people.set_person(con, email, role=role, clearance=level, by=by)))
                    st.rerun()
    with remove:
        if emails:
            with st.form("remove-person"):
                email = st.selectbox("Person", emails, key="remove-email")
                sure = st.checkbox("They may no longer sign in")
                if st.form_submit_button("Remove person", disabled=False):
                    if not sure:
                        st.session_state["admin-outcome"] = ("error", "Tick the box to confirm the removal.")
                    else:
                        _done(lambda con: (people.remove(con, email, by=by), f"Removed {email}.")[1])
                    st.rerun()


def _added(person: people.Person) -> str:
    return f"{person.email}: {person.role}, cleared {LABELS[person.clearance]}."


def audit_log(admin: people.Person) -> None:
    """The audit log, newest first, from a day; entries above the admin's clearance name nothing."""
    since = st.date_input("Since", value=None, format="YYYY-MM-DD", max_value=date.today())
    with ui.audit_log() as con:  # the log as it is (its entries are written without a new snapshot)
        log = people.audit(con, since, clearance=admin.clearance)
    st.caption(f"{len(log):,} entries" + (f" since {since:%d %B %Y}" if since else "") + ", newest first.")
    ui.table(log, hide_index=True, width="stretch", height=420)
