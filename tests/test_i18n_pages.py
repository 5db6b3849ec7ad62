"""The Funnel, Retention, Engagement, Segments, Customer value and Maturity pages in Spanish
(?lang=es, AppTest): no exception, the Spanish title, and none of the page's English
headings, labels or notices left in any rendered text; numbers and money in Spanish format."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import i18n
from tests.conftest import ROOT
from tests.rendered import texts

#: page -> (Spanish title, English texts the page shows in English and must not show in Spanish)
PAGES = {
    "funnel": ("Embudo del ciclo de vida", [
        "Lifecycle funnel", "Time between stages", "Conversion table", "Compare two groups", "Break down by",
        "Windows (settings)", "Prospect", "Lifetime customer", "of prospects", "Customers created in the range",
        "Median days", "Step conversion", "Prospecting, attraction", "Download CSV"]),
    "retention": ("Cohortes de retención", [
        "Retention cohorts", "How long customers stay", "Customers behind a cell", "Measure", "Percent of month 0",
        "Cohort size", "Compare by", "Churn after days without an order", "Churned customers", "A cohort is",
        "Customer retention: share of the cohort"]),
    "engagement": ("Relación y contacto", [
        "Engagement", "Customers over the limit", "Consent and preferred channel", "Personalised vs generic",
        "Campaigns", "Over-contacted customers", "Contacts against marketing consent", "All violations",
        "Outbound contacts per customer per week", "People receive", "of those contacted", "Is the difference real"]),
    "segments": ("Segmentos", [
        "Segments", "Where revenue and customers live", "Is the difference real?", "Which is better", "Group A",
        "Compare by", "Size by", "differences are real", "Difference", "Buying customers"]),
    "value": ("Valor del cliente", [
        "Customer value", "Customer equity (predicted)", "Top customers by predicted CLV", "Mean CLV",
        "RFM: recency, frequency, monetary value", "Churn risk and CLV at risk", "NPV lifetime value by group",
        "Expected purchases", "Repeat purchases", "Two views of what", "Discount rate",
        "Model parameters"]),
    "maturity": ("Madurez del CRM", [
        "CRM maturity", "Phase reached on the evidence", "The CRM lead's view", "Phase both support",
        "Self-assessment", "Roadmap", "Save assessment", "Targets come from", "Evidence", "criteria hold",
        "Which phase do you believe", "Add to the roadmap", "KPI to change", "Download the maturity report"]),
}


@pytest.fixture
def app(monkeypatch, demo_url, tmp_path):
    monkeypatch.setenv("CRM_DB_URL", demo_url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")

    def make(page: str, lang: str, state: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["lang"] = lang
        for key, value in (state or {}).items():     # e.g. the view (tab) the page opens on
            at.session_state[key] = value
        at.run()
        # AppTest reads the widgets back in this thread, through their format_func (the page's _):
        # the language must be the page's here too
        token = i18n._language.set(lang)
        try:
            at.switch_page(f"pages/{page}.py").run()
        finally:
            i18n._language.reset(token)
        return at
    return make


def _english_left(shown: list[str], english: list[str]) -> list[str]:
    """The English texts (as whole words) found in what the page shows."""
    found = []
    for text in english:
        pattern = re.compile(r"(?<![\w])" + re.escape(text) + r"(?![\w])")
        found.extend(f"{text!r} in {s[:100]!r}" for s in shown if pattern.search(s))
    return found


#: Pages whose views are tabs computed only when opened: the tabs' key and their labels.
VIEWS = {"value": ("value_view", ["Predicted value", "RFM", "Churn risk", "NPV by group"]),
         "engagement": ("engagement_view", ["Contact pressure", "Consent and preferred channel",
                                            "Personalised vs generic", "Campaigns"])}


def _every_view(app, page: str, lang: str) -> list[str]:
    """What the page shows in each of its views (the page as opened when it has none)."""
    if page not in VIEWS:
        return texts(app(page, lang))
    key, labels = VIEWS[page]
    shown = []
    for label in labels:
        with i18n.using(lang):
            at = app(page, lang, {key: i18n._(label)})
        assert not at.exception, [e.value for e in at.exception]
        assert not [e.value for e in at.error]
        shown += texts(at)
    return shown


@pytest.mark.parametrize("page", list(PAGES))
def test_page_in_spanish_has_no_english_heading_left(app, page):
    title, english = PAGES[page]
    at = app(page, "es")
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error]
    assert [t.value for t in at.title] == [title]
    # the maturity report's preview is metrics.maturity.report_markdown (translated with metrics/)
    shown = [t for t in _every_view(app, page, "es") if not t.startswith("# CRM maturity report")]
    assert len(shown) > 20
    assert _english_left(shown, english) == []


@pytest.mark.parametrize("page", ["funnel", "value"])
def test_the_same_page_in_english_shows_those_headings(app, page):
    """The check above is not vacuous: in English the page shows several of the listed texts
    (on the Customer value page, each heading in its own view)."""
    title, english = PAGES[page]
    at = app(page, "en")
    assert not at.exception, [e.value for e in at.exception]
    shown = _every_view(app, page, "en")
    assert len(_english_left(shown, english)) >= 5
    if page == "value":
        for heading in ("RFM: recency, frequency, monetary value", "Churn risk and CLV at risk",
                        "NPV lifetime value by group", "Top customers by predicted CLV"):
            assert _english_left(shown, [heading]), heading


def test_spanish_numbers_and_money(app):
    at = app("value", "es")
    assert not at.exception, [e.value for e in at.exception]
    equity = next(m.value for m in at.metric if m.label == "Valor de la cartera (previsto)")
    assert re.fullmatch(r"\d{1,3}(\.\d{3})* €", equity), equity     # 1.824.805 €, not €1,824,805
    funnel = app("funnel", "es")
    deltas = [m.proto.delta for m in funnel.metric if m.proto.delta]
    assert deltas and all(re.fullmatch(r"\d+,\d % de los prospectos", d) for d in deltas), deltas


def test_results_without_sentences_are_computed_once_and_shown_in_each_language(app, monkeypatch, tmp_path):
    """RFM and the forecasts hold labels and translatable texts, no rendered sentence: what
    an English visitor computed, a Spanish visitor reads, shown in Spanish (the segment
    names, the forecasts' captions)."""
    from pages import ui

    monkeypatch.setenv("CRM_CACHE_DIR", str(tmp_path / "results"))
    for cached in (ui._compute_for, ui.results):
        cached.clear()
    computed: list[str] = []
    for name in ("rfm", "forecast"):
        def counted(*args, _run=ui.COMPUTATIONS[name], _name=name, **kwargs):
            computed.append(_name)
            return _run(*args, **kwargs)
        monkeypatch.setitem(ui.COMPUTATIONS, name, counted)
    shown = {}
    for lang in ("en", "es"):
        with i18n.using(lang):
            rfm_tab, forecasts_tab = i18n._("RFM"), i18n._("Forecasts (6 months)")
        shown[lang] = (texts(app("value", lang, {"value_view": rfm_tab}))
                       + texts(app("overview", lang, {"overview_view": forecasts_tab})))
    assert computed == ["rfm", "forecast", "forecast"]
    assert any("Champions" in t for t in shown["en"]) and not any("Champions" in t for t in shown["es"])
    assert any("Campeones" in t for t in shown["es"])
    assert any(t.startswith("Forecast of the next 6 months") for t in shown["en"])
    assert any(t.startswith("Previsión de los próximos 6 meses") for t in shown["es"])
    assert not any(t.startswith("Forecast of the next") for t in shown["es"])
    for cached in (ui._compute_for, ui.results):
        cached.clear()
