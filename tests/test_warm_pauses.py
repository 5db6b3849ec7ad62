"""A server's background warming waits for a pause in what people wait for (pages/warm.py)."""

from __future__ import annotations

import threading
import time

from pages import ui, warm


def test_warming_starts_a_section_only_after_the_visitor_s_computation_and_a_quiet_moment(monkeypatch):
    monkeypatch.setattr(warm, "QUIET_SECONDS", 0.2)
    visitors = ui._Visitors()
    assert visitors.idle(0.0)
    entered, events = threading.Event(), []

    def visitor():
        with visitors.waiting():
            entered.set()
            time.sleep(0.3)
            events.append("visitor done")

    thread = threading.Thread(target=visitor)
    thread.start()
    entered.wait()
    assert not visitors.idle(0.0)
    warm.wait_for_a_pause(visitors)
    events.append("warming goes on")
    thread.join()
    assert events == ["visitor done", "warming goes on"]
    assert visitors.idle(0.0)


def test_the_command_line_does_not_wait_and_a_server_waits_no_longer_than_its_patience(monkeypatch):
    busy = ui._Visitors()
    events = []
    with busy.waiting():
        warm.wait_for_a_pause(None)        # the command line: nobody to wait for
        events.append("command line went on")
        monkeypatch.setattr(warm, "PATIENCE_SECONDS", 0.0)
        warm.wait_for_a_pause(busy)        # no patience left: goes on while someone still waits
        events.append("server went on")
    assert events == ["command line went on", "server went on"]


def test_the_cubes_are_warmed_one_at_a_time_each_after_a_pause(monkeypatch):
    """Together the cubes take 6 s at 1M customers: a server's warming builds them one per
    section, waiting for a pause in what visitors wait for before each, the scorecard's dates
    first and the interactions (44M rows) last of each. The Overview's monthly series' cubes
    come after the trend's families but the interactions, which the Overview does not read."""
    from datetime import date

    from metrics import catalogue
    from metrics.filters import Filters

    events = []
    monkeypatch.setattr(warm, "wait_for_a_pause", lambda visitors: events.append("pause"))
    monkeypatch.setattr(warm, "targets", lambda store_url: ())
    monkeypatch.setattr(ui, "is_kept", lambda *args: False)
    monkeypatch.setattr(ui, "_compute", lambda url, name, f, args: events.append((name, args)))
    computed = warm.sections("duckdb:///crm.duckdb", Filters(date(2026, 1, 1), date(2026, 3, 31)),
                             "sqlite:///app.sqlite", warm.CUBES, ui._Visitors())
    cubes = [(dates, family) for dates in catalogue.CUBE_DATES for family in catalogue.CUBES]
    assert computed == len(cubes) == 8
    assert events == [step for dates, family in cubes for step in ("pause", ("cubes", (family, dates)))]
    assert cubes[3] == ("scorecard", "interactions") and cubes[-1] == ("trend", "interactions")
    # what a filter change on the Overview sums: the scorecard's cubes, then its sparklines'
    # (their interactions, which only the rules page reads, after the Overview's series)
    overview = [("cubes", "range", (family, dates)) for dates, family in cubes[:-1]]
    assert warm.COMPANY[:len(cubes) + 3] == (*overview, *warm.SERIES_CUBES, ("cubes", "range", ("interactions", "trend")))
    assert {name for name, _window, _args in warm.SERIES_CUBES} <= ui.BUILDS_CUBES


def test_a_page_run_counts_as_waited_for_from_its_start_to_its_end():
    """Not only its computations: between them the script builds and sends its figures, and a
    model fit started then in the background would take the interpreter from it."""
    seen = []
    ui.run_guarded(lambda: seen.append(ui.VISITORS.idle(0.0)))     # the page's body, with no computation
    assert seen == [False]
    assert ui.VISITORS.idle(0.0) and not ui.VISITORS.idle(60.0)    # a pause starts when the run ends


def test_the_overview_is_warmed_in_the_page_s_order_two_sections_at_a_time(monkeypatch):
    """As the server starts, its warming computes the Overview's sections as the page does:
    the scorecard and the sparklines side by side first (the longest a first visitor waits
    for), then the monthly series, never more than two at once and without waiting for a
    pause (nobody is there yet, and a visitor who comes waits for these very sections)."""
    from datetime import date

    from metrics.filters import Filters

    running, most, order = [0], [0], []
    lock = threading.Lock()
    both_started = threading.Barrier(2, timeout=5)

    def compute(url, name, f, args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            order.append(name)
        if name in ("scorecard", "trend"):
            both_started.wait()          # the two are computed at once, or this times out
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    monkeypatch.setattr(warm, "wait_for_a_pause", lambda visitors: visitors is None or order.append("pause"))
    monkeypatch.setattr(warm, "targets", lambda store_url: ())
    monkeypatch.setattr(ui, "is_kept", lambda *args: False)
    monkeypatch.setattr(ui, "_compute", compute)
    computed = warm.sections("duckdb:///crm.duckdb", Filters(date(2026, 1, 1), date(2026, 3, 31)),
                             "sqlite:///app.sqlite", warm.OVERVIEW, workers=warm.OVERVIEW_WORKERS)
    names = [name for name, _window, _args in ui.overview_plan()]
    assert names[:2] == ["scorecard", "trend"] and warm.OVERVIEW == ui.overview_plan()
    assert "pause" not in order                            # no visitors given: no waiting
    assert sorted(order[:2]) == ["scorecard", "trend"] and most[0] == 2
    assert computed == len(order) >= len(names)            # the scorecard in each language
