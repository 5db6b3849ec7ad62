"""BG/NBD: the published CDNOW numbers, lifetimes parity, numerics, degenerate input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests import cdnow
from scipy import integrate, special

from metrics.bgnbd import (
    BetaGeoFitter,
    ConvergenceError,
    expected_purchases_if_alive,
    maximise_log_likelihood,
    simulate_bgnbd_summary,
)
from metrics.rfm_summary import summary_from_transactions

CDNOW = cdnow.FOLDER

#: Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 5.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOG_LIKELIHOOD = -9582.4


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    """The 39-week calibration summary, computed from the raw transactions."""
    return cdnow.calibration_summary("W")


@pytest.fixture(scope="module")
def fitted(cdnow_summary: pd.DataFrame) -> BetaGeoFitter:
    s = cdnow_summary
    return BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])


@pytest.fixture(scope="module")
def lifetimes_fitted(cdnow_summary: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter as LifetimesBetaGeoFitter

        s = cdnow_summary
        return LifetimesBetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])


# --------------------------------------------------------------------------- published


@pytest.mark.parametrize("name", ["r", "alpha", "a", "b"])
def test_params_reproduce_the_published_cdnow_estimates(fitted: BetaGeoFitter, name: str) -> None:
    # published to 3 decimals: the estimate must round to the published value
    assert fitted.params_[name] == pytest.approx(PUBLISHED[name], abs=5e-4)


def test_log_likelihood_reproduces_the_published_value(fitted: BetaGeoFitter) -> None:
    assert fitted.log_likelihood_ == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.05)


def test_published_conditional_expectation_for_the_example_customer(
    fitted: BetaGeoFitter,
) -> None:
    # Fader, Hardie & Lee (2005): x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks
    expected = fitted.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert isinstance(expected, float)
    assert expected == pytest.approx(1.226, abs=5e-4)


def test_published_parameters_give_the_published_conditional_expectation() -> None:
    model = BetaGeoFitter()
    model.params_ = dict(PUBLISHED)
    value = model.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert value == pytest.approx(1.226, abs=5e-4)


# --------------------------------------------------------------------------- lifetimes parity


def test_params_and_standard_errors_equal_lifetimes(fitted, lifetimes_fitted) -> None:
    for name in ["r", "alpha", "a", "b"]:
        assert fitted.params_[name] == pytest.approx(lifetimes_fitted.params_[name], abs=1e-3)
        assert fitted.params_[name] == pytest.approx(lifetimes_fitted.params_[name], rel=1e-5)
        assert fitted.standard_errors_[name] == pytest.approx(
            lifetimes_fitted.standard_errors_[name], rel=1e-3
        )


def test_predictions_equal_lifetimes_on_every_cdnow_customer(
    fitted, lifetimes_fitted, cdnow_summary
) -> None:
    s = cdnow_summary
    x, t_x, T = s["frequency"], s["recency"], s["T"]
    for horizon in [1.0, 39.0, 78.0]:
        ours = fitted.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
        theirs = lifetimes_fitted.conditional_expected_number_of_purchases_up_to_time(
            horizon, x, t_x, T
        )
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        fitted.conditional_probability_alive(x, t_x, T),
        lifetimes_fitted.conditional_probability_alive(x, t_x, T),
        rtol=1e-5,
    )
    t = np.array([0.5, 10.0, 39.0, 78.0, 520.0])
    np.testing.assert_allclose(
        fitted.expected_number_of_purchases_up_to_time(t),
        lifetimes_fitted.expected_number_of_purchases_up_to_time(t),
        rtol=1e-5,
    )


def test_series_in_series_out(fitted, cdnow_summary) -> None:
    s = cdnow_summary
    out = fitted.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    assert isinstance(out, pd.Series) and out.index.equals(s.index)
    out = fitted.conditional_expected_number_of_purchases_up_to_time(
        39, s["frequency"], s["recency"], s["T"]
    )
    assert isinstance(out, pd.Series) and out.index.equals(s.index)


# --------------------------------------------------------------------------- summary, weights


def test_summary_table(fitted: BetaGeoFitter) -> None:
    table = fitted.summary
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert list(table.columns) == ["coef", "se", "lower 95", "upper 95"]
    assert (table["se"] > 0).all()
    # log-scale Wald interval: log(upper / coef) = z * se / coef, and the same below
    z = 1.959963984540054
    np.testing.assert_allclose(np.log(table["upper 95"] / table["coef"]), z * table["se"] / table["coef"])
    np.testing.assert_allclose(np.log(table["coef"] / table["lower 95"]), z * table["se"] / table["coef"])
    assert (table["lower 95"] > 0).all()
    np.testing.assert_allclose(np.diag(fitted.covariance_.to_numpy()), table["se"] ** 2)
    assert fitted.n_customers_ == 2357


def test_grouped_rows_with_weights_fit_like_the_individual_rows(cdnow_summary, fitted) -> None:
    grouped = (
        cdnow_summary.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    )
    assert len(grouped) < len(cdnow_summary) / 2
    model = BetaGeoFitter().fit(
        grouped["frequency"], grouped["recency"], grouped["T"], weights=grouped["n"]
    )
    for name in ["r", "alpha", "a", "b"]:
        assert model.params_[name] == pytest.approx(fitted.params_[name], rel=1e-7)
        assert model.standard_errors_[name] == pytest.approx(
            fitted.standard_errors_[name], rel=1e-5
        )
    assert model.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-10)


def test_recovers_the_parameters_of_simulated_data() -> None:
    rng = np.random.default_rng(2005)
    T = rng.integers(190, 273, size=60_000) / 7  # first purchases spread over 12 weeks
    data = simulate_bgnbd_summary(**PUBLISHED, T=T, rng=rng)
    model = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    for name, true_value in PUBLISHED.items():
        assert abs(model.params_[name] - true_value) < 3.5 * model.standard_errors_[name], name


def test_simulated_mean_frequency_matches_the_model_expectation() -> None:
    rng = np.random.default_rng(39)
    data = simulate_bgnbd_summary(**PUBLISHED, T=np.full(400_000, 39.0), rng=rng)
    model = BetaGeoFitter()
    model.params_ = dict(PUBLISHED)
    standard_error = data["frequency"].std() / np.sqrt(len(data))
    assert abs(data["frequency"].mean() - model.expected_number_of_purchases_up_to_time(39.0)) < (
        4 * standard_error
    )


# --------------------------------------------------------------------------- numerics


def _expected_if_alive_by_adaptive_quadrature(s: float, x: int, r: float, a: float, b: float):
    """Independent reference: E_p[(1 - (1 + p s)**-(r+x)) / p], p ~ Beta(a, b + x), by QUADPACK."""

    def integrand(p: float) -> float:
        return -np.expm1(-(r + x) * np.log1p(p * s)) / p if p > 0 else (r + x) * s

    value, _ = integrate.quad(
        integrand, 0, 1, weight="alg", wvar=(a - 1, b + x - 1), limit=500, epsabs=0, epsrel=1e-12
    )
    return value / np.exp(special.betaln(a, b + x))


@pytest.mark.parametrize(
    ("r", "a", "b"),
    [
        (0.243, 0.793, 2.426),
        (2.0, 1.5, 5.0),
        (3.0, 0.5, 50.0),
        (0.05, 0.2, 0.5),
        (1.0, 0.999, 1.0),
    ],
)
@pytest.mark.parametrize("x", [0, 1, 5, 30, 100, 300])
@pytest.mark.parametrize("s", [1e-3, 0.5, 1.0, 3.0, 10.0, 100.0])
def test_expected_purchases_if_alive_matches_adaptive_quadrature(r, a, b, x, s) -> None:
    # scipy's hyp2f1 alone returns inf/nan (x >= 100, s > 1) or silently wrong values
    # (e.g. r=3, a=0.5, b=50, x=5, s=3 is off by 150%) in this grid
    reference = _expected_if_alive_by_adaptive_quadrature(s, x, r, a, b)
    value = expected_purchases_if_alive(np.array([s]), np.array([float(x)]), r, a, b)[0]
    assert value == pytest.approx(reference, rel=1e-8)


def test_extreme_histories_give_finite_monotone_predictions(fitted: BetaGeoFitter) -> None:
    x = np.array([0, 1, 50, 500, 5000, 20000], dtype=float)
    T = np.array([0.0, 1.0, 10.0, 40.0, 400.0, 1000.0])
    t_x = np.where(x > 0, T * 0.9, 0.0)
    horizons = [0.0, 1e-6, 1.0, 39.0, 520.0, 5200.0, 1e6]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings either
        curves = np.array(
            [
                fitted.conditional_expected_number_of_purchases_up_to_time(h, x, t_x, T)
                for h in horizons
            ]
        )
        alive = fitted.conditional_probability_alive(x, t_x, T)
    assert np.isfinite(curves).all() and np.isfinite(alive).all()
    assert (curves[0] == 0).all()
    assert (np.diff(curves, axis=0) >= 0).all()
    assert ((alive >= 0) & (alive <= 1)).all()


def test_a_new_customer_conditional_equals_the_unconditional_expectation(fitted) -> None:
    t = np.array([1.0, 39.0, 100.0])
    np.testing.assert_allclose(
        fitted.conditional_expected_number_of_purchases_up_to_time(t, 0, 0, 0),
        fitted.expected_number_of_purchases_up_to_time(t),
        rtol=1e-12,
    )


def test_probability_alive_worked_by_hand() -> None:
    # P(alive) = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    model = BetaGeoFitter()
    model.params_ = dict(PUBLISHED)
    r, alpha, a, b = PUBLISHED.values()
    by_hand = 1 / (1 + a / (b + 2 - 1) * ((alpha + 38.86) / (alpha + 30.43)) ** (r + 2))
    alive = model.conditional_probability_alive(2, 30.43, 38.86)
    assert alive == pytest.approx(by_hand, rel=1e-12)
    assert model.conditional_probability_alive(0, 0, 38.86) == 1.0


# --------------------------------------------------------------------------- degenerate input


def _fit(frequency, recency, T, weights=None) -> BetaGeoFitter:
    return BetaGeoFitter().fit(frequency, recency, T, weights=weights)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([], [], [], "empty input"),
        ([2], [10.0], [20.0], "at least 4"),
        ([0, 0, 0, 0, 0], [0.0] * 5, [5.0] * 5, "no customer made a repeat purchase"),
        ([1, 2, 0, 3, 1], [0.0, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "recency == 0"),
        ([1, 2, 0, 3, 1], [6.0, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "recency must not exceed T"),
        ([-1, 2, 0, 3, 1], [1.0, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "frequency must be >= 0"),
        ([1.5, 2, 0, 3, 1], [1.0, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "whole number"),
        ([1, 2, 0, 3, 1], [-1.0, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "recency must be >= 0"),
        ([1, 2, 0, 3, 1], [1.0, 3.0, 0.0, 4.0, 2.0], [5.0, 5, -5, 5, 5], "T must be >= 0"),
        ([1, 2, 0, 3, 1], [1.0, 3.0, 1.0, 4.0, 2.0], [5.0] * 5, "recency must be 0 when"),
        ([1, 2, 0, 3, 1], [np.nan, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "recency contains 1 missing"),
        ([1, 2, 0, 3, 1], [1.0, 3.0, 0.0, 4.0], [5.0] * 5, "same length"),
        ([1, 2, 0, 3, 1], ["x", 3.0, 0.0, 4.0, 2.0], [5.0] * 5, "recency must be numeric"),
    ],
)
def test_invalid_or_degenerate_input_raises_a_clear_value_error(
    frequency, recency, T, message
) -> None:
    with pytest.raises(ValueError, match=message):
        _fit(frequency, recency, T)


@pytest.mark.parametrize(
    ("weights", "message"),
    [([1, 1, -1, 1, 1], "weights must be >= 0"), ([0] * 5, "sum to 0"), ([1, 1], "one value")],
)
def test_bad_weights_are_rejected(weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        _fit([1, 2, 0, 3, 1], [1.0, 3.0, 0.0, 4.0, 2.0], [5.0] * 5, weights=weights)


def test_everyone_repeating_on_day_one_is_rejected_either_way() -> None:
    ids = ["a", "a", "b", "b", "c", "d", "d", "e"]
    days = ["2024-01-01"] * 2 + ["2024-01-03"] * 2 + ["2024-01-04"] + ["2024-01-05"] * 2
    days += ["2024-01-09"]
    merged = summary_from_transactions(ids, days, None, "2024-02-01")
    assert (merged["frequency"] == 0).all()
    with pytest.raises(ValueError, match="no customer made a repeat purchase"):
        _fit(merged["frequency"], merged["recency"], merged["T"])
    unmerged = summary_from_transactions(ids, days, None, "2024-02-01", merge_same_day=False)
    assert (unmerged["frequency"] > 0).any() and (unmerged["recency"] == 0).all()
    with pytest.raises(ValueError, match="likelihood unbounded"):
        _fit(unmerged["frequency"], unmerged["recency"], unmerged["T"])


@pytest.mark.parametrize(
    ("frequency", "recency", "T"),
    [
        ([2] * 6, [10.0] * 6, [20.0] * 6),  # identical customers
        ([5, 6, 7, 8, 9, 10], [9.9, 9.8, 9.95, 9.9, 9.99, 9.7], [10.0] * 6),  # nobody drops out
    ],
)
def test_unidentified_data_raise_convergence_error(frequency, recency, T) -> None:
    with pytest.raises(ConvergenceError, match="do not identify the model"):
        _fit(frequency, recency, T)


def test_optimiser_failures_raise_convergence_error() -> None:
    def unbounded(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return float(theta.sum()), np.ones_like(theta)

    with pytest.raises(ConvergenceError, match="interior maximum"):
        maximise_log_likelihood(unbounded, np.zeros(2), ["u", "w"], 10.0, "test")

    def nowhere_finite(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return float("nan"), np.full_like(theta, np.nan)

    with pytest.raises(ConvergenceError, match="not finite"):
        maximise_log_likelihood(nowhere_finite, np.zeros(2), ["u", "w"], 10.0, "test")


def test_predictions_need_a_fit_and_valid_input(fitted: BetaGeoFitter) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        BetaGeoFitter().conditional_probability_alive(1, 1.0, 2.0)
    with pytest.raises(ValueError, match="not fitted"):
        BetaGeoFitter().summary
    with pytest.raises(ValueError, match="t .* must be >= 0"):
        fitted.conditional_expected_number_of_purchases_up_to_time(-1, 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="recency must not exceed T"):
        fitted.conditional_probability_alive(1, 3.0, 2.0)
    with pytest.raises(ValueError, match="t must be >= 0"):
        fitted.expected_number_of_purchases_up_to_time(-5)
    assert fitted.conditional_probability_alive([], [], []).shape == (0,)


def test_expected_purchases_if_alive_on_random_parameters() -> None:
    # the fast path (Pfaff form, cross-checked by the Euler form when s > 1) against the
    # tanh-sinh quadrature it falls back to (itself checked against QUADPACK above)
    from metrics.bgnbd import _expected_purchases_if_alive_by_quadrature

    rng = np.random.default_rng(1974)
    for _ in range(40):
        r, a, b = np.exp(rng.uniform(np.log([0.01, 0.02, 0.02]), np.log([50, 30, 200])))
        x = np.floor(np.exp(rng.uniform(0, np.log(3000), 200))) - 1
        s = np.exp(rng.uniform(np.log(1e-3), np.log(100), 200))
        np.testing.assert_allclose(
            expected_purchases_if_alive(s, x, r, a, b),
            _expected_purchases_if_alive_by_quadrature(s, x, r, a, b),
            rtol=1e-7,
            err_msg=f"r={r}, a={a}, b={b}",
        )
