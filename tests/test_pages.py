"""AppTest: every page with default filters, a filter that selects nothing, a one-day range and
filters from the URL — no exception, the expected title and tiles."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGES = {
    "overview": ("Overview", ["Overall CRM score", "SLA compliance", "NPS"]),
    "rules": ("Gartner's eight rules", ["Rule score", "NPS", "Record completeness"]),
    "funnel": ("Lifecycle funnel", ["Prospect", "Acquired"]),
    "service": ("Service & SLA", ["SLA compliance", "Escalation rate"]),
    "retention": ("Retention cohorts", []),
    "engagement": ("Engagement", ["Customers over the limit"]),
    "segments": ("Segments", []),
    "value": ("Customer value", ["Customer equity (predicted)", "Mean CLV"]),
    "pipeline": ("Sales pipeline", ["Open pipeline", "Win rate", "Median sales cycle"]),
    "maturity": ("CRM maturity", ["Phase reached on the evidence"]),
    "data_source": ("Data", ["Record completeness"]),
}
EMPTY_MESSAGES = ("No ", "nothing", "fewer than two")


@pytest.fixture
def app(monkeypatch, demo_url, tmp_path):
    monkeypatch.setenv("CRM_DB_URL", demo_url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")

    def make(page: str, query: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page != "overview":
            at.switch_page(f"pages/{page}.py").run()
        return at
    return make


def _check(at: AppTest, title: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == [title]
    assert not [e.value for e in at.error]


def test_a_target_is_never_split_across_lines(app):
    """A target stays with its comparator and unit ("≥ 95,0 %" on one line, never "≥" at a
    line's end or "%" alone on the next): the Overview's links to what is short of its target
    ("(objetivo ≥ 20,0 %)" whole) and its tiles' badges join them with non-breaking spaces. In Spanish the badge says
    "objetivo" once: its status already does ("cerca del objetivo (≥ 95,0 %)")."""
    import re

    at = app("overview", {"lang": "es"})
    assert not at.exception, [e.value for e in at.exception]
    badges = [m.value for m in at.markdown if "-badge[" in m.value and ("(≥" in m.value or "(≤" in m.value)]
    assert len(badges) >= 4, badges                              # the headline tiles at least
    assert all(re.search(r"(objetivo|sin datos) \([≥≤]\u00a0[^ )]+\)\]$", b) for b in badges), badges
    links = [e.proto.label for e in at.get("page_link") if "(objetivo" in e.proto.label]
    assert links, [e.proto.label for e in at.get("page_link")]
    assert all(re.search(r": [^ ]+ \(objetivo\u00a0[≥≤]\u00a0[^ )]+\)$", label) for label in links), links


@pytest.mark.parametrize("page", list(PAGES))
def test_default_filters(app, page):
    at = app(page)
    title, tiles = PAGES[page]
    _check(at, title)
    labels = {m.label for m in at.metric}
    assert set(tiles) <= labels, labels


@pytest.mark.parametrize("page", list(PAGES))
def test_filter_that_selects_nothing(app, page):
    # Consumer customers are never owned by the key-accounts team
    at = app(page, {"segment": ["Consumer"], "owner_team": ["Key accounts"]})
    _check(at, PAGES[page][0])
    assert at.multiselect(key="segment").value == ["Consumer"]
    if page in ("funnel", "service", "retention", "engagement", "value"):
        shown = [i.value for i in at.info]
        assert any(message in text for text in shown for message in EMPTY_MESSAGES), shown
    if page in ("overview", "rules"):
        assert any(m.value == "no data" for m in at.metric)


@pytest.mark.parametrize("page", list(PAGES))
def test_one_day_range(app, page):
    at = app(page, {"period": ["2026-10-14", "2026-10-14"]})
    _check(at, PAGES[page][0])
    assert any(c.value.startswith("14 Oct 2026 to 14 Oct 2026") for c in at.caption) or page == "segments"
    assert not at.sidebar.warning


@pytest.mark.parametrize("page", list(PAGES))
def test_filters_from_the_url(app, page):
    at = app(page, {"period": ["2026-06-01", "2026-09-30"], "region": ["South", "North"], "compare": "Same period last year",
                    "channel": ["phone"]})
    _check(at, PAGES[page][0])
    assert sorted(at.multiselect(key="region").value) == ["North", "South"]
    assert at.selectbox(key="compare").value == "Same period last year"
    assert any("Region: North, South" in c.value or "Region: South, North" in c.value for c in at.caption) \
        or page == "segments"


def test_invalid_url_values_are_ignored_with_a_notice(app):
    at = app("overview", {"segment": ["SMB", "Nonsense"], "compare": "tomorrow", "period": ["yesterday", "x"]})
    _check(at, "Overview")
    assert at.multiselect(key="segment").value == ["SMB"]
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "Nonsense" in warning and "tomorrow" in warning and "date range" in warning


def test_unreachable_source_keeps_the_app_running(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{tmp_path}/missing.duckdb")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "DuckDB file not found" in at.error[0].value


def test_maturity_page_saves_an_assessment(app, tmp_path):
    at = app("maturity")
    _check(at, "CRM maturity")
    assert {"Phase reached on the evidence", "The CRM lead's view"} <= {m.label for m in at.metric}
    at.select_slider(key="q_information_1").set_value(1)
    at.select_slider(key="q_vision_1").set_value(5)
    at.radio(key="q_claimed").set_value(3)
    at.text_area(key="q_notes").input("quarterly review")
    next(b for b in at.button if b.label == "Save assessment").click().run()
    assert not at.exception
    assert any("Assessment 1 saved by local" in s.value for s in at.success)
    from data.store import AppStore

    saved = AppStore(f"sqlite:///{tmp_path}/app.sqlite")
    assert saved.answers(1)["information_1"] == 1 and saved.answers(1)["claimed_phase"] == 3
    assert saved.snapshot(1).shape[0] == 26
    saved.dispose()


def test_a_target_is_entered_as_the_page_shows_it(app, tmp_path):
    """A percentage target is typed as a percent (92.5 for 92.5 %), in words for its unit,
    and saved as the fraction the KPIs compare with."""
    from data.store import AppStore

    at = app("maturity")
    _check(at, "CRM maturity")
    at.selectbox(key="target_kpi").set_value("sla_compliance").run()
    box = at.number_input(key="target_value_sla_compliance")
    assert box.label == "New target for SLA compliance (%)" and box.value == 95.0   # targets.toml: 0.95
    box.set_value(92.5)
    next(b for b in at.get("form_submit_button") if b.label == "Save target").click().run()
    assert not at.exception
    saved = AppStore(f"sqlite:///{tmp_path}/app.sqlite")
    assert saved.target_overrides()["sla_compliance"] == pytest.approx(0.925)
    saved.dispose()
    at.selectbox(key="target_kpi").set_value("nps").run()
    assert at.number_input(key="target_value_nps").label == "New target for NPS (NPS points)"


def test_targets_edited_in_the_app_override_the_file(app, tmp_path):
    from data.store import AppStore

    store = AppStore(f"sqlite:///{tmp_path}/app.sqlite")
    store.set_target("sla_compliance", 0.5, who="Ana")
    store.dispose()
    at = app("service")
    _check(at, "Service & SLA")
    badges = " ".join(m.value for m in at.markdown if "-badge[" in m.value).replace("\u00a0", " ")
    assert "on target · target ≥ 50.0 %" in badges     # compliance (~90 %) now meets the edited target


@pytest.mark.parametrize("page", list(PAGES))
def test_no_developer_vocabulary(app, page):
    """No schema column name (data/schema.py), "None", "nan" or "seed" in any rendered text."""
    from tests.rendered import developer_vocabulary, texts

    at = app(page)
    _check(at, PAGES[page][0])
    assert len(texts(at)) > 10
    assert developer_vocabulary(at) == []


def test_chart_click_filter_comes_from_the_link(app):
    at = app("service", {"sla_channels": ["email"]})
    _check(at, "Service & SLA")
    notes = [i.value for i in at.info]
    assert any("Filtered by chart click: Channel = email" in n for n in notes), notes


def test_funnel_and_cohorts_default_to_twelve_months(app):
    for page in ("funnel", "retention"):
        at = app(page)                                           # the sidebar's default is 90 days
        captions = " ".join(c.value for c in at.caption)
        assert "the 12 calendar months" in captions, captions
        at.toggle(key=f"{'funnel' if page == 'funnel' else 'cohort'}_window").set_value(True).run()
        assert "the sidebar's date range" in " ".join(c.value for c in at.caption)


def test_overview_in_spanish_from_the_link(app):
    at = app("overview", {"lang": "es"})
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Resumen"]
    labels = {m.label for m in at.metric}
    assert {"Puntuación global del CRM", "Cumplimiento del SLA", "Tasa de éxito"} <= labels, labels
    assert at.query_params["lang"] in ("es", ["es"])


#: Pages whose views are lazy tabs: (tabs' key, computations when the page opens, then for
#: each view its label, the computation it adds and a text it shows).
LAZY_VIEWS = {
    "value": ("value_view", {"clv"}, [
        ("RFM", "rfm", "RFM: recency, frequency, monetary value"),
        ("Churn risk", "churn", "Churn risk and CLV at risk"),
        ("NPV by group", "value.by_group", "NPV lifetime value by group")]),
    "engagement": ("engagement_view", {"engagement.pressure_overview", "engagement.consent"}, [
        ("Personalised vs generic", "engagement.personalised", "Is the difference real?"),
        ("Campaigns", "engagement.roi", "ROI = (attributed margin - cost) / cost."),
        ("Consent and preferred channel", None, "outbound contacts went to customers without marketing consent")]),
}
HIDDEN = {"rfm", "churn", "value.by_group", "engagement.personalised", "engagement.roi"}


@pytest.mark.parametrize("page", list(LAZY_VIEWS))
def test_a_page_computes_only_the_view_that_is_open(app, monkeypatch, page):
    """Customer value and Engagement show their views as lazy tabs: only the first view's
    sections when the page opens; each other view's when its tab is chosen (each is seconds at
    a million customers)."""
    import streamlit as st

    from pages import ui

    asked = []
    for name, function in list(ui.COMPUTATIONS.items()):
        monkeypatch.setitem(ui.COMPUTATIONS, name,
                            lambda conn, f, *args, _name=name, _function=function: (asked.append(_name),
                                                                                      _function(conn, f, *args))[1])
    st.cache_data.clear()
    ui.results().forget()
    key, first, views = LAZY_VIEWS[page]
    at = app(page)
    _check(at, PAGES[page][0])
    assert first <= set(asked) and not HIDDEN & set(asked), asked
    for label, name, text in views:
        at.session_state[key] = label
        at.run()
        _check(at, PAGES[page][0])
        assert name is None or name in asked, (label, asked)
        shown = [e.value for e in (*at.subheader, *at.markdown, *at.caption)]
        assert any(text in value for value in shown), (label, text)


def test_a_rerun_draws_the_overview_figures_without_building_them(app, monkeypatch):
    """The Overview's figures are built once per data, language and theme (pages/ui.py chart):
    a rerun draws the same six charts without building any. The forecasts' two charts are built
    when their tab is opened only; in Spanish they are built again, with Spanish titles, and the
    forecasts' tab stays open."""
    import functools

    from pages import charts, ui

    ui._figure.clear()          # figures other tests of this process built are kept too
    built: list[str] = []
    for name in ("rule_radar", "rule_bars", "monthly_line", "forecast_chart"):
        def counted(*args, _build=getattr(charts, name), **kwargs):
            built.append(_build.__name__)
            return _build(*args, **kwargs)
        monkeypatch.setattr(charts, name, functools.wraps(getattr(charts, name))(counted))
    at = app("overview")
    first = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(first) == 6 and len(built) == 6 and "forecast_chart" not in built
    at.run()
    assert not at.exception
    assert [c.proto.spec for c in at.get("plotly_chart")] == first and len(built) == 6
    at.session_state["overview_view"] = "Forecasts (6 months)"
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 4 and built[6:] == ["forecast_chart", "forecast_chart"]
    at.query_params["lang"] = "es"
    at.run()
    assert len(built) == 8 + 4      # the radar, the bars and, the forecasts' tab still open, two forecasts
    assert [t.label for t in at.tabs] == ["Tendencias principales (12 meses)", "Previsiones (6 meses)"]
    assert any("Ingresos" in c.proto.spec for c in at.get("plotly_chart"))
