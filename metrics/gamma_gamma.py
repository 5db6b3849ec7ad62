"""Gamma-Gamma model of spend per transaction, and BG/NBD x Gamma-Gamma CLV.

A customer's transaction values are Gamma(p, nu) with a customer-specific
rate ``nu ~ Gamma(q, v)``; the observed mean spend of x repeat transactions,
``mbar``, then has a closed-form density, and the posterior mean spend is a
weighted average of the customer's own mean and the population mean.

Naming: the scale parameter of the mixing distribution is called ``v`` here
(as in ``lifetimes``); Fader, Hardie & Lee (2005) and Hardie's note call it
gamma (``γ``).

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV:
   Using iso-value curves for customer base analysis", Journal of Marketing
   Research, 42 (4), 415-430.
.. [2] Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of
   Monetary Value", http://www.brucehardie.com/notes/025/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import special

from metrics.bgnbd import (
    weighted_sum,
    first_position,
    finite_float_array,
    check_frequency,
    like_input,
    maximise_log_likelihood,
    store_fit,
    summary_table,
    validated_weights,
)
from metrics.rfm_summary import unit_days

__all__ = ["GammaGammaFitter", "simulate_gamma_gamma_spend", "DAYS_PER_MONTH"]

#: A month is a twelfth of a Julian year, as in ``metrics.rfm_summary``.
DAYS_PER_MONTH = 365.25 / 12.0


class PurchaseModel(Protocol):
    """What :meth:`GammaGammaFitter.customer_lifetime_value` needs from BG/NBD."""

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any: ...


def _validated_spend(frequency: Any, monetary_value: Any) -> tuple[np.ndarray, np.ndarray]:
    x = finite_float_array(frequency, "frequency")
    m = finite_float_array(monetary_value, "monetary_value")
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError:
        raise ValueError(
            "frequency and monetary_value must have the same length; got shapes "
            f"{np.shape(x)} and {np.shape(m)}"
        ) from None
    check_frequency(x)
    negative = m < 0
    if negative.any():
        raise ValueError(
            f"monetary_value must be >= 0; {int(negative.sum())} values are negative "
            f"(first at position {first_position(negative)})"
        )
    return x, m


@dataclass(frozen=True)
class _SpendData:
    x_unique: np.ndarray
    weight_by_x: np.ndarray
    x: np.ndarray
    weight: np.ndarray
    x_m: np.ndarray
    weighted_x_log_xm: float  # sum w x (ln m + ln x)
    weighted_log_m: float  # sum w ln m
    total_weight: float


def _gamma_gamma_negative_log_likelihood(
    log_params: np.ndarray, data: _SpendData
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of mean spends and its log-gradient.

    Density of the mean spend mbar of x transactions (Fader & Hardie 2013)::

        f(mbar | x) = G(px + q) / (G(px) G(q)) * v**q * mbar**(px - 1) * x**(px)
                      / (v + x mbar)**(px + q)
    """
    p, q, v = np.exp(log_params)
    xu, wu = data.x_unique, data.weight_by_x
    px_u = p * xu
    digamma_pxq = special.digamma(px_u + q)
    log_v_xm = np.log(v + data.x_m)
    px_q = p * data.x + q
    ll = (
        weighted_sum(wu, special.gammaln(px_u + q) - special.gammaln(px_u))
        - special.gammaln(q) * data.total_weight
        + q * np.log(v) * data.total_weight
        + p * data.weighted_x_log_xm
        - data.weighted_log_m
        - weighted_sum(data.weight, px_q * log_v_xm)
    )
    g_p = (
        weighted_sum(wu, xu * (digamma_pxq - special.digamma(px_u)))
        + data.weighted_x_log_xm
        - weighted_sum(data.weight, data.x * log_v_xm)
    )
    g_q = (
        weighted_sum(wu, digamma_pxq)
        - special.digamma(q) * data.total_weight
        + np.log(v) * data.total_weight
        - weighted_sum(data.weight, log_v_xm)
    )
    g_v = q / v * data.total_weight - weighted_sum(data.weight, px_q / (v + data.x_m))
    gradient_log = np.array([g_p * p, g_q * q, g_v * v])
    return -ll / data.total_weight, -gradient_log / data.total_weight


class GammaGammaFitter:
    """Gamma-Gamma spend model fitted by maximum likelihood on repeat buyers.

    Attributes
    ----------
    params_ : dict of str to float
        Fitted ``p`` (shape of the transaction-value Gamma), ``q`` and ``v``
        (shape and scale of the Gamma mixing the customers' rates; ``v`` is
        the parameter the papers call gamma).
    standard_errors_ : dict of str to float
        From the inverse Hessian of the negative log-likelihood.
    covariance_ : pandas.DataFrame
        Inverse Hessian of the total negative log-likelihood at the optimum.
    log_likelihood_ : float
        Total (weighted) log-likelihood of the repeat buyers' mean spends.
    n_customers_ : float
        Number of repeat buyers fitted (sum of their weights).
    n_iterations_ : int
        Optimiser iterations used.

    Notes
    -----
    The model assumes spend per transaction is independent of purchase
    frequency; check ``corr(frequency, monetary_value)`` among repeat buyers
    before relying on it.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV:
       Using iso-value curves for customer base analysis", Journal of
       Marketing Research, 42 (4), 415-430.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of
       Monetary Value", http://www.brucehardie.com/notes/025/
    """

    PARAMETER_NAMES = ["p", "q", "v"]

    def fit(
        self, frequency: Any, monetary_value: Any, weights: Any | None = None
    ) -> "GammaGammaFitter":
        """Fit p, q, v to the mean spend of the repeat buyers.

        Parameters
        ----------
        frequency : array-like
            Number of repeat transactions x (whole numbers >= 0). Customers
            with x == 0 carry no spend information and are left out.
        monetary_value : array-like
            Mean value of each customer's repeat transactions (the first
            purchase excluded), > 0 for every customer with x > 0.
        weights : array-like, optional
            Number of customers sharing each row (default 1 each).

        Returns
        -------
        GammaGammaFitter
            ``self``, fitted.

        Raises
        ------
        ValueError
            On invalid input, when there is no repeat buyer, fewer than 3 of
            them, or a repeat buyer whose monetary value is 0.
        ConvergenceError
            If the optimiser does not reach an interior maximum (for example
            when every repeat buyer has the same mean spend).

        References
        ----------
        .. [1] Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model
           of Monetary Value", http://www.brucehardie.com/notes/025/
        """
        x, m = (np.ravel(v) for v in _validated_spend(frequency, monetary_value))
        if x.size == 0:
            raise ValueError("cannot fit the Gamma-Gamma model to empty input: no customers given")
        w = validated_weights(weights, x.size)
        used = (x > 0) & (w > 0)
        if not used.any():
            raise ValueError(
                "cannot fit the Gamma-Gamma model: no repeat buyer (frequency > 0); the model "
                "is fitted on the mean spend of repeat transactions"
            )
        x, m, w = x[used], m[used], w[used]
        if x.size < len(self.PARAMETER_NAMES):
            raise ValueError(
                f"cannot fit the 3-parameter Gamma-Gamma model to {x.size} repeat buyer(s); "
                "at least 3 are needed (and in practice hundreds)"
            )
        zero_spend = m <= 0
        if zero_spend.any():
            raise ValueError(
                f"monetary_value must be > 0 for repeat buyers; {int(zero_spend.sum())} repeat "
                "buyers have 0 (first at position "
                f"{first_position(zero_spend)} among the repeat buyers)"
            )
        x_unique, inverse = np.unique(x, return_inverse=True)
        log_m = np.log(m)
        data = _SpendData(
            x_unique=x_unique,
            weight_by_x=np.bincount(inverse.reshape(-1), weights=w, minlength=len(x_unique)),
            x=x,
            weight=w,
            x_m=x * m,
            weighted_x_log_xm=weighted_sum(w, x * (log_m + np.log(x))),
            weighted_log_m=weighted_sum(w, log_m),
            total_weight=float(w.sum()),
        )
        # start: p = 1, q = 2 and v matching the mean spend p v / (q - 1)
        start = np.log([1.0, 2.0, float(np.exp(weighted_sum(w, log_m) / data.total_weight))])
        fit = maximise_log_likelihood(
            lambda theta: _gamma_gamma_negative_log_likelihood(theta, data),
            start,
            self.PARAMETER_NAMES,
            data.total_weight,
            "Gamma-Gamma",
        )
        store_fit(self, fit, self.PARAMETER_NAMES, data.total_weight)
        return self

    def _fitted_params(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise ValueError(
                "GammaGammaFitter is not fitted yet: call fit(frequency, monetary_value) first"
            )
        return self.params_["p"], self.params_["q"], self.params_["v"]

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and Wald 95% intervals.

        Columns ``coef``, ``se``, ``lower 95``, ``upper 95``; rows ``p``,
        ``q``, ``v``.
        """
        self._fitted_params()
        names = self.PARAMETER_NAMES
        return summary_table(
            names,
            np.array([self.params_[n] for n in names]),
            np.array([self.standard_errors_[n] for n in names]),
        )

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> Any:
        """Posterior mean spend per transaction given x repeat purchases of mean mbar.

        Fader & Hardie (2013)::

            E(M | p, q, v, x, mbar) = (p v + p x mbar) / (p x + q - 1)
                = (q - 1) / (p x + q - 1) * (p v / (q - 1))
                  + p x / (p x + q - 1) * mbar

        a weighted average of the population mean ``p v / (q - 1)`` and the
        customer's own mean; customers with x == 0 get the population mean.

        Parameters
        ----------
        frequency, monetary_value : array-like
            Repeat transactions and their mean value, broadcast together.

        Returns
        -------
        float, numpy.ndarray or pandas.Series

        Raises
        ------
        ValueError
            If the fitted q <= 1: the population mean spend p v / (q - 1) is
            then infinite and the posterior mean undefined.

        References
        ----------
        .. [1] Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model
           of Monetary Value", http://www.brucehardie.com/notes/025/
        """
        p, q, v = self._fitted_params()
        if q <= 1:
            raise ValueError(
                f"fitted q = {q:.4g} <= 1: the Gamma-Gamma population mean spend p*v/(q-1) is "
                "infinite, so expected spend is undefined (too few or too heavy-tailed spends)"
            )
        x, m = _validated_spend(frequency, monetary_value)
        result = (p * v + p * x * m) / (p * x + q - 1.0)
        return like_input(np.asarray(result, dtype=float), frequency, monetary_value)

    def customer_lifetime_value(
        self,
        bgnbd_model: PurchaseModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        time_months: int = 12,
        discount_rate: float = 0.01,
        unit: str = "W",
    ) -> Any:
        """Discounted expected spend over the next ``time_months`` months.

        Convention: the horizon is cut into months of 365.25 / 12 days
        (``u`` model time units each: 4.348 for ``unit="W"``, 30.4375 for
        ``"D"``, 1 for ``"M"``). Month k (k = 1..time_months) contributes the
        expected purchases in it, the difference of the BG/NBD conditional
        expectations ``E[Y(k u)] - E[Y((k-1) u)]``, times the Gamma-Gamma
        expected spend per purchase, discounted at the end of the month::

            CLV = sum_k  E(M | x, mbar) * (E[Y(k u)] - E[Y((k-1) u)]) / (1 + d)**k

        ``d`` is the monthly discount rate. (``lifetimes`` uses the same sum
        with 4.345 weeks or 30 days per month.)

        Parameters
        ----------
        bgnbd_model : BetaGeoFitter
            A fitted purchase model with
            ``conditional_expected_number_of_purchases_up_to_time``.
        frequency, recency, T : array-like
            Customer histories in the model's time ``unit``.
        monetary_value : array-like
            Mean value of the repeat transactions (0 when frequency is 0).
        time_months : int
            Horizon in months (>= 1).
        discount_rate : float
            Monthly discount rate d (>= 0), e.g. 0.01 for 1% a month.
        unit : {"W", "D", "M"}
            Time unit of recency and T, as in
            :func:`metrics.rfm_summary.summary_from_transactions`.

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            Discounted CLV per customer, in the currency of monetary_value.

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and
           CLV: Using iso-value curves for customer base analysis", Journal of
           Marketing Research, 42 (4), 415-430.
        .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
           your customers' the easy way: An alternative to the Pareto/NBD
           model", Marketing Science, 24 (2), 275-284, eq. (10).
        """
        if isinstance(time_months, bool) or not isinstance(time_months, (int, np.integer)):
            raise ValueError(f"time_months must be a whole number of months; got {time_months!r}")
        if time_months < 1:
            raise ValueError(f"time_months must be >= 1; got {time_months}")
        if not np.isfinite(discount_rate) or discount_rate < 0:
            raise ValueError(
                f"discount_rate must be a finite monthly rate >= 0; got {discount_rate}"
            )
        units_per_month = DAYS_PER_MONTH / unit_days(unit)
        spend = np.asarray(self.conditional_expected_average_profit(frequency, monetary_value))
        clv = np.zeros(np.shape(spend))
        previous = np.zeros(np.shape(spend))
        for month in range(1, time_months + 1):
            cumulative = np.asarray(
                bgnbd_model.conditional_expected_number_of_purchases_up_to_time(
                    month * units_per_month, frequency, recency, T
                ),
                dtype=float,
            )
            clv = clv + spend * (cumulative - previous) / (1.0 + discount_rate) ** month
            previous = cumulative
        return like_input(np.asarray(clv, dtype=float), frequency, recency, T, monetary_value)


def simulate_gamma_gamma_spend(
    p: float, q: float, v: float, frequency: Any, rng: np.random.Generator
) -> np.ndarray:
    """Draw each customer's mean spend of ``frequency`` transactions under Gamma-Gamma.

    ``nu ~ Gamma(q, rate v)`` per customer; the mean of x transaction values
    ``~ Gamma(p, rate nu)`` is ``Gamma(p x, rate nu x)``. Customers with x == 0
    get 0.

    Parameters
    ----------
    p, q, v : float
        Gamma-Gamma parameters.
    frequency : array-like
        Number of (repeat) transactions per customer.
    rng : numpy.random.Generator
        Source of randomness, e.g. ``np.random.default_rng(seed)``.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of
       Monetary Value", http://www.brucehardie.com/notes/025/
    """
    x = finite_float_array(frequency, "frequency").reshape(-1)
    check_frequency(x)
    rate = rng.gamma(q, 1.0 / v, size=x.size)
    spend = np.zeros(x.size)
    buyers = x > 0
    spend[buyers] = rng.gamma(p * x[buyers], 1.0 / (rate[buyers] * x[buyers]))
    return spend
