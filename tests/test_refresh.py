"""Results are kept per data refresh (data/cache.py, pages/ui.py): a restarted server reads
what was computed before from disk, and a change to the source is answered with new numbers."""

from __future__ import annotations

import shutil

import duckdb
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _tiles(at: AppTest) -> dict[str, str]:
    assert not at.exception, [e.value for e in at.exception]
    return {m.label: m.value for m in at.metric}


def _restart() -> None:
    """What a server restart forgets: every in-memory cache and the opened source."""
    import streamlit as st

    from pages import ui

    try:
        ui._open(ui.resolve_url()).engine.dispose()
    except Exception:  # noqa: BLE001 — nothing opened yet
        pass
    st.cache_data.clear()
    st.cache_resource.clear()


def test_results_survive_a_restart_and_follow_a_data_refresh(monkeypatch, demo_path, tmp_path):
    from pages import ui

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{source}")
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.setenv("CRM_CACHE_DIR", str(tmp_path / "cache"))
    _restart()
    first = _tiles(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run())

    calls: list[str] = []
    for name in ("scorecard", "trend"):
        original = ui.COMPUTATIONS[name]
        monkeypatch.setitem(ui.COMPUTATIONS, name,
                            lambda *args, _name=name, _original=original: calls.append(_name) or _original(*args))

    _restart()                                               # a new server process, same data
    again = _tiles(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run())
    assert again == first
    assert calls == []                                       # read from disk, not computed again

    _restart()                                               # the data is refreshed: every NPS answer a 10
    with duckdb.connect(str(source)) as con:
        con.execute("update surveys set score = 10 where kind = 'nps'")
        con.execute("checkpoint")
    refreshed = _tiles(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run())
    assert "scorecard" in calls
    assert refreshed["NPS"] != first["NPS"] and refreshed["NPS"].startswith("100")
    _restart()


def test_warming_from_the_shell_computes_what_the_first_visitor_reads(monkeypatch, demo_path, tmp_path):
    import os
    import subprocess
    import sys

    from pages import ui

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    env = {**os.environ, "CRM_DB_URL": f"duckdb:///{source}", "CRM_APP_DB_URL": f"sqlite:///{tmp_path}/app.sqlite",
           "CRM_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "pages.warm"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Warmed the default view" in done.stdout
    computed = int(done.stdout.split(" s: ")[1].split(" section")[0])
    assert computed >= 10                                  # the Overview, in both languages, and more
    again = subprocess.run([sys.executable, "-m", "pages.warm"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0 and ": 0 section(s) computed" in again.stdout, again.stdout + again.stderr

    for key in ("CRM_DB_URL", "CRM_APP_DB_URL", "CRM_CACHE_DIR"):
        monkeypatch.setenv(key, env[key])
    for name in ("scorecard", "trend", "forecast"):
        def refuse(*_args, _name=name):
            raise AssertionError(f"{_name} computed again")
        monkeypatch.setitem(ui.COMPUTATIONS, name, refuse)
    _restart()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    tiles = _tiles(at)
    assert not [e.value for e in at.error]
    assert tiles["Overall CRM score"].endswith("/ 100")
    at.session_state["overview_view"] = "Forecasts (6 months)"      # warmed too
    at.run()
    assert not at.exception and not [e.value for e in at.error] and len(at.get("plotly_chart")) == 4
    _restart()


def test_warming_computes_the_overview_of_every_granted_scope(demo_path, tmp_path):
    """A regional manager's first Overview (their scope in the filters) is read from disk."""
    import os
    import subprocess
    import sys

    from data.cache import ResultStore, source_fingerprint
    from data.sources import connect
    from metrics.filters import Filters
    from pages import ui, warm

    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    access = tmp_path / "access.toml"
    access.write_text('[users."ana@example.com"]\nrole = "manager"\nregion = ["South", "East"]\n'
                      '[users."luis@example.com"]\nrole = "manager"\nsegment = ["SMB"]\n'
                      '[groups."sales-south"]\nrole = "manager"\nregion = ["East", "South"]\n'
                      '[users."boss@example.com"]\nrole = "admin"\n')
    url = f"duckdb:///{source}"
    env = {**os.environ, "CRM_DB_URL": url, "CRM_APP_DB_URL": f"sqlite:///{tmp_path}/app.sqlite",
           "CRM_CACHE_DIR": str(tmp_path / "cache"), "CRM_ACCESS_FILE": str(access)}
    done = subprocess.run([sys.executable, "-m", "pages.warm"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "the Overview of 2 granted scope(s)" in done.stdout       # South+East once, SMB once

    source_ = connect(url)
    with source_.engine.connect() as conn:
        version = source_fingerprint(conn, url)
        store = ResultStore(tmp_path / "cache" / "results")
        start, end = warm.default_filters(url).start, warm.default_filters(url).end
        targets = warm.targets(env["CRM_APP_DB_URL"])
    source_.engine.dispose()
    for scope in ({"region": ("East", "South")}, {"segment": ("SMB",)}, {}):
        # the filters as the sidebar builds them for a user with this scope (pages/ui.py)
        f = Filters(start=start, end=end, compare="previous", scope=tuple(scope.items()))
        assert (version, ("compute", url, "en", "scorecard", f, (targets,))) in store, scope
        assert (version, ("compute", url, "en", "trend", f, (6, tuple(sorted(ui.OVERVIEW_HEADLINE))))) in store, scope
    company = Filters(start=start, end=end, compare="previous")
    for _name, _window, cube in warm.CUBES:     # every cube of the default dates, one section each
        assert (version, ("compute", url, "en", "cubes", company, cube)) in store, cube
    other = Filters(start=start, end=end, scope=(("region", ("North",)),))
    assert (version, ("compute", url, "en", "scorecard", other, (targets,))) not in store
    store.close()


def test_a_missing_source_is_named_by_the_warm_command(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CRM_DB_URL": f"duckdb:///{tmp_path}/nowhere.duckdb", "CRM_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run([sys.executable, "-m", "pages.warm"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1
    assert "nowhere.duckdb" in done.stderr and "Traceback" not in done.stderr
