"""The dialect of the app's DuckDB engines: duckdb_engine's, without its two databases in memory.

duckdb_engine opens two DuckDB databases in memory in each process that makes an engine: one
to list the settings a URL may carry (`duckdb_engine.config.get_core_config`), one, DuckDB's
default connection, for the reserved words its identifier preparer quotes. Each costs about
0.03 s, paid before the first statement of a CLI report, of a benchmark's cold call, or of a
server's health checks. This dialect lists the settings only when there are settings to
apply, which it leaves to duckdb_engine, and initialises itself (SQLAlchemy does so on an
engine's first connection, before any statement runs) without a statement where the answer
is known: the reserved words of the DuckDB versions in :data:`KNOWN_RESERVED_WORDS`, read on
the connection for any other version, and the default schema, ``main`` on a connection
opened without settings. Those two statements, with the source's fingerprint (now read
from the file: data/cache.py), were the first a fresh process sent DuckDB, one after
another: about 0.02 s of a cold scorecard at 100k customers (bench/results.md).
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

#: The answer of :data:`RESERVED_WORDS_SQL` per DuckDB version (tests/test_duckdb_dialect.py
#: asks the installed DuckDB again); a version not listed is asked on its first connection.
KNOWN_RESERVED_WORDS: dict[str, frozenset[str]] = {
    "2.0.1": frozenset("""
        all analyse analyze and any array as asc asymmetric both case cast check collate column
        constraint create default deferrable desc describe distinct do else end except false fetch
        for foreign from group having in initially intersect into lambda lateral leading limit not
        null offset on only or order pivot pivot_longer pivot_wider placing primary qualify
        references returning select show some summarize symmetric table then to trailing true union
        unique unpivot using variadic when where window with""".split()),
}

#: The schema a DuckDB connection opened without settings starts in.
DEFAULT_SCHEMA = "main"

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
    """duckdb_engine's dialect, its reserved words added on its first connection."""

    preparer = Preparer
    supports_statement_cache = True
    #: True once a connection was opened with settings (one of which may name another schema)
    _with_settings = False

    def initialize(self, connection: Any) -> None:
        super().initialize(connection)
        words = KNOWN_RESERVED_WORDS.get(duckdb.__version__)
        if words is None:
            words = frozenset(word for (word,) in connection.exec_driver_sql(RESERVED_WORDS_SQL))
        self.identifier_preparer.add_reserved_words(set(words))

    def _get_default_schema_name(self, connection: Any) -> str:
        """:data:`DEFAULT_SCHEMA` on connections opened without settings; asked otherwise."""
        if self._with_settings:
            return super()._get_default_schema_name(connection)
        return DEFAULT_SCHEMA

    def connect(self, *cargs: Any, **cparams: Any) -> ConnectionWrapper:
        """The DuckDB connection; duckdb_engine's own path when settings, extensions or file
        systems come with it (it lists DuckDB's settings to tell them apart)."""
        if any(cparams.get(key) for key in _EXTRAS):
            self._with_settings = True
            return super().connect(*cargs, **cparams)
        for key in _EXTRAS:
            cparams.pop(key, None)
        return ConnectionWrapper(duckdb.connect(*cargs, **cparams))
