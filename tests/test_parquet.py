"""data/parquet.py: the Parquet export and the Spark SQL that registers it (no server needed)."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine

from data import schema
from data.parquet import SQL_FILE, create_table_statements, export_parquet, write_sql
from tests.helpers import engine_with_schema, load_rows


@pytest.fixture
def small(tmp_path):
    engine = engine_with_schema(f"duckdb:///{tmp_path / 'small.duckdb'}")
    load_rows(engine, {
        "customers": [
            {"customer_id": "C1", "segment": "SMB", "region": "North", "acquisition_channel": "web",
             "consent_marketing": True, "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901),
             "updated_at": datetime(2026, 1, 2)},
            {"customer_id": "C2", "segment": "Consumer", "region": "South", "acquisition_channel": "event",
             "consent_marketing": False, "created_at": datetime(2026, 2, 1), "updated_at": datetime(2026, 2, 1)},
        ],
        "orders": [{"order_id": "O1", "customer_id": "C1", "ordered_at": datetime(2026, 3, 1, 12),
                    "amount": 214.37, "margin": None},
                   {"order_id": "O2", "customer_id": "C2", "ordered_at": datetime(2026, 3, 2),
                    "amount": -0.01, "margin": 0.3}],
        "tickets": [{"ticket_id": "T1", "channel": "phone", "category": "support", "sla_class": "deferred",
                     "opened_at": datetime(2026, 3, 3), "escalated": False, "csat": 4}],
    })
    yield engine
    engine.dispose()


def test_every_table_is_written_with_the_model_types(small, tmp_path):
    out = tmp_path / "lake"
    with small.connect() as conn:
        rows = export_parquet(conn, out, chunk_rows=1)
    assert rows == {"customers": 2, "campaigns": 0, "orders": 2, "opportunities": 0, "interactions": 0,
                    "tickets": 1, "surveys": 0, "survey_invitations": 0}
    orders = pq.read_table(out / "orders" / "part-00000.parquet")
    assert orders.schema.field("amount").type == pa.decimal128(18, 2)
    assert orders.schema.field("ordered_at").type == pa.timestamp("us")  # Spark rejects nanoseconds
    assert [str(v) for v in orders.column("amount").to_pylist()] == ["214.37", "-0.01"]
    assert orders.column("margin").to_pylist()[0] is None
    customers = pq.read_table(out / "customers" / "part-00000.parquet").to_pylist()
    assert customers[0]["created_at"] == datetime(2026, 1, 2, 3, 4, 5, 678901)
    assert [c["consent_marketing"] for c in customers] == [True, False]
    tickets = pq.read_table(out / "tickets" / "part-00000.parquet")
    assert tickets.schema.field("csat").type == pa.int32()
    assert pq.read_table(out / "surveys" / "part-00000.parquet").num_rows == 0
    assert not list(out.rglob("*.tmp"))


def test_create_table_statements_declare_every_column(tmp_path):
    statements = create_table_statements("s3://lake/crm/", "crm")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `crm`"
    assert len(statements) == 1 + len(schema.TABLES)
    orders = next(s for s in statements if "`crm`.`orders`" in s)
    assert "`amount` DECIMAL(18,2)" in orders and "`ordered_at` TIMESTAMP" in orders
    assert orders.endswith("USING parquet\nLOCATION 's3://lake/crm/orders'")
    for table in schema.TABLES:
        text = next(s for s in statements if f"`crm`.`{table.name}` (" in s)
        assert all(f"`{c.name}` " in text for c in table.columns)
    path = write_sql(tmp_path, "/data/crm")
    assert path.name == SQL_FILE and path.read_text().count("CREATE TABLE IF NOT EXISTS `customers`") == 1


@pytest.mark.parametrize("location, database", [("s3://x/it's", None), ("/tmp/a", "crm; DROP")])
def test_unsafe_names_are_refused(location, database):
    with pytest.raises(ValueError, match="must"):
        create_table_statements(location, database)


def test_cli_exports_and_writes_the_sql(small, tmp_path, capsys):
    from data.__main__ import main

    out = tmp_path / "out"
    small.dispose()  # DuckDB allows one configuration per file: the CLI opens it read-only
    assert main(["export-parquet", "--source", str(small.url), "--out", str(out),
                 "--location", "abfss://lake@acct.dfs.core.windows.net/crm"]) == 0
    printed = capsys.readouterr().out
    assert "orders: 2 rows" in printed and "create_tables.sql" in printed
    assert "LOCATION 'abfss://lake@acct.dfs.core.windows.net/crm/tickets'" in (out / SQL_FILE).read_text()


def test_cli_names_a_missing_source(tmp_path, capsys):
    from data.__main__ import main

    assert main(["export-parquet", "--source", f"duckdb:///{tmp_path / 'none.duckdb'}",
                 "--out", str(tmp_path / "o")]) == 2
    assert "DuckDB file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
