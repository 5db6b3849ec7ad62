"""Kept intermediate results (metrics/keeping.py): a family's facts read by two computations
are computed once, and what is read back equals what is computed."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import event

from metrics import keeping
from metrics.catalogue import evaluate, trend
from metrics.filters import Filters
from tests.test_catalogue import EVERY_ANSWER

UNTIL = Filters(date(2025, 9, 1), date(2026, 1, 20))
HEADLINE = ("sla_compliance", "nps", "csat", "win_rate", "customer_equity_growth", "active_customers_growth",
            "complaints_per_1000", "duplicate_rate")


def _statements(conn, run) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(conn.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(conn.engine, "before_cursor_execute", count)
    return seen


def test_the_whole_trend_reads_back_the_families_of_the_headline_trend(tiny):
    """The Overview's sparklines read tickets, surveys, pipeline, value and quality; the rules
    page's trend of every KPI then computes only the interactions and the campaign costs."""
    kept: dict[tuple, object] = {}
    keeper = lambda key, compute: kept[key] if key in kept else kept.setdefault(key, compute())  # noqa: E731
    evaluate(tiny, UNTIL, targets={}, settings=EVERY_ANSWER)      # the source's health report, once
    with keeping.keeping(keeper):
        headline = trend(tiny, UNTIL, 6, HEADLINE, settings=EVERY_ANSWER)
        assert len(kept) == 5
        statements = _statements(tiny, lambda: kept.setdefault("whole", trend(tiny, UNTIL, 6, settings=EVERY_ANSWER)))
    assert len(statements) == 2
    assert any("FROM interactions" in s for s in statements) and any("FROM campaigns" in s for s in statements)
    whole = trend(tiny, UNTIL, 6, settings=EVERY_ANSWER)                          # no keeper: all computed
    pd.testing.assert_frame_equal(kept["whole"], whole)
    assert set(headline.columns) == set(HEADLINE)
    pd.testing.assert_frame_equal(headline, whole[list(headline.columns)])


def test_a_scorecard_read_back_equals_the_scorecard_computed(tiny):
    kept: dict[tuple, object] = {}
    keeper = lambda key, compute: kept[key] if key in kept else kept.setdefault(key, compute())  # noqa: E731
    with keeping.keeping(keeper):
        first = evaluate(tiny, UNTIL, targets={}, settings=EVERY_ANSWER)
        again = _statements(tiny, lambda: kept.setdefault("again", evaluate(tiny, UNTIL, targets={}, settings=EVERY_ANSWER)))
    assert again == []
    direct = evaluate(tiny, UNTIL, targets={}, settings=EVERY_ANSWER)
    assert [r.as_dict() for r in kept["again"].results] == [r.as_dict() for r in direct.results] \
        == [r.as_dict() for r in first.results]


def test_maturity_evidence_reads_what_the_scorecard_and_the_engagement_page_computed(tiny):
    """The CRM maturity page's evidence after the Overview (scorecard) and the Engagement page
    (contact pressure, consent): only its own three figures are queried (channels and
    departments, repeat buyers, personalised share), and the criteria are the same."""
    from metrics import engagement, maturity
    from metrics.catalogue import load_settings
    from metrics.engagement import PressureSettings

    kept: dict[tuple, object] = {}
    keeper = lambda key, compute: kept[key] if key in kept else kept.setdefault(key, compute())  # noqa: E731
    card = evaluate(tiny, UNTIL, targets={}, settings=load_settings())
    with keeping.keeping(keeper):
        evaluate(tiny, UNTIL, targets={}, settings=load_settings())
        engagement.pressure_overview(tiny, UNTIL, PressureSettings(max_per_week=3))
        engagement.consent_facts(tiny, UNTIL)
        statements = _statements(tiny, lambda: kept.setdefault("evidence", maturity.evidence(tiny, UNTIL, card)))
    assert len(statements) == 3
    assert [vars(c) for c in kept["evidence"]] == [vars(c) for c in maturity.evidence(tiny, UNTIL, card)]


def test_a_scorecard_and_its_sparklines_read_the_shared_families_once_and_equal_each_alone(tiny):
    """Shown together (the app's Overview), the scorecard and its six sparklines read surveys,
    tickets, pipeline, quality and value in one statement each, for the periods of both:
    whichever computes it first, the other reads it back (nothing of them computed again).
    Every KPI and every month equals the scorecard and the trend computed alone."""
    alone = evaluate(tiny, UNTIL, targets={}, settings=EVERY_ANSWER)
    months = trend(tiny, UNTIL, 6, settings=EVERY_ANSWER)
    for first in ("scorecard", "sparklines"):
        kept: dict[tuple, object] = {}
        keeper = lambda key, compute: kept[key] if key in kept else kept.setdefault(key, compute())  # noqa: E731
        runs = {"scorecard": lambda: evaluate(tiny, UNTIL, targets={}, settings=EVERY_ANSWER, sparklines=6),
                "sparklines": lambda: trend(tiny, UNTIL, 6, HEADLINE, settings=EVERY_ANSWER, with_scorecard=True)}
        second = "sparklines" if first == "scorecard" else "scorecard"
        with keeping.keeping(keeper):
            together = {first: runs[first]()}
            statements = _statements(tiny, lambda: together.setdefault(second, runs[second]()))
        shared = [key for key in kept if key[1] in ("surveys", "tickets", "pipeline", "quality", "value")]
        assert len(shared) == 5, first      # one statement each, for both
        assert not any(f"FROM {table}" in s for s in statements for table in ("surveys", "survey_invitations",
                                                                              "orders", "tickets", "opportunities")), first
        assert [r.as_dict() for r in together["scorecard"].results] == [r.as_dict() for r in alone.results]
        pd.testing.assert_frame_equal(together["sparklines"], months[list(together["sparklines"].columns)])


def test_what_is_read_together_is_the_same_list_for_the_scorecard_and_its_sparklines():
    """Both computations name the same periods in the same order (the key they are kept
    under): the scorecard's three, then the months and, for the families that read them,
    the months' comparisons."""
    from metrics.catalogue import PeriodFacts, Settings, month_windows, read_together

    together = read_together(UNTIL, 6)
    scorecard = PeriodFacts.scorecard(None, UNTIL, Settings(), sparklines=6)
    sparklines = PeriodFacts.trend(None, UNTIL, Settings(), 6, with_scorecard=True)
    months = month_windows(UNTIL, 6)
    for family in ("surveys", "tickets", "pipeline", "quality", "value"):
        assert scorecard.wanted(family, UNTIL) == sparklines.wanted(family, months[3]) == list(together[family])
    before = UNTIL.comparison()
    assert together["quality"] == (UNTIL, before, *months)
    assert together["value"][:3] == (UNTIL, before, before.comparison())
    assert set(together["value"]) == {UNTIL, before, before.comparison(), *months, *[m.comparison() for m in months]}
    assert scorecard.wanted("interactions", UNTIL) == [UNTIL, before]     # not shared
