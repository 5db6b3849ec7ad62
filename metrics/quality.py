"""The Information rule: completeness, duplicates, freshness of customer records (§1)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Select, and_, case, func, literal, select, true
from sqlalchemy.engine import Connection

from data.schema import customers
from metrics import cube, keeping
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.health import valid_clause
from metrics.periods import Periods, as_periods, at
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
    """:func:`quality_facts` at the end of several periods in one statement (or, with a
    customer filter in the app, summed from the kept cube: :func:`_quality_cube`).

    Every figure depends on a period's end alone, so it is computed once per distinct end:
    each record is read once and tested against every end, one column per end
    (:func:`_by_end`), rather than joined to each period. Emails are normalised once: each
    normalised email is kept with the creation of its first record, and counted at every
    end after it (the distinct emails among the records created before as_of).
    """
    periods = as_periods(periods)
    ends = sorted({f.as_of for f in periods.filters})
    kept = _kept_counts(conn, periods)
    if kept is not None:
        medians = _median_ages(conn, periods.selection, ends)
        return [_quality_facts(row, medians[f.as_of]) for row, f in zip(kept, periods.filters)]
    c = customers.c
    clauses = periods.selection.customer_clauses()
    records = []
    for i, end in enumerate(ends):
        moment = at(end)
        made = c.created_at < moment
        records += [count_if(made).label(f"records_{i}"),
                    sum((func.count(case((made, c[name]))) for name in COMPLETENESS_FIELDS),
                        literal(0)).label(f"filled_{i}"),
                    func.count(case((made, c.email))).label(f"with_email_{i}"),
                    _median_age(moment).label(f"days_since_update_{i}"),
                    count_if(and_(made, c.updated_at >= moment)).label(f"edited_later_{i}")]
    r = select(*records).where(c.created_at < ends[-1], *clauses).subquery("records")
    first_seen = (select(func.min(c.created_at).label("created_at"))
                  .where(c.email.is_not(None), c.created_at < ends[-1], *clauses)
                  .group_by(normalised_email()).subquery("emails"))
    e = (select(*[count_if(first_seen.c.created_at < at(end)).label(f"distinct_emails_{i}")
                  for i, end in enumerate(ends)]).subquery("distinct_emails"))
    row = conn.execute(select(r, e).select_from(r.join(e, true()))).mappings().one()
    facts = _by_end(row, ends, ("records", "filled", "with_email", "days_since_update", "edited_later",
                                "distinct_emails"))
    return [_quality_facts(facts[f.as_of], facts[f.as_of]["days_since_update"]) for f in periods.filters]


def _median_age(moment):
    """The median days from updated_at to ``moment`` (a bound end, :func:`metrics.periods.at`)
    of the records created and not edited before it (NULL when there are none)."""
    c = customers.c
    kept = and_(c.created_at < moment, c.updated_at < moment)
    return percentile(0.5, case((kept, (epoch(moment) - epoch(c.updated_at)) / DAY)))


def _by_end(row, ends: Sequence[datetime], names: Sequence[str]) -> dict[datetime, dict]:
    """The one row of a statement with a column ``<name>_<i>`` per end i, as a dict per end."""
    return {end: {name: row[f"{name}_{i}"] for name in names} for i, end in enumerate(ends)}


def _filled(r):
    """The completeness fields filled in a group of records."""
    return sum((func.count(r[name]) for name in COMPLETENESS_FIELDS), literal(0))


def _quality_facts(row: dict, days_since_update: float | None) -> dict[str, float | None]:
    n = int(row["records"] or 0)
    distinct_share = ratio(int(row["distinct_emails"] or 0), int(row["with_email"] or 0))
    return {
        "records": n,
        "completeness": ratio(row["filled"], n * len(COMPLETENESS_FIELDS)),
        "duplicate_rate": None if distinct_share is None else 1.0 - distinct_share,
        "days_since_update": days_since_update if int(row["edited_later"] or 0) <= 0.05 * n else None,
    }


# --------------------------------------------------------------------------- the quality cube
#: The cube's sums per period and combination of customer dimensions.
QUALITY_SUMS = ("records", "filled", "with_email", "edited_later")
#: The column of the records sharing their email with another record: their email's number.
EMAIL_GROUP = "email_group"


def _kept_counts(conn: Connection, periods: Periods) -> list[dict] | None:
    """The counts of the periods' selection from the kept cube and shared-email records, or
    None when the direct statement answers (no keeper, no customer filter, too many rows).

    Distinct emails do not add up over combinations (one email can be held in two
    segments), but they do once split: an email held by one record counts where that
    record is (a record with an email, less those sharing it); the few emails held by
    several records are counted from those records themselves, kept with their
    combination and creation (:func:`_shared_emails`).
    """
    rows = cube.counts(conn, "quality", periods, QUALITY_SUMS, _quality_cube)
    if rows is None:
        return None
    shared = keeping.prepared(SHARED_EMAILS, _bounded_shared_emails, conn)
    if shared is None:
        return None
    selected = cube.chosen(shared, periods.selection)
    first = selected.groupby(EMAIL_GROUP)["created_at"].min()
    for row, f in zip(rows, periods.filters):
        as_of = pd.Timestamp(f.as_of)
        sharing = int((selected["created_at"] < as_of).sum())
        row["distinct_emails"] = row["with_email"] - sharing + int((first < as_of).sum())
    return rows


def _median_ages(conn: Connection, selection: Filters, ends: Sequence[datetime]) -> dict[datetime, float | None]:
    """Per end, the median days from updated_at to the end of the selection's records created
    and not edited since (the only quality figure no cube can sum): one column per end."""
    c = customers.c
    query = (select(*[_median_age(at(end)).label(f"median_{i}") for i, end in enumerate(ends)])
             .where(c.created_at < ends[-1], *selection.customer_clauses()))
    row = conn.execute(query).mappings().one()
    return {end: medians["median"] for end, medians in _by_end(row, ends, ("median",)).items()}


def _quality_cube(conn: Connection, periods: Periods) -> pd.DataFrame:
    """The quality sums per period and combination of customer dimensions (metrics.cube).

    One grouping of the records, without a row per period: by combination and by where
    their creation and last edit fall among the periods' ends (``created``/``edited``: how
    many ends are at or before them). A record counts in the period ending at the j-th end
    when ``created <= j``, and was edited later when ``edited > j``.
    """
    c = customers.c
    ends = sorted({f.as_of for f in periods.filters})

    def among_ends(column):
        return case((column.is_(None), None), *[(column < end, i) for i, end in enumerate(ends)], else_=len(ends))

    r = (select(*[c[column].label(dim) for dim, column in CUSTOMER_DIMENSIONS.items()],
                among_ends(c.created_at).label("created"), among_ends(c.updated_at).label("edited"),
                *[c[name] for name in COMPLETENESS_FIELDS])
         .where(valid_clause(customers)).subquery("records").c)
    by = [*[r[dim] for dim in CUSTOMER_DIMENSIONS], r.created, r.edited]
    query = (select(*by, func.count().label("records"), _filled(r).label("filled"),
                    func.count(r.email).label("with_email")).group_by(*by))
    groups = pd.DataFrame(conn.execute(query).mappings().all(),
                          columns=[*CUSTOMER_DIMENSIONS, "created", "edited", "records", "filled", "with_email"])
    groups[["created", "edited"]] = groups[["created", "edited"]].astype(float)   # NULL: never
    dims = list(CUSTOMER_DIMENSIONS)
    frames = []
    for p, f in enumerate(periods.filters):
        j = ends.index(f.as_of)
        made = groups[groups.created <= j].assign(edited_later=lambda g: (g.edited > j) * g.records)
        sums = made.groupby(dims, dropna=False)[list(QUALITY_SUMS)].sum().reset_index()
        frames.append(sums.assign(p=p, **{cube.ATTRIBUTED: True}))
    return cube.compact(pd.concat(frames, ignore_index=True)[["p", *cube.KEYS, *QUALITY_SUMS]], QUALITY_SUMS)


def _shared_emails(conn: Connection) -> pd.DataFrame:
    """The valid records whose normalised email another record holds too: their combination,
    creation and email's number (the email itself is not kept)."""
    c = customers.c
    holders = func.count().over(partition_by=normalised_email())
    held = (select(normalised_email().label("email"), *[c[column].label(dim)
                                                        for dim, column in CUSTOMER_DIMENSIONS.items()],
                   c.created_at, holders.label("holders"))
            .where(valid_clause(customers), c.email.is_not(None)).subquery("held"))
    rows = conn.execute(select(held).where(held.c.holders > 1)).mappings().all()
    frame = pd.DataFrame(rows, columns=["email", *CUSTOMER_DIMENSIONS, "created_at", "holders"])
    frame[EMAIL_GROUP] = pd.factorize(frame.pop("email"))[0]
    frame[cube.ATTRIBUTED] = True
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    return frame.drop(columns="holders")


#: What the records sharing an email are kept under, once per data refresh.
SHARED_EMAILS = ("quality.shared_emails",)


def _bounded_shared_emails(conn: Connection) -> pd.DataFrame | None:
    """:func:`_shared_emails`, or None when they are too many to be worth keeping."""
    return cube.bounded(_shared_emails(conn))


def keep_quality_cube(conn: Connection, periods: Periods | Sequence[Filters]) -> None:
    """Compute and keep the quality cube of these periods and the records sharing an email."""
    cube.keep(conn, "quality", as_periods(periods), _quality_cube)
    if keeping.active():
        keeping.kept(SHARED_EMAILS, lambda: _bounded_shared_emails(conn))


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
