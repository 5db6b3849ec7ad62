"""Alert rules (CRM lead): which KPI changes the e-mail digests call out."""

import pandas as pd
import streamlit as st

from data.store import ALERT_KINDS, StoreError
from i18n import N_, _
from metrics.catalogue import CATALOGUE, KPIS
from metrics.units import SHOWN, UNIT_NAMES, format_value
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


def threshold_text(kpi: str, kind: str, threshold: float) -> str:
    """A rule's threshold as the pages write the KPI (a change of a percentage in points)."""
    if kpi not in KPIS:
        return ui.i18n.number(threshold, 2)
    return format_value(threshold, KPIS[kpi].unit, signed=kind == "change").lstrip("+")


store = ui.store()
rules = store.alert_rules()
if len(rules):
    shown = pd.DataFrame({
        _("KPI"): [kpi_label(k) for k in rules.kpi],
        _("Alert when"): [kind_label(k) for k in rules.kind],
        _("Threshold"): [threshold_text(k, kind, t) for k, kind, t in zip(rules.kpi, rules.kind, rules.threshold)],
        _("Set by"): rules.updated_by,
        _("Set at (UTC)"): [ui.i18n.moment(pd.Timestamp(t).to_pydatetime()) for t in rules.updated_at]})
    st.dataframe(shown, hide_index=True)
else:
    ui.empty_state(_("No alert rule yet: digests only report KPIs that crossed their target."))

if not signin.can_write():
    st.caption(_("Only the CRM lead can change the alert rules."))
    st.stop()

st.markdown(_("**Add a rule**"))
# the KPI outside the form: the threshold is entered in its unit, as the pages show it (5 for 5 %)
kpi = st.selectbox(_("KPI"), [k.name for k in CATALOGUE], format_func=kpi_label, key="alert_kpi")
unit = KPIS[kpi].unit
factor = SHOWN[unit][0]
with st.form("alert_form", clear_on_submit=True):
    c2, c3 = st.columns([2, 1])
    kind = c2.selectbox(_("Alert when"), ALERT_KINDS, format_func=kind_label, key="alert_kind")
    entered = c3.number_input(_("Threshold ({unit})").format(unit=_(UNIT_NAMES[unit])), value=0.0,
                              format="%g", key="alert_threshold",
                              help=_("As the pages show the KPI: 5 for 5 %; a change of a percentage in "
                                     "percentage points."))
    threshold = entered / factor
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
                            threshold=threshold_text(by_id.at[i, "kpi"], by_id.at[i, "kind"],
                                                     by_id.at[i, "threshold"])))
    if st.button(_("Remove the rule"), icon=":material/delete:", key="alert_remove_button"):
        store.delete_alert_rule(int(pick), role=signin.role())
        st.rerun()
