"""OPSG Metrics: entry point. Page set-up, navigation and the shared sidebar."""

import streamlit as st

from opsg_metrics import ui

st.set_page_config(page_title="OPSG Metrics", page_icon="📊", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/grid_view:", default=True),
        st.Page("pages/trends.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
        st.Page("pages/summary.py", title="PMR summary", icon=":material/description:", url_path="summary"),
    ]
)
ui.sidebar()
navigation.run()
