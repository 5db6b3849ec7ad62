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
    warm._wait_for_a_pause(visitors)
    events.append("warming goes on")
    thread.join()
    assert events == ["visitor done", "warming goes on"]
    assert visitors.idle(0.0)


def test_the_command_line_does_not_wait_and_a_server_waits_no_longer_than_its_patience(monkeypatch):
    busy = ui._Visitors()
    events = []
    with busy.waiting():
        warm._wait_for_a_pause(None)        # the command line: nobody to wait for
        events.append("command line went on")
        monkeypatch.setattr(warm, "PATIENCE_SECONDS", 0.0)
        warm._wait_for_a_pause(busy)        # no patience left: goes on while someone still waits
        events.append("server went on")
    assert events == ["command line went on", "server went on"]
