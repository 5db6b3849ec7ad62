"""The Import data page in a real browser: upload files, import, the Overview on the new data;
a bad file shows its problems and changes nothing. Screenshots go to test-artifacts/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from data.imports import run_import
from tests import exports
from tests.browser import assert_no_exception, open_page, wait_idle
from tests.conftest import start_app, stop_app

pytestmark = pytest.mark.browser


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def workspace_app(tmp_path_factory, demo_path):
    """A live app whose source is a workspace holding a previous import of the demo."""
    work = tmp_path_factory.mktemp("import_app")
    workspace = work / "workspace.duckdb"
    run_import([exports.crm_csv(demo_path, work / "demo_csv")], "crm", str(workspace))
    proc, base = start_app({"CRM_DB_URL": "", "CRM_WORKSPACE_PATH": str(workspace),
                            "CRM_APP_DB_URL": f"sqlite:///{work}/app.sqlite"}, work / "server.log")
    yield base, workspace
    stop_app(proc)


def upload(page, paths: list[Path]) -> None:
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(p) for p in paths])
    expect(page.get_by_text("How the files map onto the data model")).to_be_visible(timeout=60_000)
    wait_idle(page)


def test_a_bad_file_shows_the_problems_and_changes_nothing(workspace_app, browser, tmp_path, artifacts):
    base, workspace = workspace_app
    before = digest(workspace)
    folder = exports.tiny_csv(tmp_path / "tiny")
    tickets = folder / "tickets.csv"
    tickets.write_text(tickets.read_text().replace("immediate", "soon", 1))
    for width, height, name in ((1440, 1400, "wide"), (390, 844, "phone")):
        page = open_page(browser, f"{base}/import_data", width=width, height=height)
        upload(page, sorted(folder.glob("*.csv")))
        assert_no_exception(page)
        expect(page.get_by_text("must be fixed in the files")).to_be_visible()
        expect(page.get_by_text("sla_class: 'soon' is not one of")).to_be_visible()
        expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
        page.screenshot(path=str(artifacts / f"import_data_problems_{name}.png"))
        page.close()
    assert digest(workspace) == before


def test_upload_import_and_the_overview_shows_the_new_data(workspace_app, browser, tmp_path, artifacts):
    base, workspace = workspace_app
    folder = exports.tiny_csv(tmp_path / "tiny")
    page = open_page(browser, f"{base}/import_data", width=1440, height=2200)
    upload(page, sorted(folder.glob("*.csv")))
    assert_no_exception(page)
    expect(page.get_by_text("The files are valid.")).to_be_visible()
    page.screenshot(path=str(artifacts / "import_data_checked.png"))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("The dashboard now shows this data.")).to_be_visible(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "import_data_done.png"))
    page.get_by_role("link", name="Open the Overview").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    # a new visitor's Overview is on the new data: the tiny CRM's last activity is on 2026-01-31
    visitor = open_page(browser, f"{base}/", width=1440, height=1400)
    expect(visitor.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    assert_no_exception(visitor)
    last_day = visitor.locator('[data-testid="stDateInput"] input[type="date"]').nth(1).input_value()
    assert last_day == "2026-01-31"
    visitor.screenshot(path=str(artifacts / "import_data_overview_after.png"))
    visitor.close()
    # the tiny CRM ends in February 2026 and starts in 2023: the date filter now spans its data
    page.goto(f"{base}/data_source")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    page.screenshot(path=str(artifacts / "import_data_after_data_page.png"))
    import duckdb

    con = duckdb.connect(str(workspace), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 6
        assert con.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 2
    finally:
        con.close()
    page.close()


def test_after_an_import_a_link_period_follows_the_new_data(workspace_app, browser, tmp_path):
    """A session opened from a link carrying ``?period=``: after the import, the date widget and
    the link show the imported data's default window (the tiny CRM's 90 days to 2026-01-31)."""
    base, _workspace = workspace_app
    page = open_page(browser, f"{base}/import_data?period=2025-06-01&period=2025-06-30", width=1440, height=2200)
    days = page.locator('[data-testid="stSidebar"] [data-testid="stDateInput"] input')
    assert [days.nth(0).input_value(), days.nth(1).input_value()] == ["2025-06-01", "2025-06-30"]
    upload(page, sorted(exports.tiny_csv(tmp_path / "tiny").glob("*.csv")))
    expect(page.get_by_text("The files are valid.")).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("The dashboard now shows this data.")).to_be_visible(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    expect(days.nth(1)).to_have_value("2026-01-31")
    assert days.nth(0).input_value() == "2025-11-03"
    assert "2025-06-01" not in page.url and "2025-06-30" not in page.url
    page.get_by_role("link", name="Open the Overview").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    assert [days.nth(0).input_value(), days.nth(1).input_value()] == ["2025-11-03", "2026-01-31"]
    page.close()
