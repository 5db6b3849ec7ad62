"""RFM scores, segments and the Pareto share: hand-worked tables on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date
from datetime import datetime as T

import pandas as pd
import pytest

from metrics import rfm
from metrics.filters import Filters
from tests.helpers import ENGINES, crm_engine
from tests.tiny import customer

JANUARY = Filters(date(2026, 1, 1), date(2026, 1, 31))  # as_of 2026-02-01; window [2025-02-01, 2026-02-01)
WINDOW_RANGE = Filters(date(2025, 2, 1), date(2026, 1, 31))  # the range = the 365-day window


def order(oid, cid, when, amount):
    return {"order_id": oid, "customer_id": cid, "ordered_at": when, "amount": amount, "margin": None}


# In the window [2025-02-01, 2026-02-01):
# | id | orders (amount)                                         | recency | F | M (net) |
# | K1 | 2025-12-01 (100), 2026-01-21 (100), 2026-01-31 12:00 (100) | 0.5   | 3 | 300 |
# | K2 | 2026-01-22 (500)                                        | 10      | 1 | 500 |
# | K3 | 2025-06-01 (50), 2026-01-22 (50)                        | 10      | 2 | 100 |
# | K4 | 2025-03-01, 04-01, 05-01 (200 each), refund 05-10 (-100) | 276    | 3 | 500 |
# | K5 | 2025-11-03 (80)                                         | 90      | 1 | 80  |
# Not scored: K6 orders only on 2026-02-01 (as_of, excluded); K7 never ordered; K8 last
# ordered in 2024; K9 ordered in 2024 and got a refund in the window (a refund is no order).
ROWS = {
    "customers": [customer(f"K{i}", "SMB" if i % 2 else "Consumer", "North", T(2024, 1, 1)) for i in range(1, 10)],
    "orders": [
        order("O1", "K1", T(2025, 12, 1), 100.0), order("O2", "K1", T(2026, 1, 21), 100.0),
        order("O3", "K1", T(2026, 1, 31, 12), 100.0),
        order("O4", "K2", T(2026, 1, 22), 500.0),
        order("O5", "K3", T(2025, 6, 1), 50.0), order("O6", "K3", T(2026, 1, 22), 50.0),
        order("O7", "K4", T(2025, 3, 1), 200.0), order("O8", "K4", T(2025, 4, 1), 200.0),
        order("O9", "K4", T(2025, 5, 1), 200.0), order("O10", "K4", T(2025, 5, 10), -100.0),
        order("O11", "K5", T(2025, 11, 3), 80.0),
        order("O12", "K6", T(2026, 2, 1), 999.0),
        order("O13", "K8", T(2024, 6, 1), 1000.0),
        order("O14", "K9", T(2024, 12, 20), 200.0), order("O15", "K9", T(2025, 2, 10), -200.0),
    ],
}


@pytest.fixture(scope="module", params=ENGINES)
def rfm_conn(request, tmp_path_factory):
    engine = crm_engine(request, tmp_path_factory, "rfm", ROWS)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def test_values_scores_and_segments_by_hand(rfm_conn):
    table = rfm.rfm_table(rfm_conn, JANUARY).set_index("customer_id")
    assert list(table.index) == ["K1", "K2", "K3", "K4", "K5"]
    assert table.recency_days.tolist() == pytest.approx([0.5, 10, 10, 276, 90])
    assert table.frequency.tolist() == [3, 1, 2, 3, 1]
    assert table.monetary.tolist() == pytest.approx([300, 500, 100, 500, 80])  # K4: the refund counts
    # n = 5, so score = rank (1 = worst); ties go to the smaller customer_id first:
    # R (reversed): K4 276 -> 1, K5 90 -> 2, K2 10 -> 3, K3 10 -> 4 (tie), K1 0.5 -> 5
    # F: K2 1 -> 1, K5 1 -> 2 (tie), K3 2 -> 3, K1 3 -> 4, K4 3 -> 5 (tie)
    # M: K5 80 -> 1, K3 100 -> 2, K1 300 -> 3, K2 500 -> 4, K4 500 -> 5 (tie)
    assert table.rfm_cell.to_dict() == {"K1": "543", "K2": "314", "K3": "432", "K4": "155", "K5": "221"}
    assert table.rfm_segment.to_dict() == {"K1": "Champions", "K2": "About to sleep", "K3": "Potential loyalists",
                                           "K4": "Cannot lose them", "K5": "Hibernating"}
    assert table.loc["K1", "segment"] == "SMB" and table.loc["K2", "segment"] == "Consumer"


def test_window_is_a_parameter(rfm_conn):
    # window_days = 30: [2026-01-02, 2026-02-01) holds K1 (2 orders, 200), K2 (1, 500), K3 (1, 50).
    # n = 3: score = ceil(5 * rank / 3) -> ranks 1, 2, 3 give 2, 4, 5.
    # R: K2 10 -> rank 1, K3 10 -> rank 2 (tie), K1 0.5 -> rank 3; F: K2 1, K3 1 (tie), K1 2;
    # M: K3 50, K1 200, K2 500.
    table = rfm.rfm_table(rfm_conn, JANUARY, window_days=30).set_index("customer_id")
    assert table.frequency.to_dict() == {"K1": 2, "K2": 1, "K3": 1}
    assert table.rfm_cell.to_dict() == {"K1": "554", "K2": "225", "K3": "442"}
    assert table.rfm_segment.to_dict() == {"K1": "Champions", "K2": "Hibernating", "K3": "Loyal"}
    with pytest.raises(ValueError, match="window_days"):
        rfm.rfm_table(rfm_conn, JANUARY, window_days=0)


def test_customer_filters_restrict_the_population(rfm_conn):
    table = rfm.rfm_table(rfm_conn, JANUARY.with_values(segment="SMB"))   # K1, K3, K5
    assert table.customer_id.tolist() == ["K1", "K3", "K5"]
    # quintiles are taken within the selection: R K5 90 -> ceil(5/3) = 2, K3 10 -> 4, K1 0.5 -> 5
    assert table.r_score.tolist() == [5, 4, 2]


def test_grid_and_segment_summary(rfm_conn):
    table = rfm.rfm_table(rfm_conn, JANUARY)
    grid = rfm.rfm_grid(table)
    assert len(grid) == 25 and grid.customers.sum() == 5 and grid.revenue.sum() == pytest.approx(1480)
    cell = grid.set_index(["r_score", "f_score"])
    assert cell.loc[(5, 4), "customers"] == 1 and cell.loc[(5, 4), "revenue"] == pytest.approx(300)
    assert cell.loc[(1, 5), "rfm_segment"] == "Cannot lose them" and cell.loc[(1, 5), "revenue"] == pytest.approx(500)
    assert cell.loc[(5, 5), "customers"] == 0 and cell.loc[(5, 5), "revenue"] == 0.0

    summary = rfm.segment_summary(table).set_index("rfm_segment")
    assert list(summary.index) == list(rfm.SEGMENT_ORDER)
    assert summary.loc["Champions", ["customers", "revenue"]].tolist() == [1, 300]
    assert summary.loc["Champions", "revenue_share"] == pytest.approx(300 / 1480)
    assert summary.loc["Cannot lose them", "customer_share"] == pytest.approx(0.2)
    assert summary.loc["Lost", "customers"] == 0 and summary.loc["Lost", "revenue_share"] == 0
    assert summary.customer_share.sum() == pytest.approx(1) and summary.revenue_share.sum() == pytest.approx(1)


@pytest.mark.parametrize(("top", "expected"), [
    (0.2, 500 / 1480),     # ceil(0.2 x 5) = 1 customer: K2 or K4 (tied at 500, either gives 500)
    (0.4, 1000 / 1480),    # 2: K2, K4
    (0.5, 1300 / 1480),    # ceil(2.5) = 3: K2, K4, K1
    (0.01, 500 / 1480),    # at least one customer
    (1.0, 1.0),
])
def test_pareto_share_by_hand(rfm_conn, top, expected):
    # Revenue in 2025-02-01 .. 2026-01-31: K1 300, K2 500, K3 100, K4 500, K5 80 = 1480;
    # K9 (net -200 in the range) has no positive revenue and is left out; K6, K8 are outside.
    assert rfm.pareto_share(rfm_conn, WINDOW_RANGE, top) == pytest.approx(expected)


def test_pareto_share_needs_a_share(rfm_conn):
    with pytest.raises(ValueError, match="top"):
        rfm.pareto_share(rfm_conn, WINDOW_RANGE, 0)


def test_empty_selection(rfm_conn):
    nobody = JANUARY.with_values(segment="Nobody")
    table = rfm.rfm_table(rfm_conn, nobody)
    assert table.empty and list(table.columns) == rfm.TABLE_COLUMNS
    grid = rfm.rfm_grid(table)
    assert len(grid) == 25 and grid.customers.sum() == 0
    summary = rfm.segment_summary(table)
    assert summary.customers.sum() == 0 and summary.customer_share.isna().all()
    assert rfm.pareto_share(rfm_conn, nobody) is None
    assert rfm.pareto_share(rfm_conn, Filters(date(2020, 1, 1), date(2020, 1, 31))) is None


def test_pareto_on_the_tiny_crm(tiny):
    # January 2026: A 2000, B 400 - 100 (refund) = 300; top ceil(0.2 x 2) = 1 customer: A
    assert rfm.pareto_share(tiny, JANUARY) == pytest.approx(2000 / 2300)


@pytest.mark.parametrize(("values", "scores"), [
    ([7, 7, 7, 7, 7], [1, 2, 3, 4, 5]),                       # all tied: order of appearance
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ([3, 1, 2], [5, 2, 4]),                                   # ceil(5 x rank / 3)
    ([5.0], [5]),
])
def test_quintile_scores(values, scores):
    assert rfm.quintile_scores(pd.Series(values, dtype=float)).tolist() == scores
    reversed_scores = rfm.quintile_scores(pd.Series(values, dtype=float), higher_is_better=False).tolist()
    assert sorted(reversed_scores) == sorted(scores)


def test_every_cell_has_one_documented_segment():
    names = {s.name for s in rfm.SEGMENTS}
    assert sorted(rfm.SEGMENT_GRID) == [1, 2, 3, 4, 5]
    assert {name for row in rfm.SEGMENT_GRID.values() for name in row} == names   # each segment used
    assert len(rfm.SEGMENTS) == len(names) == 11
    # the table of the module docstring is the grid
    documented = {}
    for line in rfm.__doc__.splitlines():
        if line.startswith("R = "):
            cells = [c.strip() for c in line.split("  ") if c.strip()]
            documented[int(cells[0][-1])] = tuple(cells[1:])
    assert documented == rfm.SEGMENT_GRID


def test_scores_spread_over_the_demo(demo_url):
    from sqlalchemy import create_engine

    engine = create_engine(demo_url, connect_args={"read_only": True})
    with engine.connect() as conn:
        filters = Filters(date(2026, 8, 1), date(2026, 11, 22))
        table = rfm.rfm_table(conn, filters)
        share = rfm.pareto_share(conn, filters)
    engine.dispose()
    counts = table.r_score.value_counts().sort_index()
    assert counts.max() - counts.min() <= 1                     # quintiles: equal sizes within one
    assert (table.frequency >= 1).all() and (table.recency_days < 365).all()
    by_score = table.groupby("r_score").recency_days
    assert all(by_score.min()[k] >= by_score.max()[k + 1] for k in (1, 2, 3, 4))   # R 5 = most recent
    assert 0.2 < share < 1                                      # the top 20 % bring more than 20 %
