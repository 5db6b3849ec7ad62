"""The sales pipeline: win rate, sales cycle, partner share of won value (metrics.md §1),
and for the sales managers' page: the pipeline open at the end of the range by age and
team, a weighted forecast of closes by month, win rates by source and team with Wilson
intervals, the sales-cycle distribution and the deals stuck beyond the median cycle.

The schema has no sales stage, so the open pipeline is shown by age (days since the deal
was created, in the bands of :data:`AGE_BANDS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection

from data.schema import customers, opportunities
from i18n import N_
from metrics.filters import Filters
from metrics.intervals import wilson
from metrics.periods import Periods, as_periods, by_period
from metrics.sql import DAY, as_float, count_if, epoch, percentile, ratio, seconds_between

#: Age bands of open deals: (label, first day, last day or None).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (  # labels translated where shown
    (N_("0-30 days"), 0, 30), (N_("31-60 days"), 31, 60), (N_("61-90 days"), 61, 90), (N_("91-180 days"), 91, 180),
    (N_("over 180 days"), 181, None),
)
GROUPS = {"source": opportunities.c.source, "owner_team": opportunities.c.owner_team}
UNKNOWN = "(not recorded)"


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
    return pipeline_facts_by_period(conn, [filters])[0]


def pipeline_facts_by_period(conn: Connection, periods: Periods | Sequence[Filters]) -> list[dict[str, float | None]]:
    """:func:`pipeline_facts` of several periods in one statement (deals read once)."""
    periods = as_periods(periods)
    o = opportunities.c
    d = periods.rows(opportunities, o.closed_at, [o.status, o.source, o.amount, o.created_at, o.closed_at],
                     [o.status.in_(("won", "lost")), o.closed_at.is_not(None),
                      *periods.selection.fact_clauses(opportunities)]).c
    won = d.status == "won"
    query = (
        select(
            d.p,
            count_if(won).label("won"),
            count_if(d.status == "lost").label("lost"),
            percentile(0.5, case((won, seconds_between(d.created_at, d.closed_at) / DAY)))
            .label("sales_cycle_days"),
            as_float(func.sum(case((won, d.amount), else_=0))).label("won_amount"),
            as_float(func.sum(case((and_(won, d.source == "partner"), d.amount), else_=0)))
            .label("partner_won_amount"),
        ).group_by(d.p)
    )
    empty = {"won": 0, "lost": 0, "sales_cycle_days": None, "won_amount": None, "partner_won_amount": None}
    return [{
        "won": int(row["won"]),
        "lost": int(row["lost"]),
        "win_rate": ratio(row["won"], row["won"] + row["lost"]),
        "sales_cycle_days": row["sales_cycle_days"],
        "partner_won_share": ratio(row["partner_won_amount"], row["won_amount"]),
    } for row in by_period(periods, conn.execute(query).mappings().all(), empty)]


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


# --------------------------------------------------------------------------- open pipeline
def _open_at(filters: Filters) -> list:
    """Deals open at the end of the range: created before it, not closed before it."""
    o = opportunities.c
    return [o.created_at < filters.as_of, or_(o.closed_at.is_(None), o.closed_at >= filters.as_of),
            o.status.in_(("open", "won", "lost")), *filters.fact_clauses(opportunities)]


def _age_days(filters: Filters):
    return (epoch(filters.as_of) - epoch(opportunities.c.created_at)) / DAY


def _age_band(filters: Filters):
    age = _age_days(filters)
    whens = [(age < last + 1, label) for label, _, last in AGE_BANDS if last is not None]
    return case(*whens, else_=AGE_BANDS[-1][0])


def open_pipeline(conn: Connection, filters: Filters, by: str = "age") -> pd.DataFrame:
    """The pipeline open at the end of the range: deals and amount per age band, team or source.

    Columns: group, deals, amount. Age bands come in :data:`AGE_BANDS` order (empty bands
    included); teams and sources by amount, largest first; a missing team or source is
    "(not recorded)".
    """
    o = opportunities.c
    if by == "age":
        group = _age_band(filters)
    elif by in GROUPS:
        group = func.coalesce(GROUPS[by], UNKNOWN)
    else:
        raise ValueError(f"unknown grouping {by!r}")
    query = (select(group.label("group"), func.count().label("deals"),
                    as_float(func.coalesce(func.sum(o.amount), 0)).label("amount"))
             .where(*_open_at(filters)).group_by(group))
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=["group", "deals", "amount"])
    if by == "age":
        order = [label for label, _, _ in AGE_BANDS]
        frame = frame.set_index("group").reindex(order).fillna({"deals": 0, "amount": 0.0}).reset_index()
        frame["deals"] = frame.deals.astype(int)
        return frame
    return frame.sort_values(["amount", "group"], ascending=[False, True]).reset_index(drop=True)


def open_deal_records(filters: Filters, older_than_days: float | None = None) -> Select:
    """Deals open at the end of the range (older than ``older_than_days`` when given), oldest first."""
    o = opportunities.c
    age = _age_days(filters)
    clauses = _open_at(filters)
    if older_than_days is not None:
        clauses.append(age > older_than_days)
    return (select(o.opportunity_id, customers.c.name.label("customer"), customers.c.segment, customers.c.region,
                   o.owner_team, o.source, o.created_at, o.amount, age.label("age_days"))
            .select_from(opportunities.join(customers, customers.c.customer_id == o.customer_id))
            .where(*clauses).order_by(o.created_at, o.opportunity_id))


# --------------------------------------------------------------------------- closed deals
def win_rates(conn: Connection, filters: Filters, by: str) -> pd.DataFrame:
    """Win rate of the deals closed in the range per source or team, with 95 % Wilson intervals.

    Columns: group, won, lost, closed, win_rate, low, high (largest groups first).
    """
    if by not in GROUPS:
        raise ValueError(f"unknown grouping {by!r}")
    o = opportunities.c
    group = func.coalesce(GROUPS[by], UNKNOWN)
    query = (select(group.label("group"), count_if(o.status == "won").label("won"),
                    count_if(o.status == "lost").label("lost"))
             .where(*_closed_in_period(filters)).group_by(group))
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=["group", "won", "lost"])
    frame["closed"] = frame.won + frame.lost
    frame["win_rate"] = frame.won / frame.closed
    bounds = [wilson(w, n) for w, n in zip(frame.won, frame.closed)]
    frame["low"] = [b[0] for b in bounds]
    frame["high"] = [b[1] for b in bounds]
    return frame.sort_values(["closed", "group"], ascending=[False, True]).reset_index(drop=True)


def cycle_days(conn: Connection, filters: Filters) -> pd.Series:
    """Days from creation to close of every deal won in the range (the sales-cycle distribution)."""
    o = opportunities.c
    days = (seconds_between(o.created_at, o.closed_at) / DAY).label("cycle_days")
    rows = conn.execute(select(days).where(*_closed_in_period(filters), o.status == "won")).scalars().all()
    return pd.Series([float(d) for d in rows], name="cycle_days", dtype=float)


# --------------------------------------------------------------------------- forecast
def close_forecast(conn: Connection, filters: Filters, history_days: int = 365, min_closed: int = 30) -> pd.DataFrame:
    """Expected closes of the open pipeline by month, weighted by the chance of winning.

    Rules (from the deals closed in the ``history_days`` before the end of the range):
    - a deal's chance of winning is the win rate of its source, or the overall win rate
      when its source closed fewer than ``min_closed`` deals;
    - a deal is expected to close the median won cycle after its creation; a deal already
      past that is expected in the month the range ends (it is overdue);
    - weighted amount = amount x chance of winning.

    Columns: month (first day), deals, amount, weighted, overdue (deals already past the
    median cycle). Empty when there is no open deal or no won deal in the history.
    """
    o = opportunities.c
    since = filters.as_of - timedelta(days=history_days)
    history = Filters(start=since.date(), end=(filters.as_of - timedelta(days=1)).date(),
                      **{dim: getattr(filters, dim) for dim in ("segment", "region", "industry",
                                                                "acquisition_channel", "owner_team", "channel")})
    columns = ["month", "deals", "amount", "weighted", "overdue"]
    source = func.coalesce(o.source, UNKNOWN)
    won = o.status == "won"
    # the history in two small aggregates: won and closed per source, the median won cycle
    closed = conn.execute(select(source.label("source"), count_if(won).label("won"), func.count().label("closed"))
                          .where(*_closed_in_period(history)).group_by(source)).all()
    won_total, closed_total = sum(int(r.won) for r in closed), sum(int(r.closed) for r in closed)
    if not won_total:
        return pd.DataFrame(columns=columns)
    median_cycle = conn.execute(select(percentile(0.5, seconds_between(o.created_at, o.closed_at) / DAY))
                                .where(*_closed_in_period(history), won)).scalar()
    if median_cycle is None:
        return pd.DataFrame(columns=columns)
    median_cycle = float(median_cycle)
    overall = won_total / closed_total
    chance = {r.source: (int(r.won) / int(r.closed) if int(r.closed) >= min_closed else overall) for r in closed}
    # the open deals counted per expected month and source in SQL: a deal's expected close
    # (created_at + the median cycle) falls in month M when created_at >= M - the cycle
    cycle = median_cycle * DAY
    now_month = datetime(filters.end.year, filters.end.month, 1)
    months = _month_starts(filters.as_of, filters.as_of + timedelta(seconds=cycle))
    created = epoch(o.created_at)
    overdue = created < (epoch(filters.as_of) - cycle)
    month = case((overdue, literal(-1)),
                 *[(created >= (epoch(m) - cycle), literal(k)) for k, m in reversed(list(enumerate(months)))],
                 else_=literal(0))
    deals = (select(month.label("month"), source.label("source"), o.amount, overdue.label("overdue"))
             .where(*_open_at(filters)).subquery("open_deals").c)
    rows = conn.execute(
        select(deals.month, deals.source, func.count().label("deals"),
               as_float(func.sum(func.coalesce(deals.amount, 0))).label("amount"),
               count_if(deals.overdue).label("overdue"))
        .group_by(deals.month, deals.source)).all()
    if not rows:
        return pd.DataFrame(columns=columns)
    open_ = pd.DataFrame([{"month": pd.Timestamp(now_month if r.month == -1 else months[r.month]),
                           "source": r.source, "deals": int(r.deals), "amount": float(r.amount or 0.0),
                           "overdue": int(r.overdue)} for r in rows])
    open_["weighted"] = open_.amount * open_.source.map(chance).fillna(overall)
    out = (open_.groupby("month").agg(deals=("deals", "sum"), amount=("amount", "sum"),
                                      weighted=("weighted", "sum"), overdue=("overdue", "sum"))
           .reset_index())
    out["deals"] = out.deals.astype("int64")
    out["overdue"] = out.overdue.astype(int)
    return out[columns]


def _month_starts(first: datetime, last: datetime) -> list[datetime]:
    """The first day of every calendar month from ``first``'s to ``last``'s (both included)."""
    months = [datetime(first.year, first.month, 1)]
    while months[-1] < datetime(last.year, last.month, 1):
        m = months[-1]
        months.append(datetime(m.year + (m.month == 12), m.month % 12 + 1, 1))
    return months


def median_cycle_days(conn: Connection, filters: Filters) -> float | None:
    """Median days from creation to close of the deals won in the range (the KPI's figure)."""
    return pipeline_facts(conn, filters)["sales_cycle_days"]


def open_share(frame: pd.DataFrame, group: str) -> float | None:
    """Share of the open amount held by one group of :func:`open_pipeline` (e.g. source 'partner')."""
    total = float(frame.amount.sum()) if len(frame) else 0.0
    return ratio(float(frame.loc[frame.group == group, "amount"].sum()), total)
