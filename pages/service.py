"""Service & SLA: compliance per class, response and resolution times, escalation, backlog,
channel mix and the breach list (seed 003: immediate < 3 min, deferred < 24 h)."""

import pandas as pd
import streamlit as st

from i18n import N_, _
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Service & SLA"))
f = ui.filters()
ui.caption_filters(f, ("tickets", "customers"))
st.markdown(_("Every request must be answered within an agreed time: **immediate** requests are solved by the "
              "front office in under 3 minutes, **deferred** ones by the back office, through escalation, within "
              "24 hours. A ticket still open past its deadline counts as breached; one still within it is pending "
              "and left out of compliance."))

picked = ui.chart_pick("sla_channels")
page_filters = f.with_values(channel=tuple(picked)) if picked else f
ui.clear_pick_control("sla_channels", _("Channel"), picked)

summary = ui.compute("sla.summary", page_filters)
overall = summary.loc["all"]
if int(overall["tickets"]) == 0:
    ui.empty_state(_("No tickets were opened in this range for this selection."))
    st.stop()
card = ui.scorecard(page_filters)
kpis = card["kpis"].set_index("name", drop=False)
target = float(kpis.loc["sla_compliance", "target"])

ui.kpi_row(kpis, ["sla_compliance", "escalated_within_sla", "resolution_hours", "in_person_share"], page_filters,
           "sla_")

st.subheader(_("Compliance per class"))
per_class = summary.drop(index="all", errors="ignore")
CLASS_COMPLIANCE = {"immediate": N_("Immediate-solution compliance"), "deferred": N_("Deferred-solution compliance")}
CLASS_RESOLUTION = {"immediate": N_("Immediate solution: resolution p50 / p90"),
                    "deferred": N_("Deferred solution: resolution p50 / p90")}
cols = st.columns(len(per_class) + 1)
for col, (cls, row) in zip(cols, per_class.iterrows()):
    col.metric(_(CLASS_COMPLIANCE.get(cls, cls)), ui.fmt(row["compliance"], "percent"),
               help=_("{met} met, {breached} breached, {pending} pending").format(
                   met=ui.i18n.number(row["met"]), breached=ui.i18n.number(row["breached"]),
                   pending=ui.i18n.number(row["pending"])), border=True)
cols[-1].metric(_("Pending (open, deadline not reached)"), ui.i18n.number(int(overall["pending"])), border=True)

# week by week up to six months; a longer range month by month (a weekly line over a year is noise)
grain = "week" if (page_filters.end - page_filters.start).days <= 183 else "month"
over_time = ui.compute("sla.over_time", page_filters, grain)
ui.chart(charts.compliance_over_time, over_time.dropna(subset=["compliance"]), target, grain, key="sla_weekly")

st.subheader(_("Response and resolution"))
times = st.columns(4)
def duration_pair(p50, p90) -> str:
    """p50 / p90 in one unit: minutes below an hour, else hours."""
    if p50 is None or pd.isna(p50):
        return _("no data")
    scale, unit = (60, "min") if (p90 if not pd.isna(p90) else p50) < 3600 else (3600, "h")
    return f"{ui.i18n.number(p50 / scale, 1)} / {ui.i18n.number(p90 / scale, 1)} {unit}"


for col, cls in zip(times[:2], ["immediate", "deferred"]):
    if cls in per_class.index:
        r = per_class.loc[cls]
        col.metric(_(CLASS_RESOLUTION.get(cls, cls)),
                   duration_pair(r["resolution_p50_seconds"], r["resolution_p90_seconds"]),
                   help=_("First response p50 / p90: {times}").format(
                       times=duration_pair(r["first_response_p50_seconds"], r["first_response_p90_seconds"])),
                   border=True)
times[2].metric(_("Escalation rate"), ui.fmt(overall["escalation_rate"], "percent"),
                help=_("Tickets handed from the front office to the back office / tickets"), border=True)
times[3].metric(_("First-contact resolution"), ui.fmt(overall["fcr"], "percent"),
                help=_("Resolved tickets that needed one contact / resolved tickets that report it"), border=True)
left, right = st.columns(2)
with left:
    ui.chart(charts.time_histogram, ui.compute("sla.distribution", page_filters, "resolution"),
             _("Resolution time (tickets resolved by the end of the range)"), key="sla_res")
with right:
    ui.chart(charts.time_histogram, ui.compute("sla.distribution", page_filters, "first_response"),
             _("Time to first response"), key="sla_first")

st.subheader(_("Demand: tickets per month and forecast"))
ui.forecast_panel(f, "tickets", _("Tickets opened per month: actual and forecast"), _("Tickets"))

st.subheader(_("Backlog and channels"))
left, right = st.columns(2)
with left:
    backlog = ui.compute("sla.backlog", page_filters)
    if backlog.empty:
        ui.empty_state(_("No ticket was open at the end of the range."))
    else:
        ui.chart(charts.backlog_bars, backlog, key="sla_backlog")
        ui.records_button(_("Open tickets"), _("Tickets open at the end of the range"), "sla.tickets", page_filters,
                          key="sla_backlog_drill")
with right:
    mix = ui.compute("sla.channels", f)
    ui.selectable_chart(charts.channel_mix(mix, float(kpis.loc["in_person_share", "target"])), "sla_channels")
    st.caption(_("Service guideline: phone before in-person attention. Click a bar to filter this page by channel."))

st.subheader(_("Breach list"))
ui.records_button(_("Open the breach list"), _("Breached tickets, most overdue first"), "sla.breaches", page_filters,
                  key="sla_breaches")
breaches, total = ui.records_page("sla.breaches", page_filters, size=50)
st.caption(_("{n} breached tickets; the 50 most overdue:").format(n=ui.i18n.number(total)))
labels.table(labels.readable(breaches), hide_index=True, column_config=labels.column_config(breaches),
             placeholder=labels.EMPTY)
