"""Several periods in one statement: each row given the index of the period it belongs to.

A scorecard reads every metric family for several periods (the range, its comparison and,
for the change and growth KPIs, the comparison's comparison; or a trend's months and their
comparisons). Rather than one statement per period, a family's statement reads its table
once and groups rows by ``p``, the position of their period in :class:`Periods`.

Period ``i`` is the half-open range ``[start_at_i, as_of_i)`` of ``Filters`` i; every
period of one statement shares the same dimension filters and scope (only dates differ).
A row gets its period in one of two ways, chosen from the bounds, never from the data:

- periods that do not overlap: a ``CASE`` over the bounds (one scan of the table, no
  join; rows outside every period are left out);
- periods that overlap (a trend's months against comparisons of the same length, a
  range longer than a year against last year): a join to the period rows on the range,
  so that a row counts once in every period it falls in.

What depends on a period's end alone (the records created before ``as_of``, the two years
of orders before it) is computed once per distinct end (:meth:`Periods.ends`), each row
read once and tested against every end, one column per end (metrics/quality.py,
metrics/value.py), rather than joined to each period. Bounds are bound parameters cast to
TIMESTAMP (:func:`at`), so DuckDB, PostgreSQL and Spark type them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import DateTime, Integer, and_, case, cast, literal, literal_column, select, union_all
from sqlalchemy.sql import ColumnElement, CompoundSelect, FromClause, Select, Subquery

from metrics.filters import Filters

#: The Filters fields that may differ between the periods of one statement.
DATE_FIELDS = ("start", "end", "compare")


#: One type object for every bound: SQLAlchemy adapts a type object to the dialect once and
#: remembers it by object (35 bounds in a statement, each with its own DateTime(), cost 5 ms).
_TIMESTAMP = DateTime()


def at(moment: datetime) -> ColumnElement:
    """``moment`` as a bound TIMESTAMP (typed alike on DuckDB, PostgreSQL and Spark)."""
    return cast(literal(moment, _TIMESTAMP), _TIMESTAMP)


def _index(i: int) -> ColumnElement[int]:
    return literal_column(str(int(i)), Integer)


def same_selection(a: Filters, b: Filters) -> bool:
    """True when two filters differ in their dates only (same dimensions, channel and scope)."""
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(Filters) if f.name not in DATE_FIELDS)


@dataclass(frozen=True)
class Periods:
    """The periods one statement computes, in order (``p`` = position)."""

    filters: tuple[Filters, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(self.filters))
        if not self.filters:
            raise ValueError("no period to compute")
        if not all(same_selection(self.filters[0], f) for f in self.filters[1:]):
            raise ValueError("the periods of one statement must share their dimension filters and scope")

    def __len__(self) -> int:
        return len(self.filters)

    @property
    def selection(self) -> Filters:
        """The filters whose dimension and scope clauses every period shares."""
        return self.filters[0]

    @property
    def disjoint(self) -> bool:
        """No two periods overlap (a row belongs to at most one)."""
        ranges = sorted((f.start_at, f.as_of) for f in self.filters)
        return all(end <= start for (_, end), (start, _) in zip(ranges, ranges[1:]))

    def hull(self, column) -> ColumnElement[bool]:
        """``first start <= column < last as_of``: lets the engine skip what no period reads."""
        return and_(column >= min(f.start_at for f in self.filters), column < max(f.as_of for f in self.filters))

    def table(self, name: str = "periods") -> Subquery:
        """One row per period: p, start_at and as_of."""
        rows = [select(_index(i).label("p"), at(f.start_at).label("start_at"), at(f.as_of).label("as_of"))
                for i, f in enumerate(self.filters)]
        return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery(name)

    def ends(self) -> Periods:
        """One period per distinct end (``as_of``), in order of first appearance: for what
        depends on a period's end alone (a month and the comparison of the next one end on
        the same day), computed once per end and then given to each period (:meth:`spread`)."""
        first: dict = {}
        for f in self.filters:
            first.setdefault(f.as_of, f)
        return Periods(tuple(first.values()))

    def spread(self, ends: Periods, per_end: Subquery, name: str) -> Subquery:
        """``per_end``'s rows, keyed by ``p`` of ``ends`` (:meth:`ends`), given to every period
        with that end and keyed by this period's ``p``; its other columns as they are."""
        if ends.filters == self.filters:
            return per_end
        t, e = self.table(), ends.table("ends")
        return (select(t.c.p, *[column for column in per_end.c if column.name != "p"])
                .select_from(t.join(e, e.c.as_of == t.c.as_of).join(per_end, per_end.c.p == e.c.p))
                .subquery(name))

    def rows(self, table: FromClause, column, columns: Sequence, clauses: Sequence = ()) -> Subquery:
        """The rows of ``table`` whose ``column`` falls in a period, with ``p`` and that period's
        ``as_of``, and ``columns`` (a row in two overlapping periods comes twice)."""
        if self.disjoint:
            whens = [(and_(column >= f.start_at, column < f.as_of), i) for i, f in enumerate(self.filters)]
            p = case(*[(cond, _index(i)) for cond, i in whens])
            as_of = case(*[(cond, at(self.filters[i].as_of)) for cond, i in whens])
            query = select(p.label("p"), as_of.label("as_of"), *columns).select_from(table)
            where = [self.hull(column)] if len(self) == 1 or self._contiguous() else [self.hull(column), p.is_not(None)]
            return query.where(*where, *clauses).subquery("in_periods")
        return self.joined(table, lambda t: and_(column >= t.c.start_at, column < t.c.as_of), columns,
                           [self.hull(column), *clauses])

    def each(self, statement: Callable[[ColumnElement[int], Filters], Select]) -> CompoundSelect | Select:
        """``statement(p, filters)`` of every period, one after the other (``UNION ALL``): for a
        grouping per period whose groups are many (customers), where one grouping of all the
        periods' rows together would build one large hash table."""
        statements = [statement(_index(i), f) for i, f in enumerate(self.filters)]
        return union_all(*statements) if len(statements) > 1 else statements[0]

    def joined(self, table: FromClause, on: Callable[[Subquery], ColumnElement[bool]], columns: Sequence,
               clauses: Sequence = ()) -> Subquery:
        """The rows of ``table`` joined to every period where ``on(periods)`` holds, with ``p``,
        the period's ``as_of``, and ``columns``."""
        t = self.table()
        return (select(t.c.p, t.c.as_of, *columns)
                .select_from(table.join(t, on(t))).where(*clauses).subquery("in_periods"))

    def _contiguous(self) -> bool:
        ranges = sorted((f.start_at, f.as_of) for f in self.filters)
        return all(end == start for (_, end), (start, _) in zip(ranges, ranges[1:]))


def by_period(periods: Periods, rows: Sequence, empty: dict) -> list[dict]:
    """Result rows keyed by ``p`` into one dict per period, in order; a period without rows
    gets ``empty`` (what the aggregates give over no rows: counts 0, the rest None)."""
    found = {int(row["p"]): dict(row) for row in rows}
    return [found.get(i, {**empty, "p": i}) for i in range(len(periods))]


def as_periods(periods: Periods | Sequence[Filters]) -> Periods:
    return periods if isinstance(periods, Periods) else Periods(tuple(periods))
