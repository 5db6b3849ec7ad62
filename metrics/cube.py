"""Dimension cubes: a metric family's counts for a set of periods, computed once per
combination of customer dimensions, from which any selection of them is summed.

A filter change (a segment added in the sidebar, a manager's region scope) keeps the dates
and changes customer dimensions. A family whose figures are all *counts* — of rows, or of
distinct customers — can answer any such selection from one grouped statement over the
whole source: its **cube**, one row per period and combination of the five customer
dimensions (segment, region, industry, acquisition channel, owner team).

Why the sums are exact: a customer has one value per customer dimension, so the customers
of a selection (and the rows attributed to them) are the disjoint union of those of the
combinations it selects, and counts of rows and of distinct customers add up over them.
(Distinct customers do *not* add up over days, which is why a cube is per period, not per
day.) Rows without a valid customer count only when no customer dimension is selected, as
:meth:`metrics.filters.Filters.fact_clauses` leaves them out under any customer filter; a
customer with no value in a dimension is left out by any selection of that dimension, as
``IN`` leaves out NULL. A customer id recorded twice is not valid (the health checks of
:mod:`metrics.health` leave both records out of every figure), so a valid customer has one
combination.

A cube is kept by the keeper set with :func:`metrics.keeping.keeping` (the app's results per
data refresh, data/cache.py), for its dates and fact filters (the interaction channel). It is
computed on first use, or, with a keeper that builds such results in its own time (the app),
by the warming (:func:`keep`) or in the background after the first selection on its dates,
the direct statement answering meanwhile; without a keeper, or without a customer filter, a
family runs its direct statement. ``tests/test_cube.py`` checks both paths equal for a grid
of filters on DuckDB and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.elements import Label

from data.schema import customers
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics import keeping
from metrics.health import valid_clause
from metrics.periods import Periods

#: The cube columns naming a combination: the customer dimensions, and whether the row has
#: a valid customer at all.
ATTRIBUTED = "attributed"
KEYS = (*CUSTOMER_DIMENSIONS, ATTRIBUTED)


def attribution(*extra: str) -> Subquery:
    """The valid customers with their customer dimensions (and the ``extra`` customers
    columns): what a fact row is attributed to."""
    c = customers.c
    return (select(c.customer_id, *[c[column].label(dim) for dim, column in CUSTOMER_DIMENSIONS.items()],
                   *[c[column] for column in extra])
            .where(valid_clause(customers)).subquery("attribution"))


def dimension_columns(by: Subquery) -> list:
    """The combination columns of a row joined (left outer) to :func:`attribution` ``by``."""
    return [*[by.c[dim] for dim in CUSTOMER_DIMENSIONS], by.c.customer_id.is_not(None).label(ATTRIBUTED)]


def grouped(columns) -> list:
    """``columns`` as a GROUP BY takes them: a labelled expression (``attributed``) by itself."""
    return [column.element if isinstance(column, Label) else column for column in columns]


def whole(periods: Periods) -> Periods:
    """The periods with the customer dimensions and the scope cleared: what a cube is of."""
    cleared = {dim: () for dim in CUSTOMER_DIMENSIONS}
    return Periods(tuple(replace(f, scope=(), **cleared) for f in periods.filters))


def chosen(cube: pd.DataFrame, selection: Filters) -> pd.DataFrame:
    """The cube rows of the combinations ``selection`` (its dimensions within its scope) selects."""
    if not selection.has_customer_filter:
        return cube
    mask = cube[ATTRIBUTED].astype(bool)
    for dim in CUSTOMER_DIMENSIONS:
        allowed = selection.allowed(dim)
        if allowed is not None:
            mask &= cube[dim].isin(allowed)
    return cube[mask]


def _total(values: pd.Series) -> int | Decimal:
    """A column's sum: a count as an int, an exact sum (money, held as Decimal) added exactly."""
    if values.dtype == object:
        return sum(values, Decimal(0))
    return int(values.sum())


def sums(cube: pd.DataFrame, selection: Filters, columns: Sequence[str], periods: int) -> list[dict[str, int | Decimal]]:
    """Per period (``p`` 0..periods-1), the sum of ``columns`` over the selected combinations
    (counts as ints, exact sums as Decimals: money adds up to the cent in any order)."""
    picked = chosen(cube, selection)
    groups = dict(tuple(picked.groupby("p"))) if len(picked) else {}
    none = cube.iloc[:0]
    return [{name: _total((groups[p] if p in groups else none)[name]) for name in columns} for p in range(periods)]


def counts(conn: Connection, family: str, periods: Periods, columns: Sequence[str],
           build: Callable[[Connection, Periods], pd.DataFrame]) -> list[dict[str, int | Decimal]] | None:
    """``columns`` per period for ``periods``' selection, summed from the family's kept cube,
    or None when the direct statement should answer (no keeper, no customer filter, a cube
    over :data:`MAX_ROWS` rows, or one the keeper has not built yet: metrics.keeping.prepared).
    ``build(conn, whole_periods)`` computes the cube: one row per ``p`` and combination
    (:data:`KEYS`) with ``columns``."""
    if not keeping.active() or not periods.selection.has_customer_filter:
        return None
    general = whole(periods)
    cube = keeping.prepared(key(family, general), lambda c: bounded(build(c, general)), conn)
    return None if cube is None else sums(cube, periods.selection, columns, len(periods))


def key(family: str, general: Periods) -> tuple:
    """What the family's cube of ``general``'s dates (see :func:`whole`) is kept under."""
    return ("cube", family, general.filters)


#: A cube with more rows than this (customer dimensions with very many values) is not kept:
#: summing it would cost about what the direct statement costs, and it would fill the store.
MAX_ROWS = 500_000


def bounded(frame: pd.DataFrame) -> pd.DataFrame | None:
    """``frame`` if it has at most :data:`MAX_ROWS` rows (worth keeping), else None."""
    return frame if len(frame) <= MAX_ROWS else None


def keep(conn: Connection, family: str, periods: Periods,
         build: Callable[[Connection, Periods], pd.DataFrame]) -> None:
    """Compute and keep the family's cube of ``periods``' dates, if a keeper is set and it is
    not kept yet (warming: the next filter change on these dates reads it)."""
    if keeping.active():
        general = whole(periods)
        keeping.kept(key(family, general), lambda: bounded(build(conn, general)))


#: A series' statement for filters without a customer filter: grouped by its keys (the
#: period, and e.g. a ticket class) and, given the customers' attribution, by the
#: combination of customer dimensions too (:class:`Series`).
SeriesQuery = Callable[[Filters, "Subquery | None"], Select]


@dataclass(frozen=True)
class Series:
    """A chart's series (its months) whose cube a selection of customer dimensions sums:
    ``name`` (with its grain and settings) names the cube, ``query`` is its statement,
    ``keys`` its groups, ``columns`` its counts and ``exact`` its sums of money (added
    exactly, given as floats as the direct statement casts them)."""

    name: str
    query: SeriesQuery
    keys: tuple[str, ...]
    columns: tuple[str, ...]
    exact: tuple[str, ...] = ()

    def direct(self, conn: Connection, filters: Filters) -> pd.DataFrame:
        """The series read by its statement."""
        return pd.DataFrame(conn.execute(self.query(filters, None)).mappings().all(),
                            columns=[*self.keys, *self.columns])

    def read(self, conn: Connection, filters: Filters) -> pd.DataFrame:
        """The series for ``filters``: summed from its kept cube when a keeper is set and a
        customer dimension is selected (one row per keys the selected combinations have rows
        for), else (or while the cube is not built) read by its statement."""
        summed = self._summed(conn, filters)
        return self.direct(conn, filters) if summed is None else summed

    def keep(self, conn: Connection, filters: Filters) -> None:
        """Compute and keep the cube of ``filters``' dates (:func:`keep`'s warming)."""
        if keeping.active():
            general = self._general(filters)
            keeping.kept(self._key(general), lambda: bounded(self._cube(conn, general)))

    def _summed(self, conn: Connection, filters: Filters) -> pd.DataFrame | None:
        if not keeping.active() or not filters.has_customer_filter:
            return None
        general = self._general(filters)
        kept = keeping.prepared(self._key(general), lambda c: bounded(self._cube(c, general)), conn)
        if kept is None:
            return None
        picked = chosen(kept, filters)
        rows = [{**dict(zip(self.keys, group)), **{column: float(_total(part[column])) if column in self.exact
                                                    else _total(part[column]) for column in self.columns}}
                for group, part in picked.groupby(list(self.keys), sort=True, dropna=False)] if len(picked) else []
        return pd.DataFrame(rows, columns=[*self.keys, *self.columns])

    @staticmethod
    def _general(filters: Filters) -> Filters:
        return whole(Periods((filters,))).selection

    def _key(self, general: Filters) -> tuple:
        return ("cube", "series", self.name, general)

    def _cube(self, conn: Connection, general: Filters) -> pd.DataFrame:
        rows = conn.execute(self.query(general, attribution())).mappings().all()
        data = pd.DataFrame([dict(row) for row in rows], columns=[*self.keys, *KEYS, *self.columns])
        data["p"] = 0           # compact's period index: a series' periods are among its keys
        return compact(data, self.columns, self.exact)


def frame(parts: Sequence[tuple[Sequence, Sequence[str]]], exact: Sequence[str] = ()) -> pd.DataFrame:
    """A cube as one compact frame from the rows of one or more statements, each giving ``p``,
    :data:`KEYS` and some of the columns (a column a part does not give is 0 in its rows).
    ``exact`` columns are sums of money, kept as Decimals so that they add up exactly."""
    frames = [pd.DataFrame([dict(row) for row in rows], columns=["p", *KEYS, *names]) for rows, names in parts]
    names = list(dict.fromkeys(name for _rows, names in parts for name in names))
    return compact(pd.concat(frames, ignore_index=True), names, exact)


def compact(data: pd.DataFrame, names: Sequence[str], exact: Sequence[str] = ()) -> pd.DataFrame:
    """A cube frame (``p``, :data:`KEYS` and the sums ``names``) in compact types: counts as
    integers (missing: 0), ``exact`` sums as Decimals, the dimensions as categories."""
    data["p"] = data["p"].astype("int64")
    for name in names:
        if name in exact:
            data[name] = [Decimal(0) if v is None or v != v else v if isinstance(v, Decimal) else Decimal(str(v))
                          for v in data[name]]
        else:
            data[name] = data[name].fillna(0).astype("int64")
    data[ATTRIBUTED] = data[ATTRIBUTED].fillna(False).astype(bool)
    for dim in CUSTOMER_DIMENSIONS:
        data[dim] = data[dim].astype("category")
    return data
