"""Segments: two groups side by side on every KPI, and where revenue and customers live."""

import pandas as pd
import streamlit as st

from metrics.filters import DIMENSION_LABELS
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Segments")
f = ui.filters()
ui.caption_filters(f, ("customers", "orders", "opportunities", "tickets", "surveys", "interactions"))

dims = ["segment", "region", "industry", "acquisition_channel", "owner_team", "channel"]
c1, c2, c3 = st.columns(3)
dimension = c1.selectbox("Compare by", dims, format_func=DIMENSION_LABELS.get, key="seg_dim")
options = ui.dimension_values(ui.require_source().url)[dimension]
if len(options) < 2:
    ui.empty_state(f"This data has fewer than two values of {DIMENSION_LABELS[dimension].lower()}.")
    st.stop()
group_a = c2.selectbox("Group A", options, index=0, key="seg_a")
group_b = c3.selectbox("Group B", options, index=1, key="seg_b")
if group_a == group_b:
    st.warning("Pick two different groups.")
    st.stop()



def _chance(p) -> str:
    """A p-value in words: how likely a difference this large is by chance alone."""
    if p is None or p != p:
        return "—"
    if p < 0.001:
        return "real: fewer than 1 in 1,000 by chance"
    if p < 0.05:
        return f"real: about 1 in {max(2, round(1 / p)):,} by chance"
    return f"not shown: {p:.0%} chance it is noise"


def _count(n) -> str:
    """The answers or records behind a sampled KPI ('—' for KPIs that are not sampled)."""
    return "—" if n is None or n != n else f"{int(n):,}"


table = ui.compute("segments.compare", f, dimension, group_a, group_b)
significant = table[table.significant]
st.markdown(f"**{len(significant)} differences are real** (less than a 1 in 20 chance that they are noise, by a "
            "two-proportion test; proportions only — means, medians, growth and ratios are shown without a test). "
            "n is the number of answers or records behind each figure.")
shown = pd.DataFrame({
    "KPI": table.label,
    "Rule": table.rule,
    group_a: [ui.fmt(v, u) for v, u in zip(table.value_a, table.unit)],
    f"n {group_a}": [_count(n) for n in table.n_a],
    group_b: [ui.fmt(v, u) for v, u in zip(table.value_b, table.unit)],
    f"n {group_b}": [_count(n) for n in table.n_b],
    "Difference": [ui.fmt(d, u, signed=True) if d == d and d is not None else "—"
                   for d, u in zip(table.difference, table.unit)],
    "Is the difference real?": [_chance(p) for p in table.p_value],
    "Which is better": [f"{group_a if b == 'a' else group_b}" if s else "" for s, b in
                    zip(table.significant, table.better)],
})
st.dataframe(shown, hide_index=True, height=35 * len(shown) + 40)
ui.download(table, f"compare_{dimension}", key="seg_csv")

st.subheader("Where revenue and customers live")
picked = ui.chart_pick("seg_treemap")
measure = st.segmented_control("Size by", ["revenue", "customers"], default="revenue", key="seg_measure",
                               format_func={"revenue": "Revenue", "customers": "Buying customers"}.get) or "revenue"
by = ui.compute("segments.revenue", f, ("segment", "region"))
if by.empty:
    ui.empty_state("No orders in this range for this selection.")
    st.stop()
ui.selectable_chart(charts.revenue_treemap(by, "segment", "region", measure), "seg_treemap")
if picked:
    ui.clear_pick_control("seg_treemap", "Segment", picked)
    detail = by[by.segment.isin(picked)]
else:
    detail = by
st.dataframe(detail, hide_index=True, column_config={
    **labels.column_config(detail), "customers": st.column_config.NumberColumn("Buying customers", format="%d"),
    "revenue": st.column_config.NumberColumn("Revenue", format="€%.0f"),
    "margin": st.column_config.NumberColumn("Margin", format="€%.0f")})
