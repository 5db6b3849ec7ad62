"""The Information rule: completeness, duplicates, freshness of customer records (§1)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.engine import Connection

from data.schema import customers
from metrics.filters import Filters
from metrics.periods import Periods, as_periods, by_period
from metrics.sql import DAY, as_float, count_if, epoch, percentile, ratio

#: The fields whose presence makes a record complete.
COMPLETENESS_FIELDS = ("name", "email", "phone", "segment", "region", "industry")


def normalised_email(column=customers.c.email):
    """lower(trim(email)): the key that finds duplicate customers."""
    return func.lower(func.trim(column))


def quality_facts(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Customer records created before as_of (customer filters applied).

    - completeness = filled fields / (records x 6) over name, email, phone, segment,
      region, industry;
    - duplicate_rate = 1 - distinct normalised emails / records with an email;
    - days_since_update = median days from updated_at to as_of over records not edited
      since; a source keeps only the last edit, so when more than 5 % of the records were
      edited after as_of the past state is unknown and the figure is None (no data).
    """
    return quality_facts_by_period(conn, [filters])[0]


def quality_facts_by_period(conn: Connection, periods: Periods | Sequence[Filters]) -> list[dict[str, float | None]]:
    """:func:`quality_facts` at the end of several periods in one statement.

    Emails are normalised once: each normalised email is kept with the creation of its
    first record, and counted in every period that ends after it (the distinct emails
    among the records created before as_of).
    """
    periods = as_periods(periods)
    c = customers.c
    clauses = periods.selection.customer_clauses()
    last = max(f.as_of for f in periods.filters)
    r = periods.joined(customers, lambda t: c.created_at < t.c.as_of,
                       [c.updated_at, *[c[name] for name in COMPLETENESS_FIELDS]], [c.created_at < last, *clauses]).c
    edited_before = r.updated_at < r.as_of
    age_days = case((edited_before, (epoch(r.as_of) - epoch(r.updated_at)) / DAY))
    records = (
        select(
            r.p,
            func.count().label("records"),
            sum((func.count(r[name]) for name in COMPLETENESS_FIELDS), literal(0)).label("filled"),
            func.count(r.email).label("with_email"),
            percentile(0.5, age_days).label("days_since_update"),
            count_if(~edited_before).label("edited_later"),
        ).group_by(r.p).subquery("records")
    )
    first_seen = (select(normalised_email().label("email"), func.min(c.created_at).label("created_at"))
                  .where(c.email.is_not(None), c.created_at < last, *clauses)
                  .group_by(normalised_email()).subquery("emails"))
    e = periods.joined(first_seen, lambda t: first_seen.c.created_at < t.c.as_of, []).c
    emails = select(e.p, func.count().label("distinct_emails")).group_by(e.p).subquery("distinct_emails")
    t = periods.table()
    query = (select(t.c.p, records.c.records, records.c.filled, records.c.with_email, records.c.days_since_update,
                    records.c.edited_later, emails.c.distinct_emails)
             .select_from(t.outerjoin(records, records.c.p == t.c.p).outerjoin(emails, emails.c.p == t.c.p)))
    facts = []
    for row in by_period(periods, conn.execute(query).mappings().all(), {}):
        n = int(row["records"] or 0)
        distinct_share = ratio(int(row["distinct_emails"] or 0), int(row["with_email"] or 0))
        facts.append({
            "records": n,
            "completeness": ratio(row["filled"], n * len(COMPLETENESS_FIELDS)),
            "duplicate_rate": None if distinct_share is None else 1.0 - distinct_share,
            "days_since_update": (row["days_since_update"]
                                  if int(row["edited_later"] or 0) <= 0.05 * n else None),
        })
    return facts


def field_completeness(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Share of records with each completeness field filled."""
    c = customers.c
    row = conn.execute(
        select(func.count().label("records"), *[func.count(c[name]).label(name) for name in COMPLETENESS_FIELDS])
        .where(c.created_at < filters.as_of, *filters.customer_clauses())
    ).mappings().one()
    return {name: ratio(row[name], row["records"]) for name in COMPLETENESS_FIELDS}


def duplicate_records(filters: Filters) -> Select:
    """Customers sharing a normalised email with another record (drill-down)."""
    c = customers.c
    dup_keys = (
        select(normalised_email().label("key"))
        .where(c.email.is_not(None), c.created_at < filters.as_of, *filters.customer_clauses())
        .group_by(normalised_email()).having(func.count() > 1)
    )
    return (
        select(c.customer_id, c.name, c.email, c.segment, c.region, c.created_at, c.updated_at)
        .where(normalised_email().in_(dup_keys), c.created_at < filters.as_of, *filters.customer_clauses())
        .order_by(normalised_email(), c.created_at)
    )


def stale_records(filters: Filters, days: int = 180) -> Select:
    """Customers whose record was not edited in the ``days`` before as_of (drill-down)."""
    c = customers.c
    age_days = (epoch(filters.as_of) - epoch(c.updated_at)) / DAY
    return (
        select(c.customer_id, c.name, c.segment, c.region, c.updated_at, as_float(age_days).label("days_since_update"))
        .where(c.created_at < filters.as_of, age_days > days, *filters.customer_clauses())
        .order_by(c.updated_at, c.customer_id)
    )
