"""The app's keepers (metrics/keeping.py): intermediate results kept with the results of a
data refresh (data/cache.py), and the results worth reading only once built — the dimension
cubes a filter change sums (metrics/cube.py) — built in the background rather than while a
visitor waits.

Building the cubes of a date range takes 12 s at 1M customers; answering one selection
directly takes about a second. So a visitor's computation reads a cube only when it is
kept; when it is not, it answers directly and the cube is queued for :data:`BUILDER`, which
builds one at a time, each in a pause of what people wait for (the server's warming does
the same for the default dates, pages/warm.py). The next selection on those dates sums it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from data.cache import ResultStore

_MISSING = object()


def kept_filter_values(store: ResultStore, url: str, version: str, conn: Connection) -> dict[str, list[str]]:
    """The sidebar's choices (metrics.filters.filter_values), kept with the results of the
    data refresh ``version``: the server's start computes them before its first visitor
    (pages/serve.py), a restarted server reads them back. One scan of the 44M interactions
    at 1M customers."""
    from metrics.filters import filter_values

    return store.get_or_compute(version, (url, "filter values"), lambda: filter_values(conn))


class Kept:
    """``keeper(key, compute)``: the value kept under ``(url, *key)`` for the data refresh
    ``version``, or ``compute()``'s, kept (the warming: cubes are built now)."""

    def __init__(self, store: ResultStore, url: str, version: str):
        self.store, self.url, self.version = store, url, version

    def __call__(self, key: tuple, compute: Callable[[], Any]) -> Any:
        return self.store.get_or_compute(self.version, (self.url, *key), compute)


class BuiltAhead(Kept):
    """A visitor's keeper: a cube not kept yet is left to :class:`Builder` (built with a
    connection of its own from ``connect()``) and the computation answers directly."""

    def __init__(self, store: ResultStore, url: str, version: str, builder: Builder,
                 connect: Callable[[], Any]):
        super().__init__(store, url, version)
        self.builder, self.connect = builder, connect

    def ahead(self, key: tuple, build: Callable[[Connection], Any]) -> Any:
        found = self.store.get(self.version, (self.url, *key), _MISSING)
        if found is not _MISSING:
            return found
        store, url, version, connect = self.store, self.url, self.version, self.connect

        def job() -> None:
            with connect() as conn:
                store.get_or_compute(version, (url, *key), lambda: build(conn))
        self.builder.submit((version, url, key), job)
        return None


class Builder:
    """One background thread running queued jobs one at a time, each after ``wait()``
    returns (a pause in the visitors' computations); a job already queued is not queued
    twice. Best effort: a job that fails is dropped (the computations keep answering
    directly, and the next one to miss the result queues it again)."""

    def __init__(self, wait: Callable[[], None]):
        self._wait = wait
        self._jobs: queue.Queue = queue.Queue()
        self._queued: set = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def submit(self, name: Any, job: Callable[[], None]) -> None:
        with self._lock:
            if name in self._queued or self._stopped:
                return
            self._queued.add(name)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="build-ahead")
                self._thread.start()
        self._jobs.put((name, job))

    def pending(self) -> int:
        """How many jobs are queued or running."""
        with self._lock:
            return len(self._queued)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run (True), or ``timeout`` seconds (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def clear(self) -> None:
        """Drop the jobs not started yet (the source is about to change: what they would
        build is of the data as it was)."""
        while True:
            try:
                name, _job = self._jobs.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                self._queued.discard(name)

    def stop(self, timeout: float = 60.0) -> bool:
        """Take no more jobs, drop the queued ones and wait for the one running (True when
        none is left). Called as the interpreter exits: a database statement still running
        in this daemon thread when Python finalises aborts the whole process."""
        with self._lock:
            self._stopped = True
        self.clear()
        return self.join(timeout)

    def _run(self) -> None:
        while True:
            name, job = self._jobs.get()
            try:
                self._wait()
                if not self._stopped:
                    job()
            except Exception:  # noqa: BLE001 - best effort, see the class docstring
                pass
            finally:
                with self._lock:
                    self._queued.discard(name)
