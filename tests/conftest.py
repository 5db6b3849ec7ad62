"""Shared fixtures: demo databases (DuckDB file, PostgreSQL), Chromium, a live app server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from data.build import build_demo
from data.demo import DemoSpec
from tests import provision
from tests.helpers import ENGINES, crm_engine

ROOT = Path(__file__).resolve().parents[1]
#: Fixed end of history, so every test run sees the same data.
END = date(2026, 11, 23)
DEMO_CUSTOMERS = 2_000
#: No background warming thread in the tests' servers and AppTests: a test controls what is
#: computed when (tests/test_refresh.py tests warming through `python -m pages.warm`).
os.environ.setdefault("CRM_WARM", "0")


@pytest.fixture(scope="session", autouse=True)
def derived_data_folder(tmp_path_factory) -> Path:
    """What the app derives from a source (health reports, computed results) goes to a folder
    of this test session, never to the checkout's .cache/ (data/cache.py); servers started by
    the tests inherit it."""
    folder = tmp_path_factory.mktemp("derived")
    os.environ["CRM_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def demo_spec() -> DemoSpec:
    return DemoSpec(customers=DEMO_CUSTOMERS, seed=7, end=END)


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory, demo_spec) -> Path:
    """A demo DuckDB file built once per test session."""
    path = tmp_path_factory.mktemp("demo") / "crm.duckdb"
    build_demo(path, demo_spec)
    return path


@pytest.fixture(scope="session")
def demo_url(demo_path) -> str:
    return f"duckdb:///{demo_path}"


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster; fails (never skips) when the server is missing."""
    if provision.postgres_bin() is None:
        pytest.fail(provision.POSTGRES_HINT)
    with provision.postgres_cluster() as base_url:
        yield base_url


@pytest.fixture
def pg_url(pg_cluster, request) -> str:
    """A fresh empty PostgreSQL database for one test."""
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name.lower())[:50]
    return provision.create_database(pg_cluster, name)


@pytest.fixture
def pg_engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> str:
    path = provision.chromium_path()
    if path is None:
        pytest.fail(provision.CHROMIUM_HINT)
    return path


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def start_app(env_extra: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """The app's server as ``make run`` starts it (``python -m pages.serve``: ``streamlit run
    app.py`` with the libraries loaded first) on a free port; (process, base URL)."""
    port = provision.free_port()
    env = {**os.environ, **env_extra}
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pages.serve", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        provision.wait_for_http(f"{base}/_stcore/health")
    except RuntimeError:
        proc.kill()
        raise RuntimeError(log_path.read_text())
    return proc, base


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_server(demo_url, tmp_path_factory):
    """A real Streamlit server over the demo database; yields its base URL."""
    work = tmp_path_factory.mktemp("app")
    proc, base = start_app({"CRM_DB_URL": demo_url, "CRM_APP_DB_URL": f"sqlite:///{work}/app.sqlite"},
                           work / "server.log")
    yield base
    stop_app(proc)


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory):
    """A Spark Thrift server (local[2], 1 GB) for the whole session; its ``hive://`` URL.

    Fails (never skips) when Java or pyspark is missing or the server does not start.
    """
    from tests import spark

    if spark.missing():
        pytest.fail("; ".join(spark.missing()))
    server = spark.thrift_server(base=tmp_path_factory.mktemp("spark"))
    try:
        url = server.__enter__()
    except RuntimeError as exc:
        pytest.fail(f"could not start the Spark Thrift server: {exc}")
    yield url
    server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def spark_demo_url(spark_server, demo_path, tmp_path_factory) -> str:
    """The session's demo (``demo_path``) exported to Parquet and registered in Spark as
    database ``crm``; the ``hive://`` URL of that database."""
    from data.parquet import export_parquet, register_tables

    folder = tmp_path_factory.mktemp("parquet")
    duck = create_engine(f"duckdb:///{demo_path}", connect_args={"read_only": True})
    with duck.connect() as conn:
        export_parquet(conn, folder)
    duck.dispose()
    spark = create_engine(spark_server)
    with spark.connect() as conn:
        register_tables(conn, str(folder), "crm")
    spark.dispose()
    return spark_server.rsplit("/", 1)[0] + "/crm"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: test-artifacts/ in the project (kept for a person to look at)."""
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", params=ENGINES)
def tiny_engine(request, tmp_path_factory):
    """The hand-written CRM of tests/tiny.py on each engine (the same tests run on both)."""
    from tests.tiny import ROWS

    engine = crm_engine(request, tmp_path_factory, "tiny", ROWS)
    yield engine
    engine.dispose()


@pytest.fixture
def tiny(tiny_engine):
    """A connection to the tiny CRM."""
    with tiny_engine.connect() as conn:
        yield conn
