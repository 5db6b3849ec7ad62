"""Monthly forecasts by exponential smoothing: model choice, bands, backtest, fallbacks.

Synthetic series are built with ``np.random.default_rng(seed)`` around a known signal
(100 + 2t + 15 sin(2 pi t / 12) + N(0, 3^2) noise), so the forecast can be checked
against the signal's true continuation.
"""

from __future__ import annotations

import re
import warnings
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from metrics import forecast as forecast_module
from metrics import sla, value
from metrics.filters import Filters
from metrics.forecast import (
    MIN_HISTORY_MONTHS,
    Backtest,
    band_columns,
    forecast,
    monthly_series,
)
from tests.conftest import END

SIGMA = 3.0


def monthly(values, start: str = "2022-01-01") -> pd.Series:
    """Values on consecutive month starts from ``start``."""
    values = np.asarray(values, dtype=float)
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"))


def signal(t: np.ndarray) -> np.ndarray:
    """The known trend and 12-month seasonality: 100 + 2t + 15 sin(2 pi t / 12)."""
    return 100 + 2 * t + 15 * np.sin(2 * np.pi * t / 12)


def trend_season(n: int, seed: int = 7) -> pd.Series:
    rng = np.random.default_rng(seed)
    return monthly(signal(np.arange(n)) + rng.normal(0, SIGMA, n))


def pure_noise(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return monthly(50 + rng.normal(0, 5, n))


def declining(seed: int = 3) -> pd.Series:
    """A count falling 5 a month towards 0: its forecast goes below 0."""
    rng = np.random.default_rng(seed)
    return monthly(60 - 5 * np.arange(12) + rng.normal(0, 2, 12))


def assert_bands_nest(predictions: pd.DataFrame) -> None:
    lower_80, upper_80 = band_columns(0.8)
    lower_95, upper_95 = band_columns(0.95)
    p = predictions
    assert (p[lower_95] <= p[lower_80]).all()
    assert (p[lower_80] <= p["mean"]).all()
    assert (p["mean"] <= p[upper_80]).all()
    assert (p[upper_80] <= p[upper_95]).all()


@pytest.fixture(scope="module")
def seasonal():
    return forecast(trend_season(48), last_period_complete=True)


# ---- a series with known trend and seasonality


def test_mean_forecast_recovers_the_known_continuation(seasonal):
    truth = signal(np.arange(48, 54))
    mean = seasonal.predictions["mean"].to_numpy()
    assert np.abs(mean - truth).max() < 3 * SIGMA
    assert seasonal.predictions.period.tolist() == list(pd.date_range("2026-01-01", periods=6, freq="MS"))


def test_seasonal_trended_model_is_chosen(seasonal):
    assert seasonal.spec.seasonal == "add" and seasonal.spec.trend == "add"
    assert seasonal.model in ("ETS(A,A,A)", "ETS(A,Ad,A)")
    chosen = seasonal.candidates.set_index("model").aicc
    assert chosen[seasonal.model] == chosen.min()
    assert len(seasonal.candidates) == 6 and (seasonal.candidates.note == "").all()


def test_backtest_of_a_regular_series_is_accurate(seasonal):
    bt = seasonal.backtest
    assert bt.available and bt.months == 6                                 # min(6, 48 // 4)
    assert bt.mape < 0.05
    assert bt.predictions.period.tolist() == list(pd.date_range("2025-07-01", periods=6, freq="MS"))
    assert bt.predictions.actual.tolist() == trend_season(48).iloc[-6:].tolist()
    inside = dict(bt.inside)
    assert 0 <= inside[0.8] <= inside[0.95] <= 6
    assert re.fullmatch(r"Tested on the last 6 months: typical error \d+\.\d % \(MAPE\); "
                        r"\d of 6 months fell inside the 80 % band, \d of 6 inside the 95 % band\.",
                        bt.sentence())


def test_sentence_names_model_horizon_and_bands(seasonal):
    text = seasonal.sentence()
    assert seasonal.model in text
    assert "next 6 months" in text and "80 % and 95 %" in text and "48 months" in text


def test_forecast_is_deterministic(seasonal):
    again = forecast(trend_season(48), last_period_complete=True)
    assert again.model == seasonal.model
    pd.testing.assert_frame_equal(again.predictions, seasonal.predictions)
    pd.testing.assert_frame_equal(again.backtest.predictions, seasonal.backtest.predictions)


def test_forecast_follows_the_units_of_the_series(seasonal):
    """Revenue of order 1e7 is fitted as reliably as values of order 100."""
    scaled = forecast(trend_season(48) * 1e5 + 3e6, last_period_complete=True)
    assert scaled.model == seasonal.model
    expected = seasonal.predictions.drop(columns="period") * 1e5 + 3e6
    pd.testing.assert_frame_equal(scaled.predictions.drop(columns="period"), expected, rtol=1e-4)


# ---- bands


@pytest.mark.parametrize("series", [trend_season(48), trend_season(10), pure_noise(36, 1), declining()],
                         ids=["seasonal", "short", "noise", "declining"])
def test_95_band_contains_80_band_and_mean(series):
    result = forecast(series, last_period_complete=True)
    assert result.model is not None
    assert_bands_nest(result.predictions)


@pytest.mark.parametrize("level, columns", [(0.8, ("lower_80", "upper_80")),
                                            (0.95, ("lower_95", "upper_95")),
                                            (0.975, ("lower_97_5", "upper_97_5"))])
def test_band_column_names(level, columns):
    assert band_columns(level) == columns


def test_other_levels_give_their_own_columns():
    result = forecast(trend_season(30), levels=(0.9, 0.5), last_period_complete=True)
    assert result.levels == (0.5, 0.9)
    assert list(result.predictions.columns) == ["period", "mean", "lower_50", "upper_50", "lower_90", "upper_90"]
    assert (result.predictions.lower_90 <= result.predictions.lower_50).all()


def test_non_negative_clips_at_zero():
    clipped = forecast(declining(), last_period_complete=True)
    raw = forecast(declining(), last_period_complete=True, non_negative=False)
    values = raw.predictions.drop(columns="period")
    assert (values < 0).any().any()                                        # the model goes below 0
    pd.testing.assert_frame_equal(clipped.predictions.drop(columns="period"), values.clip(lower=0.0))
    assert (clipped.predictions.lower_95 == 0).any()


# ---- model choice and fallbacks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pure_noise_gets_no_trend(seed):
    result = forecast(pure_noise(48, seed), last_period_complete=True)
    assert result.spec.trend is None
    assert result.model.startswith("ETS(A,N,")


def test_short_series_falls_back_to_non_seasonal():
    result = forecast(trend_season(10), last_period_complete=True)
    assert result.model is not None and result.spec.seasonal is None
    notes = result.candidates.set_index("model").note
    assert notes["ETS(A,A,A)"] == "not tried: seasonality needs 24 months, there are 10"
    assert result.backtest.months == 2                                     # min(6, 10 // 4)


def test_seasonal_models_are_tried_from_two_seasons():
    assert forecast(trend_season(24), last_period_complete=True).candidates.note.eq("").all()
    assert not forecast(trend_season(23), last_period_complete=True).candidates.note.eq("").all()


@pytest.mark.parametrize("n", [0, 1, 4, MIN_HISTORY_MONTHS - 1])
def test_too_short_history_gives_a_reason_not_an_error(n):
    result = forecast(trend_season(n), last_period_complete=True)
    months = "month" if n == 1 else "months"
    assert result.reason == f"Not enough history to forecast: {n} {months}; at least 6 are needed."
    assert result.model is None and result.backtest is None
    assert result.predictions.empty
    assert list(result.predictions.columns) == ["period", "mean", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert result.sentence() == result.reason


def test_four_months_reason_verbatim():
    result = forecast(trend_season(4), last_period_complete=True)
    assert result.reason == "Not enough history to forecast: 4 months; at least 6 are needed."


def test_six_months_forecast_without_backtest():
    result = forecast(trend_season(6), last_period_complete=True)
    assert result.model is not None
    assert not result.backtest.available and result.backtest.months == 0
    assert result.backtest.sentence().startswith("Not tested:")


def test_constant_series_gives_a_reason():
    result = forecast(monthly([5.0] * 24), last_period_complete=True)
    assert result.model is None
    assert result.reason == "All 24 months have the same value (5); there is no variation to forecast from."


class _TrendNeverConverges(forecast_module.ETSModel):
    """An ETSModel whose trended fits warn like a failed optimisation."""

    def fit(self, *args, **kwargs):
        results = super().fit(*args, **kwargs)
        if self.trend is not None:
            warnings.warn("Maximum Likelihood optimization failed to converge.", ConvergenceWarning)
        return results


class _NothingConverges(forecast_module.ETSModel):
    def fit(self, *args, **kwargs):
        warnings.warn("Maximum Likelihood optimization failed to converge.", ConvergenceWarning)
        return super().fit(*args, **kwargs)


def test_non_converging_candidates_are_left_out_silently(monkeypatch, recwarn):
    monkeypatch.setattr(forecast_module, "ETSModel", _TrendNeverConverges)
    result = forecast(trend_season(48), last_period_complete=True)
    assert result.model == "ETS(A,N,A)"
    notes = result.candidates.set_index("model").note
    assert notes["ETS(A,A,A)"] == "did not converge" and notes["ETS(A,N,A)"] == ""
    assert len(recwarn) == 0


def test_no_converging_model_gives_a_reason(monkeypatch, recwarn):
    monkeypatch.setattr(forecast_module, "ETSModel", _NothingConverges)
    result = forecast(trend_season(48), last_period_complete=True)
    assert result.model is None and result.predictions.empty
    assert result.reason == ("No exponential smoothing model could be fitted to these 48 months "
                             "(none converged), so no forecast is shown.")
    assert (result.candidates.note == "did not converge").all()
    assert len(recwarn) == 0


def test_no_warning_reaches_the_user(recwarn):
    spiky = monthly([0] * 20 + [1] + [0] * 5)                             # a degenerate count
    forecast(spiky, last_period_complete=True)
    forecast(trend_season(30), last_period_complete=True)
    assert len(recwarn) == 0


# ---- unfinished months


def test_partial_last_month_is_dropped():
    series = trend_season(30)
    series.iloc[-1] = 0.3 * signal(np.array([29]))[0]                     # a month one-third gone
    result = forecast(series, last_period_complete=False)
    assert len(result.history) == 29 and result.history.index[-1] == pd.Timestamp("2024-05-01")
    assert result.unfinished.index.tolist() == [pd.Timestamp("2024-06-01")]
    first = result.predictions.iloc[0]
    assert first.period == pd.Timestamp("2024-06-01")                     # the forecast starts with it
    assert abs(first["mean"] - signal(np.array([29]))[0]) < 3 * SIGMA     # not pulled down by the part
    assert "June 2024 is unfinished and left out." in result.sentence()
    kept = forecast(series, last_period_complete=True)
    assert len(kept.history) == 30 and kept.unfinished.empty


def test_partial_first_month_is_dropped():
    series = trend_season(30)
    result = forecast(series, last_period_complete=True, first_period_complete=False)
    assert result.history.index[0] == pd.Timestamp("2022-02-01")
    assert result.unfinished.index.tolist() == [pd.Timestamp("2022-01-01")]


def test_dropping_a_partial_month_can_leave_too_little_history():
    result = forecast(trend_season(6), last_period_complete=False)
    assert result.reason == "Not enough history to forecast: 5 months; at least 6 are needed."
    assert result.sentence().endswith("June 2022 is unfinished and left out.")


# ---- backtest measures


def test_zeros_in_actuals_do_not_break_mape():
    rng = np.random.default_rng(11)
    counts = np.r_[rng.poisson(3, 18), [0, 2, 0, 4, 1, 0]]
    result = forecast(monthly(counts), last_period_complete=True)
    bt = result.backtest
    assert bt.available and bt.months == 6
    frame = bt.predictions
    nonzero = frame.actual != 0
    assert bt.mape_months == 3
    assert bt.mape == pytest.approx(np.mean(np.abs(frame.error[nonzero]) / frame.actual[nonzero]))
    assert bt.mae == pytest.approx(np.mean(np.abs(frame.actual - frame["mean"])))
    assert np.isfinite(bt.mape)
    assert "over the 3 months that were not 0" in bt.sentence()


def test_all_zero_actuals_report_mae_only():
    rng = np.random.default_rng(5)
    counts = np.r_[rng.poisson(3, 20), [0] * 6]
    bt = forecast(monthly(counts), last_period_complete=True).backtest
    assert bt.mape is None and bt.mape_months == 0
    assert "(MAE; every actual was 0)" in bt.sentence()


@pytest.mark.parametrize("mape, mape_months, inside, expected", [
    (0.083, 6, ((0.8, 5), (0.95, 6)),
     "Tested on the last 6 months: typical error 8.3 % (MAPE); 5 of 6 months fell inside the 80 % band, "
     "6 of 6 inside the 95 % band."),
    (0.1234, 4, ((0.8, 3), (0.95, 5)),
     "Tested on the last 6 months: typical error 12.3 % (MAPE), over the 4 months that were not 0; "
     "3 of 6 months fell inside the 80 % band, 5 of 6 inside the 95 % band."),
    (None, 0, ((0.8, 0), (0.95, 6)),
     "Tested on the last 6 months: typical error 2.5 per month (MAE; every actual was 0); "
     "0 of 6 months fell inside the 80 % band, 6 of 6 inside the 95 % band."),
])
def test_backtest_sentence(mape, mape_months, inside, expected):
    bt = Backtest(months=6, mae=2.5, mape=mape, mape_months=mape_months, inside=inside,
                  predictions=pd.DataFrame())
    assert bt.sentence() == expected
    assert bt.inside_share(0.8) == inside[0][1] / 6


# ---- input


@pytest.mark.parametrize("series, message", [
    (monthly([1.0] * 8).drop(pd.Timestamp("2022-03-01")), "months missing from the series: 2022-03"),
    (pd.Series([1.0] * 8, index=pd.date_range("2022-01-15", periods=8, freq="30D")),
     "2022-01-15 is not the first day of a month"),
    (monthly([1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0]), "the value of 2022-03 is missing"),
    (pd.Series([1.0] * 8), "must hold dates"),
])
def test_bad_series_is_named(series, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        forecast(series, last_period_complete=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"horizon": 0}, "horizon"), ({"seasonal_periods": 1}, "seasonal_periods"),
    ({"levels": (0.8, 1.0)}, "levels"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecast(trend_season(12), last_period_complete=True, **kwargs)


def test_last_period_complete_must_be_given():
    with pytest.raises(TypeError):
        forecast(trend_season(12))  # type: ignore[call-arg]


def test_monthly_series_sums_per_month_and_fills_gaps():
    frame = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-03-01"]),
                          "tickets": [2, 3, 7]})                          # two classes in January
    series = monthly_series(frame, "tickets")
    assert series.to_dict() == {pd.Timestamp("2025-01-01"): 5.0, pd.Timestamp("2025-02-01"): 0.0,
                                pd.Timestamp("2025-03-01"): 7.0}
    extended = monthly_series(frame, "tickets", end=date(2025, 4, 20))
    assert extended.index[-1] == pd.Timestamp("2025-04-01") and extended.iloc[-1] == 0.0
    assert monthly_series(frame, "tickets", fill_value=None).isna().sum() == 1


def test_monthly_series_accepts_time_zones():
    frame = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01"]).tz_localize("Europe/Paris"),
                          "revenue": [1.0, 2.0]})
    assert monthly_series(frame, "revenue").index.tolist() == [pd.Timestamp("2025-01-01"),
                                                               pd.Timestamp("2025-02-01")]


# ---- the dashboard's own series


@pytest.fixture(scope="module")
def demo_series(demo_path):
    engine = create_engine(f"duckdb:///{demo_path}", connect_args={"read_only": True})
    filters = Filters(date(2024, 1, 1), END)                              # ends inside November 2026
    with engine.connect() as conn:
        revenue = value.revenue_by_period(conn, filters)
        new = value.new_customers_by_period(conn, filters)
        tickets = sla.compliance_over_time(conn, filters, grain="month")
    engine.dispose()
    tickets = tickets.assign(tickets=tickets.met + tickets.breached + tickets.pending)
    return filters, {"revenue": monthly_series(revenue, "revenue", end=filters.end),
                     "new_customers": monthly_series(new, "new_customers", end=filters.end),
                     "tickets": monthly_series(tickets, "tickets", end=filters.end)}


@pytest.mark.parametrize("name", ["revenue", "new_customers", "tickets"])
def test_demo_series_forecast(demo_series, name, recwarn):
    filters, series = demo_series
    result = forecast(series[name], last_period_complete=filters.as_of.day == 1)
    assert result.model is not None, result.reason
    assert result.unfinished.index.tolist() == [pd.Timestamp("2026-11-01")]
    assert result.predictions.period.iloc[0] == pd.Timestamp("2026-11-01")
    assert len(result.predictions) == 6
    assert_bands_nest(result.predictions)
    assert (result.predictions.drop(columns="period") >= 0).all().all()
    assert result.backtest.available and result.backtest.months == 6
    assert len(recwarn) == 0


def test_failed_backtest_is_flagged():
    from metrics.forecast import Backtest

    empty = pd.DataFrame()
    # 2 of 6 months inside the 95 % band: fails; 5 of 6: passes; no test: not "failed"
    assert Backtest(6, 1.0, 0.1, 6, ((0.8, 1), (0.95, 2)), empty).failed()
    assert not Backtest(6, 1.0, 0.1, 6, ((0.8, 4), (0.95, 5)), empty).failed()
    assert not Backtest(0, 0.0, None, 0, ((0.95, 0),), empty, reason="too short").failed()


def test_each_model_is_fitted_on_one_blas_thread(monkeypatch):
    """The fits are tiny: BLAS's own threads fighting over two cores made them several times
    slower. Each fit runs with one BLAS thread, and the process's setting comes back after."""
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen: list[set[int]] = []

    class _Recorded(forecast_module.ETSModel):
        def fit(self, *args, **kwargs):
            seen.append(blas_threads())
            return super().fit(*args, **kwargs)

    before = blas_threads()
    monkeypatch.setattr(forecast_module, "ETSModel", _Recorded)
    forecast(trend_season(48), last_period_complete=True)
    assert len(seen) >= 4 and all(threads == {1} for threads in seen if threads)
    assert blas_threads() == before
