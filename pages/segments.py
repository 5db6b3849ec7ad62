"""Segments: two groups side by side on every KPI, and where revenue and customers live."""

import pandas as pd
import streamlit as st

from i18n import N_, _
from metrics.filters import DIMENSION_LABELS
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Segments"))
f = ui.filters()
ui.caption_filters(f, ("customers", "orders", "opportunities", "tickets", "surveys", "interactions"))

dims = ["segment", "region", "industry", "acquisition_channel", "owner_team", "channel"]
c1, c2, c3 = st.columns(3)
dimension = c1.selectbox(_("Compare by"), dims, format_func=lambda d: _(DIMENSION_LABELS[d]), key="seg_dim")
dimension_label = _(DIMENSION_LABELS[dimension])
options = ui.dimension_values(ui.require_source().url)[dimension]
if len(options) < 2:
    ui.empty_state(_("This data has fewer than two values of {dimension}.").format(
        dimension=dimension_label.lower()))
    st.stop()
group_a = c2.selectbox(_("Group A"), options, index=0, key="seg_a")
group_b = c3.selectbox(_("Group B"), options, index=1, key="seg_b")
if group_a == group_b:
    st.warning(_("Pick two different groups."))
    st.stop()


def _count(n) -> str:
    """The answers or records behind a sampled KPI ('—' for KPIs that are not sampled)."""
    return "—" if n is None or n != n else ui.i18n.number(int(n))


table = ui.compute("segments.compare", f, dimension, group_a, group_b)
significant = table[table.significant]
st.markdown(ui.i18n.ngettext(
    "**{n} difference is real** (less than a 1 in 20 chance that it is noise, by a two-proportion test; "
    "proportions only — means, medians, growth and ratios are shown without a test). n is the number of answers "
    "or records behind each figure.",
    "**{n} differences are real** (less than a 1 in 20 chance that they are noise, by a two-proportion test; "
    "proportions only — means, medians, growth and ratios are shown without a test). n is the number of answers "
    "or records behind each figure.", len(significant)).format(n=len(significant)))
shown = pd.DataFrame({   # the figures first, the rule last: the table scrolls sideways
    _("KPI"): [_(label) for label in table.label],
    group_a: [ui.fmt(v, u) for v, u in zip(table.value_a, table.unit)],
    _("n {group}").format(group=group_a): [_count(n) for n in table.n_a],
    group_b: [ui.fmt(v, u) for v, u in zip(table.value_b, table.unit)],
    _("n {group}").format(group=group_b): [_count(n) for n in table.n_b],
    _("Difference"): [ui.fmt(d, u, signed=True) if d == d and d is not None else "—"
                      for d, u in zip(table.difference, table.unit)],
    _("Is the difference real?"): [ui.chance(p) for p in table.p_value],
    _("Which is better"): [f"{group_a if b == 'a' else group_b}" if s else "" for s, b in
                           zip(table.significant, table.better)],
    _("Rule"): [_(rule) for rule in table.rule],
})
# the values wide enough for the longest unit ("20,2 por cada 1.000"): Streamlit sizes a column by its header
# and the KPI's name whole ("Clientes atendidos por varios departamentos"), kept in view when the
# table scrolls sideways
labels.table(shown, hide_index=True, height=35 * len(shown) + 40, placeholder=labels.EMPTY,
             column_config={_("KPI"): st.column_config.TextColumn(_("KPI"), width=290, pinned=True),
                            **{name: st.column_config.TextColumn(name, width=150)
                               for name in (group_a, group_b, _("Difference"))}})
ui.download(table, f"compare_{dimension}", key="seg_csv")

st.subheader(_("Where revenue and customers live"))
picked = ui.chart_pick("seg_treemap")
MEASURES = {"revenue": N_("Revenue"), "customers": N_("Buying customers")}
measure = st.segmented_control(_("Size by"), ["revenue", "customers"], default="revenue", key="seg_measure",
                               format_func=lambda m: _(MEASURES[m])) or "revenue"
by = ui.compute("segments.revenue", f, ("segment", "region"))
if by.empty:
    ui.empty_state(_("No orders in this range for this selection."))
    st.stop()
ui.selectable_chart(charts.revenue_treemap(by, "segment", "region", measure), "seg_treemap")
if picked:
    ui.clear_pick_control("seg_treemap", _("Segment"), picked)
    detail = by[by.segment.isin(picked)]
else:
    detail = by
labels.table(ui.money_table(detail, ["revenue", "margin"]), hide_index=True, column_config={
    **labels.column_config(detail), "customers": st.column_config.NumberColumn(_("Buying customers"), format="%d"),
    "revenue": st.column_config.NumberColumn(_("Revenue")),
    "margin": st.column_config.NumberColumn(_("Margin"))}, placeholder=labels.EMPTY)
