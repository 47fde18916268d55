"""Admin: the people who may use the app, their roles and clearances, and the audit log (admins only)."""

import streamlit as st

from opsg_metrics.app import ui
from opsg_metrics.app.screens import admin as screen

ui.ensure_app_navigation()
st.title("Admin")
who = ui.person()
if not who.may("manage_people"):
    ui.refuse("admin page", "Only an administrator may manage people and see the audit log.")
    st.stop()

screen.outcome()
people_tab, audit_tab = st.tabs(["People", "Audit log"])
with people_tab:
    st.caption(
        "In team mode, only the people here (or given access by a rule of the configuration) may sign in; "
        "each sees only what their clearance allows. From the command line: "
        "`python -m opsg_metrics people add EMAIL --role R --clearance C`."
    )
    screen.people_forms(who)
with audit_tab:
    screen.audit_log(who)
