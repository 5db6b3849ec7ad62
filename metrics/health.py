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

import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Table, and_, event, false, func, literal, not_, or_, select, text, true
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.elements import ColumnElement as _ColumnElement
from sqlalchemy.types import Boolean

from data import schema
from data.cache import cache_dir, source_fingerprint
from data.schema import SURVEY_SCALES, campaigns, customers, opportunities, tickets
from i18n import N_, Text, _, lazy, number

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
    query of their own (duplicate keys, foreign keys) rather than a filter on the row;
    ``column`` is the column a missing-value, duplicate or link check is about.
    """

    table: str
    name: str
    kind: str
    reason: str
    broken: Callable[[datetime], ColumnElement[bool]]
    excluded: bool = True
    scan: bool = False
    column: str = ""

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"


def _field(column: str) -> Text:
    """A column as a reason names it: "acquisition date", translated where shown."""
    return lazy(schema.FIELD_NAMES[column])


def _not_null_checks() -> list[Check]:
    out = []
    for table in schema.TABLES:
        for column in table.columns:
            if column.nullable and not column.primary_key:
                continue
            out.append(Check(table.name, f"{column.name}_missing", "empty",
                             lazy("{column} is empty although it is required", column=_field(column.name)),
                             lambda _cutoff, c=column: c.is_(None), column=column.name))
    return out


def _duplicate_checks() -> list[Check]:
    out = []
    for table in schema.TABLES:
        (pk,) = table.primary_key.columns
        out.append(Check(table.name, "duplicate_id", "duplicate",
                         lazy("the same {column} appears on more than one row", column=_field(pk.name)),
                         lambda _cutoff, t=table, c=pk: c.in_(_duplicate_ids(t, c)), scan=True,
                         column=pk.name))
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
            reason = (lazy("{column} refers to a {parent} that does not exist", column=_field(child.name),
                           parent=lazy(ROW_NOUN[parent.table.name]))
                      if required else
                      lazy("{column} refers to a {parent} that does not exist (kept, as not linked)",
                           column=_field(child.name), parent=lazy(ROW_NOUN[parent.table.name])))
            out.append(Check(table.name, f"{child.name}_unknown", "link", reason,
                             lambda _cutoff, c=child, p=parent: and_(
                                 c.is_not(None), c.not_in(select(p).where(p.is_not(None)))),
                             excluded=required, scan=True, column=child.name))
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
                    reason = lazy("{column} is after today", column=_field(column.name))
                else:
                    reason = lazy("{column} is after today (an event that has not happened yet)", column=_field(column.name))
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
    Check("tickets", "csat_out_of_scale", "range", lazy("{column} outside 1-5", column=_field("csat")),
          lambda _cutoff: or_(tickets.c.csat < 1, tickets.c.csat > 5)),
    Check("tickets", "contacts_below_one", "range", lazy("{column} below 1", column=_field("contacts_to_resolve")),
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


#: Constraints each kind of source enforces on every write: a check they make impossible is not
#: run (its count is 0 by construction). A declared PRIMARY KEY or UNIQUE column cannot hold
#: duplicates, a NOT NULL column no NULLs. Foreign keys are trusted on DuckDB only: PostgreSQL
#: can load rows with its triggers disabled (``pg_restore --disable-triggers``), SQLite checks
#: them only when asked to, and Spark never does.
ENFORCED: dict[str, frozenset[str]] = {
    "duckdb": frozenset({"not_null", "unique", "foreign"}),
    "postgresql": frozenset({"not_null", "unique"}),
}

_DUCKDB_CONSTRAINTS = text(
    "SELECT table_name, constraint_type, constraint_column_names, referenced_table, referenced_column_names "
    "FROM duckdb_constraints() WHERE schema_name = current_schema()")
_POSTGRESQL_CONSTRAINTS = text(
    "SELECT c.relname, a.attname, a.attnotnull, EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid "
    "AND k.contype IN ('p', 'u') AND k.conkey = ARRAY[a.attnum]) FROM pg_class c "
    "JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relname = ANY(:names) AND c.relkind IN ('r', 'p') "
    "AND pg_table_is_visible(c.oid) AND a.attnum > 0 AND NOT a.attisdropped")


def enforced_constraints(conn: Connection) -> frozenset[tuple[str, str, str]]:
    """(table, column, kind) of the single-column constraints the source enforces, kind one of
    "not_null", "unique", "foreign" (a foreign key to the parent the data model declares)."""
    kinds = ENFORCED.get(conn.dialect.name, frozenset())
    found: set[tuple[str, str, str]] = set()
    if conn.dialect.name == "duckdb":
        parents = {(t.name, fk.parent.name): (fk.column.table.name, fk.column.name)
                   for t in schema.TABLES for fk in t.foreign_keys}
        for table, kind, columns, referenced, referenced_columns in conn.execute(_DUCKDB_CONSTRAINTS):
            if len(columns or ()) != 1:
                continue
            column = columns[0]
            if kind in ("PRIMARY KEY", "UNIQUE"):
                found.add((table, column, "unique"))
            if kind in ("PRIMARY KEY", "NOT NULL"):
                found.add((table, column, "not_null"))
            if kind == "FOREIGN KEY" and parents.get((table, column)) == (referenced, *(referenced_columns or [""])[:1]):
                found.add((table, column, "foreign"))
    elif conn.dialect.name == "postgresql":
        names = [t.name for t in schema.TABLES]
        for table, column, not_null, unique in conn.execute(_POSTGRESQL_CONSTRAINTS, {"names": names}):
            if not_null:
                found.add((table, column, "not_null"))
            if unique:
                found.add((table, column, "unique"))
    return frozenset(f for f in found if f[2] in kinds)


def _guaranteed(check: Check, enforced: frozenset[tuple[str, str, str]]) -> bool:
    """True when the source's own constraints make ``check`` impossible to break."""
    kind = {"empty": "not_null", "duplicate": "unique", "link": "foreign"}.get(check.kind)
    return kind is not None and (check.table, check.column, kind) in enforced


def _scan_count(conn: Connection, table: Table, check: Check) -> int:
    """The rows breaking a key check, in one aggregate: duplicate identifiers as the rows of the
    groups of an identifier seen more than once, unknown references as an anti-join."""
    if check.kind == "duplicate":
        (pk,) = table.primary_key.columns
        groups = (select(func.count().label("n")).select_from(table).where(pk.is_not(None))
                  .group_by(pk).having(func.count() > 1).subquery())
        return int(conn.execute(select(func.coalesce(func.sum(groups.c.n), 0))).scalar() or 0)
    child = table.c[check.column]
    (fk,) = child.foreign_keys
    parent = fk.column
    statement = (select(func.count()).select_from(table.outerjoin(parent.table, child == parent))
                 .where(child.is_not(None), parent.is_(None)))
    return int(conn.execute(statement).scalar() or 0)


def _count_table(conn: Connection, table: Table, cutoff: datetime, enforced: frozenset[tuple[str, str, str]],
                 known: dict[str, int] | None = None) -> tuple[dict[str, int], int]:
    """The counts of every check of ``table`` and the rows it leaves out: the row checks in
    one aggregate scan, each key check in one query (taken from ``known`` when given)."""
    from metrics.sql import count_if  # local: metrics.sql imports nothing of ours, but keep health standalone

    checks = checks_of(table.name)
    counts = {c.key: 0 for c in checks if _guaranteed(c, enforced)}
    row_checks = [c for c in checks if not c.scan and c.key not in counts]
    excluding_rows = [c.broken(cutoff) for c in row_checks if c.excluded]
    columns = [count_if(c.broken(cutoff)) for c in row_checks]
    columns.append(count_if(or_(*excluding_rows)) if excluding_rows else literal(0))
    *values, row_excluded = conn.execute(select(*columns).select_from(table)).one()
    counts.update({c.key: int(n or 0) for c, n in zip(row_checks, values)})
    for check in (c for c in checks if c.scan and c.key not in counts):
        counts[check.key] = known[check.key] if known is not None else _scan_count(conn, table, check)
    failing_scans = [c for c in checks if c.scan and c.excluded and counts[c.key]]
    if not failing_scans:
        return counts, int(row_excluded or 0)
    failing = [c.broken(cutoff) for c in checks if c.excluded and counts[c.key]]
    excluded = conn.execute(select(func.count()).select_from(table).where(or_(*failing))).scalar()
    return counts, int(excluded or 0)


def count_checks(conn: Connection, today: date | None = None) -> HealthReport:
    """Run every check on the source: per table one aggregate scan for the row checks and one
    query per key check, skipping what the source's own constraints already guarantee."""
    cutoff = cutoff_for(today or date.today())
    enforced = enforced_constraints(conn)
    counts: dict[str, int] = {}
    excluded_rows: dict[str, int] = {}
    for table in schema.TABLES:
        table_counts, excluded = _count_table(conn, table, cutoff, enforced)
        counts.update(table_counts)
        if excluded:
            excluded_rows[table.name] = excluded
    return HealthReport(checked_at=datetime.now().replace(microsecond=0), cutoff=cutoff, counts=counts,
                        excluded_rows=excluded_rows)


def rolled_over(conn: Connection, report: HealthReport, today: date | None = None) -> HealthReport:
    """``report`` on a later day of the same data: only the tables whose future-date checks
    found rows are counted again (a row in the future may have become the past; a row
    that was not in the future cannot become so), their key checks reused."""
    cutoff = cutoff_for(today or date.today())
    tables = {CHECKS_BY_KEY[k].table for k in report.failing if k in CHECKS_BY_KEY
              and CHECKS_BY_KEY[k].kind == "future"}
    counts, excluded_rows = dict(report.counts), dict(report.excluded_rows)
    enforced = enforced_constraints(conn) if tables else frozenset()
    for name in sorted(tables):
        table_counts, excluded = _count_table(conn, schema.table(name), cutoff, enforced, known=report.counts)
        counts.update(table_counts)
        excluded_rows.pop(name, None)
        if excluded:
            excluded_rows[name] = excluded
    return HealthReport(checked_at=datetime.now().replace(microsecond=0), cutoff=cutoff, counts=counts,
                        excluded_rows=excluded_rows)


# --------------------------------------------------------------------------- kept on disk
#: Bumped when a check's definition changes, so that reports counted by older code are not reused.
REPORT_FORMAT = 1
#: How long a report is used without asking the source whether it changed (seconds): within
#: it a page pays nothing for the checks, beyond it one fingerprint query per table.
VERIFY_SECONDS = 60


def _checks_version() -> str:
    payload = json.dumps([REPORT_FORMAT, sorted(CHECKS_BY_KEY)])
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def report_key(conn: Connection) -> str:
    """What a report is kept under: the source's fingerprint (its URL, rows and date span per
    table, and the engine's change marker: a database file's size and time of change)."""
    url = conn.engine.url.render_as_string(hide_password=True)
    return source_fingerprint(conn, url)


def report_path(key: str) -> Path:
    return cache_dir() / f"health-{key}.json"


def save_report(key: str, report: HealthReport) -> Path | None:
    """Write ``report`` under ``key`` (atomically); None when the folder cannot be written."""
    payload = {"format": REPORT_FORMAT, "checks": _checks_version(), "key": key,
               "checked_at": report.checked_at.isoformat(), "cutoff": report.cutoff.isoformat(),
               "counts": report.counts, "excluded_rows": report.excluded_rows}
    try:
        path = report_path(key)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(json.dumps(payload, sort_keys=True))
        os.replace(partial, path)
        return path
    except OSError as exc:
        logging.getLogger("crm.health").warning("health report not kept on disk: %s", exc)
        return None


def load_report(key: str) -> HealthReport | None:
    """The report kept under ``key``, or None (none kept, unreadable, or from other checks)."""
    try:
        payload = json.loads(report_path(key).read_text())
        if payload.get("format") != REPORT_FORMAT or payload.get("checks") != _checks_version() \
                or payload.get("key") != key:
            return None
        return HealthReport(checked_at=datetime.fromisoformat(payload["checked_at"]),
                            cutoff=datetime.fromisoformat(payload["cutoff"]),
                            counts={str(k): int(v) for k, v in payload["counts"].items()},
                            excluded_rows={str(k): int(v) for k, v in payload["excluded_rows"].items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass
class _Known:
    verified: float  # time.monotonic() when the fingerprint was last read
    key: str
    report: HealthReport


_REPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Engine -> _Known
_LOCK = threading.Lock()
#: One count at a time per source (its URL), whichever of its engines asks: a second engine
#: on the same source (the server's start opens one, pages/serve.py) waits, then reads the
#: report the first kept on disk.
_SOURCE_LOCKS: dict[str, threading.Lock] = {}
_RESOLVING = threading.local()


def health_report(conn: Connection, refresh: bool = False) -> HealthReport:
    """The source's health report, counted once per data refresh.

    Within VERIFY_SECONDS of the last look the report in memory is used as it is; after that
    the source's fingerprint is read (``report_key``): unchanged, the report is kept; changed,
    the report kept on disk for the new fingerprint is used, or the checks are counted and
    kept there (so a restarted server or the command line reuses them). After midnight the
    future-date checks are brought to the new day (``rolled_over``). ``refresh`` counts again.
    """
    engine = conn.engine
    with _LOCK:
        source_lock = _SOURCE_LOCKS.setdefault(engine.url.render_as_string(hide_password=False), threading.Lock())
    with source_lock:
        known = _REPORTS.get(engine)
        now = datetime.now()
        if known and not refresh and time.monotonic() - known.verified < VERIFY_SECONDS and known.report.cutoff > now:
            return known.report
        _RESOLVING.active = True
        try:
            key = report_key(conn)
            report = None
            if not refresh:
                report = known.report if known and known.key == key else load_report(key)
            if report is None:
                report = count_checks(conn)
                save_report(key, report)
            elif report.cutoff <= now:
                report = rolled_over(conn, report)
                save_report(key, report)
        finally:
            _RESOLVING.active = False
        _REPORTS[engine] = _Known(time.monotonic(), key, report)
        return report


def forget(engine: Engine) -> None:
    """Drop the report of ``engine`` kept in memory (the next query looks at the source again)."""
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
    """Placeholder for "this row of ``table`` is valid", resolved per connection at execution.

    Its cache key is the table and the checks it resolves to on the executing connection
    (those that failed, and the day's cutoff), so that SQLAlchemy compiles a statement once
    and reuses its SQL until the source's checks change.
    """

    type = Boolean()

    def __init__(self, table: Table):
        self.table = table

    def _copy_internals(self, **kw):  # nothing inside to copy
        pass

    def get_children(self, **kw):
        return ()

    def _gen_cache_key(self, anon_map, bindparams):
        pending = getattr(_EXECUTING, "pending", None)
        report = None if pending is None else pending.report()
        resolved = None if report is None else (sorted(report.failing), report.cutoff)
        return (self.__class__, self.table.name, repr(resolved))


class _Executing:
    """A statement about to be compiled for execution on ``conn``; the source's health report
    is read when a placeholder of the statement first asks for it (a statement without one,
    or run on another database than a source, never reads it)."""

    def __init__(self, statement, conn: Connection):
        self.statement, self.conn, self._report = statement, conn, None

    def report(self) -> HealthReport:
        if self._report is None:
            self._report = health_report(self.conn)
        return self._report


#: Per thread: the statement about to be compiled for execution (set by
#: :func:`_before_execute`, cleared once it ran).
_EXECUTING = threading.local()


@compiles(ValidRows)
def _compile_valid(element: ValidRows, compiler, **kw) -> str:
    pending = getattr(_EXECUTING, "pending", None)
    if pending is not None and pending.statement is compiler.statement:   # executed: the checks that failed
        report = pending.report()
        clause = exclusion_clause(element.table, report.failing, report.cutoff)
    else:   # compiled without a connection (printing a query): every excluding check
        clause = exclusion_clause(element.table, None, cutoff_for(date.today()))
    return compiler.process(clause, **kw)


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


@event.listens_for(Engine, "before_execute")
def _before_execute(conn, clauseelement, multiparams, params, execution_options):
    """Have the ValidRows placeholders of ``clauseelement`` compiled as the checks that failed
    on this source. The statement is compiled right after this event, in this thread; the
    placeholders are resolved there (the report read when the first of them asks: no walk
    of the statement here) rather than by copying the statement with them replaced (which
    took 20 ms for a family's statement, every time it ran). The statements that read the
    report itself are left alone."""
    if getattr(_RESOLVING, "active", False) or not hasattr(clauseelement, "_from_objects"):
        return
    _EXECUTING.pending = _Executing(clauseelement, conn)
    # a statement keeps its cache key once made; made again, it names the checks as they are now
    clauseelement.__dict__.pop("_generate_cache_key", None)


@event.listens_for(Engine, "after_execute")
def _after_execute(conn, clauseelement, *args):
    if not getattr(_RESOLVING, "active", False):   # not a statement reading the report
        _EXECUTING.pending = None


@event.listens_for(Engine, "handle_error")
def _after_failure(context):
    if not getattr(_RESOLVING, "active", False):
        _EXECUTING.pending = None


def exclusion_notes(report: HealthReport, tables: tuple[str, ...]) -> list[str]:
    """The sentences that tell a view which rows it left out ("12 tickets left out: ...")."""
    return [f.sentence() for f in report.findings_for(*tables) if f.excluded]


__all__ = ["CHECKS", "Check", "Finding", "HealthReport", "count_checks", "health_report", "valid", "valid_clause",
           "invalid", "broken_records", "check_table", "exclusion_notes", "KINDS", "ROW_NOUNS"]
