"""The Filters value object: what the user selected, turned into bound SQL clauses.

A date range is inclusive of both days: ``[start 00:00, end + 1 day 00:00)``, and
``as_of`` (the end of the range) is ``end + 1 day 00:00``. Customer dimensions
(segment, region, industry, acquisition channel, owner team) restrict fact tables through
a semi-join on ``customer_id``; rows that cannot be linked to a customer are then left
out, since they cannot be attributed. Every user value reaches the database as a bound
parameter, never as SQL text.

``scope`` is what the user may see (see :mod:`metrics.scope`): per customer dimension the
allowed values, AND-ed with the selection, so a selection can narrow it but never widen it;
a selection outside the scope selects nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import Select, and_, func, select, union
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from data.schema import customers, interactions, orders, tickets
from i18n import N_, _, day
from metrics.health import valid_clause

Comparison = Literal["previous", "last_year", "none"]

#: Customer dimensions a filter or breakdown can use: name -> customers column.
CUSTOMER_DIMENSIONS: dict[str, str] = {
    "segment": "segment",
    "region": "region",
    "industry": "industry",
    "acquisition_channel": "acquisition_channel",
    "owner_team": "owner_team",
}
#: Labels of every filter dimension, for widgets and messages (English; shown with ``_(label)``).
DIMENSION_LABELS: dict[str, str] = {
    "segment": N_("Segment"),
    "region": N_("Region"),
    "industry": N_("Industry"),
    "acquisition_channel": N_("Acquisition channel"),
    "owner_team": N_("Team"),
    "channel": N_("Channel"),
}


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


@dataclass(frozen=True)
class Filters:
    """A date range, a comparison period and multi-select dimension filters (empty = all)."""

    start: date
    end: date
    compare: Comparison = "previous"
    segment: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    industry: tuple[str, ...] = ()
    acquisition_channel: tuple[str, ...] = ()
    owner_team: tuple[str, ...] = ()
    channel: tuple[str, ...] = field(default=())  # interaction / ticket channel
    #: the user's row scope: ((dimension, allowed values), ...); () = no restriction
    scope: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"date range ends ({self.end}) before it starts ({self.start})")
        if self.compare not in ("previous", "last_year", "none"):
            raise ValueError(f"unknown comparison {self.compare!r}: use previous, last_year or none")
        for name in (*CUSTOMER_DIMENSIONS, "channel"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} takes a tuple of values, not a string")
            object.__setattr__(self, name, tuple(str(v) for v in value))
        scope = self.scope.items() if isinstance(self.scope, dict) else self.scope
        for dim, _values in scope:
            if dim not in CUSTOMER_DIMENSIONS:
                raise ValueError(f"scope: unknown customer dimension {dim!r}")
        # canonical (dimensions and values sorted): equal scopes are one filter set, one cache entry
        object.__setattr__(self, "scope", tuple(sorted((d, tuple(sorted({str(v) for v in vs}))) for d, vs in scope)))

    # ---- time
    @property
    def start_at(self) -> datetime:
        return _day_start(self.start)

    @property
    def as_of(self) -> datetime:
        """The end of the range (exclusive): the day after ``end`` at 00:00."""
        return _day_start(self.end) + timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def comparison(self) -> Filters | None:
        """The same filters over the comparison period, or None when not comparing."""
        if self.compare == "none":
            return None
        if self.compare == "previous":
            shift = timedelta(days=self.days)
            return replace(self, start=self.start - shift, end=self.end - shift)
        return replace(self, start=_minus_year(self.start), end=_minus_year(self.end))

    def with_values(self, **values: tuple[str, ...] | str) -> Filters:
        """A copy with some dimensions replaced (a single string means one value)."""
        fixed = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in values.items()}
        return replace(self, **fixed)

    def within(self, scope) -> Filters:
        """A copy whose scope is also limited to ``scope`` (values intersect per dimension)."""
        merged = dict(self.scope)
        for dim, values in (scope.items() if isinstance(scope, dict) else scope):
            values = tuple(str(v) for v in values)
            merged[dim] = tuple(v for v in merged[dim] if v in values) if dim in merged else values
        return replace(self, scope=tuple(merged.items()))

    def allowed(self, dim: str) -> tuple[str, ...] | None:
        """The values of a customer dimension this selection can see (None = any)."""
        values = set(getattr(self, dim)) if getattr(self, dim) else None
        for scoped, allowed in self.scope:
            if scoped == dim:
                values = set(allowed) if values is None else values & set(allowed)
        return None if values is None else tuple(sorted(values))

    # ---- SQL
    def in_period(self, column) -> ColumnElement[bool]:
        """``start <= column < as_of`` with bound parameters."""
        return and_(column >= self.start_at, column < self.as_of)

    def customer_clauses(self, table=customers) -> list[ColumnElement[bool]]:
        """Clauses on a customers table for the active customer dimensions and the user's scope
        (valid rows only)."""
        clauses = [table.c[col].in_(getattr(self, dim))
                   for dim, col in CUSTOMER_DIMENSIONS.items() if getattr(self, dim)]
        clauses += [table.c[CUSTOMER_DIMENSIONS[dim]].in_(values) for dim, values in self.scope]
        return [valid_clause(table), *clauses] if table is customers else clauses

    @property
    def has_customer_filter(self) -> bool:
        return any(getattr(self, dim) for dim in CUSTOMER_DIMENSIONS) or bool(self.scope)

    def customer_ids(self) -> Select:
        """``SELECT customer_id FROM customers WHERE <customer dimensions>``."""
        return select(customers.c.customer_id).where(*self.customer_clauses())

    def fact_clauses(self, table, channel_column: str | None = None) -> list[ColumnElement[bool]]:
        """Clauses on a fact table: its valid rows, customer dimensions by semi-join, and the channel."""
        clauses: list[ColumnElement[bool]] = [valid_clause(table)]
        if self.has_customer_filter:
            clauses.append(table.c.customer_id.in_(self.customer_ids()))
        if channel_column and self.channel:
            clauses.append(table.c[channel_column].in_(self.channel))
        return clauses

    def describe(self, quote: Callable[[str], str] = str) -> str:
        """The filters in words, in the current language with dates by its locale, for captions,
        exports and the CLI (each value passed through ``quote``, e.g. a Markdown escape)."""
        parts = [_("{start} to {end}").format(start=day(self.start), end=day(self.end))]
        for dim, label in DIMENSION_LABELS.items():
            values = getattr(self, dim)
            if values:
                parts.append(_("{dimension}: {values}").format(
                    dimension=_(label), values=", ".join(quote(v) for v in values)))
        for dim, values in self.scope:
            parts.append(_("within your access, {dimension}: {values}").format(
                dimension=_(DIMENSION_LABELS[dim]), values=", ".join(quote(v) for v in values) or _("none")))
        return "; ".join(parts)


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def filter_values(conn: Connection) -> dict[str, list[str]]:
    """The values each filter dimension takes in the source, sorted (the sidebar's choices):
    each customer dimension's among the valid customers, and the channels of the
    interactions and tickets."""
    out: dict[str, list[str]] = {}
    for dim, column in CUSTOMER_DIMENSIONS.items():
        col = customers.c[column]
        out[dim] = [v for (v,) in conn.execute(select(col).where(col.is_not(None), valid_clause(customers))
                                               .distinct().order_by(col))]
    channels = union(select(interactions.c.channel.label("c")).distinct(),
                     select(tickets.c.channel.label("c")).distinct()).subquery()
    out["channel"] = sorted(v for (v,) in conn.execute(select(channels.c.c)) if v is not None)
    return out


#: The days a first visit shows (:func:`first_visit_period`).
FIRST_VISIT_DAYS = 90


def activity_span(conn: Connection, today: date) -> tuple[date, date]:
    """First and last day with activity (orders, interactions, tickets, new customers; the
    records the data-health checks find impossible left out); without any, the
    :data:`FIRST_VISIT_DAYS` days up to ``today``."""
    firsts, lasts = [], []
    for col in (orders.c.ordered_at, interactions.c.occurred_at, tickets.c.opened_at, customers.c.created_at):
        lo, hi = conn.execute(select(func.min(col), func.max(col)).where(valid_clause(col.table))).one()
        if lo is not None:
            firsts.append(lo.date())
            lasts.append(hi.date())
    if not lasts:
        return today - timedelta(days=FIRST_VISIT_DAYS), today
    return min(firsts), max(lasts)


def first_visit_period(first: date, last: date, today: date) -> tuple[date, date]:
    """The :data:`FIRST_VISIT_DAYS` days up to the last full day with data (yesterday at the
    latest), within the data's span ``first``..``last``."""
    end = min(last, today - timedelta(days=1))
    return max(first, end - timedelta(days=FIRST_VISIT_DAYS - 1)), end


def default_filters(today: date, days: int = FIRST_VISIT_DAYS, compare: Comparison = "previous") -> Filters:
    """The last ``days`` full days before ``today``."""
    end = today - timedelta(days=1)
    return Filters(start=end - timedelta(days=days - 1), end=end, compare=compare)
