"""Active customers, NPV CLV and customer equity on the tiny CRM."""

from datetime import date

import pandas as pd
import pytest

from metrics.filters import Filters
from metrics.value import npv_clv, revenue_by_period, value_by_group, value_facts

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))
ANNUITY = 1 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3 + 1 / 1.1**4 + 1 / 1.1**5   # 3.790787


@pytest.mark.parametrize("m, r, d, h, expected", [
    (100, 1.0, 0.10, 5, 100 * ANNUITY),
    (100, 0.5, 0.10, 2, 100 / 1.1 + 100 * 0.5 / 1.21),                   # 90.909 + 41.322
    (100, 0.8, 0.00, 3, 100 + 80 + 64),
    (250, 0.0, 0.10, 5, 250 / 1.1),                                      # only year 1
])
def test_npv_clv_by_hand(m, r, d, h, expected):
    assert npv_clv(m, r, d, h) == pytest.approx(expected)


def test_npv_clv_rejects_bad_settings():
    with pytest.raises(ValueError, match="retention"):
        npv_clv(100, 1.5)
    with pytest.raises(ValueError, match="horizon"):
        npv_clv(100, 0.5, horizon_years=0)


def test_value_facts(tiny):
    f = value_facts(tiny, JAN)
    # as_of 2026-02-01. Last year [2025-02-01, 2026-02-01): A (O2, O3), B (O4), F (O9) active.
    # Year before [2024-02-02, 2025-02-01): A (O1) only (F's O8 is 2024-02-01). Retained: A -> r = 1/1.
    assert (f["active_customers"], f["previous_active"], f["retained"]) == (3, 1, 1)
    # margin: A 1000 (O2 margin null -> amount) + 600; B 100 - 25 (refund); F 200 = 1875 -> m = 625
    assert f["margin_per_customer"] == pytest.approx(625.0)
    assert f["clv"] == pytest.approx(625 * ANNUITY)
    assert f["equity"] == pytest.approx(3 * 625 * ANNUITY)
    assert f["new_customers"] == 1                                   # B acquired 2026-01-20


def test_value_by_segment(tiny):
    groups = value_by_group(tiny, JAN, "segment").set_index("group")
    assert groups.loc["Enterprise", "margin_per_customer"] == pytest.approx((1600 + 200) / 2)
    assert groups.loc["Enterprise", "retention"] == pytest.approx(1.0)
    assert pd.isna(groups.loc["SMB", "retention"])                   # nobody active the year before
    assert pd.isna(groups.loc["SMB", "clv"])


def test_revenue_by_month(tiny):
    revenue = revenue_by_period(tiny, JAN)
    assert revenue.revenue.tolist() == [pytest.approx(2000 + 400 - 100)]


def test_periods_sharing_an_end_read_the_same_activity_and_their_own_new_customers(tiny):
    """The activity (active, retained, margin) depends on a period's end alone and is grouped
    once per end (Periods.ends); new customers depend on the start too. January, and the 20
    days to its end, share as_of 2026-02-01: same activity, B acquired (20 January) in both;
    December ends on another day, with nobody acquired."""
    from metrics.value import value_facts_by_period

    late = Filters(date(2026, 1, 12), date(2026, 1, 31))
    december = Filters(date(2025, 12, 1), date(2025, 12, 31))
    together = value_facts_by_period(tiny, [JAN, december, late])
    assert together == [value_facts(tiny, f) for f in (JAN, december, late)]
    assert (together[2]["active_customers"], together[2]["retained"], together[2]["new_customers"]) == (3, 1, 1)
    assert together[2]["margin_per_customer"] == pytest.approx(625.0)
    assert together[1]["new_customers"] == 0 and together[1] != together[0]


def test_every_end_of_one_statement_equals_the_one_period_statement(tiny):
    """The ends of one statement are tested column by column against each order; each end
    gives what value_by_group (its own statement, one window) gives, including an end
    whose two years hold no order (counts 0, no CLV) and ends a few days apart."""
    from metrics.value import value_facts_by_period

    ends = [JAN, Filters(date(2025, 12, 1), date(2025, 12, 31)), Filters(date(2025, 1, 1), date(2025, 1, 31)),
            Filters(date(2024, 2, 1), date(2024, 2, 3)), Filters(date(2010, 1, 1), date(2010, 1, 31))]
    together = value_facts_by_period(tiny, ends)
    for f, facts in zip(ends, together):
        alone = value_by_group(tiny, f).iloc[0]
        assert (facts["active_customers"], facts["previous_active"], facts["retained"]) == (
            alone.active_customers, alone.previous_active, alone.retained), f
        assert facts["margin"] == pytest.approx(alone.margin)
    assert (together[-1]["active_customers"], together[-1]["margin"], together[-1]["clv"]) == (0, 0.0, None)
    assert together[2] != together[0] and together[3]["active_customers"] != together[0]["active_customers"]
