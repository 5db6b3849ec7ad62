"""Forecast model fits in a process of their own, beside the server.

A forecast fits seven exponential smoothing models (metrics/forecast.py): pure Python
inside statsmodels and scipy, about 0.2 s alone. In the server it runs beside the
statements of the scorecard and the sparklines and the building of the page's charts,
which all need Python's interpreter lock too: on the Overview a filter change waited
0.5 s for its two forecasts. The server (:mod:`pages.serve`) starts one worker process
for them before its first visitor; the fits then take the other core instead of the
lock. The inputs are a few dozen monthly values and the results small, so sending them
costs nothing.

Without a worker (tests, ``python -m pages.warm``, the CLI), or if the worker died, the
forecast is computed here, as before: the same function on the same values, so the same
numbers.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pandas as pd

import i18n
from metrics import forecast as models

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def start() -> None:
    """Start the worker process (once). Its modules are loaded in a fork server started
    now, while the server has no threads of its own, so each worker starts in a moment."""
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["metrics.forecast"])
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            _pool.submit(_ready).result()


def stop() -> None:
    """Stop the worker process (the next forecast is computed here)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def running() -> bool:
    return _pool is not None


def forecast(series: pd.Series, horizon: int, **options) -> models.Forecast:
    """:func:`metrics.forecast.forecast` of ``series``, in the worker when there is one."""
    pool = _pool
    if pool is not None:
        try:
            return pool.submit(_in_language, i18n.language(), series, horizon, options).result()
        except BrokenProcessPool:
            log.warning("the forecast worker stopped; forecasts are computed in the server until it restarts")
            _replace(pool)
    return models.forecast(series, horizon, **options)


def _replace(broken: ProcessPoolExecutor) -> None:
    """Drop a broken worker; a new one is started in the background."""
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    threading.Thread(target=start, name="crm-forecast-worker", daemon=True).start()


def _ready() -> bool:
    return True


def _in_language(language: str, series: pd.Series, horizon: int, options: dict) -> models.Forecast:
    """The forecast made in the worker with the visitor's language (a message that formats a
    number formats it as the page does)."""
    with i18n.using(language):
        return models.forecast(series, horizon, **options)
