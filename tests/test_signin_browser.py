"""The whole sign-in flow in headless Chromium against a real local OIDC provider
(oidc-provider-mock) started by the test: a manager, an executive and an unknown user sign
in and out; the manager's drill-down CSV holds only their region, and a link to another
region shows nothing of it."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Page, expect

from tests import provision
from tests.browser import assert_no_exception, wait_idle
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

ACCESS = """
[users."ana@example.com"]
role = "manager"
region = ["North"]

[users."luis@example.com"]
role = "executive"
"""
USERS = [User(sub="ana", claims={"email": "ana@example.com", "name": "Ana Manager"}),
         User(sub="luis", claims={"email": "luis@example.com", "name": "Luis Executive"}),
         User(sub="stranger", claims={"email": "stranger@example.com", "name": "Stranger"})]


@pytest.fixture(scope="module")
def signed_app(demo_url, tmp_path_factory):
    """The app with [auth] pointing at a local OIDC provider; yields its base URL."""
    work = tmp_path_factory.mktemp("signin")
    with run_server_in_thread(user_claims=USERS) as oidc:
        port = provision.free_port()
        base = f"http://127.0.0.1:{port}"
        (work / "access.toml").write_text(ACCESS)
        (work / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "{base}/oauth2callback"\n'
            'cookie_secret = "a-long-random-test-secret-0123456789"\n'
            'client_id = "crm-dashboard"\nclient_secret = "test-secret"\n'
            f'server_metadata_url = "http://localhost:{oidc.server_port}/.well-known/openid-configuration"\n')
        env = {**os.environ, "CRM_DB_URL": demo_url, "CRM_APP_DB_URL": f"sqlite:///{work}/app.sqlite",
               "CRM_ACCESS_FILE": str(work / "access.toml")}
        log = open(work / "server.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--secrets.files", str(work / "secrets.toml")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            provision.wait_for_http(f"{base}/_stcore/health")
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def sign_in(browser, base: str, who: str, width: int = 1400) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 1600}, accept_downloads=True)
    page.goto(base)
    wait_idle(page)
    expect(page.get_by_role("heading", name="CRM analytics")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"), timeout=30_000)
    page.get_by_role("button", name=who, exact=True).click()  # the provider's predefined user
    page.wait_for_url(re.compile(r"^" + re.escape(base)), timeout=30_000)
    wait_idle(page, 120_000)
    return page


def sign_out(page: Page, base: str) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"), timeout=30_000)  # the provider's logout
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(r"^" + re.escape(base)), timeout=30_000)
    wait_idle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)


def test_manager_signs_in_sees_only_north_and_signs_out(signed_app, browser, artifacts):
    page = sign_in(browser, signed_app, "ana")
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Manager · sees Region: North")
    expect(sidebar).not_to_contain_text("CRM maturity")  # not in a manager's menu
    expect(page.locator("body")).to_contain_text("within your access, Region: North")
    page.screenshot(path=str(artifacts / "signin_manager_overview.png"), full_page=True)

    # the executive PDF of the Overview, in the manager's scope
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download PDF").click()
    text = subprocess.run(["pdftotext", download.value.path(), "-"], capture_output=True, text=True).stdout
    assert "Prepared for ana@example.com Scope Region: North" in " ".join(text.split())

    # a drill-down and its CSV: every row in the North
    page.get_by_role("button", name="Records").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        dialog.get_by_role("button", name="Download all as CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows and "customer_id" in rows[0]
    if "region" in rows[0]:
        assert {r["region"] for r in rows} == {"North"}
    page.keyboard.press("Escape")

    # a link asking for the South shows nothing of it
    page.goto(f"{signed_app}/service?region=South")
    wait_idle(page, 120_000)
    assert_no_exception(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("outside your access")
    text = page.inner_text("body").replace("outside your access — Region: South", "")
    assert "within your access, Region: North" in text and "South" not in text  # no South row, tile or label
    sign_out(page, signed_app)
    page.close()


def test_executive_signs_in_to_the_whole_company(signed_app, browser, artifacts):
    page = sign_in(browser, signed_app, "luis", width=390)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.screenshot(path=str(artifacts / "signin_executive_mobile.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1600})
    wait_idle(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Executive · sees the whole company")
    sign_out(page, signed_app)
    page.close()


def test_unknown_user_gets_no_access(signed_app, browser, artifacts):
    page = sign_in(browser, signed_app, "stranger")
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Ask your admin to add you to the access list.")
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.screenshot(path=str(artifacts / "signin_no_access.png"), full_page=True)
    sign_out(page, signed_app)
    page.close()
