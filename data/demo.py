"""Deterministic generator of a realistic demo CRM (the eight tables of schema.md).

Customers are generated in fixed-size chunks; chunk ``k`` draws from
``np.random.default_rng([seed, k])``, so the same seed gives the same data and memory
stays flat whatever the size. Every effect the dashboard should make visible is planted
through one frozen dataclass, :class:`DemoRates`, which the tests read back to check
that the metrics recover it.

Processes (times are in days since the start of the history, ``end - years``):
- prospects arrive with a yearly growth trend and a December peak;
- prospects engage and are acquired with segment- and channel-dependent odds;
- acquired customers buy as in the BG/NBD model: purchases at a Poisson rate, and after
  each purchase they may drop out for good; seasonal thinning gives a December peak;
- tickets of both SLA classes, with planted breach rates (one region is worse);
- outbound campaign contacts (personalised ones answered more often), a minority of
  over-contacted customers, a few contacts against consent or off the preferred channel;
- inbound and service interactions across departments, surveys and their invitations;
- data-quality defects: missing emails and phones, duplicates, unlinked interactions,
  stale records.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

CHUNK_CUSTOMERS = 5_000
DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class DemoRates:
    """Every planted effect of the demo data, in one place (tests read these back)."""

    years: int = 3
    # --- population
    segment_mix: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 0.10, "SMB": 0.30, "Consumer": 0.60}
    )
    region_mix: dict[str, float] = field(
        default_factory=lambda: {
            "North": 0.24, "South": 0.20, "East": 0.20, "West": 0.22, "Central": 0.14,
        }
    )
    industry_mix: dict[str, float] = field(
        default_factory=lambda: {
            "Retail": 0.22, "Manufacturing": 0.18, "Finance": 0.14, "Healthcare": 0.14,
            "Technology": 0.18, "Public sector": 0.14,
        }
    )
    acquisition_channel_mix: dict[str, float] = field(
        default_factory=lambda: {
            "web": 0.30, "referral": 0.14, "partner": 0.12, "campaign": 0.22,
            "outbound": 0.12, "event": 0.10,
        }
    )
    preferred_channel_mix: dict[str, float] = field(
        default_factory=lambda: {"email": 0.50, "phone": 0.20, "sms": 0.15, "mail": 0.08, "none": 0.07}
    )
    consent_rate: float = 0.78
    yearly_growth: float = 0.15  # prospects created per year grow by this share
    seasonal_amplitude: float = 0.25  # December peak of prospects and orders
    # --- lifecycle
    engage_rate: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 0.72, "SMB": 0.62, "Consumer": 0.50}
    )
    acquire_rate: dict[str, float] = field(  # share of the engaged who are acquired
        default_factory=lambda: {"Enterprise": 0.52, "SMB": 0.44, "Consumer": 0.38}
    )
    channel_acquire_lift: dict[str, float] = field(
        default_factory=lambda: {"partner": 1.45, "referral": 1.25, "outbound": 0.85}
    )
    days_to_engage: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 20.0, "SMB": 14.0, "Consumer": 6.0}
    )
    sales_cycle_days: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 65.0, "SMB": 32.0, "Consumer": 9.0}
    )
    # --- purchasing (BG/NBD-like): yearly purchase rate and dropout after each purchase
    purchases_per_year: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 3.0, "SMB": 5.0, "Consumer": 7.0}
    )
    dropout_per_purchase: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 0.04, "SMB": 0.10, "Consumer": 0.17}
    )
    order_value: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 4_800.0, "SMB": 750.0, "Consumer": 85.0}
    )
    margin_rate: float = 0.32
    margin_missing_rate: float = 0.05
    refund_rate: float = 0.015
    # --- pipeline
    win_rate: float = 0.24  # upsell opportunities
    partner_win_rate: float = 0.50
    upsell_opportunities_per_year: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 1.6, "SMB": 0.8, "Consumer": 0.0}
    )
    # --- service
    tickets_per_year: dict[str, float] = field(
        default_factory=lambda: {"Enterprise": 4.0, "SMB": 2.0, "Consumer": 0.9}
    )
    sla_immediate_minutes: float = 3.0
    sla_deferred_hours: float = 24.0
    immediate_breach_rate: float = 0.07
    deferred_breach_rate: float = 0.05
    sla_problem_region: str = "South"
    sla_problem_breach_rate: float = 0.22  # both classes, in the problem region
    first_contact_resolution: dict[str, float] = field(
        default_factory=lambda: {"immediate": 0.82, "deferred": 0.55}
    )
    stuck_ticket_rate: float = 0.004  # never resolved
    ticket_csat_rate: float = 0.35
    complaint_after_breach: float = 0.15  # a breached request turns into a complaint
    churn_after_breach: float = 0.30  # a customer stops buying after their first breached request
    # --- engagement
    marketing_contacts_per_week: float = 0.55
    personalized_share: float = 0.30
    response_rate_personalized: float = 0.09
    response_rate_generic: float = 0.03
    over_contacted_share: float = 0.03
    over_contact_weeks: tuple[int, int] = (4, 12)
    over_contact_per_week: tuple[int, int] = (4, 8)
    off_preferred_channel_rate: float = 0.08
    non_consent_contact_factor: float = 0.05  # contacts without consent, relative rate
    inbound_per_week_prospect: float = 0.06
    inbound_per_week_customer: float = 0.80
    digital_share_start: float = 0.45  # inbound on web/chat/email/mobile/social, rising
    digital_share_end: float = 0.68
    # --- voice of the customer
    nps_invitations_per_year: float = 2.0
    survey_answer_rate: float = 0.26
    nps_mean: dict[str, float] = field(  # mean score 0..10
        default_factory=lambda: {"Enterprise": 8.7, "SMB": 8.2, "Consumer": 7.9}
    )
    nps_problem_region_penalty: float = 0.8
    nps_yearly_improvement: float = 0.25
    ticket_survey_rate: float = 0.30  # CSAT/CES invitations after resolved tickets
    # --- data quality defects
    missing_email_rate: float = 0.03
    missing_phone_rate: float = 0.07
    missing_industry_rate: float = 0.02
    missing_name_rate: float = 0.005
    duplicate_rate: float = 0.012
    unlinked_interaction_rate: float = 0.015
    stale_record_rate: float = 0.12
    missing_owner_team_rate: float = 0.02


TEAMS = {"Enterprise": "Key accounts", "SMB": "Inside sales", "Consumer": "Retail desk"}
PARTNER_TEAM = "Partner desk"
SEGMENTS = ("Enterprise", "SMB", "Consumer")
CAMPAIGN_CHANNEL_MIX = {"email": 0.42, "sms": 0.12, "mail": 0.10, "phone": 0.12,
                        "social": 0.12, "web": 0.06, "event": 0.06}
COST_PER_CONTACT = {"email": 0.4, "sms": 0.8, "mail": 2.5, "phone": 6.0,
                    "social": 0.9, "web": 0.5, "event": 25.0}
# a campaign's channel, or a preferred channel, as an interaction channel
CONTACT_CHANNEL = {"email": "email", "sms": "mobile", "mail": "mail", "phone": "phone",
                   "social": "social", "web": "web", "event": "in_person", "none": "email"}
DIGITAL = ("web", "chat", "email", "mobile", "social")
NON_DIGITAL = ("phone", "ivr", "in_person")
PRODUCTS = {
    "Enterprise": {"Software": 0.35, "Services": 0.30, "Hardware": 0.20, "Subscriptions": 0.15},
    "SMB": {"Software": 0.30, "Subscriptions": 0.30, "Hardware": 0.25, "Services": 0.15},
    "Consumer": {"Devices": 0.35, "Accessories": 0.35, "Subscriptions": 0.30},
}
ORDER_CHANNELS = {
    "Enterprise": {"sales_rep": 0.60, "partner": 0.25, "web": 0.10, "phone": 0.05},
    "SMB": {"web": 0.40, "sales_rep": 0.25, "phone": 0.20, "partner": 0.15},
    "Consumer": {"web": 0.55, "store": 0.35, "phone": 0.10},
}
FIRST_NAMES = np.array("Ana Luis Marta Jorge Lucia Pablo Elena Diego Sara Carlos Laura Javier "
                       "Carmen David Paula Miguel Irene Sergio Nuria Raul Alba Hugo Clara Ivan".split())
LAST_NAMES = np.array("Garcia Lopez Martin Sanchez Perez Gomez Ruiz Diaz Moreno Alvarez Romero "
                      "Navarro Torres Dominguez Vazquez Ramos Gil Serrano Molina Ortiz Castro".split())
COMPANY_WORDS = np.array("Alba Norte Atlas Delta Vega Sierra Iberia Nova Tecno Prisma Cobalto "
                         "Orion Faro Lumen Brisa Cima Puerto Mirador Astro Vertice".split())
COMPANY_KINDS = np.array("Systems Logistics Retail Foods Health Labs Partners Capital Energy "
                         "Industrial Media Consulting".split())
DOMAINS = np.array(["mail.com", "correo.es", "inbox.net", "webmail.org"])


# --------------------------------------------------------------------------- helpers
def _choice(rng: np.random.Generator, mix: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(mix), dtype=object)
    p = np.array(list(mix.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _lookup(mapping: dict[str, float], keys: np.ndarray, default: float = 0.0) -> np.ndarray:
    out = np.full(len(keys), default, dtype=float)
    for k, v in mapping.items():
        out[keys == k] = v
    return out


def _owners(counts: np.ndarray) -> np.ndarray:
    """Owner index of each event, for per-owner event counts."""
    return np.repeat(np.arange(len(counts)), counts)


def _season(days: np.ndarray, start: datetime, amplitude: float) -> np.ndarray:
    """Seasonal multiplier in [1 - A, 1 + A], peak in mid December."""
    doy = (np.asarray(days) + start.timetuple().tm_yday) % 365.25
    return 1.0 + amplitude * np.cos(2 * np.pi * (doy - 350.0) / 365.25)


def _ids(prefix: str, start: int, count: int, width: int) -> np.ndarray:
    numbers = np.arange(start, start + count).astype(str)
    return np.char.add(prefix, np.char.zfill(numbers, width)).astype(object)


def _stamp(start: datetime, days: np.ndarray) -> np.ndarray:
    """Day offsets (float, NaN = not happened) -> datetime64[us] rounded to the second."""
    seconds = np.round(np.asarray(days, dtype=float) * DAY_SECONDS)
    out = np.full(len(seconds), np.datetime64("NaT"), dtype="datetime64[us]")
    ok = ~np.isnan(seconds)
    out[ok] = np.datetime64(start, "us") + (seconds[ok].astype(np.int64) * 1_000_000).astype(
        "timedelta64[us]"
    )
    return out


def _uniform_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + rng.random(len(lo)) * np.maximum(hi - lo, 0.0)


def _poisson_counts(rng: np.random.Generator, rate_per_day: np.ndarray, span_days: np.ndarray) -> np.ndarray:
    return rng.poisson(np.maximum(rate_per_day * np.maximum(span_days, 0.0), 0.0))


# --------------------------------------------------------------------------- generator
@dataclass(frozen=True)
class DemoSpec:
    """What to generate: size, seed, the last day of history and the planted rates."""

    customers: int = 5_000
    seed: int = 42
    end: date = field(default_factory=date.today)
    rates: DemoRates = field(default_factory=DemoRates)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day)

    @property
    def start_at(self) -> datetime:
        return self.end_at - timedelta(days=round(365.25 * self.rates.years))

    @property
    def horizon_days(self) -> float:
        return (self.end_at - self.start_at).total_seconds() / DAY_SECONDS

    @property
    def id_width(self) -> int:
        return max(7, len(str(self.customers)))


def generate_demo(spec: DemoSpec) -> Iterator[dict[str, pd.DataFrame]]:
    """Yield the demo CRM as chunks of ``{table name: DataFrame}``; campaigns come first."""
    campaigns = _campaigns(spec)
    yield {"campaigns": campaigns}
    counters = {name: 0 for name in ("O", "P", "I", "T", "S", "V")}
    for chunk, first in enumerate(range(0, spec.customers, CHUNK_CUSTOMERS)):
        size = min(CHUNK_CUSTOMERS, spec.customers - first)
        rng = np.random.default_rng([spec.seed, chunk])
        yield _chunk(spec, rng, first, size, campaigns, counters)


def _campaigns(spec: DemoSpec) -> pd.DataFrame:
    """About one campaign every nine days, costs proportional to the expected reach."""
    rates = spec.rates
    rng = np.random.default_rng([spec.seed, 1_000_003])
    starts = np.arange(3.0, spec.horizon_days - 2, 9.0) + rng.uniform(0, 4, 1)[0]
    n = len(starts)
    channel = _choice(rng, CAMPAIGN_CHANNEL_MIX, n)
    target = np.where(rng.random(n) < 0.7, _choice(rng, rates.segment_mix, n), None)
    duration = rng.uniform(14, 45, n)
    ends = starts + duration
    # expected reach: customers alive x weekly contact rate x weeks before the next campaign
    reach = spec.customers * 0.5 * rates.marketing_contacts_per_week * 9 / 7
    share = np.where(target == None, 1.0, _lookup(rates.segment_mix, target.astype(str)))  # noqa: E711
    cost = np.round(
        reach * np.maximum(share, 0.35) * _lookup(COST_PER_CONTACT, channel) * rng.uniform(0.8, 1.3, n)
        + rng.uniform(500, 3_000, n), 2)
    month = pd.DatetimeIndex(_stamp(spec.start_at, starts)).strftime("%b %Y")
    names = [f"{c.capitalize()} {t or 'all segments'} {m}" for c, t, m in zip(channel, target, month)]
    return pd.DataFrame({
        "campaign_id": _ids("K", 1, n, 5),
        "name": names,
        "channel": channel,
        "started_at": _stamp(spec.start_at, starts),
        "ended_at": _stamp(spec.start_at, np.where(ends <= spec.horizon_days, ends, np.nan)),
        "cost": cost,
        "target_segment": target,
        "_start_day": starts,  # private helper columns, dropped before loading
        "_channel": channel,
    })


def _chunk(spec: DemoSpec, rng: np.random.Generator, first: int, size: int,
           campaigns: pd.DataFrame, counters: dict[str, int]) -> dict[str, pd.DataFrame]:
    rates = spec.rates
    horizon = spec.horizon_days
    n_dup = int(round(size * rates.duplicate_rate))
    n = size - n_dup

    # ---- customers: who they are and when they moved through the lifecycle
    segment = _choice(rng, rates.segment_mix, n).astype(str)
    region = _choice(rng, rates.region_mix, n).astype(str)
    acq_channel = _choice(rng, rates.acquisition_channel_mix, n).astype(str)
    industry = _choice(rng, rates.industry_mix, n).astype(object)
    preferred = _choice(rng, rates.preferred_channel_mix, n).astype(str)
    consent = rng.random(n) < rates.consent_rate
    consent &= preferred != "none"
    # arrival density on a daily grid: growth trend x seasonality
    grid = np.arange(int(horizon))
    weight = np.exp(math.log1p(rates.yearly_growth) * grid / 365.25) * _season(
        grid, spec.start_at, rates.seasonal_amplitude)
    created = rng.choice(grid, size=n, p=weight / weight.sum()) + rng.uniform(0.33, 0.83, n)

    lift = _lookup(rates.channel_acquire_lift, acq_channel, default=1.0)
    engages = rng.random(n) < _lookup(rates.engage_rate, segment)
    engaged = np.where(engages, created + rng.exponential(_lookup(rates.days_to_engage, segment)), np.nan)
    acquires = engages & (rng.random(n) < np.clip(_lookup(rates.acquire_rate, segment) * lift, 0, 0.95))
    cycle = rng.gamma(2.0, _lookup(rates.sales_cycle_days, segment) / 2.0)
    acquired = np.where(acquires, engaged + cycle, np.nan)
    engaged[engaged > horizon] = np.nan
    acquired[(acquired > horizon) | np.isnan(engaged)] = np.nan
    is_customer = ~np.isnan(acquired)

    # ---- orders: first order at acquisition, then BG/NBD repeat purchases
    lam = rng.gamma(2.0, _lookup(rates.purchases_per_year, segment) / 2.0) / 365.25
    lam *= 1.0 + rates.seasonal_amplitude  # seasonal thinning below keeps 1 / (1 + A) on average
    p_mean = _lookup(rates.dropout_per_purchase, segment)
    p_drop = rng.beta(2.0, 2.0 * (1 - p_mean) / p_mean)
    repeats = np.where(is_customer, np.minimum(rng.geometric(p_drop) - 1, 400), 0)
    owner = _owners(repeats)
    gaps = rng.exponential(1.0 / lam[owner]) if len(owner) else np.zeros(0)
    cum = np.cumsum(gaps)
    offsets = np.concatenate([[0.0], cum])[np.concatenate([[0], np.cumsum(repeats)])[:-1]]
    repeat_day = acquired[owner] + cum - offsets[owner]
    keep = (repeat_day <= horizon) & (
        rng.random(len(repeat_day)) < _season(repeat_day, spec.start_at, rates.seasonal_amplitude)
        / (1 + rates.seasonal_amplitude))
    cust_idx = np.where(is_customer)[0]
    o_owner = np.concatenate([cust_idx, owner[keep]])
    o_day = np.concatenate([acquired[cust_idx], repeat_day[keep]])
    order_sort = np.lexsort((o_day, o_owner))
    o_owner, o_day = o_owner[order_sort], o_day[order_sort]
    spend = _lookup(rates.order_value, segment) * rng.lognormal(-0.125, 0.5, n)
    amount = np.round(rng.gamma(4.0, spend[o_owner] / 4.0), 2)
    margin = np.round(amount * np.clip(rng.normal(rates.margin_rate, 0.08, len(amount)), 0.02, 0.7), 2)
    # refunds: a separate negative row a few days later
    refund = rng.random(len(amount)) < rates.refund_rate
    r_day = o_day[refund] + rng.uniform(1, 25, refund.sum())
    r_ok = r_day <= horizon
    r_owner = o_owner[refund][r_ok]
    r_amount = -np.round(amount[refund][r_ok] * rng.choice([1.0, 0.5, 0.25], r_ok.sum()), 2)
    r_margin = np.round(r_amount * rates.margin_rate, 2)
    all_owner = np.concatenate([o_owner, r_owner])
    all_day = np.concatenate([o_day, r_day[r_ok]])
    all_amount = np.concatenate([amount, r_amount])
    all_margin = np.concatenate([margin, r_margin]).astype(object)
    all_margin[rng.random(len(all_margin)) < rates.margin_missing_rate] = None
    product = np.empty(len(all_owner), dtype=object)
    o_channel = np.empty(len(all_owner), dtype=object)
    for seg in SEGMENTS:
        m = segment[all_owner] == seg
        product[m] = _choice(rng, PRODUCTS[seg], m.sum())
        o_channel[m] = _choice(rng, ORDER_CHANNELS[seg], m.sum())
    last_order = np.full(n, np.nan)
    np.fmax.at(last_order, o_owner, o_day)

    # ---- opportunities: the acquisition deal of B2B prospects, then upsell deals
    b2b = segment != "Consumer"
    deal = b2b & ~np.isnan(engaged)
    d_idx = np.where(deal)[0]
    d_close = np.where(is_customer[d_idx], acquired[d_idx], engaged[d_idx] + cycle[d_idx] * 1.2)
    d_status = np.where(is_customer[d_idx], "won", "lost").astype(object)
    d_open = d_close > horizon
    d_status[d_open] = "open"
    d_close = np.where(d_open, np.nan, d_close)
    up_span = np.where(is_customer, horizon - acquired, 0.0)
    up_n = _poisson_counts(rng, _lookup(rates.upsell_opportunities_per_year, segment) / 365.25, up_span)
    u_idx = _owners(up_n)
    u_created = _uniform_between(rng, acquired[u_idx], np.full(len(u_idx), horizon))
    u_source = np.where(acq_channel[u_idx] == "partner", "partner",
                        _choice(rng, {"direct": 0.55, "partner": 0.15, "campaign": 0.18, "referral": 0.12},
                                len(u_idx))).astype(object)
    u_win = rng.random(len(u_idx)) < np.where(u_source == "partner", rates.partner_win_rate, rates.win_rate)
    u_close = u_created + rng.gamma(2.0, _lookup(rates.sales_cycle_days, segment[u_idx]) / 2.0)
    u_status = np.where(u_win, "won", "lost").astype(object)
    u_open = u_close > horizon
    u_status[u_open] = "open"
    u_close = np.where(u_open, np.nan, u_close)
    d_source = np.where(acq_channel[d_idx] == "partner", "partner",
                        np.where(acq_channel[d_idx] == "referral", "referral",
                                 np.where(acq_channel[d_idx] == "campaign", "campaign", "direct"))).astype(object)
    opp_owner = np.concatenate([d_idx, u_idx])
    opp_value = _lookup(rates.order_value, segment[opp_owner]) * rng.lognormal(0.8, 0.5, len(opp_owner))

    # ---- tickets
    t_span = np.where(is_customer, horizon - acquired, 0.0)
    t_n = _poisson_counts(rng, _lookup(rates.tickets_per_year, segment) / 365.25, t_span)
    t_owner = _owners(t_n)
    nt = len(t_owner)
    t_open = _uniform_between(rng, acquired[t_owner], np.full(nt, horizon))
    progress = t_open / horizon  # phone before in person: in-person share falls over time
    in_person_p = 0.16 - 0.10 * progress
    u = rng.random(nt)
    t_channel = np.select(
        [u < in_person_p, u < in_person_p + 0.36, u < in_person_p + 0.56, u < in_person_p + 0.76],
        ["in_person", "phone", "chat", "email"], "web").astype(object)
    immediate_p = np.select([np.isin(t_channel, ["phone", "chat"]), t_channel == "in_person"],
                            [0.72, 0.55], 0.12)
    immediate = rng.random(nt) < immediate_p
    problem = region[t_owner] == rates.sla_problem_region
    breach_p = np.where(problem, rates.sla_problem_breach_rate,
                        np.where(immediate, rates.immediate_breach_rate, rates.deferred_breach_rate))
    breach = rng.random(nt) < breach_p
    limit = np.where(immediate, rates.sla_immediate_minutes / 1440.0, rates.sla_deferred_hours / 24.0)
    duration = np.where(breach, limit * (1.0 + rng.exponential(np.where(immediate, 1.5, 0.6))),
                        limit * rng.beta(np.where(immediate, 3.0, 1.6), 2.0))
    duration = np.maximum(duration, 20.0 / DAY_SECONDS)
    stuck = rng.random(nt) < rates.stuck_ticket_rate
    t_resolved = np.where(stuck, np.nan, t_open + duration)
    t_resolved[t_resolved > horizon] = np.nan
    first_resp = t_open + np.minimum(
        np.where(immediate, rng.uniform(5, 40, nt) / DAY_SECONDS, rng.exponential(1.5, nt) / 24.0),
        duration * 0.9)
    first_resp[first_resp > horizon] = np.nan
    escalated = ~immediate & (rng.random(nt) < 0.88)
    resolved_by = np.where(immediate, np.where(t_channel == "web", "self_service", "front_office"),
                           np.where(escalated, np.where(rng.random(nt) < 0.08, "partner", "back_office"),
                                    "self_service")).astype(object)
    resolved_by[np.isnan(t_resolved)] = None
    fcr = rng.random(nt) < np.where(immediate, rates.first_contact_resolution["immediate"],
                                    rates.first_contact_resolution["deferred"])
    contacts = np.where(fcr, 1, 2 + rng.poisson(0.8, nt)).astype(object)
    contacts[np.isnan(t_resolved)] = None
    csat_score = np.clip(np.round(rng.normal(np.where(breach, 2.9, 4.3), 0.8)), 1, 5).astype(int)
    t_csat = np.where(~np.isnan(t_resolved) & (rng.random(nt) < rates.ticket_csat_rate),
                      csat_score, None).astype(object)
    category = _choice(rng, {"question": 0.40, "support": 0.33, "request": 0.23, "complaint": 0.04}, nt)
    category[breach & (rng.random(nt) < rates.complaint_after_breach)] = "complaint"
    priority = _choice(rng, {"low": 0.2, "normal": 0.55, "high": 0.2, "urgent": 0.05}, nt).astype(object)
    priority[rng.random(nt) < 0.03] = None
    t_unlinked = rng.random(nt) < 0.01

    # a share of the customers who suffer an SLA breach stop buying a week after it
    first_breach = np.full(n, np.inf)
    np.fmin.at(first_breach, t_owner[breach], t_open[breach])
    quits = np.isfinite(first_breach) & (rng.random(n) < rates.churn_after_breach)
    stop = np.where(quits, first_breach + 7.0, np.inf)
    kept = all_day <= stop[all_owner]
    all_owner, all_day, all_amount, all_margin = all_owner[kept], all_day[kept], all_amount[kept], all_margin[kept]
    product, o_channel = product[kept], o_channel[kept]
    last_order = np.full(n, np.nan)
    np.fmax.at(last_order, all_owner[all_amount > 0], all_day[all_amount > 0])

    # ---- interactions
    # customers stay in touch until some months after their last order; prospects stay
    # on the marketing lists
    alive_end = np.where(is_customer, np.minimum(horizon, np.nan_to_num(last_order, nan=horizon) + 240),
                         horizon)
    # outbound marketing contacts on a regular cadence per customer (newsletters, offers),
    # mostly on the preferred channel; rarely to customers without consent
    cadence = 7.0 / rates.marketing_contacts_per_week * rng.uniform(0.7, 1.3, n)
    cadence = np.where(consent, cadence, cadence / rates.non_consent_contact_factor)
    phase = rng.uniform(0, 1, n) * cadence
    m_n = np.floor(np.maximum(alive_end - created - phase, 0) / cadence).astype(int)
    m_owner = _owners(m_n)
    m_step = np.arange(len(m_owner)) - np.repeat(np.cumsum(m_n) - m_n, m_n)
    m_day = created[m_owner] + phase[m_owner] + m_step * cadence[m_owner] + rng.uniform(-0.5, 0.5, len(m_owner))
    m_ok = (m_day > created[m_owner]) & (m_day < horizon)
    m_owner, m_day = m_owner[m_ok], m_day[m_ok]
    # the over-contacted minority: bursts of several contacts in some weeks
    over = rng.random(n) < rates.over_contacted_share
    weeks_known = np.maximum(np.floor((horizon - 7 - created) / 7), 0).astype(int)
    ow_n = np.where(over, np.minimum(rng.integers(*rates.over_contact_weeks, n, endpoint=True),
                                     (weeks_known + 1) // 2), 0)  # bursts spread over distinct weeks
    ow_owner = _owners(ow_n)
    # distinct weeks per customer (only the over-contacted few, so a loop is cheap)
    ow_week = np.concatenate([np.floor(created[i]) + 7.0 * rng.choice(weeks_known[i] + 1, ow_n[i], replace=False)
                              for i in np.flatnonzero(ow_n)] or [np.zeros(0)])
    ow_week -= (spec.start_at.weekday() + ow_week) % 7  # the Monday on or before
    ow_k = rng.integers(*rates.over_contact_per_week, len(ow_owner), endpoint=True)
    ob_owner = np.repeat(ow_owner, ow_k)
    ob_day = np.repeat(ow_week, ow_k) + rng.uniform(0.3, 6.7, ow_k.sum())
    ob_ok = (ob_day >= created[ob_owner]) & (ob_day < horizon)
    m_owner = np.concatenate([m_owner, ob_owner[ob_ok]])
    m_day = np.concatenate([m_day, ob_day[ob_ok]])
    nm = len(m_owner)
    camp_start = campaigns["_start_day"].to_numpy()
    camp_idx = np.clip(np.searchsorted(camp_start, m_day) - 1, 0, len(camp_start) - 1)
    pref_contact = np.array([CONTACT_CHANNEL[p] for p in preferred], dtype=object)
    camp_contact = np.array([CONTACT_CHANNEL[c] for c in campaigns["_channel"]], dtype=object)
    off_pref = (rng.random(nm) < rates.off_preferred_channel_rate) | (preferred[m_owner] == "none")
    m_channel = np.where(off_pref, camp_contact[camp_idx], pref_contact[m_owner])
    personalized = rng.random(nm) < rates.personalized_share
    responded = rng.random(nm) < np.where(personalized, rates.response_rate_personalized,
                                          rates.response_rate_generic)
    # inbound contacts, more digital as time goes on
    i_rate = np.where(is_customer, rates.inbound_per_week_customer, rates.inbound_per_week_prospect) / 7.0
    i_n = _poisson_counts(rng, i_rate, alive_end - created)
    i_owner = _owners(i_n)
    i_day = _uniform_between(rng, created[i_owner], alive_end[i_owner])
    digital_p = rates.digital_share_start + (rates.digital_share_end - rates.digital_share_start) * i_day / horizon
    digital = rng.random(len(i_owner)) < digital_p
    i_channel = np.where(digital, _choice(rng, {"web": .3, "email": .3, "chat": .2, "mobile": .12, "social": .08},
                                          len(i_owner)),
                         _choice(rng, {"phone": 0.7, "ivr": 0.15, "in_person": 0.15}, len(i_owner)))
    after_acq = is_customer[i_owner] & (i_day >= np.nan_to_num(acquired[i_owner], nan=horizon))
    i_dept = np.where(after_acq,
                      _choice(rng, {"service": 0.55, "sales": 0.2, "back_office": 0.15, "partner": 0.1},
                              len(i_owner)),
                      _choice(rng, {"sales": 0.75, "marketing": 0.2, "partner": 0.05}, len(i_owner)))
    i_dept = np.where((i_dept == "partner") & (acq_channel[i_owner] != "partner") & (rng.random(len(i_owner)) < .7),
                      "service", i_dept)
    # outbound sales follow-ups of prospects between creation and acquisition or loss
    # follow-ups spread over at least two weeks (a quick sale still gets a few calls)
    s_end = np.minimum(np.where(~np.isnan(acquired), np.maximum(acquired, created + 14), created + 60), horizon)
    s_n = np.where(b2b | (acq_channel == "outbound"), rng.poisson(3.0, n), rng.poisson(0.5, n))
    s_owner = _owners(s_n)
    s_day = _uniform_between(rng, created[s_owner], s_end[s_owner])
    s_channel = _choice(rng, {"phone": 0.5, "email": 0.4, "in_person": 0.1}, len(s_owner))
    s_resp = rng.random(len(s_owner)) < 0.35

    # ---- surveys and invitations
    nps_span = np.where(is_customer, horizon - acquired, 0.0)
    v_n = _poisson_counts(rng, rates.nps_invitations_per_year / 365.25, nps_span)
    v_owner = _owners(v_n)
    v_sent = _uniform_between(rng, acquired[v_owner], np.full(len(v_owner), horizon))
    resolved_idx = np.where(~np.isnan(t_resolved) & ~t_unlinked)[0]
    ts_pick = resolved_idx[rng.random(len(resolved_idx)) < rates.ticket_survey_rate]
    ts_kind = np.where(rng.random(len(ts_pick)) < 0.6, "csat", "ces")
    inv_owner = np.concatenate([v_owner, t_owner[ts_pick]])
    inv_kind = np.concatenate([np.full(len(v_owner), "nps"), ts_kind]).astype(object)
    inv_sent = np.concatenate([v_sent, t_resolved[ts_pick] + rng.uniform(0.01, 1.0, len(ts_pick))])
    inv_breach = np.concatenate([np.zeros(len(v_owner), bool), breach[ts_pick]])
    answer_p = rates.survey_answer_rate * np.where(segment[inv_owner] == "Enterprise", 1.3, 1.0)
    answer_at = inv_sent + rng.exponential(2.0, len(inv_owner))
    answered = (rng.random(len(inv_owner)) < answer_p) & (answer_at <= horizon)
    inv_ok = inv_sent <= horizon
    inv_owner, inv_kind, inv_sent, inv_breach, answer_at, answered = (
        a[inv_ok] for a in (inv_owner, inv_kind, inv_sent, inv_breach, answer_at, answered))
    nps_mu = (_lookup(rates.nps_mean, segment[inv_owner])
              - rates.nps_problem_region_penalty * (region[inv_owner] == rates.sla_problem_region)
              + rates.nps_yearly_improvement * (inv_sent / 365.25 - rates.years / 2))
    nps_score = np.clip(np.round(rng.normal(nps_mu, 2.0)), 0, 10)
    csat_s = np.clip(np.round(rng.normal(np.where(inv_breach, 2.9, 4.2), 0.9)), 1, 5)
    ces_s = np.clip(np.round(rng.normal(np.where(inv_breach, 4.6, 2.6), 1.1)), 1, 7)
    score = np.select([inv_kind == "nps", inv_kind == "csat"], [nps_score, csat_s], ces_s).astype(int)

    # ---- last edit of each record (freshness); a share never touched since creation
    last_activity = np.fmax(np.nan_to_num(acquired, nan=-1), np.nan_to_num(engaged, nan=-1))
    last_activity = np.fmax(last_activity, np.nan_to_num(last_order, nan=-1))
    last_inbound = np.full(n, -1.0)
    np.fmax.at(last_inbound, i_owner, i_day)
    last_activity = np.fmax(last_activity, last_inbound)
    last_activity = np.fmax(last_activity, created)
    updated = np.minimum(last_activity + rng.exponential(60, n), horizon - 0.01)
    stale = rng.random(n) < rates.stale_record_rate
    updated[stale] = created[stale] + rng.uniform(0, 2, stale.sum())
    updated = np.minimum(np.maximum(updated, created), horizon - 0.001)

    # ---- identities and defects
    ids = _ids("C", first + 1, size, spec.id_width)
    cid = ids[:n]
    first_name = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last_name = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    company = np.char.add(np.char.add(COMPANY_WORDS[rng.integers(0, len(COMPANY_WORDS), n)], " "),
                          COMPANY_KINDS[rng.integers(0, len(COMPANY_KINDS), n)])
    person = np.char.add(np.char.add(first_name, " "), last_name)
    name = np.where(segment == "Consumer", person, company).astype(object)
    local = np.char.lower(np.char.add(np.char.add(first_name, "."), last_name))
    email = np.char.add(np.char.add(np.char.add(local, np.char.mod("%d", np.arange(first, first + n))), "@"),
                        DOMAINS[rng.integers(0, len(DOMAINS), n)]).astype(object)
    phone = np.char.add("+34 6", np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)).astype(object)
    name[rng.random(n) < rates.missing_name_rate] = None
    email[rng.random(n) < rates.missing_email_rate] = None
    phone[rng.random(n) < rates.missing_phone_rate] = None
    industry[rng.random(n) < rates.missing_industry_rate] = None
    team = np.array([TEAMS[s] for s in segment], dtype=object)
    team[acq_channel == "partner"] = PARTNER_TEAM
    team[rng.random(n) < rates.missing_owner_team_rate] = None

    cust = pd.DataFrame({
        "customer_id": cid, "name": name, "segment": segment, "region": region,
        "industry": industry, "acquisition_channel": acq_channel, "owner_team": team,
        "email": email, "phone": phone, "preferred_channel": preferred,
        "consent_marketing": consent, "created_at": _stamp(spec.start_at, created),
        "engaged_at": _stamp(spec.start_at, engaged), "acquired_at": _stamp(spec.start_at, acquired),
        "updated_at": _stamp(spec.start_at, updated),
    })
    if n_dup:
        # duplicates: the same person entered again later under a new id (email case differs)
        src = rng.choice(n, n_dup, replace=False)
        dup = cust.iloc[src].copy()
        dup["customer_id"] = ids[n:]
        dup_created = np.minimum(created[src] + rng.uniform(5, 200, n_dup), horizon - 0.01)
        dup["created_at"] = _stamp(spec.start_at, dup_created)
        dup["updated_at"] = dup["created_at"]
        dup["engaged_at"] = np.full(n_dup, np.datetime64("NaT"), dtype="datetime64[us]")
        dup["acquired_at"] = np.full(n_dup, np.datetime64("NaT"), dtype="datetime64[us]")
        dup["email"] = [e.upper() if isinstance(e, str) and k % 2 else e for k, e in enumerate(dup["email"])]
        cust = pd.concat([cust, dup], ignore_index=True)

    def take(prefix: str, count: int, width: int = 9) -> np.ndarray:
        out = _ids(prefix, counters[prefix] + 1, count, width)
        counters[prefix] += count
        return out

    ords = pd.DataFrame({
        "order_id": take("O", len(all_owner)), "customer_id": cid[all_owner],
        "ordered_at": _stamp(spec.start_at, all_day), "amount": all_amount, "margin": all_margin,
        "product_category": product, "channel": o_channel,
    })
    opps = pd.DataFrame({
        "opportunity_id": take("P", len(opp_owner)), "customer_id": cid[opp_owner],
        "owner_team": team[opp_owner],
        "source": np.concatenate([d_source, u_source]),
        "created_at": _stamp(spec.start_at, np.concatenate([engaged[d_idx], u_created])),
        "closed_at": _stamp(spec.start_at, np.concatenate([d_close, u_close])),
        "status": np.concatenate([d_status, u_status]),
        "amount": np.round(opp_value, 2),
    })
    camp_ids = campaigns["campaign_id"].to_numpy()
    inter_owner = np.concatenate([m_owner, i_owner, s_owner])
    inter_customer = cid[inter_owner].copy()
    n_m, n_i, n_s = len(m_owner), len(i_owner), len(s_owner)
    inbound = np.r_[np.zeros(n_m, bool), np.ones(n_i, bool), np.zeros(n_s, bool)]
    # only inbound contacts can fail to be linked; scale so the overall share is the rate
    unlinked_p = rates.unlinked_interaction_rate * len(inter_owner) / max(n_i, 1)
    inter_customer[inbound & (rng.random(len(inter_owner)) < unlinked_p)] = None
    inter = pd.DataFrame({
        "interaction_id": take("I", len(inter_owner), 10),
        "customer_id": inter_customer,
        "occurred_at": _stamp(spec.start_at, np.concatenate([m_day, i_day, s_day])),
        "channel": np.concatenate([m_channel, i_channel, s_channel]).astype(object),
        "direction": np.r_[np.full(n_m, "outbound"), np.full(n_i, "inbound"), np.full(n_s, "outbound")].astype(object),
        "department": np.concatenate([np.full(n_m, "marketing"), i_dept, np.full(n_s, "sales")]).astype(object),
        "campaign_id": np.concatenate([camp_ids[camp_idx], np.full(n_i + n_s, None)]).astype(object),
        "personalized": pd.array(np.concatenate([personalized, np.zeros(n_i, bool), np.ones(n_s, bool)]),
                                 dtype="boolean"),
        "responded": pd.array(np.concatenate([responded, np.zeros(n_i, bool), s_resp]), dtype="boolean"),
    })
    inter.loc[n_m:n_m + n_i - 1, ["personalized", "responded"]] = pd.NA
    inter = inter.sort_values("occurred_at", kind="stable", ignore_index=True)
    t_cust = cid[t_owner].astype(object)
    t_cust[t_unlinked] = None
    tick = pd.DataFrame({
        "ticket_id": take("T", nt), "customer_id": t_cust, "channel": t_channel,
        "category": category, "priority": priority,
        "sla_class": np.where(immediate, "immediate", "deferred").astype(object),
        "opened_at": _stamp(spec.start_at, t_open),
        "first_response_at": _stamp(spec.start_at, first_resp),
        "resolved_at": _stamp(spec.start_at, t_resolved),
        "escalated": escalated, "resolved_by": resolved_by,
        "contacts_to_resolve": pd.array(contacts, dtype="Int64"),
        "csat": pd.array(t_csat, dtype="Int64"),
    })
    inv_cust = cid[inv_owner].astype(object)
    inv_ids = take("V", len(inv_owner))
    invitations = pd.DataFrame({
        "invitation_id": inv_ids, "customer_id": inv_cust, "kind": inv_kind,
        "sent_at": _stamp(spec.start_at, inv_sent), "answered": answered,
    })
    anon = rng.random(int(answered.sum())) < 0.02
    resp_cust = inv_cust[answered].copy()
    resp_cust[anon] = None
    surveys = pd.DataFrame({
        "response_id": take("S", int(answered.sum())), "customer_id": resp_cust,
        "answered_at": _stamp(spec.start_at, answer_at[answered]),
        "kind": inv_kind[answered], "score": score[answered],
    })
    return {"customers": cust, "orders": ords, "opportunities": opps, "interactions": inter,
            "tickets": tick, "surveys": surveys, "survey_invitations": invitations}
