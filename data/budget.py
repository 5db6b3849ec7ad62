"""The resources the app lets its database engine use, so that no page can take the server down.

Declared as settings (environment variables), read when a source is opened:

- ``CRM_DB_MEMORY``: DuckDB's ``memory_limit``, as a share of the machine's memory
  (``"10%"``, the default) or an amount DuckDB understands (``"2GB"``, ``"512MB"``).
  Beyond it DuckDB spills to ``CRM_DB_TEMP`` (default: a folder in the system temporary
  directory) and, when even that is not enough, the statement fails with an
  out-of-memory error instead of growing.
- ``CRM_DB_THREADS``: DuckDB's ``threads`` (default: the machine's cores).
- ``CRM_DB_TIMEOUT``: seconds a statement may run on PostgreSQL (``statement_timeout``;
  default 120, 0 = no limit).

A statement that exceeds its budget raises; :func:`over_budget` recognises such errors so
the page can show a message in that section (never a dead server, never a traceback).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MEMORY_SHARE = "10%"
DEFAULT_TIMEOUT_SECONDS = 120
MIN_MEMORY_BYTES = 8 * 2**20
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}

#: Text of the errors that mean "the statement went over its budget", per engine.
OVER_BUDGET_MARKERS = ("out of memory", "could not allocate", "statement timeout",
                       "canceling statement due to statement timeout", "failed to allocate")


class BudgetError(ValueError):
    """A budget setting that cannot be understood; the message names the variable."""


def machine_memory() -> int:
    """Physical memory of the machine in bytes (the cgroup limit when lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def memory_bytes(setting: str, total: int) -> int:
    """``"15%"`` of ``total`` or an amount such as ``"2GB"``, in bytes (at least 8 MiB)."""
    share = _SHARE.match(setting)
    if share:
        value = float(share.group(1))
        if not 0 < value <= 100:
            raise BudgetError(f"CRM_DB_MEMORY={setting!r}: a share must be between 0 and 100 %")
        return max(MIN_MEMORY_BYTES, int(total * value / 100))
    amount = _AMOUNT.match(setting)
    if amount:
        return max(MIN_MEMORY_BYTES, int(float(amount.group(1)) * _UNITS[amount.group(2).upper()]))
    raise BudgetError(f"CRM_DB_MEMORY={setting!r}: write a share of the machine (\"15%\") or an amount (\"2GB\")")


@dataclass(frozen=True)
class Budget:
    """What one app process lets its database engine use."""

    memory_bytes: int
    threads: int
    temp_directory: str
    timeout_seconds: int

    def duckdb_config(self) -> dict[str, str | int]:
        """DuckDB settings (``connect_args={"config": ...}``)."""
        return {"memory_limit": f"{self.memory_bytes // 2**20}MiB", "threads": self.threads,
                "temp_directory": self.temp_directory, "enable_progress_bar": "false"}

    def apply_to_duckdb(self, dbapi_connection, _record=None) -> None:
        """Set the DuckDB settings on a new connection (a SQLAlchemy ``connect`` listener)."""
        for name, value in self.duckdb_config().items():
            dbapi_connection.execute(f"SET {name} = '{value}'")

    def postgresql_options(self) -> str:
        """libpq ``options`` for every session."""
        return f"-c statement_timeout={self.timeout_seconds * 1000}"


def budget(environ: dict[str, str] | None = None) -> Budget:
    """The budget from the environment (see the module docstring for the variables)."""
    env = os.environ if environ is None else environ
    memory = memory_bytes(env.get("CRM_DB_MEMORY") or DEFAULT_MEMORY_SHARE, machine_memory())
    try:
        threads = int(env.get("CRM_DB_THREADS") or os.cpu_count() or 1)
        timeout = int(env.get("CRM_DB_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)
    except ValueError as exc:
        raise BudgetError(f"CRM_DB_THREADS and CRM_DB_TIMEOUT must be whole numbers ({exc})") from exc
    if threads < 1 or timeout < 0:
        raise BudgetError("CRM_DB_THREADS must be at least 1 and CRM_DB_TIMEOUT at least 0")
    temp = env.get("CRM_DB_TEMP") or str(Path(tempfile.gettempdir()) / "crm-dashboard-spill")
    return Budget(memory, threads, temp, timeout)


def over_budget(error: BaseException) -> bool:
    """True when ``error`` (or its cause) says a statement went over its memory or time budget."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        text = str(seen).lower()
        if any(marker in text for marker in OVER_BUDGET_MARKERS):
            return True
        if type(seen).__name__ in ("OutOfMemoryException", "QueryCanceled"):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
