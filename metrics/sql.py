"""Portable SQL building blocks (DuckDB, PostgreSQL and other ANSI-ish dialects).

Only constructs that both embedded DuckDB and PostgreSQL accept: ``EXTRACT(epoch ...)``,
``percentile_cont(p) WITHIN GROUP (ORDER BY x)``, ``date_trunc``, ``CASE``. Results are
cast to float so that PostgreSQL's numerics do not arrive as Decimal.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Double, Integer, case, cast, extract, func, literal
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Executable

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
