"""Data: the source, its tables and freshness, and the Information-rule quality figures."""

import pandas as pd
import streamlit as st

from data.sources import table_summaries
from metrics import health
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


if signin.current().scope:  # checks and row counts are company-wide: not for a user who sees part of it
    st.info("The data checks, table sizes and freshness cover the whole company, so they are shown only to "
            "users who see all of it.", icon=":material/lock:")
else:
    summary = summaries(source.url)
    report = ui.source_health()
    summary["left_out"] = [report.excluded_rows.get(t, 0) for t in summary["table"]]

    st.subheader("Data model checks")
    checks = pd.DataFrame(health.check_table(report))
    failed = checks[checks.rows > 0]
    top = st.columns([4, 1])
    if failed.empty:
        top[0].success(f"All {len(checks)} checks pass: no missing required values, duplicate identifiers, broken "
                       "links, impossible timelines, future dates or out-of-range values.", icon=":material/verified:")
    else:
        left_out = int(sum(report.excluded_rows.values()))
        top[0].warning(f"{len(failed)} of {len(checks)} checks found problems. {left_out:,} rows are left out of "
                       "every figure, drill-down, export and the command line report; the rest are kept and "
                       "flagged.", icon=":material/rule:")
    if top[1].button("Check again", icon=":material/refresh:", help="Run the checks on the source now"):
        with ui.engine().connect() as conn:
            health.health_report(conn, refresh=True)
        st.cache_data.clear()
        st.rerun()
    st.caption(f"Checked {report.checked_at:%Y-%m-%d %H:%M}; dates after {report.cutoff:%Y-%m-%d %H:%M} count as "
               "the future.")
    shown = checks.assign(effect=["Left out" if e else "Kept, flagged" for e in checks.excluded],
                          table=[health.ROW_NOUNS[t].capitalize() for t in checks.table])
    st.dataframe(
        shown[["kind", "table", "reason", "rows", "effect"]], hide_index=True, height=320 if failed.empty else 380,
        column_config={
            "kind": "Check", "table": "Table", "reason": st.column_config.TextColumn("Rule broken", width="large"),
            "rows": st.column_config.NumberColumn("Rows breaking it", format="localized"),
            "effect": "Effect on the figures",
        },
    )
    if not failed.empty:
        labels = {row.key: f"{row.table}: {row.reason} ({row.rows:,} rows)" for row in failed.itertuples()}
        picked = st.selectbox("Show the rows that break", list(labels), format_func=labels.get, key="health_pick")
        everything = ui.filters()
        rows, total = ui.records_page("health.broken", everything, picked, size=100)
        st.caption(f"{total:,} rows · showing the first {min(total, 100):,}")
        st.dataframe(rows, hide_index=True, height=300)
        ui.records_button("All rows, with a CSV", labels[picked], "health.broken", everything, picked, key="health_drill")

    st.subheader("Tables and freshness")
    latest = summary["last"].max()
    st.caption(f"Latest record: {latest:%Y-%m-%d %H:%M}" if pd.notna(latest) else "The tables are empty.")
    st.dataframe(
        summary, hide_index=True,
        column_config={
            "table": "Table",
            "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "left_out": st.column_config.NumberColumn("Left out", format="localized",
                                                      help="Rows that break the data model (see the checks above)"),
            "date_column": "Dated by",
            "first": st.column_config.DatetimeColumn("First", format="YYYY-MM-DD HH:mm"),
            "last": st.column_config.DatetimeColumn("Last", format="YYYY-MM-DD HH:mm"),
        },
    )
    ui.download(summary, "tables", key="tables_csv")

f = ui.filters()
st.subheader("Information quality (rule 6)")
ui.caption_filters(f, ("customers", "interactions"))
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
