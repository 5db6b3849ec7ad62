"""Drill-down: the records behind a KPI, a breakdown cell, a funnel stage or a cohort cell.

Every ``*_records(filters, ...)`` function of the metric modules returns a SQLAlchemy
``Select`` over the same filters as the figure it explains. This module pages it.
A breakdown cell is the same select with the cell's dimension value added to the
filters (``filters.with_values(segment="SMB")``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from metrics.catalogue import KPIS
from metrics.filters import Filters

MAX_PAGE_SIZE = 10_000
#: The column :func:`page` adds for the count of every record (dropped from the rows).
TOTAL_COLUMN = "records_in_total__"


@dataclass(frozen=True)
class Page:
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def page(conn: Connection, query: Select, page_number: int = 0, page_size: int = 100) -> Page:
    """Rows ``page_number * page_size`` onwards of ``query`` (keeps its order), and the total."""
    if page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page_number < 0:
        raise ValueError("page_number must be 0 or more")
    if isinstance(query, Select) and not query._distinct:
        # one statement: the page's rows, each with the count of every row (a window over
        # the whole result, computed before the limit), instead of a count and then the page
        counted = query.add_columns(func.count().over().label(TOTAL_COLUMN))
        result = conn.execute(counted.limit(page_size).offset(page_number * page_size))
        columns = [c for c in result.keys() if c != TOTAL_COLUMN]
        found = result.mappings().all()
        if found:
            rows = pd.DataFrame([{c: row[c] for c in columns} for row in found], columns=columns)
            return Page(rows, int(found[0][TOTAL_COLUMN]), page_number, page_size)
        rows = pd.DataFrame([], columns=columns)    # an empty page: the total needs its own count
        total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
        return Page(rows, int(total), page_number, page_size)
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    result = conn.execute(query.limit(page_size).offset(page_number * page_size))
    rows = pd.DataFrame(result.mappings().all(), columns=list(result.keys()))
    return Page(rows, int(total), page_number, page_size)


def all_rows(conn: Connection, query: Select, limit: int = 100_000) -> pd.DataFrame:
    """Every row of ``query`` up to ``limit`` (for CSV downloads)."""
    result = conn.execute(query.limit(limit))
    return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def kpi_records(filters: Filters, kpi_name: str) -> Select:
    """The records behind a catalogue KPI for the filters."""
    kpi = KPIS[kpi_name]
    if kpi.records is None:
        raise ValueError(f"{kpi.label} is computed from other KPIs; it has no records of its own")
    return kpi.records(filters)


#: Columns a records list can be narrowed by (the first one a query has is offered).
STATUS_COLUMNS = ("sla_status", "status")


def status_column(query: Select) -> str | None:
    """The column of ``query`` that records a status (SLA status, deal status), if any."""
    names = {c.name for c in query.selected_columns}
    return next((c for c in STATUS_COLUMNS if c in names), None)


def status_values(conn: Connection, query: Select) -> list[str]:
    """The statuses present in ``query``'s records, in order."""
    column = status_column(query)
    if column is None:
        return []
    sub = query.order_by(None).subquery()
    return [v for (v,) in conn.execute(select(sub.c[column]).where(sub.c[column].is_not(None))
                                       .distinct().order_by(sub.c[column]))]


def with_status(query: Select, statuses: tuple[str, ...]) -> Select:
    """``query`` narrowed to records whose status is one of ``statuses`` (all when empty); order kept."""
    column = status_column(query)
    if column is None or not statuses:
        return query
    return query.where(query.selected_columns[column].in_(statuses))
