"""Where the app keeps what it derives from a source, and how it knows the source changed.

Derived data (the health report, pre-aggregated rollups, fitted value models) is kept in a
local folder next to the app, never in the source, which stays read-only:

- ``CRM_CACHE_DIR`` names the folder (default: ``.cache/`` beside ``app.py``);
- a *data refresh* is detected by the source's fingerprint: per table, the row count and
  the first and last value of its date column (``data.sources.table_summaries``). Anything
  derived is stored under the fingerprint it was computed from, so a changed source is
  never answered from stale results.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from sqlalchemy.engine import Connection

APP_DIR = Path(__file__).resolve().parents[1]


def cache_dir(environ: dict[str, str] | None = None) -> Path:
    """The folder for derived data (created when missing)."""
    env = os.environ if environ is None else environ
    folder = Path(env.get("CRM_CACHE_DIR") or APP_DIR / ".cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fingerprint_of(summaries: list[dict], url: str = "") -> str:
    """A short hash of the source's identity and of what its tables hold (rows and date span)."""
    payload = json.dumps({"url": url, "tables": summaries}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def source_fingerprint(conn: Connection, url: str = "") -> str:
    """The fingerprint of the source behind ``conn`` (one aggregate query per table)."""
    from data.sources import table_summaries  # local: sources imports the schema and engines

    return fingerprint_of(table_summaries(conn), url)


def file_stamp(url) -> str:
    """For a database file (DuckDB, SQLite), a short hash of its size and time of change, and
    of its write-ahead log's: a file changed in place without a new row or date still gets a
    new stamp. Empty for a server (PostgreSQL, Spark), whose fingerprint is what it holds."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url) if isinstance(url, str) else url
    database = parsed.database or ""
    if parsed.get_backend_name() not in ("duckdb", "sqlite") or database in ("", ":memory:"):
        return ""
    path = Path(database.removeprefix("file:").split("?")[0])
    stats = []
    for part in (path, Path(f"{path}.wal"), Path(f"{path}-wal")):
        try:
            found = part.stat()
        except OSError:
            continue
        stats.append([part.name, found.st_size, found.st_mtime_ns])
    return "-" + hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:8] if stats else ""
