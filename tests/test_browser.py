"""The real app: ``streamlit run`` on a free port, driven by Playwright in headless Chromium."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine

from metrics import drilldown, sla
from metrics.filters import Filters
from tests.browser import assert_no_exception, open_page, wait_drawn, wait_idle

pytestmark = pytest.mark.browser

# url path -> (heading, minimum number of plotly charts)
PAGES = {
    "": ("Overview", 6),  # the default page lives at the root
    "rules": ("Gartner's eight rules", 0),
    "funnel": ("Lifecycle funnel", 3),
    "service": ("Service & SLA", 5),
    "retention": ("Retention cohorts", 1),
    "engagement": ("Engagement", 1),  # its other views are tabs computed when opened
    "segments": ("Segments", 1),
    "value": ("Customer value", 3),
    "maturity": ("CRM maturity", 0),
    "data_source": ("Data", 0),
}
RANGE = "period=2025-06-01&period=2026-10-31"


@pytest.mark.parametrize("path", list(PAGES), ids=lambda p: p or "overview")
def test_every_page_renders_with_its_charts(app_server, browser, path, tmp_path, artifacts):
    heading, charts = PAGES[path]
    page = open_page(browser, f"{app_server}/{path}?{RANGE}")
    assert_no_exception(page)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    if charts:
        expect(page.locator(".js-plotly-plot").nth(charts - 1)).to_be_visible(timeout=30_000)
        # a rendered plotly chart has drawn its axes or polar grid
        assert page.locator(".js-plotly-plot .main-svg").count() >= charts
    if path not in ("retention", "segments"):
        expect(page.locator('[data-testid="stMetric"]').nth(1)).to_be_visible(timeout=30_000)
    wait_idle(page)
    name = path or "overview"
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    shutil.copy(shot, artifacts / f"{name}.png")
    page.close()


def _pick(page, label: str, value: str) -> None:
    box = page.get_by_test_id("stMultiSelect").filter(has_text=label).first
    box.locator("input").click()
    box.locator("input").fill(value)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page)


def test_filters_go_to_the_url_and_the_url_restores_them(app_server, browser):
    page = open_page(browser, f"{app_server}/service?{RANGE}")
    before = page.get_by_test_id("stMetricValue").first.inner_text()
    # the values only: empty is "All", and Streamlit's own "Select all" would be English in Spanish
    page.get_by_test_id("stMultiSelect").filter(has_text="Segment").first.locator("input").click()
    expect(page.get_by_role("option").first).to_be_visible(timeout=30_000)
    assert page.get_by_role("option").all_inner_texts() == ["Consumer", "Enterprise", "SMB"]
    page.keyboard.press("Escape")
    _pick(page, "Segment", "SMB")
    expect(page).to_have_url(re.compile(r"segment=SMB"))
    _pick(page, "Region", "South")
    expect(page).to_have_url(re.compile(r"region=South"))
    expect(page.get_by_text("Segment: SMB; Region: South").first).to_be_visible(timeout=30_000)
    wait_idle(page)
    shared = page.url
    after = page.get_by_test_id("stMetricValue").first.inner_text()
    assert after != before   # the tiles follow the filters
    page.close()

    reopened = open_page(browser, shared)
    wait_drawn(reopened)    # open_page can return before the first run has started (tests/browser.py)
    assert_no_exception(reopened)
    segment = reopened.get_by_test_id("stMultiSelect").filter(has_text="Segment").first
    expect(segment).to_contain_text("SMB")
    expect(reopened.get_by_test_id("stMultiSelect").filter(has_text="Region").first).to_contain_text("South")
    expect(reopened.get_by_test_id("stMetricValue").first).to_have_text(after)
    expect(reopened.get_by_text("Segment: SMB; Region: South").first).to_be_visible()
    reopened.close()


def _go(page, link: str, heading: str) -> None:
    """Open a page from the sidebar's navigation and wait for its heading."""
    page.get_by_test_id("stSidebarNav").locator("a").filter(has_text=link).first.click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
    wait_idle(page)


def test_the_language_stays_through_page_switches_until_changed(app_server, browser):
    """A Spanish session stays Spanish from page to page (the sidebar's control once lost it
    on the second switch, and the pages went back to the browser's English); a language
    picked in the sidebar stays too."""
    page = open_page(browser, f"{app_server}/?lang=es")
    expect(page.get_by_role("heading", name="Resumen", exact=True)).to_be_visible(timeout=60_000)
    for link, heading in (("Segmentos", "Segmentos"), ("Embudo", "Embudo del ciclo de vida"),
                          ("Servicio", "Servicio y SLA"), ("Datos", "Datos")):
        _go(page, link, heading)
        expect(page).to_have_url(re.compile(r"lang=es"))
        if link == "Servicio":   # the charts' toolbar too: plotly.js's own Spanish (i18n/plotly)
            page.locator(".modebar-btn").first.wait_for(state="attached", timeout=60_000)
            tips = page.eval_on_selector_all(".modebar-btn", "els => els.map(e => e.getAttribute('data-title'))")
            assert {"Descargar gráfica como PNG", "Reiniciar ejes"} <= set(tips), tips
            assert "Download plot as a PNG" not in tips
    page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"] button').filter(has_text="English").click()
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible(timeout=60_000)
    wait_idle(page)
    for link, heading in (("Segments", "Segments"), ("Lifecycle funnel", "Lifecycle funnel"),
                          ("Overview", "Overview")):
        _go(page, link, heading)
        expect(page).to_have_url(re.compile(r"lang=en"))
    assert_no_exception(page)
    # every page is listed: the navigation's "View more" button would be English in Spanish
    expect(page.get_by_test_id("stSidebarNavViewButton")).to_have_count(0)
    page.close()


def test_a_computer_set_to_dark_sees_the_light_app_with_light_charts(app_server, browser):
    """The app's theme is light (.streamlit/config.toml); Streamlit's st.context.theme reported
    the system's dark scheme on the first load, and the charts were drawn dark on a white page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, color_scheme="dark")
    page = context.new_page()
    page.goto(f"{app_server}/service")
    wait_idle(page)
    page.locator(".main-svg").first.wait_for(state="attached", timeout=60_000)
    app = page.eval_on_selector('[data-testid="stApp"]', "e => getComputedStyle(e).backgroundColor")
    # each chart's first svg carries its paper colour (the second, drawn over it, none)
    charts = page.eval_on_selector_all(".main-svg", "els => els.map(e => e.style.background).filter(b => b)")
    assert app == "rgb(255, 255, 255)" and set(charts) == {"white"}, (app, charts)
    context.close()


def test_invalid_link_values_show_a_notice(app_server, browser):
    page = open_page(browser, f"{app_server}/?segment=SMB&segment=Martians&compare=soon")
    assert_no_exception(page)
    expect(page.get_by_text(re.compile("Ignored values from the link"))).to_be_visible()
    expect(page.get_by_text(re.compile("Martians"))).to_be_visible()
    page.close()


def test_breach_drill_down_and_its_csv(app_server, browser, demo_url, tmp_path):
    page = open_page(browser, f"{app_server}/service?period=2026-08-01&period=2026-10-31&region=South")
    page.get_by_role("button", name="Open the breach list").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    wait_idle(page)
    records = dialog.get_by_text(re.compile(r"[\d,]+ records"))
    expect(records).to_be_visible(timeout=30_000)
    caption = records.inner_text()
    shown_total = int(caption.split(" records")[0].replace(",", ""))
    with page.expect_download() as download_info:
        dialog.get_by_role("button", name="Download all as CSV").click()
    path = tmp_path / "breaches.csv"
    download_info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))

    engine = create_engine(demo_url, connect_args={"read_only": True})
    filters = Filters(date(2026, 8, 1), date(2026, 10, 31), region=("South",))
    with engine.connect() as conn:
        expected = drilldown.all_rows(conn, sla.breach_records(filters))
    engine.dispose()
    assert len(rows) == shown_total == len(expected) > 0
    assert [r["ticket_id"] for r in rows] == list(expected.ticket_id)
    assert {r["region"] for r in rows} == {"South"}
    page.close()


def test_kpi_tile_drill_down_opens(app_server, browser):
    page = open_page(browser, f"{app_server}/?{RANGE}")
    wait_drawn(page)    # the whole page drawn: a click while its script still runs can be lost
    page.locator(".st-key-drill_overview_sla_compliance").get_by_role("button", name="Records").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text("SLA compliance")).to_be_visible(timeout=30_000)
    expect(dialog.get_by_test_id("stDataFrame")).to_have_count(1, timeout=30_000)
    page.close()


def test_clicking_a_chart_filters_the_page_and_can_be_cleared(app_server, browser):
    page = open_page(browser, f"{app_server}/service?{RANGE}")
    chart = page.locator(".js-plotly-plot").filter(has_text="Channel mix")
    chart.scroll_into_view_if_needed()
    chart.locator(".bars .point").first.click(force=True)  # plotly takes clicks on its drag layer
    wait_idle(page)
    note = page.get_by_text(re.compile(r"Filtered by chart click: Channel = "))
    expect(note).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    wait_idle(page)
    expect(note).to_have_count(0)
    assert_no_exception(page)
    page.close()


def test_assessment_saved_in_the_browser_survives_a_restart(demo_url, browser, tmp_path, artifacts):
    from tests.conftest import start_app, stop_app

    env = {"CRM_DB_URL": demo_url, "CRM_APP_DB_URL": f"sqlite:///{tmp_path}/store.sqlite"}
    proc, base = start_app(env, tmp_path / "first.log")
    try:
        page = open_page(browser, f"{base}/maturity")
        assert_no_exception(page)
        expect(page.get_by_text("not assessed yet")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Self-assessment").click()
        page.get_by_text("3 Process", exact=True).click()
        page.get_by_label("Notes").fill("browser check")
        page.get_by_role("button", name="Save assessment").click()
        wait_idle(page)
        expect(page.get_by_text(re.compile(r"Assessment 1 saved by local"))).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "maturity_saved.png"))
        page.close()
    finally:
        stop_app(proc)

    proc, base = start_app(env, tmp_path / "second.log")
    try:
        page = open_page(browser, f"{base}/maturity")
        assert_no_exception(page)
        expect(page.get_by_text("3 · Process", exact=True)).to_be_visible(timeout=30_000)   # the lead's view, from the store
        page.get_by_role("tab", name="History").click()
        expect(page.get_by_text(re.compile(r"Rule scores \(data\) at each")).first).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Report").click()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the maturity report (Markdown)").click()
        report = tmp_path / "report.md"
        download_info.value.save_as(report)
        text = report.read_text()
        assert "Phase reached on the evidence" in text and "the CRM lead's view: 3 Process" in text
        page.get_by_role("tab", name="History").click()
        shot = tmp_path / "maturity.png"
        page.screenshot(path=str(shot))
        shutil.copy(shot, artifacts / "maturity.png")
        page.close()
    finally:
        stop_app(proc)
