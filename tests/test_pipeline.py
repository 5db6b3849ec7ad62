"""Win rate, sales cycle and partner share on the tiny CRM."""

from datetime import date

import pandas as pd
import pytest

from metrics.drilldown import page
from metrics.filters import Filters
from metrics.pipeline import (AGE_BANDS, close_forecast, cycle_days, median_cycle_days, open_deal_records,
                              open_pipeline, open_share, opportunity_records, pipeline_facts, win_rates)

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


# ---- the sales managers' page. At the end of January (as_of 2026-02-01) P5 (direct, Key accounts,
# 900, created 3 January: 29 days old) and P6 (direct, Inside sales, 100, created 7 January: 25 days,
# closed 5 February) are open.
def test_open_pipeline_by_age_team_and_source(tiny):
    by_age = open_pipeline(tiny, JAN, "age")
    assert list(by_age.group) == [label for label, _, _ in AGE_BANDS]
    assert by_age.iloc[0][["deals", "amount"]].tolist() == [2, 1000.0]
    assert by_age.deals.iloc[1:].sum() == 0
    by_team = open_pipeline(tiny, JAN, "owner_team")
    assert by_team[["group", "deals", "amount"]].values.tolist() == [["Key accounts", 1, 900.0],
                                                                     ["Inside sales", 1, 100.0]]
    by_source = open_pipeline(tiny, JAN, "source")
    assert open_share(by_source, "partner") == 0.0 and open_share(by_source, "direct") == 1.0
    # by the end of February P6 has closed; P5 is 57 days old
    feb = Filters(date(2026, 2, 1), date(2026, 2, 28))
    assert open_pipeline(tiny, feb, "age").set_index("group").loc["31-60 days", "deals"] == 1


def test_win_rates_with_wilson_intervals(tiny):
    by_source = win_rates(tiny, JAN, "source")
    # partner: P1 won, P4 lost; direct: P2 won, P3 lost -> 1/2 each, Wilson (0.0945, 0.9055)
    assert by_source[["group", "won", "lost"]].values.tolist() == [["direct", 1, 1], ["partner", 1, 1]]
    assert by_source.low.tolist() == pytest.approx([0.0945, 0.0945], abs=1e-4)
    assert by_source.high.tolist() == pytest.approx([0.9055, 0.9055], abs=1e-4)
    by_team = win_rates(tiny, JAN, "owner_team").set_index("group")
    assert by_team.loc["Key accounts", "win_rate"] == 0.5 and by_team.loc["Inside sales", "closed"] == 2


def test_cycle_distribution_and_stuck_deals(tiny):
    assert sorted(cycle_days(tiny, JAN)) == pytest.approx([20.0, 40.0])     # P2, P1
    assert median_cycle_days(tiny, JAN) == pytest.approx(30.0)
    assert page(tiny, open_deal_records(JAN, 30.0)).total == 0             # 29 and 25 days old
    stuck = page(tiny, open_deal_records(JAN, 26.0))
    assert stuck.rows.opportunity_id.tolist() == ["P5"]
    assert stuck.rows.age_days.iloc[0] == pytest.approx(29.0)


def test_close_forecast_weights_by_win_rate(tiny):
    # January: history = P1-P4 (2 of 4 won, median won cycle 30 days). P5 expected 3 Jan + 30 d
    # = 2 February, P6 7 Jan + 30 d = 6 February; weighted (900 + 100) x 0.5
    jan = close_forecast(tiny, JAN)
    assert jan.values.tolist() == [[pd.Timestamp(2026, 2, 1), 2, 1000.0, 500.0, 0]]
    # February: history adds P6 (direct, won, 29 days): direct 2 of 3, overall 3 of 5, median 29
    # days; P5 expected 1 February, before the end of the range: overdue, counted in February
    feb = Filters(date(2026, 2, 1), date(2026, 2, 28))
    assert close_forecast(tiny, feb).values.tolist() == [[pd.Timestamp(2026, 2, 1), 1, 900.0, 540.0, 1]]
    by_source = close_forecast(tiny, feb, min_closed=1)       # direct's own rate: 900 x 2/3
    assert by_source.weighted.tolist() == pytest.approx([600.0])
    assert close_forecast(tiny, JAN.with_values(segment="Consumer")).empty
