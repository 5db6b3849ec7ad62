"""The canonical CRM data model (docs/data-model.md) as SQLAlchemy Core tables.

Tables are declared in code, never reflected: reflection fails on duckdb 2.x and the
names here are the contract that the metrics, the importer and the tests rely on.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Connection, Engine

from i18n import N_

metadata = MetaData()

# Money is numeric in one currency; returned to Python as float (asdecimal=False)
# so that pandas and statsmodels see plain numbers.
Money = Numeric(18, 2, asdecimal=False)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("name", Text, nullable=True),
    Column("segment", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("industry", Text, nullable=True),
    Column("acquisition_channel", Text, nullable=False),
    Column("owner_team", Text, nullable=True),
    Column("email", Text, nullable=True),
    Column("phone", Text, nullable=True),
    Column("preferred_channel", Text, nullable=True),
    Column("consent_marketing", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("engaged_at", DateTime, nullable=True),
    Column("acquired_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("ordered_at", DateTime, nullable=False),
    Column("amount", Money, nullable=False),
    Column("margin", Money, nullable=True),
    Column("product_category", Text, nullable=True),
    Column("channel", Text, nullable=True),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("opportunity_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=False),
    Column("owner_team", Text, nullable=True),
    Column("source", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    Column("status", Text, nullable=False),
    Column("amount", Money, nullable=True),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("cost", Money, nullable=False),
    Column("target_segment", Text, nullable=True),
)

interactions = Table(
    "interactions",
    metadata,
    Column("interaction_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("channel", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id"), nullable=True),
    Column("personalized", Boolean, nullable=True),
    Column("responded", Boolean, nullable=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=True),
    Column("channel", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("priority", Text, nullable=True),
    Column("sla_class", Text, nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("first_response_at", DateTime, nullable=True),
    Column("resolved_at", DateTime, nullable=True),
    Column("escalated", Boolean, nullable=False),
    Column("resolved_by", Text, nullable=True),
    Column("contacts_to_resolve", Integer, nullable=True),
    Column("csat", Integer, nullable=True),
)

surveys = Table(
    "surveys",
    metadata,
    Column("response_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=True),
    Column("answered_at", DateTime, nullable=False),
    Column("kind", Text, nullable=False),
    Column("score", Integer, nullable=False),
)

survey_invitations = Table(
    "survey_invitations",
    metadata,
    Column("invitation_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id"), nullable=True),
    Column("kind", Text, nullable=False),
    Column("sent_at", DateTime, nullable=False),
    Column("answered", Boolean, nullable=False),
)

#: The eight tables in load order (parents before children).
TABLES: tuple[Table, ...] = (
    customers,
    campaigns,
    orders,
    opportunities,
    interactions,
    tickets,
    surveys,
    survey_invitations,
)

#: Each column as a sentence names it ("12 customers left out: acquisition date is after
#: today"): lower case, English, translated where shown (metrics/health.py's reasons).
FIELD_NAMES: dict[str, str] = {
    # identifiers
    "customer_id": N_("customer ID"), "campaign_id": N_("campaign code"), "order_id": N_("order ID"),
    "opportunity_id": N_("deal ID"), "interaction_id": N_("interaction ID"), "ticket_id": N_("ticket ID"),
    "response_id": N_("answer ID"), "invitation_id": N_("invitation ID"),
    # customers
    "name": N_("name"), "email": N_("email"), "phone": N_("phone"), "segment": N_("segment"), "region": N_("region"),
    "industry": N_("industry"), "acquisition_channel": N_("acquisition channel"), "owner_team": N_("owner team"),
    "preferred_channel": N_("preferred channel"), "consent_marketing": N_("marketing consent"),
    "created_at": N_("creation date"), "engaged_at": N_("engagement date"), "acquired_at": N_("acquisition date"),
    "updated_at": N_("last edit date"),
    # campaigns, orders, deals
    "channel": N_("channel"), "started_at": N_("start date"), "ended_at": N_("end date"), "cost": N_("cost"),
    "target_segment": N_("target segment"), "ordered_at": N_("order date"), "amount": N_("amount"),
    "margin": N_("margin"), "product_category": N_("product category"), "source": N_("source"),
    "status": N_("status"), "closed_at": N_("close date"),
    # interactions
    "occurred_at": N_("contact date"), "direction": N_("direction"), "department": N_("department"),
    "personalized": N_("personalised mark"), "responded": N_("response mark"),
    # tickets
    "category": N_("category"), "priority": N_("priority"), "sla_class": N_("SLA class"),
    "opened_at": N_("opening date"), "first_response_at": N_("first response date"),
    "resolved_at": N_("resolution date"), "escalated": N_("escalation mark"), "resolved_by": N_("resolver"),
    "contacts_to_resolve": N_("contacts to resolve"), "csat": N_("CSAT score"),
    # surveys
    "kind": N_("survey type"), "sent_at": N_("sending date"), "answered": N_("answered mark"),
    "answered_at": N_("answer date"), "score": N_("score"),
}

#: Allowed values of the enumerated columns (schema.md); checked by the importer and tests.
ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("customers", "preferred_channel"): frozenset({"email", "phone", "sms", "mail", "none"}),
    ("opportunities", "status"): frozenset({"open", "won", "lost"}),
    ("interactions", "channel"): frozenset(
        {"phone", "chat", "email", "web", "mobile", "ivr", "in_person", "mail", "social"}
    ),
    ("interactions", "direction"): frozenset({"inbound", "outbound"}),
    ("interactions", "department"): frozenset(
        {"sales", "service", "marketing", "back_office", "partner"}
    ),
    ("tickets", "category"): frozenset({"complaint", "support", "question", "request"}),
    ("tickets", "priority"): frozenset({"low", "normal", "high", "urgent"}),
    ("tickets", "sla_class"): frozenset({"immediate", "deferred"}),
    ("tickets", "resolved_by"): frozenset(
        {"front_office", "back_office", "self_service", "partner"}
    ),
    ("surveys", "kind"): frozenset({"nps", "csat", "ces"}),
    ("survey_invitations", "kind"): frozenset({"nps", "csat", "ces"}),
}

#: Score range per survey kind.
SURVEY_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

# Indexes the metric queries use on row stores (PostgreSQL): joins on customer_id and
# range filters on the *_at columns. Column stores (DuckDB) prune by zone maps instead,
# so these are created only where they help (see create_indexes).
INDEXES: tuple[tuple[str, str], ...] = (
    ("customers", "created_at"),
    ("customers", "acquired_at"),
    ("customers", "email"),
    ("orders", "customer_id"),
    ("orders", "ordered_at"),
    ("opportunities", "customer_id"),
    ("opportunities", "created_at"),
    ("interactions", "customer_id"),
    ("interactions", "occurred_at"),
    ("interactions", "campaign_id"),
    ("tickets", "customer_id"),
    ("tickets", "opened_at"),
    ("surveys", "customer_id"),
    ("surveys", "answered_at"),
    ("survey_invitations", "sent_at"),
)


def create_schema(bind: Engine | Connection) -> None:
    """Create the eight tables (without the secondary indexes)."""
    metadata.create_all(bind, tables=list(TABLES))


def create_indexes(bind: Engine | Connection) -> None:
    """Create the secondary indexes on dialects that benefit from them (not DuckDB)."""
    if bind.dialect.name == "duckdb":
        return
    # Names come from the constant INDEXES above, never from input. Building Index
    # objects on the columns would attach them to the tables (and so to DuckDB too).
    statements = [
        f"CREATE INDEX IF NOT EXISTS ix_{t}_{c} ON {t} ({c})" for t, c in INDEXES
    ]
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    else:
        for statement in statements:
            bind.execute(text(statement))


def table(name: str) -> Table:
    """The declared table called ``name``; KeyError when it is not part of the model."""
    return metadata.tables[name]
