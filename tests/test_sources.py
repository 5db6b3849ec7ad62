"""Sources: URL resolution, read-only engines, schema check, clear connection errors."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import SQLAlchemyError

from data import schema, sources
from data.build import build_demo
from data.demo import DemoSpec
from tests.conftest import END
from tests.helpers import table_checksum
from tests.provision import free_port


def test_url_resolution_order(tmp_path):
    secrets = tmp_path / "secrets.toml"
    assert sources.resolve_url({}, secrets) == sources.DEFAULT_URL
    secrets.write_text('[connections.crm]\nurl = "postgresql+psycopg://u:pw@db/crm"\n')
    assert sources.resolve_url({}, secrets) == "postgresql+psycopg://u:pw@db/crm"
    assert sources.resolve_url({"CRM_DB_URL": "duckdb:///x.duckdb"}, secrets) == "duckdb:///x.duckdb"


def test_broken_secrets_file_is_named(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[connections.crm\nurl = ")
    with pytest.raises(sources.SourceError, match="secrets.toml: not valid TOML"):
        sources.resolve_url({}, secrets)


def test_password_is_masked():
    masked = sources.mask_url("postgresql+psycopg://analyst:s3cret@db.example:5432/crm")
    assert "s3cret" not in masked
    assert masked == "postgresql+psycopg://analyst:***@db.example:5432/crm"


NEW_CUSTOMER = {"customer_id": "X1", "segment": "SMB", "region": "North",
                "acquisition_channel": "web", "consent_marketing": True,
                "created_at": datetime(2026, 1, 1), "updated_at": datetime(2026, 1, 1)}


def test_duckdb_source_refuses_writes_and_stays_unchanged(tmp_path):
    path = tmp_path / "crm.duckdb"
    build_demo(path, DemoSpec(customers=100, seed=1, end=END))
    before = path.read_bytes()
    source = sources.connect(f"duckdb:///{path}")
    assert source.product == "DuckDB"       # as the Data page names it (the dialect is "duckdb")
    with source.engine.connect() as conn:
        checksum = table_checksum(conn, "customers")
        with pytest.raises(SQLAlchemyError, match="read-only"):
            conn.execute(insert(schema.customers).values(**NEW_CUSTOMER))
            conn.commit()
    with source.engine.connect() as conn:
        assert table_checksum(conn, "customers") == checksum
    source.engine.dispose()
    assert path.read_bytes() == before


@pytest.mark.postgres
def test_postgres_source_refuses_writes_and_stays_unchanged(pg_url):
    build_demo(pg_url, DemoSpec(customers=60, seed=1, end=END))
    source = sources.connect(pg_url)
    assert source.product == "PostgreSQL"
    with source.engine.connect() as conn:
        checksum = table_checksum(conn, "customers")
    with source.engine.connect() as conn:
        with pytest.raises(SQLAlchemyError, match="read-only transaction"):
            conn.execute(insert(schema.customers).values(**NEW_CUSTOMER))
            conn.commit()
    with source.engine.connect() as conn:
        with pytest.raises(SQLAlchemyError, match="read-only transaction"):
            conn.execute(text("DELETE FROM tickets"))
    with source.engine.connect() as conn:
        assert table_checksum(conn, "customers") == checksum
        assert conn.execute(text("SELECT count(*) FROM customers WHERE customer_id = 'X1'")).scalar() == 0
    source.engine.dispose()


def test_views_named_after_the_tables_are_a_source(pg_url):
    """A company that exposes its CRM as views (over its own tables) is read like tables,
    its columns and types checked in one reflection pass."""
    build_demo(pg_url, DemoSpec(customers=40, seed=2, end=END))
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA crm_raw"))
        for table in schema.TABLES:
            conn.execute(text(f"ALTER TABLE {table.name} SET SCHEMA crm_raw"))
            conn.execute(text(f"CREATE VIEW public.{table.name} AS SELECT * FROM crm_raw.{table.name}"))
    engine.dispose()
    source = sources.connect(pg_url)
    with source.engine.connect() as conn:
        assert sources.schema_problems(conn) == []
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 40
    source.engine.dispose()


def test_schema_check_lists_every_problem(tmp_path):
    path = tmp_path / "partial.duckdb"
    engine = create_engine(f"duckdb:///{path}")
    schema.create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE surveys"))
        conn.execute(text("ALTER TABLE tickets DROP COLUMN csat"))
        conn.execute(text("ALTER TABLE tickets DROP COLUMN escalated"))
    engine.dispose()
    with pytest.raises(sources.SchemaMismatch) as caught:
        sources.connect(f"duckdb:///{path}")
    assert caught.value.problems == [
        "table tickets lacks column(s) escalated, csat",
        "missing table surveys",
    ]
    assert "missing table surveys" in str(caught.value)
    assert "tickets lacks column(s) escalated, csat" in str(caught.value)


@pytest.mark.parametrize("url, message", [
    (f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/crm", "Cannot reach the data source"),
    ("duckdb:////nonexistent/crm.duckdb", "DuckDB file not found"),
    ("not a url", "Not a database URL"),
    ("oracle+nodriver://u:p@h/db", "No driver installed"),
])
def test_unusable_source_gives_a_clear_message(url, message):
    with pytest.raises(sources.SourceError, match=message) as caught:
        sources.connect(url)
    assert ":p@" not in str(caught.value)


def test_table_summaries_report_rows_and_spans(demo_url, demo_spec):
    source = sources.connect(demo_url)
    with source.engine.connect() as conn:
        summary = {row["table"]: row for row in sources.table_summaries(conn)}
    source.engine.dispose()
    assert summary["customers"]["rows"] == demo_spec.customers
    assert summary["orders"]["first"] >= summary["customers"]["first"]
    assert summary["interactions"]["last"] < datetime(END.year, END.month, END.day)


def test_the_imported_workspace_comes_before_the_demo(tmp_path):
    secrets = tmp_path / "secrets.toml"  # absent
    workspace = tmp_path / "workspace.duckdb"
    assert sources.resolve_url({}, secrets, workspace) == sources.DEFAULT_URL
    workspace.write_bytes(b"")
    assert sources.resolve_url({}, secrets, workspace) == sources.WORKSPACE_URL
    assert sources.resolve_url({"CRM_DB_URL": "duckdb:///x.duckdb"}, secrets, workspace) == "duckdb:///x.duckdb"


@pytest.mark.postgres
def test_separate_connections_only_where_each_connection_reads_the_same_data(tmp_path, pg_url):
    """A database file or server: each connection its own, on the same data. An in-memory
    database or a pool handing out one connection: not."""
    from sqlalchemy.pool import StaticPool

    path = tmp_path / "crm.duckdb"
    build_demo(path, DemoSpec(customers=50, seed=1, end=END))
    assert sources.separate_connections(sources.open_engine(f"duckdb:///{path}"))
    assert sources.separate_connections(sources.open_engine(pg_url))
    assert not sources.separate_connections(create_engine("duckdb:///:memory:"))
    assert not sources.separate_connections(create_engine("sqlite://"))
    assert not sources.separate_connections(create_engine(f"duckdb:///{path}", poolclass=StaticPool))


def test_table_summaries_of_the_tiny_crm_on_each_engine(tiny):
    """One statement for the eight tables: each table's rows and date span, by hand from tests/tiny.py."""
    from tests.tiny import ROWS

    summary = sources.table_summaries(tiny)
    assert [s["table"] for s in summary] == [t.name for t in schema.TABLES]
    for s in summary:
        dates = [row[s["date_column"]] for row in ROWS.get(s["table"], [])]
        assert s["rows"] == len(dates), s
        assert (s["first"], s["last"]) == ((min(dates), max(dates)) if dates else (None, None)), s
    assert next(s for s in summary if s["table"] == "campaigns")["first"] == datetime(2025, 12, 5)
