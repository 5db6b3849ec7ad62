"""The demo generator: deterministic, faithful to schema.md, and its planted effects show."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from data import schema
from data.demo import DemoRates, DemoSpec, generate_demo
from tests.conftest import END
from tests.helpers import table_checksum


def _frames(spec: DemoSpec) -> dict[str, pd.DataFrame]:
    parts: dict[str, list[pd.DataFrame]] = {}
    for chunk in generate_demo(spec):
        for name, frame in chunk.items():
            parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def test_same_seed_same_data_other_seed_other_data():
    spec = DemoSpec(customers=600, seed=3, end=END)
    a, b = _frames(spec), _frames(spec)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = _frames(DemoSpec(customers=600, seed=4, end=END))
    assert not a["orders"]["amount"].equals(c["orders"]["amount"])


def test_same_seed_same_database_file(tmp_path, demo_spec, demo_path):
    from data.build import build_demo

    other = tmp_path / "again.duckdb"
    build_demo(other, demo_spec)
    read_only = {"read_only": True}  # the session's app server may hold the demo file open
    e1 = create_engine(f"duckdb:///{demo_path}", connect_args=read_only)
    e2 = create_engine(f"duckdb:///{other}", connect_args=read_only)
    with e1.connect() as c1, e2.connect() as c2:
        for table in schema.TABLES:
            assert table_checksum(c1, table.name) == table_checksum(c2, table.name)
    e1.dispose()
    e2.dispose()


@pytest.fixture(scope="module")
def demo(demo_path):
    engine = create_engine(f"duckdb:///{demo_path}", connect_args={"read_only": True})
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _scalar(conn, sql: str):
    return conn.execute(text(sql)).scalar()


def test_not_null_columns_hold_values(demo):
    for table in schema.TABLES:
        for column in table.columns:
            if not column.nullable:
                nulls = _scalar(demo, f"SELECT count(*) FROM {table.name} WHERE {column.name} IS NULL")
                assert nulls == 0, f"{table.name}.{column.name}"


def test_enumerated_columns_hold_allowed_values(demo):
    for (table, column), allowed in schema.ENUMS.items():
        values = {r[0] for r in demo.execute(text(f"SELECT DISTINCT {column} FROM {table}"))}
        values.discard(None)
        assert values <= allowed, f"{table}.{column}: {values - allowed}"
        assert values, f"{table}.{column} is never filled"


def test_survey_scores_within_their_scale(demo):
    for kind, (low, high) in schema.SURVEY_SCALES.items():
        lo, hi = demo.execute(text(f"SELECT min(score), max(score) FROM surveys WHERE kind = '{kind}'")).one()
        assert low <= lo <= hi <= high, kind
    bad = _scalar(demo, "SELECT count(*) FROM tickets WHERE csat NOT BETWEEN 1 AND 5")
    assert bad == 0


@pytest.mark.parametrize("violation", [
    "SELECT count(*) FROM customers WHERE engaged_at < created_at",
    "SELECT count(*) FROM customers WHERE acquired_at < engaged_at",
    "SELECT count(*) FROM customers WHERE acquired_at IS NOT NULL AND engaged_at IS NULL",
    "SELECT count(*) FROM customers WHERE updated_at < created_at",
    "SELECT count(*) FROM tickets WHERE resolved_at < opened_at",
    "SELECT count(*) FROM tickets WHERE first_response_at < opened_at",
    "SELECT count(*) FROM tickets WHERE resolved_at IS NULL AND (resolved_by IS NOT NULL OR contacts_to_resolve IS NOT NULL)",
    "SELECT count(*) FROM opportunities WHERE closed_at < created_at",
    "SELECT count(*) FROM opportunities WHERE (status = 'open') <> (closed_at IS NULL)",
    "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) WHERE o.ordered_at < c.acquired_at OR c.acquired_at IS NULL",
    "SELECT count(*) FROM orders WHERE amount < 0 AND margin > 0",
    "SELECT count(*) FROM campaigns WHERE ended_at < started_at OR cost < 0",
    "SELECT count(*) FROM surveys s JOIN survey_invitations i ON i.customer_id = s.customer_id AND false",
    "SELECT count(*) FROM interactions WHERE direction = 'inbound' AND campaign_id IS NOT NULL",
    "SELECT count(*) FROM interactions WHERE occurred_at >= TIMESTAMP '2026-11-23'",
    "SELECT count(*) FROM customers WHERE created_at < TIMESTAMP '2023-11-22'",
])
def test_consistency_rules(demo, violation):
    assert _scalar(demo, violation) == 0


def test_history_spans_three_years_to_end(demo):
    first, last = demo.execute(text("SELECT min(created_at), max(created_at) FROM customers")).one()
    assert (last - first).days > 3 * 365 - 10
    assert last.date() <= END
    assert _scalar(demo, "SELECT count(*) FROM tickets WHERE resolved_at IS NULL") > 0


# ---- planted effects: the rates of DemoRates show up in the data
RATES = DemoRates()


def _rate(conn, sql: str) -> dict[str, float]:
    return {r[0]: float(r[1]) for r in conn.execute(text(sql))}


def test_enterprise_converts_and_retains_better_but_buys_less_often(demo):
    conversion = _rate(demo, """SELECT segment, avg(CASE WHEN acquired_at IS NOT NULL THEN 1 ELSE 0 END)
                                FROM customers WHERE created_at < TIMESTAMP '2026-06-01' GROUP BY 1""")
    assert conversion["Enterprise"] > conversion["SMB"] > conversion["Consumer"]
    gap = _rate(demo, """WITH o AS (
                             SELECT customer_id, ordered_at - lag(ordered_at) OVER (
                                 PARTITION BY customer_id ORDER BY ordered_at) AS gap
                             FROM orders WHERE amount > 0)
                         SELECT c.segment, median(epoch(o.gap)) / 86400
                         FROM o JOIN customers c USING (customer_id) WHERE o.gap IS NOT NULL GROUP BY 1""")
    assert gap["Enterprise"] > 1.5 * gap["Consumer"]
    value = _rate(demo, """SELECT c.segment, avg(o.amount) FROM orders o JOIN customers c USING (customer_id)
                           WHERE o.amount > 0 GROUP BY 1""")
    assert value["Enterprise"] > 20 * value["Consumer"]


def test_problem_region_breaches_sla_more(demo):
    late = _rate(demo, """SELECT c.region = 'South', avg(CASE WHEN t.resolved_at > t.opened_at +
                              CASE t.sla_class WHEN 'immediate' THEN INTERVAL 3 MINUTE ELSE INTERVAL 24 HOUR END
                              THEN 1 ELSE 0 END)
                          FROM tickets t JOIN customers c USING (customer_id)
                          WHERE t.resolved_at IS NOT NULL GROUP BY 1""")
    assert late[True] == pytest.approx(RATES.sla_problem_breach_rate, abs=0.06)
    assert late[False] == pytest.approx(
        (RATES.immediate_breach_rate + RATES.deferred_breach_rate) / 2, abs=0.04)


def test_partner_deals_win_more_often(demo):
    win = _rate(demo, """SELECT source = 'partner', avg(CASE WHEN status = 'won' THEN 1 ELSE 0 END)
                         FROM opportunities WHERE status <> 'open' GROUP BY 1""")
    assert win[True] > win[False] + 0.05


def test_personalised_contacts_answered_more_often(demo):
    resp = _rate(demo, """SELECT personalized, avg(CASE WHEN responded THEN 1 ELSE 0 END)
                          FROM interactions WHERE department = 'marketing' GROUP BY 1""")
    assert resp[True] == pytest.approx(RATES.response_rate_personalized, abs=0.015)
    assert resp[False] == pytest.approx(RATES.response_rate_generic, abs=0.01)


def test_minority_is_over_contacted(demo):
    share = _scalar(demo, """
        WITH weekly AS (
            SELECT customer_id, date_trunc('week', occurred_at) AS week, count(*) AS n
            FROM interactions WHERE direction = 'outbound' AND department = 'marketing'
            GROUP BY 1, 2)
        SELECT count(DISTINCT customer_id) FILTER (WHERE n > 3) / (SELECT count(*) FROM customers)::DOUBLE
        FROM weekly""")
    assert RATES.over_contacted_share * 0.6 < share < RATES.over_contacted_share * 1.6
    against = _scalar(demo, """SELECT count(*) FROM interactions i JOIN customers c USING (customer_id)
                               WHERE i.department = 'marketing' AND NOT c.consent_marketing""")
    assert against > 0


def test_data_quality_defects_at_low_rates(demo):
    missing_email = _scalar(demo, "SELECT avg(CASE WHEN email IS NULL THEN 1 ELSE 0 END) FROM customers")
    assert missing_email == pytest.approx(RATES.missing_email_rate, abs=0.015)
    duplicates = _scalar(demo, """SELECT 1 - count(DISTINCT lower(email)) / count(email)::DOUBLE FROM customers""")
    assert duplicates == pytest.approx(RATES.duplicate_rate, abs=0.006)
    unlinked = _scalar(demo, "SELECT avg(CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END) FROM interactions")
    assert unlinked == pytest.approx(RATES.unlinked_interaction_rate, abs=0.005)


def test_trend_and_seasonality(demo):
    yearly = _rate(demo, """SELECT year(created_at), count(*) FROM customers
                            WHERE created_at >= TIMESTAMP '2024-01-01' AND created_at < TIMESTAMP '2026-01-01'
                            GROUP BY 1""")
    assert yearly[2025] > yearly[2024] * 1.05
    monthly = _rate(demo, """SELECT month(ordered_at), sum(amount) FROM orders GROUP BY 1""")
    assert monthly[12] > monthly[6]


def test_customers_leave_after_an_sla_breach(demo):
    # customers whose first ticket (a year or more before the end) was breached buy again less often
    again = _rate(demo, """
        WITH first_ticket AS (
            SELECT customer_id, opened_at, resolved_at > opened_at +
                   CASE sla_class WHEN 'immediate' THEN INTERVAL 3 MINUTE ELSE INTERVAL 24 HOUR END AS late,
                   row_number() OVER (PARTITION BY customer_id ORDER BY opened_at) AS n
            FROM tickets WHERE customer_id IS NOT NULL AND resolved_at IS NOT NULL)
        SELECT f.late, avg(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = f.customer_id
                                              AND o.amount > 0 AND o.ordered_at > f.opened_at + INTERVAL 30 DAY)
                           THEN 1 ELSE 0 END)
        FROM first_ticket f WHERE f.n = 1 AND f.opened_at < TIMESTAMP '2025-11-01' GROUP BY 1""")
    assert again[True] < again[False] - 0.1
