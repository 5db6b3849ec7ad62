"""Predictive customer value: BG/NBD + Gamma-Gamma on the order history (metrics.md §5).

"What will our customers buy, when, and how much will they pay" (seed 002). The
per-customer summary is computed in the database — purchases merged by calendar day,
then per customer:

- frequency = purchase days after the first one;
- recency = days from the first to the last purchase day;
- T = days from the first purchase day to the last day of the calibration period;
- monetary_value = mean amount of the repeat purchase days (the first excluded);

in the model's time unit (days, weeks or months of 365.25/12 days). Refunds (rows with
a negative amount) are left out; free purchases (amount 0) count, as in CDNOW. The models are fitted on that summary by maximum
likelihood (``metrics/bgnbd.py``, ``metrics/gamma_gamma.py``) and predict, per
customer, the purchases in the next months, the probability of being alive, the spend
per purchase and the discounted CLV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

import numpy as np
import pandas as pd
from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Connection

from data.schema import customers, orders
from i18n import lazy, message_of, number, percent
from metrics.bgnbd import BetaGeoFitter, ConvergenceError, summary_table
from metrics.health import valid_clause
from metrics.filters import CUSTOMER_DIMENSIONS, Filters
from metrics.gamma_gamma import GammaGammaFitter
from metrics.rfm_summary import unit_days
from metrics.sql import DAY, as_float, epoch, fetch_frame

UNITS = {"day": "D", "week": "W", "month": "M"}


@dataclass(frozen=True)
class ClvSettings:
    """Settings of the predictive value models."""

    unit: str = "W"  # "D", "W" or "M"
    horizon_months: int = 12
    annual_discount_rate: float = 0.10

    @property
    def monthly_discount_rate(self) -> float:
        return (1 + self.annual_discount_rate) ** (1 / 12) - 1


class NotEnoughHistory(ValueError):
    """The order history cannot support the models (the message says why)."""


def customer_summary(conn: Connection, filters: Filters, calibration_end: date | None = None,
                     unit: str = "W") -> pd.DataFrame:
    """Per customer (with a purchase before the calibration end): frequency, recency, T,
    monetary_value in ``unit``, and the customer dimensions, computed in SQL.

    The calibration period ends with ``calibration_end`` (a day, included); by default
    the last day of the date range.
    """
    scale = unit_days(unit)
    last_day = calibration_end or filters.end
    end = datetime(last_day.year, last_day.month, last_day.day) + timedelta(days=1)
    o, c = orders.c, customers.c
    day = func.date_trunc("day", o.ordered_at)
    days = (
        select(o.customer_id, day.label("day"), func.sum(o.amount).label("amount"))
        .where(o.ordered_at < end, o.amount >= 0, *filters.fact_clauses(orders))
        .group_by(o.customer_id, day)
        .subquery("days")
    )
    ranked = select(days, func.row_number().over(partition_by=days.c.customer_id, order_by=days.c.day)
                    .label("n")).subquery("ranked")
    per_customer = (
        select(ranked.c.customer_id,
               func.count().label("purchase_days"),
               func.min(ranked.c.day).label("first_day"),
               func.max(ranked.c.day).label("last_day"),
               as_float(func.sum(case((ranked.c.n > 1, ranked.c.amount), else_=0))).label("repeat_amount"),
               as_float(func.sum(ranked.c.amount)).label("total_amount"))
        .group_by(ranked.c.customer_id)
        .subquery("per_customer")
    )
    last_included = epoch(end - timedelta(days=1))
    p = per_customer.c
    query = (
        select(p.customer_id, *[c[col].label(dim) for dim, col in CUSTOMER_DIMENSIONS.items()],
               c.name,
               (p.purchase_days - 1).label("frequency"),
               ((epoch(p.last_day) - epoch(p.first_day)) / DAY).label("recency_days"),
               ((last_included - epoch(p.first_day)) / DAY).label("t_days"),
               case((p.purchase_days > 1, p.repeat_amount / (p.purchase_days - 1)), else_=literal(0.0))
               .label("monetary_value"),
               p.total_amount, p.first_day, p.last_day)
        .select_from(per_customer.join(customers, c.customer_id == p.customer_id))
        .where(valid_clause(customers))
        .order_by(p.customer_id)
    )
    frame = fetch_frame(conn, query,
                        columns=["customer_id", *CUSTOMER_DIMENSIONS, "name", "frequency", "recency_days", "t_days",
                                  "monetary_value", "total_amount", "first_day", "last_day"])
    frame["frequency"] = frame["frequency"].astype(int)
    frame["recency"] = np.round(frame.pop("recency_days").astype(float)) / scale
    frame["T"] = np.round(frame.pop("t_days").astype(float)) / scale
    frame["monetary_value"] = frame["monetary_value"].astype(float)
    return frame


@dataclass
class FittedPair:
    """BG/NBD and Gamma-Gamma for one group of customers (``notes`` say what was borrowed)."""

    purchases: BetaGeoFitter
    spend: GammaGammaFitter
    customers: int
    repeat_buyers: int
    notes: tuple[str, ...] = ()


@dataclass
class ValueModels:
    """The fitted models per stratum (e.g. per segment), their settings and data sizes.

    Segments that buy very differently (an Enterprise order is worth fifty Consumer
    ones) make the pooled spend distribution so heavy-tailed that Gamma-Gamma has no
    finite mean; fitting each stratum on its own keeps both models well posed. A stratum
    that cannot identify a model on its own borrows the one fitted on every customer.
    """

    strata: dict[str, FittedPair]
    by: str | None
    settings: ClvSettings
    calibration_end: date

    @property
    def customers(self) -> int:
        return sum(p.customers for p in self.strata.values())

    @property
    def repeat_buyers(self) -> int:
        return sum(p.repeat_buyers for p in self.strata.values())

    def parameters(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % intervals, per stratum and model."""
        frames = []
        for group, pair in self.strata.items():
            spend_model = "Observed spend" if isinstance(pair.spend, ObservedSpend) else "Gamma-Gamma"
            for model, fitted, kind in (("BG/NBD", pair.purchases, "purchase"), (spend_model, pair.spend, "spend")):
                pooled = any(note.startswith(f"{kind} model pooled") for note in pair.notes)
                frames.append(fitted.summary.assign(group=group, model=model, fitted_on="all customers" if pooled
                                                    else group).reset_index(names="parameter"))
        frame = pd.concat(frames, ignore_index=True)
        first = ["group", "model", "fitted_on", "parameter"]
        return frame[first + [c for c in frame.columns if c not in first]]


MIN_CUSTOMERS, MIN_REPEAT = 20, 10


def _fit_purchases(summary: pd.DataFrame, label: str) -> BetaGeoFitter:
    repeat = summary[summary.frequency > 0]
    if len(summary) < MIN_CUSTOMERS or len(repeat) < MIN_REPEAT:
        raise NotEnoughHistory(lazy(
            "Not enough purchase history for the value models ({group}): {customers} customers, {repeat} with a "
            "repeat purchase (at least {min_customers} and {min_repeat} are needed).", group=label,
            customers=partial(number, len(summary)), repeat=partial(number, len(repeat)),
            min_customers=MIN_CUSTOMERS, min_repeat=MIN_REPEAT))
    try:
        return BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
    except (ConvergenceError, ValueError) as exc:
        raise NotEnoughHistory(lazy("The purchase model cannot be fitted ({group}): {reason}", group=label,
                                    reason=message_of(exc))) from exc


class ObservedSpend(GammaGammaFitter):
    """Fallback spend model when Gamma-Gamma cannot be used: the spend per purchase of a
    repeat buyer is their own mean repeat spend (never below 0); customers without a
    positive repeat spend get the mean over the repeat buyers with one. No shrinkage, so it
    is noisier per customer, but its total is the observed spend level.

    ``params_["mean_spend"]`` is that mean, with the standard error of a mean.
    """

    PARAMETER_NAMES = ("mean_spend",)

    def fit(self, frequency, monetary_value, weights=None) -> "ObservedSpend":
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if not (x > 0).any():
            raise ValueError("no repeat buyer")
        used = (x > 0) & (m > 0)
        spends = m[used] if used.any() else np.zeros(1)  # every repeat purchase free or refunded: 0
        se = float(spends.std(ddof=1) / np.sqrt(spends.size)) if spends.size > 1 else float("nan")
        self.params_ = {"mean_spend": float(spends.mean())}
        self.standard_errors_ = {"mean_spend": se}
        self.n_customers_ = int(used.sum())
        return self

    @property
    def summary(self) -> pd.DataFrame:
        return summary_table(list(self.PARAMETER_NAMES), np.array([self.params_["mean_spend"]]),
                             np.array([self.standard_errors_["mean_spend"]]))

    def conditional_expected_average_profit(self, frequency, monetary_value):
        x = np.asarray(frequency, dtype=float)
        m = np.clip(np.asarray(monetary_value, dtype=float), 0, None)
        own = (x > 0) & (m > 0)
        return np.where(own, m, self.params_["mean_spend"])


def _positive_spenders(repeat: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The repeat buyers whose mean repeat spend is positive (Gamma-Gamma needs it), and a
    note on the others (count and share) when there are any."""
    positive = repeat[repeat.monetary_value > 0]
    left_out = len(repeat) - len(positive)
    if not left_out:
        return positive, None
    share = left_out / len(repeat)
    return positive, lazy("{left_out} of {repeat} repeat buyers ({share}) left out of the spend fit: their repeat "
                          "purchases add up to nothing or less (free orders, refunds); they are predicted with a "
                          "spend of 0 shrunk towards the mean", left_out=partial(number, left_out),
                          repeat=partial(number, len(repeat)), share=partial(_share, share))


def _share(value: float) -> str:
    return percent(value, 1).replace("\u00a0", "").replace(" ", "")


def _fit_spend(summary: pd.DataFrame, label: str) -> GammaGammaFitter:
    repeat, _note = _positive_spenders(summary[summary.frequency > 0])
    try:
        spend = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    except (ConvergenceError, ValueError) as exc:
        raise NotEnoughHistory(lazy("The spend model cannot be fitted ({group}): {reason}", group=label,
                                    reason=message_of(exc))) from exc
    if spend.params_["q"] <= 1:
        raise NotEnoughHistory(lazy("The spend model has no finite mean ({group}: q = {q} <= 1): spends are too "
                                    "heavy-tailed", group=label, q=partial(number, spend.params_["q"], 2)))
    return spend


def _observed_spend(summary: pd.DataFrame, label: str) -> ObservedSpend:
    """The fallback spend model; NotEnoughHistory when not one repeat buyer spent anything."""
    repeat = summary[summary.frequency > 0]
    try:
        return ObservedSpend().fit(repeat.frequency, repeat.monetary_value)
    except ValueError as exc:
        raise NotEnoughHistory(lazy("No spend to learn from ({group}): {reason}.", group=label,
                                    reason=message_of(exc))) from exc


def _fit_pair(summary: pd.DataFrame, label: str, pooled: tuple | None = None) -> FittedPair:
    """Both models for one stratum; a model the stratum cannot identify is borrowed from
    ``pooled`` (fitted on every customer) when given, and the note says so."""
    notes = []
    _positive, spend_note = _positive_spenders(summary[summary.frequency > 0])
    if spend_note:
        notes.append(spend_note)
    fitted = []
    for kind, fit, index in (("purchase", _fit_purchases, 0), ("spend", _fit_spend, 1)):
        try:
            fitted.append(fit(summary, label))
        except NotEnoughHistory as exc:
            if pooled is not None and pooled[index] is not None:
                fitted.append(pooled[index])
                notes.append(lazy("purchase model pooled over all customers ({reason})", reason=message_of(exc))
                             if kind == "purchase" else
                             lazy("spend model pooled over all customers ({reason})", reason=message_of(exc)))
            elif kind == "spend":  # Gamma-Gamma unusable here and overall: the observed spend
                fitted.append(_observed_spend(summary, label))
                notes.append(lazy("spend taken as observed, per customer ({reason})", reason=message_of(exc)))
            else:
                raise
    return FittedPair(fitted[0], fitted[1], len(summary), int((summary.frequency > 0).sum()), tuple(notes))


def _stratum(summary: pd.DataFrame, by: str | None) -> pd.Series:
    """The stratum of each customer: its value of ``by`` (or 'all')."""
    if by is None:
        return pd.Series("all", index=summary.index)
    return summary[by].fillna("(none)").astype(str)


def fit_models(summary: pd.DataFrame, settings: ClvSettings, calibration_end: date,
               by: str | None = "segment") -> ValueModels:
    """Fit BG/NBD on everyone and Gamma-Gamma on the repeat buyers, per stratum of ``by``."""
    if summary.empty:
        raise NotEnoughHistory(lazy("No purchases before the calibration end in this selection."))
    strata = _stratum(summary, by)
    if by is None or strata.nunique() == 1:
        return ValueModels({str(strata.iloc[0]): _fit_pair(summary, by or "all customers")}, by, settings,
                           calibration_end)
    pooled = []
    for fit in (_fit_purchases, _fit_spend):
        try:
            pooled.append(fit(summary, "all customers"))
        except NotEnoughHistory:
            pooled.append(None)
    if pooled[1] is None:  # no finite pooled Gamma-Gamma: the observed spend over everyone
        try:
            pooled[1] = _observed_spend(summary, "all customers")
        except NotEnoughHistory:
            pass
    fitted = {str(group): _fit_pair(summary[strata == group], f"{by} = {group}", tuple(pooled))
              for group in sorted(strata.unique())}
    return ValueModels(fitted, by, settings, calibration_end)


def predict(models: ValueModels, summary: pd.DataFrame) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases and spend in the horizon, discounted CLV."""
    s = models.settings
    horizon = s.horizon_months * (365.25 / 12) / unit_days(s.unit)
    out = summary.copy()
    out["stratum"] = _stratum(summary, models.by) if models.by else "all"
    for column in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        out[column] = np.nan
    for group, pair in models.strata.items():
        rows = out.stratum == group
        part = out[rows]
        f, r, t = part.frequency, part.recency, part["T"]
        m = part.monetary_value.where(f > 0, 0.0).clip(lower=0.0)  # refunds over purchases: spend 0
        out.loc[rows, "p_alive"] = np.asarray(pair.purchases.conditional_probability_alive(f, r, t), float)
        out.loc[rows, "expected_purchases"] = np.asarray(
            pair.purchases.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, t), float)
        out.loc[rows, "expected_spend"] = np.asarray(pair.spend.conditional_expected_average_profit(f, m), float)
        out.loc[rows, "clv"] = np.asarray(pair.spend.customer_lifetime_value(
            pair.purchases, f, r, t, m, time_months=s.horizon_months, discount_rate=s.monthly_discount_rate,
            unit=s.unit), float)
    return out


def customer_values(conn: Connection, filters: Filters, settings: ClvSettings = ClvSettings(),
                    calibration_end: date | None = None, by: str | None = "segment") -> tuple[ValueModels, pd.DataFrame]:
    """Fit on the selection's order history up to the calibration end; predictions per customer."""
    end = calibration_end or filters.end
    summary = customer_summary(conn, filters, end, settings.unit)
    models = fit_models(summary, settings, end, by)
    return models, predict(models, summary)


def equity_by(values: pd.DataFrame, dimension: str | None = None) -> pd.DataFrame:
    """Customer equity (sum of predicted CLV) and its make-up, per group (or 'all')."""
    groups = values.assign(group="all") if dimension is None else values.assign(group=values[dimension])
    table = groups.groupby("group", dropna=False).agg(
        customers=("customer_id", "size"), equity=("clv", "sum"), mean_clv=("clv", "mean"),
        p_alive=("p_alive", "mean"), expected_purchases=("expected_purchases", "sum"),
        expected_spend=("expected_spend", "mean")).reset_index()
    total = table.equity.sum()
    table["share_of_equity"] = table.equity / total if total else np.nan
    return table.sort_values("equity", ascending=False, ignore_index=True)


#: The P(alive) cells of :func:`alive_value_grid`: twentieths, the last one closed (a customer
#: with no repeat purchase has P(alive) = 1 under BG/NBD).
ALIVE_EDGES = np.linspace(0.0, 1.0, 21)


def alive_value_grid(values: pd.DataFrame, value_bins: int = 16) -> pd.DataFrame:
    """Customers per cell of P(alive) (:data:`ALIVE_EDGES`) and predicted CLV (``value_bins``
    log-spaced bins from the least positive CLV to the greatest; a CLV of 0 counts in the
    first), for a map of every customer: one row per cell, empty cells included, with the
    cell's bounds (``p_low``, ``p_high``, ``clv_low``, ``clv_high``) and ``customers``."""
    columns = ["p_low", "p_high", "clv_low", "clv_high", "customers"]
    positive = values.clv[values.clv > 0]
    if positive.empty:
        return pd.DataFrame(columns=columns)
    low, high = max(positive.min(), 0.01), positive.max()
    value_edges = np.geomspace(low, max(high, low) * 1.0001, value_bins + 1)
    counts, _, _ = np.histogram2d(values.p_alive.clip(0.0, 1.0), values.clv.clip(lower=low),
                                  bins=[ALIVE_EDGES, value_edges])
    i, j = np.indices(counts.shape).reshape(2, -1)
    return pd.DataFrame({"p_low": ALIVE_EDGES[i], "p_high": ALIVE_EDGES[i + 1], "clv_low": value_edges[j],
                         "clv_high": value_edges[j + 1], "customers": counts[i, j].astype(int)})


def clv_distribution(values: pd.DataFrame, bins: int = 30) -> pd.DataFrame:
    """Customers per CLV bin (log-spaced), for a histogram of the skewed CLV."""
    clv = values.clv[values.clv > 0]
    if clv.empty:
        return pd.DataFrame(columns=["low", "high", "customers"])
    edges = np.geomspace(max(clv.min(), 0.01), clv.max() * 1.0001, bins + 1)
    counts, edges = np.histogram(clv, bins=edges)
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "customers": counts})

