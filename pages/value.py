"""Customer value: what will customers buy, when, and how much will they pay (seed 002)."""

import streamlit as st

from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS
from metrics.value import NpvParams
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Customer value")
f = ui.filters()
ui.caption_filters(f, ("customers", "orders"))
st.markdown("Two views of what the customer base is worth, which give different totals on purpose. "
            "**Predicted** (top): a purchase model predicts each customer's purchases and the probability they "
            "are still a customer, a spend model their spend per purchase (BG/NBD and Gamma-Gamma), fitted "
            "per segment on the order history up to the end of the range. **NPV** (bottom): the lifetime value of a customer "
            "group from its yearly margin and retention, discounted.")

c1, c2 = st.columns(2)
horizon = int(c1.select_slider("CLV horizon (months)", [6, 12, 24, 36], value=12, key="clv_horizon"))
by = c2.selectbox("Fit the models per", ["segment", None], key="clv_by",
                  format_func=lambda d: "segment" if d else "nobody (one pooled model)")
result = ui.compute("clv", f, horizon, by)
if result["error"]:
    ui.empty_state(result["error"])
else:
    overall = result["overall"]
    tiles = st.columns(4)
    tiles[0].metric("Customer equity (predicted)", ui.money(overall['equity']), border=True,
                    help=f"Sum of every customer's discounted CLV over the next {horizon} months, from the purchase "
                         "models. The NPV equity further down uses yearly margin and retention instead, and the "
                         "'Customer equity growth' KPI uses the NPV method: the three answer different questions.")
    tiles[1].metric("Mean CLV", ui.money(overall['mean_clv']), border=True)
    tiles[2].metric("Mean P(alive)", f"{overall['p_alive']:.0%}", border=True,
                    help="The average probability that a customer is still buying.")
    tiles[3].metric("Expected purchases", f"{overall['expected_purchases']:,.0f}", border=True,
                    help=f"Purchases the base is expected to make in the next {horizon} months.")
    left, right = st.columns(2)
    with left:
        ui.chart(charts.clv_histogram(result["distribution"]), key="clv_hist")
        st.caption("Most customers are worth little and a few are worth a lot: the value is skewed, hence the log "
                   "scale.")
    with right:
        ui.chart(charts.equity_bars(result["by_segment"], "equity", "Customer equity by segment", "Equity"),
                 key="clv_equity")
        st.caption("Where the predicted value of the base sits, segment by segment.")
    ui.chart(charts.alive_vs_clv(result["sample"]), key="clv_scatter")
    st.caption("Each dot is a customer (a sample of up to 3,000). Bottom right: likely still customers but of low "
               "value; top left: valuable customers who may already have left — the ones to win back first.")
    st.subheader("Top customers by predicted CLV")
    st.dataframe(result["top"], hide_index=True, height=300, column_config={
        **labels.column_config(result["top"]), "frequency": st.column_config.NumberColumn("Repeat purchases", format="%d"),
        "p_alive": ui.percent_column("P(alive)"), "clv": st.column_config.NumberColumn("CLV", format="€%.0f"),
        "monetary_value": st.column_config.NumberColumn("Mean repeat spend", format="€%.0f"),
        "expected_spend": st.column_config.NumberColumn("Expected spend / purchase", format="€%.0f"),
        "expected_purchases": st.column_config.NumberColumn("Expected purchases", format="%.1f")})
    ui.download(result["top"], "top_customers_clv", key="clv_top_csv")
    with st.expander("Model parameters (maximum likelihood, with standard errors)"):
        st.dataframe(result["parameters"], hide_index=True)
        for group, notes in result["notes"].items():
            for note in notes:
                st.caption(f"{group}: {note}")

@ui.section
def rfm_section() -> None:
    """RFM grid, segments and the Pareto share (no control: computed once per filter set)."""
    st.subheader("RFM: recency, frequency, monetary value")
    rfm_result = ui.compute("rfm", f)
    if not rfm_result["customers"]:
        ui.empty_state("No customer bought in the year before the end of the range.")
    else:
        pareto = rfm_result["pareto"]
        left, right = st.columns([3, 2])
        with left:
            ui.chart(charts.rfm_heatmap(rfm_result["grid"]), key="rfm_grid")
            st.caption("Customers who bought in the last year, scored 1-5 on recency and frequency by quintile; each "
                       "cell is named after the RFM segment it belongs to.")
        with right:
            st.metric("Revenue from the top 20 % of customers", "no data" if pareto is None else f"{pareto:.0%}",
                      help="The Pareto share: revenue in the range from the fifth of customers who spent the most.",
                      border=True)
            segments = rfm_result["segments"]
            numbers_first = [c for c in segments.columns if c != "description"] + ["description"]
            st.dataframe(segments, hide_index=True, column_order=numbers_first, column_config={
                "customer_share": ui.percent_column("Customers"), "revenue_share": ui.percent_column("Revenue"),
                "revenue": st.column_config.NumberColumn("Revenue", format="€%.0f")})


@ui.section  # the horizon slider reruns this section only
def churn_section() -> None:
    """Churn model, CLV at risk and the customers most at risk."""
    st.subheader("Churn risk and CLV at risk")
    horizon_days = int(st.select_slider("Churn within (days)", [90, 180, 365], value=180, key="churn_horizon"))
    risk = ui.compute("churn", f, horizon_days, horizon, by)  # CLV at risk uses the value models above
    if risk["error"]:
        ui.empty_state(risk["error"])
    else:
        st.markdown(f"A logistic model learns, from customers active {horizon_days} days before the end of the range, "
                    f"who stopped buying since ({risk['churn_rate']:.0%} did), and scores today's customers. "
                    "It separates "
                    f"churners from the others with an AUC of {risk['auc']:.2f}"
                    + (f" ({risk['validation_auc']:.2f} on a period it was not fitted on)." if risk["validation_auc"]
                       else "."))
        left, right = st.columns(2)
        with left:
            ui.chart(charts.at_risk_bars(risk["at_risk"]), key="clv_at_risk")
            overall = risk["at_risk"][risk["at_risk"].group == "all"].iloc[0]
            st.caption(f"€{overall.clv_at_risk:,.0f} of €{overall.clv:,.0f} predicted value "
                       f"({overall.share_at_risk:.0%}) "
                       "belongs to customers likely to leave: the value at stake. The drivers on the right say "
                       "which of recency, service failures, satisfaction or contact pressure move the risk here.")
        with right:
            ui.chart(charts.odds_ratio_forest(risk["odds_ratios"]), key="churn_drivers")
        for sentence in risk["odds_ratios"].sentence:
            st.markdown(f"- {sentence}")
        for note in risk["notes"]:
            st.caption(note)
        st.markdown("**Customers most at risk (by CLV at risk)**")
        st.dataframe(risk["top"], hide_index=True, height=300, column_config={
            **labels.column_config(risk["top"]), "churn_probability": ui.percent_column("P(churn)"),
            "clv": st.column_config.NumberColumn("CLV", format="€%.0f"),
            "clv_at_risk": st.column_config.NumberColumn("CLV at risk", format="€%.0f"),
            "recency_days": st.column_config.NumberColumn("Days since last order", format="%.0f")})
        ui.download(risk["top"], "customers_at_risk", key="risk_csv")


@ui.section  # its controls rerun this section only
def npv_section() -> None:
    """NPV lifetime value per group from margin and retention."""
    st.subheader("NPV lifetime value by group")
    c1, c2, c3 = st.columns(3)
    dimension = c1.selectbox("Group by", list(CUSTOMER_DIMENSIONS), format_func=DIMENSION_LABELS.get, key="npv_dim")
    discount = c2.number_input("Discount rate (yearly)", 0.0, 0.5, 0.10, 0.01, format="%.2f", key="npv_rate")
    years = int(c3.number_input("Horizon (years)", 1, 20, 5, key="npv_years"))
    npv = ui.compute("value.by_group", f, dimension, NpvParams(discount_rate=discount, horizon_years=years))
    if npv.empty:
        ui.empty_state("No customer bought in the year before the end of the range.")
    else:
        st.caption("A group's NPV lifetime value adds up, year by year over the horizon, the mean yearly margin of an "
                   "active customer (an order in the last 365 days) times the chance they are still active (the "
                   "yearly retention, compounded), discounted at the chosen rate. Equity = active customers × that "
                   f"value: {ui.money(float(npv.equity.sum()))} in total, the NPV view, which differs from the "
                   f"predicted equity at the top ({horizon}-month purchase predictions).")
        st.dataframe(npv, hide_index=True, column_config={
            "group": DIMENSION_LABELS[dimension],
            "margin": st.column_config.NumberColumn("Margin (last year)", format="€%.0f"),
            "margin_per_customer": st.column_config.NumberColumn("m: margin per customer", format="€%.0f"),
            "retention": ui.percent_column("r: yearly retention"),
            "clv": st.column_config.NumberColumn("NPV CLV", format="€%.0f"),
            "equity": st.column_config.NumberColumn("Equity", format="€%.0f")})
        ui.download(npv, f"npv_by_{dimension}", key="npv_csv")


rfm_section()
churn_section()
npv_section()
