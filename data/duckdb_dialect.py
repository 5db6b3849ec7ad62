"""The dialect of the app's DuckDB engines: duckdb_engine's, without its two databases in memory.

duckdb_engine opens two DuckDB databases in memory in each process that makes an engine: one
to list the settings a URL may carry (`duckdb_engine.config.get_core_config`), one, DuckDB's
default connection, for the reserved words its identifier preparer quotes. Each costs about
0.03 s, paid before the first statement of a CLI report, of a benchmark's cold call, or of a
server's health checks. This dialect reads the reserved words on the connection it opens
(SQLAlchemy initialises a dialect on its first connection, before any statement runs) and
lists the settings only when there are settings to apply, which it leaves to duckdb_engine.
It also turns SQLAlchemy's compiled-statement cache on, which duckdb_engine leaves off only for
want of having tested it: a scorecard's statements are then compiled once, not on every call
(tests/test_sources.py). What the dialect compiles and how it connects are otherwise
duckdb_engine's.

`data.sources` registers it under the ``duckdb`` name, so every DuckDB URL of the process
uses it (sources, the application store, workspaces).
"""

from __future__ import annotations

from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper, DuckDBIdentifierPreparer
from duckdb_engine import Dialect as DuckDBEngineDialect
from sqlalchemy.dialects.postgresql.base import PGIdentifierPreparer

#: DuckDB's reserved words, the ones an identifier must be quoted for.
RESERVED_WORDS_SQL = "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"

#: Connection parameters that ask duckdb_engine for more than opening the file.
_EXTRAS = ("config", "url_config", "preload_extensions", "register_filesystems")


class Preparer(DuckDBIdentifierPreparer):
    """duckdb_engine's identifier preparer, with PostgreSQL's reserved words until the dialect's
    first connection adds DuckDB's (:meth:`Dialect.initialize`)."""

    def __init__(self, dialect: Any, **kwargs: Any) -> None:
        PGIdentifierPreparer.__init__(self, dialect, **kwargs)
        # its own set: duckdb_engine's preparer adds DuckDB's words to PostgreSQL's shared one
        self.reserved_words = set(self.reserved_words)

    def add_reserved_words(self, words: set[str]) -> None:
        """Quote ``words`` from now on (and forget the identifiers quoted before)."""
        self.reserved_words |= words
        self._strings.clear()


class Dialect(DuckDBEngineDialect):
    """duckdb_engine's dialect, its reserved words read on its first connection."""

    preparer = Preparer
    supports_statement_cache = True

    def initialize(self, connection: Any) -> None:
        super().initialize(connection)
        words = {word for (word,) in connection.exec_driver_sql(RESERVED_WORDS_SQL)}
        self.identifier_preparer.add_reserved_words(words)

    def connect(self, *cargs: Any, **cparams: Any) -> ConnectionWrapper:
        """The DuckDB connection; duckdb_engine's own path when settings, extensions or file
        systems come with it (it lists DuckDB's settings to tell them apart)."""
        if any(cparams.get(key) for key in _EXTRAS):
            return super().connect(*cargs, **cparams)
        for key in _EXTRAS:
            cparams.pop(key, None)
        return ConnectionWrapper(duckdb.connect(*cargs, **cparams))
