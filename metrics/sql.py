"""Portable SQL building blocks (DuckDB, PostgreSQL, Spark SQL and other ANSI-ish dialects).

Only constructs that both embedded DuckDB and PostgreSQL accept: ``EXTRACT(epoch ...)``,
``percentile_cont(p) WITHIN GROUP (ORDER BY x)``, ``date_trunc``, ``CASE``. Results are
cast to float so that PostgreSQL's numerics do not arrive as Decimal.

Spark SQL (PyHive's ``hive`` dialect over the Thrift server) differs in a few places;
the metric queries stay one code path and the differences are compiled here, in the
``@compiles`` hooks at the end of this module:

- ``EXTRACT(epoch FROM ts)`` does not exist: ``unix_micros(ts) / 1e6`` (exact to the
  microsecond, like DuckDB's and PostgreSQL's epoch);
- the dialect's type compiler writes ``Numeric(p, s)`` as bare ``DECIMAL`` (= DECIMAL(10,0),
  silently dropping the cents) and ``Date`` as ``TIMESTAMP``: both are written in full;
- ``.offset(n)`` without ``.limit()`` renders ``LIMIT -1``, which Spark rejects: the
  largest limit Spark takes is used instead.
Medians need nothing: Spark's ``percentile_cont(p) WITHIN GROUP (ORDER BY x)`` is the
same exact linear interpolation between order statistics as DuckDB's and PostgreSQL's.
Timestamps are naive UTC everywhere: the Spark source pins ``spark.sql.session.timeZone``
to UTC on every connection (data/sources.py).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Date, Double, Integer, Numeric, Select, case, cast, extract, func, literal
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import Extract, Label, UnaryExpression
from sqlalchemy.sql.functions import FunctionElement

EPOCH = datetime(1970, 1, 1)
DAY = 86_400.0
HOUR = 3_600.0


def as_float(expr) -> ColumnElement[float]:
    return cast(expr, Double)


def epoch(expr) -> ColumnElement[float]:
    """Seconds since 1970 of a timestamp column or a Python datetime (bound)."""
    if isinstance(expr, datetime):  # naive UTC, computed here and bound as a number
        return literal((expr - EPOCH).total_seconds(), Double)
    return as_float(extract("epoch", expr))


def seconds_between(start, end) -> ColumnElement[float]:
    """``end - start`` in seconds (NULL when either is NULL)."""
    return epoch(end) - epoch(start)


def percentile(p: float, expr) -> ColumnElement[float]:
    """Continuous percentile ``p`` of ``expr`` (NULLs ignored; NULL when nothing is left)."""
    return as_float(func.percentile_cont(p).within_group(expr))


def count_if(condition) -> ColumnElement[int]:
    return cast(func.coalesce(func.sum(case((condition, 1), else_=0)), 0), Integer)


class distinct_key(FunctionElement):
    """A stand-in for a text column in ``min(key) <> max(key)`` ("at least two distinct
    values"): the column itself, or on DuckDB its 64-bit hash (NULL kept NULL), which the
    grouping compares faster than text (the per-customer departments of 44M interactions:
    0.18 s instead of 0.26 s a period at 1M customers). Two different values are taken for
    one only if their hashes collide: for a thousand different values, a chance of about
    3 in 10^14. The key is compared, never fetched."""

    inherit_cache = True
    name = "distinct_key"


@compiles(distinct_key)
def _distinct_key(element, compiler, **kw):
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(distinct_key, "duckdb")
def _distinct_key_duckdb(element, compiler, **kw):
    expr = next(iter(element.clauses))
    return compiler.process(case((expr.is_not(None), func.hash(expr))), **kw)


def month_index(expr) -> ColumnElement[int]:
    """Months since year 0 of a timestamp: differences give calendar-month distances."""
    return cast(extract("year", expr) * 12 + extract("month", expr), Integer)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None (no data) when the denominator is 0 or missing."""
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def fetch_frame(conn: Connection, query: Executable, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame with ``columns`` (default: the query's own).

    On DuckDB the result is read column-wise (its NumPy/Arrow conversion), not as Python
    row objects: for a row per customer at a million customers that is the difference
    between a fraction of a second and many seconds and hundreds of MB of Python objects.
    Other engines go through SQLAlchemy's rows.
    """
    result = conn.execute(query)
    cursor = result.cursor
    if conn.dialect.name == "duckdb" and hasattr(cursor, "fetch_df"):
        frame = cursor.fetch_df()
        result.close()
        return frame if columns is None else frame[columns]
    return pd.DataFrame(result.mappings().all(), columns=columns or list(result.keys()))


# ---- Spark SQL (see the module docstring); dialect names of Spark SQL clients
SPARK_DIALECTS = ("hive", "databricks")
#: The largest LIMIT Spark accepts (a 32-bit int), for an OFFSET without a limit.
SPARK_MAX_LIMIT = 2**31 - 1


def _for_spark(kind):
    """Register a compiler function for ``kind`` on every Spark SQL dialect."""
    def register(fn):
        for name in SPARK_DIALECTS:
            compiles(kind, name)(fn)
        return fn
    return register


@_for_spark(Extract)
def _spark_extract(element, compiler, **kw):
    if element.field.lower() == "epoch":
        return f"(unix_micros({compiler.process(element.expr, **kw)}) / 1000000.0D)"
    return compiler.visit_extract(element, **kw)


@_for_spark(Numeric)
def _spark_decimal(element, compiler, **kw):
    if element.precision is None:  # Spark's bare DECIMAL is DECIMAL(10,0)
        return "DECIMAL(38,10)"
    return f"DECIMAL({element.precision},{element.scale or 0})"


@_for_spark(Date)
def _spark_date(element, compiler, **kw):
    return "DATE"


@_for_spark(Select)
def _spark_select(element, compiler, **kw):
    if element._offset_clause is not None and element._limit_clause is None:
        element = element.limit(SPARK_MAX_LIMIT)
    return compiler.visit_select(_order_by_labels(element), **kw)


def _order_by_labels(element: Select) -> Select:
    """A grouped select ordered by an aggregate that it also selects under a label, ordered by
    that label instead: Spark cannot resolve the aggregate in ORDER BY once the select list
    has a window function (a page of records with ``count(*) OVER ()``, metrics/drilldown.py)."""
    if not element._group_by_clauses or not element._order_by_clauses:
        return element
    labels = [c for c in element._raw_columns if isinstance(c, Label)]

    def by_label(clause):
        inner = clause.element if isinstance(clause, UnaryExpression) else clause
        direction = getattr(clause, "modifier", None)
        for label in labels:
            if inner.compare(label.element):
                return label.desc() if direction is operators.desc_op else label.asc() if direction is \
                    operators.asc_op else label if direction is None else clause
        return clause

    ordered = [by_label(c) for c in element._order_by_clauses]
    return element.order_by(None).order_by(*ordered)
