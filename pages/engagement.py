"""Engagement and contact pressure (seed 004): the customer decides when, where and how."""

import streamlit as st
from statsmodels.stats.proportion import proportion_confint

from metrics.engagement import PressureSettings
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Engagement")
f = ui.filters()
ui.caption_filters(f, ("interactions", "campaigns", "customers", "orders"))
st.markdown("People receive 25 to 300 commercial messages a day; the customer decides when, where and how to be "
            "contacted. This page shows how hard we push (outbound contacts per customer per week), where we "
            "contact people against their consent or off their preferred channel, whether personal messages "
            "work better, and what campaigns return.")

limit = st.number_input("Alert above this many outbound contacts per customer in a week", 1, 20, 3,
                        key="pressure_limit")
settings = PressureSettings(max_per_week=int(limit))
pressure = ui.compute("engagement.pressure", f, settings)
facts = ui.compute("engagement.interactions", f)
if not pressure["contacted_customers"] and not facts["interactions"]:
    ui.empty_state("No interactions in this range for this selection.")
    st.stop()
consent = ui.compute("engagement.consent", f)

tiles = st.columns(4)
tiles[0].metric("Customers over the limit", f"{pressure['over_contacted']:,}",
                delta=f"{ui.fmt(pressure['over_contacted_share'], 'percent')} of those contacted", delta_color="off", delta_arrow="off",
                border=True)
tiles[1].metric("Outbound contacts per customer per week", ui.fmt(pressure["contacts_per_customer_week"], "score"),
                border=True, help="Outbound contacts / (customers contacted x weeks in the range)")
tiles[2].metric("Contacts against marketing consent", f"{consent['against_consent']:,}",
                delta=f"{consent['customers_against_consent']:,} customers", delta_color="off", delta_arrow="off", border=True)
tiles[3].metric("Contacts off the preferred channel", f"{consent['off_preferred_channel']:,}",
                delta=f"{ui.fmt(consent['off_preferred_share'], 'percent')} of outbound", delta_color="off", delta_arrow="off",
                border=True)

left, right = st.columns(2)
with left:
    distribution = ui.compute("engagement.distribution", f)
    if distribution.empty:
        ui.empty_state("No outbound contacts in this range.")
    else:
        ui.chart(charts.pressure_histogram(distribution, int(limit)), key="pressure_hist")
        st.caption("Log scale: most customer-weeks have one contact; the red bars are the weeks above the limit.")
with right:
    st.markdown("**Over-contacted customers**")
    over, total = ui.records_page("engagement.over", f, settings, size=200)
    st.caption(f"{total:,} customers had at least one week above {int(limit)} contacts.")
    st.dataframe(labels.readable(over), hide_index=True, height=300, column_config=labels.column_config(over))
    ui.records_button("All over-contacted customers", "Over-contacted customers", "engagement.over", f, settings,
                      key="over_drill")

st.subheader("Consent and preferred channel")
violations, count = ui.records_page("engagement.violations", f, size=100)
st.caption(f"{count:,} outbound contacts went to customers without marketing consent or off the channel they "
           "asked for (preferred channel 'none' means no contact at all). The latest 100:")
st.dataframe(labels.readable(violations), hide_index=True, height=300,
             column_config=labels.column_config(violations))
ui.records_button("All violations", "Consent and channel violations", "engagement.violations", f,
                  key="violations_drill")

st.subheader("Personalised vs generic")
response = ui.compute("engagement.personalised", f)


def interval(successes: int, trials: int) -> tuple:
    if not trials:
        return None, 0.0, 0.0
    low, high = proportion_confint(successes, trials, method="wilson")
    return successes / trials, low, high


left, right = st.columns([3, 2])
with left:
    ui.chart(charts.response_bars(interval(response.personalized_responses, response.personalized_contacts),
                                  interval(response.generic_responses, response.generic_contacts)),
             key="response_bars")
with right:
    if response.p_value is None:
        st.info("Not enough personalised and generic contacts to compare.")
    else:
        lift = f"{response.lift:.1f}×" if response.lift else "—"
        verdict = "statistically significant" if response.p_value < 0.05 else "not statistically significant"
        st.markdown(f"Personalised contacts get **{ui.fmt(response.personalized_rate, 'percent')}** responses "
                    f"({response.personalized_responses:,} of {response.personalized_contacts:,}); generic ones "
                    f"**{ui.fmt(response.generic_rate, 'percent')}** ({response.generic_responses:,} of "
                    f"{response.generic_contacts:,}): {lift} as many. The difference is **{verdict}** "
                    f"(two-proportion z-test, z = {response.z:.2f}, p = {response.p_value:.3g}).")

st.subheader("Campaigns")
roi = ui.compute("engagement.roi", f)
if roi.empty and any(f.allowed(d) is not None for d in ("region", "industry", "acquisition_channel", "owner_team")):
    ui.empty_state("Campaigns are aimed at segments, not at regions, industries, acquisition channels or teams, so "
                   "they cannot be shown for this selection or your access.")
elif roi.empty:
    ui.empty_state("No campaign started in this range for this selection.")
else:
    roi["target_segment"] = roi["target_segment"].fillna("all segments")
    ui.chart(charts.campaign_roi(roi), key="roi_chart")
    st.dataframe(roi, hide_index=True, column_config={
        **labels.column_config(roi), "name": "Campaign",
        "cost": st.column_config.NumberColumn("Cost", format="€%.0f"),
        "attributed_margin": st.column_config.NumberColumn("Attributed margin", format="€%.0f"),
        "cost_per_acquisition": st.column_config.NumberColumn("Cost per acquisition", format="€%.0f"),
        "response_rate": ui.percent_column("Response rate"), "roi": ui.percent_column("ROI"),
        "started_at": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD")})
    st.caption("ROI = (attributed margin - cost) / cost. A customer is credited to the campaign of their last "
               "campaign contact in the 90 days before acquisition; attributed margin is their margin in the year "
               "after — so the latest campaigns, whose customers have had little time to buy, start near -100 % "
               "and rise as that year goes by.")
