"""data/duckdb_dialect.py: duckdb_engine's dialect, opened without its databases in memory."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import duckdb_engine
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select, text

from data import sources
from data import duckdb_dialect
from data.duckdb_dialect import KNOWN_RESERVED_WORDS, RESERVED_WORDS_SQL, Dialect
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


def _sent_while_connecting(engine, monkeypatch) -> list[str]:
    """The statements the engine's first connection sends before the caller's first (the
    dialect's initialisation runs without SQLAlchemy's events: recorded at the cursor)."""
    sent: list[str] = []
    execute = duckdb_engine.CursorWrapper.execute

    def recorded(cursor, statement, *args, **kwargs):
        sent.append(statement.strip())
        return execute(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(duckdb_engine.CursorWrapper, "execute", recorded)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_schema() AS now_in")).scalar() == conn.dialect.default_schema_name
    assert sent[-1].startswith("SELECT current_schema() AS now_in")
    return sent[:-1]


def test_the_reserved_words_kept_for_this_duckdb_are_the_ones_it_reserves():
    asked = frozenset(w for (w,) in duckdb.connect().execute(RESERVED_WORDS_SQL).fetchall())
    assert {"pivot", "qualify", "select"} <= asked
    assert KNOWN_RESERVED_WORDS.get(duckdb.__version__, asked) == asked


def test_a_plain_connection_initialises_the_dialect_without_a_statement(tmp_path, monkeypatch):
    """The first statements of a fresh process are the caller's: the reserved words of a known
    DuckDB and the default schema of a connection without settings are not asked."""
    url = _file_with_reserved_columns(tmp_path / "r.duckdb")
    engine = sources.open_engine(url)
    if duckdb.__version__ in KNOWN_RESERVED_WORDS:
        assert _sent_while_connecting(engine, monkeypatch) == []
    assert engine.dialect.default_schema_name == "main"
    assert KNOWN_RESERVED_WORDS.get(duckdb.__version__, frozenset()) <= engine.dialect.identifier_preparer.reserved_words


def test_another_duckdb_version_has_its_reserved_words_read(tmp_path, monkeypatch):
    monkeypatch.setattr(duckdb_dialect, "KNOWN_RESERVED_WORDS", {})
    engine = sources.open_engine(_file_with_reserved_columns(tmp_path / "r.duckdb"))
    assert _sent_while_connecting(engine, monkeypatch) == [RESERVED_WORDS_SQL]
    assert {"pivot", "qualify"} <= engine.dialect.identifier_preparer.reserved_words


def test_a_connection_with_settings_asks_its_default_schema(tmp_path, monkeypatch):
    """A setting may name another schema: the dialect then asks DuckDB which one it is in."""
    url = _file_with_reserved_columns(tmp_path / "r.duckdb")
    engine = create_engine(f"{url}?threads=1", connect_args={"read_only": True})
    assert "select current_schema()" in _sent_while_connecting(engine, monkeypatch)
    assert engine.dialect.default_schema_name == "main"


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
