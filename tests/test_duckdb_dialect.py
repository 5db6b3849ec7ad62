"""data/duckdb_dialect.py: duckdb_engine's dialect, opened without its databases in memory."""

from __future__ import annotations

import subprocess
import sys

import duckdb
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select, text

from data import sources
from data.duckdb_dialect import RESERVED_WORDS_SQL, Dialect
from tests.conftest import ROOT


def _file_with_reserved_columns(path) -> str:
    con = duckdb.connect(str(path))
    con.execute('CREATE TABLE t ("pivot" INTEGER, "qualify" INTEGER, plain INTEGER)')
    con.execute("INSERT INTO t VALUES (1, 2, 3), (4, 5, 6)")
    con.close()
    return f"duckdb:///{path}"


def test_duckdb_urls_open_with_the_app_dialect(tmp_path):
    url = _file_with_reserved_columns(tmp_path / "r.duckdb")
    assert isinstance(sources.open_engine(url).dialect, Dialect)
    assert isinstance(create_engine(url).dialect, Dialect)


def test_duckdb_reserved_words_are_quoted_once_connected(tmp_path):
    """DuckDB reserves words PostgreSQL does not (PIVOT, QUALIFY): columns named so still read."""
    engine = sources.open_engine(_file_with_reserved_columns(tmp_path / "r.duckdb"))
    t = Table("t", MetaData(), Column("pivot", Integer), Column("qualify", Integer), Column("plain", Integer))
    with engine.connect() as conn:
        expected = {w for (w,) in conn.exec_driver_sql(RESERVED_WORDS_SQL)}
        rows = conn.execute(select(t.c.pivot + t.c.qualify, t.c.plain).order_by(t.c.plain)).all()
    assert {"pivot", "qualify", "select"} <= expected <= engine.dialect.identifier_preparer.reserved_words
    assert [tuple(r) for r in rows] == [(3, 3), (9, 6)]
    compiled = str(select(t.c.pivot, t.c.plain).compile(dialect=engine.dialect))
    assert '"pivot"' in compiled and '"plain"' not in compiled


def test_settings_in_the_url_are_applied_by_duckdb_engine(tmp_path):
    """A URL carrying settings goes through duckdb_engine's own connect, which applies them."""
    url = _file_with_reserved_columns(tmp_path / "r.duckdb")
    engine = create_engine(f"{url}?threads=1", connect_args={"read_only": True})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_setting('threads')")).scalar() == 1


def test_opening_a_source_opens_no_database_in_memory(tmp_path):
    """The point of the dialect: neither DuckDB's settings listed nor its default connection
    queried, in a process that opens a source and runs a statement (a fresh process: both
    happen once per process)."""
    url = _file_with_reserved_columns(tmp_path / "r.duckdb")
    probe = (
        "import duckdb_engine.config as c, duckdb\n"
        "duckdb.cursor = None  # the default connection, which duckdb_engine's preparer queries\n"
        "from sqlalchemy import text\n"
        "from data.sources import open_engine\n"
        f"e = open_engine({url!r})\n"
        "with e.connect() as conn: n = conn.execute(text('SELECT count(*) FROM t')).scalar()\n"
        "print(n, c.get_core_config.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "0"]
