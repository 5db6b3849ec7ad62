"""What every page shares: the read-only source as a cached resource and its states."""

from __future__ import annotations

import streamlit as st

from data.sources import Source, SourceError, connect, resolve_url


@st.cache_resource(show_spinner="Opening the data source…")
def _open(url: str) -> Source:
    return connect(url)


def source() -> Source | None:
    """The opened source, or None after showing why it cannot be used."""
    try:
        url = resolve_url()
        return _open(url)
    except SourceError as exc:
        st.error(str(exc), icon=":material/error:")
        st.caption("Set CRM_DB_URL or `[connections.crm] url` in .streamlit/secrets.toml, "
                   "then reload. The dashboard only ever reads from the source.")
        return None


def require_source() -> Source:
    """The opened source; stops the page (not the app) when there is none."""
    opened = source()
    if opened is None:
        st.stop()
    return opened


def sidebar_source() -> None:
    """A one-line reminder of where the data comes from."""
    try:
        url = resolve_url()
    except SourceError as exc:
        st.sidebar.caption(f"Source: {exc}")
        return
    from data.sources import mask_url

    st.sidebar.caption(f"Source: `{mask_url(url)}` (read-only)")
