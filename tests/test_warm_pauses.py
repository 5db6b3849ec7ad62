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
    """Together the cubes take 6 s at 1M customers: given visitors, the warming builds them
    one per section, waiting for a pause in what visitors wait for before each, the
    scorecard's dates first and the interactions (44M rows) last of each."""
    from datetime import date

    from metrics import catalogue
    from metrics.filters import Filters

    events = []
    monkeypatch.setattr(warm, "wait_for_a_pause", lambda visitors, *_pause: events.append("pause"))
    monkeypatch.setattr(warm, "targets", lambda store_url: ())
    monkeypatch.setattr(ui, "is_kept", lambda *args: False)
    monkeypatch.setattr(ui, "_compute", lambda url, name, f, args: events.append((name, args)))
    computed = warm.sections("duckdb:///crm.duckdb", Filters(date(2026, 1, 1), date(2026, 3, 31)),
                             "sqlite:///app.sqlite", warm.CUBES, ui._Visitors())
    cubes = [(dates, family) for dates in catalogue.CUBE_DATES for family in catalogue.CUBES]
    assert computed == len(cubes) == 10
    assert events == [step for dates, family in cubes for step in ("pause", ("cubes", (family, dates)))]
    assert cubes[4] == ("scorecard", "interactions") and cubes[-1] == ("trend", "interactions")


def test_what_a_visitor_does_next_on_the_overview_is_warmed_right_after_it_the_rest_in_pauses(monkeypatch):
    """A filter change is what a visitor does next on the Overview, and one who goes from
    page to page leaves no pause long enough for the cubes it sums (8 s at 1M customers): the
    server's warming computes the Overview, lets the page runs under way finish (a first
    visitor's Overview, waiting for those very sections, then builds its figures), then at
    once its forecasts' tab and the cubes a filter change sums (the scorecard's, its
    sparklines' but their interactions, which only the rules page reads, and its monthly
    series'), and only then, each after a pause in what the visitors wait for, the rest of
    the company's view."""
    from datetime import date

    from metrics.filters import Filters

    events = []

    def wait(visitors, patience=None):
        if isinstance(visitors, warm.FirstPage):
            events.append(("first page", patience))
        elif visitors is not None:
            events.append("pause")

    monkeypatch.setattr(warm, "wait_for_a_pause", wait)
    monkeypatch.setattr(warm, "targets", lambda store_url: ())
    monkeypatch.setattr(warm, "default_filters", lambda url, scope=(): Filters(date(2026, 1, 1), date(2026, 3, 31)))
    monkeypatch.setattr(warm, "granted_scopes", lambda store_url: [])
    monkeypatch.setattr(warm, "_lookups", lambda url: None)
    monkeypatch.setattr(ui, "is_kept", lambda *args: False)
    monkeypatch.setattr(ui, "_compute", lambda url, name, f, args: events.append((name, args)))
    computed = warm.default_view("duckdb:///crm.duckdb", "sqlite:///app.sqlite", ui._Visitors())

    first_page = ("first page", warm.FIRST_VISIT_SECONDS)
    waits = events.count(first_page)
    assert computed == len(events) - events.count("pause") - waits
    overview = events[:events.index(first_page)]
    assert {name for name, _args in overview} == {name for name, _window, _args in warm.OVERVIEW}
    rest = events[len(overview):]
    after_first_page = rest[:rest.index("pause")]
    assert after_first_page[::2] == [first_page] * waits          # each, until the first page has been served
    at_once, in_pauses = after_first_page[1::2], rest[rest.index("pause"):]
    next_steps = [(name, args) for name, _window, args in warm.OVERVIEW_NEXT]
    assert list(dict.fromkeys(at_once)) == next_steps          # the forecasts in each language
    assert at_once[-len(warm.SERIES_CUBES):] == [(name, args) for name, _window, args in warm.SERIES_CUBES]
    cubes = [args for name, args in at_once if name == "cubes"]
    assert cubes == [(family, dates) for dates in ("scorecard", "trend") for family in ("value", "quality", "surveys",
                                                                                       "tickets", "interactions")
                     if (family, dates) != ("interactions", "trend")]
    assert {name for name, _window, _args in warm.SERIES_CUBES} <= ui.BUILDS_CUBES
    # the rest: each section after a pause, the trend's interactions cube first
    assert in_pauses[:2] == ["pause", ("cubes", ("interactions", "trend"))]
    assert all(in_pauses[i] == "pause" for i in range(0, len(in_pauses), 2))
    assert list(dict.fromkeys(step[0] for step in in_pauses[1::2])) == ["cubes", "trend", "clv", "rfm"]


def test_what_comes_after_the_overview_waits_for_pauses_only_until_the_first_page_has_been_served(monkeypatch):
    """Before a page run has ended since the warming came to what follows the Overview,
    :class:`warm.FirstPage` is not idle for its first seconds (a first visitor's browser
    loads the app before it asks for anything), then only in a pause, as the rest of the
    warming waits for; from QUIET_SECONDS after that page, always, even while another page
    run is under way."""
    monkeypatch.setattr(warm, "QUIET_SECONDS", 0.2)
    visitors = ui._Visitors()
    first_page = warm.FirstPage(visitors, wait=0.3)
    assert not first_page.idle(0.2) and visitors.idle(0.2)                   # a visitor may be loading the app
    time.sleep(0.35)
    assert first_page.idle(0.2) and visitors.last_page() is None             # nobody came
    with visitors.waiting():                                                 # a computation, not a page
        assert not first_page.idle(0.2)
    assert visitors.last_page() is None and not first_page.idle(0.2)         # a pause just started
    with visitors.waiting(page=True):                                        # the first page run
        assert not first_page.idle(0.2)
    assert visitors.last_page() is not None and not first_page.idle(0.2)
    time.sleep(0.25)
    with visitors.waiting(page=True):                                        # another page run
        assert first_page.idle(0.2) and not visitors.idle(0.2)


def test_a_source_warmed_later_waits_for_its_own_visitor_s_page(monkeypatch):
    """The workspace opened after an import is warmed when a visitor first opens it, long
    after the server's first page: what follows its Overview waits for a page run that
    ends after it came to it (that visitor's Overview), not for the pages served before."""
    visitors = ui._Visitors()
    with visitors.waiting(page=True):                                        # pages served earlier
        pass
    time.sleep(0.25)
    later = warm.FirstPage(visitors, wait=60.0)
    with visitors.waiting(page=True):                                        # the visitor's own page
        assert not later.idle(0.2)
    assert not later.idle(0.2)                                               # its quiet has not passed
    time.sleep(0.25)
    with visitors.waiting(page=True):                                        # from then on, always
        assert later.idle(0.2)


def test_a_page_run_counts_as_waited_for_from_its_start_to_its_end():
    """Not only its computations: between them the script builds and sends its figures, and a
    model fit started then in the background would take the interpreter from it."""
    seen = []
    ui.run_guarded(lambda: seen.append(ui.VISITORS.idle(0.0)))     # the page's body, with no computation
    assert seen == [False]
    assert ui.VISITORS.idle(0.0) and not ui.VISITORS.idle(60.0)    # a pause starts when the run ends
    assert ui.VISITORS.last_page() is not None                      # and a page has been served


def test_the_overview_is_warmed_in_the_page_s_order_two_sections_at_a_time(monkeypatch):
    """As the server starts, its warming computes the Overview's sections as the page does:
    the scorecard (the longest a first visitor waits for) beside the short monthly series,
    then the sparklines (whose families are read with the scorecard's), never more than two
    at once and without waiting for a pause (nobody is there yet, and a visitor who comes
    waits for these very sections)."""
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
        if name in ("scorecard", "value.revenue"):
            both_started.wait()          # the two are computed at once, or this times out
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    monkeypatch.setattr(warm, "wait_for_a_pause", lambda visitors, *_pause: visitors is None or order.append("pause"))
    monkeypatch.setattr(warm, "targets", lambda store_url: ())
    monkeypatch.setattr(ui, "is_kept", lambda *args: False)
    monkeypatch.setattr(ui, "_compute", compute)
    computed = warm.sections("duckdb:///crm.duckdb", Filters(date(2026, 1, 1), date(2026, 3, 31)),
                             "sqlite:///app.sqlite", warm.OVERVIEW, workers=warm.OVERVIEW_WORKERS)
    names = [name for name, _window, _args in ui.overview_plan()]
    assert names == ["scorecard", "value.revenue", "value.new_customers", "sla.over_time", "voice.nps", "trend"]
    assert warm.OVERVIEW == ui.overview_plan()
    assert "pause" not in order                            # no visitors given: no waiting
    assert sorted(order[:2]) == ["scorecard", "value.revenue"] and order[-1] == "trend" and most[0] == 2
    assert computed == len(order) >= len(names)            # the scorecard in each language
