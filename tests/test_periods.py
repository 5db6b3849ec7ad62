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


def test_each_period_groups_its_own_rows_even_where_periods_overlap():
    """Periods.each: one statement per period, in order; a row in two periods counts in both."""
    from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, func, select

    visits = Table("visits", MetaData(), Column("customer_id", Integer), Column("visited_at", DateTime))
    engine = create_engine("duckdb:///:memory:")
    with engine.begin() as conn:
        visits.create(conn)
        conn.execute(visits.insert(), [{"customer_id": c, "visited_at": d} for c, d in (
            (1, "2026-07-03"), (1, "2026-07-20"), (2, "2026-08-31"), (2, "2026-09-01"), (3, "2026-06-30"))])
        # Q3 and the 30 days from 15 August overlap: customer 2's visits count in both
        late = Filters(date(2026, 8, 15), date(2026, 9, 13))
        v = visits.c
        statement = Periods((Q3, late)).each(lambda p, f: (
            select(p.label("p"), v.customer_id, func.count().label("visits"))
            .where(v.visited_at >= f.start_at, v.visited_at < f.as_of).group_by(v.customer_id)))
        rows = sorted(tuple(r) for r in conn.execute(statement))
    assert rows == [(0, 1, 2), (0, 2, 2), (1, 2, 2)]


def test_what_depends_on_the_end_alone_is_computed_once_per_end_and_given_to_each_period():
    """Periods.ends and Periods.spread: August's window and September's comparison (the 30
    days before 1 September) end on the same day; a figure of the end alone (the visitors of
    the year before it) is grouped once for that end and given to both, keyed by their own
    position."""
    from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, func, select

    july, august = Filters(date(2026, 7, 1), date(2026, 7, 31)), Filters(date(2026, 8, 1), date(2026, 8, 31))
    late_august = Filters(date(2026, 9, 1), date(2026, 9, 30)).comparison()
    assert (late_august.start, late_august.as_of) == (date(2026, 8, 2), august.as_of)
    periods = Periods((july, august, late_august))
    ends = periods.ends()
    assert ends.filters == (july, august)                     # two ends, in order of first appearance
    assert ends.spread(ends, "anything", "same") == "anything"    # nothing shared: as it is

    visits = Table("visits", MetaData(), Column("customer_id", Integer), Column("visited_at", DateTime))
    engine = create_engine("duckdb:///:memory:")
    with engine.begin() as conn:
        visits.create(conn)
        conn.execute(visits.insert(), [{"customer_id": c, "visited_at": d} for c, d in (
            (1, "2026-03-01"), (2, "2025-08-02"), (3, "2026-08-15"), (4, "2026-08-20"))])
        v = visits.c
        r = ends.joined(visits, lambda t: v.visited_at < t.c.as_of, [v.customer_id]).c
        per_end = (select(r.p, func.count(func.distinct(r.customer_id)).label("visitors"))
                   .group_by(r.p).subquery("per_end"))
        rows = sorted(tuple(row) for row in conn.execute(select(periods.spread(ends, per_end, "visitors"))))
    # visited before 1 August 2026: customers 1 (March) and 2 (August 2025) -> 2;
    # before 1 September: 1, 2, 3 and 4 -> 4 (August's and late August's)
    assert rows == [(0, 2), (1, 4), (2, 4)]
