"""CRM maturity: hand-built data sets that sit exactly in each phase, self-assessment, risks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from metrics import maturity
from metrics.catalogue import Rule, Settings, evaluate
from metrics.filters import Filters
from tests.helpers import ENGINES, crm_engine
from tests.tiny import customer, interaction, ticket

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))
SMALL = maturity.Thresholds(min_nps_answers=2, min_repeat_buyers=1)
T = datetime


def rows_for(phase: int) -> dict[str, list[dict]]:
    """A CRM that reaches exactly ``phase`` (each step adds what the next phase needs)."""
    rows = {
        "customers": [customer("C1", "SMB", "North", T(2025, 6, 1), T(2025, 6, 2), T(2025, 6, 3), T(2026, 1, 20)),
                      customer("C2", "SMB", "North", T(2025, 6, 1), T(2025, 6, 2), T(2025, 6, 3), T(2026, 1, 20),
                               consent_marketing=phase >= 4)],
        "campaigns": [{"campaign_id": "K1", "name": "January", "channel": "email", "started_at": T(2026, 1, 2),
                       "ended_at": None, "cost": 100.0, "target_segment": None}],
        "interactions": [], "tickets": [], "surveys": [], "survey_invitations": [], "orders": [],
    }
    if phase >= 1:   # automated communications on three channels (two contacts not linked to anybody)
        rows["interactions"] = [
            interaction("I1", "C1", T(2026, 1, 5), "email", "outbound", "marketing", "K1", True, False),
            interaction("I2", None, T(2026, 1, 6), "web", "inbound", "service"),
            interaction("I3", None, T(2026, 1, 7), "chat", "inbound", "service"),
        ]
    if phase >= 2:   # one customer record shared by marketing and service
        rows["interactions"] = [
            interaction("I1", "C1", T(2026, 1, 5), "email", "outbound", "marketing", "K1", True, False),
            interaction("I2", "C1", T(2026, 1, 6), "web", "inbound", "service"),
            interaction("I3", "C2", T(2026, 1, 7), "chat", "inbound", "service"),
            interaction("I4", "C2", T(2026, 1, 12), "email", "outbound", "marketing", "K1", True, True),
        ]
        rows["tickets"] = [ticket("T1", "C1", "phone", "immediate", T(2026, 1, 10, 9), timedelta(minutes=10),
                                  timedelta(seconds=20), resolved_by="front_office", contacts=1)]
    if phase >= 3:   # measured by satisfaction: service on target, CSAT and NPS answered
        rows["tickets"] = [ticket("T1", "C1", "phone", "immediate", T(2026, 1, 10, 9), timedelta(minutes=2),
                                  timedelta(seconds=20), resolved_by="front_office", contacts=1)]
        rows["surveys"] = [{"response_id": f"R{i}", "customer_id": c, "answered_at": T(2026, 1, 15 + i),
                            "kind": k, "score": s}
                           for i, (c, k, s) in enumerate([("C1", "csat", 5), ("C2", "csat", 5), ("C1", "nps", 10),
                                                          ("C2", "nps", 9)])]
        rows["survey_invitations"] = [{"invitation_id": f"V{i}", "customer_id": c, "kind": "nps",
                                       "sent_at": T(2026, 1, 14), "answered": True}
                                      for i, c in enumerate(["C1", "C2"])]
    if phase >= 4:   # purchase history to predict from; contacts within consent and preferences
        rows["orders"] = [{"order_id": f"O{i}", "customer_id": "C1", "ordered_at": when, "amount": 100.0,
                           "margin": 30.0} for i, when in enumerate([T(2025, 6, 3), T(2025, 9, 1)])]
    return rows


@pytest.fixture(scope="module", params=ENGINES)
def phase_engines(request, tmp_path_factory):
    engines = {phase: crm_engine(request, tmp_path_factory, f"phase{phase}", rows_for(phase)) for phase in range(5)}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.mark.parametrize("phase", range(5))
def test_each_data_set_sits_exactly_in_its_phase(phase_engines, phase):
    with phase_engines[phase].connect() as conn:
        criteria = maturity.evidence(conn, JAN, thresholds=SMALL, targets={})
    assert maturity.phase_reached(criteria) == phase
    if phase < 4:
        missing = {c.name for c in maturity.missing_for_next(criteria)}
        expected = {0: {"automated_communications", "channels"}, 1: {"linked_interactions", "shared_record"},
                    2: {"sla_on_target", "csat_on_target", "nps_measured", "survey_response"},
                    3: {"predictive", "consent"}}[phase]
        assert missing == expected


def test_thresholds_are_settings(phase_engines, tmp_path):
    with phase_engines[4].connect() as conn:
        strict = maturity.evidence(conn, JAN, thresholds=maturity.Thresholds(), targets={})
    assert maturity.phase_reached(strict) == 2      # 2 NPS answers < 30, 1 repeat buyer < 100
    settings = tmp_path / "targets.toml"
    settings.write_text("[maturity]\nmin_nps_answers = 2\nmin_repeat_buyers = 1\n")
    assert maturity.load_thresholds(settings) == SMALL
    settings.write_text("[maturity]\nmin_vibes = 3\n")
    with pytest.raises(ValueError, match="unknown setting.*min_vibes"):
        maturity.load_thresholds(settings)


def test_self_scores_and_disagreement(phase_engines):
    answers = {s.id: 5 for s in maturity.QUESTIONNAIRE}
    answers["information_1"] = 1          # information: (5 + 5 + 1) / 3 = 3.667 -> 100 * 2.667 / 4
    scores = maturity.self_scores(answers)
    assert scores[Rule.VISION.value] == 100.0
    assert scores[Rule.INFORMATION.value] == pytest.approx(100 * (11 / 3 - 1) / 4)
    assert maturity.self_scores({})[Rule.METRICS.value] is None
    with phase_engines[1].connect() as conn:
        card = evaluate(conn, JAN, {}, settings=Settings(min_base=0))
    # phase-1 data, information: completeness 1, duplicates 0 (1), linked 1/3 (0.333 / 0.98),
    # freshness 12 days (1) -> 100 * (3 + 0.3401) / 4 = 83.5; a lead who rates it 1, 1, 1 (0) is far below
    answers.update(information_1=1, information_2=1, information_3=1)
    info = {g.rule: g for g in maturity.disagreements(answers, card)}[Rule.INFORMATION]
    assert info.self_score == 0.0
    assert info.data_score == pytest.approx(100 * (3 + (1 / 3) / 0.98) / 4)
    assert "lower than the data" in info.sentence()
    assert "Interactions linked to a customer 33.3 %" in info.sentence()


def test_combined_phase():
    assert maturity.combined_phase(3, None) == 3
    assert maturity.combined_phase(3, 4) == 3
    assert maturity.combined_phase(3, 1) == 1


def test_risks_from_data_and_answers(phase_engines):
    with phase_engines[3].connect() as conn:
        card = evaluate(conn, JAN, {}, settings=Settings(min_base=0))
        criteria = maturity.evidence(conn, JAN, card, SMALL)
    roadmap = pd.DataFrame({"stage": ["Vision", "Implementation"], "due_date": [date(2026, 3, 1)] * 2,
                            "item_id": [1, 2], "status": ["done", "planned"], "title": ["a", "b"]})
    found = {r.name: r for r in maturity.risks(card, criteria, {"technology_before_strategy": "no"}, roadmap,
                                               segments=1, targets_defined=True)}
    assert found["technology_before_strategy"].status == "risk"       # one segment: no strategy in the data
    assert found["technology_before_strategy"].source == "data and lead"
    assert found["saturating_the_customer"].status == "risk"          # a contact against consent
    assert found["big_bang"].status == "risk"                          # two stages, one implementation date
    assert found["no_organisational_change"].status == "ok"            # both customers seen by two departments
    none = {r.name: r for r in maturity.risks(card, criteria, {}, None, segments=3, targets_defined=True)}
    assert none["big_bang"].status == "unknown"                       # no implementation planned yet
    assert none["technology_before_strategy"].status == "ok"          # segments and targets in place
    assert none["technology_before_strategy"].source == "data"
    staged = roadmap.assign(due_date=[date(2026, 3, 1), date(2026, 6, 1)], stage=["Implementation"] * 2)
    assert {r.name: r.status for r in maturity.risks(card, criteria, {}, staged, 3, True)}["big_bang"] == "ok"


def test_overdue_and_report(phase_engines):
    roadmap = pd.DataFrame({"item_id": [1, 2, 3], "stage": ["Vision", "Concept", "Development"],
                            "title": ["Vision", "Segments", "Pilot"], "owner": ["Ana", None, "Luis"],
                            "due_date": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 12, 1)],
                            "status": ["done", "in progress", "planned"]})
    late = maturity.overdue(roadmap, date(2026, 2, 1))
    assert list(late.title) == ["Segments"]
    with phase_engines[2].connect() as conn:
        card = evaluate(conn, JAN, {}, settings=Settings(min_base=0))
        criteria = maturity.evidence(conn, JAN, card, SMALL)
    report = maturity.report_markdown(JAN, criteria, card, 3, {"vision_1": 5}, [], roadmap, date(2026, 2, 1))
    assert "Phase reached on the evidence: 2 Integration" in report
    assert "the CRM lead's view: 3 Process" in report
    assert "| Concept | Segments |  | 1 Jan 2026 | in progress **(overdue)** |" in report
    assert "| Service level measured and on target | 0.0 % | ≥ 95.0 %, the target | no |" in report
