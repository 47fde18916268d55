"""OPSG Metrics: entry point. Page set-up, navigation and the shared sidebar."""

import streamlit as st

from opsg_metrics.app import ui

st.set_page_config(page_title="OPSG Metrics", page_icon="📊", layout="wide")
# Tables and chart data views offer no CSV of their own (also set in .streamlit/config.toml): every CSV
# the app lets out is neutralised and marked with its classification (opsg_metrics.export.csv_bytes).
st.set_option("client.disableDataExport", True)
ui.app_run_started()
who = ui.gate()  # sign-in, or the local owner; stops with the reason when nobody may see the app

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/grid_view:", default=True),
        st.Page("pages/trends.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
        st.Page("pages/summary.py", title="PMR summary", icon=":material/description:", url_path="summary"),
        st.Page("pages/minutes.py", title="Minutes check", icon=":material/fact_check:", url_path="minutes"),
        st.Page("pages/record.py", title="Meetings and actions", icon=":material/event_note:", url_path="record"),
        st.Page("pages/incidents.py", title="Incidents", icon=":material/report:", url_path="incidents"),
        st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
        st.Page("pages/operations.py", title="Operations", icon=":material/construction:", url_path="operations"),
        st.Page("pages/events.py", title="Request records", icon=":material/query_stats:", url_path="events"),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
    ]
    + (
        [st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin")]
        if who.may("manage_people")
        else []
    )
)
ui.sidebar()
navigation.run()
