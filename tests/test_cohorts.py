"""The cohort matrix on the tiny CRM: counts, revenue, empty future cells."""

from datetime import date, datetime

import pandas as pd
import pytest

from metrics.cohorts import cohort_matrix, cohort_records
from metrics.drilldown import page
from metrics.filters import Filters

RANGE = Filters(date(2024, 6, 1), date(2026, 1, 31))   # as_of 2026-02-01


def test_cohort_matrix(tiny):
    m = cohort_matrix(tiny, RANGE)
    jun24, jan26 = pd.Timestamp(2024, 6, 1), pd.Timestamp(2026, 1, 1)
    # cohorts: A (June 2024), B (January 2026); F (January 2023) is before the range
    assert m["size"].to_dict() == {jun24: 1, jan26: 1}
    assert list(m["retention"].columns) == list(range(20))          # June 2024 .. January 2026
    a = m["retention"].loc[jun24]
    assert [a[k] for k in (0, 1, 11, 12, 13, 19)] == [1.0, 0.0, 0.0, 1.0, 0.0, 1.0]   # orders k = 0, 12, 19
    b = m["retention"].loc[jan26]
    assert b[0] == 1.0 and b[1:].isna().all()                        # after as_of: empty, not 0
    assert m["revenue_retention"].loc[jun24, 12] == pytest.approx(1000 / 500)
    assert m["revenue_retention"].loc[jun24, 19] == pytest.approx(2000 / 500)
    assert m["revenue"].loc[jan26, 0] == pytest.approx(400 - 100)    # refund counts against revenue


def test_cohort_drill_down(tiny):
    assert page(tiny, cohort_records(RANGE, datetime(2024, 6, 1), 12)).rows.customer_id.tolist() == ["A"]
    assert page(tiny, cohort_records(RANGE, datetime(2024, 6, 1), 1)).total == 0


def test_no_cohorts(tiny):
    m = cohort_matrix(tiny, RANGE.with_values(segment="Nobody"))
    assert m["retention"].empty and m["size"].empty
