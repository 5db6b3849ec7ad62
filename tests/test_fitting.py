"""pages/fitting.py: forecasts fitted in a worker process equal those fitted in the server,
in the visitor's language, and a dead worker costs a forecast nothing but time."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

import i18n
from metrics import forecast as models
from pages import fitting

MONTHS = pd.date_range("2023-11-01", periods=36, freq="MS")
#: a trend, a yearly season and noise: seasonal candidates are fitted too
SERIES = pd.Series(1e6 + 1e4 * np.arange(36) + 5e4 * np.sin(np.arange(36) * 2 * np.pi / 12)
                   + np.random.default_rng(0).normal(0, 2e4, 36), index=MONTHS)


@pytest.fixture
def worker():
    fitting.start()
    yield fitting._pool
    fitting.stop()


def _same(a: models.Forecast, b: models.Forecast) -> None:
    assert a.model == b.model
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    pd.testing.assert_frame_equal(a.candidates.astype({"note": str}), b.candidates.astype({"note": str}))
    assert a.backtest.mae == b.backtest.mae


def test_a_forecast_from_the_worker_equals_the_one_made_here(worker):
    assert fitting.running()
    here = models.forecast(SERIES, 6, last_period_complete=True)
    there = fitting.forecast(SERIES, 6, last_period_complete=True)
    _same(there, here)
    assert worker._processes and os.getpid() not in worker._processes    # made in another process


def test_the_worker_writes_in_the_visitors_language(worker):
    """A constant series has no model; the reason names its value as the page writes numbers."""
    flat = pd.Series([4321.0] * 12, index=MONTHS[:12])
    with i18n.using("es"):
        reason = str(fitting.forecast(flat, 6, last_period_complete=True).reason)
    assert "(4.321)" in reason          # in English: (4,321)


def test_a_dead_worker_is_replaced_and_the_forecast_made_here(worker):
    (pid,) = worker._processes
    os.kill(pid, signal.SIGKILL)
    worker._processes[pid].join()
    made = fitting.forecast(SERIES, 6, last_period_complete=True)      # no exception
    _same(made, models.forecast(SERIES, 6, last_period_complete=True))
    for _ in range(100):                                                # a new worker comes up
        if fitting.running() and fitting._pool is not worker:
            break
        __import__("time").sleep(0.1)
    assert fitting.running() and fitting._pool is not worker


def test_without_a_worker_the_forecast_is_made_here():
    fitting.stop()
    assert not fitting.running()
    _same(fitting.forecast(SERIES, 6, last_period_complete=True), models.forecast(SERIES, 6, last_period_complete=True))
