"""Sections rewritten for speed at a million customers give the numbers they gave before.

Each ``_before_*`` function below is the previous implementation (per-row work in pandas),
kept here as the reference; the rewritten metric (aggregates in SQL) must give the same
result on the demo database for a grid of filters.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

from data.schema import opportunities
from metrics import pipeline
from metrics.filters import Filters
from metrics.sql import DAY, seconds_between
from tests.conftest import END
from tests.test_parity import _norm

GRID = [
    Filters(END - timedelta(days=89), END),
    Filters(END - timedelta(days=89), END, segment=("Enterprise",)),
    Filters(date(2026, 1, 1), date(2026, 6, 30), compare="last_year", region=("North", "South")),
    Filters(date(2025, 3, 1), date(2025, 3, 31), channel=("phone",)),
    Filters(END - timedelta(days=29), END, owner_team=("Inside sales",)),
]


@pytest.fixture(scope="module")
def conn(demo_url):
    engine = create_engine(demo_url, connect_args={"read_only": True})
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _before_close_forecast(conn, filters: Filters, history_days: int = 365, min_closed: int = 30) -> pd.DataFrame:
    o = opportunities.c
    since = filters.as_of - timedelta(days=history_days)
    history = Filters(start=since.date(), end=(filters.as_of - timedelta(days=1)).date(),
                      **{dim: getattr(filters, dim) for dim in ("segment", "region", "industry",
                                                                "acquisition_channel", "owner_team", "channel")})
    closed = pd.DataFrame(conn.execute(
        select(func.coalesce(o.source, pipeline.UNKNOWN).label("source"), o.status,
               (seconds_between(o.created_at, o.closed_at) / DAY).label("cycle_days"))
        .where(*pipeline._closed_in_period(history))).mappings().all(), columns=["source", "status", "cycle_days"])
    open_ = pd.DataFrame(conn.execute(
        select(func.coalesce(o.source, pipeline.UNKNOWN).label("source"), o.created_at, o.amount)
        .where(*pipeline._open_at(filters))).mappings().all(), columns=["source", "created_at", "amount"])
    columns = ["month", "deals", "amount", "weighted", "overdue"]
    won = closed[closed.status == "won"]
    if open_.empty or won.empty:
        return pd.DataFrame(columns=columns)
    overall = len(won) / len(closed)
    by_source = closed.groupby("source").status.agg(lambda s: ((s == "won").sum(), len(s)))
    chance = {src: (w / n if n >= min_closed else overall) for src, (w, n) in by_source.items()}
    median_cycle = float(won.cycle_days.astype(float).median())
    open_["amount"] = open_.amount.astype(float).fillna(0.0)
    expected = pd.to_datetime(open_.created_at) + pd.to_timedelta(median_cycle, unit="D")
    as_of = pd.Timestamp(filters.as_of)
    now_month = pd.Timestamp(filters.end.year, filters.end.month, 1)
    open_["overdue"] = expected < as_of
    open_["month"] = [now_month if late else pd.Timestamp(e.year, e.month, 1)
                      for e, late in zip(expected, open_.overdue)]
    open_["weighted"] = open_.amount * open_.source.map(chance).fillna(overall)
    out = (open_.groupby("month").agg(deals=("amount", "size"), amount=("amount", "sum"),
                                      weighted=("weighted", "sum"), overdue=("overdue", "sum"))
           .reset_index())
    out["overdue"] = out.overdue.astype(int)
    return out[columns]


@pytest.mark.parametrize("filters", GRID, ids=range(len(GRID)))
@pytest.mark.parametrize("min_closed", [30, 1])
def test_close_forecast_in_sql_equals_the_pandas_version(conn, filters, min_closed):
    before = _before_close_forecast(conn, filters, min_closed=min_closed)
    after = pipeline.close_forecast(conn, filters, min_closed=min_closed)
    assert list(after.columns) == list(before.columns)
    assert _norm(after) == _norm(before)
    if filters == GRID[0]:
        assert len(after) >= 2 and after.overdue.sum() > 0   # the grid reaches overdue and later months


def _before_page(conn, query, page_number: int, page_size: int):
    """The count of every record, then the page: two statements."""
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    result = conn.execute(query.limit(page_size).offset(page_number * page_size))
    return pd.DataFrame(result.mappings().all(), columns=list(result.keys())), int(total)


def _record_queries(filters: Filters):
    from metrics import catalogue, engagement, quality, sla

    yield engagement.over_contacted(filters, engagement.PressureSettings(max_per_week=2))   # grouped, HAVING
    yield engagement.violation_records(filters)
    yield sla.breach_records(filters)
    yield pipeline.open_deal_records(filters, 30.0)
    yield quality.duplicate_records(filters)
    for kpi in ("nps", "win_rate", "campaign_response_rate"):
        yield catalogue.KPIS[kpi].records(filters)


@pytest.mark.parametrize("filters", GRID[:3], ids=range(3))
def test_a_page_of_records_in_one_statement_equals_count_then_page(conn, filters):
    from metrics import drilldown

    seen_rows = False
    for query in _record_queries(filters):
        for number, size in ((0, 50), (1, 7), (10_000, 50)):      # the first page, a later one, past the end
            rows, total = _before_page(conn, query, number, size)
            got = drilldown.page(conn, query, number, size)
            assert got.total == total
            assert list(got.rows.columns) == list(rows.columns)
            pd.testing.assert_frame_equal(got.rows, rows)
            seen_rows = seen_rows or len(rows) > 0
    assert seen_rows


def _before_pressure_facts(conn, filters: Filters, settings) -> dict:
    from metrics import engagement
    from metrics.sql import count_if, ratio

    w = engagement.weekly_contacts(filters)
    per_customer = (select(w.c.customer_id, func.max(w.c.contacts).label("worst"),
                           func.sum(w.c.contacts).label("total"))
                    .group_by(w.c.customer_id).subquery())
    contacted, over, total = conn.execute(
        select(func.count(), count_if(per_customer.c.worst > settings.max_per_week),
               func.coalesce(func.sum(per_customer.c.total), 0))
    ).one()
    weeks = filters.days / 7.0
    return {"contacted_customers": contacted, "over_contacted": over, "over_contacted_share": ratio(over, contacted),
            "contacts_per_customer_week": ratio(total, contacted * weeks) if contacted else None}


def _before_pressure_distribution(conn, filters: Filters) -> pd.DataFrame:
    from metrics import engagement

    w = engagement.weekly_contacts(filters)
    query = select(w.c.contacts, func.count().label("customer_weeks")).group_by(w.c.contacts).order_by(w.c.contacts)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=["contacts", "customer_weeks"])


EMPTY = Filters(date(2001, 1, 1), date(2001, 1, 31))   # before the demo's history: nothing at all


@pytest.mark.parametrize("filters", [*GRID, EMPTY], ids=range(len(GRID) + 1))
def test_contact_pressure_and_its_distribution_in_one_statement(conn, filters):
    from metrics import engagement

    for limit in (1, 3):
        settings = engagement.PressureSettings(max_per_week=limit)
        overview = engagement.pressure_overview(conn, filters, settings)
        distribution = overview.pop("distribution")
        assert overview == _before_pressure_facts(conn, filters, settings)
        assert engagement.pressure_facts(conn, filters, settings) == overview
        pd.testing.assert_frame_equal(distribution, _before_pressure_distribution(conn, filters), check_dtype=False)
        if filters == GRID[0]:
            assert overview["over_contacted"] > 0 and len(distribution) > 3
    assert engagement.has_interactions(conn, filters) == (engagement.interaction_facts(conn, filters)["interactions"] > 0)
    assert engagement.has_interactions(conn, filters) == (filters != EMPTY)


@pytest.mark.parametrize("filters", GRID[:3], ids=range(3))
def test_campaign_reach_counts_every_contact_of_the_campaigns_shown(conn, filters):
    """The reach of a campaign is read for the campaigns shown only; it is still every contact
    of that campaign up to the end of the range (channel and customer filters applied)."""
    from data.schema import interactions
    from metrics import engagement
    from metrics.sql import count_if

    roi = engagement.campaign_roi(conn, filters)
    i = interactions.c
    for row in roi.itertuples():
        contacts, responses = conn.execute(
            select(func.count(), count_if(i.responded))
            .where(i.campaign_id == row.campaign_id, i.occurred_at < filters.as_of,
                   *filters.fact_clauses(interactions, "channel"))).one()
        assert (row.contacts, row.responses) == (contacts, responses)
    if filters == GRID[0]:
        assert len(roi) > 0 and roi.contacts.sum() > 0
