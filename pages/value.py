"""Customer value: what will customers buy, when, and how much will they pay."""

import streamlit as st

from i18n import N_, _
from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS
from metrics.value import NpvParams
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Customer value"))
f = ui.filters()
ui.caption_filters(f, ("customers", "orders"))
st.markdown(_("Two views of what the customer base is worth, which give different totals on purpose. "
              "**Predicted value**: a purchase model predicts each customer's purchases and the probability they "
              "are still a customer, a spend model their spend per purchase (BG/NBD and Gamma-Gamma), fitted "
              "per segment on the order history up to the end of the range. **NPV by group**: the lifetime value "
              "of a customer group from its yearly margin and retention, discounted."))
number, percent = ui.i18n.number, ui.i18n.percent

c1, c2 = st.columns(2)
horizon = int(c1.select_slider(_("CLV horizon (months)"), [6, 12, 24, 36], value=12, key="clv_horizon"))
by = c2.selectbox(_("Fit the models per"), ["segment", None], key="clv_by",
                  format_func=lambda d: _("segment") if d else _("nobody (one pooled model)"))
PARAMETER_COLUMNS = {"group": N_("Group"), "model": N_("Model"), "fitted_on": N_("Fitted on"),
                     "parameter": N_("Parameter"), "coef": N_("Estimate"), "se": N_("Standard error"),
                     "lower 95": N_("95 % low"), "upper 95": N_("95 % high")}
#: The parameters table's numbers (shown with four decimals).
ESTIMATE_COLUMNS = ("coef", "se", "lower 95", "upper 95")


def predicted_section() -> None:
    """The purchase and spend models' customer equity, CLV distribution and top customers."""
    result = ui.compute("clv", f, horizon, by)
    if result["error"]:
        ui.empty_state(result["error"])
    else:
        overall = result["overall"]
        tiles = st.columns(4)
        tiles[0].metric(_("Customer equity (predicted)"), ui.money(overall["equity"]), border=True,
                        help=_("Sum of every customer's discounted CLV over the next {months} months, from the purchase "
                               "models. The NPV equity (NPV by group) uses yearly margin and retention instead, and the "
                               "'Customer equity growth' KPI uses the NPV method: the three answer different "
                               "questions.").format(months=horizon))
        tiles[1].metric(_("Mean CLV"), ui.money(overall["mean_clv"]), border=True)
        tiles[2].metric(_("Mean P(alive)"), percent(overall["p_alive"], 0), border=True,
                        help=_("The average probability that a customer is still buying."))
        tiles[3].metric(_("Expected purchases"), number(overall["expected_purchases"]), border=True,
                        help=_("Purchases the base is expected to make in the next {months} months.").format(
                            months=horizon))
        symbol = ui.currency_symbol()
        left, right = st.columns(2)
        with left:
            ui.chart(charts.clv_histogram, result["distribution"], key="clv_hist")
            st.caption(_("Most customers are worth little and a few are worth a lot: the value is skewed, hence the "
                         "log scale."))
        with right:
            ui.chart(charts.equity_bars(result["by_segment"], "equity", _("Customer equity by segment"),
                                        _("Equity ({currency})").format(currency=symbol),
                                        money=ui.money), key="clv_equity")   # a formatter: built each run
            st.caption(_("Where the predicted value of the base sits, segment by segment."))
        ui.chart(charts.alive_value_map, result["alive_value"], key="clv_map")
        # BG/NBD gives P(alive) = 1 to a customer with no repeat purchase: the column at 100 %
        st.caption(_("Every customer, counted in the cell of their probability of still buying and predicted value "
                     "(the darker, the more customers). The column at 100 %: customers with no repeat purchase yet, "
                     "whom the model counts as active. Further left, customers silent for longer than their usual "
                     "rhythm; the highest of them are the valuable ones to win back first (few stand high: the "
                     "predicted value already allows for the chance that they have left)."))
        st.subheader(_("Top customers by predicted CLV"))
        top = result["top"]
        # subset: a second format() without it sets every other column back to pandas' default (7186.193077)
        labels.table(ui.money_table(labels.readable(top), ["clv", "monetary_value", "expected_spend"]).format(
            {"expected_purchases": lambda v: number(v, 1)}, subset=["expected_purchases"]), hide_index=True, height=300,
            column_config={
            **labels.column_config(top), "frequency": st.column_config.NumberColumn(_("Repeat purchases"), format="%d"),
            "p_alive": ui.percent_column(_("P(alive)")), "clv": st.column_config.NumberColumn(_("CLV")),
            "monetary_value": st.column_config.NumberColumn(_("Mean repeat spend")),
            "expected_spend": st.column_config.NumberColumn(_("Expected spend / purchase")),
            "expected_purchases": st.column_config.NumberColumn(_("Expected purchases"))}, placeholder=labels.EMPTY)
        ui.download(top, "top_customers_clv", key="clv_top_csv")
        with st.expander(_("Model parameters (maximum likelihood, with standard errors)")):
            parameters = result["parameters"]
            labels.table(labels.readable(parameters), hide_index=True, column_config={
                c: _(PARAMETER_COLUMNS[c]) for c in parameters.columns if c in PARAMETER_COLUMNS},
                decimals={c: 4 for c in ESTIMATE_COLUMNS}, placeholder=labels.EMPTY)
            for group, notes in result["notes"].items():
                for note in notes:
                    st.caption(f"{group}: {note}")


@ui.section
def rfm_section() -> None:
    """RFM grid, segments and the Pareto share (no control: computed once per filter set)."""
    st.subheader(_("RFM: recency, frequency, monetary value"))
    rfm_result = ui.compute("rfm", f)
    if not rfm_result["customers"]:
        ui.empty_state(_("No customer bought in the year before the end of the range."))
    else:
        pareto = rfm_result["pareto"]
        left, right = st.container(), st.container()  # the grid as wide as the page: its cells hold names
        with left:
            ui.chart(charts.rfm_heatmap, rfm_result["grid"], key="rfm_grid")
            st.caption(_("Customers who bought in the last year, scored 1-5 on recency and frequency by quintile; "
                         "each cell is named after the RFM segment it belongs to."))
        with right:
            st.metric(_("Revenue from the top 20 % of customers"),
                      _("no data") if pareto is None else percent(pareto, 0),
                      help=_("The Pareto share: revenue in the range from the fifth of customers who spent the "
                             "most."), border=True)
            segments = rfm_result["segments"].assign(
                rfm_segment=lambda t: [_(s) for s in t.rfm_segment], description=lambda t: [_(d) for d in t.description])
            numbers_first = [c for c in segments.columns if c != "description"] + ["description"]
            labels.table(ui.money_table(segments, ["revenue"]), hide_index=True, column_order=numbers_first,
                         column_config={
                "rfm_segment": _("RFM segment"), "description": _("What it means"),
                "customers": st.column_config.NumberColumn(_("Customers"), format="%d"),
                "customer_share": ui.percent_column(_("Share of customers")),
                "revenue_share": ui.percent_column(_("Share of revenue")),
                "revenue": st.column_config.NumberColumn(_("Revenue")),
                "mean_recency_days": st.column_config.NumberColumn(_("Mean days since the last order"),
                                                                   format="%.0f"),
                "mean_frequency": st.column_config.NumberColumn(_("Mean orders"), format="%.1f")},
                         placeholder=labels.EMPTY)


@ui.section  # the horizon slider reruns this section only
def churn_section() -> None:
    """Churn model, CLV at risk and the customers most at risk."""
    st.subheader(_("Churn risk and CLV at risk"))
    horizon_days = int(st.select_slider(_("Churn within (days)"), [90, 180, 365], value=180, key="churn_horizon"))
    risk = ui.compute("churn", f, horizon_days, horizon, by)  # CLV at risk uses the value models above
    if risk["error"]:
        ui.empty_state(risk["error"])
    else:
        fit = _("A logistic model learns from the customers active {days} days before the end of the range "
                "which of them stopped buying since then ({share} of them did), and scores today's customers. It "
                "separates churners from the others with an AUC of {auc}.").format(days=horizon_days, share=percent(risk["churn_rate"], 0),
                                                           auc=number(risk["auc"], 2))
        if risk["validation_auc"]:
            fit += " " + _("On a period it was not fitted on, the AUC is {auc}.").format(
                auc=number(risk["validation_auc"], 2))
        st.markdown(fit)
        left, right = st.columns(2)
        with left:
            ui.chart(charts.at_risk_bars, risk["at_risk"], _("Predicted CLV ({currency})").format(
                currency=ui.currency_symbol()), key="clv_at_risk")
            overall = risk["at_risk"][risk["at_risk"].group == "all"].iloc[0]
            # the customers the model scores (bought in the last year), not every customer of the
            # portfolio value above: the sentence says whose value it is
            st.caption(_("Of the {clv} predicted value of the {n} customers who bought in the year before the end "
                         "of the range (those the model scores), {at_risk} ({share}) belongs to customers likely "
                         "to leave: the value at stake. The drivers on the right say which of recency, service "
                         "failures, satisfaction or contact pressure move the risk here.").format(
                at_risk=ui.money(overall.clv_at_risk), clv=ui.money(overall.clv),
                n=ui.i18n.number(int(overall.customers)), share=percent(overall.share_at_risk, 0)))
        with right:
            ui.chart(charts.odds_ratio_forest, risk["odds_ratios"], key="churn_drivers")
        for sentence in risk["odds_ratios"].sentence:
            st.markdown(f"- {sentence}")
        for note in risk["notes"]:
            st.caption(note)
        st.markdown(_("**Customers most at risk (by CLV at risk)**"))
        top = risk["top"]
        labels.table(ui.money_table(labels.readable(top), ["clv", "clv_at_risk"]), hide_index=True, height=300,
                     column_config={
            **labels.column_config(top), "churn_probability": ui.percent_column(_("P(churn)")),
            "clv": st.column_config.NumberColumn(_("CLV")),
            "clv_at_risk": st.column_config.NumberColumn(_("CLV at risk")),
            "recency_days": st.column_config.NumberColumn(_("Days since last order"), format="%.0f"),
            "frequency": st.column_config.NumberColumn(_("Orders in the year before"), format="%d"),
            "tickets": st.column_config.NumberColumn(_("Tickets"), format="%d"),
            "sla_breaches": st.column_config.NumberColumn(_("SLA breaches"), format="%d"),
            "last_nps": st.column_config.NumberColumn(_("Last NPS score"), format="%.0f"),
            "contact_pressure": st.column_config.NumberColumn(_("Contacts in the busiest week"), format="%d")},
            placeholder=labels.EMPTY)
        ui.download(top, "customers_at_risk", key="risk_csv")


@ui.section  # its controls rerun this section only
def npv_section() -> None:
    """NPV lifetime value per group from margin and retention."""
    st.subheader(_("NPV lifetime value by group"))
    c1, c2, c3 = st.columns(3)
    dimension = c1.selectbox(_("Group by"), list(CUSTOMER_DIMENSIONS), format_func=lambda d: _(DIMENSION_LABELS[d]),
                             key="npv_dim")
    # in percent, as people say a rate ("10", not "0.10"); %g writes no decimals a whole number does not have
    discount = c2.number_input(_("Discount rate (% a year)"), 0.0, 50.0, 10.0, 0.5, format="%g", key="npv_rate") / 100
    years = int(c3.number_input(_("Horizon (years)"), 1, 20, 5, key="npv_years"))
    npv = ui.compute("value.by_group", f, dimension, NpvParams(discount_rate=discount, horizon_years=years))
    if npv.empty:
        ui.empty_state(_("No customer bought in the year before the end of the range."))
    else:
        st.caption(_("A group's NPV lifetime value adds up, year by year over the horizon, the mean yearly margin "
                     "of an active customer (an order in the last 365 days) times the chance they are still active "
                     "(the yearly retention, compounded), discounted at the chosen rate. Equity = active customers "
                     "× that value: {equity} in total, the NPV view, which differs from the predicted equity "
                     "(Predicted value: {months}-month purchase predictions).").format(
            equity=ui.money(float(npv.equity.sum())), months=horizon))
        labels.table(ui.money_table(npv, ["margin", "margin_per_customer", "clv", "equity"]), hide_index=True,
                     column_config={
            "group": _(DIMENSION_LABELS[dimension]),
            "active_customers": st.column_config.NumberColumn(_("Active customers"), format="%d"),
            "previous_active": st.column_config.NumberColumn(_("Active a year earlier"), format="%d"),
            "retained": st.column_config.NumberColumn(_("Retained"), format="%d"),
            "margin": st.column_config.NumberColumn(_("Margin (last year)")),
            "margin_per_customer": st.column_config.NumberColumn(_("m: margin per customer")),
            "retention": ui.percent_column(_("r: yearly retention")),
            "clv": st.column_config.NumberColumn(_("NPV CLV")),
            "equity": st.column_config.NumberColumn(_("Equity"))}, placeholder=labels.EMPTY)
        ui.download(npv, f"npv_by_{dimension}", key="npv_csv")


#: The page's views, as tabs computed only when opened (each is heavy at a million customers).
VIEWS = {N_("Predicted value"): predicted_section, N_("RFM"): rfm_section, N_("Churn risk"): churn_section,
         N_("NPV by group"): npv_section}
ui.views(VIEWS, "value_view")
