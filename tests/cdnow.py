"""The CDNOW reference data (tests/fixtures/cdnow, see its README), loaded once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from metrics.rfm_summary import summary_from_transactions

FOLDER = Path(__file__).parent / "fixtures" / "cdnow"
CALIBRATION_END = "1997-09-30"


@lru_cache(maxsize=1)
def _raw() -> pd.DataFrame:
    raw = pd.read_csv(FOLDER / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "cds", "amount"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


def transactions() -> pd.DataFrame:
    """The 6,919 transactions of the 2,357-customer sample (a copy: callers may change it)."""
    return _raw().copy()


def calibration_summary(unit: str = "W") -> pd.DataFrame:
    """The 39-week calibration summary (to 1997-09-30, same-day purchases merged)."""
    raw = _raw()
    return summary_from_transactions(raw["customer_id"], raw["date"], raw["amount"],
                                     calibration_end=CALIBRATION_END, unit=unit, merge_same_day=True)
