"""Helpers for driving the real app in headless Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_idle(page: Page, timeout: int = 60_000) -> None:
    """Wait until the script has finished and nothing is running."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=timeout)


def open_page(browser, url: str, width: int = 1400, height: int = 1800) -> Page:
    """A new tab at ``url``, waited until idle; tall so a screenshot shows the whole page."""
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.goto(url)
    wait_idle(page)
    return page


def assert_no_exception(page: Page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.all_inner_texts()
