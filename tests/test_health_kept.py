"""The health report counted once per data refresh: checks the source's own constraints make
impossible are not run, the report is kept on disk under the source's fingerprint and reused
by a new engine (a restarted server, the command line), a source changed in place is checked
again, and after midnight the future-date checks are brought to the new day."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import pytest
from sqlalchemy import create_engine, event, func, or_, select, text

from data import schema
from data.cache import cache_dir
from metrics import health
from tests import dirty, tiny
from tests.helpers import engine_with_schema, load_rows


def _engine(path):
    return create_engine(f"duckdb:///{path}", connect_args={"read_only": True})


class Statements:
    """The SQL statements an engine sends, recorded."""

    def __init__(self, engine):
        self.sent: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.sent.append(statement)


@pytest.fixture
def demo_copy(demo_path, tmp_path):
    path = tmp_path / "crm.duckdb"
    shutil.copyfile(demo_path, path)
    return path


def test_the_demo_declares_constraints_that_duckdb_enforces(demo_path, tmp_path):
    engine = _engine(demo_path)
    with engine.connect() as conn:
        enforced = health.enforced_constraints(conn)
    engine.dispose()
    assert {("interactions", "interaction_id", "unique"), ("orders", "amount", "not_null"),
            ("orders", "customer_id", "foreign"), ("interactions", "campaign_id", "foreign")} <= enforced
    # a table recreated without its constraints (CREATE TABLE AS) is checked in full
    path = dirty.build(demo_path, dirty.BY_NAME["orders_duplicated"], tmp_path / "dup.duckdb")
    engine = _engine(path)
    with engine.connect() as conn:
        enforced = health.enforced_constraints(conn)
    engine.dispose()
    assert not {c for c in enforced if c[0] == "orders"}
    assert ("customers", "customer_id", "unique") in enforced


def test_checks_the_constraints_guarantee_are_not_run(demo_path, tmp_path):
    engine = _engine(demo_path)
    sent = Statements(engine)
    with engine.connect() as conn:
        report = health.count_checks(conn)
    engine.dispose()
    assert report.clean
    assert not [s for s in sent.sent if "HAVING" in s.upper() or "LEFT OUTER JOIN" in s.upper()]
    assert set(report.counts) == set(health.CHECKS_BY_KEY)  # every check has its count, 0 by construction
    # without constraints the same checks are counted by a query of their own
    path = dirty.build(demo_path, dirty.BY_NAME["orders_unknown_customer"], tmp_path / "fk.duckdb")
    engine = _engine(path)
    sent = Statements(engine)
    with engine.connect() as conn:
        report = health.count_checks(conn)
    engine.dispose()
    assert report.counts["orders.customer_id_unknown"] == 11
    assert any("HAVING" in s.upper() and "orders" in s for s in sent.sent)


def test_counts_equal_the_definition_of_each_check(demo_path, tmp_path):
    """The cheap queries (anti-joins, one aggregate per table) count what each check's own
    condition finds, on a source carrying every breakage of the corpus at once."""
    path = tmp_path / "every.duckdb"
    shutil.copyfile(demo_path, path)
    with duckdb.connect(str(path)) as db:
        for variant in dirty.VARIANTS:
            if variant.usable and variant.expected:
                db.execute(variant.breaks)
    engine = _engine(path)
    with engine.connect() as conn:
        report = health.count_checks(conn)
        cutoff = report.cutoff
        for check in health.CHECKS:
            table = schema.table(check.table)
            direct = conn.execute(select(func.count()).select_from(table).where(check.broken(cutoff))).scalar()
            assert report.counts[check.key] == direct, check.key
        for table in schema.TABLES:
            failing = [c.broken(cutoff) for c in health.checks_of(table.name) if c.excluded and report.counts[c.key]]
            left_out = conn.execute(select(func.count()).select_from(table).where(or_(*failing))).scalar() \
                if failing else 0
            assert report.excluded_rows.get(table.name, 0) == left_out, table.name
    engine.dispose()
    assert report.counts["orders.duplicate_id"] == 50  # the variants overlap on a few tickets
    assert {k for k, n in report.counts.items() if n} >= {"orders.customer_id_unknown", "orders.amount_missing",
                                                         "tickets.resolved_at_before_opened_at", "campaigns.cost_negative"}


def test_report_is_kept_on_disk_and_reused_by_a_new_engine(demo_copy):
    first = _engine(demo_copy)
    with first.connect() as conn:
        report = health.health_report(conn, refresh=True)
        key = health.report_key(conn)
    first.dispose()
    assert health.report_path(key).parent == cache_dir() and health.report_path(key).exists()

    second = _engine(demo_copy)  # a restarted server, or the command line
    sent = Statements(second)
    with second.connect() as conn:
        again = health.health_report(conn)
    second.dispose()
    assert again == report and again.checked_at == report.checked_at
    # only the fingerprint was read, from the file itself: no statement, no check counted
    assert sent.sent == []


def test_two_engines_on_one_source_count_its_checks_once(demo_copy):
    """The server's start counts the checks on an engine of its own (pages/serve.py) while
    the warming or a first visitor may already ask theirs: the second waits for the first
    and reads the report it kept, instead of counting the same checks again beside it."""
    import threading
    import time

    first, second = _engine(demo_copy), _engine(demo_copy)
    sent = Statements(second)
    answers: dict[str, health.HealthReport] = {}

    def ask(name, engine):
        with engine.connect() as conn:
            answers[name] = health.health_report(conn)

    asking = []

    def second_asks_while_the_first_counts(conn, cursor, statement, parameters, context, executemany):
        if "CASE WHEN" in statement.upper() and not asking:
            asking.append(threading.Thread(target=ask, args=("second", second)))
            asking[0].start()
            time.sleep(0.3)  # the second engine reaches the report's lock while this one counts

    event.listen(first, "before_cursor_execute", second_asks_while_the_first_counts)
    ask("first", first)
    asking[0].join(30)
    first.dispose()
    second.dispose()
    assert answers["second"] == answers["first"] and answers["second"].checked_at == answers["first"].checked_at
    # the second engine read the fingerprint only (the file's, no statement): no check counted
    assert sent.sent == []


def test_a_source_changed_in_place_is_checked_again(demo_copy):
    engine = _engine(demo_copy)
    with engine.connect() as conn:
        before = health.health_report(conn)
        key_before = health.report_key(conn)
    engine.dispose()
    assert before.clean
    # the same rows and dates, three tickets now resolved before they were opened
    with duckdb.connect(str(demo_copy)) as db:
        db.execute("UPDATE tickets SET resolved_at = opened_at - INTERVAL 1 HOUR WHERE ticket_id IN "
                   "(SELECT ticket_id FROM tickets WHERE resolved_at IS NOT NULL ORDER BY ticket_id LIMIT 3)")
    engine = _engine(demo_copy)
    with engine.connect() as conn:
        after = health.health_report(conn)
        key_after = health.report_key(conn)
    engine.dispose()
    assert key_after != key_before
    assert after.counts["tickets.resolved_at_before_opened_at"] == 3
    assert after.excluded_rows == {"tickets": 3}


def test_an_engine_in_use_sees_a_changed_source_after_the_verify_interval(demo_copy, monkeypatch):
    engine = _engine(demo_copy)
    with engine.connect() as conn:
        assert health.health_report(conn).clean
    engine.dispose()  # the file is free for a writer; the engine object and its report stay
    with duckdb.connect(str(demo_copy)) as db:
        db.execute("UPDATE orders SET ordered_at = ordered_at + INTERVAL 6 YEAR WHERE order_id IN "
                   "(SELECT order_id FROM orders ORDER BY order_id LIMIT 2)")
    with engine.connect() as conn:
        assert health.health_report(conn).clean  # within the interval: the report in memory
        monkeypatch.setattr(health, "VERIFY_SECONDS", 0)
        assert health.health_report(conn).counts["orders.ordered_at_future"] == 2
    engine.dispose()


def test_after_midnight_the_future_checks_move_to_the_new_day(demo_path, tmp_path):
    path = dirty.build(demo_path, dirty.BY_NAME["orders_in_the_future"], tmp_path / "future.duckdb")
    engine = _engine(path)
    with engine.connect() as conn:
        today = health.count_checks(conn)
        assert today.counts["orders.ordered_at_future"] == 14 and today.excluded_rows == {"orders": 14}
        # the same data seen in 2040: the orders moved 5 years ahead are no longer in the future
        later = health.rolled_over(conn, today, date(2040, 1, 1))
        assert later.cutoff == datetime(2040, 1, 2)
        assert later.counts["orders.ordered_at_future"] == 0 and later.excluded_rows == {}
        assert later.counts["orders.duplicate_id"] == today.counts["orders.duplicate_id"]

        # a report kept yesterday (cutoff passed) is brought to today when it is read
        key = health.report_key(conn)
        yesterday_view = health.count_checks(conn, date(2026, 6, 1))  # rows after 2026-06-01 were "future"
        assert yesterday_view.counts["orders.ordered_at_future"] > 14
        health.save_report(key, yesterday_view)
    engine.dispose()
    engine = _engine(path)
    sent = Statements(engine)
    with engine.connect() as conn:
        read = health.health_report(conn)
    engine.dispose()
    assert read.cutoff == today.cutoff and read.counts == today.counts and read.excluded_rows == today.excluded_rows
    assert health.load_report(key) == read  # kept for the next reader
    rescanned = {t.name for t in schema.TABLES for s in sent.sent if "CASE WHEN" in s and f"FROM {t.name}" in s}
    assert rescanned == {t for t, c in ((health.CHECKS_BY_KEY[k].table, k) for k in yesterday_view.failing)
                         if health.CHECKS_BY_KEY[c].kind == "future"}


def test_an_unreadable_or_outdated_file_is_counted_again(demo_copy, monkeypatch):
    engine = _engine(demo_copy)
    with engine.connect() as conn:
        key = health.report_key(conn)
        health.report_path(key).write_text("{not json")
        assert health.load_report(key) is None
        assert health.health_report(conn, refresh=False).clean
        assert health.load_report(key) is not None
        monkeypatch.setattr(health, "REPORT_FORMAT", health.REPORT_FORMAT + 1)  # checks changed since
        assert health.load_report(key) is None
    engine.dispose()


def test_postgresql_keys_are_trusted_but_foreign_keys_are_checked(pg_url):
    """PostgreSQL enforces primary keys and NOT NULL always, foreign keys only while their
    triggers run: rows loaded with them off (pg_restore --disable-triggers) are still found."""
    engine = engine_with_schema(pg_url)
    load_rows(engine, {name: rows for name, rows in tiny.ROWS.items()})
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("INSERT INTO orders (order_id, customer_id, ordered_at, amount) "
                          "VALUES ('OX', 'NOBODY', '2026-01-10', 10)"))
    with engine.connect() as conn:
        enforced = health.enforced_constraints(conn)
        report = health.count_checks(conn, date(2026, 2, 1))
    engine.dispose()
    assert ("orders", "order_id", "unique") in enforced and ("orders", "amount", "not_null") in enforced
    assert not [c for c in enforced if c[2] == "foreign"]
    assert report.counts["orders.customer_id_unknown"] == 1
    assert report.excluded_rows["orders"] == 1


def test_statements_are_compiled_once_and_again_when_the_checks_change(demo_copy, monkeypatch):
    """The app's DuckDB engine keeps compiled statements: a second scorecard compiles none of
    its statements again. The health placeholder is part of a statement's cache key, so when
    the source's failing checks change (a file changed in place, seen by the same engine) the
    statement is compiled again and leaves out the broken rows: nothing stale is reused."""
    from sqlalchemy.engine.interfaces import CacheStats

    from data.sources import open_engine
    from metrics.catalogue import evaluate
    from metrics.filters import Filters

    engine = open_engine(f"duckdb:///{demo_copy}")
    hits: list[bool] = []
    event.listen(engine, "after_cursor_execute",
                 lambda conn, cursor, statement, parameters, context, many: hits.append(
                     context.cache_hit is CacheStats.CACHE_HIT))
    f = Filters(date(2026, 8, 1), date(2026, 10, 31))
    valid_tickets = select(func.count()).select_from(schema.tickets).where(health.valid_clause(schema.tickets))
    with engine.connect() as conn:
        first = [r.as_dict() for r in evaluate(conn, f, targets={}).results]
        hits.clear()
        again = [r.as_dict() for r in evaluate(conn, f, targets={}).results]
        assert again == first
        assert len(hits) >= 7 and all(hits)                 # every statement read from the cache
        counted = conn.execute(valid_tickets).scalar_one()
    engine.dispose()        # the file is free for a writer; the engine, its report and cache stay
    with duckdb.connect(str(demo_copy)) as db:
        db.execute("UPDATE tickets SET resolved_at = opened_at - INTERVAL 1 HOUR WHERE ticket_id IN "
                   "(SELECT ticket_id FROM tickets WHERE resolved_at IS NOT NULL ORDER BY ticket_id LIMIT 3)")
    monkeypatch.setattr(health, "VERIFY_SECONDS", 0)
    sent = Statements(engine)
    with engine.connect() as conn:
        hits.clear()
        assert conn.execute(valid_tickets).scalar_one() == counted - 3
    assert hits[-1] is False                                 # compiled again, for the new checks
    assert "resolved_at <" in sent.sent[-1]
    engine.dispose()
