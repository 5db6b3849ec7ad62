"""Service level of customer requests (metrics.md §3, seed 003).

Population: tickets opened in the date range (customer and channel filters applied).
A ticket's deadline is ``opened_at + 3 minutes`` (immediate) or ``+ 24 hours`` (deferred).
Seen from ``as_of`` (the end of the range), a ticket

- **met** its SLA if it was resolved before as_of and ``resolved_at <= deadline``;
- **breached** it if it was resolved before as_of after the deadline, or if it is still
  open at as_of and ``as_of > deadline``;
- is **pending** otherwise (open, deadline not reached yet).

SLA compliance = met / (met + breached); pending tickets are left out and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery

from data.schema import customers, tickets
from metrics import cube
from metrics.filters import Filters
from i18n import N_
from metrics.periods import Periods, as_periods, by_period
from metrics.sql import HOUR, count_if, epoch, percentile, ratio, seconds_between

DIGITAL_TICKET_CHANNELS = ("web", "chat", "email", "mobile", "social")


@dataclass(frozen=True)
class SlaLimits:
    """Deadlines per SLA class, in seconds (settings; defaults from seed 003)."""

    immediate_seconds: float = 3 * 60
    deferred_seconds: float = 24 * HOUR


DEFAULT_LIMITS = SlaLimits()

#: Age bands of the open tickets (named in the page's language where shown).
BACKLOG_BUCKETS: tuple[tuple[str, float], ...] = (
    (N_("< 1 hour"), HOUR),
    (N_("1-24 hours"), 24 * HOUR),
    (N_("1-3 days"), 72 * HOUR),
    (N_("3-7 days"), 168 * HOUR),
    (N_("> 7 days"), float("inf")),
)


def limit_seconds(limits: SlaLimits = DEFAULT_LIMITS):
    return case((tickets.c.sla_class == "immediate", literal(limits.immediate_seconds)),
                else_=literal(limits.deferred_seconds))


def status_expr(filters: Filters, limits: SlaLimits = DEFAULT_LIMITS):
    """'met' | 'breached' | 'pending' of a ticket, seen from as_of."""
    t = tickets.c
    return status_at(filters.as_of, t.opened_at, t.resolved_at, t.sla_class, limits)


def status_at(as_of, opened_at, resolved_at, sla_class, limits: SlaLimits = DEFAULT_LIMITS):
    """:func:`status_expr` with ``as_of`` a datetime or a column (a period's end, per row)."""
    limit = case((sla_class == "immediate", literal(limits.immediate_seconds)),
                 else_=literal(limits.deferred_seconds))
    resolved = and_(resolved_at.is_not(None), resolved_at < as_of)
    return case(
        (and_(resolved, seconds_between(opened_at, resolved_at) <= limit), "met"),
        (resolved, "breached"),
        (epoch(as_of) - epoch(opened_at) > limit, "breached"),
        else_="pending",
    )


def ticket_clauses(filters: Filters) -> list:
    """Tickets opened in the range, with the customer and channel filters."""
    return [filters.in_period(tickets.c.opened_at), *filters.fact_clauses(tickets, "channel")]


def _status_rows(filters: Filters, limits: SlaLimits):
    """Per-ticket derived columns as a subquery (status, resolution and response seconds)."""
    resolved_in_time = and_(tickets.c.resolved_at.is_not(None), tickets.c.resolved_at < filters.as_of)
    return (
        select(
            tickets.c.ticket_id,
            tickets.c.sla_class,
            tickets.c.channel,
            tickets.c.category,
            tickets.c.escalated,
            tickets.c.resolved_by,
            tickets.c.contacts_to_resolve,
            status_expr(filters, limits).label("status"),
            case((resolved_in_time, seconds_between(tickets.c.opened_at, tickets.c.resolved_at)))
            .label("resolution_seconds"),
            case((and_(tickets.c.first_response_at.is_not(None), tickets.c.first_response_at < filters.as_of),
                  seconds_between(tickets.c.opened_at, tickets.c.first_response_at)))
            .label("first_response_seconds"),
            resolved_in_time.label("resolved"),
        )
        .where(*ticket_clauses(filters))
        .subquery("t")
    )


def summary(conn: Connection, filters: Filters, limits: SlaLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """One row per SLA class plus an 'all' row: counts, compliance, times, rates.

    Columns: tickets, met, breached, pending, compliance, escalated, escalation_rate,
    escalated_met, escalated_breached, escalated_compliance, fcr (contacts_to_resolve = 1
    among resolved tickets that report it), first_response_p50/p90_seconds,
    resolution_p50/p90_seconds, in_person, in_person_share, self_service_share (of
    resolved tickets), complaints.
    """
    t = _status_rows(filters, limits).c
    query = (
        select(
            func.coalesce(t.sla_class, "all").label("sla_class"),
            *_counted(t),
            percentile(0.5, t.first_response_seconds).label("first_response_p50_seconds"),
            percentile(0.9, t.first_response_seconds).label("first_response_p90_seconds"),
            percentile(0.5, t.resolution_seconds).label("resolution_p50_seconds"),
            percentile(0.9, t.resolution_seconds).label("resolution_p90_seconds"),
        )
        .group_by(func.rollup(t.sla_class))
    )
    rows = pd.DataFrame(conn.execute(query).mappings().all())
    if rows.empty:  # nothing selected: keep the shape, counts 0, rates unknown
        rows = pd.DataFrame([{"sla_class": "all", "tickets": 0, "met": 0, "breached": 0, "pending": 0,
                              "escalated": 0, "escalated_met": 0, "escalated_breached": 0,
                              "first_contact": 0, "contacts_known": 0, "resolved": 0,
                              "self_service": 0, "in_person": 0, "complaints": 0}])
    rows["compliance"] = [ratio(m, m + b) for m, b in zip(rows.met, rows.breached)]
    rows["escalated_compliance"] = [ratio(m, m + b) for m, b in
                                    zip(rows.escalated_met, rows.escalated_breached)]
    rows["escalation_rate"] = [ratio(e, n) for e, n in zip(rows.escalated, rows.tickets)]
    rows["fcr"] = [ratio(f, k) for f, k in zip(rows.first_contact, rows.contacts_known)]
    rows["in_person_share"] = [ratio(i, n) for i, n in zip(rows.in_person, rows.tickets)]
    rows["self_service_share"] = [ratio(s, r) for s, r in zip(rows.self_service, rows.resolved)]
    order = {"immediate": 0, "deferred": 1, "all": 2}
    rows = rows.sort_values("sla_class", key=lambda s: s.map(order).fillna(3), ignore_index=True)
    return rows.set_index("sla_class", drop=False)


#: The counts of :func:`summary`, in its column order.
SUMMARY_COUNTS = ("tickets", "met", "breached", "pending", "escalated", "escalated_met", "escalated_breached",
                  "first_contact", "contacts_known", "resolved", "self_service", "in_person", "complaints")


def overall_by_period(conn: Connection, periods: Periods | Sequence[Filters],
                      limits: SlaLimits = DEFAULT_LIMITS) -> list[dict]:
    """The 'all' row of :func:`summary` for each of several periods, in one statement: tickets
    read once, each seen from the end of its own period. Of the times, only what the
    scorecard reads: the median resolution (``resolution_p50_seconds``). Percentiles are the
    costly part: for the Overview's eight periods at 1M customers the statement took 0.14 s
    of the cores with the medians and 90th percentiles of both times, 0.10 s with this one.

    With a customer filter in the app the counts are summed from the kept cube of the
    periods (:mod:`metrics.cube`), and the median, which no cube can sum, is read alone
    (:func:`_median_resolutions`: 0.05 s instead of 0.08 s at 1M customers)."""
    periods = as_periods(periods)
    counts = cube.counts(conn, f"tickets/{limits}", periods, SUMMARY_COUNTS,
                         lambda c, whole: _tickets_cube(c, whole, limits))
    if counts is None:
        r = _statuses(periods, limits).c
        query = select(r.p, *_counted(r), percentile(0.5, r.resolution).label("resolution_p50_seconds")).group_by(r.p)
        empty = {**{name: 0 for name in SUMMARY_COUNTS}, "resolution_p50_seconds": None}
        rows = by_period(periods, conn.execute(query).mappings().all(), empty)
    else:
        medians = _median_resolutions(conn, periods)
        rows = [{**row, "resolution_p50_seconds": median} for row, median in zip(counts, medians)]
    return [_overall(row) for row in rows]


def _overall(row) -> dict:
    """The 'all' row of one period from its counts and median resolution."""
    row = {"sla_class": "all", **{name: int(row[name]) for name in SUMMARY_COUNTS},
           "resolution_p50_seconds": row["resolution_p50_seconds"]}
    row["compliance"] = ratio(row["met"], row["met"] + row["breached"])
    row["escalated_compliance"] = ratio(row["escalated_met"], row["escalated_met"] + row["escalated_breached"])
    row["escalation_rate"] = ratio(row["escalated"], row["tickets"])
    row["fcr"] = ratio(row["first_contact"], row["contacts_known"])
    row["in_person_share"] = ratio(row["in_person"], row["tickets"])
    row["self_service_share"] = ratio(row["self_service"], row["resolved"])
    return row


def _statuses(periods: Periods, limits: SlaLimits, by: Subquery | None = None) -> Subquery:
    """The periods' tickets, each with its status and resolution seen from the end of its
    period, worked out once and then counted in several ways (and, with the customers'
    attribution ``by``, its combination of customer dimensions: the cube)."""
    tk = tickets.c
    source = tickets if by is None else tickets.outerjoin(by, by.c.customer_id == tk.customer_id)
    rows = periods.rows(source, tk.opened_at,
                        [tk.sla_class, tk.channel, tk.category, tk.escalated, tk.resolved_by,
                         tk.contacts_to_resolve, tk.opened_at, tk.resolved_at,
                         *([] if by is None else cube.dimension_columns(by))],
                        periods.selection.fact_clauses(tickets, "channel")).c
    resolved = and_(rows.resolved_at.is_not(None), rows.resolved_at < rows.as_of)
    keys = [] if by is None else [rows[key] for key in cube.KEYS]
    return select(rows.p, *keys, rows.channel, rows.category, rows.escalated, rows.resolved_by,
                  rows.contacts_to_resolve, resolved.label("resolved"),
                  status_at(rows.as_of, rows.opened_at, rows.resolved_at, rows.sla_class, limits).label("status"),
                  case((resolved, seconds_between(rows.opened_at, rows.resolved_at))).label("resolution")
                  ).subquery("statuses")


def _counted(r) -> list:
    """The :data:`SUMMARY_COUNTS` of tickets with a status, resolved flag and their own
    columns (:func:`_statuses`' or :func:`_status_rows`' columns ``r``)."""
    met, breached = r.status == "met", r.status == "breached"
    return [
        func.count().label("tickets"),
        count_if(met).label("met"),
        count_if(breached).label("breached"),
        count_if(r.status == "pending").label("pending"),
        count_if(r.escalated).label("escalated"),
        count_if(and_(r.escalated, met)).label("escalated_met"),
        count_if(and_(r.escalated, breached)).label("escalated_breached"),
        count_if(and_(r.resolved, r.contacts_to_resolve == 1)).label("first_contact"),
        count_if(and_(r.resolved, r.contacts_to_resolve.is_not(None))).label("contacts_known"),
        count_if(r.resolved).label("resolved"),
        count_if(and_(r.resolved, r.resolved_by == "self_service")).label("self_service"),
        count_if(r.channel == "in_person").label("in_person"),
        count_if(r.category == "complaint").label("complaints"),
    ]


def _median_resolutions(conn: Connection, periods: Periods) -> list[float | None]:
    """Per period, the median resolution in seconds of its tickets resolved before its end:
    the tickets read once, one column per period (no join to the periods)."""
    tk = tickets.c
    medians = []
    for i, f in enumerate(periods.filters):
        resolved = and_(f.in_period(tk.opened_at), tk.resolved_at.is_not(None), tk.resolved_at < f.as_of)
        medians.append(percentile(0.5, case((resolved, seconds_between(tk.opened_at, tk.resolved_at))))
                       .label(f"median_{i}"))
    query = (select(*medians)
             .where(periods.hull(tk.opened_at), *periods.selection.fact_clauses(tickets, "channel")))
    row = conn.execute(query).mappings().one()
    return [row[f"median_{i}"] for i in range(len(periods))]


def _tickets_cube(conn: Connection, periods: Periods, limits: SlaLimits) -> pd.DataFrame:
    """The ticket counts per period and combination of customer dimensions (metrics.cube)."""
    r = _statuses(periods, limits, cube.attribution()).c
    keys = [r[key] for key in cube.KEYS]
    query = select(r.p, *keys, *_counted(r)).group_by(r.p, *keys)
    return cube.frame([(conn.execute(query).mappings().all(), SUMMARY_COUNTS)])


def keep_tickets_cube(conn: Connection, periods: Periods | Sequence[Filters],
                      limits: SlaLimits = DEFAULT_LIMITS) -> None:
    """Compute and keep the ticket cube of these periods (:func:`metrics.cube.keep`)."""
    cube.keep(conn, f"tickets/{limits}", as_periods(periods), lambda c, whole: _tickets_cube(c, whole, limits))


def compliance_over_time(conn: Connection, filters: Filters, grain: str = "week",
                         limits: SlaLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """Met, breached and compliance per period (week or month of opened_at) and class (with
    a customer filter in the app, the counts summed from the kept cube of the range:
    :class:`metrics.cube.Series`)."""
    frame = _compliance_series(grain, limits).read(conn, filters)
    frame["compliance"] = [ratio(m, m + b) for m, b in zip(frame.met, frame.breached)]
    return frame


def keep_compliance_cube(conn: Connection, filters: Filters, grain: str = "week",
                         limits: SlaLimits = DEFAULT_LIMITS) -> None:
    """Compute and keep the cube of :func:`compliance_over_time` for these dates (the warming)."""
    _compliance_series(grain, limits).keep(conn, filters)


def _compliance_series(grain: str, limits: SlaLimits) -> cube.Series:
    return cube.Series(f"sla/{grain}/{limits}", lambda f, by: _compliance_query(f, grain, limits, by),
                       ("period", "sla_class"), ("met", "breached", "pending"))


def _compliance_query(filters: Filters, grain: str, limits: SlaLimits, by: Subquery | None) -> Select:
    """The tickets' statuses per period and class statement (and, with the customers'
    attribution ``by``, per combination of customer dimensions: the cube)."""
    status = status_expr(filters, limits)
    period = func.date_trunc(grain, tickets.c.opened_at).label("period")
    dims = [] if by is None else cube.dimension_columns(by)
    query = (
        select(period, tickets.c.sla_class, *dims,
               count_if(status == "met").label("met"),
               count_if(status == "breached").label("breached"),
               count_if(status == "pending").label("pending"))
        .where(*ticket_clauses(filters))
        .group_by(period, tickets.c.sla_class, *cube.grouped(dims))
        .order_by(period, tickets.c.sla_class)
    )
    return query if by is None else query.select_from(tickets.outerjoin(by, by.c.customer_id == tickets.c.customer_id))


def backlog_by_age(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Tickets still open at as_of (opened at any time before it), by age bucket and class."""
    age = epoch(filters.as_of) - epoch(tickets.c.opened_at)
    whens, lower = [], 0.0
    for label, upper in BACKLOG_BUCKETS:
        whens.append((age < upper, label) if upper != float("inf") else (age >= lower, label))
        lower = upper
    bucket = case(*whens).label("age")
    query = (
        select(bucket, tickets.c.sla_class, func.count().label("tickets"))
        .where(tickets.c.opened_at < filters.as_of,
               or_(tickets.c.resolved_at.is_(None), tickets.c.resolved_at >= filters.as_of),
               *filters.fact_clauses(tickets, "channel"))
        .group_by(bucket, tickets.c.sla_class)
    )
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=["age", "sla_class", "tickets"])
    labels = [label for label, _ in BACKLOG_BUCKETS]
    frame["age"] = pd.Categorical(frame["age"], categories=labels, ordered=True)
    return frame.sort_values(["age", "sla_class"], ignore_index=True)


def channel_mix(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Tickets per channel in the range, with their share and SLA compliance."""
    t = _status_rows(filters, DEFAULT_LIMITS).c
    query = (select(t.channel, func.count().label("tickets"),
                    count_if(t.status == "met").label("met"),
                    count_if(t.status == "breached").label("breached"))
             .group_by(t.channel).order_by(func.count().desc(), t.channel))
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["channel", "tickets", "met", "breached"])
    total = frame.tickets.sum()
    frame["share"] = frame.tickets / total if total else []
    frame["compliance"] = [ratio(m, m + b) for m, b in zip(frame.met, frame.breached)]
    return frame


def time_distribution(conn: Connection, filters: Filters, which: str = "resolution",
                      limits: SlaLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """Ticket counts per time bucket (for a histogram), per class, computed in SQL.

    ``which`` is 'resolution' or 'first_response'. Buckets are minutes up to an hour,
    then hours up to two days, then days.
    """
    t = _status_rows(filters, limits).c
    seconds = t.resolution_seconds if which == "resolution" else t.first_response_seconds
    edges = [60, 180, 600, 1800, HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR, 48 * HOUR, 7 * 24 * HOUR]
    labels = [N_("< 1 min"), N_("1-3 min"), N_("3-10 min"), N_("10-30 min"), N_("30-60 min"), N_("1-4 h"),
              N_("4-8 h"), N_("8-24 h"), N_("24-48 h"), N_("2-7 days"), N_("> 7 days")]
    bucket = case(*[(seconds < edge, label) for edge, label in zip(edges, labels)],
                  else_=labels[-1]).label("bucket")
    query = (select(bucket, t.sla_class, func.count().label("tickets"))
             .where(seconds.is_not(None)).group_by(bucket, t.sla_class))
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=["bucket", "sla_class", "tickets"])
    frame["bucket"] = pd.Categorical(frame["bucket"], categories=labels, ordered=True)
    return frame.sort_values(["bucket", "sla_class"], ignore_index=True)


def breach_records(filters: Filters, limits: SlaLimits = DEFAULT_LIMITS) -> Select:
    """The breached tickets behind the compliance figure, most overdue first (drill-down)."""
    status = status_expr(filters, limits)
    # seen from as_of: a ticket resolved later was still open then
    end = case((tickets.c.resolved_at < filters.as_of, tickets.c.resolved_at), else_=literal(filters.as_of))
    overdue_hours = ((seconds_between(tickets.c.opened_at, end) - limit_seconds(limits)) / HOUR)
    return (
        select(tickets.c.ticket_id, tickets.c.customer_id, customers.c.name.label("customer"),
               customers.c.segment, customers.c.region, tickets.c.channel, tickets.c.category,
               tickets.c.priority, tickets.c.sla_class, tickets.c.opened_at, tickets.c.resolved_at,
               tickets.c.escalated, tickets.c.resolved_by, overdue_hours.label("hours_over_deadline"))
        .select_from(tickets.outerjoin(customers, customers.c.customer_id == tickets.c.customer_id))
        .where(*ticket_clauses(filters), status == "breached")
        .order_by(overdue_hours.desc(), tickets.c.ticket_id)
    )


def ticket_records(filters: Filters, limits: SlaLimits = DEFAULT_LIMITS) -> Select:
    """Every ticket of the population with its SLA status (drill-down)."""
    return (
        select(tickets.c.ticket_id, tickets.c.customer_id, customers.c.segment, customers.c.region,
               tickets.c.channel, tickets.c.category, tickets.c.sla_class, tickets.c.opened_at,
               tickets.c.first_response_at, tickets.c.resolved_at, tickets.c.escalated,
               tickets.c.resolved_by, tickets.c.contacts_to_resolve,
               status_expr(filters, limits).label("sla_status"))
        .select_from(tickets.outerjoin(customers, customers.c.customer_id == tickets.c.customer_id))
        .where(*ticket_clauses(filters))
        .order_by(tickets.c.opened_at, tickets.c.ticket_id)
    )
