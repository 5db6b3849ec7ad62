"""Engagement statements rewritten for speed at a million customers give what they gave before.

Each ``_before_*`` function below is the previous definition, kept here as the reference:
the over-contacted customers joined to their names before being summed, the consent figures
and the violations read from every interaction of the range. On the same demo in DuckDB and
PostgreSQL, for a grid of filters, the rewritten ones give the same rows, in the same order,
and the same figures (records lists paged as the page does: a page and the total).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Select, case, func, or_, select

from data.schema import customers, interactions
from metrics import drilldown, engagement
from metrics.engagement import PressureSettings, _interaction_clauses, _violation_columns, weekly_contacts
from metrics.filters import Filters
from metrics.health import valid_clause
from metrics.sql import count_if, ratio

pytestmark = pytest.mark.postgres


def _before_over_contacted(filters: Filters, settings: PressureSettings) -> Select:
    w = weekly_contacts(filters)
    over = w.c.contacts > settings.max_per_week
    return (
        select(w.c.customer_id, customers.c.name, customers.c.segment, customers.c.region,
               customers.c.preferred_channel, customers.c.consent_marketing,
               count_if(over).label("weeks_over_limit"), func.max(w.c.contacts).label("max_per_week"),
               func.sum(w.c.contacts).label("outbound_contacts"))
        .select_from(w.join(customers, customers.c.customer_id == w.c.customer_id))
        .where(valid_clause(customers))
        .group_by(w.c.customer_id, customers.c.name, customers.c.segment, customers.c.region,
                  customers.c.preferred_channel, customers.c.consent_marketing)
        .having(func.max(w.c.contacts) > settings.max_per_week)
        .order_by(func.max(w.c.contacts).desc(), w.c.customer_id)
    )


def _before_consent_facts(conn, filters: Filters) -> dict:
    i = interactions.c
    against, off = _violation_columns()
    row = conn.execute(
        select(count_if(i.direction == "outbound").label("outbound"),
               count_if(against).label("against_consent"), count_if(off).label("off_preferred_channel"),
               func.count(func.distinct(case((against, i.customer_id)))).label("customers_against_consent"))
        .select_from(interactions.join(customers, customers.c.customer_id == i.customer_id))
        .where(*_interaction_clauses(filters))
    ).mappings().one()
    return {**row, "against_consent_share": ratio(row["against_consent"], row["outbound"]),
            "off_preferred_share": ratio(row["off_preferred_channel"], row["outbound"])}


def _before_violation_records(filters: Filters) -> Select:
    i, c = interactions.c, customers.c
    against, off = _violation_columns()
    return (
        select(i.interaction_id, i.customer_id, c.name, c.segment, i.occurred_at, i.channel,
               c.preferred_channel, c.consent_marketing, i.department, i.campaign_id,
               against.label("against_consent"), off.label("off_preferred_channel"))
        .select_from(interactions.join(customers, c.customer_id == i.customer_id))
        .where(*_interaction_clauses(filters), or_(against, off))
        .order_by(i.occurred_at.desc(), i.interaction_id)
    )


DEFAULT = Filters(date(2026, 8, 25), date(2026, 11, 22))
GRID = [
    DEFAULT,
    DEFAULT.with_values(segment="SMB", channel=("email", "phone")),
    Filters(DEFAULT.start, DEFAULT.end, scope=(("region", ("North", "East")),)),
    Filters(date(2025, 11, 23), date(2026, 11, 22), compare="last_year", region=("South",)),
    Filters(date(2023, 1, 1), date(2023, 1, 31)),                  # before the history: nothing
    DEFAULT.with_values(industry="No such industry"),
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory, pg_cluster):
    from data.demo import DemoSpec
    from tests.conftest import END
    from tests.helpers import demo_on_both_engines

    return demo_on_both_engines(tmp_path_factory, pg_cluster, DemoSpec(customers=400, seed=5, end=END),
                                "engagement_statements")


def _pages(conn, query: Select, size: int) -> list[drilldown.Page]:
    """The first two pages of ``query`` as the records dialog reads them."""
    return [drilldown.page(conn, query, n, size) for n in (0, 1)]


def _same_pages(got: list[drilldown.Page], want: list[drilldown.Page], where: str) -> None:
    for g, w in zip(got, want):
        assert g.total == w.total, where
        pd.testing.assert_frame_equal(g.rows, w.rows, check_exact=True, obj=where)


@pytest.mark.parametrize("filters", GRID, ids=range(len(GRID)))
def test_rewritten_engagement_statements_equal_the_previous_ones(sources, filters):
    from data.sources import open_engine

    for url in sources:
        engine = open_engine(url)
        with engine.connect() as conn:
            for limit in (1, 3):
                settings = PressureSettings(max_per_week=limit)
                _same_pages(_pages(conn, engagement.over_contacted(filters, settings), 20),
                            _pages(conn, _before_over_contacted(filters, settings), 20), f"{url} over {limit}")
            _same_pages(_pages(conn, engagement.violation_records(filters), 25),
                        _pages(conn, _before_violation_records(filters), 25), f"{url} violations")
            assert engagement.consent_facts(conn, filters) == _before_consent_facts(conn, filters), url
        engine.dispose()


def test_the_grid_is_not_vacuous(sources):
    """The default view has customers over the limit, violations and contacts against consent."""
    from data.sources import open_engine

    engine = open_engine(sources[0])
    with engine.connect() as conn:
        over = drilldown.page(conn, engagement.over_contacted(DEFAULT, PressureSettings(1)), 0, 20)
        violations = drilldown.page(conn, engagement.violation_records(DEFAULT), 0, 25)
        consent = engagement.consent_facts(conn, DEFAULT)
    engine.dispose()
    assert over.total > 20 and violations.total > 25
    assert consent["outbound"] > 0 and consent["against_consent"] > 0 and consent["off_preferred_channel"] > 0
