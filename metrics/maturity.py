"""CRM maturity (metrics.md §7, seeds 002-004): where the company is, and what is next.

Four phases (Randy Harris, seed 002), each with criteria evaluated on the data:

1. **Technology** — the customer database exists and communications are automated;
2. **Integration** — departments are linked and share one customer record;
3. **Process** — the organisation is measured by customer satisfaction;
4. **Customer-centric** — the company knows what, when, why and how much customers will
   buy, and acts on it, contacting customers within their preferences.

The phase reached is the highest phase whose criteria, and those of every phase before
it, all hold (a criterion without data does not hold). The CRM lead's self-assessment
(Gartner's eight rules, 1-5 per statement, and the phase they believe is reached) is set
beside the evidence, and the places where the two disagree are named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import partial
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from data.schema import interactions, orders
from i18n import N_, Text, _, day, lazy, lazy_plural, number
from metrics import engagement
from metrics.catalogue import KPIS, TARGETS_PATH, Facts, Rule, Scorecard, evaluate, load_settings, meets
from metrics.filters import Filters
from metrics.sql import count_if, ratio
from metrics.units import format_value

#: The phases and what each means (English; shown with ``_(...)``).
PHASES = {1: N_("Technology"), 2: N_("Integration"), 3: N_("Process"), 4: N_("Customer-centric")}
PHASE_TEXT = {
    1: N_("Customer database and communications automated."),
    2: N_("Departments linked, sharing one customer record."),
    3: N_("The organisation measured by customer satisfaction."),
    4: N_("Knows what, when, why and how much customers will buy, and acts on it."),
}


@dataclass(frozen=True)
class Thresholds:
    """Where each criterion's line is drawn (settings: ``[maturity]`` in targets.toml)."""

    min_customers: int = 1
    min_completeness: float = 0.90
    min_campaign_contacts: int = 1
    min_channels: int = 3
    min_linked_share: float = 0.95
    min_multi_department_share: float = 0.50
    max_duplicate_rate: float = 0.02
    min_departments: int = 2
    min_nps_answers: int = 30
    min_survey_response_rate: float = 0.15
    min_repeat_buyers: int = 100
    max_off_preferred_share: float = 0.05
    max_against_consent_share: float = 0.01
    max_over_contacted_share: float = 0.05
    min_personalized_share: float = 0.25


def load_thresholds(path: Path = TARGETS_PATH) -> Thresholds:
    """Thresholds with the overrides of ``[maturity]`` in targets.toml (names checked)."""
    if not path.exists():
        return Thresholds()
    data = tomllib.loads(path.read_text()).get("maturity", {})
    known = {f.name: f.type for f in fields(Thresholds)}
    unknown = [k for k in data if k not in known]
    if unknown:
        raise ValueError(f"{path}: [maturity] has unknown setting(s) {', '.join(unknown)}")
    return replace(Thresholds(), **data)


@dataclass(frozen=True)
class Criterion:
    """One piece of evidence for a phase."""

    phase: int
    name: str
    label: str
    value: float | None
    threshold: str
    holds: bool
    kpi: str | None  # the catalogue KPI it is read from, for links
    shown: str  # the value in words


def _repeat_buyers(conn: Connection, filters: Filters) -> int:
    """Customers with orders on at least two different days before as_of (BG/NBD needs them)."""
    o = orders.c
    per_customer = (select(o.customer_id, func.count(func.distinct(func.date_trunc("day", o.ordered_at))).label("days"))
                    .where(o.ordered_at < filters.as_of, o.amount > 0, *filters.fact_clauses(orders))
                    .group_by(o.customer_id).subquery())
    return int(conn.execute(select(count_if(per_customer.c.days >= 2))).scalar())


def _channels_and_departments(conn: Connection, filters: Filters) -> tuple[int, int]:
    i = interactions.c
    return tuple(int(v) for v in conn.execute(
        select(func.count(func.distinct(i.channel)), func.count(func.distinct(i.department)))
        .where(filters.in_period(i.occurred_at), *filters.fact_clauses(interactions, "channel"))).one())


def _personalized_share(conn: Connection, filters: Filters) -> float | None:
    comparison = engagement.personalization_response(conn, filters)
    return ratio(comparison.personalized_contacts, comparison.personalized_contacts + comparison.generic_contacts)


def evidence(conn: Connection, filters: Filters, card: Scorecard | None = None,
             thresholds: Thresholds = Thresholds(), targets: dict[str, float] | None = None) -> list[Criterion]:
    """Every criterion of the four phases, evaluated for the filters."""
    card = card or evaluate(conn, filters, targets)
    value = {r.kpi.name: r.value for r in card.results}
    target = {r.kpi.name: r.target for r in card.results}
    t = thresholds
    facts = Facts(conn, filters, load_settings())  # the scorecard's families (kept by the app)
    interactions_facts = facts.interactions
    consent = engagement.consent_facts(conn, filters)
    pressure = engagement.pressure_facts(conn, filters)
    channels, departments = _channels_and_departments(conn, filters)
    records = facts.quality["records"]
    nps_answers = int(facts.surveys["nps_answers"])
    repeat = _repeat_buyers(conn, filters)
    personal = _personalized_share(conn, filters)

    def at_least(v, line):
        return v is not None and v >= line

    def at_most(v, line):
        return v is not None and v <= line

    def on_target(name):
        return value[name] is not None and meets(value[name], target[name], KPIS[name].direction)

    def n(v):
        return partial(number, v)

    def shown_pct(v):
        return partial(format_value, v, KPIS["sla_compliance"].unit)

    return [
        Criterion(1, "customer_records", N_("Customer database in place"), records,
                  lazy_plural("≥ {count} record", "≥ {count} records", t.min_customers, count=n(t.min_customers)), at_least(records, t.min_customers), "completeness",
                  lazy("{n} records", n=n(records))),
        Criterion(1, "completeness", N_("Customer records complete"), value["completeness"],
                  lazy("≥ {value}", value=shown_pct(t.min_completeness)),
                  at_least(value["completeness"], t.min_completeness),
                  "completeness", lazy("{value}", value=shown_pct(value["completeness"]))),
        Criterion(1, "automated_communications", N_("Communications automated (campaign contacts recorded)"),
                  interactions_facts["campaign_contacts"],
                  lazy_plural("≥ {count} campaign contact", "≥ {count} campaign contacts", t.min_campaign_contacts,
                              count=n(t.min_campaign_contacts)),
                  at_least(interactions_facts["campaign_contacts"], t.min_campaign_contacts),
                  "campaign_response_rate", lazy("{n} contacts", n=n(interactions_facts["campaign_contacts"]))),
        Criterion(1, "channels", N_("Contacts recorded on several channels"), channels,
                  lazy_plural("≥ {n} channel", "≥ {n} channels", t.min_channels),
                  at_least(channels, t.min_channels), "digital_share", lazy("{n} channels", n=channels)),
        Criterion(2, "linked_interactions", N_("Interactions linked to one customer record"),
                  value["linked_interactions"], lazy("≥ {value}", value=shown_pct(t.min_linked_share)),
                  at_least(value["linked_interactions"], t.min_linked_share), "linked_interactions",
                  lazy("{value}", value=shown_pct(value["linked_interactions"]))),
        Criterion(2, "departments", N_("Departments recording contacts"), departments,
                  lazy_plural("≥ {n} department", "≥ {n} departments", t.min_departments), at_least(departments, t.min_departments),
                  "multi_department_share", lazy("{n} departments", n=departments)),
        Criterion(2, "shared_record", N_("Customers served by two or more departments under one id"),
                  value["multi_department_share"], lazy("≥ {value}", value=shown_pct(t.min_multi_department_share)),
                  at_least(value["multi_department_share"], t.min_multi_department_share),
                  "multi_department_share", lazy("{value}", value=shown_pct(value["multi_department_share"]))),
        Criterion(2, "duplicates", N_("One record per customer (few duplicates)"), value["duplicate_rate"],
                  lazy("≤ {value}", value=shown_pct(t.max_duplicate_rate)),
                  at_most(value["duplicate_rate"], t.max_duplicate_rate),
                  "duplicate_rate", lazy("{value}", value=shown_pct(value["duplicate_rate"]))),
        Criterion(3, "sla_on_target", N_("Service level measured and on target"), value["sla_compliance"],
                  lazy("≥ {value}, the target", value=shown_pct(target["sla_compliance"])), on_target("sla_compliance"),
                  "sla_compliance", lazy("{value}", value=shown_pct(value["sla_compliance"]))),
        Criterion(3, "csat_on_target", N_("Satisfaction (CSAT) measured and on target"), value["csat"],
                  lazy("≥ {value}, the target", value=shown_pct(target["csat"])), on_target("csat"), "csat",
                  lazy("{value}", value=shown_pct(value["csat"]))),
        Criterion(3, "nps_measured", N_("NPS measured"), nps_answers, lazy_plural("≥ {n} answer", "≥ {n} answers", t.min_nps_answers),
                  at_least(nps_answers, t.min_nps_answers), "nps", lazy("{n} answers", n=n(nps_answers))),
        Criterion(3, "survey_response", N_("Customers answer the surveys"), value["survey_response_rate"],
                  lazy("≥ {value}", value=shown_pct(t.min_survey_response_rate)),
                  at_least(value["survey_response_rate"], t.min_survey_response_rate), "survey_response_rate",
                  lazy("{value}", value=shown_pct(value["survey_response_rate"]))),
        Criterion(4, "predictive", N_("Enough purchase history for predictive CLV and churn (BG/NBD)"), repeat,
                  lazy_plural("≥ {count} repeat buyer", "≥ {count} repeat buyers", t.min_repeat_buyers,
                              count=n(t.min_repeat_buyers)), at_least(repeat, t.min_repeat_buyers),
                  "active_customers_growth", lazy("{n} repeat buyers", n=n(repeat))),
        Criterion(4, "preferred_channel", N_("Contacts on the customer's preferred channel"),
                  consent["off_preferred_share"],
                  lazy("≤ {value} off channel", value=shown_pct(t.max_off_preferred_share)),
                  at_most(consent["off_preferred_share"], t.max_off_preferred_share), "campaign_response_rate",
                  lazy("{value} off channel", value=shown_pct(consent["off_preferred_share"]))),
        Criterion(4, "consent", N_("Marketing only with consent"), consent["against_consent_share"],
                  lazy("≤ {value} against consent", value=shown_pct(t.max_against_consent_share)),
                  at_most(consent["against_consent_share"], t.max_against_consent_share), "campaign_response_rate",
                  lazy("{value} against consent", value=shown_pct(consent["against_consent_share"]))),
        Criterion(4, "no_saturation", N_("Customers not saturated with contacts"), pressure["over_contacted_share"],
                  lazy("≤ {value} over-contacted", value=shown_pct(t.max_over_contacted_share)),
                  at_most(pressure["over_contacted_share"], t.max_over_contacted_share), "campaign_response_rate",
                  lazy("{value} over-contacted", value=shown_pct(pressure["over_contacted_share"]))),
        Criterion(4, "personalized", N_("One-to-one (personalised) contacts"), personal,
                  lazy("≥ {value}", value=shown_pct(t.min_personalized_share)),
                  at_least(personal, t.min_personalized_share),
                  "campaign_response_rate", lazy("{value}", value=shown_pct(personal))),
    ]


def phase_reached(criteria: list[Criterion]) -> int:
    """The highest phase whose criteria and those of every earlier phase all hold (0 = none)."""
    reached = 0
    for phase in PHASES:
        mine = [c for c in criteria if c.phase == phase]
        if mine and all(c.holds for c in mine):
            reached = phase
        else:
            break
    return reached


def missing_for_next(criteria: list[Criterion]) -> list[Criterion]:
    """What does not hold yet in the first phase not reached."""
    nxt = phase_reached(criteria) + 1
    return [c for c in criteria if c.phase <= nxt and not c.holds]


# ---- self-assessment
@dataclass(frozen=True)
class Statement:
    id: str
    rule: Rule
    text: str


QUESTIONNAIRE: tuple[Statement, ...] = (
    Statement("vision_1", Rule.VISION, N_("We have a written picture of the customer-centred company we want to be.")),
    Statement("vision_2", Rule.VISION, N_("Our brand promise is known and lived by customer-facing staff.")),
    Statement("vision_3", Rule.VISION, N_("Leadership talks about customers before products.")),
    Statement("strategy_1", Rule.STRATEGY, N_("Customer segments are defined and have objectives.")),
    Statement("strategy_2", Rule.STRATEGY, N_("We manage the customer base as an asset (value, retention, acquisition cost).")),
    Statement("strategy_3", Rule.STRATEGY, N_("We decide how to interact with each segment.")),
    Statement("experiences_1", Rule.EXPERIENCES, N_("Every interaction is designed to give the customer value.")),
    Statement("experiences_2", Rule.EXPERIENCES, N_("Customers get the same answer on every channel.")),
    Statement("experiences_3", Rule.EXPERIENCES, N_("Complaints are rare and solved fast.")),
    Statement("collaboration_1", Rule.COLLABORATION, N_("Sales, service and marketing share one view of the customer.")),
    Statement("collaboration_2", Rule.COLLABORATION, N_("Partners and suppliers work to our customer standards.")),
    Statement("collaboration_3", Rule.COLLABORATION, N_("Incentives reward customer outcomes, not only sales.")),
    Statement("processes_1", Rule.PROCESSES, N_("Service levels are agreed and met.")),
    Statement("processes_2", Rule.PROCESSES, N_("Complaints, support and promotions follow defined processes.")),
    Statement("processes_3", Rule.PROCESSES, N_("We plan with what the customer data tells us.")),
    Statement("information_1", Rule.INFORMATION, N_("Customer records are complete and up to date.")),
    Statement("information_2", Rule.INFORMATION, N_("Each customer has exactly one record.")),
    Statement("information_3", Rule.INFORMATION, N_("The right information reaches the person who needs it.")),
    Statement("technology_1", Rule.TECHNOLOGY, N_("Customers can serve themselves on digital channels.")),
    Statement("technology_2", Rule.TECHNOLOGY, N_("Our systems are integrated rather than islands.")),
    Statement("technology_3", Rule.TECHNOLOGY, N_("Technology follows the strategy, not the other way round.")),
    Statement("metrics_1", Rule.METRICS, N_("We measure CRM results inside and outside the company.")),
    Statement("metrics_2", Rule.METRICS, N_("Every key figure has a target and an owner.")),
    Statement("metrics_3", Rule.METRICS, N_("We act when a figure is off target.")),
)
STATEMENTS = {s.id: s for s in QUESTIONNAIRE}
CLAIMED_PHASE = "claimed_phase"  # the lead's own view of the phase reached (1..4)


def self_scores(answers: dict[str, int]) -> dict[int, float | None]:
    """Per rule: 100 x (mean answer - 1) / 4 (1 = 0, 5 = 100); None when unanswered."""
    out: dict[int, float | None] = {}
    for rule in Rule:
        scores = [answers[s.id] for s in QUESTIONNAIRE if s.rule is rule and s.id in answers]
        out[rule.value] = 100.0 * (sum(scores) / len(scores) - 1) / 4 if scores else None
    return out


@dataclass(frozen=True)
class Disagreement:
    rule: Rule
    self_score: float
    data_score: float
    worst: str  # the KPI that pulls the data score down, in words

    @property
    def gap(self) -> float:
        return self.self_score - self.data_score

    def sentence(self) -> str:
        """The disagreement in words, in the current language."""
        if self.gap > 0:
            text = _("{rule}: the self-assessment is {gap} points higher than the data ({own} vs {data}).")
        else:
            text = _("{rule}: the self-assessment is {gap} points lower than the data ({own} vs {data}).")
        text = text.format(rule=_(self.rule.title), gap=number(abs(self.gap)), own=number(self.self_score),
                           data=number(self.data_score))
        return f"{text} {self.worst}" if self.worst else text + " "


def disagreements(answers: dict[str, int], card: Scorecard, gap: float = 25.0) -> list[Disagreement]:
    """Rules where the self-assessment and the data differ by at least ``gap`` points."""
    own = self_scores(answers)
    data = {r.rule.value: r.score for r in card.rules}
    out = []
    for rule in Rule:
        mine, measured = own[rule.value], data[rule.value]
        if mine is None or measured is None or abs(mine - measured) < gap:
            continue
        results = [r for r in card.results if r.kpi.rule is rule and r.attainment is not None]
        worst = min(results, key=lambda r: r.attainment) if results else None
        words = "" if worst is None else lazy(
            "Weakest figure: {kpi} {value} (target {comparator} {target}).", kpi=lazy(worst.kpi.label),
            value=partial(format_value, worst.value, worst.kpi.unit),
            comparator="≥" if worst.kpi.direction.value == "higher" else "≤",
            target=partial(format_value, worst.target, worst.kpi.unit))
        out.append(Disagreement(rule, mine, measured, words))
    return out


def combined_phase(evidence_phase: int, claimed: int | None) -> int:
    """The phase both the data and the lead support: the lower of the two."""
    return evidence_phase if claimed is None else min(evidence_phase, claimed)


# ---- implementation risks (seed 004)
@dataclass(frozen=True)
class Risk:
    name: str
    title: str
    question: str  # asked to the CRM lead; "yes" means the risk is present
    status: str  # "risk", "ok" or "unknown"
    source: str  # "data", "lead" or "data and lead"
    evidence: str


RISK_QUESTIONS = {
    "technology_before_strategy": (N_("Technology before strategy"),
                                   N_("Was the CRM software chosen before the customer strategy and its objectives?")),
    "no_organisational_change": (N_("No organisational change"),
                                 N_("Are roles, incentives and processes still organised around products, not customers?")),
    "big_bang": (N_("Big-bang rollout"), N_("Is the rollout planned in one go rather than in stages?")),
    "saturating_the_customer": (N_("Saturating the customer"),
                                N_("Do campaigns decide contact frequency without regard to customer preferences?")),
}
#: How a risk's status and the source of its evidence read (English; shown with ``_(...)``).
RISK_STATUS = {"risk": N_("risk"), "ok": N_("ok"), "unknown": N_("unknown")}
RISK_SOURCES = (N_("data"), N_("lead"), N_("data and lead"), N_("nobody yet"))


def risks(card: Scorecard, criteria: list[Criterion], answers: dict[str, str], roadmap: pd.DataFrame | None,
          segments: int, targets_defined: bool) -> list[Risk]:
    """The four classic implementation errors, from the data where it can tell, else the lead's answer."""
    by_name = {c.name: c for c in criteria}
    value = {r.kpi.name: r for r in card.results}
    out = []

    def combine(name: str, data_flag: bool | None, evidence: str) -> Risk:
        title, question = RISK_QUESTIONS[name]
        answer = answers.get(name)
        lead_flag = None if answer in (None, "unsure") else answer == "yes"
        flags = [f for f in (data_flag, lead_flag) if f is not None]
        status = "unknown" if not flags else ("risk" if any(flags) else "ok")
        source = " and ".join(s for s, f in (("data", data_flag), ("lead", lead_flag)) if f is not None) or "nobody yet"
        return Risk(name, title, question, status, source, evidence)

    strategy_defined = segments >= 2 and targets_defined
    out.append(combine("technology_before_strategy", not strategy_defined,
                       lazy("{n} segments in the data; targets defined.", n=segments) if targets_defined else
                       lazy("{n} segments in the data; targets not defined.", n=segments)))
    multi = value["multi_department_share"]
    silo = None if multi.value is None else multi.status.value == "off target"
    out.append(combine("no_organisational_change", silo,
                       lazy("Customers served across departments: {value} (target ≥ {target}).",
                            value=partial(format_value, multi.value, multi.kpi.unit),
                            target=partial(format_value, multi.target, multi.kpi.unit))))
    # the data can tell only once implementation is planned: one go-live date for all of it is a big bang
    implementation = None if roadmap is None or roadmap.empty else roadmap[roadmap.stage == "Implementation"]
    dates = 0 if implementation is None else implementation.due_date.dropna().nunique()
    big_bang = None if implementation is None or implementation.empty else dates < 2
    out.append(combine("big_bang", big_bang,
                       lazy("No implementation items on the roadmap yet.") if big_bang is None else
                       lazy("{items} implementation item(s) planned on {dates} distinct date(s).",
                            items=len(implementation), dates=dates)))
    saturated = [by_name[n] for n in ("no_saturation", "consent", "preferred_channel") if n in by_name]
    bad = [c for c in saturated if c.value is not None and not c.holds]
    out.append(combine("saturating_the_customer", None if all(c.value is None for c in saturated) else bool(bad),
                       _Joined(tuple(lazy("{criterion}: {value} (limit {line})", criterion=lazy(c.label), value=c.shown,
                                          line=c.threshold) for c in saturated))))
    return out


class _Joined(Text):
    """Texts joined by "; ", each in the language of whoever shows them."""

    def __new__(cls, parts: tuple):
        self = str.__new__(cls, "; ".join(parts))
        self.parts = parts
        return self

    def __str__(self) -> str:
        return "; ".join(str(part) for part in self.parts)

    def __reduce__(self):
        return (_Joined, (self.parts,))


# ---- roadmap
def overdue(roadmap: pd.DataFrame, today: date) -> pd.DataFrame:
    """Items past their due date and not done."""
    if roadmap.empty:
        return roadmap
    due = pd.to_datetime(roadmap.due_date)
    return roadmap[(due.dt.date < today) & (roadmap.status != "done")]


# ---- report
def report_markdown(filters: Filters, criteria: list[Criterion], card: Scorecard, claimed: int | None,
                    answers: dict[str, int], risk_list: list[Risk], roadmap: pd.DataFrame, today: date) -> str:
    """The maturity report for the steering committee, in Markdown, in the current language."""
    reached = phase_reached(criteria)
    headline = _("**Phase reached on the evidence: {phase} {name}**").format(
        phase=reached, name=_(PHASES[reached]) if reached in PHASES else _("none"))
    if claimed:
        headline += _("; the CRM lead's view: {phase} {name}").format(phase=claimed, name=_(PHASES[claimed]))
    lines = [_("# CRM maturity report — {day}").format(day=day(today)), "",
             _("Data: {filters}").format(filters=filters.describe()), "", headline, ""]
    for phase, name in PHASES.items():
        lines += [_("## Phase {phase}: {name}").format(phase=phase, name=_(name)), _(PHASE_TEXT[phase]), "",
                  _("| criterion | value | line | holds |"), "|---|---|---|---|"]
        lines += [f"| {_(c.label)} | {c.shown} | {c.threshold} | {_('yes') if c.holds else _('no')} |"
                  for c in criteria if c.phase == phase]
        lines.append("")
    lines += [_("## Gartner's eight rules: data and self-assessment"), "", _("| rule | data | self-assessment |"),
              "|---|---:|---:|"]
    own = self_scores(answers)
    for r in card.rules:
        data_score = _("no data") if r.score is None else number(r.score)
        mine = "—" if own.get(r.rule.value) is None else number(own[r.rule.value])
        lines.append(f"| {r.rule.value} {_(r.rule.title)} | {data_score} | {mine} |")
    gaps = disagreements(answers, card)
    if gaps:
        lines += ["", _("Where they disagree:"), *[f"- {g.sentence().strip()}" for g in gaps]]
    lines += ["", _("## Implementation risks"), "", _("| risk | status | from | evidence |"), "|---|---|---|---|"]
    lines += [f"| {_(r.title)} | {_(RISK_STATUS.get(r.status, r.status))} | {_(r.source)} | {r.evidence} |"
              for r in risk_list]
    lines += ["", _("## Transformation roadmap"), ""]
    if roadmap.empty:
        lines.append(_("No roadmap items yet."))
    else:
        late = set(overdue(roadmap, today).item_id)
        lines += [_("| stage | item | owner | due | status |"), "|---|---|---|---|---|"]
        for item in roadmap.itertuples():
            due = "" if item.due_date is None or pd.isna(item.due_date) else day(pd.Timestamp(item.due_date))
            flag = " " + _("**(overdue)**") if item.item_id in late else ""
            owner = "" if item.owner is None or pd.isna(item.owner) else item.owner
            lines.append(f"| {item.stage} | {item.title} | {owner} | {due} | {item.status}{flag} |")
    off = [r for r in card.results if r.status.value == "off target"]
    lines += ["", _("## KPIs off target"), ""]
    lines += [_("- {kpi}: {value} (target {target})").format(kpi=_(r.kpi.label), value=format_value(r.value, r.kpi.unit),
                                                           target=format_value(r.target, r.kpi.unit))
              for r in off] or [_("None.")]
    return "\n".join(lines) + "\n"
