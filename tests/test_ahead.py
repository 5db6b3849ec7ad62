"""Sections computed ahead of a page's script (pages/ahead.py, pages.ui.prefetch): each is
computed once, the page takes every one it started, a failure is raised where the page takes
it, and a new run cancels what the previous one started and did not begin."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages import ahead, ui
from tests.conftest import ROOT


def test_a_section_is_taken_once_and_its_failure_raised_where_it_is_taken():
    started = ahead.Started()
    started.start({"a": lambda: 41 + 1, "b": lambda: 1 / 0})
    assert len(started) == 2
    assert ahead.result(started.claim("a"), lambda: "computed by the page") == 42
    assert started.claim("a") is None                      # taken: the page computes (from its cache)
    assert ahead.result(started.claim("a"), lambda: "computed by the page") == "computed by the page"
    with pytest.raises(ZeroDivisionError):
        ahead.result(started.claim("b"), lambda: 0)
    assert len(started) == 0
    assert ahead.result(started.claim("never started"), lambda: 7) == 7


def test_a_new_run_cancels_the_sections_its_previous_run_started_and_did_not_begin():
    release = threading.Event()
    busy = [threading.Event() for _worker in range(ahead.WORKERS)]

    def occupy(event):
        event.set()
        release.wait(10)
        return "done"

    first = ahead.Started()
    first.start({f"busy {i}": (lambda e=e: occupy(e)) for i, e in enumerate(busy)})
    assert all(e.wait(10) for e in busy)                   # every worker is taken
    ran = threading.Event()
    first.start({"waiting": ran.set})                       # queued behind them
    first.start({"next": lambda: "next run"})              # a new run of the page
    release.set()
    assert ahead.result(first.claim("next"), lambda: None) == "next run"
    assert not ran.is_set()                                # cancelled before it began
    assert first.claim("waiting") is None

def test_the_overview_takes_every_section_it_started_and_computes_each_once(monkeypatch, demo_url, tmp_path):
    monkeypatch.setenv("CRM_DB_URL", demo_url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    st.cache_data.clear()
    ui.results().forget()
    computed = Counter()
    lock = threading.Lock()
    for name, function in list(ui.COMPUTATIONS.items()):
        def counted(conn, f, *args, _name=name, _function=function):
            with lock:
                computed[(_name, f, args)] += 1
            return _function(conn, f, *args)
        monkeypatch.setitem(ui.COMPUTATIONS, name, counted)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    if "_sections_started" not in at.session_state:   # the run stopped at the new-data notice
        at.run()                                      # (the caches were just emptied): as a visitor does
    assert not at.exception and [t.value for t in at.title] == ["Overview"]
    assert len(at.session_state["_sections_started"]) == 0          # the plan matches what the page asks
    assert computed and max(computed.values()) == 1, computed
    planned = {name for name, _window, _args in ui.overview_plan()}
    assert planned <= {name for name, _f, _args in computed}
    assert "forecast" not in {name for name, _f, _args in computed}    # its tab is not open
    at.session_state["overview_view"] = "Forecasts (6 months)"
    at.run()
    assert not at.exception and len(at.session_state["_sections_started"]) == 0
    assert max(computed.values()) == 1 and sorted(args for name, _f, args in computed if name == "forecast") == [
        ("new_customers", 6), ("revenue", 6)]


def test_the_overview_reads_each_monthly_series_once_for_its_chart_and_its_forecast(monkeypatch, demo_url,
                                                                                     tmp_path):
    """The revenue and new-customer charts show the last 12 of the forecasts' 36 months: one
    statement each, and the same figures as the 12 months read on their own."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import Engine

    from metrics import value

    monkeypatch.setenv("CRM_DB_URL", demo_url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    st.cache_data.clear()
    ui.results().forget()
    statements = Counter()

    def count(conn, cursor, statement, *args):
        if "date_trunc" in statement and "GROUP BY" in statement:
            statements["revenue" if "ordered_at" in statement else
                       "new customers" if "acquired_at" in statement else "other"] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        if "_sections_started" not in at.session_state:
            at.run()
        at.session_state["overview_view"] = "Forecasts (6 months)"     # the forecasts' tab opened
        at.run()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert not at.exception and len(at.get("plotly_chart")) == 4       # the radar, the bars, two forecasts
    assert statements["revenue"] == 1 and statements["new customers"] == 1, statements

    from pages import warm

    f = warm.default_filters(demo_url)
    year, history = ui.month_window(f, 12), ui.month_window(f, ui.FORECAST_HISTORY_MONTHS)
    with create_engine(demo_url, connect_args={"read_only": True}).connect() as conn:
        for series in (value.revenue_by_period, value.new_customers_by_period):
            alone, sliced = series(conn, year), ui.last_months(series(conn, history), year)
            assert len(alone) == 12
            assert alone.equals(sliced)
