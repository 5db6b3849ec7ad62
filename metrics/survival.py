"""Customer survival: Kaplan-Meier curves and the log-rank test (metrics.md §4).

A customer churns when no order follows their last order for ``churn_days`` (a setting,
180 by default); customers not known to have churned are censored at ``as_of``.

Population, seen from ``as_of`` (the end of the date range):

- customers acquired before as_of, customer filters applied (the contact channel filter
  does not apply to orders); with ``cohort="range"`` only those whose start falls in the
  date range;
- with at least one order (amount > 0; refunds and zero rows are not orders) before
  as_of, counted from the start: orders before ``acquired_at`` are left out, as in the
  cohort matrix and the funnel.

Per customer, with ``start = acquired_at`` (the first order when acquired_at is null) and
``last`` = the last order before as_of:

- **churned** (event = 1) when ``as_of - last >= churn_days``: no order followed the last
  one for churn_days. Gaps longer than churn_days between earlier orders do not count:
  the customer came back;
- duration = ``last + churn_days - start`` for a churned customer, otherwise
  ``as_of - start`` (censored). Durations are in days (fractional: timestamps keep their
  time of day).

Churn time convention: the churn is dated ``last + churn_days``, the moment it becomes
certain, not the last order. With that date every churn is observed on or before as_of
and every censored customer is known to be active until as_of (their churn, if it
comes, is dated after as_of), which is what Kaplan-Meier assumes of censoring. Dating
it at the last order would count as active, up to as_of, customers whose last order
(the would-be churn date) is already behind them. So every churn time is at least
churn_days; subtract churn_days to read the time of the last order.

Curves are statsmodels' ``SurvfuncRight`` (Kaplan-Meier, Greenwood standard errors);
the pointwise band uses R's default log transform, the simultaneous band is
statsmodels' Hall-Wellner band. The median follows statsmodels (as SAS): the first
time the curve drops below 0.5. Groups are compared with the log-rank test
(``survdiff``, chi-square with groups - 1 degrees of freedom).

References
----------
Kaplan, E. L. and Meier, P. (1958). Nonparametric estimation from incomplete
observations. JASA 53:457-481. Klein, J. P. and Moeschberger, M. L. (2003). Survival
Analysis, 2nd ed., Springer (§4.3-4.4: bands; §7.3: the log-rank test).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm
from sqlalchemy import Select, and_, case, false, func, or_, select, true
from sqlalchemy.engine import Connection
from statsmodels.duration.survfunc import SurvfuncRight

from data.schema import customers, orders
from i18n import _, lazy, number, p_text
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.sql import DAY, epoch, fetch_frame

Cohort = Literal["all", "range"]
Band = Literal["pointwise", "simultaneous"]

DEFAULT_CHURN_DAYS = 180
DATA_COLUMNS = ["customer_id", "group", "duration_days", "churned"]
CURVE_COLUMNS = ["group", "time", "survival", "std_error", "lower", "upper", "at_risk", "events"]


# ---- SQL: one row per customer


def _check(churn_days: int, cohort: str, dimension: str | None) -> None:
    if churn_days <= 0:
        raise ValueError(f"churn_days must be a positive number of days, not {churn_days}")
    if cohort not in ("all", "range"):
        raise ValueError(f"unknown cohort {cohort!r}: use all or range")
    if dimension is not None and dimension not in CUSTOMER_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")


def _customer_survival(filters: Filters, churn_days: int, cohort: Cohort) -> tuple[Select, dict]:
    """The grouped select (customers x their orders) and its per-customer expressions."""
    c, o = customers.c, orders.c
    first_order, last_order = func.min(o.ordered_at), func.max(o.ordered_at)
    start = func.coalesce(c.acquired_at, first_order)
    churned = last_order <= filters.as_of - timedelta(days=churn_days)   # as_of - last >= churn_days
    end_seconds = case((churned, epoch(last_order) + churn_days * DAY), else_=epoch(filters.as_of))
    columns = {
        "start_at": start,
        "first_order_at": first_order,
        "last_order_at": last_order,
        "churned": case((churned, true()), else_=false()),
        "duration_days": (end_seconds - epoch(start)) / DAY,
    }
    query = (
        select()
        .select_from(customers.join(orders, o.customer_id == c.customer_id))
        .where(valid_clause(orders), o.amount > 0, o.ordered_at < filters.as_of,
               or_(c.acquired_at.is_(None), and_(c.acquired_at < filters.as_of, o.ordered_at >= c.acquired_at)),
               *filters.customer_clauses())
        .group_by(c.customer_id, c.acquired_at)
    )
    if cohort == "range":
        query = query.having(start >= filters.start_at)
    return query, columns


def survival_data(conn: Connection, filters: Filters, dimension: str | None = None,
                  churn_days: int = DEFAULT_CHURN_DAYS, cohort: Cohort = "all") -> pd.DataFrame:
    """Per customer of the population: ``customer_id, group, duration_days, churned``.

    ``churned`` is True when ``as_of - last order >= churn_days``; ``duration_days`` runs
    from the start (acquired_at, else the first order) to ``last order + churn_days`` for a
    churned customer and to as_of otherwise (see the module docstring). ``group`` is the
    value of ``dimension`` ("(none)" when null) or "all". One query, grouped by customer.
    An empty selection gives an empty frame with these columns.
    """
    _check(churn_days, cohort, dimension)
    c = customers.c
    query, columns = _customer_survival(filters, churn_days, cohort)
    query = query.add_columns(c.customer_id)
    if dimension:  # the group is computed in SQL; without a dimension it is "all", added here
        column = c[CUSTOMER_DIMENSIONS[dimension]]
        query = query.add_columns(func.coalesce(column, "(none)").label("group")).group_by(column)
    query = query.add_columns(columns["duration_days"].label("duration_days"), columns["churned"].label("churned"))
    frame = fetch_frame(conn, query)
    if not dimension:
        frame.insert(1, "group", "all")
    # sorted here, not in SQL: text collations differ between engines
    frame = frame.reindex(columns=DATA_COLUMNS).sort_values(["group", "customer_id"], ignore_index=True)
    return frame.astype({"customer_id": str, "group": str, "duration_days": float, "churned": bool})


def survival_records(filters: Filters, churned: bool | None = None, churn_days: int = DEFAULT_CHURN_DAYS,
                     cohort: Cohort = "all") -> Select:
    """The customers behind the curves, with their start, last order and churned flag
    (drill-down; ``churned`` keeps only churned (True) or censored (False) customers).

    A group of a breakdown is the same select with the group's value in the filters:
    ``survival_records(filters.with_values(segment="SMB"))``.
    """
    _check(churn_days, cohort, None)
    c = customers.c
    query, columns = _customer_survival(filters, churn_days, cohort)
    query = (query.add_columns(c.customer_id, c.name, c.segment, c.region, c.industry, c.acquisition_channel,
                               c.owner_team, c.acquired_at,
                               *(expr.label(name) for name, expr in columns.items()))
             .group_by(c.name, c.segment, c.region, c.industry, c.acquisition_channel, c.owner_team)
             .order_by(columns["start_at"], c.customer_id))
    if churned is not None:
        last_order = columns["last_order_at"]
        cutoff = filters.as_of - timedelta(days=churn_days)
        query = query.having(last_order <= cutoff if churned else last_order > cutoff)
    return query


# ---- Kaplan-Meier


def _checked(data: pd.DataFrame) -> pd.DataFrame:
    """``group, duration_days, churned (0/1)``; a frame without ``group`` is one group "all"."""
    missing = [col for col in ("duration_days", "churned") if col not in data]
    if missing:
        raise ValueError(f"survival data lacks the column(s) {', '.join(missing)}")
    frame = pd.DataFrame({
        "group": data["group"].astype(str) if "group" in data else "all",
        "duration_days": pd.to_numeric(data["duration_days"]).astype(float),
        "churned": data["churned"].astype(int),
    })
    bad = ~np.isfinite(frame["duration_days"]) | (frame["duration_days"] < 0)
    if bad.any():
        row = data.index[bad.to_numpy()][0]
        raise ValueError(f"survival data row {row}: duration_days must be a finite number >= 0")
    if not frame["churned"].isin((0, 1)).all():
        raise ValueError("survival data: churned must be 0/1 or True/False")
    return frame


def _fit(frame: pd.DataFrame) -> SurvfuncRight:
    return SurvfuncRight(frame["duration_days"].to_numpy(), frame["churned"].to_numpy())


def kaplan_meier(data: pd.DataFrame, alpha: float = 0.05, band: Band = "pointwise") -> pd.DataFrame:
    """Kaplan-Meier curve per group with a confidence band at level 1 - alpha.

    Columns ``group, time, survival, std_error, lower, upper, at_risk, events``. Per group
    the rows are day 0 (survival 1, everyone at risk), each churn time (``at_risk`` just
    before it, ``events`` churns at it) and, when follow-up goes on after the last churn,
    the longest follow-up (no churn; the curve is flat until there). A group with no churn
    is a flat line at 1.

    ``std_error`` is Greenwood's (statsmodels). ``band="pointwise"`` gives R's default
    log-transformed interval ``S exp(-/+ z se / S)``, capped at 1; ``"simultaneous"``
    gives statsmodels' Hall-Wellner band (log transform; only alpha = 0.05). Where the
    estimate reaches 0 the standard error is undefined (NaN, as in R) and the band is [0, 0].
    An empty ``data`` gives an empty frame with these columns.
    """
    if band not in ("pointwise", "simultaneous"):
        raise ValueError(f"unknown band {band!r}: use pointwise or simultaneous")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if band == "simultaneous" and alpha != 0.05:
        raise ValueError("the simultaneous (Hall-Wellner) band exists only at alpha = 0.05")
    frame = _checked(data)
    curves = [_curve(name, rows, alpha, band) for name, rows in frame.groupby("group", sort=True)]
    if not curves:
        return pd.DataFrame({col: pd.Series(dtype=object if col == "group" else float) for col in CURVE_COLUMNS})
    return pd.concat(curves, ignore_index=True)


def _curve(name: str, rows: pd.DataFrame, alpha: float, band: Band) -> pd.DataFrame:
    durations = rows["duration_days"].to_numpy()
    curve = pd.DataFrame(columns=CURVE_COLUMNS[1:], dtype=float)
    if rows["churned"].any():
        fit = _fit(rows)
        surv, se = fit.surv_prob, fit.surv_prob_se
        with np.errstate(divide="ignore", invalid="ignore"):
            if band == "pointwise":
                z = norm.ppf(1 - alpha / 2)
                lower, upper = surv * np.exp(-z * se / surv), np.minimum(1.0, surv * np.exp(z * se / surv))
            else:
                lower, upper = fit.simultaneous_cb(alpha=alpha)
        reached_zero = surv <= 0
        lower, upper = np.where(reached_zero, 0.0, lower), np.where(reached_zero, 0.0, upper)
        curve = pd.DataFrame({"time": fit.surv_times.astype(float), "survival": surv, "std_error": se,
                              "lower": lower, "upper": upper, "at_risk": fit.n_risk, "events": fit.n_events})
    if curve.empty or curve["time"].iloc[0] > 0:
        start = pd.DataFrame([{"time": 0.0, "survival": 1.0, "std_error": 0.0, "lower": 1.0, "upper": 1.0,
                               "at_risk": len(rows), "events": 0}])
        curve = start if curve.empty else pd.concat([start, curve], ignore_index=True)
    end = float(durations.max())
    if end > curve["time"].iloc[-1]:
        last = curve.iloc[[-1]].assign(time=end, at_risk=int((durations >= end).sum()), events=0)
        curve = pd.concat([curve, last], ignore_index=True)
    curve = curve.reset_index(drop=True)
    curve.insert(0, "group", name)
    return curve.astype({"time": float, "survival": float, "std_error": float, "lower": float, "upper": float,
                         "at_risk": int, "events": int})


def curve_by_day(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves of :func:`kaplan_meier` with at most one point per group and day, for drawing.

    With fractional churn times a million customers give tens of thousands of steps per
    group, more than a chart has pixels. Per group and whole day (``floor(time)``) the
    last point is kept (the curve, its band and the customers at risk at the day's last
    churn), plus the day-0 point: the steps are exact at the end of every day; ``events``
    becomes the churns of that day.
    """
    if curves.empty:
        return curves
    day = np.floor(curves["time"].to_numpy())
    keys = pd.DataFrame({"group": curves["group"].to_numpy(), "day": day})
    last = ~keys.duplicated(keep="last").to_numpy()
    first = ~keys.groupby("group", sort=False).cumcount().astype(bool).to_numpy()     # day 0 of each group
    events = curves.groupby([curves["group"], day], sort=False)["events"].transform("sum")
    out = curves.assign(events=events)[last | first]
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class MedianSurvival:
    """Median time to churn of one group, or None when the curve never drops below 0.5."""

    group: str
    customers: int
    churned: int
    median_days: float | None
    followed_days: float        # the longest follow-up in the group
    final_survival: float       # the curve at the longest follow-up

    @property
    def reached(self) -> bool:
        return self.median_days is not None

    def sentence(self) -> str:
        """The median in plain words (in the current language)."""
        everyone = self.group == "all"
        values = {"group": self.group, "days": number(self.followed_days), "churned": number(self.churned),
                  "customers": number(self.customers)}
        if self.reached:
            values["days"] = number(self.median_days)
            text = (_("Half of the customers have churned by day {days} after their start (median survival; "
                      "{churned} of {customers} churned).") if everyone else
                    _("Half of {group} customers have churned by day {days} after their start (median survival; "
                      "{churned} of {customers} churned)."))
        elif self.churned == 0:
            text = (_("None of the {customers} customers has churned in up to {days} days: the median is not "
                      "reached.") if everyone else
                    _("None of the {customers} {group} customers has churned in up to {days} days: the median is "
                      "not reached."))
        elif self.final_survival > 0.5:
            text = (_("More than half of the customers are still active after {days} days: the median is not "
                      "reached.") if everyone else
                    _("More than half of {group} customers are still active after {days} days: the median is not "
                      "reached."))
        else:
            text = (_("Half of the customers are still active after {days} days: the median is not reached.")
                    if everyone else
                    _("Half of {group} customers are still active after {days} days: the median is not reached."))
        return text.format(**values)


def median_survival(data: pd.DataFrame) -> dict[str, MedianSurvival]:
    """Median survival per group (statsmodels' quantile: first time the curve is < 0.5).

    ``median_days`` is None when the median is not reached (the curve stays at or above
    0.5 until the longest follow-up); ``sentence()`` then says so plainly. An empty
    ``data`` gives an empty dict.
    """
    result = {}
    for name, rows in _checked(data).groupby("group", sort=True):
        events = int(rows["churned"].sum())
        median, final = None, 1.0
        if events:
            fit = _fit(rows)
            quantile = fit.quantile(0.5)
            median = None if np.isnan(quantile) else float(quantile)
            final = float(fit.surv_prob[-1])
        result[str(name)] = MedianSurvival(str(name), len(rows), events, median,
                                           float(rows["duration_days"].max()), final)
    return result


# ---- log-rank


@dataclass(frozen=True)
class LogRank:
    """Log-rank test of equal survival across groups (R's ``survdiff``).

    ``observed`` churns per group and ``expected`` churns if every group had the pooled
    hazard; a group with observed < expected keeps its customers longer. ``statistic``,
    ``p_value`` and ``df`` are None when the test cannot be made (``reason`` says why).
    """

    groups: tuple[str, ...]
    customers: tuple[int, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float | None
    p_value: float | None
    df: int | None
    alpha: float = 0.05
    reason: str = ""

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < self.alpha

    def _ratios(self) -> list[tuple[float, str]]:
        return sorted((o / e if e > 0 else float("inf"), g)
                      for g, o, e in zip(self.groups, self.observed, self.expected))

    def sentence(self) -> str:
        """The result in plain words (in the current language): significant or not, and which
        group survives longer."""
        if self.p_value is None:
            return str(self.reason)
        ratios = self._ratios()
        (_first, longest), (_last, shortest) = ratios[0], ratios[-1]
        detail = "; ".join(_("{group}: {observed} churned, {expected} expected").format(
                               group=g, observed=number(o), expected=number(e, 1))
                           for g, o, e in zip(self.groups, self.observed, self.expected))
        test = _("log-rank test, chi-square = {statistic}, df = {df}, {p}").format(
            statistic=number(self.statistic, 2), df=self.df, p=p_text(self.p_value))
        if self.significant:
            text = (_("{longest} customers stay longer than {shortest} customers; the difference is statistically "
                      "significant ({test}; {detail}).") if len(self.groups) == 2 else
                    _("{longest} customers stay longest and {shortest} customers leave soonest; the difference is "
                      "statistically significant ({test}; {detail})."))
            return text.format(longest=longest, shortest=shortest, test=test, detail=detail)
        names = (_("{first} and {second}").format(first=self.groups[0], second=self.groups[1])
                 if len(self.groups) == 2 else ", ".join(self.groups))
        return _("The survival of {names} customers is not significantly different ({test}; {detail}).").format(
            names=names, test=test, detail=detail)


def logrank(data: pd.DataFrame, alpha: float = 0.05) -> LogRank:
    """Log-rank test that every group of ``data`` has the same survival curve.

    Needs at least two groups and at least one churn; otherwise the statistic and p-value
    are None and ``sentence()`` explains why (never an exception). Memory and time grow
    as n log n (a sort of the durations), never as customers x churn times.
    """
    frame = _checked(data)
    groups = pd.Categorical(frame["group"])
    names = tuple(str(name) for name in groups.categories)       # sorted, as the categories are
    codes = np.asarray(groups.codes, dtype=np.intp)
    churned = frame["churned"].to_numpy()
    sizes = tuple(int(n) for n in np.bincount(codes, minlength=len(names)))
    observed = tuple(int(n) for n in np.bincount(codes, weights=churned, minlength=len(names)))
    time = frame["duration_days"].to_numpy()
    expected = _expected(time, churned, codes, len(names))

    def untested(reason: str) -> LogRank:
        return LogRank(names, sizes, observed, expected, None, None, None, alpha, reason)

    if frame.empty:
        return untested(lazy("No customers in the selection: there is nothing to compare."))
    if len(names) < 2:
        return untested(lazy("Only one group ({group}): a log-rank test needs at least two groups to compare.",
                             group=names[0]))
    if sum(observed) == 0:
        return untested(lazy("No customer has churned yet in any group, so the groups cannot be compared "
                             "(log-rank test not computed)."))
    try:
        statistic, p_value = _logrank_statistic(time, churned, codes, len(names))   # O(n log n)
    except np.linalg.LinAlgError:
        statistic = p_value = float("nan")
    if not (np.isfinite(statistic) and np.isfinite(p_value)):
        return untested(lazy("The log-rank test cannot be computed for these groups: too few churns at times "
                             "when more than one group still has customers at risk."))
    return LogRank(names, sizes, observed, expected, float(statistic), float(p_value), len(names) - 1, alpha)


def at_risk_and_churns(time: np.ndarray, churned: np.ndarray, codes: np.ndarray,
                       groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct churn time (sorted): customers at risk per group (``groups x times``:
    duration >= the time) and churns per group (``groups x times``), as R's ``survdiff``
    counts them.

    One sort and cumulative sums: memory grows with the customers plus groups x distinct
    churn times, never with customers x times.
    """
    times, rank = np.unique(time, return_inverse=True)
    rank = rank.ravel()
    churn_rank = rank[churned.astype(bool)]
    keep = np.flatnonzero(np.bincount(churn_rank, minlength=len(times)))    # times with a churn
    at_risk = np.empty((groups, len(keep)))
    churns = np.empty((groups, len(keep)))
    for g in range(groups):
        mine = codes == g
        ending = np.bincount(rank[mine], minlength=len(times))     # durations equal to each time
        at_risk[g] = np.cumsum(ending[::-1])[::-1][keep]           # durations >= each time
        churns[g] = np.bincount(rank[mine & churned.astype(bool)], minlength=len(times))[keep]
    return times[keep], at_risk, churns


def _expected(time: np.ndarray, churned: np.ndarray, codes: np.ndarray, groups: int) -> tuple[float, ...]:
    """Churns expected per group under the pooled hazard: sum over churn times t of
    d_t n_gt / n_t (d_t churns at t, n_gt customers of group g at risk at t, n_t of all)."""
    if not len(time) or not churned.any():
        return tuple(0.0 for _group in range(groups))
    _times, at_risk, churns = at_risk_and_churns(time, churned, codes, groups)
    hazard = churns.sum(axis=0) / at_risk.sum(axis=0)
    return tuple(float(x) for x in at_risk @ hazard)


def _logrank_statistic(time: np.ndarray, churned: np.ndarray, codes: np.ndarray, groups: int) -> tuple[float, float]:
    """The log-rank chi-square and its p-value (groups - 1 degrees of freedom), as R's
    ``survdiff`` and statsmodels' ``survdiff`` compute it: over churn times with more than
    one customer at risk, U_g = sum (d_gt - d_t n_gt / n_t) and
    V_gh = sum d_t (n_t - d_t) / (n_t - 1) * n_gt / n_t * (1[g = h] - n_ht / n_t);
    chi-square = U' V^-1 U over every group but the first.
    """
    _times, at_risk, churns = at_risk_and_churns(time, churned, codes, groups)
    n, d = at_risk.sum(axis=0), churns.sum(axis=0)
    use = n > 1
    at_risk, churns, n, d = at_risk[:, use], churns[:, use], n[use], d[use]
    share = at_risk / n                                                  # groups x times
    u = (churns - share * d).sum(axis=1)[1:]
    scale = d * (n - d) / (n - 1)
    rest = share[1:]
    variance = -(rest * scale) @ rest.T + np.diag((rest * scale).sum(axis=1))
    statistic = float(u @ np.linalg.solve(variance, u))
    return statistic, float(chi2.sf(statistic, groups - 1))
