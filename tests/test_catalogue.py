"""The KPI catalogue: attainment, status, rule scores and the scorecard on the tiny CRM."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.pool import StaticPool

from data.schema import create_schema
from metrics.catalogue import (CATALOGUE, FAMILIES, FAMILY_ORDER, KPIS, Direction, PeriodFacts, Rule, Settings, Status,
                               attainment, evaluate, load_settings, load_targets, month_windows, trend)
from metrics.filters import Filters
from tests.helpers import load_rows
from tests.tiny import ROWS

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))
ANNUITY = sum(1 / 1.1**t for t in range(1, 6))
EVERY_ANSWER = Settings(min_base=0)  # the formulas alone: the tiny CRM has a handful of answers


@pytest.mark.parametrize("value, target, direction, expected", [
    (0.8, 0.95, Direction.HIGHER, 0.8 / 0.95),
    (1.2, 0.95, Direction.HIGHER, 1.0),           # capped
    (-0.1, 0.05, Direction.HIGHER, 0.0),          # capped below
    (4.0, 8.0, Direction.LOWER, 1.0),
    (16.0, 8.0, Direction.LOWER, 0.5),
    (0.0, 0.01, Direction.LOWER, 1.0),            # nothing bad at all
    (3.0, 0.0, Direction.HIGHER, 1.0),            # zero target met
    (-3.0, 0.0, Direction.HIGHER, 0.0),
    (None, 1.0, Direction.HIGHER, None),          # no data is not 0
])
def test_attainment(value, target, direction, expected):
    got = attainment(value, target, direction)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_catalogue_covers_every_rule_with_unique_names():
    assert len(KPIS) == len(CATALOGUE) == 26
    assert {k.rule for k in CATALOGUE} == set(Rule)
    for kpi in CATALOGUE:
        assert kpi.definition.endswith(".") and kpi.label
        assert kpi.meta or kpi.records is not None, kpi.name


def test_shipped_targets_match_the_spec_defaults():
    shipped = load_targets()
    assert shipped == {k.name: float(k.target) for k in CATALOGUE}


def test_bad_targets_file_names_the_problem(tmp_path: Path):
    bad = tmp_path / "targets.toml"
    bad.write_text("[targets]\nnps = 'high'\nnot_a_kpi = 3\n")
    with pytest.raises(ValueError) as caught:
        load_targets(bad)
    assert "nps: target must be a number" in str(caught.value)
    assert "not_a_kpi: no such KPI" in str(caught.value)


def test_scorecard_values(tiny):
    card = evaluate(tiny, JAN, targets={}, settings=EVERY_ANSWER)
    value = {r.kpi.name: r.value for r in card.results}
    expected = {
        "nps": 40.0, "nps_change": 40.0 - 0.0, "csat": 2 / 3, "ces": 3.5,
        "complaints_per_1000": 1000 * 2 / 3 * 30 / 31,          # T2, T4 per 3 active customers, per 30 days
        "escalated_within_sla": 1 / 3, "partner_won_share": 0.25, "multi_department_share": 0.5,
        "sla_compliance": 3 / 7, "resolution_hours": 2.0, "campaign_response_rate": 0.25, "win_rate": 0.5,
        "sales_cycle_days": 30.0, "completeness": 33 / 36, "duplicate_rate": 0.2, "linked_interactions": 10 / 11,
        "days_since_update": 18.5, "digital_share": 0.6, "in_person_share": 1 / 8, "self_service_share": 0.2,
        "survey_response_rate": 0.25,
        # equity 3 x 625 x annuity against 2 x 600 x annuity at 2026-01-01 (A and F, r = 1)
        "customer_equity_growth": (3 * 625) / (2 * 600) - 1, "active_customers_growth": 3 / 2 - 1,
        "clv_cac": 625 * ANNUITY / 1200,                           # CAC: K1 1200 / 1 new customer
        "kpi_coverage": 1.0,
        # on target: nps, nps_change, equity, active, partner, resolution, campaign, win, cycle,
        # days, digital, self-service, survey = 13 of 24 with data
        "kpis_on_target": 13 / 24,
    }
    assert value == pytest.approx(expected)


def test_statuses_rule_scores_and_comparison(tiny):
    card = evaluate(tiny, JAN, targets={}, settings=EVERY_ANSWER)
    assert card.result("sla_compliance").status is Status.OFF
    assert card.result("nps").status is Status.ON_TARGET
    assert card.result("nps").comparison == pytest.approx(0.0)
    assert card.result("nps").delta == pytest.approx(40.0)
    assert card.result("nps_change").comparison is None      # November has no NPS answers
    rules = {r.rule: r for r in card.rules}
    assert rules[Rule.VISION].score == pytest.approx(100.0)
    # experiences: csat 0.6667/0.8, ces 3/3.5, complaints 10/645.16
    expected = 100 * ((2 / 3) / 0.8 + 3 / 3.5 + 10 / (1000 * 2 / 3 * 30 / 31)) / 3
    assert rules[Rule.EXPERIENCES].score == pytest.approx(expected)
    assert rules[Rule.METRICS].score == pytest.approx(100 * (1 + (13 / 24) / 0.7 + 1) / 3)
    assert card.overall == pytest.approx(sum(r.score for r in card.rules) / 8)


def test_targets_override_changes_status(tiny):
    card = evaluate(tiny, JAN, targets={"sla_compliance": 0.4}, settings=EVERY_ANSWER)
    assert card.result("sla_compliance").status is Status.ON_TARGET


def test_empty_selection_is_no_data(tiny):
    card = evaluate(tiny, JAN.with_values(region="Atlantis"), targets={}, settings=EVERY_ANSWER)
    statuses = {r.kpi.name: r.status for r in card.results}
    assert statuses["sla_compliance"] is Status.NO_DATA and statuses["nps"] is Status.NO_DATA
    coverage = card.result("kpi_coverage").value
    assert coverage is None or coverage < 0.5
    if all(r.value is None for r in card.results if not r.kpi.meta):
        assert coverage is None and card.overall is None  # "no data", never 0 / 100
    for rule in card.rules:
        assert rule.score is None or 0 <= rule.score <= 100


def _same(left: float | None, right: float | None) -> bool:
    if left is None or right is None or left != left or right != right:
        return (left is None or left != left) and (right is None or right != right)
    return right == pytest.approx(left, rel=1e-9, abs=1e-12)


def test_trend_equals_evaluate_month_by_month(tiny):
    """trend() reads every month and its comparison in one statement per family; each month
    must give what the scorecard of that month alone gives (the comparisons overlap the
    months: 31-day comparisons of 30-day months, a partial last month)."""
    until = Filters(date(2025, 9, 1), date(2026, 1, 20))
    frame = trend(tiny, until, 6, settings=EVERY_ANSWER)
    assert len(frame) == 6
    for window in month_windows(until, 6):
        card = evaluate(tiny, window, targets={}, settings=EVERY_ANSWER)
        row = frame.loc[pd.Timestamp(window.start)]
        for result in card.results:
            if not result.kpi.meta:
                assert _same(result.value, row[result.kpi.name]), (window.start, result.kpi.name)
    january = evaluate(tiny, Filters(date(2026, 1, 1), date(2026, 1, 20)), targets={}, settings=EVERY_ANSWER)
    assert january.result("nps").value == pytest.approx(frame.loc[pd.Timestamp(2026, 1, 1), "nps"])


def test_trend_of_some_kpis_reads_only_their_families(tiny):
    """The Overview's sparklines name their KPIs: the trend then runs one statement for each
    family those KPIs read (NPS and CSAT: surveys; SLA compliance: tickets), with the same
    numbers as the trend of every KPI."""
    until = Filters(date(2025, 9, 1), date(2026, 1, 20))
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    whole = trend(tiny, until, 6, settings=EVERY_ANSWER)
    event.listen(tiny, "before_cursor_execute", count)
    try:
        some = trend(tiny, until, 6, ("nps", "csat", "sla_compliance"), settings=EVERY_ANSWER)
    finally:
        event.remove(tiny, "before_cursor_execute", count)
    assert list(some.columns) == ["nps", "csat", "sla_compliance"]
    assert len(statements) == 2
    assert any("FROM surveys" in s for s in statements) and any("FROM tickets" in s for s in statements)
    pd.testing.assert_frame_equal(some, whole[["nps", "csat", "sla_compliance"]])
    with pytest.raises(ValueError, match="no such KPI: nope"):
        trend(tiny, until, 6, ("nope",))


def test_scorecard_runs_one_statement_per_family(tiny):
    """The range, its comparison and the comparison's comparison: one statement per family."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    evaluate(tiny, JAN, targets={}, settings=EVERY_ANSWER)  # the source's health report, once per engine
    event.listen(tiny.engine, "before_cursor_execute", count)    # on every connection (PeriodFacts.read)
    try:
        evaluate(tiny, JAN, targets={}, settings=EVERY_ANSWER)
        assert len(statements) == len(FAMILIES)
        statements.clear()
        trend(tiny, JAN, 6, settings=EVERY_ANSWER)
        assert len(statements) == len(FAMILIES)
    finally:
        event.remove(tiny.engine, "before_cursor_execute", count)


def _connections_of_statements(engine, run) -> list[int]:
    """The connection (its id) each statement of ``run()`` was sent on."""
    used: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        used.append(id(conn.connection.dbapi_connection))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return used


def test_families_read_at_once_equal_the_families_read_one_by_one(tiny):
    """PeriodFacts.read: the statements of a scorecard's families sent on two connections at
    once give the facts that one connection sending them in turn gives."""
    evaluate(tiny, JAN, targets={}, settings=EVERY_ANSWER)      # the source's health report, once per engine
    one_by_one = PeriodFacts.scorecard(tiny, JAN, EVERY_ANSWER)
    alone = _connections_of_statements(tiny.engine, lambda: one_by_one.read(JAN, workers=1))
    at_once = PeriodFacts.scorecard(tiny, JAN, EVERY_ANSWER)
    together = _connections_of_statements(tiny.engine, lambda: at_once.read(JAN, workers=2))
    assert len(alone) == len(together) == len(FAMILIES)
    assert len(set(alone)) == 1 and len(set(together)) == 2
    assert at_once._facts == one_by_one._facts
    assert {family for family, _ in at_once._facts} == set(FAMILIES) == set(FAMILY_ORDER)


def test_a_family_that_fails_stops_the_read_with_its_error(tiny, monkeypatch):
    """Whichever thread runs the failing family, its error reaches the caller."""
    def broken(conn, periods, settings):
        raise ValueError("quality failed")

    monkeypatch.setitem(FAMILIES, "quality", broken)
    for workers in (1, 2):
        with pytest.raises(ValueError, match="quality failed"):
            PeriodFacts.scorecard(tiny, JAN, EVERY_ANSWER).read(JAN, workers=workers)


def test_families_of_an_in_memory_database_are_read_on_its_one_connection():
    """A second connection to an in-memory database would be another, empty database."""
    engine = create_engine("duckdb:///:memory:", poolclass=StaticPool)
    create_schema(engine)
    load_rows(engine, ROWS)
    with engine.connect() as conn:
        periods = PeriodFacts.scorecard(conn, JAN, EVERY_ANSWER)
        used = _connections_of_statements(engine, lambda: periods.read(JAN, workers=2))
    assert len(used) >= len(FAMILIES) and len(set(used)) == 1
    assert {family for family, _ in periods._facts} == set(FAMILIES)
