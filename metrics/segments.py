"""Compare two groups (segments, regions, teams...) on every KPI, and where revenue lives.

Proportion KPIs are tested with a two-proportion z-test (statsmodels); other KPIs
(means, medians, growth, ratios) are shown side by side without a test.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from statsmodels.stats.proportion import proportions_ztest

from data.schema import customers, orders
from metrics.catalogue import CATALOGUE, Facts, Settings, comparison_counts
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.sql import as_float

ALPHA = 0.05


def _values(conn: Connection, filters: Filters, settings: Settings) -> tuple[dict, dict, dict]:
    facts = Facts(conn, filters, settings)
    values = {k.name: k.query(facts) for k in CATALOGUE if not k.meta}
    bases = {k.name: k.sample_size(facts) for k in CATALOGUE if not k.meta}
    return values, comparison_counts(facts), bases


def compare(conn: Connection, filters: Filters, dimension: str, group_a: str, group_b: str,
            settings: Settings = Settings()) -> pd.DataFrame:
    """Every KPI for ``dimension = group_a`` and ``= group_b`` (other filters kept).

    Columns: name, label, rule, unit, direction, value_a, value_b, n_a, n_b (the answers or
    records behind a sampled KPI, else None), difference (a - b),
    p_value (two-proportion z-test, proportion KPIs only), significant (p < 0.05),
    better ('a', 'b' or None: which group is better when the difference is significant).
    """
    if dimension not in (*CUSTOMER_DIMENSIONS, "channel"):
        raise ValueError(f"unknown dimension {dimension!r}")
    values_a, counts_a, bases_a = _values(conn, filters.with_values(**{dimension: group_a}), settings)
    values_b, counts_b, bases_b = _values(conn, filters.with_values(**{dimension: group_b}), settings)
    rows = []
    for kpi in CATALOGUE:
        if kpi.meta:
            continue
        a, b = values_a[kpi.name], values_b[kpi.name]
        p_value = None
        if kpi.name in counts_a:
            (sa, na), (sb, nb) = counts_a[kpi.name], counts_b[kpi.name]
            if na > 0 and nb > 0 and 0 < sa + sb < na + nb:
                p_value = float(proportions_ztest([sa, sb], [na, nb])[1])
        significant = p_value is not None and p_value < ALPHA
        better = None
        if significant and a is not None and b is not None and a != b:
            higher_is_better = kpi.direction.value == "higher"
            better = "a" if (a > b) == higher_is_better else "b"
        rows.append({"name": kpi.name, "label": kpi.label, "rule": kpi.rule.title, "unit": kpi.unit.value,
                     "direction": kpi.direction.value, "value_a": a, "value_b": b,
                     "n_a": bases_a[kpi.name], "n_b": bases_b[kpi.name],
                     "difference": None if a is None or b is None else a - b,
                     "p_value": p_value, "significant": significant, "better": better})
    return pd.DataFrame(rows)


def revenue_by(conn: Connection, filters: Filters, dimensions: tuple[str, ...] = ("segment", "region")) -> pd.DataFrame:
    """Revenue, margin, orders and buying customers in the range per combination of dimensions."""
    for dim in dimensions:
        if dim not in CUSTOMER_DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r}")
    c, o = customers.c, orders.c
    groups = [func.coalesce(c[CUSTOMER_DIMENSIONS[d]], "(none)").label(d) for d in dimensions]
    query = (
        select(*groups, as_float(func.sum(o.amount)).label("revenue"),
               as_float(func.sum(func.coalesce(o.margin, o.amount))).label("margin"),
               func.count().label("orders"), func.count(func.distinct(o.customer_id)).label("customers"))
        .select_from(orders.join(customers, c.customer_id == o.customer_id))
        .where(valid_clause(orders), filters.in_period(o.ordered_at), *filters.customer_clauses())
        .group_by(*groups).order_by(*groups)
    )
    return pd.DataFrame(conn.execute(query).mappings().all(),
                        columns=[*dimensions, "revenue", "margin", "orders", "customers"])
