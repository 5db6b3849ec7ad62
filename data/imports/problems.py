"""What an import found wrong: one Problem per finding, printed ``FILE:ROW: COLUMN: message``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding. ``row`` is the row number a spreadsheet shows (the header is row 1)."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class ImportRejected(Exception):
    """Validation found errors; nothing was written. ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.result = None  # the ImportResult (mappings, rows) when available
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s) found; nothing was imported")


class ImportOutOfMemory(Exception):
    """DuckDB needed more memory than ``CRM_IMPORT_MEMORY_LIMIT`` allows while writing ``table``
    (a table of the target or of the staging database, or the file being read); nothing was
    imported and the target is as it was."""

    def __init__(self, table: str, limit: str):
        self.table, self.limit = table, limit
        super().__init__(f"out of memory while writing {table} (CRM_IMPORT_MEMORY_LIMIT={limit})")
