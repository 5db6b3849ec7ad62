"""Entry point: page navigation and the sidebar frame (global filters) shared by every page."""

import streamlit as st

from pages import ui

st.set_page_config(page_title="CRM analytics", page_icon=":material/insights:", layout="wide")

navigation = st.navigation(ui.navigation_pages())
ui.page_style()
ui.sidebar_filters()
ui.sidebar_source()
ui.freshness_banner()
navigation.run()
