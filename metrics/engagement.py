"""Engagement and contact pressure (metrics.md §6, seed 004), and interaction KPIs (§1).

Outbound contacts are interactions with ``direction = 'outbound'`` in the range; marketing
contacts are those sent by the marketing department or for a campaign. Weeks start on
Monday (``date_trunc('week', ...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from sqlalchemy import BigInteger, Select, and_, case, cast, false, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery

from data.schema import campaigns, customers, interactions, orders
from metrics import cube, keeping
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.health import valid_clause
from metrics.periods import Periods, as_periods, by_period
from metrics.sql import as_float, count_if, distinct_key, epoch, ratio

DIGITAL_CHANNELS = ("web", "chat", "email", "mobile", "social")
#: The interaction channel that honours a preferred channel ('none' honours nothing).
PREFERRED_TO_CHANNEL = {"email": "email", "phone": "phone", "sms": "mobile", "mail": "mail"}


@dataclass(frozen=True)
class PressureSettings:
    """Contact-pressure alert: more than ``max_per_week`` outbound contacts in a week."""

    max_per_week: int = 3


def _interaction_clauses(filters: Filters) -> list:
    return [filters.in_period(interactions.c.occurred_at), *filters.fact_clauses(interactions, "channel")]


def _is_marketing():
    i = interactions.c
    return and_(i.direction == "outbound", or_(i.department == "marketing", i.campaign_id.is_not(None)))


def interaction_facts(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Interactions in the range.

    - campaign_response_rate = responded / outbound contacts carrying a campaign_id;
    - digital_inbound_share = inbound on web, chat, email, mobile, social / inbound;
    - linked_share = interactions with a customer_id / interactions;
    - multi_department_share = customers with interactions from >= 2 departments /
      customers with interactions.
    """
    return interaction_facts_by_period(conn, [filters])[0]


INTERACTION_COUNTS = ("interactions", "linked", "campaign_contacts", "campaign_responses", "inbound",
                      "digital_inbound")


def interaction_facts_by_period(conn: Connection, periods: Periods | Sequence[Filters]) -> list[dict[str, float | None]]:
    """:func:`interaction_facts` of several periods in one statement (or, with a customer
    filter in the app, summed from the kept cube of the periods: :mod:`metrics.cube`).

    The counts come from a small cube (rows counted per period, direction, channel,
    campaign, response and link); the customers served per period from a group-by of each
    period's linked rows per customer keeping only the least and greatest department:
    "served by at least two departments" is ``min(department) <> max(department)``, the
    same as ``count(DISTINCT department) >= 2`` (NULLs ignored; compared through
    :class:`metrics.sql.distinct_key`).
    """
    periods = as_periods(periods)
    rows = cube.counts(conn, "interactions", periods, INTERACTION_FIGURES, _interaction_cube)
    if rows is None:
        counts, served = _interaction_parts(periods)
        t = periods.table()
        query = (select(t.c.p, *[counts.c[name] for name in INTERACTION_COUNTS], served.c.served_customers,
                        served.c.multi_department_customers)
                 .select_from(t.outerjoin(counts, counts.c.p == t.c.p).outerjoin(served, served.c.p == t.c.p)))
        rows = [{name: int(row[name] or 0) for name in INTERACTION_FIGURES}
                for row in by_period(periods, conn.execute(query).mappings().all(), {})]
    return [_interaction_ratios(row) for row in rows]


#: The counts the interaction facts are made of (rows, and distinct customers).
INTERACTION_FIGURES = (*INTERACTION_COUNTS, "served_customers", "multi_department_customers")


def _interaction_ratios(row: dict[str, int]) -> dict[str, float | None]:
    return {
        **row,
        "campaign_response_rate": ratio(row["campaign_responses"], row["campaign_contacts"]),
        "digital_inbound_share": ratio(row["digital_inbound"], row["inbound"]),
        "linked_share": ratio(row["linked"], row["interactions"]),
        "multi_department_share": ratio(row["multi_department_customers"], row["served_customers"]),
    }


def _interaction_parts(periods: Periods) -> tuple[Subquery, Subquery]:
    """The interaction counts and the customers served, grouped per period.

    The counts first group the rows by the raw columns the flags are made of (a few hundred
    groups), then make the flags of those groups: hashing the columns as they are is cheaper
    than computing every flag on every row. The customers served are grouped per customer
    in one statement per period (:meth:`Periods.each`): smaller hash tables than one
    grouping of every period's customers together.
    """
    i = interactions.c
    clauses = periods.selection.fact_clauses(interactions, "channel")
    r = periods.rows(interactions, i.occurred_at, [i.customer_id, i.direction, i.campaign_id, i.responded, i.channel],
                     clauses).c
    raw = [r.customer_id.is_not(None).label("linked"), r.direction, r.campaign_id.is_not(None).label("in_campaign"),
           r.responded, r.channel]
    g = (select(r.p, *raw, func.count().label("n")).group_by(r.p, *cube.grouped(raw)).subquery("raw_cube").c)
    flags = _flags(g.direction, g.in_campaign, g.responded, g.channel)
    counts = select(
        g.p, func.sum(g.n).label("interactions"), func.sum(case((g.linked, g.n), else_=0)).label("linked"),
        *[func.sum(case((flag, g.n), else_=0)).label(name) for name, flag in flags.items()],
    ).group_by(g.p).subquery("counts")
    pc = _per_customer(periods, clauses).c
    served = (select(pc.p, func.count().label("served_customers"),
                     count_if(pc.least_department != pc.greatest_department).label("multi_department_customers"))
              .group_by(pc.p).subquery("served"))
    return counts, served


def _flags(direction, in_campaign, responded, channel) -> dict:
    """The conditions of the flagged counts (campaign contacts and responses, inbound, digital inbound)."""
    campaign = and_(direction == "outbound", in_campaign)
    inbound = direction == "inbound"
    return {"campaign_contacts": campaign, "campaign_responses": and_(campaign, responded), "inbound": inbound,
            "digital_inbound": and_(inbound, channel.in_(DIGITAL_CHANNELS))}


def _per_customer(periods: Periods, clauses: list, counts: dict | None = None) -> Subquery:
    """Each period's interactions with a customer grouped per customer, in one statement per
    period: the least and greatest department ("served by at least two departments" is
    ``min(department) <> max(department)``, the same as ``count(DISTINCT department) >= 2``),
    as :class:`metrics.sql.distinct_key`, which DuckDB compares faster than the text. With ``counts`` (name: condition, None for every row), those counts
    too, and the rows without a customer as one more group (of a NULL customer)."""
    i = interactions.c
    return periods.each(lambda p, f: (
        select(p.label("p"), i.customer_id,
               *[(func.count() if flag is None else count_if(flag)).label(name) for name, flag in (counts or {}).items()],
               func.min(distinct_key(i.department)).label("least_department"),
               func.max(distinct_key(i.department)).label("greatest_department"))
        .where(i.occurred_at >= f.start_at, i.occurred_at < f.as_of,
               *([] if counts else [i.customer_id.is_not(None)]), *clauses)
        .group_by(i.customer_id))).subquery("per_customer")


def keep_interaction_cube(conn: Connection, periods: Periods | Sequence[Filters]) -> None:
    """Compute and keep the interaction cube of these periods (:func:`metrics.cube.keep`)."""
    cube.keep(conn, "interactions", as_periods(periods), _interaction_cube)


def _interaction_cube(conn: Connection, periods: Periods) -> pd.DataFrame:
    """The interaction figures per period and combination of customer dimensions (metrics.cube).

    Each period's rows are grouped per customer first (:func:`_per_customer`, with the
    counts), and only those groups are joined to the customers' dimensions: a join of one row
    per customer and period rather than of every interaction (half the time at 1M customers).
    """
    i = interactions.c
    flags = _flags(i.direction, i.campaign_id.is_not(None), i.responded, i.channel)
    per_customer = _per_customer(periods, periods.selection.fact_clauses(interactions, "channel"), {"n": None, **flags})
    pc, by = per_customer.c, cube.attribution()
    linked = pc.customer_id.is_not(None)
    grouping = [pc.p, *cube.dimension_columns(by)]
    query = (select(*grouping, func.sum(pc.n).label("interactions"),
                    func.sum(case((linked, pc.n), else_=0)).label("linked"),
                    *[func.sum(pc[name]).label(name) for name in flags],
                    func.count(pc.customer_id).label("served_customers"),
                    count_if(and_(linked, pc.least_department != pc.greatest_department))
                    .label("multi_department_customers"))
             .select_from(per_customer.outerjoin(by, by.c.customer_id == pc.customer_id))
             .group_by(*cube.grouped(grouping)))
    return cube.frame([(conn.execute(query).mappings().all(), INTERACTION_FIGURES)])


def _campaign_clauses(filters: Filters) -> list:
    """Campaigns started in the range; with a segment filter or scope, those aimed at it.

    A campaign can be attributed to customers only through its target segment: a filter or
    scope on any other customer dimension (region, industry, ...) has no campaigns at all,
    rather than every campaign's cost set against part of the customers.
    """
    return [*_campaign_selection(filters), filters.in_period(campaigns.c.started_at)]


def _campaign_selection(filters: Filters) -> list:
    """The campaign clauses of :func:`_campaign_clauses` but the dates."""
    clauses = [valid_clause(campaigns)]
    segments = filters.allowed("segment")
    if segments is not None:
        clauses.append(campaigns.c.target_segment.in_(segments))
    if any(filters.allowed(dim) is not None for dim in CUSTOMER_DIMENSIONS if dim != "segment"):
        clauses.append(false())
    return clauses


def campaign_cost(conn: Connection, filters: Filters) -> float:
    """Total cost of the campaigns started in the range."""
    return campaign_cost_by_period(conn, [filters])[0]


def campaign_cost_by_period(conn: Connection, periods: Periods | Sequence[Filters]) -> list[float]:
    """:func:`campaign_cost` of several periods in one statement."""
    periods = as_periods(periods)
    k = campaigns.c
    r = periods.rows(campaigns, k.started_at, [k.cost], _campaign_selection(periods.selection)).c
    query = select(r.p, as_float(func.sum(r.cost)).label("cost")).group_by(r.p)
    return [float(row["cost"] or 0.0) for row in by_period(periods, conn.execute(query).mappings().all(),
                                                           {"cost": 0.0})]


# ---- contact pressure
def _weekly_select(filters: Filters) -> Select:
    i = interactions.c
    week = func.date_trunc("week", i.occurred_at)
    return (
        select(i.customer_id, week.label("week"), func.count().label("contacts"))
        .where(i.direction == "outbound", i.customer_id.is_not(None), *_interaction_clauses(filters))
        .group_by(i.customer_id, week)
    )


def weekly_contacts(filters: Filters):
    """Subquery: outbound contacts per (customer, week) in the range."""
    return _weekly_select(filters).subquery("weekly")


def has_interactions(conn: Connection, filters: Filters) -> bool:
    """Whether any interaction falls in the range for the filters (reads one row at most)."""
    return conn.execute(select(literal(1)).where(*_interaction_clauses(filters)).limit(1)).first() is not None


def pressure_distribution(conn: Connection, filters: Filters) -> pd.DataFrame:
    """How many customer-weeks had 1, 2, 3, ... outbound contacts (weeks with none omitted)."""
    w = weekly_contacts(filters)
    query = select(w.c.contacts, func.count().label("customer_weeks")).group_by(w.c.contacts).order_by(w.c.contacts)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=["contacts", "customer_weeks"])


def over_contacted(filters: Filters, settings: PressureSettings = PressureSettings()) -> Select:
    """Customers with at least one week above the limit: weeks over, worst week, total.

    Summed per customer before the customers' names are joined (valid customers have one
    row each), so only the few customers over the limit are joined, not every customer-week.
    """
    w = weekly_contacts(filters)
    over = w.c.contacts > settings.max_per_week
    per_customer = (
        select(w.c.customer_id, count_if(over).label("weeks_over_limit"),
               func.max(w.c.contacts).label("max_per_week"), func.sum(w.c.contacts).label("outbound_contacts"))
        .group_by(w.c.customer_id)
        .having(func.max(w.c.contacts) > settings.max_per_week)
        .subquery("over_limit")
    )
    o, c = per_customer.c, customers.c
    return (
        select(o.customer_id, c.name, c.segment, c.region, c.preferred_channel, c.consent_marketing,
               o.weeks_over_limit, o.max_per_week, o.outbound_contacts)
        .select_from(per_customer.join(customers, c.customer_id == o.customer_id))
        .where(valid_clause(customers))
        .order_by(o.max_per_week.desc(), o.customer_id)
    )


def pressure_facts(conn: Connection, filters: Filters, settings: PressureSettings = PressureSettings()) -> dict:
    """Customers contacted, those over the limit and their share, mean contacts per week."""
    facts = dict(pressure_overview(conn, filters, settings))
    del facts["distribution"]
    return facts


@keeping.kept_result("engagement.pressure_overview")
def pressure_overview(conn: Connection, filters: Filters, settings: PressureSettings = PressureSettings()) -> dict:
    """:func:`pressure_facts` and, under ``distribution``, :func:`pressure_distribution`, in one
    statement: the outbound contacts per customer and week are counted once for both."""
    w = _weekly_select(filters).cte("weekly")
    per_customer = (select(w.c.customer_id, func.max(w.c.contacts).label("worst"),
                           func.sum(w.c.contacts).label("total"))
                    .group_by(w.c.customer_id).subquery("per_customer"))
    summary = select(literal(0).label("kind"), cast(func.count(), BigInteger).label("contacts"),
                     cast(count_if(per_customer.c.worst > settings.max_per_week), BigInteger).label("n"),
                     cast(func.coalesce(func.sum(per_customer.c.total), 0), BigInteger).label("total"))
    histogram = select(literal(1).label("kind"), cast(w.c.contacts, BigInteger).label("contacts"),
                       cast(func.count(), BigInteger).label("n"), cast(literal(0), BigInteger).label("total")
                       ).group_by(w.c.contacts)
    rows = conn.execute(union_all(summary, histogram)).all()
    (contacted, over, total), = [(r.contacts, r.n, r.total) for r in rows if r.kind == 0]
    weeks = filters.days / 7.0
    distribution = pd.DataFrame(sorted((int(r.contacts), int(r.n)) for r in rows if r.kind == 1),
                                columns=["contacts", "customer_weeks"])
    return {
        "contacted_customers": contacted,
        "over_contacted": over,
        "over_contacted_share": ratio(over, contacted),
        "contacts_per_customer_week": ratio(total, contacted * weeks) if contacted else None,
        "distribution": distribution,
    }


# ---- consent and preferred channel
def _violation_columns():
    i, c = interactions.c, customers.c
    against_consent = and_(_is_marketing(), c.consent_marketing.is_(False))
    preferred = case(*[(c.preferred_channel == k, literal(v)) for k, v in PREFERRED_TO_CHANNEL.items()])
    off_channel = and_(i.direction == "outbound", c.preferred_channel.is_not(None),
                       or_(c.preferred_channel == "none", i.channel != func.coalesce(preferred, i.channel)))
    return against_consent, off_channel


@keeping.kept_result("engagement.consent")
def consent_facts(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Outbound contacts against marketing consent, or off the customer's preferred channel.

    Only outbound contacts are read: both violations are outbound contacts by definition.
    """
    i = interactions.c
    against, off = _violation_columns()
    row = conn.execute(
        select(count_if(i.direction == "outbound").label("outbound"),
               count_if(against).label("against_consent"), count_if(off).label("off_preferred_channel"),
               func.count(func.distinct(case((against, i.customer_id)))).label("customers_against_consent"))
        .select_from(interactions.join(customers, customers.c.customer_id == i.customer_id))
        .where(i.direction == "outbound", *_interaction_clauses(filters))
    ).mappings().one()
    return {**row, "against_consent_share": ratio(row["against_consent"], row["outbound"]),
            "off_preferred_share": ratio(row["off_preferred_channel"], row["outbound"])}


def violation_records(filters: Filters) -> Select:
    """Outbound contacts against consent or off the preferred channel (drill-down).

    Both violations imply an outbound contact to a customer who refused marketing or has a
    preferred channel; those two conditions are stated too, so the engine applies them while
    scanning each table instead of after the join.
    """
    i, c = interactions.c, customers.c
    against, off = _violation_columns()
    return (
        select(i.interaction_id, i.customer_id, c.name, c.segment, i.occurred_at, i.channel,
               c.preferred_channel, c.consent_marketing, i.department, i.campaign_id,
               against.label("against_consent"), off.label("off_preferred_channel"))
        .select_from(interactions.join(customers, c.customer_id == i.customer_id))
        .where(*_interaction_clauses(filters), i.direction == "outbound",
               or_(c.consent_marketing.is_(False), c.preferred_channel.is_not(None)), or_(against, off))
        .order_by(i.occurred_at.desc(), i.interaction_id)
    )


# ---- personalised vs generic
@dataclass(frozen=True)
class ResponseComparison:
    personalized_contacts: int
    personalized_responses: int
    generic_contacts: int
    generic_responses: int
    z: float | None
    p_value: float | None

    @property
    def personalized_rate(self) -> float | None:
        return ratio(self.personalized_responses, self.personalized_contacts)

    @property
    def generic_rate(self) -> float | None:
        return ratio(self.generic_responses, self.generic_contacts)

    @property
    def lift(self) -> float | None:
        p, g = self.personalized_rate, self.generic_rate
        return None if p is None or not g else p / g


def personalization_response(conn: Connection, filters: Filters) -> ResponseComparison:
    """Response rate of personalised vs generic marketing contacts, two-proportion z-test."""
    i = interactions.c
    rows = conn.execute(
        select(i.personalized, func.count(), count_if(i.responded))
        .where(_is_marketing(), i.personalized.is_not(None), *_interaction_clauses(filters))
        .group_by(i.personalized)
    ).all()
    counts = {bool(p): (int(n), int(r)) for p, n, r in rows}
    pn, pr = counts.get(True, (0, 0))
    gn, gr = counts.get(False, (0, 0))
    z = p = None
    if pn and gn and 0 < pr + gr < pn + gn:
        from statsmodels.stats.proportion import proportions_ztest  # here: the digest never needs it

        z, p = proportions_ztest([pr, gr], [pn, gn])
        z, p = float(z), float(p)
    return ResponseComparison(pn, pr, gn, gr, z, p)


# ---- campaigns
def campaign_roi(conn: Connection, filters: Filters, attribution_days: int = 90,
                 value_days: int = 365) -> pd.DataFrame:
    """Per campaign started in the range: cost, contacts, responses, customers acquired, ROI.

    A customer is acquired by the campaign of their last campaign contact in the
    ``attribution_days`` before acquired_at (last touch). Attributed margin = their margin
    in the ``value_days`` after acquisition; ROI = (attributed margin - cost) / cost.
    """
    i, c, k, o = interactions.c, customers.c, campaigns.c, orders.c
    touch_window = epoch(c.acquired_at) - epoch(i.occurred_at)
    touches = (
        select(i.customer_id, i.campaign_id, c.acquired_at,
               func.row_number().over(partition_by=i.customer_id, order_by=i.occurred_at.desc()).label("rank"))
        .select_from(interactions.join(customers, c.customer_id == i.customer_id))
        .where(valid_clause(interactions), i.campaign_id.is_not(None), c.acquired_at.is_not(None), i.occurred_at <= c.acquired_at,
               touch_window <= attribution_days * 86_400.0, c.acquired_at < filters.as_of,
               *filters.customer_clauses())
        .subquery("touches")
    )
    last_touch = select(touches).where(touches.c.rank == 1).subquery("last_touch")
    value = (
        select(last_touch.c.campaign_id, func.count(func.distinct(last_touch.c.customer_id)).label("acquired"),
               as_float(func.coalesce(func.sum(func.coalesce(o.margin, o.amount)), 0)).label("attributed_margin"))
        .select_from(last_touch.outerjoin(orders, and_(
            o.customer_id == last_touch.c.customer_id, o.ordered_at >= last_touch.c.acquired_at,
            o.ordered_at < filters.as_of, valid_clause(orders),
            epoch(o.ordered_at) - epoch(last_touch.c.acquired_at) < value_days * 86_400.0)))
        .group_by(last_touch.c.campaign_id)
        .subquery("value")
    )
    reach = (
        select(i.campaign_id, func.count().label("contacts"), count_if(i.responded).label("responses"))
        .where(i.campaign_id.in_(select(k.campaign_id).where(*_campaign_clauses(filters))),  # the campaigns shown
               i.occurred_at < filters.as_of, *filters.fact_clauses(interactions, "channel"))
        .group_by(i.campaign_id).subquery("reach")
    )
    query = (
        select(k.campaign_id, k.name, k.channel, k.target_segment, k.started_at, as_float(k.cost).label("cost"),
               func.coalesce(reach.c.contacts, 0).label("contacts"),
               func.coalesce(reach.c.responses, 0).label("responses"),
               func.coalesce(value.c.acquired, 0).label("acquired"),
               func.coalesce(value.c.attributed_margin, 0.0).label("attributed_margin"))
        .select_from(campaigns.outerjoin(reach, reach.c.campaign_id == k.campaign_id)
                     .outerjoin(value, value.c.campaign_id == k.campaign_id))
        .where(*_campaign_clauses(filters))
        .order_by(k.started_at, k.campaign_id)
    )
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["campaign_id", "name", "channel", "target_segment", "started_at", "cost",
                                  "contacts", "responses", "acquired", "attributed_margin"])
    frame["response_rate"] = [ratio(r, n) for r, n in zip(frame.responses, frame.contacts)]
    frame["cost_per_acquisition"] = [ratio(cost, a) for cost, a in zip(frame.cost, frame.acquired)]
    frame["roi"] = [ratio(m - cost, cost) for m, cost in zip(frame.attributed_margin, frame.cost)]
    return frame


def contact_records(filters: Filters) -> Select:
    """Outbound contacts in the range (drill-down)."""
    i = interactions.c
    return (
        select(i.interaction_id, i.customer_id, i.occurred_at, i.channel, i.department, i.campaign_id,
               i.personalized, i.responded)
        .where(i.direction == "outbound", *_interaction_clauses(filters))
        .order_by(i.occurred_at.desc(), i.interaction_id)
    )


def over_contacted_since(filters: Filters, weeks: int) -> Filters:
    """Helper for trend views: the same filters over the last ``weeks`` weeks of the range."""
    from dataclasses import replace

    return replace(filters, start=max(filters.start, filters.end - timedelta(weeks=weeks) + timedelta(days=1)))
