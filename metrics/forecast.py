"""Monthly forecasts (revenue, new customers, tickets) by exponential smoothing.

A monthly series ``y_1 .. y_n`` is forecast ``h`` months ahead with an innovations
state-space exponential smoothing model ETS(error, trend, seasonal) [1]_ fitted by
maximum likelihood with statsmodels' ``ETSModel`` [4]_. The model is chosen among

- error: additive (A);
- trend: none (N), additive (A) or additive damped (Ad);
- seasonality: none (N) or additive (A) with period ``m`` (12 months),

by the smallest AICc, ``AIC + 2k(k + 1) / (n - k - 1)`` [2]_. Seasonal models are
considered only with at least two full seasons of history (``n >= 2m``), the least
statsmodels needs to initialise the seasonal states. Multiplicative seasonality is left
out on purpose: with additive errors it gives models with infinite forecast variance,
which Hyndman et al. exclude from automatic selection (the "restricted" models of
[1]_, ch. 7, and [2]_, §8.7).

Prediction intervals are the analytic ones of the additive ETS class ([1]_, ch. 6):
the band of level ``p`` holds a future month with probability ``p`` if the model is
right. For quantities that cannot be negative (counts, revenue) the mean and the
bounds are clipped at 0 (``non_negative``).

An unfinished month is not data: a month that has only run for ten days looks like a
collapse. The caller says whether the last (and first) month of the series is complete
and incomplete ones are left out of the fit (``last_period_complete``). With a
:class:`metrics.filters.Filters` range the last month is complete when
``filters.as_of.day == 1`` (``as_of`` is the day after the range ends), the first when
``filters.start.day == 1``.

Backtest (a hold-out test, the simplest rolling-origin evaluation [3]_): the chosen
model specification is refitted on all but the last ``k = min(6, n // 4)`` months and
forecasts those ``k`` months 1..k steps ahead. Reported: MAE = mean |actual - mean|,
MAPE = mean |actual - mean| / |actual| over the months whose actual is not 0, and how
many actuals fell inside each band. ``k`` is reduced when the training part would be
too short for the specification (6 months, or two seasons for a seasonal model); below
2 months no backtest is made.

Every statsmodels warning is caught: a candidate whose fit does not converge is left
out of the choice (and named in :attr:`Forecast.candidates`); if none converges, the
:class:`Forecast` has no model and says why. Everything is deterministic (maximum
likelihood by L-BFGS-B, analytic intervals, no simulation).

References
----------
.. [1] Hyndman, R. J., Koehler, A. B., Ord, J. K. and Snyder, R. D. (2008),
   *Forecasting with Exponential Smoothing: The State Space Approach*, Springer.
.. [2] Hyndman, R. J. and Athanasopoulos, G. (2021), *Forecasting: Principles and
   Practice*, 3rd ed., OTexts, §8.5-8.7, https://otexts.com/fpp3/ets.html
.. [3] Tashman, L. J. (2000), "Out-of-sample tests of forecasting accuracy: an
   analysis and review", *International Journal of Forecasting*, 16 (4), 437-450.
.. [4] statsmodels, ``statsmodels.tsa.exponential_smoothing.ets.ETSModel``,
   https://www.statsmodels.org/stable/generated/statsmodels.tsa.exponential_smoothing.ets.ETSModel.html
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController
import pandas as pd
from statsmodels.tools.eval_measures import meanabs
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from babel.dates import format_date
from babel.numbers import format_decimal

from i18n import _, lazy, lazy_plural, locale, ngettext, percent

__all__ = [
    "BACKTEST_MAX_MONTHS",
    "CANDIDATES",
    "MIN_BACKTEST_MONTHS",
    "MIN_HISTORY_MONTHS",
    "SEASONS_NEEDED",
    "Backtest",
    "EtsSpec",
    "Forecast",
    "band_columns",
    "forecast",
    "monthly_series",
]

#: Fewer months than this and no model is fitted.
MIN_HISTORY_MONTHS = 6
#: Full seasons of history needed before seasonal models are considered.
SEASONS_NEEDED = 2
#: The backtest holds out min(BACKTEST_MAX_MONTHS, n // 4) months ...
BACKTEST_MAX_MONTHS = 6
#: ... and is not made on fewer than this many.
MIN_BACKTEST_MONTHS = 2

_MONTH = "MS"


@dataclass(frozen=True)
class EtsSpec:
    """One ETS model with additive errors: trend None/'add' (``damped``), seasonal None/'add'."""

    trend: str | None = None
    damped: bool = False
    seasonal: str | None = None

    @property
    def name(self) -> str:
        """Hyndman's notation, e.g. ``ETS(A,Ad,A)``."""
        trend = "N" if self.trend is None else "Ad" if self.damped else "A"
        seasonal = "N" if self.seasonal is None else "A"
        return f"ETS(A,{trend},{seasonal})"

    def describe(self, seasonal_periods: int) -> str:
        """The components in plain words (in the current language)."""
        trend = (_("no trend") if self.trend is None
                 else _("a trend that levels off") if self.damped else _("a steady trend"))
        seasonal = (_("no seasonal pattern") if self.seasonal is None
                    else _("a repeating {months}-month pattern").format(months=seasonal_periods))
        return _("{trend} and {seasonal}").format(trend=trend, seasonal=seasonal)


#: The models compared by AICc, simplest first (a tie keeps the simpler model).
CANDIDATES: tuple[EtsSpec, ...] = (
    EtsSpec(),
    EtsSpec(trend="add"),
    EtsSpec(trend="add", damped=True),
    EtsSpec(seasonal="add"),
    EtsSpec(trend="add", seasonal="add"),
    EtsSpec(trend="add", damped=True, seasonal="add"),
)


def band_columns(level: float) -> tuple[str, str]:
    """Names of the lower and upper bound columns of a band: 0.8 -> lower_80, upper_80."""
    percent = f"{level * 100:.10g}".replace(".", "_")
    return f"lower_{percent}", f"upper_{percent}"


def _percent(level: float) -> str:
    return _("{value} %").format(value=format_decimal(float(f"{level * 100:.10g}"), format="#,##0.##########",
                                                       locale=locale()))


def _month(period: pd.Timestamp) -> str:
    return format_date(period, format="MMMM y", locale=locale())


def _number(value: float) -> str:
    """A value by the current locale: whole above 100, else three significant digits."""
    if abs(value) >= 100:
        return format_decimal(round(value), format="#,##0", locale=locale())
    return format_decimal(float(f"{value:.3g}"), format="#,##0.##########", locale=locale())


@dataclass(frozen=True, eq=False)
class Backtest:
    """Hold-out test of the chosen model on the last ``months`` months of history.

    ``predictions``: period, actual, mean, the band bounds and error = actual - mean.
    ``mae`` = mean |error|; ``mape`` = mean |error| / |actual| over the ``mape_months``
    months whose actual is not 0 (None when every actual is 0); ``inside`` = for each
    band level, the number of months whose actual lies within the band as shown (bounds
    included, after clipping at 0 with ``non_negative``). When no test could be made,
    ``reason`` says why and ``months`` is 0.
    """

    months: int
    mae: float
    mape: float | None
    mape_months: int
    inside: tuple[tuple[float, int], ...]
    predictions: pd.DataFrame
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.reason is None

    def inside_share(self, level: float) -> float:
        """Share of the tested months inside the band of ``level`` (NaN without a test)."""
        counts = dict(self.inside)
        if level not in counts:
            raise KeyError(f"no band of level {level}; bands: {sorted(counts)}")
        return counts[level] / self.months if self.months else float("nan")

    def failed(self, min_inside: float = 0.5) -> bool:
        """True when fewer than ``min_inside`` of the tested months fell inside the widest band
        (most months outside a 95 % band: the bands cannot be trusted)."""
        if not self.available or not self.months or not self.inside:
            return False
        widest = max(level for level, _count in self.inside)
        return self.inside_share(widest) < min_inside

    def sentence(self) -> str:
        """The test in plain words, for a caption beside the forecast."""
        if not self.available:
            return str(self.reason)
        if self.mape is not None and self.mape_months < self.months:
            error = _("typical error {mape} (MAPE), over the {n} months that were not 0").format(
                mape=percent(self.mape, 1), n=self.mape_months)
        elif self.mape is not None:
            error = _("typical error {mape} (MAPE)").format(mape=percent(self.mape, 1))
        else:
            error = _("typical error {mae} per month (MAE; every actual was 0)").format(mae=_number(self.mae))
        bands = [ngettext("{count} of {months} months fell inside the {level} band",
                          "{count} of {months} months fell inside the {level} band", count).format(
                     count=count, months=self.months, level=_percent(level)) for level, count in self.inside[:1]]
        bands += [_("{count} of {months} inside the {level} band").format(
                      count=count, months=self.months, level=_percent(level)) for level, count in self.inside[1:]]
        return _("Tested on the last {months} months: {error}; {bands}.").format(
            months=self.months, error=error, bands=", ".join(bands))


@dataclass(frozen=True, eq=False)
class Forecast:
    """A monthly forecast with its bands, the model chosen and its backtest.

    ``history``: the months the model was fitted on (unfinished months left out);
    ``unfinished``: the months left out as unfinished (empty when none);
    ``predictions``: period (month start), mean and, per level, ``lower_<p>`` and
    ``upper_<p>`` (e.g. lower_80, upper_95), one row per month ahead;
    ``model``: the chosen ETS model (e.g. ``ETS(A,Ad,A)``), None when there is no
    forecast, in which case ``reason`` says why and ``predictions`` is empty;
    ``candidates``: every model tried with its AICc and, for a model left out, why;
    ``backtest``: the hold-out test (None when there is no model).
    """

    history: pd.Series
    unfinished: pd.Series
    predictions: pd.DataFrame
    model: str | None
    reason: str | None
    backtest: Backtest | None
    candidates: pd.DataFrame
    horizon: int
    levels: tuple[float, ...]
    seasonal_periods: int
    spec: EtsSpec | None = None

    def sentence(self) -> str:
        """The forecast in plain words (in the current language), for a chart caption."""
        left_out = ""
        if len(self.unfinished):
            names = [_month(p) for p in self.unfinished.index]
            months = names[0] if len(names) == 1 else _("{first} and {second}").format(first=names[0], second=names[1])
            said = ngettext("{months} is unfinished and left out.", "{months} are unfinished and left out.",
                            len(names)).format(months=months)
            left_out = " " + said[:1].upper() + said[1:]     # a sentence of its own: "November 2026 ..."
        if self.model is None or self.spec is None:
            return f"{self.reason}{left_out}"
        fitted = sum(note == "" for note in self.candidates.note)
        levels = [_percent(level) for level in self.levels]
        bands = levels[0] if len(levels) == 1 else _("{first} and {second}").format(
            first=", ".join(levels[:-1]), second=levels[-1])
        return ngettext(
            "Forecast of the next {horizon} months by exponential smoothing, {model}: {components}, the best by "
            "AICc of {n} model fitted on {months} months. The bands show where each month should land with "
            "{bands} probability if the past pattern goes on.",
            "Forecast of the next {horizon} months by exponential smoothing, {model}: {components}, the best by "
            "AICc of {n} models fitted on {months} months. The bands show where each month should land with "
            "{bands} probability if the past pattern goes on.", fitted).format(
            horizon=self.horizon, model=self.model, components=self.spec.describe(self.seasonal_periods), n=fitted,
            months=len(self.history), bands=bands) + left_out


def _empty_predictions(levels: tuple[float, ...], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    columns = ["period", *extra, "mean", *[c for level in levels for c in band_columns(level)]]
    no_months = pd.date_range("2000-01-01", periods=0, freq=_MONTH)
    return pd.DataFrame({c: pd.Series(no_months if c == "period" else [], dtype=None if c == "period" else float)
                         for c in columns})


def _unavailable_backtest(reason: str, levels: tuple[float, ...]) -> Backtest:
    return Backtest(months=0, mae=float("nan"), mape=None, mape_months=0,
                    inside=tuple((level, 0) for level in levels),
                    predictions=_empty_predictions(levels, ("actual",)).assign(error=pd.Series(dtype=float)),
                    reason=reason)


def _month_starts(index: Any, name: str) -> pd.DatetimeIndex:
    """The index as naive month starts; raises if it is not one."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if len(index) and pd.api.types.is_numeric_dtype(index):
        raise ValueError(f"{name}: the index must hold dates (month starts), not numbers")
    try:
        periods = pd.DatetimeIndex(pd.to_datetime(index))
    except (TypeError, ValueError):
        raise ValueError(f"{name}: the index must hold dates (month starts)") from None
    if periods.tz is not None:
        periods = periods.tz_localize(None)
    starts = periods.to_period("M").to_timestamp()
    if not (periods == starts).all():
        bad = periods[periods != starts][0]
        raise ValueError(f"{name}: {bad.date()} is not the first day of a month; pass a monthly series")
    return pd.DatetimeIndex(starts)


def monthly_series(frame: pd.DataFrame, value_column: str, *, period_column: str = "period",
                   start: date | None = None, end: date | None = None,
                   fill_value: float | None = 0.0) -> pd.Series:
    """Sum of ``value_column`` per calendar month, on a gap-free monthly index.

    Turns a per-period frame (e.g. :func:`metrics.value.revenue_by_period`, which has no
    row for a month without orders) into the input of :func:`forecast`. Rows are summed
    per month of ``period_column`` (so several rows per month, e.g. one per SLA class,
    add up). The index runs from the month of ``start`` (default: the first period) to
    the month of ``end`` (default: the last period); months without rows get
    ``fill_value`` (0 suits counts and revenue; None leaves them missing).

    Pass ``start`` only when the data covers it: months of the range before the data
    begins (before the CRM was loaded) would become zeros and read as a real slump.
    ``end`` (the month of the range end) keeps a current month without rows as a 0.
    """
    if value_column not in frame or period_column not in frame:
        raise ValueError(f"monthly_series: the frame needs the columns {period_column!r} and {value_column!r}")
    periods = pd.to_datetime(frame[period_column])
    if getattr(periods.dt, "tz", None) is not None:
        periods = periods.dt.tz_localize(None)
    months = periods.dt.to_period("M").dt.to_timestamp()
    totals = pd.to_numeric(frame[value_column]).astype(float).groupby(months.to_numpy()).sum(min_count=1)
    first = pd.Timestamp(start) if start is not None else (totals.index.min() if len(totals) else None)
    last = pd.Timestamp(end) if end is not None else (totals.index.max() if len(totals) else None)
    if first is None or last is None:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], freq=_MONTH), name=value_column)
    index = pd.date_range(first.to_period("M").to_timestamp(), last.to_period("M").to_timestamp(), freq=_MONTH)
    series = totals.reindex(index)
    if fill_value is not None:
        series = series.fillna(fill_value)
    return series.rename(value_column)


def _validated(series: pd.Series) -> pd.Series:
    """The series as floats on a gap-free monthly index with frequency; raises otherwise."""
    if not isinstance(series, pd.Series):
        raise ValueError("forecast: series must be a pandas Series indexed by month starts")
    index = _month_starts(series.index, "forecast")
    values = pd.to_numeric(pd.Series(series.to_numpy(), index=index), errors="coerce").astype(float)
    if index.has_duplicates:
        raise ValueError(f"forecast: {index[index.duplicated()][0]:%Y-%m} appears more than once")
    if not index.is_monotonic_increasing:
        raise ValueError("forecast: the months must be in increasing order")
    if len(index):
        full = pd.date_range(index[0], index[-1], freq=_MONTH)
        if len(full) != len(index):
            missing = ", ".join(f"{m:%Y-%m}" for m in full.difference(index)[:5])
            raise ValueError(f"forecast: months missing from the series: {missing}; "
                             "fill them first (monthly_series fills them with 0)")
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        raise ValueError(f"forecast: the value of {index[bad][0]:%Y-%m} is missing or not finite")
    return pd.Series(values.to_numpy(), index=pd.DatetimeIndex(index, freq=_MONTH), name=series.name)


@dataclass(frozen=True)
class _Fit:
    """statsmodels results on the standardised series z = (y - center) / scale."""

    results: Any
    center: float
    scale: float


@cache
def _blas() -> ThreadpoolController:
    """The process's BLAS libraries, found once: threadpoolctl goes through every loaded
    library for each controller it makes, and a forecast fits about twenty models (0.15 s
    a forecast instead of 0.17 s)."""
    return ThreadpoolController()


def _fit(y: pd.Series, spec: EtsSpec, seasonal_periods: int) -> tuple[_Fit | None, str]:
    """The fit of ``spec`` to ``y``, or None and why the fit was refused.

    The model is fitted to the standardised series: additive ETS is equivariant under
    y -> a + b y (forecasts and bounds transform alike, every model's log-likelihood
    moves by the same n log b), and the optimiser is reliable only on values of order 1
    (on revenue of order 1e7 it stops early at a poor optimum). Every warning is caught;
    a ConvergenceWarning, an error raised by statsmodels or a non-finite AICc (more
    parameters than the history supports) refuses the fit.
    """
    values = y.to_numpy(dtype=float)
    center, scale = float(np.mean(values)), float(np.std(values))
    scale = scale if scale > 0 else 1.0
    z = (y - center) / scale
    # one BLAS thread: the fits are tiny, and BLAS's own threads fighting over the cores
    # made them several times slower on a 2-core machine
    with warnings.catch_warnings(record=True) as caught, _blas().limit(limits=1, user_api="blas"):
        warnings.simplefilter("always")
        try:
            model = ETSModel(z, error="add", trend=spec.trend, damped_trend=spec.damped,
                             seasonal=spec.seasonal,
                             seasonal_periods=seasonal_periods if spec.seasonal else None)
            results = model.fit(disp=False)
            aicc = float(results.aicc)
        except Exception as error:  # statsmodels' own failures become a fallback, not a crash
            return None, lazy("could not be fitted ({error})", error=type(error).__name__)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        return None, lazy("did not converge")
    if not np.isfinite(aicc):
        return None, lazy("too many parameters for the history (AICc undefined)")
    return _Fit(results, center, scale), ""


def _predict(fit: _Fit, start: pd.Timestamp, horizon: int, levels: tuple[float, ...],
             non_negative: bool) -> pd.DataFrame | None:
    """Mean and bands for ``horizon`` months from ``start``; None if they are not finite."""
    nobs = int(fit.results.nobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            prediction = fit.results.get_prediction(start=nobs, end=nobs + horizon - 1, method="exact")
            frames = {level: prediction.summary_frame(alpha=1 - level) for level in levels}
        except Exception:
            return None

    def original(values: pd.Series) -> np.ndarray:
        return fit.center + fit.scale * values.to_numpy(dtype=float)

    first = next(iter(frames.values()))
    out = pd.DataFrame({"period": pd.date_range(start, periods=horizon, freq=_MONTH),
                        "mean": original(first["mean"])})
    for level, frame in frames.items():
        lower, upper = band_columns(level)
        out[lower] = original(frame["pi_lower"])
        out[upper] = original(frame["pi_upper"])
    values = out.drop(columns="period")
    if not np.isfinite(values.to_numpy()).all():
        return None
    if non_negative:
        out[values.columns] = values.clip(lower=0.0)
    return out


def _backtest(y: pd.Series, spec: EtsSpec, seasonal_periods: int, levels: tuple[float, ...],
              non_negative: bool) -> Backtest:
    """Refit ``spec`` on all but the last k months and compare its forecast of them."""
    n = len(y)
    needed = SEASONS_NEEDED * seasonal_periods if spec.seasonal else MIN_HISTORY_MONTHS
    k = min(BACKTEST_MAX_MONTHS, n // 4, n - needed)
    if k < MIN_BACKTEST_MONTHS:
        return _unavailable_backtest(lazy(
            "Not tested: a backtest holds out at least {minimum} months and still needs {needed} months to fit "
            "{model}; there are {n}.", minimum=MIN_BACKTEST_MONTHS, needed=needed, model=spec.name, n=n), levels)
    train, test = y.iloc[:-k], y.iloc[-k:]
    fit, problem = _fit(train, spec, seasonal_periods)
    predicted = None if fit is None else _predict(fit, test.index[0], k, levels, non_negative)
    if predicted is None:
        return _unavailable_backtest(lazy(
            "Not tested: {model} refitted without the last {k} months {problem}.", model=spec.name, k=k,
            problem=problem or lazy("gave no finite forecast")), levels)
    actual = test.to_numpy(dtype=float)
    mean = predicted["mean"].to_numpy(dtype=float)
    predicted.insert(1, "actual", actual)
    predicted["error"] = actual - mean
    nonzero = actual != 0
    mape = (float(np.mean(np.abs(actual[nonzero] - mean[nonzero]) / np.abs(actual[nonzero])))
            if nonzero.any() else None)
    inside = []
    for level in levels:
        lower, upper = band_columns(level)
        inside.append((level, int(((predicted[lower] <= actual) & (actual <= predicted[upper])).sum())))
    return Backtest(months=k, mae=float(meanabs(actual, mean)), mape=mape, mape_months=int(nonzero.sum()),
                    inside=tuple(inside), predictions=predicted)


def forecast(series: pd.Series, horizon: int = 6, seasonal_periods: int = 12,
             levels: tuple[float, ...] = (0.8, 0.95), *, last_period_complete: bool,
             first_period_complete: bool = True, non_negative: bool = True) -> Forecast:
    """Forecast a monthly series ``horizon`` months ahead with bands and a backtest.

    Parameters
    ----------
    series : pd.Series
        Values indexed by month starts, without gaps (see :func:`monthly_series`).
    horizon : int
        Months to forecast after the last complete month.
    seasonal_periods : int
        Length of the seasonal cycle in months; seasonal models need
        ``SEASONS_NEEDED * seasonal_periods`` months of history.
    levels : tuple of float
        Probabilities of the prediction bands, e.g. (0.8, 0.95).
    last_period_complete : bool
        Whether the last month of the series has ended. When False (the range stops
        inside the current month) that month is left out: its partial value is not a
        real drop. The forecast then starts with that month.
    first_period_complete : bool
        Whether the first month is whole; when False it is left out too.
    non_negative : bool
        Clip the mean and the bounds at 0 (counts, revenue).

    Returns
    -------
    Forecast
        With ``model`` None and a ``reason`` (never an exception) when there are fewer
        than ``MIN_HISTORY_MONTHS`` months, the series is constant, or no model fits.

    References
    ----------
    See the module docstring: Hyndman et al. (2008), Hyndman & Athanasopoulos (2021).
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"forecast: horizon must be a whole number of months >= 1, got {horizon!r}")
    if isinstance(seasonal_periods, bool) or not isinstance(seasonal_periods, (int, np.integer)) \
            or seasonal_periods < 2:
        raise ValueError(f"forecast: seasonal_periods must be a whole number >= 2, got {seasonal_periods!r}")
    levels = tuple(sorted({float(level) for level in levels}))
    if not levels or not all(0 < level < 1 for level in levels):
        raise ValueError(f"forecast: levels must lie strictly between 0 and 1, got {levels!r}")
    horizon, seasonal_periods = int(horizon), int(seasonal_periods)

    y = _validated(series)
    unfinished = y.iloc[:0]
    if not last_period_complete and len(y):
        unfinished, y = y.iloc[-1:], y.iloc[:-1]
    if not first_period_complete and len(y):
        unfinished, y = pd.concat([y.iloc[:1], unfinished]), y.iloc[1:]
    y = pd.Series(y.to_numpy(), index=pd.DatetimeIndex(y.index, freq=_MONTH), name=y.name)

    def without_model(reason: str, candidates: pd.DataFrame | None = None) -> Forecast:
        return Forecast(history=y, unfinished=unfinished, predictions=_empty_predictions(levels),
                        model=None, reason=reason, backtest=None,
                        candidates=candidates if candidates is not None else
                        pd.DataFrame({"model": pd.Series(dtype=str), "aicc": pd.Series(dtype=float),
                                      "note": pd.Series(dtype=str)}),
                        horizon=horizon, levels=levels, seasonal_periods=seasonal_periods)

    n = len(y)
    if n < MIN_HISTORY_MONTHS:
        return without_model(lazy_plural(
            "Not enough history to forecast: {n} month; at least {minimum} are needed.",
            "Not enough history to forecast: {n} months; at least {minimum} are needed.", n,
            minimum=MIN_HISTORY_MONTHS))
    if np.ptp(y.to_numpy()) == 0:
        return without_model(lazy("All {n} months have the same value ({value}); there is no variation to "
                                  "forecast from.", n=n, value=partial(_number, float(y.iloc[0]))))

    seasonal_allowed = n >= SEASONS_NEEDED * seasonal_periods
    rows, fitted = [], []
    for spec in CANDIDATES:
        if spec.seasonal and not seasonal_allowed:
            rows.append([spec.name, float("nan"),
                         lazy("not tried: seasonality needs {needed} months, there are {n}",
                              needed=SEASONS_NEEDED * seasonal_periods, n=n)])
            continue
        fit, problem = _fit(y, spec, seasonal_periods)
        aicc = float(fit.results.aicc) if fit is not None else float("nan")
        rows.append([spec.name, aicc, problem])
        if fit is not None:
            fitted.append((aicc, len(rows) - 1, spec, fit))
    # the best AICc whose forecast is finite: predicted in that order, the first finite one
    # chosen (the others' forecasts are never needed)
    chosen = None
    for _aicc, row, spec, fit in sorted(fitted, key=lambda item: item[:2]):
        predicted = _predict(fit, y.index[-1] + pd.offsets.MonthBegin(1), horizon, levels, non_negative)
        if predicted is not None:
            chosen = spec, predicted
            break
        rows[row][2] = lazy("gave no finite forecast")
    candidates = pd.DataFrame(rows, columns=["model", "aicc", "note"])
    if chosen is None:
        return without_model(lazy("No exponential smoothing model could be fitted to these {n} months (none "
                                  "converged), so no forecast is shown.", n=n), candidates)

    spec, predicted = chosen
    return Forecast(history=y, unfinished=unfinished, predictions=predicted, model=spec.name, reason=None,
                    backtest=_backtest(y, spec, seasonal_periods, levels, non_negative),
                    candidates=candidates, horizon=horizon, levels=levels,
                    seasonal_periods=seasonal_periods, spec=spec)
