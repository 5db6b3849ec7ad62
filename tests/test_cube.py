"""Dimension cubes (metrics/cube.py): a family's counts summed from its kept cube equal its
direct statement, for every selection of customer dimensions and scope, on both engines."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from metrics import cube, engagement, keeping, quality, sla, value, voice
from metrics.catalogue import evaluate, keep_cubes, trend
from metrics.filters import Filters

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31), compare="none")


class Kept:
    """A keeper that remembers what it kept and how often a cube was built."""

    def __init__(self):
        self.kept: dict[tuple, object] = {}
        self.built = 0

    def __call__(self, key: tuple, compute):
        if key not in self.kept:
            self.built += 1
            self.kept[key] = compute()
        return self.kept[key]


def _both(conn, f: Filters, keeper: Kept) -> tuple[list[dict], list[dict]]:
    direct = engagement.interaction_facts_by_period(conn, [f, *([f.comparison()] if f.comparison() else [])])
    with keeping.keeping(keeper):
        kept = engagement.interaction_facts_by_period(conn, [f, *([f.comparison()] if f.comparison() else [])])
    return direct, kept


def test_a_region_summed_from_the_cube_is_counted_by_hand(tiny):
    """January, region North: customers A and D (E has no interaction). A: I01, I02 (campaign
    K1, I01 answered), I05 (web, inbound), I06 (phone, inbound), I10, I11; D: I09 (in person,
    inbound). A was served by marketing, service and sales, D by sales only."""
    keeper = Kept()
    with keeping.keeping(keeper):
        (facts,) = engagement.interaction_facts_by_period(tiny, [JAN.with_values(region="North")])
    assert keeper.built == 1
    assert {k: facts[k] for k in engagement.INTERACTION_FIGURES} == {
        "interactions": 7, "linked": 7, "campaign_contacts": 2, "campaign_responses": 1, "inbound": 3,
        "digital_inbound": 1, "served_customers": 2, "multi_department_customers": 1}
    assert facts["multi_department_share"] == pytest.approx(0.5)
    assert facts["digital_inbound_share"] == pytest.approx(1 / 3)


def test_the_value_of_a_region_summed_from_the_cube_is_counted_by_hand(tiny):
    """As of 1 February 2026. North: A bought in the year before (O2 1,000 with no margin, O3
    margin 600) and in the year before that (O1): active, retained, margin 1,600. South: B
    bought O4 (margin 100) and returned O5 (-25): active, margin 75, and was acquired in
    January. The margin is a sum of money, added exactly from the cube."""
    keeper = Kept()
    with keeping.keeping(keeper):
        (north,) = value.value_facts_by_period(tiny, [JAN.with_values(region="North")])
        (south,) = value.value_facts_by_period(tiny, [JAN.with_values(region="South")])
    assert keeper.built == 1
    assert (north["active_customers"], north["previous_active"], north["retained"], north["margin"],
            north["new_customers"]) == (1, 1, 1, 1600.0, 0)
    assert north["clv"] == pytest.approx(value.npv_clv(1600.0, 1.0))
    assert (south["active_customers"], south["previous_active"], south["retained"], south["margin"],
            south["new_customers"]) == (1, 0, 0, 75.0, 1)
    assert south["retention"] is None and south["clv"] is None
    assert [north, south] == [value.value_facts(tiny, JAN.with_values(region=r)) for r in ("North", "South")]


def test_the_quality_of_a_segment_is_counted_by_hand_from_the_cube(tiny):
    """As of 1 February 2026. Consumer: C (no email: 5 of 6 fields filled) and D
    (" A@X.com ", all 6 fields): 11 of 12 fields filled; one
    email among them, so no duplicate there, although D's email is A's (A is Enterprise).
    Last edits 8 and 12 January: 24 and 20 days, median 22. North: A, D and E, three emails,
    two distinct (A's and D's are one): duplicate rate 1/3."""
    keeper = Kept()
    with keeping.keeping(keeper):
        (consumer,) = quality.quality_facts_by_period(tiny, [JAN.with_values(segment="Consumer")])
        (north,) = quality.quality_facts_by_period(tiny, [JAN.with_values(region="North")])
    assert keeper.built == 2    # the cube, and the records sharing an email
    assert consumer == {"records": 2, "completeness": pytest.approx(11 / 12), "duplicate_rate": 0.0,
                        "days_since_update": pytest.approx(22.0)}
    assert north["records"] == 3 and north["duplicate_rate"] == pytest.approx(1 / 3)
    shared = keeper.kept[("quality.shared_emails",)]
    assert sorted(shared.region) == ["North", "North"] and shared.email_group.nunique() == 1
    assert "email" not in shared    # the addresses themselves are not kept


def test_the_surveys_of_a_region_are_counted_by_hand_from_the_cube(tiny):
    """January. South (B and C): B's NPS 9 (a promoter), CSAT 4 and 2, CES 5; B and C were
    invited and neither answered. North (A, D, E): A's NPS 10, 9 and 7, CSAT 5, CES 2; A
    answered, D did not. The unattributed NPS 3 counts in neither."""
    keeper = Kept()
    with keeping.keeping(keeper):
        (south,) = voice.survey_facts_by_period(tiny, [JAN.with_values(region="South")])
        (north,) = voice.survey_facts_by_period(tiny, [JAN.with_values(region="North")])
    assert keeper.built == 1
    assert (south["nps"], south["nps_answers"], south["csat"], south["ces"], south["ces_sd"],
            south["invitations"], south["survey_response_rate"]) == (100.0, 1, 0.5, 5.0, None, 2, 0.0)
    assert (north["nps_answers"], north["promoters"], north["detractors"], north["csat"], north["ces"],
            north["invitations"], north["survey_response_rate"]) == (3, 2, 0, 1.0, 2.0, 2, 0.5)
    assert north["nps"] == pytest.approx(200 / 3)


def test_the_tickets_of_a_segment_are_counted_by_hand_from_the_cube(tiny):
    """January, seen from 1 February (tests/test_sla.py). Enterprise is customer A: T1 met (2
    minutes), T2 breached (5 minutes), T6 and T8 breached while still open; the unlinked T7
    counts in no segment. The median resolution, read apart, is that of T1 and T2: 210 s."""
    keeper = Kept()
    with keeping.keeping(keeper):
        (a,) = sla.overall_by_period(tiny, [JAN.with_values(segment="Enterprise")])
    assert keeper.built == 1
    assert (a["tickets"], a["met"], a["breached"], a["pending"], a["resolved"]) == (4, 1, 3, 0, 2)
    assert a["compliance"] == pytest.approx(0.25)
    assert a["resolution_p50_seconds"] == pytest.approx(210)


def test_the_ces_spread_from_sums_is_the_sample_standard_deviation():
    """CES 2 and 5: mean 3.5, variance (1.5² + 1.5²) / 1 = 4.5; scores 1..7 as statistics.stdev."""
    import statistics

    assert voice._sample_sd(2, 7, 29) == pytest.approx(4.5 ** 0.5)
    scores = [1, 7, 3, 3, 6, 2, 5, 4, 4, 7]
    assert voice._sample_sd(len(scores), sum(scores), sum(x * x for x in scores)) == statistics.stdev(scores)
    assert voice._sample_sd(1, 5, 25) is None and voice._sample_sd(0, 0, 0) is None


def test_the_whole_company_is_not_read_from_the_cube(tiny):
    """Without a customer filter the direct statement answers, and it counts the interaction
    with no customer (I07): 11 in January, 10 linked, 4 customers served, 2 by two departments."""
    keeper = Kept()
    with keeping.keeping(keeper):
        (facts,) = engagement.interaction_facts_by_period(tiny, [JAN])
    assert keeper.built == 0
    assert (facts["interactions"], facts["linked"], facts["served_customers"],
            facts["multi_department_customers"]) == (11, 10, 4, 2)


SELECTIONS = {
    "one region": JAN.with_values(region="North"),
    "two segments": JAN.with_values(segment=("SMB", "Consumer")),
    "an industry (B has none)": JAN.with_values(industry="Finance"),
    "a team and a channel": JAN.with_values(owner_team="Key accounts", channel=("email", "web")),
    "a scope": Filters(JAN.start, JAN.end, compare="none", scope=(("region", ("South",)),)),
    "a selection outside the scope": Filters(JAN.start, JAN.end, compare="none", region=("North",),
                                             scope=(("region", ("South",)),)),
    "nothing": JAN.with_values(segment="No such segment"),
    "two periods": Filters(date(2026, 1, 1), date(2026, 1, 20), segment=("Enterprise",)),
}


@pytest.mark.parametrize("name", SELECTIONS)
def test_the_cube_equals_the_direct_statement_on_the_tiny_crm(tiny, name):
    direct, kept = _both(tiny, SELECTIONS[name], Kept())
    assert kept == direct


@pytest.mark.parametrize("family", [quality.quality_facts_by_period, voice.survey_facts_by_period,
                                    sla.overall_by_period], ids=["quality", "surveys", "tickets"])
@pytest.mark.parametrize("name", SELECTIONS)
def test_the_quality_survey_and_ticket_cubes_equal_the_direct_statement_on_the_tiny_crm(tiny, name, family):
    f = SELECTIONS[name]
    periods = [f, *([f.comparison()] if f.comparison() else [])]
    direct = family(tiny, periods)
    with keeping.keeping(Kept()):
        kept = family(tiny, periods)
    assert kept == direct


def test_one_cube_answers_every_selection_of_the_same_dates(tiny):
    keeper = Kept()
    for region in ("North", "South", "West"):
        _both(tiny, JAN.with_values(region=region), keeper)
    _both(tiny, JAN.with_values(segment="SMB", region="South"), keeper)
    assert keeper.built == 1
    _both(tiny, JAN.with_values(region="North", channel=("email",)), keeper)    # a fact filter: its own cube
    _both(tiny, Filters(date(2026, 1, 2), date(2026, 1, 31), compare="none", region=("North",)), keeper)
    assert keeper.built == 3


def test_a_cube_too_big_to_help_is_not_kept(tiny, monkeypatch):
    """Customer dimensions with very many values make a cube as big as the source: over
    MAX_ROWS rows it is not kept, and the direct statement answers."""
    monkeypatch.setattr(cube, "MAX_ROWS", 1)
    keeper = Kept()
    direct, kept = _both(tiny, JAN.with_values(region="North"), keeper)
    assert kept == direct and list(keeper.kept.values()) == [None]


def test_sums_of_a_cube_by_hand():
    """Two periods, three combinations (one with no segment, one unattributed)."""
    frame = pd.DataFrame({
        "p": [0, 0, 0, 1, 1],
        "segment": ["SMB", None, None, "SMB", "Consumer"],
        "region": ["North", "North", None, "South", "North"],
        "industry": [None] * 5, "acquisition_channel": [None] * 5, "owner_team": [None] * 5,
        "attributed": [True, True, False, True, True],
        "n": [3, 4, 5, 6, 7],
    })
    whole = Filters(JAN.start, JAN.end)
    assert cube.sums(frame, whole, ["n"], 2) == [{"n": 12}, {"n": 13}]
    assert cube.sums(frame, whole.with_values(region="North"), ["n"], 2) == [{"n": 7}, {"n": 7}]
    assert cube.sums(frame, whole.with_values(segment="SMB"), ["n"], 3) == [{"n": 3}, {"n": 6}, {"n": 0}]
    scoped = Filters(JAN.start, JAN.end, region=("North", "South"), scope=(("region", ("South",)),))
    assert cube.sums(frame, scoped, ["n"], 2) == [{"n": 0}, {"n": 6}]


def test_a_customer_recorded_twice_counts_nowhere_in_the_cube_either(tmp_path):
    """Customer X recorded twice, in two regions: its rows (an interaction, a ticket) could count
    under both, which no cube could say. The health checks leave both records out of every
    figure, so the cube and the direct statement agree: nothing for X under either region."""
    import duckdb
    from sqlalchemy import create_engine

    from data import schema
    from tests.helpers import engine_with_schema, load_rows
    from tests.tiny import M, T, customer, interaction, ticket

    engine_with_schema(f"duckdb:///{tmp_path / 'keyed.duckdb'}").dispose()
    with duckdb.connect(str(tmp_path / "twice.duckdb")) as con:      # the same tables without their keys
        con.execute(f"ATTACH '{tmp_path / 'keyed.duckdb'}' AS keyed (READ_ONLY)")
        for table in schema.TABLES:
            con.execute(f"CREATE TABLE {table.name} AS FROM keyed.{table.name}")
    engine = create_engine(f"duckdb:///{tmp_path / 'twice.duckdb'}")
    load_rows(engine, {
        "customers": [customer("X", "SMB", "North", T(2025, 1, 1)), customer("X", "SMB", "South", T(2025, 1, 1))],
        "interactions": [interaction("I1", "X", T(2026, 1, 5, 9), "email", "inbound", "service")],
        "tickets": [ticket("T1", "X", "email", "immediate", T(2026, 1, 5, 9), resolved_after=2 * M)],
    })
    keeper = Kept()
    with engine.connect() as conn:
        for region in ("North", "South"):
            direct, kept = _both(conn, JAN.with_values(region=region), keeper)
            assert kept == direct and kept[0]["interactions"] == 0
            (direct,) = sla.overall_by_period(conn, [JAN.with_values(region=region)])
            with keeping.keeping(keeper):
                (kept,) = sla.overall_by_period(conn, [JAN.with_values(region=region)])
            assert kept == direct and kept["tickets"] == 0 and kept["resolution_p50_seconds"] is None
    assert keeper.built == 2    # the interaction cube and the ticket cube
    engine.dispose()


@pytest.mark.postgres
def test_scorecard_and_trend_through_the_cube_equal_the_direct_ones(tmp_path_factory, pg_cluster):
    """On the same demo in DuckDB and PostgreSQL, every KPI of the scorecard and every month of
    the trend computed with kept cubes equals the direct computation, to the last bit; so do
    the scorecard and its sparklines read together from the cubes the warming builds."""
    from data.demo import DemoSpec
    from data.sources import open_engine
    from tests.conftest import END
    from tests.helpers import demo_on_both_engines

    urls = demo_on_both_engines(tmp_path_factory, pg_cluster, DemoSpec(customers=300, seed=11, end=END), "cube")
    default = Filters(date(2026, 8, 25), date(2026, 11, 22))
    grid = [default.with_values(segment="SMB"),
            default.with_values(region=("North", "South"), channel=("email", "phone")),
            Filters(date(2025, 11, 23), date(2026, 11, 22), compare="last_year", owner_team=("Key accounts",)),
            Filters(default.start, default.end, scope=(("region", ("East",)),)),
            default.with_values(industry="No such industry")]
    for url in urls:
        engine = open_engine(url)
        keeper = Kept()
        with engine.connect() as conn:
            for f in grid:
                direct = [r.as_dict() for r in evaluate(conn, f, targets={}).results]
                months = trend(conn, f, 6)
                with keeping.keeping(keeper):
                    kept = [r.as_dict() for r in evaluate(conn, f, targets={}).results]
                    kept_months = trend(conn, f, 6)
                assert kept == direct, (url, f)
                pd.testing.assert_frame_equal(kept_months, months)
                together = Kept()       # as the app reads them: the scorecard with its sparklines
                with keeping.keeping(together):
                    keep_cubes(conn, f)
                    kept = [r.as_dict() for r in evaluate(conn, f, targets={}, sparklines=6).results]
                    kept_months = trend(conn, f, 6, with_scorecard=True)
                assert {key[1] for key in together.kept if key[0] == "cube"} >= {"value", "quality", "interactions"}
                assert kept == direct, (url, f)
                pd.testing.assert_frame_equal(kept_months, months)
        assert keeper.built >= len(grid)
        engine.dispose()


def test_each_cube_is_kept_on_its_own_and_all_of_them_together(tiny):
    """The server's warming builds one cube per section (pages/warm.py): the value cube of
    the scorecard's dates alone, then every cube of the scorecard's dates and of the trend's
    six months (five families, two dates; those the scorecard reads with its sparklines, one
    cube for both dates) and the records sharing an e-mail."""
    from metrics.catalogue import CUBE_DATES, CUBES, SHARED_FAMILIES

    keeper = Kept()
    with keeping.keeping(keeper):
        keep_cubes(tiny, JAN, "value", "scorecard")
        assert [key[1] for key in keeper.kept] == ["value"]
        keep_cubes(tiny, JAN)
    assert keeper.built == len(CUBES) * len(CUBE_DATES) - len(set(SHARED_FAMILIES) & set(CUBES)) + 1 == 7
    with pytest.raises(ValueError, match="no such cube: pipeline"):
        keep_cubes(tiny, JAN, "pipeline")


def test_a_quality_cube_too_big_to_keep_falls_back_to_the_direct_statement(tiny, monkeypatch):
    """Over MAX_ROWS rows the quality cube is not kept and the family reads the source
    directly: the same figures."""
    f = JAN.with_values(region="North")
    direct = quality.quality_facts_by_period(tiny, [f])
    monkeypatch.setattr(cube, "MAX_ROWS", 1)
    keeper = Kept()
    with keeping.keeping(keeper):
        assert quality.quality_facts_by_period(tiny, [f]) == direct
    assert all(kept is None for kept in keeper.kept.values())
