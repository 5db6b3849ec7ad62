"""metrics/sql.py: the Spark SQL compilation of the portable building blocks, and distinct_key on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from pyhive.sqlalchemy_hive import HiveDialect
from sqlalchemy import Date, Numeric, cast, create_engine, select

from data.schema import orders, tickets
from metrics.sql import SPARK_MAX_LIMIT, epoch, percentile, seconds_between

SPARK = HiveDialect()


def sql(query) -> str:
    return str(query.compile(dialect=SPARK, compile_kwargs={"literal_binds": True}))


def test_epoch_is_unix_micros_in_seconds():
    text = sql(select(epoch(orders.c.ordered_at)))
    assert "EXTRACT" not in text
    assert "unix_micros(`orders`.`ordered_at`) / 1000000.0D" in text


def test_epoch_of_a_python_datetime_is_a_number():
    assert "86400.0" in sql(select(epoch(datetime(1970, 1, 2))))


def test_seconds_between_uses_epoch_on_both_sides():
    text = sql(select(seconds_between(tickets.c.opened_at, tickets.c.resolved_at)))
    assert text.count("unix_micros") == 2


def test_decimal_keeps_precision_and_scale():
    # PyHive writes bare DECIMAL, which Spark reads as DECIMAL(10,0): 214.37 would become 214
    assert "CAST(`orders`.`amount` AS DECIMAL(10,2))" in sql(select(cast(orders.c.amount, Numeric(10, 2))))
    assert "DECIMAL(38,10)" in sql(select(cast(orders.c.amount, Numeric())))


def test_date_cast_is_a_date():
    # PyHive writes TIMESTAMP for Date, which keeps the time of day
    assert "AS DATE)" in sql(select(cast(orders.c.ordered_at, Date)))


def test_offset_without_limit_gets_the_largest_limit():
    text = sql(select(orders.c.order_id).order_by(orders.c.order_id).offset(40))
    assert f"LIMIT {SPARK_MAX_LIMIT} OFFSET 40" in text
    assert "LIMIT -1" not in text
    assert "LIMIT 10 OFFSET 40" in sql(select(orders.c.order_id).limit(10).offset(40))


def test_percentile_is_exact_percentile_cont():
    text = sql(select(percentile(0.5, orders.c.amount)))
    assert "percentile_cont(0.5) WITHIN GROUP (ORDER BY `orders`.`amount`)" in text


# ---- distinct_key: "at least two distinct values" as min(key) <> max(key), on real engines
GROUPS = [("a", "sales"), ("a", "sales"), ("b", "sales"), ("b", "service"), ("c", None), ("c", "marketing"),
          ("d", None), ("e", "back_office"), ("e", "partner"), ("e", "back_office")]


def _two_or_more(engine) -> tuple[dict, dict]:
    """Per group, "two or more distinct values" by distinct_key and by count(DISTINCT)."""
    from sqlalchemy import Column, MetaData, String, Table, func

    from metrics.sql import distinct_key

    t = Table("served", MetaData(), Column("g", String), Column("department", String))
    with engine.begin() as conn:
        t.create(conn)
        conn.execute(t.insert(), [{"g": g, "department": d} for g, d in GROUPS])
    with engine.connect() as conn:
        keyed = dict(conn.execute(select(t.c.g, func.min(distinct_key(t.c.department))
                                         != func.max(distinct_key(t.c.department))).group_by(t.c.g)).all())
        counted = dict(conn.execute(select(t.c.g, func.count(t.c.department.distinct()) >= 2).group_by(t.c.g)).all())
    # a group with no department at all compares NULLs: not counted by count_if, as False
    return {g: bool(v) for g, v in keyed.items()}, counted


def test_distinct_key_is_a_hash_on_duckdb_only():
    from sqlalchemy.dialects import postgresql

    from metrics.sql import distinct_key

    duck = str(select(distinct_key(orders.c.customer_id)).compile(dialect=create_engine("duckdb://").dialect))
    assert "hash(orders.customer_id)" in duck and "IS NOT NULL" in duck  # NULL stays NULL: DuckDB hashes NULL
    assert "hash" not in str(select(distinct_key(orders.c.customer_id)).compile(dialect=postgresql.dialect()))
    assert "hash" not in sql(select(distinct_key(orders.c.customer_id)))


def test_distinct_key_counts_as_count_distinct_on_duckdb():
    keyed, counted = _two_or_more(create_engine("duckdb://"))
    # b: sales+service, e: back_office+partner; c has one department beside a NULL, d none
    assert keyed == counted == {"a": False, "b": True, "c": False, "d": False, "e": True}


def test_distinct_key_counts_as_count_distinct_on_postgresql(pg_engine):
    keyed, counted = _two_or_more(pg_engine)
    assert keyed == counted == {"a": False, "b": True, "c": False, "d": False, "e": True}
