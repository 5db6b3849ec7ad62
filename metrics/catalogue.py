"""The KPI catalogue: every KPI of metrics.md §1 declared once, and its evaluation.

A KPI's ``query`` reads a :class:`Facts` accessor; the Facts of one scorecard (the range,
its comparison and the comparison's comparison) or of one trend (its months and their
comparisons) share a :class:`PeriodFacts`, which runs each metric family's aggregate in
one statement for all those periods (:mod:`metrics.periods`), so the whole scorecard
costs one statement per family. Attainment is value/target (target/value when lower is better),
capped to [0, 1]; for a change KPI (a ``tolerance`` declared) attainment falls linearly
from 1 at the target to 0 at ``tolerance`` short of it, so a small miss costs little.
A KPI measured on a sample (answers, tickets, deals) carries its base n and a 95 %
interval (:mod:`metrics.intervals`); below ``Settings.min_base`` it is "too few answers":
neither on nor off target and left out of the rule score. A rule's score is 100 x the mean attainment of its KPIs that have
data; KPIs without data are "no data", never 0. The overall score is the mean of the
rule scores that have data.
"""

from __future__ import annotations

import collections
import contextvars
import enum
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from data.schema import customers, interactions, orders, survey_invitations, surveys, tickets
from data.sources import separate_connections
from metrics import engagement, intervals, keeping, pipeline, quality, sla, value, voice
from metrics.health import valid_clause
from metrics.filters import Filters
from metrics.periods import same_selection
from metrics.sql import ratio
from i18n import N_

TARGETS_PATH = Path(__file__).resolve().parents[1] / "targets.toml"


class Rule(enum.IntEnum):
    """Gartner's eight rules of CRM (seed 000)."""

    VISION = 1
    STRATEGY = 2
    EXPERIENCES = 3
    COLLABORATION = 4
    PROCESSES = 5
    INFORMATION = 6
    TECHNOLOGY = 7
    METRICS = 8

    @property
    def title(self) -> str:
        return RULE_TEXT[self][0]

    @property
    def definition(self) -> str:
        return RULE_TEXT[self][1]


RULE_TEXT = {  # (title, definition), translated where shown
    Rule.VISION: (N_("Vision"), N_("A customer-centred picture of the company and its brand.")),
    Rule.STRATEGY: (N_("Strategy"), N_("The customer base managed as an asset, with objectives.")),
    Rule.EXPERIENCES: (N_("Valued customer experiences"), N_("Every interaction gives value and matches the intended position.")),
    Rule.COLLABORATION: (N_("Organisational collaboration"), N_("Company, suppliers and partners in sync around the customer.")),
    Rule.PROCESSES: (N_("Processes"), N_("Complaints, support, promotions and analysis run efficiently.")),
    Rule.INFORMATION: (N_("Information"), N_("The right data, in the right place.")),
    Rule.TECHNOLOGY: (N_("Technology"), N_("Data, analysis, front end and architecture serve the customer.")),
    Rule.METRICS: (N_("Metrics"), N_("Measure everything, inside and out.")),
}


class Unit(enum.Enum):
    PERCENT = "percent"  # a fraction in [0, 1], shown as %
    POINTS = "points"  # NPS points
    RATIO = "ratio"  # x times
    HOURS = "hours"
    DAYS = "days"
    SCORE = "score"  # CES 1..7
    PER_THOUSAND = "per 1,000"


class Direction(enum.Enum):
    HIGHER = "higher"
    LOWER = "lower"


class Status(enum.Enum):
    ON_TARGET = "on target"
    NEAR = "near target"
    OFF = "off target"
    TOO_FEW = "too few answers"
    NO_DATA = "no data"


@dataclass(frozen=True)
class Settings:
    """Settings the KPIs depend on."""

    sla: sla.SlaLimits = field(default_factory=sla.SlaLimits)
    npv: value.NpvParams = field(default_factory=value.NpvParams)
    near_attainment: float = 0.9  # attainment from which an off-target KPI is "near"
    min_base: int = 30  # answers/records below which a sampled KPI is "too few answers"
    stale_after_days: int = 2  # data older than this gets a freshness banner
    currency: str = "EUR"  # ISO 4217 code money is shown in


SETTING_TYPES = {"near_attainment": float, "min_base": int, "stale_after_days": int, "currency": str}


def load_settings(path: Path | None = None) -> Settings:
    """The ``[settings]`` table of targets.toml (min_base, stale_after_days, currency, ...)."""
    path = path or TARGETS_PATH
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text()).get("settings", {})
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    problems, chosen = [], {}
    for name, setting in data.items():
        kind = SETTING_TYPES.get(name)
        if kind is None:
            problems.append(f"{path}: [settings] {name}: no such setting")
        elif isinstance(setting, bool) or not isinstance(setting, (int, float) if kind is float else kind):
            problems.append(f"{path}: [settings] {name}: must be {kind.__name__}, got {setting!r}")
        else:
            chosen[name] = kind(setting)
    if problems:
        raise ValueError("; ".join(problems))
    return Settings(**chosen)


#: Metric family -> its facts for several periods in one statement: (conn, periods, settings) -> [facts].
FAMILIES: dict[str, Callable[[Connection, list[Filters], Settings], list]] = {
    "surveys": lambda conn, periods, settings: voice.survey_facts_by_period(conn, periods),
    "tickets": lambda conn, periods, settings: sla.overall_by_period(conn, periods, settings.sla),
    "pipeline": lambda conn, periods, settings: pipeline.pipeline_facts_by_period(conn, periods),
    "interactions": lambda conn, periods, settings: engagement.interaction_facts_by_period(conn, periods),
    "quality": lambda conn, periods, settings: quality.quality_facts_by_period(conn, periods),
    "value": lambda conn, periods, settings: value.value_facts_by_period(conn, periods, settings.npv),
    "campaign_cost": lambda conn, periods, settings: engagement.campaign_cost_by_period(conn, periods),
}
#: The families a dimension cube can answer (metrics.cube): (conn, periods, settings) -> None keeps
#: the family's cube of those periods' dates. The cheaper first (:func:`keep_cubes` and the
#: server's warming build them in this order): the interaction cube, of the 44M rows at 1M
#: customers, last.
CUBES: dict[str, Callable[[Connection, list[Filters], Settings], None]] = {
    "value": lambda conn, periods, settings: value.keep_value_cube(conn, periods),
    "quality": lambda conn, periods, settings: quality.keep_quality_cube(conn, periods),
    "surveys": lambda conn, periods, settings: voice.keep_survey_cube(conn, periods),
    "tickets": lambda conn, periods, settings: sla.keep_tickets_cube(conn, periods, settings.sla),
    "interactions": lambda conn, periods, settings: engagement.keep_interaction_cube(conn, periods),
}
#: The families the change and growth KPIs read of a comparison's own comparison (NPS
#: change, customer equity and active customers growth): read for those periods too.
COMPARED_FAMILIES = ("surveys", "value")
#: The families whose one statement for a scorecard's periods and its sparklines' months
#: costs little more than the statement of either (they read every customer or answer once
#: whatever the periods, or few rows: at 1M customers quality 0.50 s for both against
#: 0.33 + 0.52 s, value 0.60 s against 0.20 + 0.55 s; under a segment filter tickets 0.09 s
#: against 0.08 + 0.08 s): a scorecard shown with its sparklines and those sparklines read
#: them together (:func:`read_together`). The interactions are not among them: their
#: statement grows with the rows of every period (2.7 s against 1.0 + 1.0 s).
SHARED_FAMILIES = ("surveys", "tickets", "pipeline", "quality", "value")
#: The families in the order :meth:`PeriodFacts.read` starts their statements: the longest
#: first (warm, at 1M customers: interactions 0.68 s, quality 0.22 s, value 0.15 s, tickets
#: 0.02 s, the others 0.01 s or less), so that the last to finish is a short one.
FAMILY_ORDER = ("interactions", "quality", "value", "tickets", "surveys", "pipeline", "campaign_cost")
#: Statements of one scorecard run at once (:meth:`PeriodFacts.read`). Measured warm on this
#: 2-core machine, a scorecard took 0.135 s instead of 0.172 s at 100k customers, 1.06 s
#: instead of 1.09 s at 1M.
FAMILY_WORKERS = 2
#: The months of the sparklines a scorecard is shown with (the app's Overview and rules page).
SPARKLINE_MONTHS = 6


class PeriodFacts:
    """The periods one scorecard reads, shared by its :class:`Facts`: each metric family
    runs one statement for all of them when any of them first reads it.

    ``periods`` need every family; ``compared`` (comparisons of comparisons, a trend's
    comparisons) only :data:`COMPARED_FAMILIES`. A family read for a period of neither
    is computed for that period alone. ``shared`` (:func:`read_together`) names, per family,
    the periods of another computation shown beside this one that its statement reads too.
    With a keeper set (metrics/keeping.py) a family's facts for a set of periods are kept:
    two pages reading them, or a scorecard and its sparklines, compute them once.
    """

    def __init__(self, conn: Connection | None, settings: Settings, periods: list[Filters],
                 compared: list[Filters] | None = None, shared: dict[str, tuple[Filters, ...]] | None = None):
        self.conn, self.settings = conn, settings
        self.periods = list(dict.fromkeys(periods))
        self.compared = [f for f in dict.fromkeys(compared or []) if f not in self.periods]
        self.shared = shared or {}
        self._facts: dict[tuple[str, Filters], object] = {}

    @classmethod
    def scorecard(cls, conn: Connection | None, filters: Filters, settings: Settings,
                  sparklines: int = 0) -> PeriodFacts:
        """The range, its comparison and the comparison's comparison (change and growth KPIs);
        with ``sparklines`` (months), the :data:`SHARED_FAMILIES` read with those of its trend."""
        before = filters.comparison()
        periods = [filters] if before is None else [filters, before]
        compared = [] if before is None or before.comparison() is None else [before.comparison()]
        return cls(conn, settings, periods, compared, read_together(filters, sparklines) if sparklines else None)

    @classmethod
    def trend(cls, conn: Connection | None, filters: Filters, settings: Settings, months: int,
              with_scorecard: bool = False) -> PeriodFacts:
        """The last ``months`` months of ``filters`` and their comparisons (:func:`month_windows`);
        ``with_scorecard``: the :data:`SHARED_FAMILIES` read with those of the scorecard of ``filters``."""
        windows = month_windows(filters, months)
        return cls(conn, settings, windows, [w.comparison() for w in windows],
                   read_together(filters, months) if with_scorecard else None)

    def wanted(self, family: str, filters: Filters) -> list[Filters]:
        """The periods one statement of ``family`` computes when ``filters`` is first read."""
        together = self.shared.get(family, ())
        if filters in together:     # the same list whichever of the two computations reads it first
            return list(together)
        wanted = self.periods + (self.compared if family in COMPARED_FAMILIES else [])
        wanted = [f for f in dict.fromkeys([*wanted, filters]) if (family, f) not in self._facts]
        return wanted if all(same_selection(filters, f) for f in wanted) else [filters]

    def get(self, family: str, filters: Filters, conn: Connection | None = None):
        """``family``'s facts for ``filters``, its statement run on ``conn`` (default: this
        computation's connection) when they are not read yet."""
        key = (family, filters)
        if key not in self._facts:
            wanted = self.wanted(family, filters)
            computed = keeping.kept(("family", family, tuple(wanted), self.settings),
                                    lambda: FAMILIES[family](conn or self.conn, wanted, self.settings))
            for period, facts in zip(wanted, computed):
                self._facts[(family, period)] = facts
        return self._facts[key]

    def read(self, filters: Filters, families: Iterable[str] = FAMILY_ORDER, workers: int = FAMILY_WORKERS) -> None:
        """Read ``families`` for ``filters`` (as :meth:`get`), up to ``workers`` statements at
        once: this computation's connection runs some, each helper thread another connection
        of the same engine (only where that reads the same data:
        :func:`data.sources.separate_connections`). The longest statements are started first
        (:data:`FAMILY_ORDER`). One statement at a time leaves cores idle where it runs on
        one thread (planning, small tables, the last steps of an aggregate) and while Python
        builds the next statement and reads the last one's rows."""
        chosen = set(families)
        pending = collections.deque(f for f in FAMILY_ORDER if f in chosen and (f, filters) not in self._facts)
        helpers = min(workers, len(pending)) - 1
        if helpers < 1 or self.conn is None or not separate_connections(self.conn.engine):
            for family in pending:
                self.get(family, filters)
            return

        def drain(conn: Connection) -> None:
            while True:
                try:
                    family = pending.popleft()
                except IndexError:      # nothing left (the other thread may have taken the last)
                    return
                self.get(family, filters, conn)

        def helper() -> None:
            with self.conn.engine.connect() as own:
                drain(own)

        with ThreadPoolExecutor(helpers, thread_name_prefix="crm-family") as pool:
            started = [pool.submit(contextvars.copy_context().run, helper) for _ in range(helpers)]
            try:
                drain(self.conn)
            finally:
                pending.clear()     # a failure here: the helpers stop after their statement
                for future in started:
                    future.result()


def read_together(filters: Filters, months: int) -> dict[str, tuple[Filters, ...]]:
    """Per family of :data:`SHARED_FAMILIES`, the periods of the scorecard of ``filters`` and
    of its ``months``-month trend, in that order: the one statement of that family that
    whichever of the two computations reads it first runs for both (kept under the same key,
    the other reads it; computed beside each other, the second waits for the first)."""
    scorecard = PeriodFacts.scorecard(None, filters, Settings())
    trend = PeriodFacts.trend(None, filters, Settings(), months)
    first = trend.periods[0]
    return {family: tuple(dict.fromkeys([*scorecard.wanted(family, filters), *trend.wanted(family, first)]))
            for family in SHARED_FAMILIES}


class Facts:
    """Lazy access to the metric families for one period; each runs once when first read,
    in one statement for every period of the scorecard (:class:`PeriodFacts`)."""

    def __init__(self, conn: Connection, filters: Filters, settings: Settings = Settings(), depth: int = 0,
                 periods: PeriodFacts | None = None):
        self.conn, self.filters, self.settings, self._depth = conn, filters, settings, depth
        self._periods = periods if periods is not None else PeriodFacts.scorecard(conn, filters, settings)

    @cached_property
    def comparison(self) -> Facts | None:
        """The comparison period's facts (and, once more, its own comparison, for growth)."""
        other = self.filters.comparison()
        if other is None or self._depth >= 2:
            return None
        return Facts(self.conn, other, self.settings, self._depth + 1, self._periods)

    @cached_property
    def surveys(self) -> dict:
        return self._periods.get("surveys", self.filters)

    @cached_property
    def tickets(self) -> dict:
        return self._periods.get("tickets", self.filters)

    @cached_property
    def pipeline(self) -> dict:
        return self._periods.get("pipeline", self.filters)

    @cached_property
    def interactions(self) -> dict:
        return self._periods.get("interactions", self.filters)

    @cached_property
    def quality(self) -> dict:
        return self._periods.get("quality", self.filters)

    @cached_property
    def value(self) -> dict:
        return self._periods.get("value", self.filters)

    @cached_property
    def campaign_cost(self) -> float:
        return self._periods.get("campaign_cost", self.filters)


Query = Callable[[Facts], "float | None"]
Records = Callable[[Filters], Select]
Counts = Callable[[Facts], "tuple[int, int]"]
Interval = Callable[[Facts], "tuple[float, float] | None"]
Base = Callable[[Facts], "int | None"]


@dataclass(frozen=True)
class Kpi:
    """One KPI: what it is, which rule it serves, its target and how to compute it."""

    name: str
    label: str
    rule: Rule
    definition: str
    unit: Unit
    direction: Direction
    target: float
    query: Query
    records: Records | None = None  # the records behind the figure (drill-down)
    meta: bool = False  # computed from the other KPIs (rule 8)
    counts: Counts | None = None  # (successes, trials) of a proportion, for significance tests
    base: Base | None = None  # answers/records behind a sampled score (proportions: trials)
    interval: Interval | None = None  # its 95 % interval (proportions: Wilson)
    interval_method: str | None = None  # which interval (metrics.intervals)
    tolerance: float | None = None  # change KPIs: shortfall at which attainment reaches 0

    def sample_size(self, facts: Facts) -> int | None:
        """The base n of a sampled KPI (None for KPIs that are not estimated from a sample)."""
        if self.base is not None:
            return self.base(facts)
        return None if self.counts is None else int(self.counts(facts)[1])

    def confidence(self, facts: Facts) -> tuple[float, float] | None:
        """The 95 % interval of the KPI's value, when it has one."""
        if self.interval is not None:
            return self.interval(facts)
        if self.counts is None:
            return None
        successes, trials = self.counts(facts)
        return intervals.wilson(int(successes), int(trials))

    @property
    def method(self) -> str | None:
        return self.interval_method or (intervals.WILSON if self.counts is not None else None)

    def __reduce__(self):
        """Pickle by name: a KPI is its catalogue entry (results can then be cached)."""
        return (_kpi_named, (self.name,))


# ---- derived figures
def _growth(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous <= 0:
        return None
    return current / previous - 1.0


def _nps_change(f: Facts) -> float | None:
    if f.comparison is None or f.surveys["nps"] is None or f.comparison.surveys["nps"] is None:
        return None
    return f.surveys["nps"] - f.comparison.surveys["nps"]


def _nps_se(f: Facts) -> float | None:
    s = f.surveys
    return intervals.nps_standard_error(s["promoters"], s["detractors"], s["nps_answers"])


def _nps_interval(f: Facts) -> tuple[float, float] | None:
    return intervals.nps_interval(f.surveys["promoters"], f.surveys["detractors"], f.surveys["nps_answers"])


def _nps_change_base(f: Facts) -> int | None:
    """The smaller of the two periods' NPS answers: the change is no firmer than its weaker side."""
    if f.comparison is None:
        return None
    return min(f.surveys["nps_answers"], f.comparison.surveys["nps_answers"])


def _nps_change_interval(f: Facts) -> tuple[float, float] | None:
    change = _nps_change(f)
    return None if change is None else intervals.difference_interval(change, _nps_se(f), _nps_se(f.comparison))


def _ces_interval(f: Facts) -> tuple[float, float] | None:
    return intervals.mean_interval(f.surveys["ces"], f.surveys["ces_sd"], f.surveys["ces_answers"])


def _equity_growth(f: Facts) -> float | None:
    return None if f.comparison is None else _growth(f.value["equity"], f.comparison.value["equity"])


def _active_growth(f: Facts) -> float | None:
    if f.comparison is None:
        return None
    return _growth(f.value["active_customers"], f.comparison.value["active_customers"])


def _clv_cac(f: Facts) -> float | None:
    cac = ratio(f.campaign_cost, f.value["new_customers"])
    return None if f.value["clv"] is None or not cac else f.value["clv"] / cac


def _complaints_per_thousand(f: Facts) -> float | None:
    """Complaints per 1,000 active customers per 30 days."""
    per_customer = ratio(f.tickets["complaints"], f.value["active_customers"])
    return None if per_customer is None else 1000.0 * per_customer * 30.0 / f.filters.days


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600.0


def _complaint_records(filters: Filters) -> Select:
    return sla.ticket_records(filters).where(tickets.c.category == "complaint")


def _survey_records(kind: str) -> Records:
    def records(filters: Filters) -> Select:
        s = surveys.c
        return (select(s.response_id, s.customer_id, s.answered_at, s.kind, s.score)
                .where(s.kind == kind, filters.in_period(s.answered_at), *filters.fact_clauses(surveys))
                .order_by(s.answered_at.desc(), s.response_id))
    return records


def _escalated_records(filters: Filters) -> Select:
    return sla.ticket_records(filters).where(tickets.c.escalated.is_(True))


def _value_records(filters: Filters) -> Select:
    o, c = orders.c, customers.c
    since = filters.as_of - timedelta(days=365)
    return (select(c.customer_id, c.name, c.segment, c.region, func.count().label("orders_last_year"),
                   func.sum(o.amount).label("revenue_last_year"),
                   func.sum(func.coalesce(o.margin, o.amount)).label("margin_last_year"))
            .select_from(orders.join(customers, c.customer_id == o.customer_id))
            .where(valid_clause(orders), o.ordered_at >= since, o.ordered_at < filters.as_of, o.amount > 0, *filters.customer_clauses())
            .group_by(c.customer_id, c.name, c.segment, c.region)
            .order_by(func.sum(func.coalesce(o.margin, o.amount)).desc(), c.customer_id))


def _new_customer_records(filters: Filters) -> Select:
    c = customers.c
    return (select(c.customer_id, c.name, c.segment, c.region, c.acquisition_channel, c.created_at,
                   c.engaged_at, c.acquired_at)
            .where(filters.in_period(c.acquired_at), *filters.customer_clauses())
            .order_by(c.acquired_at.desc(), c.customer_id))


def _customer_records(filters: Filters) -> Select:
    c = customers.c
    return (select(c.customer_id, c.name, c.email, c.phone, c.segment, c.region, c.industry,
                   c.owner_team, c.created_at, c.updated_at)
            .where(c.created_at < filters.as_of, *filters.customer_clauses())
            .order_by(c.customer_id))


def _interaction_records(filters: Filters) -> Select:
    i = interactions.c
    return (select(i.interaction_id, i.customer_id, i.occurred_at, i.channel, i.direction, i.department,
                   i.campaign_id, i.personalized, i.responded)
            .where(filters.in_period(i.occurred_at), *filters.fact_clauses(interactions, "channel"))
            .order_by(i.occurred_at.desc(), i.interaction_id))


def _invitation_records(filters: Filters) -> Select:
    v = survey_invitations.c
    return (select(v.invitation_id, v.customer_id, v.kind, v.sent_at, v.answered)
            .where(filters.in_period(v.sent_at), *filters.fact_clauses(survey_invitations))
            .order_by(v.sent_at.desc(), v.invitation_id))


H, L = Direction.HIGHER, Direction.LOWER

CATALOGUE: tuple[Kpi, ...] = (
    # 1 Vision
    Kpi("nps", N_("NPS"), Rule.VISION,
        N_("Net Promoter Score: % of NPS answers 9-10 minus % 0-6, answers in the range."),
        Unit.POINTS, H, 30, lambda f: f.surveys["nps"], _survey_records("nps"),
        base=lambda f: f.surveys["nps_answers"], interval=_nps_interval, interval_method=intervals.NPS_NORMAL),
    Kpi("nps_change", N_("NPS change"), Rule.VISION,
        N_("NPS minus the NPS of the comparison period."),
        Unit.POINTS, H, 0, _nps_change, _survey_records("nps"),
        base=_nps_change_base, interval=_nps_change_interval, interval_method=intervals.NPS_NORMAL, tolerance=10),
    # 2 Strategy
    Kpi("customer_equity_growth", N_("Customer equity growth"), Rule.STRATEGY,
        N_("Growth of customer equity (active customers x NPV CLV) against the comparison period."),
        Unit.PERCENT, H, 0.05, _equity_growth, _value_records, tolerance=0.10),
    Kpi("active_customers_growth", N_("Active customers growth"), Rule.STRATEGY,
        N_("Growth of customers with an order in the 365 days before the end of the range, "
        "against the same count at the end of the comparison period."),
        Unit.PERCENT, H, 0.05, _active_growth, _value_records, tolerance=0.10),
    Kpi("clv_cac", N_("CLV : CAC"), Rule.STRATEGY,
        N_("NPV CLV per customer / acquisition cost, where CAC = cost of campaigns started in "
        "the range / customers acquired in the range."),
        Unit.RATIO, H, 3, _clv_cac, _new_customer_records),
    # 3 Valued customer experiences
    Kpi("csat", N_("CSAT"), Rule.EXPERIENCES,
        N_("Share of CSAT survey answers scoring 4 or 5."),
        Unit.PERCENT, H, 0.80, lambda f: f.surveys["csat"], _survey_records("csat"),
        counts=lambda f: (f.surveys["csat_satisfied"], f.surveys["csat_answers"])),
    Kpi("ces", N_("Customer effort (CES)"), Rule.EXPERIENCES,
        N_("Mean customer-effort score, 1 (easy) to 7 (hard)."),
        Unit.SCORE, L, 3, lambda f: f.surveys["ces"], _survey_records("ces"),
        base=lambda f: f.surveys["ces_answers"], interval=_ces_interval, interval_method=intervals.MEAN_NORMAL),
    Kpi("complaints_per_1000", N_("Complaints per 1,000 customers"), Rule.EXPERIENCES,
        N_("Complaint tickets per 1,000 active customers per 30 days."),
        Unit.PER_THOUSAND, L, 10, _complaints_per_thousand, _complaint_records),
    # 4 Organisational collaboration
    Kpi("escalated_within_sla", N_("Escalations within SLA"), Rule.COLLABORATION,
        N_("Escalated tickets that met their SLA / escalated tickets met or breached."),
        Unit.PERCENT, H, 0.90, lambda f: f.tickets["escalated_compliance"], _escalated_records,
        counts=lambda f: (f.tickets["escalated_met"], f.tickets["escalated_met"] + f.tickets["escalated_breached"])),
    Kpi("partner_won_share", N_("Partner share of won pipeline"), Rule.COLLABORATION,
        N_("Won amount of partner-sourced deals / won amount, deals closed in the range."),
        Unit.PERCENT, H, 0.15, lambda f: f.pipeline["partner_won_share"], pipeline.opportunity_records),
    Kpi("multi_department_share", N_("Customers served across departments"), Rule.COLLABORATION,
        N_("Customers served by at least two departments (on one customer record) / "
        "customers with interactions in the range."),
        Unit.PERCENT, H, 0.60, lambda f: f.interactions["multi_department_share"], _interaction_records,
        counts=lambda f: (f.interactions["multi_department_customers"], f.interactions["served_customers"])),
    # 5 Processes
    Kpi("sla_compliance", N_("SLA compliance"), Rule.PROCESSES,
        N_("Tickets resolved within their class deadline / (met + breached); pending excluded."),
        Unit.PERCENT, H, 0.95, lambda f: f.tickets["compliance"], sla.ticket_records,
        counts=lambda f: (f.tickets["met"], f.tickets["met"] + f.tickets["breached"])),
    Kpi("resolution_hours", N_("Median resolution time"), Rule.PROCESSES,
        N_("Median hours from a ticket's opening to its resolution, tickets resolved by the end of the range."),
        Unit.HOURS, L, 8, lambda f: _hours(f.tickets["resolution_p50_seconds"]), sla.ticket_records),
    Kpi("campaign_response_rate", N_("Campaign response rate"), Rule.PROCESSES,
        N_("Responded / outbound campaign contacts in the range."),
        Unit.PERCENT, H, 0.05, lambda f: f.interactions["campaign_response_rate"], engagement.contact_records,
        counts=lambda f: (f.interactions["campaign_responses"], f.interactions["campaign_contacts"])),
    Kpi("win_rate", N_("Win rate"), Rule.PROCESSES,
        N_("Won / (won + lost) deals closed in the range."),
        Unit.PERCENT, H, 0.25, lambda f: f.pipeline["win_rate"], pipeline.opportunity_records,
        counts=lambda f: (f.pipeline["won"], f.pipeline["won"] + f.pipeline["lost"])),
    Kpi("sales_cycle_days", N_("Median sales cycle"), Rule.PROCESSES,
        N_("Median days from a deal's creation to its close, deals won in the range."),
        Unit.DAYS, L, 45, lambda f: f.pipeline["sales_cycle_days"], pipeline.opportunity_records),
    # 6 Information
    Kpi("completeness", N_("Record completeness"), Rule.INFORMATION,
        N_("Filled fields / (records x 6) over name, email, phone, segment, region, industry."),
        Unit.PERCENT, H, 0.95, lambda f: f.quality["completeness"], _customer_records),
    Kpi("duplicate_rate", N_("Duplicate customers"), Rule.INFORMATION,
        N_("1 - distinct normalised emails (lower, trimmed) / records with an email."),
        Unit.PERCENT, L, 0.01, lambda f: f.quality["duplicate_rate"], quality.duplicate_records),
    Kpi("linked_interactions", N_("Interactions linked to a customer"), Rule.INFORMATION,
        N_("Interactions linked to a known customer / interactions in the range."),
        Unit.PERCENT, H, 0.98, lambda f: f.interactions["linked_share"], _interaction_records,
        counts=lambda f: (f.interactions["linked"], f.interactions["interactions"])),
    Kpi("days_since_update", N_("Days since record update"), Rule.INFORMATION,
        N_("Median days from a customer record's last edit to the end of the range (no data for a "
        "past range when many records were edited since: only the last edit is kept)."),
        Unit.DAYS, L, 180, lambda f: f.quality["days_since_update"], quality.stale_records),
    # 7 Technology
    Kpi("digital_share", N_("Digital share of inbound"), Rule.TECHNOLOGY,
        N_("Inbound interactions on web, chat, email, mobile or social / inbound interactions."),
        Unit.PERCENT, H, 0.60, lambda f: f.interactions["digital_inbound_share"], _interaction_records,
        counts=lambda f: (f.interactions["digital_inbound"], f.interactions["inbound"])),
    Kpi("in_person_share", N_("In-person share of tickets"), Rule.TECHNOLOGY,
        N_("Tickets opened in person / tickets (service guidelines: phone before in person)."),
        Unit.PERCENT, L, 0.10, lambda f: f.tickets["in_person_share"], sla.ticket_records,
        counts=lambda f: (f.tickets["in_person"], f.tickets["tickets"])),
    Kpi("self_service_share", N_("Self-service resolution"), Rule.TECHNOLOGY,
        N_("Tickets resolved by self-service / tickets resolved."),
        Unit.PERCENT, H, 0.20, lambda f: f.tickets["self_service_share"], sla.ticket_records,
        counts=lambda f: (f.tickets["self_service"], f.tickets["resolved"])),
    # 8 Metrics
    Kpi("kpi_coverage", N_("KPI coverage"), Rule.METRICS,
        N_("KPIs with data / KPIs in the catalogue (excluding these two)."),
        Unit.PERCENT, H, 0.90, lambda f: None, meta=True),
    Kpi("kpis_on_target", N_("KPIs on target"), Rule.METRICS,
        N_("KPIs on target / KPIs with data (excluding these two)."),
        Unit.PERCENT, H, 0.70, lambda f: None, meta=True),
    Kpi("survey_response_rate", N_("Survey response rate"), Rule.METRICS,
        N_("Survey invitations sent in the range that were answered / sent."),
        Unit.PERCENT, H, 0.20, lambda f: f.surveys["survey_response_rate"], _invitation_records,
        counts=lambda f: (f.surveys["invitations_answered"], f.surveys["invitations"])),
)

KPIS: dict[str, Kpi] = {k.name: k for k in CATALOGUE}


def _kpi_named(name: str) -> Kpi:
    return KPIS[name]


# ---- targets
def load_targets(path: Path = TARGETS_PATH) -> dict[str, float]:
    """Target overrides from a TOML file (``[targets] name = value``); checked against the catalogue."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    targets = data.get("targets", {})
    problems = []
    for name, target in targets.items():
        if name not in KPIS:
            problems.append(f"{path}: [targets] {name}: no such KPI")
        elif isinstance(target, bool) or not isinstance(target, (int, float)):
            problems.append(f"{path}: [targets] {name}: target must be a number, got {target!r}")
    if problems:
        raise ValueError("; ".join(problems))
    return {name: float(target) for name, target in targets.items()}


# ---- evaluation
def attainment(value: float | None, target: float, direction: Direction,
               tolerance: float | None = None) -> float | None:
    """value/target (higher is better) or target/value (lower is better), capped to [0, 1].

    With a ``tolerance`` (change KPIs, whose target is often 0): 1 - shortfall/tolerance,
    capped to [0, 1], where shortfall is how far the value falls short of the target.
    Without one, a zero target is met by any value on the right side of it (1, else 0).
    """
    if value is None:
        return None
    if tolerance is not None:
        shortfall = target - value if direction is Direction.HIGHER else value - target
        return min(max(1.0 - max(shortfall, 0.0) / tolerance, 0.0), 1.0)
    if direction is Direction.HIGHER:
        if target == 0:
            return 1.0 if value >= 0 else 0.0
        raw = value / target if target > 0 else (1.0 if value >= target else 0.0)
    else:
        if value <= 0:
            return 1.0
        raw = target / value
    return min(max(raw, 0.0), 1.0)


def meets(value: float, target: float, direction: Direction) -> bool:
    return value >= target if direction is Direction.HIGHER else value <= target


@dataclass(frozen=True)
class KpiResult:
    kpi: Kpi
    value: float | None
    comparison: float | None
    target: float
    attainment: float | None
    status: Status
    n: int | None = None  # base of a sampled KPI
    low: float | None = None  # its 95 % interval
    high: float | None = None

    @property
    def delta(self) -> float | None:
        return None if self.value is None or self.comparison is None else self.value - self.comparison

    def as_dict(self) -> dict:
        return {"name": self.kpi.name, "label": self.kpi.label, "rule": self.kpi.rule.value,
                "rule_title": self.kpi.rule.title, "unit": self.kpi.unit.value,
                "direction": self.kpi.direction.value, "value": self.value, "comparison": self.comparison,
                "delta": self.delta, "target": self.target, "attainment": self.attainment,
                "status": self.status.value, "definition": self.kpi.definition,
                "n": self.n, "low": self.low, "high": self.high, "interval_method": self.kpi.method}


@dataclass(frozen=True)
class RuleScore:
    rule: Rule
    score: float | None  # 0..100; None when no KPI of the rule has data
    with_data: int
    kpis: int


@dataclass(frozen=True)
class Scorecard:
    filters: Filters
    results: tuple[KpiResult, ...]
    rules: tuple[RuleScore, ...]
    comparison_rules: tuple[RuleScore, ...] | None

    @property
    def overall(self) -> float | None:
        return _mean([r.score for r in self.rules])

    @property
    def comparison_overall(self) -> float | None:
        return None if self.comparison_rules is None else _mean([r.score for r in self.comparison_rules])

    @property
    def off_target(self) -> int:
        """KPIs with enough data that miss their target (off or near)."""
        return sum(r.status in (Status.OFF, Status.NEAR) for r in self.results)

    @property
    def too_few(self) -> int:
        """KPIs left out of the score for too few answers."""
        return sum(r.status is Status.TOO_FEW for r in self.results)

    def result(self, name: str) -> KpiResult:
        return next(r for r in self.results if r.kpi.name == name)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _result(kpi: Kpi, value: float | None, comparison: float | None, target: float,
            settings: Settings, n: int | None = None, interval: tuple[float, float] | None = None) -> KpiResult:
    reached = attainment(value, target, kpi.direction, kpi.tolerance)
    low, high = interval if interval is not None else (None, None)
    if value is None:
        status = Status.NO_DATA
    elif n is not None and n < settings.min_base:
        status, reached = Status.TOO_FEW, None
    elif meets(value, target, kpi.direction):
        status = Status.ON_TARGET
    elif reached is not None and reached >= settings.near_attainment:
        status = Status.NEAR
    else:
        status = Status.OFF
    return KpiResult(kpi, value, comparison, target, reached, status, n, low, high)


def _bases(facts: Facts | None) -> dict[str, int | None]:
    return {} if facts is None else {k.name: k.sample_size(facts) for k in CATALOGUE if not k.meta}


def _values(facts: Facts | None, targets: dict[str, float],
            bases: dict[str, int | None] | None = None, min_base: int = 0) -> dict[str, float | None]:
    """Every KPI's value for one period, the meta KPIs computed from the others (a KPI on
    fewer than ``min_base`` answers counts as without data for them)."""
    if facts is None:
        return {}
    bases = bases or {}
    values = {k.name: k.query(facts) for k in CATALOGUE if not k.meta}
    regular = [k for k in CATALOGUE if not k.meta]
    with_data = [k for k in regular if values[k.name] is not None
                 and (bases.get(k.name) is None or bases[k.name] >= min_base)]
    # nothing measurable at all is "no data", not a coverage (and so a score) of 0
    values["kpi_coverage"] = len(with_data) / len(regular) if with_data else None
    on_target = [k for k in with_data if meets(values[k.name], targets[k.name], k.direction)]
    values["kpis_on_target"] = ratio(len(on_target), len(with_data))
    return values


def _rule_scores(results: list[KpiResult]) -> tuple[RuleScore, ...]:
    scores = []
    for rule in Rule:
        mine = [r for r in results if r.kpi.rule is rule]
        reached = [r.attainment for r in mine if r.attainment is not None]
        scores.append(RuleScore(rule, 100 * sum(reached) / len(reached) if reached else None,
                                len(reached), len(mine)))
    return tuple(scores)


def evaluate(conn: Connection, filters: Filters, targets: dict[str, float] | None = None,
             settings: Settings | None = None, sparklines: int = 0) -> Scorecard:
    """Every KPI for the filters and their comparison period, with rule and overall scores.

    ``settings`` default to targets.toml's ``[settings]`` (min_base 30 when unset). A
    scorecard shown with its ``sparklines`` (months: :func:`trend` ``with_scorecard``) reads
    the :data:`SHARED_FAMILIES` for both (kept with a keeper set, the trend then reads them).
    """
    settings = settings if settings is not None else load_settings()
    merged = {k.name: k.target for k in CATALOGUE}
    merged.update(targets if targets is not None else load_targets())
    periods = PeriodFacts.scorecard(conn, filters, settings, sparklines)
    periods.read(filters)
    facts = Facts(conn, filters, settings, periods=periods)
    bases, bases_before = _bases(facts), _bases(facts.comparison)
    now = _values(facts, merged, bases, settings.min_base)
    before = _values(facts.comparison, merged, bases_before, settings.min_base)
    results = [_result(k, now[k.name], before.get(k.name), merged[k.name], settings, bases.get(k.name),
                       None if k.meta else k.confidence(facts)) for k in CATALOGUE]
    comparison_rules = None
    if facts.comparison is not None:
        comparison_rules = _rule_scores(
            [_result(k, before[k.name], None, merged[k.name], settings, bases_before.get(k.name))
             for k in CATALOGUE])
    return Scorecard(filters, tuple(results), _rule_scores(results), comparison_rules)


#: The dates whose cubes :func:`keep_cubes` builds: the scorecard's periods, the trend's months.
CUBE_DATES = ("scorecard", "trend")


def keep_cubes(conn: Connection, filters: Filters, family: str | None = None, dates: str | None = None,
               settings: Settings | None = None, months: int = SPARKLINE_MONTHS) -> None:
    """Compute and keep the dimension cubes of the scorecard of ``filters``' dates and of its
    ``months``-month trend, as the scorecard and its sparklines read them (the
    :data:`SHARED_FAMILIES` of both dates in one cube), when a keeper is set (metrics.cube),
    so that a selection of customer dimensions on those dates is then summed instead of
    queried. ``family`` (one of :data:`CUBES`) and ``dates`` (one of :data:`CUBE_DATES`) build
    one of them only: the server's warming builds them one at a time, pausing between them
    for its visitors."""
    unknown = ({family} - set(CUBES) - {None}) | ({dates} - set(CUBE_DATES) - {None})
    if unknown:
        raise ValueError(f"no such cube: {', '.join(map(str, unknown))}")
    settings = settings if settings is not None else load_settings()
    trend_periods = PeriodFacts.trend(conn, filters, settings, months, with_scorecard=True)
    chosen = {"scorecard": (PeriodFacts.scorecard(conn, filters, settings, months), filters),
              "trend": (trend_periods, trend_periods.periods[0])}
    for name, (periods, first) in chosen.items():
        if dates in (None, name):
            for cubed, keep in CUBES.items():
                if family in (None, cubed):
                    keep(conn, periods.wanted(cubed, first), settings)


def month_windows(filters: Filters, months: int) -> list[Filters]:
    """The last ``months`` calendar months up to the end of the range (the last one may be
    partial), each compared with the month before (for the change and growth KPIs)."""
    windows = []
    end = filters.end
    for _ in range(months):
        start = date(end.year, end.month, 1)
        windows.append(replace(filters, start=start, end=end, compare="previous"))
        end = start - timedelta(days=1)
    return windows[::-1]


def trend(conn: Connection, filters: Filters, months: int = SPARKLINE_MONTHS, kpis: tuple[str, ...] | None = None,
          settings: Settings = Settings(), with_scorecard: bool = False) -> pd.DataFrame:
    """The KPIs month by month (rows: month start; columns: KPI names), for sparklines.

    ``kpis`` names the KPIs wanted (default: every KPI but the meta ones); only the metric
    families they read are queried, so four tiles' sparklines do not pay for all seven.
    ``with_scorecard``: shown beside the scorecard of ``filters`` (:func:`evaluate`
    ``sparklines``), reading the :data:`SHARED_FAMILIES` with it.
    """
    wanted = [k for k in CATALOGUE if not k.meta and (kpis is None or k.name in kpis)]
    unknown = set(kpis or ()) - {k.name for k in CATALOGUE}
    if unknown:
        raise ValueError(f"no such KPI: {', '.join(sorted(unknown))}")
    periods = PeriodFacts.trend(conn, filters, settings, months, with_scorecard)
    rows = {}
    for window in periods.periods:
        facts = Facts(conn, window, settings, periods=periods)
        rows[pd.Timestamp(window.start)] = {k.name: k.query(facts) for k in wanted}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[k.name for k in wanted])
    frame.index.name = "month"
    return frame.astype(float)


def comparison_counts(facts: Facts) -> dict[str, tuple[int, int]]:
    """(successes, trials) of every proportion KPI, for significance tests between groups."""
    return {k.name: tuple(int(x) for x in k.counts(facts)) for k in CATALOGUE if k.counts is not None}
