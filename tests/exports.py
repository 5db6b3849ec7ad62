"""Test helpers: a demo database written out in the file shapes that CRMs export."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from data import schema
from data.imports.convert import kind_of


def frames(demo_path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(demo_path), read_only=True)
    try:
        return {t.name: con.execute(f"SELECT * FROM {t.name}").df() for t in schema.TABLES}
    finally:
        con.close()


def crm_csv(demo_path: Path, folder: Path) -> Path:
    """One UTF-8 CSV per table, as DuckDB writes them (ISO timestamps, decimal point)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(demo_path), read_only=True)
    try:
        for table in schema.TABLES:
            con.execute(f"COPY {table.name} TO '{folder / (table.name + '.csv')}' (HEADER)")
    finally:
        con.close()
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
    i = f["interactions"]
    pd.DataFrame({
        "Id": i.interaction_id, "AccountId": i.customer_id, "ActivityDateTime": _sf_time(i.occurred_at),
        "TaskSubtype": i.channel.map(lambda v: {"phone": "Call", "email": "Email"}.get(v, "Task")),
        "Channel__c": i.channel, "Direction__c": i.direction, "Department__c": i.department,
        "Campaign__c": i.campaign_id, "Personalized__c": _bool(i.personalized), "Responded__c": _bool(i.responded),
    }).to_csv(folder / "Task.csv", index=False)
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
