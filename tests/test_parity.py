"""Every metric query gives the same numbers on DuckDB and on PostgreSQL (demo data)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import create_engine

from data.demo import DemoSpec
from metrics import catalogue, cohorts, drilldown, engagement, funnel, pipeline, quality, sla, value, voice
from metrics.filters import Filters
from metrics.periods import Periods
from tests.conftest import END
from tests.helpers import demo_on_both_engines

pytestmark = pytest.mark.postgres

SPEC = DemoSpec(customers=400, seed=5, end=END)
FILTERS = [
    Filters(date(2026, 5, 1), date(2026, 10, 31)),
    Filters(date(2024, 1, 1), date(2026, 11, 22), compare="last_year", segment=("SMB", "Enterprise")),
    Filters(date(2026, 9, 1), date(2026, 9, 30), region=("South",), channel=("phone", "email")),
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory, pg_cluster):
    duck_url, pg_url = demo_on_both_engines(tmp_path_factory, pg_cluster, SPEC, "parity")
    duck = create_engine(duck_url, connect_args={"read_only": True})
    pg = create_engine(pg_url)
    yield duck, pg
    duck.dispose()
    pg.dispose()


def _norm(result):
    """Comparable form: frames sorted, floats rounded, timestamps as text, NaN as None."""
    if isinstance(result, dict):
        return {k: _norm(v) for k, v in result.items()}
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if isinstance(result, pd.DataFrame):
        default_index = isinstance(result.index, pd.RangeIndex) and result.index.name is None
        frame = result.reset_index(drop=default_index or result.index.name in result.columns)
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.astype(object).where(frame.notna(), None)
        rows = [tuple(_norm(v) for v in row) for row in frame.itertuples(index=False)]
        return sorted(rows, key=repr)
    if hasattr(result, "__dataclass_fields__"):
        return _norm(vars(result))
    if isinstance(result, float):
        return None if result != result else round(result, 6)
    if isinstance(result, (pd.Timestamp, datetime)):
        return pd.Timestamp(result).isoformat()
    if hasattr(result, "item"):
        return _norm(result.item())
    return result


CALLS = {
    "sla.summary": lambda c, f: sla.summary(c, f),
    "sla.over_time": lambda c, f: sla.compliance_over_time(c, f, "month"),
    "sla.backlog": lambda c, f: sla.backlog_by_age(c, f),
    "sla.channels": lambda c, f: sla.channel_mix(c, f),
    "sla.distribution": lambda c, f: sla.time_distribution(c, f),
    "sla.breaches": lambda c, f: drilldown.page(c, sla.breach_records(f), 0, 50).rows,
    "voice": voice.survey_facts,
    "pipeline": pipeline.pipeline_facts,
    "pipeline.forecast": pipeline.close_forecast,
    "quality": quality.quality_facts,
    "quality.duplicates": lambda c, f: drilldown.page(c, quality.duplicate_records(f), 0, 50).rows,
    "value": value.value_facts,
    "value.by_region": lambda c, f: value.value_by_group(c, f, "region"),
    "value.revenue": lambda c, f: value.revenue_by_period(c, f),
    "engagement.interactions": engagement.interaction_facts,
    "engagement.pressure": engagement.pressure_facts,
    "engagement.distribution": engagement.pressure_distribution,
    "engagement.pressure_overview": engagement.pressure_overview,
    "engagement.any": engagement.has_interactions,
    "engagement.over": lambda c, f: drilldown.page(c, engagement.over_contacted(f), 0, 50).rows,
    "engagement.consent": engagement.consent_facts,
    "engagement.personalised": engagement.personalization_response,
    "engagement.roi": engagement.campaign_roi,
    "funnel": lambda c, f: funnel.stage_counts(c, f, "acquisition_channel"),
    "funnel.records": lambda c, f: drilldown.page(c, funnel.stage_records(f, "retained"), 0, 50).rows,
    "cohorts": lambda c, f: {k: v for k, v in cohorts.cohort_matrix(c, f).items()},
    "cohorts.records": lambda c, f: drilldown.page(c, cohorts.cohort_records(f, datetime(2026, 9, 1), 1)).rows,
    "scorecard": lambda c, f: [r.as_dict() for r in catalogue.evaluate(c, f, targets={}).results],
    "trend": lambda c, f: catalogue.trend(c, f, 6),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_same_results_on_both_engines(engines, name):
    duck, pg = engines
    for filters in FILTERS:
        with duck.connect() as d, pg.connect() as p:
            left, right = CALLS[name](d, filters), CALLS[name](p, filters)
        assert _norm(left) == _norm(right), (name, filters)


def _periods_of(filters: Filters) -> list[list[Filters]]:
    """The range, its comparison and the comparison's comparison (disjoint unless the range
    is longer than a year against last year); then with a trend's months and their
    comparisons (which overlap the months)."""
    chain = [filters, filters.comparison(), filters.comparison().comparison()]
    months = catalogue.month_windows(filters, 4)
    return [chain, chain + months + [m.comparison() for m in months]]


@pytest.mark.parametrize("family", list(catalogue.FAMILIES))
def test_every_family_by_period_equals_each_period_alone(engines, family):
    """One statement for many periods (CASE when they are disjoint, a join when they
    overlap) gives each period what a statement of its own gives, on both engines."""
    settings = catalogue.Settings()
    compute = catalogue.FAMILIES[family]
    for filters, periods in ((f, p) for f in FILTERS for p in _periods_of(f)):
        for engine in engines:
            with engine.connect() as conn:
                together = compute(conn, periods, settings)
                alone = [compute(conn, [period], settings)[0] for period in periods]
            assert _norm_list(together) == _norm_list(alone), (family, filters, engine.dialect.name)
    assert Periods(tuple(_periods_of(FILTERS[0])[0])).disjoint
    assert not Periods(tuple(_periods_of(FILTERS[1])[0])).disjoint


def _norm_list(values):
    return [_norm(v) for v in values]
