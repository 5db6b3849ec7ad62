"""Completeness, duplicates and freshness of customer records on the tiny CRM."""

from datetime import date

import pytest

from metrics.drilldown import page
from metrics.filters import Filters
from metrics.quality import duplicate_records, field_completeness, quality_facts, quality_facts_by_period

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))


def test_quality_facts(tiny):
    f = quality_facts(tiny, JAN)
    assert f["records"] == 6
    # filled fields: A 6, B 4 (no phone, no industry), C 5 (no email), D 6, E 6, F 6 = 33 of 36
    assert f["completeness"] == pytest.approx(33 / 36)
    # emails a@x.com, b@x.com, ' A@X.com ' -> a@x.com, e@x.com, f@x.com: 4 distinct of 5
    assert f["duplicate_rate"] == pytest.approx(1 - 4 / 5)
    # days from last edit to 2026-02-01: E 2, B 12, A 17, D 20, C 24, F 337 -> median (17 + 20) / 2
    assert f["days_since_update"] == pytest.approx(18.5)


def test_past_freshness_is_unknown_when_records_were_edited_since(tiny):
    # at 2025-12-31 A (edited 2026-01-15) and F (edited 2025-03-01)... A was edited after: 1 of 2 > 5 %
    f = quality_facts(tiny, Filters(date(2025, 12, 1), date(2025, 12, 31)))
    assert f["records"] == 2
    assert f["days_since_update"] is None


def test_duplicates_drill_down_and_fields(tiny):
    dups = page(tiny, duplicate_records(JAN))
    assert set(dups.rows.customer_id) == {"A", "D"}
    fields = field_completeness(tiny, JAN)
    assert fields["email"] == pytest.approx(5 / 6) and fields["phone"] == pytest.approx(5 / 6)
    assert fields["industry"] == pytest.approx(5 / 6) and fields["segment"] == 1.0


def test_several_periods_in_one_statement_each_have_their_own_end(tiny):
    """quality_facts_by_period: every figure at each period's end, ends shared by two periods
    and an end before any record included, equal to the figures by hand above."""
    december = Filters(date(2025, 12, 1), date(2025, 12, 31))
    late_january = Filters(date(2026, 1, 20), date(2026, 1, 31))          # ends with January
    before_any = Filters(date(2000, 1, 1), date(2000, 1, 31))
    jan, dec, late, none = quality_facts_by_period(tiny, [JAN, december, late_january, before_any])
    assert jan == late == quality_facts(tiny, JAN)
    assert (jan["records"], jan["days_since_update"]) == (6, pytest.approx(18.5))
    assert jan["duplicate_rate"] == pytest.approx(1 - 4 / 5)
    assert (dec["records"], dec["days_since_update"]) == (2, None)
    assert none == {"records": 0, "completeness": None, "duplicate_rate": None, "days_since_update": None}
