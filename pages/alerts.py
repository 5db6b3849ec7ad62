"""Alert rules (CRM lead): which KPI changes the e-mail digests call out."""

import pandas as pd
import streamlit as st

from data.store import ALERT_KINDS, StoreError
from i18n import N_, _
from metrics.catalogue import CATALOGUE, KPIS
from metrics.units import format_value
from pages import signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Alert rules"))
st.markdown(_("The e-mail digests (`python -m metrics digest`) list every KPI that crossed its target since the "
              "recipient's previous digest, and every rule below that fires. Each recipient's digest uses their own "
              "part of the business, in their own language."))
KIND_LABELS = {"below": N_("Value falls below"), "above": N_("Value rises above"), "change": N_("Changes by more than")}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind])


def kpi_label(name: str) -> str:
    return _(KPIS[name].label) if name in KPIS else name


store = ui.store()
rules = store.alert_rules()
if len(rules):
    shown = pd.DataFrame({
        _("KPI"): [kpi_label(k) for k in rules.kpi],
        _("Alert when"): [kind_label(k) for k in rules.kind],
        _("Threshold"): [format_value(t, KPIS[k].unit) if k in KPIS else ui.i18n.number(t, 2)
                         for k, t in zip(rules.kpi, rules.threshold)],
        _("Set by"): rules.updated_by,
        _("Set at (UTC)"): [ui.i18n.moment(pd.Timestamp(t).to_pydatetime()) for t in rules.updated_at]})
    st.dataframe(shown, hide_index=True)
else:
    ui.empty_state(_("No alert rule yet: digests only report KPIs that crossed their target."))

if not signin.can_write():
    st.caption(_("Only the CRM lead can change the alert rules."))
    st.stop()

with st.form("alert_form", clear_on_submit=True):
    st.markdown(_("**Add a rule**"))
    c1, c2, c3 = st.columns([2, 2, 1])
    kpi = c1.selectbox(_("KPI"), [k.name for k in CATALOGUE], format_func=kpi_label, key="alert_kpi")
    kind = c2.selectbox(_("Alert when"), ALERT_KINDS, format_func=kind_label, key="alert_kind")
    threshold = c3.number_input(_("Threshold"), value=0.0, format="%.4f", key="alert_threshold",
                                help=_("In the KPI's own unit; percentages as fractions (0.05 = 5 %)."))
    if st.form_submit_button(_("Add rule"), type="primary"):
        try:
            store.add_alert_rule(kpi, kind, threshold, who=signin.user_name(), role=signin.role())
            st.rerun()
        except StoreError as exc:
            st.error(str(exc), icon=":material/error:")
if len(rules):
    by_id = rules.set_index("rule_id")
    pick = st.selectbox(_("Rule to remove"), list(rules.rule_id), key="alert_remove",
                        format_func=lambda i: _("{kpi}: {when} {threshold}").format(
                            kpi=kpi_label(by_id.at[i, "kpi"]), when=kind_label(by_id.at[i, "kind"]),
                            threshold=ui.i18n.number(by_id.at[i, "threshold"], 4).rstrip("0").rstrip(",.")))
    if st.button(_("Remove the rule"), icon=":material/delete:", key="alert_remove_button"):
        store.delete_alert_rule(int(pick), role=signin.role())
        st.rerun()
