"""Gamma-Gamma: Hardie's CDNOW numbers, lifetimes parity, CLV, degenerate input.

Which data reproduce Hardie's p = 6.25, q = 3.74, gamma = 15.44 (note 025)?
The 946 repeat buyers' *unrounded* mean spend per repeat purchase day --
computed from ``CDNOW_sample.txt`` with same-day purchases merged (amounts
summed) and the first day excluded -- gives p = 6.2496, q = 3.7442,
v = 15.4435: the published values to their 2 decimals. The same column
rounded to cents (``zbar`` in lifetimes' ``cdnow_customers_summary_with_
transactions.csv``) gives v = 15.4477, which rounds to 15.45; both are
checked below.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests import cdnow

from metrics.bgnbd import BetaGeoFitter, ConvergenceError
from metrics.gamma_gamma import DAYS_PER_MONTH, GammaGammaFitter, simulate_gamma_gamma_spend

CDNOW = cdnow.FOLDER

#: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (gamma is our v).
PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return cdnow.calibration_summary("W")


@pytest.fixture(scope="module")
def fitted(cdnow_summary: pd.DataFrame) -> GammaGammaFitter:
    return GammaGammaFitter().fit(cdnow_summary["frequency"], cdnow_summary["monetary_value"])


@pytest.fixture(scope="module")
def bgnbd(cdnow_summary: pd.DataFrame) -> BetaGeoFitter:
    s = cdnow_summary
    return BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])


@pytest.fixture(scope="module")
def lifetimes_models(cdnow_summary: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter as LifetimesBetaGeo
        from lifetimes import GammaGammaFitter as LifetimesGammaGamma

        s = cdnow_summary
        repeat = s[s["frequency"] > 0]
        spend = LifetimesGammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
        purchases = LifetimesBetaGeo().fit(s["frequency"], s["recency"], s["T"])
        return spend, purchases


# --------------------------------------------------------------------------- published


@pytest.mark.parametrize("name", ["p", "q", "v"])
def test_params_reproduce_hardies_estimates(fitted: GammaGammaFitter, name: str) -> None:
    assert fitted.n_customers_ == 946
    assert fitted.params_[name] == pytest.approx(PUBLISHED[name], abs=5e-3)


def test_rounded_summary_file_is_within_a_cent_of_the_published_estimates() -> None:
    hardie = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    model = GammaGammaFitter().fit(hardie["x"], hardie["zbar"])
    assert model.params_["p"] == pytest.approx(6.2488, abs=1e-3)
    assert model.params_["q"] == pytest.approx(3.7446, abs=1e-3)
    assert model.params_["v"] == pytest.approx(15.4477, abs=1e-3)  # rounds to 15.45, not 15.44
    for name, value in PUBLISHED.items():
        assert model.params_[name] == pytest.approx(value, abs=0.01)


def test_conditional_expected_spend_matches_hand_computation(
    fitted: GammaGammaFitter, cdnow_summary: pd.DataFrame
) -> None:
    # E(M | x, mbar) = (p v + p x mbar) / (p x + q - 1), with Hardie's p, q, v:
    #   customer 1: x = 2, mbar = (29.73 + 14.96) / 2 = 22.345
    #     (6.25 * 15.44 + 6.25 * 2 * 22.345) / (12.5 + 2.74) = 375.8125 / 15.24 = 24.6596
    #   customer 2: x = 1, mbar = 11.77
    #     (96.5 + 6.25 * 11.77) / (6.25 + 2.74) = 170.0625 / 8.99 = 18.9169
    #   customer 3: x = 0 -> population mean p v / (q - 1) = 96.5 / 2.74 = 35.2190
    by_hand = {1: 24.6596, 2: 18.9169, 3: 35.2190}
    s = cdnow_summary.loc[list(by_hand)]
    assert s["frequency"].tolist() == [2, 1, 0]
    ours = fitted.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    np.testing.assert_allclose(ours, list(by_hand.values()), atol=0.1)
    published = GammaGammaFitter()
    published.params_ = dict(PUBLISHED)
    np.testing.assert_allclose(
        published.conditional_expected_average_profit(s["frequency"], s["monetary_value"]),
        list(by_hand.values()),
        atol=1e-4,
    )


# --------------------------------------------------------------------------- lifetimes parity


def test_params_standard_errors_and_likelihood_equal_lifetimes(
    fitted: GammaGammaFitter, lifetimes_models
) -> None:
    theirs, _ = lifetimes_models
    for name in ["p", "q", "v"]:
        assert fitted.params_[name] == pytest.approx(theirs.params_[name], abs=1e-3)
        assert fitted.params_[name] == pytest.approx(theirs.params_[name], rel=1e-6)
        assert fitted.standard_errors_[name] == pytest.approx(
            theirs.standard_errors_[name], rel=1e-3
        )
    # lifetimes stores the mean negative log-likelihood
    their_log_likelihood = -theirs._negative_log_likelihood_ * 946
    assert fitted.log_likelihood_ == pytest.approx(their_log_likelihood, abs=1e-6)


def test_summary_table(fitted: GammaGammaFitter) -> None:
    table = fitted.summary
    assert list(table.index) == ["p", "q", "v"]
    assert list(table.columns) == ["coef", "se", "lower 95", "upper 95"]
    assert (table["se"] > 0).all()
    assert (table["lower 95"] < table["coef"]).all() and (table["coef"] < table["upper 95"]).all()


def test_customer_lifetime_value_equals_lifetimes_with_one_month_units(
    fitted, bgnbd, lifetimes_models, cdnow_summary
) -> None:
    # with unit="M" both use 1 model time unit per month, so the sums are the same
    spend, purchases = lifetimes_models
    s = cdnow_summary
    args = (s["frequency"], s["recency"], s["T"], s["monetary_value"])
    ours = fitted.customer_lifetime_value(
        bgnbd, *args, time_months=6, discount_rate=0.02, unit="M"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = spend.customer_lifetime_value(
            purchases, *args, time=6, discount_rate=0.02, freq="M"
        )
    assert isinstance(ours, pd.Series) and ours.index.equals(s.index)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_customer_lifetime_value_worked_by_hand(fitted, bgnbd) -> None:
    # customer 1 of CDNOW (x = 2, t_x = 30.43, T = 38.86, mbar = 22.345), 3 months, 1 %/month:
    # sum_k E(M) * (E[Y(k u)] - E[Y((k-1) u)]) / 1.01**k with u = 30.4375 / 7 weeks
    x, t_x, T, mbar = 2, 30.43, 38.86, 22.345
    u = DAYS_PER_MONTH / 7
    spend = fitted.conditional_expected_average_profit(x, mbar)
    cumulative = [
        bgnbd.conditional_expected_number_of_purchases_up_to_time(k * u, x, t_x, T)
        for k in range(4)
    ]
    by_hand = sum(spend * (cumulative[k] - cumulative[k - 1]) / 1.01**k for k in (1, 2, 3))
    value = fitted.customer_lifetime_value(bgnbd, x, t_x, T, mbar, time_months=3)
    assert value == pytest.approx(by_hand, rel=1e-12)
    # without discounting the monthly increments telescope to spend * E[Y(3 months)]
    undiscounted = fitted.customer_lifetime_value(
        bgnbd, x, t_x, T, mbar, time_months=3, discount_rate=0.0
    )
    assert undiscounted == pytest.approx(spend * cumulative[3], rel=1e-12)
    in_days = fitted.customer_lifetime_value(
        bgnbd, x, t_x, T, mbar, time_months=3, discount_rate=0.0, unit="D"
    )
    assert in_days == pytest.approx(
        spend
        * bgnbd.conditional_expected_number_of_purchases_up_to_time(
            3 * DAYS_PER_MONTH, x, t_x, T
        )
    )


def test_longer_horizons_are_worth_more(fitted, bgnbd, cdnow_summary) -> None:
    s = cdnow_summary.head(50)
    args = (s["frequency"], s["recency"], s["T"], s["monetary_value"])
    six = fitted.customer_lifetime_value(bgnbd, *args, time_months=6)
    twelve = fitted.customer_lifetime_value(bgnbd, *args, time_months=12)
    assert (twelve > six).all() and (six > 0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_months": 0}, "time_months must be >= 1"),
        ({"time_months": 2.5}, "whole number"),
        ({"discount_rate": -0.1}, "discount_rate"),
        ({"discount_rate": float("nan")}, "discount_rate"),
        ({"unit": "Y"}, "unit must be one of"),
    ],
)
def test_customer_lifetime_value_rejects_bad_settings(fitted, bgnbd, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        fitted.customer_lifetime_value(bgnbd, 2, 30.43, 38.86, 22.345, **kwargs)


# --------------------------------------------------------------------------- behaviour


def test_non_repeat_buyers_are_ignored_by_the_fit(fitted, cdnow_summary) -> None:
    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    model = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ["p", "q", "v"]:
        assert model.params_[name] == pytest.approx(fitted.params_[name], rel=1e-9)


def test_recovers_the_parameters_of_simulated_data() -> None:
    rng = np.random.default_rng(2013)
    frequency = rng.poisson(2.5, size=40_000)
    spend = simulate_gamma_gamma_spend(**PUBLISHED, frequency=frequency, rng=rng)
    assert (spend[frequency == 0] == 0).all()
    model = GammaGammaFitter().fit(frequency, spend)
    for name, true_value in PUBLISHED.items():
        assert abs(model.params_[name] - true_value) < 3.5 * model.standard_errors_[name], name


# --------------------------------------------------------------------------- degenerate input


@pytest.mark.parametrize(
    ("frequency", "monetary_value", "message"),
    [
        ([], [], "empty input"),
        ([0, 0, 0], [0.0, 0.0, 0.0], "no repeat buyer"),
        ([1, 0, 0], [10.0, 0.0, 0.0], "at least 3"),
        ([1, 2, 3, 1], [10.0, 0.0, 15.0, 3.0], "must be > 0 for repeat buyers"),
        ([1, 2, 3, 1], [10.0, -1.0, 15.0, 3.0], "monetary_value must be >= 0"),
        ([1, 2, 3, 1], [10.0, np.inf, 15.0, 3.0], "monetary_value contains 1 missing"),
        ([1, -2, 3, 1], [10.0, 1.0, 15.0, 3.0], "frequency must be >= 0"),
        ([1, 2.5, 3, 1], [10.0, 1.0, 15.0, 3.0], "whole number"),
        ([1, 2, 3], [10.0, 1.0], "same length"),
    ],
)
def test_invalid_or_degenerate_input_raises_a_clear_value_error(
    frequency, monetary_value, message
) -> None:
    with pytest.raises(ValueError, match=message):
        GammaGammaFitter().fit(frequency, monetary_value)


@pytest.mark.parametrize(
    ("frequency", "monetary_value"),
    [
        ([1, 2, 3, 4], [10.0, 10.0, 10.0, 10.0]),  # everybody spends the same
        ([1, 2, 3], [10.0, 20.0, 15.0]),  # no spread between customers
    ],
)
def test_unidentified_data_raise_convergence_error(frequency, monetary_value) -> None:
    with pytest.raises(ConvergenceError, match="do not identify the model"):
        GammaGammaFitter().fit(frequency, monetary_value)


def test_infinite_population_mean_is_refused() -> None:
    model = GammaGammaFitter()
    model.params_ = {"p": 2.0, "q": 0.8, "v": 10.0}
    with pytest.raises(ValueError, match="q = 0.8 <= 1"):
        model.conditional_expected_average_profit(1, 20.0)


def test_predictions_need_a_fit() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        GammaGammaFitter().conditional_expected_average_profit(1, 20.0)
    with pytest.raises(ValueError, match="not fitted"):
        GammaGammaFitter().summary
