"""data/cache.py: the folder for derived data and the source fingerprint."""

import pytest

from data.cache import cache_dir, fingerprint_of


def test_cache_dir_follows_the_setting(tmp_path):
    folder = cache_dir({"CRM_CACHE_DIR": str(tmp_path / "derived")})
    assert folder == tmp_path / "derived" and folder.is_dir()


def test_fingerprint_changes_with_rows_and_dates_only():
    one = [{"table": "orders", "rows": 10, "first": "2025-01-01", "last": "2025-03-01"}]
    same = [{"table": "orders", "rows": 10, "first": "2025-01-01", "last": "2025-03-01"}]
    more = [{"table": "orders", "rows": 11, "first": "2025-01-01", "last": "2025-03-01"}]
    later = [{"table": "orders", "rows": 10, "first": "2025-01-01", "last": "2025-03-02"}]
    assert fingerprint_of(one, "duckdb:///a") == fingerprint_of(same, "duckdb:///a")
    assert len({fingerprint_of(one, "duckdb:///a"), fingerprint_of(more, "duckdb:///a"),
                fingerprint_of(later, "duckdb:///a"), fingerprint_of(one, "duckdb:///b")}) == 4


# --------------------------------------------------------------------------- change markers
def _tiny_crm(url: str) -> None:
    """The hand-written CRM of tests/tiny.py written to ``url`` (eight tables)."""
    from tests.helpers import engine_with_schema, load_rows
    from tests.tiny import ROWS

    engine = engine_with_schema(url)
    load_rows(engine, ROWS)
    engine.dispose()


def test_a_duckdb_update_that_keeps_counts_and_dates_changes_the_fingerprint(tmp_path):
    import duckdb
    from data.cache import source_fingerprint
    from data.sources import open_engine

    path = tmp_path / "src.duckdb"
    _tiny_crm(f"duckdb:///{path}")
    engine = open_engine(f"duckdb:///{path}")
    with engine.connect() as conn:
        before = source_fingerprint(conn, "u")
        assert source_fingerprint(conn, "u") == before          # nothing changed: same print
    engine.dispose()
    with duckdb.connect(str(path)) as con:                        # a re-import fixing one value
        con.execute("update customers set segment = 'SMB' where customer_id = (select min(customer_id) from customers)")
        con.execute("checkpoint")
    engine = open_engine(f"duckdb:///{path}")
    with engine.connect() as conn:
        assert source_fingerprint(conn, "u") != before
    engine.dispose()


def test_a_database_file_is_fingerprinted_without_a_statement_and_a_replaced_file_is_seen(tmp_path):
    """A DuckDB file's fingerprint is the file's own (identity, size, times of change): read
    without a statement, and changed by a copy put in its place even with the same size and
    modification time (``cp -p``, ``rsync -t``), since the copy is another file."""
    import os
    import shutil

    from sqlalchemy import event

    from data.cache import source_fingerprint
    from data.sources import open_engine

    path = tmp_path / "src.duckdb"
    _tiny_crm(f"duckdb:///{path}")
    engine = open_engine(f"duckdb:///{path}")
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: sent.append(statement))
    with engine.connect() as conn:
        before = source_fingerprint(conn, "u")
    engine.dispose()
    assert sent == []
    copy = tmp_path / "copy.duckdb"
    shutil.copy2(path, copy)                                       # same bytes, same modification time
    assert (copy.stat().st_size, copy.stat().st_mtime_ns) == (path.stat().st_size, path.stat().st_mtime_ns)
    os.replace(copy, path)
    engine = open_engine(f"duckdb:///{path}")
    with engine.connect() as conn:
        assert source_fingerprint(conn, "u") != before
    engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_update_that_keeps_counts_and_dates_changes_the_fingerprint(pg_url):
    import time

    from sqlalchemy import create_engine, text

    from data.cache import source_fingerprint
    from data.sources import open_engine

    _tiny_crm(pg_url)
    engine = open_engine(pg_url)
    with engine.connect() as conn:
        before = source_fingerprint(conn, pg_url)
    writer = create_engine(pg_url)
    with writer.begin() as conn:
        conn.execute(text("update customers set region = region where customer_id = "
                          "(select min(customer_id) from customers)"))
    writer.dispose()
    changed = False
    for _attempt in range(40):  # PostgreSQL publishes its activity counts within about half a second
        with engine.connect() as conn:
            if source_fingerprint(conn, pg_url) != before:
                changed = True
                break
        time.sleep(0.25)
    engine.dispose()
    assert changed


# --------------------------------------------------------------------------- results on disk
def test_results_are_computed_once_per_fingerprint_and_kept_across_stores(tmp_path):
    from data.cache import ResultStore

    calls = []

    def compute():
        calls.append(1)
        return {"answer": 42}

    store = ResultStore(tmp_path / "r", "10MB")
    assert store.get_or_compute("fp1", ("kpi", 1), compute) == {"answer": 42}
    assert store.get_or_compute("fp1", ("kpi", 1), compute) == {"answer": 42}
    store.close()
    reopened = ResultStore(tmp_path / "r", "10MB")                  # a restarted server
    assert reopened.get_or_compute("fp1", ("kpi", 1), compute) == {"answer": 42}
    assert len(calls) == 1
    assert reopened.get_or_compute("fp2", ("kpi", 1), compute) == {"answer": 42}   # the source changed
    assert len(calls) == 2
    reopened.forget("fp1")
    assert ("fp1", ("kpi", 1)) not in reopened and ("fp2", ("kpi", 1)) in reopened


def test_results_kept_by_an_earlier_format_are_computed_again(tmp_path, monkeypatch):
    """An upgrade that changes what a result holds raises RESULTS_FORMAT: the results kept
    by the earlier version are not read back by pages expecting the new shape."""
    from data import cache

    store = cache.ResultStore(tmp_path / "r", "10MB")
    assert store.get_or_compute("fp", ("clv",), lambda: {"sample": [1, 2]}) == {"sample": [1, 2]}
    monkeypatch.setattr(cache, "RESULTS_FORMAT", cache.RESULTS_FORMAT + 1)
    assert store.get_or_compute("fp", ("clv",), lambda: {"map": [3]}) == {"map": [3]}
    assert store.get_or_compute("fp", ("clv",), lambda: {"other": 0}) == {"map": [3]}     # kept, in the new format


def test_two_stores_of_one_folder_compute_a_result_once_between_them(tmp_path):
    """A server's start computes with a store of its own before Streamlit holds the app's
    (pages/serve.py): a page asking meanwhile for the same result waits for it."""
    import threading

    from data.cache import ResultStore

    started, release, calls = threading.Event(), threading.Event(), []

    def compute():
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        return {"answer": 42}

    early, app = ResultStore(tmp_path / "r", "10MB"), ResultStore(tmp_path / "." / "r", "10MB")
    first = threading.Thread(target=early.get_or_compute, args=("fp", ("kpi",), compute), name="early")
    first.start()
    assert started.wait(10)
    answers = []
    second = threading.Thread(target=lambda: answers.append(app.get_or_compute("fp", ("kpi",), compute)))
    second.start()
    second.join(0.3)
    assert second.is_alive()            # waiting for the first computation, not computing again
    release.set()
    first.join(10)
    second.join(10)
    assert answers == [{"answer": 42}] and calls == ["early"]


def test_a_failed_computation_is_not_kept(tmp_path):
    from data.cache import ResultStore

    store = ResultStore(tmp_path / "r", "10MB")

    def fail():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        store.get_or_compute("fp", ("x",), fail)
    assert ("fp", ("x",)) not in store


def test_a_bad_cache_size_is_named():
    from data.cache import CacheSettingError, ResultStore

    with pytest.raises(CacheSettingError, match="CRM_CACHE_SIZE"):
        ResultStore(size="lots")
