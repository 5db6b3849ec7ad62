"""Alert rules (CRM lead): which KPI changes the e-mail digests call out."""

import pandas as pd
import streamlit as st

from data.store import ALERT_KINDS, StoreError
from metrics.catalogue import CATALOGUE, KPIS
from metrics.units import format_value
from pages import signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Alert rules")
st.markdown("The e-mail digests (`python -m metrics digest`) list every KPI that crossed its target since the "
            "recipient's previous digest, and every rule below that fires. Each recipient's digest uses their own "
            "part of the business.")
KIND_LABELS = {"below": "Value falls below", "above": "Value rises above", "change": "Changes by more than"}

store = ui.store()
rules = store.alert_rules()
if len(rules):
    shown = pd.DataFrame({
        "KPI": [KPIS[k].label if k in KPIS else k for k in rules.kpi],
        "Alert when": [KIND_LABELS[k] for k in rules.kind],
        "Threshold": [format_value(t, KPIS[k].unit) if k in KPIS else t for k, t in zip(rules.kpi, rules.threshold)],
        "Set by": rules.updated_by, "Set at (UTC)": rules.updated_at})
    st.dataframe(shown, hide_index=True)
else:
    ui.empty_state("No alert rule yet: digests only report KPIs that crossed their target.")

if not signin.can_write():
    st.caption("Only the CRM lead can change the alert rules.")
    st.stop()

with st.form("alert_form", clear_on_submit=True):
    st.markdown("**Add a rule**")
    c1, c2, c3 = st.columns([2, 2, 1])
    kpi = c1.selectbox("KPI", [k.name for k in CATALOGUE], format_func=lambda n: KPIS[n].label, key="alert_kpi")
    kind = c2.selectbox("Alert when", ALERT_KINDS, format_func=KIND_LABELS.get, key="alert_kind")
    threshold = c3.number_input("Threshold", value=0.0, format="%.4f", key="alert_threshold",
                                help="In the KPI's own unit; percentages as fractions (0.05 = 5 %).")
    if st.form_submit_button("Add rule", type="primary"):
        try:
            store.add_alert_rule(kpi, kind, threshold, who=signin.user_name(), role=signin.role())
            st.rerun()
        except StoreError as exc:
            st.error(str(exc), icon=":material/error:")
if len(rules):
    pick = st.selectbox("Rule to remove", list(rules.rule_id), key="alert_remove",
                        format_func=lambda i: f"{KPIS[rules.set_index('rule_id').at[i, 'kpi']].label}: "
                                              f"{KIND_LABELS[rules.set_index('rule_id').at[i, 'kind']]} "
                                              f"{rules.set_index('rule_id').at[i, 'threshold']:g}")
    if st.button("Remove the rule", icon=":material/delete:", key="alert_remove_button"):
        store.delete_alert_rule(int(pick), role=signin.role())
        st.rerun()
