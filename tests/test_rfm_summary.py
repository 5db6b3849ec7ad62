"""summary_from_transactions: hand-worked tables, the CDNOW summary, lifetimes parity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests import cdnow

from metrics.rfm_summary import SUMMARY_COLUMNS, summary_from_transactions

CDNOW = cdnow.FOLDER


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    return cdnow.transactions()


# customer a: two orders on 1 Jan (10 + 5), one on 15 Jan (20), one after the end
# customer b: one order on 8 Jan; customer c: first order after the end (not acquired)
LOG = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "a", "a", "c"],
        "purchased_at": pd.to_datetime(
            [
                "2024-01-01 09:00",
                "2024-01-01 17:30",
                "2024-01-08 12:00",
                "2024-01-15 08:00",
                "2024-02-12 10:00",
                "2024-02-01 10:00",
            ]
        ),
        "amount": [10.0, 5.0, 7.0, 20.0, 30.0, 99.0],
    }
)
END = "2024-01-29"


@pytest.mark.parametrize(
    ("unit", "days"),
    [("D", 1.0), ("W", 7.0), ("M", 365.25 / 12)],
)
def test_merged_same_day_summary_worked_by_hand(unit: str, days: float) -> None:
    # a: occasions 1 Jan (15) and 15 Jan (20): x = 1, t_x = 14 days, T = 28 days, m = 20
    # b: one occasion 8 Jan: x = 0, t_x = 0, T = 21 days, m = 0
    out = summary_from_transactions(LOG.customer_id, LOG.purchased_at, LOG.amount, END, unit=unit)
    expected = pd.DataFrame(
        {
            "frequency": [1, 0],
            "recency": [14 / days, 0.0],
            "T": [28 / days, 21 / days],
            "monetary_value": [20.0, 0.0],
        },
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(out, expected)


def test_unmerged_summary_uses_exact_times_and_every_transaction() -> None:
    # a: 3 transactions up to the end; the first (09:00, 10.0) is excluded from the mean:
    # x = 2, m = (5 + 20) / 2 = 12.5, t_x = 15 Jan 08:00 - 1 Jan 09:00 = 13 days 23 h,
    # T = 29 Jan 00:00 - 1 Jan 09:00 = 27 days 15 h
    out = summary_from_transactions(
        LOG.customer_id, LOG.purchased_at, LOG.amount, END, unit="D", merge_same_day=False
    )
    assert out.loc["a", "frequency"] == 2
    assert out.loc["a", "monetary_value"] == pytest.approx(12.5)
    assert out.loc["a", "recency"] == pytest.approx(13 + 23 / 24)
    assert out.loc["a", "T"] == pytest.approx(27 + 15 / 24)
    assert out.loc["b", "T"] == pytest.approx(20.5)


def test_calibration_end_day_is_included_when_merging_days() -> None:
    out = summary_from_transactions(
        ["a", "a"], ["2024-01-01", "2024-01-29 23:59"], [1.0, 2.0], END, unit="D"
    )
    assert out.loc["a"].tolist() == [1, 28.0, 28.0, 2.0]
    exact = summary_from_transactions(
        ["a", "a"], ["2024-01-01", "2024-01-29 23:59"], [1.0, 2.0], END, merge_same_day=False
    )
    assert exact.loc["a", "frequency"] == 0


def test_input_order_does_not_matter() -> None:
    shuffled = LOG.sample(frac=1.0, random_state=3)
    a = summary_from_transactions(LOG.customer_id, LOG.purchased_at, LOG.amount, END)
    b = summary_from_transactions(
        shuffled.customer_id, shuffled.purchased_at, shuffled.amount, END
    )
    pd.testing.assert_frame_equal(a, b)


def test_without_amounts_there_is_no_monetary_column() -> None:
    out = summary_from_transactions(LOG.customer_id, LOG.purchased_at, None, END)
    assert list(out.columns) == ["frequency", "recency", "T"]


def test_empty_log_gives_an_empty_frame_with_the_columns() -> None:
    out = summary_from_transactions([], [], [], END)
    assert out.empty and list(out.columns) == SUMMARY_COLUMNS
    assert out["frequency"].dtype == np.int64
    everyone_later = summary_from_transactions(["a"], ["2025-01-01"], [1.0], END)
    assert everyone_later.empty


def test_all_repeat_purchases_on_day_one_merge_to_frequency_zero() -> None:
    out = summary_from_transactions(
        ["a", "a", "b", "b"],
        ["2024-01-01 08:00", "2024-01-01 18:00", "2024-01-02", "2024-01-02"],
        [1.0, 2.0, 3.0, 4.0],
        END,
    )
    assert out["frequency"].tolist() == [0, 0]
    assert out["recency"].tolist() == [0.0, 0.0]
    assert out["monetary_value"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer_ids": ["a"], "timestamps": ["2024-01-01", "2024-01-02"]}, "same length"),
        ({"amounts": [1.0, -2.0]}, "negative"),
        ({"amounts": [1.0, np.nan]}, "missing or infinite"),
        ({"amounts": [1.0]}, "same length"),
        ({"timestamps": ["2024-01-01", None]}, "timestamps contains 1 missing"),
        ({"timestamps": ["2024-01-01", "not a date"]}, "could not be parsed"),
        ({"customer_ids": ["a", None]}, "customer_ids contains 1 missing"),
        ({"unit": "Y"}, "unit must be one of"),
    ],
)
def test_bad_input_is_rejected_with_a_message(kwargs: dict, message: str) -> None:
    arguments = {
        "customer_ids": ["a", "b"],
        "timestamps": ["2024-01-01", "2024-01-02"],
        "amounts": [1.0, 2.0],
        "calibration_end": END,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        summary_from_transactions(**arguments)


def test_cdnow_summary_equals_hardies_file(cdnow_transactions: pd.DataFrame) -> None:
    t = cdnow_transactions
    out = summary_from_transactions(t.customer_id, t.date, t.amount, "1997-09-30", unit="W")
    hardie = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    assert len(out) == 2357 and (out.index == hardie.index).all()
    assert (out["frequency"] == hardie["x"]).all()
    assert (out["frequency"] > 0).sum() == 946
    # Hardie's file is rounded to 2 decimals
    np.testing.assert_allclose(out["recency"], hardie["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(out["T"], hardie["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(out["monetary_value"], hardie["zbar"], atol=0.005 + 1e-9)
    # customer 1 by hand: 1 Jan, 18 Jan, 2 Aug 1997 -> t_x = 213 / 7, T = 272 / 7,
    # repeat amounts 29.73 and 14.96
    assert out.loc[1].tolist() == pytest.approx([2, 213 / 7, 272 / 7, (29.73 + 14.96) / 2])


def test_cdnow_summary_equals_lifetimes_daily_summary(cdnow_transactions: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

        theirs = summary_data_from_transaction_data(
            cdnow_transactions,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end="1997-09-30",
            freq="D",
        ).sort_index()
    t = cdnow_transactions
    ours = summary_from_transactions(t.customer_id, t.date, t.amount, "1997-09-30", unit="D")
    np.testing.assert_array_equal(ours.index, theirs.index)
    for column in SUMMARY_COLUMNS:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, err_msg=column)


def _reference_summary(log: pd.DataFrame, end: pd.Timestamp, merge: bool) -> pd.DataFrame:
    """Straightforward per-customer pandas version of the same definitions."""
    day_or_time = log["purchased_at"].dt.floor("D") if merge else log["purchased_at"]
    log = log[day_or_time <= end]
    if merge:
        log = (
            log.assign(purchased_at=log["purchased_at"].dt.floor("D"))
            .groupby(["customer_id", "purchased_at"], as_index=False, sort=False)["amount"]
            .sum()
        )
    rows = {}
    for customer, group in log.groupby("customer_id"):
        group = group.sort_values("purchased_at", kind="stable")
        first, last = group["purchased_at"].iloc[0], group["purchased_at"].iloc[-1]
        repeat = group["amount"].iloc[1:]
        rows[customer] = {
            "frequency": len(group) - 1,
            "recency": (last - first) / pd.Timedelta(days=1),
            "T": (end - first) / pd.Timedelta(days=1),
            "monetary_value": repeat.mean() if len(repeat) else 0.0,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "customer_id"
    return out


@pytest.mark.parametrize("merge_same_day", [True, False])
def test_random_log_matches_a_per_customer_reference(merge_same_day: bool) -> None:
    rng = np.random.default_rng(11)
    n = 5_000
    log = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 1_500, n),
            "purchased_at": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 400 * 24, n), unit="h"),
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    )
    end = pd.Timestamp("2023-12-31")
    ours = summary_from_transactions(
        log["customer_id"],
        log["purchased_at"],
        log["amount"],
        end,
        unit="D",
        merge_same_day=merge_same_day,
    )
    expected = _reference_summary(log, end, merge_same_day)
    pd.testing.assert_frame_equal(ours, expected, check_dtype=False, atol=1e-9)
