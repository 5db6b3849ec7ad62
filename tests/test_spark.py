"""Every metric family gives the same numbers on Spark SQL as on DuckDB (the session's demo).

The demo DuckDB file of the session (``demo_path``, 2,000 customers) is exported to
Parquet, registered in a local Spark Thrift server (``spark_demo_url``) and opened with
``data.sources.connect`` like any user's source. Counts and texts must be equal, floats
equal to 1e-9 (relative), timestamps to the microsecond. Medians are exact
``percentile_cont`` on both engines (linear interpolation between order statistics).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from data import schema
from data.sources import SchemaMismatch, SourceError, connect, table_names
from metrics import (catalogue, clv, cohorts, drilldown, engagement, funnel, health, pipeline, quality, sla, value,
                     voice)
from metrics.filters import Filters
from tests.conftest import END

pytestmark = pytest.mark.spark

REL = 1e-9
FILTERS = [
    Filters(date(2026, 5, 1), date(2026, 10, 31)),  # compared with the previous six months
    Filters(date(2025, 1, 1), date(2026, 11, 22), compare="last_year", segment=("SMB", "Enterprise"),
            region=("North", "South", "West")),
]


@pytest.fixture(scope="module")
def engines(demo_path, spark_demo_url):
    duck = create_engine(f"duckdb:///{demo_path}", connect_args={"read_only": True})
    spark = connect(spark_demo_url).engine
    yield duck, spark
    duck.dispose()
    spark.dispose()


# ---- comparison: flatten any result into (path, value) pairs, then compare pair by pair
def _scalar(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return int(value)
    return value


def _flat(result, path: str = "") -> list[tuple[str, object]]:
    """Sorted (path, value) pairs; rows of a frame are sorted so that engine order does not matter."""
    if isinstance(result, dict):
        return [pair for key in sorted(result, key=str) for pair in _flat(result[key], f"{path}.{key}")]
    if isinstance(result, (list, tuple)):
        return [pair for i, item in enumerate(result) for pair in _flat(item, f"{path}[{i}]")]
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if isinstance(result, pd.DataFrame):
        default_index = isinstance(result.index, pd.RangeIndex) and result.index.name is None
        frame = result.reset_index(drop=default_index or result.index.name in result.columns)
        rows = sorted((tuple(_scalar(v) for v in row) for row in frame.itertuples(index=False)),
                      key=lambda row: repr([round(v, 6) if isinstance(v, float) else v for v in row]))
        columns = [str(c) for c in frame.columns]
        return [(f"{path}[{i}].{c}", v) for i, row in enumerate(rows) for c, v in zip(columns, row)]
    if hasattr(result, "__dataclass_fields__"):
        return _flat({k: getattr(result, k) for k in result.__dataclass_fields__}, path)
    return [(path, _scalar(result))]


def assert_same(left, right, label: str) -> None:
    a, b = _flat(left), _flat(right)
    assert [p for p, _ in a] == [p for p, _ in b], f"{label}: different shapes"
    for (path, x), (_, y) in zip(a, b):
        if isinstance(x, float) or isinstance(y, float):
            assert x is not None and y is not None and math.isclose(x, y, rel_tol=REL, abs_tol=REL), \
                f"{label}{path}: DuckDB {x!r} != Spark {y!r}"
        else:
            assert x == y, f"{label}{path}: DuckDB {x!r} != Spark {y!r}"


def _scorecard(conn, f):
    card = catalogue.evaluate(conn, f, targets={})
    return {"kpis": [{k: v for k, v in r.as_dict().items() if k != "definition"} for r in card.results],
            "rules": [vars(r) | {"rule": r.rule.value} for r in card.rules],
            "comparison_rules": [vars(r) | {"rule": r.rule.value} for r in card.comparison_rules or ()],
            "overall": card.overall, "comparison_overall": card.comparison_overall}


def _funnel(conn, f):
    counts = funnel.stage_counts(conn, f)
    return {"stages": counts, "by_channel": funnel.stage_counts(conn, f, "acquisition_channel"),
            "conversions": funnel.conversion_table(counts.iloc[0])}


FAMILIES = {
    "scorecard": _scorecard,
    "funnel": _funnel,
    "sla": lambda c, f: {"per_class": sla.summary(c, f), "over_time": sla.compliance_over_time(c, f, "month"),
                         "backlog": sla.backlog_by_age(c, f), "channels": sla.channel_mix(c, f),
                         "distribution": sla.time_distribution(c, f)},
    "cohorts": cohorts.cohort_matrix,
    "engagement": lambda c, f: {"interactions": engagement.interaction_facts(c, f),
                                "pressure": engagement.pressure_facts(c, f),
                                "distribution": engagement.pressure_distribution(c, f),
                                "consent": engagement.consent_facts(c, f),
                                "personalised": engagement.personalization_response(c, f),
                                "roi": engagement.campaign_roi(c, f)},
    "value": lambda c, f: {"facts": value.value_facts(c, f), "by_region": value.value_by_group(c, f, "region"),
                           "revenue": value.revenue_by_period(c, f)},
    "voice_pipeline_quality": lambda c, f: {"voice": voice.survey_facts(c, f),
                                            "pipeline": pipeline.pipeline_facts(c, f),
                                            "quality": quality.quality_facts(c, f)},
    "bgnbd_summary": lambda c, f: clv.customer_summary(c, f),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_equal_on_spark_and_duckdb(engines, family):
    duck, spark = engines
    for filters in FILTERS:
        with duck.connect() as d, spark.connect() as s:
            left, right = FAMILIES[family](d, filters), FAMILIES[family](s, filters)
        assert _flat(left), family  # something was computed
        assert_same(left, right, f"{family} {filters.start}..{filters.end}")


def test_scorecard_summed_from_cubes_on_spark_equals_duckdb(engines):
    """The app's filtered scorecard sums the interaction family's cube (metrics/cube.py): the
    cube statement (a join to the customers' dimensions, grouped by them) runs on Spark, and a
    region and a scope summed from it equal DuckDB's direct statement."""
    from metrics import keeping

    duck, spark = engines
    kept: dict[tuple, object] = {}
    keeper = lambda key, compute: kept[key] if key in kept else kept.setdefault(key, compute())  # noqa: E731
    base = FILTERS[0]
    for filters in (base.with_values(region="North"), Filters(base.start, base.end, scope=(("segment", ("SMB",)),))):
        with duck.connect() as d, spark.connect() as s:
            left = _scorecard(d, filters)
            with keeping.keeping(keeper):
                right = _scorecard(s, filters)
        assert_same(left, right, f"cube {filters.describe()}")
    assert any(key[0] == "cube" for key in kept)


def test_monthly_series_summed_from_cubes_on_spark_equal_duckdb(engines):
    """The Overview's monthly series (metrics.cube.Series: revenue, NPS, SLA compliance): their
    cube statements run on Spark, and a region summed from them equals DuckDB's direct ones."""
    from metrics import keeping

    duck, spark = engines
    kept: dict[tuple, object] = {}
    keeper = lambda key, compute: kept[key] if key in kept else kept.setdefault(key, compute())  # noqa: E731
    f = FILTERS[0].with_values(region="North")

    def series(conn):
        return {"revenue": value.revenue_by_period(conn, f), "nps": voice.nps_by_period(conn, f),
                "sla": sla.compliance_over_time(conn, f, "month")}
    with duck.connect() as d, spark.connect() as s:
        left = series(d)
        with keeping.keeping(keeper):
            right = series(s)
    assert _flat(left)
    assert_same(left, right, "series")
    assert sum(key[:2] == ("cube", "series") for key in kept) == 3


def test_data_health_checks_equal(engines):
    """The data-model checks behind the valid rows (and the Data page) count the same rows."""
    duck, spark = engines
    with duck.connect() as d, spark.connect() as s:
        left, right = health.count_checks(d, END), health.count_checks(s, END)
    assert len(left.counts) >= len(schema.TABLES)  # every check ran (the demo is clean: counts are 0)
    assert_same({"counts": left.counts, "excluded": left.excluded_rows},
                {"counts": right.counts, "excluded": right.excluded_rows}, "health")


def _drilldowns(filters: Filters):
    """Every record query the dashboard pages through: each KPI's, each funnel stage's,
    a cohort cell's and the SLA breaches (KPIs sharing a query are checked once)."""
    queries = {name: drilldown.kpi_records(filters, name) for name, kpi in catalogue.KPIS.items() if kpi.records}
    queries |= {f"funnel.{stage}": funnel.stage_records(filters, stage) for stage in funnel.STAGES}
    queries["cohort"] = cohorts.cohort_records(filters, datetime(2026, 6, 1), 2)
    queries["sla.breaches"] = sla.breach_records(filters)
    distinct = {}
    for name, query in queries.items():
        distinct.setdefault(str(query.compile(compile_kwargs={"literal_binds": True})), name)
    return {name: queries[name] for name in distinct.values()}


def test_drill_down_records_equal(engines):
    duck, spark = engines
    filters = FILTERS[0]
    with duck.connect() as d, spark.connect() as s:
        for name, query in _drilldowns(filters).items():
            left, right = drilldown.page(d, query, 1, 20), drilldown.page(s, query, 1, 20)
            assert left.total == right.total, name
            assert_same(left.rows, right.rows, f"drill-down {name}")
    assert left.total > 0


def test_source_is_schema_checked(spark_demo_url, spark_server):
    source = connect(spark_demo_url)
    with source.engine.connect() as conn:
        assert table_names(conn) >= {t.name for t in schema.TABLES}
    assert source.dialect == "hive" and source.product == "Spark SQL"
    source.engine.dispose()
    with pytest.raises(SchemaMismatch, match="missing table customers"):
        connect(spark_server)  # the empty "default" database


def test_source_refuses_writes(spark_demo_url):
    engine = connect(spark_demo_url).engine
    with engine.connect() as conn:
        for statement in ("INSERT INTO orders SELECT * FROM orders", "DROP TABLE orders",
                          "WITH x AS (SELECT * FROM orders) INSERT INTO orders SELECT * FROM x"):
            with pytest.raises(SourceError, match="read-only"):
                conn.execute(text(statement))
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar() > 0
    engine.dispose()


def test_sessions_are_in_utc_and_money_keeps_its_cents(spark_demo_url):
    from sqlalchemy import Date, Numeric, cast, literal, select

    engine = connect(spark_demo_url).engine
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("SET spark.sql.session.timeZone")
        assert cursor.fetchall() == [("spark.sql.session.timeZone", "UTC")]
        row = conn.execute(select(cast(literal(214.37), Numeric(10, 2)),
                                  cast(literal(datetime(2026, 3, 4, 5, 6, 7)), Date))).one()
    engine.dispose()
    assert float(row[0]) == 214.37
    assert str(row[1]) == "2026-03-04"


def test_unreachable_server_is_a_clear_error():
    from tests.provision import free_port

    with pytest.raises(SourceError, match="Cannot reach the data source hive://127.0.0.1"):
        connect(f"hive://127.0.0.1:{free_port()}/crm")
