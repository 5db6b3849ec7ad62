"""How a column reads in a table: its label, and how its values are shown.

One place for every schema column and every column the metric queries add, so that no
table shows ``ticket_id`` or ``1.0`` for a count. :func:`column_config` builds Streamlit's
column configuration for a frame; a page's own entries override these.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

#: Column -> label a person reads.
LABELS: dict[str, str] = {
    # identifiers
    "customer_id": "Customer ID", "ticket_id": "Ticket", "order_id": "Order", "opportunity_id": "Deal",
    "interaction_id": "Interaction", "campaign_id": "Campaign", "response_id": "Answer", "invitation_id": "Invitation",
    # customers
    "name": "Name", "customer": "Customer", "email": "Email", "phone": "Phone", "segment": "Segment",
    "region": "Region", "industry": "Industry", "acquisition_channel": "Acquisition channel",
    "owner_team": "Team", "preferred_channel": "Preferred channel", "consent_marketing": "Marketing consent",
    "created_at": "Created", "engaged_at": "Engaged", "acquired_at": "Acquired", "updated_at": "Last edited",
    # facts
    "ordered_at": "Ordered", "amount": "Amount", "margin": "Margin", "product_category": "Product category",
    "source": "Source", "closed_at": "Closed", "status": "Status", "cycle_days": "Cycle (days)",
    "age_days": "Age (days)", "occurred_at": "When", "channel": "Channel", "direction": "Direction",
    "department": "Department", "personalized": "Personalised", "responded": "Responded",
    "category": "Category", "priority": "Priority", "sla_class": "SLA class", "opened_at": "Opened",
    "first_response_at": "First response", "resolved_at": "Resolved", "escalated": "Escalated",
    "resolved_by": "Resolved by", "contacts_to_resolve": "Contacts to resolve", "csat": "CSAT score",
    "sla_status": "SLA status", "hours_over_deadline": "Hours over deadline", "answered_at": "Answered",
    "kind": "Survey", "score": "Score", "sent_at": "Sent", "answered": "Answered", "started_at": "Started",
    "ended_at": "Ended", "cost": "Cost", "target_segment": "Target segment",
    # computed
    "orders_last_year": "Orders (last 12 months)", "revenue_last_year": "Revenue (last 12 months)",
    "margin_last_year": "Margin (last 12 months)", "revenue": "Revenue", "customers": "Customers",
    "orders": "Orders", "tickets": "Tickets", "contacts": "Contacts", "week": "Week", "period": "Period",
    "weeks_over_limit": "Weeks over the limit", "max_per_week": "Most contacts in a week",
    "outbound_contacts": "Outbound contacts", "days_since_update": "Days since last edit",
    "group": "Group", "total": "Total", "records": "Records", "met": "Met", "breached": "Breached",
    "pending": "Pending", "duration_days": "Days observed", "churned": "Churned", "cohort": "Cohort",
    "first_contact": "First contact", "responses": "Responses",
}
DATETIMES = {"created_at", "engaged_at", "acquired_at", "updated_at", "ordered_at", "closed_at", "occurred_at",
             "opened_at", "first_response_at", "resolved_at", "answered_at", "sent_at", "started_at", "ended_at",
             "first_contact"}
MONEY = {"amount", "margin", "cost", "revenue", "revenue_last_year", "margin_last_year"}
COUNTS = {"orders_last_year", "customers", "orders", "tickets", "contacts", "weeks_over_limit", "max_per_week",
          "outbound_contacts", "contacts_to_resolve", "total", "records", "met", "breached", "pending", "responses"}
DAYS = {"cycle_days", "age_days", "days_since_update", "duration_days", "hours_over_deadline"}


def label(column: str) -> str:
    """A column's label (a readable fallback for columns not listed)."""
    return LABELS.get(column, column.replace("_", " ").capitalize())


def column_config(frame: pd.DataFrame, **overrides) -> dict:
    """Streamlit column configuration for every column of ``frame``: label and value format."""
    config: dict = {}
    for column in frame.columns:
        name = str(column)
        text = label(name)
        if name in DATETIMES:
            config[name] = st.column_config.DatetimeColumn(text, format="YYYY-MM-DD HH:mm")
        elif name in MONEY:
            config[name] = st.column_config.NumberColumn(text, format="localized")
        elif name in COUNTS:
            config[name] = st.column_config.NumberColumn(text, format="%d")
        elif name in DAYS:
            config[name] = st.column_config.NumberColumn(text, format="%.1f")
        elif pd.api.types.is_bool_dtype(frame[column]):
            config[name] = st.column_config.CheckboxColumn(text)
        else:
            config[name] = st.column_config.Column(text)
    config.update(overrides)
    return config


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values shown as an empty cell rather than "None" (object columns)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].where(out[column].notna(), "")
    return out
