"""Warming: what the morning's visitors will open, computed before they come into the
results kept per data refresh (data/cache.py).

``python -m pages.warm`` (``make warm``) computes the default view: the Overview with the
default filters in every language (the tab it opens on, then its forecasts' tab) and the
dimension cubes of its dates (a filter change then sums them), then the sparklines of
every KPI, the customer value models and RFM; then the Overview of every row scope the
access definition grants (a regional manager's morning Overview is a different filter set
from the company's). Run it after each data refresh, e.g. from the cron job that loads the
data. A server warms the default view itself as it starts (``python -m pages.serve``;
``make run``), and a source it opens later when a visitor first opens it (``CRM_WARM=0``
turns both off); what ``make warm`` kept it reads instead of computing.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import i18n
from data.sources import SourceError, connect, mask_url, resolve_url
from data.store import resolve_url as resolve_store_url
from metrics import catalogue
from metrics.filters import Filters
from metrics.scope import AccessError, Scope, load_access
from pages import ahead, ui

#: The Overview's sections (computation, window, arguments: pages/ahead.py) as it opens, in
#: the page's order (the scorecard, the monthly series, the sparklines), computed side by side as the
#: page computes them (:data:`OVERVIEW_WORKERS`): a first visitor who comes while they run
#: waits for them rather than computing them again (data/cache.py); then those of its other
#: views (the forecasts' tab).
OVERVIEW = ui.overview_plan()
#: The Overview's sections computed at once, as many as the page's own (pages/ahead.py).
OVERVIEW_WORKERS = ahead.WORKERS
OVERVIEW_OTHER_VIEWS = tuple(section for plan in list(ui.OVERVIEW_VIEWS.values())[1:] for section in plan)
#: The dimension cubes of the default dates (metrics/cube.py), one section each (together
#: they take 6 s at 1M customers; the largest, the interactions of the trend's months, 1.9 s).
CUBES = tuple(("cubes", "range", (family, dates)) for dates in catalogue.CUBE_DATES for family in catalogue.CUBES)
#: The cubes a filter change on the Overview sums, in that order: the scorecard's, then its
#: sparklines' months but their interactions (read only by the rules page's sparklines). A
#: filter change before they are built reads those families directly, about 0.3-0.9 s each
#: at 1M customers, where the Overview's monthly series take about 0.1 s.
OVERVIEW_CUBES = tuple(cube for cube in CUBES if cube[2] != ("interactions", "trend"))
#: The cubes of the Overview's monthly series (metrics.cube.Series), as its trends read them.
SERIES_CUBES = (("value.revenue_cube", "history", ()), ("sla.over_time_cube", "year", ("month",)),
                ("voice.nps_cube", "year", ()))
#: What a visitor does next on the Overview, computed right after it, once the server's
#: first page has been served (:class:`FirstPage`), not in the visitors' pauses: its other
#: views (the forecasts' tab), then the cubes a filter change on it sums (also what each
#: granted scope's Overview sums). Measured at 1M customers, a filter change 30 s after the
#: first load took 2.2-2.5 s with them built in the pauses of a visitor going from page to
#: page, 1.0-1.5 s with them built at once.
OVERVIEW_NEXT = (*OVERVIEW_OTHER_VIEWS, *OVERVIEW_CUBES, *SERIES_CUBES)
#: Computed for the company's default view only, each in a pause of what the visitors wait
#: for (heavier, and the same for every visitor): the other dimension cubes of the default
#: dates, then the sparklines of every KPI (the rules page; their families but two are the
#: Overview's, kept), the value models and RFM.
COMPANY = (*(cube for cube in CUBES if cube not in OVERVIEW_CUBES),
           ("trend", "range", (6,)), ("clv", "range", (12, "segment")), ("rfm", "range", ()))


def targets(store_url: str) -> tuple:
    """The KPI targets in force, as the scorecard is asked for them (pages.ui.targets)."""
    return tuple(sorted(ui.targets(store_url).items()))


def granted_scopes(store_url: str) -> list[Scope]:
    """Every distinct row scope of the access definition in force (users and groups), the
    whole company left out. :class:`AccessError` when the definition is not valid."""
    saved = ui._store(store_url).access_definition()
    definition = load_access(stored_text=saved["definition"] if saved else None)
    grants = [*definition.users.values(), *definition.groups.values()]
    canonical = (tuple(sorted((dim, tuple(sorted(values))) for dim, values in grant.scope)) for grant in grants)
    return list(dict.fromkeys(scope for scope in canonical if scope))


def default_filters(url: str, scope: Scope = ()) -> Filters:
    """The filters of a first visit (the sidebar's defaults) for a user with ``scope``."""
    start, end = ui._default_period(url)
    return Filters(start=start, end=end, scope=scope)


#: Seconds without any visitor computation before a server's warming starts a section of
#: what the first visitor does not wait for (the other pages, the cubes), and the longest it
#: waits for such a pause.
QUIET_SECONDS, PATIENCE_SECONDS = 0.5, 120.0
#: The longest :data:`OVERVIEW_NEXT` waits for a visitor's page (:class:`FirstPage`).
#: A first visitor's browser asks for nothing while it loads the app's scripts: at 100k
#: customers 1.5 s passed between the server's answer and the first page run, which started
#: after the Overview's sections were computed, so that the forecasts' model fits, started
#: in what looked like a pause, ran beside it.
FIRST_VISIT_SECONDS = 3.0


def sections(url: str, f: Filters, store_url: str, plan, visitors=None, workers: int = 1,
             patience: float | None = None) -> int:
    """Compute ``plan``'s sections for ``f`` (in every language for those holding sentences)
    that are not kept yet; how many were computed. A server started after ``make warm`` then
    leaves its first visitor's pages alone instead of reading every result a second time.
    With ``visitors`` (a server's :data:`pages.ui.VISITORS`), each section waits for a pause
    in what people wait for (:func:`wait_for_a_pause`, at most ``patience`` seconds), so
    warming does not compete with them for the cores. With ``workers`` above one, that many
    sections are computed at once, in the plan's order."""
    def one(name: str, window: Filters, args: tuple) -> int:
        computed = 0
        for lang in (i18n.LANGUAGES if name in ui.TEXT_RESULTS else (i18n.DEFAULT,)):
            with i18n.using(lang):
                if not ui.is_kept(url, name, window, args):
                    wait_for_a_pause(visitors, patience)
                    if STOPPING.is_set():
                        return computed
                    ui._compute(url, name, window, args)
                    computed += 1
        return computed

    chosen = ui.plan_sections(plan, f, targets(store_url))
    if workers <= 1:
        return sum(one(*section) for section in chosen)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crm-warm") as pool:
        return sum(pool.map(lambda section: one(*section), chosen))


#: Set when the server exits: a server's warming then starts no further section.
STOPPING = threading.Event()


def stop(warming: threading.Thread, timeout: float = 60.0) -> None:
    """Let a server's warming thread finish the section it is computing and start no other
    (at the interpreter's exit: a statement still running in a daemon thread while Python
    finalises aborts the process)."""
    STOPPING.set()
    warming.join(timeout)


class FirstPage:
    """The visitors as :data:`OVERVIEW_NEXT` waits for them: never idle for ``wait`` seconds
    while no page run has ended since this warming came to them (a first visitor may be
    loading the app), then like the rest of the warming until such a page run has ended and
    QUIET_SECONDS have passed since, and from then on always idle. A page counts from when
    this warming came to :data:`OVERVIEW_NEXT`: a source opened later (the workspace after
    an import) waits for the page of the visitor who opened it, not for one served earlier.

    The first visitor's first page is the most crowded moment: the browser loads the app
    and draws its charts on the same cores, and the page run builds and sends its figures
    in Python, which a forecast's model fit or a cube's frame started beside it slows down.
    At 1M customers that Overview run ends just after the warming's sections it waited for
    (first loads of 4.15-4.29 s when what follows started at once, 3.76-4.19 s when it
    waited), and at 100k it starts after them (2.9-3.1 s against 1.9-2.5 s). Afterwards a
    visitor going from page to page leaves no pause long enough for the Overview's cubes
    (0.2-0.5 s between pages at 1M, where they take 8 s): a filter change 30 s after the
    first load took 1.45-1.83 s when each waited up to 1.5 s for a pause, 1.04-1.47 s built
    at once, the pages opened meanwhile within their aims either way."""

    def __init__(self, visitors, wait: float = FIRST_VISIT_SECONDS):
        self.visitors = visitors
        self.started = time.monotonic()
        self.until = self.started + wait
        self.served: float | None = None    # when the first page run since ``started`` ended

    def idle(self, quiet: float) -> bool:
        if self.served is None:
            ended = self.visitors.last_page()
            if ended is not None and ended >= self.started:
                self.served = ended
        now = time.monotonic()
        if self.served is None and now < self.until:
            return False
        return (self.served is not None and now - self.served >= quiet) or self.visitors.idle(quiet)


def wait_for_a_pause(visitors, patience: float | None = None) -> None:
    """Return when nobody has waited for a computation for QUIET_SECONDS (at once without
    ``visitors``), or after ``patience`` seconds (default PATIENCE_SECONDS)."""
    deadline = time.monotonic() + (PATIENCE_SECONDS if patience is None else patience)
    while (visitors is not None and not visitors.idle(QUIET_SECONDS) and time.monotonic() < deadline
           and not STOPPING.is_set()):
        time.sleep(0.1)


def _lookups(url: str) -> None:
    """The sidebar's filter values (pages/ui.py), cached for the first visitor; best effort."""
    try:
        ui.dimension_values(url)
    except Exception:  # noqa: BLE001 - the sidebar meets and reports any failure itself
        pass


def default_view(url: str, store_url: str, visitors=None) -> int:
    """Warm the company's default view, then each granted scope's Overview; how many sections
    were computed (those kept already are left). The Overview is warmed at once, its
    sections side by side, then what a visitor does next on it (:data:`OVERVIEW_NEXT`, once
    the first page has been served); in a server (``visitors`` given: as it starts, or when
    a visitor first opens a source) the rest waits for the pauses of what people wait for.
    Best effort: any failure is left for the page itself to meet and report."""
    computed = 0
    try:
        f = default_filters(url)
        # the sidebar's lookups beside the Overview's sections, not before them: the
        # scorecard's statements are what a first visitor waits for longest
        lookups = threading.Thread(target=_lookups, args=(url,), daemon=True, name="warm-lookups")
        lookups.start()
        computed += sections(url, f, store_url, OVERVIEW, workers=OVERVIEW_WORKERS)
        lookups.join()
        computed += sections(url, f, store_url, OVERVIEW_NEXT, None if visitors is None else FirstPage(visitors),
                             patience=FIRST_VISIT_SECONDS)
        computed += sections(url, f, store_url, COMPANY, visitors)
        for scope in granted_scopes(store_url):
            computed += sections(url, default_filters(url, scope), store_url, (*OVERVIEW, *OVERVIEW_OTHER_VIEWS),
                                 visitors)
    except Exception:  # noqa: BLE001 - best effort, see the docstring
        pass
    return computed


def main(argv: list[str] | None = None) -> int:
    """``python -m pages.warm``: compute the default view into the results kept on disk."""
    import argparse

    argparse.ArgumentParser(prog="python -m pages.warm", description=__doc__.split("\n\n")[0]).parse_args(argv)
    try:
        url = resolve_url()
        connect(url)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    computed = default_view(url, resolve_store_url())
    try:
        scopes = len(granted_scopes(resolve_store_url()))
    except AccessError as exc:
        print(f"note: no scope warmed, the access definition is not valid: {exc}", file=sys.stderr)
        scopes = 0
    print(f"Warmed the default view of {mask_url(url)} and the Overview of {scopes} granted scope(s) "
          f"in {time.perf_counter() - started:.1f} s: {computed} section(s) computed, the others were kept "
          f"already (results in {ui.results().folder}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
