"""The churn features of several cutoffs in one statement equal one statement per cutoff.

``_before_feature_query`` below is the previous definition (one statement per cutoff, the
weekly contacts of every customer, the last NPS answer by a window over every survey), kept
here as the reference. On the same demo in DuckDB and PostgreSQL, for a grid of filters and
cutoffs, :func:`metrics.churn.features_at` must give the frames it gave: same rows, columns,
dtypes and values to the last bit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Select, case, func, select

from data.schema import customers, orders, surveys, tickets
from metrics import churn
from metrics.churn import DAY, _day_boundary, _ending_at
from metrics.engagement import weekly_contacts
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.health import valid_clause
from metrics.sla import DEFAULT_LIMITS, status_expr
from metrics.sql import as_float, count_if, epoch, fetch_frame

pytestmark = pytest.mark.postgres


def _before_feature_query(filters: Filters, at: datetime, window_days: int, pressure_days: int,
                          horizon_days: int | None, limits=DEFAULT_LIMITS) -> Select:
    at = _day_boundary(at)
    year_ago = at - timedelta(days=window_days)
    o, c, t, s = orders.c, customers.c, tickets.c, surveys.c
    bought = o.amount > 0
    purchases = (
        select(o.customer_id, func.max(case((bought, o.ordered_at))).label("last_order_at"),
               count_if(bought).label("frequency"), as_float(func.sum(o.amount)).label("revenue"))
        .where(valid_clause(orders), o.ordered_at >= year_ago, o.ordered_at < at)
        .group_by(o.customer_id)
        .having(count_if(bought) > 0)
        .subquery("purchases")
    )
    seen_from_at = _ending_at(filters, at, window_days)
    service = (
        select(t.customer_id, func.count().label("tickets"),
               count_if(status_expr(seen_from_at, limits) == "breached").label("sla_breaches"))
        .where(valid_clause(tickets), t.customer_id.is_not(None), t.opened_at >= year_ago, t.opened_at < at)
        .group_by(t.customer_id)
        .subquery("service")
    )
    answers = (
        select(s.customer_id, s.score,
               func.row_number().over(partition_by=s.customer_id,
                                      order_by=(s.answered_at.desc(), s.response_id.desc())).label("n"))
        .where(valid_clause(surveys), s.kind == "nps", s.customer_id.is_not(None), s.answered_at < at)
        .subquery("answers")
    )
    last_nps = select(answers.c.customer_id, answers.c.score).where(answers.c.n == 1).subquery("last_nps")
    weekly = weekly_contacts(_ending_at(filters, at, pressure_days))
    pressure = (select(weekly.c.customer_id, func.max(weekly.c.contacts).label("contacts"))
                .group_by(weekly.c.customer_id).subquery("pressure"))
    p = purchases.c
    columns = [
        p.customer_id, *[c[col].label(dim) for dim, col in CUSTOMER_DIMENSIONS.items()], c.name,
        p.last_order_at,
        ((epoch(at) - epoch(p.last_order_at)) / DAY).label("recency_days"),
        p.frequency,
        p.revenue,
        func.ln(1.0 + func.greatest(p.revenue, 0.0)).label("monetary"),
        func.coalesce(service.c.tickets, 0).label("tickets"),
        func.coalesce(service.c.sla_breaches, 0).label("sla_breaches"),
        as_float(last_nps.c.score).label("last_nps"),
        case((last_nps.c.score.is_not(None), 1), else_=0).label("has_nps"),
        func.coalesce(pressure.c.contacts, 0).label("contact_pressure"),
    ]
    joined = (purchases.join(customers, c.customer_id == p.customer_id)
              .outerjoin(service, service.c.customer_id == p.customer_id)
              .outerjoin(last_nps, last_nps.c.customer_id == p.customer_id)
              .outerjoin(pressure, pressure.c.customer_id == p.customer_id))
    if horizon_days is not None:
        came_back = (
            select(o.customer_id)
            .where(valid_clause(orders), bought, o.ordered_at >= at, o.ordered_at < at + timedelta(days=horizon_days))
            .group_by(o.customer_id)
            .subquery("came_back")
        )
        columns.append(case((came_back.c.customer_id.is_(None), 1), else_=0).label("churned"))
        joined = joined.outerjoin(came_back, came_back.c.customer_id == p.customer_id)
    return select(*columns).select_from(joined).where(*filters.customer_clauses()).order_by(p.customer_id)


def _before_features(conn, filters: Filters, at: datetime, window_days: int, pressure_days: int,
                     horizon_days: int | None) -> pd.DataFrame:
    query = _before_feature_query(filters, at, window_days, pressure_days, horizon_days)
    columns = churn.FEATURE_COLUMNS + (["churned"] if horizon_days is not None else [])
    frame = fetch_frame(conn, query, columns)
    types = {"customer_id": str, "recency_days": float, "frequency": "int64", "revenue": float,
             "monetary": float, "tickets": "int64", "sla_breaches": "int64", "last_nps": float,
             "has_nps": "int64", "contact_pressure": "int64"}
    if horizon_days is not None:
        types["churned"] = "int64"
    frame = frame.astype(types)
    return frame.sort_values("customer_id", kind="mergesort", ignore_index=True)


DEFAULT = Filters(date(2026, 8, 25), date(2026, 11, 22))
#: (filters, horizon_days, window_days, pressure_days): the page's default, a customer filter and
#: a scope, windows that overlap (horizon shorter than the pressure window), cutoffs before the
#: history (empty frames).
GRID = [
    (DEFAULT, 180, 365, 90),
    (DEFAULT.with_values(segment="SMB", channel=("email",)), 180, 365, 90),
    (Filters(DEFAULT.start, DEFAULT.end, scope=(("region", ("North", "East")),)), 90, 365, 90),
    (DEFAULT.with_values(region=("South",)), 30, 120, 60),
    (Filters(date(2023, 1, 1), date(2023, 1, 31)), 180, 365, 90),
    (DEFAULT.with_values(industry="No such industry"), 180, 365, 90),
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory, pg_cluster):
    from data.demo import DemoSpec
    from tests.conftest import END
    from tests.helpers import demo_on_both_engines

    return demo_on_both_engines(tmp_path_factory, pg_cluster, DemoSpec(customers=400, seed=7, end=END),
                                "churn_statement")


@pytest.mark.parametrize("case_", GRID, ids=range(len(GRID)))
def test_features_of_three_cutoffs_in_one_statement_equal_one_statement_per_cutoff(sources, case_):
    from data.sources import open_engine

    filters, horizon, window, pressure = case_
    at = filters.as_of
    cutoffs = (at - timedelta(days=horizon), at - timedelta(days=2 * horizon), at)
    for url in sources:
        engine = open_engine(url)
        with engine.connect() as conn:
            together = churn.features_at(conn, filters, cutoffs, window, pressure, horizon)
            for cutoff, frame in zip(cutoffs, together):
                before = _before_features(conn, filters, cutoff, window, pressure, horizon)
                if before.empty:
                    assert frame.empty and list(frame.columns) == list(before.columns), (url, cutoff)
                else:
                    pd.testing.assert_frame_equal(frame, before, check_exact=True, obj=f"{url} at {cutoff}")
            single = churn.customer_features(conn, filters, window_days=window, pressure_days=pressure)
            pd.testing.assert_frame_equal(single, _before_features(conn, filters, at, window, pressure, None),
                                          check_exact=True)
        engine.dispose()


def test_the_demo_has_rows_in_every_cutoff_of_the_default_view(sources):
    """The grid's first case compares non-empty frames (the comparison is not vacuous)."""
    from data.sources import open_engine

    engine = open_engine(sources[0])
    at = DEFAULT.as_of
    with engine.connect() as conn:
        frames = churn.features_at(conn, DEFAULT, (at - timedelta(days=180), at - timedelta(days=360), at),
                                   horizon_days=180)
    engine.dispose()
    assert all(len(frame) > 30 for frame in frames)
    assert all(frame.contact_pressure.gt(0).any() and frame.has_nps.eq(1).any() and frame.sla_breaches.gt(0).any()
               for frame in frames)
