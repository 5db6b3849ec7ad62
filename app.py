"""Entry point: page navigation and the sidebar frame (global filters) shared by every page."""

import streamlit as st

from pages import signin, ui

st.set_page_config(page_title="CRM analytics", page_icon=":material/insights:", layout="wide")

ui.choose_language()  # before anything is drawn: every text below is in this language
access = signin.gate()  # sign-in (when configured) and the user's role and scope
# every page listed: the navigation's own "View more" button is in English whatever the page's language
navigation = st.navigation(signin.pages_for(access, ui.navigation_pages()), expanded=True)
ui.page_style()


def _page() -> None:
    ui.sidebar_filters()
    ui.sidebar_source()
    ui.freshness_banner()
    navigation.run()


ui.run_guarded(_page)  # a failure is a sentence (and a retry button), never a traceback
