"""Retention cohorts: customers (or revenue) of each acquisition month, month by month."""

import pandas as pd
import streamlit as st

from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS
from pages import charts, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Retention cohorts")
f = ui.filters()
ui.caption_filters(f, ("customers", "orders"))
f = ui.page_window(f, 12, "cohort_window", ui.i18n._("Cohorts of customers acquired"))
st.markdown("A cohort is the calendar month in which customers were acquired; month *k* is the *k*-th calendar "
            "month after it (0 = the acquisition month). Cohorts are the acquisition months of the date range; "
            "cells after its end are left empty, not zero.")


@ui.section  # its controls rerun this section only, not the cohort matrix above
def survival_section() -> None:
    st.subheader("How long customers stay")
    st.markdown("A customer churns when no order follows their last one for the chosen number of days; customers "
                "still buying are followed up to the end of the range (censored). The curves are Kaplan-Meier "
                "estimates with 95 % bands; the log-rank test says whether the groups differ.")
    c1, c2, c3 = st.columns(3)
    dimension = c1.selectbox("Compare by", [None, *CUSTOMER_DIMENSIONS], key="surv_dim", index=1,
                             format_func=lambda d: "Everyone" if d is None else DIMENSION_LABELS[d])
    churn_days = int(c2.number_input("Churn after days without an order", 30, 730, 180, step=30, key="surv_days"))
    cohort = c3.segmented_control("Customers", ["all", "range"], default="all", key="surv_cohort",
                                  format_func={"all": "All acquired so far", "range": "Acquired in the range"}.get)
    result = ui.compute("survival", f, dimension, churn_days, cohort or "all")
    if result["curves"].empty:
        ui.empty_state("No customer with orders in this selection to follow.")
        return
    ui.chart(charts.survival_curves(result["curves"], churn_days), key="survival_chart")
    for median in result["medians"].values():
        st.markdown(f"- {median.sentence()}")
    verdict = result["logrank"]
    (st.success if verdict.significant else st.info)(verdict.sentence(), icon=":material/science:")
    ui.records_button("Churned customers", "Customers who churned", "survival.customers", f, True, churn_days,
                      cohort or "all", key="surv_drill")


matrices = ui.compute("cohorts.matrix", f)
if matrices["size"].empty:
    ui.empty_state("No customers were acquired in this range for this selection. Widen the date range (a year "
                   "or more shows retention best) or clear a filter.")
    survival_section()
    st.stop()

c1, c2 = st.columns(2)
measure = c1.segmented_control("Measure", ["customers", "revenue"], default="customers", key="cohort_measure",
                               format_func={"customers": "Customers", "revenue": "Revenue"}.get) or "customers"
scale = c2.segmented_control("Show", ["percent", "absolute"], default="percent", key="cohort_scale",
                             format_func={"percent": "Percent of month 0", "absolute": "Absolute"}.get) or "percent"
percent = scale == "percent"
name = {("customers", True): "retention", ("customers", False): "customers",
        ("revenue", True): "revenue_retention", ("revenue", False): "revenue"}[(measure, percent)]
titles = {"retention": ("Customer retention: share of the cohort buying in month k", "Retained"),
          "customers": ("Customers of the cohort buying in month k", "Customers"),
          "revenue_retention": ("Revenue retention: revenue in month k / revenue in month 0", "Of month 0"),
          "revenue": ("Revenue of the cohort in month k", "Revenue (€)")}
title, colorbar = titles[name]
ui.chart(charts.cohort_heatmap(matrices[name], percent, title, colorbar), key="cohort_heatmap")
st.caption(f"{len(matrices['size'])} cohorts, {int(matrices['size'].sum()):,} customers. "
           "Month 0 is 100 % by construction: every customer's first order falls in the acquisition month.")

table = matrices[name].copy()
table.index = [pd.Timestamp(i).strftime("%Y-%m") for i in table.index]
shown = table.map(lambda v: "" if pd.isna(v) else (f"{v:.0%}" if percent else f"{v:,.0f}"))  # future: blank
shown.columns = [f"month {k}" for k in shown.columns]
shown.insert(0, "cohort size", matrices["size"].to_numpy())
st.dataframe(shown)
table.insert(0, "cohort size", matrices["size"].to_numpy())
ui.download(table.reset_index(names="cohort"), f"cohorts_{name}", key="cohort_csv")

st.subheader("Customers behind a cell")
c1, c2, c3 = st.columns([2, 1, 1])
cohort = c1.selectbox("Cohort", list(matrices["size"].index), format_func=lambda d: pd.Timestamp(d).strftime("%B %Y"),
                      key="cohort_pick")
horizon = int(matrices["customers"].loc[cohort].notna().sum()) - 1
k = c2.number_input("Month k", 0, max(horizon, 0), 0, key="cohort_k")
with c3:
    st.write("")
    ui.records_button("Customers", f"Cohort {pd.Timestamp(cohort):%B %Y}, month {k}: customers who bought",
                      "cohort", f, pd.Timestamp(cohort).to_pydatetime(), int(k), key="cohort_drill")

survival_section()
