"""Entry point: page navigation and the sidebar frame shared by every page."""

import streamlit as st

from pages.common import sidebar_source

st.set_page_config(page_title="CRM analytics", page_icon=":material/insights:", layout="wide")

PAGES = {
    "Data": [
        st.Page("pages/data_source.py", title="Data source", icon=":material/database:",
                url_path="data", default=True),
    ],
}

navigation = st.navigation(PAGES)
sidebar_source()
navigation.run()
