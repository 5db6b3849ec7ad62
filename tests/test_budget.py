"""The engine's budget: settings read from the environment, DuckDB bounded (memory, threads,
spilling), PostgreSQL statements timed out, and an over-budget computation shown as a message
on the page, not a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from data.budget import Budget, BudgetError, budget, memory_bytes, over_budget
from data.sources import SourceError, open_engine
from tests.helpers import engine_with_schema

GIB = 2**30


def test_memory_as_a_share_or_an_amount():
    assert memory_bytes("15%", 24 * GIB) == int(24 * GIB * 0.15)
    assert memory_bytes("2GB", 24 * GIB) == 2 * 10**9
    assert memory_bytes("512 MiB", 24 * GIB) == 512 * 2**20
    assert memory_bytes("1KB", 24 * GIB) == 8 * 2**20          # never below 8 MiB
    for bad in ("lots", "0%", "150%", "-1GB"):
        with pytest.raises(BudgetError, match="CRM_DB_MEMORY"):
            memory_bytes(bad, 24 * GIB)


def test_budget_from_the_environment(tmp_path):
    got = budget({"CRM_DB_MEMORY": "1GiB", "CRM_DB_THREADS": "1", "CRM_DB_TIMEOUT": "30",
                  "CRM_DB_TEMP": str(tmp_path)})
    assert got == Budget(GIB, 1, str(tmp_path), 30)
    assert got.duckdb_config()["memory_limit"] == "1024MiB"
    assert got.postgresql_options() == "-c statement_timeout=30000"
    default = budget({})
    assert default.threads >= 1 and default.timeout_seconds == 120 and default.memory_bytes >= 8 * 2**20
    with pytest.raises(BudgetError, match="whole numbers"):
        budget({"CRM_DB_THREADS": "two"})


def test_a_bad_setting_is_a_clear_source_error(monkeypatch, demo_url):
    monkeypatch.setenv("CRM_DB_MEMORY", "plenty")
    with pytest.raises(SourceError, match="CRM_DB_MEMORY='plenty'"):
        open_engine(demo_url)


def test_duckdb_is_bounded_and_spills(monkeypatch, demo_url, tmp_path):
    monkeypatch.setenv("CRM_DB_MEMORY", "64MB")
    monkeypatch.setenv("CRM_DB_THREADS", "1")
    monkeypatch.setenv("CRM_DB_TEMP", str(tmp_path / "spill"))
    engine = open_engine(demo_url)
    try:
        with engine.connect() as conn:
            settings = conn.execute(text("select current_setting('memory_limit'), current_setting('threads'), "
                                         "current_setting('temp_directory')")).one()
            assert settings == ("61.0 MiB", 1, str(tmp_path / "spill"))
            # a sort of 3M rows (about 100 MB) does not fit: it spills and completes
            assert conn.execute(text("select count(distinct x) from (select i::varchar || 'x' as x "
                                     "from range(3000000) r(i) order by x)")).scalar() == 3_000_000
            # an aggregate that cannot spill stops with an out-of-memory error, recognised
            with pytest.raises(Exception) as caught:
                conn.execute(text("select len(list(i::varchar)) from range(30000000) r(i)")).all()
            assert over_budget(caught.value)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_statements_time_out(monkeypatch, pg_url):
    engine_with_schema(pg_url).dispose()
    monkeypatch.setenv("CRM_DB_TIMEOUT", "1")
    engine = open_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("show statement_timeout")).scalar() == "1s"
            with pytest.raises(Exception) as caught:
                conn.execute(text("select pg_sleep(3)"))
            assert over_budget(caught.value)
    finally:
        engine.dispose()


def test_over_budget_is_not_every_error():
    assert not over_budget(ValueError("unknown dimension 'colour'"))
    assert over_budget(MemoryError())


def _run_with_a_small_budget(monkeypatch, demo_path, tmp_path, page) -> AppTest:
    """``page`` run on a copy of the demo whose engine may use 64 MB."""
    import shutil

    import streamlit as st

    own = tmp_path / "crm.duckdb"   # a file of its own: DuckDB keeps one temp directory per open file
    shutil.copy(demo_path, own)
    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{own}")
    monkeypatch.setenv("CRM_DB_MEMORY", "64MB")
    monkeypatch.setenv("CRM_DB_TEMP", str(tmp_path))
    st.cache_resource.clear()            # the source is opened again, with this budget
    st.cache_data.clear()
    try:
        return AppTest.from_function(page, default_timeout=120).run()
    finally:
        st.cache_resource.clear()


def _page_with_a_heavy_section():
    from datetime import date

    import streamlit as st
    from sqlalchemy import text

    from metrics.filters import Filters
    from pages import ui

    ui.COMPUTATIONS["test.heavy"] = lambda conn, f: conn.execute(
        text("select len(list(i::varchar)) from range(30000000) r(i)")).scalar()
    st.title("Heavy")
    ui.compute("test.heavy", Filters(date(2026, 1, 1), date(2026, 1, 31)))
    st.write("never reached")


def test_an_over_budget_section_shows_a_message(monkeypatch, demo_path, tmp_path):
    at = _run_with_a_small_budget(monkeypatch, demo_path, tmp_path, _page_with_a_heavy_section)
    assert not at.exception, [e.value for e in at.exception]
    from pages.ui import OVER_BUDGET_MESSAGE

    assert [e.value for e in at.error] == [OVER_BUDGET_MESSAGE]
    assert "never reached" not in [m.value for m in at.markdown]


def _page_with_a_heavy_section_among_others():
    from datetime import date

    import streamlit as st
    from sqlalchemy import text

    from metrics.filters import Filters
    from pages import ui

    ui.COMPUTATIONS["test.heavy"] = lambda conn, f: conn.execute(
        text("select len(list(i::varchar)) from range(30000000) r(i)")).scalar()
    st.title("Heavy")

    @ui.section
    def heavy():
        ui.compute("test.heavy", Filters(date(2026, 1, 1), date(2026, 1, 31)))
        st.write("never reached")

    heavy()
    st.write("the next section is drawn")


def test_an_over_budget_section_stops_only_itself(monkeypatch, demo_path, tmp_path):
    at = _run_with_a_small_budget(monkeypatch, demo_path, tmp_path, _page_with_a_heavy_section_among_others)
    assert not at.exception, [e.value for e in at.exception]
    from pages.ui import OVER_BUDGET_MESSAGE

    assert [e.value for e in at.error] == [OVER_BUDGET_MESSAGE]
    shown = [m.value for m in at.markdown]
    assert "never reached" not in shown and "the next section is drawn" in shown


def _page_with_a_heavy_section_started_ahead():
    from datetime import date

    import streamlit as st
    from sqlalchemy import text

    from metrics.filters import Filters
    from pages import ui

    ui.COMPUTATIONS["test.heavy"] = lambda conn, f: conn.execute(
        text("select len(list(i::varchar)) from range(30000000) r(i)")).scalar()
    st.title("Heavy")
    january = Filters(date(2026, 1, 1), date(2026, 1, 31))
    ui.prefetch((("test.heavy", "range", ()),), january)

    @ui.section
    def heavy():
        ui.compute("test.heavy", january)
        st.write("never reached")

    heavy()
    st.write("the next section is drawn")


def test_an_over_budget_section_started_ahead_stops_only_itself(monkeypatch, demo_path, tmp_path):
    """The section computed ahead of the script (pages/ahead.py) fails in its thread; the
    page shows the message where it takes it, and draws the rest."""
    at = _run_with_a_small_budget(monkeypatch, demo_path, tmp_path, _page_with_a_heavy_section_started_ahead)
    assert not at.exception, [e.value for e in at.exception]
    from pages.ui import OVER_BUDGET_MESSAGE

    assert [e.value for e in at.error] == [OVER_BUDGET_MESSAGE]
    shown = [m.value for m in at.markdown]
    assert "never reached" not in shown and "the next section is drawn" in shown
    assert len(at.session_state["_sections_started"]) == 0
