"""Sections computed ahead of a page's script, side by side.

A page's script draws its sections one after the other, and each waits for its own
computation. The computations themselves rarely depend on each other: the Overview's
forecasts (model fits in Python) need nothing of its scorecard (statements that the
database runs without holding Python's interpreter lock). A page that declares its
sections as a :data:`Plan` starts them all at once when its script starts
(:func:`pages.ui.prefetch`); when the script reaches a section it takes the result that
was started for it (:func:`claim`), waiting only for what is not finished yet.

It pays where one section holds the interpreter and another waits for the database: on
the Overview (forecasts beside statements) and the Engagement page (the statements of its
tiles, two at a time; its other views are tabs computed when opened). It does not where two sections both keep the cores busy: the Customer value
page's value models and churn model computed side by side took 12 s at 1M customers
instead of 10 s one after the other, so that page does not start its sections ahead.

A few threads (:data:`WORKERS`) serve every session: one session's sections are started
in page order. A new run of a session's page (another filter, another page) cancels what
its previous run had started but not begun, so a visitor who clicks on never waits behind
their own abandoned sections. A section's failure is raised where the page takes it, as
if the page had computed it (a section over the engine's budget shows its message there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any

#: Threads computing sections ahead: two, as many as the cores of the machine the app is
#: measured on; more would only make the database's own threads wait for the cores.
WORKERS = 2

#: A page's sections: (computation, window, arguments). ``window`` is "range" (the selected
#: range) or "year" (the 12 calendar months to its end); the argument "targets" stands for
#: the KPI targets in force (see pages.ui.prefetch).
Plan = tuple[tuple[str, str, tuple], ...]

_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="crm-section")


class Started:
    """One session's sections started ahead, by key, until its page takes them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future] = {}

    def start(self, jobs: dict[Hashable, Callable[[], Any]]) -> None:
        """Cancel what was started before and not begun, and start ``jobs`` in their order."""
        with self._lock:
            for future in self._futures.values():
                future.cancel()
            self._futures = {key: _POOL.submit(job) for key, job in jobs.items()}

    def __len__(self) -> int:
        """How many sections were started and not taken (yet)."""
        with self._lock:
            return len(self._futures)

    def claim(self, key: Hashable) -> Future | None:
        """The section started for ``key`` (taken: a second claim returns None), or None."""
        with self._lock:
            future = self._futures.pop(key, None)
        if future is None or future.cancelled():
            return None
        return future


def result(future: Future | None, compute: Callable[[], Any]) -> Any:
    """The result of a section started ahead, or ``compute()`` when none was started (or it
    was cancelled before it began)."""
    if future is not None:
        try:
            return future.result()
        except CancelledError:
            pass
    return compute()
