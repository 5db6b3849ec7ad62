"""E-mail digests delivered to a real local SMTP server (aiosmtpd) started by the test: one
message per recipient, each in its scope, with the alerts a planted change should trigger
and none it should not; the configuration and alert rules checked by hand."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, insert, select

from data.schema import customers, tickets
from data.store import AppStore
from metrics.catalogue import KPIS
from reports import digest
from tests import provision
from tests.conftest import ROOT

ACCESS = """
[users."ana@example.com"]
role = "manager"
region = ["North"]

[users."sam@example.com"]
role = "manager"
segment = ["SMB", "Enterprise"]
industry = ["Retail", "Finance"]
"""
CONFIG = """
[defaults]
period = "month"
sender = "crm-digest@example.com"

[[recipients]]
email = "ana@example.com"

[[recipients]]
email = "Sam@example.com"
format = "text"
"""
AS_OF = "2026-10-31"
#: KPIs computed from tickets: the only ones the planted tickets can move
TICKET_KPIS = {"sla_compliance", "resolution_hours", "escalated_within_sla", "in_person_share", "self_service_share",
               "complaints_per_1000", "kpis_on_target", "kpi_coverage", "ces"}


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = provision.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def setup(demo_path, tmp_path, smtp):
    db = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, db)  # a copy: the test plants tickets in it
    (tmp_path / "access.toml").write_text(ACCESS)
    (tmp_path / "digests.toml").write_text(CONFIG)
    (tmp_path / "secrets.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp[1]}\n')
    store_url = f"sqlite:///{tmp_path}/app.sqlite"
    store = AppStore(store_url)
    store.add_alert_rule("sla_compliance", "change", 0.02, who="lead@example.com", role="crm_lead")
    store.add_alert_rule("nps", "below", -150, who="lead@example.com", role="crm_lead")  # NPS >= -100: never
    store.add_alert_rule("csat", "above", 2.0, who="lead@example.com", role="crm_lead")  # a share <= 1: never
    store.dispose()
    return tmp_path, f"duckdb:///{db}", store_url


def run_digest(tmp_path, db_url, store_url, *extra):
    return subprocess.run(
        [sys.executable, "-m", "metrics", "digest", "--config", str(tmp_path / "digests.toml"), "--db", db_url,
         "--access", str(tmp_path / "access.toml"), "--secrets", str(tmp_path / "secrets.toml"), "--as-of", AS_OF,
         *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**_env(), "CRM_APP_DB_URL": store_url})


def _env():
    import os

    return dict(os.environ)


def _text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def _alerts(msg) -> list[str]:
    text = _text(msg)
    block = text.split("Alerts:\n", 1)[1].split("\n\n", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("- ") and not line.startswith("- No alert")]


def plant_breached_tickets(db_url: str, count: int = 300) -> str:
    """Unresolved tickets of one North consumer, opened mid-October: breached by the end of it."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        customer = conn.execute(select(customers.c.customer_id).where(
            customers.c.region == "North", customers.c.segment == "Consumer").order_by(customers.c.customer_id)
            .limit(1)).scalar()
        conn.execute(insert(tickets), [
            {"ticket_id": f"PLANTED-{i}", "customer_id": customer, "channel": "email", "category": "question",
             "priority": "normal", "sla_class": "deferred", "opened_at": datetime(2026, 10, 15, 9, 0),
             "first_response_at": None, "resolved_at": None, "escalated": False, "resolved_by": None,
             "contacts_to_resolve": None, "csat": None} for i in range(count)])
    engine.dispose()
    return customer


def test_digests_are_delivered_scoped_with_the_planted_alerts(setup, smtp):
    tmp_path, db_url, store_url = setup
    inbox, _ = smtp
    first = run_digest(tmp_path, db_url, store_url, "--send")
    assert first.returncode == 0, first.stderr
    assert sorted(to for to, _ in inbox.messages) == [["ana@example.com"], ["sam@example.com"]]
    for _, msg in inbox.messages:  # the first digest has nothing to compare with, and no rule can fire
        assert _alerts(msg) == [] and msg["Subject"].endswith(": no alerts")

    plant_breached_tickets(db_url)
    second = run_digest(tmp_path, db_url, store_url, "--send")
    assert second.returncode == 0, second.stderr
    assert len(inbox.messages) == 4  # one more per recipient
    latest = {to[0]: msg for to, msg in inbox.messages[2:]}
    ana, sam = latest["ana@example.com"], latest["sam@example.com"]

    ana_alerts = _alerts(ana)
    assert any(a.startswith("SLA compliance changed by -") and "since your previous digest" in a for a in ana_alerts)
    labels = {k.label: k.name for k in KPIS.values()}
    for alert in ana_alerts:  # only figures the tickets move; never the rules that cannot fire
        name = next(n for label, n in sorted(labels.items(), key=lambda x: -len(x[0])) if alert.startswith(label))
        assert name in TICKET_KPIS, alert
    assert not any(a.startswith(("NPS is below", "CSAT is above")) for a in ana_alerts)
    assert ana["Subject"].endswith(f": {len(ana_alerts)} alert{'s' if len(ana_alerts) != 1 else ''}")
    assert _alerts(sam) == []  # the planted customer is outside Sam's scope: nothing moved for him

    # scoped: the figures are those of the report filtered to the scope, and the PDF says so
    assert "sees Region: North" in _text(ana)
    assert "sees Industry: Retail, Finance; Segment: SMB, Enterprise" in _text(sam)
    report = subprocess.run([sys.executable, "-m", "metrics", "report", "--db", db_url, "--from", "2026-10-02",
                             "--to", AS_OF, "--region", "North", "--format", "json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=180)
    sla = next(k for k in json.loads(report.stdout)["kpis"] if k["name"] == "sla_compliance")
    assert f"- SLA compliance: {100 * sla['value']:.1f} %" in _text(ana)
    attachments = list(ana.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["crm_scorecard_20261002_20261031.pdf"]
    pdf = tmp_path / "ana.pdf"
    pdf.write_bytes(attachments[0].get_content())
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
    assert "Prepared for ana@example.com Scope Region: North" in text
    assert list(sam.iter_attachments()) == []  # format = "text"

    third = run_digest(tmp_path, db_url, store_url, "--out", str(tmp_path / "eml"))  # nothing changed since
    assert third.returncode == 0, third.stderr
    written = sorted(p.name for p in (tmp_path / "eml").iterdir())
    assert written == ["20261031_ana_at_example.com.eml", "20261031_sam_at_example.com.eml"]
    again = message_from_bytes((tmp_path / "eml" / written[0]).read_bytes(), policy=policy.default)
    assert _alerts(again) == []
    assert len(inbox.messages) == 4  # --out writes, never sends


def _card(values: dict[str, float | None]):
    from metrics.catalogue import CATALOGUE, KpiResult, Scorecard, Status
    from metrics.filters import Filters

    results = []
    for k in CATALOGUE:
        v = values.get(k.name)
        status = Status.NO_DATA if v is None else (Status.ON_TARGET if v >= k.target else Status.OFF)
        results.append(KpiResult(k, v, None, k.target, None, status))
    return Scorecard(Filters(start=date(2026, 10, 1), end=date(2026, 10, 31)), tuple(results), (), None)


def test_alert_rules_by_hand():
    card = _card({"nps": 25.0, "sla_compliance": 0.96, "csat": 0.7})
    previous = {"nps": {"value": 35.0, "status": "on target"}, "sla_compliance": {"value": 0.93, "status": "off target"},
                "csat": {"value": 0.69, "status": "off target"}}
    rules = [digest.AlertRule("nps", "below", 30), digest.AlertRule("nps", "change", 5),
             digest.AlertRule("csat", "change", 0.05), digest.AlertRule("sla_compliance", "above", 0.99)]
    found = [(a.kpi, a.reason) for a in digest.alerts(card, previous, rules)]
    # NPS: 35 -> 25 crosses its target (30), is below 30 and moved 10 > 5; SLA 0.93 -> 0.96 is back on target;
    # CSAT moved 0.01 (not > 0.05); SLA is not above 0.99
    assert found == [("nps", "crossed"), ("nps", "below"), ("nps", "change"), ("sla_compliance", "crossed")]
    assert digest.alerts(card, {}, [digest.AlertRule("nps", "change", 1)]) == []  # no previous digest


@pytest.mark.parametrize("text, message", [
    ('[[recipients]]\nemail = "ana"', "recipient 1: email 'ana' is not an e-mail address"),
    ('[[recipients]]\nemail = "a@x.com"\nperiod = "day"', "period 'day' is not one of week, month, quarter"),
    ('[[recipients]]\nemail = "a@x.com"\nformat = "xls"', "format 'xls' is not one of pdf, text"),
    ('[defaults]\nperiod = "week"', "no [[recipients]] entry"),
])
def test_bad_configurations_name_the_entry(text, message):
    with pytest.raises(digest.DigestError) as info:
        digest.parse_config(text, "digests.toml")
    assert message in str(info.value) and str(info.value).startswith("digests.toml")


def test_unknown_recipient_and_missing_smtp_are_clear_errors(setup):
    tmp_path, db_url, store_url = setup
    (tmp_path / "digests.toml").write_text('[[recipients]]\nemail = "ghost@example.com"\nformat = "text"\n')
    done = run_digest(tmp_path, db_url, store_url, "--out", str(tmp_path / "eml"))
    assert done.returncode == 1 and "ghost@example.com: no access in the access definition" in done.stderr
    assert not (tmp_path / "eml").exists() or not list((tmp_path / "eml").iterdir())
    (tmp_path / "secrets.toml").write_text("")
    done = run_digest(tmp_path, db_url, store_url, "--send")
    assert done.returncode == 2 and "no [smtp] section" in done.stderr and "Traceback" not in done.stderr


def test_the_example_configuration_is_valid():
    config = digest.parse_config((ROOT / "digests.example.toml").read_text(), "digests.example.toml")
    assert [r.email for r in config.recipients] == ["ceo@example.com", "ana@example.com"]
