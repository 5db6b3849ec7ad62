"""NPS, CSAT, CES and survey response rate on the tiny CRM."""

from datetime import date

import pytest

from metrics.filters import Filters
from metrics.voice import survey_facts

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))


def test_survey_facts(tiny):
    f = survey_facts(tiny, JAN)
    # NPS answers 10, 9, 9, 7, 3: promoters 3, detractors 1 -> 100 * (3 - 1) / 5
    assert f["nps"] == pytest.approx(40.0)
    assert f["csat"] == pytest.approx(2 / 3)        # 5, 4, 2 -> two of three score 4-5
    assert f["ces"] == pytest.approx(3.5)           # (2 + 5) / 2
    assert f["survey_response_rate"] == pytest.approx(1 / 4)   # V0 answered of V0..V3


def test_previous_period_and_segment(tiny):
    assert survey_facts(tiny, JAN.comparison())["nps"] == pytest.approx(0.0)   # 10, 6: one each
    enterprise = survey_facts(tiny, JAN.with_values(segment="Enterprise"))
    assert enterprise["nps"] == pytest.approx(100 * 2 / 3)   # A: 10, 9, 7 (anonymous 3 excluded)


def test_no_answers_is_no_data(tiny):
    f = survey_facts(tiny, Filters(date(2020, 1, 1), date(2020, 1, 31)))
    assert f["nps"] is None and f["csat"] is None and f["ces"] is None
    assert f["survey_response_rate"] is None
