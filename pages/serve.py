"""``python -m pages.serve [streamlit options]``: the app's server, with its libraries loaded
before the first visitor comes.

``streamlit run app.py`` imports the app's modules (plotly, statsmodels, scipy, pandas, the
metrics) in the first visitor's script run: 3-4 s of that visitor's first page on this
machine. Here they are imported while the server starts, so every visitor, the first
included, finds them loaded; meanwhile the source's data-health checks are counted on the
other core (:func:`check_source_early`). Then the server starts warming its default view
(the Overview with the default filters, then the rest of pages/warm.py's plan) before
anyone opens it.
``make run`` and the tests' servers start the app this way.

Options are Streamlit's (``--server.port 8501``...); the app's settings are the usual
environment variables (``CRM_DB_URL``...).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import pkgutil
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
#: Libraries the pages import, besides the app's own packages.
LIBRARIES = ("pandas", "numpy", "plotly.graph_objects", "plotly.express", "scipy.stats",
             "statsmodels.api", "sqlalchemy", "duckdb", "babel.dates", "babel.numbers")
#: The app's packages whose every module is loaded (``pages`` itself only for its shared
#: modules: the page scripts are run by the navigation, not imported).
PACKAGES = ("i18n", "data", "metrics")
PAGE_MODULES = ("pages.ui", "pages.charts", "pages.labels", "pages.signin")


def preload() -> list[str]:
    """Import the app's libraries and modules now; the names imported, in order."""
    names = list(LIBRARIES)
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, f"{package}.")
                  if not info.name.endswith("__main__")]
    names += PAGE_MODULES
    import streamlit  # noqa: F401  (its loggers exist from here on)

    quiet = [logging.getLogger(f"streamlit.runtime.caching.{api}") for api in ("cache_data_api", "cache_resource_api")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:    # "No runtime found" when a cached function is declared: expected here
        logger.setLevel(logging.ERROR)
    try:
        for name in names:
            importlib.import_module(name)
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)
    _skip_repl_check()
    _freeze_loaded_objects()
    return names


def _skip_repl_check() -> None:
    """Streamlit checks once per process, when the first element is sent, whether it runs in
    a Python REPL (to print a hint): ``inspect.stack()`` over the page script's deep stack,
    0.4 s of the first visitor's first page. A server started here is no REPL: the check is
    marked as made (a private flag of Streamlit's; nothing happens if it is gone)."""
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


def _freeze_loaded_objects() -> None:
    """A full garbage collection holds the interpreter while it walks every object: with the
    libraries above, about 250,000 objects and 0.15-0.5 s. The objects loaded so far live as
    long as the server; :func:`gc.freeze` moves them out of the collector's sight, so that
    each collection walks only what the runs made. (Streamlit's own full collection after
    every run, ``runner.postScriptGC``, is turned off in ``.streamlit/config.toml``: with
    the results held in memory it still took 0.2 s of each run at 1M customers.)"""
    gc.collect()
    gc.freeze()


def warm_at_start(patience: float = 60.0) -> threading.Thread:
    """Start warming the configured source's default view in this server (pages/warm.py) as
    soon as Streamlit's runtime exists (its caches are then the ones the pages read), so that
    the Overview is computed, or under way, before the first visitor comes. Nothing is warmed
    with ``CRM_WARM=0`` or without a configured source (the pages say why)."""
    def when_serving() -> None:
        from streamlit import runtime

        from data.sources import SourceError, resolve_url
        from pages import ui

        deadline = time.monotonic() + patience
        while not runtime.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            url = resolve_url()
        except SourceError:
            return
        ui.start_warming(url)

    starter = threading.Thread(target=when_serving, daemon=True, name="warm-at-start")
    starter.start()
    return starter


def check_source_early() -> threading.Thread | None:
    """Count the configured source's data-health checks (metrics/health.py), then read the
    default view's scorecard, in a background thread while the libraries load; the thread.
    None with ``CRM_WARM=0``, which leaves every computation to the visitors' pages; for a
    source that is not a DuckDB file (a database server is opened by the warming, after the
    start: one that does not answer must not keep the app from starting); or when the source
    cannot be opened now (the pages report why).

    Every figure's statements leave out the records the checks found impossible, so the
    report is the first thing the warming and the first visitor need: at 1M customers one
    scan of every table, about half a second. Counted here, on the other core while this one
    imports, it is kept on disk under the data's fingerprint (``CRM_CACHE_DIR``) and the
    warming reads it back instead of counting again. The other core is then still free for
    a second or more: the thread reads the default view's scorecard families
    (:func:`read_default_scorecard`), the longest part of a first visit's Overview.

    What the thread needs (pandas, numpy and the metrics among them) is imported here, and
    the source opened, before it starts: the thread then imports nothing. A module imported
    by two threads at once is seen half-initialised by libraries that look for it in
    ``sys.modules`` (plotly's optional numpy), which stopped the server as it started."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from data.sources import SourceError, connect, resolve_url

    if os.environ.get("CRM_WARM", "1") == "0":
        return None
    try:
        url = resolve_url()
        if make_url(url).get_backend_name() != "duckdb":
            return None     # a server's source is opened in the warming: a dead host must not hold the start
    except (SourceError, ValueError, ArgumentError):
        return None
    import pandas  # noqa: F401  (what the thread needs: see the docstring)

    from data.cache import ResultStore
    from metrics import catalogue, filters, health, keeping, sql  # noqa: F401
    from pages import keeper  # noqa: F401

    try:
        opened = connect(build_missing_demo=False)
        store = ResultStore()
    except Exception:  # noqa: BLE001 - see the docstring
        return None

    def check() -> None:
        try:
            with opened.engine.connect() as conn:
                health.health_report(conn)
                read_default_scorecard(conn, url, store)
        except Exception:  # noqa: BLE001 - best effort: the pages meet and report any failure
            pass
        finally:
            opened.engine.dispose()

    checker = threading.Thread(target=check, daemon=True, name="health-at-start")
    checker.start()
    # a statement still running in a daemon thread as Python finalises aborts the process
    atexit.register(checker.join, 60)
    return checker


#: The default scorecard's families read while the libraries load (:func:`read_default_scorecard`),
#: in this order: at 1M customers on one DuckDB thread, quality 1.0 s, tickets, surveys and
#: pipeline 0.4 s together, value 1.3 s. Not the interactions (2.3 s on one thread, 1.0 s on
#: two): started now, their statement would go on with one thread after the start, beside
#: everything the first visit needs.
EARLY_FAMILIES = ("quality", "tickets", "surveys", "pipeline", "campaign_cost", "value")
#: Set once the libraries are loaded: :func:`read_default_scorecard` starts no other family.
LOADED = threading.Event()


def read_default_scorecard(conn, url: str, store) -> None:
    """Read the sidebar's choices (pages.keeper.kept_filter_values), then the default view's
    scorecard families (the first visit's filters, with the Overview's sparklines:
    :data:`EARLY_FAMILIES`) on one DuckDB thread until the libraries are loaded, and keep
    them in ``store`` under this data refresh, where the first visitor's sidebar and the
    warming's and the first visitor's scorecard read them (or wait for the one still being
    read: one computation per result in a process, data/cache.py). The core the imports
    leave free thus computes part of the first Overview."""
    from datetime import date

    from data.cache import source_fingerprint
    from metrics import catalogue, keeping
    from metrics.filters import Filters, activity_span, first_visit_period
    from pages.keeper import Kept, kept_filter_values

    today = date.today()
    f = Filters(*first_visit_period(*activity_span(conn, today), today))
    periods = catalogue.PeriodFacts.scorecard(conn, f, catalogue.load_settings(), catalogue.SPARKLINE_MONTHS)
    if LOADED.is_set():
        return
    # one DuckDB thread (a setting of the whole database): the other core imports. The
    # budget's threads are set again at the end, and by the pages' engine as it connects
    threads = int(conn.exec_driver_sql("SELECT current_setting('threads')").scalar())
    conn.exec_driver_sql("SET threads = 1")
    try:
        version = source_fingerprint(conn, url)
        kept_filter_values(store, url, version, conn)     # the sidebar: the first thing a page draws
        with keeping.keeping(Kept(store, url, version)):
            for family in EARLY_FAMILIES:
                if LOADED.is_set():
                    return
                periods.get(family, f)
    finally:
        conn.exec_driver_sql(f"SET threads = {threads}")


#: How long a Python thread holds the GIL while another waits for it (CPython's default is
#: 5 ms). A thread running a DuckDB statement takes the GIL back between two of the
#: statement's tasks (to check for an interrupt), so beside threads busy in Python (the
#: libraries' imports at the start, script runs, figures, the warming's frames) it waited up
#: to 5 ms a task: the sidebar's choices, one scan of the 44M interactions on one DuckDB
#: thread, took 0.72 s beside the imports against 0.24 s alone (0.53 s at 1 ms). At 1M, a
#: fresh server's first load: see bench/pages.py's notes.
SWITCH_INTERVAL_S = 0.001


def share_the_interpreter() -> None:
    """Let a thread waiting for the GIL have it after :data:`SWITCH_INTERVAL_S`."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def main(argv: list[str] | None = None) -> None:
    """Count the source's health checks while the libraries preload, start warming the
    default view, then hand over to ``streamlit run app.py`` with the given options."""
    from streamlit.web import cli

    share_the_interpreter()
    check_source_early()
    preload()
    LOADED.set()
    warm_at_start()
    cli.main(args=["run", str(APP), *(sys.argv[1:] if argv is None else argv)], prog_name="streamlit")


if __name__ == "__main__":
    main()
