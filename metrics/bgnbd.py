"""BG/NBD model of repeat purchasing ("buy till you die").

Each customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)`` while active
and, after each repeat purchase, becomes inactive for good with probability
``p ~ Beta(a, b)``. The model is fitted to the per-customer summary
(frequency x, recency t_x, age T) produced by
:func:`metrics.rfm_summary.summary_from_transactions`.

The maximum-likelihood fit works on log-parameters with the analytic gradient
of the vectorised log-likelihood (BFGS, then Newton polishing with a
finite-difference Hessian of the analytic gradient); standard errors come from
the inverse Hessian of the negative log-likelihood in the original parameter
space.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting your
   customers' the easy way: An alternative to the Pareto/NBD model",
   Marketing Science, 24 (2), 275-284.
.. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing
   P(alive) using the BG/NBD model", http://www.brucehardie.com/notes/021/
.. [3] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2007), "Implementing the
   BG/NBD model for customer base analysis in Excel",
   http://www.brucehardie.com/notes/004/
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = [
    "BetaGeoFitter",
    "ConvergenceError",
    "expected_purchases_if_alive",
    "maximise_log_likelihood",
    "simulate_bgnbd_summary",
    "validated_rfm",
]

#: Log-parameters are searched in [-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND];
#: an optimum on that box edge means the likelihood has no interior maximum.
LOG_PARAMETER_BOUND = 20.0

#: A parameter beyond e**+-5 (below 0.0067 or above 148) whose logarithm has a
#: standard error above 5 (a 95% interval spanning a factor of e**20) sits on a
#: flat ridge of the likelihood running to the boundary: the fit is refused.
FAR_LOG_PARAMETER = 5.0
LOG_STANDARD_ERROR_LIMIT = 5.0

#: Largest acceptable max-abs gradient of the mean negative log-likelihood
#: (with respect to the log-parameters) at the reported optimum.
GRADIENT_TOLERANCE = 1e-6


class ConvergenceError(RuntimeError):
    """The maximum-likelihood search did not reach an interior optimum."""


# --------------------------------------------------------------------------
# input validation shared with metrics/gamma_gamma.py
# --------------------------------------------------------------------------


def first_position(mask: np.ndarray) -> int:
    return int(np.flatnonzero(np.ravel(mask))[0])


def finite_float_array(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} missing or infinite values "
            f"(first at position {first_position(bad)})"
        )
    return array


def check_frequency(frequency: np.ndarray) -> None:
    negative = frequency < 0
    if negative.any():
        raise ValueError(
            f"frequency must be >= 0; {int(negative.sum())} values are negative "
            f"(first at position {first_position(negative)})"
        )
    fractional = frequency != np.round(frequency)
    if fractional.any():
        raise ValueError(
            f"frequency must be a whole number of repeat purchases; {int(fractional.sum())} "
            f"values are not (first at position {first_position(fractional)})"
        )


def validated_rfm(
    frequency: Any, recency: Any, T: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a (frequency, recency, T) triple and broadcast it to float arrays.

    Parameters
    ----------
    frequency, recency, T : array-like
        Repeat purchases x, time of the last purchase t_x and customer age T,
        all measured from the first purchase (see
        :func:`metrics.rfm_summary.summary_from_transactions`).

    Returns
    -------
    tuple of numpy.ndarray
        The three inputs as broadcast float arrays.

    Raises
    ------
    ValueError
        Naming the problem: non-numeric, missing or infinite values, shapes
        that do not broadcast, negative or fractional frequency, negative
        recency or T, recency > T, or recency != 0 when frequency == 0.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
       your customers' the easy way: An alternative to the Pareto/NBD model",
       Marketing Science, 24 (2), 275-284.
    """
    x = finite_float_array(frequency, "frequency")
    t_x = finite_float_array(recency, "recency")
    age = finite_float_array(T, "T")
    try:
        x, t_x, age = np.broadcast_arrays(x, t_x, age)
    except ValueError:
        raise ValueError(
            "frequency, recency and T must have the same length; got shapes "
            f"{np.shape(x)}, {np.shape(t_x)} and {np.shape(age)}"
        ) from None
    check_frequency(x)
    for name, values in (("recency", t_x), ("T", age)):
        negative = values < 0
        if negative.any():
            raise ValueError(
                f"{name} must be >= 0; {int(negative.sum())} values are negative "
                f"(first at position {first_position(negative)})"
            )
    late = t_x > age
    if late.any():
        raise ValueError(
            f"recency must not exceed T; {int(late.sum())} customers have recency > T "
            f"(first at position {first_position(late)})"
        )
    inconsistent = (x == 0) & (t_x != 0)
    if inconsistent.any():
        raise ValueError(
            f"recency must be 0 when frequency is 0; {int(inconsistent.sum())} customers "
            f"have frequency 0 and recency > 0 (first at position {first_position(inconsistent)})"
        )
    return x, t_x, age


def validated_weights(weights: Any, n: int) -> np.ndarray:
    """Return per-customer frequency weights (counts) as floats, default 1.

    Raises
    ------
    ValueError
        If the weights are not ``n`` finite non-negative numbers with a
        positive total.
    """
    if weights is None:
        return np.ones(n)
    w = finite_float_array(weights, "weights").reshape(-1)
    if len(w) != n:
        raise ValueError(f"weights must have one value per customer; got {len(w)} for {n}")
    negative = w < 0
    if negative.any():
        raise ValueError(
            f"weights must be >= 0; {int(negative.sum())} are negative "
            f"(first at position {first_position(negative)})"
        )
    if w.sum() <= 0:
        raise ValueError("weights sum to 0: there is no customer to fit")
    return w


def like_input(result: np.ndarray, *inputs: Any) -> Any:
    """Return ``result`` as a Series if an input was one, a float if all were scalars."""
    for value in inputs:
        if isinstance(value, pd.Series) and result.shape == (len(value),):
            return pd.Series(result, index=value.index)
    if result.ndim == 0:
        return float(result)
    return result


# --------------------------------------------------------------------------
# maximum likelihood on log-parameters, shared with metrics/gamma_gamma.py
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MaximumLikelihoodResult:
    """Outcome of :func:`maximise_log_likelihood`."""

    params: np.ndarray  #: parameters at the optimum (original scale)
    log_likelihood: float  #: total (weighted) log-likelihood at the optimum
    covariance: np.ndarray  #: inverse Hessian of the negative log-likelihood
    iterations: int  #: quasi-Newton iterations plus Newton polishing steps


def _hessian_of_gradient(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray
) -> np.ndarray:
    """Central finite differences of an analytic gradient, symmetrised."""
    k = len(theta)
    hessian = np.empty((k, k))
    for i in range(k):
        step = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        hessian[:, i] = (gradient(up) - gradient(down)) / (up[i] - down[i])
    return (hessian + hessian.T) / 2


def maximise_log_likelihood(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    log_params0: np.ndarray,
    names: list[str],
    total_weight: float,
    model: str,
) -> MaximumLikelihoodResult:
    """Minimise a mean negative log-likelihood over log-parameters.

    BFGS with the analytic gradient, the log-parameters kept inside
    ``+-LOG_PARAMETER_BOUND`` by a tanh map, then up to six Newton steps with a finite-difference
    Hessian of that gradient to polish the optimum to machine precision (the
    Hessian is recomputed only if the polishing moves the log-parameters by
    more than 1e-4).

    Parameters
    ----------
    objective : callable
        ``objective(log_params) -> (mean_negative_log_likelihood, gradient)``,
        the gradient taken with respect to the log-parameters.
    log_params0 : numpy.ndarray
        Starting point (log scale).
    names : list of str
        Parameter names, used in error messages.
    total_weight : float
        Number of customers (sum of weights); turns the mean into the total.
    model : str
        Model name for error messages.

    Returns
    -------
    MaximumLikelihoodResult
        Parameters, total log-likelihood and covariance matrix (inverse of the
        Hessian of the total negative log-likelihood in the original
        parameter space: ``H_p = (H_theta - diag(g_theta)) / (p p^T)`` for
        ``p = exp(theta)``).

    Raises
    ------
    ConvergenceError
        If the search stops away from a stationary point, ends with a
        parameter beyond ``exp(+-0.75 * LOG_PARAMETER_BOUND)`` (the likelihood
        has no interior maximum, e.g. a, b -> 0 or a, b -> infinity: the data
        do not identify the model), where the Hessian is not positive
        definite, or on a flat ridge towards the boundary (a parameter beyond
        ``exp(+-FAR_LOG_PARAMETER)`` whose logarithm has a standard error above
        ``LOG_STANDARD_ERROR_LIMIT``). Weakly identified interior estimates are
        returned; their standard errors show it.

    References
    ----------
    .. [1] Nocedal, J. and Wright, S. J. (2006), Numerical Optimization,
       2nd ed., Springer. Chapters 6 (BFGS) and 8 (finite differences).
    """

    def safe_objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, gradient = objective(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return np.inf, np.zeros_like(theta)
        return value, gradient

    def gradient_only(theta: np.ndarray) -> np.ndarray:
        return safe_objective(theta)[1]

    # BFGS on phi with theta = bound * tanh(phi / bound): theta stays inside the box
    # (no overflow) and ~equals phi well inside it. (L-BFGS-B is avoided: its BLAS
    # calls keep OpenBLAS worker threads spinning on a second core.)
    bound = LOG_PARAMETER_BOUND

    def boxed_objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = bound * np.tanh(phi / bound)
        value, gradient = safe_objective(theta)
        return value, gradient * (1.0 - (theta / bound) ** 2)

    start = np.clip(np.asarray(log_params0, dtype=float), -0.5 * bound, 0.5 * bound)
    phi = bound * np.arctanh(start / bound)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # line-search warnings; convergence is checked below
        for gtol in (1e-6, 1e-10):
            result = optimize.minimize(
                boxed_objective,
                phi,
                jac=True,
                method="BFGS",
                options={"maxiter": 2000, "gtol": gtol},
            )
            phi = result.x
            # far-out parameters may sit on a flat ridge towards the boundary: search on
            # with a tight tolerance to tell a distant optimum from a runaway
            if np.all(np.abs(bound * np.tanh(phi / bound)) <= FAR_LOG_PARAMETER):
                break
    theta = bound * np.tanh(result.x / bound)
    value, gradient = safe_objective(theta)
    if not np.isfinite(value):
        raise ConvergenceError(
            f"{model} fit failed: the log-likelihood is not finite at the optimiser's "
            f"last point ({result.message})"
        )
    at_edge = np.abs(theta) >= bound - 1e-3  # sup of the likelihood not attained
    if at_edge.any():
        detail = ", ".join(
            f"{name} -> {'infinity' if t > 0 else '0'}"
            for name, t, edge in zip(names, theta, at_edge)
            if edge
        )
        raise ConvergenceError(
            f"{model} fit did not converge to an interior maximum ({detail}): the data do "
            "not identify the model (too few customers or too little variation)"
        )

    iterations = int(result.nit)
    hessian = _hessian_of_gradient(gradient_only, theta)
    hessian_at = theta
    for _ in range(6):
        if np.max(np.abs(gradient)) < 1e-12:
            break
        try:
            step = np.linalg.solve(hessian, -gradient)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or float(np.sum(gradient * step)) >= 0:
            break
        scale = 1.0
        while scale > 1e-4:
            trial = theta + scale * step
            trial_value, trial_gradient = safe_objective(trial)
            if trial_value <= value and np.max(np.abs(trial_gradient)) < np.max(
                np.abs(gradient)
            ):
                break
            scale /= 2
        else:
            break
        theta, value, gradient = trial, trial_value, trial_gradient
        iterations += 1
        if np.max(np.abs(theta - hessian_at)) > 1e-4:  # else the Hessian is still accurate
            hessian = _hessian_of_gradient(gradient_only, theta)
            hessian_at = theta

    worst = float(np.max(np.abs(gradient)))
    diverging = np.abs(theta) > 0.75 * bound  # parameter beyond e**+-15 (3e-7 .. 3e6)
    if diverging.any():
        detail = ", ".join(
            f"{name} -> {'infinity' if t > 0 else '0'}"
            for name, t, far in zip(names, theta, diverging)
            if far
        )
        raise ConvergenceError(
            f"{model} fit did not converge: the parameters run off to the boundary ({detail}); "
            "the data do not identify the model (too few customers or too little variation)"
        )
    if worst > GRADIENT_TOLERANCE:
        raise ConvergenceError(
            f"{model} fit did not converge: gradient {worst:.2e} at the last point "
            f"(optimiser: {result.message}), the data may not identify the model; "
            "parameters there: "
            + ", ".join(f"{n}={v:.4g}" for n, v in zip(names, np.exp(theta)))
        )

    params = np.exp(theta)
    hessian_params = (hessian - np.diag(gradient)) / np.outer(params, params) * total_weight
    try:
        np.linalg.cholesky(hessian_params)
    except np.linalg.LinAlgError:
        raise ConvergenceError(
            f"{model} fit: the Hessian of the negative log-likelihood is not positive "
            "definite at the optimum, the parameters are not identified by these data"
        ) from None
    covariance = np.linalg.inv(hessian_params)
    log_scale_errors = np.sqrt(np.diag(covariance)) / params  # standard errors of log(p)
    flat = (log_scale_errors > LOG_STANDARD_ERROR_LIMIT) & (np.abs(theta) > FAR_LOG_PARAMETER)
    if flat.any():
        detail = ", ".join(
            f"{name} = {p:.3g} (standard error {p * e:.3g})"
            for name, p, e, f in zip(names, params, log_scale_errors, flat)
            if f
        )
        raise ConvergenceError(
            f"{model} fit: the likelihood is flat in {detail}; the data do not identify "
            "the model (too few customers or too little variation)"
        )
    return MaximumLikelihoodResult(
        params=params,
        log_likelihood=-value * total_weight,
        covariance=(covariance + covariance.T) / 2,
        iterations=iterations,
    )


def store_fit(estimator: Any, fit: MaximumLikelihoodResult, names: tuple[str, ...], n_customers: float) -> None:
    """Set an estimator's fitted attributes (``params_``, ``covariance_``, ``standard_errors_``,
    ``log_likelihood_``, ``n_customers_``, ``n_iterations_``) from a maximum-likelihood fit."""
    estimator.params_ = dict(zip(names, map(float, fit.params)))
    estimator.covariance_ = pd.DataFrame(fit.covariance, index=list(names), columns=list(names))
    estimator.standard_errors_ = dict(zip(names, map(float, np.sqrt(np.diag(fit.covariance)))))
    estimator.log_likelihood_ = float(fit.log_likelihood)
    estimator.n_customers_ = n_customers
    estimator.n_iterations_ = fit.iterations


def summary_table(
    names: list[str], params: np.ndarray, standard_errors: np.ndarray
) -> pd.DataFrame:
    """Coefficient table with 95% intervals: coef, se, lower 95, upper 95.

    The parameters are positive, so the interval is Wald on the log scale (delta method,
    ``se(log theta) = se / theta``): ``theta * exp(-/+ z se / theta)``, never below zero,
    as the models are fitted on log parameters.
    """
    z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
    params = np.asarray(params, dtype=float)
    standard_errors = np.asarray(standard_errors, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.exp(z * standard_errors / params)
    return pd.DataFrame(
        {
            "coef": params,
            "se": standard_errors,
            "lower 95": params / spread,
            "upper 95": params * spread,
        },
        index=pd.Index(names, name="parameter"),
    )


# --------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------


def weighted_sum(w: np.ndarray, v: np.ndarray) -> float:
    """Weighted sum without BLAS.

    OpenBLAS's ``ddot`` runs on all cores and its worker threads then spin for
    a while, taking a core from the next numpy operation; ``einsum`` stays on
    one thread and is as fast.
    """
    return float(np.einsum("i,i->", w, v))


def _distinct_rows(*columns: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Collapse identical rows of ``columns`` into one row carrying their summed weight."""
    codes = np.zeros(len(weights), dtype=np.int64)
    for column in columns:
        codes, _ = pd.factorize(codes + 1j * column)
    n_distinct = int(codes.max()) + 1 if len(codes) else 0
    if n_distinct == len(weights):
        return (*columns, weights)
    first = np.full(n_distinct, len(weights), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(weights)))
    summed = np.bincount(codes, weights=weights, minlength=n_distinct)
    return (*(column[first] for column in columns), summed)


@dataclass(frozen=True)
class _Column:
    """A data column, with its distinct values when they are few (daily grids)."""

    values: np.ndarray
    unique: np.ndarray | None = None
    index: np.ndarray | None = None

    @classmethod
    def of(cls, values: np.ndarray) -> "_Column":
        codes, unique = pd.factorize(values)
        if 4 * len(unique) <= len(values):
            return cls(values, np.asarray(unique, dtype=float), codes.astype(np.intp))
        return cls(values)

    def log_plus(self, shift: float) -> np.ndarray:
        """``log(shift + values)``, computed once per distinct value when possible."""
        if self.unique is None:
            return np.log(shift + self.values)
        return np.log(shift + self.unique).take(self.index)


@dataclass(frozen=True)
class _BgNbdData:
    """Fit data as distinct (x, t_x, T) patterns with counts (Hardie's grouped form).

    The x == 0 group is kept apart (its likelihood depends on T only) and the
    x-only terms are evaluated once per distinct x.
    """

    x_unique: np.ndarray
    weight_by_x: np.ndarray
    T_zero: np.ndarray
    weight_zero: np.ndarray
    x_positive: _Column
    recency_positive: _Column
    T_positive: _Column
    weight_positive: np.ndarray
    total_weight: float

    @classmethod
    def from_arrays(
        cls, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, w: np.ndarray
    ) -> "_BgNbdData":
        x_unique, inverse = np.unique(x, return_inverse=True)
        zero, positive = x == 0, x > 0
        T_zero, weight_zero = _distinct_rows(age[zero], weights=w[zero])
        x_pos, t_pos, T_pos, w_pos = _distinct_rows(
            x[positive], t_x[positive], age[positive], weights=w[positive]
        )
        return cls(
            x_unique=x_unique,
            weight_by_x=np.bincount(inverse.reshape(-1), weights=w, minlength=len(x_unique)),
            T_zero=T_zero,
            weight_zero=weight_zero,
            x_positive=_Column.of(x_pos),
            recency_positive=_Column.of(t_pos),
            T_positive=_Column.of(T_pos),
            weight_positive=w_pos,
            total_weight=float(w.sum()),
        )


def _bgnbd_negative_log_likelihood(
    log_params: np.ndarray, data: _BgNbdData
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the BG/NBD model and its log-gradient.

    Per customer (Fader, Hardie & Lee 2005, eq. 6, in log form)::

        ll = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))
        A1 = lnG(r + x) - lnG(r) + r ln(alpha)
        A2 = lnB(a, b + x) - lnB(a, b)
        A3 = -(r + x) ln(alpha + T)
        A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)

    A1 and A2 depend on x only and are evaluated once per distinct x; for
    x > 0, ``log(exp(A3) + exp(A4)) = A3 + softplus(A4 - A3)`` and the
    gradient weights are ``expit(A4 - A3)``, both from one ``exp(-|A4 - A3|)``.
    """
    r, alpha, a, b = np.exp(log_params)
    xu, wu = data.x_unique, data.weight_by_x
    digamma_r_x = special.digamma(r + xu)
    digamma_abx = special.digamma(a + b + xu)
    ll = weighted_sum(
        wu,
        special.gammaln(r + xu)
        - special.gammaln(r)
        + special.betaln(a, b + xu)
        - special.betaln(a, b),
    ) + r * np.log(alpha) * data.total_weight
    g_r = weighted_sum(wu, digamma_r_x - special.digamma(r)) + np.log(alpha) * data.total_weight
    g_alpha = r / alpha * data.total_weight
    g_a = weighted_sum(wu, special.digamma(a + b) - digamma_abx)
    g_b = weighted_sum(
        wu, special.digamma(b + xu) - special.digamma(b) + special.digamma(a + b) - digamma_abx
    )

    # x == 0: only the "still alive" branch A3 = -r ln(alpha + T)
    log_alpha_T0 = np.log(alpha + data.T_zero)
    w0 = data.weight_zero
    ll -= r * weighted_sum(w0, log_alpha_T0)
    g_r -= weighted_sum(w0, log_alpha_T0)
    g_alpha -= r * weighted_sum(w0, 1.0 / (alpha + data.T_zero))

    # x > 0: log-sum-exp of the alive (A3) and dropped-out-after-t_x (A4) branches
    x, w = data.x_positive.values, data.weight_positive
    r_x = r + x
    log_alpha_T = data.T_positive.log_plus(alpha)
    log_alpha_tx = data.recency_positive.log_plus(alpha)
    a3 = -r_x * log_alpha_T
    d = np.log(a) - data.x_positive.log_plus(b - 1.0) + r_x * (log_alpha_T - log_alpha_tx)
    e = np.exp(-np.abs(d))
    ll += weighted_sum(w, a3 + np.maximum(d, 0.0) + np.log1p(e))
    share4 = np.where(d >= 0, 1.0, e) / (1.0 + e)  # expit(d): weight of "dropped out"
    share3 = 1.0 - share4
    g_r -= weighted_sum(w, share3 * log_alpha_T + share4 * log_alpha_tx)
    g_alpha -= weighted_sum(
        w,
        r_x
        * (
            share3 / (alpha + data.T_positive.values)
            + share4 / (alpha + data.recency_positive.values)
        ),
    )
    g_a += weighted_sum(w, share4) / a
    g_b -= weighted_sum(w, share4 / (b - 1.0 + x))

    gradient_log = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
    return -ll / data.total_weight, -gradient_log / data.total_weight


#: Relative disagreement allowed between the two hypergeometric forms before
#: the quadrature fallback is used (see :func:`expected_purchases_if_alive`).
HYPERGEOMETRIC_AGREEMENT = 1e-8


def _quadrature_nodes(a: float, b_min: float, step: float = 1 / 32) -> tuple[np.ndarray, ...]:
    """tanh-sinh nodes on (0, 1): log p, log(1 - p) and log(dp/dtau * step).

    The range in tau is wide enough for the endpoint weights p**(a-1) and
    (1-p)**(b-1) of a Beta(a, b) density to decay below e**-50.
    """
    left = np.log(160.0 / (np.pi * min(a, 1.0))) + 1.0
    right = np.log(160.0 / (np.pi * min(b_min, 1.0))) + 1.0
    tau = np.arange(-left, right + step / 2, step)
    u = np.pi * np.sinh(tau)
    log_p = -np.logaddexp(0.0, -u)
    log_q = -np.logaddexp(0.0, u)
    return log_p, log_q, np.log(np.pi * np.cosh(tau) * step)


def _expected_purchases_if_alive_by_quadrature(
    s: np.ndarray, x: np.ndarray, r: float, a: float, b: float, chunk: int = 1024
) -> np.ndarray:
    """``E_p[(1 - (1 + p s)**-(r+x)) / p]`` for ``p ~ Beta(a, b+x)`` by tanh-sinh quadrature.

    The integrand is bounded (it tends to ``(r+x) s`` as p -> 0), so the
    double-exponential rule converges fast for any a, b; it is the slow but
    sure fallback of :func:`expected_purchases_if_alive`.
    """
    out = np.empty(s.shape)
    if s.size == 0:
        return out
    log_p, log_q, log_jacobian = _quadrature_nodes(a, b + float(x.min()))
    p = np.exp(log_p)
    for start in range(0, s.size, chunk):
        s_block = s[start : start + chunk, None]
        x_block = x[start : start + chunk, None]
        r_x = r + x_block
        ps = p * s_block
        with np.errstate(all="ignore"):
            integrand = np.where(
                ps < 1e-12,
                r_x * s_block * (1.0 - (r_x + 1.0) * ps / 2.0),
                -np.expm1(-r_x * np.log1p(ps)) / p,
            )
            log_density = (
                (a * log_p) + (b + x_block) * log_q + log_jacobian - special.betaln(a, b + x_block)
            )
            out[start : start + chunk] = np.sum(integrand * np.exp(log_density), axis=1)
    return out


def expected_purchases_if_alive(
    s: np.ndarray, x: np.ndarray, r: float, a: float, b: float
) -> np.ndarray:
    """Expected purchases in the next ``t`` of a customer known to be alive.

    With ``s = t / (alpha + T)`` this is Fader, Hardie & Lee's (2005) eq. (10)
    without its P(alive) factor::

        G = (a + b + x - 1) / (a - 1) * (1 - Q),
        Q = ((alpha+T)/(alpha+T+t))**(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))
          = 2F1(r+x, a-1; a+b+x-1; -s)                      (Pfaff)
          = (1+s)**(1-a) 2F1(a+b-1-r, a-1; a+b+x-1; s/(1+s)) (Euler)

    ``scipy.special.hyp2f1`` is evaluated in the Pfaff form, whose argument
    ``-s`` lies in [-1, 0] for ``s <= 1`` where it is accurate (checked against
    quadrature on 120,000 random cases over wide parameter ranges). For
    ``s > 1`` it is cross-checked with the Euler form and kept where the two
    agree (relative difference of G below ``HYPERGEOMETRIC_AGREEMENT``). Where
    they do not -- scipy returns inf/nan or, silently, wrong values for large
    x and ``s > 1`` -- G is computed from its integral form
    ``E_p[(1 - (1 + p s)**-(r+x)) / p]``, ``p ~ Beta(a, b + x)``, by
    tanh-sinh quadrature. Work is done once per distinct (x, s) pair.

    Parameters
    ----------
    s : numpy.ndarray
        ``t / (alpha + T)``, >= 0.
    x : numpy.ndarray
        Repeat purchases, broadcast with ``s``.
    r, a, b : float
        BG/NBD parameters.

    Returns
    -------
    numpy.ndarray
        G, same shape as the broadcast inputs.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
       your customers' the easy way: An alternative to the Pareto/NBD
       model", Marketing Science, 24 (2), 275-284, eq. (10).
    .. [2] Abramowitz, M. and Stegun, I. A. (1972), Handbook of Mathematical
       Functions, 15.3.4-15.3.5 (Pfaff and Euler transformations).
    .. [3] Takahasi, H. and Mori, M. (1974), "Double exponential formulas for
       numerical integration", Publ. RIMS Kyoto Univ., 9, 721-741.
    """
    s, x = np.broadcast_arrays(np.asarray(s, dtype=float), np.asarray(x, dtype=float))
    shape = s.shape
    s, x = s.reshape(-1), x.reshape(-1)
    codes = None
    if s.size > 64:  # evaluate each distinct (x, s) once
        codes, keys = pd.factorize(x + 1j * s)
        x, s = np.real(keys), np.imag(keys)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable 0/0 at a == 1
    c = a + b + x - 1.0
    result = np.zeros(s.shape)
    positive = s > 0
    sp, xp, cp = s[positive], x[positive], c[positive]
    with np.errstate(all="ignore"):
        q_pfaff = special.hyp2f1(r + xp, a - 1.0, cp, -sp)
        # |argument| <= 1 is the well-conditioned region of the Pfaff form; beyond it
        # (and wherever it is not finite) cross-check with the Euler form
        check = (sp > 1.0) | ~np.isfinite(q_pfaff)
        agree = ~check
        if check.any():
            s_c = sp[check]
            q_euler = np.exp((1.0 - a) * np.log1p(s_c)) * special.hyp2f1(
                a + b - 1.0 - r, a - 1.0, cp[check], s_c / (1.0 + s_c)
            )
            q_c = q_pfaff[check]
            agree[check] = np.isfinite(q_c) & (
                np.abs(q_c - q_euler) <= HYPERGEOMETRIC_AGREEMENT * np.abs(1.0 - q_c)
            )
        values = cp / (a - 1.0) * (1.0 - q_pfaff)
    if not agree.all():
        values[~agree] = _expected_purchases_if_alive_by_quadrature(
            sp[~agree], xp[~agree], r, a, b
        )
    result[positive] = values
    if codes is not None:
        result = result[codes]
    return result.reshape(shape)


class BetaGeoFitter:
    """BG/NBD model fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict of str to float
        Fitted ``r``, ``alpha`` (rate heterogeneity, Gamma(r, alpha); alpha is
        in the time unit of the data) and ``a``, ``b`` (dropout probability
        heterogeneity, Beta(a, b)).
    standard_errors_ : dict of str to float
        Square roots of the diagonal of ``covariance_``.
    covariance_ : pandas.DataFrame
        Inverse Hessian of the total negative log-likelihood at the optimum,
        in the original parameter space.
    log_likelihood_ : float
        Total (weighted) log-likelihood at the optimum.
    n_customers_ : float
        Number of customers fitted (sum of the weights).
    n_iterations_ : int
        Optimiser iterations used.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
       your customers' the easy way: An alternative to the Pareto/NBD model",
       Marketing Science, 24 (2), 275-284.
    .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing
       P(alive) using the BG/NBD model", http://www.brucehardie.com/notes/021/

    Examples
    --------
    >>> model = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    ... # doctest: +SKIP
    >>> model.summary  # doctest: +SKIP
    """

    PARAMETER_NAMES = ["r", "alpha", "a", "b"]

    def fit(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any | None = None,
    ) -> "BetaGeoFitter":
        """Fit the BG/NBD model by maximum likelihood.

        Parameters
        ----------
        frequency : array-like
            Number of repeat purchases x of each customer (whole numbers >= 0).
        recency : array-like
            Time t_x from the first to the last purchase (0 when x == 0).
        T : array-like
            Time from the first purchase to the end of the calibration period.
        weights : array-like, optional
            Number of customers sharing each (x, t_x, T) row (default 1 each),
            as in Hardie's grouped-data spreadsheets.

        Returns
        -------
        BetaGeoFitter
            ``self``, fitted.

        Raises
        ------
        ValueError
            On invalid or inconsistent input (see :func:`validated_rfm`), empty
            input, fewer than 4 customers, no repeat buyer at all (the
            likelihood then increases without bound as r -> 0: the model is
            not identified) or a repeat buyer with recency 0 (repeat purchases
            at the very instant of the first make the likelihood unbounded as
            alpha -> 0; merge same-day purchases first).
        ConvergenceError
            If the optimiser does not reach an interior maximum.

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
           your customers' the easy way: An alternative to the Pareto/NBD
           model", Marketing Science, 24 (2), 275-284, eq. (6).
        """
        x, t_x, age = (np.ravel(v) for v in validated_rfm(frequency, recency, T))
        if x.size == 0:
            raise ValueError("cannot fit the BG/NBD model to empty input: no customers given")
        w = validated_weights(weights, x.size)
        used = w > 0
        x, t_x, age, w = x[used], t_x[used], age[used], w[used]
        if x.size < len(self.PARAMETER_NAMES):
            raise ValueError(
                f"cannot fit the 4-parameter BG/NBD model to {x.size} customer(s); "
                "at least 4 are needed (and in practice hundreds)"
            )
        repeaters = x > 0
        if not repeaters.any():
            raise ValueError(
                "cannot fit the BG/NBD model: no customer made a repeat purchase (all "
                "frequency == 0), so the purchase rate and dropout are not identified"
            )
        instant = repeaters & (t_x == 0)
        if instant.any():
            raise ValueError(
                f"{int(instant.sum())} customers have frequency > 0 but recency == 0 (first at "
                f"position {first_position(instant)}): repeat purchases at the instant of the "
                "first make the BG/NBD likelihood unbounded; merge same-day purchases "
                "(summary_from_transactions(..., merge_same_day=True))"
            )

        data = _BgNbdData.from_arrays(x, t_x, age, w)
        # repeat purchases per unit time (no BLAS: its spinning threads cost a core)
        rate = weighted_sum(w, x) / max(weighted_sum(w, age), np.finfo(float).tiny)
        start = np.log([1.0, 1.0 / max(rate, 1e-12), 1.0, 3.0])
        fit = maximise_log_likelihood(
            lambda theta: _bgnbd_negative_log_likelihood(theta, data),
            start,
            self.PARAMETER_NAMES,
            data.total_weight,
            "BG/NBD",
        )
        store_fit(self, fit, self.PARAMETER_NAMES, data.total_weight)
        return self

    # ------------------------------------------------------------------
    def _fitted_params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ValueError(
                "BetaGeoFitter is not fitted yet: call fit(frequency, recency, T) first"
            )
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and Wald 95% intervals.

        Columns ``coef``, ``se``, ``lower 95``, ``upper 95``; one row per
        parameter ``r``, ``alpha``, ``a``, ``b``.
        """
        self._fitted_params()
        names = self.PARAMETER_NAMES
        return summary_table(
            names,
            np.array([self.params_[n] for n in names]),
            np.array([self.standard_errors_[n] for n in names]),
        )

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with history (x, t_x, T) is still active.

        ``P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x))**(r + x))``,
        evaluated in log space as ``expit(-log_odds)`` so that it neither
        overflows nor loses precision for large x or long inactivity.

        Parameters
        ----------
        frequency, recency, T : array-like
            Customer histories, broadcast together.

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            Probabilities in [0, 1] (Series when an input is a Series).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing
           P(alive) using the BG/NBD model",
           http://www.brucehardie.com/notes/021/
        """
        r, alpha, a, b = self._fitted_params()
        x, t_x, age = validated_rfm(frequency, recency, T)
        alive = self._probability_alive(x, t_x, age, r, alpha, a, b)
        return like_input(alive, frequency, recency, T)

    @staticmethod
    def _probability_alive(
        x: np.ndarray, t_x: np.ndarray, age: np.ndarray, r: float, alpha: float, a: float, b: float
    ) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds_dead = (
                np.log(a)
                - np.log(b + np.maximum(x, 1.0) - 1.0)
                + (r + x) * np.log1p((age - t_x) / (alpha + t_x))
            )
        return np.where(x > 0, special.expit(-log_odds_dead), 1.0)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """Expected repeat purchases in (T, T + t] given the history (x, t_x, T).

        Fader, Hardie & Lee (2005), eq. (10)::

            E[Y(t) | x, t_x, T] = (a + b + x - 1) / (a - 1)
                * [1 - ((alpha+T)/(alpha+T+t))**(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
                * P(alive | x, t_x, T)

        The hypergeometric part is computed by
        :func:`expected_purchases_if_alive` (Pfaff and Euler forms of
        ``scipy.special.hyp2f1`` cross-checked, quadrature where they
        disagree) and P(alive) in log space, so large x and long horizons give
        finite, accurate values rather than inf/nan.

        Parameters
        ----------
        t : float or array-like
            Horizon length(s) in the time unit of the fit (>= 0).
        frequency, recency, T : array-like
            Customer histories, broadcast together with ``t``.

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            Expected number of purchases (Series when an input is a Series).

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
           your customers' the easy way: An alternative to the Pareto/NBD
           model", Marketing Science, 24 (2), 275-284, eq. (10).
        .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing
           P(alive) using the BG/NBD model", http://www.brucehardie.com/notes/021/
        """
        r, alpha, a, b = self._fitted_params()
        horizon = finite_float_array(t, "t")
        if (horizon < 0).any():
            raise ValueError("t (the prediction horizon) must be >= 0")
        x, t_x, age = validated_rfm(frequency, recency, T)
        alive = self._probability_alive(x, t_x, age, r, alpha, a, b)
        result = alive * expected_purchases_if_alive(horizon / (alpha + age), x, r, a, b)
        return like_input(np.asarray(result, dtype=float), frequency, recency, T, t)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> Any:
        """Expected repeat purchases in (0, t] of a newly acquired customer.

        Fader, Hardie & Lee (2005), eq. (9)::

            E[X(t)] = (a + b - 1) / (a - 1)
                * [1 - (alpha/(alpha+t))**r 2F1(r, b; a+b-1; t/(alpha+t))]

        i.e. eq. (10) at x = 0, T = 0, computed the same way.

        Parameters
        ----------
        t : float or array-like
            Time(s) since the first purchase, in the time unit of the fit.

        Returns
        -------
        float, numpy.ndarray or pandas.Series

        References
        ----------
        .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
           your customers' the easy way: An alternative to the Pareto/NBD
           model", Marketing Science, 24 (2), 275-284, eq. (9).
        """
        r, alpha, a, b = self._fitted_params()
        horizon = finite_float_array(t, "t")
        if (horizon < 0).any():
            raise ValueError("t must be >= 0")
        result = expected_purchases_if_alive(horizon / alpha, np.zeros_like(horizon), r, a, b)
        return like_input(np.asarray(result, dtype=float), t)


def simulate_bgnbd_summary(
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw (frequency, recency, T) for customers following the BG/NBD model.

    Vectorised exact simulation: ``lambda ~ Gamma(r, rate alpha)``,
    ``p ~ Beta(a, b)``; the customer drops out after repeat purchase
    ``J ~ Geometric(p)``; the Poisson process has ``N ~ Poisson(lambda T)``
    events in (0, T]; then ``x = min(N, J)`` and, given N, the x-th event time
    is ``T * Beta(x, N - x + 1)`` (the x-th order statistic of N uniforms).

    Parameters
    ----------
    r, alpha, a, b : float
        BG/NBD parameters (alpha in the time unit of ``T``).
    T : array-like
        Age of each customer at the end of the calibration period; one
        customer is simulated per value.
    rng : numpy.random.Generator
        Source of randomness, e.g. ``np.random.default_rng(seed)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency`` (int64), ``recency``, ``T``.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting
       your customers' the easy way: An alternative to the Pareto/NBD model",
       Marketing Science, 24 (2), 275-284, section 3 (model assumptions).
    """
    age = finite_float_array(T, "T").reshape(-1)
    if (age < 0).any():
        raise ValueError("T must be >= 0")
    n = age.size
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    dropout = rng.beta(a, b, size=n)
    events = rng.poisson(rate * age)
    last_purchase = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    x = np.minimum(events, last_purchase)
    recency = np.zeros(n)
    buyers = x > 0
    recency[buyers] = age[buyers] * rng.beta(x[buyers], events[buyers] - x[buyers] + 1)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": recency, "T": age})
