"""Small helpers shared by tests: table checksums and tiny hand-written databases."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Connection, Engine

from data import schema
from data.load import write_frames


def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, Decimal)):
        return f"{float(value):.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)


def table_checksum(conn: Connection, name: str) -> tuple[int, str]:
    """(row count, sha256 of every row in primary-key order, values normalised)."""
    table = schema.table(name)
    key = list(table.primary_key.columns)[0]
    digest = hashlib.sha256()
    count = 0
    for row in conn.execute(select(table).order_by(key)):
        digest.update(("|".join(_norm(v) for v in row) + "\n").encode())
        count += 1
    return count, digest.hexdigest()


def engine_with_schema(url: str) -> Engine:
    engine = create_engine(url)
    schema.create_schema(engine)
    schema.create_indexes(engine)
    return engine


def load_rows(engine: Engine, rows: dict[str, list[dict]]) -> None:
    """Insert hand-written rows (dicts with any subset of columns) in load order."""
    import pandas as pd

    frames = {}
    for table in schema.TABLES:
        if table.name in rows:
            frame = pd.DataFrame(rows[table.name])
            for column in table.columns:
                if column.name not in frame:
                    frame[column.name] = None
            frames[table.name] = frame
    with engine.begin() as conn:
        write_frames(conn, [frames])


#: The engines every hand-computed test runs on (the param of a ``crm_engine`` fixture).
ENGINES = ["duckdb", "postgres"]


def crm_engine(request, tmp_path_factory, name: str, rows: dict[str, list[dict]]) -> Engine:
    """A database named ``name`` with the schema and ``rows``, on the engine of ``request.param``
    ('duckdb': a file in a temporary folder; 'postgres': a database on the test cluster)."""
    from tests import provision

    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path_factory.mktemp(name) / f'{name}.duckdb'}"
    else:
        url = provision.create_database(request.getfixturevalue("pg_cluster"), name)
    engine = engine_with_schema(url)
    load_rows(engine, rows)
    return engine


def demo_on_both_engines(tmp_path_factory, pg_cluster: str, spec, name: str) -> tuple[str, str]:
    """The same demo (``spec``) built in a DuckDB file and in a PostgreSQL database named
    ``name``; their (DuckDB URL, PostgreSQL URL), for tests that compare the two engines."""
    from data.build import build_demo
    from tests.provision import create_database

    path = tmp_path_factory.mktemp(name) / "crm.duckdb"
    build_demo(path, spec)
    pg_url = create_database(pg_cluster, name)
    build_demo(pg_url, spec)
    return f"duckdb:///{path}", pg_url
