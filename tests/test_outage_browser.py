"""PostgreSQL stopped and started while a Chromium session is open: a message with a retry
button (no traceback), then the page again once the database is back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from data.build import build_demo
from data.demo import DemoSpec
from tests import provision
from tests.browser import assert_no_exception, wait_idle
from tests.conftest import END, start_app, stop_app

RANGE = "period=2026-08-01&period=2026-10-31"


@pytest.mark.browser
@pytest.mark.postgres
def test_database_outage_is_a_message_then_recovers(browser, tmp_path, artifacts):
    if provision.postgres_bin() is None:
        pytest.fail(provision.POSTGRES_HINT)
    with provision.postgres_cluster() as base:
        url = provision.create_database(base, "outage")
        build_demo(url, DemoSpec(customers=300, seed=7, end=END))
        proc, app = start_app({"CRM_DB_URL": url, "CRM_APP_DB_URL": f"sqlite:///{tmp_path}/app.sqlite"},
                              tmp_path / "server.log")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{app}/service?{RANGE}")
            wait_idle(page, 240_000)
            assert_no_exception(page)
            assert page.get_by_role("heading", name="Service & SLA").count() == 1

            provision.stop_cluster(base)
            page.get_by_test_id("stSidebarNav").get_by_text("Customer value").click()  # same session
            wait_idle(page, 120_000)
            assert_no_exception(page)
            message = page.get_by_text("The data source does not answer right now")
            assert message.count() == 1
            retry = page.get_by_role("button", name="Retry")
            assert retry.count() == 1
            assert "Traceback" not in page.content() and "OperationalError" not in page.content()
            page.screenshot(path=str(artifacts / "outage_message_1280.png"))

            provision.start_cluster(base)
            retry.click()
            expect(page.get_by_text("The data source does not answer right now")).to_have_count(0, timeout=180_000)
            expect(page.get_by_role("heading", name="Customer value")).to_have_count(1, timeout=180_000)
            wait_idle(page, 180_000)
            assert_no_exception(page)
            page.screenshot(path=str(artifacts / "outage_recovered_1280.png"))
            log = (tmp_path / "server.log").read_text()
            assert "data source failed" in log  # the details went to the server log
        finally:
            stop_app(proc)
