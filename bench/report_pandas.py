"""The scorecard of metrics.catalogue computed in pandas: the analyst's baseline.

The straightforward way: ``SELECT *`` of the eight tables into DataFrames, then every
non-meta KPI of the catalogue for a date range and the previous period of the same
length, computed in memory with boolean masks and group-bys. The definitions follow
metrics/*.py exactly:

- a range is ``[start 00:00, end + 1 day 00:00)``; ``as_of`` is its exclusive end;
- SLA status seen from as_of: met (resolved before as_of within the class deadline),
  breached (resolved late, or still open with the deadline passed), else pending;
- medians are continuous percentiles (linear interpolation, as pandas' default quantile);
- NPV CLV = sum_{t=1..H} m r^(t-1) / (1 + d)^t from the two years before as_of;
- the growth KPIs of the comparison period need the value facts (and the NPS) of the
  period before it, so those two families are computed for a third period.

Only ``compare = previous`` and no dimension filters: the benchmark's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

TABLES = ("customers", "orders", "opportunities", "campaigns", "interactions", "tickets", "surveys",
          "survey_invitations")
IMMEDIATE_SECONDS = 3 * 60.0
DEFERRED_SECONDS = 24 * 3600.0
DISCOUNT_RATE = 0.10
HORIZON_YEARS = 5
DIGITAL_CHANNELS = ("web", "chat", "email", "mobile", "social")
COMPLETENESS_FIELDS = ("name", "email", "phone", "segment", "region", "industry")
DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class Period:
    start_at: pd.Timestamp
    as_of: pd.Timestamp  # exclusive end
    days: int


def periods(start: date, end: date, count: int = 3) -> list[Period]:
    """The range and the ``count - 1`` periods of the same length before it."""
    days = (end - start).days + 1
    first = datetime(start.year, start.month, start.day)
    return [Period(pd.Timestamp(first - timedelta(days=k * days)),
                   pd.Timestamp(first + timedelta(days=days - k * days)), days) for k in range(count)]


def load_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """Every table of the DuckDB file, whole, as a DataFrame."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.sql(f"SELECT * FROM {name}").df() for name in TABLES}


def _ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return None if values.empty else float(values.quantile(0.5))


def _in(frame: pd.DataFrame, column: str, p: Period) -> pd.DataFrame:
    return frame[(frame[column] >= p.start_at) & (frame[column] < p.as_of)]


def survey_facts(t: dict[str, pd.DataFrame], p: Period) -> dict:
    s = _in(t["surveys"], "answered_at", p)
    nps, csat, ces = (s[s["kind"] == kind]["score"] for kind in ("nps", "csat", "ces"))
    invitations = _in(t["survey_invitations"], "sent_at", p)
    return {
        "nps": (100.0 * ((nps >= 9).sum() - (nps <= 6).sum()) / len(nps)) if len(nps) else None,
        "csat": _ratio((csat >= 4).sum(), len(csat)),
        "ces": float(ces.mean()) if len(ces) else None,
        "survey_response_rate": _ratio(invitations["answered"].sum(), len(invitations)),
    }


def ticket_facts(t: dict[str, pd.DataFrame], p: Period) -> dict:
    k = _in(t["tickets"], "opened_at", p)
    limit = np.where(k["sla_class"] == "immediate", IMMEDIATE_SECONDS, DEFERRED_SECONDS)
    resolved = k["resolved_at"].notna() & (k["resolved_at"] < p.as_of)
    resolution = (k["resolved_at"] - k["opened_at"]).dt.total_seconds()
    met = resolved & (resolution <= limit)
    breached = (resolved & ~met) | (~resolved & ((p.as_of - k["opened_at"]).dt.total_seconds() > limit))
    escalated_met, escalated_breached = (met & k["escalated"]).sum(), (breached & k["escalated"]).sum()
    return {
        "compliance": _ratio(met.sum(), met.sum() + breached.sum()),
        "escalated_compliance": _ratio(escalated_met, escalated_met + escalated_breached),
        "resolution_p50_seconds": _median(resolution[resolved]),
        "in_person_share": _ratio((k["channel"] == "in_person").sum(), len(k)),
        "self_service_share": _ratio((resolved & (k["resolved_by"] == "self_service")).sum(), resolved.sum()),
        "complaints": int((k["category"] == "complaint").sum()),
    }


def pipeline_facts(t: dict[str, pd.DataFrame], p: Period) -> dict:
    o = t["opportunities"]
    o = _in(o[o["status"].isin(("won", "lost"))], "closed_at", p)
    won = o[o["status"] == "won"]
    n_won, n_lost = len(won), int((o["status"] == "lost").sum())
    cycle_days = (won["closed_at"] - won["created_at"]).dt.total_seconds() / DAY_SECONDS
    return {
        "win_rate": _ratio(n_won, n_won + n_lost),
        "sales_cycle_days": _median(cycle_days),
        "partner_won_share": _ratio(won.loc[won["source"] == "partner", "amount"].sum(), won["amount"].sum()),
    }


def interaction_facts(t: dict[str, pd.DataFrame], p: Period) -> dict:
    i = _in(t["interactions"], "occurred_at", p)
    campaign = (i["direction"] == "outbound") & i["campaign_id"].notna()
    inbound = i["direction"] == "inbound"
    departments = i[i["customer_id"].notna()].groupby("customer_id")["department"].nunique()
    return {
        "campaign_response_rate": _ratio((campaign & i["responded"].fillna(False)).sum(), campaign.sum()),
        "digital_inbound_share": _ratio((inbound & i["channel"].isin(DIGITAL_CHANNELS)).sum(), inbound.sum()),
        "linked_share": _ratio(i["customer_id"].notna().sum(), len(i)),
        "multi_department_share": _ratio((departments >= 2).sum(), len(departments)),
    }


def quality_facts(t: dict[str, pd.DataFrame], p: Period) -> dict:
    c = t["customers"]
    c = c[c["created_at"] < p.as_of]
    records = len(c)
    filled = sum(int(c[name].notna().sum()) for name in COMPLETENESS_FIELDS)
    emails = c["email"].dropna()
    distinct_share = _ratio(emails.str.strip(" ").str.lower().nunique(), len(emails))
    edited_before = c["updated_at"] < p.as_of
    age_days = (p.as_of - c.loc[edited_before, "updated_at"]).dt.total_seconds() / DAY_SECONDS
    return {
        "completeness": _ratio(filled, records * len(COMPLETENESS_FIELDS)),
        "duplicate_rate": None if distinct_share is None else 1.0 - distinct_share,
        "days_since_update": _median(age_days) if (~edited_before).sum() <= 0.05 * records else None,
    }


def npv_clv(margin_per_year: float, retention: float) -> float:
    return sum(margin_per_year * retention ** (t - 1) / (1 + DISCOUNT_RATE) ** t
               for t in range(1, HORIZON_YEARS + 1))


def value_facts(t: dict[str, pd.DataFrame], p: Period) -> dict:
    """Active customers, NPV CLV and equity from the two years before as_of; new customers, cost."""
    year1 = p.as_of - pd.Timedelta(days=365)
    o = t["orders"]
    o = o[(o["ordered_at"] >= p.as_of - pd.Timedelta(days=730)) & (o["ordered_at"] < p.as_of)
          & o["customer_id"].isin(t["customers"]["customer_id"])]
    recent, bought = o["ordered_at"] >= year1, o["amount"] > 0
    per_customer = pd.DataFrame({
        "customer_id": o["customer_id"],
        "current": bought & recent,
        "previous": bought & ~recent,
        "margin": o["margin"].fillna(o["amount"]).where(recent, 0.0),
    }).groupby("customer_id").agg(current=("current", "max"), previous=("previous", "max"),
                                  margin=("margin", "sum"))
    active = int(per_customer["current"].sum())
    margin_per_customer = _ratio(per_customer["margin"].sum(), active)
    retention = _ratio((per_customer["current"] & per_customer["previous"]).sum(),
                       per_customer["previous"].sum())
    clv = None if margin_per_customer is None or retention is None else npv_clv(margin_per_customer, retention)
    customers, campaigns = t["customers"], t["campaigns"]
    return {
        "active_customers": active,
        "clv": clv,
        "equity": None if clv is None else clv * active,
        "new_customers": len(_in(customers, "acquired_at", p)),
        "campaign_cost": float(_in(campaigns, "started_at", p)["cost"].sum()),
    }


def _growth(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous <= 0:
        return None
    return current / previous - 1.0


def kpi_values(f: dict, before: dict) -> dict[str, float | None]:
    """Every non-meta KPI of the catalogue from one period's facts and the period before's."""
    cac = _ratio(f["campaign_cost"], f["new_customers"])
    per_customer = _ratio(f["complaints"], f["active_customers"])
    hours = f["resolution_p50_seconds"]
    return {
        "nps": f["nps"],
        "nps_change": None if f["nps"] is None or before["nps"] is None else f["nps"] - before["nps"],
        "customer_equity_growth": _growth(f["equity"], before["equity"]),
        "active_customers_growth": _growth(f["active_customers"], before["active_customers"]),
        "clv_cac": None if f["clv"] is None or not cac else f["clv"] / cac,
        "csat": f["csat"],
        "ces": f["ces"],
        "complaints_per_1000": None if per_customer is None else 1000.0 * per_customer * 30.0 / f["days"],
        "escalated_within_sla": f["escalated_compliance"],
        "partner_won_share": f["partner_won_share"],
        "multi_department_share": f["multi_department_share"],
        "sla_compliance": f["compliance"],
        "resolution_hours": None if hours is None else hours / 3600.0,
        "campaign_response_rate": f["campaign_response_rate"],
        "win_rate": f["win_rate"],
        "sales_cycle_days": f["sales_cycle_days"],
        "completeness": f["completeness"],
        "duplicate_rate": f["duplicate_rate"],
        "linked_interactions": f["linked_share"],
        "days_since_update": f["days_since_update"],
        "digital_share": f["digital_inbound_share"],
        "in_person_share": f["in_person_share"],
        "self_service_share": f["self_service_share"],
        "survey_response_rate": f["survey_response_rate"],
    }


FAMILIES = (survey_facts, ticket_facts, pipeline_facts, interaction_facts, quality_facts, value_facts)


def scorecard(tables: dict[str, pd.DataFrame], start: date, end: date) -> dict[str, tuple]:
    """KPI name -> (value in the range, value in the previous period)."""
    now, before, third = periods(start, end)
    facts = []
    for p in (now, before):
        f = {"days": p.days}
        for family in FAMILIES:
            f.update(family(tables, p))
        facts.append(f)
    facts.append({**survey_facts(tables, third), **value_facts(tables, third)})  # for growth only
    current, previous = kpi_values(facts[0], facts[1]), kpi_values(facts[1], facts[2])
    return {name: (current[name], previous[name]) for name in current}


def report(path: str | Path, start: date, end: date) -> dict[str, tuple]:
    """Load the tables of the DuckDB file and compute the scorecard."""
    return scorecard(load_tables(path), start, end)
