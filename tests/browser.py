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


#: Texts cut by their box: any element that hides its overflow (with or without an ellipsis:
#: metric labels and values, badges, page links, buttons, headers) and whose content is wider
#: than its box; and chart titles, axis titles and legends that run past the chart's edge.
CLIPPED_JS = """() => {
  const out = [];
  const visible = (el) => {
    if (el.offsetParent === null) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > 0 && r.left < window.innerWidth;   // not in a collapsed sidebar
  };
  for (const el of document.querySelectorAll('[data-testid="stApp"] *')) {
    if (el.closest('.js-plotly-plot, [data-testid="stDataFrame"], [data-testid="stDataFrameResizable"], svg')) continue;
    if (!el.innerText || !el.innerText.trim()) continue;
    const style = getComputedStyle(el);
    const hides = style.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(style.overflowX);
    if (!hides || el.scrollWidth <= el.clientWidth + 1 || !visible(el)) continue;
    if (el.children.length && [...el.children].some((c) => c.scrollWidth > el.clientWidth + 1)) continue;
    out.push(el.innerText.trim().slice(0, 80));
  }
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const box = plot.getBoundingClientRect();
    for (const t of plot.querySelectorAll('.gtitle, .xtitle, .ytitle, .legendtext, .annotation-text')) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1)) out.push('chart: ' + t.textContent.slice(0, 80));
    }
  }
  return [...new Set(out)];
}"""


def clipped_text(page: Page) -> list[str]:
    """Texts cut by their box (scroll width > client width) or by a chart's edge."""
    return page.evaluate(CLIPPED_JS)
