"""Sales pipeline for sales managers: what is open, what will close, where deals are won, what is stuck."""

import streamlit as st

from i18n import _
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Sales pipeline"))
f = ui.filters()
ui.caption_filters(f, ("customers", "opportunities"))
st.markdown(_("The deals **open on {day}** (the end of the range), when they are expected to close, and how the "
              "deals **closed in the range** were won or lost. The data has no sales stage, so open deals are "
              "grouped by their age.").format(day=ui.i18n.day(f.end)))

facts = ui.compute("pipeline.facts", f)
by_age = ui.compute("pipeline.open", f, "age")
by_team = ui.compute("pipeline.open", f, "owner_team")
by_source = ui.compute("pipeline.open", f, "source")
forecast = ui.compute("pipeline.forecast", f)
symbol = ui.currency_symbol()
card = ui.scorecard(f)
kpis = card["kpis"].set_index("name", drop=False)

open_deals, open_amount = int(by_age.deals.sum()), float(by_age.amount.sum())
tiles = st.columns(3)
# as tall as the tallest of the row (a label may take two lines), no taller
tiles[0].metric(_("Open pipeline"), ui.money(open_amount), border=True, height="stretch",
                delta=_("{n} open deals").format(n=ui.i18n.number(open_deals)), delta_color="off", delta_arrow="off",
                help=_("Amount of the deals open at the end of the range."))
tiles[1].metric(_("Expected to be won"), ui.money(float(forecast.weighted.sum()) if len(forecast) else None),
                border=True, height="stretch",
                help=_("Open amount weighted by the win rate of each deal's source over the last 12 months (the "
                       "overall win rate for sources with fewer than 30 closed deals)."))
partner_open = None
if len(by_source):
    total = float(by_source.amount.sum())
    partner_open = float(by_source.loc[by_source.group == "partner", "amount"].sum()) / total if total else None
tiles[2].metric(_("Partner share of open pipeline"), ui.fmt(partner_open, "percent"), border=True, height="stretch",
                help=_("Open amount of partner-sourced deals / open amount."))
for col, name in zip(st.columns(3), ("partner_won_share", "win_rate", "sales_cycle_days")):
    with col:
        ui.kpi_tile(kpis.loc[name], drill_filters=f, key="pipeline_")

st.subheader(_("Open pipeline"))
if open_deals == 0:
    ui.empty_state(_("No deal is open at the end of the range for this selection."))
else:
    by_age = by_age.assign(group=[_(g) for g in by_age.group])
    a, b = st.columns(2)
    with a:
        ui.chart(charts.pipeline_bars, by_age, _("Open pipeline by age"), _("Days since the deal was created"),
                 symbol, key="pipeline_age")
    with b:
        by_team = by_team.assign(group=[labels.value_label(g) for g in by_team.group])
        ui.chart(charts.pipeline_bars, by_team, _("Open pipeline by team"), _("Sales team"), symbol,
                 key="pipeline_team")

st.subheader(_("Expected closes by month"))
if forecast.empty:
    ui.empty_state(_("No forecast: no open deal, or no deal won in the 12 months before the end of the range."))
else:
    ui.chart(charts.close_forecast_bars, forecast, symbol, key="pipeline_forecast")
    overdue = int(forecast.overdue.sum())
    # the 12 months' median, not the range's of the stuck deals below: each says which it is
    st.caption(_("A deal is expected to close one median sales cycle after it was created (the median of the deals "
                 "won in the 12 months before the end of the range); the {n} deals already past that are counted in "
                 "{month}. The weighted bar multiplies each amount by the win rate of the deal's source over the "
                 "same 12 months.").format(
        n=ui.i18n.number(overdue), month=ui.i18n.month(f.end)))

st.subheader(_("Win rate of the deals closed in the range"))
target = float(kpis.loc["win_rate", "target"])
a, b = st.columns(2)
for col, by, title, y_title in ((a, "source", _("Win rate by source"), _("Source")),
                                (b, "owner_team", _("Win rate by team"), _("Sales team"))):
    rates = ui.compute("pipeline.win_rates", f, by)
    with col:
        if rates.empty:
            ui.empty_state(_("No deal was won or lost in the range for this selection."))
        else:
            rates = rates.assign(group=[labels.value_label(g) for g in rates.group])
            ui.chart(charts.win_rate_dots, rates, title, y_title, target, key=f"pipeline_win_{by}")
st.caption(_("Each line is the 95 % Wilson interval: with few closed deals it is wide, and two groups whose lines "
             "overlap may not really differ."))

st.subheader(_("Sales cycle and stuck deals"))
days = ui.compute("pipeline.cycle", f)
median = facts["sales_cycle_days"]
if days.empty:
    ui.empty_state(_("No deal was won in the range for this selection."))
else:
    ui.chart(charts.cycle_histogram, days, median, key="pipeline_cycle")
if median is None:
    ui.empty_state(_("No median sales cycle in the range, so no deal can be called stuck."))
else:
    stuck, total = ui.records_page("pipeline.open", f, float(median), size=10)
    st.markdown(_("**{n} open deals are older than the median sales cycle of the range ({days} days)** — the "
                  "oldest first.")
                .format(n=ui.i18n.number(total), days=f"{median:.0f}"))
    if total:
        shown = stuck[["opportunity_id", "customer", "owner_team", "source", "created_at", "amount", "age_days"]]
        shown = shown.assign(amount=[ui.money(a) for a in shown.amount],
                             source=[labels.value_label(s) for s in shown.source],
                             owner_team=[labels.value_label(t) for t in shown.owner_team])  # missing: "—"
        labels.table(labels.readable(shown), hide_index=True, column_config=labels.column_config(
            shown, created_at=st.column_config.DateColumn(_("Created"), format="YYYY-MM-DD"),
            amount=st.column_config.TextColumn(_("Amount")),
            age_days=st.column_config.NumberColumn(_("Age (days)"), format="%.0f")), placeholder=labels.EMPTY)
        ui.records_button(_("All stuck deals"), _("Open deals older than the median sales cycle"), "pipeline.open",
                          f, float(median), key="pipeline_stuck")
