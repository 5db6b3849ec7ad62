"""Contact pressure, consent, personalisation and campaign ROI on the tiny CRM."""

from datetime import date

import pytest

from metrics import engagement as en
from metrics.drilldown import page
from metrics.filters import Filters

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))


def test_interaction_facts(tiny):
    f = en.interaction_facts(tiny, JAN)
    assert f["interactions"] == 11 and f["linked_share"] == pytest.approx(10 / 11)   # I07 unlinked
    assert f["campaign_response_rate"] == pytest.approx(1 / 4)      # I01 of I01..I04
    assert f["digital_inbound_share"] == pytest.approx(3 / 5)       # web, chat, email of 5 inbound
    # departments: A marketing+service+sales, B marketing+service, C marketing, D sales -> 2 of 4
    assert f["multi_department_share"] == pytest.approx(2 / 4)


def test_contact_pressure(tiny):
    # week of Monday 2026-01-05: A gets I01, I02, I10, I11 = 4 > 3; B and C one contact each
    dist = en.pressure_distribution(tiny, JAN)
    assert dict(zip(dist.contacts, dist.customer_weeks)) == {1: 2, 4: 1}
    over = page(tiny, en.over_contacted(JAN)).rows
    assert over[["customer_id", "weeks_over_limit", "max_per_week", "outbound_contacts"]].values.tolist() == [
        ["A", 1, 4, 4]]
    facts = en.pressure_facts(tiny, JAN)
    assert facts["over_contacted_share"] == pytest.approx(1 / 3)
    assert facts["contacts_per_customer_week"] == pytest.approx(6 / (3 * 31 / 7))
    assert page(tiny, en.over_contacted(JAN, en.PressureSettings(max_per_week=4))).total == 0


def test_consent_and_preferred_channel(tiny):
    f = en.consent_facts(tiny, JAN)
    assert f["outbound"] == 6
    assert f["against_consent"] == 2            # I03 to B, I04 to C: no marketing consent
    assert f["off_preferred_channel"] == 2      # I02 (mobile, A prefers email), I04 (C prefers none)
    records = page(tiny, en.violation_records(JAN)).rows
    assert set(records.interaction_id) == {"I02", "I03", "I04"}


def test_personalised_vs_generic(tiny):
    r = en.personalization_response(tiny, JAN)
    assert (r.personalized_contacts, r.personalized_responses, r.generic_contacts, r.generic_responses) == (2, 1, 2, 0)
    # pooled p = 1/4, se = sqrt(1/4 * 3/4 * (1/2 + 1/2)) = 0.4330, z = 0.5 / 0.4330
    assert r.z == pytest.approx(0.5 / (0.1875 ** 0.5))
    assert r.p_value == pytest.approx(0.2482, abs=1e-4)


def test_campaign_roi(tiny):
    roi = en.campaign_roi(tiny, JAN).set_index("campaign_id")
    assert list(roi.index) == ["K1"]                     # started in January
    k1 = roi.loc["K1"]
    assert (k1.contacts, k1.responses, k1.acquired) == (4, 1, 1)   # B acquired 6 days after I03
    assert k1.attributed_margin == pytest.approx(100 - 25)
    assert k1.roi == pytest.approx((75 - 1200) / 1200)
    assert en.campaign_cost(tiny, JAN) == pytest.approx(1200.0)
