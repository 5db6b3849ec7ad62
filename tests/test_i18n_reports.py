"""Spanish and English beyond the pages: the sentences metrics builds, Filters.describe with
dates by locale, the CLI's text formats (``--lang`` and ``LANG``), the maturity report, the
e-mail digest in each recipient's language and the executive PDF (read back with pdftotext)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import date
from email import message_from_bytes, policy

import pandas as pd
import pytest

import i18n
from data.store import AppStore
from metrics import forecast, health, survival
from metrics.filters import Filters
from tests.conftest import ROOT
from tests.test_digest import ACCESS, AS_OF


@pytest.fixture
def spanish():
    with i18n.using("es"):
        yield


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    environ = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**environ, **(env or {})})


# ---- Filters.describe and the language of the command line
def test_describe_in_both_languages_with_dates_by_locale(spanish):
    f = Filters(date(2025, 6, 1), date(2025, 8, 29), segment=("SMB",), region=("North",), scope=(("region", ("North",)),))
    assert f.describe() == ("del 1 jun 2025 al 29 ago 2025; Segmento: SMB; Región: North; "
                            "dentro de su acceso, Región: North")
    with i18n.using("en"):
        assert f.describe() == "1 Jun 2025 to 29 Aug 2025; Segment: SMB; Region: North; within your access, Region: North"


@pytest.mark.parametrize("environ, expected", [
    ({"LANG": "es_ES.UTF-8"}, "es"), ({"LC_ALL": "es_MX", "LANG": "en_GB.UTF-8"}, "es"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "es_ES.UTF-8"}, "en"), ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"), ({}, "en"),
])
def test_language_of_the_command_line_from_the_environment(environ, expected):
    assert i18n.environment_language(environ) == expected


# ---- sentences built in metrics/, kept in cached results and shown in another language
def test_forecast_sentences_in_spanish_even_from_a_result_computed_in_english():
    months = pd.date_range("2024-01-01", periods=30, freq="MS")
    values = pd.Series([100.0 + 3 * i + (10 if i % 12 == 5 else 0) for i in range(30)], index=months)
    result = forecast.forecast(values, horizon=3, last_period_complete=True)
    short = forecast.forecast(values.iloc[:4], horizon=3, last_period_complete=True)     # too short: a reason, not a model
    english = short.sentence()
    assert english.startswith("Not enough history to forecast: 4 months; at least")
    cached = pickle.loads(pickle.dumps((result, short)))       # as Streamlit's cache hands it to another session
    with i18n.using("es"):
        assert cached[1].sentence().startswith("Historial insuficiente para prever: 4 meses; se necesitan al menos")
        text = cached[0].sentence()
        assert text.startswith("Previsión de los próximos 3 meses por suavizado exponencial")
        assert "si se mantiene el patrón pasado" in text
        if cached[0].backtest is not None and cached[0].backtest.available:
            assert cached[0].backtest.sentence().startswith("Probado en los últimos")
    assert short.reason == english                              # its value as a string stays English


def test_health_exclusion_note_in_both_languages():
    check = health.CHECKS_BY_KEY["tickets.resolved_at_before_opened_at"]
    finding = health.Finding(check.table, check.name, check.kind, check.reason, 1234, check.excluded)
    assert finding.sentence() == "1,234 tickets left out: resolved before they were opened"
    with i18n.using("es"):
        assert finding.sentence() == "Se excluyen 1.234 tickets: resueltos antes de abrirse"
        future = health.CHECKS_BY_KEY["orders.ordered_at_future"]
        assert str(future.reason) == "fecha del pedido: posterior a hoy (un hecho que aún no ha ocurrido)"
    # the field in words in English too, never its column name
    assert str(future.reason) == "order date is after today (an event that has not happened yet)"


def test_survival_sentences_in_spanish(spanish):
    data = pd.DataFrame({"group": ["A"] * 4 + ["B"] * 4, "duration_days": [10, 20, 30, 40, 50, 60, 70, 80],
                         "churned": [True, True, True, False, False, False, True, False]})
    medians = survival.median_survival(data)
    assert medians["A"].sentence().startswith("La mitad de los clientes A se ha perdido el día")
    test = survival.logrank(data)
    assert "prueba log-rank, chi cuadrado = " in test.sentence()
    assert survival.logrank(data[data.group == "A"]).sentence().startswith("Solo hay un grupo (A)")


# ---- the command line's text formats
def test_cli_markdown_report_in_spanish_and_english(demo_url):
    spanish = cli("report", "--db", demo_url, "--from", "2026-08-01", "--to", "2026-10-31", "--lang", "es")
    assert spanish.returncode == 0, spanish.stderr
    text = spanish.stdout
    assert text.startswith("# Cuadro de mando del CRM — del 1 ago 2026 al 31 oct 2026")
    assert "Puntuación global: **" in text and "(periodo de comparación: " in text
    assert "| KPI | valor | comparación | variación | objetivo | estado |" in text
    assert "| 1 Visión |" in text and "| Cumplimiento del SLA |" in text
    assert "en objetivo" in text or "fuera de objetivo" in text
    assert "Overall score" not in text and "on target" not in text
    english = cli("report", "--db", demo_url, "--from", "2026-08-01", "--to", "2026-10-31")
    assert english.stdout.startswith("# CRM scorecard — 1 Aug 2026 to 31 Oct 2026")
    from_env = cli("report", "--db", demo_url, "--from", "2026-08-01", "--to", "2026-10-31",
                   env={"LANG": "es_ES.UTF-8"})
    assert from_env.stdout == text                               # LANG=es_ES: Spanish without --lang
    json_es = cli("report", "--db", demo_url, "--from", "2026-08-01", "--to", "2026-10-31", "--lang", "es",
                  "--format", "json")
    assert '"status": "on target"' in json_es.stdout or '"status": "off target"' in json_es.stdout  # codes stay


def test_cli_rejects_an_unknown_language(demo_url):
    done = cli("report", "--db", demo_url, "--lang", "fr")
    assert done.returncode == 2 and "invalid choice: 'fr'" in done.stderr


# ---- digest and PDF in the recipient's language
def test_digest_in_the_recipients_language(demo_path, tmp_path):
    import shutil

    db = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, db)
    (tmp_path / "access.toml").write_text(ACCESS)
    (tmp_path / "digests.toml").write_text('[defaults]\nformat = "text"\n\n[[recipients]]\nemail = "ana@example.com"\n'
                                           'lang = "es"\n\n[[recipients]]\nemail = "sam@example.com"\n')
    store_url = f"sqlite:///{tmp_path}/app.sqlite"
    store = AppStore(store_url)
    store.add_alert_rule("sla_compliance", "above", -1, who="lead@example.com", role="crm_lead")  # always fires
    store.dispose()
    done = cli("digest", "--config", str(tmp_path / "digests.toml"), "--db", f"duckdb:///{db}",
               "--access", str(tmp_path / "access.toml"), "--as-of", AS_OF, "--out", str(tmp_path / "out"),
               env={"CRM_APP_DB_URL": store_url})
    assert done.returncode == 0, done.stderr
    messages = {p.name.split("_", 1)[1]: message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in (tmp_path / "out").glob("*.eml")}
    ana, sam = messages["ana_at_example.com.eml"], messages["sam_at_example.com.eml"]
    assert ana["Subject"] == "Resumen CRM del 25 oct 2026 al 31 oct 2026: 1 alerta"
    body = ana.get_body(preferencelist=("plain",)).get_content()
    assert "Para ana@example.com · ve Región: North" in body
    assert "Alertas:" in body and "Cumplimiento del SLA supera -100,0 %: " in body
    assert "Todos los KPI (valor / periodo anterior / objetivo / estado):" in body
    html = ana.get_body(preferencelist=("html",)).get_content()
    assert "<h3>Alertas</h3>" in html and "Cumplimiento del SLA" in html and 'lang="es"' in html
    assert sam["Subject"] == "CRM digest 25 Oct 2026 to 31 Oct 2026: 1 alert"     # no lang: English


def test_a_bad_language_in_the_digest_configuration_names_the_entry():
    from reports.digest import DigestError, parse_config

    with pytest.raises(DigestError, match=r"recipient 1 \(ana@example.com\): lang 'fr' is not one of en, es"):
        parse_config('[[recipients]]\nemail = "ana@example.com"\nlang = "fr"\n')


def test_pdf_in_spanish(demo_url, tmp_path):
    out = tmp_path / "informe.pdf"
    done = cli("report", "--db", demo_url, "--from", "2026-08-01", "--to", "2026-10-31", "--format", "pdf",
               "--out", str(out), "--lang", "es")
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for heading in ("Cuadro de mando del CRM", "Preparado para", "Puntuación global del CRM",
                    "Las 8 reglas de oro de Gartner", "Todos los KPI", "Tendencias principales (12 meses)",
                    "1 de agosto de 2026 al 31 de octubre de 2026", "Cumplimiento del SLA"):
        assert heading in text, heading
    for english in ("Prepared for", "Every KPI", "Overall CRM score", "Where to look"):
        assert english not in text, english
