"""Every sampled KPI carries its base and 95 % interval; too few answers do not count;
change KPIs attain continuously. Numbers worked out by hand on the tiny CRM."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from metrics import intervals
from metrics.catalogue import Direction, Rule, Settings, Status, attainment, evaluate, load_settings
from metrics.filters import Filters

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))
SAMPLED = {"nps", "nps_change", "csat", "ces", "escalated_within_sla", "multi_department_share", "sla_compliance",
           "campaign_response_rate", "win_rate", "linked_interactions", "digital_share", "in_person_share",
           "self_service_share", "survey_response_rate"}


@pytest.mark.parametrize("value, target, direction, tolerance, expected", [
    (-4.5, 0.0, Direction.HIGHER, 10, 0.55),      # NPS down 4.5 points against a target of 0: 1 - 4.5/10
    (-15.0, 0.0, Direction.HIGHER, 10, 0.0),      # beyond the tolerance
    (3.0, 0.0, Direction.HIGHER, 10, 1.0),        # met
    (0.02, 0.05, Direction.HIGHER, 0.10, 0.7),    # growth 2 % against 5 %: 1 - 0.03/0.10
    (-0.03, 0.05, Direction.HIGHER, 0.10, 0.2),   # shrinking 3 %: 1 - 0.08/0.10
    (12.0, 10.0, Direction.LOWER, 4, 0.5),        # lower is better: 2 over, 1 - 2/4
])
def test_change_attainment_is_continuous(value, target, direction, tolerance, expected):
    assert attainment(value, target, direction, tolerance) == pytest.approx(expected)


def test_a_small_nps_drop_costs_little_of_the_vision_score():
    # before: all-or-nothing at target 0 (a drop of 0.1 point gave 0); now 1 - 0.1/10
    assert attainment(-0.1, 0.0, Direction.HIGHER, 10) == pytest.approx(0.99)
    assert attainment(-0.1, 0.0, Direction.HIGHER) == 0.0


def test_intervals_by_hand():
    # Wilson, 2 of 3: centre (p + z²/2n)/(1 + z²/n) = 0.57309, half-width 0.36543
    low, high = intervals.wilson(2, 3)
    assert (low, high) == pytest.approx((0.20766, 0.93852), abs=1e-4)
    # NPS 3 promoters, 1 detractor of 5: 40 ± 1.96 x 100 x sqrt((0.8 - 0.16)/5) = 40 ± 70.12, clipped at 100
    assert intervals.nps_interval(3, 1, 5) == pytest.approx((40 - 70.1219, 100.0), abs=1e-3)
    # CES scores 2 and 5: mean 3.5, sd 2.1213, half-width 1.96 x 2.1213 / sqrt(2) = 2.93995
    assert intervals.mean_interval(3.5, 2.1213203, 2) == pytest.approx((0.56005, 6.43995), abs=1e-4)
    assert intervals.wilson(0, 0) is None and intervals.nps_interval(0, 0, 0) is None


def test_sampled_kpis_carry_base_and_interval(tiny):
    card = evaluate(tiny, JAN, targets={}, settings=Settings(min_base=0))
    results = {r.kpi.name: r for r in card.results}
    assert {name for name, r in results.items() if r.n is not None} == SAMPLED
    assert (results["csat"].n, results["nps"].n, results["ces"].n) == (3, 5, 2)
    assert results["nps_change"].n == 2                  # December has 2 NPS answers, January 5
    assert (results["csat"].low, results["csat"].high) == pytest.approx((0.20766, 0.93852), abs=1e-4)
    assert results["nps"].low == pytest.approx(-30.1219, abs=1e-3)
    assert (results["ces"].low, results["ces"].high) == pytest.approx((0.56005, 6.43995), abs=1e-4)
    assert results["csat"].as_dict()["interval_method"] == intervals.WILSON
    assert results["nps"].as_dict()["interval_method"] == intervals.NPS_NORMAL
    # the change's interval: 40 ± 1.96 sqrt(35.777² + 70.711²) = 40 ± 155.32
    # (December: one 10, one 6 -> p = d = 0.5, se = 100 sqrt((1 - 0)/2) = 70.711)
    half = 1.959964 * (35.7771**2 + 70.7107**2) ** 0.5
    assert (results["nps_change"].low, results["nps_change"].high) == pytest.approx((40 - half, 40 + half), abs=1e-2)
    assert results["completeness"].n is None and results["completeness"].low is None   # a census, not a sample


def test_too_few_answers_neither_on_nor_off_target(tiny):
    card = evaluate(tiny, JAN, targets={}, settings=Settings(min_base=30))
    results = {r.kpi.name: r for r in card.results}
    # every sampled KPI of the tiny CRM rests on fewer than 30 answers/records
    assert {n for n, r in results.items() if r.status is Status.TOO_FEW} == SAMPLED
    assert results["csat"].value == pytest.approx(2 / 3)  # still shown
    assert results["csat"].attainment is None
    assert card.too_few == 14
    # left: equity & active growth, CLV:CAC, complaints, partner, resolution, cycle, completeness,
    # duplicates, days since update = 10 of 24 with enough data; on target: equity, active, partner,
    # resolution, cycle, days since update = 6 of 10
    assert results["kpi_coverage"].value == pytest.approx(10 / 24)
    assert results["kpis_on_target"].value == pytest.approx(6 / 10)
    # off or near target: CLV:CAC, complaints, completeness (near), duplicates, the two meta KPIs
    assert card.off_target == 6
    rules = {r.rule: r for r in card.rules}
    assert rules[Rule.VISION].score is None                    # NPS and its change: too few answers
    assert rules[Rule.EXPERIENCES].with_data == 1               # complaints only
    assert rules[Rule.EXPERIENCES].score == pytest.approx(100 * 10 / (1000 * 2 / 3 * 30 / 31))


def test_min_base_is_a_boundary(tiny):
    card = evaluate(tiny, JAN, targets={}, settings=Settings(min_base=3))
    assert card.result("csat").status is Status.OFF            # 3 answers: counts (2/3 < 80 %)
    assert card.result("ces").status is Status.TOO_FEW         # 2 answers
    assert card.result("ces").attainment is None


def test_settings_file(tmp_path: Path):
    assert load_settings().min_base == 30 and load_settings().stale_after_days == 2
    assert load_settings().currency == "EUR"
    good = tmp_path / "targets.toml"
    good.write_text("[settings]\nmin_base = 50\ncurrency = 'USD'\n")
    assert (load_settings(good).min_base, load_settings(good).currency) == (50, "USD")
    bad = tmp_path / "bad.toml"
    bad.write_text("[settings]\nmin_base = 'many'\nsmall = 3\n")
    with pytest.raises(ValueError) as caught:
        load_settings(bad)
    assert "min_base: must be int" in str(caught.value) and "small: no such setting" in str(caught.value)


def test_segment_comparison_shows_n_per_group(tiny):
    from metrics.segments import compare

    table = compare(tiny, JAN, "segment", "SMB", "Enterprise").set_index("name")
    # CSAT answers: B (SMB) scored 4 and 2, A (Enterprise) 5; NPS: B one 9, A 10, 9 and 7
    assert (table.loc["csat", "n_a"], table.loc["csat", "n_b"]) == (2, 1)
    assert (table.loc["nps", "n_a"], table.loc["nps", "n_b"]) == (1, 3)
    assert pd.isna(table.loc["completeness", "n_a"])                     # a census, not a sample


def test_rendered_text_checker_finds_raw_names():
    from tests.rendered import COLUMNS, DEVELOPER_WORDS, RAW_IN_TEXT

    assert {"ticket_id", "consent_marketing", "opened_at", "segment"} <= set(COLUMNS)
    assert RAW_IN_TEXT.search("Median hours from opened_at to resolved_at")
    assert not RAW_IN_TEXT.search("Median hours from opening to resolution")
    assert DEVELOPER_WORDS.search("seed 003: phone first") and DEVELOPER_WORDS.search("None")
    assert not DEVELOPER_WORDS.search("Nonetheless, the seedling")
