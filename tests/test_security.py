"""Security: passwords never shown, PostgreSQL sources read-only in every transaction, the
demo builder never overwrites data, CSV cells never evaluated as formulas, values from
links never rendered as Markdown."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from data import schema
from data.sources import ReadOnlyViolation, mask_url, open_engine
from metrics import escape
from tests.conftest import ROOT

MASKED = [
    ("postgresql://u:p@ss:w@rd@host/db", "postgresql://u:***@host/db"),
    ("postgresql+psycopg://u:secret@host:5432/db?password=x&sslmode=require",
     "postgresql+psycopg://u:***@host:5432/db?password=***&sslmode=require"),
    ("postgresql://host/db?user=a&password=hunter2", "postgresql://host/db?user=a&password=***"),
    ("postgresql://host/db?PASSWORD=hunter2", "postgresql://host/db?PASSWORD=***"),
    ("mysql://u:p:a:b@h/db", "mysql://u:***@h/db"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("duckdb:///data/crm.duckdb", "duckdb:///data/crm.duckdb"),
]


@pytest.mark.parametrize("url,shown", MASKED)
def test_mask_url_hides_every_password(url, shown):
    assert mask_url(url) == shown
    assert "secret" not in mask_url(url) and "hunter2" not in mask_url(url)


@pytest.mark.parametrize("url", ["", "::::", "postgresql://u:p@[::1:bad/db", "x" * 10_000, "postgresql://:@/?&="])
def test_mask_url_never_raises(url):
    assert isinstance(mask_url(url), str)


ATTEMPTS = [
    "BEGIN READ WRITE",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET default_transaction_read_only = off",
    "SET TRANSACTION READ WRITE",
    "SELECT 1; BEGIN READ WRITE",
    "/* hidden */ BEGIN READ WRITE",
]


@pytest.mark.postgres
def test_postgres_transaction_cannot_be_switched_to_read_write(pg_url):
    """The begin hook locks the transaction: even past the SQL guard, PostgreSQL refuses."""
    owner = create_engine(pg_url)
    schema.create_schema(owner)
    owner.dispose()
    engine = open_engine(pg_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM campaigns"))  # the transaction begins (hook)
        raw = conn.connection.dbapi_connection  # below SQLAlchemy: no guard
        with pytest.raises(Exception, match="read-write mode must be set before any query|read-only"):
            raw.execute("SET TRANSACTION READ WRITE")
            raw.execute("INSERT INTO campaigns VALUES ('K', 'n', 'web', now(), NULL, 1, NULL)")
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_postgres_source_refuses_writes_in_every_transaction(pg_url, attempt):
    owner = create_engine(pg_url)
    schema.create_schema(owner)
    owner.dispose()
    engine = open_engine(pg_url)
    for statements in ([attempt, "INSERT INTO campaigns VALUES ('K', 'n', 'web', now(), NULL, 1, NULL)"],
                       [attempt, "COMMIT", attempt, "CREATE TABLE stolen (x int)"]):
        with engine.connect() as conn:
            with pytest.raises((DBAPIError, ReadOnlyViolation), match="read-only"):
                for statement in statements:
                    conn.execute(text(statement))
    with engine.connect() as conn:  # and a later transaction is read-only again
        with pytest.raises(DBAPIError, match="read-only transaction"):
            conn.execute(text("DELETE FROM campaigns"))
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM campaigns")).scalar() == 0
    engine.dispose()


def test_demo_builder_refuses_to_overwrite(tmp_path, demo_path):
    target = tmp_path / "crm.duckdb"
    target.write_bytes(demo_path.read_bytes())
    before = target.stat().st_size
    cmd = [sys.executable, "-m", "data", "demo", "--out", str(target), "--customers", "30", "--end", "2026-01-31"]
    refused = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr and target.stat().st_size == before
    forced = subprocess.run([*cmd, "--force"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert forced.returncode == 0, forced.stderr
    assert target.stat().st_size != before


@pytest.mark.postgres
def test_demo_builder_refuses_a_non_empty_database(pg_url):
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE precious (x int)"))
        conn.execute(text("INSERT INTO precious VALUES (1)"))
    cmd = [sys.executable, "-m", "data", "demo", "--out", pg_url, "--customers", "30", "--end", "2026-01-31"]
    refused = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "not empty" in refused.stderr and "Traceback" not in refused.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM precious")).scalar() == 1
    engine.dispose()


HOSTILE_CELLS = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
                 "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("cell", HOSTILE_CELLS)
def test_csv_cells_that_start_a_formula_open_as_text(cell):
    frame = pd.DataFrame({"name": [cell, "Ada"], "amount": [-12.5, 3.0]})
    rows = list(csv.reader(io.StringIO(escape.to_csv(frame))))
    assert rows[1][0] == "'" + cell and rows[2][0] == "Ada"
    assert rows[1][1] == "-12.5"  # numbers stay numbers, a negative amount is no formula


def test_markdown_escape_leaves_no_link_or_markup():
    shown = escape.markdown("[Sign in](https://evil.example) **bold** <a href='x'>y</a> :red[z] www.evil.example")
    for raw in ("[Sign in](", "**", ":red[", "www.evil"):
        assert raw not in shown
    assert "\\<a" in shown and "<a" not in shown.replace("\\<a", "")
