"""A tiny hand-written CRM: a few rows per table whose figures the tests work out by hand.

The main window is January 2026 (Filters(2026-01-01, 2026-01-31): as_of = 2026-02-01
00:00; the previous period is December 2025). Customers:

| id | segment | region | created | engaged | acquired | notes |
|---|---|---|---|---|---|---|
| A | Enterprise | North | 2024-05-01 | 2024-05-15 | 2024-06-01 | orders 2024-06, 2025-06, 2026-01 |
| B | SMB | South | 2026-01-05 | 2026-01-10 | 2026-01-20 | no marketing consent; a refund |
| C | Consumer | South | 2026-01-08 | 2026-01-25 | - | prefers no contact |
| D | Consumer | North | 2026-01-12 | - | - | email duplicates A's |
| E | SMB | North | 2026-01-30 | 2026-02-05 | 2026-02-10 | stages after as_of |
| F | Enterprise | West | 2023-01-01 | 2023-01-05 | 2023-01-10 | a lifetime customer |
"""

from __future__ import annotations

from datetime import datetime as dt
from datetime import timedelta

T = dt  # short alias for timestamps


def customer(cid, segment, region, created, engaged=None, acquired=None, updated=None, **extra):
    row = {"customer_id": cid, "name": f"Customer {cid}", "segment": segment, "region": region,
           "industry": "Retail", "acquisition_channel": "web", "owner_team": "Team 1",
           "email": f"{cid.lower()}@x.com", "phone": "+34 600", "preferred_channel": "email",
           "consent_marketing": True, "created_at": created, "engaged_at": engaged, "acquired_at": acquired,
           "updated_at": updated or created}
    row.update(extra)
    return row


def ticket(tid, cid, channel, sla_class, opened, resolved_after=None, first_after=None, escalated=False,
           resolved_by=None, contacts=None, category="question", csat=None):
    resolved = None if resolved_after is None else opened + resolved_after
    return {"ticket_id": tid, "customer_id": cid, "channel": channel, "category": category, "priority": "normal",
            "sla_class": sla_class, "opened_at": opened,
            "first_response_at": None if first_after is None else opened + first_after,
            "resolved_at": resolved, "escalated": escalated, "resolved_by": resolved_by,
            "contacts_to_resolve": contacts, "csat": csat}


def interaction(iid, cid, when, channel, direction, department, campaign=None, personalized=None, responded=None):
    return {"interaction_id": iid, "customer_id": cid, "occurred_at": when, "channel": channel,
            "direction": direction, "department": department, "campaign_id": campaign,
            "personalized": personalized, "responded": responded}


S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)

ROWS: dict[str, list[dict]] = {
    "customers": [
        customer("A", "Enterprise", "North", T(2024, 5, 1), T(2024, 5, 15), T(2024, 6, 1), T(2026, 1, 15),
                 acquisition_channel="partner", owner_team="Key accounts"),
        customer("B", "SMB", "South", T(2026, 1, 5), T(2026, 1, 10), T(2026, 1, 20), T(2026, 1, 20),
                 industry=None, phone=None, email="B@x.com", preferred_channel="phone", consent_marketing=False),
        customer("C", "Consumer", "South", T(2026, 1, 8), T(2026, 1, 25), None, T(2026, 1, 8),
                 email=None, preferred_channel="none", consent_marketing=False, acquisition_channel="campaign"),
        customer("D", "Consumer", "North", T(2026, 1, 12), None, None, T(2026, 1, 12),
                 email=" A@X.com ", preferred_channel="sms"),
        customer("E", "SMB", "North", T(2026, 1, 30), T(2026, 2, 5), T(2026, 2, 10), T(2026, 1, 30),
                 industry="Finance", acquisition_channel="referral"),
        customer("F", "Enterprise", "West", T(2023, 1, 1), T(2023, 1, 5), T(2023, 1, 10), T(2025, 3, 1),
                 industry="Finance"),
    ],
    "campaigns": [
        {"campaign_id": "K0", "name": "December push", "channel": "email", "started_at": T(2025, 12, 5),
         "ended_at": T(2025, 12, 20), "cost": 800.0, "target_segment": None},
        {"campaign_id": "K1", "name": "January push", "channel": "email", "started_at": T(2026, 1, 2),
         "ended_at": None, "cost": 1200.0, "target_segment": None},
    ],
    "orders": [
        {"order_id": "O1", "customer_id": "A", "ordered_at": T(2024, 6, 1), "amount": 500.0, "margin": 100.0},
        {"order_id": "O2", "customer_id": "A", "ordered_at": T(2025, 6, 1), "amount": 1000.0, "margin": None},
        {"order_id": "O3", "customer_id": "A", "ordered_at": T(2026, 1, 15), "amount": 2000.0, "margin": 600.0},
        {"order_id": "O4", "customer_id": "B", "ordered_at": T(2026, 1, 20), "amount": 400.0, "margin": 100.0},
        {"order_id": "O5", "customer_id": "B", "ordered_at": T(2026, 1, 25), "amount": -100.0, "margin": -25.0},
        {"order_id": "O6", "customer_id": "F", "ordered_at": T(2023, 1, 10), "amount": 300.0, "margin": 90.0},
        {"order_id": "O7", "customer_id": "F", "ordered_at": T(2023, 3, 1), "amount": 300.0, "margin": 90.0},
        {"order_id": "O8", "customer_id": "F", "ordered_at": T(2024, 2, 1), "amount": 300.0, "margin": 90.0},
        {"order_id": "O9", "customer_id": "F", "ordered_at": T(2025, 3, 1), "amount": 800.0, "margin": 200.0},
    ],
    "opportunities": [
        {"opportunity_id": "P1", "customer_id": "A", "owner_team": "Key accounts", "source": "partner",
         "created_at": T(2025, 12, 1), "closed_at": T(2026, 1, 10), "status": "won", "amount": 1000.0},
        {"opportunity_id": "P2", "customer_id": "B", "owner_team": "Inside sales", "source": "direct",
         "created_at": T(2026, 1, 5), "closed_at": T(2026, 1, 25), "status": "won", "amount": 3000.0},
        {"opportunity_id": "P3", "customer_id": "B", "owner_team": "Inside sales", "source": "direct",
         "created_at": T(2026, 1, 6), "closed_at": T(2026, 1, 15), "status": "lost", "amount": 500.0},
        {"opportunity_id": "P4", "customer_id": "A", "owner_team": "Key accounts", "source": "partner",
         "created_at": T(2026, 1, 2), "closed_at": T(2026, 1, 20), "status": "lost", "amount": 700.0},
        {"opportunity_id": "P5", "customer_id": "A", "owner_team": "Key accounts", "source": "direct",
         "created_at": T(2026, 1, 3), "closed_at": None, "status": "open", "amount": 900.0},
        {"opportunity_id": "P6", "customer_id": "B", "owner_team": "Inside sales", "source": "direct",
         "created_at": T(2026, 1, 7), "closed_at": T(2026, 2, 5), "status": "won", "amount": 100.0},
    ],
    "interactions": [
        interaction("I01", "A", T(2026, 1, 5, 9), "email", "outbound", "marketing", "K1", True, True),
        interaction("I02", "A", T(2026, 1, 6, 9), "mobile", "outbound", "marketing", "K1", False, False),
        interaction("I03", "B", T(2026, 1, 14, 9), "phone", "outbound", "marketing", "K1", False, False),
        interaction("I04", "C", T(2026, 1, 21, 9), "email", "outbound", "marketing", "K1", True, False),
        interaction("I05", "A", T(2026, 1, 9, 9), "web", "inbound", "service"),
        interaction("I06", "A", T(2026, 1, 12, 9), "phone", "inbound", "sales"),
        interaction("I07", None, T(2026, 1, 13, 9), "chat", "inbound", "service"),
        interaction("I08", "B", T(2026, 1, 16, 9), "email", "inbound", "service"),
        interaction("I09", "D", T(2026, 1, 17, 9), "in_person", "inbound", "sales"),
        interaction("I10", "A", T(2026, 1, 7, 9), "email", "outbound", "marketing"),
        interaction("I11", "A", T(2026, 1, 8, 9), "email", "outbound", "marketing"),
        interaction("I12", "A", T(2025, 12, 10, 9), "email", "outbound", "marketing", "K0", False, True),
    ],
    "tickets": [
        ticket("T1", "A", "phone", "immediate", T(2026, 1, 10, 10), 2 * M, 30 * S, False, "front_office", 1),
        ticket("T2", "A", "chat", "immediate", T(2026, 1, 11, 10), 5 * M, 60 * S, False, "front_office", 2,
               "complaint"),
        ticket("T3", "B", "email", "deferred", T(2026, 1, 12, 9), 20 * H, 1 * H, True, "back_office", 1,
               "support"),
        ticket("T4", "B", "web", "deferred", T(2026, 1, 13, 9), 30 * H, 2 * H, True, "back_office", 3,
               "complaint"),
        ticket("T5", "B", "phone", "deferred", T(2026, 1, 31, 12), None, None, True),
        ticket("T6", "A", "in_person", "immediate", T(2026, 1, 31, 23, 50)),
        ticket("T7", None, "web", "deferred", T(2026, 1, 20, 8), 2 * H, 10 * M, False, "self_service", 1),
        ticket("T8", "A", "phone", "deferred", T(2026, 1, 30, 10), 89 * H, 1 * H, True, "back_office", 1),
        ticket("T9", "A", "phone", "immediate", T(2025, 12, 31, 9)),
    ],
    "surveys": [
        {"response_id": f"R{i}", "customer_id": cid, "answered_at": when, "kind": kind, "score": score}
        for i, (cid, when, kind, score) in enumerate([
            ("A", T(2026, 1, 3), "nps", 10), ("B", T(2026, 1, 4), "nps", 9), ("A", T(2026, 1, 5), "nps", 9),
            ("A", T(2026, 1, 6), "nps", 7), (None, T(2026, 1, 7), "nps", 3),
            ("A", T(2026, 1, 8), "csat", 5), ("B", T(2026, 1, 9), "csat", 4), ("B", T(2026, 1, 10), "csat", 2),
            ("A", T(2026, 1, 11), "ces", 2), ("B", T(2026, 1, 12), "ces", 5),
            ("A", T(2025, 12, 3), "nps", 10), ("A", T(2025, 12, 4), "nps", 6),
        ])
    ],
    "survey_invitations": [
        {"invitation_id": f"V{i}", "customer_id": cid, "kind": "nps", "sent_at": when, "answered": answered}
        for i, (cid, when, answered) in enumerate([
            ("A", T(2026, 1, 2), True), ("B", T(2026, 1, 2), False), ("C", T(2026, 1, 3), False),
            ("D", T(2026, 1, 4), False), ("A", T(2025, 12, 2), True),
        ])
    ],
}
