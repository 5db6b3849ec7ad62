"""Lifecycle funnel: prospect -> attracted -> acquired -> retained -> lifetime customer."""

import streamlit as st

from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS
from metrics.funnel import STAGE_LABELS, STAGES, FunnelWindows, compare_groups, conversion_table
from pages import charts, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Lifecycle funnel")
f = ui.filters()
ui.caption_filters(f, ("customers", "orders", "opportunities"))
f = ui.page_window(f, 12, "funnel_window", ui.i18n._("Customers created"))
st.markdown("PROSPECTING + ATTRACTION + ACQUISITION + RETENTION = LIFETIME CUSTOMERS. The population is the "
            "customers **created in the date range**; a stage counts only if it was reached before the end of "
            "the range. Retained = an order 30 to 365 days after acquisition; lifetime = retained and orders in "
            "at least three 365-day periods.")

with st.expander("Windows (settings)"):
    c1, c2, c3 = st.columns(3)
    windows = FunnelWindows(
        retained_after_days=c1.number_input("Retained: order after (days)", 0, 365, 30, key="w_after"),
        retained_until_days=c2.number_input("Retained: order until (days)", 31, 1095, 365, key="w_until"),
        lifetime_periods=c3.number_input("Lifetime: distinct 365-day periods", 2, 10, 3, key="w_periods"),
    )

dimensions = list(CUSTOMER_DIMENSIONS)
dimension = st.selectbox("Break down by", dimensions, format_func=DIMENSION_LABELS.get, key="funnel_dim")
picked = ui.chart_pick("funnel_breakdown")
page_filters = f.with_values(**{dimension: tuple(picked)}) if picked else f
ui.clear_pick_control("funnel_breakdown", DIMENSION_LABELS[dimension], picked)

stages = ui.compute("funnel.stages", page_filters, None, windows)
if stages.empty or int(stages.iloc[0]["prospect"]) == 0:
    ui.empty_state("No prospects were created in this range for this selection. Widen the date range or "
                   "clear a filter.")
    st.stop()
row = stages.iloc[0]
table = conversion_table(row)
table = table.astype({c: float for c in table.columns if c not in ("stage", "label", "customers")})
if f.days < 400:
    st.caption(f"The range covers {f.days} days: customers created in it have had little time to be retained "
               "(30-365 days) or to become lifetime customers (three yearly periods). Widen the range to see "
               "the later stages fill up.")

tiles = st.columns(5)
for col, stage_row in zip(tiles, table.itertuples()):
    col.metric(stage_row.label, f"{stage_row.customers:,}",
               help="Share of prospects" if stage_row.stage != "prospect" else "Customers created in the range",
               delta=None if stage_row.stage == "prospect" else f"{stage_row.cumulative_conversion:.1%} of prospects",
               delta_color="off", delta_arrow="off", border=True)
    with col:
        ui.records_button("Customers", f"{stage_row.label}s", "funnel.stage", page_filters, stage_row.stage,
                          windows, key=f"funnel_drill_{stage_row.stage}")

left, right = st.columns(2)
with left:
    ui.chart(charts.funnel_stages(table), key="funnel_chart")
with right:
    which = st.segmented_control("Conversion", ["step", "cumulative"], default="step", key="funnel_which",
                                 format_func={"step": "Step (from previous stage)",
                                              "cumulative": "Cumulative (from prospect)"}.get)
    ui.chart(charts.conversion_bars(table, which or "step"), key="funnel_conv")

st.subheader("Time between stages")
days = st.columns(3)
for col, (label, key) in zip(days, [("Prospect → attracted", "days_prospect_attracted"),
                                    ("Attracted → acquired", "days_attracted_acquired"),
                                    ("Acquired → retained (first repeat order)", "days_acquired_retained")]):
    value = row[key]
    col.metric(f"Median days: {label}", "no data" if value is None or value != value else f"{value:.0f} days",
               border=True)

st.subheader("Conversion table")
st.dataframe(table.drop(columns=["stage"]), hide_index=True, column_config={
    "label": "Stage", "customers": st.column_config.NumberColumn("Customers", format="localized"),
    **{c: ui.percent_column(c.replace("_", " ").capitalize()) for c in table.columns if c not in
       ("stage", "label", "customers")}})
ui.download(table, "funnel", key="funnel_csv")

st.subheader(f"By {DIMENSION_LABELS[dimension].lower()}")
by_group = ui.compute("funnel.stages", f, dimension, windows)
by_group = by_group[by_group.prospect > 0]
if by_group.empty:
    ui.empty_state("No groups to compare.")
    st.stop()
ui.selectable_chart(charts.breakdown_bars(by_group, DIMENSION_LABELS[dimension], STAGE_LABELS), "funnel_breakdown")
st.dataframe(by_group, hide_index=True, column_config={
    "group": DIMENSION_LABELS[dimension], **{s: st.column_config.NumberColumn(STAGE_LABELS[s], format="localized")
                                             for s in STAGES},
    "days_prospect_attracted": st.column_config.NumberColumn("Median days to attract", format="%.0f"),
    "days_attracted_acquired": st.column_config.NumberColumn("Median days to acquire", format="%.0f"),
    "days_acquired_retained": st.column_config.NumberColumn("Median days to repeat order", format="%.0f")})

st.subheader("Compare two groups")
groups = by_group["group"].tolist()
if len(groups) < 2:
    ui.empty_state("Only one group in this selection: nothing to compare.")
    st.stop()
c1, c2, c3 = st.columns(3)
group_a = c1.selectbox("Group A", groups, index=0, key="funnel_a")
group_b = c2.selectbox("Group B", groups, index=1, key="funnel_b")
stage = c3.selectbox("Stage", STAGES[1:], index=1, format_func=STAGE_LABELS.get, key="funnel_stage")
if group_a == group_b:
    st.warning("Pick two different groups.")
else:
    result = compare_groups(by_group, group_a, group_b, stage)
    (st.success if result.significant else st.info)(result.sentence(), icon=":material/science:")
