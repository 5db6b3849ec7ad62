"""Win rate, sales cycle and partner share on the tiny CRM."""

from datetime import date

import pytest

from metrics.drilldown import page
from metrics.filters import Filters
from metrics.pipeline import opportunity_records, pipeline_facts

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))


def test_pipeline_facts(tiny):
    f = pipeline_facts(tiny, JAN)
    # closed in January: P1 won (partner, 1000, 40 days), P2 won (direct, 3000, 20 days), P3 and P4 lost
    assert f["win_rate"] == pytest.approx(2 / 4)
    assert f["sales_cycle_days"] == pytest.approx(30.0)      # median of 40 and 20
    assert f["partner_won_share"] == pytest.approx(1000 / 4000)


def test_records_and_empty(tiny):
    records = page(tiny, opportunity_records(JAN))
    assert set(records.rows.opportunity_id) == {"P1", "P2", "P3", "P4"}   # P5 open, P6 closed in February
    empty = pipeline_facts(tiny, JAN.with_values(segment="Consumer"))
    assert empty["win_rate"] is None and empty["partner_won_share"] is None
