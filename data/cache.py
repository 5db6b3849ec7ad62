"""Where the app keeps what it derives from a source, and how it knows the source changed.

Derived data (the health report, computed results, fitted value models) is kept in a
local folder next to the app, never in the source, which stays read-only:

- ``CRM_CACHE_DIR`` names the folder (default: ``.cache/`` beside ``app.py``);
- ``CRM_CACHE_SIZE`` bounds the results kept on disk (default ``1GB``; the least recently
  used go first);
- a *data refresh* is detected by the source's fingerprint. A database file (DuckDB,
  SQLite) is fingerprinted by the file itself, without a statement: its identity, size and
  times of change, and its write-ahead log's, which any write changes. A database server's
  fingerprint is, per table, the row count and the first and last value of its date column
  (``data.sources.table_summaries``, one statement), plus PostgreSQL's counts of inserted,
  updated and deleted rows per table, so that an update that keeps the row counts is seen
  too. Anything derived is stored under the fingerprint it was computed from: a changed
  source is never answered from stale results.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection

APP_DIR = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS_SIZE = "1GB"
T = TypeVar("T")


def cache_dir(environ: dict[str, str] | None = None) -> Path:
    """The folder for derived data (created when missing)."""
    env = os.environ if environ is None else environ
    folder = Path(env.get("CRM_CACHE_DIR") or APP_DIR / ".cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fingerprint_of(summaries: list[dict], url: str = "", marker: Any = None) -> str:
    """A short hash of the source's identity and of what its tables hold (rows and date span)."""
    payload = json.dumps({"url": url, "tables": summaries, "marker": marker}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _file_marker(conn: Connection) -> Any:
    """A database file's (and its write-ahead log's) identity, size and times of change; None
    when the URL names no file of this machine (in memory, or a missing file)."""
    database = (conn.engine.url.database or "").removeprefix("file:").split("?")[0]
    if not database or database == ":memory:" or not Path(database).is_file():
        return None
    stats = [Path(p).stat() for p in (database, database + ".wal", database + "-wal") if Path(p).exists()]
    return [(s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns) for s in stats]


def _postgresql_marker(conn: Connection) -> Any:
    rows = conn.execute(text(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
        "WHERE schemaname = ANY (current_schemas(false)) ORDER BY relname")).all()
    return [list(r) for r in rows]


@dataclass(frozen=True)
class ChangeMarker:
    """An engine's cheap "something was written" marker. ``complete``: every write changes it
    (a file's times of change), so it alone fingerprints the source; otherwise (PostgreSQL's
    statistics, counted apart from the rows they describe) the tables are read as well."""

    read: Callable[[Connection], Any]
    complete: bool


#: The change marker per engine (none for Spark).
CHANGE_MARKERS: dict[str, ChangeMarker] = {
    "duckdb": ChangeMarker(_file_marker, complete=True),
    "sqlite": ChangeMarker(_file_marker, complete=True),
    "postgresql": ChangeMarker(_postgresql_marker, complete=False),
}


def source_fingerprint(conn: Connection, url: str = "") -> str:
    """The fingerprint of the source behind ``conn``: its complete change marker alone (a
    database file), or its tables' rows and date spans (one statement) with its marker."""
    kind = CHANGE_MARKERS.get(conn.engine.url.get_backend_name())
    marker = kind.read(conn) if kind else None
    if kind is not None and kind.complete and marker is not None:
        return fingerprint_of([], url, marker)
    from data.sources import table_summaries  # local: sources imports the schema and engines

    return fingerprint_of(table_summaries(conn), url, marker)


# --------------------------------------------------------------------------- results on disk
class CacheSettingError(ValueError):
    """CRM_CACHE_SIZE cannot be understood; the message says how to write it."""


def _size_bytes(setting: str) -> int:
    from data.budget import BudgetError, memory_bytes  # amounts as DuckDB writes them ("1GB", "512MB")

    if setting.strip().endswith("%"):
        raise CacheSettingError(f"CRM_CACHE_SIZE={setting!r}: write an amount such as \"1GB\" or \"500MB\"")
    try:
        return memory_bytes(setting, 0)
    except BudgetError:
        raise CacheSettingError(f"CRM_CACHE_SIZE={setting!r}: write an amount such as \"1GB\" or \"500MB\"") from None


#: The shape of the kept results: raised when a result changes what it holds, so that results
#: kept by an earlier version of the app are computed again rather than read by pages that
#: expect the new shape (2: the customer-value map replaced its sample of customers).
RESULTS_FORMAT = 2

#: The results being computed in this process, per folder and key: the lock their other
#: callers wait on. Shared by every :class:`ResultStore` of the process, so that a server's
#: start (pages/serve.py, before Streamlit holds the app's store) and its pages compute a
#: result once between them.
_COMPUTING: dict[str, threading.Lock] = {}
_COMPUTING_GUARD = threading.Lock()


class ResultStore:
    """Results computed from a source, kept on disk under the source's fingerprint.

    A result is computed once per (fingerprint, key) by any session or process and read
    back afterwards, across server restarts, until the source changes (a new fingerprint)
    or the size bound evicts it. Concurrent callers of the same key in one process wait for
    the first one instead of computing it twice, whichever store of that folder they use.
    """

    def __init__(self, folder: Path | None = None, size: str | None = None):
        import diskcache

        limit = _size_bytes(size or os.environ.get("CRM_CACHE_SIZE") or DEFAULT_RESULTS_SIZE)
        self.folder = (folder or cache_dir() / "results").resolve()
        self._disk = diskcache.Cache(str(self.folder), size_limit=limit, eviction_policy="least-recently-used")

    @staticmethod
    def key(fingerprint: str, parts: tuple) -> str:
        """The entry's key: the fingerprint, :data:`RESULTS_FORMAT` and a hash of what was
        computed (its repr)."""
        return f"{fingerprint}:{RESULTS_FORMAT}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"

    def get_or_compute(self, fingerprint: str, parts: tuple, compute: Callable[[], T]) -> T:
        key = self.key(fingerprint, parts)
        missing = object()
        found = self._disk.get(key, default=missing)
        if found is not missing:
            return found
        computing = f"{self.folder}|{key}"
        with _COMPUTING_GUARD:
            lock = _COMPUTING.setdefault(computing, threading.Lock())
        with lock:
            found = self._disk.get(key, default=missing)
            if found is missing:
                found = compute()
                self._disk.set(key, found, tag=fingerprint)
        with _COMPUTING_GUARD:
            _COMPUTING.pop(computing, None)
        return found

    def get(self, fingerprint: str, parts: tuple, default: Any = None) -> Any:
        """The result kept under (fingerprint, parts), or ``default`` (nothing is computed)."""
        return self._disk.get(self.key(fingerprint, parts), default=default)

    def __contains__(self, item: tuple[str, tuple]) -> bool:
        return self.key(*item) in self._disk

    def forget(self, fingerprint: str | None = None) -> None:
        """Drop the results of one fingerprint (every result when None)."""
        if fingerprint is None:
            self._disk.clear()
        else:
            self._disk.evict(fingerprint)

    def close(self) -> None:
        self._disk.close()
