"""Churn risk: features in SQL by hand (DuckDB and PostgreSQL), the model's guards, the demo."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from sqlalchemy import create_engine

from metrics import churn, clv, rfm
from metrics.filters import Filters

JANUARY = Filters(date(2026, 1, 1), date(2026, 1, 31))      # as_of 2026-02-01


# ---- features on the tiny CRM (tests/tiny.py), seen from 2026-02-01
def test_features_by_hand(tiny):
    # Year before = [2025-02-01, 2026-02-01); C, D, E never ordered and are not in the population.
    # A: orders 2025-06-01 (1000), 2026-01-15 (2000) -> recency 17 days, frequency 2, ln(1 + 3000).
    #    Tickets T1 (met: 2 min), T2 (breached: 5 min > 3), T6 (immediate, opened 01-31 23:50, open at
    #    00:00 -> 7 min > 3: breached), T8 (deferred, resolved 02-03, after the cutoff: open then, deadline
    #    01-31 10:00 passed: breached), T9 (open since 2025-12-31: breached) -> 5 tickets, 4 breaches.
    #    NPS answers 2025-12-03 10, 12-04 6, 2026-01-03 10, 01-05 9, 01-06 7 -> last 7.
    #    Outbound in [2025-11-03, 2026-02-01): I12 (week of 12-08), I01, I02, I10, I11 (week of
    #    2026-01-05) -> busiest week 4.
    # B: order 2026-01-20 (400) and a refund 01-25 (-100) -> recency 12, frequency 1, ln(1 + 300).
    #    T3 (met: 20 h), T4 (breached: 30 h), T5 (deferred, open, deadline 02-01 12:00 not reached:
    #    pending) -> 3 tickets, 1 breach. NPS 9. Outbound I03 -> 1.
    # F: last order 2025-03-01 (800) -> recency 337 days, frequency 1, ln(801); no ticket, no NPS,
    #    no contact.
    features = churn.customer_features(tiny, JANUARY).set_index("customer_id")
    assert list(features.index) == ["A", "B", "F"]
    assert features.recency_days.tolist() == pytest.approx([17, 12, 337])
    assert features.frequency.tolist() == [2, 1, 1]
    assert features.revenue.tolist() == pytest.approx([3000, 300, 800])
    assert features.monetary.tolist() == pytest.approx([math.log1p(3000), math.log1p(300), math.log1p(800)])
    assert features.tickets.tolist() == [5, 3, 0]
    assert features.sla_breaches.tolist() == [4, 1, 0]
    assert features.loc[["A", "B"], "last_nps"].tolist() == [7, 9] and np.isnan(features.loc["F", "last_nps"])
    assert features.has_nps.tolist() == [1, 1, 0]
    assert features.contact_pressure.tolist() == [4, 1, 0]
    assert features.loc["A", "segment"] == "Enterprise" and features.loc["F", "region"] == "West"


def test_features_seen_from_an_earlier_cutoff(tiny):
    # at = 2026-01-12: A's year holds only 2025-06-01 (recency 225 days); tickets T1 (met), T2 (resolved
    # 01-11 10:05, breached) and T9 (breached); NPS 7 (01-06); the week of 01-05 still has 4 contacts.
    # B has not ordered yet; F: recency 317 days.
    features = churn.customer_features(tiny, JANUARY, at=datetime(2026, 1, 12)).set_index("customer_id")
    assert list(features.index) == ["A", "F"]
    assert features.loc["A", ["recency_days", "frequency", "tickets", "sla_breaches", "last_nps",
                              "contact_pressure"]].tolist() == [225, 1, 3, 2, 7, 4]
    assert features.loc["F", "recency_days"] == 317


def test_labels_by_hand(tiny):
    # train_at = 2026-02-01 - 180 days = 2025-08-05. Active in [2024-08-05, 2025-08-05): A (2025-06-01)
    # and F (2025-03-01). In [2025-08-05, 2026-02-01) A ordered again (2026-01-15), F did not: F churned.
    train_at = JANUARY.as_of - timedelta(days=180)
    assert train_at == datetime(2025, 8, 5)
    labelled = churn.customer_features(tiny, JANUARY, at=train_at, horizon_days=180).set_index("customer_id")
    assert labelled.churned.to_dict() == {"A": 0, "F": 1}
    assert labelled.recency_days.tolist() == pytest.approx([65, 157])


def test_customer_filters_apply(tiny):
    assert churn.customer_features(tiny, JANUARY.with_values(segment="SMB")).customer_id.tolist() == ["B"]
    assert churn.customer_features(tiny, JANUARY.with_values(segment="Nobody")).empty


def test_the_cutoff_is_a_day_boundary(tiny):
    with pytest.raises(ValueError, match="day boundary"):
        churn.customer_features(tiny, JANUARY, at=datetime(2026, 1, 12, 8))


def test_too_few_customers_on_the_tiny_crm(tiny):
    with pytest.raises(churn.NotEnoughData, match="2 customers, 1 churned and 1 retained; at least 10"):
        churn.churn_risk(tiny, JANUARY)
    with pytest.raises(churn.NotEnoughData, match="nobody to learn from"):
        churn.churn_risk(tiny, JANUARY.with_values(segment="Nobody"))


# ---- the model on hand-made frames
def planted_churn(frame: pd.DataFrame) -> pd.Series:
    """P(churn): log odds -2 + 0.01 per day of recency + 0.5 per SLA breach."""
    return 1 / (1 + np.exp(-(-2.0 + 0.01 * frame.recency_days + 0.5 * frame.sla_breaches)))


def training_frame(n: int, seed: int = 1, churn_of=planted_churn) -> pd.DataFrame:
    """n customers with random features; churned drawn from ``churn_of``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "recency_days": rng.uniform(0, 365, n),
        "frequency": rng.poisson(3, n) + 1,
        "monetary": np.log1p(rng.gamma(2.0, 300.0, n)),
        "tickets": rng.poisson(1.5, n),
        "last_nps": np.where(rng.random(n) < 0.6, rng.integers(0, 11, n), np.nan),
        "contact_pressure": rng.poisson(1.0, n),
    })
    frame["sla_breaches"] = rng.binomial(frame.tickets, 0.3)
    frame["has_nps"] = frame.last_nps.notna().astype(int)
    frame["churned"] = (rng.random(n) < churn_of(frame)).astype(int)
    return frame


def test_odds_ratios_are_per_step_and_match_a_formula_fit():
    frame = training_frame(1500)
    model = churn.ChurnModel().fit(frame)
    odds = model.odds_ratios().set_index("feature")
    # the same model on the raw features (NPS filled with the mean): OR per 30 days = exp(30 beta)
    raw = frame.assign(last_nps=frame.last_nps.fillna(frame.last_nps.mean()))
    reference = smf.logit("churned ~ recency_days + frequency + monetary + tickets + sla_breaches + last_nps"
                          " + has_nps + contact_pressure", raw).fit(disp=0)
    assert odds.loc["recency_days", "odds_ratio"] == pytest.approx(math.exp(30 * reference.params["recency_days"]))
    assert odds.loc["monetary", "odds_ratio"] == pytest.approx(math.exp(math.log(2) * reference.params["monetary"]))
    assert odds.loc["sla_breaches", "p_value"] == pytest.approx(reference.pvalues["sla_breaches"])
    low, high = reference.conf_int().loc["sla_breaches"]
    assert (odds.loc["sla_breaches", "ci_low"], odds.loc["sla_breaches", "ci_high"]) == pytest.approx(
        (math.exp(low), math.exp(high)))
    # the planted effects are recovered: exp(0.3) per 30 days, exp(0.5) per breach
    assert odds.loc["recency_days", "odds_ratio"] == pytest.approx(math.exp(0.3), rel=0.15)
    assert odds.loc["sla_breaches", "odds_ratio"] == pytest.approx(math.exp(0.5), rel=0.15)
    assert odds.loc["frequency", "ci_low"] < 1 < odds.loc["frequency", "ci_high"]          # no effect planted
    assert odds.loc["sla_breaches", "sentence"].startswith("Each SLA breach suffered multiplies the odds of "
                                                           "churning by 1.")
    probabilities = model.predict_proba(frame)
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert model.nps_fill_ == pytest.approx(frame.last_nps.mean())


def test_constant_features_are_dropped_and_said():
    frame = training_frame(400).assign(contact_pressure=0)
    model = churn.ChurnModel().fit(frame)
    assert model.dropped_ == ("contact_pressure",)
    assert "contact_pressure" not in model.odds_ratios().feature.tolist()
    assert "contact_pressure is the same for every training customer" in model.notes_[0]
    assert len(model.predict_proba(frame.head(3))) == 3


def test_one_sided_features_are_dropped_and_said():
    # a single SLA breach, suffered by a churned customer: no finite odds ratio
    frame = training_frame(300).assign(sla_breaches=0)
    frame.loc[frame.churned.idxmax(), "sla_breaches"] = 1
    # among the customers who answered NPS, every score above 6 stayed
    answered = frame.has_nps == 1
    frame.loc[answered, "last_nps"] = np.where(frame.loc[answered, "churned"] == 1, 3, 9)
    frame.loc[answered & (frame.churned == 1), "last_nps"] = [6] + [3] * (int((answered & frame.churned).sum()) - 1)
    model = churn.ChurnModel().fit(frame)
    assert model.dropped_ == ("sla_breaches", "last_nps")
    assert model.notes_ == (
        "sla_breaches was left out of the model: every training customer with sla_breaches above 0 churned, "
        "so its odds ratio has no finite estimate (quasi-separation).",
        "last_nps was left out of the model: every training customer among those who have one with last_nps "
        "above 6 stayed, so its odds ratio has no finite estimate (quasi-separation).")
    assert np.isfinite(model.summary.coefficient).all()


def not_a_single_feature(frame: pd.DataFrame) -> pd.Series:
    """Churn exactly when recency + 30 x breaches > 200: separable, by no feature alone."""
    return (frame.recency_days + 30 * frame.sla_breaches > 200).astype(float)


@pytest.mark.parametrize(("frame", "message"), [
    (training_frame(60).assign(churned=1), r"every customer churned\): 60 customers, 60 churned and 0 retained"),
    (training_frame(60).assign(churned=0), r"nobody churned\): 60 customers, 0 churned and 60 retained"),
    (training_frame(5), r"5 customers, .* at least 10 of each"),
    (training_frame(0), r"no customers\): 0 customers"),
    (training_frame(200, churn_of=lambda f: (f.recency_days > 180).astype(float)),
     "recency_days alone separates churned from retained customers perfectly"),
    (training_frame(400, churn_of=not_a_single_feature), "separate churned from retained customers perfectly"),
    (training_frame(200).assign(tickets=lambda f: f.sla_breaches * 2), "collinear"),
], ids=["everyone churns", "nobody churns", "5 customers", "nobody", "one feature separates",
        "features separate", "collinear"])
def test_degenerate_data_is_a_clear_error(frame, message):
    with pytest.raises(churn.NotEnoughData, match=message):
        churn.ChurnModel().fit(frame)


def test_every_feature_is_documented():
    documented = {line.split()[0] for line in churn.__doc__.splitlines() if line[:1].isalpha()}
    assert set(churn.FEATURE_NAMES) <= documented
    assert all(f.step > 0 and f.definition and f.per_step for f in churn.FEATURES)


def test_auc_is_the_share_of_correctly_ordered_pairs():
    labels = np.array([1, 1, 0, 0, 0, 1])
    scores = np.array([0.9, 0.4, 0.4, 0.2, 0.7, 0.8])
    # pairs (churned, retained): 3 x 3 = 9; wrongly ordered: (0.4 vs 0.7), tie (0.4, 0.4) counts half
    assert churn.auc(labels, scores) == pytest.approx((9 - 1 - 0.5) / 9)
    assert churn.auc([1, 1], [0.2, 0.3]) is None


# ---- the demo: the planted effects show
@pytest.fixture(scope="module")
def demo_churn(demo_url):
    engine = create_engine(demo_url, connect_args={"read_only": True})
    filters = Filters(date(2026, 1, 1), date(2026, 11, 22))      # the demo's history ends 2026-11-23
    with engine.connect() as conn:
        result = churn.churn_risk(conn, filters)
        _, values = clv.customer_values(conn, filters)
        scored = rfm.rfm_table(conn, filters)
    engine.dispose()
    return result, values, scored


def test_demo_model(demo_churn):
    result, _, scored = demo_churn
    odds = result.odds_ratios.set_index("feature")
    assert odds.loc["recency_days", "odds_ratio"] > 1 and odds.loc["recency_days", "ci_low"] > 1
    assert result.auc > 0.6
    assert result.validation_auc is not None and result.validation_auc > 0.6
    assert result.scores.churn_probability.between(0, 1).all()
    assert result.training.churn_probability.between(0, 1).all()
    assert result.train_at == datetime(2026, 11, 23) - timedelta(days=180)
    assert 0 < result.churn_rate < 1 and 0 < result.pseudo_r2 < 1
    assert list(result.summary.term) == ["const", *[f for f in churn.FEATURE_NAMES if f not in result.model.dropped_]]
    assert result.summary.std_error.notna().all() and np.isfinite(result.summary.coefficient).all()
    # scored = active in the year before as_of, the same population as the RFM table
    assert sorted(result.scores.customer_id) == sorted(scored.customer_id)
    assert result.scores.churn_probability.is_monotonic_decreasing


def test_demo_features_pick_up_the_south_region(demo_churn):
    # DemoRates: tickets in the South breach 22 % of the time, elsewhere 5-7 %
    training = demo_churn[0].training
    south = training.region == "South"
    south_rate = training[south].sla_breaches.sum() / training[south].tickets.sum()
    other_rate = training[~south].sla_breaches.sum() / training[~south].tickets.sum()
    assert south_rate > 2 * other_rate


def test_demo_after_its_history_everyone_churns(demo_url):
    # the demo ends 2026-11-23: seen from 2027-12-31, nobody of the training year ordered again
    engine = create_engine(demo_url, connect_args={"read_only": True})
    with engine.connect() as conn, pytest.raises(churn.NotEnoughData, match=r"every customer churned\): \d+"):
        churn.churn_risk(conn, Filters(date(2027, 12, 1), date(2027, 12, 31)))
    engine.dispose()


def test_demo_clv_at_risk(demo_churn):
    result, values, _ = demo_churn
    table = churn.clv_at_risk(result.scores, values).set_index("group")
    assert set(table.index) == {"Enterprise", "SMB", "Consumer", "all"} and table.index[-1] == "all"
    assert (table.clv_at_risk <= table.clv).all() and (table.clv_at_risk >= 0).all()
    parts = table.drop(index="all")
    for column in ("customers", "clv", "clv_at_risk"):
        assert parts[column].sum() == pytest.approx(table.loc["all", column])
    assert table.loc["all", "customers"] == len(result.scores.merge(values, on="customer_id"))
    assert table.share_at_risk.between(0, 1).all()
    top = churn.customers_at_risk(result.scores, values, limit=10)
    assert len(top) == 10 and top.clv_at_risk.is_monotonic_decreasing
    assert top.clv_at_risk.iloc[0] == pytest.approx(
        (result.scores.merge(values[["customer_id", "clv"]], on="customer_id")
         .eval("clv * churn_probability")).max())


def test_clv_at_risk_by_hand():
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "churn_probability": [0.5, 0.1, 1.0, 0.3]})
    values = pd.DataFrame({"customer_id": ["a", "b", "c", "x"], "segment": ["S", "S", "T", "T"],
                           "clv": [100.0, 200.0, 50.0, 999.0]})
    # d has no CLV and x no score: left out. S: 100 x 0.5 + 200 x 0.1 = 70 of 300; T: 50 of 50.
    table = churn.clv_at_risk(scores, values).set_index("group")
    assert table.loc["S", ["customers", "clv", "clv_at_risk"]].tolist() == [2, 300, pytest.approx(70)]
    assert table.loc["T", "share_at_risk"] == 1.0
    assert table.loc["all", ["customers", "clv", "clv_at_risk"]].tolist() == [3, 350, pytest.approx(120)]
    assert list(table.index) == ["S", "T", "all"]                 # most at risk first, then overall
    assert churn.customers_at_risk(scores, values).customer_id.tolist() == ["a", "c", "b"]
    empty = churn.clv_at_risk(scores.head(0), values)
    assert empty.group.tolist() == ["all"] and empty.customers.tolist() == [0]
