"""Import CRM exports (CSV, Excel, Parquet) into a target database: read, map, validate, load.

``run_import`` stages the files in a temporary DuckDB database, maps them onto the eight
tables with a profile (profiles/*.toml), checks everything there, and only when no error
remains opens the target and writes every table in one transaction (``loader``). A failed
import never opens the target for writing: it stays byte-for-byte as it was.
"""

from __future__ import annotations

import getpass
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from data import schema
from data.imports import loader
from data.imports.mapping import FileMapping, stage
from data.imports.problems import ImportRejected, Problem
from data.imports.profiles import load_profile
from data.imports.reader import RawFile, read_files
from data.imports.validate import validate
from i18n import lazy

__all__ = ["ImportRejected", "ImportResult", "Problem", "check_files", "run_import", "parse_overrides"]

Progress = Callable[[float, str], None]


@dataclass
class ImportResult:
    """What an import (or a dry run) found and did."""

    profile: str
    mode: str
    rows: dict[str, int]  # rows per target table found in the files
    problems: list[Problem]  # every finding; errors block the import
    mappings: list[FileMapping] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)  # file, sha256, rows
    batch_id: int | None = None  # None for a dry run or a rejected import
    preview: dict[str, object] = field(default_factory=dict)  # table -> first rows (pandas)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["customers.segment=Segment__c"]`` -> ``{"customers.segment": "Segment__c"}``; ValueError when wrong."""
    out = {}
    for item in items:
        target, sep, source = item.partition("=")
        table, dot, column = target.strip().partition(".")
        if not sep or not dot or not source.strip():
            raise ValueError(lazy("--map {item}: write TABLE.COLUMN=SOURCE_COLUMN", item=repr(item)))
        if table not in schema.metadata.tables or column not in schema.table(table).columns:
            raise ValueError(lazy("--map {item}: {target} is not a column of the data model", item=repr(item),
                                  target=target.strip()))
        out[f"{table}.{column}"] = source.strip()
    return out


def _is_duckdb(url: str) -> bool:
    return "://" not in url or url.startswith("duckdb:")


def _duckdb_path(url: str) -> str:
    return url.split(":///", 1)[1] if "://" in url else url


def _existing_keys(con: duckdb.DuckDBPyConnection, into: str) -> set[str]:
    """Upsert: the target's parent keys, staged as ``existing_<table>`` for the reference checks."""
    parents = {fk.column.table for t in schema.TABLES for fk in t.foreign_keys}
    made = set()
    if _is_duckdb(into):
        path = _duckdb_path(into)
        if not Path(path).exists():
            return made
        quoted = path.replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS target (READ_ONLY)")
        try:
            present = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'target'").fetchall()}
            for parent in parents:
                if parent.name in present:
                    key = list(parent.primary_key.columns)[0].name
                    con.execute(f'CREATE TABLE existing_{parent.name} AS SELECT "{key}" AS key FROM target.{parent.name}')
                    made.add(f"existing_{parent.name}")
        finally:
            con.execute("DETACH target")
        return made
    import pandas as pd
    from sqlalchemy import inspect, select

    engine = loader.target_engine(into)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for parent in parents:
                if parent.name in present:
                    key = list(parent.primary_key.columns)[0]
                    frame = pd.DataFrame({"key": conn.execute(select(key)).scalars().all()}, dtype=object)
                    con.register("_keys", frame)
                    con.execute(f"CREATE TABLE existing_{parent.name} AS SELECT CAST(key AS VARCHAR) AS key FROM _keys")
                    con.unregister("_keys")
                    made.add(f"existing_{parent.name}")
    finally:
        engine.dispose()
    return made


def _row_problems(raws: list[RawFile], rows: dict[str, int], mappings: list[FileMapping], mode: str) -> list[Problem]:
    out = []
    by_file = {m.raw.label: m.table for m in mappings}
    for raw in raws:
        if raw.table is not None and raw.rows == 0:
            if by_file.get(raw.label) == "customers" and mode == "replace":
                out.append(Problem(raw.label, lazy("has a header but no rows; the customers table is required")))
            else:
                out.append(Problem(raw.label, lazy("has a header but no rows; its table will be empty"),
                                   severity="warning"))
    unreadable = any(raw.table is None for raw in raws)  # already reported: it may be the customers file
    if mode == "replace" and "customers" not in by_file.values() and not out and not unreadable:
        out.append(Problem(lazy("(import)"), lazy("no customers file found; every other table refers to customers")))
    return out


def check_files(paths: list[Path], profile_name: str, *, workdir: Path, into: str | None = None,
                mode: str = "replace", overrides: dict[str, str] | None = None,
                names: dict[Path, str] | None = None, progress: Progress | None = None,
                preview_rows: int = 0) -> ImportResult:
    """Read, map and validate into ``workdir/stage.duckdb`` (the target is only read, for upsert)."""
    progress = progress or (lambda fraction, text: None)
    profile = load_profile(profile_name).with_overrides(overrides or {})
    con = duckdb.connect(str(workdir / "stage.duckdb"))
    try:
        # row numbers come from insertion order; memory beyond the limit spills to the work folder
        memory = loader.memory_limit()
        con.execute(f"SET TimeZone = 'UTC'; SET temp_directory = '{workdir / 'spill'}'; "
                    f"SET preserve_insertion_order = true; SET memory_limit = '{memory}'")
        progress(0.05, lazy("Reading the files"))
        raws, problems = read_files(con, paths, workdir, names)
        progress(0.45, lazy("Mapping the columns"))
        mappings, found = stage(con, raws, profile)
        problems += found
        rows = {t.name: con.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0] for t in schema.TABLES}
        problems += _row_problems(raws, rows, mappings, mode)
        progress(0.6, lazy("Checking every row"))
        existing = _existing_keys(con, into) if (mode == "upsert" and into) else set()
        problems += validate(con, mappings, existing)
        preview = {}
        if preview_rows:
            for table in schema.TABLES:
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                preview[table.name] = con.execute(f"SELECT {cols} FROM {table.name} LIMIT {preview_rows}").df()
    finally:
        con.close()
    tables_of = {m.raw.label: m.table for m in mappings}
    files = [{"file": r.label, "sha256": r.sha256, "rows": r.rows, "table": tables_of.get(r.label)} for r in raws]
    present = {m.table for m in mappings}
    kept_rows = {t: n for t, n in rows.items() if t in present or mode == "replace"}
    return ImportResult(profile.name, mode, kept_rows, problems, mappings, files, preview=preview)


def run_import(paths: list[Path], profile_name: str, into: str, *, mode: str = "replace",
               dry_run: bool = False, overrides: dict[str, str] | None = None, who: str | None = None,
               names: dict[Path, str] | None = None, progress: Progress | None = None,
               preview_rows: int = 0, role: str | None = None) -> ImportResult:
    """Validate the files and, when no error remains and not ``dry_run``, load them into ``into``.

    Raises ImportRejected (with every problem) when any error is found: nothing is written.
    ``role``: the signed-in user's role; only crm_lead and admin may import (None = local).
    """
    if not dry_run:
        from data.store import WRITER_ROLES, check_role

        check_role(role, WRITER_ROLES, "import")
    if mode not in ("replace", "upsert"):
        raise ValueError(f"unknown mode {mode!r}: use replace or upsert")
    progress = progress or (lambda fraction, text: None)
    workdir = Path(tempfile.mkdtemp(prefix="crm-import-"))
    try:
        result = check_files(paths, profile_name, workdir=workdir, into=into, mode=mode, overrides=overrides,
                             names=names, progress=progress, preview_rows=preview_rows)
        if result.errors:
            rejected = ImportRejected(result.problems)
            rejected.result = result
            raise rejected
        if dry_run:
            return result
        progress(0.8, lazy("Writing into the database"))
        if _is_duckdb(into):
            Path(_duckdb_path(into)).parent.mkdir(parents=True, exist_ok=True)
        tables = {t: n for t, n in result.rows.items()}
        result.batch_id = loader.write(into, str(workdir / "stage.duckdb"), tables, mode=mode,
                                       profile=result.profile, files=result.files, who=who or _who())
        progress(1.0, lazy("Done"))
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"
