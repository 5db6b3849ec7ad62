"""A link whose date range is reversed or has surplus dates, opened as the first page of a
session: the date widget, the caption and the figures all show the corrected range (on a
session's first run Streamlit fills a bound widget from the link as it came)."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

import i18n

from tests.browser import assert_no_exception, wait_idle
from tests.conftest import ROOT


def _first_run(monkeypatch, demo_url, tmp_path, period: list[str], page: str | None = None) -> AppTest:
    monkeypatch.setenv("CRM_DB_URL", demo_url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.setenv("CRM_WARM", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["period"] = period
    at.run()
    return at


def test_reversed_link_dates_are_turned_around_in_the_widget_caption_and_figures(monkeypatch, demo_url, tmp_path):
    at = _first_run(monkeypatch, demo_url, tmp_path, ["2026-09-30", "2026-06-01"])
    assert not at.exception
    assert at.date_input(key="period").value == (date(2026, 6, 1), date(2026, 9, 30))
    f = at.session_state["filters"]
    assert (f.start, f.end) == (date(2026, 6, 1), date(2026, 9, 30))
    assert at.caption[0].value.startswith("1 Jun 2026 to 30 Sept 2026")
    assert any("turned around" in i.value for i in at.sidebar.info)
    assert at.query_params["period"] == ["2026-06-01", "2026-09-30"]
    at.run()  # and it stays so
    assert at.date_input(key="period").value == (date(2026, 6, 1), date(2026, 9, 30))
    assert at.caption[0].value.startswith("1 Jun 2026 to 30 Sept 2026")


def test_surplus_link_dates_give_the_default_range_everywhere(monkeypatch, demo_url, tmp_path):
    at = _first_run(monkeypatch, demo_url, tmp_path, ["2026-09-30", "2026-06-01", "2026-07-01"])
    assert not at.exception
    f = at.session_state["filters"]
    assert at.date_input(key="period").value == (f.start, f.end)
    assert (f.end - f.start).days == 89  # the default 90 days
    assert at.caption[0].value.startswith(f"{i18n.day(f.start)} to {i18n.day(f.end)}")
    assert any("a range has two dates" in w.value for w in at.sidebar.warning)


def test_reversed_link_in_chromium(app_server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{app_server}/service?period=2026-09-30&period=2026-06-01")
    wait_idle(page, timeout=240_000)  # the first visit computes the page (a loaded machine is slow)
    assert_no_exception(page)
    days = page.locator('[data-testid="stDateInput"] input')
    assert [days.nth(0).input_value(), days.nth(1).input_value()] == ["2026-06-01", "2026-09-30"]
    expect(page.get_by_text(re.compile(r"^1 Jun 2026 to 30 Sept 2026")).first).to_be_visible()
    expect(page.get_by_text("turned around", exact=False).first).to_be_visible()
    expect(page).to_have_url(re.compile(r"period=2026-06-01&period=2026-09-30"))
    page.close()
