"""Properties that hold for any data (hypothesis): SLA status partitions, rates in [0, 1],
Wilson intervals around their estimate."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete
from sqlalchemy.pool import StaticPool

from data.load import write_frames
from data.schema import create_schema, tickets
from metrics import funnel, sla
from metrics.filters import Filters

WINDOW = Filters(date(2026, 1, 1), date(2026, 1, 31))
START = datetime(2025, 12, 20)

ticket_rows = st.lists(
    st.tuples(
        st.integers(0, 60 * 24 * 60),                     # opened, minutes after START
        st.sampled_from(["immediate", "deferred"]),
        st.one_of(st.none(), st.integers(0, 60 * 24 * 3)),   # resolution minutes, None = open
        st.booleans(),
        st.sampled_from(["phone", "chat", "in_person", "web"]),
        st.one_of(st.none(), st.integers(1, 4)),
    ),
    max_size=40,
)


def _engine():
    engine = create_engine("duckdb:///:memory:", poolclass=StaticPool)
    create_schema(engine)
    return engine


ENGINE = _engine()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ticket_rows)
def test_sla_statuses_partition_tickets_and_rates_are_proportions(rows):
    frame = pd.DataFrame([{
        "ticket_id": f"T{i}", "customer_id": None, "channel": channel, "category": "question",
        "priority": None, "sla_class": cls, "opened_at": START + timedelta(minutes=opened),
        "first_response_at": None,
        "resolved_at": None if minutes is None else START + timedelta(minutes=opened + minutes),
        "escalated": escalated, "resolved_by": None, "contacts_to_resolve": contacts, "csat": None,
    } for i, (opened, cls, minutes, escalated, channel, contacts) in enumerate(rows)],
        columns=[c.name for c in tickets.columns])
    with ENGINE.begin() as conn:
        conn.execute(delete(tickets))
        if len(frame):
            write_frames(conn, [{"tickets": frame}])
    with ENGINE.connect() as conn:
        summary = sla.summary(conn, WINDOW)
    for _, row in summary.iterrows():
        assert row["met"] + row["breached"] + row["pending"] == row["tickets"]
        for rate in ("compliance", "escalated_compliance", "escalation_rate", "fcr", "in_person_share",
                     "self_service_share"):
            value = row[rate]
            assert value is None or pd.isna(value) or 0.0 <= value <= 1.0
    in_window = [r for r in rows if START + timedelta(minutes=r[0]) >= datetime(2026, 1, 1)
                 and START + timedelta(minutes=r[0]) < datetime(2026, 2, 1)]
    assert summary.loc["all", "tickets"] == len(in_window)


@given(st.lists(st.integers(0, 500), min_size=5, max_size=5))
def test_wilson_intervals_contain_the_estimate(counts):
    nested = sorted(counts, reverse=True)   # stages nest: each no larger than the one before
    table = funnel.conversion_table(dict(zip(funnel.STAGES, nested)))
    for prefix in ("step", "cumulative"):
        for estimate, low, high in zip(table[f"{prefix}_conversion"], table[f"{prefix}_low"],
                                       table[f"{prefix}_high"]):
            if estimate is None or pd.isna(estimate):
                continue
            assert 0.0 <= low <= estimate <= high <= 1.0
