"""The lifecycle funnel (metrics.md §2, seed 001).

PROSPECTING + ATTRACTION + ACQUISITION + RETENTION = LIFETIME CUSTOMERS.

Population: customers whose ``created_at`` falls in the date range (a cohort view);
stages reached after ``as_of`` do not count.

| stage | reached when |
|---|---|
| prospect | every customer of the population |
| attracted | ``engaged_at`` < as_of |
| acquired | ``acquired_at`` < as_of |
| retained | an order in (acquired_at + 30 days, acquired_at + 365 days], before as_of |
| lifetime | retained, and orders in at least 3 distinct 365-day periods from acquired_at |

Stages nest (each requires the previous ones, as the seed's sum says), so every step
conversion is a proportion.

Conversions carry 95 % Wilson intervals (statsmodels); two groups are compared with a
two-proportion z-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Integer, Select, and_, case, cast, func, select
from sqlalchemy.engine import Connection
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from data.schema import customers, orders
from i18n import N_, _, p_text, percent
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.sql import DAY, count_if, percentile, ratio, seconds_between

STAGES = ("prospect", "attracted", "acquired", "retained", "lifetime")
STAGE_LABELS = {"prospect": N_("Prospect"), "attracted": N_("Attracted"), "acquired": N_("Acquired"),
                "retained": N_("Retained"), "lifetime": N_("Lifetime customer")}


@dataclass(frozen=True)
class FunnelWindows:
    """Windows of the retained and lifetime stages, in days (settings)."""

    retained_after_days: int = 30
    retained_until_days: int = 365
    lifetime_period_days: int = 365
    lifetime_periods: int = 3


DEFAULT_WINDOWS = FunnelWindows()


def _order_flags(filters: Filters, windows: FunnelWindows):
    """Per customer of the population: retained flag, distinct periods, first repeat order."""
    c, o = customers.c, orders.c
    since = seconds_between(c.acquired_at, o.ordered_at)
    in_retention = and_(since > windows.retained_after_days * DAY, since <= windows.retained_until_days * DAY)
    period = cast(func.floor(since / (windows.lifetime_period_days * DAY)), Integer)
    return (
        select(
            o.customer_id,
            func.max(case((in_retention, 1), else_=0)).label("retained"),
            func.count(func.distinct(period)).label("periods"),
            func.min(case((in_retention, o.ordered_at))).label("retained_at"),
        )
        .select_from(orders.join(customers, c.customer_id == o.customer_id))
        .where(valid_clause(orders), c.acquired_at.is_not(None), c.acquired_at < filters.as_of, o.ordered_at < filters.as_of,
               o.ordered_at >= c.acquired_at, o.amount > 0,
               filters.in_period(c.created_at), *filters.customer_clauses())
        .group_by(o.customer_id)
        .subquery("order_flags")
    )


def _stage_columns(filters: Filters, windows: FunnelWindows, flags):
    c = customers.c
    attracted = and_(c.engaged_at.is_not(None), c.engaged_at < filters.as_of)
    acquired = and_(c.acquired_at.is_not(None), c.acquired_at < filters.as_of)
    retained = and_(acquired, flags.c.retained == 1)
    lifetime = and_(retained, flags.c.periods >= windows.lifetime_periods)
    return {"prospect": None, "attracted": attracted, "acquired": acquired, "retained": retained,
            "lifetime": lifetime}


def stage_counts(conn: Connection, filters: Filters, dimension: str | None = None,
                 windows: FunnelWindows = DEFAULT_WINDOWS) -> pd.DataFrame:
    """Customers reaching each stage (one row per group of ``dimension``, or one row 'all').

    Also the median days between consecutive stages: created->engaged, engaged->acquired,
    acquired->first order of the retention window.
    """
    c = customers.c
    flags = _order_flags(filters, windows)
    stages = _stage_columns(filters, windows, flags)
    group = c[CUSTOMER_DIMENSIONS[dimension]] if dimension else None
    if dimension and dimension not in CUSTOMER_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    columns = [func.count().label("prospect")]
    columns += [count_if(stages[s]).label(s) for s in STAGES[1:]]
    columns += [
        percentile(0.5, case((stages["attracted"], seconds_between(c.created_at, c.engaged_at) / DAY)))
        .label("days_prospect_attracted"),
        percentile(0.5, case((stages["acquired"], seconds_between(c.engaged_at, c.acquired_at) / DAY)))
        .label("days_attracted_acquired"),
        percentile(0.5, case((stages["retained"], seconds_between(c.acquired_at, flags.c.retained_at) / DAY)))
        .label("days_acquired_retained"),
    ]
    query = (
        select(*([func.coalesce(group, "(none)").label("group")] if group is not None else []), *columns)
        .select_from(customers.outerjoin(flags, flags.c.customer_id == c.customer_id))
        .where(filters.in_period(c.created_at), *filters.customer_clauses())
    )
    if group is not None:
        query = query.group_by(group).order_by(func.count().desc(), group)  # ties in a stable order
    frame = pd.DataFrame(conn.execute(query).mappings().all())
    if group is None:
        frame.insert(0, "group", "all")
    if frame.empty:
        frame = pd.DataFrame(columns=["group", *STAGES, "days_prospect_attracted",
                                      "days_attracted_acquired", "days_acquired_retained"])
    return frame


def conversion_table(counts: pd.Series | dict, alpha: float = 0.05) -> pd.DataFrame:
    """Per stage: customers, step conversion (from the previous stage) and cumulative
    conversion (from prospect), each with a Wilson interval at level 1 - alpha."""
    rows = []
    prospects = int(counts["prospect"])
    previous = prospects
    for stage in STAGES:
        n = int(counts[stage])
        step = _wilson(n, previous, alpha) if stage != "prospect" else (None, None, None)
        cumulative = _wilson(n, prospects, alpha)
        rows.append({"stage": stage, "label": STAGE_LABELS[stage], "customers": n,
                     "step_conversion": step[0], "step_low": step[1], "step_high": step[2],
                     "cumulative_conversion": cumulative[0], "cumulative_low": cumulative[1],
                     "cumulative_high": cumulative[2]})
        previous = n
    return pd.DataFrame(rows)


def _wilson(successes: int, trials: int, alpha: float) -> tuple[float | None, float | None, float | None]:
    if trials <= 0:
        return None, None, None
    low, high = proportion_confint(successes, trials, alpha=alpha, method="wilson")
    p = successes / trials
    # the Wilson interval always contains p; clamp away floating-point rounding at 0 and 1
    return p, min(float(low), p), max(float(high), p)


@dataclass(frozen=True)
class GroupComparison:
    """Two groups' conversion at one funnel step, compared with a two-proportion z-test."""

    stage: str
    group_a: str
    group_b: str
    successes: tuple[int, int]
    trials: tuple[int, int]
    z: float | None
    p_value: float | None
    alpha: float = 0.05

    @property
    def rates(self) -> tuple[float | None, float | None]:
        return ratio(self.successes[0], self.trials[0]), ratio(self.successes[1], self.trials[1])

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < self.alpha

    def sentence(self) -> str:
        """The result in words (in the current language)."""
        a, b = self.rates
        label = _(STAGE_LABELS[self.stage]).lower()
        if a is None or b is None or self.p_value is None:
            return _("Not enough data to compare {a} and {b} at the {stage} stage.").format(
                a=self.group_a, b=self.group_b, stage=label)
        higher, lower = (self.group_a, self.group_b) if a >= b else (self.group_b, self.group_a)
        if self.significant:
            return _("{higher} converts to {stage} more often than {lower} ({high} vs {low}); the difference is "
                     "statistically significant (two-proportion z-test, {p}).").format(
                higher=higher, lower=lower, stage=label, high=_share(max(a, b)), low=_share(min(a, b)),
                p=p_text(self.p_value))
        return _("{a} ({rate_a}) and {b} ({rate_b}) convert to {stage} at rates that are not significantly "
                 "different (two-proportion z-test, {p}).").format(
            a=self.group_a, b=self.group_b, rate_a=_share(a), rate_b=_share(b), stage=label,
            p=p_text(self.p_value))


def _share(value: float) -> str:
    """12.3 % (en) / 12,3 % (es), as every percentage of the app is written."""
    return percent(value, 1)


def compare_groups(by_group: pd.DataFrame, group_a: str, group_b: str, stage: str = "acquired",
                   cumulative: bool = True, alpha: float = 0.05) -> GroupComparison:
    """Compare two rows of :func:`stage_counts` (by a dimension) at ``stage``.

    Cumulative conversion counts from prospects; otherwise from the previous stage.
    """
    if stage not in STAGES[1:]:
        raise ValueError(f"stage must be one of {', '.join(STAGES[1:])}")
    base = "prospect" if cumulative else STAGES[STAGES.index(stage) - 1]
    rows = by_group.set_index("group")
    missing = [g for g in (group_a, group_b) if g not in rows.index]
    if missing:
        raise ValueError(f"no such group: {', '.join(missing)}")
    successes = (int(rows.at[group_a, stage]), int(rows.at[group_b, stage]))
    trials = (int(rows.at[group_a, base]), int(rows.at[group_b, base]))
    z = p = None
    if min(trials) > 0 and 0 < sum(successes) < sum(trials):
        z, p = proportions_ztest(list(successes), list(trials))
        z, p = float(z), float(p)
    return GroupComparison(stage, group_a, group_b, successes, trials, z, p, alpha)


def stage_records(filters: Filters, stage: str, windows: FunnelWindows = DEFAULT_WINDOWS) -> Select:
    """The customers of the population who reached ``stage`` (drill-down)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    c = customers.c
    flags = _order_flags(filters, windows)
    stages = _stage_columns(filters, windows, flags)
    query = (
        select(c.customer_id, c.name, c.segment, c.region, c.industry, c.acquisition_channel, c.owner_team,
               c.created_at, c.engaged_at, c.acquired_at, func.coalesce(flags.c.periods, 0).label("order_periods"))
        .select_from(customers.outerjoin(flags, flags.c.customer_id == c.customer_id))
        .where(filters.in_period(c.created_at), *filters.customer_clauses())
        .order_by(c.created_at, c.customer_id)
    )
    return query if stages[stage] is None else query.where(stages[stage])

