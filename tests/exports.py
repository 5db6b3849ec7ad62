"""Test helpers: a demo database written out in the file shapes that CRMs export."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from data import schema
from data.imports.convert import kind_of
from data.sources import open_engine


@contextlib.contextmanager
def _demo(demo_path: Path) -> Iterator:
    """The demo opened read-only the way the app opens it (data.sources), as a DuckDB connection.

    DuckDB refuses a second connection to a file from the same process with another
    configuration, and the app's engine (AppTest runs it in the test process) may hold one.
    """
    engine = open_engine(f"duckdb:///{demo_path}")
    raw = engine.raw_connection()
    try:
        yield raw.driver_connection
    finally:
        raw.close()
        engine.dispose()


def frames(demo_path: Path) -> dict[str, pd.DataFrame]:
    with _demo(demo_path) as con:
        return {t.name: con.execute(f"SELECT * FROM {t.name}").df() for t in schema.TABLES}


def crm_csv(demo_path: Path, folder: Path) -> Path:
    """One UTF-8 CSV per table, as DuckDB writes them (ISO timestamps, decimal point)."""
    folder.mkdir(parents=True, exist_ok=True)
    with _demo(demo_path) as con:
        for table in schema.TABLES:
            con.execute(f"COPY {table.name} TO '{folder / (table.name + '.csv')}' (HEADER)")
    return folder


def _spanish(frame: pd.DataFrame, table) -> pd.DataFrame:
    out = frame.copy()
    for column in table.columns:
        kind, series = kind_of(column), out[column.name]
        if kind == "timestamp":
            out[column.name] = series.dt.strftime("%d/%m/%Y %H:%M:%S")
        elif kind == "number":
            out[column.name] = series.map(lambda v: "" if pd.isna(v) else f"{v:.2f}".replace(".", ","))
        elif kind == "boolean":
            out[column.name] = series.map(lambda v: "" if pd.isna(v) else ("sí" if v else "no"))
    return out


def spanish_excel_csv(demo_path: Path, folder: Path) -> Path:
    """What Excel in Spanish saves as CSV: ';', decimal comma, dd/mm/yyyy, sí/no, Windows-1252."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames(demo_path).items():
        _spanish(frame, schema.table(name)).to_csv(folder / f"{name}.csv", sep=";", index=False,
                                                  encoding="cp1252")
    return folder


def crm_xlsx(demo_path: Path, path: Path) -> Path:
    """One workbook, one sheet per table; timestamps as Excel dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in frames(demo_path).items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def crm_xlsx_files(demo_path: Path, folder: Path) -> Path:
    """One workbook per table (``orders.xlsx``...), the data on a sheet Excel called "Sheet1";
    the customers workbook also has Excel's empty "Sheet2" and "Sheet3"."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames(demo_path).items():
        with pd.ExcelWriter(folder / f"{name}.xlsx", engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name="Sheet1", index=False)
            if name == "customers":
                for empty in ("Sheet2", "Sheet3"):
                    writer.book.create_sheet(empty)
    return folder


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _sf_time(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _labels(series: pd.Series, labels: dict[str, str]) -> pd.Series:
    return series.map(lambda v: labels.get(v, v) if isinstance(v, str) else v)


def _bool(series: pd.Series) -> pd.Series:
    return series.map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))


#: How a campaign of each channel reaches a customer (the importers' rule, data/imports/profiles).
CAMPAIGN_CONTACT_CHANNEL = {"email": "email", "sms": "mobile", "mail": "mail", "phone": "phone", "social": "social",
                            "web": "web", "event": "in_person"}


def salesforce_csv(demo_path: Path, folder: Path) -> Path:
    """The demo as Salesforce Data Loader exports: API field names, picklist labels,
    ISO 8601 date-times with +0000, the org's custom fields (``__c``) for what standard
    objects lack. No surveys: Salesforce has none."""
    folder.mkdir(parents=True, exist_ok=True)
    f = frames(demo_path)
    c = f["customers"]
    pd.DataFrame({
        "Id": c.customer_id, "Name": c["name"], "Segment__c": c.segment, "Region__c": c.region,
        "Industry": c.industry,
        "AccountSource": _labels(c.acquisition_channel, {"web": "Web", "partner": "Partner Referral",
                                                          "referral": "Employee Referral", "event": "Trade Show",
                                                          "campaign": "Purchased List", "outbound": "Phone Inquiry"}),
        "Owner_Team__c": c.owner_team, "PersonEmail": c.email, "Phone": c.phone,
        "Preferred_Channel__c": c.preferred_channel, "PersonHasOptedOutOfEmail": _bool(~c.consent_marketing),
        "CreatedDate": _sf_time(c.created_at), "Engaged_Date__c": _sf_time(c.engaged_at),
        "LastModifiedDate": _sf_time(c.updated_at),
    }).to_csv(folder / "Account.csv", index=False)
    k = f["campaigns"]
    pd.DataFrame({
        "Id": k.campaign_id, "Name": k["name"],
        "Type": _labels(k.channel, {"mail": "Direct Mail", "phone": "Telemarketing", "web": "Webinar",
                                    "event": "Trade Show", "email": "Email", "social": "Social Media"}),
        "StartDate": _sf_time(k.started_at), "EndDate": _sf_time(k.ended_at), "ActualCost": k.cost,
        "Target_Segment__c": k.target_segment,
    }).to_csv(folder / "Campaign.csv", index=False)
    o = f["orders"]
    pd.DataFrame({
        "Id": o.order_id, "AccountId": o.customer_id, "ActivatedDate": _sf_time(o.ordered_at),
        "TotalAmount": o.amount, "Margin__c": o.margin, "Product_Category__c": o.product_category,
        "Channel__c": o.channel,
    }).to_csv(folder / "Order.csv", index=False)
    p = f["opportunities"]
    pd.DataFrame({
        "Id": p.opportunity_id, "AccountId": p.customer_id, "Owner_Team__c": p.owner_team,
        "LeadSource": _labels(p.source, {"partner": "Partner Referral", "direct": "Web",
                                         "referral": "Employee Referral", "campaign": "Purchased List"}),
        "CreatedDate": _sf_time(p.created_at), "CloseDate": _sf_time(p.closed_at),
        "IsClosed": _bool(p.status != "open"), "IsWon": _bool(p.status == "won"), "Amount": p.amount,
        "StageName": p.status.map({"open": "Negotiation", "won": "Closed Won", "lost": "Closed Lost"}),
    }).to_csv(folder / "Opportunity.csv", index=False)
    everything = f["interactions"]
    i = everything[everything.campaign_id.isna()]
    pd.DataFrame({
        "Id": i.interaction_id, "AccountId": i.customer_id, "ActivityDateTime": _sf_time(i.occurred_at),
        "TaskSubtype": i.channel.map(lambda v: {"phone": "Call", "email": "Email"}.get(v, "Task")),
        "Channel__c": i.channel, "Direction__c": i.direction, "Department__c": i.department,
        "Personalized__c": _bool(i.personalized), "Responded__c": _bool(i.responded),
    }).to_csv(folder / "Task.csv", index=False)
    # campaign contacts as campaign members: the org's Channel__c only where the contact did not go
    # through the campaign's own channel (blank otherwise: the importer takes the campaign's)
    m = everything[everything.campaign_id.notna()]
    via_campaign = m.campaign_id.map(dict(zip(k.campaign_id, k.channel.map(CAMPAIGN_CONTACT_CHANNEL))))
    pd.DataFrame({
        "Id": m.interaction_id, "CampaignId": m.campaign_id, "AccountId": m.customer_id, "LeadId": "", "ContactId": "",
        "Status": m.responded.map(lambda v: "Sent" if pd.isna(v) or not v else "Responded"), "HasResponded": _bool(m.responded),
        "CreatedDate": _sf_time(m.occurred_at), "Channel__c": m.channel.where(m.channel != via_campaign, ""),
        "Personalized__c": _bool(m.personalized),
    }).to_csv(folder / "CampaignMember.csv", index=False)
    t = f["tickets"]
    pd.DataFrame({
        "Id": t.ticket_id, "AccountId": t.customer_id,
        "Origin": _labels(t.channel, {"in_person": "In Person", "phone": "Phone", "email": "Email", "web": "Web",
                                      "chat": "Chat"}),
        "Type": _labels(t.category, {"support": "Problem", "request": "Feature Request", "question": "Question",
                                     "complaint": "Complaint"}),
        "Priority": _labels(t.priority, {"normal": "Medium", "low": "Low", "high": "High", "urgent": "Urgent"}),
        "SLA_Class__c": t.sla_class, "CreatedDate": _sf_time(t.opened_at),
        "First_Response_Date__c": _sf_time(t.first_response_at), "ClosedDate": _sf_time(t.resolved_at),
        "IsEscalated": _bool(t.escalated), "Resolved_By__c": t.resolved_by,
        "Contacts_To_Resolve__c": t.contacts_to_resolve, "CSAT__c": t.csat,
    }).to_csv(folder / "Case.csv", index=False)
    return folder


def tiny_csv(folder: Path) -> Path:
    """The tiny hand-written CRM (tests/tiny.py) as one CSV per table, every column present."""
    from tests.tiny import ROWS

    folder.mkdir(parents=True, exist_ok=True)
    for table in schema.TABLES:
        frame = pd.DataFrame(ROWS.get(table.name, []), columns=[c.name for c in table.columns])
        frame.to_csv(folder / f"{table.name}.csv", index=False)
    return folder


def _hs_time(series: pd.Series, internal: bool) -> pd.Series:
    return series.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z" if internal else "%Y-%m-%d %H:%M:%S")


def hubspot_csv(demo_path: Path, folder: Path, internal: bool) -> Path:
    """The demo as HubSpot CRM exports, headed with internal property names (``internal``) or
    with the UI labels; custom properties for what HubSpot lacks (a campaign's channel...). No orders
    or survey invitations."""
    folder.mkdir(parents=True, exist_ok=True)
    f = frames(demo_path)

    def write(name: str, columns: list[tuple[str, str, pd.Series]]) -> None:
        pd.DataFrame({(key if internal else label): values for label, key, values in columns}).to_csv(
            folder / f"{name}.csv", index=False)

    c = f["customers"]
    consent = c.consent_marketing.map(
        (lambda v: "true" if v else "false") if internal else
        (lambda v: "Marketing contact" if v else "Non-marketing contact"))
    write("contacts", [
        ("Record ID", "hs_object_id", c.customer_id), ("Name", "name", c["name"]), ("Segment", "segment", c.segment),
        ("Region", "region", c.region), ("Industry", "industry", c.industry),
        ("Acquisition channel", "acquisition_channel", c.acquisition_channel),
        ("HubSpot Team", "hubspot_team_id", c.owner_team), ("Email", "email", c.email),
        ("Phone Number", "phone", c.phone), ("Preferred channel", "preferred_channel", c.preferred_channel),
        ("Marketing contact status", "hs_marketable_status", consent),
        ("Create Date", "createdate", _hs_time(c.created_at, internal)),
        ("Became a Marketing Qualified Lead Date", "hs_lifecyclestage_marketingqualifiedlead_date",
         _hs_time(c.engaged_at, internal)),
        ("Became a Customer Date", "hs_lifecyclestage_customer_date", _hs_time(c.acquired_at, internal)),
        ("Last Modified Date", "lastmodifieddate", _hs_time(c.updated_at, internal)),
    ])
    p = f["opportunities"]
    stages = ({"won": "closedwon", "lost": "closedlost", "open": "appointmentscheduled"} if internal else
              {"won": "Closed Won", "lost": "Closed Lost", "open": "Appointment Scheduled"})
    write("deals", [
        ("Record ID", "hs_object_id", p.opportunity_id), ("Associated Contact IDs", "associatedcontactid", p.customer_id),
        ("HubSpot Team", "hubspot_team_id", p.owner_team), ("Deal source", "deal_source", p.source),
        ("Create Date", "createdate", _hs_time(p.created_at, internal)),
        ("Close Date", "closedate", _hs_time(p.closed_at, internal)), ("Deal Stage", "dealstage", p.status.map(stages)),
        ("Amount", "amount", p.amount),
    ])
    t = f["tickets"]
    write("tickets", [
        ("Ticket ID", "hs_object_id", t.ticket_id), ("Associated Contact IDs", "associatedcontactid", t.customer_id),
        ("Source", "source_type", _labels(t.channel, {"email": "EMAIL", "chat": "CHAT", "phone": "PHONE",
                                                      "web": "FORM", "in_person": "IN_PERSON"})),
        ("Category", "hs_ticket_category", _labels(t.category, {"support": "PRODUCT_ISSUE", "complaint": "BILLING_ISSUE",
                                                                "request": "FEATURE_REQUEST",
                                                                "question": "GENERAL_INQUIRY"})),
        ("Priority", "hs_ticket_priority", _labels(t.priority, {"low": "LOW", "normal": "MEDIUM", "high": "HIGH",
                                                                "urgent": "URGENT"})),
        ("SLA class", "sla_class", t.sla_class), ("Create date", "createdate", _hs_time(t.opened_at, internal)),
        ("First agent reply date", "first_agent_reply_date", _hs_time(t.first_response_at, internal)),
        ("Close date", "closed_date", _hs_time(t.resolved_at, internal)), ("Escalated", "escalated", _bool(t.escalated)),
        ("Resolved by", "resolved_by", t.resolved_by), ("Contacts to resolve", "contacts_to_resolve", t.contacts_to_resolve),
        ("CSAT", "csat", t.csat),
    ])
    i = f["interactions"]
    write("calls", [
        ("Record ID", "hs_object_id", i.interaction_id), ("Associated Contact IDs", "associatedcontactid", i.customer_id),
        ("Activity date", "hs_timestamp", _hs_time(i.occurred_at, internal)), ("Channel", "channel", i.channel),
        ("Direction", "direction", i.direction), ("Department", "department", i.department),
        ("Campaign", "hs_campaign_id", i.campaign_id),
        ("Personalized", "personalized", _bool(i.personalized)), ("Responded", "responded", _bool(i.responded)),
    ])
    k = f["campaigns"]
    write("campaigns", [
        ("Campaign ID", "hs_campaign_id", k.campaign_id), ("Campaign name", "hs_name", k["name"]),
        ("Channel", "channel", k.channel), ("Start date", "hs_start_date", _hs_time(k.started_at, internal)),
        ("End date", "hs_end_date", _hs_time(k.ended_at, internal)),
        ("Spend total", "hs_spend_items_sum_amount", k.cost), ("Target segment", "target_segment", k.target_segment),
    ])
    s = f["surveys"]
    write("feedback_submissions", [
        ("Record ID", "hs_object_id", s.response_id), ("Associated Contact IDs", "associatedcontactid", s.customer_id),
        ("Submitted date", "hs_submission_timestamp", _hs_time(s.answered_at, internal)),
        ("Survey type", "hs_survey_type", s.kind.str.upper()), ("Response value", "hs_response_value", s.score),
    ])
    return folder


def _zd_time(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_csv(demo_path: Path, folder: Path) -> Path:
    """The demo as Zendesk Support exports: users (custom user fields for the CRM dimensions)
    and tickets with their metrics and a 1-5 satisfaction score."""
    folder.mkdir(parents=True, exist_ok=True)
    f = frames(demo_path)
    c = f["customers"]
    pd.DataFrame({
        "ID": c.customer_id, "Name": c["name"], "Segment": c.segment, "Region": c.region, "Industry": c.industry,
        "Acquisition channel": c.acquisition_channel, "Team": c.owner_team, "Email": c.email, "Phone": c.phone,
        "Preferred channel": c.preferred_channel, "Marketing consent": _bool(c.consent_marketing),
        "Created at": _zd_time(c.created_at), "Engaged at": _zd_time(c.engaged_at),
        "Acquired at": _zd_time(c.acquired_at), "Updated at": _zd_time(c.updated_at), "Role": "end-user",
    }).to_csv(folder / "users.csv", index=False)
    t = f["tickets"]
    pd.DataFrame({
        "ID": t.ticket_id, "Requester ID": t.customer_id,
        "Via": _labels(t.channel, {"email": "Mail", "web": "Web Form", "chat": "Chat", "phone": "Phone call (incoming)",
                                   "in_person": "Walk-in"}),
        "Type": _labels(t.category, {"support": "incident", "request": "task"}),
        "Priority": t.priority, "SLA class": t.sla_class, "Status": t.resolved_at.map(lambda v: "open" if pd.isna(v)
                                                                                         else "solved"),
        "Created at": _zd_time(t.opened_at), "First reply at": _zd_time(t.first_response_at),
        "Solved at": _zd_time(t.resolved_at), "Escalated": _bool(t.escalated), "Resolved by": t.resolved_by,
        "Contacts to resolve": t.contacts_to_resolve, "Satisfaction rating score": t.csat,
    }).to_csv(folder / "tickets.csv", index=False)
    return folder
