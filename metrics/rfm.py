"""RFM scores and segments, and the Pareto share of revenue (metrics.md §5).

Population, seen from ``as_of`` (the end of the date range): customers with at least one
order (``amount > 0``; refunds and zero rows are not orders) in the ``window_days``
(default 365) before as_of, i.e. in ``[as_of - window_days, as_of)``, customer filters
applied (the contact channel filter does not apply to orders). Customers whose last
order is older are not scored: they would all tie at F = 0 and M = 0 and crowd the
bottom quintiles (they are churned customers; see ``metrics/survival.py``). Per
customer, computed in SQL over that window:

- ``recency_days`` = as_of - the last order, in days (fractional: timestamps keep their
  time of day);
- ``frequency`` = orders in the window (>= 1);
- ``monetary`` = revenue in the window: the sum of ``amount``, refunds included (as
  everywhere else in the dashboard, a refund counts against revenue).

Scores 1-5 are quintiles of the population: a customer's score is ``ceil(5 * rank / n)``
where ``rank`` (1..n) orders the customers from the worst to the best value. Ties are
broken deterministically, never by chance: customers are sorted by ``customer_id``
(Python's code-point order, the same on every engine) and ranked with
``method="first"``, so among equal values the smaller customer_id ranks first — lower
for F and M, and, since R is reversed (the most recent customer gets R = 5, the longest
silent one R = 1), also lower for R. Equal values can therefore get adjacent scores.

The named segment comes from (R, F), the standard RFM grid:

======  ==============  ===================  ===================  ================  ================
R \\ F   F = 1           F = 2                F = 3                F = 4             F = 5
======  ==============  ===================  ===================  ================  ================
R = 5   New             Potential loyalists  Potential loyalists  Champions         Champions
R = 4   Promising       Potential loyalists  Potential loyalists  Loyal             Loyal
R = 3   About to sleep  About to sleep       Needs attention      Loyal             Loyal
R = 2   Hibernating     Hibernating          At risk              At risk           Cannot lose them
R = 1   Lost            Hibernating          At risk              At risk           Cannot lose them
======  ==============  ===================  ===================  ================  ================

``SEGMENT_GRID`` below is that table as data; ``SEGMENTS`` describes each name.

Pareto: the share of the revenue of the date range that comes from the top ``top``
(default 20 %) of its customers by revenue — the ``ceil(top * n)`` customers with the
highest revenue in the range, ties broken by customer_id (which tied customer is picked
does not change the share). Customers whose net revenue in the range is not positive
are left out of both n and the revenue.

References
----------
Hughes, A. M. (1994). Strategic Database Marketing. Probus (RFM quintile scoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

import numpy as np
import pandas as pd
from sqlalchemy import Select, case, func, select
from sqlalchemy.engine import Connection

from data.schema import customers, orders
from i18n import N_
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.sql import DAY, as_float, count_if, epoch, fetch_frame, ratio

DEFAULT_WINDOW_DAYS = 365
SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RfmSegment:
    name: str
    description: str


#: The named segments, best first (the order of tables and legends); English, shown with ``_(...)``.
SEGMENTS: tuple[RfmSegment, ...] = (
    RfmSegment(N_("Champions"), N_("Bought recently and often: reward them, ask for referrals.")),
    RfmSegment(N_("Loyal"), N_("Buy often and fairly recently: upsell, loyalty programme.")),
    RfmSegment(N_("Potential loyalists"), N_("Recent, a few orders: build the habit.")),
    RfmSegment(N_("New"), N_("Bought very recently, few orders so far: onboard them well.")),
    RfmSegment(N_("Promising"), N_("Recent, one order: make the second purchase easy.")),
    RfmSegment(N_("Needs attention"), N_("Average recency and frequency: reactivate before they slip.")),
    RfmSegment(N_("About to sleep"), N_("Average recency, few orders: a timely offer.")),
    RfmSegment(N_("Cannot lose them"), N_("Used to buy the most, silent for long: win them back personally.")),
    RfmSegment(N_("At risk"), N_("Used to buy often, silent for a while: reach out now.")),
    RfmSegment(N_("Hibernating"), N_("Few orders, long ago: low-cost reactivation only.")),
    RfmSegment(N_("Lost"), N_("Fewest orders, longest silence: do not spend on them.")),
)
SEGMENT_ORDER: tuple[str, ...] = tuple(s.name for s in SEGMENTS)

#: R score -> the segment of F = 1..5 (the table of the module docstring).
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"),
    4: ("Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"),
    3: ("About to sleep", "About to sleep", "Needs attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Cannot lose them"),
    1: ("Lost", "Hibernating", "At risk", "At risk", "Cannot lose them"),
}

TABLE_COLUMNS = ["customer_id", *CUSTOMER_DIMENSIONS, "name", "last_order_at", "recency_days", "frequency",
                 "monetary", "r_score", "f_score", "m_score", "rfm_cell", "rfm_segment"]


def segment_of(r_score: int, f_score: int) -> str:
    """The named segment of an (R, F) cell."""
    return SEGMENT_GRID[int(r_score)][int(f_score) - 1]


def rfm_query(filters: Filters, window_days: int = DEFAULT_WINDOW_DAYS) -> Select:
    """Per customer with an order in the window: last order, recency, frequency, monetary."""
    if window_days <= 0:
        raise ValueError(f"window_days must be a positive number of days, not {window_days}")
    o, c = orders.c, customers.c
    since = filters.as_of - timedelta(days=window_days)
    bought = o.amount > 0
    per_customer = (
        select(o.customer_id,
               func.max(case((bought, o.ordered_at))).label("last_order_at"),
               count_if(bought).label("frequency"),
               as_float(func.sum(o.amount)).label("monetary"))
        .where(o.ordered_at >= since, o.ordered_at < filters.as_of, *filters.fact_clauses(orders))
        .group_by(o.customer_id)
        .having(count_if(bought) > 0)
        .subquery("per_customer")
    )
    p = per_customer.c
    return (
        select(p.customer_id, *[c[col].label(dim) for dim, col in CUSTOMER_DIMENSIONS.items()], c.name,
               p.last_order_at, ((epoch(filters.as_of) - epoch(p.last_order_at)) / DAY).label("recency_days"),
               p.frequency, p.monetary)
        .select_from(per_customer.join(customers, c.customer_id == p.customer_id))
        .where(valid_clause(customers))
        .order_by(p.customer_id)
    )


def quintile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5 by quintile of rank: ``ceil(5 * rank / n)``, rank 1 = the worst value.

    Ties keep the order of ``values`` (``method="first"``): pass them sorted by
    customer_id for the documented tie rule.
    """
    if values.empty:
        return pd.Series([], index=values.index, dtype="int64")
    rank = values.rank(method="first", ascending=higher_is_better)
    return np.ceil(5 * rank / len(values)).astype("int64")


def rfm_table(conn: Connection, filters: Filters, window_days: int = DEFAULT_WINDOW_DAYS) -> pd.DataFrame:
    """One row per customer with an order in the ``window_days`` (default 365) before
    as_of: R, F, M values, scores and segment.

    ``recency_days`` counts from the last order; ``frequency`` (orders) and ``monetary``
    (revenue, refunds included) cover the window. Columns: customer_id, the customer dimensions, name,
    last_order_at, recency_days, frequency, monetary, r_score, f_score, m_score,
    rfm_cell (e.g. "543"), rfm_segment. Sorted by customer_id; empty (with these
    columns) when nobody qualifies.
    """
    frame = fetch_frame(conn, rfm_query(filters, window_days),
                        columns=TABLE_COLUMNS[:TABLE_COLUMNS.index("r_score")])
    frame = frame.astype({"customer_id": str, "recency_days": float, "frequency": "int64", "monetary": float})
    frame = frame.sort_values("customer_id", kind="mergesort", ignore_index=True)
    frame["r_score"] = quintile_scores(frame.recency_days, higher_is_better=False)
    frame["f_score"] = quintile_scores(frame.frequency)
    frame["m_score"] = quintile_scores(frame.monetary)
    frame["rfm_cell"] = pd.Series([f"{r}{f}{m}" for r, f, m in zip(frame.r_score, frame.f_score, frame.m_score)],
                                  index=frame.index, dtype=str)
    frame["rfm_segment"] = pd.Series([segment_of(r, f) for r, f in zip(frame.r_score, frame.f_score)],
                                     index=frame.index, dtype=str)
    return frame[TABLE_COLUMNS]


def rfm_grid(table: pd.DataFrame) -> pd.DataFrame:
    """Customers and revenue per (R, F) cell, all 25 cells (empty ones 0), for a heatmap.

    Columns: r_score (5 first), f_score, rfm_segment, customers, revenue.
    """
    cells = pd.DataFrame([(r, f, segment_of(r, f)) for r in reversed(SCORES) for f in SCORES],
                         columns=["r_score", "f_score", "rfm_segment"])
    counts = (table.groupby(["r_score", "f_score"]).agg(customers=("customer_id", "size"),
                                                        revenue=("monetary", "sum")).reset_index())
    grid = cells.merge(counts, on=["r_score", "f_score"], how="left")
    return grid.fillna({"customers": 0, "revenue": 0.0}).astype({"customers": "int64", "revenue": float})


def segment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Customers, revenue and their shares per named segment (every segment, best first).

    Columns: rfm_segment, description, customers, customer_share, revenue, revenue_share,
    mean_recency_days, mean_frequency. Shares are NaN when there is nothing to share.
    """
    summary = (table.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("monetary", "sum"),
                                                mean_recency_days=("recency_days", "mean"),
                                                mean_frequency=("frequency", "mean"))
               .reindex(list(SEGMENT_ORDER)).rename_axis("rfm_segment").reset_index())
    summary = summary.fillna({"customers": 0, "revenue": 0.0}).astype({"customers": "int64", "revenue": float})
    summary.insert(1, "description", [s.description for s in SEGMENTS])
    customers_total, revenue_total = summary.customers.sum(), summary.revenue.sum()
    summary.insert(3, "customer_share", summary.customers / customers_total if customers_total else np.nan)
    summary.insert(5, "revenue_share", summary.revenue / revenue_total if revenue_total else np.nan)
    return summary


def pareto_share(conn: Connection, filters: Filters, top: float = 0.2) -> float | None:
    """Share of the range's revenue from its top ``top`` of customers by revenue (None: no revenue).

    The top are the first ``ceil(top * n)`` of the n customers with a positive revenue
    in the range, ordered by revenue (refunds included) then customer_id. The cut is
    computed in integers (``top`` as a fraction p/q: rank - 1 < n * p / q), so 20 % of 5
    customers is exactly 1 customer on every engine.
    """
    if not 0 < top <= 1:
        raise ValueError(f"top must be a share in (0, 1], not {top}")
    cut = Fraction(top).limit_denominator(10_000)
    o = orders.c
    revenue = (
        select(o.customer_id, func.sum(o.amount).label("revenue"))
        .where(filters.in_period(o.ordered_at), *filters.fact_clauses(orders))
        .group_by(o.customer_id)
        .having(func.sum(o.amount) > 0)
        .subquery("revenue")
    )
    r = revenue.c
    ranked = select(
        r.revenue,
        func.row_number().over(order_by=(r.revenue.desc(), r.customer_id)).label("rank"),
        func.count().over().label("customers"),
    ).subquery("ranked")
    k = ranked.c
    in_top = (k.rank - 1) * cut.denominator < k.customers * cut.numerator
    total, top_revenue = conn.execute(
        select(as_float(func.sum(k.revenue)), as_float(func.sum(case((in_top, k.revenue), else_=0))))
    ).one()
    return ratio(top_revenue, total)
