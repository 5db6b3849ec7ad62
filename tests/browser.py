"""Helpers for driving the real app in headless Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_idle(page: Page, timeout: int = 60_000) -> None:
    """Wait until the script has finished and nothing is running."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=timeout)


#: The page is drawn: the script has run (no placeholder skeleton left, a heading in the main
#: area) and is not running. Right after ``goto`` the app says "notRunning" before its first run
#: has even started, so :func:`wait_idle` alone can return on an empty page.
DRAWN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
    && document.querySelector('[data-testid="stMain"] h1') !== null;
}"""


def wait_drawn(page: Page, timeout: int = 60_000) -> None:
    """Wait until the page's script has run to the end and its elements are drawn."""
    page.wait_for_function(DRAWN, timeout=timeout, polling=200)
    wait_idle(page, timeout)


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
#: than its box; KPI tiles whose content is taller than the tile; chart titles, axis titles and
#: legends that run past the chart's edge or lie over the chart's title; and, on a phone, text
#: that runs past the right edge of the window.
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
  for (const el of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (visible(el) && el.scrollHeight > el.clientHeight + 2) out.push('tile: ' + el.innerText.trim().split('\\n')[0].slice(0, 80));
  }
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const box = plot.getBoundingClientRect();
    for (const t of plot.querySelectorAll('.gtitle, .xtitle, .ytitle, .legendtext, .annotation-text')) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1)) out.push('chart: ' + t.textContent.slice(0, 80));
    }
    // the chart's title, axis titles and legend must not lie over one another
    const parts = [...plot.querySelectorAll('.gtitle, .xtitle, .ytitle, .legendtext')]
      .map((t) => [t.getAttribute('class').split(' ')[0], t, t.getBoundingClientRect()])
      .filter(([, , r]) => r.width > 0 && r.height > 0);
    for (const [kindA, a, ra] of parts) {
      for (const [kindB, b, rb] of parts) {
        if (kindA >= kindB) continue;
        const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (w > 2 && h > 2) out.push('chart: ' + a.textContent.slice(0, 60) + ' over ' + b.textContent.slice(0, 60));
      }
    }
  }
  // text that runs past the right edge of the window (a phone has no room to spare)
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
    if (el.closest('.js-plotly-plot, svg')) continue;
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || el.offsetParent === null) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > window.innerWidth + 1 && !scrolls(el)) {
      out.push('beyond the window: ' + el.textContent.trim().slice(0, 80));
    }
  }
  return [...new Set(out)];
}"""


def clipped_text(page: Page) -> list[str]:
    """Texts cut by their box, by a chart's edge or by the window, or lying over one another
    in a chart (see :data:`CLIPPED_JS`)."""
    return page.evaluate(CLIPPED_JS)
