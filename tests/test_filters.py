"""The Filters value object, and hostile filter values that must change nothing."""

from datetime import date, datetime

import pytest
from sqlalchemy import text

from metrics import catalogue, cohorts, engagement, funnel, sla
from metrics.drilldown import page
from metrics.filters import Filters


def test_period_and_comparisons():
    f = Filters(date(2026, 1, 1), date(2026, 1, 31))
    assert f.as_of == datetime(2026, 2, 1) and f.days == 31
    prev = f.comparison()
    assert (prev.start, prev.end) == (date(2025, 12, 1), date(2025, 12, 31))
    last_year = Filters(date(2024, 2, 1), date(2024, 2, 29), compare="last_year").comparison()
    assert (last_year.start, last_year.end) == (date(2023, 2, 1), date(2023, 2, 28))
    assert Filters(date(2026, 1, 1), date(2026, 1, 1), compare="none").comparison() is None


def test_invalid_filters_are_refused():
    with pytest.raises(ValueError, match="ends .* before it starts"):
        Filters(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown comparison"):
        Filters(date(2026, 1, 1), date(2026, 1, 2), compare="yesterday")
    with pytest.raises(TypeError, match="tuple"):
        Filters(date(2026, 1, 1), date(2026, 1, 2), segment="SMB")


def test_values_are_bound_parameters():
    f = Filters(date(2026, 1, 1), date(2026, 1, 31), segment=("O'Brien",))
    compiled = str(f.customer_ids().compile(compile_kwargs={}))
    assert "O'Brien" not in compiled and "__[POSTCOMPILE_segment" in compiled


HOSTILE = ["'; DROP TABLE customers; --", "x' OR '1'='1", "Enterprise\"; DELETE FROM tickets; --",
           "Ænterprïse ☃ 企業", "%", "_", "\\", "NULL", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_change_nothing_and_find_nothing(tiny, value):
    wide = Filters(date(2023, 1, 1), date(2026, 1, 31))
    for dimension in ("segment", "region", "owner_team", "channel"):
        f = wide.with_values(**{dimension: (value,)})
        assert sla.summary(tiny, f).loc["all", "tickets"] == 0
        assert engagement.interaction_facts(tiny, f)["interactions"] == 0
        if dimension != "channel":
            assert funnel.stage_counts(tiny, f).iloc[0]["prospect"] == 0
            assert cohorts.cohort_matrix(tiny, f)["size"].empty
            assert page(tiny, sla.breach_records(f)).total == 0
        card = catalogue.evaluate(tiny, f, targets={})
        assert card.result("sla_compliance").value is None
    counts = {t: tiny.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("customers", "tickets")}
    assert counts == {"customers": 6, "tickets": 9}


def test_activity_span_is_the_first_and_last_day_of_any_activity(tiny):
    from metrics.filters import activity_span

    # first: customer C01 created 2023-01-01 (before any order); last: a ticket of 2026-01-31 23:50
    assert activity_span(tiny, date(2026, 11, 29)) == (date(2023, 1, 1), date(2026, 1, 31))


def test_a_source_without_activity_spans_the_last_ninety_days(tmp_path):
    from sqlalchemy import create_engine

    from data.schema import metadata
    from metrics.filters import activity_span

    engine = create_engine(f"duckdb:///{tmp_path}/empty.duckdb")
    metadata.create_all(engine)             # the eight tables, no row
    with engine.connect() as conn:
        assert activity_span(conn, date(2026, 11, 29)) == (date(2026, 8, 31), date(2026, 11, 29))
    engine.dispose()


def test_a_first_visit_shows_the_ninety_days_up_to_the_last_full_day_with_data():
    from metrics.filters import first_visit_period

    # data up to 2026-01-31, looked at later: the 90 days ending that day (1 Nov .. 31 Jan)
    assert first_visit_period(date(2023, 1, 1), date(2026, 1, 31), date(2026, 11, 29)) == (
        date(2025, 11, 3), date(2026, 1, 31))
    # data up to today: yesterday is the last full day
    assert first_visit_period(date(2023, 1, 1), date(2026, 11, 29), date(2026, 11, 29)) == (
        date(2026, 8, 31), date(2026, 11, 28))
    # less than 90 days of data: from its first day
    assert first_visit_period(date(2026, 10, 1), date(2026, 11, 20), date(2026, 11, 29)) == (
        date(2026, 10, 1), date(2026, 11, 20))


def test_filter_values_are_each_dimensions_values_sorted_without_nulls(tiny):
    from metrics.filters import filter_values

    assert filter_values(tiny) == {
        "segment": ["Consumer", "Enterprise", "SMB"],
        "region": ["North", "South", "West"],
        "industry": ["Finance", "Retail"],                          # B has none: no empty choice
        "acquisition_channel": ["campaign", "partner", "referral", "web"],
        "owner_team": ["Key accounts", "Team 1"],
        "channel": ["chat", "email", "in_person", "mobile", "phone", "web"],   # interactions and tickets
    }
