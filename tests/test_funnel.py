"""The lifecycle funnel on the tiny CRM: stages, conversions, intervals, group test."""

from datetime import date
from math import sqrt

import pytest

import i18n
from metrics import funnel
from metrics.drilldown import page
from metrics.filters import Filters

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))
WIDE = Filters(date(2023, 1, 1), date(2026, 1, 31))


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval, written out."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_january_cohort(tiny):
    row = funnel.stage_counts(tiny, JAN).iloc[0]
    # created in January: B, C, D, E. Engaged before as_of: B, C (E engaged 02-05). Acquired: B.
    # B's only order is at acquisition (the refund is not a purchase): not retained.
    assert [row[s] for s in funnel.STAGES] == [4, 2, 1, 0, 0]
    assert row["days_prospect_attracted"] == pytest.approx(11.0)     # B 5 days, C 17 days
    assert row["days_attracted_acquired"] == pytest.approx(10.0)     # B 01-10 -> 01-20
    assert row["days_acquired_retained"] is None or row["days_acquired_retained"] != row["days_acquired_retained"]


def test_wide_range_reaches_lifetime(tiny):
    row = funnel.stage_counts(tiny, WIDE).iloc[0]
    # A, B, C, D, E, F; attracted A B C F; acquired A B F;
    # retained: A (order 365 days after acquisition), F (50 days); lifetime: F (periods 0, 1, 2)
    assert [row[s] for s in funnel.STAGES] == [6, 4, 3, 2, 1]
    assert row["days_acquired_retained"] == pytest.approx((365 + 50) / 2)


def test_conversions_with_wilson_intervals(tiny):
    table = funnel.conversion_table(funnel.stage_counts(tiny, WIDE).iloc[0]).set_index("stage")
    assert table.loc["attracted", "step_conversion"] == pytest.approx(4 / 6)
    assert table.loc["acquired", "step_conversion"] == pytest.approx(3 / 4)
    assert table.loc["retained", "step_conversion"] == pytest.approx(2 / 3)
    assert table.loc["lifetime", "step_conversion"] == pytest.approx(1 / 2)
    assert table.loc["lifetime", "cumulative_conversion"] == pytest.approx(1 / 6)
    low, high = wilson(4, 6)
    assert table.loc["attracted", "step_low"] == pytest.approx(low)
    assert table.loc["attracted", "step_high"] == pytest.approx(high)
    assert table.loc["prospect", "cumulative_conversion"] == 1.0


def test_zero_denominator_gives_no_interval():
    table = funnel.conversion_table({"prospect": 0, "attracted": 0, "acquired": 0, "retained": 0, "lifetime": 0})
    assert table.step_conversion.isna().all() and table.cumulative_conversion.isna().all()


def test_breakdown_and_two_group_test(tiny):
    by_segment = funnel.stage_counts(tiny, WIDE, "segment").set_index("group")
    assert by_segment.loc["Enterprise", list(funnel.STAGES)].tolist() == [2, 2, 2, 2, 1]
    assert by_segment.loc["Consumer", list(funnel.STAGES)].tolist() == [2, 1, 0, 0, 0]
    result = funnel.compare_groups(by_segment.reset_index(), "Enterprise", "Consumer", "acquired")
    # 2/2 vs 0/2: pooled p = 1/2, se = sqrt(1/4 * (1/2 + 1/2)) = 1/2, z = 1 / (1/2) = 2
    assert result.z == pytest.approx(2.0)
    assert result.p_value == pytest.approx(0.0455, abs=1e-4)
    assert result.significant
    assert result.sentence() == (
        "Enterprise converts to acquired more often than Consumer (100.0 % vs 0.0 %); the difference is "
        "statistically significant (two-proportion z-test, p = 0.046).")
    with i18n.using("es"):     # percentages as the rest of the app writes them, with their space
        assert "(100,0 % frente a 0,0 %)" in result.sentence()
        assert result.sentence().endswith("(prueba z de dos proporciones, p = 0,046).")


def test_stage_drill_down_and_windows(tiny):
    assert page(tiny, funnel.stage_records(WIDE, "lifetime")).rows.customer_id.tolist() == ["F"]
    assert set(page(tiny, funnel.stage_records(JAN, "attracted")).rows.customer_id) == {"B", "C"}
    # a retention window ending at 364 days drops A (its repeat order is 365 days later)
    narrow = funnel.FunnelWindows(retained_until_days=364)
    assert funnel.stage_counts(tiny, WIDE, windows=narrow).iloc[0]["retained"] == 1


def test_nothing_selected(tiny):
    row = funnel.stage_counts(tiny, JAN.with_values(region="Atlantis")).iloc[0]
    assert row["prospect"] == 0
    assert funnel.conversion_table(row).cumulative_conversion.isna().all()
