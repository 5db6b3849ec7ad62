"""Source health: the data-model invariants, counted in SQL, and the valid rows of each table.

Every invariant of the canonical data model (docs/data-model.md) is one :class:`Check`
declared as data: the table, a name, the SQL condition that finds the *broken* rows, the
reason in words, and whether those rows are left out of every figure. The checks are

- NOT NULL columns that hold NULLs, duplicate primary keys;
- foreign keys that do not resolve (an order of a customer that does not exist);
- timelines that cannot happen (a ticket resolved before it was opened ...);
- timestamps after the end of the current day (the future);
- scores outside their scale, negative campaign costs.

:func:`health_report` counts the rows of every check (one aggregate scan per table, plus
one query per key check) and is cached per engine. :func:`valid_clause` is the one
definition of "a valid row of this table" used by every metric query: it contributes only
the checks that found rows, so a clean source pays nothing. Checks that need another
scan (duplicate keys, unresolved foreign keys) are added only when they found rows.

A metric query is built before it meets a connection (drill-down selects are built from
the filters alone), so :func:`valid_clause` returns a placeholder that is replaced by the
checks that failed on that connection's source when the statement is executed (an engine
``before_execute`` hook registered by this module). Compiled without a connection, the
placeholder stands for every check.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Table, and_, event, false, func, not_, or_, select, true
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select, visitors
from sqlalchemy.sql.elements import ColumnElement as _ColumnElement
from sqlalchemy.types import Boolean

from data import schema
from data.schema import SURVEY_SCALES, campaigns, customers, interactions, opportunities, orders, tickets
from i18n import N_, _, lazy, number

#: How long a health report is reused for one engine (seconds).
REPORT_TTL = 600

#: What the rows of each table are called in messages (plural; English, shown with ``_(...)``).
ROW_NOUNS: dict[str, str] = {
    "customers": N_("customers"),
    "orders": N_("orders"),
    "opportunities": N_("opportunities"),
    "campaigns": N_("campaigns"),
    "interactions": N_("interactions"),
    "tickets": N_("tickets"),
    "surveys": N_("survey answers"),
    "survey_invitations": N_("survey invitations"),
}
#: What one row of a table is called (a foreign key "refers to a customer that does not exist").
ROW_NOUN: dict[str, str] = {
    "customers": N_("customer"),
    "orders": N_("order"),
    "opportunities": N_("opportunity"),
    "campaigns": N_("campaign"),
    "interactions": N_("interaction"),
    "tickets": N_("ticket"),
    "surveys": N_("survey answer"),
    "survey_invitations": N_("survey invitation"),
}

#: Kinds of check, in the order the Data page lists them (English, shown with ``_(...)``).
KINDS: dict[str, str] = {
    "empty": N_("Required values missing"),
    "duplicate": N_("Duplicate identifiers"),
    "link": N_("Links that do not resolve"),
    "timeline": N_("Impossible timelines"),
    "future": N_("Dates in the future"),
    "range": N_("Values out of range"),
}


@dataclass(frozen=True)
class Check:
    """One invariant of one table.

    ``broken(cutoff)`` is the SQL condition true on the rows that break it (``cutoff`` is
    the end of the current day, for the checks on future dates); ``excluded`` says whether
    those rows are left out of every figure; ``scan`` is True for the checks that need a
    query of their own (duplicate keys, foreign keys) rather than a filter on the row.
    """

    table: str
    name: str
    kind: str
    reason: str
    broken: Callable[[datetime], ColumnElement[bool]]
    excluded: bool = True
    scan: bool = False

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"


def _not_null_checks() -> list[Check]:
    out = []
    for table in schema.TABLES:
        for column in table.columns:
            if column.nullable and not column.primary_key:
                continue
            out.append(Check(table.name, f"{column.name}_missing", "empty",
                             lazy("{column} is empty although it is required", column=column.name),
                             lambda _cutoff, c=column: c.is_(None)))
    return out


def _duplicate_checks() -> list[Check]:
    out = []
    for table in schema.TABLES:
        (pk,) = table.primary_key.columns
        out.append(Check(table.name, "duplicate_id", "duplicate",
                         lazy("the same {column} appears on more than one row", column=pk.name),
                         lambda _cutoff, t=table, c=pk: c.in_(_duplicate_ids(t, c)), scan=True))
    return out


def _duplicate_ids(table: Table, column) -> Select:
    return select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)


def _link_checks() -> list[Check]:
    """Foreign keys that do not resolve. Orders and opportunities without their customer are
    left out; contacts, tickets and surveys are kept as "not linked to a known customer"."""
    out = []
    for table in schema.TABLES:
        for fk in table.foreign_keys:
            child, parent = fk.parent, fk.column
            required = not child.nullable
            reason = (lazy("{column} refers to a {parent} that does not exist", column=child.name,
                           parent=lazy(ROW_NOUN[parent.table.name]))
                      if required else
                      lazy("{column} refers to a {parent} that does not exist (kept, as not linked)",
                           column=child.name, parent=lazy(ROW_NOUN[parent.table.name])))
            out.append(Check(table.name, f"{child.name}_unknown", "link", reason,
                             lambda _cutoff, c=child, p=parent: and_(
                                 c.is_not(None), c.not_in(select(p).where(p.is_not(None)))),
                             excluded=required, scan=True))
    return out


#: Pairs (earlier, later) that cannot be reversed: later happened before earlier.
TIMELINES: tuple[tuple[Table, str, str, str], ...] = (
    (tickets, "opened_at", "first_response_at", N_("first answered before they were opened")),
    (tickets, "opened_at", "resolved_at", N_("resolved before they were opened")),
    (opportunities, "created_at", "closed_at", N_("closed before they were created")),
    (customers, "created_at", "engaged_at", N_("engaged before the record was created")),
    (customers, "created_at", "acquired_at", N_("acquired before the record was created")),
    (campaigns, "started_at", "ended_at", N_("ended before they started")),
)


def _timeline_checks() -> list[Check]:
    return [Check(t.name, f"{later}_before_{earlier}", "timeline", lazy(reason),
                  lambda _cutoff, a=t.c[earlier], b=t.c[later]: b < a)
            for t, earlier, later, reason in TIMELINES]


#: Timestamps that may lie in the future (a campaign planned to end later).
MAY_BE_FUTURE = {("campaigns", "ended_at")}


def _future_checks() -> list[Check]:
    out = []
    for table in schema.TABLES:
        for column in table.columns:
            if column.name.endswith("_at") and (table.name, column.name) not in MAY_BE_FUTURE:
                if column.name == "updated_at":
                    reason = lazy("{column} is after today", column=column.name)
                else:
                    reason = lazy("{column} is after today (an event that has not happened yet)", column=column.name)
                out.append(Check(table.name, f"{column.name}_future", "future", reason,
                                 lambda cutoff, c=column: c >= cutoff))
    return out


def _survey_score_out_of_scale(_cutoff) -> ColumnElement[bool]:
    s = schema.surveys.c
    within = or_(*[and_(s.kind == kind, s.score >= lo, s.score <= hi) for kind, (lo, hi) in SURVEY_SCALES.items()])
    return and_(s.score.is_not(None), not_(within))


RANGE_CHECKS: tuple[Check, ...] = (
    Check("surveys", "score_out_of_scale", "range",
          lazy("score outside the scale of its survey (NPS 0-10, CSAT 1-5, CES 1-7)"), _survey_score_out_of_scale),
    Check("tickets", "csat_out_of_scale", "range", lazy("csat outside 1-5"),
          lambda _cutoff: or_(tickets.c.csat < 1, tickets.c.csat > 5)),
    Check("tickets", "contacts_below_one", "range", lazy("contacts_to_resolve below 1"),
          lambda _cutoff: tickets.c.contacts_to_resolve < 1),
    Check("campaigns", "cost_negative", "range", lazy("cost is negative"),
          lambda _cutoff: campaigns.c.cost < 0),
)

#: Every check, declared once.
CHECKS: tuple[Check, ...] = (*_not_null_checks(), *_duplicate_checks(), *_link_checks(), *_timeline_checks(),
                             *_future_checks(), *RANGE_CHECKS)
CHECKS_BY_KEY: dict[str, Check] = {c.key: c for c in CHECKS}


def checks_of(table: str) -> list[Check]:
    return [c for c in CHECKS if c.table == table]


# --------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class Finding:
    """A check that found rows."""

    table: str
    check: str
    kind: str
    reason: str
    rows: int
    excluded: bool

    @property
    def key(self) -> str:
        return f"{self.table}.{self.check}"

    def sentence(self) -> str:
        """"12 tickets left out: resolved before they were opened" (in the current language)."""
        noun = _(ROW_NOUNS[self.table])
        if self.excluded:
            return _("{rows} {noun} left out: {reason}").format(rows=number(self.rows), noun=noun, reason=self.reason)
        return _("{rows} {noun}: {reason}").format(rows=number(self.rows), noun=noun, reason=self.reason)

    def as_dict(self) -> dict:
        return {"table": self.table, "check": self.check, "rows": self.rows, "excluded": self.excluded}


@dataclass(frozen=True)
class HealthReport:
    """The rows each check found in a source, seen at ``checked_at`` (cutoff = end of that day)."""

    checked_at: datetime
    cutoff: datetime
    counts: dict[str, int]  # check key -> broken rows
    excluded_rows: dict[str, int] = field(default_factory=dict)  # table -> rows left out (any check)

    @property
    def findings(self) -> list[Finding]:
        out = []
        for check in CHECKS:
            rows = self.counts.get(check.key, 0)
            if rows:
                out.append(Finding(check.table, check.name, check.kind, check.reason, rows, check.excluded))
        return out

    @property
    def failing(self) -> frozenset[str]:
        return frozenset(k for k, n in self.counts.items() if n)

    def findings_for(self, *tables: str) -> list[Finding]:
        return [f for f in self.findings if f.table in tables]

    def data_issues(self) -> list[dict]:
        """The failed checks as ``{"table", "check", "rows", "excluded"}`` (CLI JSON)."""
        return [f.as_dict() for f in self.findings]

    @property
    def clean(self) -> bool:
        return not self.failing


def cutoff_for(today: date) -> datetime:
    """The end of ``today``: a timestamp at or after it has not happened yet."""
    return datetime(today.year, today.month, today.day) + timedelta(days=1)


def count_checks(conn: Connection, today: date | None = None) -> HealthReport:
    """Run every check on the source (one aggregate scan per table, one query per key check)."""
    from metrics.sql import count_if  # local: metrics.sql imports nothing of ours, but keep health standalone

    cutoff = cutoff_for(today or date.today())
    counts: dict[str, int] = {}
    excluded_rows: dict[str, int] = {}
    for table in schema.TABLES:
        checks = checks_of(table.name)
        row_checks = [c for c in checks if not c.scan]
        row_values = conn.execute(select(*[count_if(c.broken(cutoff)).label(c.name) for c in row_checks],
                                         func.count().label("__rows"))
                                  .select_from(table)).one()
        for check, n in zip(row_checks, row_values):
            counts[check.key] = int(n or 0)
        for check in (c for c in checks if c.scan):
            n = conn.execute(select(func.count()).select_from(table).where(check.broken(cutoff))).scalar()
            counts[check.key] = int(n or 0)
        failing = [c for c in checks if c.excluded and counts[c.key]]
        if failing:
            n = conn.execute(select(func.count()).select_from(table)
                             .where(or_(*[c.broken(cutoff) for c in failing]))).scalar()
            excluded_rows[table.name] = int(n or 0)
    return HealthReport(checked_at=datetime.now().replace(microsecond=0), cutoff=cutoff, counts=counts,
                        excluded_rows=excluded_rows)


_REPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Engine -> (monotonic time, report)
_LOCK = threading.Lock()
_ENGINE_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_RESOLVING = threading.local()


def health_report(conn: Connection, refresh: bool = False) -> HealthReport:
    """The source's health report, computed once per engine and reused for REPORT_TTL seconds."""
    engine = conn.engine
    with _LOCK:
        engine_lock = _ENGINE_LOCKS.setdefault(engine, threading.Lock())
    with engine_lock:
        cached = _REPORTS.get(engine)
        if cached and not refresh and time.monotonic() - cached[0] < REPORT_TTL \
                and cached[1].cutoff > datetime.now():
            return cached[1]
        _RESOLVING.active = True
        try:
            report = count_checks(conn)
        finally:
            _RESOLVING.active = False
        _REPORTS[engine] = (time.monotonic(), report)
        return report


def forget(engine: Engine) -> None:
    """Drop the cached report of ``engine`` (the next query checks the source again)."""
    _REPORTS.pop(engine, None)


# --------------------------------------------------------------------------- valid rows
def exclusion_clause(table: Table, failing: frozenset[str] | None, cutoff: datetime) -> ColumnElement[bool]:
    """True on the rows of ``table`` that pass the excluding checks in ``failing`` (None = all)."""
    broken = [c.broken(cutoff) for c in checks_of(table.name)
              if c.excluded and (failing is None or c.key in failing)]
    if not broken:
        return true()
    # NULL-safe: a condition that is NULL on a row (a missing value) does not break the row
    return and_(*[not_(func.coalesce(b, false())) for b in broken])


class ValidRows(_ColumnElement):
    """Placeholder for "this row of ``table`` is valid", resolved per connection at execution."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, table: Table):
        self.table = table

    def _copy_internals(self, **kw):  # nothing inside to copy
        pass

    def get_children(self, **kw):
        return ()


@compiles(ValidRows)
def _compile_valid(element: ValidRows, compiler, **kw) -> str:
    # compiled without a connection (printing a query): every excluding check
    return compiler.process(exclusion_clause(element.table, None, cutoff_for(date.today())), **kw)


def valid_clause(table: Table) -> ColumnElement[bool]:
    """The rows of ``table`` that every figure may use (the source's failing checks left out)."""
    return ValidRows(table)


def valid(table: Table) -> Select:
    """``SELECT * FROM table WHERE <valid>``: the valid rows of ``table`` as a selectable."""
    return select(table).where(valid_clause(table))


def invalid(table: Table, check: Check) -> Select:
    """The rows of ``table`` that break ``check`` (the drill-down of the Data page)."""
    (pk,) = table.primary_key.columns
    return select(table).where(check.broken(cutoff_for(date.today()))).order_by(pk)


def broken_records(check_key: str) -> Select:
    """The rows that break the check called ``check_key`` ("tickets.resolved_at_before_opened_at")."""
    check = CHECKS_BY_KEY.get(check_key)
    if check is None:
        raise ValueError(f"no such check: {check_key!r}")
    return invalid(schema.table(check.table), check)


def check_table(report: HealthReport) -> list[dict]:
    """Every check with its count, failed ones first (the Data page's list)."""
    rows = [{"key": c.key, "table": c.table, "kind": KINDS[c.kind], "reason": c.reason,
             "rows": report.counts.get(c.key, 0), "excluded": c.excluded} for c in CHECKS]
    return sorted(rows, key=lambda r: (r["rows"] == 0, list(KINDS.values()).index(r["kind"]), r["table"]))


def _resolve(statement, report: HealthReport):
    def replace(element):
        if isinstance(element, ValidRows):
            return exclusion_clause(element.table, report.failing, report.cutoff)
        return None

    return visitors.replacement_traverse(statement, {}, replace)


def _has_placeholder(statement) -> bool:
    return any(isinstance(e, ValidRows) for e in visitors.iterate(statement))


@event.listens_for(Engine, "before_execute", retval=True)
def _before_execute(conn, clauseelement, multiparams, params, execution_options):
    """Replace the ValidRows placeholders by the checks that failed on this source."""
    if getattr(_RESOLVING, "active", False) or not hasattr(clauseelement, "_from_objects"):
        return clauseelement, multiparams, params
    if not _has_placeholder(clauseelement):
        return clauseelement, multiparams, params
    report = health_report(conn)
    return _resolve(clauseelement, report), multiparams, params


def exclusion_notes(report: HealthReport, tables: tuple[str, ...]) -> list[str]:
    """The sentences that tell a view which rows it left out ("12 tickets left out: ...")."""
    return [f.sentence() for f in report.findings_for(*tables) if f.excluded]


__all__ = ["CHECKS", "Check", "Finding", "HealthReport", "count_checks", "health_report", "valid", "valid_clause",
           "invalid", "broken_records", "check_table", "exclusion_notes", "KINDS", "ROW_NOUNS"]
