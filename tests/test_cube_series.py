"""The Overview's monthly series summed from their cubes (metrics/cube.py ``series``): the
revenue, NPS and SLA compliance per month of a selection of customer dimensions equal their
direct statements, by hand on the tiny CRM and for a grid of selections on both engines."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from metrics import cube, keeping, sla, value, voice
from metrics.filters import Filters
from tests.test_cube import SELECTIONS, Kept

#: The tiny CRM's orders run from 2023 to January 2026.
WINDOW = Filters(date(2024, 1, 1), date(2026, 1, 31), compare="none")
SERIES = {"revenue": (value.revenue_by_period, ()), "nps": (voice.nps_by_period, ()),
          "sla": (sla.compliance_over_time, ("month",))}


def _direct(function):
    """The series without its result kept (metrics.keeping.kept_result), so it runs each time."""
    return getattr(function, "__wrapped__", function)


def test_the_revenue_of_a_region_is_summed_by_hand_from_the_cube(tiny):
    """North is A: O1 (June 2024, 500, margin 100), O2 (June 2025, 1,000, no margin: its
    amount), O3 (January 2026, 2,000, margin 600). South is B (C bought nothing): O4 400 and
    the return O5 -100 in January 2026, margins 100 and -25. F's orders have no customer
    record: they count for the whole company only."""
    keeper = Kept()
    with keeping.keeping(keeper):
        north = _direct(value.revenue_by_period)(tiny, WINDOW.with_values(region="North"))
        south = _direct(value.revenue_by_period)(tiny, WINDOW.with_values(region="South"))
        company = _direct(value.revenue_by_period)(tiny, WINDOW)
    assert keeper.built == 1                                    # one cube; the company read directly
    assert north.to_dict("list") == {
        "period": [pd.Timestamp(2024, 6, 1), pd.Timestamp(2025, 6, 1), pd.Timestamp(2026, 1, 1)],
        "revenue": [500.0, 1000.0, 2000.0], "margin": [100.0, 1000.0, 600.0], "orders": [1, 1, 1],
        "customers": [1, 1, 1]}
    assert south.to_dict("list") == {"period": [pd.Timestamp(2026, 1, 1)], "revenue": [300.0], "margin": [75.0],
                                     "orders": [2], "customers": [1]}
    assert company.revenue.sum() == 500 + 1000 + 2000 + 300 + 300 + 800     # F's February 2024 and March 2025


@pytest.mark.parametrize("series", SERIES)
@pytest.mark.parametrize("name", SELECTIONS)
def test_each_series_from_its_cube_equals_the_direct_statement_on_the_tiny_crm(tiny, name, series):
    function, args = SERIES[series]
    f = SELECTIONS[name]
    f = Filters(WINDOW.start, WINDOW.end, compare="none", **{dim: getattr(f, dim) for dim in
                                                             ("segment", "region", "industry", "acquisition_channel",
                                                              "owner_team", "channel", "scope")})
    direct = _direct(function)(tiny, f, *args)
    keeper = Kept()
    with keeping.keeping(keeper):
        kept = _direct(function)(tiny, f, *args)
    pd.testing.assert_frame_equal(kept, direct)
    assert keeper.built == (1 if f.has_customer_filter else 0)


def test_one_series_cube_answers_every_selection_of_its_dates_and_a_fact_filter_has_its_own(tiny):
    keeper = Kept()
    with keeping.keeping(keeper):
        for region in ("North", "South", "West"):
            _direct(sla.compliance_over_time)(tiny, WINDOW.with_values(region=region), "month")
        assert keeper.built == 1
        _direct(sla.compliance_over_time)(tiny, WINDOW.with_values(region="North", channel=("email",)), "month")
        _direct(sla.compliance_over_time)(tiny, WINDOW.with_values(region="North"), "week")
        assert keeper.built == 3


def test_a_series_cube_too_big_to_keep_falls_back_to_the_direct_statement(tiny, monkeypatch):
    monkeypatch.setattr(cube, "MAX_ROWS", 1)
    f = WINDOW.with_values(region="North")
    keeper = Kept()
    with keeping.keeping(keeper):
        kept = _direct(value.revenue_by_period)(tiny, f)
    pd.testing.assert_frame_equal(kept, _direct(value.revenue_by_period)(tiny, f))
    assert list(keeper.kept.values()) == [None]


def test_the_warming_keeps_the_cube_a_selection_then_sums(tiny):
    keeper = Kept()
    with keeping.keeping(keeper):
        value.keep_revenue_cube(tiny, WINDOW)
        voice.keep_nps_cube(tiny, WINDOW)
        sla.keep_compliance_cube(tiny, WINDOW, "month")
        assert keeper.built == 3
        for function, args in SERIES.values():
            _direct(function)(tiny, WINDOW.with_values(segment=("SMB", "Consumer")), *args)
    assert keeper.built == 3


@pytest.mark.postgres
def test_the_series_through_their_cubes_equal_the_direct_ones_on_both_engines(tmp_path_factory, pg_cluster):
    """On the same demo in DuckDB and PostgreSQL, the Overview's three series (36 months of
    revenue, 12 of NPS and of SLA compliance) for a grid of selections equal the direct ones
    to the last bit, the revenue's sums of money included."""
    from data.demo import DemoSpec
    from data.sources import open_engine
    from tests.conftest import END
    from tests.helpers import demo_on_both_engines

    urls = demo_on_both_engines(tmp_path_factory, pg_cluster, DemoSpec(customers=300, seed=11, end=END), "cube")
    history, year = Filters(date(2023, 12, 1), date(2026, 11, 22)), Filters(date(2025, 12, 1), date(2026, 11, 22))
    grid = [lambda f: f.with_values(segment="SMB"),
            lambda f: f.with_values(region=("North", "South"), channel=("email", "phone")),
            lambda f: f.with_values(owner_team=("Key accounts",), industry=("Retail", "Finance")),
            lambda f: Filters(f.start, f.end, scope=(("region", ("East",)),)),
            lambda f: f.with_values(industry="No such industry")]
    for url in urls:
        engine = open_engine(url)
        keeper = Kept()
        with engine.connect() as conn:
            for selection in grid:
                for function, window, args in ((value.revenue_by_period, history, ()),
                                               (voice.nps_by_period, year, ()),
                                               (sla.compliance_over_time, year, ("month",))):
                    f = selection(window)
                    direct = _direct(function)(conn, f, *args)
                    with keeping.keeping(keeper):
                        kept = _direct(function)(conn, f, *args)
                    pd.testing.assert_frame_equal(kept, direct, check_exact=True)
        assert keeper.built == 6      # three series, and again for the selection with a channel
        engine.dispose()
