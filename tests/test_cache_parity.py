"""Results kept per data refresh equal the direct computation, on DuckDB and PostgreSQL.

The pages read every section through ``pages.ui._compute_for``: computed once per source
fingerprint, stored on disk (data/cache.py) and read back by every later session and
after a restart. Here every KPI of the scorecard and its trend, every funnel stage, every
cohort cell and every SLA figure (and the other families the pages show) is computed
directly on a fresh connection and through that path — first when it is computed and
stored, then read back from disk by a new store as after a restart — for a grid of
filters that includes a user's row scope and an empty selection, on both engines. Equal
means equal: same frames, same floats to the last bit (nothing is recomputed from a
rounded form), and no two filter sets sharing an entry.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from datetime import date

import pandas as pd
import pytest

from data.demo import DemoSpec
from metrics import catalogue
from metrics.filters import Filters
from metrics.funnel import FunnelWindows
from pages import ui
from tests.conftest import END
from tests.helpers import demo_on_both_engines

pytestmark = pytest.mark.postgres

SPEC = DemoSpec(customers=300, seed=11, end=END)
DEFAULT = Filters(date(2026, 8, 25), date(2026, 11, 22))
GRID = {
    "default window": DEFAULT,
    "one segment": Filters(DEFAULT.start, DEFAULT.end, segment=("SMB",)),
    "regions and channels": Filters(date(2026, 1, 1), date(2026, 10, 31), region=("North", "South"),
                                    channel=("email", "phone")),
    "last year, two teams": Filters(date(2025, 11, 23), date(2026, 11, 22), compare="last_year",
                                    owner_team=("Key accounts", "Inside sales")),
    "a user's scope": Filters(DEFAULT.start, DEFAULT.end, scope=(("region", ("East",)),)),
    "scope and a filter outside it": Filters(DEFAULT.start, DEFAULT.end, region=("West",),
                                             scope=(("region", ("East",)),)),
    "empty selection": Filters(DEFAULT.start, DEFAULT.end, segment=("No such segment",)),
}
TARGETS = tuple(sorted(catalogue.load_targets().items()))
WINDOWS = FunnelWindows(retained_after_days=30, retained_until_days=365, lifetime_periods=3)
#: (computation, arguments) as the pages ask for them: every KPI, funnel stage, cohort cell
#: and SLA figure, and the other families.
SECTIONS = [
    ("scorecard", (TARGETS,)),
    ("trend", (6,)),
    ("funnel.stages", (None, WINDOWS)),
    ("funnel.stages", ("segment", WINDOWS)),
    ("cohorts.matrix", ()),
    ("sla.summary", ()),
    ("sla.over_time", ("week",)),
    ("sla.over_time", ("month",)),
    ("sla.backlog", ()),
    ("sla.channels", ()),
    ("sla.distribution", ("resolution",)),
    ("sla.distribution", ("first_response",)),
    ("engagement.interactions", ()),
    ("engagement.consent", ()),
    ("engagement.roi", ()),
    ("pipeline.facts", ()),
    ("pipeline.open", ("age",)),
    ("pipeline.win_rates", ("source",)),
    ("value.facts", ()),
    ("value.revenue", ()),
    ("voice.facts", ()),
    ("voice.nps", ()),
    ("segments.revenue", (("segment", "region"),)),
]


def assert_same(direct, kept, where: str) -> None:
    """Equal to the last bit: frames with their dtypes, floats (NaN equal to NaN), dataclasses."""
    assert type(kept) is type(direct), where
    if isinstance(direct, pd.DataFrame):
        pd.testing.assert_frame_equal(kept, direct, check_exact=True, obj=where)
    elif isinstance(direct, pd.Series):
        pd.testing.assert_series_equal(kept, direct, check_exact=True, obj=where)
    elif isinstance(direct, dict):
        assert list(kept) == list(direct), where
        for key in direct:
            assert_same(direct[key], kept[key], f"{where}[{key!r}]")
    elif isinstance(direct, (list, tuple)):
        assert len(kept) == len(direct), where
        for i, (a, b) in enumerate(zip(direct, kept)):
            assert_same(a, b, f"{where}[{i}]")
    elif is_dataclass(direct):
        for field in fields(direct):
            assert_same(getattr(direct, field.name), getattr(kept, field.name), f"{where}.{field.name}")
    elif isinstance(direct, float) and math.isnan(direct):
        assert math.isnan(kept), where
    else:
        assert kept == direct, where


@pytest.fixture(scope="module")
def sources(tmp_path_factory, pg_cluster):
    duck_url, pg_url = demo_on_both_engines(tmp_path_factory, pg_cluster, SPEC, "cache_parity")
    return {"duckdb": duck_url, "postgresql": pg_url}


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    """An empty results folder; the in-memory caches of pages.ui emptied before and after."""
    monkeypatch.setenv("CRM_CACHE_DIR", str(tmp_path / "cache"))

    def empty() -> None:
        ui._compute_for.clear()
        ui.results.clear()
        ui.fingerprint.clear()

    empty()
    yield empty
    empty()


def _direct(url: str, name: str, f: Filters, args: tuple):
    with ui._open(url).engine.connect() as conn:
        return ui.COMPUTATIONS[name](conn, f, *args)


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_kept_results_equal_direct_queries_over_a_filter_grid(sources, fresh_store, engine):
    url = sources[engine]
    version = ui.fingerprint(url)
    direct = {(label, name, args): _direct(url, name, f, args)
              for label, f in GRID.items() for name, args in SECTIONS}
    computed = {(label, name, args): ui._compute_for(url, version, "en", name, f, args)
                for label, f in GRID.items() for name, args in SECTIONS}
    fresh_store()       # a restart: memory caches gone, results read back from disk
    store = ui.results()
    for (label, name, args), expected in direct.items():
        parts = ("compute", url, "en", name, GRID[label], args)
        assert (version, parts) in store, f"{engine}: {name}{args} for {label} was not kept"
        where = f"{engine}: {name}{args} for {label}"
        assert_same(expected, computed[(label, name, args)], where + " (computed)")
        assert_same(expected, ui._compute_for(url, version, "en", name, GRID[label], args), where + " (read back)")


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_filter_sets_never_share_an_entry(sources, fresh_store, engine):
    """Different selections (a scope among them) give different kept results where the
    direct results differ: no entry answers for another user's or another filter's rows."""
    url = sources[engine]
    version = ui.fingerprint(url)
    kept = {label: ui._compute_for(url, version, "en", "scorecard", f, (TARGETS,)) for label, f in GRID.items()}
    direct = {label: _direct(url, "scorecard", f, (TARGETS,)) for label, f in GRID.items()}
    scoped, unscoped = kept["a user's scope"], kept["default window"]
    assert not scoped["kpis"]["value"].equals(unscoped["kpis"]["value"])    # the scope changed the numbers
    for label in GRID:
        assert_same(direct[label], kept[label], f"{engine}: scorecard for {label}")
    keys = {ui.results().key(version, ("compute", url, "en", "scorecard", f, (TARGETS,))) for f in GRID.values()}
    assert len(keys) == len(GRID)


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_kept_value_models_equal_a_direct_fit(sources, fresh_store, engine):
    """The BG/NBD + Gamma-Gamma fit kept per data refresh equals a fit made directly."""
    from metrics import clv

    url = sources[engine]
    f = Filters(date(2024, 11, 23), END)
    version = ui.fingerprint(url)
    ui._clv_fit_for(url, version, f, 12, "segment")
    fresh_store()
    kept = ui._clv_fit_for(url, version, f, 12, "segment")
    with ui._open(url).engine.connect() as conn:
        models, values = clv.customer_values(conn, f, clv.ClvSettings(horizon_months=12), by="segment")
    assert_same(models.parameters(), kept["parameters"], f"{engine}: parameters")
    assert_same(values[ui.VALUE_COLUMNS], kept["values"], f"{engine}: customer values")
    assert kept["customers"] == models.customers and kept["repeat_buyers"] == models.repeat_buyers
