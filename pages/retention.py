"""Retention cohorts: customers (or revenue) of each acquisition month, month by month."""

import pandas as pd
import streamlit as st

from i18n import N_, _
from metrics.filters import CUSTOMER_DIMENSIONS, DIMENSION_LABELS
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Retention cohorts"))
f = ui.filters()
ui.caption_filters(f, ("customers", "orders"))
f = ui.page_window(f, 12, "cohort_window", _("Cohorts of customers acquired"))
st.markdown(_("A cohort is the calendar month in which customers were acquired; month *k* is the *k*-th calendar "
              "month after it (0 = the acquisition month). Cohorts are the acquisition months of the date range; "
              "cells after its end are left empty, not zero."))

SURVIVAL_COHORTS = {"all": N_("All acquired so far"), "range": N_("Acquired in the range")}


@ui.section  # its controls rerun this section only, not the cohort matrix above
def survival_section() -> None:
    st.subheader(_("How long customers stay"))
    st.markdown(_("A customer churns when no order follows their last one for the chosen number of days; "
                  "customers still buying are followed up to the end of the range (censored). The curves are "
                  "Kaplan-Meier estimates with 95 % bands; the log-rank test says whether the groups differ."))
    c1, c2, c3 = st.columns([1, 1, 1.4])
    dimension = c1.selectbox(_("Compare by"), [None, *CUSTOMER_DIMENSIONS], key="surv_dim", index=1,
                             format_func=lambda d: _("Everyone") if d is None else _(DIMENSION_LABELS[d]))
    churn_days = int(c2.number_input(_("Churn after days without an order"), 30, 730, 180, step=30, key="surv_days"))
    cohort = c3.segmented_control(_("Customers"), ["all", "range"], default="all", key="surv_cohort",
                                  format_func=lambda c: _(SURVIVAL_COHORTS[c]))
    result = ui.compute("survival", f, dimension, churn_days, cohort or "all")
    if result["curves"].empty:
        ui.empty_state(_("No customer with orders in this selection to follow."))
        return
    ui.chart(charts.survival_curves, result["curves"], churn_days, key="survival_chart")
    for median in result["medians"].values():
        st.markdown(f"- {median.sentence()}")
    verdict = result["logrank"]
    (st.success if verdict.significant else st.info)(verdict.sentence(), icon=":material/science:")
    ui.records_button(_("Churned customers"), _("Customers who churned"), "survival.customers", f, True, churn_days,
                      cohort or "all", key="surv_drill")


matrices = ui.compute("cohorts.matrix", f)
if matrices["size"].empty:
    ui.empty_state(_("No customers were acquired in this range for this selection. Widen the date range (a year "
                     "or more shows retention best) or clear a filter."))
    survival_section()
    st.stop()

MEASURES = {"customers": N_("Customers"), "revenue": N_("Revenue")}
SCALES = {"percent": N_("Percent of month 0"), "absolute": N_("Absolute")}
c1, c2 = st.columns(2)
measure = c1.segmented_control(_("Measure"), ["customers", "revenue"], default="customers", key="cohort_measure",
                               format_func=lambda m: _(MEASURES[m])) or "customers"
scale = c2.segmented_control(_("Show"), ["percent", "absolute"], default="percent", key="cohort_scale",
                             format_func=lambda s: _(SCALES[s])) or "percent"
percent = scale == "percent"
name = {("customers", True): "retention", ("customers", False): "customers",
        ("revenue", True): "revenue_retention", ("revenue", False): "revenue"}[(measure, percent)]
titles = {"retention": _("Customer retention: share of the cohort buying in month k"),
          "customers": _("Customers of the cohort buying in month k"),
          "revenue_retention": _("Revenue retention: revenue in month k / revenue in month 0"),
          "revenue": _("Revenue of the cohort in month k ({currency})").format(currency=ui.currency_symbol())}
ui.chart(charts.cohort_heatmap, matrices[name], percent, titles[name], bounded=name == "retention",
         key="cohort_heatmap")
st.caption(_("{cohorts} cohorts, {customers} customers. Month 0 is 100 % by construction: every customer's first "
             "order falls in the acquisition month.").format(cohorts=ui.i18n.number(len(matrices["size"])),
                                                             customers=ui.i18n.number(int(matrices["size"].sum()))))

table = matrices[name].copy()
table.index = [ui.i18n.month(pd.Timestamp(i)) for i in table.index]
shown = table.map(lambda v: "" if pd.isna(v) else (ui.i18n.percent(v, 0) if percent else ui.i18n.number(v)))
shown.columns = [_("month {k}").format(k=k) for k in shown.columns]  # future cells: blank
shown.insert(0, _("Cohort size"), [ui.i18n.number(n) for n in matrices["size"].to_numpy()])
shown.index.name = _("Cohort")
# the numbers written in the page's language, aligned as numbers are (they are text here)
labels.table(shown, column_config={column: st.column_config.TextColumn(column, alignment="right")
                                   for column in shown.columns})
table.insert(0, "cohort size", matrices["size"].to_numpy())
table.index = [pd.Timestamp(i).strftime("%Y-%m") for i in matrices[name].index]
ui.download(table.reset_index(names="cohort"), f"cohorts_{name}", key="cohort_csv")

st.subheader(_("Customers behind a cell"))
c1, c2, c3 = st.columns([2, 1, 1])
cohort = c1.selectbox(_("Cohort"), list(matrices["size"].index),
                      format_func=lambda d: ui.i18n.month_name(pd.Timestamp(d)), key="cohort_pick")
horizon = int(matrices["customers"].loc[cohort].notna().sum()) - 1
k = c2.number_input(_("Month k"), 0, max(horizon, 0), 0, key="cohort_k")
with c3:
    st.write("")
    ui.records_button(_("Customers"), _("Cohort {cohort}, month {k}: customers who bought").format(
        cohort=ui.i18n.month_name(pd.Timestamp(cohort)), k=k),
        "cohort", f, pd.Timestamp(cohort).to_pydatetime(), int(k), key="cohort_drill")

survival_section()
