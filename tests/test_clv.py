"""Predictive value through the database: the SQL summary, CDNOW end to end, strata, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import numpy as np
import pytest
from sqlalchemy import create_engine

from data.demo import DemoRates
from metrics import clv
from metrics.filters import Filters
from metrics.rfm_summary import summary_from_transactions
from tests import cdnow
from tests.conftest import ROOT
from tests.helpers import ENGINES, crm_engine
from tests.tiny import customer



def test_summary_in_sql_by_hand(tiny):
    # calibration end 2026-01-31. A: purchase days 2024-06-01, 2025-06-01, 2026-01-15 -> frequency 2,
    # recency 593 days, T 609 days, repeat mean (1000 + 2000) / 2. B: 2026-01-20 (the refund is left out)
    # -> frequency 0, T 11 days. F: four days 2023-01-10 .. 2025-03-01 -> frequency 3.
    summary = clv.customer_summary(tiny, Filters(date(2026, 1, 1), date(2026, 1, 31)), unit="D").set_index("customer_id")
    assert list(summary.index) == ["A", "B", "F"]
    assert summary.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 593, 609, 1500.0]
    assert summary.loc["B", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 11, 0.0]
    assert summary.loc["F", "frequency"] == 3 and summary.loc["F", "monetary_value"] == pytest.approx(1400 / 3)
    weeks = clv.customer_summary(tiny, Filters(date(2026, 1, 1), date(2026, 1, 31)), unit="W").set_index("customer_id")
    assert weeks.loc["A", "T"] == pytest.approx(609 / 7)


@pytest.fixture(scope="module", params=ENGINES)
def cdnow_engine(request, tmp_path_factory):
    raw = cdnow.transactions().rename(columns={"customer_id": "customer", "date": "day"})
    ids = sorted(raw.customer.unique())
    rows = {
        "customers": [customer(f"K{i:04d}", "Consumer", "US", datetime(1997, 1, 1)) for i in ids],
        "orders": [{"order_id": f"O{n}", "customer_id": f"K{c:04d}", "ordered_at": d.to_pydatetime(),
                    "amount": float(a), "margin": None} for n, (c, d, a) in
                   enumerate(zip(raw.customer, raw.day, raw.amount))],
    }
    engine = crm_engine(request, tmp_path_factory, "cdnow", rows)
    yield engine, raw
    engine.dispose()


def test_cdnow_through_the_database_reproduces_the_paper(cdnow_engine):
    engine, raw = cdnow_engine
    calibration = Filters(date(1997, 1, 1), date(1997, 9, 30))
    with engine.connect() as conn:
        summary = clv.customer_summary(conn, calibration, unit="W")
    assert len(summary) == 2357 and (summary.frequency > 0).sum() == 946
    models = clv.fit_models(summary, clv.ClvSettings(unit="W"), date(1997, 9, 30), by=None)
    params = models.strata["all"].purchases.params_
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert [round(params[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert models.strata["all"].purchases.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    spend = models.strata["all"].spend.params_
    assert [round(spend[k], 2) for k in ("p", "q", "v")] == [6.25, 3.74, 15.44]   # Gamma-Gamma, 946 repeat buyers
    # the same summary as the numpy path over the raw transactions
    numpy_summary = summary_from_transactions(raw.customer.map(lambda c: f"K{c:04d}"), raw.day, raw.amount,
                                              calibration_end=cdnow.CALIBRATION_END, unit="W")
    joined = summary.set_index("customer_id")[["frequency", "recency", "T", "monetary_value"]].sort_index()
    np.testing.assert_allclose(joined.to_numpy(dtype=float),
                               numpy_summary.sort_index()[joined.columns].to_numpy(dtype=float), rtol=1e-9)


def test_stratified_fit_recovers_the_planted_segments(demo_url):
    engine = create_engine(demo_url, connect_args={"read_only": True})
    with engine.connect() as conn:
        models, values = clv.customer_values(conn, Filters(date(2026, 11, 22), date(2026, 11, 22)))
    engine.dispose()
    assert set(models.strata) == {"Consumer", "Enterprise", "SMB"}
    spend = {g: p.spend.conditional_expected_average_profit(0, 0.0) for g, p in models.strata.items()}
    planted = DemoRates().order_value                                   # 4800 / 750 / 85 per order
    for group in ("Enterprise", "SMB", "Consumer"):
        assert spend[group] == pytest.approx(planted[group], rel=0.3), group
    assert values.clv.notna().all() and (values.p_alive.between(0, 1)).all()
    equity = clv.equity_by(values, "segment").set_index("group")
    assert equity.loc["Enterprise", "mean_clv"] > equity.loc["Consumer", "mean_clv"]
    assert equity.share_of_equity.sum() == pytest.approx(1.0)


def test_not_enough_history_is_a_clear_error(tiny):
    with pytest.raises(clv.NotEnoughHistory, match="Not enough purchase history.*3 customers"):
        clv.customer_values(tiny, Filters(date(2026, 1, 1), date(2026, 1, 31)), by=None)
    with pytest.raises(clv.NotEnoughHistory, match="No purchases"):
        clv.customer_values(tiny, Filters(date(2020, 1, 1), date(2020, 1, 31)))


def test_value_cli_prints_parameters_errors_and_equity(demo_url):
    done = subprocess.run([sys.executable, "-m", "metrics", "value", "--db", demo_url, "--calibration-end",
                           "2026-11-22", "--unit", "week", "--format", "json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = {(p["group"], p["model"], p["parameter"]) for p in report["parameters"]}
    assert ("Enterprise", "BG/NBD", "r") in names and ("SMB", "Gamma-Gamma", "q") in names
    assert all(p["se"] is None or p["se"] >= 0 for p in report["parameters"])
    assert report["customer_equity"]["total"] == pytest.approx(
        sum(g["equity"] for g in report["customer_equity"]["by_group"]))
    bad = subprocess.run([sys.executable, "-m", "metrics", "value", "--db", demo_url, "--calibration-end",
                          "2023-12-01"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_alive_value_grid_by_hand():
    """Every customer counted once, in its cell of P(alive) (twentieths) and CLV (log bins)."""
    import pandas as pd

    values = pd.DataFrame({"p_alive": [1.0, 1.0, 0.42, 0.07, 0.5], "clv": [50.0, 60.0, 10.0, 1000.0, 0.0]})
    grid = clv.alive_value_grid(values, value_bins=2)      # CLV bins: 10..100, 100..1000
    cells = {(round(r.p_low, 2), round(r.p_high, 2), round(r.clv_low), round(r.clv_high)): r.customers
             for r in grid.itertuples() if r.customers}
    assert cells == {(0.95, 1.0, 10, 100): 2,     # no repeat purchase: P(alive) = 1, the last cell
                     (0.4, 0.45, 10, 100): 1,
                     (0.05, 0.1, 100, 1000): 1,
                     (0.5, 0.55, 10, 100): 1}     # a CLV of 0 counts in the lowest value bin
    assert grid.customers.sum() == len(values) and len(grid) == 20 * 2     # every cell, empty ones too
    empty = clv.alive_value_grid(pd.DataFrame({"p_alive": [0.3], "clv": [0.0]}))
    assert empty.empty and list(empty.columns) == ["p_low", "p_high", "clv_low", "clv_high", "customers"]
