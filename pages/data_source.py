"""Data: the source, its tables and freshness, and the Information-rule quality figures."""

import pandas as pd
import streamlit as st

from data.sources import table_summaries
from pages import signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Data")
source = ui.require_source()
st.markdown(f"**Connection:** `{source.masked_url}`  \n"
            f"**Dialect:** {source.dialect} · opened read-only: the dashboard never writes to it.")


@st.cache_data(ttl=ui.TTL, show_spinner="Counting rows…")
def summaries(url: str) -> pd.DataFrame:
    with ui.engine().connect() as conn:
        return pd.DataFrame(table_summaries(conn))


st.subheader("Tables and freshness")
if signin.current().scope:  # row counts are company-wide: not for a user who sees part of it
    st.info("Table sizes and freshness cover the whole company, so they are shown only to users who see all of "
            "it.", icon=":material/lock:")
else:
    summary = summaries(source.url)
    latest = summary["last"].max()
    st.caption(f"Latest record: {latest:%Y-%m-%d %H:%M}" if pd.notna(latest) else "The tables are empty.")
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
    ui.download(summary, "tables", key="tables_csv")

f = ui.filters()
st.subheader("Information quality (rule 6)")
ui.caption_filters(f)
card = ui.scorecard(f)
kpis = card["kpis"].set_index("name", drop=False)
ui.kpi_row(kpis, ["completeness", "duplicate_rate", "linked_interactions", "days_since_update"], f, "data_")

fields = ui.compute("quality.fields", f)
frame = pd.DataFrame({"field": list(fields), "filled": list(fields.values())})
st.markdown("**Share of customer records with each field filled**")
st.dataframe(frame, hide_index=True, column_config={"field": "Field", "filled": st.column_config.ProgressColumn(
    "Filled", format="percent", min_value=0.0, max_value=1.0)})
c1, c2 = st.columns(2)
with c1:
    ui.records_button("Duplicate customers (same email)", "Customers sharing a normalised email",
                      "quality.duplicates", f, key="dup_drill")
with c2:
    ui.records_button("Records not edited for 180 days", "Stale customer records", "quality.stale", f, 180,
                      key="stale_drill")
