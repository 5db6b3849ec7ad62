"""The Information rule: completeness, duplicates, freshness of customer records (§1)."""

from __future__ import annotations

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.engine import Connection

from data.schema import customers
from metrics.filters import Filters
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
    c = customers.c
    edited_before = c.updated_at < filters.as_of
    age_days = case((edited_before, (epoch(filters.as_of) - epoch(c.updated_at)) / DAY))
    row = conn.execute(
        select(
            func.count().label("records"),
            sum((func.count(c[name]) for name in COMPLETENESS_FIELDS), literal(0)).label("filled"),
            func.count(c.email).label("with_email"),
            func.count(func.distinct(normalised_email())).label("distinct_emails"),
            percentile(0.5, age_days).label("days_since_update"),
            count_if(~edited_before).label("edited_later"),
        ).where(c.created_at < filters.as_of, *filters.customer_clauses())
    ).mappings().one()
    distinct_share = ratio(row["distinct_emails"], row["with_email"])
    return {
        "records": row["records"],
        "completeness": ratio(row["filled"], row["records"] * len(COMPLETENESS_FIELDS)),
        "duplicate_rate": None if distinct_share is None else 1.0 - distinct_share,
        "days_since_update": (row["days_since_update"]
                              if row["edited_later"] <= 0.05 * row["records"] else None),
    }


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
