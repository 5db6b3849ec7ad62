"""How a column reads in a table: its label, and how its values are shown.

One place for every schema column and every column the metric queries add, so that no
table shows ``ticket_id`` or ``1.0`` for a count. :func:`column_config` builds Streamlit's
column configuration for a frame; a page's own entries override these.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

import i18n
from i18n import N_, _

#: Column -> label a person reads.
LABELS: dict[str, str] = {
    # identifiers
    "customer_id": N_("Customer ID"), "ticket_id": N_("Ticket"), "order_id": N_("Order"), "opportunity_id": N_("Deal"),
    "interaction_id": N_("Interaction"), "campaign_id": N_("Campaign"), "response_id": N_("Answer"), "invitation_id": N_("Invitation"),
    # customers
    "name": N_("Name"), "customer": N_("Customer"), "email": N_("Email"), "phone": N_("Phone"), "segment": N_("Segment"),
    "region": N_("Region"), "industry": N_("Industry"), "acquisition_channel": N_("Acquisition channel"),
    "owner_team": N_("Team"), "preferred_channel": N_("Preferred channel"), "consent_marketing": N_("Marketing consent"),
    "created_at": N_("Created"), "engaged_at": N_("Engaged"), "acquired_at": N_("Acquired"), "updated_at": N_("Last edited"),
    # facts
    "ordered_at": N_("Ordered"), "amount": N_("Amount"), "margin": N_("Margin"), "product_category": N_("Product category"),
    "source": N_("Source"), "closed_at": N_("Closed"), "status": N_("Status"), "cycle_days": N_("Cycle (days)"),
    "age_days": N_("Age (days)"), "occurred_at": N_("When"), "channel": N_("Channel"), "direction": N_("Direction"),
    "department": N_("Department"), "personalized": N_("Personalised"), "responded": N_("Responded"),
    "category": N_("Category"), "priority": N_("Priority"), "sla_class": N_("SLA class"), "opened_at": N_("Opened"),
    "first_response_at": N_("First response"), "resolved_at": N_("Resolved"), "escalated": N_("Escalated"),
    "resolved_by": N_("Resolved by"), "contacts_to_resolve": N_("Contacts to resolve"), "csat": N_("CSAT score"),
    "sla_status": N_("SLA status"), "hours_over_deadline": N_("Hours over deadline"), "answered_at": N_("Answered"),
    "kind": N_("Survey"), "score": N_("Score"), "sent_at": N_("Sent"), "answered": N_("Answered"), "started_at": N_("Started"),
    "ended_at": N_("Ended"), "cost": N_("Cost"), "target_segment": N_("Target segment"),
    # computed
    "orders_last_year": N_("Orders (last 12 months)"), "revenue_last_year": N_("Revenue (last 12 months)"),
    "margin_last_year": N_("Margin (last 12 months)"), "revenue": N_("Revenue"), "customers": N_("Customers"),
    "orders": N_("Orders"), "tickets": N_("Tickets"), "contacts": N_("Contacts"), "week": N_("Week"), "period": N_("Period"),
    "weeks_over_limit": N_("Weeks over the limit"), "max_per_week": N_("Most contacts in a week"),
    "outbound_contacts": N_("Outbound contacts"), "days_since_update": N_("Days since last edit"),
    "group": N_("Group"), "total": N_("Total"), "records": N_("Records"), "met": N_("Met"), "breached": N_("Breached"),
    "pending": N_("Pending"), "duration_days": N_("Days observed"), "churned": N_("Churned"), "cohort": N_("Cohort"),
    "first_contact": N_("First contact"), "responses": N_("Responses"),
}
#: Funnel stage -> its name (metrics.funnel.STAGE_LABELS, marked here for translation).
STAGE_NAMES: dict[str, str] = {"prospect": N_("Prospect"), "attracted": N_("Attracted"), "acquired": N_("Acquired"),
                               "retained": N_("Retained"), "lifetime": N_("Lifetime customer")}
#: Coded values of enumerated columns -> the words shown in tables (the data keeps its codes).
VALUES: dict[str, str] = {
    "open": N_("open"), "won": N_("won"), "lost": N_("lost"),
    "met": N_("met"), "breached": N_("breached"), "pending": N_("pending"),
    "immediate": N_("immediate"), "deferred": N_("deferred"),
    "inbound": N_("inbound"), "outbound": N_("outbound"),
    "front_office": N_("front office"), "back_office": N_("back office"), "self_service": N_("self-service"),
    "partner": N_("partner"), "in_person": N_("in person"),
    "complaint": N_("complaint"), "support": N_("support"), "question": N_("question"), "request": N_("request"),
    "low": N_("low"), "normal": N_("normal"), "high": N_("high"), "urgent": N_("urgent"),
    # channels and departments
    "phone": N_("phone"), "chat": N_("chat"), "email": N_("email"), "web": N_("web"), "mobile": N_("mobile app"),
    "ivr": N_("IVR"), "mail": N_("post"), "social": N_("social media"), "sms": N_("SMS"), "none": N_("none"),
    "event": N_("event"), "sales": N_("sales"), "service": N_("service"), "marketing": N_("marketing"),
    # deal sources, and a group the data leaves empty (metrics.pipeline.UNKNOWN)
    "direct": N_("direct"), "campaign": N_("campaign"), "referral": N_("referral"),
    "(not recorded)": N_("(not recorded)"),
}
#: Columns whose values are codes of :data:`VALUES`.
CODED = {"status", "sla_status", "sla_class", "direction", "resolved_by", "category", "priority", "channel",
         "preferred_channel", "department"}
DATETIMES = {"created_at", "engaged_at", "acquired_at", "updated_at", "ordered_at", "closed_at", "occurred_at",
             "opened_at", "first_response_at", "resolved_at", "answered_at", "sent_at", "started_at", "ended_at",
             "first_contact"}
MONEY = {"amount", "margin", "cost", "revenue", "revenue_last_year", "margin_last_year"}
COUNTS = {"orders_last_year", "customers", "orders", "tickets", "contacts", "weeks_over_limit", "max_per_week",
          "outbound_contacts", "contacts_to_resolve", "total", "records", "met", "breached", "pending", "responses"}
#: What a table shows in an empty cell (``st.dataframe(placeholder=EMPTY)``): Streamlit writes
#: "None" otherwise; the placeholder keeps the column's format (dates, money, counts), which a
#: Styler's ``na_rep`` would replace.
EMPTY = "—"
DAYS = {"cycle_days", "age_days", "days_since_update", "duration_days", "hours_over_deadline"}


def label(column: str) -> str:
    """A column's label in the page's language (a readable fallback for columns not listed)."""
    return _(LABELS[column]) if column in LABELS else column.replace("_", " ").capitalize()


def stage_labels() -> dict[str, str]:
    """Funnel stage -> its name in the page's language."""
    return {stage: _(name) for stage, name in STAGE_NAMES.items()}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT


def named_definition(label: str, definition: str) -> str:
    """A KPI's definition under its name, in markdown: the name in bold, or the definition's own
    opening words in bold where it starts with the name ("**Customer equity growth** (active
    customers x ...)"), not the name twice."""
    if definition.casefold().startswith(label.casefold()):
        return f"**{definition[:len(label)]}**{definition[len(label):]}"
    return _("**{kpi}**: {definition}").format(kpi=label, definition=definition)


def value_label(value) -> str | None:
    """A coded value (``in_person``, ``breached``) as words in the page's language; a missing
    value stays missing (a table shows its placeholder, not "nan")."""
    if _missing(value):
        return None
    text = str(value)
    return _(VALUES[text]) if text in VALUES else text.replace("_", " ")


def column_config(frame: pd.DataFrame, **overrides) -> dict:
    """Streamlit column configuration for every column of ``frame``: label and value format."""
    config: dict = {}
    for column in frame.columns:
        name = str(column)
        text = label(name)
        if name in DATETIMES:
            config[name] = st.column_config.DatetimeColumn(text, format="YYYY-MM-DD HH:mm")
        elif name in MONEY:  # formatted by styled() in the currency and the page's locale
            config[name] = st.column_config.NumberColumn(text)
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
    """Missing values shown as an empty cell rather than "None" (object columns), coded values
    (``in_person``, ``breached``) as words."""
    out = frame.copy()
    for column in out.columns:
        texts = out[column].dtype == object or pd.api.types.is_string_dtype(out[column])
        if str(column) in CODED and texts:
            out[column] = [v if v is None or v != v else value_label(v) for v in out[column]]
        if texts:
            out[column] = out[column].astype(object).where(out[column].notna(), "")
    return out


def styled(frame: pd.DataFrame, money: Callable[[float], str]):
    """:func:`readable` ``frame`` with its money columns shown by ``money`` (the currency of the
    settings, in the page's locale); sorting stays numeric (a pandas Styler)."""
    out = readable(frame)
    columns = [c for c in out.columns if str(c) in MONEY]
    return out.style.format({c: money for c in columns}, na_rep="") if columns else out


#: Streamlit's number formats the pages give their columns -> the same numbers written as the
#: page's language writes them (Babel). Streamlit writes "93.18%" and "1234.5" in any
#: language, and "localized" follows the browser's language, not the page's.
NUMBER_FORMATS: dict[str, Callable[[float], str]] = {
    "percent": lambda v: i18n.percent(v, 1),
    "localized": lambda v: i18n.number(v, 0 if float(v).is_integer() else 2),
    "%d": i18n.number,
    "%.0f": i18n.number,
    "%.1f": lambda v: i18n.number(v, 1),
    "%.2f": lambda v: i18n.number(v, 2),
    "%.4f": lambda v: i18n.number(v, 4),
}


def _shown(write: Callable[[float], str]) -> Callable:
    return lambda v: "" if _missing(v) else write(v)


def localised(data, column_config: dict | None = None, decimals: dict[str, int] | None = None):
    """``data`` and its column configuration with every number written in the page's language
    (:func:`_localised`, whose writers of the columns it formats are left out)."""
    shown, config, _writers = _localised(data, column_config, decimals)
    return shown, config


def _localised(data, column_config: dict | None = None, decimals: dict[str, int] | None = None):
    """``data`` (a frame or a pandas Styler) and its column configuration with every number
    written in the page's language: the columns given a format of :data:`NUMBER_FORMATS`
    (and date-times given Streamlit's "localized", which follows the browser's language)
    are formatted by a Styler instead (Streamlit then shows its text, and still sorts by the
    number), as are the ``decimals`` columns (name -> decimals). Other columns are left as
    they are (money is formatted by :func:`styled`)."""
    config = dict(column_config or {})
    formats: dict[str, Callable] = {}
    for name, entry in config.items():
        kind = entry.get("type_config", {}) if isinstance(entry, dict) else {}
        if kind.get("type") == "number" and kind.get("format") in NUMBER_FORMATS:
            formats[name] = _shown(NUMBER_FORMATS[kind["format"]])
        elif kind.get("type") == "datetime" and kind.get("format") == "localized":   # the browser's, not the page's
            formats[name] = _shown(lambda v: i18n.moment(pd.Timestamp(v).to_pydatetime()))
        else:
            continue
        config[name] = {**entry, "type_config": {**kind, "format": None}}
    for name, digits in (decimals or {}).items():
        formats[name] = _shown(lambda v, d=digits: i18n.number(v, d))
    frame = data.data if hasattr(data, "data") and hasattr(data, "format") else data
    formats = {name: write for name, write in formats.items() if name in frame.columns}
    if not formats:
        return data, config, formats
    styler = data if frame is not data else frame.style
    return styler.format(formats, subset=list(formats)), config, formats


#: Pixels per character of a table cell's text (Streamlit's 14 px Source Sans), the padding of
#: a cell, and the widths a column is kept between when sized by its text (:func:`fitted_widths`).
CHAR_PX, CELL_PAD_PX, WIDTH_PX, HEADER_CHARS = 7.2, 26, (60, 380), 24
#: The column types sized by their text (not progress bars, charts, images or links).
SIZED_TYPES = (None, "text", "number", "date", "datetime", "time", "selectbox", "checkbox")


def fitted_widths(data, config: dict, writers: dict[str, Callable] | None = None, rows: int = 200) -> dict:
    """``config`` with a width for every column that sets none: wide enough for its longest
    text among the first ``rows`` rows, as ``writers`` (column -> function) write them, else
    as they are, and for its header up to :data:`HEADER_CHARS` characters (Streamlit sizes a
    column by its header and cut "Customers served across departm..." or "17,9 por cad..."),
    between :data:`WIDTH_PX`."""
    frame = data.data if hasattr(data, "data") and hasattr(data, "format") else data
    writers = writers or {}
    fitted = dict(config)
    for name in frame.columns:
        entry = fitted.get(name)
        if entry is None:   # hidden (None) or not configured: only the latter is sized
            if name in fitted:
                continue
            entry = {}
        elif isinstance(entry, str):
            entry = {"label": entry}
        kind = entry.get("type_config") or {}
        if entry.get("width") is not None or kind.get("type") not in SIZED_TYPES:
            continue
        if kind.get("type") in ("date", "datetime", "time") and kind.get("format"):   # "YYYY-MM-DD"
            texts = [kind["format"]]
        else:
            write = writers.get(name, lambda v: "" if _missing(v) else str(v))
            texts = [str(write(v)) for v in frame[name].head(rows)]
        # the values whole; a long header up to HEADER_CHARS (a header sized the column to
        # 34 characters and pushed its right-aligned numbers out of the table's view)
        longest = max([min(len(str(entry.get("label") or name)), HEADER_CHARS), *map(len, texts)])
        low, high = WIDTH_PX
        fitted[name] = {**entry, "width": int(min(high, max(low, CHAR_PX * longest + CELL_PAD_PX)))}
    return fitted


def table(data, column_config: dict | None = None, decimals: dict[str, int] | None = None, where=None,
          **kwargs) -> None:
    """``st.dataframe`` (or ``where.dataframe``: a tab, a column) of ``data`` with its
    numbers written in the page's language (:func:`localised`), each column as wide as its
    text (:func:`fitted_widths`)."""
    shown, config, writers = _localised(data, column_config, decimals)
    (where or st).dataframe(shown, column_config=fitted_widths(shown, config, writers) or None, **kwargs)
