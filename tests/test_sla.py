"""SLA: met / breached / pending, compliance, times, rates, backlog, breach list (tiny CRM).

January 2026, as_of = 2026-02-01 00:00. Deadlines: immediate +3 min, deferred +24 h.
T1 immediate, resolved after 2 min                      -> met
T2 immediate, resolved after 5 min                      -> breached
T3 deferred, resolved after 20 h                        -> met
T4 deferred, resolved after 30 h                        -> breached
T5 deferred, opened 01-31 12:00, open; deadline 02-01 12:00 is after as_of -> pending
T6 immediate, opened 01-31 23:50, open; 10 min old at as_of > 3 min       -> breached
T7 deferred (unlinked), resolved after 2 h              -> met
T8 deferred, opened 01-30 10:00, resolved 02-03 (after as_of); deadline 01-31 10:00 -> breached
T9 opened 2025-12-31: outside the range
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from metrics import sla
from metrics.drilldown import page
from metrics.filters import Filters

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))


def test_status_counts_and_compliance(tiny):
    s = sla.summary(tiny, JAN)
    assert s.loc["all", ["tickets", "met", "breached", "pending"]].tolist() == [8, 3, 4, 1]
    assert s.loc["all", "compliance"] == pytest.approx(3 / 7)           # met 3 / (3 + 4)
    assert s.loc["immediate", "compliance"] == pytest.approx(1 / 3)     # T1 / (T1, T2, T6)
    assert s.loc["deferred", "compliance"] == pytest.approx(2 / 4)      # T3, T7 / (T3, T4, T7, T8)
    assert s.loc["deferred", "pending"] == 1                             # T5


def test_rates(tiny):
    s = sla.summary(tiny, JAN).loc["all"]
    assert s["escalation_rate"] == pytest.approx(4 / 8)        # T3, T4, T5, T8 escalated
    assert s["escalated_compliance"] == pytest.approx(1 / 3)   # T3 met; T4, T8 breached; T5 pending
    assert s["fcr"] == pytest.approx(3 / 5)                    # resolved by as_of: T1 1, T2 2, T3 1, T4 3, T7 1
    assert s["in_person_share"] == pytest.approx(1 / 8)        # T6
    assert s["self_service_share"] == pytest.approx(1 / 5)     # T7 of the 5 resolved by as_of
    assert s["complaints"] == 2                                # T2, T4


def test_time_percentiles(tiny):
    s = sla.summary(tiny, JAN).loc["all"]
    # resolution seconds (resolved by as_of): 120, 300, 7200, 72000, 108000
    assert s["resolution_p50_seconds"] == pytest.approx(7200)
    # p90 = x[3] + 0.6 * (x[4] - x[3]) = 72000 + 0.6 * 36000
    assert s["resolution_p90_seconds"] == pytest.approx(93600)
    # first response: 30, 60, 600, 3600, 3600, 7200 -> median (600 + 3600) / 2
    assert s["first_response_p50_seconds"] == pytest.approx(2100)


def test_customer_filter_excludes_unlinked_tickets(tiny):
    s = sla.summary(tiny, JAN.with_values(segment="Enterprise")).loc["all"]
    # customer A only: T1 met; T2, T6, T8 breached
    assert (s["tickets"], s["met"], s["breached"]) == (4, 1, 3)
    assert s["compliance"] == pytest.approx(0.25)


def test_channel_filter(tiny):
    s = sla.summary(tiny, JAN.with_values(channel=("phone",))).loc["all"]
    assert (s["tickets"], s["met"], s["breached"], s["pending"]) == (3, 1, 1, 1)   # T1, T8, T5


def test_nothing_selected_is_no_data_not_zero(tiny):
    s = sla.summary(tiny, JAN.with_values(region="Atlantis")).loc["all"]
    assert s["tickets"] == 0
    assert s["compliance"] is None and s["escalation_rate"] is None and s["fcr"] is None
    assert s["resolution_p50_seconds"] is None or pd.isna(s["resolution_p50_seconds"])


def test_backlog_by_age(tiny):
    backlog = sla.backlog_by_age(tiny, JAN)
    got = {(str(r.age), r.sla_class): r.tickets for r in backlog.itertuples()}
    # open at as_of: T6 10 min, T5 12 h, T8 38 h, T9 opened 2025-12-31 (32 days)
    assert got == {("< 1 hour", "immediate"): 1, ("1-24 hours", "deferred"): 1,
                   ("1-3 days", "deferred"): 1, ("> 7 days", "immediate"): 1}


def test_breach_list_drill_down(tiny):
    records = page(tiny, sla.breach_records(JAN), 0, 10)
    assert records.total == 4
    assert set(records.rows.ticket_id) == {"T2", "T4", "T6", "T8"}
    # most overdue first: T8 open at as_of: 38 h old - 24 h = 14 h over
    assert records.rows.ticket_id.iloc[0] == "T8"
    assert records.rows.hours_over_deadline.iloc[0] == pytest.approx(14.0)


def test_compliance_over_time_and_channel_mix(tiny):
    weekly = sla.compliance_over_time(tiny, JAN, "month")
    assert weekly[["met", "breached", "pending"]].sum().tolist() == [3, 4, 1]
    mix = sla.channel_mix(tiny, JAN).set_index("channel")
    assert mix.loc["phone", "tickets"] == 3 and mix.loc["phone", "share"] == pytest.approx(3 / 8)
    hist = sla.time_distribution(tiny, JAN)
    assert hist.tickets.sum() == 5


def test_deadlines_are_settings(tiny):
    lenient = sla.SlaLimits(immediate_seconds=6 * 60, deferred_seconds=48 * 3600)
    s = sla.summary(tiny, JAN, lenient).loc["all"]
    # now T2 (5 min) and T4 (30 h) meet; T6 (10 min open > 6 min) breaches;
    # T8 (38 h open, deadline 02-01 10:00 after as_of) joins T5 as pending
    assert (s["met"], s["breached"], s["pending"]) == (5, 1, 2)
