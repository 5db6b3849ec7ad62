"""Export the eight tables to Parquet, and the Spark SQL that registers them as tables.

This is what a team with a Spark or Databricks lakehouse does with the CRM data: copy
one Parquet folder per table to the lake (``s3://...``, ``abfss://...``, ``dbfs:/...`` or
a local folder for a local Spark) and run the ``CREATE TABLE ... USING parquet LOCATION``
statements once. Types follow ``data/schema.py``: text ``STRING``, timestamps
``TIMESTAMP`` (written as microseconds; Spark rejects Parquet's nanoseconds), money
``DECIMAL(18,2)``, integers ``INT``, flags ``BOOLEAN``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Boolean, DateTime, Integer, Numeric, Text, select
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from data import schema

#: Rows fetched and written per Parquet row group.
CHUNK_ROWS = 250_000
#: Name of the SQL file written beside the table folders.
SQL_FILE = "create_tables.sql"


def _arrow_type(kind: TypeEngine) -> pa.DataType:
    if isinstance(kind, Numeric):
        return pa.decimal128(kind.precision, kind.scale)
    if isinstance(kind, DateTime):
        return pa.timestamp("us")
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int32()
    if isinstance(kind, Text):
        return pa.string()
    raise TypeError(f"no Parquet type for {kind!r}")


def _spark_type(kind: TypeEngine) -> str:
    if isinstance(kind, Numeric):
        return f"DECIMAL({kind.precision},{kind.scale})"
    if isinstance(kind, DateTime):
        return "TIMESTAMP"
    if isinstance(kind, Boolean):
        return "BOOLEAN"
    if isinstance(kind, Integer):
        return "INT"
    if isinstance(kind, Text):
        return "STRING"
    raise TypeError(f"no Spark SQL type for {kind!r}")


def arrow_schema(name: str) -> pa.Schema:
    """The Parquet schema of one table of the data model."""
    table = schema.table(name)
    return pa.schema([pa.field(c.name, _arrow_type(c.type), nullable=c.nullable) for c in table.columns])


def _batches(conn: Connection, name: str, chunk_rows: int):
    """The table's rows in primary-key order, as pyarrow record batches of ``chunk_rows``."""
    table = schema.table(name)
    target = arrow_schema(name)
    key = list(table.primary_key.columns)[0]
    result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
        select(table).order_by(key))
    for rows in result.partitions():
        columns = list(zip(*rows)) if rows else [[] for _ in target]
        arrays = [pa.array(list(values), type=_loose(f.type)).cast(f.type)
                  for values, f in zip(columns, target)]
        yield pa.record_batch(arrays, schema=target)


def _loose(kind: pa.DataType) -> pa.DataType | None:
    """Type that the driver's Python values convert from (money arrives as float or
    Decimal depending on the driver: inferred, then cast)."""
    return None if pa.types.is_decimal(kind) else kind


def export_parquet(conn: Connection, out_dir: Path, chunk_rows: int = CHUNK_ROWS,
                   progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write ``out_dir/<table>/part-00000.parquet`` for the eight tables; rows per table.

    Each table is written to a temporary file and renamed when complete, so an interrupted
    export leaves no half-written table behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for table in schema.TABLES:
        folder = out_dir / table.name
        folder.mkdir(exist_ok=True)
        final, tmp = folder / "part-00000.parquet", folder / ".part-00000.parquet.tmp"
        rows = 0
        with pq.ParquetWriter(tmp, arrow_schema(table.name), coerce_timestamps="us",
                              compression="zstd") as writer:
            for batch in _batches(conn, table.name, chunk_rows):
                writer.write_batch(batch)
                rows += batch.num_rows
        tmp.replace(final)
        counts[table.name] = rows
        if progress is not None:
            progress(table.name, rows)
    return counts


def create_table_statements(location: str, database: str | None = None) -> list[str]:
    """``CREATE TABLE ... USING parquet LOCATION '<location>/<table>'`` for the eight tables.

    ``location`` is where the table folders are (a local path or a lake URI); with
    ``database``, a ``CREATE DATABASE IF NOT EXISTS`` comes first and the tables go there.
    """
    if "'" in location or "%" in location:
        raise ValueError(f"The location must not contain a quote or a percent sign: {location!r}")
    if database is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise ValueError(f"The database name must be letters, digits and underscores: {database!r}")
    prefix = f"`{database}`." if database else ""
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`"] if database else []
    for table in schema.TABLES:
        columns = ",\n  ".join(f"`{c.name}` {_spark_type(c.type)}" for c in table.columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS {prefix}`{table.name}` (\n  {columns}\n)\n"
                          f"USING parquet\nLOCATION '{location.rstrip('/')}/{table.name}'")
    return statements


def write_sql(out_dir: Path, location: str, database: str | None = None) -> Path:
    """The statements of :func:`create_table_statements` as a SQL file in ``out_dir``."""
    path = out_dir / SQL_FILE
    path.write_text(";\n\n".join(create_table_statements(location, database)) + ";\n")
    return path


def register_tables(conn: Connection, location: str, database: str | None = None) -> None:
    """Run :func:`create_table_statements` on a Spark SQL connection (one statement each)."""
    for statement in create_table_statements(location, database):
        conn.exec_driver_sql(statement)
