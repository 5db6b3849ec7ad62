"""Customer survival: durations worked out by hand on DuckDB and PostgreSQL, Kaplan-Meier
and the log-rank test against R's survival package (statsmodels' reference cases)."""

from datetime import date
from datetime import datetime as T
from math import sqrt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.duration.tests as sm_duration_tests
from scipy.stats import norm

from metrics import survival as survival_module
from metrics.drilldown import page
from metrics.filters import Filters
from metrics.survival import DATA_COLUMNS, kaplan_meier, logrank, median_survival, survival_data, survival_records
from tests.helpers import ENGINES, crm_engine
from tests.tiny import customer

# ---------------------------------------------------------------------------------------
# A hand-written CRM. as_of = 2026-02-01 00:00; churn_days = 180, so a customer has
# churned when their last order is on or before 2026-02-01 - 180 days = 2025-08-05.
#
# | id | segment | start (acquired) | orders (amount > 0)              | churned | duration_days |
# |----|---------|------------------|----------------------------------|---------|---------------|
# | CH | SMB     | 2024-01-01       | 2024-01-01, 2024-03-01           | yes     | 60 + 180 = 240 |
# | RC | SMB     | 2025-10-01       | 2025-10-01, 2026-01-10 (recent)  | no      | to as_of: 123 |
# | PR | SMB     | 2025-04-01       | 2024-01-01 (before acquisition: ignored), 2025-12-01 | no | 306 |
# | BK | Enterp. | 2024-02-01       | 2024-02-01, 2024-12-01, 2025-09-01 | no | 731 |
#        (gaps of 304 and 274 days: longer than 180, but BK came back, so not churned)
# | LT | Enterp. | 2024-06-01       | 2024-06-01, 2025-06-01, 2026-01-05 | no    | 610 |
# | NA | Enterp. | null -> 1st order 2025-03-01 | 2025-03-01, 2025-05-01 | yes   | 61 + 180 = 241 |
# | RF | Consum. | 2025-01-15       | 2025-01-15 (the 2025-12-01 refund is no order) | yes | 0 + 180 = 180 |
# | EQ | Consum. | 2025-08-05       | 2025-08-05: exactly 180 days before as_of | yes | 180 |
# | BD | Consum. | 2025-08-06       | 2025-08-06: 179 days before as_of | no      | 179 |
# | FU | SMB     | 2026-02-10       | acquired after as_of: excluded (its 2026-01-20 order precedes acquisition) |
# | NO | Consum. | 2025-05-01       | no orders: excluded |
# ---------------------------------------------------------------------------------------

AS_OF_RANGE = Filters(date(2025, 1, 1), date(2026, 1, 31))     # as_of 2026-02-01


def _order(oid: str, cid: str, when: T, amount: float = 100.0) -> dict:
    return {"order_id": oid, "customer_id": cid, "ordered_at": when, "amount": amount, "margin": None}


ROWS: dict[str, list[dict]] = {
    "customers": [
        customer("CH", "SMB", "North", T(2023, 12, 1), acquired=T(2024, 1, 1)),
        customer("RC", "SMB", "South", T(2025, 9, 1), acquired=T(2025, 10, 1)),
        customer("PR", "SMB", "South", T(2023, 12, 1), acquired=T(2025, 4, 1)),
        customer("BK", "Enterprise", "North", T(2024, 1, 1), acquired=T(2024, 2, 1)),
        customer("LT", "Enterprise", "West", T(2024, 5, 1), acquired=T(2024, 6, 1), industry=None),
        customer("NA", "Enterprise", "West", T(2025, 2, 1)),
        customer("RF", "Consumer", "North", T(2025, 1, 1), acquired=T(2025, 1, 15)),
        customer("EQ", "Consumer", "North", T(2025, 8, 1), acquired=T(2025, 8, 5)),
        customer("BD", "Consumer", "South", T(2025, 8, 1), acquired=T(2025, 8, 6)),
        customer("FU", "SMB", "North", T(2026, 1, 15), acquired=T(2026, 2, 10)),
        customer("NO", "Consumer", "South", T(2025, 4, 1), acquired=T(2025, 5, 1)),
    ],
    "orders": [
        _order("O01", "CH", T(2024, 1, 1)), _order("O02", "CH", T(2024, 3, 1)),
        _order("O03", "RC", T(2025, 10, 1)), _order("O04", "RC", T(2026, 1, 10)),
        _order("O05", "PR", T(2024, 1, 1)), _order("O06", "PR", T(2025, 12, 1)),
        _order("O07", "BK", T(2024, 2, 1)), _order("O08", "BK", T(2024, 12, 1)),
        _order("O09", "BK", T(2025, 9, 1)),
        _order("O10", "LT", T(2024, 6, 1)), _order("O11", "LT", T(2025, 6, 1)),
        _order("O12", "LT", T(2026, 1, 5)),
        _order("O13", "NA", T(2025, 3, 1)), _order("O14", "NA", T(2025, 5, 1)),
        _order("O15", "RF", T(2025, 1, 15), 300.0), _order("O16", "RF", T(2025, 12, 1), -300.0),
        _order("O17", "EQ", T(2025, 8, 5)),
        _order("O18", "BD", T(2025, 8, 6)),
        _order("O19", "FU", T(2026, 1, 20)), _order("O20", "FU", T(2026, 2, 10)),
    ],
}

EXPECTED = {  # customer -> (segment, duration_days, churned)
    "CH": ("SMB", 240, True), "RC": ("SMB", 123, False), "PR": ("SMB", 306, False),
    "BK": ("Enterprise", 731, False), "LT": ("Enterprise", 610, False), "NA": ("Enterprise", 241, True),
    "RF": ("Consumer", 180, True), "EQ": ("Consumer", 180, True), "BD": ("Consumer", 179, False),
}


@pytest.fixture(scope="module", params=ENGINES)
def survival_engine(request, tmp_path_factory):
    """The CRM above on each engine: every test runs on both."""
    engine = crm_engine(request, tmp_path_factory, "survival", ROWS)
    yield engine
    engine.dispose()


@pytest.fixture
def crm(survival_engine):
    with survival_engine.connect() as conn:
        yield conn


# ---- durations and events in SQL


def test_durations_and_events_by_hand(crm):
    data = survival_data(crm, AS_OF_RANGE, "segment")
    assert list(data.columns) == DATA_COLUMNS
    got = {row.customer_id: (row.group, row.duration_days, row.churned) for row in data.itertuples()}
    assert got.keys() == EXPECTED.keys()             # FU (acquired after as_of) and NO (no order) left out
    for cid, (segment, days, churned) in EXPECTED.items():
        assert got[cid][0] == segment and got[cid][2] is churned, cid
        assert got[cid][1] == pytest.approx(days), cid


def test_without_dimension_one_group(crm):
    data = survival_data(crm, AS_OF_RANGE)
    assert set(data["group"]) == {"all"} and len(data) == 9


def test_null_dimension_value_is_its_own_group(crm):
    data = survival_data(crm, AS_OF_RANGE, "industry")
    assert data.set_index("customer_id").at["LT", "group"] == "(none)"


def test_cohort_range_keeps_starts_in_the_range(crm):
    data = survival_data(crm, AS_OF_RANGE, cohort="range")
    # started before 2025-01-01: CH, BK, LT; NA starts at its first order, 2025-03-01
    assert sorted(data["customer_id"]) == ["BD", "EQ", "NA", "PR", "RC", "RF"]


def test_churn_days_is_a_setting(crm):
    data = survival_data(crm, AS_OF_RANGE, churn_days=365).set_index("customer_id")
    # cutoff 2026-02-01 - 365 days = 2025-02-01
    assert data.at["CH", "churned"] and data.at["CH", "duration_days"] == pytest.approx(60 + 365)
    assert data.at["RF", "churned"] and data.at["RF", "duration_days"] == pytest.approx(365)
    assert not data.at["NA", "churned"] and data.at["NA", "duration_days"] == pytest.approx(337)  # 03-01 -> as_of


def test_bad_settings_are_refused(crm):
    with pytest.raises(ValueError, match="churn_days"):
        survival_data(crm, AS_OF_RANGE, churn_days=0)
    with pytest.raises(ValueError, match="cohort"):
        survival_data(crm, AS_OF_RANGE, cohort="month")
    with pytest.raises(ValueError, match="dimension"):
        survival_data(crm, AS_OF_RANGE, "colour")


def test_filter_that_selects_nothing(crm):
    data = survival_data(crm, AS_OF_RANGE.with_values(segment="Nobody"), "segment")
    assert data.empty and list(data.columns) == DATA_COLUMNS
    curves = kaplan_meier(data)
    assert curves.empty and "survival" in curves
    assert median_survival(data) == {}
    test = logrank(data)
    assert test.p_value is None and test.statistic is None
    assert test.sentence() == "No customers in the selection: there is nothing to compare."


def test_records_match_the_data(crm):
    smb = page(crm, survival_records(AS_OF_RANGE.with_values(segment="SMB"))).rows
    assert smb["customer_id"].tolist() == ["CH", "PR", "RC"]                      # by start
    assert smb["churned"].tolist() == [True, False, False]
    assert pd.Timestamp(smb.at[1, "first_order_at"]) == pd.Timestamp(2025, 12, 1)  # the 2024 order is ignored
    assert pd.Timestamp(smb.at[0, "last_order_at"]) == pd.Timestamp(2024, 3, 1)
    assert smb["duration_days"].tolist() == pytest.approx([240, 306, 123])
    churned = page(crm, survival_records(AS_OF_RANGE, churned=True)).rows
    assert churned["customer_id"].tolist() == ["CH", "RF", "NA", "EQ"]
    assert pd.Timestamp(churned.at[2, "start_at"]) == pd.Timestamp(2025, 3, 1)      # NA: no acquired_at
    assert page(crm, survival_records(AS_OF_RANGE, churned=False)).total == 5


# ---- Kaplan-Meier on the hand-written CRM


def test_kaplan_meier_by_hand(crm):
    curve = kaplan_meier(survival_data(crm, AS_OF_RANGE))
    # sorted: 123c 179c 180e 180e 240e 241e 306c 610c 731c (c censored, e churned)
    # t=180: 7 at risk, 2 churn -> 5/7; t=240: 5 at risk -> 5/7 * 4/5 = 4/7; t=241: 4 at risk -> 3/7
    assert curve["time"].tolist() == [0, 180, 240, 241, 731]
    assert curve["at_risk"].tolist() == [9, 7, 5, 4, 1]
    assert curve["events"].tolist() == [0, 2, 1, 1, 0]
    assert curve["survival"].tolist() == pytest.approx([1, 5 / 7, 4 / 7, 3 / 7, 3 / 7])
    # Greenwood: se = S * sqrt(sum d / (n (n - d)))
    assert curve["std_error"].iloc[1] == pytest.approx(5 / 7 * sqrt(2 / (7 * 5)))
    assert curve["std_error"].iloc[2] == pytest.approx(4 / 7 * sqrt(2 / 35 + 1 / (5 * 4)))
    assert ((curve["lower"] <= curve["survival"]) & (curve["survival"] <= curve["upper"])).all()
    assert median_survival(survival_data(crm, AS_OF_RANGE))["all"].median_days == pytest.approx(241)


def test_median_sentences_by_segment(crm):
    medians = median_survival(survival_data(crm, AS_OF_RANGE, "segment"))
    # Enterprise: NA churns at 241 with 3 at risk -> 2/3, never below 0.5
    assert medians["Enterprise"].median_days is None
    assert medians["Enterprise"].sentence() == (
        "More than half of Enterprise customers are still active after 731 days: the median is not reached.")
    # SMB: CH churns at 240 with 2 at risk -> exactly 0.5; the median needs a drop below 0.5
    assert medians["SMB"].median_days is None
    assert medians["SMB"].sentence() == (
        "Half of SMB customers are still active after 306 days: the median is not reached.")
    # Consumer: RF and EQ churn at 180 with 2 at risk (BD left at 179) -> 0
    assert medians["Consumer"].median_days == pytest.approx(180)
    assert medians["Consumer"].sentence().startswith("Half of Consumer customers have churned by day 180")


def test_curve_reaching_zero_has_a_collapsed_band(crm):
    curve = kaplan_meier(survival_data(crm, AS_OF_RANGE, "segment"))
    consumer = curve[curve["group"] == "Consumer"]
    assert consumer["time"].tolist() == [0, 180]
    last = consumer.iloc[-1]
    assert last["survival"] == 0 and last["lower"] == 0 and last["upper"] == 0
    assert not curve[["time", "survival", "lower", "upper", "at_risk"]].isna().any().any()


# ---- statsmodels' reference cases (R survival package; SAS for the bmt curve)

# library(survival)
# ti1 = c(3, 1, 2, 3, 2, 1, 5, 3); st1 = c(0, 1, 1, 1, 0, 0, 1, 0)
# ti2 = c(1, 1, 2, 3, 7, 1, 5, 3, 9); st2 = c(0, 1, 0, 0, 1, 0, 1, 0, 1)
# survfit(Surv(ti, st) ~ 1); survdiff(Surv(ti, st) ~ ix)
R_CASES = {
    "one": dict(time=[3, 1, 2, 3, 2, 1, 5, 3], status=[0, 1, 1, 1, 0, 0, 1, 0],
                times=[1, 2, 3, 5], surv=[0.8750000, 0.7291667, 0.5468750, 0.0],
                se=[0.1169268, 0.1649762, 0.2005800, np.nan], n_risk=[8, 6, 4, 1]),
    "two": dict(time=[1, 1, 2, 3, 7, 1, 5, 3, 9], status=[0, 1, 0, 0, 1, 0, 1, 0, 1],
                times=[1, 5, 7, 9], surv=[0.8888889, 0.5925926, 0.2962963, 0.0],
                se=[0.1047566, 0.2518034, 0.2444320, np.nan], n_risk=[9, 3, 2, 1]),
}
R_LOGRANK_CHISQ, R_LOGRANK_P = 2.14673, 0.14287
R_BMT_LOGRANK_CHISQ = 13.44556      # survdiff(Surv(T, Status) ~ Group), groups AML-high / AML-low
SM_RESULTS = Path(sm_duration_tests.__file__).parent / "results"


def r_cases_frame() -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"group": name, "duration_days": case["time"], "churned": case["status"]})
                      for name, case in R_CASES.items()], ignore_index=True)


@pytest.mark.parametrize("name", list(R_CASES))
def test_kaplan_meier_equals_r(name):
    case = R_CASES[name]
    curve = kaplan_meier(r_cases_frame())
    rows = curve[(curve["group"] == name) & (curve["time"] > 0)]
    assert rows["time"].tolist() == case["times"]
    assert rows["at_risk"].tolist() == case["n_risk"]
    np.testing.assert_allclose(rows["survival"], case["surv"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rows["std_error"], case["se"], rtol=1e-5, atol=1e-5)   # NaN where S = 0, as in R
    # R's default band, conf.type = "log": S exp(-/+ z se / S), upper capped at 1
    surv, se, z = np.array(case["surv"][:-1]), np.array(case["se"][:-1]), norm.ppf(0.975)
    np.testing.assert_allclose(rows["lower"].iloc[:-1], surv * np.exp(-z * se / surv), rtol=1e-5)
    np.testing.assert_allclose(rows["upper"].iloc[:-1], np.minimum(1, surv * np.exp(z * se / surv)), rtol=1e-5)


def test_logrank_equals_r():
    test = logrank(r_cases_frame())
    assert test.statistic == pytest.approx(R_LOGRANK_CHISQ, rel=1e-4)
    assert test.p_value == pytest.approx(R_LOGRANK_P, rel=1e-4)
    assert test.df == 1
    assert sum(test.observed) == pytest.approx(sum(test.expected))     # O and E add up to the same churns
    assert not test.significant and "not significantly different" in test.sentence()


def bmt() -> pd.DataFrame:
    frame = pd.read_csv(SM_RESULTS / "bmt.csv")
    return pd.DataFrame({"group": frame["Group"], "duration_days": frame["T"], "churned": frame["Status"]})


def test_kaplan_meier_equals_sas_on_bmt():
    reference = pd.read_csv(SM_RESULTS / "bmt_results.csv")   # SAS PROC LIFETEST, group ALL
    curve = kaplan_meier(bmt()[lambda f: f["group"] == "ALL"])
    rows = curve[curve["events"] > 0]
    np.testing.assert_allclose(rows["time"], reference["t"])
    np.testing.assert_allclose(rows["survival"], reference["s"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rows["std_error"], reference["se"], rtol=1e-4, atol=1e-4)


def test_simultaneous_band_on_bmt():
    # Hall-Wellner band, log transform: statsmodels' regression values, close to Klein &
    # Moeschberger (2003) p. 103
    curve = kaplan_meier(bmt()[lambda f: f["group"] == "ALL"], band="simultaneous").set_index("time")
    at = [110, 122, 129, 172]
    np.testing.assert_allclose(curve.loc[at, "lower"], [0.43590582, 0.42115592, 0.4035897, 0.38785927])
    np.testing.assert_allclose(curve.loc[at, "upper"], [0.93491636, 0.89776803, 0.87922239, 0.85894181])
    with pytest.raises(ValueError, match="alpha = 0.05"):
        kaplan_meier(bmt(), alpha=0.1, band="simultaneous")


def test_logrank_equals_r_on_bmt():
    data = bmt()[lambda f: f["group"] != "ALL"]
    test = logrank(data)
    assert test.statistic == pytest.approx(R_BMT_LOGRANK_CHISQ, rel=1e-4)
    assert test.significant
    # low-risk patients: 25 deaths where 38.3 were expected (regression values): they survive longer
    assert test.observed == (34, 25) and test.expected == pytest.approx((20.7068, 38.2932), abs=1e-4)
    assert test.sentence().startswith("AML-Low Risk customers stay longer than AML-High Risk customers")


# ---- synthetic groups, single groups, no events


def synthetic(rng: np.random.Generator, scales: dict[str, float], n: int = 200, follow_days: float = 730):
    frames = []
    for name, scale in scales.items():
        churn = rng.exponential(scale, n)
        frames.append(pd.DataFrame({"group": name, "duration_days": np.minimum(churn, follow_days),
                                    "churned": churn <= follow_days}))
    return pd.concat(frames, ignore_index=True)


def test_logrank_finds_a_known_difference():
    data = synthetic(np.random.default_rng(20260201), {"Short": 200.0, "Long": 600.0})
    test = logrank(data)
    assert test.p_value < 1e-6 and test.significant and test.df == 1
    assert test.sentence().startswith("Long customers stay longer than Short customers; "
                                      "the difference is statistically significant")
    assert ", p < 0.001;" in test.sentence() and "e-" not in test.sentence()     # not 3.64e-36


def test_logrank_three_groups():
    data = synthetic(np.random.default_rng(7), {"A": 300.0, "B": 300.0, "C": 100.0})
    test = logrank(data)
    assert test.df == 2 and test.significant
    assert "C customers leave soonest" in test.sentence()


def test_logrank_same_distribution_not_significant():
    test = logrank(synthetic(np.random.default_rng(11), {"X": 400.0, "Y": 400.0}))
    assert test.p_value > 0.05 and "not significantly different" in test.sentence()


def test_single_group_and_no_events():
    one = pd.DataFrame({"group": "SMB", "duration_days": [100.0, 200.0, 300.0], "churned": [True, False, True]})
    single = logrank(one)
    assert single.p_value is None and single.statistic is None and single.df is None
    assert single.sentence() == "Only one group (SMB): a log-rank test needs at least two groups to compare."
    quiet = pd.DataFrame({"group": ["SMB", "SMB", "Enterprise"], "duration_days": [100.0, 730.0, 400.0],
                          "churned": [False, False, False]})
    none = logrank(quiet)
    assert none.p_value is None and "No customer has churned yet" in none.sentence()
    curve = kaplan_meier(quiet)
    smb = curve[curve["group"] == "SMB"]
    assert smb["time"].tolist() == [0, 730] and smb["survival"].tolist() == [1, 1]
    assert smb["at_risk"].tolist() == [2, 1] and not curve.isna().any().any()
    median = median_survival(quiet)["SMB"]
    assert median.median_days is None
    assert median.sentence() == (
        "None of the 2 SMB customers has churned in up to 730 days: the median is not reached.")


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="churned"):
        kaplan_meier(pd.DataFrame({"duration_days": [1.0]}))
    with pytest.raises(ValueError, match="row 1: duration_days"):
        kaplan_meier(pd.DataFrame({"duration_days": [1.0, -2.0], "churned": [1, 0]}))


# ---- scale: counts per distinct time, never customers x times


def test_logrank_equals_statsmodels_survdiff_with_ties():
    from statsmodels.duration.survfunc import survdiff

    rng = np.random.default_rng(3)
    data = pd.DataFrame({"group": rng.choice(["A", "B", "C"], 2000),
                         "duration_days": rng.integers(1, 60, 2000).astype(float),   # many ties
                         "churned": rng.random(2000) < 0.6})
    test = logrank(data)
    codes = pd.Categorical(data["group"]).codes
    statistic, p_value = survdiff(data["duration_days"].to_numpy(), data["churned"].to_numpy().astype(int), codes)
    assert test.statistic == pytest.approx(statistic, rel=1e-9) and test.p_value == pytest.approx(p_value, rel=1e-6)
    assert sum(test.expected) == pytest.approx(sum(test.observed))


MILLION = """
import json, resource, tracemalloc
import numpy as np, pandas as pd
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))   # a regression fails here, not the machine
from metrics.survival import kaplan_meier, logrank, median_survival
rng = np.random.default_rng(1)
n = 1_000_000
churn, follow = rng.exponential(400, n), rng.uniform(0, 1100, n)
data = pd.DataFrame({{"group": rng.choice(["Consumer", "Enterprise", "SMB", "Public"], n),
                     "duration_days": np.minimum(churn, follow) + 180, "churned": churn <= follow}})
tracemalloc.start()
test = logrank(data)
curves = kaplan_meier(data)
medians = median_survival(data)
print(json.dumps({{"peak": tracemalloc.get_traced_memory()[1], "statistic": test.statistic,
                  "observed": sum(test.observed), "expected": sum(test.expected), "points": len(curves),
                  "groups": len(medians)}}))
"""


def test_a_million_customers_within_a_memory_bound():
    """1M customers, ~1M distinct times: the old customers x times matrix needed terabytes.
    The child process may not map more than 3 GiB; the computation's own allocations
    (tracemalloc) stay under 400 MiB."""
    import json
    import subprocess
    import sys

    limit = 3 * 2**30
    done = subprocess.run([sys.executable, "-c", MILLION.format(limit=limit)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["peak"] < 400 * 2**20
    assert result["groups"] == 4 and result["points"] > 100_000
    assert result["expected"] == pytest.approx(result["observed"]) and result["statistic"] > 0


def test_curve_by_day_keeps_the_end_of_every_day():
    data = pd.DataFrame({"group": ["A"] * 6 + ["B"] * 3,
                         "duration_days": [1.2, 1.5, 1.7, 3.0, 4.0, 4.5, 2.0, 2.5, 9.0],
                         "churned": [1, 1, 0, 1, 0, 1, 1, 1, 0]})
    curves = kaplan_meier(data)
    thin = survival_module.curve_by_day(curves)
    a, full_a = thin[thin["group"] == "A"], curves[curves["group"] == "A"]
    # A: churns at 1.2 (6 at risk) and 1.5 (5) on day 1: one point, the later; 3.0 (3 at risk); 4.5 (1)
    assert a["time"].tolist() == [0, 1.5, 3.0, 4.5]
    assert a["survival"].tolist() == pytest.approx([1, 5 / 6 * 4 / 5, 4 / 6 * 2 / 3, 0])
    assert a["at_risk"].tolist() == [6, 5, 3, 1]
    assert a["events"].tolist() == [0, 2, 1, 1]
    assert a["survival"].iloc[-1] == full_a["survival"].iloc[-1]
    b = thin[thin["group"] == "B"]
    assert b["time"].tolist() == [0, 2.5, 9.0]             # 2.0 and 2.5 share day 2; 9.0 the longest follow-up
    assert survival_module.curve_by_day(curves.iloc[:0]).empty
