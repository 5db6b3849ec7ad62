"""Lifecycle funnel: prospect -> attracted -> acquired -> retained -> lifetime customer."""

import streamlit as st

from i18n import N_, _
from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS
from metrics.funnel import STAGES, FunnelWindows, compare_groups, conversion_table
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Lifecycle funnel"))
f = ui.filters()
ui.caption_filters(f, ("customers", "orders", "opportunities"))
f = ui.page_window(f, 12, "funnel_window", _("Customers created"))
st.markdown(_("Prospecting, attraction, acquisition and retention add up to lifetime customers. The population "
              "is the customers **created in the date range**; a stage counts only if "
              "it was reached before the end of the range. Retained = an order 30 to 365 days after "
              "acquisition; lifetime = retained and orders in at least three 365-day periods."))

with st.expander(_("Windows (settings)")):
    c1, c2, c3 = st.columns(3)
    windows = FunnelWindows(
        retained_after_days=c1.number_input(_("Retained: order after (days)"), 0, 365, 30, key="w_after"),
        retained_until_days=c2.number_input(_("Retained: order until (days)"), 31, 1095, 365, key="w_until"),
        lifetime_periods=c3.number_input(_("Lifetime: distinct 365-day periods"), 2, 10, 3, key="w_periods"),
    )

stage_names = labels.stage_labels()  # stage -> name in the page's language
dimensions = list(CUSTOMER_DIMENSIONS)
dimension = st.selectbox(_("Break down by"), dimensions, format_func=lambda d: _(DIMENSION_LABELS[d]),
                         key="funnel_dim")
dimension_label = _(DIMENSION_LABELS[dimension])
picked = ui.chart_pick("funnel_breakdown")
page_filters = f.with_values(**{dimension: tuple(picked)}) if picked else f
ui.clear_pick_control("funnel_breakdown", dimension_label, picked)

stages = ui.compute("funnel.stages", page_filters, None, windows)
if stages.empty or int(stages.iloc[0]["prospect"]) == 0:
    ui.empty_state(_("No prospects were created in this range for this selection. Widen the date range or "
                     "clear a filter."))
    st.stop()
row = stages.iloc[0]
table = conversion_table(row)
table = table.astype({c: float for c in table.columns if c not in ("stage", "label", "customers")})
table["label"] = [stage_names[s] for s in table.stage]
if f.days < 400:
    st.caption(_("The range covers {days} days: customers created in it have had little time to be retained "
                 "(30-365 days) or to become lifetime customers (three yearly periods). Widen the range to see "
                 "the later stages fill up.").format(days=ui.i18n.number(f.days)))

STAGE_RECORDS = {"prospect": N_("Prospects"), "attracted": N_("Attracted customers"),
                 "acquired": N_("Acquired customers"), "retained": N_("Retained customers"),
                 "lifetime": N_("Lifetime customers")}
tiles = st.columns(5)
for col, stage_row in zip(tiles, table.itertuples()):
    col.metric(stage_row.label, ui.i18n.number(stage_row.customers),
               help=_("Share of prospects") if stage_row.stage != "prospect" else _("Customers created in the range"),
               delta=None if stage_row.stage == "prospect" else _("{share} of prospects").format(
                   share=ui.i18n.percent(stage_row.cumulative_conversion, 1)),
               delta_color="off", delta_arrow="off", border=True, height="stretch")   # level in their row
    with col:
        ui.records_button(_("Customers"), _(STAGE_RECORDS.get(stage_row.stage, stage_row.label)), "funnel.stage",
                          page_filters, stage_row.stage, windows, key=f"funnel_drill_{stage_row.stage}")

left, right = st.columns(2)
with left:
    ui.chart(charts.funnel_stages, table, key="funnel_chart")
with right:
    CONVERSIONS = {"step": N_("Step (from previous stage)"), "cumulative": N_("Cumulative (from prospect)")}
    which = st.segmented_control(_("Conversion"), ["step", "cumulative"], default="step", key="funnel_which",
                                 format_func=lambda w: _(CONVERSIONS[w]))
    ui.chart(charts.conversion_bars, table, which or "step", key="funnel_conv")

st.subheader(_("Time between stages"))
days = st.columns(3)
for col, (label, key) in zip(days, [(_("Median days: prospect → attracted"), "days_prospect_attracted"),
                                    (_("Median days: attracted → acquired"), "days_attracted_acquired"),
                                    (_("Median days: acquired → retained (first repeat order)"),
                                     "days_acquired_retained")]):
    value = row[key]
    col.metric(label, _("no data") if value is None or value != value else
               _("{days} days").format(days=ui.i18n.number(value)), border=True, height="stretch")

st.subheader(_("Conversion table"))
CONVERSION_COLUMNS = {"step_conversion": N_("Step conversion"), "step_low": N_("Step: 95 % low"),
                      "step_high": N_("Step: 95 % high"), "cumulative_conversion": N_("Cumulative conversion"),
                      "cumulative_low": N_("Cumulative: 95 % low"), "cumulative_high": N_("Cumulative: 95 % high")}
shares = [c for c in table.columns if c not in ("stage", "label", "customers")]
# five rows in funnel order: the shares as text, by locale, with a dash where one does not apply
# (the prospects' step conversion; a table would show an empty number as "None")
shown = table.drop(columns=["stage"]).assign(**{c: [ui.i18n.percent(v, 1) if v == v else "—" for v in table[c]]
                                                for c in shares})
labels.table(shown, hide_index=True, column_config={
    "label": _("Stage"), "customers": st.column_config.NumberColumn(_("Customers"), format="%d"),
    **{c: st.column_config.TextColumn(_(CONVERSION_COLUMNS.get(c, c))) for c in shares}})
ui.download(table, "funnel", key="funnel_csv")

st.subheader(_("By {dimension}").format(dimension=dimension_label.lower()))
by_group = ui.compute("funnel.stages", f, dimension, windows)
by_group = by_group[by_group.prospect > 0]
if by_group.empty:
    ui.empty_state(_("No groups to compare."))
    st.stop()
ui.selectable_chart(charts.breakdown_bars(by_group, dimension_label, stage_names), "funnel_breakdown")
labels.table(by_group, hide_index=True, column_config={
    "group": dimension_label, **{s: st.column_config.NumberColumn(stage_names[s], format="localized")
                                 for s in STAGES},
    "days_prospect_attracted": st.column_config.NumberColumn(_("Median days to attract"), format="%.0f"),
    "days_attracted_acquired": st.column_config.NumberColumn(_("Median days to acquire"), format="%.0f"),
    "days_acquired_retained": st.column_config.NumberColumn(_("Median days to repeat order"), format="%.0f")})

st.subheader(_("Compare two groups"))
groups = by_group["group"].tolist()
if len(groups) < 2:
    ui.empty_state(_("Only one group in this selection: nothing to compare."))
    st.stop()
c1, c2, c3 = st.columns(3)
group_a = c1.selectbox(_("Group A"), groups, index=0, key="funnel_a")
group_b = c2.selectbox(_("Group B"), groups, index=1, key="funnel_b")
stage = c3.selectbox(_("Stage"), STAGES[1:], index=1, format_func=stage_names.get, key="funnel_stage")
if group_a == group_b:
    st.warning(_("Pick two different groups."))
else:
    result = compare_groups(by_group, group_a, group_b, stage)
    (st.success if result.significant else st.info)(result.sentence(), icon=":material/science:")
