"""Data source: where the numbers come from, and how much there is."""

import pandas as pd
import streamlit as st

from data.sources import table_summaries
from pages.common import require_source

st.title("Data source")
source = require_source()

st.markdown(f"**Connection:** `{source.masked_url}`  \n"
            f"**Dialect:** {source.dialect} · opened read-only: the dashboard never writes to it.")

with source.engine.connect() as conn:
    summary = pd.DataFrame(table_summaries(conn))

st.subheader("Tables")
st.dataframe(
    summary, hide_index=True,
    column_config={
        "table": "Table",
        "rows": st.column_config.NumberColumn("Rows", format="localized"),
        "date_column": "Dated by",
        "first": st.column_config.DatetimeColumn("First", format="YYYY-MM-DD HH:mm"),
        "last": st.column_config.DatetimeColumn("Last", format="YYYY-MM-DD HH:mm"),
    },
)
st.download_button("Download CSV", summary.to_csv(index=False), file_name="tables.csv",
                   mime="text/csv")
