"""Customer value: the active base, NPV lifetime value and customer equity (metrics.md §5).

NPV CLV of a customer group (seed 001: the lifetime customer is measured with an NPV)::

    CLV = sum_{t=1..H} m * r^(t-1) / (1 + d)^t

with ``m`` the mean yearly margin per active customer (``amount`` where ``margin`` is
null), ``r`` the yearly retention rate, ``d`` the discount rate and ``H`` the horizon in
years. Both ``m`` and ``r`` are measured in the two years before ``as_of``:

- active customers: at least one order (amount > 0) in the 365 days before as_of;
- m = margin of those 365 days / active customers;
- r = customers active in the year before that who are active again / active then.

Customer equity = active customers x CLV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data.schema import customers, orders
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.sql import as_float, ratio


@dataclass(frozen=True)
class NpvParams:
    """Settings of the NPV lifetime value."""

    discount_rate: float = 0.10
    horizon_years: int = 5


DEFAULT_NPV = NpvParams()


def npv_clv(margin_per_year: float, retention: float, discount_rate: float = 0.10,
            horizon_years: int = 5) -> float:
    """sum_{t=1..H} m * r^(t-1) / (1 + d)^t."""
    if horizon_years < 1:
        raise ValueError("horizon_years must be at least 1")
    if not 0 <= retention <= 1:
        raise ValueError(f"retention must be within [0, 1], got {retention}")
    if discount_rate <= -1:
        raise ValueError("discount_rate must be above -100 %")
    return sum(margin_per_year * retention ** (t - 1) / (1 + discount_rate) ** t
               for t in range(1, horizon_years + 1))


def _activity(filters: Filters):
    """Per customer: active in the last year, active in the year before, last-year margin."""
    o = orders.c
    year1 = filters.as_of - timedelta(days=365)
    year0 = filters.as_of - timedelta(days=730)
    bought = o.amount > 0
    return (
        select(
            o.customer_id,
            func.max(case((and_(bought, o.ordered_at >= year1), 1), else_=0)).label("current"),
            func.max(case((and_(bought, o.ordered_at < year1), 1), else_=0)).label("previous"),
            func.sum(case((o.ordered_at >= year1, func.coalesce(o.margin, o.amount)), else_=0)).label("margin"),
        )
        .where(o.ordered_at >= year0, o.ordered_at < filters.as_of, *filters.fact_clauses(orders))
        .group_by(o.customer_id)
        .subquery("activity")
    )


def value_by_group(conn: Connection, filters: Filters, dimension: str | None = None,
                   params: NpvParams = DEFAULT_NPV) -> pd.DataFrame:
    """Active customers, m, r, NPV CLV and equity per value of a customer dimension.

    ``dimension`` None gives one row for the whole selection (group 'all').
    """
    a = _activity(filters)
    if dimension is not None and dimension not in CUSTOMER_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    group = (customers.c[CUSTOMER_DIMENSIONS[dimension]] if dimension else None)
    columns = [
        func.coalesce(func.sum(a.c.current), 0).label("active_customers"),
        func.coalesce(func.sum(a.c.previous), 0).label("previous_active"),
        func.coalesce(func.sum(a.c.current * a.c.previous), 0).label("retained"),
        as_float(func.coalesce(func.sum(a.c.margin), 0)).label("margin"),
    ]
    query = select(*([group.label("group")] if group is not None else []), *columns)
    query = query.select_from(a.join(customers, customers.c.customer_id == a.c.customer_id)).where(valid_clause(customers))
    if group is not None:
        query = query.group_by(group).order_by(group)
    frame = pd.DataFrame(conn.execute(query).mappings().all())
    if group is None:
        frame.insert(0, "group", "all")
    if frame.empty:
        return pd.DataFrame(columns=["group", "active_customers", "previous_active", "retained", "margin",
                                     "margin_per_customer", "retention", "clv", "equity"])
    frame["margin_per_customer"] = [ratio(m, n) for m, n in zip(frame.margin, frame.active_customers)]
    frame["retention"] = [ratio(r, p) for r, p in zip(frame.retained, frame.previous_active)]
    frame["clv"] = [
        None if pd.isna(m) or pd.isna(r) else npv_clv(m, r, params.discount_rate, params.horizon_years)
        for m, r in zip(frame.margin_per_customer, frame.retention)]
    frame["equity"] = [None if pd.isna(v) else v * n for v, n in zip(frame.clv, frame.active_customers)]
    return frame


def value_facts(conn: Connection, filters: Filters, params: NpvParams = DEFAULT_NPV) -> dict[str, float | None]:
    """The selection's active customers, NPV CLV, customer equity and new customers."""
    row = {k: (None if pd.isna(v) else v)
           for k, v in value_by_group(conn, filters, None, params).iloc[0].to_dict().items()}
    c = customers.c
    acquired = conn.execute(
        select(func.count()).where(filters.in_period(c.acquired_at), *filters.customer_clauses())
    ).scalar()
    row["new_customers"] = acquired
    return row


def revenue_by_period(conn: Connection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Revenue, margin, orders and buying customers per period of the range."""
    o = orders.c
    period = func.date_trunc(grain, o.ordered_at).label("period")
    query = (
        select(period, as_float(func.sum(o.amount)).label("revenue"),
               as_float(func.sum(func.coalesce(o.margin, o.amount))).label("margin"),
               func.count().label("orders"), func.count(func.distinct(o.customer_id)).label("customers"))
        .where(filters.in_period(o.ordered_at), *filters.fact_clauses(orders))
        .group_by(period).order_by(period)
    )
    return pd.DataFrame(conn.execute(query).mappings().all(),
                        columns=["period", "revenue", "margin", "orders", "customers"])


def new_customers_by_period(conn: Connection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Customers acquired per period of the range."""
    c = customers.c
    period = func.date_trunc(grain, c.acquired_at).label("period")
    query = (select(period, func.count().label("new_customers"))
             .where(filters.in_period(c.acquired_at), *filters.customer_clauses())
             .group_by(period).order_by(period))
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=["period", "new_customers"])
