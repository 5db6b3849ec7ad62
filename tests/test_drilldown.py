"""Drill-down paging and the records behind each KPI (tiny CRM)."""

from datetime import date

import pytest

from metrics import drilldown, sla
from metrics.catalogue import CATALOGUE
from metrics.filters import Filters

JAN = Filters(date(2026, 1, 1), date(2026, 1, 31))


def test_pages_keep_order_and_total(tiny):
    first = drilldown.page(tiny, sla.ticket_records(JAN), 0, 3)
    second = drilldown.page(tiny, sla.ticket_records(JAN), 1, 3)
    last = drilldown.page(tiny, sla.ticket_records(JAN), 2, 3)
    assert (first.total, first.pages) == (8, 3)
    ids = first.rows.ticket_id.tolist() + second.rows.ticket_id.tolist() + last.rows.ticket_id.tolist()
    assert ids == ["T1", "T2", "T3", "T4", "T7", "T8", "T5", "T6"]      # by opened_at
    assert dict(zip(last.rows.ticket_id, last.rows.sla_status)) == {"T5": "pending", "T6": "breached"}


def test_bad_page_arguments():
    with pytest.raises(ValueError):
        drilldown.page(None, sla.ticket_records(JAN), 0, 0)
    with pytest.raises(ValueError):
        drilldown.page(None, sla.ticket_records(JAN), -1, 10)


@pytest.mark.parametrize("kpi", [k for k in CATALOGUE if not k.meta], ids=lambda k: k.name)
def test_every_kpi_has_records_respecting_filters(tiny, kpi):
    everything = drilldown.page(tiny, drilldown.kpi_records(JAN, kpi.name), 0, 1000)
    nothing = drilldown.page(tiny, drilldown.kpi_records(JAN.with_values(segment="Nobody"), kpi.name))
    assert everything.total >= 1, kpi.name
    assert nothing.total == 0, kpi.name


def test_breakdown_cell_is_a_filter(tiny):
    cell = drilldown.page(tiny, sla.breach_records(JAN.with_values(region="South")))
    assert cell.rows.ticket_id.tolist() == ["T4"]          # B is in the South; T4 breached
    with pytest.raises(ValueError, match="computed from other KPIs"):
        drilldown.kpi_records(JAN, "kpi_coverage")


def test_records_narrowed_by_status(tiny):
    from metrics import drilldown, sla

    jan = Filters(date(2026, 1, 1), date(2026, 1, 31))
    query = sla.ticket_records(jan)
    assert drilldown.status_column(query) == "sla_status"
    # January: T1, T3, T7 met; T2, T4, T6, T8 breached; T5 pending (compliance 3/7)
    assert drilldown.status_values(tiny, query) == ["breached", "met", "pending"]
    breached = drilldown.page(tiny, drilldown.with_status(query, ("breached",)))
    assert sorted(breached.rows.ticket_id) == ["T2", "T4", "T6", "T8"]
    both = drilldown.page(tiny, drilldown.with_status(query, ("met", "pending")))
    assert sorted(both.rows.ticket_id) == ["T1", "T3", "T5", "T7"]
    assert drilldown.page(tiny, drilldown.with_status(query, ())).total == 8
    assert drilldown.status_column(sla.breach_records(jan)) is None      # a list of one status
