"""Engagement and contact pressure: the customer decides when, where and how."""

import streamlit as st
from statsmodels.stats.proportion import proportion_confint

from i18n import N_, _
from metrics.engagement import PressureSettings
from pages import charts, labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Engagement"))
f = ui.filters()
ui.caption_filters(f, ("interactions", "campaigns", "customers", "orders"))
st.markdown(_("People receive 25 to 300 commercial messages a day; the customer decides when, where and how to be "
              "contacted. This page shows how hard we push (outbound contacts per customer per week), where we "
              "contact people against their consent or off their preferred channel, whether personal messages "
              "work better, and what campaigns return."))

limit = st.number_input(_("Alert above this many outbound contacts per customer in a week"), 1, 20, 3,
                        key="pressure_limit")
settings = PressureSettings(max_per_week=int(limit))
ui.prefetch((("engagement.pressure_overview", "range", (settings,)), ("engagement.consent", "range", ())), f)
pressure = ui.compute("engagement.pressure_overview", f, settings)  # with the distribution, in one statement
if not pressure["contacted_customers"] and not ui.compute("engagement.any", f):
    ui.empty_state(_("No interactions in this range for this selection."))
    st.stop()
consent = ui.compute("engagement.consent", f)
number = ui.i18n.number

tiles = st.columns(4)
tiles[0].metric(_("Customers over the limit"), number(pressure["over_contacted"]),
                delta=_("{share} of those contacted").format(share=ui.fmt(pressure["over_contacted_share"], "percent")),
                delta_color="off", delta_arrow="off", border=True, height="stretch")
tiles[1].metric(_("Outbound contacts per customer per week"), ui.fmt(pressure["contacts_per_customer_week"], "score"),
                border=True, height="stretch",   # the row's tiles level
                help=_("Outbound contacts / (customers contacted x weeks in the range)"))
tiles[2].metric(_("Contacts against marketing consent"), number(consent["against_consent"]),
                delta=_("{n} customers").format(n=number(consent["customers_against_consent"])), delta_color="off",
                delta_arrow="off", border=True)
tiles[3].metric(_("Contacts off the preferred channel"), number(consent["off_preferred_channel"]),
                delta=_("{share} of outbound").format(share=ui.fmt(consent["off_preferred_share"], "percent")),
                delta_color="off", delta_arrow="off", border=True, height="stretch")


def interval(successes: int, trials: int) -> tuple:
    """A response rate and its 95 % Wilson interval (None and a zero band without trials)."""
    if not trials:
        return None, 0.0, 0.0
    low, high = proportion_confint(successes, trials, method="wilson")
    return successes / trials, low, high


def pressure_view() -> None:
    """How hard we push: contacts per customer-week and the customers over the limit."""
    left, right = st.columns(2)
    with left:
        distribution = pressure["distribution"]
        if distribution.empty:
            ui.empty_state(_("No outbound contacts in this range."))
        else:
            ui.chart(charts.pressure_histogram, distribution, int(limit), key="pressure_hist")
            st.caption(_("Log scale: most customer-weeks have one contact; the orange bars are the weeks above the "
                         "limit."))
    with right:
        st.markdown(_("**Over-contacted customers**"))
        over, total = ui.records_page("engagement.over", f, settings, size=200)
        st.caption(_("{n} customers had at least one week above {limit} contacts.").format(n=number(total),
                                                                                           limit=int(limit)))
        labels.table(labels.styled(over, ui.money), hide_index=True, height=300, column_config=labels.column_config(over),
                     placeholder=labels.EMPTY)
        ui.records_button(_("All over-contacted customers"), _("Over-contacted customers"), "engagement.over", f,
                          settings, key="over_drill")


def consent_view() -> None:
    """Outbound contacts against consent or off the preferred channel."""
    violations, count = ui.records_page("engagement.violations", f, size=100)
    st.caption(_("{n} outbound contacts went to customers without marketing consent or off the channel they asked for "
                 "(preferred channel 'none' means no contact at all). The latest 100:").format(n=number(count)))
    labels.table(labels.styled(violations, ui.money), hide_index=True, height=300,
                 column_config=labels.column_config(violations), placeholder=labels.EMPTY)
    ui.records_button(_("All violations"), _("Consent and channel violations"), "engagement.violations", f,
                      key="violations_drill")


def personalised_view() -> None:
    """Response to personalised against generic contacts, with a two-proportion test."""
    response = ui.compute("engagement.personalised", f)


    left, right = st.columns([3, 2])
    with left:
        ui.chart(charts.response_bars, interval(response.personalized_responses, response.personalized_contacts),
                 interval(response.generic_responses, response.generic_contacts),
                 key="response_bars")
    with right:
        if response.p_value is None:
            st.info(_("Not enough personalised and generic contacts to compare."))
        else:
            st.markdown(_("Personalised contacts get **{rate}** responses ({responses} of {contacts}); generic ones "
                          "**{generic_rate}** ({generic_responses} of {generic_contacts}): {lift}.").format(
                rate=ui.fmt(response.personalized_rate, "percent"), responses=number(response.personalized_responses),
                contacts=number(response.personalized_contacts), generic_rate=ui.fmt(response.generic_rate, "percent"),
                generic_responses=number(response.generic_responses),
                generic_contacts=number(response.generic_contacts),
                lift=_("{n} times as many").format(n=number(response.lift, 1)) if response.lift
                else _("no generic response to compare with")))
            st.markdown(_("Is the difference real? **{verdict}** (two-proportion test).").format(
                verdict=ui.chance(response.p_value)))


def campaigns_view() -> None:
    """What each campaign cost and returned."""
    roi = ui.compute("engagement.roi", f)
    if roi.empty and any(f.allowed(d) is not None for d in ("region", "industry", "acquisition_channel", "owner_team")):
        ui.empty_state(_("Campaigns are aimed at segments, not at regions, industries, acquisition channels or teams, "
                         "so they cannot be shown for this selection or your access."))
    elif roi.empty:
        ui.empty_state(_("No campaign started in this range for this selection."))
    else:
        roi["target_segment"] = roi["target_segment"].fillna(_("all segments"))
        ui.chart(charts.campaign_roi, roi, key="roi_chart")
        money_columns = ["cost", "attributed_margin", "cost_per_acquisition"]
        labels.table(ui.money_table(labels.readable(roi), money_columns), hide_index=True, column_config={
            **labels.column_config(roi), "campaign_id": _("Code"), "name": _("Campaign"),
            "acquired": st.column_config.NumberColumn(_("Customers acquired"), format="%d"),
            "cost": st.column_config.NumberColumn(_("Cost")),
            "attributed_margin": st.column_config.NumberColumn(_("Attributed margin")),
            "cost_per_acquisition": st.column_config.NumberColumn(_("Cost per acquisition")),
            "response_rate": ui.percent_column(_("Response rate")), "roi": ui.percent_column(_("ROI")),
            "started_at": st.column_config.DatetimeColumn(_("Started"), format="YYYY-MM-DD")}, placeholder=labels.EMPTY)
        st.caption(_("ROI = (attributed margin - cost) / cost. A customer is credited to the campaign of their last "
                     "campaign contact in the 90 days before acquisition; attributed margin is their margin in the "
                     "year after — so the latest campaigns, whose customers have had little time to buy, start near "
                     "-100 % and rise as that year goes by."))


#: The page's views below its tiles, as tabs computed only when opened (at a million
#: customers each reads tens of millions of interactions).
VIEWS = {N_("Contact pressure"): pressure_view, N_("Consent and preferred channel"): consent_view,
         N_("Personalised vs generic"): personalised_view, N_("Campaigns"): campaigns_view}
ui.views(VIEWS, "engagement_view")
