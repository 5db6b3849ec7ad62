"""The data model on DuckDB and on PostgreSQL: same tables, same data, same checksums."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from data import schema
from data.build import build_demo
from data.demo import DemoSpec
from tests.conftest import END
from tests.helpers import table_checksum

SPEC = DemoSpec(customers=300, seed=11, end=END)


def test_tables_match_the_contract():
    assert [t.name for t in schema.TABLES] == [
        "customers", "campaigns", "orders", "opportunities", "interactions", "tickets",
        "surveys", "survey_invitations"]
    assert {c.name for c in schema.customers.c if not c.nullable} == {
        "customer_id", "segment", "region", "acquisition_channel", "consent_marketing",
        "created_at", "updated_at"}
    assert {c.name for c in schema.tickets.c if not c.nullable} == {
        "ticket_id", "channel", "category", "sla_class", "opened_at", "escalated"}
    for table in schema.TABLES:
        assert len(table.primary_key.columns) == 1
        for fk in table.foreign_keys:
            assert fk.column.table.name in {"customers", "campaigns"}


@pytest.mark.postgres
def test_schema_creates_on_postgres_with_indexes(pg_engine):
    schema.create_schema(pg_engine)
    schema.create_indexes(pg_engine)
    inspector = inspect(pg_engine)
    assert set(inspector.get_table_names()) == {t.name for t in schema.TABLES}
    index_names = {ix["name"] for ix in inspector.get_indexes("interactions")}
    assert {"ix_interactions_customer_id", "ix_interactions_occurred_at"} <= index_names
    fks = inspector.get_foreign_keys("orders")
    assert fks[0]["referred_table"] == "customers"


@pytest.mark.postgres
def test_same_demo_on_duckdb_and_postgres(tmp_path, pg_url):
    duck = build_demo(tmp_path / "crm.duckdb", SPEC)
    pg = build_demo(pg_url, SPEC)
    assert duck.rows == pg.rows
    duck_engine = create_engine(f"duckdb:///{tmp_path / 'crm.duckdb'}")
    pg_engine = create_engine(pg_url)
    try:
        with duck_engine.connect() as d, pg_engine.connect() as p:
            for table in schema.TABLES:
                assert table_checksum(d, table.name) == table_checksum(p, table.name), table.name
    finally:
        duck_engine.dispose()
        pg_engine.dispose()
