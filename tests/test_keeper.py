"""The app's keepers (pages/keeper.py): a visitor never waits for a dimension cube to be
built. The first selection on some dates answers directly and queues the cube; the
background builder makes it with its own connection; the next selection sums it. The
warming's keeper builds the cube at once. Real results on disk, on DuckDB and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import event

from data.cache import ResultStore
from metrics import cube, engagement, keeping
from metrics.catalogue import keep_cubes
from metrics.filters import Filters
from metrics.periods import as_periods
from pages import keeper

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31), compare="none")
URL, VERSION = "duckdb:///crm.duckdb", "v1"


def _statements(engine, run) -> tuple[object, list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        return run(), seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _cube_key(f: Filters) -> tuple:
    return (URL, *cube.key("interactions", cube.whole(as_periods([f]))))


def test_a_visitor_answers_directly_and_the_cube_is_built_in_the_background(tiny_engine, tmp_path):
    store = ResultStore(tmp_path / "results")
    release = threading.Event()
    builder = keeper.Builder(wait=lambda: release.wait(10))
    visitor = keeper.BuiltAhead(store, URL, VERSION, builder, tiny_engine.connect)
    north, south = JAN.with_values(region="North"), JAN.with_values(region="South")
    with tiny_engine.connect() as conn:
        direct = {f: engagement.interaction_facts_by_period(conn, [f]) for f in (north, south)}
        with keeping.keeping(visitor):
            first = engagement.interaction_facts_by_period(conn, [north])
            again = engagement.interaction_facts_by_period(conn, [north])   # a second visitor, same dates
    assert first == again == direct[north]
    assert (VERSION, _cube_key(north)) not in store     # nobody waited for it
    assert builder.pending() == 1                       # queued once for the two misses

    release.set()
    assert builder.join(timeout=30)
    assert (VERSION, _cube_key(north)) in store
    with tiny_engine.connect() as conn, keeping.keeping(visitor):
        summed, statements = _statements(tiny_engine, lambda: engagement.interaction_facts_by_period(conn, [south]))
    assert summed == direct[south]
    assert statements == []                             # summed from the cube built in the background
    store.close()


def test_the_warming_builds_the_cubes_at_once(tiny_engine, tmp_path):
    store = ResultStore(tmp_path / "results")
    with tiny_engine.connect() as conn, keeping.keeping(keeper.Kept(store, URL, VERSION)):
        keep_cubes(conn, JAN, "interactions", "scorecard")
    assert (VERSION, _cube_key(JAN)) in store
    store.close()


def test_a_failing_build_is_dropped_and_the_next_one_runs():
    builder = keeper.Builder(wait=lambda: None)
    done = threading.Event()

    def fails() -> None:
        raise RuntimeError("the source went away")

    builder.submit("first", fails)
    builder.submit("second", done.set)
    assert builder.join(timeout=10)
    assert done.is_set() and builder.pending() == 0
    builder.submit("first", done.clear)                 # dropped, so it can be queued again
    assert builder.join(timeout=10) and not done.is_set()


def test_jobs_not_started_are_dropped_when_the_source_is_about_to_change():
    """An import releases the source (pages/ui.py): the cubes queued for the old data are
    not built."""
    release, ran = threading.Event(), []
    builder = keeper.Builder(wait=lambda: release.wait(10))
    builder.submit("running", lambda: ran.append("running"))
    builder.submit("queued", lambda: ran.append("queued"))
    builder.clear()
    release.set()
    assert builder.join(timeout=10)
    assert "queued" not in ran and builder.pending() == 0


def test_stopping_waits_for_the_running_build_and_starts_no_other():
    """At the interpreter's exit (pages/ui.py registers it): a statement still running in the
    daemon thread while Python finalises aborts the process, so the running build is waited
    for, the queued ones are dropped and nothing new is taken."""
    started, release, ran = threading.Event(), threading.Event(), []

    def running():
        started.set()
        release.wait(10)
        ran.append("running")
    builder = keeper.Builder(wait=lambda: None)
    builder.submit("running", running)
    builder.submit("queued", lambda: ran.append("queued"))
    assert started.wait(10)
    threading.Timer(0.2, release.set).start()
    assert builder.stop(timeout=10)
    assert ran == ["running"] and builder.pending() == 0
    builder.submit("after", lambda: ran.append("after"))
    assert builder.pending() == 0 and ran == ["running"]


def test_a_server_s_warming_starts_no_section_once_stopping(monkeypatch):
    from pages import ui, warm

    computed = []
    monkeypatch.setattr(warm, "targets", lambda store_url: ())
    monkeypatch.setattr(ui, "is_kept", lambda *args: False)
    monkeypatch.setattr(ui, "_compute", lambda url, name, f, args: computed.append(name))
    monkeypatch.setattr(warm, "STOPPING", threading.Event())
    busy = ui._Visitors()
    thread = threading.Thread(target=lambda: busy.waiting().__enter__())   # a visitor who never leaves
    thread.start()
    thread.join()
    worker = threading.Thread(target=warm.sections, args=("duckdb:///crm.duckdb", Filters(date(2026, 1, 1),
                                                          date(2026, 1, 31)), "sqlite:///app.sqlite", warm.CUBES, busy))
    worker.start()
    warm.stop(worker, timeout=10)        # it was waiting for a pause: it stops at once
    assert not worker.is_alive() and computed == []
