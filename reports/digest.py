"""Scheduled e-mail digests with alerts: ``python -m metrics digest --config digests.toml``.

Each recipient of ``digests.toml`` gets, within their scope from the access definition:

- every KPI for the recipient's period (the ``week``, ``month`` or ``quarter`` of full days
  up to yesterday, or ``--as-of``), compared with the period before;
- the alerts: every KPI that **crossed its target** since their previous digest (on target
  then, not now, or the reverse), and every alert rule of the CRM lead that fires — value
  **below** or **above** a threshold, or a **change** of more than a threshold since the
  previous digest;
- the executive PDF of the same scope and period attached (``format = "pdf"``).

What a digest sent is kept per recipient in the application store, so the next digest
compares with it. A recipient without access in the access definition gets nothing (an
error names them): a digest is never sent without a scope.

``digests.toml``::

    [defaults]                      # optional
    period = "week"                 # week | month | quarter
    format = "pdf"                  # pdf (attached) | text (no attachment)
    sender = "crm-digest@example.com"

    [[recipients]]
    email = "ana@example.com"       # their scope comes from the access definition
    period = "month"                # optional: overrides the default
    lang = "es"                     # optional: es | en (default en, or [defaults] lang)

Each digest (subject, text, alerts and the attached PDF) is written in its recipient's
language, numbers and dates by its locale.

SMTP settings (``--send``) come from ``.streamlit/secrets.toml``::

    [smtp]
    host = "smtp.example.com"
    port = 587
    starttls = true
    username = "crm-digest"
    password = "..."
    sender = "crm-digest@example.com"
"""

from __future__ import annotations

import smtplib
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, select_autoescape
from sqlalchemy.engine import Connection

from data.store import AppStore
from i18n import LANGUAGES, N_, _, day, ngettext, using
from metrics.catalogue import KPIS, KpiResult, Scorecard, evaluate
from metrics.filters import Filters
from metrics.scope import Access, AccessDefinition
from metrics.units import format_value

PERIOD_DAYS = {"week": 7, "month": 30, "quarter": 91}
FORMATS = ("pdf", "text")
DEFAULT_SENDER = "crm-digest@localhost"
#: How a KPI's status reads (English; shown with ``_(...)``).
STATUS_WORDS = {"on target": N_("on target"), "near target": N_("near target"), "off target": N_("off target"),
                "too few answers": N_("too few answers"), "no data": N_("no data")}


class DigestError(ValueError):
    """A digest configuration or delivery problem; the message names the file, entry and key."""


@dataclass(frozen=True)
class Recipient:
    email: str
    period: str = "week"
    format: str = "pdf"
    lang: str = "en"


@dataclass(frozen=True)
class DigestConfig:
    recipients: tuple[Recipient, ...]
    sender: str = DEFAULT_SENDER


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class AlertRule:
    kpi: str
    kind: str  # below | above | change
    threshold: float


@dataclass(frozen=True)
class Alert:
    kpi: str
    reason: str  # "crossed" or the rule kind
    text: str


@dataclass
class Digest:
    recipient: Recipient
    access: Access
    card: Scorecard
    alerts: list[Alert] = field(default_factory=list)
    message: EmailMessage | None = None


# ---- configuration
def parse_config(text: str, origin: str = "digests.toml") -> DigestConfig:
    """Read and validate a digest configuration; :class:`DigestError` names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DigestError(f"{origin}: not valid TOML: {exc}") from None
    defaults = data.get("defaults", {})
    recipients = []
    for i, entry in enumerate(data.get("recipients", []), start=1):
        where = f"{origin}: recipient {i}"
        email = str(entry.get("email", "")).strip().lower()
        if "@" not in email:
            raise DigestError(f"{where}: email {entry.get('email')!r} is not an e-mail address")
        period = entry.get("period", defaults.get("period", "week"))
        if period not in PERIOD_DAYS:
            raise DigestError(f"{where} ({email}): period {period!r} is not one of {', '.join(PERIOD_DAYS)}")
        fmt = entry.get("format", defaults.get("format", "pdf"))
        if fmt not in FORMATS:
            raise DigestError(f"{where} ({email}): format {fmt!r} is not one of {', '.join(FORMATS)}")
        lang = entry.get("lang", defaults.get("lang", "en"))
        if lang not in LANGUAGES:
            raise DigestError(f"{where} ({email}): lang {lang!r} is not one of {', '.join(LANGUAGES)}")
        recipients.append(Recipient(email, period, fmt, lang))
    if not recipients:
        raise DigestError(f"{origin}: no [[recipients]] entry")
    return DigestConfig(tuple(recipients), str(defaults.get("sender", DEFAULT_SENDER)))


def smtp_settings(secrets_path: Path) -> SmtpSettings:
    """The ``[smtp]`` section of secrets.toml."""
    if not secrets_path.exists():
        raise DigestError(f"{secrets_path}: not found; --send needs an [smtp] section there (or use --out DIR)")
    try:
        data = tomllib.loads(secrets_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DigestError(f"{secrets_path}: not valid TOML: {exc}") from None
    smtp = data.get("smtp")
    if not isinstance(smtp, dict) or not smtp.get("host"):
        raise DigestError(f"{secrets_path}: no [smtp] section with a host; --send needs one (or use --out DIR)")
    try:
        port = int(smtp.get("port", 25))
    except (TypeError, ValueError):
        raise DigestError(f"{secrets_path}: [smtp] port {smtp.get('port')!r} is not a number") from None
    return SmtpSettings(str(smtp["host"]), port, bool(smtp.get("starttls", False)), smtp.get("username"),
                        smtp.get("password"), smtp.get("sender"))


# ---- figures and alerts
def period_filters(period: str, as_of: date) -> Filters:
    """The ``period`` of full days up to ``as_of`` (inclusive), compared with the one before."""
    days = PERIOD_DAYS[period]
    return Filters(start=as_of - timedelta(days=days - 1), end=as_of, compare="previous")


def alert_rules(store: AppStore) -> list[AlertRule]:
    rules = store.alert_rules()
    return [AlertRule(r.kpi, r.kind, float(r.threshold)) for r in rules.itertuples() if r.kpi in KPIS]


def alerts(card: Scorecard, previous: dict[str, dict], rules: list[AlertRule]) -> list[Alert]:
    """What the digest calls out.

    - crossed: the KPI was on target in the previous digest and is not now, or the reverse
      (KPIs without data then or now never cross);
    - below / above: the value is below / above the rule's threshold now;
    - change: the value moved by more than the threshold since the previous digest.
    """
    found: list[Alert] = []
    for r in card.results:
        before = previous.get(r.kpi.name)
        u = r.kpi.unit
        if before and before["status"] not in (None, "no data") and r.status.value != "no data":
            was_on, is_on = before["status"] == "on target", r.status.value == "on target"
            if was_on != is_on:
                text = (_("{kpi} is back on target: {value} (target {target}; was {before}).") if is_on else
                        _("{kpi} is no longer on target: {value} (target {target}; was {before})."))
                found.append(Alert(r.kpi.name, "crossed", text.format(
                    kpi=_(r.kpi.label), value=format_value(r.value, u), target=format_value(r.target, u),
                    before=format_value(before["value"], u))))
        for rule in (x for x in rules if x.kpi == r.kpi.name):
            if r.value is None:
                continue
            if rule.kind == "below" and r.value < rule.threshold or rule.kind == "above" and r.value > rule.threshold:
                text = (_("{kpi} is below {threshold}: {value}.") if rule.kind == "below" else
                        _("{kpi} is above {threshold}: {value}."))
                found.append(Alert(r.kpi.name, rule.kind, text.format(
                    kpi=_(r.kpi.label), threshold=format_value(rule.threshold, u), value=format_value(r.value, u))))
            elif rule.kind == "change" and before and before["value"] is not None \
                    and abs(r.value - before["value"]) > rule.threshold:
                found.append(Alert(r.kpi.name, "change", _(
                    "{kpi} changed by {change} since your previous digest (more than {threshold}): "
                    "{before} → {value}.").format(
                    kpi=_(r.kpi.label), change=format_value(r.value - before["value"], u, signed=True),
                    threshold=format_value(rule.threshold, u), before=format_value(before["value"], u),
                    value=format_value(r.value, u))))
    return found


# ---- the message
BODY = """<!doctype html><html lang="{{ lang }}"><body style="font-family:Arial,sans-serif;color:#262730">
<h2 style="color:#0072B2">{{ t.title }}</h2>
<p>{{ t.for_whom }}</p>
<h3>{{ t.alerts }}</h3>
{% if alerts %}<ul>{% for a in alerts %}<li>{{ a.text }}</li>{% endfor %}</ul>
{% else %}<p>{{ t.no_alert }}</p>{% endif %}
<h3>{{ t.every_kpi }}</h3>
<table style="border-collapse:collapse">
<tr><th align="left">{{ t.kpi }}</th><th align="right">{{ t.value }}</th><th align="right">{{ t.previous }}</th>
<th align="right">{{ t.target }}</th><th align="left">{{ t.status }}</th></tr>
{% for k in kpis %}<tr><td>{{ k.label }}</td><td align="right">{{ k.value }}</td><td align="right">{{ k.comparison }}</td>
<td align="right">{{ k.target }}</td><td>{{ k.status }}</td></tr>{% endfor %}
</table>
{% if attached %}<p>{{ t.attached }}</p>{% endif %}
</body></html>"""


def _kpi_row(r: KpiResult) -> dict:
    u = r.kpi.unit
    comparator = "≥" if r.kpi.direction.value == "higher" else "≤"
    return {"label": _(r.kpi.label), "value": format_value(r.value, u), "comparison": format_value(r.comparison, u),
            "target": f"{comparator} {format_value(r.target, u)}",
            "status": _(STATUS_WORDS.get(r.status.value, r.status.value))}


def message(digest: Digest, sender: str, pdf: bytes | None, now: datetime) -> EmailMessage:
    """The digest as an e-mail in the current language: plain text and HTML, the PDF attached."""
    f = digest.card.filters
    period = _("{start} to {end}").format(start=day(f.start), end=day(f.end))
    rows = [_kpi_row(r) for r in digest.card.results]
    words = {
        "title": _("CRM digest — {period}").format(period=period),
        "for_whom": _("For {email} · sees {scope}").format(email=digest.recipient.email,
                                                          scope=digest.access.describe_scope()),
        "alerts": _("Alerts"),
        "no_alert": _("No alert: nothing crossed its target and no alert rule fired since your previous digest."),
        "every_kpi": _("Every KPI"), "kpi": _("KPI"), "value": _("Value"), "previous": _("Previous period"),
        "target": _("Target"), "status": _("Status"),
        "attached": _("The executive report of the same scope and period is attached (PDF)."),
    }
    lines = [words["title"], words["for_whom"], "", _("Alerts:")]
    lines += [f"- {a.text}" for a in digest.alerts] or [f"- {words['no_alert']}"]
    lines += ["", _("Every KPI (value / previous period / target / status):")]
    lines += [f"- {k['label']}: {k['value']} / {k['comparison']} / {k['target']} / {k['status']}" for k in rows]
    if pdf is not None:
        lines += ["", words["attached"]]
    msg = EmailMessage()
    count = len(digest.alerts)
    msg["Subject"] = (ngettext("CRM digest {period}: {n} alert", "CRM digest {period}: {n} alerts", count).format(
                          period=period, n=count) if count
                      else _("CRM digest {period}: no alerts").format(period=period))
    msg["From"] = sender
    msg["To"] = digest.recipient.email
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[-1] or "localhost")
    msg.set_content("\n".join(lines) + "\n")
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    msg.add_alternative(env.from_string(BODY).render(t=words, lang=digest.recipient.lang, alerts=digest.alerts,
                                                     kpis=rows, attached=pdf is not None),
                        subtype="html")
    if pdf is not None:
        msg.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"crm_scorecard_{f.start:%Y%m%d}_{f.end:%Y%m%d}.pdf")
    return msg


# ---- the run
def build(conn: Connection, config: DigestConfig, access: AccessDefinition, store: AppStore, as_of: date,
          targets: dict[str, float] | None = None, now: datetime | None = None,
          render_pdf=None) -> tuple[list[Digest], list[str]]:
    """Every recipient's digest and message; (digests, problems), a problem per recipient skipped."""
    from reports import pdf as pdf_report

    now = now or datetime.now(timezone.utc)
    render_pdf = render_pdf or (lambda data: pdf_report.html_to_pdf(pdf_report.report_html(data)))
    rules = alert_rules(store)
    digests, problems = [], []
    for recipient in config.recipients:
        user = access.resolve(recipient.email)
        if user is None:
            problems.append(f"{recipient.email}: no access in the access definition; no digest sent")
            continue
        with using(recipient.lang):  # the alerts, the message and the PDF in the recipient's language
            filters = user.apply(period_filters(recipient.period, as_of))
            card = evaluate(conn, filters, targets)
            digest = Digest(recipient, user, card, alerts(card, store.digest_values(recipient.email), rules))
            pdf = None
            if recipient.format == "pdf":
                pdf = render_pdf(pdf_report.report_data(conn, filters, targets, user, now))
            digest.message = message(digest, config.sender, pdf, now)
        digests.append(digest)
    return digests, problems


def remember(store: AppStore, digest: Digest) -> None:
    """Keep what this digest sent, for the next one's comparison."""
    store.save_digest_values(digest.recipient.email,
                             {r.kpi.name: (r.value, r.status.value) for r in digest.card.results})


def write_eml(digests: list[Digest], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in digests:
        path = out / f"{d.card.filters.end:%Y%m%d}_{d.recipient.email.replace('@', '_at_')}.eml"
        path.write_bytes(bytes(d.message))
        paths.append(path)
    return paths


def send(digests: list[Digest], settings: SmtpSettings, on_sent=None) -> None:
    """Deliver every message through one SMTP connection (``on_sent(digest)`` after each)."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=60) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            for d in digests:
                if settings.sender:
                    d.message.replace_header("From", settings.sender)
                smtp.send_message(d.message)
                if on_sent is not None:
                    on_sent(d)
    except (OSError, smtplib.SMTPException) as exc:
        raise DigestError(f"SMTP {settings.host}:{settings.port}: {exc}") from None
