"""Value models on real order histories: repeat buyers whose repeat spend is zero (free
orders) or negative (refunds larger than purchases) are left out of the Gamma-Gamma fit
with a note, never failing the segment; without a finite Gamma-Gamma mean the observed
spend is the fallback; parameter intervals are on the log scale."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from metrics import clv
from metrics.bgnbd import simulate_bgnbd_summary
from metrics.gamma_gamma import GammaGammaFitter

SETTINGS = clv.ClvSettings()
END = date(2026, 11, 22)


def _customers(n: int, seed: int, segment: str = "SMB", mean_spend: float = 100.0) -> pd.DataFrame:
    """n customers following BG/NBD (weeks) with Gamma spends around ``mean_spend``."""
    rng = np.random.default_rng(seed)
    frame = simulate_bgnbd_summary(0.8, 8.0, 0.8, 2.5, rng.uniform(20, 150, n), rng)
    frame["monetary_value"] = np.where(frame.frequency > 0, rng.gamma(6.0, mean_spend / 6.0, n), 0.0)
    frame["customer_id"] = [f"{segment}-{seed}-{i}" for i in range(n)]
    frame["segment"] = segment
    return frame


def _odd(n: int, spend: float, segment: str = "SMB") -> pd.DataFrame:
    """n repeat buyers whose mean repeat spend is ``spend`` (0: free; < 0: refunds)."""
    return pd.DataFrame({"frequency": 3, "recency": 40.0, "T": 60.0, "monetary_value": spend,
                         "customer_id": [f"odd-{segment}-{spend}-{i}" for i in range(n)], "segment": segment})


@pytest.mark.parametrize("spend", [0.0, -250.0])
def test_odd_spenders_among_thousands_are_left_out_of_the_fit_with_a_note(spend):
    normal = _customers(4000, 1)
    summary = pd.concat([normal, _odd(7, spend)], ignore_index=True)
    models = clv.fit_models(summary, SETTINGS, END, by=None)
    pair = models.strata["all"]
    repeat = int((summary.frequency > 0).sum())
    assert any(f"7 of {repeat:,} repeat buyers ({7 / repeat:.1%}) left out of the spend fit" in n for n in pair.notes)
    # the fit is the fit on the positive spenders alone
    positive = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
    alone = GammaGammaFitter().fit(positive.frequency, positive.monetary_value)
    assert isinstance(pair.spend, GammaGammaFitter) and not isinstance(pair.spend, clv.ObservedSpend)
    for name in ("p", "q", "v"):
        assert pair.spend.params_[name] == pytest.approx(alone.params_[name], rel=1e-6)
    values = clv.predict(models, summary)
    assert values.clv.notna().all() and np.isfinite(values.clv).all() and (values.clv >= 0).all()


@pytest.mark.parametrize("spend", [0.0, -80.0])
def test_a_segment_of_only_odd_spenders_borrows_instead_of_failing(spend):
    summary = pd.concat([_customers(3000, 2, "SMB"), _customers(30, 3, "Consumer").assign(
        monetary_value=lambda f: np.where(f.frequency > 0, spend, 0.0))], ignore_index=True)
    models = clv.fit_models(summary, SETTINGS, END, by="segment")
    assert set(models.strata) == {"Consumer", "SMB"}
    notes = " ".join(models.strata["Consumer"].notes)
    assert "left out of the spend fit" in notes and "spend model pooled over all customers" in notes
    values = clv.predict(models, summary)
    assert np.isfinite(values.clv).all() and (values.clv >= 0).all()


@pytest.mark.parametrize("spend", [0.0, -40.0])
def test_only_odd_spenders_alone_give_a_result_of_zero_spend(spend):
    base = _customers(60, 4)
    summary = base.assign(monetary_value=np.where(base.frequency > 0, spend, 0.0))
    models = clv.fit_models(summary, SETTINGS, END, by=None)
    pair = models.strata["all"]
    assert isinstance(pair.spend, clv.ObservedSpend)
    assert pair.spend.params_["mean_spend"] == 0
    assert any("spend taken as observed" in n for n in pair.notes)
    values = clv.predict(models, summary)
    assert (values.clv == 0).all()


def test_no_finite_gamma_gamma_mean_falls_back_to_the_observed_spend():
    """Two segments fifty times apart make the pooled spend too heavy-tailed (q <= 1)."""
    rng = np.random.default_rng(5)
    small = _customers(1500, 6, "Consumer", 85.0)
    big = _customers(300, 7, "Enterprise", 4800.0)
    big["monetary_value"] = np.where(big.frequency > 0, rng.pareto(0.8, len(big)) * 4800 + 1, 0.0)
    summary = pd.concat([small, big], ignore_index=True)
    repeat = summary[summary.frequency > 0]
    assert GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value).params_["q"] <= 1
    models = clv.fit_models(summary, SETTINGS, END, by=None)
    spend = models.strata["all"].spend
    assert isinstance(spend, clv.ObservedSpend)
    assert spend.params_["mean_spend"] == pytest.approx(repeat.monetary_value[repeat.monetary_value > 0].mean())
    table = models.parameters()
    assert "Observed spend" in set(table.model)
    assert (table["lower 95"] >= 0).all()
    assert np.isfinite(clv.predict(models, summary).clv).all()


def test_intervals_of_positive_parameters_never_go_below_zero():
    summary = _customers(120, 8)
    models = clv.fit_models(summary, SETTINGS, END, by=None)
    table = models.parameters()
    assert (table["lower 95"] > 0).all() and (table["lower 95"] < table["coef"]).all()
    assert (table["coef"] < table["upper 95"]).all()
