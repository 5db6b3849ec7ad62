"""Churn risk: a logistic model on per-customer features, and the CLV it puts at risk.

Service failures tied to money (metrics.md §3, §5, §6): which customers are likely to
stop buying, what drives it (recency, tickets, SLA breaches suffered, the last NPS
answer, contact pressure...), and how much predicted lifetime value that puts at risk.

Features, per customer, seen from a cutoff moment ``at`` (a day boundary) and computed
in SQL, the three cutoffs of the page (training, out-of-time check, scoring) in one statement
(``features_query``); the "year before" is ``[at - window_days, at)``
with ``window_days`` = 365 by default:

===================  ==========================================================================
recency_days         days from the last order (amount > 0) before ``at`` to ``at``
frequency            orders (amount > 0) in the year before
monetary             ``ln(1 + revenue)``, revenue = sum of amount in the year before, refunds
                     included, floored at 0 (log: revenue is heavily skewed)
tickets              tickets opened in the year before
sla_breaches         those of them that breached their SLA, seen from ``at``
                     (``metrics.sla.status_expr`` with as_of = ``at``: a ticket resolved after
                     ``at`` counts as still open then)
last_nps             the customer's most recent NPS score (0..10) answered before ``at``, any
                     time; missing -> ``has_nps`` = 0 and the score filled with the mean of the
                     training customers who have one
has_nps              1 when the customer has answered an NPS survey before ``at``
contact_pressure     the most outbound contacts in one calendar week (Monday start,
                     ``metrics.engagement.weekly_contacts``) in the ``pressure_days`` (90)
                     before ``at``; 0 without contacts
===================  ==========================================================================

Population at a cutoff: customers with an order (amount > 0) in the year before it,
customer filters applied (the contact channel filter is not applied: every ticket and
contact of a customer counts).

Label (training). ``train_at = as_of - horizon_days`` (default 180 days). A customer of
the population at ``train_at`` **churned** when they placed no order (amount > 0) in
``[train_at, train_at + horizon_days)`` = ``[train_at, as_of)`` — the orders the
features at ``train_at`` cannot see, up to the end of the range (exclusive, as every
range of the dashboard).

Model. ``statsmodels`` ``Logit`` with an intercept on the raw features divided by a
readable step (30 days of recency, one order, a doubling of revenue — ``ln 2`` on the
log scale, one ticket, one breach, one NPS point, one contact a week), so that every
coefficient is the log odds ratio for that step: "Each SLA breach suffered multiplies
the odds of churning by 1.4 (95 % CI 1.2-1.6)". Confidence intervals are Wald
intervals. Features constant in the training data are dropped, and so are features that
one class only reaches at or beyond the other's extreme (quasi-separation, typically a
rare count such as a single SLA breach, suffered by a churned customer: no finite odds
ratio exists); the notes say which and why. Too few churned or retained customers,
collinear features, a feature that alone separates the classes perfectly, perfect
separation by the features together or a fit that does not converge raise
:class:`NotEnoughData`, never a silent NaN.

Scoring: the features at ``as_of`` of the customers active in the year before it give
the probability of churning within the next ``horizon_days``. Quality: the AUC on the
training data (the Mann-Whitney U statistic / (churned x retained), ties counted half)
and, when the history allows, an out-of-time AUC: the model fitted one horizon earlier
(cutoff ``train_at - horizon_days``) scores the training customers at ``train_at``.

CLV at risk (:func:`clv_at_risk`): sum over customers of CLV x churn probability, with
CLV from ``metrics.clv.customer_values`` (BG/NBD + Gamma-Gamma).

References
----------
Hosmer, D. W., Lemeshow, S. and Sturdivant, R. X. (2013). Applied Logistic Regression,
3rd ed., Wiley (§3: interpreting odds ratios; §4.2.3 and §5.2.4: separation, AUC).
Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area under a ROC
curve. Radiology 143:29-36 (AUC = Mann-Whitney U / (n1 n0)).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import mannwhitneyu
from sqlalchemy import Integer, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from data.schema import customers, interactions, orders, surveys, tickets
from i18n import N_, _, day, lazy, number, p_text
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.periods import Periods
from metrics.sla import DEFAULT_LIMITS, SlaLimits, status_at
from metrics.sql import DAY, as_float, count_if, epoch, fetch_frame

DEFAULT_HORIZON_DAYS = 180
DEFAULT_WINDOW_DAYS = 365
DEFAULT_PRESSURE_DAYS = 90
#: Fewest churned and fewest retained customers the model is fitted on.
MIN_PER_CLASS = 10


class NotEnoughData(ValueError):
    """The data cannot support the churn model (the message says why and what to change)."""


SEPARATED = lazy("The churn model cannot be fitted: the features separate churned from retained customers "
                 "perfectly, so the odds ratios are infinite. Widen the selection.")


@dataclass(frozen=True)
class Feature:
    """A model feature: the model sees ``value / step``; odds ratios are per ``step``."""

    name: str
    label: str
    step: float
    per_step: str  # the subject of the sentence: "<per_step> multiplies the odds ..."
    definition: str


FEATURES: tuple[Feature, ...] = (
    Feature("recency_days", N_("Recency"), 30.0, N_("Every 30 days since the last order"),
            N_("days from the last order to the cutoff")),
    Feature("frequency", N_("Frequency"), 1.0, N_("Each order in the year before"),
            N_("orders (amount > 0) in the year before the cutoff")),
    Feature("monetary", N_("Revenue (log)"), math.log(2), N_("Doubling the year's revenue"),
            N_("ln(1 + revenue of the year before, refunds included, floored at 0)")),
    Feature("tickets", N_("Tickets"), 1.0, N_("Each ticket opened"),
            N_("tickets opened in the year before the cutoff")),
    Feature("sla_breaches", N_("SLA breaches"), 1.0, N_("Each SLA breach suffered"),
            N_("tickets of the year before that breached their SLA, seen from the cutoff")),
    Feature("last_nps", N_("Last NPS score"), 1.0, N_("Each point of the last NPS score"),
            N_("most recent NPS answer (0..10) before the cutoff; filled with the mean when missing")),
    Feature("has_nps", N_("Answered NPS"), 1.0, N_("Having answered an NPS survey"),
            N_("1 when the customer answered an NPS survey before the cutoff")),
    Feature("contact_pressure", N_("Contact pressure"), 1.0, N_("Each outbound contact in the busiest week"),
            N_("most outbound contacts in one week of the 90 days before the cutoff")),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_COLUMNS = ["customer_id", *CUSTOMER_DIMENSIONS, "name", "last_order_at", "recency_days", "frequency",
                   "revenue", "monetary", "tickets", "sla_breaches", "last_nps", "has_nps", "contact_pressure"]


# ---- features in SQL
def _day_boundary(at: datetime) -> datetime:
    if (at.hour, at.minute, at.second, at.microsecond) != (0, 0, 0, 0):
        raise ValueError(f"the cutoff must be a day boundary (00:00), not {at:%Y-%m-%d %H:%M:%S}")
    return at


def _ending_at(filters: Filters, at: datetime, days: int) -> Filters:
    """The same customer filters over the ``days`` days before ``at`` (as_of = at), no channel."""
    first, last = (at - timedelta(days=days)).date(), (at - timedelta(days=1)).date()
    return replace(filters, start=first, end=last, compare="none", channel=())


def _in_windows(windows: Periods, table, column, columns: Sequence, clauses: Sequence) -> Subquery:
    """``windows.rows(...)``, but disjoint windows are selected by their ranges (``OR``), which
    the engine applies while scanning, and numbered only for the rows in them."""
    if not windows.disjoint:
        return windows.rows(table, column, columns, clauses)
    ranges = [and_(column >= w.start_at, column < w.as_of) for w in windows.filters]
    position = case(*[(inside, literal_column(str(n), Integer)) for n, inside in enumerate(ranges)])
    return select(position.label("p"), *columns).where(or_(*ranges), *clauses).subquery("in_windows")


def feature_query(filters: Filters, at: datetime, window_days: int = DEFAULT_WINDOW_DAYS,
                  pressure_days: int = DEFAULT_PRESSURE_DAYS, horizon_days: int | None = None,
                  limits: SlaLimits = DEFAULT_LIMITS) -> Select:
    """One row per customer active in the year before ``at``: the features (module
    docstring), and ``churned`` (1/0) when ``horizon_days`` is given (and ``p`` = 0)."""
    return features_query(filters, (at,), window_days, pressure_days, horizon_days, limits)


def features_query(filters: Filters, cutoffs: Sequence[datetime], window_days: int = DEFAULT_WINDOW_DAYS,
                   pressure_days: int = DEFAULT_PRESSURE_DAYS, horizon_days: int | None = None,
                   limits: SlaLimits = DEFAULT_LIMITS) -> Select:
    """The rows of :func:`feature_query` for several cutoffs in one statement, each with
    ``p``, the position of its cutoff, sorted by ``p`` and customer_id.

    Each table is read once for every cutoff (``metrics.periods``: a row gets the cutoffs
    whose window it falls in), so the churn page's three cutoffs (training, out-of-time
    check, scoring) cost one scan of the interactions, not three.
    """
    cutoffs = tuple(_day_boundary(at) for at in cutoffs)
    if horizon_days is not None and horizon_days <= 0:
        raise ValueError(f"horizon_days must be a positive number of days, not {horizon_days}")
    years = Periods(tuple(_ending_at(filters, at, window_days) for at in cutoffs))
    o, c, t, s, i = orders.c, customers.c, tickets.c, surveys.c, interactions.c
    r = years.rows(orders, o.ordered_at, [o.customer_id, o.ordered_at, o.amount], [valid_clause(orders)]).c
    bought = r.amount > 0
    purchases = (
        select(r.p, r.customer_id, func.max(case((bought, r.ordered_at))).label("last_order_at"),
               count_if(bought).label("frequency"), as_float(func.sum(r.amount)).label("revenue"))
        .group_by(r.p, r.customer_id)
        .having(count_if(bought) > 0)
        .cte("purchases")
    )
    rt = years.rows(tickets, t.opened_at, [t.customer_id, t.opened_at, t.resolved_at, t.sla_class],
                    [valid_clause(tickets), t.customer_id.is_not(None)]).c
    seen_from_at = status_at(rt.as_of, rt.opened_at, rt.resolved_at, rt.sla_class, limits)
    service = (
        select(rt.p, rt.customer_id, func.count().label("tickets"),
               count_if(seen_from_at == "breached").label("sla_breaches"))
        .group_by(rt.p, rt.customer_id)
        .subquery("service")
    )
    rs = years.joined(surveys, lambda cut: s.answered_at < cut.c.as_of,
                      [s.customer_id, s.score, s.answered_at, s.response_id],
                      [valid_clause(surveys), s.kind == "nps", s.customer_id.is_not(None)]).c
    answers = (
        select(rs.p, rs.customer_id, rs.score,
               func.row_number().over(partition_by=(rs.p, rs.customer_id),
                                      order_by=(rs.answered_at.desc(), rs.response_id.desc())).label("n"))
        .subquery("answers")
    )
    last_nps = (select(answers.c.p, answers.c.customer_id, answers.c.score).where(answers.c.n == 1)
                .subquery("last_nps"))
    weeks = Periods(tuple(_ending_at(filters, at, pressure_days) for at in cutoffs))
    contacts = _in_windows(weeks, interactions, i.occurred_at,
                           [i.customer_id, func.date_trunc("week", i.occurred_at).label("week")],
                           [i.direction == "outbound", i.customer_id.is_not(None),
                            *weeks.selection.fact_clauses(interactions, "channel")])
    rw = contacts.c
    buyers = purchases.c    # only the population's contacts are counted: far fewer (customer, week) groups
    weekly = (select(rw.p, rw.customer_id, func.count().label("contacts"))
              .select_from(contacts.join(purchases, and_(buyers.p == rw.p, buyers.customer_id == rw.customer_id)))
              .group_by(rw.p, rw.customer_id, rw.week).subquery("weekly"))
    pressure = (select(weekly.c.p, weekly.c.customer_id, func.max(weekly.c.contacts).label("contacts"))
                .group_by(weekly.c.p, weekly.c.customer_id).subquery("pressure"))
    p = purchases.c
    at_seconds = case(*[(p.p == n, epoch(at)) for n, at in enumerate(cutoffs)])

    def same(part: Subquery):
        return and_(part.c.p == p.p, part.c.customer_id == p.customer_id)

    columns = [
        p.p, p.customer_id, *[c[col].label(dim) for dim, col in CUSTOMER_DIMENSIONS.items()], c.name,
        p.last_order_at,
        ((at_seconds - epoch(p.last_order_at)) / DAY).label("recency_days"),
        p.frequency,
        p.revenue,
        func.ln(1.0 + func.greatest(p.revenue, 0.0)).label("monetary"),
        func.coalesce(service.c.tickets, 0).label("tickets"),
        func.coalesce(service.c.sla_breaches, 0).label("sla_breaches"),
        as_float(last_nps.c.score).label("last_nps"),
        case((last_nps.c.score.is_not(None), 1), else_=0).label("has_nps"),
        func.coalesce(pressure.c.contacts, 0).label("contact_pressure"),
    ]
    joined = (purchases.join(customers, c.customer_id == p.customer_id)
              .outerjoin(service, same(service))
              .outerjoin(last_nps, same(last_nps))
              .outerjoin(pressure, same(pressure)))
    if horizon_days is not None:
        later = Periods(tuple(replace(filters, start=at.date(), end=(at + timedelta(days=horizon_days - 1)).date(),
                                      compare="none", channel=()) for at in cutoffs))
        rb = later.rows(orders, o.ordered_at, [o.customer_id], [valid_clause(orders), o.amount > 0]).c
        came_back = select(rb.p, rb.customer_id).group_by(rb.p, rb.customer_id).subquery("came_back")
        columns.append(case((came_back.c.customer_id.is_(None), 1), else_=0).label("churned"))
        joined = joined.outerjoin(came_back, same(came_back))
    return select(*columns).select_from(joined).where(*filters.customer_clauses()).order_by(p.p, p.customer_id)


_FEATURE_TYPES = {"customer_id": str, "recency_days": float, "frequency": "int64", "revenue": float,
                  "monetary": float, "tickets": "int64", "sla_breaches": "int64", "last_nps": float,
                  "has_nps": "int64", "contact_pressure": "int64"}


def features_at(conn: Connection, filters: Filters, cutoffs: Sequence[datetime],
                window_days: int = DEFAULT_WINDOW_DAYS, pressure_days: int = DEFAULT_PRESSURE_DAYS,
                horizon_days: int | None = None, limits: SlaLimits = DEFAULT_LIMITS) -> list[pd.DataFrame]:
    """:func:`customer_features` at each of ``cutoffs``, read in one statement
    (:func:`features_query`); one frame per cutoff, in order."""
    query = features_query(filters, cutoffs, window_days, pressure_days, horizon_days, limits)
    columns = FEATURE_COLUMNS + (["churned"] if horizon_days is not None else [])
    frame = fetch_frame(conn, query, ["p", *columns])
    types = {**_FEATURE_TYPES, **({"churned": "int64"} if horizon_days is not None else {})}
    positions = frame.pop("p").astype("int64").to_numpy()
    return [frame[positions == n].astype(types).sort_values("customer_id", kind="mergesort", ignore_index=True)
            for n in range(len(cutoffs))]


def customer_features(conn: Connection, filters: Filters, at: datetime | None = None,
                      window_days: int = DEFAULT_WINDOW_DAYS, pressure_days: int = DEFAULT_PRESSURE_DAYS,
                      horizon_days: int | None = None, limits: SlaLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The features of :func:`feature_query` as a frame (``at`` defaults to as_of).

    ``last_nps`` is NaN when the customer never answered; ``churned`` (0/1) is there when
    ``horizon_days`` is given. Sorted by customer_id.
    """
    (frame,) = features_at(conn, filters, (at or filters.as_of,), window_days, pressure_days, horizon_days, limits)
    return frame


# ---- the model
def auc(labels, scores) -> float | None:
    """Area under the ROC curve = Mann-Whitney U / (positives x negatives); None without both."""
    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float)
    positive, negative = scores[labels], scores[~labels]
    if len(positive) == 0 or len(negative) == 0:
        return None
    u = mannwhitneyu(positive, negative, alternative="two-sided").statistic
    return float(u) / (len(positive) * len(negative))


def _odds_sentence(feature: Feature, odds: float, low: float, high: float, p_value: float) -> str:
    """The odds ratio of one feature in words (in the current language)."""
    values = {"subject": _(feature.per_step), "odds": number(odds, 2), "low": number(low, 2), "high": number(high, 2),
              "p": p_text(p_value)}
    if p_value >= 0.05:
        return _("{subject} multiplies the odds of churning by {odds} (95 % CI {low}–{high}, {p}); not "
                 "distinguishable from no effect.").format(**values)
    return _("{subject} multiplies the odds of churning by {odds} (95 % CI {low}–{high}, {p}).").format(**values)


def _fit_logit(y: np.ndarray, design: pd.DataFrame):
    """statsmodels Logit by Newton-Raphson; separation and non-identification -> NotEnoughData."""
    with warnings.catch_warnings(), np.errstate(over="ignore"):  # exp overflows as a fit diverges
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", HessianInversionWarning)
        try:
            result = sm.Logit(y, design).fit(disp=0, maxiter=100, method="newton")
        except (PerfectSeparationWarning, PerfectSeparationError) as exc:
            raise NotEnoughData(SEPARATED) from exc
        except np.linalg.LinAlgError as exc:
            raise NotEnoughData(f"The churn model cannot be fitted: singular matrix ({exc}).") from exc
        if not result.mle_retvals.get("converged", False):
            if ((result.predict(design) > 0.5) == (y == 1)).all():
                raise NotEnoughData(SEPARATED)
            raise NotEnoughData("The churn model did not converge (quasi-separation: the features almost "
                                "separate churned from retained customers). Widen the selection.")
    if not (np.isfinite(result.params).all() and np.isfinite(result.bse).all()):
        raise NotEnoughData("The churn model has undefined standard errors (singular information matrix): "
                            "the features do not identify the effects. Widen the selection.")
    return result


class ChurnModel:
    """Logistic churn model on :data:`FEATURES` (statsmodels ``Logit`` with an intercept).

    ``fit(training)`` takes the frame of :func:`customer_features` with ``churned``;
    fitted attributes end in ``_``: ``result_`` (statsmodels results), ``features_``
    (kept), ``dropped_`` (constant or one-sided, see ``_screen``), ``nps_fill_``, ``notes_``
    (why each was dropped), ``customers_``, ``churned_``.
    """

    def __init__(self, features: tuple[Feature, ...] = FEATURES, min_per_class: int = MIN_PER_CLASS):
        self.features = features
        self.min_per_class = min_per_class

    def _design(self, frame: pd.DataFrame, names) -> pd.DataFrame:
        steps = {f.name: f.step for f in self.features}
        x = frame[list(names)].astype(float).copy()
        if "last_nps" in x:
            x["last_nps"] = x["last_nps"].fillna(self.nps_fill_)
        return sm.add_constant(x / pd.Series(steps)[list(names)], has_constant="add")

    def _screen(self, raw: pd.DataFrame, y: pd.Series, observed: pd.DataFrame) -> tuple[tuple, tuple, tuple]:
        """(kept, dropped, notes): drop constant features and those that one class only
        reaches at or beyond the other's extreme (quasi-separation: no finite odds ratio);
        a feature that alone separates the classes perfectly is an error. A feature is
        judged on the rows where it is observed (``last_nps``: customers who answered)."""
        kept, dropped, notes = [], [], []
        for name in raw.columns:
            values = raw[name]
            seen = observed[name]
            retained, churned = values[seen & (y == 0)], values[seen & (y == 1)]
            if values.nunique() <= 1:
                dropped.append(name)
                notes.append(f"{name} is the same for every training customer ({values.iloc[0]:g}) and was "
                             "left out of the model.")
            elif retained.empty or churned.empty:
                dropped.append(name)
                notes.append(f"{name} is only known for {'churned' if retained.empty else 'retained'} training "
                             "customers and was left out of the model.")
            elif (retained.max() < churned.min() or churned.max() < retained.min()) and seen.all():
                raise NotEnoughData(
                    f"The churn model cannot be fitted: {name} alone separates churned from retained customers "
                    "perfectly in the training data, so its odds ratio is infinite. Widen the selection.")
            elif retained.max() <= churned.min() or churned.max() <= retained.min():
                above, outcome = ((retained.max(), "churned") if retained.max() <= churned.min()
                                  else (churned.max(), "stayed"))
                among = "" if seen.all() else " among those who have one"
                dropped.append(name)
                notes.append(f"{name} was left out of the model: every training customer{among} with {name} "
                             f"above {above:g} {outcome}, so its odds ratio has no finite estimate "
                             "(quasi-separation).")
            else:
                kept.append(name)
        return tuple(kept), tuple(dropped), tuple(notes)

    def _check_classes(self, y: pd.Series) -> None:
        customers_n, churned = len(y), int(y.sum())
        retained = customers_n - churned
        if min(churned, retained) < self.min_per_class:
            which = (N_("no customers") if customers_n == 0 else N_("nobody churned") if churned == 0
                     else N_("every customer churned") if retained == 0 else N_("too few churned or retained customers"))
            raise NotEnoughData(lazy(
                "Not enough data for the churn model ({which}): {customers} customers, {churned} churned and "
                "{retained} retained; at least {minimum} of each are needed. Widen the selection or choose "
                "another horizon.", which=lazy(which), customers=partial(number, customers_n),
                churned=partial(number, churned), retained=partial(number, retained), minimum=self.min_per_class))

    def fit(self, training: pd.DataFrame, label: str = "churned") -> ChurnModel:
        y = training[label].astype(int)
        self._check_classes(y)
        raw = training[[f.name for f in self.features]].astype(float)
        observed = raw.notna()
        answered = raw["last_nps"].dropna() if "last_nps" in raw else pd.Series(dtype=float)
        self.nps_fill_ = float(answered.mean()) if len(answered) else 0.0
        if "last_nps" in raw:
            raw["last_nps"] = raw["last_nps"].fillna(self.nps_fill_)
        self.features_, self.dropped_, self.notes_ = self._screen(raw, y, observed)
        if not self.features_:
            raise NotEnoughData("Every feature is constant or one-sided in the training data: the churn "
                                "model has nothing to learn from.")
        design = self._design(training, self.features_)
        if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
            raise NotEnoughData("The churn features are collinear in the training data (one is a "
                                f"combination of the others among {', '.join(self.features_)}); the "
                                "model cannot tell their effects apart. Widen the selection.")
        self.result_ = _fit_logit(y.to_numpy(), design)
        self.customers_, self.churned_ = len(y), int(y.sum())
        return self

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficients per step (log odds ratios): term, coefficient, std_error, z, p_value, ci_low, ci_high."""
        r = self.result_
        ci = r.conf_int(0.05)
        return pd.DataFrame({"term": r.params.index, "coefficient": r.params.to_numpy(),
                             "std_error": r.bse.to_numpy(), "z": r.tvalues.to_numpy(),
                             "p_value": r.pvalues.to_numpy(), "ci_low": ci[0].to_numpy(),
                             "ci_high": ci[1].to_numpy()})

    def odds_ratios(self) -> pd.DataFrame:
        """Per kept feature: label, step, odds_ratio, ci_low, ci_high, p_value, sentence."""
        by_name = {f.name: f for f in self.features}
        rows = []
        for term in self.summary.itertuples():
            if term.term == "const":
                continue
            feature = by_name[term.term]
            odds, low, high = math.exp(term.coefficient), math.exp(term.ci_low), math.exp(term.ci_high)
            rows.append({"feature": feature.name, "label": feature.label, "step": feature.step,
                         "odds_ratio": odds, "ci_low": low, "ci_high": high, "p_value": term.p_value,
                         "sentence": _odds_sentence(feature, odds, low, high, term.p_value)})
        return pd.DataFrame(rows, columns=["feature", "label", "step", "odds_ratio", "ci_low", "ci_high",
                                           "p_value", "sentence"])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probability of each row of a :func:`customer_features` frame."""
        if frame.empty:
            return np.zeros(0)
        return np.asarray(self.result_.predict(self._design(frame, self.features_)), dtype=float)


# ---- one call
@dataclass
class ChurnResult:
    """Everything the churn page shows.

    ``scores``: per customer active in the year before ``at`` (= as_of), the features and
    ``churn_probability`` within ``horizon_days``, highest first. ``training``: the
    customers at ``train_at`` with ``churned`` and their fitted probability.
    """

    at: datetime
    train_at: datetime
    horizon_days: int
    model: ChurnModel
    summary: pd.DataFrame
    odds_ratios: pd.DataFrame
    scores: pd.DataFrame
    training: pd.DataFrame
    auc: float
    validation_auc: float | None
    notes: tuple[str, ...] = field(default=())

    @property
    def churn_rate(self) -> float:
        """Share of the training customers who churned."""
        return float(self.training.churned.mean())

    @property
    def pseudo_r2(self) -> float:
        """McFadden's pseudo R²."""
        return float(self.model.result_.prsquared)


def churn_risk(conn: Connection, filters: Filters, horizon_days: int = DEFAULT_HORIZON_DAYS,
               window_days: int = DEFAULT_WINDOW_DAYS, pressure_days: int = DEFAULT_PRESSURE_DAYS,
               limits: SlaLimits = DEFAULT_LIMITS) -> ChurnResult:
    """Fit at ``as_of - horizon_days``, score at as_of, check in time (module docstring)."""
    at = filters.as_of
    train_at = at - timedelta(days=horizon_days)
    options = {"window_days": window_days, "pressure_days": pressure_days, "limits": limits}
    validation_at = train_at - timedelta(days=horizon_days)
    # the three cutoffs in one statement; the scoring one has no label (its horizon is the future)
    training, earlier, scores = features_at(conn, filters, (train_at, validation_at, at), horizon_days=horizon_days,
                                            **options)
    scores = scores.drop(columns="churned")
    if training.empty:
        raise NotEnoughData(lazy("No customer of this selection ordered in the {window} days before {cutoff} (the "
                                 "training cutoff, {horizon} days before the end of the range): the churn model "
                                 "has nobody to learn from.", window=window_days, cutoff=partial(day, train_at),
                                 horizon=horizon_days))
    model = ChurnModel().fit(training)
    training["churn_probability"] = model.predict_proba(training)
    notes = list(model.notes_)

    validation_auc = None
    try:
        validation_auc = auc(training.churned, ChurnModel().fit(earlier).predict_proba(training))
    except NotEnoughData as exc:
        notes.append(f"No out-of-time check: the model at {validation_at:%Y-%m-%d}, one horizon earlier, "
                     f"cannot be fitted. {exc}")

    scores["churn_probability"] = model.predict_proba(scores)
    scores = scores.sort_values(["churn_probability", "customer_id"], ascending=[False, True],
                                kind="mergesort", ignore_index=True)
    return ChurnResult(at=at, train_at=train_at, horizon_days=horizon_days, model=model, summary=model.summary,
                       odds_ratios=model.odds_ratios(), scores=scores, training=training,
                       auc=auc(training.churned, training.churn_probability), validation_auc=validation_auc,
                       notes=tuple(notes))


# ---- CLV at risk
def _with_values(scores: pd.DataFrame, values: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Customers with both a churn probability and a CLV, and their CLV at risk."""
    keep = ["customer_id", "clv", *([by] if by else [])]
    merged = scores[["customer_id", "churn_probability"]].merge(values[keep], on="customer_id", how="inner")
    merged = merged[merged.clv.notna()].copy()
    merged["clv_at_risk"] = merged.clv * merged.churn_probability
    return merged


def clv_at_risk(scores: pd.DataFrame, values: pd.DataFrame, by: str | None = "segment") -> pd.DataFrame:
    """CLV at risk = sum of CLV x churn probability, per group of ``by`` and overall ('all', last).

    ``scores`` needs customer_id and churn_probability (``ChurnResult.scores``); ``values``
    customer_id, clv and ``by`` (``metrics.clv.customer_values``). Customers in only one
    of them are left out. Columns: group, customers, clv, clv_at_risk, share_at_risk
    (at risk / CLV), mean_churn_probability.
    """
    merged = _with_values(scores, values, by)
    merged["group"] = merged[by].fillna("(none)").astype(str) if by else "all"
    aggregations = {"customers": ("customer_id", "size"), "clv": ("clv", "sum"),
                    "clv_at_risk": ("clv_at_risk", "sum"), "mean_churn_probability": ("churn_probability", "mean")}
    groups = merged.groupby("group").agg(**aggregations).reset_index() if by else pd.DataFrame()
    overall = merged.assign(group="all").groupby("group").agg(**aggregations).reset_index()
    if overall.empty:
        overall = pd.DataFrame([{"group": "all", "customers": 0, "clv": 0.0, "clv_at_risk": 0.0,
                                 "mean_churn_probability": np.nan}])
    table = pd.concat([groups.sort_values("clv_at_risk", ascending=False), overall], ignore_index=True)
    table["share_at_risk"] = [r / v if v else np.nan for r, v in zip(table.clv_at_risk, table.clv)]
    return table[["group", "customers", "clv", "clv_at_risk", "share_at_risk", "mean_churn_probability"]]


def customers_at_risk(scores: pd.DataFrame, values: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` customers with the most CLV at risk (CLV x churn probability), with their
    drivers; ties by customer_id."""
    merged = _with_values(scores, values, None)
    context = [c for c in ("name", "segment", "region", "recency_days", "frequency", "tickets", "sla_breaches",
                           "last_nps", "contact_pressure") if c in scores]
    merged = merged.merge(scores[["customer_id", *context]], on="customer_id", how="left")
    merged = merged.sort_values(["clv_at_risk", "customer_id"], ascending=[False, True], kind="mergesort")
    first = ["customer_id", *context[:3], "churn_probability", "clv", "clv_at_risk"]
    return merged[first + [c for c in context[3:]]].head(limit).reset_index(drop=True)
