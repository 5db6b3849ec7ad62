"""Write a validated staging database into the target in one transaction; list and undo imports.

The target is opened only here, after validation passed. Each import is a batch in
``import_batches`` (when, who, profile, mode, files with sha256, rows per table). What a
batch replaced is kept in ``import_backup_<table>`` (``_kind = 'row'``: a row as it was
before; ``'key'``: a key the batch wrote), so ``undo`` can restore the previous state:
undoing is allowed for the latest batch not yet undone, then the one before, and so on.

Tables are replaced by drop-and-create inside the transaction: DuckDB refuses to delete a
parent row that child rows still reference, even when the children go in the same
transaction. Upsert uses ``INSERT ... ON CONFLICT (key) DO UPDATE`` where the table has a
primary key, else deletes the staged keys and inserts the staged rows.

DuckDB targets are written so that memory stays within ``CRM_IMPORT_MEMORY_LIMIT`` whatever
the size (the 1M-customer demo: 44 M interactions, 1.7 GB peak RSS at 4GB): each table is
created without key constraints and filled by one ``INSERT ... SELECT`` from the staging
database, insertion order not kept, spilling to a temporary folder. Key constraints are what
did not fit: DuckDB keeps each one as an in-memory index, outside its memory limit (the 44 M
interactions failed at commit with them; a primary key added after the insert took 5.7 GB
RSS at a 4GB limit). The import itself checks that keys are unique (``GROUP BY ... HAVING``)
and that references resolve, before anything is written, and the health report checks both
again on the imported data.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, create_engine, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from data import schema
from data.budget import over_budget
from data.imports.problems import ImportOutOfMemory
from i18n import lazy

log_metadata = MetaData()

import_batches = Table(
    "import_batches",
    log_metadata,
    Column("batch_id", Integer, primary_key=True, autoincrement=False),
    Column("imported_at", DateTime, nullable=False),
    Column("imported_by", Text, nullable=True),
    Column("profile", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("files", Text, nullable=False),  # JSON: [{"file", "sha256", "rows"}]
    Column("row_counts", Text, nullable=False),  # JSON: {table: rows written}
    Column("undone_at", DateTime, nullable=True),
)


def _backup_table(table: Table) -> Table:
    name = f"import_backup_{table.name}"
    if name in log_metadata.tables:
        return log_metadata.tables[name]
    return Table(name, log_metadata, Column("_batch_id", Integer, nullable=False),
                 Column("_kind", Text, nullable=False),
                 *(Column(c.name, c.type, nullable=True) for c in table.columns))


BACKUPS = {t.name: _backup_table(t) for t in schema.TABLES}


def target_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for the import target: a DuckDB file path or URL, or PostgreSQL. Read-only
    DuckDB engines match the dashboard's own (one process may not mix both on one file)."""
    if "://" not in url:
        url = f"duckdb:///{url}"
    if read_only and url.startswith("duckdb:"):
        return create_engine(url, connect_args={"read_only": True})
    return create_engine(url)


def memory_limit() -> str:
    """DuckDB's memory limit for the staging and the target connections of an import
    (``CRM_IMPORT_MEMORY_LIMIT``, default 4GB): beyond it DuckDB spills to disk."""
    return os.environ.get("CRM_IMPORT_MEMORY_LIMIT", "4GB")


def _key(table: Table) -> str:
    return list(table.primary_key.columns)[0].name


def _cols(table: Table) -> str:
    return ", ".join(f'"{c.name}"' for c in table.columns)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


class _Staged:
    """The staged tables made visible to the target connection as ``{prefix}<table>``."""

    def __init__(self, conn: Connection, stage_path: str):
        self.conn, self.stage_path = conn, stage_path
        self.duckdb = conn.dialect.name == "duckdb"
        self.prefix = "stage." if self.duckdb else "stage_"

    def attach(self) -> None:
        if self.duckdb:
            self.conn.exec_driver_sql(f"ATTACH '{self.stage_path}' AS stage (READ_ONLY)")
            self.conn.commit()

    def detach(self) -> None:
        if self.duckdb:
            self.conn.rollback()
            self.conn.exec_driver_sql("DETACH stage")
            self.conn.commit()

    def copy_in(self, tables: list[str]) -> None:
        """PostgreSQL: temporary tables filled from the staging DuckDB with COPY."""
        if self.duckdb:
            return
        import duckdb

        stage = duckdb.connect(self.stage_path, read_only=True)
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            for name in tables:
                table = schema.table(name)
                self.conn.exec_driver_sql(
                    f"CREATE TEMP TABLE stage_{name} (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP")
                result = stage.execute(f"SELECT {_cols(table)} FROM {name}")
                with cursor.copy(f"COPY stage_{name} ({_cols(table)}) FROM STDIN") as copy:
                    while batch := result.fetchmany(10_000):
                        for row in batch:
                            copy.write_row(row)
        finally:
            stage.close()


def _existing(conn: Connection) -> set[str]:
    """Tables of the target itself (not of the attached staging database)."""
    if conn.dialect.name == "duckdb":
        return {r[0] for r in conn.exec_driver_sql(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary").fetchall()}
    return set(inspect(conn).get_table_names())


def write(url: str, stage_path: str, tables: dict[str, int], *, mode: str, profile: str,
          files: list[dict], who: str | None) -> int:
    """Load the staged ``tables`` (name -> rows) into the target in one transaction; the batch id.

    Raises ImportOutOfMemory (naming the table being written) when DuckDB needs more than
    ``CRM_IMPORT_MEMORY_LIMIT``; the transaction is then rolled back and nothing is written.
    """
    engine = target_engine(url)
    writing = _Writing()
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "duckdb":
                _bound(conn, Path(stage_path).parent / "spill-target")
                conn.commit()
            staged = _Staged(conn, stage_path)
            staged.attach()
            try:
                with conn.begin():
                    batch = _write(conn, staged, tables, mode=mode, profile=profile, files=files, who=who,
                                   writing=writing)
            except BaseException:
                with suppress(Exception):  # a failed commit may have closed the database already
                    staged.detach()
                raise
            staged.detach()
    except (SQLAlchemyError, duckdb.Error) as exc:
        if over_budget(exc):
            raise ImportOutOfMemory(_flushed(exc) or writing.table or "the target database", memory_limit()) from None
        raise
    finally:
        with suppress(Exception):
            engine.dispose()
    return batch


class _Writing:
    """The table a load is writing, for the out-of-memory message."""

    table: str | None = None


def _flushed(exc: BaseException) -> str | None:
    """The table DuckDB names in a failed commit ("Failed to flush table interactions ...")."""
    found = re.search(r"flush table (\w+)", str(exc))
    return found.group(1) if found else None


def _bound(conn: Connection, spill: Path | None = None) -> None:
    """DuckDB settings of a target connection: the import's memory limit (a shared machine),
    spilling beyond it to ``spill`` (default: DuckDB's, beside the file), and no insertion
    order to keep (so large inserts stream)."""
    conn.exec_driver_sql(f"SET memory_limit = '{memory_limit()}'")
    if spill is not None:
        quoted = str(spill).replace("'", "''")
        conn.exec_driver_sql(f"SET temp_directory = '{quoted}'")
    conn.exec_driver_sql("SET preserve_insertion_order = false")


def _create_missing(conn: Connection, present: set[str]) -> None:
    """Create the data-model tables not in ``present`` (SQLAlchemy's own check would also see
    the attached staging tables of the same names); on DuckDB without key constraints."""
    missing = [t for t in schema.TABLES if t.name not in present]
    if not missing:
        return
    if conn.dialect.name != "duckdb":
        schema.metadata.create_all(conn, tables=missing, checkfirst=False)
        return
    bare = MetaData()
    for table in missing:
        Table(table.name, bare, *(Column(c.name, c.type, nullable=c.nullable) for c in table.columns))
    bare.create_all(conn, checkfirst=False)


def _keyed(conn: Connection, name: str) -> bool:
    """Whether the target's table ``name`` has its primary key (PostgreSQL, or a DuckDB table
    created before imports left keys out)."""
    if conn.dialect.name != "duckdb":
        return True
    return bool(conn.exec_driver_sql(
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type = 'PRIMARY KEY'", (name,)).scalar())


def _write(conn: Connection, staged: _Staged, tables: dict[str, int], *, mode, profile, files, who,
           writing: _Writing) -> int:
    log_metadata.create_all(conn)
    before = _existing(conn)
    batch = (conn.execute(select(func.max(import_batches.c.batch_id))).scalar() or 0) + 1
    written = tables if mode == "upsert" else {t.name: tables.get(t.name, 0) for t in schema.TABLES}
    src = staged.prefix
    if mode == "replace":
        for table in schema.TABLES:
            if table.name in before:
                writing.table = f"import_backup_{table.name}"
                conn.exec_driver_sql(
                    f"INSERT INTO import_backup_{table.name} (_batch_id, _kind, {_cols(table)}) "
                    f"SELECT {batch}, 'row', {_cols(table)} FROM {table.name}")
        schema.metadata.drop_all(conn, tables=[t for t in schema.TABLES if t.name in before])
        _create_missing(conn, set())
        staged.copy_in(list(written))
        for table in schema.TABLES:
            writing.table = table.name
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({_cols(table)}) "
                                 f"SELECT {_cols(table)} FROM {src}{table.name}")
    else:
        _create_missing(conn, before)
        staged.copy_in(list(written))
        for name in written:
            writing.table = name
            table = schema.table(name)
            key = _key(table)
            conn.exec_driver_sql(
                f"INSERT INTO import_backup_{name} (_batch_id, _kind, {_cols(table)}) "
                f"SELECT {batch}, 'row', {_cols(table)} FROM {name} "
                f'WHERE "{key}" IN (SELECT "{key}" FROM {src}{name})')
            conn.exec_driver_sql(f'INSERT INTO import_backup_{name} (_batch_id, _kind, "{key}") '
                                 f'SELECT {batch}, \'key\', "{key}" FROM {src}{name}')
            if _keyed(conn, name):
                updates = ", ".join(f'"{c.name}" = excluded."{c.name}"' for c in table.columns if c.name != key)
                conn.exec_driver_sql(f"INSERT INTO {name} ({_cols(table)}) SELECT {_cols(table)} FROM {src}{name} "
                                     f'ON CONFLICT ("{key}") DO UPDATE SET {updates}')
            else:
                conn.exec_driver_sql(f'DELETE FROM {name} WHERE "{key}" IN (SELECT "{key}" FROM {src}{name})')
                conn.exec_driver_sql(f"INSERT INTO {name} ({_cols(table)}) SELECT {_cols(table)} FROM {src}{name}")
    schema.create_indexes(conn)
    conn.execute(import_batches.insert().values(
        batch_id=batch, imported_at=_now(), imported_by=who, profile=profile, mode=mode,
        files=json.dumps(files), row_counts=json.dumps(written)))
    return batch


def list_batches(url: str) -> list[dict]:
    """Every import logged in the target, newest first (empty when none)."""
    engine = target_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            if "import_batches" not in _existing(conn):
                return []
            rows = conn.execute(select(import_batches).order_by(import_batches.c.batch_id.desc())).mappings().all()
    finally:
        engine.dispose()
    return [{**row, "files": json.loads(row["files"]), "row_counts": json.loads(row["row_counts"])} for row in rows]


class UndoRefused(Exception):
    """The batch cannot be undone (unknown, already undone, or a later import is in place)."""


def undo(url: str, batch: int) -> dict[str, int]:
    """Restore the target as it was before ``batch``; rows per table afterwards."""
    engine = target_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "duckdb":  # bounded and streaming, as an import's load
                _bound(conn)
            if "import_batches" not in _existing(conn):
                raise UndoRefused(lazy("this database has no imports to undo"))
            row = conn.execute(select(import_batches).where(import_batches.c.batch_id == batch)).mappings().first()
            if row is None:
                raise UndoRefused(lazy("there is no import {batch}", batch=batch))
            if row["undone_at"] is not None:
                raise UndoRefused(lazy("import {batch} was already undone", batch=batch))
            later = conn.execute(select(import_batches.c.batch_id).where(
                import_batches.c.batch_id > batch, import_batches.c.undone_at.is_(None))).scalars().all()
            if later:
                raise UndoRefused(lazy("import(s) {later} came after {batch}; undo them first",
                                           later=", ".join(map(str, later)), batch=batch))
            counts = _restore(conn, batch, row["mode"])
            conn.execute(import_batches.update().where(import_batches.c.batch_id == batch).values(undone_at=_now()))
    finally:
        engine.dispose()
    return counts


def _restore(conn: Connection, batch: int, mode: str) -> dict[str, int]:
    """Rebuild the eight tables as they were before ``batch`` (through temporary tables)."""
    for table in schema.TABLES:
        cols, key = _cols(table), _key(table)
        kept = f"SELECT {cols} FROM import_backup_{table.name} WHERE _batch_id = {batch} AND _kind = 'row'"
        if mode == "upsert":
            kept += (f' UNION ALL SELECT {cols} FROM {table.name} WHERE "{key}" NOT IN '
                     f"(SELECT \"{key}\" FROM import_backup_{table.name} WHERE _batch_id = {batch} AND _kind = 'key')")
        conn.exec_driver_sql(f"CREATE TEMP TABLE restore_{table.name} AS {kept}")
    schema.metadata.drop_all(conn, tables=list(schema.TABLES))
    _create_missing(conn, set())
    counts = {}
    for table in schema.TABLES:
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({_cols(table)}) SELECT {_cols(table)} FROM restore_{table.name}")
        counts[table.name] = conn.exec_driver_sql(f"SELECT count(*) FROM {table.name}").scalar()
        conn.exec_driver_sql(f"DROP TABLE restore_{table.name}")
        conn.exec_driver_sql(f"DELETE FROM import_backup_{table.name} WHERE _batch_id = {batch}")
    schema.create_indexes(conn)
    return counts
