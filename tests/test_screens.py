"""Every page in a real browser at 1280 and 1440 wide and on a phone (390 x 844), in English and
Spanish: screenshots kept in test-artifacts/screens/ for a person to look at, and no text cut
by its box or by a chart's edge (tests/browser.py's clipped-text check)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import i18n
from tests.browser import assert_no_exception, clipped_text, wait_drawn, wait_idle

pytestmark = pytest.mark.browser

# url path -> heading in English (the Spanish heading is its translation in the catalogue).
# Every page an admin sees in local single-user mode, including the Administration section.
PAGES = {
    "": "Overview",
    "rules": "Gartner's eight rules",
    "funnel": "Lifecycle funnel",
    "service": "Service & SLA",
    "retention": "Retention cohorts",
    "engagement": "Engagement",
    "segments": "Segments",
    "value": "Customer value",
    "pipeline": "Sales pipeline",
    "maturity": "CRM maturity",
    "data_source": "Data",
    "import_data": "Import data",
    "alerts": "Alert rules",
    "access_admin": "Access",
}
SIZES = {"1280": (1280, 900), "1440": (1440, 900), "phone": (390, 844)}
RANGE = "period=2025-06-01&period=2026-10-31"


#: The heights of the KPI tiles side by side, per row (the tiles whose tops are level).
TILE_ROWS = """() => {
  const rows = {};
  for (const tile of document.querySelectorAll('[data-testid="stMetric"]')) {
    const box = tile.getBoundingClientRect();
    (rows[Math.round(box.top)] = rows[Math.round(box.top)] || []).push(box.height);
  }
  return Object.values(rows);
}"""


def _tile_rows_end_level(page) -> bool:
    """Every row of several tiles has tiles of one height (a two-line label made one taller,
    and its status badge then stood lower than its neighbours'). A tile is as tall as its
    column less its status and button: where a status takes two lines (at 1280, or in
    Spanish), that tile is shorter by a line."""
    rows = [r for r in page.evaluate(TILE_ROWS) if len(r) > 1]
    return len(rows) >= 2 and all(max(r) - min(r) <= 1 for r in rows)


def heading(path: str, lang: str) -> str:
    """The page's heading in ``lang``: the English one through the message catalogue."""
    return i18n.translations(lang).gettext(PAGES[path])


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_without_clipped_text(app_server, browser, artifacts, size, lang):
    """Each page at the window size, then as tall as the page for the screenshot
    (test-artifacts/screens/<page>_<size>_<lang>.png); nothing clipped at the real size."""
    width, height = SIZES[size]
    folder = artifacts / "screens"
    folder.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale="es-ES" if lang == "es" else "en-GB")
    clipped: dict[str, list[str]] = {}
    page = context.new_page()
    try:
        for path in PAGES:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{app_server}/{path}?{RANGE}&lang={lang}")
            wait_drawn(page, 180_000)
            assert_no_exception(page)
            expect(page.get_by_role("heading", name=heading(path, lang), exact=True)).to_be_visible()
            page.wait_for_timeout(500)  # charts finish their layout
            found = clipped_text(page)  # at the real window size
            if found:
                clipped[path or "overview"] = found
            if path in ("", "rules") and size == "1440" and lang == "en":   # where no status takes two lines
                assert _tile_rows_end_level(page), f"the KPI tiles of a row differ in height on {path or 'overview'}"
            # Streamlit scrolls inside stMain: a window as tall as the page shows all of it
            tall = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
            page.set_viewport_size({"width": width, "height": min(max(int(tall), height), 12000)})
            wait_idle(page, 180_000)
            page.wait_for_timeout(1500)  # charts drawn again for the taller window
            page.screenshot(path=str(folder / f"{path or 'overview'}_{size}_{lang}.png"))
    finally:
        context.close()
    assert clipped == {}


def test_spanish_follows_the_browser(app_server, browser):
    """No ?lang= in the link: the browser's Accept-Language (es-ES) chooses Spanish."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="es-ES",
                                  extra_http_headers={"Accept-Language": "es-ES,es;q=0.9"})
    try:
        page = context.new_page()
        page.goto(f"{app_server}/?{RANGE}")
        wait_idle(page, 180_000)
        expect(page.get_by_role("heading", name="Resumen", exact=True)).to_be_visible()
        expect(page.get_by_text("Puntuación global del CRM")).to_be_visible()
        assert "lang=es" in page.url
        # the sidebar selector switches to English and writes it into the link
        page.get_by_test_id("stSidebar").get_by_role("radio", name="English").click()
        wait_idle(page, 180_000)
        expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
        assert "lang=en" in page.url
    finally:
        context.close()
