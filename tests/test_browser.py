"""The real app: ``streamlit run`` served on a free port, opened in headless Chromium."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser import assert_no_exception, open_page

pytestmark = pytest.mark.browser


def test_first_page_shows_the_data_source(app_server, browser, tmp_path, artifacts):
    page = open_page(browser, app_server)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Data source")).to_be_visible()
    expect(page.get_by_text("opened read-only")).to_be_visible()
    grid = page.get_by_test_id("stDataFrame")
    expect(grid).to_have_count(1)
    shot = tmp_path / "data_source.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, artifacts / "data_source.png")
    page.close()
