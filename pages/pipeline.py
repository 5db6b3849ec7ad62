"""Sales pipeline for sales managers: what is open, what will close, where deals are won, what is stuck."""

import streamlit as st

from pages import charts, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Sales pipeline")
f = ui.filters()
ui.caption_filters(f)
st.markdown(f"The deals **open on {f.end:%d %b %Y}** (the end of the range), when they are expected to close, "
            "and how the deals **closed in the range** were won or lost. The data has no sales stage, so open "
            "deals are grouped by their age.")

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
tiles[0].metric("Open pipeline", ui.money(open_amount), border=True, height=190,
                help="Amount of the deals open at the end of the range.")
tiles[0].caption(f"{open_deals:,} open deals")
tiles[1].metric("Expected to be won", ui.money(float(forecast.weighted.sum()) if len(forecast) else None),
                border=True, height=190, help="Open amount weighted by the win rate of each deal's source over the last "
                                  "12 months (the overall win rate for sources with fewer than 30 closed deals).")
partner_open = None
if len(by_source):
    total = float(by_source.amount.sum())
    partner_open = float(by_source.loc[by_source.group == "partner", "amount"].sum()) / total if total else None
tiles[2].metric("Partner share of open pipeline", ui.fmt(partner_open, "percent"), border=True, height=190,
                help="Open amount of partner-sourced deals / open amount.")
for col, name in zip(st.columns(3), ("partner_won_share", "win_rate", "sales_cycle_days")):
    with col:
        ui.kpi_tile(kpis.loc[name], drill_filters=f, key="pipeline_")

st.subheader("Open pipeline")
if open_deals == 0:
    ui.empty_state("No deal is open at the end of the range for this selection.")
else:
    a, b = st.columns(2)
    with a:
        ui.chart(charts.pipeline_bars(by_age, "Open pipeline by age", "Days since the deal was created", symbol),
                 key="pipeline_age")
    with b:
        ui.chart(charts.pipeline_bars(by_team, "Open pipeline by team", "Sales team", symbol), key="pipeline_team")

st.subheader("Expected closes by month")
if forecast.empty:
    ui.empty_state("No forecast: no open deal, or no deal won in the 12 months before the end of the range.")
else:
    ui.chart(charts.close_forecast_bars(forecast, symbol), key="pipeline_forecast")
    overdue = int(forecast.overdue.sum())
    st.caption(f"A deal is expected to close one median sales cycle after it was created; the {overdue:,} deals "
               f"already past that are counted in {f.end:%B %Y}. The weighted bar multiplies each amount by the "
               "win rate of the deal's source over the 12 months before the end of the range.")

st.subheader("Win rate of the deals closed in the range")
target = float(kpis.loc["win_rate", "target"])
a, b = st.columns(2)
for col, by, title, y_title in ((a, "source", "Win rate by source", "Source"),
                                (b, "owner_team", "Win rate by team", "Sales team")):
    rates = ui.compute("pipeline.win_rates", f, by)
    with col:
        if rates.empty:
            ui.empty_state("No deal was won or lost in the range for this selection.")
        else:
            ui.chart(charts.win_rate_dots(rates, title, y_title, target), key=f"pipeline_win_{by}")
st.caption("Each line is the 95 % Wilson interval: with few closed deals it is wide, and two groups whose "
           "lines overlap may not really differ.")

st.subheader("Sales cycle and stuck deals")
days = ui.compute("pipeline.cycle", f)
median = facts["sales_cycle_days"]
if days.empty:
    ui.empty_state("No deal was won in the range for this selection.")
else:
    ui.chart(charts.cycle_histogram(days, median), key="pipeline_cycle")
if median is None:
    ui.empty_state("No median sales cycle in the range, so no deal can be called stuck.")
else:
    stuck, total = ui.records_page("pipeline.open", f, float(median), size=10)
    st.markdown(f"**{total:,} open deals are older than the median sales cycle ({median:.0f} days)** — "
                "the oldest first.")
    if total:
        shown = stuck[["opportunity_id", "customer", "owner_team", "source", "created_at", "amount", "age_days"]]
        shown = shown.assign(amount=[ui.money(a) for a in shown.amount])
        st.dataframe(shown, hide_index=True, column_config={
            "opportunity_id": "Deal", "customer": "Customer", "owner_team": "Team", "source": "Source",
            "created_at": st.column_config.DateColumn("Created", format="YYYY-MM-DD"),
            "amount": st.column_config.TextColumn("Amount"),
            "age_days": st.column_config.NumberColumn("Age (days)", format="%.0f")})
        ui.records_button("All stuck deals", "Open deals older than the median sales cycle", "pipeline.open",
                          f, float(median), key="pipeline_stuck")
