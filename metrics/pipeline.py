"""The sales pipeline: win rate, sales cycle, partner share of won value (metrics.md §1)."""

from __future__ import annotations

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.engine import Connection

from data.schema import customers, opportunities
from metrics.filters import Filters
from metrics.sql import DAY, as_float, count_if, percentile, ratio, seconds_between


def _closed_in_period(filters: Filters) -> list:
    o = opportunities.c
    return [o.status.in_(("won", "lost")), o.closed_at.is_not(None),
            filters.in_period(o.closed_at), *filters.fact_clauses(opportunities)]


def pipeline_facts(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Deals closed in the range.

    - win_rate = won / (won + lost);
    - sales_cycle_days = median days from created_at to closed_at of the won deals;
    - partner_won_share = won amount with source 'partner' / all won amount.
    """
    o = opportunities.c
    won = o.status == "won"
    row = conn.execute(
        select(
            count_if(won).label("won"),
            count_if(o.status == "lost").label("lost"),
            percentile(0.5, case((won, seconds_between(o.created_at, o.closed_at) / DAY)))
            .label("sales_cycle_days"),
            as_float(func.sum(case((won, o.amount), else_=0))).label("won_amount"),
            as_float(func.sum(case((and_(won, o.source == "partner"), o.amount), else_=0)))
            .label("partner_won_amount"),
        ).where(*_closed_in_period(filters))
    ).mappings().one()
    return {
        "won": row["won"],
        "lost": row["lost"],
        "win_rate": ratio(row["won"], row["won"] + row["lost"]),
        "sales_cycle_days": row["sales_cycle_days"],
        "partner_won_share": ratio(row["partner_won_amount"], row["won_amount"]),
    }


def opportunity_records(filters: Filters) -> Select:
    """Deals closed in the range (drill-down)."""
    o = opportunities.c
    return (
        select(o.opportunity_id, o.customer_id, customers.c.name.label("customer"), customers.c.segment,
               customers.c.region, o.owner_team, o.source, o.status, o.created_at, o.closed_at, o.amount,
               (seconds_between(o.created_at, o.closed_at) / DAY).label("cycle_days"))
        .select_from(opportunities.join(customers, customers.c.customer_id == o.customer_id))
        .where(*_closed_in_period(filters))
        .order_by(o.closed_at.desc(), o.opportunity_id)
    )
