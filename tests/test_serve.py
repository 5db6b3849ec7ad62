"""pages/serve.py: the server's launcher loads the app's libraries before the first visitor
and keeps what it loaded out of the post-run garbage collections."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_PROBE = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
print(json.dumps({"gc": config.get_option("runner.postScriptGC")}))
"""
PROBE = """
import gc, json, sys
from pages import serve
names = serve.preload()
from streamlit import delta_generator
print(json.dumps({"frozen": gc.get_freeze_count(), "loaded": [n for n in names if n not in sys.modules],
                  "repl_checked": getattr(delta_generator, "_use_warning_has_been_displayed", True)}))
"""


def test_preload_imports_every_module_and_freezes_them():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []                  # every name it lists is imported
    assert result["repl_checked"] is True
    # the libraries' objects (pandas, plotly, statsmodels...: well over 100,000) are frozen,
    # so Streamlit's collection after each run does not walk them again
    assert result["frozen"] > 100_000


def test_the_server_hands_the_interpreter_over_within_a_millisecond():
    """A thread running a DuckDB statement takes the GIL back between the statement's tasks:
    the server's threads hand it over after 1 ms instead of CPython's 5 ms."""
    probe = ("import sys\nfrom pages import serve\nbefore = sys.getswitchinterval()\n"
             "serve.share_the_interpreter()\nprint(before, sys.getswitchinterval())")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = map(float, out.stdout.split())
    assert before == 0.005 and after == 0.001


def test_the_app_leaves_garbage_collection_to_python_between_runs():
    """Streamlit's full collection after each run walked every result held in memory while
    the run's end waited; the project's config turns it off (Python's collector still runs)."""
    out = subprocess.run([sys.executable, "-c", CONFIG_PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert __import__("json").loads(out.stdout.strip().splitlines()[-1]) == {"gc": False}


def test_the_server_counts_the_health_checks_while_it_loads_and_keeps_them(demo_path, tmp_path, monkeypatch):
    """As the server starts, the source's health checks are counted beside the libraries'
    loading, and kept on disk under the data's fingerprint: the warming's and the visitors'
    engine then read them back instead of counting (tests/test_health_kept.py)."""
    import shutil

    from sqlalchemy import create_engine
    from metrics import health
    from pages import serve

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{source}")
    monkeypatch.setenv("CRM_WARM", "1")
    serve.check_source_early().join(60)
    engine = create_engine(f"duckdb:///{source}", connect_args={"read_only": True})
    with engine.connect() as conn:
        key = health.report_key(conn)
        kept = health.load_report(key)
        counted = health.count_checks(conn)
        assert kept is not None and (kept.counts, kept.excluded_rows) == (counted.counts, counted.excluded_rows)
        assert len(kept.counts) > 20  # every table's checks were counted
    engine.dispose()


def test_the_early_families_are_read_back_by_the_overview_scorecard(demo_path, tmp_path, monkeypatch):
    """While the libraries load, the start reads the default view's scorecard families
    (pages.serve.EARLY_FAMILIES) and keeps them under the keys the Overview's scorecard asks
    for: that scorecard then runs only the other families' statements."""
    import shutil

    import sqlalchemy
    import streamlit as st

    from metrics import catalogue
    from pages import serve, ui, warm

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    url = f"duckdb:///{source}"
    monkeypatch.setenv("CRM_DB_URL", url)
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.setenv("CRM_WARM", "1")
    st.cache_data.clear()
    assert not serve.LOADED.is_set()
    serve.check_source_early().join(60)
    read = []
    for family, function in list(catalogue.FAMILIES.items()):
        monkeypatch.setitem(catalogue.FAMILIES, family,
                            lambda *args, _family=family, _function=function: read.append(_family) or _function(*args))
    f = warm.default_filters(url)
    card = ui._compute(url, "scorecard", f, (warm.targets(f"sqlite:///{tmp_path}/app.sqlite"),))
    assert sorted(read) == sorted(set(catalogue.FAMILIES) - set(serve.EARLY_FAMILIES)) == ["interactions"]
    assert card["kpis"]["value"].notna().sum() > 20
    # and the sidebar's choices, read back by the page's lookup without a statement
    from metrics import filters

    statements = []
    engine = ui._open(url).engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with engine.connect() as conn:
        expected = filters.filter_values(conn)
    statements.clear()
    assert ui.dimension_values(url) == expected and not statements


EARLY_PROBE = """
import json, sys
from pages import serve
checker = serve.check_source_early()
loaded = set(sys.modules)
checker.join(60)
print(json.dumps({"imported_by_the_thread": sorted(set(sys.modules) - loaded)}))
"""


def test_the_early_count_imports_nothing_beside_the_libraries_loading(demo_path, tmp_path):
    """The count's thread runs while the server imports its libraries: a module imported by
    both at once was seen half-initialised (plotly's optional numpy) and the server did not
    start. Everything the count imports is imported before the thread starts."""
    import json
    import os
    import shutil

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    env = {**os.environ, "CRM_DB_URL": f"duckdb:///{source}", "CRM_WARM": "1", "CRM_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", EARLY_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"imported_by_the_thread": []}
    assert list((tmp_path / "cache").glob("health-*.json"))     # and it did count


def test_a_source_that_cannot_be_opened_leaves_the_start_alone(tmp_path, monkeypatch):
    """Nothing is counted, and nothing fails, when the source is missing: the pages say why."""
    from pages import serve

    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{tmp_path}/missing.duckdb")
    monkeypatch.setenv("CRM_WARM", "1")
    assert serve.check_source_early() is None
    assert not (tmp_path / "missing.duckdb").exists()


def test_a_database_server_is_left_to_the_warming(monkeypatch):
    """Only a DuckDB file is opened before the start: a database server that does not answer
    (here an address nothing answers at) must not keep the app from starting."""
    from pages import serve

    monkeypatch.setenv("CRM_WARM", "1")
    monkeypatch.setenv("CRM_DB_URL", "postgresql+psycopg://nobody@192.0.2.1:5432/crm")
    assert serve.check_source_early() is None


def test_without_warming_nothing_is_counted_at_the_start(demo_path, tmp_path, monkeypatch):
    """``CRM_WARM=0`` leaves every computation, the health checks included, to the pages."""
    import shutil

    from sqlalchemy import create_engine
    from metrics import health
    from pages import serve

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{source}")
    monkeypatch.setenv("CRM_WARM", "0")
    assert serve.check_source_early() is None
    engine = create_engine(f"duckdb:///{source}", connect_args={"read_only": True})
    with engine.connect() as conn:
        assert health.load_report(health.report_key(conn)) is None
    engine.dispose()


def test_the_server_warms_its_default_view_as_it_starts_before_any_visitor(demo_path, tmp_path):
    """The issue's "default view warmed when the server starts": with nobody opening a page,
    the server computes the Overview of the default filters (scorecard and sparklines) and
    then, the server being idle, the dimension cubes of its dates, into the results kept on
    disk, where a visitor's page then reads them."""
    import shutil
    import time

    from tests.conftest import start_app, stop_app
    from data.cache import ResultStore, source_fingerprint
    from data.sources import connect
    from metrics.filters import Filters
    from pages import ui, warm

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    url = f"duckdb:///{source}"
    app_db = f"sqlite:///{tmp_path}/app.sqlite"
    proc, _base = start_app({"CRM_DB_URL": url, "CRM_APP_DB_URL": app_db, "CRM_CACHE_DIR": str(tmp_path / "cache"),
                             "CRM_WARM": "1"}, tmp_path / "server.log")
    try:
        opened = connect(url)
        with opened.engine.connect() as conn:
            version = source_fingerprint(conn, url)
        opened.engine.dispose()
        start, end = warm.default_filters(url).start, warm.default_filters(url).end
        f = Filters(start=start, end=end, compare="previous")
        wanted = [("compute", url, "en", "scorecard", f, (warm.targets(app_db),)),
                  ("compute", url, "en", "trend", f, (6, tuple(sorted(ui.OVERVIEW_HEADLINE)))),
                  *[("compute", url, "en", "cubes", f, cube) for _name, _window, cube in warm.CUBES]]
        store = ResultStore(tmp_path / "cache" / "results")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not all((version, parts) in store for parts in wanted):
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.5)
        missing = [parts[3:] for parts in wanted if (version, parts) not in store]
        store.close()
        assert missing == [], (tmp_path / "server.log").read_text()[-3000:]
    finally:
        stop_app(proc)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
