"""metrics/periods.py: which periods share a statement, and how rows get their period."""

from datetime import date

import pytest

from metrics.catalogue import month_windows
from metrics.filters import Filters
from metrics.periods import Periods, by_period, same_selection

Q3 = Filters(date(2026, 7, 1), date(2026, 9, 30))


def test_a_range_and_its_comparisons_are_disjoint():
    chain = Periods((Q3, Q3.comparison(), Q3.comparison().comparison()))
    assert chain.disjoint


def test_months_and_their_comparisons_overlap():
    months = month_windows(Filters(date(2026, 1, 1), date(2026, 6, 15)), 3)
    assert Periods(tuple(months)).disjoint
    # April (30 days) is compared with 2 March-31 March, which overlaps March's own window
    assert not Periods((*months, *[m.comparison() for m in months])).disjoint


def test_a_long_range_against_last_year_overlaps():
    long = Filters(date(2024, 1, 1), date(2026, 6, 30), compare="last_year")
    assert not Periods((long, long.comparison())).disjoint


def test_periods_of_one_statement_share_their_selection():
    assert same_selection(Q3, Q3.comparison())
    assert not same_selection(Q3, Q3.with_values(segment="SMB"))
    with pytest.raises(ValueError, match="share their dimension filters"):
        Periods((Q3, Q3.with_values(segment="SMB")))
    with pytest.raises(ValueError, match="no period"):
        Periods(())


def test_a_period_without_rows_gets_the_empty_aggregates():
    periods = Periods((Q3, Q3.comparison(), Q3.comparison().comparison()))
    rows = [{"p": 2, "n": 5}, {"p": 0, "n": 3}]
    assert by_period(periods, rows, {"n": 0}) == [{"p": 0, "n": 3}, {"n": 0, "p": 1}, {"p": 2, "n": 5}]
