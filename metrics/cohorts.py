"""Retention cohorts (metrics.md §4, the matrix).

- cohort = calendar month of ``acquired_at``; month k = the k-th calendar month after it
  (k = 0 is the acquisition month);
- retention(cohort, k) = customers of the cohort with >= 1 order (amount > 0) in month k /
  cohort size;
- revenue retention(cohort, k) = revenue in month k / revenue in month 0 (refunds included).

Cohorts are the acquisition months that overlap the date range. Cells of months that
start after as_of are left empty (NaN), never 0.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Select, case, func, select
from sqlalchemy.engine import Connection

from data.schema import customers, orders
from metrics.health import valid_clause
from metrics.filters import Filters
from metrics.sql import as_float, month_index


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1)


def cohort_matrix(conn: Connection, filters: Filters) -> dict[str, pd.DataFrame]:
    """Cohort matrices, rows = acquisition month, columns = k.

    Returns ``{"size": cohort sizes (Series as a frame), "customers": active customers,
    "revenue": revenue, "retention": customers / size, "revenue_retention": revenue /
    revenue in month 0}``; cells after as_of are NaN.
    """
    c, o = customers.c, orders.c
    first_month = _month_start(filters.start_at)
    cohort_filter = [c.acquired_at >= first_month, c.acquired_at < filters.as_of, *filters.customer_clauses()]
    cohort = func.date_trunc("month", c.acquired_at).label("cohort")
    sizes = pd.DataFrame(
        conn.execute(select(cohort, func.count().label("size")).where(*cohort_filter).group_by(cohort)).all(),
        columns=["cohort", "size"])
    k = (month_index(o.ordered_at) - month_index(c.acquired_at)).label("k")
    cells = pd.DataFrame(conn.execute(
        select(cohort, k, func.count(func.distinct(case((o.amount > 0, o.customer_id)))).label("customers"),
               as_float(func.sum(o.amount)).label("revenue"))
        .select_from(orders.join(customers, c.customer_id == o.customer_id))
        .where(valid_clause(orders), *cohort_filter, o.ordered_at >= c.acquired_at, o.ordered_at < filters.as_of)
        .group_by(cohort, k)
    ).all(), columns=["cohort", "k", "customers", "revenue"])
    return _matrices(sizes, cells, filters.as_of)


def _matrices(sizes: pd.DataFrame, cells: pd.DataFrame, as_of: datetime) -> dict[str, pd.DataFrame]:
    if sizes.empty:
        empty = pd.DataFrame(dtype=float)
        return {"size": pd.Series(dtype=int), "customers": empty, "revenue": empty,
                "retention": empty, "revenue_retention": empty}
    sizes["cohort"] = pd.to_datetime(sizes["cohort"])
    cells["cohort"] = pd.to_datetime(cells["cohort"])
    sizes = sizes.sort_values("cohort").set_index("cohort")["size"]
    last = _month_start(as_of if as_of.day > 1 or as_of.hour else as_of - pd.Timedelta(days=1))
    horizon = [(last.year - m.year) * 12 + last.month - m.month for m in sizes.index]
    columns = list(range(max(horizon) + 1))
    customers_m = cells.pivot_table(index="cohort", columns="k", values="customers", aggfunc="sum")
    revenue_m = cells.pivot_table(index="cohort", columns="k", values="revenue", aggfunc="sum")
    customers_m = customers_m.reindex(index=sizes.index, columns=columns).fillna(0.0)
    revenue_m = revenue_m.reindex(index=sizes.index, columns=columns).fillna(0.0)
    future = np.array([[k > h for k in columns] for h in horizon])
    customers_m = customers_m.mask(future)
    revenue_m = revenue_m.mask(future)
    retention = customers_m.div(sizes, axis=0)
    base = revenue_m[0].where(revenue_m[0] > 0)
    revenue_retention = revenue_m.div(base, axis=0)
    for frame in (customers_m, revenue_m, retention, revenue_retention):
        frame.index.name, frame.columns.name = "cohort", "k"
    return {"size": sizes, "customers": customers_m, "revenue": revenue_m,
            "retention": retention, "revenue_retention": revenue_retention}


def cohort_records(filters: Filters, cohort: datetime, k: int | None = None) -> Select:
    """The customers of one cohort; with ``k``, those who ordered in month k (drill-down)."""
    c, o = customers.c, orders.c
    start = _month_start(cohort)
    end = datetime(start.year + (start.month // 12), start.month % 12 + 1, 1)
    query = (select(c.customer_id, c.name, c.segment, c.region, c.acquisition_channel, c.acquired_at)
             .where(c.acquired_at >= start, c.acquired_at < end, c.acquired_at < filters.as_of,
                    *filters.customer_clauses())
             .order_by(c.acquired_at, c.customer_id))
    if k is None:
        return query
    buyers = (select(o.customer_id)
              .select_from(orders.join(customers, c.customer_id == o.customer_id))
              .where(valid_clause(orders), month_index(o.ordered_at) - month_index(c.acquired_at) == k, o.ordered_at < filters.as_of))
    return query.where(c.customer_id.in_(buyers))
